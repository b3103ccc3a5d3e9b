//! Image signatures as Sigstore bundles attached as OCI 1.1 referrers (issue 10), beside the `.sig`
//! layout, against the real peers: Debian's docker-registry (referrers tag schema) and the referrers-API
//! registry, the test Sigstore instance (Fulcio, Rekor v1 with `dsse` entries), cosign v3.1.3 and
//! v2.6.5, sigstore-python.
//!
//! - the interop matrix: ferrosign `legacy|bundle|both` × key/keyless × log on/off, each image verified
//!   by cosign v3, cosign v2.6.5 (with the flags each needs, docs/cosign-bundle-layout.md §2.4) and
//!   ferrosign; and the reverse direction (cosign v3 default-format and cosign v2 legacy signatures
//!   verified by ferrosign);
//! - scenario 1 (a `both` signature keeps verifying in cosign v3 and v2.6.5 after a foreign bundle is
//!   attached) and scenario 2 (ferrosign sees cosign v3's signatures);
//! - the layout on both registries; 8 parallel signers; an SLSA provenance attestation beside the
//!   signatures (kept, never counted); a registry that refuses `subject`; sigstore-python on the bundle
//!   pulled from the registry; the error when something was found and nothing verified.

use crate::bundle_peers::ReferrersRegistry;
use crate::sigstore_fake::{sigstore_venv, FakeSigstore};
use crate::support::proxy::{Fault, FaultProxy, On};
use crate::support::registry::{sha256, TestRegistry, OCI_INDEX};
use crate::support::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const PW: &str = "bundle-test-pw";
const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
const SLSA_V1: &str = "https://slsa.dev/provenance/v1";

// ------------------------------------------------------------------ harness

/// The two registries, as the tests use them.
trait Reg {
    fn addr(&self) -> String;
    fn push(&self, repo: &str, tag: &str, seed: &str) -> String;
    fn get_manifest(&self, repo: &str, reference: &str) -> Option<Vec<u8>>;
    fn get_blob(&self, repo: &str, digest: &str) -> Vec<u8>;
    /// The referrers of `digest` as a verifier finds them: the API, else the tag-schema index.
    fn referrers(&self, repo: &str, digest: &str) -> Vec<Value>;
    fn name(&self) -> &'static str;
}

fn tag_schema_entries(reg: &dyn Reg, repo: &str, digest: &str) -> Vec<Value> {
    match reg.get_manifest(repo, &digest.replacen(':', "-", 1)) {
        Some(bytes) => {
            let index = json_of(&bytes);
            assert_eq!(index["mediaType"], OCI_INDEX, "{index}");
            index["manifests"].as_array().cloned().unwrap_or_default()
        }
        None => Vec::new(),
    }
}

impl Reg for TestRegistry {
    fn addr(&self) -> String {
        self.addr.clone()
    }
    fn push(&self, repo: &str, tag: &str, seed: &str) -> String {
        self.push_image(repo, tag, seed)
    }
    fn get_manifest(&self, repo: &str, reference: &str) -> Option<Vec<u8>> {
        self.manifest(repo, reference)
    }
    fn get_blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        self.blob(repo, digest)
    }
    fn referrers(&self, repo: &str, digest: &str) -> Vec<Value> {
        tag_schema_entries(self, repo, digest)
    }
    fn name(&self) -> &'static str {
        "docker-registry (tag schema)"
    }
}

impl Reg for ReferrersRegistry {
    fn addr(&self) -> String {
        self.addr.clone()
    }
    fn push(&self, repo: &str, tag: &str, seed: &str) -> String {
        self.push_image(repo, tag, seed)
    }
    fn get_manifest(&self, repo: &str, reference: &str) -> Option<Vec<u8>> {
        self.manifest(repo, reference)
    }
    fn get_blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        self.blob(repo, digest)
    }
    fn referrers(&self, repo: &str, digest: &str) -> Vec<Value> {
        let (status, _, body) = ReferrersRegistry::referrers(self, repo, digest, "");
        assert_eq!(status, 200);
        assert!(
            tag_schema_entries(self, repo, digest).is_empty(),
            "a tag-schema index beside the referrers API"
        );
        json_of(&body)["manifests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
    fn name(&self) -> &'static str {
        "referrers API"
    }
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// A bundle referrer as read back from the registry: its manifest, the bundle, the statement.
struct Referrer {
    digest: String,
    manifest: Value,
    bundle_bytes: Vec<u8>,
    bundle: Value,
    statement: Value,
}

fn bundle_referrers(reg: &dyn Reg, repo: &str, digest: &str) -> Vec<Referrer> {
    reg.referrers(repo, digest)
        .iter()
        .map(|d| {
            let rd = d["digest"].as_str().expect("digest").to_string();
            let manifest = json_of(&reg.get_manifest(repo, &rd).expect("referrer manifest"));
            let layer = manifest["layers"][0]["digest"].as_str().expect("layer");
            let bundle_bytes = reg.get_blob(repo, layer);
            let bundle = json_of(&bundle_bytes);
            let statement = json_of(
                &B64.decode(
                    bundle["dsseEnvelope"]["payload"]
                        .as_str()
                        .expect("dsse payload"),
                )
                .expect("b64"),
            );
            Referrer {
                digest: rd,
                manifest,
                bundle_bytes,
                bundle,
                statement,
            }
        })
        .collect()
}

/// A working directory with a ferrosign key pair (`cosign.key`/`cosign.pub`), a second cosign key pair
/// (`other/cosign.key`) and the instance's signing config for cosign v3.
fn workdir(fake: &FakeSigstore) -> tempfile::TempDir {
    let dir = tempdir();
    key_pair(dir.path(), PW);
    std::fs::create_dir(dir.path().join("other")).expect("mkdir");
    run(cosign(3, &dir.path().join("other"))
        .arg("generate-key-pair")
        .env("COSIGN_PASSWORD", PW))
    .ok();
    let tc = json_of(&std::fs::read(fake.trust_config()).expect("trust config"));
    std::fs::write(
        dir.path().join("signing_config.json"),
        tc["signingConfig"].to_string(),
    )
    .expect("signing config");
    dir
}

/// How a signature is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `--key`, with a Rekor entry
    KeyTlog,
    /// `--key --tlog-upload=false`
    KeyNoTlog,
    /// keyless (an identity token, a Fulcio certificate, a Rekor entry)
    Keyless,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::KeyTlog => "key + tlog",
            Mode::KeyNoTlog => "key, no tlog",
            Mode::Keyless => "keyless",
        }
    }
}

/// `ferrosign sign` against the test instance.
fn fs_sign(fake: &FakeSigstore, dir: &Path, mode: Mode, extra: &[&str], images: &[&str]) -> Run {
    let mut c = ferrosign(dir);
    c.env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .env("COSIGN_PASSWORD", PW)
        .args([
            "sign",
            "--allow-insecure-registry",
            "--fulcio-url",
            &fake.url(),
            "--rekor-url",
            &fake.url(),
        ])
        .arg("--trusted-root")
        .arg(fake.trusted_root());
    match mode {
        Mode::KeyTlog => {
            c.args(["--key", "cosign.key"]);
        }
        Mode::KeyNoTlog => {
            c.args(["--key", "cosign.key", "--tlog-upload=false"]);
        }
        Mode::Keyless => {
            c.env("SIGSTORE_ID_TOKEN", fake.get("token"));
        }
    }
    run(c.args(extra).args(images))
}

