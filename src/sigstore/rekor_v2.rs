//! Rekor v2 (rekor-tiles' API): record a signature as a `hashedrekord` v0.0.2 entry and check the log's
//! answer before anyone relies on it.
//!
//! A DSSE envelope (an image's Sigstore bundle) is recorded the same way: Rekor v2 takes no `dsse`
//! entries (rekor-tiles dropped `DSSERequestV002` before Rekor v2 was deployed; its CLIENTS.md, "DSSE /
//! signed attestations"), so the entry is a `hashedrekord` v0.0.2 whose digest is the SHA-256 of the
//! envelope's pre-authentication encoding (PAE) and whose signature is the envelope's — what cosign
//! v3.1.3 writes (sigstore-go v1.2.2 `pkg/sign/transparency.go` `getRekorV2TLE`) and what sigstore-go and
//! sigstore-python 4.5 check for a DSSE bundle (sigstore-go `pkg/verify/tlog.go`
//! `reconstructV2EntryHash`; sigstore-python `_validate_hashedrekord_v002_dsse_entry_body`). Both
//! refuse any other Rekor v2 entry kind, `dsse` v0.0.2 included.
//!
//! Request (protobuf-specs `rekor/v2` `CreateEntryRequest`, JSON): `POST {base}/api/v2/log/entries` with
//! `{"hashedRekordRequestV002":{"digest":"<b64 SHA-256>","signature":{"content":"<b64 signature>",
//! "verifier":{"x509Certificate":{"rawBytes":"<b64 DER>"} | "publicKey":{"rawBytes":"<b64 DER SPKI>"},
//! "keyDetails":"PKIX_ECDSA_P256_SHA_256"}}}}`. The answer is the bundle's `TransparencyLogEntry`
//! itself: log index, log ID, kind and version, inclusion proof with a signed checkpoint, the
//! canonicalized body — and no signed entry timestamp and no integrated time, which is why a v2 entry
//! needs an RFC 3161 timestamp beside it ([`crate::sigstore::tsa`]).
//!
//! The check is sigstore-verify's, on a bundle made of the answer, the signature, the key or
//! certificate and the timestamps: the body describes this signature, key or certificate and digest;
//! the inclusion proof leads to a checkpoint signed by a Rekor v2 key of the trusted root; the
//! timestamp verifies with a trusted TSA and, for a certificate, falls inside its validity and the
//! chain to a trusted Fulcio CA holds at that time.

use crate::net::{self, body_message, Http};
use crate::signing::dsse::Envelope;
use crate::sigstore::bundle::{Bundle, PublicKeyIdentifier, VerificationMaterial, X509Certificate};
use crate::sigstore::rekor::{LoggedBy, RekorError};
use crate::sigstore::trust::TrustRoot;
use crate::sigstore::tsa::SignedTimestamp;
use crate::sigstore::verify::{check_logged, LogApi};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

/// A Rekor v2 log.
#[derive(Clone, Debug)]
pub(crate) struct RekorV2 {
    http: Http,
    url: String,
}

/// The `hashedRekordRequestV002` for a signature over a SHA-256 digest by `by`.
pub(crate) fn hashedrekord_request(
    digest: &[u8; 32],
    signature: &[u8],
    by: LoggedBy<'_>,
) -> serde_json::Value {
    let verifier = match by {
        LoggedBy::Key(key) => serde_json::json!({
            "publicKey": {"rawBytes": B64.encode(key.to_der())},
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        }),
        LoggedBy::Certificate(cert) => serde_json::json!({
            "x509Certificate": {"rawBytes": B64.encode(&cert.leaf_der)},
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        }),
    };
    serde_json::json!({
        "hashedRekordRequestV002": {
            "digest": B64.encode(digest),
            "signature": {"content": B64.encode(signature), "verifier": verifier},
        }
    })
}

impl RekorV2 {
    /// A client for the Rekor v2 log whose base URL is `url`.
    pub(crate) fn new(http: Http, url: &str) -> Self {
        RekorV2 {
            http,
            url: url.trim_end_matches('/').to_string(),
        }
    }

