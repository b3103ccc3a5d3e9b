//! The only door to the network: one client per trust setting with timeouts, a user agent, and one retry
//! policy for every server (registries, Fulcio, Rekor, TSA, TUF, GitHub, Kubernetes). TLS is rustls.
//!
//! The policy: a connect timeout ([`HttpOptions::connect_timeout`]); a total deadline per request that
//! includes reading the whole body ([`HttpOptions::timeout`], reqwest's total timeout, which runs until the
//! body is consumed, so a server dripping one byte at a time is cut off too); retries, with exponential
//! backoff and jitter, only for connection errors, 408, 429 and 5xx (not 501), honouring `Retry-After`
//! (seconds or an HTTP date), bounded in count ([`Retry::retries`]) and in total waiting time
//! ([`Retry::max_wait`]). A timed-out request is not retried (it may have been a server that
//! drips), and a permanent 4xx is returned at once for the caller to turn into its own error.
//!
//! Plain `http://` is refused unless the URL's host is a loopback address (a local test or private
//! deployment the user named explicitly) or the caller passes `allow_insecure`. Bodies are read through
//! [`read_answer`] (or streamed by [`read_chunks`]), which stops at a named limit ([`AnswerLimit`]).

use std::time::Duration;

/// `ferrosign/<version>`.
pub(crate) const USER_AGENT: &str = concat!("ferrosign/", env!("CARGO_PKG_VERSION"));

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum HttpError {
    /// The URL cannot be parsed.
    #[error("invalid URL `{url}`: {reason}")]
    InvalidUrl {
        /// the URL
        url: String,
        /// why
        reason: String,
    },
    /// `http://` to a host that is not loopback, without `allow_insecure`.
    #[error("refusing plain HTTP to {0}")]
    InsecureRefused(String),
    /// The server could not be reached (after retries).
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// the URL
        url: String,
        /// the last cause
        reason: String,
    },
    /// The client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    /// An answer longer than its [`AnswerLimit`] (declared by `Content-Length`, or counted while
    /// reading); nothing past the limit was read.
    #[error("the answer from {url} is larger than {max_text}, the limit for {what}")]
    TooLarge {
        /// the URL (query and credentials removed)
        url: String,
        /// what such answers are, plural
        what: &'static str,
        /// the limit's name ([`AnswerLimit::name`])
        name: &'static str,
        /// the limit, bytes
        max: u64,
        /// the limit, e.g. `4 MiB`
        max_text: String,
    },
    /// No complete answer within the request's deadline (which includes reading the body).
    #[error("no complete answer from {url} within {} s", .after.as_secs())]
    TimedOut {
        /// the URL
        url: String,
        /// the deadline
        after: Duration,
    },
}

impl HttpError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            HttpError::InsecureRefused(_) => Some("use an https:// URL".into()),
            HttpError::TooLarge { .. } => Some(
                "check that the URL names the right service; ferrosign reads no more than the limit"
                    .into(),
            ),
            HttpError::Unreachable { .. } => {
                Some("check the URL and the network; transient faults were already retried".into())
            }
            HttpError::TimedOut { .. } => {
                Some("the server is too slow or stalled; check it, then retry".into())
            }
            _ => None,
        }
    }
}

/// The one retry policy, for every server ferrosign talks to (registries included): transient faults
/// (connection errors, 408/429/5xx but 501; not a request that ran out of its deadline) are retried
/// `retries` times, waiting `backoff`, then twice that, and so on (at most 64 times), plus up to 25%
/// jitter so that parallel signers do not retry in lock step; a `Retry-After` (seconds or an HTTP date)
/// is honoured; all waits of one request together stay within `max_wait` (a wait beyond it is not
/// started: the last answer stands).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Retry {
    /// attempts after the first
    pub(crate) retries: u32,
    /// the first wait; doubles each retry
    pub(crate) backoff: Duration,
    /// the most time spent waiting between attempts of one request, all retries together
    pub(crate) max_wait: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            retries: 3,
            backoff: Duration::from_millis(250),
            max_wait: Duration::from_secs(30),
        }
    }
}

impl Retry {
    /// Whether attempt number `attempt` (0 for the first retry) may still be made.
    pub(crate) fn allows(self, attempt: u32) -> bool {
        attempt < self.retries
    }

    /// How long to wait before retry number `attempt` (0 for the first).
    pub(crate) fn delay(self, attempt: u32) -> Duration {
        let base = self.backoff.saturating_mul(1 << attempt.min(6));
        let jitter = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
            % 1000;
        base + base.mul_f64(f64::from(jitter) / 4000.0)
    }
}

