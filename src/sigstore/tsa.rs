//! RFC 3161 timestamps: ask a timestamp authority (TSA) to date a signature, and check its answer
//! against the trusted root before it goes into a bundle or a `.sig` layer.
//!
//! Request (RFC 3161 section 2.4.1, encoded with RustCrypto's `x509-tsp`): a `TimeStampReq` whose
//! message imprint is SHA-256 over the raw signature bytes (what cosign v3 / sigstore-go and
//! sigstore-python hash), a random 64-bit nonce and `certReq` true (as sigstore-python sends), POSTed
//! with `Content-Type: application/timestamp-query`. Answer: a DER `TimeStampResp`, at most
//! [`MAX_RESPONSE`] bytes, whose status must be granted, whose `TSTInfo` must echo the nonce and the
//! message imprint (a token for another request is refused as such), and whose token must verify
//! against one of the trusted root's timestamp authorities
//! (`sigstore_tsa::verify_timestamp_for_authority`: imprint, CMS signature, the signer is the
//! authority's leaf, the chain to its root with the timeStamping EKU at the signed time, and the
//! authority's validity window). The whole `TimeStampResp` is kept: protobuf-specs stores the "DER
//! encoded TimeStampResponse" in `timestampVerificationData.rfc3161Timestamps[].signedTimestamp`, and
//! cosign's `.sig` layout base64s the same bytes into `dev.sigstore.cosign/rfc3161timestamp`.
//!
//! A 5xx or 429 is retried once (as cosign does) through the network door; a 4xx is the TSA refusing
//! the request, not the network.

use crate::net::{self, body_message, Http, HttpError, HttpOptions, Retry};
use crate::sigstore::trust::TrustRoot;
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use rand_core::RngCore;
use sha2::{Digest, Sha256};
use sigstore_verify::types::{SignatureBytes, TimestampToken};
use std::time::Duration;
use x509_cert::der::asn1::{Int, OctetString, Uint};
use x509_cert::der::{Any, Decode, Encode};
use x509_cert::spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// The largest answer accepted from a TSA: 1 MiB (cosign reads at most 1 MiB too; a response with its
/// certificate chain is a few KiB).
pub(crate) const MAX_RESPONSE: net::AnswerLimit = net::AnswerLimit {
    what: "timestamp authority answers",
    name: "MAX_RESPONSE",
    max: 1 << 20,
};

/// The OID of SHA-256 (2.16.840.1.101.3.4.2.1).
const SHA256_OID: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// What can go wrong getting a timestamp. Every message names the TSA's URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum TsaError {
    /// No answer (connection, timeout), after the retry.
    #[error("cannot reach the timestamp authority {url}: {reason}")]
    Unreachable {
        /// the TSA's URL
        url: String,
        /// the last cause
        reason: String,
    },
    /// The TSA failed (5xx, 429), after the retry.
    #[error("the timestamp authority {url} failed ({status}): {message}")]
    Failed {
        /// the TSA's URL
        url: String,
        /// HTTP status
        status: u16,
        /// its message
        message: String,
    },
    /// The TSA refused the request (4xx): not a network fault.
    #[error("the timestamp authority {url} refused the request ({status}): {message}")]
    Refused {
        /// the TSA's URL
        url: String,
        /// HTTP status
        status: u16,
        /// its message
        message: String,
    },
    /// The answer is not a granted RFC 3161 response for our request.
    #[error("the timestamp authority {url} answered something unusable: {reason}")]
    BadAnswer {
        /// the TSA's URL
        url: String,
        /// what is wrong
        reason: String,
    },
    /// The answer is a timestamp for another request: another nonce or another message imprint.
    #[error("the timestamp authority {url} answered another request: {reason}")]
    OtherRequest {
        /// the TSA's URL
        url: String,
        /// what differs
        reason: String,
    },
    /// The timestamp does not verify with any timestamp authority of the trusted root.
    #[error("the timestamp from {url} does not verify with {root}: {reason}")]
    Unverified {
        /// the TSA's URL
        url: String,
        /// the trusted root, as it names itself
        root: String,
        /// why
        reason: String,
    },
    /// The request could not be encoded (cannot happen for a SHA-256 digest and a 64-bit nonce).
    #[error("cannot encode a timestamp request: {0}")]
    Encode(String),
}

