//! Rekor (v1 API): record a signature as a `hashedrekord` v0.0.1 entry, fetch the existing entry when the
//! log already has it (409), and check what the log answered before anyone relies on it: the entry is
//! ours, its signed entry timestamp (SET) and checkpoint verify with the trusted log key, and the
//! inclusion proof leads from our entry to the checkpoint's root (RFC 6962).
//!
//! Also renders the entry as cosign's `dev.sigstore.cosign/bundle` annotation and as a Sigstore bundle's
//! `tlogEntries[]` item.

use crate::net::{body_message, error_chain, Http, HttpError};
use crate::signing::PublicKey;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What can go wrong recording or checking an entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RekorError {
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
    /// The answer does not hold up: wrong entry, bad SET, bad proof, untrusted log.
    #[error("Rekor's answer does not verify: {0}")]
    Unverified(String),
}

impl RekorError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
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
        })
    }
}

/// An inclusion proof (Rekor v1 JSON: hex hashes).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// the entry's index in its tree (shard)
    pub log_index: i64,
    /// hex
    pub root_hash: String,
    /// the tree size the proof is for
    pub tree_size: i64,
    /// hex, bottom-up
    pub hashes: Vec<String>,
    /// the signed checkpoint (a signed note)
    #[serde(default)]
    pub checkpoint: Option<String>,
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
pub struct RekorEntry {
    /// the entry UUID
    pub uuid: String,
    /// the canonicalized body (decoded)
    pub body: Vec<u8>,
    /// seconds since the epoch
    pub integrated_time: i64,
    /// hex SHA-256 of the log's DER public key
    pub log_id: String,
    /// the global log index
    pub log_index: i64,
    /// the signed entry timestamp (DER ECDSA)
    pub set: Vec<u8>,
    /// the inclusion proof, when the log gave one
    pub inclusion_proof: Option<InclusionProof>,
}

/// A trusted Rekor key (ECDSA P-256, as Rekor v1 uses).
#[derive(Clone, Debug)]
pub struct LogKey {
    /// hex SHA-256 of the DER public key
    pub log_id: String,
    /// the key
    pub key: PublicKey,
}

impl LogKey {
    /// From the DER public key (a trusted root's `tlogs[].publicKey.rawBytes`).
    pub fn from_der(der: &[u8]) -> Result<Self, crate::signing::KeyError> {
        Ok(LogKey {
            log_id: hex::encode(Sha256::digest(der)),
            key: PublicKey::from_der(der)?,
        })
    }
}

/// The `hashedrekord` v0.0.1 entry for a signature over a SHA-256 digest, with the verifier as PEM (a
/// certificate or a public key).
pub fn hashedrekord(digest: &[u8; 32], signature: &[u8], verifier_pem: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
            "signature": {
                "content": B64.encode(signature),
                "publicKey": {"content": B64.encode(verifier_pem.as_bytes())},
            },
        },
    })
}

/// A Rekor client.
#[derive(Clone, Debug)]
pub struct Rekor {
    http: Http,
    url: String,
}

impl Rekor {
    /// A client for the Rekor at `url`.
    pub fn new(http: Http, url: &str) -> Self {
        Rekor {
            http,
            url: url.trim_end_matches('/').to_string(),
        }
    }

    /// The log's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Uploads an entry; when the log already has it (409), fetches the existing one.
    pub async fn upload(&self, entry: &serde_json::Value) -> Result<RekorEntry, RekorError> {
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
        let bytes = resp.bytes().await.map_err(|e| HttpError::Unreachable {
            url: url.to_string(),
            reason: error_chain(&e),
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
pub fn parse_answer(bytes: &[u8]) -> Result<RekorEntry, RekorError> {
    let map: BTreeMap<String, RawEntry> = serde_json::from_slice(bytes)
        .map_err(|e| RekorError::BadAnswer(format!("not the expected JSON: {e}")))?;
    let Some((uuid, raw)) = map.into_iter().next() else {
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
        uuid,
        body,
        integrated_time: raw.integrated_time,
        log_id: raw.log_id.to_lowercase(),
        log_index: raw.log_index,
        set,
        inclusion_proof: verification.inclusion_proof,
    })
}

fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root an RFC 6962 inclusion proof leads to from `leaf` at `index` in a tree of `size` leaves
/// (RFC 9162, 2.1.3.2).
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    proof: &[[u8; 32]],
) -> Result<[u8; 32], String> {
    if index >= size {
        return Err(format!("index {index} is outside a tree of {size}"));
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = leaf;
    for p in proof {
        if snode == 0 {
            return Err("the proof is too long".into());
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err("the proof is too short".into());
    }
    Ok(r)
}

fn hex32(s: &str, what: &str) -> Result<[u8; 32], RekorError> {
    hex::decode(s)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| RekorError::BadAnswer(format!("{what} is not a hex SHA-256")))
}

/// A checkpoint (signed note) taken apart.
struct Checkpoint<'a> {
    text: &'a str,
    size: u64,
    root: Vec<u8>,
    signatures: Vec<Vec<u8>>,
}

fn parse_checkpoint(note: &str) -> Result<Checkpoint<'_>, String> {
    let split = note
        .find("\n\n")
        .ok_or_else(|| "the checkpoint has no blank line before its signatures".to_string())?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    let mut lines = text.lines();
    let _origin = lines
        .next()
        .filter(|o| !o.is_empty())
        .ok_or("the checkpoint has no origin")?;
    let size = lines
        .next()
        .and_then(|l| l.parse::<u64>().ok())
        .ok_or("the checkpoint has no tree size")?;
    let root = lines
        .next()
        .and_then(|l| B64.decode(l).ok())
        .ok_or("the checkpoint has no root hash")?;
    let signatures = sigs
        .lines()
        .filter_map(|l| l.strip_prefix("\u{2014} "))
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(_, sig)| B64.decode(sig).ok())
        .filter(|s| s.len() > 4)
        .collect();
    Ok(Checkpoint {
        text,
        size,
        root,
        signatures,
    })
}