/// Client settings.
#[derive(Clone, Debug)]
pub(crate) struct HttpOptions {
    /// whole-request timeout
    pub(crate) timeout: Duration,
    /// connection timeout
    pub(crate) connect_timeout: Duration,
    /// how transient faults are retried
    pub(crate) retry: Retry,
    /// allow `http://` to any host
    pub(crate) allow_insecure: bool,
    /// TLS without certificate verification (a registry's `--allow-insecure-registry`); still HTTPS
    pub(crate) danger_accept_invalid_certs: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: Retry::default(),
            allow_insecure: false,
            danger_accept_invalid_certs: false,
        }
    }
}

/// TLS settings for one server, beyond the defaults.
#[derive(Debug, Default)]
pub(crate) struct TlsSettings {
    /// Trust only these roots (a PEM bundle) instead of the built-in ones.
    pub(crate) roots_pem: Option<Vec<u8>>,
    /// A client certificate (chain) and its private key, PEM, for mutual TLS.
    pub(crate) identity_pem: Option<crate::secret::SecretBytes>,
}

/// The HTTP client.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    opts: HttpOptions,
}

/// True for 127.0.0.0/8, ::1 and `localhost`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

impl Http {
    /// Builds the client.
    pub(crate) fn new(opts: HttpOptions) -> Result<Self, HttpError> {
        Self::with_tls(opts, &TlsSettings::default())
    }

    /// Builds a client for one server with its own TLS trust and client certificate (a Kubernetes API
    /// server named by a kubeconfig).
    pub(crate) fn with_tls(opts: HttpOptions, tls: &TlsSettings) -> Result<Self, HttpError> {
        let setup = |what: &str, e: reqwest::Error| {
            HttpError::Setup(format!("{what}: {}", error_chain(&e)))
        };
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(opts.timeout)
            .connect_timeout(opts.connect_timeout);
        if opts.danger_accept_invalid_certs {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Some(pem) = &tls.roots_pem {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| setup("cannot read the CA certificates", e))?;
            if roots.is_empty() {
                return Err(HttpError::Setup(
                    "the CA bundle holds no certificate".into(),
                ));
            }
            builder = builder.tls_certs_only(roots);
        }
        if let Some(pem) = &tls.identity_pem {
            let identity = reqwest::Identity::from_pem(pem.expose())
                .map_err(|e| setup("cannot read the client certificate and key", e))?;
            builder = builder.identity(identity);
        }
        let client = builder
            .build()
            .map_err(|e| HttpError::Setup(error_chain(&e)))?;
        Ok(Http { client, opts })
    }

    /// The deadline of one request, its whole answer included ([`HttpOptions::timeout`]), unless the
    /// request sets its own.
    pub(crate) fn deadline(&self) -> Duration {
        self.opts.timeout
    }

