//! Action mode signing against the real registry (Debian's docker-registry on loopback): outputs,
//! summary (snapshot), the summary's `cosign verify` command run with the real cosign v2 and v3,
//! recursive signing, partial failure, registry credentials, and the leak test across signing failures.

use crate::action::*;
use crate::support::*;
use std::path::Path;
use std::process::Command;

use crate::support::registry::{dead_addr, TestRegistry};

/// A runner with a key (PEM in COSIGN_PRIVATE_KEY, password in COSIGN_PASSWORD) and key-based inputs.
fn key_action(r: &Runner, pem: &str, images: &str) -> Command {
    let mut c = r.action("push");
    c.env("COSIGN_PRIVATE_KEY", pem)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("SIGSTORE_ID_TOKEN", OIDC_TOKEN);
    input(&mut c, "images", images);
    input(&mut c, "key", "env://COSIGN_PRIVATE_KEY");
    input(&mut c, "tlog-upload", "false");
    input(&mut c, "registry-username", "octocat");
    input(&mut c, "registry-password", REGISTRY_PASSWORD);
    input(&mut c, "allow-insecure-registry", "true");
    c
}

fn output(r: &Runner, name: &str) -> String {
    r.outputs()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no output {name}: {:?}", r.outputs()))
        .1
}

/// The summary with what varies between runs (ports, digests, fingerprints) replaced.
fn filtered_summary(r: &Runner, reg: &TestRegistry) -> String {
    let s = r.summary().replace(&reg.addr, "127.0.0.1:PORT");
    let s = regex::Regex::new("sha256:[0-9a-f]{64}")
        .unwrap()
        .replace_all(&s, "sha256:DIGEST");
    regex::Regex::new("sha256-[0-9a-f]{64}")
        .unwrap()
        .replace_all(&s, "sha256-DIGEST")
        .into_owned()
}

