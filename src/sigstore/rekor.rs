//! Rekor (v1 API): record a signature as a `hashedrekord` v0.0.1 entry (a signature over a digest) or a
//! `dsse` v0.0.1 entry (a DSSE envelope, as cosign v3 logs its image signatures), fetch the existing entry
//! when the log already has it (409), and check what the log answered before anyone relies on it
//! ([`RekorEntry::check`]): the entry is ours, its signed entry timestamp (SET) and checkpoint verify with
//! the trusted log key, and the inclusion proof leads from our entry to the checkpoint's root (RFC 6962).
//! The checks are sigstore-verify's (on a bundle made of the answer), not a second implementation.
//!
//! Also renders the entry as cosign's `dev.sigstore.cosign/bundle` annotation and as a Sigstore bundle's
//! `tlogEntries[]` item.

use crate::net::{body_message, Http, HttpError};
use crate::signing::dsse::Envelope;
use crate::signing::PublicKey;
use crate::sigstore::bundle::{Bundle, PublicKeyIdentifier, VerificationMaterial, X509Certificate};
use crate::sigstore::fulcio::SigningCertificate;
use crate::sigstore::trust::TrustRoot;
use crate::sigstore::verify::{check_logged, LogApi};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Who made the signature a log entry records (for [`RekorEntry::check`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum LoggedBy<'a> {
    /// a key (`hashedrekord` with the public key)
    Key(&'a PublicKey),
    /// a Fulcio certificate (`hashedrekord` with the certificate)
    Certificate(&'a SigningCertificate),
}

/// What can go wrong recording or checking an entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum RekorError {
    /// Rekor could not be reached.
    #[error("cannot reach Rekor: {0}")]
    Http(#[from] HttpError),
    /// Rekor refused the entry (4xx).
    #[error("Rekor at {url} refused the entry ({status}): {message}")]
    Refused {
        /// the Rekor URL
        url: String,
        /// HTTP status
        status: u16,
        /// its message
        message: String,
    },
    /// Rekor failed (5xx), after retries.
    #[error("Rekor at {url} failed ({status}): {message}")]
    Failed {
        /// the Rekor URL
        url: String,
        /// HTTP status
        status: u16,
        /// its message
        message: String,
    },
    /// The answer cannot be read.
    #[error("Rekor's answer cannot be read: {0}")]
    BadAnswer(String),
    /// The answer does not hold up: bad SET, bad proof, untrusted log, no verifiable time.
    #[error("Rekor's answer does not verify: {0}")]
    Unverified(String),
    /// The answer is a genuine-looking entry of another signature: another artifact, signature, key
    /// or certificate than ours (a log that answers with someone else's entry).
    #[error("Rekor's answer does not verify: it is not this signature's entry ({0})")]
    NotOurs(String),
}

impl RekorError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        Some(match self {
            RekorError::Http(HttpError::Unreachable { .. }) => {
                "check --rekor-url and the network (transient faults were retried), or pass --tlog-upload=false to sign without a log entry".into()
            }
            RekorError::Http(e) => return e.hint(),
            RekorError::Refused { .. } | RekorError::BadAnswer(_) => {
                "check --rekor-url (the Rekor v1 API is expected)".into()
            }
            RekorError::Failed { .. } => {
                "Rekor is failing; it was retried: re-run the job later, or pass --tlog-upload=false to sign without a log entry".into()
            }
            RekorError::Unverified(_) => {
                "pass the trusted root that lists this Rekor's key with --trusted-root (or check --rekor-url)".into()
            }
            RekorError::NotOurs(_) => {
                "nothing was attached or written: the log answered with another signature's entry (a misbehaving log, or not the one meant); check --rekor-url, and report it to the log's operator".into()
            }
        })
    }
}

/// An inclusion proof (Rekor v1 JSON: hex hashes).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InclusionProof {
    /// the entry's index in its tree (shard)
    pub(crate) log_index: i64,
    /// hex
    pub(crate) root_hash: String,
    /// the tree size the proof is for
    pub(crate) tree_size: i64,
    /// hex, bottom-up
    pub(crate) hashes: Vec<String>,
    /// the signed checkpoint (a signed note)
    #[serde(default)]
    pub(crate) checkpoint: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Verification {
    #[serde(default)]
    signed_entry_timestamp: Option<String>,
    #[serde(default)]
    inclusion_proof: Option<InclusionProof>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    body: String,
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: String,
    log_index: i64,
    #[serde(default)]
    verification: Option<Verification>,
}

/// A transparency log entry as Rekor returned it.
#[derive(Clone, Debug)]
pub(crate) struct RekorEntry {
    /// the canonicalized body (decoded)
    pub(crate) body: Vec<u8>,
    /// seconds since the epoch
    pub(crate) integrated_time: i64,
    /// hex SHA-256 of the log's DER public key
    pub(crate) log_id: String,
    /// the global log index
    pub(crate) log_index: i64,
    /// the signed entry timestamp (DER ECDSA)
    pub(crate) set: Vec<u8>,
    /// the inclusion proof, when the log gave one
    pub(crate) inclusion_proof: Option<InclusionProof>,
}

/// The `hashedrekord` v0.0.1 entry for a signature over a digest (`sha256`, or `sha384`/`sha512` for
/// P-384/P-521 keys, as cosign writes them), with the verifier as PEM (a certificate or a public key).
pub(crate) fn hashedrekord(
    digest: &crate::signing::Digest,
    signature: &[u8],
    verifier_pem: &str,
) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": digest.alg.name(), "value": digest.hex()}},
            "signature": {
                "content": B64.encode(signature),
                "publicKey": {"content": B64.encode(verifier_pem.as_bytes())},
            },
        },
    })
}

