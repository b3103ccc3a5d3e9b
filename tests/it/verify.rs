//! `verify-blob --bundle` against bundles made by the real Sigstore clients (sigstore-python, cosign v3,
//! cosign v2's older format; keyless and key-based) on the test Sigstore instance, in every bundle
//! version (v0.1–v0.3), and the tamper matrix: each altered, mismatched, out-of-validity or
//! wrong-instance bundle is refused with a clear reason, exit 1 and no panic.

use crate::sigstore_fake::{sigstore_venv, FakeSigstore};
use crate::support::registry::{TestRegistry, OCI_MANIFEST};
use crate::support::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const PW: &str = "verify-pw";

/// A fake instance, a directory with `f.txt`/`other.txt` and a key pair, and the clients' bundles.
struct Bench {
    fake: FakeSigstore,
    dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Self {
        Self::with_faults(&[])
    }

    fn with_faults(faults: &[&str]) -> Self {
        Self::on(FakeSigstore::start(faults))
    }

    fn on(fake: FakeSigstore) -> Self {
        let dir = tempdir();
        std::fs::write(dir.path().join("f.txt"), b"release artifact\n").unwrap();
        std::fs::write(dir.path().join("other.txt"), b"something else\n").unwrap();
        let sc: Value =
            serde_json::from_slice(&std::fs::read(fake.trust_config()).unwrap()).unwrap();
        std::fs::write(
            dir.path().join("signing_config.json"),
            serde_json::to_vec(&sc["signingConfig"]).unwrap(),
        )
        .unwrap();
        Bench { fake, dir }
    }

