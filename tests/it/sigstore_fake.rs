//! The test Sigstore instance (tests/peers/sigstore/fake_sigstore.py) from Rust tests, and the real
//! Sigstore clients (sigstore-python, sigstore-js) installed by scripts/peers.sh.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command};

fn cache() -> PathBuf {
    std::env::var("FERROSIGN_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(format!(
                "{}/.cache/ferrosign",
                std::env::var("HOME").unwrap_or_default()
            ))
        })
}

/// The venv holding sigstore-python (and the fake's dependencies).
pub fn sigstore_venv() -> PathBuf {
    let p = std::env::var("FERROSIGN_SIGSTORE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| cache().join("sigstore-python-4.5.1"));
    assert!(p.join("bin/python").is_file(), "sigstore-python venv not found at {} (FERROSIGN_SIGSTORE_VENV): run `bash scripts/test.sh`, which installs it", p.display());
    p
}

/// The directory whose node_modules holds @sigstore/verify.
pub fn sigstore_js() -> PathBuf {
    let p = std::env::var("FERROSIGN_SIGSTORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| cache().join("sigstore-js-3.1.0"));
    assert!(
        p.join("node_modules/@sigstore/verify").is_dir(),
        "sigstore-js not found at {} (FERROSIGN_SIGSTORE_JS): run `bash scripts/test.sh`",
        p.display()
    );
    p
}

/// The directory whose node_modules holds @sigstore/sign (sigstore-js's signer).
pub fn sigstore_js_sign() -> PathBuf {
    let p = std::env::var("FERROSIGN_SIGSTORE_JS_SIGN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| cache().join("sigstore-js-sign-4.1.1"));
    assert!(
        p.join("node_modules/@sigstore/sign").is_dir(),
        "@sigstore/sign not found at {} (FERROSIGN_SIGSTORE_JS_SIGN): run `bash scripts/test.sh`",
        p.display()
    );
    p
}

fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/sigstore")
}

/// A running test instance of Fulcio + CT log + Rekor + Actions OIDC; killed on drop.
pub struct FakeSigstore {
    child: Child,
    _stdin: ChildStdin,
    pub dir: tempfile::TempDir,
    pub ready: serde_json::Value,
}

impl FakeSigstore {
    /// Starts one with the given `--fault` values (e.g. `"rekor-status=503"`).
    pub fn start(faults: &[&str]) -> Self {
        Self::start_with(faults, &[])
    }

    /// Starts one with faults and token claims (`"repository_visibility=private"`).
    pub fn start_with(faults: &[&str], claims: &[&str]) -> Self {
        Self::start_args(faults, claims, &[])
    }

    /// Starts one whose clients log to Rekor v2 and get RFC 3161 timestamps (`--rekor-v2`).
    pub fn start_rekor_v2() -> Self {
        Self::start_args(&[], &[], &["--rekor-v2"])
    }

    /// Starts one with Rekor v2 and a TSA (`--rekor-v2`) and these faults.
    pub fn start_rekor_v2_with(faults: &[&str]) -> Self {
        Self::start_args(faults, &[], &["--rekor-v2"])
    }

    /// Starts one with an RFC 3161 timestamp authority beside Rekor v1 (`--tsa`) and these faults.
    pub fn start_tsa(faults: &[&str]) -> Self {
        Self::start_args(faults, &[], &["--tsa"])
    }

    /// The current `ready.json` (rewritten by a rotation: fresh tokens, the new log ID, `tsa_url`).
    pub fn current(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.dir.path().join("ready.json")).expect("ready.json");
        serde_json::from_str(&text).expect("ready.json is JSON")
    }

    /// A fresh identity token (from the current `ready.json`).
    pub fn token(&self) -> String {
        self.current()["token"].as_str().expect("token").to_string()
    }

    /// The signing config the instance writes (`signing_config.v0.2.json`).
    pub fn signing_config(&self) -> PathBuf {
        self.get("signing_config").into()
    }

    /// How many requests each faultable service (`oidc`, `fulcio`, `rekor`, `tsa`) has had.
    pub fn counts(&self) -> serde_json::Value {
        let out = Command::new("curl")
            .args(["-sf", "--noproxy", "*"])
            .arg(format!("{}/__test__/counts", self.url()))
            .output()
            .expect("run curl");
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    }

    fn start_args(faults: &[&str], claims: &[&str], args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(sigstore_venv().join("bin/python"));
        cmd.arg(peers_dir().join("fake_sigstore.py"))
            .arg("--dir")
            .arg(dir.path())
            .args(args);
        for f in faults {
            cmd.arg("--fault").arg(f);
        }
        for c in claims {
            cmd.arg("--claim").arg(c);
        }
        let peer = crate::support::peer::start(&mut cmd, "fake_sigstore.py");
        FakeSigstore {
            child: peer.child,
            _stdin: peer.stdin,
            dir,
            ready: peer.ready,
        }
    }

    /// A string field of the READY line.
    pub fn get(&self, key: &str) -> String {
        self.ready[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in READY"))
            .to_string()
    }

    /// sigstore-python's API verifying the DSSE `bundle` (a file) against this instance's trust config,
    /// for the signer `identity` (with this instance's OIDC issuer) and the statement subject `want`
    /// (`sha256:…`):
    /// tests/peers/sigstore/py_verify_dsse.py, exit 0 when it verifies.
    pub fn py_verify_dsse(&self, bundle: &Path, identity: &str, want: &str) -> crate::support::Run {
        crate::support::run(
            Command::new(sigstore_venv().join("bin/python"))
                .arg(
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("tests/peers/sigstore/py_verify_dsse.py"),
                )
                .arg(self.trust_config())
                .arg(bundle)
                .arg(identity)
                .arg(self.issuer())
                .arg(want),
        )
    }

    pub fn url(&self) -> String {
        self.get("url")
    }
    pub fn identity(&self) -> String {
        self.get("identity")
    }
    pub fn issuer(&self) -> String {
        self.get("issuer")
    }
    pub fn trusted_root(&self) -> PathBuf {
        self.get("trusted_root").into()
    }
    pub fn trust_config(&self) -> PathBuf {
        self.get("trust_config").into()
    }

    /// How many requests `service` (`fulcio`, `rekor`, `oidc`) received so far.
    pub fn count(&self, service: &str) -> u64 {
        self.test_endpoint("counts")[service].as_u64().unwrap_or(0)
    }

    /// `GET /__test__/NAME` as JSON.
    fn test_endpoint(&self, name: &str) -> serde_json::Value {
        let url = format!("{}/__test__/{name}", self.url());
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .expect("client")
                    .get(&url)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("GET {url}: {e}"))
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
            })
    }

    /// Every secret this instance handed out: each identity token minted so far (the `READY` ones and
    /// every one the OIDC endpoint issued) and the Actions request token. Leak tests take their secrets
    /// from here, never from the client's output.
    pub fn issued_secrets(&self) -> Vec<String> {
        let body = self.test_endpoint("tokens");
        let mut out: Vec<String> = body["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .map(|t| t.as_str().expect("token").to_string())
            .collect();
        out.push(
            body["request_token"]
                .as_str()
                .expect("request_token")
                .to_string(),
        );
        out
    }

    /// The environment of an Actions job with `permissions: id-token: write` on this instance.
    pub fn actions_env(&self) -> Vec<(String, String)> {
        vec![
            ("GITHUB_ACTIONS".into(), "true".into()),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
                self.get("actions_id_token_request_url"),
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
                self.get("actions_id_token_request_token"),
            ),
        ]
    }

    /// cosign v2's environment for trusting this instance (`SIGSTORE_ROOT_FILE`, ...).
    pub fn cosign_v2_env(&self) -> Vec<(String, String)> {
        vec![
            ("SIGSTORE_ROOT_FILE".into(), self.get("fulcio_chain")),
            ("SIGSTORE_REKOR_PUBLIC_KEY".into(), self.get("rekor_pub")),
            (
                "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE".into(),
                self.get("ctlog_pub"),
            ),
        ]
    }

    /// `sigstore verify identity --bundle` (sigstore-python) with this instance's trust config.
    pub fn sigstore_python_verify(&self, file: &Path, bundle: &Path) -> crate::support::Run {
        crate::support::run(
            Command::new(sigstore_venv().join("bin/sigstore"))
                .arg("--trust-config")
                .arg(self.trust_config())
                .args([
                    "verify",
                    "identity",
                    "--cert-identity",
                    &self.identity(),
                    "--cert-oidc-issuer",
                    &self.issuer(),
                    "--bundle",
                ])
                .arg(bundle)
                .arg(file),
        )
    }

    /// sigstore-js (`@sigstore/sign`) signs `file` against this instance with its ready-made identity
    /// token: a message-signature bundle, or with `dsse` a DSSE bundle, written to `bundle`.
    pub fn sigstore_js_sign(&self, file: &Path, bundle: &Path, dsse: bool) -> crate::support::Run {
        let mut c = Command::new("node");
        crate::support::loopback_only(&mut c);
        c.env("NODE_PATH", sigstore_js_sign().join("node_modules"))
            .arg(peers_dir().join("js_sign.js"))
            .arg(self.url())
            .arg(self.get("token"))
            .arg(file)
            .arg(bundle);
        if dsse {
            c.arg("dsse");
        }
        crate::support::run(&mut c)
    }

    /// sigstore-js (`@sigstore/verify`) on a bundle with this instance's trusted root.
    pub fn sigstore_js_verify(&self, file: &Path, bundle: &Path) -> crate::support::Run {
        crate::support::run(
            Command::new("node")
                .env("NODE_PATH", sigstore_js().join("node_modules"))
                .arg(peers_dir().join("js_verify.js"))
                .arg(self.trusted_root())
                .arg(bundle)
                .arg(file)
                .arg(self.identity())
                .arg(self.issuer()),
        )
    }
}

impl Drop for FakeSigstore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
