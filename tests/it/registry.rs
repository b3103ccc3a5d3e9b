//! `sign` / `verify` / `upload blob` against a real registry (Debian's docker-registry on loopback), with
//! the real cosign v2 and v3 verifying what ferrosign signs and signing what ferrosign verifies.

use crate::support::proxy::{Fault, FaultProxy};
use crate::support::registry::{dead_addr, TestRegistry};
use crate::support::{cosign, ferrosign, run, tempdir, verify_with_key, Run};
use base64::Engine;
use std::path::Path;
use std::process::Command;

const PW: &str = "test-password";

/// ferrosign with a key password and an empty docker config (the machine's own is never read).
fn fs(dir: &Path) -> Command {
    let mut c = ferrosign(dir);
    c.env("COSIGN_PASSWORD", PW)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"));
    c
}

fn cs(major: u32, dir: &Path) -> Command {
    let mut c = cosign(major, dir);
    c.env("COSIGN_PASSWORD", PW);
    c
}

/// Makes `PREFIX.key`/`PREFIX.pub` with ferrosign.
fn keypair(dir: &Path, prefix: &str) {
    run(fs(dir).args(["generate-key-pair", "--output-key-prefix", prefix])).ok();
}

/// `sign` in the `.sig` layout only (`--signature-format legacy`): these tests pin that layout, which
/// cosign v2.6.5 no longer reads once a bundle is attached; tests/it/bundle.rs pins the bundle layout
/// and the default (`both`).
fn sign(dir: &Path, key: &str, extra: &[&str], images: &[&str]) -> Run {
    run(fs(dir)
        .args([
            "sign",
            "--key",
            key,
            "--tlog-upload=false",
            "--allow-insecure-registry",
            "--signature-format",
            "legacy",
        ])
        .args(extra)
        .args(images))
}

fn verify(dir: &Path, key: &str, extra: &[&str], image: &str) -> Run {
    run(&mut verify_with_key(fs(dir), key, extra, image))
}

fn cosign_verify(major: u32, dir: &Path, key: &str, extra: &[&str], image: &str) -> Run {
    run(&mut verify_with_key(cs(major, dir), key, extra, image))
}