/// Runs the summary's `cosign verify` commands with the real cosign (v2 and v3), `cosign.pub` being the
/// public key of `pem`. cosign v2.6.5 reads the Sigstore bundle (the default format attaches one) and then
/// wants a trusted root even with a key and no log: on a runner it fetches the public one through TUF,
/// here (no network) it is given an empty one.
fn run_summary_commands(r: &Runner, pem_dir: &Path) {
    let summary = r.summary();
    let block = summary
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a ```sh block in the summary");
    for major in [2, 3] {
        for line in block.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            assert_eq!(&words[..2], ["cosign", "verify"], "{line}");
            let mut c = cosign(major, pem_dir);
            c.args(&words[1..]);
            if major == 2 && !line.contains("--trusted-root") {
                c.arg("--trusted-root").arg(empty_trusted_root(pem_dir));
            }
            let res = run(&mut c);
            assert_eq!(
                res.code,
                0,
                "cosign v{major} rejects `{line}`:\n{}",
                res.all()
            );
        }
    }
}

#[test]
fn key_signing_writes_outputs_summary_and_cosign_accepts_the_printed_command() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "action-key");
    let r = Runner::new();
    let pem = make_key(r.path());
    std::fs::copy(r.path().join("leak.pub"), r.path().join("cosign.pub")).unwrap();
    let image = format!("{}/acme/app@{digest}", reg.addr);
    let mut c = key_action(&r, &pem, &format!("# the app\n{image}\n"));
    input(&mut c, "annotations", "team=platform");
    input(&mut c, "verify", "true");
    let res = run(&mut c).ok();

    // Outputs parse and say what was signed.
    assert_eq!(output(&r, "digests"), digest);
    assert_eq!(
        output(&r, "signatures"),
        format!("{}/acme/app:{}.sig", reg.addr, digest.replace(':', "-"))
    );
    assert_eq!(output(&r, "rekor-log-indexes"), "");
    assert_eq!(output(&r, "certificate-identity"), "");
    // The default format writes both layouts; the bundle is a referrer of the image.
    assert_eq!(output(&r, "signature-formats"), "legacy,bundle");
    let bundle = output(&r, "bundles");
    assert!(
        bundle.starts_with(&format!("{}/acme/app@sha256:", reg.addr)) && bundle != image,
        "{bundle}"
    );
    assert_eq!(output(&r, "bundle-rekor-log-indexes"), "");
    let json: serde_json::Value = serde_json::from_str(&output(&r, "json")).unwrap();
    assert_eq!(
        json["images"][0]["formats"],
        serde_json::json!(["legacy", "bundle"])
    );
    assert_eq!(json["images"][0]["bundle"], bundle.as_str());
    assert_eq!(json["images"][0]["mode"], "key");
    assert_eq!(json["images"][0]["digest"], digest.as_str());
    assert_eq!(json["images"][0]["verified"], true);
    assert_eq!(json["failed"], serde_json::json!([]));

    // The signature is in the registry with the default annotations from GITHUB_*.
    let payloads = reg.sig_payloads("acme/app", &digest);
    assert_eq!(payloads.len(), 1);
    let payload: serde_json::Value = serde_json::from_str(&payloads[0]).unwrap();
    assert_eq!(payload["optional"]["workflow"], "release");
    assert_eq!(payload["optional"]["repo"], "acme/app");
    assert_eq!(payload["optional"]["ref"], "refs/heads/main");
    assert_eq!(payload["optional"]["team"], "platform");

    // The summary, snapshot-style.
    let fingerprint = json["images"][0]["key_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(r.summary().contains(&format!("key `sha256:{fingerprint}`")));
    let summary =
        filtered_summary(&r, &reg).replace("key `sha256:DIGEST`", "key `sha256:FINGERPRINT`");
    assert_eq!(
        summary,
        "\
### ferrosign signed 1 image

| image | mode | identity or key | formats | Rekor entry |
|---|---|---|---|---|
| `127.0.0.1:PORT/acme/app@sha256:DIGEST` | key (verified) | key `sha256:FINGERPRINT` | `.sig` + bundle | not uploaded |

<details><summary>Verify with cosign</summary>

`cosign.pub` is the public key whose SHA-256 fingerprint is shown above.

```sh
cosign verify --key cosign.pub --rekor-url http://127.0.0.1:1 --insecure-ignore-tlog=true --allow-insecure-registry 127.0.0.1:PORT/acme/app@sha256:DIGEST
```

</details>

"
    );
    // What the summary tells consumers to run works, with cosign v2 and v3.
    run_summary_commands(&r, r.path());

    // The runner contract: masks first, one group per image, no secret anywhere.
    assert_masks_first(&res, &[PASSWORD, REGISTRY_PASSWORD, OIDC_TOKEN, &pem]);
    assert!(
        res.stdout.contains(&format!("::group::Sign {image}\n")),
        "{}",
        res.stdout
    );
    assert!(res.stdout.contains("::endgroup::"), "{}", res.stdout);
    assert!(!res.stdout.contains("::error::"), "{}", res.stdout);
    assert_no_leak(&res, &r, &[PASSWORD, REGISTRY_PASSWORD, OIDC_TOKEN, &pem]);

    // Re-running does not duplicate the signature.
    let mut again = key_action(&r, &pem, &image);
    input(&mut again, "annotations", "team=platform");
    run(&mut again).ok();
    assert_eq!(reg.sig_payloads("acme/app", &digest).len(), 1);
}

/// The default inputs with a workflow name that has a comma, and `annotations:` lines whose values hold
/// `,` and `=`: signed exactly as given, and cosign v2 and v3 `verify -a` see exactly those values.
#[test]
fn commas_and_equals_in_workflow_names_and_annotation_values_are_kept() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "action-commas");
    let r = Runner::new();
    let pem = make_key(r.path());
    std::fs::copy(r.path().join("leak.pub"), r.path().join("cosign.pub")).unwrap();
    let image = format!("{}/acme/app@{digest}", reg.addr);
    let mut c = key_action(&r, &pem, &image);
    c.env("GITHUB_WORKFLOW", "Build, test and release");
    // The `.sig` payload's `optional` is what this pins (cosign v2.6.5 reads a bundle instead when
    // there is one, and does not check -a on it: docs/cosign-bundle-layout.md §2.3).
    input(&mut c, "signature-format", "legacy");
    input(
        &mut c,
        "annotations",
        "run-url=https://ci.example/run?id=42\nfilter=a=1,b=2\n",
    );
    run(&mut c).ok();
    let payloads = reg.sig_payloads("acme/app", &digest);
    assert_eq!(payloads.len(), 1);
    let payload: serde_json::Value = serde_json::from_str(&payloads[0]).unwrap();
    let optional = &payload["optional"];
    assert_eq!(optional["workflow"], "Build, test and release");
    assert_eq!(optional["run-url"], "https://ci.example/run?id=42");
    assert_eq!(optional["filter"], "a=1,b=2");
    assert_eq!(optional["repo"], "acme/app");
    let verify = |major: u32, annotations: &[&str]| {
        let mut c = cosign(major, r.path());
        c.args([
            "verify",
            "--key",
            "cosign.pub",
            "--insecure-ignore-tlog=true",
            "--allow-insecure-registry",
        ]);
        for a in annotations {
            c.args(["-a", a]);
        }
        run(c.arg(&image))
    };
    // A pair with a comma is quoted for cosign's CSV reading of -a.
    let workflow = "\"workflow=Build, test and release\"";
    for major in [2, 3] {
        let ok = verify(major, &[workflow, "repo=acme/app"]);
        assert_eq!(ok.code, 0, "cosign v{major}: {}", ok.all());
        let wrong = verify(major, &["\"workflow=Build, test\""]);
        assert_ne!(wrong.code, 0, "cosign v{major} accepted a wrong workflow");
    }
    // cosign v3 splits a pair at its first `=` (v2 at every `=`, so only v3 can ask for these).
    let ok = verify(
        3,
        &[
            workflow,
            "run-url=https://ci.example/run?id=42",
            "\"filter=a=1,b=2\"",
        ],
    );
    assert_eq!(ok.code, 0, "cosign v3: {}", ok.all());
    let wrong = verify(3, &["\"filter=a=1\""]);
    assert_ne!(wrong.code, 0, "cosign v3 accepted a wrong filter");
    // cosign v2 prints the payload it verified: the values are there whole.
    let v2 = verify(2, &[workflow]);
    assert!(
        v2.stdout.contains(r#""filter":"a=1,b=2""#)
            && v2
                .stdout
                .contains(r#""run-url":"https://ci.example/run?id=42""#),
        "{}",
        v2.stdout
    );
}

#[test]
fn recursive_signs_the_index_and_each_platform_manifest() {
    let reg = TestRegistry::start();
    let (index, kids) = reg.push_index("acme/multi", "v2", "action-multi", &["amd64", "arm64"]);
    let r = Runner::new();
    let pem = make_key(r.path());
    let mut c = key_action(&r, &pem, &format!("{}/acme/multi:v2", reg.addr));
    input(&mut c, "recursive", "true");
    let res = run(&mut c).ok();
    let digests: Vec<String> = output(&r, "digests").lines().map(str::to_string).collect();
    let mut want = vec![index.clone()];
    want.extend(kids.iter().cloned());
    assert_eq!(digests, want);
    assert_eq!(output(&r, "signatures").lines().count(), 3);
    for d in &want {
        assert_eq!(reg.sig_payloads("acme/multi", d).len(), 1, "{d} not signed");
    }
    assert!(
        r.summary().starts_with("### ferrosign signed 3 images"),
        "{}",
        r.summary()
    );
    // A tag was given: the Action says it signed the digest it resolved to.
    assert!(res.stdout.contains("::warning::"), "{}", res.stdout);
}

#[test]
fn a_failed_image_does_not_stop_the_others_and_is_named() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/ok", "v1", "action-partial");
    let r = Runner::new();
    let pem = make_key(r.path());
    let good = format!("{}/acme/ok@{digest}", reg.addr);
    let bad = format!("{}/acme/gone@{digest}", dead_addr());
    let res = run(&mut key_action(&r, &pem, &format!("{bad}\n{good}")))
        .fails(1, "1 of 2 images were not signed");
    assert!(res.stderr.contains(&bad), "{}", res.stderr);
    let errors: Vec<&str> = res
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error::"))
        .collect();
    assert_eq!(
        errors.len(),
        2,
        "one per failed image, one overall: {errors:?}"
    );
    assert!(
        errors[0].contains(&format!("{bad} was not signed")) && errors[0].contains("%0Ahint: "),
        "{}",
        errors[0]
    );
    assert_eq!(
        output(&r, "digests"),
        digest,
        "the good image is still signed and reported"
    );
    assert_eq!(reg.sig_payloads("acme/ok", &digest).len(), 1);
    let summary = r.summary();
    assert!(summary.contains("**Not signed (1):**"), "{summary}");
    assert!(summary.contains(&format!("`{bad}`")), "{summary}");
    assert_no_leak(&res, &r, &[PASSWORD, REGISTRY_PASSWORD, OIDC_TOKEN, &pem]);
}

#[test]
fn registry_credentials_from_inputs_and_the_job_token_stays_home() {
    let reg = TestRegistry::start_with_auth("octocat", REGISTRY_PASSWORD);
    let digest = reg.push_image("acme/private", "v1", "action-auth");
    let r = Runner::new();
    let pem = make_key(r.path());
    let image = format!("{}/acme/private@{digest}", reg.addr);
    let res = run(&mut key_action(&r, &pem, &image)).ok();
    assert_eq!(reg.sig_payloads("acme/private", &digest).len(), 1);
    assert_no_leak(&res, &r, &[REGISTRY_PASSWORD, PASSWORD, &pem]);

    // The job's GitHub token (`ghs_…`, registry-password's default) is not sent to other registries:
    // a listener that challenges for basic auth records whether any request carried credentials.
    let job_token = "ghs_jobtokenleaktest0123456789abcdef";
    for (password, offered) in [(job_token, false), (REGISTRY_PASSWORD, true)] {
        let (addr, requests) = challenging_listener();
        let mut c = key_action(&r, &pem, &format!("{addr}/acme/private@{digest}"));
        input(&mut c, "registry-password", password);
        let res = run(&mut c);
        assert_eq!(res.code, 1, "{}", res.all());
        let seen = requests.lock().unwrap().join("\n---\n").to_lowercase();
        assert!(!seen.is_empty(), "no request reached the listener");
        assert_eq!(
            seen.contains("authorization: basic"),
            offered,
            "{password}: {seen}"
        );
        assert_eq!(
            res.stderr.contains("not sending the job's GitHub token"),
            !offered,
            "{}",
            res.stderr
        );
        assert_no_leak(&res, &r, &[password, PASSWORD, &pem]);
    }
}

/// A loopback listener that answers every request with a basic-auth challenge and records the requests.
fn challenging_listener() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            record
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\"\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    (addr, seen)
}

#[test]
fn secrets_never_leak_on_signing_failure_paths() {
    let reg = TestRegistry::start_with_auth("octocat", REGISTRY_PASSWORD);
    let digest = reg.push_image("acme/app", "v1", "action-leak");
    let r = Runner::new();
    let pem = make_key(r.path());
    let secrets = [PASSWORD, REGISTRY_PASSWORD, OIDC_TOKEN, pem.as_str()];
    let image = format!("{}/acme/app@{digest}", reg.addr);
    type Tweak = fn(&mut Command);
    let cases: &[(&str, Tweak)] = &[
        ("wrong key password", |c| {
            c.env("COSIGN_PASSWORD", "not-the-password");
        }),
        ("no key password", |c| {
            c.env_remove("COSIGN_PASSWORD");
        }),
        ("key variable unset", |c| {
            c.env_remove("COSIGN_PRIVATE_KEY");
        }),
        ("a public key as the key", |c| {
            input(c, "key", "leak.pub");
        }),
        ("wrong registry password", |c| {
            input(c, "registry-password", "wrong-registry-password");
        }),
        ("registry down", |c| {
            input(c, "images", &format!("{}/acme/app:v1", dead_addr()));
        }),
        ("not an image reference", |c| {
            input(c, "images", "UPPER/Case@@nope");
        }),
        ("tlog upload not possible", |c| {
            input(c, "tlog-upload", "true");
        }),
    ];
    for (what, tweak) in cases {
        let mut c = key_action(&r, &pem, &image);
        tweak(&mut c);
        let res = run(&mut c);
        assert_ne!(res.code, 0, "{what}: should fail:\n{}", res.all());
        assert!(!res.stderr.contains("panicked"), "{what}: {}", res.stderr);
        assert!(res.stdout.contains("::error::"), "{what}: {}", res.stdout);
        assert!(
            res.stderr.contains("hint: "),
            "{what}: no hint:\n{}",
            res.stderr
        );
        assert_masks_first(&res, &[OIDC_TOKEN]);
        assert_no_leak(&res, &r, &secrets);
    }
}

/// Keyless in a runner-like job with `id-token: write` against the test Sigstore instance: one
/// certificate for both images, Rekor entries linked in the summary, outputs carry the identity, the
/// summary's command verifies with the real cosign v3, and the OIDC tokens never leak.
#[test]
fn keyless_signing_in_actions_reports_identity_and_rekor_entries() {
    let fake = crate::sigstore_fake::FakeSigstore::start(&[]);
    let reg = TestRegistry::start();
    let a = reg.push_image("acme/app", "v1", "action-keyless-a");
    let b = reg.push_image("acme/tool", "v1", "action-keyless-b");
    let r = Runner::new();
    let images = [
        format!("{}/acme/app@{a}", reg.addr),
        format!("{}/acme/tool@{b}", reg.addr),
    ];
    let mut c = r.action("push");
    for (k, v) in fake.actions_env() {
        c.env(k, v);
    }
    c.env("DOCKER_CONFIG", r.path().join("no-docker-config"));
    input(&mut c, "images", &images.join("\n"));
    input(&mut c, "fulcio-url", &fake.url());
    input(&mut c, "rekor-url", &fake.url());
    input(
        &mut c,
        "trusted-root",
        fake.trusted_root().to_str().unwrap(),
    );
    input(&mut c, "allow-insecure-registry", "true");
    input(&mut c, "registry-password", REGISTRY_PASSWORD);
    input(&mut c, "verify", "true");
    let res = run(&mut c).ok();

    assert_eq!(output(&r, "digests"), format!("{a}\n{b}"));
    assert_eq!(output(&r, "certificate-identity"), fake.identity());
    assert_eq!(output(&r, "certificate-oidc-issuer"), fake.issuer());
    let indexes: Vec<u64> = output(&r, "rekor-log-indexes")
        .lines()
        .map(|l| l.parse().expect("a log index per image"))
        .collect();
    assert_eq!(indexes.len(), 2);
    let json: serde_json::Value = serde_json::from_str(&output(&r, "json")).unwrap();
    assert_eq!(json["images"][1]["mode"], "keyless");
    assert_eq!(json["images"][1]["verified"], true);

    let summary = r.summary();
    for i in &indexes {
        assert!(
            summary.contains(&format!(
                "[{i}]({}/api/v1/log/entries?logIndex={i})",
                fake.url()
            )),
            "{summary}"
        );
    }
    assert!(summary.contains(&format!("`{}` from `{}`", fake.identity(), fake.issuer())));
    // The summary's commands, with cosign v3 (which takes --trusted-root).
    let block = summary
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("\n```")
        .next()
        .unwrap();
    for line in block.lines() {
        assert!(line.contains("--trusted-root"), "{line}");
        let words: Vec<&str> = line.split(' ').collect();
        let v = run(cosign(3, r.path()).args(&words[1..]));
        assert_eq!(v.code, 0, "cosign v3 rejects `{line}`:\n{}", v.all());
        // cosign v2.6.5 accepts the same command: the default format attached a Sigstore bundle, which
        // it reads (instead of the `.sig`) with --trusted-root (docs/cosign-bundle-layout.md §2.2).
        let v2_words: Vec<&str> = words[1..].to_vec();
        let mut c2 = cosign(2, r.path());
        for (k, v) in fake.cosign_v2_env() {
            c2.env(k, v);
        }
        let v = run(c2.args(&v2_words));
        assert_eq!(
            v.code,
            0,
            "cosign v2 rejects `{}`:\n{}",
            v2_words.join(" "),
            v.all()
        );
    }

    // Both OIDC tokens (the request token and the JWT it bought) are masked and never shown. The
    // tokens are the ones the test instance issued (its own record), not what ferrosign says it masked.
    let request_token = fake.get("actions_id_token_request_token");
    let issued = fake.issued_secrets();
    let bought: Vec<&str> = issued
        .iter()
        .map(String::as_str)
        .filter(|t| !fake.ready.to_string().contains(t) && *t != request_token)
        .collect();
    assert_eq!(
        bought.len(),
        1,
        "one identity token for the run: {issued:?}"
    );
    assert!(
        res.stdout.contains(&format!("::add-mask::{}", bought[0])),
        "the identity token was not masked:\n{}",
        res.stdout
    );
    let mut secrets: Vec<&str> = issued.iter().map(String::as_str).collect();
    secrets.push(REGISTRY_PASSWORD);
    assert_masks_first(&res, &[&request_token, REGISTRY_PASSWORD]);
    assert_no_leak(&res, &r, &secrets);
    assert_eq!(res.stdout.matches("::group::Sign ").count(), 2);
}