/// The `dsse` v0.0.1 entry Rekor is asked to make for a DSSE envelope (rekor
/// `pkg/types/dsse/v0.0.1/entry.go`; what sigstore-go proposes for cosign v3): the envelope as a JSON
/// string and the base64 PEM of each verifier (the public key, or the leaf certificate). Rekor stores
/// `envelopeHash`, `payloadHash` and the signature/verifier pairs, not the envelope.
pub(crate) fn dsse(envelope_json: &str, verifier_pem: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "proposedContent": {
                "envelope": envelope_json,
                "verifiers": [B64.encode(verifier_pem.as_bytes())],
            },
        },
    })
}

/// What a log entry records, for [`RekorEntry::check`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Logged<'a> {
    /// a signature over a SHA-256 digest (`hashedrekord`)
    Digest {
        /// the signed digest
        digest: &'a [u8; 32],
        /// the DER signature
        signature: &'a [u8],
    },
    /// a DSSE envelope over an in-toto statement (`dsse`) whose subject has this SHA-256 digest
    Dsse {
        /// the envelope as sent
        envelope: &'a Envelope,
        /// a subject's digest (the image's)
        subject: &'a [u8; 32],
    },
}

/// A Rekor client.
#[derive(Clone, Debug)]
pub(crate) struct Rekor {
    http: Http,
    url: String,
}

impl Rekor {
    /// A client for the Rekor at `url`.
    pub(crate) fn new(http: Http, url: &str) -> Self {
        Rekor {
            http,
            url: url.trim_end_matches('/').to_string(),
        }
    }

    /// The log's base URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Uploads an entry; when the log already has it (409), fetches the existing one.
    pub(crate) async fn upload(&self, entry: &serde_json::Value) -> Result<RekorEntry, RekorError> {
        let endpoint = format!("{}/api/v1/log/entries", self.url);
        let body = entry.to_string();
        let resp = self.http.post_json(&endpoint, body).await?;
        let status = resp.status();
        if status == reqwest::StatusCode::CONFLICT {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let Some(location) = location else {
                return Err(RekorError::BadAnswer(
                    "409 (entry exists) without a Location header".into(),
                ));
            };
            return self.fetch(&location).await;
        }
        self.read(&endpoint, resp).await
    }

    /// Fetches an entry by its Location (an absolute URL or a path on the log).
    async fn fetch(&self, location: &str) -> Result<RekorEntry, RekorError> {
        let url = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else if location.starts_with('/') {
            let base = reqwest::Url::parse(&self.url).map_err(|e| HttpError::InvalidUrl {
                url: self.url.clone(),
                reason: e.to_string(),
            })?;
            base.join(location)
                .map_err(|e| RekorError::BadAnswer(format!("bad Location `{location}`: {e}")))?
                .to_string()
        } else {
            format!("{}/api/v1/log/entries/{location}", self.url)
        };
        let resp = self
            .http
            .send(&url, |c, u| {
                c.get(u).header(reqwest::header::ACCEPT, "application/json")
            })
            .await?;
        self.read(&url, resp).await
    }

    async fn read(&self, url: &str, resp: reqwest::Response) -> Result<RekorEntry, RekorError> {
        let status = resp.status();
        let bytes =
            crate::net::read_answer(resp, url, crate::net::REKOR_ANSWER, self.http.deadline())
                .await
                .map_err(|e| match e {
                    HttpError::TooLarge { .. } => RekorError::BadAnswer(e.to_string()),
                    e => e.into(),
                })?;
        if !status.is_success() {
            let (url, status, message) = (self.url.clone(), status.as_u16(), body_message(&bytes));
            return Err(if status >= 500 {
                RekorError::Failed {
                    url,
                    status,
                    message,
                }
            } else {
                RekorError::Refused {
                    url,
                    status,
                    message,
                }
            });
        }
        parse_answer(&bytes)
    }
}

