//! cosign's own formats, turned into Sigstore bundles so one verifier checks everything:
//! - the older `cosign sign-blob --bundle` file: `{"base64Signature","cert","rekorBundle"}`;
//! - a `.sig` image layer's annotations: signature, certificate, chain, Rekor bundle
//!   (`{"SignedEntryTimestamp","Payload":{"body","integratedTime","logIndex","logID"}}`) and the
//!   optional RFC 3161 timestamp (`{"SignedRFC3161Timestamp"}`).
//!
//! Both become a v0.1 bundle (certificate chain or key hint, one log entry with its inclusion
//! promise) whose message signature covers the artifact: the file, or the layer's payload.

use super::{b64, VerifyError};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use sigstore_verify::types::Bundle;
use std::collections::BTreeMap;

use crate::oci::layout::{
    ANN_BUNDLE, ANN_CERTIFICATE, ANN_CHAIN, ANN_RFC3161_TIMESTAMP as ANN_RFC3161, ANN_SIGNATURE,
};

const MEDIA_TYPE_V01: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";

/// cosign's Rekor bundle: the log's answer, kept with the signature.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct RekorBundle {
    /// base64 SET
    #[serde(rename = "SignedEntryTimestamp")]
    pub(crate) signed_entry_timestamp: String,
    /// what the SET signs
    #[serde(rename = "Payload")]
    pub(crate) payload: RekorPayload,
}

/// The signed part of a Rekor bundle.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct RekorPayload {
    /// base64 canonical entry body
    pub(crate) body: String,
    /// seconds since the epoch
    #[serde(rename = "integratedTime")]
    pub(crate) integrated_time: i64,
    /// index in the log
    #[serde(rename = "logIndex")]
    pub(crate) log_index: i64,
    /// hex SHA-256 of the log's public key
    #[serde(rename = "logID")]
    pub(crate) log_id: String,
}

#[derive(Deserialize)]
struct Rfc3161Annotation {
    #[serde(rename = "SignedRFC3161Timestamp")]
    signed: String,
}

/// Splits PEM text into the DER of each `CERTIFICATE` block.
pub(crate) fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, VerifyError> {
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN") {
        let block = &rest[start..];
        let end = block
            .find(END)
            .ok_or_else(|| VerifyError::Malformed("a certificate PEM block is truncated".into()))?;
        // Lenient like Go's pem.Decode (cosign): any line width, surrounding white space.
        let (header, body) = block[..end].split_once('\n').unwrap_or((&block[..end], ""));
        if header.trim_end() != "-----BEGIN CERTIFICATE-----" {
            return Err(VerifyError::Malformed(format!(
                "a PEM block is `{}`, not a CERTIFICATE",
                header.trim()
            )));
        }
        let der = b64(body, "a certificate PEM block")?;
        if der.is_empty() {
            return Err(VerifyError::Malformed(
                "a certificate PEM block is empty".into(),
            ));
        }
        out.push(der);
        rest = &block[end + END.len()..];
    }
    Ok(out)
}

fn log_entry(rb: &RekorBundle) -> Result<Value, VerifyError> {
    let body = b64(&rb.payload.body, "the Rekor bundle's body")?;
    let parsed: Value = serde_json::from_slice(&body)
        .map_err(|e| VerifyError::Malformed(format!("the Rekor entry body is not JSON: {e}")))?;
    let kind = parsed.get("kind").and_then(Value::as_str).unwrap_or("");
    let version = parsed
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let log_id = hex::decode(&rb.payload.log_id)
        .map_err(|_| VerifyError::Malformed("the Rekor bundle's logID is not hex".into()))?;
    if rb.payload.log_index < 0 || rb.payload.integrated_time < 0 {
        return Err(VerifyError::Malformed(
            "the Rekor bundle has a negative log index or time".into(),
        ));
    }
    Ok(json!({
        "logIndex": rb.payload.log_index.to_string(),
        "logId": {"keyId": B64.encode(log_id)},
        "kindVersion": {"kind": kind, "version": version},
        "integratedTime": rb.payload.integrated_time.to_string(),
        "inclusionPromise": {"signedEntryTimestamp": rb.signed_entry_timestamp},
        "canonicalizedBody": B64.encode(&body),
    }))
}

