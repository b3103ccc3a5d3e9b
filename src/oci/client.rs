//! The distribution-API transport: one HTTP exchange with a registry, with the scheme chosen as cosign
//! chooses it, the registry's authentication challenge answered, and every answer counted.
//!
//! - Scheme (go-containerregistry's `name.Registry.Scheme()` and `transport/ping.go`, as pinned in
//!   docs/inputs.md §A8): HTTPS always first. Plain HTTP is tried after a failed HTTPS connection only
//!   for local registries (`localhost:PORT`, `*.localhost[:PORT]`, `127.0.0.1[:PORT]`, `[::1][:PORT]`)
//!   or with `--allow-http-registry`; the result is remembered per registry for the run, so the fallback
//!   costs one failed connection per registry, not a request per request. RFC 1918 addresses get no
//!   silent fallback (refused on purpose, docs/inputs.md A8l). `--allow-insecure-registry` keeps HTTPS and
//!   skips certificate verification.
//! - Authentication (distribution's token spec): no probe of `/v2/`. A request goes out with what is
//!   known about its registry (nothing, `Basic`, or a cached bearer token for its repository and scope);
//!   a `401` with a `WWW-Authenticate` challenge teaches the scheme (remembered per registry), a `Bearer`
//!   challenge is answered by a token exchange at its `realm` (`service`, `scope=repository:NAME:pull` or
//!   `pull,push`, Basic credentials when there are some), and the request is sent once more. Tokens are
//!   cached per registry, repository and scope for the run; a `401` to a cached token refreshes it once.
//!   A token with `pull,push` also serves reads.
//! - Counting: every answer from the registry or its token service adds one to the [`Requests`] counter
//!   of the handle that sent it (one counter per image, read by the operations for their reports).
//! - Retries and deadlines: [`crate::net`]'s policy (connection errors, 429 with `Retry-After`, 5xx;
//!   a total deadline per request including its body).

use super::auth::Credentials;
use super::OciError;
use crate::net::{self, Http};
use crate::secret::SecretString;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The most of an error answer read for its message (64 KiB).
pub(crate) const MAX_ERROR_BODY: u64 = 64 << 10;
/// The most of a token service answer read (1 MiB).
pub(crate) const MAX_TOKEN_BODY: u64 = 1 << 20;
/// [`MAX_ERROR_BODY`] as the limit [`net::read_answer`] reads registry error answers with.
pub(crate) const ERROR_ANSWER: net::AnswerLimit = net::AnswerLimit {
    what: "registry error answers",
    name: "MAX_ERROR_BODY",
    max: MAX_ERROR_BODY,
};
/// [`MAX_TOKEN_BODY`] as the limit [`net::read_answer`] reads token service answers with.
pub(crate) const TOKEN_ANSWER: net::AnswerLimit = net::AnswerLimit {
    what: "registry token answers",
    name: "MAX_TOKEN_BODY",
    max: MAX_TOKEN_BODY,
};

/// A body that could not be read ([`net::read_answer`]'s error) as an [`OciError`] for `what` (e.g.
/// `the manifest`) of `reference` from `registry`: over its limit → [`OciError::TooLarge`] naming the
/// limit's constant; past the deadline → [`OciError::TimedOut`] naming it; anything else →
/// [`OciError::Unreachable`].
pub(crate) fn body_error(
    registry: &str,
    reference: &str,
    what: &'static str,
    e: net::HttpError,
) -> OciError {
    match e {
        net::HttpError::TooLarge { name, max, .. } => OciError::TooLarge {
            what,
            reference: reference.to_string(),
            limit: max,
            limit_name: name,
        },
        net::HttpError::TimedOut { after, .. } => OciError::TimedOut {
            registry: registry.to_string(),
            reference: reference.to_string(),
            what: format!("{} s for reading {what}", after.as_secs()),
        },
        net::HttpError::Unreachable { reason, .. } => OciError::Unreachable {
            registry: registry.to_string(),
            reason,
            https: true,
        },
        e => OciError::Unreachable {
            registry: registry.to_string(),
            reason: e.to_string(),
            https: true,
        },
    }
}

/// Requests sent to registries through one handle: a counter shared by clones.
#[derive(Debug, Clone, Default)]
pub(crate) struct Requests(Arc<AtomicU64>);