/// Keyless failure paths (the token endpoint, Fulcio or Rekor refusing; Fulcio certifying another key):
/// each fails with `::error::` and a hint, nothing is signed, and neither the request token nor the
/// identity token nor the registry password shows anywhere.
#[test]
fn keyless_failures_leak_no_token() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "action-keyless-fail");
    let image = format!("{}/acme/app@{digest}", reg.addr);
    for fault in [
        "oidc-status=403",
        "fulcio-status=400",
        "rekor-status=400",
        "fulcio-wrong-key",
    ] {
        let fake = crate::sigstore_fake::FakeSigstore::start(&[fault]);
        let r = Runner::new();
        let mut c = r.action("push");
        for (k, v) in fake.actions_env() {
            c.env(k, v);
        }
        c.env("DOCKER_CONFIG", r.path().join("no-docker-config"));
        input(&mut c, "images", &image);
        input(&mut c, "fulcio-url", &fake.url());
        input(&mut c, "rekor-url", &fake.url());
        input(
            &mut c,
            "trusted-root",
            fake.trusted_root().to_str().unwrap(),
        );
        input(&mut c, "allow-insecure-registry", "true");
        input(&mut c, "registry-password", REGISTRY_PASSWORD);
        let res = run(&mut c);
        assert_ne!(res.code, 0, "{fault}: should fail:\n{}", res.all());
        assert!(res.stdout.contains("::error::"), "{fault}: {}", res.stdout);
        assert!(
            res.stderr.contains("hint: "),
            "{fault}: no hint:\n{}",
            res.stderr
        );
        // Every token the instance issued (its own record, not ferrosign's masks) must stay hidden.
        let request_token = fake.get("actions_id_token_request_token");
        let mut secrets = fake.issued_secrets();
        secrets.push(REGISTRY_PASSWORD.to_string());
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        assert_masks_first(&res, &[&request_token, REGISTRY_PASSWORD]);
        assert_no_leak(&res, &r, &secrets);
        // The identity token the request token bought (every fault but the token endpoint's) is masked
        // too, though no failure path prints it: the mask is what hides it if one ever did.
        let bought: Vec<&str> = secrets
            .iter()
            .copied()
            .filter(|t| t.starts_with("eyJ") && !fake.ready.to_string().contains(t))
            .collect();
        assert_eq!(
            bought.len(),
            usize::from(fault != "oidc-status=403"),
            "{fault}: tokens bought: {bought:?}"
        );
        for t in bought {
            assert!(
                res.stdout.contains(&format!("::add-mask::{t}")),
                "{fault}: the identity token was not masked:\n{}",
                res.stdout
            );
        }
        assert!(
            reg.sig_payloads("acme/app", &digest).is_empty(),
            "{fault}: nothing signed"
        );
    }
}

