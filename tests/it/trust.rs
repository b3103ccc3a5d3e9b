//! Trust that stays current (issue 11): the trusted root and signing config from a TUF repository (the
//! loopback one of tests/peers/tuf, built with python-tuf from the test Sigstore instance), its cache and
//! fallbacks, the attacks a TUF client must refuse, RFC 3161 timestamps and Rekor v2 — checked with
//! ferrosign, cosign v3 and sigstore-python. Nothing here talks to a public Sigstore service: the mirror is
//! on loopback (or dead), and every other address goes to a dead proxy.

use crate::sigstore_fake::FakeSigstore;
use crate::support::{cosign, ferrosign, run, tempdir, Run};
use crate::tuf_peer::{rotate, TufRepo};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const PW: &str = "pw";

/// A test Sigstore instance, the TUF repository publishing it, and a working directory with `f.txt`,
/// `g.txt` and a key pair.
struct Bench {
    fake: FakeSigstore,
    repo: TufRepo,
    dir: tempfile::TempDir,
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

impl Bench {
    fn new(fake: FakeSigstore) -> Self {
        let repo = TufRepo::start(&fake);
        let dir = tempdir();
        std::fs::write(dir.path().join("f.txt"), b"release artifact\n").unwrap();
        std::fs::write(dir.path().join("g.txt"), b"another artifact\n").unwrap();
        let r = run(ferrosign(dir.path())
            .args(["generate-key-pair"])
            .env("COSIGN_PASSWORD", PW));
        assert_eq!(r.code, 0, "{}", r.all());
        Bench { fake, repo, dir }
    }

    fn p(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.p().join(name)
    }

    fn cache(&self) -> PathBuf {
        self.p().join(".ferrosign-tuf")
    }

    /// This mirror's cache directory (cosign's naming: `127.0.0.1-PORT`).
    fn mirror_cache(&self) -> PathBuf {
        let name = self
            .repo
            .url
            .trim_start_matches("http://")
            .replace([':', '/'], "-");
        self.cache().join(name)
    }

    /// ferrosign with the loopback repository as its TUF mirror and the repository's root as anchor.
    fn fs(&self) -> Command {
        let mut c = ferrosign(self.p());
        c.env("TUF_MIRROR", &self.repo.url)
            .env("TUF_ROOT_JSON", &self.repo.root)
            .env("COSIGN_PASSWORD", PW);
        c
    }

    /// Keyless `sign-blob FILE --bundle OUT` with no service flag: everything from TUF.
    fn sign(&self, file: &str, out: &str, extra: &[&str]) -> Run {
        run(self
            .fs()
            .args(["sign-blob", "--identity-token", &self.fake.token()])
            .args(extra)
            .args(["--bundle", out, file]))
    }

    /// Keyless `verify-blob` with no `--trusted-root`: the trusted root from TUF.
    fn verify(&self, file: &str, bundle: &str) -> Run {
        run(self.fs().args([
            "verify-blob",
            file,
            "--bundle",
            bundle,
            "--certificate-identity",
            &self.fake.identity(),
            "--certificate-oidc-issuer",
            &self.fake.issuer(),
        ]))
    }

    fn cosign_verify(&self, file: &str, bundle: &str) -> Run {
        Local {
            fake: &self.fake,
            dir: self.p(),
        }
        .cosign_verify_blob(file, bundle)
    }

    fn python_verify(&self, file: &str, bundle: &str) -> Run {
        self.fake
            .sigstore_python_verify(&self.path(file), &self.path(bundle))
    }