/// `ferrosign verify` against the test instance, with `cosign.pub` (or `key`) or the identity.
fn fs_verify(fake: &FakeSigstore, dir: &Path, mode: Mode, extra: &[&str], image: &str) -> Run {
    let mut c = ferrosign(dir);
    c.env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .args(["verify", "--allow-http-registry"])
        .arg("--trusted-root")
        .arg(fake.trusted_root());
    match mode {
        Mode::KeyTlog => {
            c.args(["--key", "cosign.pub"]);
        }
        Mode::KeyNoTlog => {
            c.args(["--key", "cosign.pub", "--insecure-ignore-tlog"]);
        }
        Mode::Keyless => {
            c.args([
                "--certificate-identity",
                &fake.identity(),
                "--certificate-oidc-issuer",
                &fake.issuer(),
            ]);
        }
    }
    run(c.args(extra).arg(image))
}

/// `cosign verify` (v2 or v3) with the flags each version needs for `mode` (docs §2.4): v3 takes
/// `--trusted-root` (not needed for a key without log); v2.6.5 needs `--trusted-root` as soon as a bundle
/// is attached (and reads the `.sig` with it too).
fn cosign_verify(
    major: u32,
    fake: &FakeSigstore,
    dir: &Path,
    mode: Mode,
    key: &str,
    extra: &[&str],
    image: &str,
) -> Run {
    let mut c = cosign(major, dir);
    c.args(["verify", "--allow-http-registry"]);
    match mode {
        Mode::KeyTlog => {
            c.args(["--key", key])
                .arg("--trusted-root")
                .arg(fake.trusted_root());
        }
        Mode::KeyNoTlog => {
            c.args(["--key", key, "--insecure-ignore-tlog"]);
            if major == 2 {
                c.arg("--trusted-root").arg(fake.trusted_root());
            }
        }
        Mode::Keyless => {
            c.args([
                "--certificate-identity",
                &fake.identity(),
                "--certificate-oidc-issuer",
                &fake.issuer(),
            ])
            .arg("--trusted-root")
            .arg(fake.trusted_root());
        }
    }
    run(c.args(extra).arg(image))
}

/// `cosign sign` v3 with its defaults (bundle format, signing config): `key` or keyless.
fn cosign3_sign(fake: &FakeSigstore, dir: &Path, key: Option<&str>, extra: &[&str], image: &str) {
    let mut c = cosign(3, dir);
    c.args(["sign", "--yes", "--allow-http-registry"])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .args(extra);
    match key {
        Some(k) => {
            c.args(["--key", k]).env("COSIGN_PASSWORD", PW);
        }
        None => {
            c.args(["--identity-token", &fake.get("token")]);
        }
    }
    if !extra.contains(&"--use-signing-config=false") {
        c.args(["--signing-config", "signing_config.json"]);
    }
    let r = run(c.arg(image));
    assert_eq!(r.code, 0, "cosign v3 sign {image}: {}", r.all());
}

/// Appends one row of the interop matrix (markdown) to `$FERROSIGN_MATRIX_OUT` (default
/// `.cache/interop-matrix.rows.md`): what each verifier answered, cell by cell, as it ran.
fn matrix_row(line: &str) {
    use std::io::Write;
    let path = std::env::var("FERROSIGN_MATRIX_OUT").unwrap_or_else(|_| {
        format!(
            "{}/.cache/interop-matrix.rows.md",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    if let Some(parent) = Path::new(&path).parent() {
        std::fs::create_dir_all(parent).expect("rows directory");
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    writeln!(f, "{line}").expect("write row");
}

/// `exit N (what it printed as `type`)` for a cosign verify run.
fn outcome(r: &Run) -> String {
    let kind = if r.stdout.contains(SIGN_PREDICATE) {
        " bundle"
    } else if r.stdout.contains("cosign container image signature") {
        " .sig"
    } else {
        ""
    };
    format!("{}{kind}", r.code)
}

/// Makes `manifest` (a bundle referrer's manifest) the only referrer of `digest` on Debian's registry:
/// pushes it by digest and replaces the `sha256-<hex>` tag-schema index with one entry for it (its
/// artifactType and annotations, as a writer lists it). Returns the manifest's digest.
fn only_referrer(reg: &TestRegistry, repo: &str, digest: &str, manifest: &Value) -> String {
    let bytes = manifest.to_string().into_bytes();
    let at = reg.put_manifest(
        repo,
        &sha256(&bytes),
        &bytes,
        "application/vnd.oci.image.manifest.v1+json",
    );
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": at,
         "size": bytes.len(), "artifactType": BUNDLE_V03, "annotations": manifest["annotations"]}]});
    reg.put_manifest(
        repo,
        &digest.replacen(':', "-", 1),
        index.to_string().as_bytes(),
        OCI_INDEX,
    );
    at
}

fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").expect("sha256 digest")
}

/// What ferrosign writes in the bundle layout, checked as cosign v3 writes it (docs §1.1–1.4) plus a
/// subject name; the referrer entry carries artifactType and annotations on both registries.
fn check_ferrosign_referrer(
    reg: &dyn Reg,
    repo: &str,
    digest: &str,
    entry: &Value,
    r: &Referrer,
    annotations: Value,
) {
    let m = &r.manifest;
    assert_eq!(m["artifactType"], BUNDLE_V03, "{m}");
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(m["config"]["digest"], sha256(b"{}"));
    assert_eq!(m["layers"].as_array().map(Vec::len), Some(1));
    assert_eq!(m["layers"][0]["mediaType"], BUNDLE_V03);
    assert_eq!(m["layers"][0]["digest"], sha256(&r.bundle_bytes));
    assert_eq!(m["subject"]["digest"], digest);
    let size = reg.get_manifest(repo, digest).expect("image").len();
    assert_eq!(m["subject"]["size"], size);
    let a = &m["annotations"];
    assert_eq!(a["dev.sigstore.bundle.content"], "dsse-envelope");
    assert_eq!(a["dev.sigstore.bundle.predicateType"], SIGN_PREDICATE);
    assert!(
        a["org.opencontainers.image.created"]
            .as_str()
            .is_some_and(|t| t.len() == 20 && t.ends_with('Z')),
        "{a}"
    );
    // the listing entry: the manifest's artifactType and annotations (the tag schema as the spec
    // asks; the referrers-API peer copies annotations but reports the config's type)
    assert_eq!(entry["annotations"], *a, "{entry}");
    if reg.name().contains("tag schema") {
        assert_eq!(entry["artifactType"], BUNDLE_V03, "{entry}");
    }
    let b = &r.bundle;
    assert_eq!(b["mediaType"], BUNDLE_V03);
    assert_eq!(
        b["dsseEnvelope"]["payloadType"],
        "application/vnd.in-toto+json"
    );
    let s = &r.statement;
    assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(s["predicateType"], SIGN_PREDICATE);
    assert_eq!(s["predicate"], json!({}));
    assert_eq!(s["subject"].as_array().map(Vec::len), Some(1));
    let subject = &s["subject"][0];
    assert_eq!(subject["digest"]["sha256"], hex_of(digest));
    assert_eq!(subject["name"], format!("{}/{repo}", reg.addr()));
    assert_eq!(subject["annotations"], annotations);
}

// ------------------------------------------------------------------ the layout, both registries

