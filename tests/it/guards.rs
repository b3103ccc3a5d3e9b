//! The security checks that stop an attacker, each with a test that goes red when the check is removed
//! (issue 16; docs/guards.md lists each check with its test). The hostile party is a registry that
//! replays or swaps what it serves (the fault proxy in front of the real registry), or a Sigstore
//! service that answers with another entry, log, checkpoint or certificate validity (the test instance
//! with a fault).

use crate::action::{input, make_key, Runner, PASSWORD, REGISTRY_PASSWORD};
use crate::support::proxy::{Fault, FaultProxy, On};
use crate::support::registry::TestRegistry;
use crate::support::{cosign, ferrosign, run, tempdir, Run};
use std::path::Path;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn sig_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// `ferrosign verify --key` without the log (the signatures here are made with `--tlog-upload=false`).
fn verify_key(dir: &Path, key: &str, image: &str) -> Run {
    run(ferrosign(dir)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .args([
            "verify",
            "--key",
            key,
            "--insecure-ignore-tlog",
            "--allow-http-registry",
            image,
        ]))
}

/// A signature replayed across images: image A's `.sig` manifest copied onto image B's signature tag
/// (the registry, or anyone who can push to it, can do this). Every layer is a valid signature by the
/// trusted key, but over a payload naming A's digest: `verify B` must refuse it, and still accept A.
/// Guards `payload_rejection`'s digest comparison (ops/verify_image.rs).
#[test]
fn a_signature_replayed_from_another_image_is_refused() {
    let d = tempdir();
    let p = d.path();
    let reg = TestRegistry::start();
    let a = reg.push_image("acme/app", "a", "replay-a");
    let b = reg.push_image("acme/app", "b", "replay-b");
    run(ferrosign(p).env("COSIGN_PASSWORD", PASSWORD).args([
        "generate-key-pair",
        "--output-key-prefix",
        "k",
    ]))
    .ok();
    let image_a = format!("{}/acme/app@{a}", reg.addr);
    let image_b = format!("{}/acme/app@{b}", reg.addr);
    run(ferrosign(p)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("DOCKER_CONFIG", p.join("no-docker-config"))
        .args([
            "sign",
            "--key",
            "k.key",
            "--tlog-upload=false",
            "--allow-insecure-registry",
            &image_a,
        ]))
    .ok();
    verify_key(p, "k.pub", &image_a).ok();
    verify_key(p, "k.pub", &image_b).fails(1, "no signature");

    // The replay: A's signature manifest, byte for byte, under B's signature tag (same repository, so
    // its blobs resolve).
    let manifest = reg.manifest("acme/app", &sig_tag(&a)).expect("A is signed");
    reg.put_manifest("acme/app", &sig_tag(&b), &manifest, OCI_MANIFEST);
    assert_eq!(reg.sig_layers("acme/app", &b).len(), 1);

    let r = verify_key(p, "k.pub", &image_b).fails(1, "is for another digest");
    assert!(r.stdout.is_empty(), "nothing verified: {}", r.stdout);
    // cosign refuses it too (the behaviour we match).
    let c = run(cosign(3, p).args([
        "verify",
        "--key",
        "k.pub",
        "--insecure-ignore-tlog",
        "--allow-http-registry",
        &image_b,
    ]));
    assert_ne!(c.code, 0, "cosign v3 accepts the replay?\n{}", c.all());
    // A itself still verifies.
    verify_key(p, "k.pub", &image_a).ok();
}