impl TsaError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> String {
        match self {
            TsaError::Unreachable { .. } => "check the network and the TSA URL (the signing config's tsaUrls, or --timestamp-server-url); it was retried once".into(),
            TsaError::Failed { .. } => "the timestamp authority is failing; it was retried once: re-run later".into(),
            TsaError::Refused { .. } | TsaError::BadAnswer { .. } => {
                "check the TSA URL: it must be the full RFC 3161 endpoint (e.g. https://timestamp.sigstore.dev/api/v1/timestamp)".into()
            }
            TsaError::OtherRequest { .. } => "a replayed or mixed-up answer (from the TSA, or something between it and ferrosign) is never used: re-run, and if it persists tell the TSA's operator".into(),
            TsaError::Unverified { .. } => "the trusted root must list this TSA's certificate chain: pass the trusted root of the instance whose TSA this is (--trusted-root), or check --timestamp-server-url".into(),
            TsaError::Encode(_) => "report this as a bug".into(),
        }
    }
}

/// A verified timestamp.
#[derive(Clone, Debug)]
pub(crate) struct SignedTimestamp {
    /// the whole DER `TimeStampResp`
    pub(crate) response: Vec<u8>,
    /// the time it attests
    pub(crate) time: jiff::Timestamp,
    /// the TSA that gave it
    pub(crate) url: String,
}

/// A timestamp authority.
#[derive(Clone, Debug)]
pub(crate) struct Tsa {
    http: Http,
    url: String,
}

impl Tsa {
    /// A client for the TSA at `url` (the full timestamp endpoint): 30 s per request, one retry.
    pub(crate) fn new(url: &str) -> Result<Self, TsaError> {
        let setup = |e: HttpError| TsaError::Unreachable {
            url: url.to_string(),
            reason: e.to_string(),
        };
        Ok(Tsa {
            http: Http::new(HttpOptions {
                retry: Retry {
                    retries: 1,
                    ..Retry::default()
                },
                timeout: Duration::from_secs(30),
                ..HttpOptions::default()
            })
            .map_err(setup)?,
            url: url.to_string(),
        })
    }

    /// Timestamps `signature` (the raw signature bytes) and checks the answer against `trust`.
    pub(crate) async fn timestamp(
        &self,
        signature: &[u8],
        trust: &TrustRoot,
    ) -> Result<SignedTimestamp, TsaError> {
        let mut nonce = [0u8; 8];
        rand_core::OsRng.fill_bytes(&mut nonce);
        let request = request_der(&Sha256::digest(signature), nonce)?;
        let resp = self
            .http
            .send(&self.url, |c, u| {
                c.post(u)
                    .header(reqwest::header::CONTENT_TYPE, "application/timestamp-query")
                    .header(reqwest::header::ACCEPT, "application/timestamp-reply")
                    .body(request.clone())
            })
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = resp.status();
        let body = net::read_answer(resp, &self.url, MAX_RESPONSE, self.http.deadline())
            .await
            .map_err(|e| match e {
                e @ HttpError::TooLarge { .. } => TsaError::BadAnswer {
                    url: self.url.clone(),
                    reason: e.to_string(),
                },
                e => self.unreachable(&e),
            })?;
        if !status.is_success() {
            let (url, status, message) = (self.url.clone(), status.as_u16(), body_message(&body));
            return Err(
                if net::is_transient(reqwest::StatusCode::from_u16(status).unwrap_or_default()) {
                    TsaError::Failed {
                        url,
                        status,
                        message,
                    }
                } else {
                    TsaError::Refused {
                        url,
                        status,
                        message,
                    }
                },
            );
        }
        self.check(body, signature, nonce, trust)
    }

    fn unreachable(&self, e: &HttpError) -> TsaError {
        TsaError::Unreachable {
            url: self.url.clone(),
            reason: match e {
                HttpError::Unreachable { reason, .. } => reason.clone(),
                other => other.to_string(),
            },
        }
    }