    /// Checks a URL against the plain-HTTP policy.
    pub(crate) fn check_url(&self, url: &str) -> Result<reqwest::Url, HttpError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| HttpError::InvalidUrl {
            url: redact_query(url),
            reason: e.to_string(),
        })?;
        match parsed.scheme() {
            "https" => Ok(parsed),
            "http" => {
                let host = parsed.host_str().unwrap_or_default();
                if self.opts.allow_insecure || is_loopback_host(host) {
                    Ok(parsed)
                } else {
                    Err(HttpError::InsecureRefused(redact_query(url)))
                }
            }
            other => Err(HttpError::InvalidUrl {
                url: redact_query(url),
                reason: format!("scheme `{other}` is not http(s)"),
            }),
        }
    }

    /// Sends the request `build` makes, retrying transient faults with exponential backoff.
    /// Returns the last response whatever its status (callers map statuses to their own errors), or an
    /// error when no response came.
    pub(crate) async fn send(
        &self,
        url: &str,
        build: impl Fn(&reqwest::Client, reqwest::Url) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, HttpError> {
        self.send_with(url, self.opts.retry.retries, build).await
    }

    /// [`Http::send`] with at most `retries` retries (0: one attempt, e.g. a probe whose failure has a
    /// fallback of its own).
    pub(crate) async fn send_with(
        &self,
        url: &str,
        retries: u32,
        build: impl Fn(&reqwest::Client, reqwest::Url) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, HttpError> {
        let parsed = self.check_url(url)?;
        let policy = self.opts.retry;
        let allows = |attempt: u32| attempt < retries && policy.allows(attempt);
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            let result = build(&self.client, parsed.clone()).send().await;
            let wait = match &result {
                Ok(resp) if is_transient(resp.status()) && allows(attempt) => {
                    Some(retry_after(resp.headers()).unwrap_or_else(|| policy.delay(attempt)))
                }
                Ok(_) => None,
                Err(e) if allows(attempt) && is_retryable(e) => Some(policy.delay(attempt)),
                Err(_) => None,
            };
            // A wait beyond the budget is not started: the last answer (or error) stands.
            let wait = wait.filter(|w| waited + *w <= policy.max_wait);
            match (result, wait) {
                (_, Some(wait)) => {
                    tokio::time::sleep(wait).await;
                    waited += wait;
                    attempt += 1;
                }
                (Ok(resp), None) => return Ok(resp),
                (Err(e), None) if e.is_timeout() => {
                    return Err(HttpError::TimedOut {
                        url: redact_query(url),
                        after: self.opts.timeout,
                    })
                }
                (Err(e), None) => {
                    return Err(HttpError::Unreachable {
                        url: redact_query(url),
                        reason: error_chain(&e),
                    })
                }
            }
        }
    }

    /// POSTs a JSON body (accepting JSON), with the retries of [`Http::send`].
    pub(crate) async fn post_json(
        &self,
        url: &str,
        body: String,
    ) -> Result<reqwest::Response, HttpError> {
        self.send(url, |c, u| {
            c.post(u)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::ACCEPT, "application/json")
                .body(body.clone())
        })
        .await
    }
}

/// 408, 429 and 5xx but 501.
pub(crate) fn is_transient(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error() && status != reqwest::StatusCode::NOT_IMPLEMENTED)
}

/// Errors worth another attempt: the connection could not be made, or broke before an answer came.
/// A timeout is not retried: the deadline covers the whole exchange, and a server that drips its answer
/// would only drip again.
fn is_retryable(e: &reqwest::Error) -> bool {
    !e.is_timeout() && (e.is_connect() || e.is_request())
}

/// `Retry-After` as a wait: whole seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past is no
/// wait. `None` when absent or unreadable.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(text).ok()?;
    let now = jiff::Timestamp::now();
    let secs = when.timestamp().as_second() - now.as_second();
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// The one "server message in one line" helper: a server's error answer as one short printable line —
/// the `message` field of a JSON body (Fulcio, Rekor, GitHub and Kubernetes all use it), else the text
/// itself; control characters and runs of white space become one space; cut at 300 characters.
/// Empty when the server said nothing.
pub(crate) fn server_message(body: &[u8]) -> String {
    let json = serde_json::from_slice::<serde_json::Value>(body).ok();
    let text = match json
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(|m| m.as_str())
    {
        Some(m) => m.to_string(),
        None => String::from_utf8_lossy(body).into_owned(),
    };
    one_line(&text)
}

/// Any text as one short printable line (see [`server_message`]).
pub(crate) fn one_line(text: &str) -> String {
    let text = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// A server's error answer for an error message: [`server_message`], or `(empty answer)`.
pub(crate) fn body_message(body: &[u8]) -> String {
    let m = server_message(body);
    if m.is_empty() {
        "(empty answer)".into()
    } else {
        m
    }
}

/// A bound on one answer's body: what such answers are (named in the error), the name of the limit
/// (its constant, named by the registry's errors) and the most bytes read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AnswerLimit {
    /// what such answers are, plural, e.g. `Fulcio answers`
    pub(crate) what: &'static str,
    /// the limit's name, e.g. `FULCIO_ANSWER`
    pub(crate) name: &'static str,
    /// the most bytes read
    pub(crate) max: u64,
}