impl Requests {
    /// Answers received so far (registry and token service).
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// One request to a registry.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) method: Method,
    /// `/v2/…` (with query), or an absolute URL from a `Location` or `Link` header
    pub(crate) target: String,
    /// the repository, for the token scope
    pub(crate) repository: String,
    /// `Accept`
    pub(crate) accept: Option<String>,
    /// `Content-Type` of the body
    pub(crate) content_type: Option<String>,
    /// the body (small: manifests and signature blobs)
    pub(crate) body: Option<bytes::Bytes>,
    /// what the error messages name (`registry/repo:tag`, …)
    pub(crate) what: String,
    /// this request's deadline, when not the default ([`crate::net::HttpOptions::timeout`])
    pub(crate) timeout: Option<std::time::Duration>,
}

impl Req {
    pub(crate) fn new(method: Method, repository: &str, target: String, what: String) -> Self {
        Req {
            method,
            target,
            repository: repository.to_string(),
            accept: None,
            content_type: None,
            body: None,
            what,
            timeout: None,
        }
    }
    fn writes(&self) -> bool {
        self.method == Method::PUT || self.method == Method::POST || self.method == Method::PATCH
    }
}

/// The registry's authentication scheme, learned from its first challenge.
#[derive(Debug, Clone)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Debug, Default)]
struct Host {
    /// "https" or "http", once known
    scheme: Option<&'static str>,
    challenge: Option<Challenge>,
}

/// Everything shared by the handles of one run.
pub(crate) struct Shared {
    http: Http,
    pub(crate) opts: super::RegistryOptions,
    hosts: Mutex<HashMap<String, Host>>,
    /// (registry, repository, push) → token
    tokens: Mutex<HashMap<(String, String, bool), SecretString>>,
    creds: Mutex<HashMap<String, Credentials>>,
    /// registry → whether its referrers API answered (true) or said "not here" (false: 404, 400, 406,
    /// another type) this run
    pub(crate) referrers_api: Mutex<HashMap<String, bool>>,
    /// registry → whether it took a blob in one `POST …/uploads/?digest=` (true: `201`) or opened a
    /// session instead (false: `202`, or it refused the form)
    pub(crate) monolithic: Mutex<HashMap<String, bool>>,
    /// (registry, digest) → the repositories that blob is known to be in: pushed, mounted, or named by a
    /// manifest that was accepted, this run (at most [`MAX_KNOWN_BLOBS`] entries)
    pub(crate) known_blobs: Mutex<HashMap<(String, String), HashSet<String>>>,
}

