//! Test-only: a recorded Rekor v2 signing made by the fake Sigstore with real cryptography
//! (`testdata/rekor_v2/README.md`: its trusted root, a key-signed and a keyless bundle, each with a
//! `hashedrekord` 0.0.2 entry and an RFC 3161 timestamp), and a loopback server giving one canned HTTP
//! answer, for the unit tests of the Rekor v2 and TSA answer checks (issue 16's mutation run), with an
//! HTTP client that does not retry ([`http_once`]), so that a canned failure is answered once. The
//! server is [`crate::net::loopback::serving`].

use crate::signing::PublicKey;
use crate::sigstore::fulcio::{check_certificate, SigningCertificate};
use crate::sigstore::trust::{TrustRoot, TrustSource};
use crate::sigstore::tsa::SignedTimestamp;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The signed file's content.
pub(crate) const CONTENT: &[u8] = b"rekor v2 fixture\n";
/// The identity (SAN) of the keyless bundle's certificate.
pub(crate) const IDENTITY: &str =
    "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
/// The OIDC issuer recorded in that certificate.
pub(crate) const ISSUER: &str = "https://token.actions.githubusercontent.com";

const TRUSTED_ROOT: &str = include_str!("testdata/rekor_v2/trusted_root.json");
/// The key-signed bundle (`sign-blob --key`).
pub(crate) const KEY_BUNDLE: &str = include_str!("testdata/rekor_v2/key.json");
/// The keyless bundle (`sign-blob --identity-token`).
pub(crate) const KEYLESS_BUNDLE: &str = include_str!("testdata/rekor_v2/keyless.json");
const KEY_PUB: &str = include_str!("testdata/rekor_v2/key.pub");

/// The instance's trusted root as JSON (to be altered, then [`trust_from`]).
pub(crate) fn trusted_root_json() -> serde_json::Value {
    serde_json::from_str(TRUSTED_ROOT).unwrap()
}

/// A trusted root from JSON.
pub(crate) fn trust_from(json: &serde_json::Value) -> TrustRoot {
    TrustRoot::parse(
        &json.to_string(),
        TrustSource::File("testdata/rekor_v2/trusted_root.json".into()),
    )
    .unwrap()
}

/// The instance's trusted root.
pub(crate) fn trust() -> TrustRoot {
    trust_from(&trusted_root_json())
}

/// SHA-256 of [`CONTENT`].
pub(crate) fn digest() -> [u8; 32] {
    Sha256::digest(CONTENT).into()
}

/// One recorded signing.
pub(crate) struct Signed {
    /// the log's entry (`tlogEntries[0]`)
    pub(crate) entry: serde_json::Value,
    /// the signature bytes
    pub(crate) signature: Vec<u8>,
    /// the TSA's whole DER `TimeStampResp`
    pub(crate) timestamp: Vec<u8>,
    /// the bundle's leaf certificate, DER (keyless only)
    pub(crate) leaf_der: Option<Vec<u8>>,
}

fn signed(bundle: &str) -> Signed {
    let b: serde_json::Value = serde_json::from_str(bundle).unwrap();
    let m = &b["verificationMaterial"];
    let b64 = |v: &serde_json::Value| B64.decode(v.as_str().unwrap()).unwrap();
    Signed {
        entry: m["tlogEntries"][0].clone(),
        signature: b64(&b["messageSignature"]["signature"]),
        timestamp: b64(&m["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"]),
        leaf_der: m.pointer("/certificate/rawBytes").map(b64),
    }
}

/// The key-signed bundle's parts.
pub(crate) fn key_signed() -> Signed {
    signed(KEY_BUNDLE)
}

/// The keyless bundle's parts.
pub(crate) fn keyless_signed() -> Signed {
    signed(KEYLESS_BUNDLE)
}

/// The key that signed [`key_signed`].
pub(crate) fn key() -> PublicKey {
    PublicKey::from_pem(KEY_PUB).unwrap()
}

/// [`keyless_signed`]'s certificate, checked as signing checks Fulcio's answer (at the time its
/// timestamp attests, inside its ten minutes).
pub(crate) fn certificate(trust: &TrustRoot) -> SigningCertificate {
    let s = keyless_signed();
    let leaf = s.leaf_der.unwrap();
    let info = sigstore_verify::crypto::parse_certificate_info(
        &sigstore_verify::types::DerCertificate::from_bytes(&leaf),
    )
    .unwrap();
    let ours = PublicKey::from_der(info.public_key.as_bytes()).unwrap();
    let body = B64.encode(&leaf);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    check_certificate(&[pem], &ours, trust, info.not_before).unwrap()
}

/// A timestamp as signing keeps it (only `response` goes into a bundle).
pub(crate) fn timestamp(response: Vec<u8>) -> SignedTimestamp {
    SignedTimestamp {
        response,
        time: jiff::Timestamp::UNIX_EPOCH,
        url: "http://127.0.0.1:1/api/v1/timestamp".into(),
    }
}

/// A loopback server answering every request with `status` and `body` (and `Connection: close`);
/// returns its base URL, `http://127.0.0.1:PORT`. Runs until the test process ends.
pub(crate) fn answering(status: u16, body: Vec<u8>) -> String {
    recording(status, body).0
}

/// [`answering`], and every request it received as text (request line, headers, body), in order.
pub(crate) fn recording(
    status: u16,
    body: Vec<u8>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let url = crate::net::loopback::serving(move |request| {
        record.lock().unwrap().push(request.text);
        crate::net::loopback::Answer {
            status,
            headers: Vec::new(),
            body: body.clone(),
        }
    });
    (url, seen)
}

/// An HTTP client with the default limits and no retries: each request is sent once.
pub(crate) fn http_once() -> crate::net::Http {
    crate::net::Http::new(crate::net::HttpOptions {
        retry: crate::net::Retry {
            retries: 0,
            ..crate::net::Retry::default()
        },
        ..crate::net::HttpOptions::default()
    })
    .unwrap()
}