/// Fulcio's certificate chain (`/api/v2/signingCert`): 1 MiB (leaf, intermediate and root are about
/// 3 KiB together).
pub(crate) const FULCIO_ANSWER: AnswerLimit = AnswerLimit {
    what: "Fulcio answers",
    name: "FULCIO_ANSWER",
    max: 1 << 20,
};
/// A Rekor entry (`/api/v1/log/entries`): 4 MiB. The entry holds the canonical body (a hashedrekord
/// or dsse entry stores hashes, a signature and a certificate: a few KiB), an inclusion proof of at most
/// 64 hashes and a checkpoint.
pub(crate) const REKOR_ANSWER: AnswerLimit = AnswerLimit {
    what: "Rekor answers",
    name: "REKOR_ANSWER",
    max: 4 << 20,
};
/// The Actions OIDC token service's answer: 64 KiB (a JWT of about 1 KiB in a small JSON object).
pub(crate) const TOKEN_ANSWER: AnswerLimit = AnswerLimit {
    what: "token service answers",
    name: "TOKEN_ANSWER",
    max: 64 << 10,
};
/// A GitHub or Kubernetes API answer (a repository public key, a created secret, an error): 1 MiB.
pub(crate) const API_ANSWER: AnswerLimit = AnswerLimit {
    what: "API answers",
    name: "API_ANSWER",
    max: 1 << 20,
};

/// Reads the body of `resp` (an answer from `url`), at most `limit.max` bytes: a `Content-Length`
/// beyond the limit is refused before reading, and a body that goes on past it is cut off there. The
/// request's total deadline (`deadline`: [`Http::deadline`], or the request's own) covers the reading.
/// The one reader of whole bodies, for every server (registries included).
///
/// Errors: [`HttpError::TooLarge`] naming the limit, [`HttpError::TimedOut`] naming the deadline, or
/// [`HttpError::Unreachable`] when the connection broke.
pub(crate) async fn read_answer(
    resp: reqwest::Response,
    url: &str,
    limit: AnswerLimit,
    deadline: Duration,
) -> Result<Vec<u8>, HttpError> {
    let mut out = Vec::new();
    read_chunks(resp, url, limit, deadline, |chunk| {
        out.extend_from_slice(chunk);
    })
    .await?;
    Ok(out)
}

/// Streams a response body to `sink` chunk by chunk, at most `limit.max` bytes in all, within
/// `deadline` (see [`read_answer`]); returns the number of bytes read.
pub(crate) async fn read_chunks(
    mut resp: reqwest::Response,
    url: &str,
    limit: AnswerLimit,
    deadline: Duration,
    mut sink: impl FnMut(&[u8]),
) -> Result<u64, HttpError> {
    let too_large = || HttpError::TooLarge {
        url: redact_query(url),
        what: limit.what,
        name: limit.name,
        max: limit.max,
        max_text: crate::fsutil::size_text(limit.max),
    };
    if resp.content_length().is_some_and(|n| n > limit.max) {
        return Err(too_large());
    }
    let mut total = 0u64;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                total += chunk.len() as u64;
                if total > limit.max {
                    return Err(too_large());
                }
                sink(&chunk);
            }
            Ok(None) => return Ok(total),
            Err(e) if e.is_timeout() => {
                return Err(HttpError::TimedOut {
                    url: redact_query(url),
                    after: deadline,
                })
            }
            Err(e) => {
                return Err(HttpError::Unreachable {
                    url: redact_query(url),
                    reason: error_chain(&e),
                })
            }
        }
    }
}

/// The URL without its query string (which may carry tokens) and without credentials
/// (`https://***@host/…`).
pub(crate) fn redact_query(url: &str) -> String {
    let url = crate::secret::redact_url_credentials(url);
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.into_owned(),
    }
}