/// The most (registry, digest) pairs remembered in [`Shared::known_blobs`]; past it, blobs are
/// uploaded as if unknown (correct, one or two requests more each).
pub(crate) const MAX_KNOWN_BLOBS: usize = 16_384;

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// True for the names go-containerregistry treats as local (plain HTTP allowed after HTTPS failed):
/// `localhost:PORT`, `*.localhost[:PORT]`, `127.0.0.1[:PORT]`, `[::1]`/`::1`. Bare `localhost` (port
/// 443) is not local.
pub(crate) fn is_local_registry(registry: &str) -> bool {
    let (host, port) = match registry.rsplit_once(':') {
        Some((h, p))
            if !h.ends_with(':') && !p.contains(']') && p.chars().all(|c| c.is_ascii_digit()) =>
        {
            (h, Some(p))
        }
        _ => (registry, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host == "localhost" && port.is_some())
        || host.ends_with(".localhost")
        || host == "127.0.0.1"
        || host == "::1"
        || registry == "::1"
}

/// `WWW-Authenticate: Scheme k="v", k2="v2"` → (scheme lower-cased, params).
fn parse_challenge(value: &str) -> (String, HashMap<String, String>) {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let mut params = HashMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (val, next) = if let Some(q) = after.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => out.push(c),
                }
            }
            (out, &q[end.min(q.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.insert(key, val);
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_ascii_lowercase(), params)
}

/// An OCI error answer: the `errors[].code`s and one line of message.
pub(crate) fn error_envelope(body: &[u8]) -> (Vec<String>, String) {
    #[derive(serde::Deserialize)]
    struct Env {
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<Env>(body) {
        Ok(e) if !e.errors.is_empty() => {
            let codes = e.errors.iter().map(|i| i.code.clone()).collect();
            let msg = e
                .errors
                .iter()
                .map(|i| {
                    if i.message.is_empty() {
                        i.code.clone()
                    } else if i.code.is_empty() {
                        i.message.clone()
                    } else {
                        format!("{}: {}", i.code, i.message)
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            (codes, net::body_message(msg.as_bytes()))
        }
        _ => (Vec::new(), net::body_message(body)),
    }
}

impl Shared {
    pub(crate) fn new(opts: super::RegistryOptions) -> Result<Self, OciError> {
        let defaults = net::HttpOptions::default();
        let http = Http::new(net::HttpOptions {
            // plain HTTP is decided here per registry (see the module doc); net checks the URL too
            allow_insecure: opts.allow_http,
            danger_accept_invalid_certs: opts.allow_insecure,
            ..defaults
        })
        .map_err(|e| OciError::Options(e.to_string()))?;
        Ok(Shared {
            http,
            opts,
            hosts: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            creds: Mutex::new(HashMap::new()),
            referrers_api: Mutex::new(HashMap::new()),
            monolithic: Mutex::new(HashMap::new()),
            known_blobs: Mutex::new(HashMap::new()),
        })
    }

    /// The credentials for `registry` (resolved once per registry).
    pub(crate) fn credentials(&self, registry: &str) -> Result<Credentials, OciError> {
        if let Some(c) = self
            .creds
            .lock()
            .ok()
            .and_then(|m| m.get(registry).cloned())
        {
            return Ok(c);
        }
        let creds = match (&self.opts.username, &self.opts.password) {
            (Some(u), Some(p)) if self.opts.scope.covers(registry) => Credentials::Basic {
                username: u.clone(),
                password: p.clone(),
            },
            _ => match &self.opts.docker_config {
                Some(path) => super::auth::from_docker_config(path, registry)?
                    .unwrap_or(Credentials::Anonymous),
                None => Credentials::Anonymous,
            },
        };
        if let Ok(mut m) = self.creds.lock() {
            m.insert(registry.to_string(), creds.clone());
        }
        Ok(creds)
    }

    /// The deadline of a request without one of its own ([`crate::net::Http::deadline`]).
    pub(crate) fn deadline(&self) -> std::time::Duration {
        self.http.deadline()
    }

    /// The scheme `registry` answered on (HTTPS until known otherwise).
    pub(crate) fn scheme(&self, registry: &str) -> &'static str {
        self.host(registry, |h| h.scheme).unwrap_or("https")
    }

    fn http_allowed(&self, registry: &str) -> bool {
        self.opts.allow_http || is_local_registry(registry)
    }

    fn host<T>(&self, registry: &str, f: impl FnOnce(&mut Host) -> T) -> T {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        f(hosts.entry(registry.to_string()).or_default())
    }

    fn basic(creds: &Credentials) -> Option<String> {
        match creds {
            Credentials::Basic {
                username, password, ..
            } => Some(format!(
                "Basic {}",
                B64.encode(format!("{username}:{}", password.expose()))
            )),
            Credentials::Anonymous => None,
        }
    }

    /// The `Authorization` value for a request, from what is known already.
    fn authorization(
        &self,
        registry: &str,
        req: &Req,
        push: bool,
    ) -> Result<Option<String>, OciError> {
        let challenge = self.host(registry, |h| h.challenge.clone());
        Ok(match challenge {
            None => None,
            Some(Challenge::Basic) => Self::basic(&self.credentials(registry)?),
            Some(Challenge::Bearer { .. }) => {
                let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
                let key = |p: bool| (registry.to_string(), req.repository.clone(), p);
                tokens
                    .get(&key(true))
                    .or_else(|| if push { None } else { tokens.get(&key(false)) })
                    .map(|t| format!("Bearer {}", t.expose()))
            }
        })
    }

    /// Sends `req` to `registry`, answering an authentication challenge once; returns the answer
    /// whatever its status (except 401 after authenticating, which is an error here).
    pub(crate) async fn send(
        &self,
        registry: &str,
        req: &Req,
        push: bool,
        counter: &Requests,
    ) -> Result<reqwest::Response, OciError> {
        let push = push || req.writes();
        let mut refreshed = false;
        // A registry known to want bearer tokens: a repository or scope without a token yet gets one
        // before its first request (saves the 401 that would teach what is already known).
        if let Some(Challenge::Bearer { realm, service }) =
            self.host(registry, |h| h.challenge.clone())
        {
            if self.authorization(registry, req, push)?.is_none() {
                self.renew_token(registry, &realm, service.as_deref(), req, push, counter)
                    .await?;
            }
        }
        loop {
            let auth = self.authorization(registry, req, push)?;
            let sent_auth = auth.is_some();
            let resp = self.send_once(registry, req, auth).await?;
            counter.add();
            if resp.status() != StatusCode::UNAUTHORIZED || refreshed {
                if resp.status() == StatusCode::UNAUTHORIZED {
                    return Err(OciError::Unauthorized {
                        registry: registry.to_string(),
                        reference: req.what.clone(),
                        had_credentials: self.credentials(registry)?.is_some(),
                    });
                }
                return Ok(resp);
            }
            refreshed = true;
            let Some((scheme, params)) = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(parse_challenge)
            else {
                return Ok(resp);
            };
            let creds = self.credentials(registry)?;
            match scheme.as_str() {
                "basic" => {
                    if !creds.is_some() || sent_auth {
                        return Err(OciError::Unauthorized {
                            registry: registry.to_string(),
                            reference: req.what.clone(),
                            had_credentials: creds.is_some(),
                        });
                    }
                    self.host(registry, |h| h.challenge = Some(Challenge::Basic));
                }
                "bearer" => {
                    let Some(realm) = params.get("realm").cloned() else {
                        return Ok(resp);
                    };
                    let service = params.get("service").cloned();
                    self.host(registry, |h| {
                        h.challenge = Some(Challenge::Bearer {
                            realm: realm.clone(),
                            service: service.clone(),
                        });
                    });
                    self.renew_token(registry, &realm, service.as_deref(), req, push, counter)
                        .await?;
                }
                _ => return Ok(resp),
            }
        }
    }

    /// Fetches a token for `req`'s repository (`pull`, or `pull,push` when `push`) from the token
    /// service at `realm` with `registry`'s credentials ([`Shared::fetch_token`]) and caches it for the
    /// run under (registry, repository, push), replacing the one there.
    async fn renew_token(
        &self,
        registry: &str,
        realm: &str,
        service: Option<&str>,
        req: &Req,
        push: bool,
        counter: &Requests,
    ) -> Result<(), OciError> {
        let token = self
            .fetch_token(registry, realm, service, req, push, counter)
            .await?;
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.insert((registry.to_string(), req.repository.clone(), push), token);
        Ok(())
    }

    /// One token exchange at `realm` (distribution's token spec: `service`, `scope`, Basic credentials
    /// when `registry` has some); the token, not cached (see [`Shared::renew_token`]).
    async fn fetch_token(
        &self,
        registry: &str,
        realm: &str,
        service: Option<&str>,
        req: &Req,
        push: bool,
        counter: &Requests,
    ) -> Result<SecretString, OciError> {
        let creds = &self.credentials(registry)?;
        let scope = format!(
            "repository:{}:{}",
            req.repository,
            if push { "pull,push" } else { "pull" }
        );
        let mut url = reqwest::Url::parse(realm).map_err(|e| OciError::Registry {
            registry: registry.to_string(),
            reference: req.what.clone(),
            status: 401,
            message: format!("its token service `{realm}` is not a URL: {e}"),
            code: None,
        })?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            q.append_pair("scope", &scope);
        }
        let basic = Self::basic(creds);
        let resp = self
            .http
            .send(url.as_str(), |c, u| {
                let r = c.get(u);
                match &basic {
                    Some(b) => r.header(AUTHORIZATION, b),
                    None => r,
                }
            })
            .await
            .map_err(|e| OciError::Unreachable {
                registry: registry.to_string(),
                reason: e.to_string(),
                https: true,
            })?;
        counter.add();
        let status = resp.status();
        let body = net::read_answer(resp, url.as_str(), TOKEN_ANSWER, self.http.deadline())
            .await
            .map_err(|e| body_error(registry, &req.what, "the token service's answer", e))?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(OciError::Unauthorized {
                registry: registry.to_string(),
                reference: req.what.clone(),
                had_credentials: creds.is_some(),
            });
        }
        if !status.is_success() {
            return Err(OciError::Registry {
                registry: registry.to_string(),
                reference: req.what.clone(),
                status: status.as_u16(),
                message: format!("its token service answered: {}", error_envelope(&body).1),
                code: None,
            });
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let t: Token = serde_json::from_slice(&body).map_err(|e| OciError::Registry {
            registry: registry.to_string(),
            reference: req.what.clone(),
            status: status.as_u16(),
            message: format!("its token service's answer is not a token: {e}"),
            code: None,
        })?;
        t.token
            .filter(|t| !t.is_empty())
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .map(SecretString::from)
            .ok_or_else(|| OciError::Registry {
                registry: registry.to_string(),
                reference: req.what.clone(),
                status: status.as_u16(),
                message: "its token service's answer holds no token".into(),
                code: None,
            })
    }

    /// One exchange, choosing the scheme (see the module doc).
    async fn send_once(
        &self,
        registry: &str,
        req: &Req,
        auth: Option<String>,
    ) -> Result<reqwest::Response, OciError> {
        let absolute = req.target.starts_with("https://") || req.target.starts_with("http://");
        let known = self.host(registry, |h| h.scheme);
        let schemes: &[&'static str] = match (absolute, known) {
            (true, _) => &[""],
            (false, Some("http")) => &["http"],
            (false, Some(_)) => &["https"],
            (false, None) if self.http_allowed(registry) => &["https", "http"],
            (false, None) => &["https"],
        };
        let mut first_error = None;
        for scheme in schemes {
            let url = if absolute {
                req.target.clone()
            } else {
                format!("{scheme}://{registry}{}", req.target)
            };
            // Credentials go only to the registry itself: an absolute URL (a Location) on another
            // host gets none.
            let same_host = !absolute
                || reqwest::Url::parse(&url).is_ok_and(|u| {
                    let host = match (u.host_str(), u.port()) {
                        (Some(h), Some(p)) => format!("{h}:{p}"),
                        (Some(h), None) => h.to_string(),
                        _ => String::new(),
                    };
                    host == registry || host.trim_start_matches('[').replace("]:", ":") == registry
                });
            let auth = auth.as_ref().filter(|_| same_host);
            // The HTTPS attempt that has a plain-HTTP fallback is a probe: one try, no retries.
            let retries = if schemes.len() > 1 && *scheme == "https" {
                0
            } else {
                u32::MAX
            };
            let result = self
                .http
                .send_with(&url, retries, |c, u| {
                    let mut r = c.request(req.method.clone(), u);
                    if let Some(a) = &req.accept {
                        r = r.header(ACCEPT, a);
                    }
                    if let Some(a) = auth {
                        r = r.header(AUTHORIZATION, a);
                    }
                    if let Some(t) = &req.content_type {
                        r = r.header(CONTENT_TYPE, t);
                    }
                    if let Some(t) = req.timeout {
                        r = r.timeout(t);
                    }
                    match &req.body {
                        Some(b) => r.body(b.clone()),
                        None if req.method == Method::PUT || req.method == Method::POST => {
                            r.header(reqwest::header::CONTENT_LENGTH, 0)
                        }
                        None => r,
                    }
                })
                .await;
            match result {
                Ok(resp) => {
                    if !absolute {
                        // A plain-HTTP fallback that reaches a TLS server tells nothing new: the
                        // HTTPS error stands.
                        if *scheme == "http"
                            && resp.status() == StatusCode::BAD_REQUEST
                            && first_error.is_some()
                        {
                            let body = net::read_answer(
                                resp,
                                &url,
                                ERROR_ANSWER,
                                req.timeout.unwrap_or(self.http.deadline()),
                            )
                            .await
                            .unwrap_or_default();
                            // Go's TLS server says so in the body; a HEAD answer has none.
                            if req.method == Method::HEAD
                                || String::from_utf8_lossy(&body).contains("HTTPS server")
                            {
                                break;
                            }
                            return Err(OciError::Registry {
                                registry: registry.to_string(),
                                reference: req.what.clone(),
                                status: 400,
                                message: error_envelope(&body).1,
                                code: None,
                            });
                        }
                        self.host(registry, |h| h.scheme = Some(scheme));
                    }
                    return Ok(resp);
                }
                Err(net::HttpError::TimedOut { .. }) => {
                    return Err(OciError::TimedOut {
                        registry: registry.to_string(),
                        reference: req.what.clone(),
                        what: format!(
                            "{} s for {} {}",
                            req.timeout
                                .unwrap_or(net::HttpOptions::default().timeout)
                                .as_secs(),
                            req.method,
                            if absolute {
                                "an upload"
                            } else {
                                "this request"
                            }
                        ),
                    })
                }
                Err(e) => {
                    if first_error.is_none() {
                        first_error = Some(e);
                    }
                }
            }
        }
        let reason = first_error.map_or_else(|| "no answer".to_string(), |e| e.to_string());
        Err(OciError::Unreachable {
            registry: registry.to_string(),
            reason,
            https: !matches!(known, Some("http")),
        })
    }

    /// An error answer (status ≥ 400) as an [`OciError`] for `what`: 401 → unauthorized, 403 / `DENIED`
    /// → denied, 404 → not found, anything else with the registry's codes and message.
    pub(crate) async fn status_error(
        &self,
        registry: &str,
        what: &str,
        action: &'static str,
        resp: reqwest::Response,
    ) -> OciError {
        let status = resp.status();
        let url = resp.url().to_string();
        let body = net::read_answer(resp, &url, ERROR_ANSWER, self.http.deadline())
            .await
            .unwrap_or_default();
        let (codes, message) = error_envelope(&body);
        if status == StatusCode::FORBIDDEN || codes.iter().any(|c| c == "DENIED") {
            return OciError::Denied {
                registry: registry.to_string(),
                reference: what.to_string(),
                action,
            };
        }
        if status == StatusCode::NOT_FOUND {
            return OciError::NotFound {
                reference: what.to_string(),
            };
        }
        OciError::Registry {
            registry: registry.to_string(),
            reference: what.to_string(),
            status: status.as_u16(),
            message,
            code: codes.into_iter().next(),
        }
    }
}

/// The `rel="next"` target of a `Link` header, if any.
pub(crate) fn link_next(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().to_ascii_lowercase().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                if let Some(t) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
                    return Some(t.to_string());
                }
            }
        }
    }
    None
}