    /// A bundle's (timestamps, first log ID hex, first entry's kind version).
    fn bundle_info(&self, bundle: &str) -> (usize, String, String) {
        let b = read_json(&self.path(bundle));
        let vm = &b["verificationMaterial"];
        let ts = vm["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .map_or(0, Vec::len);
        let e = &vm["tlogEntries"][0];
        use base64::Engine;
        let id = base64::engine::general_purpose::STANDARD
            .decode(e["logId"]["keyId"].as_str().unwrap())
            .unwrap();
        (
            ts,
            hex::encode(id),
            e["kindVersion"]["version"].as_str().unwrap().to_string(),
        )
    }
}

#[track_caller]
fn ok(r: Run) -> Run {
    assert_eq!(r.code, 0, "expected success:\n{}", r.all());
    r
}

/// A test instance's files given as flags (no TUF), for keyless runs in `dir` (which holds `f.txt`) of
/// ferrosign and cosign v3.
struct Local<'a> {
    fake: &'a FakeSigstore,
    dir: &'a Path,
}

impl<'a> Local<'a> {
    /// `dir` with `f.txt` holding `content`.
    fn new(fake: &'a FakeSigstore, dir: &'a Path, content: &[u8]) -> Self {
        std::fs::write(dir.join("f.txt"), content).unwrap();
        Local { fake, dir }
    }

    /// `ferrosign SUB --identity-token T` (a fresh token), for the caller to complete.
    fn keyless(&self, sub: &str) -> Command {
        let mut c = ferrosign(self.dir);
        c.args([sub, "--identity-token", &self.fake.token()]);
        c
    }

    /// `sign-blob f.txt --bundle OUT` with the instance's signing config and trusted root, and `extra`.
    fn sign_blob(&self, out: &str, extra: &[&str]) -> Run {
        run(self
            .keyless("sign-blob")
            .arg("--signing-config")
            .arg(self.fake.signing_config())
            .arg("--trusted-root")
            .arg(self.fake.trusted_root())
            .args(extra)
            .args(["--bundle", out, "f.txt"]))
    }

    /// The identity flags for the instance's certificates.
    fn identity(&self) -> [String; 4] {
        [
            "--certificate-identity".into(),
            self.fake.identity(),
            "--certificate-oidc-issuer".into(),
            self.fake.issuer(),
        ]
    }

    /// `ferrosign verify-blob f.txt --bundle BUNDLE` with the instance's trusted root, and `extra`.
    fn verify_blob(&self, bundle: &str, extra: &[&str]) -> Run {
        run(ferrosign(self.dir)
            .arg("verify-blob")
            .arg("--trusted-root")
            .arg(self.fake.trusted_root())
            .args(["f.txt", "--bundle", bundle])
            .args(extra)
            .args(self.identity()))
    }

