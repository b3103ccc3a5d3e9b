//! A fault-injecting HTTP/1.1 proxy in front of a real registry (the [`super::registry::TestRegistry`]):
//! every request goes to the real registry unless a [`Fault`] armed on this proxy instance answers or
//! alters it. It also counts requests per method and path ([`FaultProxy::count`]).
//!
//! The client talks to `proxy.addr` as if it were the registry: the `Host` header is passed through, so
//! the registry's upload `Location`s point back at the proxy.
//!
//! Bounded so that it cannot eat the machine, whatever the client does: bodies it must read (manifest
//! PUTs it inspects, answers it rewrites or drips) are read up to [`MAX_BUFFERED`] and refused beyond;
//! generated bodies ([`Fault::HugeBlob`]) are produced 64 KiB at a time through a channel of two chunks,
//! never stored; at most [`MAX_CONNECTIONS`] connections are served at once; everything it runs stops
//! when the proxy is dropped.
//!
//! ```ignore
//! let reg = TestRegistry::start();
//! let proxy = FaultProxy::start(&reg.addr, vec![Fault::too_many(On::sig_manifest("GET"), 1, 1)]);
//! // sign `{proxy.addr}/acme/app@{digest}`, then:
//! assert_eq!(proxy.count("GET", r"\.sig$"), 2);
//! ```

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use regex::Regex;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// The most the proxy reads into memory from one body (request or answer): 8 MiB.
pub const MAX_BUFFERED: usize = 8 << 20;
/// Connections served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 256;
/// An endless [`Fault::HugeBlob`] still ends after this many bytes (64 GiB).
pub const ENDLESS_CAP: u64 = 64 << 30;
/// A `.sig` manifest tag path: `/v2/<repo>/manifests/sha256-<hex>.sig`.
pub const SIG_MANIFEST_PATH: &str = r"^/v2/.+/manifests/sha256-[0-9a-f]{64}\.sig$";

/// Which requests a fault applies to: a method (or any) and a regex on the path (query excluded).
#[derive(Clone, Debug)]
pub struct On {
    method: Option<Method>,
    path: Regex,
}

impl On {
    /// Requests with `method` (`"*"`: any) whose path matches the regex `path`.
    pub fn req(method: &str, path: &str) -> Self {
        On {
            method: (method != "*").then(|| method.parse().expect("HTTP method")),
            path: Regex::new(path).expect("path regex"),
        }
    }
    /// Every request.
    pub fn all() -> Self {
        Self::req("*", "")
    }
    /// Requests for any `.sig` manifest (by tag) with `method`.
    pub fn sig_manifest(method: &str) -> Self {
        Self::req(method, SIG_MANIFEST_PATH)
    }
    /// `GET` of the blob `digest` (`sha256:…`) in any repository.
    pub fn blob(digest: &str) -> Self {
        Self::req("GET", &format!("^/v2/.+/blobs/{}$", regex::escape(digest)))
    }
    /// Manifest uploads (any reference).
    pub fn manifest_put() -> Self {
        Self::req("PUT", r"^/v2/.+/manifests/[^/]+$")
    }
    fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method) && self.path.is_match(path)
    }
}