/// The Action's `verify: true` checks what it signed as a consumer would: a registry that serves the
/// signature's payload altered (here: zeros in its place) makes the step fail, naming verification,
/// though the signature was written. Guards `verify_after` in ops/sign_image.rs.
#[test]
fn action_verify_true_fails_when_the_signature_read_back_does_not_verify() {
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "action-verify-fails");
    // Signing never GETs a blob; verifying GETs the payload blob, which the proxy replaces.
    let proxy = FaultProxy::start(
        &reg.addr,
        vec![Fault::HugeBlob {
            on: On::req("GET", r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$"),
            len: Some(300),
        }],
    );
    let r = Runner::new();
    let pem = make_key(r.path());
    let image = format!("{}/acme/app@{digest}", proxy.addr);
    let mut c = r.action("push");
    c.env("COSIGN_PRIVATE_KEY", &pem)
        .env("COSIGN_PASSWORD", PASSWORD);
    input(&mut c, "images", &image);
    input(&mut c, "key", "env://COSIGN_PRIVATE_KEY");
    input(&mut c, "tlog-upload", "false");
    input(&mut c, "registry-password", REGISTRY_PASSWORD);
    input(&mut c, "allow-insecure-registry", "true");
    input(&mut c, "verify", "true");
    let res = run(&mut c);
    assert_eq!(
        res.code,
        1,
        "verify: true must fail the step:\n{}",
        res.all()
    );
    assert!(res.stdout.contains("::error::"), "{}", res.stdout);
    assert!(
        res.all().contains("verif"),
        "the failure names verification:\n{}",
        res.all()
    );
    // The signature was written (the failure is verification's), and the proxy served the blob.
    assert_eq!(reg.sig_layers("acme/app", &digest).len(), 1);
    assert!(
        proxy.count("GET", r"/blobs/sha256:") >= 1,
        "{:?}",
        proxy.requests()
    );
    let outputs = r.outputs();
    let json = outputs
        .iter()
        .find(|(n, _)| n == "json")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if !json.is_empty() {
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_ne!(v["images"][0]["verified"], true, "{json}");
    }

    // Without the fault the same step verifies (so the failure above is the payload's).
    proxy.disarm();
    let r2 = Runner::new();
    let pem2 = make_key(r2.path());
    let mut c = r2.action("push");
    c.env("COSIGN_PRIVATE_KEY", &pem2)
        .env("COSIGN_PASSWORD", PASSWORD);
    input(&mut c, "images", &image);
    input(&mut c, "key", "env://COSIGN_PRIVATE_KEY");
    input(&mut c, "tlog-upload", "false");
    input(&mut c, "registry-password", REGISTRY_PASSWORD);
    input(&mut c, "allow-insecure-registry", "true");
    input(&mut c, "verify", "true");
    run(&mut c).ok();
}

/// README: ferrosign verifies bundles made by sigstore-js. sigstore-js's signer (@sigstore/sign) signs a
/// file against the test instance (Fulcio certificate, Rekor entry): a message-signature bundle and a
/// DSSE bundle. ferrosign verifies both with the identity, and refuses them for another file or
/// another identity.
#[test]
fn bundles_signed_by_sigstore_js_verify_in_ferrosign() {
    let fake = crate::sigstore_fake::FakeSigstore::start(&[]);
    let d = tempdir();
    let p = d.path();
    std::fs::write(p.join("f.txt"), "signed by sigstore-js\n").unwrap();
    std::fs::write(p.join("other.txt"), "not what was signed\n").unwrap();
    let verify = |bundle: &str, file: &str, identity: &str| {
        run(ferrosign(p)
            .args(["verify-blob", file, "--bundle", bundle])
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .args([
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                &fake.issuer(),
            ]))
    };
    for (bundle, dsse) in [("js.sigstore.json", false), ("js-dsse.sigstore.json", true)] {
        let s = fake.sigstore_js_sign(&p.join("f.txt"), &p.join(bundle), dsse);
        assert_eq!(s.code, 0, "sigstore-js signs: {}", s.all());
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.join(bundle)).unwrap()).unwrap();
        assert_eq!(
            v.get("dsseEnvelope").is_some(),
            dsse,
            "the bundle kind: {v}"
        );
        let ok = verify(bundle, "f.txt", &fake.identity()).ok();
        assert!(ok.all().contains(&fake.identity()), "{}", ok.all());
        assert_ne!(verify(bundle, "other.txt", &fake.identity()).code, 0);
        assert_ne!(
            verify(
                bundle,
                "f.txt",
                "https://github.com/acme/other/.github/workflows/x.yml@refs/heads/main"
            )
            .code,
            0
        );
    }
}