    /// cosign v3 `verify-blob FILE --bundle BUNDLE` with the instance's trusted root.
    fn cosign_verify_blob(&self, file: &str, bundle: &str) -> Run {
        run(cosign(3, self.dir)
            .args(["verify-blob", "--bundle", bundle, "--trusted-root"])
            .arg(self.fake.trusted_root())
            .args(self.identity())
            .arg(file))
    }
}

/// The TUF metadata files the repository was asked for (`GET /2.root.json 404`, …), in order.
fn fetched(repo: &TufRepo) -> Vec<String> {
    repo.requests().lines().map(str::to_string).collect()
}

#[test]
fn rotation_reaches_ferrosign_through_tuf_with_no_flag_and_no_upgrade() {
    let b = Bench::new(FakeSigstore::start(&[]));
    // First use: the cache is empty; everything comes from the mirror and is cached.
    let first = ok(b.sign("f.txt", "a.json", &[]));
    let url = b.fake.url();
    for needle in [
        format!("Trusted root: TUF {} (root v1), refreshed now", b.repo.url),
        format!(
            "Fulcio: {url} (from the signing config of the TUF repository {})",
            b.repo.url
        ),
        format!("Rekor: {url} (API v1, from the signing config"),
    ] {
        assert!(
            first.stderr.contains(&needle),
            "{needle:?}:\n{}",
            first.stderr
        );
    }
    for f in [
        "timestamp.json",
        "targets/trusted_root.json",
        "targets/signing_config.v0.2.json",
    ] {
        assert!(b.mirror_cache().join(f).is_file(), "{f} not cached");
    }
    let log = fetched(&b.repo);
    assert!(log.iter().any(|l| l == "GET /2.root.json 404"), "{log:?}");
    assert!(log
        .iter()
        .any(|l| l.starts_with("GET /targets/") && l.ends_with(".trusted_root.json 200")));
    ok(b.verify("f.txt", "a.json"));
    // A warm cache: only the next root and the timestamp are asked for.
    b.repo.clear_requests();
    ok(b.verify("f.txt", "a.json"));
    assert_eq!(
        fetched(&b.repo),
        ["GET /2.root.json 404", "GET /timestamp.json 200"]
    );
    let (_, old_log, _) = b.bundle_info("a.json");

    // The instance rotates its Rekor key, adds a TSA and a second log. Until the repository publishes,
    // signing fails: ferrosign checks its own log entry against the trusted root it has.
    rotate(
        &b.fake,
        &json!({"rekor_key": true, "tsa": true, "second_log": "v1"}),
    );
    b.sign("g.txt", "stale.json", &[])
        .fails(1, "Rekor's answer does not verify");
    // The repository publishes the new targets; the same command, no flag, no upgrade, now works.
    b.repo.publish_from(&b.fake);
    let signed = ok(b.sign("g.txt", "b.json", &[]));
    assert!(
        signed.stderr.contains("Timestamp authority:"),
        "{}",
        signed.stderr
    );
    let (timestamps, new_log, version) = b.bundle_info("b.json");
    assert_eq!(
        timestamps, 1,
        "the new signing config's TSA dated the signature"
    );
    assert_ne!(new_log, old_log, "the bundle names the new Rekor key");
    assert_eq!(new_log, b.fake.current()["rekor_log_id"].as_str().unwrap());
    assert_eq!(version, "0.0.1");
    // ferrosign (no flag), cosign v3 and sigstore-python verify the new bundle and the old one.
    for (file, bundle) in [("g.txt", "b.json"), ("f.txt", "a.json")] {
        ok(b.verify(file, bundle));
        ok(b.cosign_verify(file, bundle));
        ok(b.python_verify(file, bundle));
    }
    // The cache was updated from the repository, not trusted as it was.
    let cached = std::fs::read(b.mirror_cache().join("targets/trusted_root.json")).unwrap();
    assert_eq!(cached, std::fs::read(b.fake.trusted_root()).unwrap());
}

#[test]
fn the_cache_is_checked_against_tuf_not_trusted() {
    let b = Bench::new(FakeSigstore::start(&[]));
    ok(b.sign("f.txt", "a.json", &[]));
    let cache = b.mirror_cache();
    // A cached trusted root that someone replaced (same length and all) is not what the metadata
    // names: it is fetched again, and the forged one never trusted.
    let good = std::fs::read(cache.join("targets/trusted_root.json")).unwrap();
    let other = FakeSigstore::start(&[]);
    std::fs::write(
        cache.join("targets/trusted_root.json"),
        std::fs::read(other.trusted_root()).unwrap(),
    )
    .unwrap();
    // A forged next root (signed by a stranger) and garbage metadata.
    let mut forged: Value = read_json(&b.repo.root);
    forged["signed"]["version"] = json!(2);
    std::fs::create_dir_all(cache.join("root_history")).unwrap();
    std::fs::write(cache.join("root_history/2.root.json"), forged.to_string()).unwrap();
    std::fs::write(cache.join("snapshot.json"), b"garbage").unwrap();
    std::fs::write(cache.join("timestamp.json"), b"{").unwrap();
    b.repo.clear_requests();
    ok(b.verify("f.txt", "a.json"));
    let log = fetched(&b.repo);
    assert!(
        log.iter()
            .any(|l| l.starts_with("GET /targets/") && l.ends_with(".trusted_root.json 200")),
        "the replaced target was fetched again: {log:?}"
    );
    assert!(log.iter().any(|l| l == "GET /2.root.json 404"), "{log:?}");
    assert_eq!(
        std::fs::read(cache.join("targets/trusted_root.json")).unwrap(),
        good,
        "the cache was repaired"
    );
    // The other instance's bundle does not verify with what TUF says, even though its root was cached.
    let o = tempdir();
    let theirs = run(Local::new(&other, o.path(), b"release artifact\n")
        .keyless("sign-blob")
        .args(["--fulcio-url", &other.url(), "--rekor-url", &other.url()])
        .arg("--trusted-root")
        .arg(other.trusted_root())
        .args(["--bundle", "theirs.json", "f.txt"]));
    assert_eq!(theirs.code, 0, "{}", theirs.all());
    std::fs::copy(o.path().join("theirs.json"), b.path("theirs.json")).unwrap();
    b.verify("f.txt", "theirs.json").fails(1, "TUF repository");
}

#[test]
fn tuf_attacks_are_refused_with_clear_errors_and_never_fall_back() {
    let b = Bench::new(FakeSigstore::start(&[]));
    ok(b.sign("f.txt", "a.json", &[]));
    // A second published version, seen by ferrosign: rollbacks below it become visible.
    b.repo.publish_from(&b.fake);
    ok(b.verify("f.txt", "a.json"));
    let attacks: &[(&[&str], &str)] = &[
        (
            &["expire-timestamp"],
            "serves expired metadata: timestamp expired at",
        ),
        (
            &["rollback", "--role", "timestamp"],
            "serves an older timestamp than already trusted",
        ),
        (
            &["rollback", "--role", "snapshot"],
            "serves an older snapshot (via timestamp) than already trusted",
        ),
        (
            &["rollback", "--role", "targets"],
            "serves an older targets.json (via snapshot) than already trusted",
        ),
        (
            &["root-below-threshold"],
            "serves root metadata signed by 1 of the 2 keys it needs",
        ),
    ];
    for (attack, message) in attacks {
        b.repo.run(attack[0], &attack[1..]);
        let r = b.verify("f.txt", "a.json").fails(1, message);
        assert!(
            r.stderr.contains("nothing was trusted"),
            "{attack:?}: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("embedded"),
            "{attack:?} fell back: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("Verified OK"), "{}", r.stderr);
        b.repo.run("repair", &[]);
        ok(b.verify("f.txt", "a.json"));
        // Signing is refused the same way (a different code path reads the same trust).
        if attack[0] == "expire-timestamp" {
            b.repo.run(attack[0], &attack[1..]);
            b.sign("f.txt", "x.json", &[]).fails(1, message);
            b.repo.run("repair", &[]);
            // Seen by ferrosign, so that the next attack's rollback is below what it trusts.
            ok(b.verify("f.txt", "a.json"));
        }
    }
    // A target whose bytes do not match the signed metadata: only a client that downloads it sees it,
    // so with a fresh cache.
    b.repo.run("corrupt-target", &["trusted_root.json"]);
    ok(b.verify("f.txt", "a.json")); // the warm cache holds the good copy and needs nothing
    std::fs::remove_dir_all(b.cache()).unwrap();
    let r = b.verify("f.txt", "a.json").fails(
        1,
        "serves a file that does not match its signed metadata: trusted_root.json",
    );
    assert!(!r.stderr.contains("embedded"), "{}", r.stderr);
    b.repo.run("repair", &[]);
    ok(b.verify("f.txt", "a.json"));
    // Root rotations (new root keys, then new online keys) are followed.
    b.repo.run("rotate-root", &[]);
    b.repo.run("rotate-root", &["--online"]);
    let r = ok(b.verify("f.txt", "a.json"));
    assert!(r.stderr.contains("(root v3)"), "{}", r.stderr);
}

#[test]
fn offline_the_cache_then_the_embedded_snapshot_stand_in_with_one_warning_each() {
    let b = Bench::new(FakeSigstore::start(&[]));
    ok(b.sign("f.txt", "a.json", &[]));
    let url = b.repo.url.clone();
    // The anchor outlives the repository's directory.
    let root = b.path("tuf-root.json");
    std::fs::copy(&b.repo.root, &root).unwrap();
    let mirror_cache = b.mirror_cache();
    let Bench { fake, repo, dir } = b;
    drop(repo); // the mirror goes away
    let fs = || {
        let mut c = ferrosign(dir.path());
        c.env("TUF_MIRROR", &url).env("TUF_ROOT_JSON", &root);
        c
    };
    let verify = |c: &mut Command, bundle: &str| {
        run(c.args([
            "verify-blob",
            "f.txt",
            "--bundle",
            bundle,
            "--certificate-identity",
            &fake.identity(),
            "--certificate-oidc-issuer",
            &fake.issuer(),
        ]))
    };
    // The cache verifies on its own: one warning that says how old it is.
    let r = verify(&mut fs(), "a.json");
    assert_eq!(r.code, 0, "{}", r.all());
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(
        warnings[0].contains(&format!("cannot reach {url}")),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("using the TUF cache"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("last refreshed from the mirror"),
        "{}",
        warnings[0]
    );
    // "1 second ago" or "2 seconds ago": the age in words, whatever the machine's speed.
    assert!(warnings[0].contains(" second"), "{}", warnings[0]);
    assert!(warnings[0].contains(" ago ("), "{}", warnings[0]);
    assert!(r.stderr.contains("cached, refreshed"), "{}", r.stderr);
    // Signing offline from the cache works too (Fulcio and Rekor are up; only the mirror is not).
    let r = run(fs()
        .args(["sign-blob", "--identity-token", &fake.token()])
        .args(["--bundle", "b.json", "f.txt"]));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("using the TUF cache"), "{}", r.stderr);
    // A private mirror with no usable cache: an error, never the public-good snapshot.
    std::fs::remove_dir_all(&mirror_cache).unwrap();
    let r = verify(&mut fs(), "a.json").fails(1, "cannot reach the TUF repository");
    assert!(
        r.stderr.contains("its cache cannot be used"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("embedded"), "{}", r.stderr);
    // The public-good repository (the embedded TUF root) unreachable with no cache: the embedded
    // snapshot, with one warning that says how old it is. (The dead mirror is the harness default.)
    let r = verify(&mut ferrosign(dir.path()), "a.json");
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(
        warnings[0].contains("using the public-good trusted root and signing config embedded in ferrosign, a snapshot of 20"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("days old)"), "{}", warnings[0]);
    // … which is the public-good instance's: the test instance's bundle does not verify with it.
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("the public-good Sigstore trusted root (embedded)"),
        "{}",
        r.stderr
    );
}

#[test]
fn initialize_sets_the_mirror_for_later_runs() {
    let b = Bench::new(FakeSigstore::start(&[]));
    let mut init = ferrosign(b.p());
    init.env_remove("TUF_MIRROR")
        .args(["initialize", "--mirror", &b.repo.url, "--root"])
        .arg(&b.repo.root);
    let r = run(&mut init);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains(&b.repo.url), "{}", r.stdout);
    assert!(r.stdout.contains("at root version 1"), "{}", r.stdout);
    assert!(b.cache().join("remote.json").is_file());
    // Later runs: no mirror, no root given — the initialized ones.
    let r = run(ferrosign(b.p())
        .env_remove("TUF_MIRROR")
        .args(["sign-blob", "--identity-token", &b.fake.token()])
        .args(["--bundle", "a.json", "f.txt"]));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stderr
            .contains(&format!("Trusted root: TUF {} (root v1)", b.repo.url)),
        "{}",
        r.stderr
    );
    // A root that is not the repository's: initialize refuses it (exit 1: the repository's metadata does
    // not verify under it), and the mirror set before stays.
    let stranger = FakeSigstore::start(&[]);
    let other = TufRepo::start(&stranger);
    let r = run(ferrosign(b.p())
        .env_remove("TUF_MIRROR")
        .args(["initialize", "--mirror", &b.repo.url, "--root"])
        .arg(&other.root));
    assert_eq!(r.code, 1, "{}", r.all());
    // Its root is self-signed, but the repository's timestamp is not signed by the key it names.
    assert!(
        r.stderr
            .contains("serves timestamp metadata signed by 0 of the 1 keys it needs"),
        "{}",
        r.stderr
    );
    let bad = b.path("bad-root.json");
    std::fs::write(&bad, b"{}").unwrap();
    run(ferrosign(b.p())
        .args(["initialize", "--mirror", &b.repo.url, "--root"])
        .arg(&bad))
    .fails(2, "cannot be used as a TUF root");
}

#[test]
fn key_signing_without_the_log_reads_no_trust_at_all() {
    let b = Bench::new(FakeSigstore::start(&[]));
    b.repo.clear_requests();
    let mut c = b.fs();
    // Even a TUF root that does not exist is never read.
    c.env("TUF_ROOT_JSON", b.path("absent.json"))
        .args(["sign-blob", "--key", "cosign.key", "--tlog-upload=false"])
        .args(["--bundle", "k.json", "f.txt"]);
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!r.stderr.contains("Trusted root"), "{}", r.stderr);
    let r = run(b.fs().env("TUF_ROOT_JSON", b.path("absent.json")).args([
        "verify-blob",
        "--key",
        "cosign.pub",
        "--bundle",
        "k.json",
        "f.txt",
    ]));
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        fetched(&b.repo),
        Vec::<String>::new(),
        "nothing was fetched"
    );
    assert!(!b.cache().exists(), "no cache was made");
    // With the log, the key signer needs the trusted root and the Rekor URL: both through TUF.
    let r = run(b.fs().args([
        "sign-blob",
        "--key",
        "cosign.key",
        "--bundle",
        "kl.json",
        "f.txt",
    ]));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("tlog entry created"), "{}", r.stderr);
    ok(run(b.fs().args([
        "verify-blob",
        "--key",
        "cosign.pub",
        "--bundle",
        "kl.json",
        "f.txt",
    ])));
}