/// Builds the v0.1 bundle for a signature with optional certificate chain, Rekor bundle and timestamp.
fn build(
    signature_b64: &str,
    chain_der: &[Vec<u8>],
    rekor: Option<&RekorBundle>,
    rfc3161_der: Option<Vec<u8>>,
) -> Result<Bundle, VerifyError> {
    let sig = b64(signature_b64, "the signature")?;
    if sig.is_empty() {
        return Err(VerifyError::Malformed("the signature is empty".into()));
    }
    let mut material = serde_json::Map::new();
    if chain_der.is_empty() {
        material.insert("publicKey".into(), json!({"hint": ""}));
    } else {
        let certs: Vec<Value> = chain_der
            .iter()
            .map(|d| json!({"rawBytes": B64.encode(d)}))
            .collect();
        material.insert(
            "x509CertificateChain".into(),
            json!({ "certificates": certs }),
        );
    }
    let entries = match rekor {
        Some(rb) => vec![log_entry(rb)?],
        None => Vec::new(),
    };
    material.insert("tlogEntries".into(), Value::Array(entries));
    if let Some(ts) = rfc3161_der {
        material.insert(
            "timestampVerificationData".into(),
            json!({"rfc3161Timestamps": [{"signedTimestamp": B64.encode(ts)}]}),
        );
    }
    let v = json!({
        "mediaType": MEDIA_TYPE_V01,
        "verificationMaterial": Value::Object(material),
        "messageSignature": {"signature": B64.encode(&sig)},
    });
    serde_json::from_value(v)
        .map_err(|e| VerifyError::Unsupported(format!("cosign's log entry: {e}")))
}

/// The older `cosign sign-blob --bundle` file as a Sigstore bundle.
pub(crate) fn from_legacy_blob_bundle(
    b: &crate::sigstore::bundle::LegacyBundle,
) -> Result<Bundle, VerifyError> {
    let chain = match &b.cert {
        Some(c) if !c.is_empty() => {
            // cosign stores the certificate PEM base64-encoded; accept plain PEM too.
            let pem = if c.contains("-----BEGIN") {
                c.clone()
            } else {
                String::from_utf8(b64(c, "the bundle's certificate")?).map_err(|_| {
                    VerifyError::Malformed("the bundle's certificate is not PEM text".into())
                })?
            };
            pem_certificates(&pem)?
        }
        _ => Vec::new(),
    };
    let rekor = match &b.rekor_bundle {
        Some(v) if !v.is_null() => Some(
            serde_json::from_value::<RekorBundle>(v.clone())
                .map_err(|e| VerifyError::Malformed(format!("its rekorBundle: {e}")))?,
        ),
        _ => None,
    };
    build(&b.base64_signature, &chain, rekor.as_ref(), None)
}