#[test]
fn cosign_v2_and_v3_verify_what_ferrosign_signed_with_annotations() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "a");
    keypair(d, "release");
    let tagged = format!("{}/acme/app:v1", reg.addr);
    let r = sign(
        d,
        "release.key",
        &["-a", "workflow=release", "-a", "repo=acme/app,x=<&>"],
        &[&tagged],
    )
    .ok();
    // The tag was resolved to the digest, with a warning; the digest is what is reported and signed.
    assert!(
        r.stderr.contains("uses a tag, not a digest"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout.trim(), format!("{}/acme/app@{digest}", reg.addr));
    let payloads = reg.sig_payloads("acme/app", &digest);
    assert_eq!(payloads.len(), 1);
    assert_eq!(
        payloads[0],
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"{}/acme/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":{{"repo":"acme/app","workflow":"release","x":"\u003c\u0026\u003e"}}}}"#,
            reg.addr
        )
    );
    let by_digest = format!("{}/acme/app@{digest}", reg.addr);
    for major in [2, 3] {
        let out = cosign_verify(
            major,
            d,
            "release.pub",
            &["-a", "workflow=release", "-a", "repo=acme/app"],
            &by_digest,
        )
        .ok();
        assert!(
            out.stdout.contains(r#""workflow":"release""#),
            "cosign v{major}: {}",
            out.stdout
        );
        // A required annotation that is not there fails in cosign too.
        let bad = cosign_verify(
            major,
            d,
            "release.pub",
            &["-a", "workflow=nightly"],
            &by_digest,
        );
        assert_ne!(bad.code, 0, "cosign v{major} accepted a wrong annotation");
    }
    // And ferrosign's own verify: cosign-style JSON on stdout, the checks on stderr.
    let out = verify(d, "release.pub", &["-a", "workflow=release"], &tagged).ok();
    let json: serde_json::Value =
        serde_json::from_str(out.stdout.trim()).expect("JSON array on stdout");
    assert_eq!(
        json[0]["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
    assert!(out
        .stderr
        .contains("The signatures were verified against the specified public key"));
    verify(d, "release.pub", &["-a", "workflow=nightly"], &tagged)
        .fails(1, "lacks the required annotations")
        .hint("-a key=value");
}

/// `-a` is read as cosign v3 reads it (pflag's CSV split, then each pair at its FIRST `=`): a value may
/// hold `=`, and a quoted pair may hold commas. ferrosign's own `verify -a` and cosign v3's agree.
#[test]
fn annotation_values_with_equals_and_commas_round_trip_like_cosign_v3() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "eq");
    keypair(d, "release");
    let image = format!("{}/acme/app@{digest}", reg.addr);
    let url = "url=https://ci.example/run?id=42";
    let workflow = "\"workflow=Build, test and release\"";
    sign(d, "release.key", &["-a", url, "-a", workflow], &[&image]).ok();
    let payloads = reg.sig_payloads("acme/app", &digest);
    let payload: serde_json::Value = serde_json::from_str(&payloads[0]).unwrap();
    assert_eq!(payload["optional"]["url"], "https://ci.example/run?id=42");
    assert_eq!(payload["optional"]["workflow"], "Build, test and release");
    verify(d, "release.pub", &["-a", url, "-a", workflow], &image).ok();
    verify(
        d,
        "release.pub",
        &["-a", "url=https://ci.example/run?id=43"],
        &image,
    )
    .fails(1, "lacks the required annotations");
    cosign_verify(3, d, "release.pub", &["-a", url, "-a", workflow], &image).ok();
    let bad = cosign_verify(
        3,
        d,
        "release.pub",
        &["-a", "url=https://ci.example/run"],
        &image,
    );
    assert_ne!(bad.code, 0, "cosign v3 accepted a wrong value");
    // An unquoted comma splits the pair, as in cosign: `-a 'workflow=Build, test'` is two fields.
    sign(d, "release.key", &["-a", "workflow=Build, test"], &[&image])
        .fails(2, "invalid annotation ` test`");
}

#[test]
fn ferrosign_verifies_what_cosign_v2_and_v3_signed_and_keeps_their_signatures() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/tool", "1.0", "t");
    let image = format!("{}/acme/tool@{digest}", reg.addr);
    run(cs(2, d).args(["generate-key-pair", "--output-key-prefix", "c2"])).ok();
    run(cs(3, d).args(["generate-key-pair", "--output-key-prefix", "c3"])).ok();
    run(cs(2, d).args([
        "sign",
        "--key",
        "c2.key",
        "--tlog-upload=false",
        "-y",
        "--allow-http-registry",
        "-a",
        "by=v2",
        &image,
    ]))
    .ok();
    run(cs(3, d).args([
        "sign",
        "--key",
        "c3.key",
        "--tlog-upload=false",
        "-y",
        "--allow-http-registry",
        "--new-bundle-format=false",
        "--use-signing-config=false",
        "-a",
        "by=v3",
        &image,
    ]))
    .ok();
    assert_eq!(
        reg.sig_layers("acme/tool", &digest).len(),
        2,
        "cosign v3 wrote the legacy layout"
    );
    let out = verify(d, "c2.pub", &[], &image).ok();
    assert!(
        out.stdout.contains(r#""by":"v2""#) && !out.stdout.contains(r#""by":"v3""#),
        "{}",
        out.stdout
    );
    verify(d, "c3.pub", &["-a", "by=v3"], &image).ok();
    // ferrosign adds its signature and keeps both of cosign's; everyone still verifies.
    keypair(d, "fs");
    sign(d, "fs.key", &[], &[&image]).ok();
    let layers = reg.sig_layers("acme/tool", &digest);
    assert_eq!(layers.len(), 3);
    for (major, key) in [(2, "c2.pub"), (3, "c3.pub"), (2, "fs.pub"), (3, "fs.pub")] {
        cosign_verify(major, d, key, &[], &image).ok();
    }
    // A key that signed nothing here fails: one error line and a hint, exit 1.
    keypair(d, "other");
    let r = verify(d, "other.pub", &[], &image)
        .fails(1, "verification failed: no signature of")
        .hint("public key");
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1
    );
    assert_eq!(
        reg.sig_layers("acme/tool", &digest),
        layers,
        "a failed verify changed nothing"
    );
}