/// Parses Rekor's `{uuid: entry}` answer.
pub(crate) fn parse_answer(bytes: &[u8]) -> Result<RekorEntry, RekorError> {
    let map: BTreeMap<String, RawEntry> = serde_json::from_slice(bytes)
        .map_err(|e| RekorError::BadAnswer(format!("not the expected JSON: {e}")))?;
    let Some((_uuid, raw)) = map.into_iter().next() else {
        return Err(RekorError::BadAnswer("no entry in the answer".into()));
    };
    let body = B64
        .decode(raw.body.as_bytes())
        .map_err(|_| RekorError::BadAnswer("the body is not base64".into()))?;
    let verification = raw.verification.unwrap_or(Verification {
        signed_entry_timestamp: None,
        inclusion_proof: None,
    });
    let set = verification
        .signed_entry_timestamp
        .ok_or_else(|| RekorError::BadAnswer("no signed entry timestamp".into()))
        .and_then(|s| {
            B64.decode(s.as_bytes()).map_err(|_| {
                RekorError::BadAnswer("the signed entry timestamp is not base64".into())
            })
        })?;
    Ok(RekorEntry {
        body,
        integrated_time: raw.integrated_time,
        log_id: raw.log_id.to_lowercase(),
        log_index: raw.log_index,
        set,
        inclusion_proof: verification.inclusion_proof,
    })
}

impl RekorEntry {
    /// Checks the log's answer before anyone relies on it, with sigstore-verify: the entry, the
    /// signature (over a digest, or a DSSE envelope) and the signer's key or certificate make a Sigstore
    /// bundle that must verify against `trust`. That is: the entry describes this signature, key or
    /// certificate and digest (for `dsse`: the envelope's payload hash and signature); its signed entry
    /// timestamp verifies with a trusted Rekor key; its inclusion proof leads to a checkpoint signed by
    /// that key; and for a certificate, it chains to a trusted Fulcio CA at the log's time, its embedded
    /// SCT verifies with a trusted CT log (when it has one), and the log's time lies inside its validity.
    pub(crate) fn check(
        &self,
        trust: &TrustRoot,
        logged: Logged<'_>,
        by: LoggedBy<'_>,
    ) -> Result<(), RekorError> {
        let artifact = match logged {
            Logged::Digest { digest, .. } => digest,
            Logged::Dsse { subject, .. } => subject,
        };
        check_logged(trust, &self.bundle(logged, by), artifact, by, LogApi::V1)
    }

    /// The v0.3 bundle of a signature with this entry: the key hint (`hint`, empty when unknown) or
    /// the leaf certificate, the entry, and the message signature or DSSE envelope.
    pub(crate) fn bundle(&self, logged: Logged<'_>, by: LoggedBy<'_>) -> Bundle {
        let material = match by {
            LoggedBy::Key(key) => VerificationMaterial {
                public_key: Some(PublicKeyIdentifier {
                    hint: crate::sigstore::bundle::key_hint(key),
                }),
                tlog_entries: vec![self.bundle_entry()],
                ..Default::default()
            },
            LoggedBy::Certificate(cert) => VerificationMaterial {
                certificate: Some(X509Certificate {
                    raw_bytes: B64.encode(&cert.leaf_der),
                }),
                tlog_entries: vec![self.bundle_entry()],
                ..Default::default()
            },
        };
        match logged {
            Logged::Digest { digest, signature } => Bundle::for_digest(
                material,
                &crate::signing::Digest::sha256(*digest),
                signature,
            ),
            Logged::Dsse { envelope, .. } => Bundle::for_envelope(material, envelope),
        }
    }

    /// cosign's `dev.sigstore.cosign/bundle` annotation (field order as cosign writes it).
    pub(crate) fn cosign_bundle_annotation(&self) -> String {
        format!(
            r#"{{"SignedEntryTimestamp":"{}","Payload":{{"body":"{}","integratedTime":{},"logIndex":{},"logID":"{}"}}}}"#,
            B64.encode(&self.set),
            B64.encode(&self.body),
            self.integrated_time,
            self.log_index,
            self.log_id
        )
    }