/// The `json` output's `requests` per image is what the registry saw (counted by the proxy in front of
/// it), and a first signature on a registry without auth and without the referrers API
/// (docker-registry) costs, per `--signature-format`:
/// - `legacy`: the sequence of `oci::layout::prepare`'s and `commit`'s documentation: `HEAD` of the
///   image, `GET .sig` (404) beside the payload upload (`POST` → 202, `PUT`), the config upload (2),
///   the confirming `GET`, `PUT .sig`, one re-read `GET .sig`: 9.
/// - `bundle`: `HEAD` of the image (its descriptor is the `subject`), the empty config upload (2), the
///   bundle's upload opened and finished (2), the referrers API probe (404: the first image of the run),
///   the tag-schema index `GET` (404), `PUT` of the referrer beside the confirming `GET`, `PUT` of the
///   index, one re-read: 11.
/// - `both`: the two side by side over one `HEAD`: 19.
#[test]
fn requests_per_image_are_counted_per_signature_format() {
    for (format, repo, want) in [
        ("legacy", "acme/legacy", 9),
        ("bundle", "acme/bundle", 11),
        ("both", "acme/both", 19),
    ] {
        let reg = TestRegistry::start();
        let digest = reg.push_image(repo, "v1", "count");
        let proxy = proxy::FaultProxy::start(&reg.addr, vec![]);
        let r = Runner::new();
        let pem = make_key(r.path());
        let image = format!("{}/{repo}:v1", proxy.addr);
        let mut c = key_action(&r, &pem, &image);
        input(&mut c, "signature-format", format);
        run(&mut c).ok();
        let json: serde_json::Value = serde_json::from_str(&output(&r, "json")).unwrap();
        let seen: Vec<String> = proxy
            .requests()
            .iter()
            .map(|s| {
                format!(
                    "{} {} {}",
                    s.method,
                    s.path
                        .replace(&digest, "DIGEST")
                        .replace(&digest.replacen(':', "-", 1), "DIGEST"),
                    s.status
                )
            })
            .collect();
        assert_eq!(
            json["images"][0]["requests"],
            seen.len(),
            "{format}: {seen:#?}"
        );
        assert_eq!(seen.len(), want, "{format}: {seen:#?}");
        assert_eq!(
            proxy.count("*", "^/v2/$"),
            0,
            "{format}: no /v2/ probe: {seen:#?}"
        );
        let sig = if format == "bundle" { 0 } else { 1 };
        assert_eq!(reg.sig_layers(repo, &digest).len(), sig, "{format}");
    }
}

