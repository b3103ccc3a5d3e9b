//! A real registry for tests: Debian's `docker-registry` (CNCF distribution) on a random 127.0.0.1 port
//! with its own storage directory, optionally behind htpasswd auth, Bearer token auth or TLS (those two
//! in `registry_auth.rs`); and helpers that push test images and indexes built here (config + layer +
//! manifest over HTTP) and read what a signer left.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::registry_auth::TokenIssuer;

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// A running registry; stopped (and its storage removed) on drop.
pub struct TestRegistry {
    child: Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
    dir: tempfile::TempDir,
    pub(super) auth: Option<(String, String)>,
    /// The test CA's certificate when the registry speaks TLS (`SSL_CERT_FILE` for clients).
    pub ca: Option<PathBuf>,
    /// The token issuer when the registry wants Bearer tokens (see `registry_auth.rs`).
    pub token: Option<TokenIssuer>,
}

/// How a registry is started: its directory (config, storage, log, certificates), the `auth:` section of
/// its config, and what clients need to talk to it.
pub(super) struct Setup {
    pub dir: tempfile::TempDir,
    pub auth_yaml: String,
    /// user and password (Basic auth, or the token issuer's credentials)
    pub auth: Option<(String, String)>,
    /// serve TLS with `server.pem`/`server.key` of `dir`, trusting `ca.pem` (see `registry_auth.rs`)
    pub tls: bool,
    pub token: Option<TokenIssuer>,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A port nobody listens on (for "registry down").
pub fn dead_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

pub(super) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

impl TestRegistry {
    /// An open registry (no auth).
    pub fn start() -> Self {
        Self::start_inner(None)
    }

    /// A registry that wants HTTP basic auth (htpasswd, bcrypt) for everything.
    pub fn start_with_auth(user: &str, password: &str) -> Self {
        Self::start_inner(Some((user.to_string(), password.to_string())))
    }