    /// Checks an answer: granted, our nonce, and a token that verifies with the trusted root.
    fn check(
        &self,
        response: Vec<u8>,
        signature: &[u8],
        nonce: [u8; 8],
        trust: &TrustRoot,
    ) -> Result<SignedTimestamp, TsaError> {
        let bad = |reason: String| TsaError::BadAnswer {
            url: self.url.clone(),
            reason,
        };
        let tst = tst_info(&response).map_err(bad)?;
        let expected = Int::from(Uint::new(&nonce).map_err(|e| bad(e.to_string()))?);
        let other = |reason: &str| TsaError::OtherRequest {
            url: self.url.clone(),
            reason: reason.to_string(),
        };
        if tst.nonce.as_ref() != Some(&expected) {
            return Err(other("its nonce is not the one sent"));
        }
        // sigstore-verify checks the imprint too, but its error reads as an untrusted TSA; a token
        // for other data is the TSA answering another request, which this says.
        let imprint = &tst.message_imprint;
        if imprint.hash_algorithm.oid != SHA256_OID
            || imprint.hashed_message.as_bytes() != Sha256::digest(signature).as_slice()
        {
            return Err(other(
                "its message imprint is not the SHA-256 of the signature sent",
            ));
        }
        let token = TimestampToken::new(response.clone());
        let sig = SignatureBytes::new(signature.to_vec());
        let authorities = trust.root().tsa_authorities();
        if authorities.is_empty() {
            return Err(TsaError::Unverified {
                url: self.url.clone(),
                root: trust.source().to_string(),
                reason: "it lists no timestamp authority".into(),
            });
        }
        let mut reasons = Vec::new();
        for authority in &authorities {
            match sigstore_verify::tsa::verify_timestamp_for_authority(&token, &sig, authority) {
                Ok(time) => {
                    return Ok(SignedTimestamp {
                        response,
                        time,
                        url: self.url.clone(),
                    })
                }
                Err(e) => reasons.push(e.to_string()),
            }
        }
        reasons.dedup();
        Err(TsaError::Unverified {
            url: self.url.clone(),
            root: trust.source().to_string(),
            reason: reasons.join("; "),
        })
    }
}

/// The DER `TimeStampReq` for a SHA-256 `digest` with `nonce`.
fn request_der(digest: &[u8], nonce: [u8; 8]) -> Result<Vec<u8>, TsaError> {
    let enc = |e: x509_cert::der::Error| TsaError::Encode(e.to_string());
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                oid: SHA256_OID,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(digest).map_err(enc)?,
        },
        req_policy: None,
        nonce: Some(Int::from(Uint::new(&nonce).map_err(enc)?)),
        cert_req: true,
        extensions: None,
    };
    req.to_der().map_err(enc)
}