/// Signing-time checks on what Fulcio and Rekor answer (ops/signer.rs, sigstore/fulcio.rs,
/// sigstore/rekor.rs): a test Sigstore instance that answers with another entry of its log, with our
/// entry from a log the trusted root does not list, with a checkpoint signed by another key (SET and
/// inclusion proof valid, so that this check alone decides), with a certificate that expired or is not
/// valid yet, with its SCT detached, or with an embedded SCT from a CT log the trusted root does not list.
/// Each is refused before anything is written: exit 1, the check named in the error line, no bundle, and
/// an image stays unsigned (with either layout: the bundle layout's `dsse` entry is checked like the
/// `.sig` layout's `hashedrekord`). A certificate fault is refused before anything reaches Rekor (the log
/// is public: nothing is published for a certificate we refuse), except the foreign SCT: the embedded
/// SCT is checked with the log entry, after the upload (`RekorEntry::check`).
#[test]
fn signing_refuses_sigstore_answers_that_are_not_ours_or_not_trusted() {
    let d = tempdir();
    let p = d.path();
    std::fs::write(p.join("f.txt"), "signing-time checks\n").unwrap();
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "signing-time-checks");
    let image = format!("{}/acme/app@{digest}", reg.addr);
    let mut wrong = Vec::new();
    for (fault, needle, reaches_rekor) in [
        ("rekor-other-entry", "for other data", true),
        ("rekor-unknown-log", "does not list (log ID", true),
        (
            "rekor-bad-checkpoint",
            "signature found on checkpoint",
            true,
        ),
        ("fulcio-expired", "not valid now", false),
        ("fulcio-not-yet-valid", "not valid now", false),
        ("fulcio-detached-sct", "detached SCT", false),
        ("fulcio-foreign-sct", "(SCT) does not verify", true),
    ] {
        let fake = crate::sigstore_fake::FakeSigstore::start(&[fault]);
        let url = fake.url();
        let keyless = |verb: &str| {
            let mut c = ferrosign(p);
            c.env("SIGSTORE_ID_TOKEN", fake.get("token"))
                .env("DOCKER_CONFIG", p.join("no-docker-config"))
                .args([verb, "--fulcio-url", &url, "--rekor-url", &url])
                .arg("--trusted-root")
                .arg(fake.trusted_root());
            c
        };
        for (what, r) in [
            (
                "sign-blob",
                run(keyless("sign-blob").args(["--bundle", "b.json", "f.txt"])),
            ),
            (
                "sign",
                // the `.sig` layout only: one Rekor upload per run (`both` adds the bundle's `dsse` entry)
                run(keyless("sign").args([
                    "--allow-insecure-registry",
                    "--signature-format",
                    "legacy",
                    &image,
                ])),
            ),
            (
                "sign (bundle)",
                // the bundle layout only: its `dsse` entry is checked like the `hashedrekord` one
                run(keyless("sign").args([
                    "--allow-insecure-registry",
                    "--signature-format",
                    "bundle",
                    &image,
                ])),
            ),
        ] {
            // the test instance's "other entry" is a `hashedrekord`: against a DSSE envelope its kind
            // already differs, and that is what the check names
            let needle = if what == "sign (bundle)" && fault == "rekor-other-entry" {
                "incompatible with a DSSE envelope"
            } else {
                needle
            };
            let error = r
                .stderr
                .lines()
                .find(|l| l.starts_with("error: "))
                .unwrap_or_default();
            if r.code != 1 || !error.contains(needle) {
                wrong.push(format!(
                    "{fault}, {what}: exit {}, error line without {needle:?}:\n{}",
                    r.code,
                    r.all()
                ));
            }
        }
        assert!(!p.join("b.json").exists(), "{fault}: a bundle was written");
        assert!(
            reg.sig_layers("acme/app", &digest).is_empty(),
            "{fault}: the image was signed"
        );
        let uploads = fake.count("rekor");
        if reaches_rekor {
            assert_eq!(uploads, 3, "{fault}: one upload per run");
        } else {
            assert_eq!(
                uploads, 0,
                "{fault}: a refused certificate was published in Rekor"
            );
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
