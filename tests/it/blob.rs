//! sign-blob / verify-blob, cosign interop both ways (signatures and bundles), and bad input.

use crate::support::*;
use std::path::Path;

const PW: &str = "blob-pw";

fn setup() -> tempfile::TempDir {
    let d = tempdir();
    key_pair(d.path(), PW);
    std::fs::write(d.path().join("f.txt"), b"release artifact\n").unwrap();
    std::fs::write(d.path().join("other.txt"), b"something else\n").unwrap();
    d
}

fn sign(dir: &Path, extra: &[&str]) -> Run {
    run(ferrosign(dir)
        .args(["sign-blob", "--key", "cosign.key", "--tlog-upload=false"])
        .args(extra)
        .arg("f.txt")
        .env("COSIGN_PASSWORD", PW))
}

fn verify(dir: &Path, args: &[&str]) -> Run {
    run(ferrosign(dir)
        .args(["verify-blob", "--key", "cosign.pub"])
        .args(args))
}

#[test]
fn sign_prints_base64_and_verifies_in_both_forms() {
    let d = setup();
    let p = d.path();
    let r = sign(p, &[]).ok();
    let sig = r.stdout.trim().to_string();
    assert!(sig.starts_with("ME"), "a base64 DER ECDSA signature: {sig}");
    // the signature as text and as a file
    verify(p, &["--signature", &sig, "f.txt"]).ok();
    std::fs::write(p.join("f.sig"), &sig).unwrap();
    let r = verify(p, &["--signature", "f.sig", "f.txt"]).ok();
    assert!(r.stderr.contains("Verified OK"));
    // other data fails
    verify(p, &["--signature", "f.sig", "other.txt"])
        .fails(1, "verification failed")
        .hint("belong together");
    // neither a file nor base64 (cosign would take the text as raw signature bytes; it refuses too)
    verify(p, &["--signature", "%%%not-base64%%%", "f.txt"]).fails(
        2,
        "no file named %%%not-base64%%%, and `%%%not-base64%%%` is not a base64 signature",
    );
    // base64 but not a signature
    verify(p, &["--signature", "aGVsbG8=", "f.txt"]).fails(1, "malformed");
    // --output-signature writes the file and keeps stdout clean
    let r = sign(p, &["--output-signature", "out.sig"]).ok();
    assert_eq!(r.stdout, "");
    verify(p, &["--signature", "out.sig", "f.txt"]).ok();
}

#[test]
fn cosign_verifies_our_signatures_and_bundles() {
    let d = setup();
    let p = d.path();
    sign(p, &["--output-signature", "f.sig", "--bundle", "f.bundle"]).ok();
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("f.bundle")).unwrap()).unwrap();
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert!(bundle["verificationMaterial"]["publicKey"]["hint"].is_string());
    for major in [2, 3] {
        let r = run(cosign(major, p).args([
            "verify-blob",
            "--key",
            "cosign.pub",
            "--signature",
            "f.sig",
            "--insecure-ignore-tlog",
            "f.txt",
        ]));
        assert_eq!(r.code, 0, "cosign v{major}: {}", r.all());
        let r = run(cosign(major, p).args([
            "verify-blob",
            "--key",
            "cosign.pub",
            "--signature",
            "f.sig",
            "--insecure-ignore-tlog",
            "other.txt",
        ]));
        assert_ne!(r.code, 0, "cosign v{major} must reject other data");
    }
    let r = run(cosign(3, p).args([
        "verify-blob",
        "--key",
        "cosign.pub",
        "--bundle",
        "f.bundle",
        "--insecure-ignore-tlog",
        "f.txt",
    ]));
    assert_eq!(r.code, 0, "cosign v3 with our bundle: {}", r.all());
    let r = run(cosign(3, p).args([
        "verify-blob",
        "--key",
        "cosign.pub",
        "--bundle",
        "f.bundle",
        "--insecure-ignore-tlog",
        "other.txt",
    ]));
    assert_ne!(r.code, 0);
}

#[test]
fn we_verify_what_cosign_signs() {
    let d = setup();
    let p = d.path();
    // cosign v2: plain signature and its older bundle format
    let r = run(cosign(2, p)
        .args([
            "sign-blob",
            "--key",
            "cosign.key",
            "--tlog-upload=false",
            "--output-signature",
            "c2.sig",
            "--bundle",
            "c2.bundle",
            "f.txt",
        ])
        .env("COSIGN_PASSWORD", PW));
    assert_eq!(r.code, 0, "{}", r.all());
    verify(p, &["--signature", "c2.sig", "f.txt"]).ok();
    verify(p, &["--bundle", "c2.bundle", "f.txt"]).ok();
    verify(p, &["--bundle", "c2.bundle", "other.txt"]).fails(1, "verification failed");
    // cosign v3: the Sigstore bundle
    let r = run(cosign(3, p)
        .args([
            "sign-blob",
            "--key",
            "cosign.key",
            "--tlog-upload=false",
            "--use-signing-config=false",
            "--bundle",
            "c3.bundle",
            "f.txt",
        ])
        .env("COSIGN_PASSWORD", PW));
    assert_eq!(r.code, 0, "{}", r.all());
    verify(p, &["--bundle", "c3.bundle", "f.txt"]).ok();
    verify(p, &["--bundle", "c3.bundle", "other.txt"]).fails(1, "the bundle is for other data");
    // a tampered signature inside the bundle
    let mut b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("c3.bundle")).unwrap()).unwrap();
    let other_sig = sign(p, &[]).ok().stdout.trim().to_string();
    let other_key = tempdir();
    key_pair(other_key.path(), PW);
    std::fs::copy(p.join("f.txt"), other_key.path().join("f.txt")).unwrap();
    let foreign = run(ferrosign(other_key.path())
        .args([
            "sign-blob",
            "--key",
            "cosign.key",
            "--tlog-upload=false",
            "f.txt",
        ])
        .env("COSIGN_PASSWORD", PW))
    .ok();
    assert_ne!(foreign.stdout.trim(), other_sig);
    b["messageSignature"]["signature"] =
        serde_json::Value::String(foreign.stdout.trim().to_string());
    std::fs::write(p.join("tampered.bundle"), serde_json::to_vec(&b).unwrap()).unwrap();
    verify(p, &["--bundle", "tampered.bundle", "f.txt"]).fails(1, "verification failed");
    // garbage bundles
    std::fs::write(p.join("garbage.bundle"), b"{not json").unwrap();
    verify(p, &["--bundle", "garbage.bundle", "f.txt"]).fails(1, "not JSON");
    std::fs::write(p.join("empty.bundle"), b"{}").unwrap();
    verify(p, &["--bundle", "empty.bundle", "f.txt"]).fails(1, "neither a Sigstore bundle");
}

#[test]
fn missing_files_are_named() {
    let d = setup();
    let p = d.path();
    run(ferrosign(p)
        .args([
            "sign-blob",
            "--key",
            "cosign.key",
            "--tlog-upload=false",
            "nope.txt",
        ])
        .env("COSIGN_PASSWORD", PW))
    .fails(2, "cannot read nope.txt")
    .hint("check the path");
    verify(p, &["--signature", "AAAA", "nope.txt"]).fails(2, "cannot read nope.txt");
    run(ferrosign(p).args([
        "verify-blob",
        "--key",
        "missing.pub",
        "--signature",
        "AAAA",
        "f.txt",
    ]))
    .fails(2, "missing.pub: no such file");
}