#[test]
fn timestamps_are_requested_checked_and_verified_by_every_client() {
    let fake = FakeSigstore::start_tsa(&[]);
    let d = tempdir();
    let l = Local::new(&fake, d.path(), b"timestamped\n");
    let r = l.sign_blob("t.json", &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    let tsa = fake.get("tsa_url");
    assert!(
        r.stderr.contains(&format!(
            "Timestamp authority: {tsa} (from the signing config"
        )),
        "{}",
        r.stderr
    );
    let b = read_json(&d.path().join("t.json"));
    let ts = &b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"];
    assert_eq!(ts.as_array().map(Vec::len), Some(1), "{b}");
    l.verify_blob("t.json", &[]).ok();
    let c = l.cosign_verify_blob("f.txt", "t.json");
    assert_eq!(c.code, 0, "cosign v3: {}", c.all());
    let p = fake.sigstore_python_verify(&d.path().join("f.txt"), &d.path().join("t.json"));
    assert_eq!(p.code, 0, "sigstore-python: {}", p.all());
    // The timestamp is what makes it verify without the log (--insecure-ignore-tlog needs a time).
    let mut no_log = b.clone();
    no_log["verificationMaterial"]["tlogEntries"] = json!([]);
    std::fs::write(d.path().join("nolog.json"), no_log.to_string()).unwrap();
    l.verify_blob("nolog.json", &["--insecure-ignore-tlog"])
        .ok();
    // A trusted root without the TSA: the timestamp is refused when signing, naming the TSA.
    let mut root = read_json(&fake.trusted_root());
    root["timestampAuthorities"] = json!([]);
    std::fs::write(d.path().join("no-tsa-root.json"), root.to_string()).unwrap();
    let r = run(l
        .keyless("sign-blob")
        .arg("--signing-config")
        .arg(fake.signing_config())
        .args([
            "--trusted-root",
            "no-tsa-root.json",
            "--bundle",
            "x.json",
            "f.txt",
        ]));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains(&format!("the timestamp from {tsa} does not verify with")),
        "{}",
        r.stderr
    );
}