impl RekorEntry {
    /// The canonical JSON the SET signs.
    fn set_payload(&self) -> String {
        // Keys sorted, no spaces; base64 and hex need no escaping.
        format!(
            r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
            B64.encode(&self.body),
            self.integrated_time,
            self.log_id,
            self.log_index
        )
    }

    /// Checks that the body is exactly the entry we asked for (parsed, so key order does not matter).
    pub fn check_body(&self, expected: &serde_json::Value) -> Result<(), RekorError> {
        let got: serde_json::Value = serde_json::from_slice(&self.body)
            .map_err(|_| RekorError::Unverified("the entry's body is not JSON".into()))?;
        let norm = |v: &serde_json::Value| {
            let mut v = v.clone();
            if let Some(h) = v.pointer_mut("/spec/data/hash/value") {
                *h = serde_json::Value::String(h.as_str().unwrap_or_default().to_lowercase());
            }
            v
        };
        if norm(&got) != norm(expected) {
            return Err(RekorError::Unverified(
                "the log returned an entry for another signature, key or digest".into(),
            ));
        }
        Ok(())
    }

    /// Verifies the SET, and the inclusion proof and its checkpoint when present, with the log's key.
    pub fn verify(&self, key: &LogKey) -> Result<(), RekorError> {
        if key.log_id != self.log_id {
            return Err(RekorError::Unverified(format!(
                "the entry is from log {}, not {}",
                self.log_id, key.log_id
            )));
        }
        key.key
            .verify(self.set_payload().as_bytes(), &self.set)
            .map_err(|_| {
                RekorError::Unverified(
                    "the signed entry timestamp does not verify with the log's key".into(),
                )
            })?;
        let Some(proof) = &self.inclusion_proof else {
            return Ok(());
        };
        let hashes = proof
            .hashes
            .iter()
            .map(|h| hex32(h, "a proof hash"))
            .collect::<Result<Vec<_>, _>>()?;
        let root = root_from_inclusion_proof(
            u64::try_from(proof.log_index).unwrap_or(u64::MAX),
            u64::try_from(proof.tree_size).unwrap_or(0),
            leaf_hash(&self.body),
            &hashes,
        )
        .map_err(|e| RekorError::Unverified(format!("the inclusion proof is invalid: {e}")))?;
        if root != hex32(&proof.root_hash, "the root hash")? {
            return Err(RekorError::Unverified(
                "the inclusion proof does not lead to the log's root hash".into(),
            ));
        }
        if let Some(note) = &proof.checkpoint {
            let cp = parse_checkpoint(note).map_err(RekorError::Unverified)?;
            let hint = &hex::decode(&key.log_id).unwrap_or_default()[..4];
            let signed = cp
                .signatures
                .iter()
                .any(|s| &s[..4] == hint && key.key.verify(cp.text.as_bytes(), &s[4..]).is_ok());
            if !signed {
                return Err(RekorError::Unverified(
                    "the checkpoint is not signed by the log's key".into(),
                ));
            }
            if cp.size != proof.tree_size as u64 || cp.root != root {
                return Err(RekorError::Unverified(
                    "the checkpoint is for another tree than the inclusion proof".into(),
                ));
            }
        }
        Ok(())
    }

    /// cosign's `dev.sigstore.cosign/bundle` annotation (field order as cosign writes it).
    pub fn cosign_bundle_annotation(&self) -> String {
        format!(
            r#"{{"SignedEntryTimestamp":"{}","Payload":{{"body":"{}","integratedTime":{},"logIndex":{},"logID":"{}"}}}}"#,
            B64.encode(&self.set),
            B64.encode(&self.body),
            self.integrated_time,
            self.log_index,
            self.log_id
        )
    }

