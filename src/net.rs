//! The only door to the network (registries aside, which `oci-client` reaches with the settings from
//! [`registry_config`]): one client with timeouts, a user agent, and retries with exponential backoff for
//! transient faults (connection errors, timeouts, 408/429/5xx). TLS is rustls.
//!
//! Plain `http://` is refused unless the URL's host is a loopback address (a local test or private
//! deployment the user named explicitly) or the caller passes `allow_insecure`.

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
        /// the limit, e.g. `4 MiB`
        max_text: String,
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
            _ => None,
        }
    }
}

/// The one retry policy, for every server ferrosign talks to (registries included): transient faults
/// (connection errors, timeouts, 408/429/5xx but 501) are retried `retries` times, waiting `backoff`,
/// then twice that, and so on (at most 64 times), plus up to 25% jitter so that parallel signers do not
/// retry in lock step; a `Retry-After` of at most 10 seconds is honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Retry {
    /// attempts after the first
    pub(crate) retries: u32,
    /// the first wait; doubles each retry
    pub(crate) backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            retries: 3,
            backoff: Duration::from_millis(250),
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
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: Retry::default(),
            allow_insecure: false,
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
        let parsed = self.check_url(url)?;
        let mut attempt = 0u32;
        loop {
            let result = build(&self.client, parsed.clone()).send().await;
            let retry_after = match &result {
                Ok(resp) if is_transient(resp.status()) && self.opts.retry.allows(attempt) => {
                    Some(retry_after(resp).unwrap_or_else(|| self.opts.retry.delay(attempt)))
                }
                Ok(_) => None,
                Err(e)
                    if self.opts.retry.allows(attempt)
                        && (e.is_connect() || e.is_timeout() || e.is_request()) =>
                {
                    Some(self.opts.retry.delay(attempt))
                }
                Err(_) => None,
            };
            match (result, retry_after) {
                (_, Some(wait)) => {
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                (Ok(resp), None) => return Ok(resp),
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

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = resp
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(10)))
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

/// A bound on one answer's body: what such answers are (named in the error) and the most bytes read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AnswerLimit {
    /// what such answers are, plural, e.g. `Fulcio answers`
    pub(crate) what: &'static str,
    /// the most bytes read
    pub(crate) max: u64,
}

/// Fulcio's certificate chain (`/api/v2/signingCert`): 1 MiB (leaf, intermediate and root are about
/// 3 KiB together).
pub(crate) const FULCIO_ANSWER: AnswerLimit = AnswerLimit {
    what: "Fulcio answers",
    max: 1 << 20,
};
/// A Rekor entry (`/api/v1/log/entries`): 4 MiB. The entry holds the canonical body (a hashedrekord
/// or dsse entry stores hashes, a signature and a certificate: a few KiB), an inclusion proof of at most
/// 64 hashes and a checkpoint.
pub(crate) const REKOR_ANSWER: AnswerLimit = AnswerLimit {
    what: "Rekor answers",
    max: 4 << 20,
};
/// The Actions OIDC token service's answer: 64 KiB (a JWT of about 1 KiB in a small JSON object).
pub(crate) const TOKEN_ANSWER: AnswerLimit = AnswerLimit {
    what: "token service answers",
    max: 64 << 10,
};
/// A GitHub or Kubernetes API answer (a repository public key, a created secret, an error): 1 MiB.
pub(crate) const API_ANSWER: AnswerLimit = AnswerLimit {
    what: "API answers",
    max: 1 << 20,
};

/// Reads the body of `resp` (an answer from `url`), at most `limit.max` bytes: a `Content-Length`
/// beyond the limit is refused before reading, and a body that goes on past it is cut off there
/// ([`HttpError::TooLarge`]). The request's total deadline ([`HttpOptions::timeout`]) covers the
/// reading. Errors: [`HttpError::TooLarge`], or [`HttpError::Unreachable`] when the connection broke.
pub(crate) async fn read_answer(
    mut resp: reqwest::Response,
    url: &str,
    limit: AnswerLimit,
) -> Result<Vec<u8>, HttpError> {
    let too_large = || HttpError::TooLarge {
        url: redact_query(url),
        what: limit.what,
        max_text: crate::fsutil::size_text(limit.max),
    };
    if resp.content_length().is_some_and(|n| n > limit.max) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if (out.len() + chunk.len()) as u64 > limit.max {
                    return Err(too_large());
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
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