#[test]
fn recursive_signs_the_index_and_every_platform() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let (index, kids) = reg.push_index("acme/multi", "latest", "m", &["amd64", "arm64"]);
    keypair(d, "k");
    // Without --recursive only the index is signed.
    let r = sign(d, "k.key", &[], &[&format!("{}/acme/multi", reg.addr)]).ok();
    assert_eq!(r.stdout.lines().count(), 1);
    assert_eq!(reg.sig_layers("acme/multi", &index).len(), 1);
    assert!(kids
        .iter()
        .all(|k| reg.sig_layers("acme/multi", k).is_empty()));
    let r = sign(
        d,
        "k.key",
        &["--recursive", "-a", "level=all"],
        &[&format!("{}/acme/multi@{index}", reg.addr)],
    )
    .ok();
    assert_eq!(r.stdout.lines().count(), 3, "{}", r.stdout);
    assert_eq!(reg.sig_layers("acme/multi", &index).len(), 2);
    for k in &kids {
        assert_eq!(reg.sig_layers("acme/multi", k).len(), 1);
        let child = format!("{}/acme/multi@{k}", reg.addr);
        cosign_verify(2, d, "k.pub", &["-a", "level=all"], &child).ok();
        verify(d, "k.pub", &["-a", "level=all"], &child).ok();
    }
}

