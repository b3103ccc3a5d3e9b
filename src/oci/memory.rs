//! Test-only: a registry held in memory behind a loopback server ([`crate::net::loopback`]), for the
//! unit tests of what reads and writes signatures (issue 16's mutation run). It answers the
//! distribution-API calls ferrosign makes on a registry without auth: manifests (`HEAD`, `GET`, `PUT`
//! by tag or digest, `Docker-Content-Digest` on each), blob uploads (one request, `POST
//! …/blobs/uploads/?digest=`, `201`, the digest checked; or a session opened by a plain `POST`, `202`
//! with a `Location`, finished by one `PUT …?digest=`; a mount `201` when the blob is there) and blob
//! `GET`s. The referrers API is off (`404`: clients fall back to the tag schema) unless
//! [`Options::referrers_api`] (built from the stored manifests' `subject`). Anything else is a `404`.
//! Every request is logged; a test can answer requests itself first ([`Memory::intercept`]: faults,
//! pages, another writer's stale copy, a late answer). The interoperability with real registries is
//! the integration tests' (`tests/it`), against Debian's docker-registry and the referrers-API peer.

use super::{ImageRef, OCI_INDEX};
use crate::net::loopback::{serving, Answer, Request};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the registry behaves beyond the default.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// it has the referrers API (`GET /v2/<name>/referrers/<digest>`)
    pub(crate) referrers_api: bool,
    /// a manifest `PUT` with a `subject` is answered with `OCI-Subject`
    pub(crate) oci_subject: bool,
    /// the referrers API applies `artifactType` and says so (`OCI-Filters-Applied`)
    pub(crate) filters_applied: bool,
}

/// What a test's handler answers instead of the registry ([`Memory::intercept`]).
pub(crate) struct Reply {
    /// the answer
    pub(crate) answer: Answer,
    /// how long after the request came it is sent (e.g. past the client's deadline)
    pub(crate) after: Duration,
}

impl From<Answer> for Reply {
    fn from(answer: Answer) -> Self {
        Reply {
            answer,
            after: Duration::ZERO,
        }
    }
}

type Intercept = Box<dyn FnMut(&Request) -> Option<Reply> + Send>;

#[derive(Default)]
struct Store {
    /// (repository, tag or digest) → (media type, bytes)
    manifests: HashMap<(String, String), (String, Vec<u8>)>,
    /// digest → bytes
    blobs: HashMap<String, Vec<u8>>,
    /// `METHOD target` of every request, in order
    log: Vec<String>,
    /// upload sessions opened
    uploads: u32,
}

/// A registry in memory at `host` (`127.0.0.1:PORT`).
#[derive(Clone)]
pub(crate) struct Memory {
    /// `127.0.0.1:PORT`
    pub(crate) host: String,
    store: Arc<Mutex<Store>>,
    intercepts: Arc<Mutex<Vec<Intercept>>>,
}

fn digest(bytes: &[u8]) -> String {
    super::sha256_digest(bytes)
}

/// An answer with a distribution-spec error body naming `code`.
pub(crate) fn error(status: u16, code: &str) -> Answer {
    Answer {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: format!(r#"{{"errors":[{{"code":"{code}","message":"{code}"}}]}}"#).into_bytes(),
    }
}

fn created(headers: Vec<(String, String)>) -> Answer {
    Answer {
        status: 201,
        headers,
        body: Vec::new(),
    }
}

/// A query parameter's value, `%3A` and `%2F` decoded.
fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|p| {
        let v = p.strip_prefix(name)?.strip_prefix('=')?;
        Some(
            v.replace("%3A", ":")
                .replace("%2F", "/")
                .replace("%2B", "+"),
        )
    })
}