#[test]
fn tsa_failures_name_the_service_and_status_and_retry_once() {
    let run_with = |fault: &str| {
        let fake = FakeSigstore::start_tsa(&[fault]);
        let d = tempdir();
        let r = Local::new(&fake, d.path(), b"x\n").sign_blob("t.json", &[]);
        (
            r,
            fake.counts()["tsa"].as_u64().unwrap_or(0),
            fake.get("tsa_url"),
        )
    };
    // A 503 once: retried, and signed.
    let (r, n, _) = run_with("tsa-fail-once=503");
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(n, 2, "one retry");
    // A 503 every time: retried once, then an error naming the TSA and the status.
    let (r, n, url) = run_with("tsa-status=503");
    let r = r.fails(1, &format!("the timestamp authority {url} failed (503)"));
    assert_eq!(n, 2, "exactly one retry");
    assert!(r.stderr.contains("retried once"), "{}", r.stderr);
    // A 400 is the TSA refusing the request, not the network: not retried.
    let (r, n, url) = run_with("tsa-status=400");
    let r = r.fails(
        1,
        &format!("the timestamp authority {url} refused the request (400)"),
    );
    assert_eq!(n, 1, "no retry");
    assert!(!r.stderr.contains("reach"), "{}", r.stderr);
}

/// A TSA answer for another request (a genuine token signed by the trusted TSA, but with another nonce,
/// or dating another message imprint) is refused at signing, naming the TSA and what differs: nothing
/// is logged and no bundle is written.
#[test]
fn a_tsa_answer_for_another_request_is_refused_at_signing() {
    for (fault, why) in [
        ("tsa-wrong-nonce", "its nonce is not the one sent"),
        (
            "tsa-other-imprint",
            "its message imprint is not the SHA-256 of the signature sent",
        ),
    ] {
        let fake = FakeSigstore::start_tsa(&[fault]);
        let d = tempdir();
        let r = Local::new(&fake, d.path(), b"x\n").sign_blob("t.json", &[]);
        let url = fake.get("tsa_url");
        r.fails(
            1,
            &format!("the timestamp authority {url} answered another request: {why}"),
        )
        .hint("replayed or mixed-up answer");
        assert!(!d.path().join("t.json").exists(), "{fault}: no bundle");
        let counts = fake.counts();
        assert_eq!(counts["tsa"].as_u64(), Some(1), "{fault}: {counts}");
        assert_eq!(
            counts["rekor"].as_u64().unwrap_or(0),
            0,
            "{fault}: {counts}"
        );
    }
}