/// `sign` with the default format writes both layouts side by side on either registry: the `.sig` and a
/// bundle referrer (listed by the API, or in the tag-schema index with artifactType and annotations);
/// the log entry of the bundle is `dsse`; `-a` goes into the statement subject's annotations, and
/// `verify -a` checks it there; the JSON that `verify` prints has cosign v3's shape for the bundle.
#[test]
fn both_layouts_on_both_registries() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let docker = TestRegistry::start();
    let api = ReferrersRegistry::start();
    for reg in [&docker as &dyn Reg, &api as &dyn Reg] {
        let digest = reg.push("acme/app", "v1", reg.name());
        let image = format!("{}/acme/app@{digest}", reg.addr());
        let r = fs_sign(&fake, p, Mode::KeyTlog, &["-a", "team=platform"], &[&image]).ok();
        assert_eq!(
            r.stderr.matches("tlog entry created with index: ").count(),
            2,
            "one hashedrekord and one dsse entry: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains("Attaching Sigstore bundle"),
            "{}",
            r.stderr
        );
        // the `.sig`
        let sig = json_of(
            &reg.get_manifest("acme/app", &format!("{}.sig", digest.replacen(':', "-", 1)))
                .unwrap_or_else(|| panic!("{}: no .sig", reg.name())),
        );
        assert_eq!(sig["layers"].as_array().map(Vec::len), Some(1));
        // the referrer
        let entries = reg.referrers("acme/app", &digest);
        assert_eq!(entries.len(), 1, "{}: {entries:?}", reg.name());
        let refs = bundle_referrers(reg, "acme/app", &digest);
        check_ferrosign_referrer(
            reg,
            "acme/app",
            &digest,
            &entries[0],
            &refs[0],
            json!({"team": "platform"}),
        );
        let e = &refs[0].bundle["verificationMaterial"]["tlogEntries"][0];
        assert_eq!(
            e["kindVersion"],
            json!({"kind": "dsse", "version": "0.0.1"})
        );
        let pubkey = std::fs::read_to_string(p.join("cosign.pub")).expect("pub");
        let (_, der) = pem_rfc7468::decode_vec(pubkey.as_bytes()).expect("pem");
        assert_eq!(
            refs[0].bundle["verificationMaterial"]["publicKey"]["hint"],
            B64.encode(hex::decode(hex_of(&sha256(&der))).expect("hex"))
        );

        // ferrosign reads each layout by itself and both together
        for format in ["legacy", "bundle", "both"] {
            let out = fs_verify(
                &fake,
                p,
                Mode::KeyTlog,
                &["--signature-format", format, "-a", "team=platform"],
                &image,
            )
            .ok();
            let printed: Value = serde_json::from_str(out.stdout.trim()).expect("JSON");
            let n = if format == "both" { 2 } else { 1 };
            assert_eq!(
                printed.as_array().map(Vec::len),
                Some(n),
                "{format}: {printed}"
            );
            if format == "bundle" {
                // cosign v3's shape: the reference with its digest, the predicate type, the annotations
                assert_eq!(
                    printed[0]["critical"]["identity"]["docker-reference"],
                    image.as_str()
                );
                assert_eq!(printed[0]["critical"]["type"], SIGN_PREDICATE);
                assert_eq!(printed[0]["optional"], json!({"team": "platform"}));
            }
            fs_verify(
                &fake,
                p,
                Mode::KeyTlog,
                &["--signature-format", format, "-a", "team=other"],
                &image,
            )
            .fails(1, "lacks the required annotations");
        }
        // cosign's own flag is a synonym
        fs_verify(&fake, p, Mode::KeyTlog, &["--new-bundle-format"], &image).ok();
        // cosign v3 reads the bundle and checks -a on the subject
        cosign_verify(
            3,
            &fake,
            p,
            Mode::KeyTlog,
            "cosign.pub",
            &["-a", "team=platform"],
            &image,
        )
        .ok();
        let bad = cosign_verify(
            3,
            &fake,
            p,
            Mode::KeyTlog,
            "cosign.pub",
            &["-a", "team=x"],
            &image,
        );
        assert_ne!(
            bad.code,
            0,
            "cosign v3 accepted a wrong annotation: {}",
            bad.all()
        );
    }
}

// ------------------------------------------------------------------ the interop matrix

/// ferrosign `legacy|bundle|both` × key/keyless × log on/off, on docker-registry: cosign v3.1.3 (its
/// default reads the bundle once there is one; `--new-bundle-format=false` reads the `.sig`, what
/// policy-controller and Kyverno read), cosign v2.6.5 and ferrosign each verify every image, and each
/// refuses another key or identity.
#[test]
fn interop_matrix_ferrosign_signs_cosign_v3_v2_and_ferrosign_verify() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = TestRegistry::start();
    for mode in [Mode::KeyTlog, Mode::KeyNoTlog, Mode::Keyless] {
        for format in ["legacy", "bundle", "both"] {
            let cell = format!("{format} / {}", mode.label());
            let digest = reg.push_image("acme/app", &format!("{format}-{mode:?}"), &cell);
            let image = format!("{}/acme/app@{digest}", reg.addr);
            fs_sign(&fake, p, mode, &["--signature-format", format], &[&image]).ok();
            let sig = reg.manifest("acme/app", &format!("{}.sig", digest.replacen(':', "-", 1)));
            let refs = bundle_referrers(&reg, "acme/app", &digest);
            assert_eq!(sig.is_some(), format != "bundle", "{cell}: .sig");
            assert_eq!(
                refs.len(),
                usize::from(format != "legacy"),
                "{cell}: bundles"
            );
            if let Some(r) = refs.first() {
                let tlog = r.bundle["verificationMaterial"]["tlogEntries"].as_array();
                assert_eq!(
                    tlog.map(Vec::len).unwrap_or(0),
                    usize::from(mode != Mode::KeyNoTlog),
                    "{cell}: {}",
                    r.bundle
                );
            }
            let mut row = vec![format!("{format} | {}", mode.label())];
            for major in [3, 2] {
                let ok = cosign_verify(major, &fake, p, mode, "cosign.pub", &[], &image);
                row.push(outcome(&ok));
                assert_eq!(ok.code, 0, "{cell}: cosign v{major}:\n{}", ok.all());
                let want = if format == "legacy" {
                    "cosign container image signature"
                } else {
                    SIGN_PREDICATE
                };
                assert!(
                    ok.stdout.contains(want),
                    "{cell}: cosign v{major}: {}",
                    ok.stdout
                );
                if mode != Mode::Keyless {
                    let bad = cosign_verify(major, &fake, p, mode, "other/cosign.pub", &[], &image);
                    row.push(format!("other key: {}", bad.code));
                    assert_ne!(bad.code, 0, "{cell}: cosign v{major} took another key");
                } else {
                    let mut c = cosign(major, p);
                    c.args(["verify", "--allow-http-registry"])
                        .args([
                            "--certificate-identity",
                            "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main",
                        ])
                        .args(["--certificate-oidc-issuer", &fake.issuer()])
                        .arg("--trusted-root")
                        .arg(fake.trusted_root());
                    let bad = run(c.arg(&image));
                    row.push(format!("other identity: {}", bad.code));
                    assert_ne!(bad.code, 0, "{cell}: cosign v{major} took another identity");
                }
            }
            if format == "both" {
                // the `.sig` of a `both` image, as the `.sig` readers see it
                let legacy = cosign_verify(
                    3,
                    &fake,
                    p,
                    mode,
                    "cosign.pub",
                    &["--new-bundle-format=false"],
                    &image,
                );
                assert_eq!(
                    legacy.code,
                    0,
                    "{cell}: cosign v3 (.sig):\n{}",
                    legacy.all()
                );
                assert!(legacy.stdout.contains("cosign container image signature"));
                row.push(outcome(&legacy));
            } else {
                row.push("n/a".into());
            }
            let ours = fs_verify(&fake, p, mode, &[], &image).ok();
            let restricted =
                fs_verify(&fake, p, mode, &["--signature-format", format], &image).ok();
            row.push(format!("{} / {}", ours.code, restricted.code));
            matrix_row(&format!("| {} |", row.join(" | ")));
        }
    }
}