#[test]
fn eight_parallel_signers_all_end_up_present() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/busy", "v1", "b");
    keypair(d, "k");
    // Through a proxy that slows every request, so that the signers' read-modify-write windows overlap.
    let proxy = FaultProxy::start(
        &reg.addr,
        vec![Fault::latency(std::time::Duration::from_millis(300))],
    );
    let image = format!("{}/acme/busy@{digest}", proxy.addr);
    // Sign once first so that every racer reads an existing manifest to extend.
    sign(d, "k.key", &["-a", "signer=first"], &[&image]).ok();
    let children: Vec<_> = (0..8)
        .map(|i| {
            fs(d)
                .args([
                    "sign",
                    "--key",
                    "k.key",
                    "--tlog-upload=false",
                    "--allow-insecure-registry",
                    "--signature-format",
                    "legacy",
                    "-a",
                ])
                .arg(format!("signer={i}"))
                .arg(&image)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let payloads = reg.sig_payloads("acme/busy", &digest);
    assert_eq!(payloads.len(), 9, "{payloads:#?}");
    let direct = format!("{}/acme/busy@{digest}", reg.addr);
    for i in (0..8).map(|i| i.to_string()).chain(["first".to_string()]) {
        assert!(
            payloads
                .iter()
                .any(|p| p.contains(&format!(r#""signer":"{i}""#))),
            "signer {i} lost"
        );
        verify(d, "k.pub", &["-a", &format!("signer={i}")], &direct).ok();
    }
    cosign_verify(2, d, "k.pub", &["-a", "signer=7"], &direct).ok();
}

#[test]
fn an_identical_signature_is_not_added_twice() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/same", "v1", "s");
    let image = format!("{}/acme/same@{digest}", reg.addr);
    keypair(d, "k");
    sign(d, "k.key", &["-a", "a=1"], &[&image]).ok();
    let before = reg.sig_layers("acme/same", &digest);
    let r = sign(d, "k.key", &["-a", "a=1"], &[&image]).ok();
    assert!(
        r.stderr.contains("already has this signature"),
        "{}",
        r.stderr
    );
    assert_eq!(reg.sig_layers("acme/same", &digest), before);
    // Other annotations are another signature.
    sign(d, "k.key", &["-a", "a=2"], &[&image]).ok();
    assert_eq!(reg.sig_layers("acme/same", &digest).len(), 2);
}

#[test]
fn upload_blob_then_sign_and_verify_it() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    std::fs::write(d.join("tool.sh"), "#!/bin/sh\necho hello\n").unwrap();
    let target = format!("{}/acme/files:tool", reg.addr);
    let r = run(fs(d).args([
        "upload",
        "blob",
        "-f",
        "tool.sh",
        "--allow-insecure-registry",
        &target,
    ]))
    .ok();
    let at = r.stdout.trim().to_string();
    assert!(
        at.starts_with(&format!("{}/acme/files@sha256:", reg.addr)),
        "{at}"
    );
    assert!(
        r.stderr.contains("with media type [text/plain]"),
        "{}",
        r.stderr
    );
    let digest = at.split('@').nth(1).unwrap();
    let m: serde_json::Value =
        serde_json::from_slice(&reg.manifest("acme/files", "tool").unwrap()).unwrap();
    let layer = m["layers"][0]["digest"].as_str().unwrap();
    assert_eq!(reg.blob("acme/files", layer), b"#!/bin/sh\necho hello\n");
    keypair(d, "k");
    sign(d, "k.key", &[], &[&at]).ok();
    cosign_verify(2, d, "k.pub", &[], &at).ok();
    verify(d, "k.pub", &[], &format!("{}/acme/files:tool", reg.addr)).ok();
    assert_eq!(reg.sig_layers("acme/files", digest).len(), 1);
}

#[test]
fn credentials_from_flags_env_and_docker_config_and_a_clear_401_without() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start_with_auth("alice", "wonder land");
    let digest = reg.push_image("acme/private", "v1", "p");
    let image = format!("{}/acme/private@{digest}", reg.addr);
    keypair(d, "k");
    // No credentials: one error line naming the registry, a hint on how to log in, exit 1.
    sign(d, "k.key", &[], &[&image])
        .fails(1, &format!("the registry {} refused access", reg.addr))
        .hint("--registry-username");
    // Wrong password.
    sign(
        d,
        "k.key",
        &[
            "--registry-username",
            "alice",
            "--registry-password",
            "nope",
        ],
        &[&image],
    )
    .fails(1, "the credentials given were not accepted");
    // Flags.
    sign(
        d,
        "k.key",
        &[
            "--registry-username",
            "alice",
            "--registry-password",
            "wonder land",
            "-a",
            "via=flags",
        ],
        &[&image],
    )
    .ok();
    // Password from the environment.
    let r = run(fs(d)
        .env("FERROSIGN_REGISTRY_PASSWORD", "wonder land")
        .args([
            "sign",
            "--key",
            "k.key",
            "--tlog-upload=false",
            "--allow-insecure-registry",
            "--registry-username",
            "alice",
            "-a",
            "via=env",
            &image,
        ]));
    r.ok();
    // The docker config file (DOCKER_CONFIG, auths entry with base64 user:password).
    let cfg = d.join("docker");
    std::fs::create_dir_all(&cfg).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:wonder land");
    std::fs::write(
        cfg.join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.addr),
    )
    .unwrap();
    let r = run(fs(d).env("DOCKER_CONFIG", &cfg).args([
        "verify",
        "--key",
        "k.pub",
        "--insecure-ignore-tlog",
        "--allow-insecure-registry",
        "-a",
        "via=env",
        &image,
    ]));
    let r = r.ok();
    assert!(
        !r.all().contains("wonder land"),
        "the password leaked into the output"
    );
    assert_eq!(reg.sig_layers("acme/private", &digest).len(), 2);
}