#[test]
fn rekor_v2_signing_is_verified_by_cosign_and_sigstore_python() {
    let fake = FakeSigstore::start_rekor_v2();
    let d = tempdir();
    let l = Local::new(&fake, d.path(), b"logged in rekor v2\n");
    let r = l.sign_blob("v2.json", &[]).ok();
    assert!(
        r.stderr.contains("(API v2, from the signing config"),
        "{}",
        r.stderr
    );
    let b = read_json(&d.path().join("v2.json"));
    let e = &b["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(
        e["kindVersion"],
        json!({"kind": "hashedrekord", "version": "0.0.2"})
    );
    assert!(e.get("inclusionPromise").is_none());
    assert_eq!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let c = l.cosign_verify_blob("f.txt", "v2.json");
    assert_eq!(c.code, 0, "cosign v3: {}", c.all());
    let p = fake.sigstore_python_verify(&d.path().join("f.txt"), &d.path().join("v2.json"));
    assert_eq!(p.code, 0, "sigstore-python: {}", p.all());
    l.verify_blob("v2.json", &[]).ok();
    // Explicitly: --rekor-url with --rekor-version 2 (and a TSA, or not).
    let url = fake.url();
    let explicit = |extra: &[&str], out: &str| {
        run(l
            .keyless("sign-blob")
            .args(["--fulcio-url", &url, "--rekor-url", &url])
            .args(["--rekor-version", "2"])
            .args(extra)
            .arg("--trusted-root")
            .arg(fake.trusted_root())
            .args(["--bundle", out, "f.txt"]))
    };
    explicit(
        &["--timestamp-server-url", &fake.get("tsa_url")],
        "v2b.json",
    )
    .ok();
    // Rekor v2 without a timestamp authority: refused before anything is signed.
    explicit(&[], "x.json")
        .fails(2, "no timestamp authority is named")
        .hint("--timestamp-server-url");
}