/// A header as text.
pub(crate) fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_registries_are_those_go_containerregistry_names() {
        for r in [
            "localhost:5000",
            "127.0.0.1:5000",
            "127.0.0.1",
            "[::1]:5000",
            "::1",
            "reg.localhost:80",
            "x.localhost",
        ] {
            assert!(is_local_registry(r), "{r}");
        }
        for r in [
            "localhost",
            "127.0.0.2:5000",
            "10.0.0.5:5000",
            "ghcr.io",
            "registry.local:5000",
            "x127.0.0.1y:5",
        ] {
            assert!(!is_local_registry(r), "{r}");
        }
    }

    #[test]
    fn challenges_parse() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(s, "bearer");
        assert_eq!(p["realm"], "https://auth.example/token");
        assert_eq!(p["service"], "registry.example");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
        let (s, p) = parse_challenge(r#"Basic realm="ferrosign-test""#);
        assert_eq!(s, "basic");
        assert_eq!(p["realm"], "ferrosign-test");
    }

    #[test]
    fn link_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(r#"</v2/a/referrers/sha256:x?n=1&last=y>; rel="next""#),
        );
        assert_eq!(
            link_next(&h).as_deref(),
            Some("/v2/a/referrers/sha256:x?n=1&last=y")
        );
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(r#"<x>; rel="prev""#),
        );
        assert_eq!(link_next(&h), None);
    }

    #[test]
    fn error_envelopes() {
        let (codes, msg) = error_envelope(
            br#"{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{}}]}"#,
        );
        assert_eq!(codes, vec!["MANIFEST_INVALID"]);
        assert_eq!(msg, "MANIFEST_INVALID: manifest invalid");
        assert_eq!(error_envelope(b"plain text").1, "plain text");
    }
}