    /// The body's `kind` and `apiVersion` (`hashedrekord` `0.0.1` when the body does not say).
    pub(crate) fn kind_version(&self) -> (String, String) {
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_default();
        let field = |k: &str, default: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or(default)
                .to_string()
        };
        (field("kind", "hashedrekord"), field("apiVersion", "0.0.1"))
    }

    /// The entry as a Sigstore bundle's `verificationMaterial.tlogEntries[]` item (protobuf JSON:
    /// 64-bit integers as strings, bytes as base64).
    pub(crate) fn bundle_entry(&self) -> serde_json::Value {
        let log_id = B64.encode(hex::decode(&self.log_id).unwrap_or_default());
        let (kind, version) = self.kind_version();
        let mut entry = serde_json::json!({
            "logIndex": self.log_index.to_string(),
            "logId": {"keyId": log_id},
            "kindVersion": {"kind": kind, "version": version},
            "integratedTime": self.integrated_time.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": B64.encode(&self.set)},
            "canonicalizedBody": B64.encode(&self.body),
        });
        if let Some(p) = &self.inclusion_proof {
            let b64hex = |h: &str| B64.encode(hex::decode(h).unwrap_or_default());
            let mut proof = serde_json::json!({
                "logIndex": p.log_index.to_string(),
                "rootHash": b64hex(&p.root_hash),
                "treeSize": p.tree_size.to_string(),
                "hashes": p.hashes.iter().map(|h| b64hex(h)).collect::<Vec<_>>(),
            });
            if let Some(cp) = &p.checkpoint {
                proof["checkpoint"] = serde_json::json!({"envelope": cp});
            }
            entry["inclusionProof"] = proof;
        }
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> RekorEntry {
        RekorEntry {
            body: b"{}".to_vec(),
            integrated_time: 1700000000,
            log_id: "ab".repeat(32),
            log_index: 42,
            set: vec![1, 2],
            inclusion_proof: None,
        }
    }

    #[test]
    fn annotation_and_bundle_entry_have_cosigns_and_the_bundles_shape() {
        let e = entry();
        let a: serde_json::Value = serde_json::from_str(&e.cosign_bundle_annotation()).unwrap();
        assert_eq!(a["SignedEntryTimestamp"], "AQI=");
        assert_eq!(a["Payload"]["logIndex"], 42);
        assert_eq!(a["Payload"]["logID"], "ab".repeat(32));
        let b = e.bundle_entry();
        assert_eq!(b["logIndex"], "42");
        assert_eq!(b["kindVersion"]["kind"], "hashedrekord");
        assert_eq!(b["inclusionPromise"]["signedEntryTimestamp"], "AQI=");
    }

    #[test]
    fn an_answer_from_an_untrusted_log_does_not_check() {
        let key = crate::signing::PrivateKey::generate();
        let digest = crate::signing::HashAlg::Sha256.digest(b"seven");
        let sig = key.sign_prehash(&digest).unwrap();
        let body = hashedrekord(&digest, &sig, &key.public_key().to_pem()).to_string();
        let e = RekorEntry {
            body: body.into_bytes(),
            ..entry()
        };
        let trust = TrustRoot::production().unwrap();
        let err = e
            .check(
                &trust,
                Logged::Digest {
                    digest: &digest.bytes.clone().try_into().unwrap(),
                    signature: &sig,
                },
                LoggedBy::Key(&key.public_key()),
            )
            .unwrap_err();
        assert!(matches!(err, RekorError::Unverified(_)), "{err}");
        assert!(err.to_string().contains("does not list"), "{err}");
    }

    #[test]
    fn a_bundle_names_its_signer_and_carries_the_entry() {
        let e = entry();
        let digest = [7u8; 32];
        let cert = SigningCertificate {
            leaf_der: vec![0x30, 0x03, 0x02, 0x01, 0x01],
            leaf_pem: String::new(),
            chain_pem: String::new(),
            identity: "a@example.test".into(),
            issuer: "https://issuer.example.test".into(),
            not_before: 0,
            not_after: 1,
            has_sct: true,
        };
        let logged = || Logged::Digest {
            digest: &digest,
            signature: b"sig",
        };
        let keyless = e.bundle(logged(), LoggedBy::Certificate(&cert));
        let m = &keyless.verification_material;
        assert_eq!(
            m.certificate.as_ref().map(|c| c.raw_bytes.as_str()),
            Some("MAMCAQE=")
        );
        assert!(m.public_key.is_none());
        assert_eq!(m.tlog_entries, vec![e.bundle_entry()]);
        let key = crate::signing::PrivateKey::generate().public_key();
        let keyed = e.bundle(logged(), LoggedBy::Key(&key));
        let m = &keyed.verification_material;
        assert_eq!(
            m.public_key.as_ref().map(|k| k.hint.clone()),
            Some(crate::sigstore::bundle::key_hint(&key))
        );
        assert!(m.certificate.is_none());
        assert_eq!(m.tlog_entries, vec![e.bundle_entry()]);
    }

    #[test]
    fn proposed_entries_have_rekors_shapes() {
        let digest = crate::signing::HashAlg::Sha384.digest(b"seven");
        let pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert_eq!(
            hashedrekord(&digest, &[1, 2, 3], pem),
            serde_json::json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": "sha384", "value": digest.hex()}},
                    "signature": {
                        "content": "AQID",
                        "publicKey": {"content": "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KQUFBQQotLS0tLUVORCBQVUJMSUMgS0VZLS0tLS0K"},
                    },
                },
            })
        );
        assert_eq!(
            dsse(r#"{"payload":"e30="}"#, pem),
            serde_json::json!({
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {"proposedContent": {
                    "envelope": r#"{"payload":"e30="}"#,
                    "verifiers": ["LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KQUFBQQotLS0tLUVORCBQVUJMSUMgS0VZLS0tLS0K"],
                }},
            })
        );
    }

    /// A Rekor v1 API on loopback (the rules let us fake Rekor): `POST /api/v1/log/entries` answers
    /// with `status` and, for a 409, `Location: location`; a `GET` of `/api/v1/log/entries/uN` or
    /// `/elsewhere/uN` gives the entry of index N, of anything else a 404.
    fn log(status: u16, location: std::sync::Arc<std::sync::Mutex<String>>) -> Rekor {
        use crate::net::loopback::{serving, Answer};
        let answer = |index: &str| {
            format!(
                r#"{{"u{index}":{{"body":"e30=","integratedTime":1700000000,"logID":"{}","logIndex":{index},"verification":{{"signedEntryTimestamp":"AQI="}}}}}}"#,
                "AB".repeat(32)
            )
            .into_bytes()
        };
        let url = serving(move |req| {
            let found = |index: &str| Answer {
                status: 200,
                headers: Vec::new(),
                body: answer(index),
            };
            match req.method.as_str() {
                "POST" if req.target == "/api/v1/log/entries" => Answer {
                    status,
                    headers: match location.lock().unwrap().as_str() {
                        "" => Vec::new(),
                        l => vec![("Location".into(), l.to_string())],
                    },
                    body: if status == 201 {
                        answer("1")
                    } else {
                        br#"{"message":"no"}"#.to_vec()
                    },
                },
                "GET" => match req
                    .target
                    .strip_prefix("/api/v1/log/entries/u")
                    .or_else(|| req.target.strip_prefix("/elsewhere/u"))
                {
                    Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => found(n),
                    _ => Answer {
                        status: 404,
                        headers: Vec::new(),
                        body: Vec::new(),
                    },
                },
                _ => Answer {
                    status: 405,
                    headers: Vec::new(),
                    body: Vec::new(),
                },
            }
        });
        Rekor::new(crate::sigstore::fixtures::http_once(), &format!("{url}/"))
    }

    #[tokio::test]
    async fn an_entry_is_read_from_the_answer_or_after_a_409_from_where_the_log_says() {
        let location = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let created = log(201, location.clone());
        assert!(!created.url().ends_with('/') && created.url().starts_with("http://127.0.0.1:"));
        let e = created.upload(&serde_json::json!({})).await.unwrap();
        assert_eq!(
            (e.log_index, e.log_id.as_str(), e.set.as_slice()),
            (1, "ab".repeat(32).as_str(), &[1u8, 2][..])
        );
        // 409: the entry is where the Location says: an absolute URL, a path on the log, a UUID
        let conflict = log(409, location.clone());
        for (l, index) in [
            (format!("{}/elsewhere/u8", conflict.url()), 8),
            ("/api/v1/log/entries/u7".to_string(), 7),
            ("u5".to_string(), 5),
        ] {
            *location.lock().unwrap() = l.clone();
            let e = conflict.upload(&serde_json::json!({})).await.unwrap();
            assert_eq!(e.log_index, index, "{l}");
        }
        location.lock().unwrap().clear();
        let e = conflict.upload(&serde_json::json!({})).await.unwrap_err();
        assert!(e.to_string().contains("without a Location"), "{e}");
    }

    #[tokio::test]
    async fn refusals_and_failures_are_told_apart_by_status() {
        let none = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let e = log(400, none.clone())
            .upload(&serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(matches!(e, RekorError::Refused { status: 400, .. }), "{e}");
        let e = log(503, none)
            .upload(&serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(matches!(e, RekorError::Failed { status: 503, .. }), "{e}");
    }
}
