//! Keyless signing against the test Sigstore instance (tests/peers/sigstore/), checked by the real
//! verifiers: cosign v2/v3, sigstore-python, sigstore-js.

use crate::sigstore_fake::{sigstore_venv, FakeSigstore};
use crate::support::registry::TestRegistry;
use crate::support::{cosign, ferrosign, key_pair, run, tempdir, Run};
use std::path::Path;
use std::process::Command;

/// The fakes themselves: the real sigstore-python signs against them, and the real verifiers accept the
/// result with the trust material the fake writes (and reject another identity).
#[test]
fn fake_instance_is_accepted_by_real_clients() {
    let fake = FakeSigstore::start(&[]);
    let dir = tempdir();
    let file = dir.path().join("f.txt");
    let bundle = dir.path().join("f.sigstore.json");
    std::fs::write(&file, b"hello\n").unwrap();
    run(Command::new(sigstore_venv().join("bin/sigstore"))
        .arg("--trust-config")
        .arg(fake.trust_config())
        .args(["sign", "--identity-token", &fake.get("token"), "--bundle"])
        .arg(&bundle)
        .arg(&file))
    .ok();
    fake.sigstore_python_verify(&file, &bundle).ok();
    fake.sigstore_js_verify(&file, &bundle).ok();
    for major in [2, 3] {
        run(cosign(major, dir.path())
            .arg("verify-blob")
            .arg("--bundle")
            .arg(&bundle)
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .args([
                "--certificate-identity",
                &fake.identity(),
                "--certificate-oidc-issuer",
                &fake.issuer(),
            ])
            .arg(&file))
        .ok();
    }
    let wrong = run(cosign(3, dir.path())
        .arg("verify-blob")
        .arg("--bundle")
        .arg(&bundle)
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .args([
            "--certificate-identity",
            "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main",
        ])
        .args(["--certificate-oidc-issuer", &fake.issuer()])
        .arg(&file));
    assert_ne!(
        wrong.code,
        0,
        "cosign accepted another identity:\n{}",
        wrong.all()
    );
}

const FILE: &[u8] = b"release artifact\n";

/// A temp dir with f.txt and other.txt.
fn workdir() -> tempfile::TempDir {
    let d = tempdir();
    std::fs::write(d.path().join("f.txt"), FILE).unwrap();
    std::fs::write(d.path().join("other.txt"), b"something else\n").unwrap();
    d
}

/// `ferrosign sign-blob` against the fake instance, with `extra` arguments and environment.
fn sign_blob(fake: &FakeSigstore, dir: &Path, extra: &[&str], env: &[(String, String)]) -> Run {
    let mut cmd = ferrosign(dir);
    cmd.arg("sign-blob")
        .args(["--fulcio-url", &fake.url(), "--rekor-url", &fake.url()])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .args(extra)
        .arg("f.txt");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

fn cosign_verify_blob(
    major: u32,
    fake: &FakeSigstore,
    dir: &Path,
    bundle: &str,
    file: &str,
) -> Run {
    run(cosign(major, dir)
        .args(["verify-blob", "--bundle", bundle])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .args([
            "--certificate-identity",
            &fake.identity(),
            "--certificate-oidc-issuer",
            &fake.issuer(),
        ])
        .arg(file))
}

fn log_index(r: &Run) -> u64 {
    let line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("tlog entry created with index: "))
        .unwrap_or_else(|| panic!("no log index:\n{}", r.stderr));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Keyless in Actions: token from the runner's token service, one certificate, a v0.3 bundle with the
/// tlog entry; cosign v2 and v3, sigstore-python and sigstore-js all accept it, and reject other data.
#[test]
fn keyless_blob_bundle_in_actions_is_accepted_by_every_verifier() {
    let fake = FakeSigstore::start(&[]);
    let d = workdir();
    let p = d.path();
    let r = sign_blob(
        &fake,
        p,
        &["--bundle", "f.sigstore.json"],
        &fake.actions_env(),
    )
    .ok();
    assert!(r.stdout.contains("ME"), "signature on stdout: {}", r.stdout);
    assert!(
        r.all().contains(&fake.identity()),
        "names the identity:\n{}",
        r.all()
    );
    // Both secrets are masked first, and appear nowhere else.
    let (request_token, masks) = (
        fake.get("actions_id_token_request_token"),
        format!("::add-mask::{}", fake.get("actions_id_token_request_token")),
    );
    assert!(
        r.stdout.starts_with(&masks),
        "the request token is masked before any output:\n{}",
        r.stdout
    );
    let all = r.all();
    let leaks: Vec<&str> = all
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .filter(|l| l.contains(&request_token) || l.contains("eyJ"))
        .collect();
    assert!(leaks.is_empty(), "secrets leaked: {leaks:?}");
    let index = log_index(&r);
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("f.sigstore.json")).unwrap()).unwrap();
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["logIndex"], index.to_string());
    assert!(entry["inclusionProof"]["checkpoint"]["envelope"].is_string());
    assert!(entry["inclusionPromise"]["signedEntryTimestamp"].is_string());
    assert!(bundle["verificationMaterial"]["certificate"]["rawBytes"].is_string());

    let bundle = p.join("f.sigstore.json");
    for major in [2, 3] {
        cosign_verify_blob(major, &fake, p, "f.sigstore.json", "f.txt").ok();
        let bad = cosign_verify_blob(major, &fake, p, "f.sigstore.json", "other.txt");
        assert_ne!(
            bad.code,
            0,
            "cosign v{major} accepted other data:\n{}",
            bad.all()
        );
    }
    fake.sigstore_python_verify(&p.join("f.txt"), &bundle).ok();
    fake.sigstore_js_verify(&p.join("f.txt"), &bundle).ok();
    // and ferrosign's own verify-blob
    let ours = |file: &str| {
        run(ferrosign(p)
            .args([
                "verify-blob",
                "--bundle",
                "f.sigstore.json",
                "--trusted-root",
            ])
            .arg(fake.trusted_root())
            .args([
                "--certificate-identity",
                &fake.identity(),
                "--certificate-oidc-issuer",
                &fake.issuer(),
                file,
            ]))
    };
    ours("f.txt").ok();
    assert_ne!(ours("other.txt").code, 0);
    let bad = fake.sigstore_python_verify(&p.join("other.txt"), &bundle);
    assert_ne!(
        bad.code,
        0,
        "sigstore-python accepted other data:\n{}",
        bad.all()
    );
    let bad = fake.sigstore_js_verify(&p.join("other.txt"), &bundle);
    assert_ne!(
        bad.code,
        0,
        "sigstore-js accepted other data:\n{}",
        bad.all()
    );
}