/// An error and its causes, one line, without URLs' query strings.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts
        .into_iter()
        .map(|p| {
            p.split_whitespace()
                .map(|w| {
                    if w.contains("://") {
                        redact_query(w)
                    } else {
                        w.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
pub(crate) mod loopback;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        let h = Http::new(HttpOptions::default()).unwrap();
        assert!(h.check_url("http://127.0.0.1:5000/v2/").is_ok());
        assert!(h.check_url("http://[::1]:5000/").is_ok());
        assert!(h.check_url("http://localhost/").is_ok());
        assert!(matches!(
            h.check_url("http://example.com/"),
            Err(HttpError::InsecureRefused(_))
        ));
        assert!(h.check_url("https://example.com/").is_ok());
        assert!(h.check_url("ftp://x/").is_err());
        let h = Http::new(HttpOptions {
            allow_insecure: true,
            ..Default::default()
        })
        .unwrap();
        assert!(h.check_url("http://example.com/").is_ok());
    }

    #[test]
    fn transient_statuses() {
        use reqwest::StatusCode as S;
        for s in [
            S::TOO_MANY_REQUESTS,
            S::BAD_GATEWAY,
            S::SERVICE_UNAVAILABLE,
            S::INTERNAL_SERVER_ERROR,
        ] {
            assert!(is_transient(s));
        }
        for s in [
            S::NOT_FOUND,
            S::UNAUTHORIZED,
            S::NOT_IMPLEMENTED,
            S::CONFLICT,
        ] {
            assert!(!is_transient(s));
        }
    }

    #[test]
    fn server_messages_are_one_short_line() {
        assert_eq!(server_message(br#"{"message":"Not\nFound"}"#), "Not Found");
        assert_eq!(server_message(b"  plain\ttext \r\n"), "plain text");
        assert_eq!(server_message(b""), "");
        assert_eq!(body_message(b""), "(empty answer)");
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(500));
        assert_eq!(server_message(long.as_bytes()).chars().count(), 301);
    }

    #[test]
    fn retries_back_off_and_stop() {
        let r = Retry::default();
        assert!(r.allows(2) && !r.allows(3));
        assert!(r.delay(0) >= r.backoff && r.delay(0) <= r.backoff * 5 / 4);
        assert!(r.delay(2) >= r.backoff * 4);
    }

    #[test]
    fn query_strings_are_redacted() {
        assert_eq!(
            redact_query("https://x/token?code=abc"),
            "https://x/token?…"
        );
    }

    /// A loopback server answering each connection by its path: `/declared` (Content-Length 100),
    /// `/streamed` (100 bytes, no length), `/exact` (10 bytes), `/stall` (2 of 5 bytes, then nothing).
    fn canned_server() -> String {
        use std::io::{BufRead, BufReader, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { return };
                std::thread::spawn(move || {
                    let mut line = String::new();
                    let mut r = BufReader::new(conn.try_clone().unwrap());
                    r.read_line(&mut line).unwrap();
                    while r.read_line(&mut String::new()).unwrap() > 2 {}
                    let target = line.split(' ').nth(1).unwrap_or_default();
                    let path = target.split('?').next().unwrap_or_default().to_string();
                    let head = "HTTP/1.1 200 OK\r\nConnection: close\r\n";
                    let _ = match path.as_str() {
                        "/declared" => {
                            write!(conn, "{head}Content-Length: 100\r\n\r\n{}", "x".repeat(100))
                        }
                        "/streamed" => write!(conn, "{head}\r\n{}", "x".repeat(100)),
                        "/exact" => write!(conn, "{head}\r\n{}", "x".repeat(10)),
                        _ => {
                            let _ = write!(conn, "{head}Content-Length: 5\r\n\r\nxx");
                            std::thread::sleep(Duration::from_secs(5));
                            Ok(())
                        }
                    };
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn answers_are_read_up_to_their_named_limit_and_deadline() {
        let addr = canned_server();
        let limit = AnswerLimit {
            what: "test answers",
            name: "TEST_ANSWER",
            max: 10,
        };
        let h = Http::new(HttpOptions {
            timeout: Duration::from_millis(500),
            ..Default::default()
        })
        .unwrap();
        let read = |path: &'static str| {
            let (h, url) = (h.clone(), format!("http://{addr}{path}?token=secret"));
            async move {
                let resp = h.send(&url, reqwest::Client::get).await.unwrap();
                read_answer(resp, &url, limit, h.deadline()).await
            }
        };
        for path in ["/declared", "/streamed"] {
            let e = read(path).await.unwrap_err();
            assert!(
                matches!(
                    e,
                    HttpError::TooLarge {
                        name: "TEST_ANSWER",
                        max: 10,
                        ..
                    }
                ),
                "{path}: {e:?}"
            );
            assert_eq!(
                e.to_string(),
                format!("the answer from http://{addr}{path}?… is larger than 10 bytes, the limit for test answers")
            );
        }
        assert_eq!(read("/exact").await.unwrap(), b"x".repeat(10));
        let e = read("/stall").await.unwrap_err();
        assert!(
            matches!(e, HttpError::TimedOut { after, .. } if after == Duration::from_millis(500)),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn retries_then_reports_unreachable() {
        // A port nobody listens on: connection refused, retried, then one clear error.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let h = Http::new(HttpOptions {
            retry: Retry {
                retries: 2,
                backoff: Duration::from_millis(1),
                ..Retry::default()
            },
            ..Default::default()
        })
        .unwrap();
        let url = format!("http://127.0.0.1:{port}/x?token=secret");
        let err = h.send(&url, reqwest::Client::get).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("cannot reach http://127.0.0.1:{port}/x?…")),
            "{text}"
        );
        assert!(!text.contains("secret"));
    }
}