    fn p(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn keypair(&self) {
        key_pair(self.p(), PW);
    }

    /// sigstore-python `sign` (bundle v0.3) of f.txt.
    fn sign_python(&self, out: &str) -> PathBuf {
        let bundle = self.path(out);
        run(Command::new(sigstore_venv().join("bin/sigstore"))
            .arg("--trust-config")
            .arg(self.fake.trust_config())
            .args([
                "sign",
                "--identity-token",
                &self.fake.get("token"),
                "--bundle",
            ])
            .arg(&bundle)
            .arg(self.path("f.txt")))
        .ok();
        bundle
    }

    /// cosign v3 `sign-blob --bundle` (v0.3) with the instance's signing config; keyless or with cosign.key.
    fn sign_cosign3(&self, out: &str, key: bool) -> PathBuf {
        let mut c = cosign(3, self.p());
        c.args([
            "sign-blob",
            "--yes",
            "--signing-config",
            "signing_config.json",
        ])
        .arg("--trusted-root")
        .arg(self.fake.trusted_root())
        .args(["--bundle", out]);
        if key {
            c.args(["--key", "cosign.key"]).env("COSIGN_PASSWORD", PW);
        } else {
            c.args(["--identity-token", &self.fake.get("token")]);
        }
        c.arg("f.txt");
        let r = run(&mut c);
        assert_eq!(r.code, 0, "cosign v3 sign-blob: {}", r.all());
        self.path(out)
    }

    /// cosign v2 `sign-blob --bundle` (its older bundle: base64Signature, cert, rekorBundle).
    fn sign_cosign2(&self, out: &str, key: bool) -> PathBuf {
        let url = self.fake.url();
        let mut c = cosign(2, self.p());
        c.args(["sign-blob", "--yes", "--rekor-url", &url, "--bundle", out]);
        for (k, v) in self.fake.cosign_v2_env() {
            c.env(k, v);
        }
        if key {
            c.args(["--key", "cosign.key"]).env("COSIGN_PASSWORD", PW);
        } else {
            c.args([
                "--fulcio-url",
                &url,
                "--identity-token",
                &self.fake.get("token"),
            ]);
        }
        c.arg("f.txt");
        let r = run(&mut c);
        assert_eq!(r.code, 0, "cosign v2 sign-blob: {}", r.all());
        self.path(out)
    }

    /// `ferrosign verify-blob` keyless with the instance's identity, issuer and trusted root.
    fn verify(&self, bundle: &Path, file: &str, extra: &[&str]) -> Run {
        run(ferrosign(self.p())
            .arg("verify-blob")
            .arg("--bundle")
            .arg(bundle)
            .arg("--trusted-root")
            .arg(self.fake.trusted_root())
            .args([
                "--certificate-identity",
                &self.fake.identity(),
                "--certificate-oidc-issuer",
                &self.fake.issuer(),
            ])
            .args(extra)
            .arg(file))
    }

    /// The same with the trusted root given explicitly (or none: the embedded public-good one).
    fn verify_with_root(&self, bundle: &Path, root: Option<&Path>) -> Run {
        let mut c = ferrosign(self.p());
        c.arg("verify-blob").arg("--bundle").arg(bundle);
        if let Some(r) = root {
            c.arg("--trusted-root").arg(r);
        }
        run(c
            .args([
                "--certificate-identity",
                &self.fake.identity(),
                "--certificate-oidc-issuer",
                &self.fake.issuer(),
            ])
            .arg("f.txt"))
    }

    fn verify_key(&self, bundle: &Path) -> Run {
        run(ferrosign(self.p())
            .args(["verify-blob", "--key", "cosign.pub", "--bundle"])
            .arg(bundle)
            .arg("--trusted-root")
            .arg(self.fake.trusted_root())
            .arg("f.txt"))
    }

    /// Writes a JSON value as a new bundle file.
    fn write(&self, name: &str, v: &Value) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
        p
    }
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[track_caller]
fn verified(r: Run, identity: &str) -> Run {
    let r = r.ok();
    assert!(r.stderr.contains("Verified OK"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("identity: {identity}")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("issuer:   https://token.actions.githubusercontent.com"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("log index "), "{}", r.stderr);
    r
}

/// The v0.3 bundle rewritten as v0.2 (chain instead of certificate) and v0.1 (SET only), as older
/// sigstore clients wrote them. The cryptographic material is the real client's.
fn older_versions(v03: &Value) -> (Value, Value) {
    let mut v02 = v03.clone();
    v02["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.2");
    let cert = v02["verificationMaterial"]
        .as_object_mut()
        .unwrap()
        .remove("certificate")
        .expect("a v0.3 keyless bundle has a certificate");
    v02["verificationMaterial"]["x509CertificateChain"] = json!({ "certificates": [cert] });
    let mut v01 = v02.clone();
    v01["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.1");
    v01["verificationMaterial"]["tlogEntries"][0]
        .as_object_mut()
        .unwrap()
        .remove("inclusionProof");
    (v02, v01)
}

#[test]
fn bundles_from_real_clients_verify_in_every_version() {
    let b = Bench::new();
    let id = b.fake.identity();
    let py = b.sign_python("py.sigstore.json");
    let c3 = b.sign_cosign3("c3.sigstore.json", false);
    let c2 = b.sign_cosign2("c2.bundle", false);
    for bundle in [&py, &c3, &c2] {
        verified(b.verify(bundle, "f.txt", &[]), &id);
    }
    // older bundle versions of the same material
    let (v02, v01) = older_versions(&read_json(&py));
    verified(b.verify(&b.write("v02.json", &v02), "f.txt", &[]), &id);
    verified(b.verify(&b.write("v01.json", &v01), "f.txt", &[]), &id);
    // the identity and issuer as regular expressions (cosign's flags)
    let r = run(ferrosign(b.p())
        .args(["verify-blob", "--bundle"])
        .arg(&c3)
        .arg("--trusted-root")
        .arg(b.fake.trusted_root())
        .args([
            "--certificate-identity-regexp",
            "^https://github.com/acme/app/",
            "--certificate-oidc-issuer-regexp",
            "githubusercontent",
            "f.txt",
        ]));
    verified(r, &id);
    // cosign itself accepts what we accept (the material is sound, not just lenient on our side)
    let r = run(cosign(3, b.p())
        .args(["verify-blob", "--bundle"])
        .arg(&c3)
        .arg("--trusted-root")
        .arg(b.fake.trusted_root())
        .args([
            "--certificate-identity",
            &id,
            "--certificate-oidc-issuer",
            &b.fake.issuer(),
            "f.txt",
        ]));
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn key_bundles_with_log_entries_verify_and_check_the_set() {
    let b = Bench::new();
    b.keypair();
    let k3 = b.sign_cosign3("k3.sigstore.json", true);
    let k2 = b.sign_cosign2("k2.bundle", true);
    for bundle in [&k3, &k2] {
        let r = b.verify_key(bundle).ok();
        assert!(r.stderr.contains("Verified OK"), "{}", r.stderr);
        assert!(r.stderr.contains("log index "), "{}", r.stderr);
        assert!(
            !r.stderr.contains("no transparency log entry"),
            "{}",
            r.stderr
        );
    }
    // the SET of the key bundle signed by another key
    let mut v = read_json(&k3);
    v["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"] =
        json!(foreign_set(&v["verificationMaterial"]["tlogEntries"][0]));
    b.verify_key(&b.write("k3-set.json", &v))
        .fails(1, "does not verify with the log keys")
        .hint("--trusted-root");
    // a keyless verification of a key bundle, and a key verification of a keyless one
    b.verify(&k3, "f.txt", &[])
        .fails(1, "signed with a key")
        .hint("--key");
    let py = b.sign_python("py.json");
    b.verify_key(&py)
        .fails(1, "carries a Fulcio certificate")
        .hint("--certificate-identity");
    // another key
    let other = tempdir();
    key_pair(other.path(), PW);
    std::fs::copy(other.path().join("cosign.pub"), b.path("cosign.pub")).unwrap();
    b.verify_key(&k3)
        .fails(1, "the signature does not match the data");
    b.verify_key(&k2)
        .fails(1, "the signature does not match the data");
}

/// A SET over the entry's canonical payload, made with a fresh key that no trusted root lists.
fn foreign_set(entry: &Value) -> String {
    use p256::ecdsa::signature::Signer;
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let payload = set_payload(entry);
    let sig: p256::ecdsa::Signature = key.sign(&payload);
    B64.encode(sig.to_der().as_bytes())
}

/// The canonical JSON the SET signs: body, integratedTime, logID (hex), logIndex, sorted, no spaces.
fn set_payload(entry: &Value) -> Vec<u8> {
    let log_id = hex::encode(
        B64.decode(entry["logId"]["keyId"].as_str().unwrap())
            .unwrap(),
    );
    let int = |v: &Value| -> i64 {
        v.as_str()
            .map(|s| s.parse().unwrap())
            .or_else(|| v.as_i64())
            .unwrap()
    };
    format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        entry["canonicalizedBody"].as_str().unwrap(),
        int(&entry["integratedTime"]),
        log_id,
        int(&entry["logIndex"])
    )
    .into_bytes()
}

/// The certificate's notBefore, seconds since the epoch.
fn not_before(bundle: &Value) -> i64 {
    use x509_cert::der::Decode;
    let der = B64
        .decode(
            bundle["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let cert = x509_cert::Certificate::from_der(&der).unwrap();
    cert.tbs_certificate
        .validity
        .not_before
        .to_unix_duration()
        .as_secs() as i64
}

#[test]
fn tamper_matrix_each_fails_with_its_reason() {
    let b = Bench::new();
    let py = b.sign_python("py.json");
    let good = read_json(&py);
    // altered artifact
    b.verify(&py, "other.txt", &[])
        .fails(1, "the bundle is for other data than other.txt")
        .hint("belong together");
    // altered signature: another valid-looking signature (from a second signing of the same file)
    let second = read_json(&b.sign_python("py2.json"));
    let mut v = good.clone();
    v["messageSignature"]["signature"] = second["messageSignature"]["signature"].clone();
    b.verify(&b.write("sig.json", &v), "f.txt", &[])
        .fails(1, "the signature does not match the data")
        .hint("belong together");
    // a signature that is not even DER
    let mut v = good.clone();
    v["messageSignature"]["signature"] = json!(B64.encode(b"not a signature"));
    b.verify(&b.write("sig2.json", &v), "f.txt", &[])
        .fails(1, "the signature does not match the data");
    // altered message digest
    let mut v = good.clone();
    v["messageSignature"]["messageDigest"]["digest"] = json!(B64.encode([7u8; 32]));
    b.verify(&b.write("digest.json", &v), "f.txt", &[])
        .fails(1, "for other data");
    // wrong identity, wrong issuer (exact and regexp)
    run(ferrosign(b.p())
        .args(["verify-blob", "--bundle"])
        .arg(&py)
        .arg("--trusted-root")
        .arg(b.fake.trusted_root())
        .args([
            "--certificate-identity",
            "https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main",
            "--certificate-oidc-issuer",
            &b.fake.issuer(),
            "f.txt",
        ]))
    .fails(
        1,
        "the certificate's identity is `https://github.com/acme/app/",
    )
    .hint("--certificate-identity");
    run(ferrosign(b.p())
        .args(["verify-blob", "--bundle"])
        .arg(&py)
        .arg("--trusted-root")
        .arg(b.fake.trusted_root())
        .args([
            "--certificate-identity-regexp",
            "^https://github.com/acme/app/.github/workflows/other.yml@",
            "--certificate-oidc-issuer",
            &b.fake.issuer(),
            "f.txt",
        ]))
    .fails(1, "not a match for");
    run(ferrosign(b.p())
        .args(["verify-blob", "--bundle"])
        .arg(&py)
        .arg("--trusted-root")
        .arg(b.fake.trusted_root())
        .args([
            "--certificate-identity",
            &b.fake.identity(),
            "--certificate-oidc-issuer",
            "https://accounts.google.com",
            "f.txt",
        ]))
    .fails(
        1,
        "OIDC issuer is `https://token.actions.githubusercontent.com`",
    )
    .hint("--certificate-oidc-issuer");
    // SET signed by another key
    let mut v = good.clone();
    let set = foreign_set(&v["verificationMaterial"]["tlogEntries"][0]);
    v["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"] =
        json!(set);
    b.verify(&b.write("set.json", &v), "f.txt", &[])
        .fails(1, "does not verify with the log keys");
    // integratedTime moved (the SET no longer covers it)
    let mut v = good.clone();
    let t: i64 = v["verificationMaterial"]["tlogEntries"][0]["integratedTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    v["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = json!((t - 60).to_string());
    b.verify(&b.write("time.json", &v), "f.txt", &[])
        .fails(1, "does not verify with the log keys");
    // inclusion proof altered
    let mut v = good.clone();
    let hashes = v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"]
        .as_array_mut()
        .unwrap();
    assert!(!hashes.is_empty(), "the fake's tree has more than one leaf");
    hashes[0] = json!(B64.encode([1u8; 32]));
    b.verify(&b.write("proof.json", &v), "f.txt", &[])
        .fails(1, "inclusion proof");
    // the log entry of another signature (the second signing), with its own valid SET
    let mut v = good.clone();
    v["verificationMaterial"]["tlogEntries"] =
        second["verificationMaterial"]["tlogEntries"].clone();
    b.verify(&b.write("entry.json", &v), "f.txt", &[])
        .fails(1, "does not describe this signature")
        .hint("altered");
    // a certificate from another signing (another key): chain is fine, the signature is not
    let mut v = good.clone();
    v["verificationMaterial"]["certificate"] =
        second["verificationMaterial"]["certificate"].clone();
    // (issued after the first entry was logged, or in the same second: either check refuses it)
    let r = b
        .verify(&b.write("cert.json", &v), "f.txt", &[])
        .fails(1, "verification failed");
    assert!(
        r.stderr.contains("not valid when the signature was made")
            || r.stderr.contains("the signature does not match the data"),
        "{}",
        r.stderr
    );
    // truncated and garbage JSON, and a bundle of another media type
    let text = std::fs::read(&py).unwrap();
    let p = b.path("trunc.json");
    std::fs::write(&p, &text[..text.len() / 2]).unwrap();
    b.verify(&p, "f.txt", &[]).fails(1, "not JSON");
    let p = b.path("garbage.json");
    std::fs::write(&p, b"\x00\xff garbage").unwrap();
    b.verify(&p, "f.txt", &[]).fails(1, "cannot be read");
    let mut v = good.clone();
    v["mediaType"] = json!("application/vnd.dev.sigstore.bundle.v0.9+json");
    b.verify(&b.write("mt.json", &v), "f.txt", &[])
        .fails(1, "not a Sigstore bundle");
    let mut v = good.clone();
    v["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"] = json!("rekord");
    b.verify(&b.write("kind.json", &v), "f.txt", &[])
        .fails(1, "unsupported Rekor entry format");
    let mut v = good.clone();
    v["verificationMaterial"]["certificate"]["rawBytes"] = json!(B64.encode(b"not DER"));
    b.verify(&b.write("der.json", &v), "f.txt", &[])
        .fails(1, "malformed certificate");
    let mut v = good.clone();
    v["verificationMaterial"]["tlogEntries"] = json!([]);
    // No log entry and no waiver: refused with what to do, as cosign v3 refuses it.
    b.verify(&b.write("nolog.json", &v), "f.txt", &[])
        .fails(1, "has no transparency log entry to check")
        .hint("--insecure-ignore-tlog");
}

/// A trusted root equal to the instance's but with `edit` applied.
fn edited_root(b: &Bench, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut root = read_json(&b.fake.trusted_root());
    edit(&mut root);
    b.write(name, &root)
}

#[test]
fn out_of_validity_entry_time_fails_and_the_same_resigned_entry_in_time_passes() {
    // Re-sign the SET with a log key of our own (listed in an edited root under the same log ID), so
    // the only difference between the two bundles is the entry's time.
    let b = Bench::new();
    let py = b.sign_python("py.json");
    let good = read_json(&py);
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let spki = {
        use p256::pkcs8::EncodePublicKey;
        key.verifying_key().to_public_key_der().unwrap()
    };
    let root = edited_root(&b, "root-ourkey.json", |r| {
        r["tlogs"][0]["publicKey"]["rawBytes"] = json!(B64.encode(spki.as_bytes()));
        r["tlogs"][0]["publicKey"]["validFor"]["start"] = json!("2000-01-01T00:00:00Z");
    });
    let resigned = |t: i64| -> Value {
        use p256::ecdsa::signature::Signer;
        let (_, mut v) = older_versions(&good); // v0.1: SET only (the proof's checkpoint is the real log's)
        let e = &mut v["verificationMaterial"]["tlogEntries"][0];
        e["integratedTime"] = json!(t.to_string());
        let sig: p256::ecdsa::Signature = key.sign(&set_payload(e));
        e["inclusionPromise"]["signedEntryTimestamp"] = json!(B64.encode(sig.to_der().as_bytes()));
        v
    };
    let t: i64 = good["verificationMaterial"]["tlogEntries"][0]["integratedTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let ok = b.write("in-time.json", &resigned(t));
    verified(b.verify_with_root(&ok, Some(&root)), &b.fake.identity());
    let nb = not_before(&good);
    let early = b.write("early.json", &resigned(nb - 3600));
    b.verify_with_root(&early, Some(&root))
        .fails(1, "not valid when the signature was made")
        .hint("altered");
    // one second before the certificate's notBefore
    let edge = b.write("edge.json", &resigned(nb - 1));
    b.verify_with_root(&edge, Some(&root))
        .fails(1, "not valid when the signature was made");
    // in the future
    let future = b.write("future.json", &resigned(t + 86_400 * 365));
    b.verify_with_root(&future, Some(&root))
        .fails(1, "is in the future");
}

#[test]
fn wrong_instance_and_untrusted_material_are_named() {
    let b = Bench::new();
    let py = b.sign_python("py.json");
    // the embedded public-good root
    b.verify_with_root(&py, None)
        .fails(1, "public-good Sigstore trusted root")
        .hint("--trusted-root");
    // another test instance's root
    let other = FakeSigstore::start(&[]);
    b.verify_with_root(&py, Some(&other.trusted_root()))
        .fails(1, "does not list")
        .hint("--trusted-root");
    // the right log, another instance's CA
    let other_root = read_json(&other.trusted_root());
    let root = edited_root(&b, "root-otherca.json", |r| {
        r["certificateAuthorities"] = other_root["certificateAuthorities"].clone();
    });
    b.verify_with_root(&py, Some(&root))
        .fails(1, "not issued by a certificate authority in")
        .hint("--trusted-root");
    // no CT log, or another instance's: the SCT cannot verify, unless told to skip it
    let noct = edited_root(&b, "root-noct.json", |r| r["ctlogs"] = json!([]));
    b.verify_with_root(&py, Some(&noct))
        .fails(1, "signed certificate timestamp (SCT)")
        .hint("--insecure-ignore-sct");
    let root = edited_root(&b, "root-otherct.json", |r| {
        r["ctlogs"] = other_root["ctlogs"].clone();
    });
    b.verify_with_root(&py, Some(&root))
        .fails(1, "signed certificate timestamp (SCT)")
        .hint("--insecure-ignore-sct");
    let r = run(ferrosign(b.p())
        .args(["verify-blob", "--bundle"])
        .arg(&py)
        .arg("--trusted-root")
        .arg(&root)
        .args([
            "--certificate-identity",
            &b.fake.identity(),
            "--certificate-oidc-issuer",
            &b.fake.issuer(),
            "--insecure-ignore-sct",
            "f.txt",
        ]));
    verified(r, &b.fake.identity());
    // a CA window that closed before the signature
    let root = edited_root(&b, "root-closed.json", |r| {
        r["certificateAuthorities"][0]["validFor"] =
            json!({"start": "2000-01-01T00:00:00Z", "end": "2001-01-01T00:00:00Z"});
    });
    b.verify_with_root(&py, Some(&root))
        .fails(1, "not issued by a certificate authority in");
    // broken trusted roots
    let p = b.path("bad-root.json");
    std::fs::write(&p, b"{\"mediaType\": 1").unwrap();
    b.verify_with_root(&py, Some(&p))
        .fails(2, "is not a Sigstore trusted_root.json")
        .hint("--trusted-root");
    b.verify_with_root(&py, Some(&b.path("missing.json")))
        .fails(2, "cannot read the trusted root")
        .hint("check the path");
}

#[test]
fn a_cert_from_a_ca_outside_the_root_is_refused() {
    // The instance's Fulcio issues from a CA its trusted root does not list; sigstore-python signs
    // anyway (cosign v3 refuses to), and the log entry itself is genuine.
    let b = Bench::with_faults(&["fulcio-foreign-ca"]);
    let py = b.sign_python("py.json");
    b.verify(&py, "f.txt", &[])
        .fails(
            1,
            "not issued by a certificate authority in the trusted root",
        )
        .hint("--trusted-root");
}

#[test]
fn usage_errors_for_keyless_flags() {
    let d = tempdir();
    std::fs::write(d.path().join("f.txt"), b"x").unwrap();
    std::fs::write(d.path().join("b.json"), b"{}").unwrap();
    run(ferrosign(d.path()).args(["verify-blob", "--bundle", "b.json", "f.txt"]))
        .fails(2, "needs the signer")
        .hint("--certificate-identity");
    run(ferrosign(d.path()).args([
        "verify-blob",
        "--bundle",
        "b.json",
        "--certificate-identity",
        "x",
        "f.txt",
    ]))
    .fails(2, "needs the OIDC issuer")
    .hint("--certificate-oidc-issuer");
    run(ferrosign(d.path()).args([
        "verify-blob",
        "--bundle",
        "b.json",
        "--certificate-oidc-issuer",
        "x",
        "f.txt",
    ]))
    .fails(2, "needs the signer's identity");
    run(ferrosign(d.path()).args([
        "verify-blob",
        "--bundle",
        "b.json",
        "--certificate-identity-regexp",
        "(",
        "--certificate-oidc-issuer",
        "x",
        "f.txt",
    ]))
    .fails(2, "not a valid regular expression");
    run(ferrosign(d.path()).args([
        "verify-blob",
        "--signature",
        "AAAA",
        "--certificate-identity",
        "x",
        "--certificate-oidc-issuer",
        "y",
        "f.txt",
    ]))
    .fails(2, "needs the Sigstore bundle");
    run(ferrosign(d.path()).args([
        "verify-blob",
        "--bundle",
        "b.json",
        "--key",
        "k.pub",
        "--certificate-identity",
        "x",
        "--certificate-oidc-issuer",
        "y",
        "f.txt",
    ]))
    .fails(2, "exclude each other");
}

#[test]
fn images_signed_by_cosign_keyless_and_with_a_key_and_rekor_verify() {
    let b = Bench::new();
    b.keypair();
    let reg = TestRegistry::start();
    let image = format!(
        "{}/acme/app@{}",
        reg.addr,
        reg.push_image("acme/app", "v1", "v")
    );
    let url = b.fake.url();
    // cosign v2 signs keylessly (legacy .sig layout: certificate, chain and Rekor bundle annotations)
    let mut c = cosign(2, b.p());
    c.args([
        "sign",
        "--yes",
        "--allow-http-registry",
        "--fulcio-url",
        &url,
        "--rekor-url",
        &url,
        "--identity-token",
        &b.fake.get("token"),
        &image,
    ]);
    for (k, v) in b.fake.cosign_v2_env() {
        c.env(k, v);
    }
    let r = run(&mut c);
    assert_eq!(r.code, 0, "cosign sign: {}", r.all());
    let verify_keyless = |root: Option<&Path>, identity: &str| {
        let mut c = ferrosign(b.p());
        c.args(["verify", "--allow-http-registry"]);
        if let Some(root) = root {
            c.arg("--trusted-root").arg(root);
        }
        run(c
            .args([
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                &b.fake.issuer(),
            ])
            .arg(&image))
    };
    let root = b.fake.trusted_root();
    let r = verify_keyless(Some(&root), &b.fake.identity()).ok();
    assert!(
        r.stderr
            .contains(&format!("identity: {}", b.fake.identity())),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("log index "), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("verified using trusted certificate authority"),
        "{}",
        r.stderr
    );
    let payloads: Value = serde_json::from_str(&r.stdout).expect("a JSON array on stdout");
    assert_eq!(
        payloads[0]["critical"]["image"]["docker-manifest-digest"],
        json!(image.rsplit('@').next().unwrap())
    );
    verify_keyless(
        Some(&root),
        "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main",
    )
    .fails(1, "the certificate's identity is")
    .hint("--certificate-identity");
    verify_keyless(None, &b.fake.identity())
        .fails(1, "does not list")
        .hint("--trusted-root");
    // a key verification of a keyless signature
    run(ferrosign(b.p())
        .args(["verify", "--allow-http-registry", "--key", "cosign.pub"])
        .arg("--trusted-root")
        .arg(&root)
        .arg(&image))
    .fails(1, "no signature of");

    // cosign v2 signs with a key and uploads to Rekor: the attached bundle is checked
    let mut c = cosign(2, b.p());
    c.args([
        "sign",
        "--yes",
        "--allow-http-registry",
        "--key",
        "cosign.key",
        "--rekor-url",
        &url,
        &image,
    ])
    .env("COSIGN_PASSWORD", PW);
    for (k, v) in b.fake.cosign_v2_env() {
        c.env(k, v);
    }
    let r = run(&mut c);
    assert_eq!(r.code, 0, "cosign sign --key: {}", r.all());
    let verify_key = |root: &Path| {
        run(ferrosign(b.p())
            .args(["verify", "--allow-http-registry", "--key", "cosign.pub"])
            .arg("--trusted-root")
            .arg(root)
            .arg(&image))
    };
    let r = verify_key(&root).ok();
    assert!(
        r.stderr.contains("transparency log was verified offline"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("log index "), "{}", r.stderr);
    // the one signature verified is logged: no warning about unlogged ones
    assert!(!r.stderr.contains("carry no Rekor bundle"), "{}", r.stderr);
    let other = FakeSigstore::start(&[]);
    verify_key(&other.trusted_root()).fails(1, "has a Rekor bundle that does not verify");
}

#[test]
fn rekor_v2_entries_with_tsa_timestamps_verify_and_tampering_fails() {
    // sigstore-python and cosign v3 log to the instance's Rekor v2 (hashedrekord 0.0.2, Ed25519 signed
    // checkpoint with a witness cosignature) and take an RFC 3161 timestamp from its TSA.
    let b = Bench::on(FakeSigstore::start_rekor_v2());
    let id = b.fake.identity();
    let py = b.sign_python("py.json");
    let c3 = b.sign_cosign3("c3.json", false);
    for bundle in [&py, &c3] {
        let v = read_json(bundle);
        assert_eq!(
            v["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"],
            "0.0.2"
        );
        let r = verified(b.verify(bundle, "f.txt", &[]), &id);
        assert!(r.stderr.contains("(hashedrekord 0.0.2)"), "{}", r.stderr);
    }
    let good = read_json(&py);
    let other = read_json(&c3);
    let ts = |v: &Value| v["verificationMaterial"]["timestampVerificationData"].clone();
    // without its timestamp, a v2 entry has no verified time
    let mut v = good.clone();
    v["verificationMaterial"]
        .as_object_mut()
        .unwrap()
        .remove("timestampVerificationData");
    b.verify(&b.write("nots.json", &v), "f.txt", &[])
        .fails(1, "no verifiable time");
    // the timestamp of another signature (its message imprint is another signature's hash)
    let mut v = good.clone();
    v["verificationMaterial"]["timestampVerificationData"] = ts(&other);
    b.verify(&b.write("otherts.json", &v), "f.txt", &[])
        .fails(1, "RFC 3161 timestamp does not verify");
    // a damaged timestamp
    let mut v = good.clone();
    let t = v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
        ["signedTimestamp"]
        .as_str()
        .unwrap()
        .to_string();
    let mut raw = B64.decode(&t).unwrap();
    let n = raw.len();
    raw[n - 5] ^= 0x55; // inside the CMS signature
    v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
        ["signedTimestamp"] = json!(B64.encode(&raw));
    b.verify(&b.write("badts.json", &v), "f.txt", &[])
        .fails(1, "RFC 3161 timestamp does not verify");
    // a root without the TSA, or whose TSA window closed before the timestamp
    let root = edited_root(&b, "root-notsa.json", |r| {
        r["timestampAuthorities"] = json!([])
    });
    b.verify_with_root(&py, Some(&root))
        .fails(1, "timestamp authority")
        .hint("--trusted-root");
    let root = edited_root(&b, "root-tsaclosed.json", |r| {
        r["timestampAuthorities"][0]["validFor"] =
            json!({"start": "2000-01-01T00:00:00Z", "end": "2001-01-01T00:00:00Z"});
    });
    b.verify_with_root(&py, Some(&root))
        .fails(1, "timestamp authority");
    // a root without the v2 log
    let root = edited_root(&b, "root-nov2.json", |r| {
        let logs = r["tlogs"].as_array_mut().unwrap();
        logs.retain(|l| l["publicKey"]["keyDetails"] != "PKIX_ED25519");
    });
    b.verify_with_root(&py, Some(&root))
        .fails(1, "does not list");
    // the checkpoint: altered log signature; only the witness cosignature left
    let envelope = good["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
        ["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    let lines: Vec<&str> = envelope.split('\n').collect();
    let log_line = lines
        .iter()
        .position(|l| l.starts_with("\u{2014} 127.0.0.1 "))
        .expect("the log's signature line");
    let mut altered = lines.clone();
    let sig_b64 = altered[log_line].rsplit(' ').next().unwrap();
    let mut sig = B64.decode(sig_b64).unwrap();
    sig[10] ^= 1;
    let forged = format!("\u{2014} 127.0.0.1 {}", B64.encode(&sig));
    altered[log_line] = &forged;
    let mut v = good.clone();
    v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"] =
        json!(altered.join("\n"));
    b.verify(&b.write("ckpt.json", &v), "f.txt", &[])
        .fails(1, "checkpoint");
    let mut witness_only = lines.clone();
    witness_only.remove(log_line);
    let mut v = good.clone();
    v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"] =
        json!(witness_only.join("\n"));
    b.verify(&b.write("witness.json", &v), "f.txt", &[])
        .fails(1, "checkpoint");
    // the inclusion proof, and another entry's body
    let mut v = good.clone();
    let hashes = v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"]
        .as_array_mut()
        .unwrap();
    hashes[0] = json!(B64.encode([2u8; 32]));
    b.verify(&b.write("proof.json", &v), "f.txt", &[])
        .fails(1, "inclusion proof");
    let mut v = good.clone();
    v["verificationMaterial"]["tlogEntries"] = other["verificationMaterial"]["tlogEntries"].clone();
    b.verify(&b.write("entry.json", &v), "f.txt", &[])
        .fails(1, "does not describe this signature");
    b.verify(&py, "other.txt", &[]).fails(1, "for other data");
    // a DSSE attestation (in-toto statement over f.txt) from sigstore-python, logged as hashedrekord 0.0.2
    std::fs::write(
        b.path("pred.json"),
        br#"{"buildDefinition":{"buildType":"https://example.test/build","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.test/builder"}}}"#,
    )
    .unwrap();
    let att = b.path("att.json");
    run(Command::new(sigstore_venv().join("bin/sigstore"))
        .arg("--trust-config")
        .arg(b.fake.trust_config())
        .args(["attest", "--predicate"])
        .arg(b.path("pred.json"))
        .args(["--predicate-type", "https://slsa.dev/provenance/v1"])
        .args(["--identity-token", &b.fake.get("token"), "--bundle"])
        .arg(&att)
        .arg(b.path("f.txt")))
    .ok();
    assert!(read_json(&att)["dsseEnvelope"].is_object());
    verified(b.verify(&att, "f.txt", &[]), &id);
    b.verify(&att, "other.txt", &[]).fails(1, "for other data");
}

#[test]
fn our_own_bundles_verify_and_their_tampered_copies_fail() {
    let b = Bench::new();
    b.keypair();
    let url = b.fake.url();
    let ours = |extra: &[&str], out: &str| {
        let r = run(ferrosign(b.p())
            .args(["sign-blob", "--fulcio-url", &url, "--rekor-url", &url])
            .arg("--trusted-root")
            .arg(b.fake.trusted_root())
            .args(extra)
            .args(["--bundle", out, "f.txt"])
            .env("COSIGN_PASSWORD", PW));
        assert_eq!(r.code, 0, "ferrosign sign-blob: {}", r.all());
        b.path(out)
    };
    let keyless = ours(&["--identity-token", &b.fake.get("token")], "ours.json");
    verified(b.verify(&keyless, "f.txt", &[]), &b.fake.identity());
    let mut v = read_json(&keyless);
    v["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"] =
        json!(foreign_set(&v["verificationMaterial"]["tlogEntries"][0]));
    b.verify(&b.write("ours-set.json", &v), "f.txt", &[])
        .fails(1, "does not verify with the log keys");
    b.verify_with_root(&keyless, None)
        .fails(1, "public-good Sigstore trusted root");
    // key mode logs to Rekor too: verify-blob --key checks the entry
    let keyed = ours(&["--key", "cosign.key"], "ours-key.json");
    let r = b.verify_key(&keyed).ok();
    assert!(r.stderr.contains("log index "), "{}", r.stderr);
    let mut v = read_json(&keyed);
    v["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"] =
        json!(foreign_set(&v["verificationMaterial"]["tlogEntries"][0]));
    b.verify_key(&b.write("ours-key-set.json", &v))
        .fails(1, "does not verify with the log keys");
}

#[test]
fn tampered_image_signature_layers_are_refused_with_the_reason() {
    // cosign v2 signs keylessly; then the .sig manifest in the registry is rewritten with one
    // annotation altered at a time, and ferrosign must refuse each with the failing check named.
    let b = Bench::new();
    let other = Bench::new();
    let py = read_json(&other.sign_python("py.json"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let reg = TestRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "t");
    let image = format!("{}/acme/app@{digest}", reg.addr);
    let url = b.fake.url();
    let mut c = cosign(2, b.p());
    c.args([
        "sign",
        "--yes",
        "--allow-http-registry",
        "--fulcio-url",
        &url,
        "--rekor-url",
        &url,
        "--identity-token",
        &b.fake.get("token"),
        &image,
    ]);
    for (k, v) in b.fake.cosign_v2_env() {
        c.env(k, v);
    }
    let r = run(&mut c);
    assert_eq!(r.code, 0, "cosign sign: {}", r.all());
    let sig_tag = format!("{}.sig", digest.replace(':', "-"));
    let original: Value =
        serde_json::from_slice(&reg.manifest("acme/app", &sig_tag).unwrap()).unwrap();
    let verify = || {
        run(ferrosign(b.p())
            .args(["verify", "--allow-http-registry"])
            .arg("--trusted-root")
            .arg(b.fake.trusted_root())
            .args([
                "--certificate-identity",
                &b.fake.identity(),
                "--certificate-oidc-issuer",
                &b.fake.issuer(),
            ])
            .arg(&image))
    };
    verify().ok();
    let put = |edit: &dyn Fn(&mut Value)| {
        let mut m = original.clone();
        edit(&mut m["layers"][0]["annotations"]);
        reg.put_manifest(
            "acme/app",
            &sig_tag,
            &serde_json::to_vec(&m).unwrap(),
            OCI_MANIFEST,
        );
    };
    let rekor_bundle = |a: &Value| -> Value {
        serde_json::from_str(a["dev.sigstore.cosign/bundle"].as_str().unwrap()).unwrap()
    };
    // the SET signed by another key
    put(&|a| {
        let mut rb = rekor_bundle(a);
        let entry = json!({
            "canonicalizedBody": rb["Payload"]["body"],
            "integratedTime": rb["Payload"]["integratedTime"],
            "logIndex": rb["Payload"]["logIndex"],
            "logId": {"keyId": B64.encode(hex::decode(rb["Payload"]["logID"].as_str().unwrap()).unwrap())},
        });
        rb["SignedEntryTimestamp"] = json!(foreign_set(&entry));
        a["dev.sigstore.cosign/bundle"] = json!(rb.to_string());
    });
    verify()
        .fails(1, "does not verify with the log keys")
        .hint("--trusted-root");
    // the signature replaced (the log entry names the original one)
    put(&|a| {
        a["dev.cosignproject.cosign/signature"] = json!(B64.encode(b"not the signature"));
    });
    verify().fails(1, "no signature of");
    // no Rekor bundle
    put(&|a| {
        a.as_object_mut()
            .unwrap()
            .remove("dev.sigstore.cosign/bundle");
    });
    verify().fails(1, "has no Rekor bundle");
    // the certificate from another instance's CA (made before the entry, so that only its CA is wrong)
    let der = B64
        .decode(
            py["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        B64.encode(der)
    );
    put(&|a| {
        a["dev.sigstore.cosign/certificate"] = json!(pem.clone());
    });
    verify().fails(1, "not issued by a certificate authority");
    // garbage annotations
    put(&|a| {
        a["dev.sigstore.cosign/bundle"] = json!("{not json");
    });
    verify().fails(1, "dev.sigstore.cosign/bundle");
    // and back to the original: verifies again
    reg.put_manifest(
        "acme/app",
        &sig_tag,
        &serde_json::to_vec(&original).unwrap(),
        OCI_MANIFEST,
    );
    verify().ok();
}

#[test]
fn insecure_ignore_tlog_skips_proofs_but_not_the_verified_time() {
    let b = Bench::new();
    b.keypair();
    let py = b.sign_python("py.json");
    let good = read_json(&py);
    // an altered inclusion proof is ignored; the SET (the signing time) is still checked
    let mut v = good.clone();
    v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0] =
        json!(B64.encode([1u8; 32]));
    let proof = b.write("proof.json", &v);
    b.verify(&proof, "f.txt", &[]).fails(1, "inclusion proof");
    let r = verified(
        b.verify(&proof, "f.txt", &["--insecure-ignore-tlog=true"]),
        &b.fake.identity(),
    );
    assert!(
        r.stderr.contains("Skipping tlog verification"),
        "{}",
        r.stderr
    );
    let mut v = good.clone();
    v["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"] =
        json!(foreign_set(&v["verificationMaterial"]["tlogEntries"][0]));
    b.verify(
        &b.write("set.json", &v),
        "f.txt",
        &["--insecure-ignore-tlog"],
    )
    .fails(1, "does not verify with the log keys");
    // with a key, the entry is not looked at (as cosign), the signature still is
    let k3 = b.sign_cosign3("k3.json", true);
    let mut v = read_json(&k3);
    v["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"] =
        json!(foreign_set(&v["verificationMaterial"]["tlogEntries"][0]));
    let forged = b.write("k3-set.json", &v);
    b.verify_key(&forged)
        .fails(1, "does not verify with the log keys");
    run(ferrosign(b.p())
        .args([
            "verify-blob",
            "--key",
            "cosign.pub",
            "--insecure-ignore-tlog=true",
            "--bundle",
        ])
        .arg(&forged)
        .arg("f.txt"))
    .ok();
    run(ferrosign(b.p())
        .args([
            "verify-blob",
            "--key",
            "cosign.pub",
            "--insecure-ignore-tlog=true",
            "--bundle",
        ])
        .arg(&forged)
        .arg("other.txt"))
    .fails(1, "for other data");
}