    /// The log's base URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Records the signature over the SHA-256 `digest` (of the signed message, or of a DSSE envelope's
    /// PAE); returns the entry as the log answered it (a bundle's `tlogEntries[]` item), not yet
    /// checked.
    pub(crate) async fn upload(
        &self,
        digest: &[u8; 32],
        signature: &[u8],
        by: LoggedBy<'_>,
    ) -> Result<serde_json::Value, RekorError> {
        let endpoint = format!("{}/api/v2/log/entries", self.url);
        let body = hashedrekord_request(digest, signature, by).to_string();
        let resp = self.http.post_json(&endpoint, body).await?;
        let status = resp.status();
        let bytes =
            net::read_answer(resp, &endpoint, net::REKOR_ANSWER, self.http.deadline()).await?;
        if !status.is_success() {
            let (url, status, message) = (self.url.clone(), status.as_u16(), body_message(&bytes));
            return Err(
                if net::is_transient(reqwest::StatusCode::from_u16(status).unwrap_or_default()) {
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
                },
            );
        }
        let entry: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| RekorError::BadAnswer(format!("the Rekor v2 answer is not JSON: {e}")))?;
        let kind = (
            entry.pointer("/kindVersion/kind").and_then(|k| k.as_str()),
            entry
                .pointer("/kindVersion/version")
                .and_then(|k| k.as_str()),
        );
        if kind != (Some("hashedrekord"), Some("0.0.2")) {
            return Err(RekorError::BadAnswer(format!(
                "the Rekor v2 answer is not a hashedrekord 0.0.2 entry (kindVersion {})",
                entry
                    .get("kindVersion")
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "missing".into())
            )));
        }
        Ok(entry)
    }
}

/// The index of a Rekor v2 entry (`logIndex`, a decimal string in protobuf JSON).
pub(crate) fn log_index(entry: &serde_json::Value) -> Option<u64> {
    match entry.get("logIndex")? {
        serde_json::Value::String(s) => s.parse().ok(),
        other => other.as_u64(),
    }
}

/// The bundle's `timestampVerificationData` for these timestamps.
pub(crate) fn timestamp_data(timestamps: &[SignedTimestamp]) -> Option<serde_json::Value> {
    (!timestamps.is_empty()).then(|| {
        serde_json::json!({
            "rfc3161Timestamps": timestamps
                .iter()
                .map(|t| serde_json::json!({"signedTimestamp": B64.encode(&t.response)}))
                .collect::<Vec<_>>()
        })
    })
}

/// The verification material a check of `by`'s entry reads: an empty key hint (the key itself is
/// what the check expects), or the leaf certificate; with the entry and the timestamps.
fn material(
    entry: &serde_json::Value,
    timestamps: &[SignedTimestamp],
    by: LoggedBy<'_>,
) -> VerificationMaterial {
    let mut material = match by {
        LoggedBy::Key(_) => VerificationMaterial {
            public_key: Some(PublicKeyIdentifier {
                hint: String::new(),
            }),
            ..Default::default()
        },
        LoggedBy::Certificate(cert) => VerificationMaterial {
            certificate: Some(X509Certificate {
                raw_bytes: B64.encode(&cert.leaf_der),
            }),
            ..Default::default()
        },
    };
    material.tlog_entries = vec![entry.clone()];
    material.timestamp_verification_data = timestamp_data(timestamps);
    material
}

/// Checks a Rekor v2 entry (see the module documentation) with the timestamps that date it.
pub(crate) fn check(
    entry: &serde_json::Value,
    timestamps: &[SignedTimestamp],
    trust: &TrustRoot,
    digest: &[u8; 32],
    signature: &[u8],
    by: LoggedBy<'_>,
) -> Result<(), RekorError> {
    let ours = Bundle::for_digest(
        material(entry, timestamps, by),
        &crate::signing::Digest::sha256(*digest),
        signature,
    );
    check_logged(trust, &ours, digest, by, LogApi::V2)
}