/// Outside Actions: the token from SIGSTORE_ID_TOKEN (or --identity-token); --output-certificate.
#[test]
fn keyless_blob_with_a_given_token() {
    let fake = FakeSigstore::start(&[]);
    let d = workdir();
    let p = d.path();
    let env = [("SIGSTORE_ID_TOKEN".to_string(), fake.get("token"))];
    let r = sign_blob(
        &fake,
        p,
        &[
            "--bundle",
            "b.json",
            "--output-certificate",
            "f.pem",
            "--output-signature",
            "f.sig",
        ],
        &env,
    )
    .ok();
    assert_eq!(r.stdout, "");
    assert!(!r.all().contains(&fake.get("token")), "token leaked");
    // Fulcio embedded the SCT, and ferrosign saw it (so the signing-time check verified it).
    assert!(!r.stderr.contains("no embedded SCT"), "{}", r.stderr);
    let pem = std::fs::read_to_string(p.join("f.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    fake.sigstore_python_verify(&p.join("f.txt"), &p.join("b.json"))
        .ok();
    // the old way: signature + certificate, cosign v2 with the instance's roots in the environment
    let mut v2 = cosign(2, p);
    v2.args([
        "verify-blob",
        "--signature",
        "f.sig",
        "--certificate",
        "f.pem",
        "--insecure-ignore-tlog",
    ])
    .args([
        "--certificate-identity",
        &fake.identity(),
        "--certificate-oidc-issuer",
        &fake.issuer(),
        "f.txt",
    ]);
    for (k, v) in fake.cosign_v2_env() {
        v2.env(k, v);
    }
    run(&mut v2).ok();
    // --identity-token works the same
    let r = sign_blob(
        &fake,
        p,
        &["--identity-token", &fake.get("token"), "--bundle", "c.json"],
        &[],
    )
    .ok();
    assert!(r.stdout.contains("ME"));
    cosign_verify_blob(3, &fake, p, "c.json", "f.txt").ok();
}

/// Key mode records the signature too (cosign's default): the log index is printed, the bundle carries
/// the entry and cosign verifies it against the instance's trusted root; signing the same file again
/// meets Rekor's 409 and reuses the existing entry.
#[test]
fn key_mode_uploads_to_the_log_and_reuses_an_existing_entry() {
    let fake = FakeSigstore::start(&[]);
    let d = workdir();
    let p = d.path();
    key_pair(p, "pw");
    let pw = [("COSIGN_PASSWORD".to_string(), "pw".to_string())];
    let first = sign_blob(
        &fake,
        p,
        &["--key", "cosign.key", "--bundle", "k.json"],
        &pw,
    )
    .ok();
    let index = log_index(&first);
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("k.json")).unwrap()).unwrap();
    assert!(bundle["verificationMaterial"]["publicKey"]["hint"].is_string());
    assert_eq!(
        bundle["verificationMaterial"]["tlogEntries"][0]["logIndex"],
        index.to_string()
    );
    run(cosign(3, p)
        .args(["verify-blob", "--key", "cosign.pub", "--bundle", "k.json"])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .arg("f.txt"))
    .ok();
    // ECDSA signatures here are deterministic (RFC 6979): the same entry again → 409 → the same index
    let again = sign_blob(&fake, p, &["--key", "cosign.key"], &pw).ok();
    assert_eq!(
        log_index(&again),
        index,
        "a duplicate must reuse the existing entry"
    );
    // --tlog-upload=false: a warning, no entry
    let r = sign_blob(
        &fake,
        p,
        &[
            "--key",
            "cosign.key",
            "--tlog-upload=false",
            "--bundle",
            "n.json",
        ],
        &pw,
    )
    .ok();
    assert!(
        r.stderr.contains("warning: --tlog-upload=false"),
        "{}",
        r.stderr
    );
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("n.json")).unwrap()).unwrap();
    assert!(bundle["verificationMaterial"].get("tlogEntries").is_none());
}