/// A `.sig` image layer's annotations as a Sigstore bundle over the layer's payload.
pub(crate) fn from_layer_annotations(
    ann: &BTreeMap<String, String>,
) -> Result<Bundle, VerifyError> {
    let sig = ann.get(ANN_SIGNATURE).ok_or_else(|| {
        VerifyError::Malformed(format!(
            "the signature layer has no {ANN_SIGNATURE} annotation"
        ))
    })?;
    let mut chain = Vec::new();
    if let Some(cert) = ann.get(ANN_CERTIFICATE).filter(|c| !c.trim().is_empty()) {
        let leaf = pem_certificates(cert)?;
        if leaf.len() != 1 {
            return Err(VerifyError::Malformed(format!(
                "the {ANN_CERTIFICATE} annotation holds {} certificates, not one",
                leaf.len()
            )));
        }
        chain.extend(leaf);
        if let Some(rest) = ann.get(ANN_CHAIN) {
            chain.extend(pem_certificates(rest)?);
        }
    }
    let rekor = match ann.get(ANN_BUNDLE).filter(|b| !b.trim().is_empty()) {
        Some(text) => Some(
            serde_json::from_str::<RekorBundle>(text)
                .map_err(|e| VerifyError::Malformed(format!("the {ANN_BUNDLE} annotation: {e}")))?,
        ),
        None => None,
    };
    let ts = match ann.get(ANN_RFC3161).filter(|t| !t.trim().is_empty()) {
        Some(text) => {
            let a: Rfc3161Annotation = serde_json::from_str(text).map_err(|e| {
                VerifyError::Malformed(format!("the {ANN_RFC3161} annotation: {e}"))
            })?;
            Some(b64(&a.signed, "the RFC 3161 timestamp")?)
        }
        None => None,
    };
    if rekor.is_none() && ts.is_some() {
        return Err(VerifyError::Unsupported(
            "an image signature with an RFC 3161 timestamp but no Rekor bundle".into(),
        ));
    }
    build(sig, &chain, rekor.as_ref(), ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_split_and_fail_cleanly() {
        assert!(pem_certificates("").unwrap().is_empty());
        let e = pem_certificates("-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap_err();
        assert!(e.to_string().contains("truncated"));
        let e = pem_certificates("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
            .unwrap_err();
        assert!(e.to_string().contains("not base64"), "{e}");
        let e = pem_certificates("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END CERTIFICATE-----\n")
            .unwrap_err();
        assert!(e.to_string().contains("PUBLIC KEY"), "{e}");
        // any line width, two blocks, text and CRLF around them
        let two = "x\n-----BEGIN CERTIFICATE-----\nAAAA\nAQID\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\r\nAAAAAQID\r\n-----END CERTIFICATE-----\n";
        let certs = pem_certificates(two).unwrap();
        assert_eq!(certs, vec![vec![0, 0, 0, 1, 2, 3], vec![0, 0, 0, 1, 2, 3]]);
    }

    #[test]
    fn layer_without_signature_or_with_bad_bundle_is_refused() {
        let mut ann = BTreeMap::new();
        assert!(from_layer_annotations(&ann)
            .unwrap_err()
            .to_string()
            .contains(ANN_SIGNATURE));
        ann.insert(ANN_SIGNATURE.to_string(), "MEUC".to_string());
        ann.insert(
            ANN_BUNDLE.to_string(),
            "{\"SignedEntryTimestamp\":1}".to_string(),
        );
        assert!(from_layer_annotations(&ann)
            .unwrap_err()
            .to_string()
            .contains(ANN_BUNDLE));
        // a key signature without log entry: a bundle with a key hint and no entries
        ann.remove(ANN_BUNDLE);
        let b = from_layer_annotations(&ann).unwrap();
        assert!(b.verification_material.tlog_entries.is_empty());
    }

    #[test]
    fn unsupported_entry_kinds_are_named() {
        let body = B64.encode(br#"{"kind":"rekord","apiVersion":"0.0.1","spec":{}}"#);
        let rb = format!(
            r#"{{"SignedEntryTimestamp":"AAAA","Payload":{{"body":"{body}","integratedTime":1,"logIndex":1,"logID":"00"}}}}"#
        );
        let mut ann = BTreeMap::new();
        ann.insert(ANN_SIGNATURE.to_string(), "MEUC".to_string());
        ann.insert(ANN_BUNDLE.to_string(), rb);
        let e = from_layer_annotations(&ann).unwrap_err().to_string();
        assert!(e.contains("rekord"), "{e}");
    }

    fn rekor_bundle(log_index: i64, integrated_time: i64) -> RekorBundle {
        RekorBundle {
            signed_entry_timestamp: "AQI=".into(),
            payload: RekorPayload {
                body: B64.encode(br#"{"kind":"hashedrekord","apiVersion":"0.0.1","spec":{}}"#),
                integrated_time,
                log_index,
                log_id: "ab".repeat(32),
            },
        }
    }

    #[test]
    fn a_log_entry_keeps_the_bundles_fields_and_refuses_negative_numbers() {
        let e = log_entry(&rekor_bundle(7, 1_700_000_000)).unwrap();
        assert_eq!(e["logIndex"], "7");
        assert_eq!(e["integratedTime"], "1700000000");
        assert_eq!(e["kindVersion"]["kind"], "hashedrekord");
        assert_eq!(e["kindVersion"]["version"], "0.0.1");
        assert_eq!(e["inclusionPromise"]["signedEntryTimestamp"], "AQI=");
        assert_eq!(e["logId"]["keyId"], B64.encode([0xab; 32]));
        // index 0 at time 0 is a valid position (the first entry)
        let zero = log_entry(&rekor_bundle(0, 0)).unwrap();
        assert_eq!(
            (&zero["logIndex"], &zero["integratedTime"]),
            (&json!("0"), &json!("0"))
        );
        for (index, time) in [(-1, 1), (1, -1), (-1, -1)] {
            let e = log_entry(&rekor_bundle(index, time)).unwrap_err();
            assert!(e.to_string().contains("negative"), "{index} {time}: {e}");
        }
    }

    #[test]
    fn a_layer_names_one_leaf_certificate_and_needs_a_bundle_for_a_timestamp() {
        let leaf = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
        let mut ann = BTreeMap::new();
        ann.insert(ANN_SIGNATURE.to_string(), "MEUC".to_string());
        ann.insert(ANN_CERTIFICATE.to_string(), format!("{leaf}{leaf}"));
        let e = from_layer_annotations(&ann).unwrap_err().to_string();
        assert!(e.contains("holds 2 certificates, not one"), "{e}");
        // an empty certificate annotation is a key signature
        ann.insert(ANN_CERTIFICATE.to_string(), " \n".to_string());
        let b = from_layer_annotations(&ann).unwrap();
        assert!(matches!(
            b.verification_material.content,
            sigstore_verify::types::VerificationMaterialContent::PublicKey(_)
        ));
        ann.insert(
            ANN_RFC3161.to_string(),
            r#"{"SignedRFC3161Timestamp":"AAEC"}"#.to_string(),
        );
        let e = from_layer_annotations(&ann).unwrap_err().to_string();
        assert!(e.contains("no Rekor bundle"), "{e}");
    }

    #[test]
    fn a_legacy_blob_bundle_is_keyless_with_a_certificate_and_logged_with_a_rekor_bundle() {
        use crate::sigstore::bundle::LegacyBundle;
        use sigstore_verify::types::VerificationMaterialContent as Content;
        let leaf = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
        let rekor = json!({
            "SignedEntryTimestamp": "AQI=",
            "Payload": {
                "body": B64.encode(br#"{"kind":"hashedrekord","apiVersion":"0.0.1","spec":{}}"#),
                "integratedTime": 1,
                "logIndex": 1,
                "logID": "ab".repeat(32),
            },
        });
        let legacy = |cert: Option<&str>, rekor_bundle: Option<Value>| LegacyBundle {
            base64_signature: "MEUC".into(),
            cert: cert.map(str::to_string),
            rekor_bundle,
        };
        // no certificate, or an empty one: a key signature; no Rekor bundle, or null: no entry
        for (cert, rb) in [(None, None), (Some(""), Some(Value::Null))] {
            let b = from_legacy_blob_bundle(&legacy(cert, rb)).unwrap();
            let m = &b.verification_material;
            assert!(matches!(m.content, Content::PublicKey(_)), "{cert:?}");
            assert!(m.tlog_entries.is_empty(), "{cert:?}");
        }
        // the certificate as PEM, or base64 of the PEM as cosign writes it; the Rekor bundle's entry
        for cert in [leaf.to_string(), B64.encode(leaf)] {
            let b = from_legacy_blob_bundle(&legacy(Some(&cert), Some(rekor.clone()))).unwrap();
            let m = &b.verification_material;
            assert!(!matches!(m.content, Content::PublicKey(_)), "{cert}");
            assert_eq!(m.tlog_entries.len(), 1, "{cert}");
        }
    }
}