/// Checks the Rekor v2 entry of a DSSE envelope (an in-toto statement about `subject`, a SHA-256
/// digest) with the timestamps that date it: on the bundle made of the envelope, the entry, `by`'s key
/// or certificate and the timestamps, sigstore-verify finds that the entry's digest is the SHA-256 of
/// the envelope's PAE, its signature the envelope's and its verifier `by`; that the inclusion proof
/// leads to a checkpoint signed by a Rekor v2 key of `trust`; that the timestamps verify; and that the
/// statement names `subject`. Errors as [`check`].
pub(crate) fn check_dsse(
    entry: &serde_json::Value,
    timestamps: &[SignedTimestamp],
    trust: &TrustRoot,
    envelope: &Envelope,
    subject: &[u8; 32],
    by: LoggedBy<'_>,
) -> Result<(), RekorError> {
    let ours = Bundle::for_envelope(material(entry, timestamps, by), envelope);
    check_logged(trust, &ours, subject, by, LogApi::V2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_digest_signature_and_verifier() {
        let key = crate::signing::PrivateKey::generate();
        let public = key.public_key();
        let r = hashedrekord_request(&[1u8; 32], b"sig", LoggedBy::Key(&public));
        let h = &r["hashedRekordRequestV002"];
        assert_eq!(h["digest"], B64.encode([1u8; 32]));
        assert_eq!(h["signature"]["content"], B64.encode(b"sig"));
        assert_eq!(
            h["signature"]["verifier"]["publicKey"]["rawBytes"],
            B64.encode(public.to_der())
        );
        assert_eq!(
            h["signature"]["verifier"]["keyDetails"],
            "PKIX_ECDSA_P256_SHA_256"
        );
    }

    #[test]
    fn log_indexes_are_protobuf_strings() {
        assert_eq!(log_index(&serde_json::json!({"logIndex": "42"})), Some(42));
        assert_eq!(log_index(&serde_json::json!({"logIndex": 7})), Some(7));
        assert_eq!(log_index(&serde_json::json!({})), None);
    }
}

/// The answer check and the upload, on a recorded signing of the fake Sigstore (`fixtures`) and
/// canned loopback answers (issue 16's mutation run: each test fails with a mutant of this file).
#[cfg(test)]
mod recorded {
    use super::*;
    use crate::sigstore::fixtures::{self, Signed};

    fn check_with(
        s: &Signed,
        timestamps: &[SignedTimestamp],
        digest: &[u8; 32],
        by: LoggedBy<'_>,
    ) -> Result<(), RekorError> {
        check(
            &s.entry,
            timestamps,
            &fixtures::trust(),
            digest,
            &s.signature,
            by,
        )
    }

    #[test]
    fn an_entry_counts_only_for_its_signature_signer_digest_and_with_its_timestamp() {
        let trust = fixtures::trust();
        let (key, cert) = (fixtures::key(), fixtures::certificate(&trust));
        let digest = fixtures::digest();
        let (k, c) = (fixtures::key_signed(), fixtures::keyless_signed());
        let (kt, ct) = (
            vec![fixtures::timestamp(k.timestamp.clone())],
            vec![fixtures::timestamp(c.timestamp.clone())],
        );
        // The log's answers as recorded: a key entry and a certificate entry.
        check_with(&k, &kt, &digest, LoggedBy::Key(&key)).unwrap();
        check_with(&c, &ct, &digest, LoggedBy::Certificate(&cert)).unwrap();
        let refused = |r: Result<(), RekorError>, why: &str| {
            let e = r.unwrap_err();
            assert!(
                matches!(&e, RekorError::Unverified(m) | RekorError::NotOurs(m) if m.contains(why)),
                "{e}: want {why:?}"
            );
        };
        // Without the timestamp that dates it, a v2 entry (which has no integrated time) cannot show
        // that the certificate was valid when it signed. (A key needs no time: accepted.)
        refused(
            check_with(&c, &[], &digest, LoggedBy::Certificate(&cert)),
            "no verifiable time",
        );
        check_with(&k, &[], &digest, LoggedBy::Key(&key)).unwrap();
        // Another digest, another signer, another signer's entry: refused.
        let bad_signature = "the signature does not match the data and the signer's key";
        refused(
            check_with(&k, &kt, &[0u8; 32], LoggedBy::Key(&key)),
            bad_signature,
        );
        let stranger = crate::signing::PrivateKey::generate().public_key();
        refused(
            check_with(&k, &kt, &digest, LoggedBy::Key(&stranger)),
            bad_signature,
        );
        let swapped = Signed {
            entry: c.entry.clone(),
            ..fixtures::key_signed()
        };
        refused(
            check_with(&swapped, &kt, &digest, LoggedBy::Key(&key)),
            "does not describe this signature",
        );
        // Another signature's entry is told apart (its hint: the log answered with it) from one that
        // does not hold up (its hint: the trusted root).
        for other in [
            check_with(&k, &kt, &[0u8; 32], LoggedBy::Key(&key)),
            check_with(&k, &kt, &digest, LoggedBy::Key(&stranger)),
            check_with(&swapped, &kt, &digest, LoggedBy::Key(&key)),
        ] {
            assert!(matches!(other, Err(RekorError::NotOurs(_))), "{other:?}");
        }
        // An inclusion proof that does not lead to the signed checkpoint's root.
        let mut forged = fixtures::key_signed();
        forged.entry["inclusionProof"]["hashes"][0] = serde_json::json!(B64.encode([7u8; 32]));
        refused(
            check_with(&forged, &kt, &digest, LoggedBy::Key(&key)),
            "inclusion proof verification failed",
        );
        assert!(matches!(
            check_with(&forged, &kt, &digest, LoggedBy::Key(&key)),
            Err(RekorError::Unverified(_))
        ));
    }

    #[test]
    fn a_dsse_envelope_counts_only_with_the_entry_of_its_pae() {
        // The recorded entries log a message signature over `fixtures::digest()`, not the PAE of any
        // envelope: offered as the entry of an envelope signed with the same signature, each is
        // another signature's entry (the signing-time check of an image's bundle; its positive path
        // is tests/it/bundle.rs `image_bundles_log_to_rekor_v2_…`, against the test Rekor v2).
        let trust = fixtures::trust();
        let (key, cert) = (fixtures::key(), fixtures::certificate(&trust));
        let subject = fixtures::digest();
        for (s, by) in [
            (fixtures::key_signed(), LoggedBy::Key(&key)),
            (fixtures::keyless_signed(), LoggedBy::Certificate(&cert)),
        ] {
            let statement = serde_json::json!({
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": "x", "digest": {"sha256": hex::encode(subject)}}],
                "predicateType": "https://sigstore.dev/cosign/sign/v1",
                "predicate": {},
            });
            let envelope = Envelope::new(
                "application/vnd.in-toto+json",
                statement.to_string().as_bytes(),
                &s.signature,
            );
            let timestamps = [fixtures::timestamp(s.timestamp.clone())];
            let r = check_dsse(&s.entry, &timestamps, &trust, &envelope, &subject, by);
            assert!(matches!(r, Err(RekorError::NotOurs(_))), "{r:?}");
        }
    }

    #[test]
    fn timestamps_go_into_the_bundle_as_base64_responses() {
        assert_eq!(timestamp_data(&[]), None);
        let t = [
            fixtures::timestamp(b"one".to_vec()),
            fixtures::timestamp(b"two".to_vec()),
        ];
        assert_eq!(
            timestamp_data(&t),
            Some(serde_json::json!({"rfc3161Timestamps": [
                {"signedTimestamp": B64.encode(b"one")},
                {"signedTimestamp": B64.encode(b"two")},
            ]}))
        );
    }

    fn log(url: &str) -> RekorV2 {
        RekorV2::new(fixtures::http_once(), url)
    }

    #[tokio::test]
    async fn uploads_keep_a_hashedrekord_0_0_2_answer_and_refuse_others_by_status() {
        assert_eq!(log("http://127.0.0.1:1/").url(), "http://127.0.0.1:1");
        let key = fixtures::key();
        let key = &key;
        let up = |url: String| async move {
            log(&url)
                .upload(&fixtures::digest(), b"sig", LoggedBy::Key(key))
                .await
        };
        let entry = fixtures::key_signed().entry;
        let got = up(fixtures::answering(201, entry.to_string().into_bytes()))
            .await
            .unwrap();
        assert_eq!(got, entry);
        let mut dsse = entry.clone();
        dsse["kindVersion"]["kind"] = serde_json::json!("dsse");
        let e = up(fixtures::answering(201, dsse.to_string().into_bytes()))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, RekorError::BadAnswer(m) if m.contains("not a hashedrekord 0.0.2")),
            "{e}"
        );
        let e = up(fixtures::answering(400, entry.to_string().into_bytes()))
            .await
            .unwrap_err();
        assert!(matches!(e, RekorError::Refused { status: 400, .. }), "{e}");
        let e = up(fixtures::answering(503, b"{}".to_vec()))
            .await
            .unwrap_err();
        assert!(matches!(e, RekorError::Failed { status: 503, .. }), "{e}");
    }
}
