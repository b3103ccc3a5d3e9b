//! The loopback TUF repository (tests/peers/tuf/make_repo.py, built and signed with python-tuf) from Rust
//! tests: serve one that publishes a test Sigstore instance's trusted root and signing config, publish
//! again after the instance rotates, and stage the attacks a TUF client must refuse.
#![allow(dead_code)]

use crate::sigstore_fake::{sigstore_venv, FakeSigstore};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command};

fn make_repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/tuf/make_repo.py")
}

/// The python that has python-tuf (the sigstore-python venv; `FERROSIGN_TUF_PYTHON` when set).
fn python() -> PathBuf {
    std::env::var("FERROSIGN_TUF_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| sigstore_venv().join("bin/python"))
}

/// A served TUF repository; stopped on drop.
pub struct TufRepo {
    child: Child,
    _stdin: ChildStdin,
    /// the repository's state directory (keys, www/, requests.log)
    pub dir: tempfile::TempDir,
    /// the mirror's base URL
    pub url: String,
    /// the version-1 root: the trust anchor to give clients
    pub root: PathBuf,
}

impl TufRepo {
    /// A repository publishing `sig`'s trusted root and signing config, served on 127.0.0.1.
    pub fn start(sig: &FakeSigstore) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = TufRepo::command(
            dir.path(),
            "init",
            &["--from-sigstore"],
            Some(sig.dir.path()),
        );
        assert!(repo.is_object(), "init: {repo}");
        let peer = crate::support::peer::start(
            Command::new(python())
                .arg(make_repo())
                .args(["serve", "--dir"])
                .arg(dir.path()),
            "make_repo.py serve",
        );
        let url = peer.ready["url"].as_str().expect("url").to_string();
        let root = PathBuf::from(peer.ready["root"].as_str().expect("root"));
        TufRepo {
            child: peer.child,
            _stdin: peer.stdin,
            dir,
            url,
            root,
        }
    }

    fn command(dir: &Path, sub: &str, args: &[&str], from: Option<&Path>) -> serde_json::Value {
        let mut c = Command::new(python());
        c.arg(make_repo()).arg(sub).arg("--dir").arg(dir).args(args);
        if let Some(f) = from {
            c.arg(f);
        }
        let out = c.output().expect("run make_repo.py");
        assert!(
            out.status.success(),
            "make_repo.py {sub} {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("make_repo.py prints JSON")
    }

    /// Runs a subcommand (`expire-timestamp`, `rollback --role snapshot`, `repair`, …); returns its
    /// summary of the repository.
    pub fn run(&self, sub: &str, args: &[&str]) -> serde_json::Value {
        TufRepo::command(self.dir.path(), sub, args, None)
    }

    /// Publishes `sig`'s current trusted root and signing config as new targets.
    pub fn publish_from(&self, sig: &FakeSigstore) -> serde_json::Value {
        TufRepo::command(
            self.dir.path(),
            "publish",
            &["--from-sigstore"],
            Some(sig.dir.path()),
        )
    }

    /// What the server was asked for so far, one `METHOD PATH STATUS` line per request.
    pub fn requests(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("requests.log")).unwrap_or_default()
    }

    /// Forgets the requests so far.
    pub fn clear_requests(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("requests.log"));
    }
}

impl Drop for TufRepo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `POST /__test__/rotate` on the test Sigstore instance (`{"rekor_key": true, "tsa": true, …}`).
pub fn rotate(sig: &FakeSigstore, change: &serde_json::Value) {
    let out = Command::new("curl")
        .args(["-sf", "--noproxy", "*", "-X", "POST", "-d"])
        .arg(change.to_string())
        .arg(format!("{}/__test__/rotate", sig.url()))
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "rotate {change} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