/// Each way keyless signing can fail says what happened and what to do, and writes no bundle.
#[test]
fn keyless_faults_fail_with_a_reason_and_a_hint() {
    let d = workdir();
    let p = d.path();
    let fake = FakeSigstore::start(&[]);
    let no_bundle = |p: &Path| {
        assert!(
            !p.join("b.json").exists(),
            "a bundle was written despite the failure"
        )
    };

    // In Actions without `permissions: id-token: write`
    let actions = [("GITHUB_ACTIONS".to_string(), "true".to_string())];
    sign_blob(&fake, p, &["--bundle", "b.json"], &actions)
        .fails(2, "OIDC token")
        .hint("id-token: write");
    // ... and in a pull request from a fork
    let event = p.join("event.json");
    std::fs::write(&event, r#"{"pull_request":{"head":{"repo":{"full_name":"eve/app","fork":true}},"base":{"repo":{"full_name":"acme/app"}}}}"#).unwrap();
    let fork = [
        ("GITHUB_ACTIONS".to_string(), "true".to_string()),
        ("GITHUB_EVENT_NAME".to_string(), "pull_request".to_string()),
        ("GITHUB_EVENT_PATH".to_string(), event.display().to_string()),
    ];
    sign_blob(&fake, p, &["--bundle", "b.json"], &fork).fails(2, "forks");
    // Outside Actions with no token at all
    sign_blob(&fake, p, &["--bundle", "b.json"], &[])
        .fails(2, "needs an OIDC identity token")
        .hint("--identity-token");
    // An expired token is refused before any network
    let expired = [("SIGSTORE_ID_TOKEN".to_string(), fake.get("token_expired"))];
    sign_blob(&fake, p, &["--bundle", "b.json"], &expired)
        .fails(2, "expired")
        .hint("fresh token");
    // Fulcio refuses a token for another audience (4xx)
    let wrong_aud = [(
        "SIGSTORE_ID_TOKEN".to_string(),
        fake.get("token_wrong_audience"),
    )];
    let r = sign_blob(&fake, p, &["--bundle", "b.json"], &wrong_aud)
        .fails(1, "refused the certificate request (401)")
        .hint("audience");
    assert!(
        r.stderr.contains("warning: the identity token's audience"),
        "{}",
        r.stderr
    );
    no_bundle(p);
    drop(fake);

    let token = |f: &FakeSigstore| vec![("SIGSTORE_ID_TOKEN".to_string(), f.get("token"))];
    for (fault, needle, hint) in [
        ("fulcio-status=500", "failed (500)", "re-run"),
        (
            "fulcio-status=403",
            "refused the certificate request (403)",
            "identity token",
        ),
        (
            "fulcio-wrong-key",
            "does not hold this run's public key",
            "nothing was signed",
        ),
        (
            "fulcio-foreign-ca",
            "does not chain to a certificate authority",
            "--trusted-root",
        ),
        ("rekor-status=503", "Rekor at", "--tlog-upload=false"),
        ("rekor-foreign-key", "does not verify", "--trusted-root"),
    ] {
        let fake = FakeSigstore::start(&[fault]);
        let r = sign_blob(&fake, p, &["--bundle", "b.json"], &token(&fake))
            .fails(1, needle)
            .hint(hint);
        assert!(
            !r.all().contains(&fake.get("token")),
            "{fault}: token leaked"
        );
        no_bundle(p);
    }
    // The Actions token service fails
    let fake = FakeSigstore::start(&["oidc-status=500"]);
    sign_blob(&fake, p, &["--bundle", "b.json"], &fake.actions_env())
        .fails(1, "token service answered 500")
        .hint("re-run");
    let mut bad_request_token = fake.actions_env();
    bad_request_token[2].1 = "not-the-request-token".into();
    drop(fake);
    let fake = FakeSigstore::start(&[]);
    bad_request_token[1].1 = fake.get("actions_id_token_request_url");
    sign_blob(&fake, p, &["--bundle", "b.json"], &bad_request_token)
        .fails(1, "answered 401")
        .hint("id-token: write");
    no_bundle(p);
    drop(fake);
    // A transient Fulcio or Rekor failure is retried
    let fake = FakeSigstore::start(&["fulcio-fail-once=503", "rekor-fail-once=502"]);
    sign_blob(&fake, p, &["--bundle", "b.json"], &token(&fake)).ok();
    fake.sigstore_python_verify(&p.join("f.txt"), &p.join("b.json"))
        .ok();
}

/// A private repository: a warning by default; --private-repository=refuse stops before anything is
/// published; =allow is silent.
#[test]
fn private_repository_warns_or_refuses() {
    let fake = FakeSigstore::start_with(&[], &["repository_visibility=private"]);
    let d = workdir();
    let p = d.path();
    let env = fake.actions_env();
    let r = sign_blob(&fake, p, &["--bundle", "b.json"], &env).ok();
    assert!(
        r.stdout.contains("::warning::acme/app is private"),
        "{}",
        r.stdout
    );
    sign_blob(
        &fake,
        p,
        &["--bundle", "r.json", "--private-repository", "refuse"],
        &env,
    )
    .fails(1, "refusing to sign: acme/app is private")
    .hint("--private-repository=allow");
    assert!(!p.join("r.json").exists());
    let r = sign_blob(
        &fake,
        p,
        &["--bundle", "a.json", "--private-repository=allow"],
        &env,
    )
    .ok();
    assert!(!r.all().contains("is private"), "{}", r.all());
}

/// `ferrosign sign` IMAGES against the fake instance, with a clean docker config, in the `.sig` layout
/// only (these tests pin its annotations; tests/it/bundle.rs pins the bundle layout and the default).
fn sign_images(
    fake: &FakeSigstore,
    dir: &Path,
    extra: &[&str],
    images: &[&str],
    env: &[(String, String)],
) -> Run {
    let mut cmd = ferrosign(dir);
    cmd.env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .args([
            "sign",
            "--allow-insecure-registry",
            "--fulcio-url",
            &fake.url(),
            "--rekor-url",
            &fake.url(),
            "--signature-format",
            "legacy",
        ])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .args(extra)
        .args(images);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// cosign v2 (`SIGSTORE_ROOT_FILE`, `SIGSTORE_REKOR_PUBLIC_KEY`, `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE`) or v3
/// (`--trusted-root`) `verify` keylessly with an identity.
fn cosign_verify_image(
    major: u32,
    fake: &FakeSigstore,
    dir: &Path,
    identity: &str,
    image: &str,
) -> Run {
    let mut c = cosign(major, dir);
    c.args([
        "verify",
        "--allow-http-registry",
        "--certificate-identity",
        identity,
        "--certificate-oidc-issuer",
        &fake.issuer(),
    ]);
    if major == 2 {
        for (k, v) in fake.cosign_v2_env() {
            c.env(k, v);
        }
    } else {
        c.arg("--trusted-root").arg(fake.trusted_root());
    }
    run(c.arg(image))
}

/// Keyless image signing in Actions: ONE certificate for all images, layers annotated as cosign writes
/// them (signature, certificate, chain, bundle), and cosign v2, cosign v3 and ferrosign verify them
/// with the identity — and reject another identity.
#[test]
fn keyless_image_signatures_are_accepted_by_cosign_v2_and_v3() {
    let fake = FakeSigstore::start(&[]);
    let reg = TestRegistry::start();
    let d = tempdir();
    let p = d.path();
    let a = reg.push_image("acme/app", "v1", "a");
    let b = reg.push_image("acme/tool", "v1", "b");
    let (img_a, img_b) = (
        format!("{}/acme/app@{a}", reg.addr),
        format!("{}/acme/tool@{b}", reg.addr),
    );
    let r = sign_images(
        &fake,
        p,
        &["-a", "workflow=release"],
        &[&img_a, &img_b],
        &fake.actions_env(),
    )
    .ok();
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| !l.starts_with("::"))
            .collect::<Vec<_>>(),
        vec![img_a.as_str(), img_b.as_str()]
    );
    assert_eq!(
        r.stderr.matches("tlog entry created with index: ").count(),
        2,
        "{}",
        r.stderr
    );
    let la = reg.sig_layers("acme/app", &a);
    let lb = reg.sig_layers("acme/tool", &b);
    assert_eq!((la.len(), lb.len()), (1, 1));
    let ann = |l: &serde_json::Value, k: &str| {
        l["annotations"][k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k}: {l}"))
            .to_string()
    };
    for l in [&la[0], &lb[0]] {
        assert!(
            ann(l, "dev.sigstore.cosign/certificate").starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert_eq!(
            ann(l, "dev.sigstore.cosign/chain")
                .matches("BEGIN CERTIFICATE")
                .count(),
            2
        );
        let bundle: serde_json::Value =
            serde_json::from_str(&ann(l, "dev.sigstore.cosign/bundle")).unwrap();
        assert!(
            bundle["SignedEntryTimestamp"].is_string() && bundle["Payload"]["logIndex"].is_u64(),
            "{bundle}"
        );
        assert_eq!(bundle["Payload"]["logID"], fake.get("rekor_log_id"));
    }
    assert_eq!(
        ann(&la[0], "dev.sigstore.cosign/certificate"),
        ann(&lb[0], "dev.sigstore.cosign/certificate"),
        "one certificate per run"
    );
    for major in [2, 3] {
        for img in [&img_a, &img_b] {
            let out = cosign_verify_image(major, &fake, p, &fake.identity(), img).ok();
            assert!(
                out.stdout.contains(r#""workflow":"release""#),
                "cosign v{major}: {}",
                out.all()
            );
        }
        let bad = cosign_verify_image(
            major,
            &fake,
            p,
            "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main",
            &img_a,
        );
        assert_ne!(
            bad.code,
            0,
            "cosign v{major} accepted another identity:\n{}",
            bad.all()
        );
    }
    run(ferrosign(p)
        .args([
            "verify",
            "--allow-http-registry",
            "--certificate-identity",
            &fake.identity(),
            "--certificate-oidc-issuer",
            &fake.issuer(),
        ])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .arg(&img_a))
    .ok();
}

/// Key-signed images get a Rekor entry too (cosign's default): cosign verifies the SET with the
/// instance's Rekor key (no --insecure-ignore-tlog); a Rekor failure leaves nothing in the registry.
#[test]
fn key_signed_images_carry_a_verified_rekor_bundle() {
    let fake = FakeSigstore::start(&[]);
    let reg = TestRegistry::start();
    let d = tempdir();
    let p = d.path();
    key_pair(p, "pw");
    let digest = reg.push_image("acme/app", "v1", "k");
    let img = format!("{}/acme/app@{digest}", reg.addr);
    let pw = [("COSIGN_PASSWORD".to_string(), "pw".to_string())];
    let r = sign_images(&fake, p, &["--key", "cosign.key"], &[&img], &pw).ok();
    assert!(
        r.stderr.contains("tlog entry created with index: "),
        "{}",
        r.stderr
    );
    let layers = reg.sig_layers("acme/app", &digest);
    assert!(layers[0]["annotations"]["dev.sigstore.cosign/bundle"].is_string());
    for major in [2, 3] {
        let mut c = cosign(major, p);
        c.args(["verify", "--allow-http-registry", "--key", "cosign.pub"]);
        if major == 2 {
            c.env("SIGSTORE_REKOR_PUBLIC_KEY", fake.get("rekor_pub"));
        } else {
            c.arg("--trusted-root").arg(fake.trusted_root());
        }
        run(c.arg(&img)).ok();
    }
    // Rekor down: the image is not signed, and says why
    let broken = FakeSigstore::start(&["rekor-status=500"]);
    let other = reg.push_image("acme/app", "v2", "k2");
    let img2 = format!("{}/acme/app@{other}", reg.addr);
    sign_images(&broken, p, &["--key", "cosign.key"], &[&img2], &pw)
        .fails(1, "Rekor at")
        .hint("--tlog-upload=false");
    assert!(
        reg.sig_layers("acme/app", &other).is_empty(),
        "a signature was pushed despite the Rekor failure"
    );
}