/// The `TSTInfo` inside a granted `TimeStampResp`.
fn tst_info(response: &[u8]) -> Result<TstInfo, String> {
    let resp =
        TimeStampResp::from_der(response).map_err(|e| format!("not a DER TimeStampResp: {e}"))?;
    // PKIStatus granted (0) or grantedWithMods (1); anything else carries no token.
    let status = resp.status.status as u8;
    if status > 1 {
        let text = resp
            .status
            .status_string
            .as_ref()
            .map(|s| {
                s.iter()
                    .map(|u| u.as_str().to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        return Err(format!(
            "its status is {status} (not granted){}",
            if text.is_empty() {
                String::new()
            } else {
                format!(": {text}")
            }
        ));
    }
    let token: ContentInfo = resp
        .time_stamp_token
        .ok_or("it is granted but holds no timestamp token")?;
    let signed = token
        .content
        .decode_as::<SignedData>()
        .map_err(|e| format!("its token is not CMS SignedData: {e}"))?;
    let content = signed
        .encap_content_info
        .econtent
        .ok_or("its token has no content")?;
    let octets = content
        .decode_as::<OctetString>()
        .map_err(|e| format!("its token content is not an OCTET STRING: {e}"))?;
    TstInfo::from_der(octets.as_bytes()).map_err(|e| format!("its token holds no TSTInfo: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_rfc3161_with_sha256_nonce_and_cert_req() {
        let der = request_der(&[7u8; 32], [0x80, 1, 2, 3, 4, 5, 6, 7]).unwrap();
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.version, TspVersion::V1);
        assert_eq!(req.message_imprint.hash_algorithm.oid, SHA256_OID);
        assert_eq!(req.message_imprint.hashed_message.as_bytes(), &[7u8; 32]);
        assert!(req.cert_req);
        // A nonce with its high bit set stays positive (a leading zero byte).
        assert_eq!(req.nonce.unwrap().as_bytes()[0], 0);
    }

    #[test]
    fn answers_that_are_not_timestamps_are_refused_with_reasons() {
        assert!(tst_info(b"")
            .unwrap_err()
            .contains("not a DER TimeStampResp"));
        // SEQUENCE { SEQUENCE { INTEGER 2 } }: rejection, no token.
        let rejected = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02];
        assert!(tst_info(&rejected).unwrap_err().contains("status is 2"));
        // SEQUENCE { SEQUENCE { INTEGER 0 } }: granted without a token.
        let empty = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00];
        assert!(tst_info(&empty).unwrap_err().contains("no timestamp token"));
    }
}

/// The answer check and the request, on a recorded answer of the fake Sigstore's TSA (`fixtures`) and
/// canned loopback answers (issue 16's mutation run: each test fails with a mutant of this file).
#[cfg(test)]
mod recorded {
    use super::*;
    use crate::sigstore::fixtures;

    /// The recorded answer, the signature it dates and the nonce the signer had sent.
    fn answer() -> (Vec<u8>, Vec<u8>, [u8; 8]) {
        let s = fixtures::key_signed();
        let tst = tst_info(&s.timestamp).unwrap();
        let echoed = tst.nonce.unwrap();
        let bytes: Vec<u8> = echoed
            .as_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        let mut nonce = [0u8; 8];
        nonce[8 - bytes.len()..].copy_from_slice(&bytes);
        (s.timestamp, s.signature, nonce)
    }

    fn tsa() -> Tsa {
        Tsa::new("http://127.0.0.1:1/api/v1/timestamp").unwrap()
    }

    #[test]
    fn an_answer_counts_for_our_nonce_and_signature_and_a_trusted_authority_only() {
        let (response, signature, nonce) = answer();
        let trust = fixtures::trust();
        // A real answer is far below the size limit.
        assert!(
            (response.len() as u64) * 100 < MAX_RESPONSE.max,
            "{}",
            response.len()
        );
        let t = tsa()
            .check(response.clone(), &signature, nonce, &trust)
            .unwrap();
        assert_eq!(t.time.to_string(), "2026-11-30T07:33:58Z");
        assert_eq!(t.response, response);
        assert_eq!(t.url, "http://127.0.0.1:1/api/v1/timestamp");
        // Another request's nonce, another signature: another request.
        let mut other_nonce = nonce;
        other_nonce[7] ^= 1;
        let e = tsa()
            .check(response.clone(), &signature, other_nonce, &trust)
            .unwrap_err();
        assert!(
            matches!(&e, TsaError::OtherRequest { reason, .. } if reason.contains("nonce")),
            "{e}"
        );
        let e = tsa()
            .check(response.clone(), b"another signature", nonce, &trust)
            .unwrap_err();
        assert!(
            matches!(&e, TsaError::OtherRequest { reason, .. } if reason.contains("imprint")),
            "{e}"
        );
        // A root with no TSA, or with another one (the Fulcio CA's chain in its place).
        let mut root = fixtures::trusted_root_json();
        let fulcio_chain = root["certificateAuthorities"][0]["certChain"].clone();
        root["timestampAuthorities"][0]["certChain"] = fulcio_chain;
        let e = tsa()
            .check(
                response.clone(),
                &signature,
                nonce,
                &fixtures::trust_from(&root),
            )
            .unwrap_err();
        assert!(matches!(e, TsaError::Unverified { .. }), "{e}");
        root["timestampAuthorities"] = serde_json::json!([]);
        let e = tsa()
            .check(response, &signature, nonce, &fixtures::trust_from(&root))
            .unwrap_err();
        assert!(
            matches!(&e, TsaError::Unverified { reason, .. } if reason.contains("no timestamp authority")),
            "{e}"
        );
    }

    #[test]
    fn granted_with_modifications_is_granted() {
        // SEQUENCE { SEQUENCE { INTEGER 1 } }: grantedWithMods, read on to the (missing) token.
        let modified = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01];
        assert!(tst_info(&modified)
            .unwrap_err()
            .contains("no timestamp token"));
    }

    #[tokio::test]
    async fn a_tsa_is_asked_and_its_answer_checked_or_its_status_named() {
        let (response, signature, _) = answer();
        let trust = fixtures::trust();
        let at = |url: String| Tsa::new(&format!("{url}/api/v1/timestamp")).unwrap();
        // The recorded answer again: a fresh nonce was sent, so it answers another request.
        let e = at(fixtures::answering(200, response))
            .timestamp(&signature, &trust)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, TsaError::OtherRequest { reason, .. } if reason.contains("nonce")),
            "{e}"
        );
        let e = at(fixtures::answering(400, b"bad request".to_vec()))
            .timestamp(&signature, &trust)
            .await
            .unwrap_err();
        assert!(matches!(e, TsaError::Refused { status: 400, .. }), "{e}");
    }
}