    /// The entry as a Sigstore bundle's `verificationMaterial.tlogEntries[]` item (protobuf JSON:
    /// 64-bit integers as strings, bytes as base64).
    pub fn bundle_entry(&self) -> serde_json::Value {
        let log_id = B64.encode(hex::decode(&self.log_id).unwrap_or_default());
        let mut entry = serde_json::json!({
            "logIndex": self.log_index.to_string(),
            "logId": {"keyId": log_id},
            "kindVersion": {"kind": "hashedrekord", "version": "0.0.1"},
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

    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn tree_root(leaves: &[[u8; 32]]) -> [u8; 32] {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => node_hash(
                &tree_root(&leaves[..split(n)]),
                &tree_root(&leaves[split(n)..]),
            ),
        }
    }

    fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = split(n);
        let (mut p, sibling) = if m < k {
            (path(m, &leaves[..k]), tree_root(&leaves[k..]))
        } else {
            (path(m - k, &leaves[k..]), tree_root(&leaves[..k]))
        };
        p.push(sibling);
        p
    }

    #[test]
    fn inclusion_proofs_verify_for_every_leaf_of_many_tree_sizes() {
        for n in 1..=33usize {
            let leaves: Vec<[u8; 32]> = (0..n).map(|i| leaf_hash(&[i as u8])).collect();
            let root = tree_root(&leaves);
            for m in 0..n {
                let p = path(m, &leaves);
                assert_eq!(
                    root_from_inclusion_proof(m as u64, n as u64, leaves[m], &p).unwrap(),
                    root,
                    "n={n} m={m}"
                );
                if !p.is_empty() {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert_ne!(
                        root_from_inclusion_proof(m as u64, n as u64, leaves[m], &bad).unwrap(),
                        root
                    );
                    assert!(
                        root_from_inclusion_proof(m as u64, n as u64, leaves[m], &p[1..]).is_err()
                    );
                }
            }
        }
    }

    #[test]
    fn set_payload_is_canonical_and_annotation_is_cosigns_shape() {
        let e = RekorEntry {
            uuid: "u".into(),
            body: b"{}".to_vec(),
            integrated_time: 1700000000,
            log_id: "ab".repeat(32),
            log_index: 42,
            set: vec![1, 2],
            inclusion_proof: None,
        };
        assert_eq!(
            e.set_payload(),
            format!(
                r#"{{"body":"e30=","integratedTime":1700000000,"logID":"{}","logIndex":42}}"#,
                "ab".repeat(32)
            )
        );
        let a: serde_json::Value = serde_json::from_str(&e.cosign_bundle_annotation()).unwrap();
        assert_eq!(a["SignedEntryTimestamp"], "AQI=");
        assert_eq!(a["Payload"]["logIndex"], 42);
        let b = e.bundle_entry();
        assert_eq!(b["logIndex"], "42");
        assert_eq!(b["kindVersion"]["kind"], "hashedrekord");
    }

    #[test]
    fn set_and_checkpoint_verify_only_with_the_log_key() {
        let log = crate::signing::PrivateKey::generate();
        let key = LogKey::from_der(&log.public_key().to_der()).unwrap();
        let body = br#"{"apiVersion":"0.0.1"}"#.to_vec();
        let leaves = [leaf_hash(b"a"), leaf_hash(&body), leaf_hash(b"c")];
        let root = tree_root(&leaves);
        let text = format!("test - 1\n3\n{}\n", B64.encode(root));
        let hint = hex::decode(&key.log_id).unwrap()[..4].to_vec();
        let sig = [hint, log.sign(text.as_bytes())].concat();
        let mut e = RekorEntry {
            uuid: "u".into(),
            body,
            integrated_time: 1,
            log_id: key.log_id.clone(),
            log_index: 1,
            set: vec![],
            inclusion_proof: Some(InclusionProof {
                log_index: 1,
                root_hash: hex::encode(root),
                tree_size: 3,
                hashes: path(1, &leaves).iter().map(hex::encode).collect(),
                checkpoint: Some(format!("{text}\n\u{2014} test {}\n", B64.encode(sig))),
            }),
        };
        e.set = log.sign(e.set_payload().as_bytes());
        e.verify(&key).unwrap();
        let other = LogKey::from_der(&crate::signing::PrivateKey::generate().public_key().to_der())
            .unwrap();
        assert!(e
            .verify(&LogKey {
                log_id: key.log_id.clone(),
                key: other.key
            })
            .is_err());
        let mut tampered = e.clone();
        tampered.integrated_time += 1;
        assert!(tampered.verify(&key).is_err());
        let mut wrong_root = e.clone();
        wrong_root.inclusion_proof.as_mut().unwrap().root_hash = hex::encode([0u8; 32]);
        assert!(wrong_root.verify(&key).is_err());
    }
}