/// On a registry that takes a blob in one `POST …/uploads/?digest=` and has the referrers API
/// (go-containerregistry's, tests/peers/referrers-registry), a first signature costs at most 7 requests
/// per layout (issue 15), counted in the `json` output's `requests` and by a proxy in front of it. Two
/// images, one after the other (`max-workers: 1`), in two repositories:
/// - `legacy`, each image: `HEAD`, the payload (one `POST`) beside `GET .sig` (404), the config (one
///   `POST`), the confirming `GET .sig`, `PUT .sig`, the re-read: 7.
/// - `bundle`, first image: `HEAD`, the empty config (one `POST`: the run learns the form), the
///   layer's upload opened (`POST` → 202), the referrers API probe, then the layer's `PUT` and the
///   referrer manifest's `PUT`: 6. Second image: the empty config (one `POST`), the probe and the
///   opening skipped (the run knows the API and the form), the layer (one `POST`), the manifest: 4.
/// - `both`: one `HEAD`, then both: 12, then 10.
#[test]
fn requests_per_image_with_one_request_uploads_and_the_referrers_api() {
    for (format, want) in [("legacy", [7, 7]), ("bundle", [6, 4]), ("both", [12, 10])] {
        let reg = crate::bundle_peers::ReferrersRegistry::start();
        let proxy = proxy::FaultProxy::start(&reg.addr, vec![]);
        let images: Vec<String> = ["acme/one", "acme/two"]
            .iter()
            .map(|repo| {
                let digest = reg.push_image(repo, "v1", &format!("{format} {repo}"));
                format!("{}/{repo}@{digest}", proxy.addr)
            })
            .collect();
        let r = Runner::new();
        let pem = make_key(r.path());
        let mut c = key_action(&r, &pem, &images.join("\n"));
        input(&mut c, "signature-format", format);
        input(&mut c, "max-workers", "1");
        run(&mut c).ok();
        let json: serde_json::Value = serde_json::from_str(&output(&r, "json")).unwrap();
        let seen: Vec<String> = proxy
            .requests()
            .iter()
            .map(|s| format!("{} {} {}", s.method, s.path, s.status))
            .collect();
        for (i, want) in want.iter().enumerate() {
            let repo = ["acme/one", "acme/two"][i];
            let sent = seen
                .iter()
                .filter(|s| s.contains(&format!(" /v2/{repo}/")))
                .count();
            assert_eq!(json["images"][i]["requests"], sent, "{format}: {seen:#?}");
            assert_eq!(sent, *want, "{format}, image {}: {seen:#?}", i + 1);
        }
        assert_eq!(
            seen.len(),
            want.iter().sum::<usize>(),
            "{format}: {seen:#?}"
        );
    }
}