fn answer(opts: Options, store: &Mutex<Store>, req: Request) -> Answer {
    let mut s = store.lock().unwrap();
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
                let subject = serde_json::from_slice::<serde_json::Value>(&req.body)
                    .ok()
                    .and_then(|v| Some(v.pointer("/subject/digest")?.as_str()?.to_string()));
                s.manifests.insert(
                    (repo.to_string(), d.clone()),
                    (media_type.clone(), req.body.clone()),
                );
                s.manifests.insert(key, (media_type, req.body));
                let mut headers = vec![("Docker-Content-Digest".into(), d)];
                if let Some(subject) = subject.filter(|_| opts.oci_subject) {
                    headers.push(("OCI-Subject".into(), subject));
                }
                created(headers)
            }
            _ => error(405, "UNSUPPORTED"),
        };
    }
    if let Some((repo, session)) = rest.split_once("/blobs/uploads/") {
        let d = param(query, "digest");
        return match (req.method.as_str(), session, d) {
            ("POST", "", Some(d)) | ("PUT", _, Some(d)) => {
                if d != digest(&req.body) {
                    return error(400, "DIGEST_INVALID");
                }
                s.blobs.insert(d.clone(), req.body);
                created(vec![("Docker-Content-Digest".into(), d)])
            }
            ("POST", "", None) => {
                if param(query, "mount").is_some_and(|m| s.blobs.contains_key(&m)) {
                    return created(Vec::new());
                }
                s.uploads += 1;
                Answer {
                    status: 202,
                    headers: vec![(
                        "Location".into(),
                        format!("/v2/{repo}/blobs/uploads/{}", s.uploads),
                    )],
                    body: Vec::new(),
                }
            }
            _ => error(405, "UNSUPPORTED"),
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
    if let Some((repo, subject)) = rest.split_once("/referrers/") {
        if opts.referrers_api && req.method == "GET" {
            return referrers(opts, &s, repo, subject, query);
        }
    }
    error(404, "NOT_FOUND")
}

/// The referrers API's answer: every manifest of `repo` stored by digest whose `subject` is
/// `subject`, in digest order, with its `artifactType` (else its config's media type) and
/// annotations; filtered by `artifactType` when the options say so.
fn referrers(opts: Options, s: &Store, repo: &str, subject: &str, query: &str) -> Answer {
    let filter = param(query, "artifactType").filter(|_| opts.filters_applied);
    let mut found: Vec<(&String, &(String, Vec<u8>))> = s
        .manifests
        .iter()
        .filter(|((r, reference), _)| r == repo && reference.starts_with("sha256:"))
        .map(|((_, reference), m)| (reference, m))
        .collect();
    found.sort();
    let mut manifests = Vec::new();
    for (reference, (media_type, bytes)) in found {
        let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
        if v.pointer("/subject/digest").and_then(|s| s.as_str()) != Some(subject) {
            continue;
        }
        let artifact_type = v
            .get("artifactType")
            .or_else(|| v.pointer("/config/mediaType"))
            .cloned()
            .unwrap_or_default();
        if filter
            .as_deref()
            .is_some_and(|f| artifact_type.as_str() != Some(f))
        {
            continue;
        }
        let mut d = serde_json::json!({
            "mediaType": media_type,
            "size": bytes.len(),
            "digest": reference,
            "artifactType": artifact_type,
        });
        if let Some(a) = v.get("annotations") {
            d["annotations"] = a.clone();
        }
        manifests.push(d);
    }
    let body =
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    let mut headers = vec![("Content-Type".into(), OCI_INDEX.to_string())];
    if filter.is_some() {
        headers.push(("OCI-Filters-Applied".into(), "artifactType".into()));
    }
    Answer {
        status: 200,
        headers,
        body: serde_json::to_vec(&body).unwrap(),
    }
}

impl Memory {
    /// An empty registry, serving until the test process ends.
    pub(crate) fn start() -> Self {
        Self::start_with(Options::default())
    }

    /// An empty registry behaving as `opts` says.
    pub(crate) fn start_with(opts: Options) -> Self {
        let store = Arc::new(Mutex::new(Store::default()));
        let intercepts: Arc<Mutex<Vec<Intercept>>> = Arc::default();
        let (served, first) = (store.clone(), intercepts.clone());
        let url = serving(move |req| {
            served
                .lock()
                .unwrap()
                .log
                .push(format!("{} {}", req.method, req.target));
            let reply = first.lock().unwrap().iter_mut().find_map(|f| f(&req));
            match reply {
                Some(Reply { answer, after }) => {
                    std::thread::sleep(after);
                    answer
                }
                None => answer(opts, &served, req),
            }
        });
        Memory {
            host: url.trim_start_matches("http://").to_string(),
            store,
            intercepts,
        }
    }

    /// Answers with `f` first: the first handler (in the order given) that returns `Some` answers,
    /// else the registry. The handlers run one request at a time; they may use this registry's
    /// methods (the store is not held meanwhile).
    pub(crate) fn intercept(&self, f: impl FnMut(&Request) -> Option<Reply> + Send + 'static) {
        self.intercepts.lock().unwrap().push(Box::new(f));
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