    fn start_inner(auth: Option<(String, String)>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut auth_yaml = String::new();
        if let Some((user, pw)) = &auth {
            let htpasswd = dir.path().join("htpasswd");
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, pw])
                .output()
                .expect("htpasswd (Debian apache2-utils) is needed: run `bash scripts/test.sh`");
            assert!(out.status.success(), "htpasswd failed");
            std::fs::write(&htpasswd, &out.stdout).expect("write htpasswd");
            auth_yaml = format!(
                "auth:\n  htpasswd:\n    realm: ferrosign-test\n    path: {}\n",
                htpasswd.display()
            );
        }
        Self::start_setup(Setup {
            dir,
            auth_yaml,
            auth,
            tls: false,
            token: None,
        })
    }

    pub(super) fn start_setup(setup: Setup) -> Self {
        assert!(
            Path::new(REGISTRY_BIN).is_file(),
            "{REGISTRY_BIN} is missing: run `bash scripts/test.sh` (installs Debian's docker-registry)"
        );
        let Setup {
            mut dir,
            auth_yaml,
            auth,
            tls,
            mut token,
        } = setup;
        let tls_yaml = if tls {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("server.pem").display(),
                dir.path().join("server.key").display()
            )
        } else {
            String::new()
        };
        // A random port may be taken between probing and binding: try a few.
        for _ in 0..5 {
            let addr = format!("127.0.0.1:{}", free_port());
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{tls_yaml}{auth_yaml}",
                    dir.path().join("storage").display()
                ),
            )
            .expect("write config");
            let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
            let child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            let ca = tls.then(|| dir.path().join("ca.pem"));
            let mut reg = TestRegistry {
                child,
                addr: addr.clone(),
                dir,
                auth: auth.clone(),
                ca,
                token: token.take(),
            };
            if reg.wait_ready() {
                return reg;
            }
            let _ = reg.child.kill();
            let _ = reg.child.wait();
            token = reg.token.take();
            dir = std::mem::replace(&mut reg.dir, tempfile::tempdir().expect("tempdir"));
        }
        panic!("docker-registry did not start");
    }

    /// `http://ADDR` or `https://ADDR`.
    pub fn base_url(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// An HTTP client that trusts this registry (only the test CA when it speaks TLS), never proxied.
    pub fn client(&self) -> reqwest::Client {
        let mut b = reqwest::Client::builder().no_proxy();
        if let Some(ca) = &self.ca {
            let pem = std::fs::read(ca).expect("read the test CA");
            b = b.tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("CA PEM")]);
        }
        b.build().expect("client")
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        let url = format!("{}/v2/", self.base_url());
        let client = self.client();
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let ok = rt().block_on(async { client.get(&url).send().await.is_ok() });
            if ok {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The registry's log (access log included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("registry.log")
    }

    /// `b` with this registry's credentials for `repo`: Basic, or a Bearer token from the issuer.
    async fn req(&self, repo: &str, b: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(t) = &self.token {
            let token = t
                .token(&self.client(), &format!("repository:{repo}:pull,push"))
                .await;
            return b.bearer_auth(token);
        }
        match &self.auth {
            Some((u, p)) => b.basic_auth(u, Some(p)),
            None => b,
        }
    }

    /// Uploads a blob (monolithic POST + PUT); returns its digest.
    pub fn put_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        rt().block_on(async {
            let c = self.client();
            let base = self.base_url();
            let resp = self
                .req(repo, c.post(format!("{base}/v2/{repo}/blobs/uploads/")))
                .await
                .send()
                .await
                .expect("POST upload");
            assert_eq!(resp.status().as_u16(), 202, "upload start");
            let loc = resp.headers()["location"]
                .to_str()
                .expect("location")
                .to_string();
            let url = if loc.starts_with('/') {
                format!("{base}{loc}")
            } else {
                loc
            };
            let sep = if url.contains('?') { '&' } else { '?' };
            let resp = self
                .req(repo, c.put(format!("{url}{sep}digest={digest}")))
                .await
                .header("content-type", "application/octet-stream")
                .body(data.to_vec())
                .send()
                .await
                .expect("PUT blob");
            assert_eq!(resp.status().as_u16(), 201, "blob upload");
        });
        digest
    }

    /// Stores a manifest under a tag or digest; returns its digest.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> String {
        rt().block_on(async {
            let resp = self
                .req(
                    repo,
                    self.client().put(format!(
                        "{}/v2/{repo}/manifests/{reference}",
                        self.base_url()
                    )),
                )
                .await
                .header("content-type", media_type)
                .body(bytes.to_vec())
                .send()
                .await
                .expect("PUT manifest");
            assert_eq!(
                resp.status().as_u16(),
                201,
                "manifest upload: {:?}",
                resp.text().await
            );
        });
        sha256(bytes)
    }

    /// Pushes a small single-platform image built from `seed`; returns the manifest digest.
    pub fn push_image(&self, repo: &str, tag: &str, seed: &str) -> String {
        self.push_platform_image(repo, Some(tag), seed, "amd64")
    }

    fn push_platform_image(&self, repo: &str, tag: Option<&str>, seed: &str, arch: &str) -> String {
        let layer = format!("layer for {seed} {arch}\n").into_bytes();
        let layer_digest = self.put_blob(repo, &layer);
        let config = format!(
            r#"{{"architecture":"{arch}","os":"linux","rootfs":{{"type":"layers","diff_ids":["{layer_digest}"]}},"config":{{}}}}"#
        )
        .into_bytes();
        let config_digest = self.put_blob(repo, &config);
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{}}}]}}"#,
            config.len(),
            layer.len()
        )
        .into_bytes();
        let digest = sha256(&manifest);
        self.put_manifest(repo, tag.unwrap_or(&digest), &manifest, OCI_MANIFEST)
    }

    /// Pushes an index with one image per architecture; returns (index digest, child digests).
    pub fn push_index(
        &self,
        repo: &str,
        tag: &str,
        seed: &str,
        arches: &[&str],
    ) -> (String, Vec<String>) {
        let mut entries = Vec::new();
        let mut kids = Vec::new();
        for arch in arches {
            let d = self.push_platform_image(repo, None, seed, arch);
            let size = self.manifest(repo, &d).expect("child").len();
            entries.push(format!(
                r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":{size},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#
            ));
            kids.push(d);
        }
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{}]}}"#,
            entries.join(",")
        );
        (
            self.put_manifest(repo, tag, index.as_bytes(), OCI_INDEX),
            kids,
        )
    }

    /// A manifest's bytes, or `None` on 404.
    pub fn manifest(&self, repo: &str, reference: &str) -> Option<Vec<u8>> {
        rt().block_on(async {
            let resp = self
                .req(
                    repo,
                    self.client().get(format!(
                        "{}/v2/{repo}/manifests/{reference}",
                        self.base_url()
                    )),
                )
                .await
                .header(
                    "accept",
                    format!(
                        "{OCI_MANIFEST}, {OCI_INDEX}, {DOCKER_MANIFEST}, {DOCKER_MANIFEST_LIST}"
                    ),
                )
                .send()
                .await
                .expect("GET manifest");
            match resp.status().as_u16() {
                200 => Some(resp.bytes().await.expect("body").to_vec()),
                404 => None,
                s => panic!("GET manifest {repo}:{reference}: {s}"),
            }
        })
    }

    /// A blob's bytes.
    pub fn blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        rt().block_on(async {
            let resp = self
                .req(
                    repo,
                    self.client()
                        .get(format!("{}/v2/{repo}/blobs/{digest}", self.base_url())),
                )
                .await
                .send()
                .await
                .expect("GET blob");
            assert_eq!(resp.status().as_u16(), 200);
            resp.bytes().await.expect("body").to_vec()
        })
    }

    /// The layers of the `.sig` manifest of `digest` (empty when there is none).
    pub fn sig_layers(&self, repo: &str, digest: &str) -> Vec<serde_json::Value> {
        let tag = format!("{}.sig", digest.replacen(':', "-", 1));
        match self.manifest(repo, &tag) {
            None => Vec::new(),
            Some(bytes) => {
                let v: serde_json::Value =
                    serde_json::from_slice(&bytes).expect("sig manifest JSON");
                v["layers"].as_array().cloned().unwrap_or_default()
            }
        }
    }

    /// The payloads (blob text) of the `.sig` layers.
    pub fn sig_payloads(&self, repo: &str, digest: &str) -> Vec<String> {
        self.sig_layers(repo, digest)
            .iter()
            .map(|l| {
                String::from_utf8(self.blob(repo, l["digest"].as_str().expect("digest")))
                    .expect("utf8")
            })
            .collect()
    }

    /// How many HTTP requests the access log shows so far.
    pub fn request_count(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| {
                l.contains("\"GET /")
                    || l.contains("\"HEAD /")
                    || l.contains("\"PUT /")
                    || l.contains("\"POST /")
                    || l.contains("\"PATCH /")
            })
            .count()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