/// The reverse direction: what cosign signs, ferrosign verifies — cosign v3 with its defaults (bundle,
/// key with log, keyless), cosign v3 with a key and no log, cosign v2.6.5's bundle format (its
/// tag-schema entry has the config type as artifactType, cosign issue 4641), and cosign v2.6.5's `.sig`.
#[test]
fn interop_matrix_cosign_signs_ferrosign_verifies() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = TestRegistry::start();
    let image = |seed: &str| {
        let d = reg.push_image("acme/app", seed, seed);
        (format!("{}/acme/app@{d}", reg.addr), d)
    };
    let key = Some("other/cosign.key");
    // cosign v3 defaults, key with a log entry (scenario 2 with a key)
    let (img, _) = image("v3-key");
    cosign3_sign(&fake, p, key, &["-a", "team=platform"], &img);
    let ok = run(ferrosign(p)
        .args([
            "verify",
            "--allow-http-registry",
            "--key",
            "other/cosign.pub",
            "-a",
            "team=platform",
        ])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .arg(&img))
    .ok();
    assert!(ok.stdout.contains(SIGN_PREDICATE), "{}", ok.stdout);
    assert!(ok.stderr.contains("log index"), "{}", ok.stderr);
    matrix_row("| cosign v3.1.3 `sign` (defaults: bundle), key + log, `-a team=platform` | ferrosign `verify --key -a team=platform`: 0 |");
    // cosign v3 defaults, keyless (scenario 2, keyless)
    let (img, _) = image("v3-keyless");
    cosign3_sign(&fake, p, None, &[], &img);
    fs_verify(&fake, p, Mode::Keyless, &[], &img).ok();
    matrix_row("| cosign v3.1.3 `sign` (defaults: bundle), keyless | ferrosign `verify --certificate-identity …`: 0 |");
    // cosign v3, key, no log
    let (img, _) = image("v3-key-nolog");
    cosign3_sign(
        &fake,
        p,
        key,
        &["--use-signing-config=false", "--tlog-upload=false"],
        &img,
    );
    run(ferrosign(p).args([
        "verify",
        "--allow-http-registry",
        "--key",
        "other/cosign.pub",
        "--insecure-ignore-tlog",
        &img,
    ]))
    .ok();
    matrix_row("| cosign v3.1.3 `sign --use-signing-config=false --tlog-upload=false` (bundle), key, no log | ferrosign `verify --key --insecure-ignore-tlog`: 0 |");
    // cosign v2.6.5: bundle format (wrong artifactType in the fallback index) and the `.sig`
    for (seed, extra) in [
        ("v2-bundle", vec!["--new-bundle-format"]),
        ("v2-legacy", vec![]),
    ] {
        let (img, digest) = image(seed);
        let mut c = cosign(2, p);
        c.args([
            "sign",
            "--yes",
            "--allow-http-registry",
            "--key",
            "other/cosign.key",
        ])
        .args(&extra)
        .args(["--rekor-url", &fake.url()])
        .env("COSIGN_PASSWORD", PW)
        .env("SIGSTORE_REKOR_PUBLIC_KEY", fake.get("rekor_pub"))
        .arg("--trusted-root")
        .arg(fake.trusted_root());
        let r = run(c.arg(&img));
        assert_eq!(r.code, 0, "cosign v2 sign {seed}: {}", r.all());
        if seed == "v2-bundle" {
            let entries = reg.referrers("acme/app", &digest);
            assert_eq!(entries.len(), 1, "{entries:?}");
            assert_eq!(
                entries[0]["artifactType"], "application/vnd.oci.empty.v1+json",
                "cosign v2.6.5 now writes the right artifactType: update the doc"
            );
        }
        let format = if seed == "v2-bundle" {
            "bundle"
        } else {
            "legacy"
        };
        for f in [format, "both"] {
            run(ferrosign(p)
                .args([
                    "verify",
                    "--allow-http-registry",
                    "--key",
                    "other/cosign.pub",
                ])
                .args(["--signature-format", f])
                .arg("--trusted-root")
                .arg(fake.trusted_root())
                .arg(&img))
            .ok();
        }
        matrix_row(&format!(
            "| cosign v2.6.5 `sign {}`, key + log | ferrosign `verify --key` (`--signature-format {format}` and `both`): 0 |",
            extra.join(" ")
        ));
    }
}

// ------------------------------------------------------------------ the two scenarios of issue 10

/// Scenario 1: a ferrosign signature (default format) keeps verifying in cosign v3 and v2.6.5 after
/// someone attaches a bundle of their own (cosign v3 defaults, another key) — and a `.sig`-only
/// signature does not, which is why `both` is the default.
#[test]
fn scenario_1_a_both_signature_survives_a_foreign_bundle() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = TestRegistry::start();
    for format in ["both", "legacy"] {
        let digest = reg.push_image("acme/app", format, format);
        let image = format!("{}/acme/app@{digest}", reg.addr);
        fs_sign(
            &fake,
            p,
            Mode::KeyTlog,
            &["--signature-format", format],
            &[&image],
        )
        .ok();
        cosign3_sign(&fake, p, Some("other/cosign.key"), &[], &image);
        assert_eq!(
            reg.referrers("acme/app", &digest).len(),
            if format == "both" { 2 } else { 1 }
        );
        for major in [3, 2] {
            let r = cosign_verify(major, &fake, p, Mode::KeyTlog, "cosign.pub", &[], &image);
            if format == "both" {
                assert_eq!(
                    r.code,
                    0,
                    "cosign v{major} after a foreign bundle:\n{}",
                    r.all()
                );
            } else {
                assert_ne!(
                    r.code, 0,
                    "cosign v{major} now reads the .sig beside a bundle: update the README and docs"
                );
            }
        }
        // ferrosign sees it either way, and the foreign bundle counts for its own key only
        fs_verify(&fake, p, Mode::KeyTlog, &[], &image).ok();
        run(ferrosign(p)
            .args([
                "verify",
                "--allow-http-registry",
                "--key",
                "other/cosign.pub",
            ])
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .arg(&image))
        .ok();
    }
}

/// Scenario 2: an image signed with cosign v3's defaults, key then keyless: ferrosign verify sees the
/// signatures (it said "no signatures found … sign it first" before); restricted to the `.sig` it says
/// where it looked.
#[test]
fn scenario_2_ferrosign_sees_cosign_v3_signatures() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = ReferrersRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "scenario-2");
    let image = format!("{}/acme/app@{digest}", reg.addr);
    cosign3_sign(&fake, p, Some("other/cosign.key"), &[], &image);
    cosign3_sign(&fake, p, None, &[], &image);
    let keyed = run(ferrosign(p)
        .args([
            "verify",
            "--allow-http-registry",
            "--key",
            "other/cosign.pub",
        ])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .arg(&image))
    .ok();
    assert!(keyed.stdout.contains(SIGN_PREDICATE), "{}", keyed.stdout);
    fs_verify(&fake, p, Mode::Keyless, &[], &image).ok();
    fs_verify(
        &fake,
        p,
        Mode::Keyless,
        &["--signature-format", "legacy"],
        &image,
    )
    .fails(1, "no signatures found")
    .hint("--signature-format legacy");
}

