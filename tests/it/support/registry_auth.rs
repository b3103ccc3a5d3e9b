//! The real registry the way ghcr.io meets its users: over TLS with a test CA made for this run, and/or
//! behind Bearer token authentication (distribution's `auth: token`) with a token issuer of ours
//! (tests/peers/registry_token.py: real ES256 JWTs, Basic credentials checked, scopes granted per
//! repository). The registry, its storage and the issuer live as long as the [`TestRegistry`].
//!
//! ```ignore
//! let reg = TestRegistry::start_tls_with_token_auth("alice", "s3cret");
//! let digest = reg.push_image("acme/app", "v1", "a");      // the helpers fetch tokens themselves
//! // clients: SSL_CERT_FILE=reg.ca, --registry-username alice --registry-password s3cret
//! assert!(reg.token.as_ref().unwrap().requests().iter().any(|r| r["status"] == 200));
//! ```

use super::registry::{rt, Setup, TestRegistry};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/registry_token.py")
}

fn python() -> PathBuf {
    // The venv of sigstore-python has `cryptography` and PyJWT (scripts/peers.sh installs it).
    crate::sigstore_fake::sigstore_venv().join("bin/python")
}

/// Writes a fresh test CA (`ca.pem`) and a server certificate for 127.0.0.1 and localhost
/// (`server.pem` with the chain, `server.key`) into `dir`.
pub fn make_test_ca(dir: &Path) {
    let out = Command::new(python())
        .arg(script())
        .arg("certs")
        .arg(dir)
        .output()
        .expect("run registry_token.py certs");
    assert!(
        out.status.success(),
        "registry_token.py certs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running token issuer; killed on drop (it also exits when its stdin closes).
pub struct TokenIssuer {
    child: Child,
    _stdin: ChildStdin,
    ready: serde_json::Value,
    user: String,
    password: String,
}

impl TokenIssuer {
    /// Starts one for `user`/`password`, writing its signer certificate into `dir` (HTTPS with
    /// `dir`'s server certificate when `tls`).
    pub fn start(dir: &Path, user: &str, password: &str, tls: bool) -> Self {
        let mut cmd = Command::new(python());
        cmd.arg(script()).arg("serve").arg("--dir").arg(dir).args([
            "--user",
            user,
            "--password",
            password,
        ]);
        if tls {
            cmd.arg("--tls");
        }
        let peer = super::peer::start(&mut cmd, "registry_token.py");
        TokenIssuer {
            child: peer.child,
            _stdin: peer.stdin,
            ready: peer.ready,
            user: user.into(),
            password: password.into(),
        }
    }

    fn get(&self, key: &str) -> String {
        self.ready[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in READY"))
            .to_string()
    }

    /// The token endpoint the registry sends clients to (`http(s)://localhost:PORT/token`).
    pub fn realm(&self) -> String {
        self.get("realm")
    }

    /// The registry's `auth: token` config section.
    pub fn registry_yaml(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
            self.realm(),
            self.get("service"),
            self.get("issuer"),
            self.get("rootcertbundle")
        )
    }

    /// Every token request so far: `{"method", "user", "scopes", "service", "status"}` (no password).
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.get("requests"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("token request record"))
            .collect()
    }

    /// A token for `scope` (`repository:NAME:pull,push`), asked with the issuer's credentials.
    pub async fn token(&self, client: &reqwest::Client, scope: &str) -> String {
        let resp = client
            .get(self.realm())
            .query(&[("service", self.get("service")), ("scope", scope.into())])
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await
            .expect("GET token");
        assert_eq!(resp.status().as_u16(), 200, "token for {scope}");
        let v: serde_json::Value = resp.json().await.expect("token JSON");
        v["token"].as_str().expect("token").to_string()
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestRegistry {
    /// A registry over HTTPS (no auth) with a test CA made for it: trust [`TestRegistry::ca`].
    pub fn start_tls() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        make_test_ca(dir.path());
        Self::start_setup(Setup {
            dir,
            auth_yaml: String::new(),
            auth: None,
            tls: true,
            token: None,
        })
    }

    /// A registry over plain HTTP that wants Bearer tokens from our issuer, which grants them to
    /// `user`/`password` (Basic) for any repository.
    pub fn start_with_token_auth(user: &str, password: &str) -> Self {
        Self::start_token(user, password, false)
    }

    /// What ghcr.io is like: HTTPS (test CA, [`TestRegistry::ca`]) and Bearer tokens, the token
    /// endpoint over HTTPS too.
    pub fn start_tls_with_token_auth(user: &str, password: &str) -> Self {
        Self::start_token(user, password, true)
    }

    fn start_token(user: &str, password: &str, tls: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        if tls {
            make_test_ca(dir.path());
        }
        let issuer = TokenIssuer::start(dir.path(), user, password, tls);
        Self::start_setup(Setup {
            dir,
            auth_yaml: issuer.registry_yaml(),
            auth: Some((user.into(), password.into())),
            tls,
            token: Some(issuer),
        })
    }

    /// Writes `DIR/config.json`, a docker config with this registry's credentials (`auths` entry,
    /// base64 `user:password`), and returns DIR, for `DOCKER_CONFIG`.
    pub fn docker_config(&self, dir: &Path) -> PathBuf {
        use base64::Engine;
        let (user, password) = self.auth.clone().expect("a registry with credentials");
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        std::fs::create_dir_all(dir).expect("docker config dir");
        let config = serde_json::json!({"auths": {self.addr.clone(): {"auth": auth}}});
        std::fs::write(dir.join("config.json"), config.to_string()).expect("write docker config");
        dir.to_path_buf()
    }

    /// Whether an unauthenticated `GET /v2/` is refused with a Bearer challenge naming our issuer.
    pub fn challenges_for_bearer(&self) -> bool {
        let realm = match &self.token {
            Some(t) => t.realm(),
            None => return false,
        };
        rt().block_on(async {
            let resp = self
                .client()
                .get(format!("{}/v2/", self.base_url()))
                .send()
                .await
                .expect("GET /v2/");
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            resp.status().as_u16() == 401
                && challenge.starts_with("Bearer ")
                && challenge.contains(&realm)
        })
    }
}