/// One misbehaviour. Faults are checked in the order they were armed; the first that answers a request
/// wins, and [`Fault::Latency`] / [`Fault::Hold`] delays add up before it.
#[derive(Clone, Debug)]
pub enum Fault {
    /// A blob served as `len` zero bytes generated on the fly (`None`: endless, chunked, up to
    /// [`ENDLESS_CAP`]) whatever its descriptor says; the registry is not asked.
    HugeBlob { on: On, len: Option<u64> },
    /// A JSON manifest answer (GET; HEAD answers the same headers) whose `layers` become its first layer
    /// repeated `times` times; `Content-Length` and `Docker-Content-Digest` match the new body.
    RepeatLayer { on: On, times: usize },
    /// The answer's body sent one byte per `every` (status and headers at once).
    Drip { on: On, every: Duration },
    /// `429 Too Many Requests` with `Retry-After: retry_after` (whole seconds) for the first `times`
    /// matching requests, and again for any matching request that comes sooner than `retry_after` after
    /// one of those (early retries do not extend the window); then the registry answers.
    TooMany {
        on: On,
        times: usize,
        retry_after: Duration,
    },
    /// The first `times` matching requests that the registry answers with 200 are answered
    /// `404 MANIFEST_UNKNOWN` instead (a transient miss of something that exists).
    Vanish { on: On, times: usize },
    /// The first `times` matching requests are held (body read, nothing sent on) until `until_others`
    /// other matching requests have been answered, or `max` has passed; then they go to the registry.
    Hold {
        on: On,
        times: usize,
        until_others: usize,
        max: Duration,
    },
    /// `rtt` added to every matching exchange: half before the request goes on, half before the answer
    /// comes back.
    Latency { on: On, rtt: Duration },
    /// Referrers API answers (`GET /v2/<name>/referrers/<digest>`) served in pages of `per_page`
    /// descriptors, each page but the last with `Link: <…?_page=N>; rel="next"` (the proxy's own query
    /// parameter, stripped before the registry sees it); with `duplicate`, every page after the first
    /// repeats the previous page's last descriptor, and the first page lists its first one twice; with
    /// `filter`, an `artifactType` query is applied here (on each descriptor's `artifactType`) and
    /// announced with `OCI-Filters-Applied: artifactType`.
    Referrers {
        per_page: usize,
        duplicate: bool,
        filter: bool,
    },
    /// The first `times` matching requests are answered `400` with distribution's two errors for a
    /// manifest naming a blob whose concurrent uploads of the same content raced in its storage
    /// (`DIGEST_INVALID`, then `MANIFEST_BLOB_UNKNOWN`), as Debian's registry 2.8 answered 16 signers
    /// of one digest on a loaded machine; then the registry answers.
    BlobUnknown { on: On, times: usize },
    /// Manifest uploads whose JSON has a `subject` are refused with `400 MANIFEST_INVALID` (registries
    /// without OCI 1.1 support).
    RefuseSubject,
    /// Manifest uploads with an OCI media type (the `Content-Type`, the manifest's `mediaType` or its
    /// config's `mediaType`) are refused with `400 MANIFEST_INVALID`: only Docker media types pass.
    DockerMediaTypesOnly,
}

impl Fault {
    /// [`Fault::TooMany`] with `retry_after` in whole seconds.
    pub fn too_many(on: On, times: usize, retry_after_secs: u64) -> Self {
        Fault::TooMany {
            on,
            times,
            retry_after: Duration::from_secs(retry_after_secs),
        }
    }
    /// [`Fault::Latency`] on every request.
    pub fn latency(rtt: Duration) -> Self {
        Fault::Latency { on: On::all(), rtt }
    }
}

/// A fault with its run-time state.
struct Armed {
    fault: Fault,
    /// how many times it may still fire (`times` faults)
    left: AtomicUsize,
    /// matching requests answered by the registry while not held (for [`Fault::Hold`])
    others_done: AtomicUsize,
    released: tokio::sync::Notify,
    /// when the last rate-limit window opened (for [`Fault::TooMany`])
    last_429: Mutex<Option<Instant>>,
}