// ------------------------------------------------------------------ what counts as a signature

/// An SLSA provenance attestation (`cosign attest --type slsaprovenance1`, the shape `actions/attest`
/// pushes) beside the signatures: cosign v3 takes it for an image signature; ferrosign never does, says
/// so when nothing else verifies, and keeps it when it signs.
#[test]
fn a_provenance_attestation_is_never_a_signature_and_is_kept() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    std::fs::write(p.join("provenance.json"), r#"{"buildDefinition":{"buildType":"https://example.com/build","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}"#).expect("predicate");
    let docker = TestRegistry::start();
    let api = ReferrersRegistry::start();
    for reg in [&docker as &dyn Reg, &api as &dyn Reg] {
        let digest = reg.push("acme/app", "v1", reg.name());
        let image = format!("{}/acme/app@{digest}", reg.addr());
        let r = run(cosign(3, p)
            .args([
                "attest",
                "--yes",
                "--allow-http-registry",
                "--type",
                "slsaprovenance1",
            ])
            .args(["--predicate", "provenance.json", "--key", "cosign.key"])
            .args(["--signing-config", "signing_config.json"])
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .env("COSIGN_PASSWORD", PW)
            .arg(&image));
        assert_eq!(r.code, 0, "cosign attest: {}", r.all());
        let attested = bundle_referrers(reg, "acme/app", &digest);
        assert_eq!(attested.len(), 1);
        assert_eq!(attested[0].statement["predicateType"], SLSA_V1);
        // cosign v3 counts it as a signature (what ferrosign must not do)
        let cosign_says = cosign_verify(3, &fake, p, Mode::KeyTlog, "cosign.pub", &[], &image);
        assert_eq!(
            cosign_says.code,
            0,
            "cosign v3 no longer takes an attestation for a signature: update docs §2.3\n{}",
            cosign_says.all()
        );
        // ferrosign: found one bundle, and why it does not count
        fs_verify(&fake, p, Mode::KeyTlog, &[], &image)
            .fails(1, "found 1 Sigstore bundle (1 is an attestation of type https://slsa.dev/provenance/v1, not an image signature)")
            .hint("public key");
        // signing keeps the attestation beside the new signature, and only the signature counts
        fs_sign(
            &fake,
            p,
            Mode::KeyTlog,
            &["--signature-format", "bundle"],
            &[&image],
        )
        .ok();
        let after = bundle_referrers(reg, "acme/app", &digest);
        assert_eq!(
            after.len(),
            2,
            "{}: the attestation was dropped",
            reg.name()
        );
        assert!(after.iter().any(|r| r.digest == attested[0].digest));
        let out = fs_verify(&fake, p, Mode::KeyTlog, &[], &image).ok();
        let printed: Value = serde_json::from_str(out.stdout.trim()).expect("JSON");
        assert_eq!(printed.as_array().map(Vec::len), Some(1), "{printed}");
        assert_eq!(printed[0]["critical"]["type"], SIGN_PREDICATE);
    }
}

/// A bundle signed for another digest, attached to this image, never counts (the statement names the
/// digest it signs, whatever the manifest's `subject` says); the error lists both kinds found.
#[test]
fn a_bundle_for_another_digest_never_counts() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = TestRegistry::start();
    let a = reg.push_image("acme/app", "a", "a");
    let b = reg.push_image("acme/app", "b", "b");
    let img_a = format!("{}/acme/app@{a}", reg.addr);
    let img_b = format!("{}/acme/app@{b}", reg.addr);
    fs_sign(
        &fake,
        p,
        Mode::KeyNoTlog,
        &["--signature-format", "bundle"],
        &[&img_a],
    )
    .ok();
    // move A's referrer onto B: a manifest with subject B holding A's bundle
    let ra = &bundle_referrers(&reg, "acme/app", &a)[0];
    let mut moved = ra.manifest.clone();
    let size_b = reg.manifest("acme/app", &b).expect("b").len();
    moved["subject"] = json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": b, "size": size_b});
    only_referrer(&reg, "acme/app", &b, &moved);
    fs_verify(&fake, p, Mode::KeyNoTlog, &[], &img_b).fails(
        1,
        &format!("found 1 Sigstore bundle (1 is for another digest ({a}))"),
    );
    // with a `.sig` too, both kinds are named
    fs_sign(
        &fake,
        p,
        Mode::KeyNoTlog,
        &["--signature-format", "legacy"],
        &[&img_b],
    )
    .ok();
    run(ferrosign(p)
        .args(["verify", "--allow-http-registry", "--insecure-ignore-tlog", "--key", "other/cosign.pub", &img_b]))
    .fails(1, "found 1 `.sig` signature (1 does not verify with this key) and 1 Sigstore bundle (1 is for another digest");
}

// ------------------------------------------------------------------ concurrency and refusals

