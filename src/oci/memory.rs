//! Test-only: a registry held in memory behind a loopback server ([`crate::net::loopback`]), for the
//! unit tests of what reads and writes signatures (issue 16's mutation run). It answers the distribution-API calls ferrosign makes on a registry
//! without auth, as Debian's docker-registry does but for uploads: manifests (`HEAD`, `GET`, `PUT` by
//! tag or digest, `Docker-Content-Digest` on each), one-request blob uploads (`POST
//! …/blobs/uploads/?digest=`, `201`; the digest checked) and blob `GET`s; anything else is a `404`
//! (no referrers API). Every request is logged. The interoperability with real registries is the
//! integration tests' (`tests/it`), against Debian's docker-registry and the referrers-API peer.

use super::ImageRef;
use crate::net::loopback::{serving, Answer, Request};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Store {
    /// (repository, tag or digest) → (media type, bytes)
    manifests: HashMap<(String, String), (String, Vec<u8>)>,
    /// digest → bytes
    blobs: HashMap<String, Vec<u8>>,
    /// `METHOD target` of every request, in order
    log: Vec<String>,
}

/// A registry in memory at `host` (`127.0.0.1:PORT`).
#[derive(Clone)]
pub(crate) struct Memory {
    /// `127.0.0.1:PORT`
    pub(crate) host: String,
    store: Arc<Mutex<Store>>,
}

fn digest(bytes: &[u8]) -> String {
    super::sha256_digest(bytes)
}

fn error(status: u16, code: &str) -> Answer {
    Answer {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: format!(r#"{{"errors":[{{"code":"{code}","message":"{code}"}}]}}"#).into_bytes(),
    }
}

fn answer(store: &Mutex<Store>, req: Request) -> Answer {
    let mut s = store.lock().unwrap();
    s.log.push(format!("{} {}", req.method, req.target));
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let Some(rest) = path.strip_prefix("/v2/") else {
        return error(404, "NOT_FOUND");
    };
    if let Some((repo, reference)) = rest.split_once("/manifests/") {
        let key = (repo.to_string(), reference.to_string());
        return match req.method.as_str() {
            "GET" | "HEAD" => match s.manifests.get(&key) {
                Some((media_type, bytes)) => Answer {
                    status: 200,
                    headers: vec![
                        ("Content-Type".into(), media_type.clone()),
                        ("Docker-Content-Digest".into(), digest(bytes)),
                    ],
                    body: bytes.clone(),
                },
                None => error(404, "MANIFEST_UNKNOWN"),
            },
            "PUT" => {
                let media_type = req.header("content-type").unwrap_or_default().to_string();
                let d = digest(&req.body);
                s.manifests.insert(
                    (repo.to_string(), d.clone()),
                    (media_type.clone(), req.body.clone()),
                );
                s.manifests.insert(key, (media_type, req.body));
                Answer {
                    status: 201,
                    headers: vec![("Docker-Content-Digest".into(), d)],
                    body: Vec::new(),
                }
            }
            _ => error(405, "UNSUPPORTED"),
        };
    }
    if rest.ends_with("/blobs/uploads/") && req.method == "POST" {
        let Some(d) = query.split('&').find_map(|p| p.strip_prefix("digest=")) else {
            return error(405, "UNSUPPORTED");
        };
        let d = d.replace("%3A", ":");
        if d != digest(&req.body) {
            return error(400, "DIGEST_INVALID");
        }
        s.blobs.insert(d.clone(), req.body);
        return Answer {
            status: 201,
            headers: vec![("Docker-Content-Digest".into(), d)],
            body: Vec::new(),
        };
    }
    if let Some((_, d)) = rest.split_once("/blobs/") {
        if req.method == "GET" {
            return match s.blobs.get(d) {
                Some(bytes) => Answer {
                    status: 200,
                    headers: Vec::new(),
                    body: bytes.clone(),
                },
                None => error(404, "BLOB_UNKNOWN"),
            };
        }
    }
    error(404, "NOT_FOUND")
}

impl Memory {
    /// An empty registry, serving until the test process ends.
    pub(crate) fn start() -> Self {
        let store = Arc::new(Mutex::new(Store::default()));
        let served = store.clone();
        let url = serving(move |req| answer(&served, req));
        Memory {
            host: url.trim_start_matches("http://").to_string(),
            store,
        }
    }

    /// `HOST/name` parsed (`name`: `repository[:tag|@digest]`).
    pub(crate) fn image(&self, name: &str) -> ImageRef {
        format!("{}/{name}", self.host).parse().unwrap()
    }

    /// Stores a manifest under `reference` (a tag or digest) and its digest; returns the digest.
    pub(crate) fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let d = digest(bytes);
        let mut s = self.store.lock().unwrap();
        for r in [reference, d.as_str()] {
            s.manifests.insert(
                (repository.to_string(), r.to_string()),
                (media_type.to_string(), bytes.to_vec()),
            );
        }
        d
    }

    /// Stores a blob; returns its digest.
    pub(crate) fn put_blob(&self, bytes: &[u8]) -> String {
        let d = digest(bytes);
        self.store
            .lock()
            .unwrap()
            .blobs
            .insert(d.clone(), bytes.to_vec());
        d
    }

    /// The manifest under `reference` in `repository`: (media type, bytes).
    pub(crate) fn manifest(&self, repository: &str, reference: &str) -> Option<(String, Vec<u8>)> {
        self.store
            .lock()
            .unwrap()
            .manifests
            .get(&(repository.to_string(), reference.to_string()))
            .cloned()
    }

    /// `METHOD target` of every request so far, in order.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.store.lock().unwrap().log.clone()
    }
}