#[test]
fn bad_input_fails_with_one_clear_error_and_loses_nothing() {
    let dir = tempdir();
    let d = dir.path();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/keep", "v1", "k");
    let image = format!("{}/acme/keep@{digest}", reg.addr);
    keypair(d, "k");
    sign(d, "k.key", &["-a", "keep=me"], &[&image]).ok();
    let before = reg.sig_layers("acme/keep", &digest);
    // Exit 2 for a malformed request (references, annotations), 1 for what fails while running.
    let check_code = |r: Run, code: i32, needle: &str, hint: &str| {
        let r = r.fails(code, needle).hint(hint);
        assert_eq!(
            r.stderr.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{}",
            r.stderr
        );
    };
    let check = |r: Run, needle: &str, hint: &str| check_code(r, 1, needle, hint);
    let usage = |r: Run, needle: &str, hint: &str| check_code(r, 2, needle, hint);
    // Malformed references.
    for bad in [
        format!("{}/acme/keep@sha256:abc", reg.addr),
        format!("{}/acme/keep:-bad", reg.addr),
        "https://x/y".into(),
        format!("{}//keep", reg.addr),
    ] {
        usage(
            sign(d, "k.key", &[], &[&bad]),
            "invalid image reference",
            "[registry[:port]/]name",
        );
    }
    // Upper case: the hint gives the lowercase reference.
    usage(
        sign(d, "k.key", &[], &[&format!("{}/Acme/Keep:v1", reg.addr)]),
        "must be lowercase",
        &format!("{}/acme/keep:v1", reg.addr),
    );
    // An image the registry does not have (404), by tag and by digest.
    check(
        sign(d, "k.key", &[], &[&format!("{}/acme/keep:nope", reg.addr)]),
        "not found in the registry",
        "check the name",
    );
    let missing = format!("{}/acme/keep@sha256:{}", reg.addr, "0".repeat(64));
    check(
        sign(d, "k.key", &[], &[&missing]),
        "not found in the registry",
        "check the name",
    );
    check(
        verify(d, "k.pub", &[], &missing),
        "not found in the registry",
        "check the name",
    );
    // A registry that is down.
    check(
        sign(d, "k.key", &[], &[&format!("{}/acme/keep:v1", dead_addr())]),
        "cannot reach the registry",
        "running",
    );
    // Plain HTTP without a flag: a local registry (127.0.0.1:PORT) may speak it, as with cosign and
    // go-containerregistry (other names need --allow-http-registry; unit tests in oci::client).
    run(fs(d).args(["verify", "--key", "k.pub", "--insecure-ignore-tlog", &image])).ok();
    // Bad annotation syntax.
    usage(
        sign(d, "k.key", &["-a", "novalue"], &[&image]),
        "invalid annotation `novalue`",
        "key=value",
    );
    usage(
        verify(d, "k.pub", &["-a", "a=b,c"], &image),
        "invalid annotation `c`",
        "key=value",
    );
    // Rekor unreachable (signing records in the transparency log by default): say how to sign without it.
    let rekor = format!("http://{}", dead_addr());
    check(
        run(fs(d).args([
            "sign",
            "--key",
            "k.key",
            "--allow-insecure-registry",
            "--rekor-url",
            &rekor,
            &image,
        ])),
        "cannot reach Rekor",
        "--tlog-upload=false",
    );
    // A wrong key at verify; an image with no signatures.
    keypair(d, "wrong");
    check(
        verify(d, "wrong.pub", &[], &image),
        "does not verify with this key",
        "public key",
    );
    let unsigned = reg.push_image("acme/keep", "v2", "unsigned");
    check(
        verify(
            d,
            "k.pub",
            &[],
            &format!("{}/acme/keep@{unsigned}", reg.addr),
        ),
        "no signatures found",
        "sign it first",
    );
    // Nothing in the registry was lost or changed.
    assert_eq!(reg.sig_layers("acme/keep", &digest), before);
    verify(d, "k.pub", &["-a", "keep=me"], &image).ok();
}
