//! Test-only: a loopback HTTP server answering each request as a function says, for unit tests of
//! clients of services the rules let us fake (Rekor, Fulcio, TSA, the GitHub API:
//! `crate::sigstore::fixtures`) and of the registry client against a registry in memory
//! (`crate::oci::memory`). One request per connection, `Connection: close`.

/// One request a [`serving`] server received.
pub(crate) struct Request {
    /// `GET`, `PUT`, …
    pub(crate) method: String,
    /// the request target (path and query)
    pub(crate) target: String,
    /// the header lines, names lowercased, values trimmed
    pub(crate) headers: Vec<(String, String)>,
    /// the body (`Content-Length` bytes)
    pub(crate) body: Vec<u8>,
    /// request line, headers and body as text
    pub(crate) text: String,
}

impl Request {
    /// The first header named `name` (lowercase).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a [`serving`] server answers.
#[derive(Clone)]
pub(crate) struct Answer {
    /// the status code
    pub(crate) status: u16,
    /// header lines besides `Connection` and `Content-Length`
    pub(crate) headers: Vec<(String, String)>,
    /// the body (not sent to a `HEAD`, whose `Content-Length` still says its size)
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// `status` with `body` and no other header.
    pub(crate) fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Answer {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The same answer with the header `name: value` added.
    pub(crate) fn with(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// A loopback server answering each request (one per connection, `Connection: close`) with what
/// `answer` says; returns its base URL, `http://127.0.0.1:PORT`. A TLS handshake is refused (the
/// connection closed), as a plain-HTTP registry does, so that clients trying HTTPS first fall back.
/// Runs until the test process ends.
pub(crate) fn serving(answer: impl Fn(Request) -> Answer + Send + Sync + 'static) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let answer = std::sync::Arc::new(answer);
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { return };
            let answer = answer.clone();
            std::thread::spawn(move || {
                // 0x16: a TLS handshake record
                let mut first = [0u8; 1];
                if conn.peek(&mut first).unwrap_or(0) == 0 || first[0] == 0x16 {
                    return;
                }
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let (mut text, mut headers) = (String::new(), Vec::new());
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if !text.is_empty() {
                        if let Some((name, value)) = line.split_once(':') {
                            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
                        }
                    }
                    text.push_str(&line);
                }
                let length = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0usize);
                let mut body = vec![0u8; length];
                let _ = r.read_exact(&mut body);
                text.push_str("\r\n");
                text.push_str(&String::from_utf8_lossy(&body));
                let mut words = text.split_whitespace();
                let method = words.next().unwrap_or_default().to_string();
                let target = words.next().unwrap_or_default().to_string();
                let head = method == "HEAD";
                let a = answer(Request {
                    method,
                    target,
                    headers,
                    body,
                    text,
                });
                let mut out = format!(
                    "HTTP/1.1 {} X\r\nConnection: close\r\nContent-Length: {}\r\n",
                    a.status,
                    a.body.len()
                );
                for (name, value) in &a.headers {
                    out.push_str(&format!("{name}: {value}\r\n"));
                }
                out.push_str("\r\n");
                let _ = conn.write_all(out.as_bytes());
                if !head {
                    let _ = conn.write_all(&a.body);
                }
            });
        }
    });
    url
}