#[test]
fn a_signing_config_with_no_usable_service_says_what_it_saw() {
    let fake = FakeSigstore::start(&[]);
    let d = tempdir();
    let l = Local::new(&fake, d.path(), b"x\n");
    let mut config = read_json(&fake.signing_config());
    config["rekorTlogUrls"] = json!([
        {"url": "https://later.example", "majorApiVersion": 1, "validFor": {"start": "2999-01-01T00:00:00Z"}},
        {"url": "https://v7.example", "majorApiVersion": 7, "validFor": {"start": "2020-01-01T00:00:00Z"}},
    ]);
    std::fs::write(d.path().join("sc.json"), config.to_string()).unwrap();
    let r = run(l
        .keyless("sign-blob")
        .args(["--signing-config", "sc.json"])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .args(["--bundle", "x.json", "f.txt"]));
    let r = r.fails(2, "the signing config sc.json lists no usable Rekor log");
    for needle in [
        "https://later.example (API v1): not valid before 2999-01-01",
        "https://v7.example (API v7): API version 7 is not supported",
    ] {
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
    }
    r.hint("--rekor-url");
}

#[test]
fn images_are_timestamped_and_rekor_v2_is_refused_for_the_sig_layout() {
    use crate::support::registry::TestRegistry;
    let reg = TestRegistry::start();
    let image = reg.push_image("acme/ts", "v1", "timestamped");
    let image = format!("{}/acme/ts@{image}", reg.addr);
    let fake = FakeSigstore::start_tsa(&[]);
    let d = tempdir();
    let r = run(ferrosign(d.path())
        .env("DOCKER_CONFIG", d.path().join("none"))
        .args([
            "sign",
            "--allow-insecure-registry",
            "--identity-token",
            &fake.token(),
        ])
        .arg("--signing-config")
        .arg(fake.signing_config())
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .arg(&image));
    assert_eq!(r.code, 0, "{}", r.all());
    let digest = image.rsplit('@').next().unwrap();
    let layers = reg.sig_layers("acme/ts", digest);
    let ann = layers[0]["annotations"].as_object().unwrap();
    let ts: Value = serde_json::from_str(
        ann["dev.sigstore.cosign/rfc3161timestamp"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(ts["SignedRFC3161Timestamp"].as_str().unwrap().len() > 100);
    // ferrosign and cosign v3 verify it.
    let v = run(ferrosign(d.path())
        .env("DOCKER_CONFIG", d.path().join("none"))
        .args(["verify", "--allow-insecure-registry"])
        .arg("--trusted-root")
        .arg(fake.trusted_root())
        .args([
            "--certificate-identity",
            &fake.identity(),
            "--certificate-oidc-issuer",
            &fake.issuer(),
            &image,
        ]));
    assert_eq!(v.code, 0, "{}", v.all());
    let c = run(cosign(3, d.path())
        .env("DOCKER_CONFIG", d.path().join("none"))
        .args(["verify", "--allow-http-registry", "--trusted-root"])
        .arg(fake.trusted_root())
        .args([
            "--certificate-identity",
            &fake.identity(),
            "--certificate-oidc-issuer",
            &fake.issuer(),
            &image,
        ]));
    assert_eq!(c.code, 0, "cosign v3: {}", c.all());
    // A signing config whose newest log is Rekor v2 and the `.sig` layout alone: `sign` says why it
    // cannot, before signing (the bundle layout takes Rekor v2 entries: bundle.rs).
    let v2 = FakeSigstore::start_rekor_v2();
    run(ferrosign(d.path())
        .env("DOCKER_CONFIG", d.path().join("none"))
        .args([
            "sign",
            "--allow-insecure-registry",
            "--signature-format",
            "legacy",
            "--identity-token",
            &v2.token(),
        ])
        .arg("--signing-config")
        .arg(v2.signing_config())
        .arg("--trusted-root")
        .arg(v2.trusted_root())
        .arg(&image))
    .fails(2, "Rekor v2 log")
    .hint("--rekor-version 1");
    assert_eq!(v2.count("fulcio"), 0, "nothing sent");
}

#[test]
fn a_second_log_of_api_v2_published_through_tuf_is_chosen_without_a_flag() {
    let b = Bench::new(FakeSigstore::start(&[]));
    rotate(&b.fake, &json!({"second_log": "v2"}));
    b.repo.publish_from(&b.fake);
    ok(b.sign("f.txt", "v2.json", &[]));
    let (timestamps, _, version) = b.bundle_info("v2.json");
    assert_eq!((timestamps, version.as_str()), (1, "0.0.2"));
    ok(b.verify("f.txt", "v2.json"));
    ok(b.cosign_verify("f.txt", "v2.json"));
    ok(b.python_verify("f.txt", "v2.json"));
    // --rekor-version 1 keeps to the v1 log of the same config.
    ok(b.sign("f.txt", "v1.json", &["--rekor-version", "1"]));
    assert_eq!(b.bundle_info("v1.json").2, "0.0.1");
}