impl Armed {
    fn new(fault: Fault) -> Arc<Self> {
        let left = match &fault {
            Fault::TooMany { times, .. }
            | Fault::Vanish { times, .. }
            | Fault::BlobUnknown { times, .. }
            | Fault::Hold { times, .. } => *times,
            _ => usize::MAX,
        };
        Arc::new(Armed {
            fault,
            left: AtomicUsize::new(left),
            others_done: AtomicUsize::new(0),
            released: tokio::sync::Notify::new(),
            last_429: Mutex::new(None),
        })
    }
    /// Takes one of the remaining firings, if any.
    fn take(&self) -> bool {
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// One request the proxy saw, and the status it answered.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// path and query
    pub path: String,
    pub status: u16,
}

struct State {
    upstream: String,
    faults: Mutex<Vec<Arc<Armed>>>,
    seen: Mutex<Vec<Seen>>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, ProxyBody>,
}

/// A running proxy; stops (and drops every connection it holds) when dropped.
pub struct FaultProxy {
    /// `127.0.0.1:PORT`
    pub addr: String,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy to the HTTP server at `upstream` (`127.0.0.1:PORT`) with `faults` armed.
    pub fn start(upstream: &str, faults: Vec<Fault>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("addr").to_string();
        listener.set_nonblocking(true).expect("nonblocking");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let client = {
            let _guard = rt.enter();
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(5))
                .build_http()
        };
        let state = Arc::new(State {
            upstream: upstream.to_string(),
            faults: Mutex::new(faults.into_iter().map(Armed::new).collect()),
            seen: Mutex::new(Vec::new()),
            client,
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
                let accept = async {
                    loop {
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            return;
                        };
                        let Ok((conn, _)) = listener.accept().await else {
                            continue;
                        };
                        let st = st.clone();
                        tokio::spawn(async move {
                            let svc = hyper::service::service_fn(move |req| {
                                let st = st.clone();
                                async move { Ok::<_, std::convert::Infallible>(handle(st, req).await) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(conn), svc)
                                .await;
                            drop(permit);
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        });
        FaultProxy {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Arms one more fault (after those already armed).
    pub fn arm(&self, fault: Fault) {
        self.state
            .faults
            .lock()
            .expect("faults")
            .push(Armed::new(fault));
    }

    /// Disarms every fault: from now on the proxy only passes requests on (and counts them).
    pub fn disarm(&self) {
        self.state.faults.lock().expect("faults").clear();
    }

    /// Every request seen so far, in the order they were answered.
    pub fn requests(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("seen").clone()
    }

    /// How many requests with `method` (`"*"`: any) and a path (query included) matching the regex `path`
    /// were answered so far.
    pub fn count(&self, method: &str, path: &str) -> usize {
        let re = Regex::new(path).expect("path regex");
        self.requests()
            .iter()
            .filter(|s| (method == "*" || s.method == method) && re.is_match(&s.path))
            .count()
    }

    /// How many answers had `status`.
    pub fn count_status(&self, status: u16) -> usize {
        self.requests()
            .iter()
            .filter(|s| s.status == status)
            .count()
    }

    /// Forgets the requests seen so far (the counters start again from zero).
    pub fn reset_counts(&self) {
        self.state.seen.lock().expect("seen").clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---- the request path ----

fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn registry_error(status: StatusCode, code: &str, message: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({"errors": [{"code": code, "message": message, "detail": null}]});
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(full(body.to_string()))
        .expect("response")
}

/// Reads a whole body, up to [`MAX_BUFFERED`].
async fn read_capped(mut body: ProxyBody) -> Result<Bytes, String> {
    let mut out = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("broken body: {e}"))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > MAX_BUFFERED {
                return Err(format!("body beyond {MAX_BUFFERED} bytes"));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

fn boxed(body: Incoming) -> ProxyBody {
    body.map_err(|e| -> BoxError { Box::new(e) }).boxed_unsync()
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Response<ProxyBody> {
    let method = req.method().clone();
    let path_q = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_else(|| "/".into());
    let resp = answer(&st, req).await;
    st.seen.lock().expect("seen").push(Seen {
        method: method.to_string(),
        path: path_q,
        status: resp.status().as_u16(),
    });
    resp
}

async fn answer(st: &State, req: Request<Incoming>) -> Response<ProxyBody> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let faults: Vec<Arc<Armed>> = st
        .faults
        .lock()
        .expect("faults")
        .iter()
        .filter(|a| on_of(&a.fault).is_none_or(|on| on.matches(&method, &path)))
        .cloned()
        .collect();

    // Delays first, then the faults that answer without the registry.
    let mut answer_delay = Duration::ZERO;
    let mut held = Vec::new();
    for a in &faults {
        match &a.fault {
            Fault::Latency { rtt, .. } => {
                tokio::time::sleep(*rtt / 2).await;
                answer_delay += *rtt / 2;
            }
            Fault::Hold {
                until_others, max, ..
            } if a.take() => {
                held.push((a.clone(), *until_others, *max));
            }
            _ => {}
        }
    }
    for a in &faults {
        match &a.fault {
            Fault::HugeBlob { len, .. } if method == Method::GET || method == Method::HEAD => {
                let digest = path.rsplit('/').next().unwrap_or_default().to_string();
                tokio::time::sleep(answer_delay).await;
                return huge_blob(*len, &digest);
            }
            Fault::TooMany { retry_after, .. } => {
                let limited = {
                    let mut last = a.last_429.lock().expect("429");
                    let too_early = last.is_some_and(|t| t.elapsed() < *retry_after);
                    // The window runs from the 429 that opened it; early retries do not extend it.
                    let fresh = !too_early && a.take();
                    if fresh {
                        *last = Some(Instant::now());
                    }
                    too_early || fresh
                };
                if limited {
                    let secs = retry_after.as_secs_f64().ceil() as u64;
                    tokio::time::sleep(answer_delay).await;
                    let mut r = registry_error(
                        StatusCode::TOO_MANY_REQUESTS,
                        "TOOMANYREQUESTS",
                        "too many requests",
                    );
                    r.headers_mut()
                        .insert("retry-after", secs.to_string().parse().expect("header"));
                    return r;
                }
            }
            Fault::BlobUnknown { .. } if a.take() => {
                tokio::time::sleep(answer_delay).await;
                let body = serde_json::json!({"errors": [
                    {"code": "DIGEST_INVALID", "message": "provided digest did not match uploaded content", "detail": null},
                    {"code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": null},
                ]});
                return Response::builder()
                    .status(StatusCode::BAD_REQUEST)
                    .header("content-type", "application/json")
                    .body(full(body.to_string()))
                    .expect("response");
            }
            _ => {}
        }
    }

    // The request body is read only when a fault must look at it (manifest uploads) or hold it.
    let inspect = faults
        .iter()
        .any(|a| matches!(a.fault, Fault::RefuseSubject | Fault::DockerMediaTypesOnly))
        && method == Method::PUT
        && Regex::new(r"^/v2/.+/manifests/[^/]+$")
            .expect("regex")
            .is_match(&path);
    let (parts, body) = req.into_parts();
    let body: ProxyBody = if inspect || !held.is_empty() {
        let bytes = match read_capped(boxed(body)).await {
            Ok(b) => b,
            Err(e) => {
                return registry_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID", &e);
            }
        };
        if inspect {
            if let Some(refusal) = refuse_manifest(&faults, &parts.headers, &bytes) {
                tokio::time::sleep(answer_delay).await;
                return refusal;
            }
        }
        full(bytes)
    } else {
        boxed(body)
    };
    for (a, until_others, max) in &held {
        let deadline = tokio::time::Instant::now() + *max;
        loop {
            // Registered before the count is read, so that a release in between is not missed.
            let released = a.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if a.others_done.load(Ordering::SeqCst) >= *until_others
                || tokio::time::timeout_at(deadline, released).await.is_err()
            {
                break;
            }
        }
    }

    // Referrer pages: the proxy's `_page` parameter is not the registry's.
    let referrers = faults.iter().find_map(|a| match &a.fault {
        Fault::Referrers {
            per_page,
            duplicate,
            filter,
        } if method == Method::GET && path.contains("/referrers/") => {
            Some((*per_page, *duplicate, *filter))
        }
        _ => None,
    });
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let page: usize = query
        .iter()
        .find(|(k, _)| k == "_page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let filter_type = query
        .iter()
        .find(|(k, _)| k == "artifactType")
        .map(|(_, v)| {
            v.replace("%2F", "/")
                .replace("%2B", "+")
                .replace("%2f", "/")
                .replace("%2b", "+")
        });
    let mut parts = parts;
    if referrers.is_some() {
        parts.uri = path.parse().expect("uri");
    }

    // To the registry. A RepeatLayer HEAD asks for the body to compute the new headers.
    let repeat = faults.iter().find_map(|a| match &a.fault {
        Fault::RepeatLayer { times, .. } if method == Method::GET || method == Method::HEAD => {
            Some(*times)
        }
        _ => None,
    });
    let mut up = Request::from_parts(parts, body);
    if repeat.is_some() {
        *up.method_mut() = Method::GET;
    }
    *up.uri_mut() = format!(
        "http://{}{}",
        st.upstream,
        up.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/")
    )
    .parse()
    .expect("upstream uri");
    strip_hop_headers(up.headers_mut());
    let resp = match st.client.request(up).await {
        Ok(r) => r,
        Err(e) => {
            return registry_error(
                StatusCode::BAD_GATEWAY,
                "UNAVAILABLE",
                &format!("proxy: registry unreachable: {e}"),
            )
        }
    };
    for a in &faults {
        if matches!(a.fault, Fault::Hold { .. }) && !held.iter().any(|(h, _, _)| Arc::ptr_eq(h, a))
        {
            a.others_done.fetch_add(1, Ordering::SeqCst);
            a.released.notify_waiters();
        }
    }
    let (mut parts, body) = resp.into_parts();
    strip_hop_headers(&mut parts.headers);

    if parts.status == StatusCode::OK
        && faults
            .iter()
            .any(|a| matches!(a.fault, Fault::Vanish { .. }) && a.take())
    {
        tokio::time::sleep(answer_delay).await;
        return registry_error(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        );
    }
    if let (Some((per_page, duplicate, filter)), StatusCode::OK) = (referrers, parts.status) {
        let bytes = match read_capped(boxed(body)).await {
            Ok(b) => b,
            Err(e) => return registry_error(StatusCode::BAD_GATEWAY, "UNKNOWN", &e),
        };
        let mut index: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => return registry_error(StatusCode::BAD_GATEWAY, "UNKNOWN", &e.to_string()),
        };
        let mut all: Vec<serde_json::Value> =
            index["manifests"].as_array().cloned().unwrap_or_default();
        // A stable order across pages.
        all.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
        if let (true, Some(want)) = (filter, &filter_type) {
            all.retain(|d| d["artifactType"].as_str() == Some(want.as_str()));
            parts.headers.insert(
                "oci-filters-applied",
                "artifactType".parse().expect("header"),
            );
        }
        let per = per_page.max(1);
        let start = (page * per).min(all.len());
        let end = ((page + 1) * per).min(all.len());
        let mut this: Vec<serde_json::Value> = all[start..end].to_vec();
        if duplicate {
            if page == 0 {
                if let Some(first) = this.first().cloned() {
                    this.push(first);
                }
            } else if start > 0 {
                this.insert(0, all[start - 1].clone());
            }
        }
        if end < all.len() {
            let mut q: Vec<String> = query
                .iter()
                .filter(|(k, _)| k != "_page")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            q.push(format!("_page={}", page + 1));
            parts.headers.insert(
                "link",
                format!("<{path}?{}>; rel=\"next\"", q.join("&"))
                    .parse()
                    .expect("header"),
            );
        }
        index["manifests"] = serde_json::Value::Array(this);
        let new = serde_json::to_vec(&index).expect("json");
        parts.headers.insert(
            "content-length",
            new.len().to_string().parse().expect("header"),
        );
        tokio::time::sleep(answer_delay).await;
        return Response::from_parts(parts, full(new));
    }
    let drip = faults.iter().find_map(|a| match &a.fault {
        Fault::Drip { every, .. } => Some(*every),
        _ => None,
    });
    let mut body = boxed(body);
    if let (Some(times), StatusCode::OK) = (repeat, parts.status) {
        let bytes = match read_capped(body).await {
            Ok(b) => b,
            Err(e) => return registry_error(StatusCode::BAD_GATEWAY, "UNKNOWN", &e),
        };
        let new = repeat_first_layer(&bytes, times).unwrap_or(bytes.to_vec());
        parts.headers.insert(
            "docker-content-digest",
            super::registry::sha256(&new).parse().expect("header"),
        );
        parts.headers.insert(
            "content-length",
            new.len().to_string().parse().expect("header"),
        );
        body = full(new);
    }
    if let Some(every) = drip {
        let bytes = match read_capped(body).await {
            Ok(b) => b,
            Err(e) => return registry_error(StatusCode::BAD_GATEWAY, "UNKNOWN", &e),
        };
        body = dripping(bytes, every);
    }
    tokio::time::sleep(answer_delay).await;
    Response::from_parts(parts, body)
}

fn on_of(f: &Fault) -> Option<&On> {
    match f {
        Fault::HugeBlob { on, .. }
        | Fault::RepeatLayer { on, .. }
        | Fault::Drip { on, .. }
        | Fault::TooMany { on, .. }
        | Fault::Vanish { on, .. }
        | Fault::BlobUnknown { on, .. }
        | Fault::Hold { on, .. }
        | Fault::Latency { on, .. } => Some(on),
        // Manifest uploads are recognised when the body is read.
        Fault::RefuseSubject | Fault::DockerMediaTypesOnly | Fault::Referrers { .. } => None,
    }
}

fn strip_hop_headers(h: &mut hyper::HeaderMap) {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
    ] {
        h.remove(name);
    }
}

fn refuse_manifest(
    faults: &[Arc<Armed>],
    headers: &hyper::HeaderMap,
    bytes: &[u8],
) -> Option<Response<ProxyBody>> {
    let json: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    for a in faults {
        match a.fault {
            Fault::RefuseSubject if json.get("subject").is_some() => {
                return Some(registry_error(
                    StatusCode::BAD_REQUEST,
                    "MANIFEST_INVALID",
                    "manifest invalid: unknown field \"subject\"",
                ));
            }
            Fault::DockerMediaTypesOnly => {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let oci = [
                    content_type,
                    json["mediaType"].as_str().unwrap_or_default(),
                    json["config"]["mediaType"].as_str().unwrap_or_default(),
                ]
                .iter()
                .any(|t| t.starts_with("application/vnd.oci."));
                if oci {
                    return Some(registry_error(
                        StatusCode::BAD_REQUEST,
                        "MANIFEST_INVALID",
                        "manifest invalid: OCI media types are not supported",
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

/// The manifest with `layers` replaced by its first layer `times` times (`None` if it has no layer).
fn repeat_first_layer(bytes: &[u8], times: usize) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let first = v.get("layers")?.as_array()?.first()?.clone();
    v["layers"] = serde_json::Value::Array(vec![first; times]);
    serde_json::to_vec(&v).ok()
}

static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

fn huge_blob(len: Option<u64>, digest: &str) -> Response<ProxyBody> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(2);
    tokio::spawn(async move {
        let mut left = len.unwrap_or(ENDLESS_CAP);
        while left > 0 {
            let n = left.min(ZEROS.len() as u64) as usize;
            if tx.send(Bytes::from_static(&ZEROS[..n])).await.is_err() {
                return; // the client hung up
            }
            left -= n as u64;
        }
    });
    let mut b = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/octet-stream")
        .header("docker-content-digest", digest);
    if let Some(n) = len {
        b = b.header("content-length", n);
    }
    b.body(ChanBody { rx, len }.boxed_unsync())
        .expect("response")
}

fn dripping(bytes: Bytes, every: Duration) -> ProxyBody {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    let len = Some(bytes.len() as u64);
    tokio::spawn(async move {
        for i in 0..bytes.len() {
            tokio::time::sleep(every).await;
            if tx.send(bytes.slice(i..i + 1)).await.is_err() {
                return;
            }
        }
    });
    ChanBody { rx, len }.boxed_unsync()
}

/// A body fed by a bounded channel (generated or dripped bytes).
struct ChanBody {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    len: Option<u64>,
}

impl Body for ChanBody {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
    fn size_hint(&self) -> SizeHint {
        self.len.map(SizeHint::with_exact).unwrap_or_default()
    }
}