/// 8 signers of one digest at once in the bundle format: every signer succeeds and every signature is
/// there — in the tag-schema index (re-read, merge, never drop an entry) and on the referrers API.
#[test]
fn eight_parallel_bundle_signers_all_land() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let docker = TestRegistry::start();
    let api = ReferrersRegistry::start();
    for reg in [&docker as &dyn Reg, &api as &dyn Reg] {
        let digest = reg.push("acme/app", "v1", reg.name());
        let image = format!("{}/acme/app@{digest}", reg.addr());
        let children: Vec<_> = (0..8)
            .map(|i| {
                let mut c = ferrosign(p);
                c.env("DOCKER_CONFIG", p.join("no-docker-config"))
                    .env("COSIGN_PASSWORD", PW)
                    .args([
                        "sign",
                        "--allow-insecure-registry",
                        "--key",
                        "cosign.key",
                        "--tlog-upload=false",
                        "--signature-format",
                        "bundle",
                        "-a",
                    ])
                    .arg(format!("signer={i}"))
                    .arg(&image)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                c.spawn().expect("spawn")
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().expect("wait");
            assert!(
                out.status.success(),
                "{}: {}",
                reg.name(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let refs = bundle_referrers(reg, "acme/app", &digest);
        let mut signers: Vec<String> = refs
            .iter()
            .map(|r| {
                r.statement["subject"][0]["annotations"]["signer"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string()
            })
            .collect();
        signers.sort();
        assert_eq!(
            signers,
            (0..8).map(|i| i.to_string()).collect::<Vec<_>>(),
            "{}: signatures lost",
            reg.name()
        );
        for i in [0, 7] {
            fs_verify(
                &fake,
                p,
                Mode::KeyNoTlog,
                &["-a", &format!("signer={i}")],
                &image,
            )
            .ok();
        }
    }
}

/// A registry that refuses manifests with a `subject` (no OCI 1.1; the fault proxy in front of
/// docker-registry): with `both` the `.sig` is written, the run warns once for all images and exits 0;
/// with `bundle` the image fails with a hint to use the legacy format.
#[test]
fn a_registry_refusing_subject_keeps_the_sig_with_both_and_fails_bundle() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = TestRegistry::start();
    let proxy = FaultProxy::start(&reg.addr, vec![Fault::RefuseSubject]);
    let a = reg.push_image("acme/app", "a", "a");
    let b = reg.push_image("acme/app", "b", "b");
    let img = |d: &str| format!("{}/acme/app@{d}", proxy.addr);
    let r = fs_sign(&fake, p, Mode::KeyNoTlog, &[], &[&img(&a), &img(&b)]).ok();
    assert_eq!(
        r.stderr.matches("refused the Sigstore bundle").count(),
        1,
        "warn once: {}",
        r.stderr
    );
    for d in [&a, &b] {
        assert!(reg
            .manifest("acme/app", &format!("{}.sig", d.replacen(':', "-", 1)))
            .is_some());
        assert!(reg.referrers("acme/app", d).is_empty());
        fs_verify(&fake, p, Mode::KeyNoTlog, &[], &img(d)).ok();
    }
    let c = reg.push_image("acme/app", "c", "c");
    fs_sign(
        &fake,
        p,
        Mode::KeyNoTlog,
        &["--signature-format", "bundle"],
        &[&img(&c)],
    )
    .fails(1, "refused the referrer manifest")
    .hint("--signature-format legacy");
}

/// A referrer manifest PUT answered `DIGEST_INVALID` + `MANIFEST_BLOB_UNKNOWN` (what Debian's registry
/// answered while 16 signers of one digest raced on the empty config blob every bundle names) is
/// retried after pushing the blobs again, up to `BLOB_UNKNOWN_TRIES` (5) PUTs in all: 4 such answers
/// still sign; 5 fail with the registry's error, exit 1, and no bundle.
#[test]
fn a_referrer_manifest_refused_for_a_racing_blob_is_pushed_again() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = TestRegistry::start();
    let by_digest = On::req("PUT", r"^/v2/.+/manifests/sha256:[0-9a-f]{64}$");
    let proxy = FaultProxy::start(
        &reg.addr,
        vec![Fault::BlobUnknown {
            on: by_digest.clone(),
            times: 4,
        }],
    );
    let a = reg.push_image("acme/app", "a", "a");
    let img = |d: &str| format!("{}/acme/app@{d}", proxy.addr);
    let format = ["--signature-format", "bundle"];
    fs_sign(&fake, p, Mode::KeyNoTlog, &format, &[&img(&a)]).ok();
    assert_eq!(reg.referrers("acme/app", &a).len(), 1, "one bundle");
    assert_eq!(
        proxy.count_status(400),
        4,
        "4 refused PUTs, then the fifth landed"
    );
    fs_verify(&fake, p, Mode::KeyNoTlog, &[], &img(&a)).ok();

    let b = reg.push_image("acme/app", "b", "b");
    proxy.arm(Fault::BlobUnknown {
        on: by_digest,
        times: 5,
    });
    fs_sign(&fake, p, Mode::KeyNoTlog, &format, &[&img(&b)]).fails(1, "MANIFEST_BLOB_UNKNOWN");
    assert!(reg.referrers("acme/app", &b).is_empty(), "no bundle");
}

// ------------------------------------------------------------------ other verifiers

/// The keyless bundle ferrosign attached, pulled from the registry, verifies with sigstore-python
/// against the test instance — through the `sigstore verify identity` CLI on the image digest (the
/// statement's subject has a name, which the CLI requires) and through its API
/// (tests/peers/sigstore/py_verify_dsse.py); another identity or digest is refused.
#[test]
fn sigstore_python_verifies_the_bundle_pulled_from_the_registry() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = ReferrersRegistry::start();
    let digest = reg.push_image("acme/app", "v1", "python");
    let image = format!("{}/acme/app@{digest}", reg.addr);
    fs_sign(
        &fake,
        p,
        Mode::Keyless,
        &["--signature-format", "bundle"],
        &[&image],
    )
    .ok();
    let refs = bundle_referrers(&reg, "acme/app", &digest);
    let bundle: PathBuf = p.join("image.sigstore.json");
    std::fs::write(&bundle, &refs[0].bundle_bytes).expect("write bundle");
    let py = |identity: &str, want: &str| fake.py_verify_dsse(&bundle, identity, want);
    let ok = py(&fake.identity(), &digest);
    assert_eq!(ok.code, 0, "sigstore-python: {}", ok.all());
    assert!(ok.stdout.contains(SIGN_PREDICATE), "{}", ok.stdout);
    assert_eq!(
        py(
            "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main",
            &digest
        )
        .code,
        1
    );
    assert_eq!(
        py(&fake.identity(), &format!("sha256:{}", "1".repeat(64))).code,
        1
    );
    // the CLI: the artifact is the image digest
    let cli = |want: &str| {
        run(Command::new(sigstore_venv().join("bin/sigstore"))
            .arg("--trust-config")
            .arg(fake.trust_config())
            .args(["verify", "identity", "--cert-identity", &fake.identity()])
            .args(["--cert-oidc-issuer", &fake.issuer(), "--bundle"])
            .arg(&bundle)
            .arg(want))
    };
    let ok = cli(&digest);
    assert_eq!(ok.code, 0, "sigstore verify identity: {}", ok.all());
    assert_ne!(cli(&format!("sha256:{}", "1".repeat(64))).code, 0);
}

// ------------------------------------------------------------------ --recursive

/// `--recursive` in the default format: the index and each platform manifest get a `.sig` and a bundle
/// naming their own digest; cosign v3 verifies each platform's bundle (and `-a` on it), cosign v3 with
/// `--new-bundle-format=false` its `.sig`, and ferrosign each layout on its own.
#[test]
fn recursive_signs_each_platform_in_both_layouts() {
    let fake = FakeSigstore::start(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = TestRegistry::start();
    let (index, kids) = reg.push_index("acme/multi", "latest", "bundle-rec", &["amd64", "arm64"]);
    let at = |d: &str| format!("{}/acme/multi@{d}", reg.addr);
    let r = fs_sign(
        &fake,
        p,
        Mode::KeyTlog,
        &["--recursive", "-a", "level=all"],
        &[&at(&index)],
    )
    .ok();
    assert_eq!(r.stdout.lines().count(), 3, "{}", r.stdout);
    for d in std::iter::once(&index).chain(kids.iter()) {
        let refs = bundle_referrers(&reg, "acme/multi", d);
        assert_eq!(refs.len(), 1, "{d}: one bundle");
        assert_eq!(
            refs[0].statement["subject"][0]["digest"]["sha256"],
            hex_of(d)
        );
        assert_eq!(refs[0].manifest["subject"]["digest"], d.as_str());
        assert_eq!(
            reg.sig_layers("acme/multi", d).len(),
            1,
            "{d}: one .sig layer"
        );
    }
    for k in &kids {
        let out = cosign_verify(
            3,
            &fake,
            p,
            Mode::KeyTlog,
            "cosign.pub",
            &["-a", "level=all"],
            &at(k),
        )
        .ok();
        assert!(out.stdout.contains(SIGN_PREDICATE), "{}", out.stdout);
        let legacy = cosign_verify(
            3,
            &fake,
            p,
            Mode::KeyTlog,
            "cosign.pub",
            &["--new-bundle-format=false"],
            &at(k),
        )
        .ok();
        assert!(
            legacy.stdout.contains("cosign container image signature"),
            "{}",
            legacy.stdout
        );
        for format in ["legacy", "bundle"] {
            fs_verify(
                &fake,
                p,
                Mode::KeyTlog,
                &["--signature-format", format, "-a", "level=all"],
                &at(k),
            )
            .ok();
        }
    }
}

// ------------------------------------------------------------------ RFC 3161 timestamps

/// With a signing config that lists a TSA, the image bundle carries the timestamp where cosign v3 puts
/// it (`verificationMaterial.timestampVerificationData.rfc3161Timestamps`, over the envelope's
/// signature), beside its `dsse` entry: cosign v3 verifies the image (it reads the bundle), and
/// sigstore-python the bundle pulled from the registry. `verify` checks the timestamp: a bundle whose
/// timestamp is a genuine one from the same TSA, but for another signature, is refused.
#[test]
fn image_bundles_carry_the_tsa_timestamp() {
    let fake = FakeSigstore::start_tsa(&[]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = TestRegistry::start();
    let a = reg.push_image("acme/ts", "a", "timestamp-a");
    let b = reg.push_image("acme/ts", "b", "timestamp-b");
    let at = |d: &str| format!("{}/acme/ts@{d}", reg.addr);
    let tsa = fake.get("tsa_url");
    let r = run(ferrosign(p)
        .env("DOCKER_CONFIG", p.join("no-docker-config"))
        .args([
            "sign",
            "--allow-insecure-registry",
            "--signature-format",
            "bundle",
        ])
        .args(["--identity-token", &fake.token()])
        .args(["--signing-config", "signing_config.json"])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .args([&at(&a), &at(&b)]))
    .ok();
    assert!(
        r.stderr
            .contains(&format!("Timestamp authority: {tsa} (from ")),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr.matches(&format!("timestamp from {tsa}: ")).count(),
        2,
        "{}",
        r.stderr
    );
    let bundle_of = |d: &str| {
        let refs = bundle_referrers(&reg, "acme/ts", d);
        assert_eq!(refs.len(), 1, "{d}: one bundle");
        let vm = &refs[0].bundle["verificationMaterial"];
        assert_eq!(vm["tlogEntries"][0]["kindVersion"]["kind"], "dsse", "{vm}");
        let ts = vm["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(ts.len(), 1, "one RFC 3161 timestamp: {vm}");
        assert!(ts[0]["signedTimestamp"].as_str().unwrap().len() > 100);
        refs.into_iter().next().unwrap()
    };
    let (ra, rb) = (bundle_of(&a), bundle_of(&b));
    // cosign v3 (bundles only, once one exists), sigstore-python, ferrosign
    let c = cosign_verify(3, &fake, p, Mode::Keyless, "", &[], &at(&a)).ok();
    assert!(c.stdout.contains(SIGN_PREDICATE), "{}", c.stdout);
    let file = p.join("a.sigstore.json");
    std::fs::write(&file, &ra.bundle_bytes).expect("write bundle");
    let py = fake.py_verify_dsse(&file, &fake.identity(), &a);
    assert_eq!(py.code, 0, "sigstore-python: {}", py.all());
    fs_verify(&fake, p, Mode::Keyless, &[], &at(&a)).ok();
    // B's bundle with A's timestamp instead of its own: the only bundle B has
    let mut forged = rb.bundle.clone();
    forged["verificationMaterial"]["timestampVerificationData"] =
        ra.bundle["verificationMaterial"]["timestampVerificationData"].clone();
    let forged = forged.to_string().into_bytes();
    let layer = reg.put_blob("acme/ts", &forged);
    let mut manifest = rb.manifest.clone();
    manifest["layers"][0]["digest"] = json!(layer);
    manifest["layers"][0]["size"] = json!(forged.len());
    let mdigest = only_referrer(&reg, "acme/ts", &b, &manifest);
    assert_eq!(bundle_referrers(&reg, "acme/ts", &b)[0].digest, mdigest);
    // (cosign v3.1.3 accepts it: sigstore-go's VerifySignedTimestamp skips a timestamp that does not
    // verify, and the Rekor entry's time meets its threshold; sigstore-verify refuses it.)
    fs_verify(&fake, p, Mode::Keyless, &[], &at(&b))
        .fails(1, "the RFC 3161 timestamp does not verify");
}

// ------------------------------------------------------------------ Rekor v2

/// `sign` with the test instance's Rekor v2 log (its signing config lists only the v2 log and the TSA).
fn fs_sign_v2(fake: &FakeSigstore, dir: &Path, key: bool, extra: &[&str], image: &str) -> Run {
    let mut c = ferrosign(dir);
    c.env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .env("COSIGN_PASSWORD", PW)
        .args(["sign", "--allow-insecure-registry"])
        .arg("--trusted-root")
        .arg(fake.trusted_root());
    if key {
        c.args(["--key", "cosign.key"]);
    } else {
        c.args(["--identity-token", &fake.token()]);
    }
    run(c.args(extra).arg(image))
}

/// The SHA-256 of a DSSE envelope's PAE, base64: what a Rekor v2 entry for it records.
fn pae_digest_b64(envelope: &Value) -> String {
    let payload = B64
        .decode(envelope["payload"].as_str().expect("payload"))
        .expect("b64");
    let ptype = envelope["payloadType"].as_str().expect("payloadType");
    let mut pae = format!("DSSEv1 {} {ptype} {} ", ptype.len(), payload.len()).into_bytes();
    pae.extend_from_slice(&payload);
    let hex = sha256(&pae);
    let mut raw = [0u8; 32];
    for (i, b) in raw.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex["sha256:".len() + 2 * i..][..2], 16).expect("hex");
    }
    B64.encode(raw)
}

/// Rekor v2 for images (issue 11): keyless (the signing config's v2 log, default format `both`, which
/// then writes the bundle alone) and with a key (`--rekor-url … --rekor-version 2
/// --timestamp-server-url …`, `--signature-format bundle`). Each image bundle carries a `hashedrekord`
/// 0.0.2 entry over the envelope's PAE, as cosign v3.1.3 writes it (Rekor v2 takes no `dsse` entry), and
/// the TSA's timestamp; cosign v3 verifies each image (it reads the referrer), sigstore-python the
/// keyless bundle pulled from the registry, ferrosign both; ferrosign verifies cosign v3's own Rekor v2
/// image signatures. `--signature-format legacy` is refused before
/// anything is sent. A bundle whose entry is a genuine entry of another image's signature is refused by
/// ferrosign and cosign v3.
#[test]
fn image_bundles_log_to_rekor_v2_and_verify_in_cosign_v3_and_sigstore_python() {
    let fake = FakeSigstore::start_rekor_v2();
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = TestRegistry::start();
    let a = reg.push_image("acme/v2", "a", "rekor-v2-a");
    let b = reg.push_image("acme/v2", "b", "rekor-v2-b");
    let at = |d: &str| format!("{}/acme/v2@{d}", reg.addr);
    let tsa = fake.get("tsa_url");
    let url = fake.url();
    // keyless, everything from the signing config, default format
    let r = fs_sign_v2(
        &fake,
        p,
        false,
        &["--signing-config", "signing_config.json"],
        &at(&a),
    )
    .ok();
    for needle in [
        "(API v2, from the signing config",
        "writing the bundle layout alone, no .sig signature",
        &format!("timestamp from {tsa}: "),
    ] {
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
    }
    // with a key, the log and the TSA named with flags
    fs_sign_v2(
        &fake,
        p,
        true,
        &[
            "--rekor-url",
            &url,
            "--rekor-version",
            "2",
            "--timestamp-server-url",
            &tsa,
            "--signature-format",
            "bundle",
        ],
        &at(&b),
    )
    .ok();
    let checked = |d: &str, key: bool| {
        assert!(reg.sig_layers("acme/v2", d).is_empty(), "{d}: no .sig");
        let refs = bundle_referrers(&reg, "acme/v2", d);
        assert_eq!(refs.len(), 1, "{d}: one bundle");
        let r = refs.into_iter().next().unwrap();
        let vm = &r.bundle["verificationMaterial"];
        let e = &vm["tlogEntries"][0];
        assert_eq!(
            e["kindVersion"],
            json!({"kind": "hashedrekord", "version": "0.0.2"}),
            "{vm}"
        );
        assert!(e.get("inclusionPromise").is_none(), "{e}");
        let body = json_of(
            &B64.decode(e["canonicalizedBody"].as_str().unwrap())
                .unwrap(),
        );
        let hr = &body["spec"]["hashedRekordV002"];
        assert_eq!(
            hr["data"]["digest"].as_str(),
            Some(pae_digest_b64(&r.bundle["dsseEnvelope"]).as_str()),
            "{body}"
        );
        assert_eq!(
            hr["signature"]["content"],
            r.bundle["dsseEnvelope"]["signatures"][0]["sig"]
        );
        assert_eq!(
            hr["signature"]["verifier"].get("publicKey").is_some(),
            key,
            "{body}"
        );
        assert_eq!(
            vm["timestampVerificationData"]["rfc3161Timestamps"]
                .as_array()
                .map(Vec::len),
            Some(1),
            "{vm}"
        );
        r
    };
    let (ra, rb) = (checked(&a, false), checked(&b, true));
    // cosign v3, sigstore-python (keyless), ferrosign
    let c = cosign_verify(3, &fake, p, Mode::Keyless, "", &[], &at(&a)).ok();
    assert!(c.stdout.contains(SIGN_PREDICATE), "{}", c.stdout);
    let c = cosign_verify(3, &fake, p, Mode::KeyTlog, "cosign.pub", &[], &at(&b)).ok();
    assert!(c.stdout.contains(SIGN_PREDICATE), "{}", c.stdout);
    let file = p.join("a.sigstore.json");
    std::fs::write(&file, &ra.bundle_bytes).expect("write bundle");
    let py = fake.py_verify_dsse(&file, &fake.identity(), &a);
    assert_eq!(py.code, 0, "sigstore-python: {}", py.all());
    let v = fs_verify(&fake, p, Mode::Keyless, &[], &at(&a)).ok();
    assert!(
        v.stderr.contains(&format!("tlog: {url} log index ")),
        "{}",
        v.stderr
    );
    fs_verify(&fake, p, Mode::KeyTlog, &[], &at(&b)).ok();

    // the reverse direction: cosign v3.1.3's own image signatures with the v2 log (keyless and key)
    // carry the same kind of entry, and ferrosign verifies them
    for (seed, key) in [
        ("cosign-v2-keyless", None),
        ("cosign-v2-key", Some("cosign.key")),
    ] {
        let d = reg.push_image("acme/v2", seed, seed);
        cosign3_sign(&fake, p, key, &[], &at(&d));
        let refs = bundle_referrers(&reg, "acme/v2", &d);
        assert_eq!(
            refs[0].bundle["verificationMaterial"]["tlogEntries"][0]["kindVersion"],
            json!({"kind": "hashedrekord", "version": "0.0.2"}),
            "cosign v3, {seed}"
        );
        let mode = if key.is_some() {
            Mode::KeyTlog
        } else {
            Mode::Keyless
        };
        fs_verify(&fake, p, mode, &[], &at(&d)).ok();
    }

    // `legacy` (the .sig layout alone) with a Rekor v2 log: refused before any request to the log or the TSA
    let before = fake.counts();
    let c = reg.push_image("acme/v2", "c", "rekor-v2-c");
    fs_sign_v2(
        &fake,
        p,
        true,
        &[
            "--signing-config",
            "signing_config.json",
            "--signature-format",
            "legacy",
        ],
        &at(&c),
    )
    .fails(
        2,
        "is a Rekor v2 log, whose entries only fit in a Sigstore bundle",
    )
    .hint("--signature-format bundle");
    assert_eq!(fake.counts(), before, "nothing sent");
    assert!(reg.sig_layers("acme/v2", &c).is_empty());

    // B's bundle with another entry: A's (genuine, in the log: its proof and checkpoint verify, but it
    // records another envelope and signer), or its own with the body edited to name A's signature
    let replace_bundle = |forged: &Value| {
        let forged = forged.to_string().into_bytes();
        let layer = reg.put_blob("acme/v2", &forged);
        let mut manifest = rb.manifest.clone();
        manifest["layers"][0]["digest"] = json!(layer);
        manifest["layers"][0]["size"] = json!(forged.len());
        only_referrer(&reg, "acme/v2", &b, &manifest);
    };
    let mut forged = rb.bundle.clone();
    forged["verificationMaterial"]["tlogEntries"] =
        ra.bundle["verificationMaterial"]["tlogEntries"].clone();
    replace_bundle(&forged);
    fs_verify(&fake, p, Mode::KeyTlog, &[], &at(&b)).fails(1, "for other data");
    assert_ne!(
        cosign_verify(3, &fake, p, Mode::KeyTlog, "cosign.pub", &[], &at(&b)).code,
        0,
        "cosign v3 accepted another signature's entry"
    );
    let mut forged = rb.bundle.clone();
    let entry = &mut forged["verificationMaterial"]["tlogEntries"][0];
    let mut body = json_of(
        &B64.decode(entry["canonicalizedBody"].as_str().unwrap())
            .unwrap(),
    );
    body["spec"]["hashedRekordV002"]["data"]["digest"] =
        json!(pae_digest_b64(&ra.bundle["dsseEnvelope"]));
    entry["canonicalizedBody"] = json!(B64.encode(body.to_string()));
    replace_bundle(&forged);
    fs_verify(&fake, p, Mode::KeyTlog, &[], &at(&b))
        .fails(1, "inclusion proof verification failed");
}

/// A Rekor v2 log that answers an image's upload with another (genuine) entry: ferrosign refuses to
/// sign, keyless and with a key, and attaches nothing.
#[test]
fn an_image_signature_is_not_attached_with_another_rekor_v2_entry() {
    let fake = FakeSigstore::start_rekor_v2_with(&["rekor-other-entry"]);
    let dir = workdir(&fake);
    let p = dir.path();
    let reg = TestRegistry::start();
    let a = reg.push_image("acme/v2", "a", "rekor-v2-decoy");
    let image = format!("{}/acme/v2@{a}", reg.addr);
    for key in [false, true] {
        let r = fs_sign_v2(
            &fake,
            p,
            key,
            &["--signing-config", "signing_config.json"],
            &image,
        )
        .fails(
            1,
            "Rekor's answer does not verify: it is not this signature's entry",
        )
        .hint("the log answered with another signature's entry");
        assert!(
            r.stderr.contains("for other data"),
            "key {key}: {}",
            r.stderr
        );
    }
    assert_eq!(fake.count("rekor"), 2, "one upload per run");
    assert!(
        bundle_referrers(&reg, "acme/v2", &a).is_empty(),
        "nothing attached"
    );
    assert!(reg.sig_layers("acme/v2", &a).is_empty());
}
