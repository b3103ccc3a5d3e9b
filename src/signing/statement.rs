//! The in-toto statement cosign v3 signs for a container image in its bundle format, and the checks that
//! make a signed statement count as an image signature.
//!
//! Written (in-toto attestation spec v1, `spec/v1/statement.md`; cosign v3.1.3
//! `cmd/cosign/cli/sign/sign.go` `signDigestBundle`, pinned in docs/cosign-bundle-layout.md §1.1):
//! ```json
//! {"_type":"https://in-toto.io/Statement/v1",
//!  "subject":[{"name":"ghcr.io/acme/app","digest":{"sha256":"<hex>"},"annotations":{"team":"platform"}}],
//!  "predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}
//! ```
//! One subject: the signed manifest's digest, the `-a key=value` annotations (strings; `{}` when none),
//! and — unlike cosign, which leaves it out — the repository as `name`, which the in-toto spec asks for
//! and sigstore-python's reader requires.
//!
//! Read: a statement is an image signature for digest D only when its `predicateType` is cosign's sign
//! predicate and a subject's `sha256` is D's hex (cosign v3's `IntotoSubjectClaimVerifier` checks only
//! the digest, so it takes an SLSA provenance attestation for a signature; ferrosign does not). `-a`
//! annotations are looked for on a subject naming D, as cosign v3 does.

use super::payload::SimpleSigning;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `_type` of an in-toto v1 statement.
pub(crate) const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of an in-toto v0.1 statement (what `cosign attest` still writes).
pub(crate) const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// cosign's predicate type for an image signature (`types.CosignSignPredicateType`).
pub(crate) const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// One subject of a statement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Subject {
    /// the artifact's name (the repository, for ferrosign's image signatures)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    /// algorithm (`sha256`) → lower-case hex
    #[serde(default)]
    pub(crate) digest: BTreeMap<String, String>,
    /// free-form annotations (cosign: the `-a` pairs)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) annotations: Option<BTreeMap<String, serde_json::Value>>,
}

/// An in-toto statement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Statement {
    /// the statement type (v1 or v0.1)
    #[serde(rename = "_type")]
    pub(crate) type_: String,
    /// what the statement is about
    #[serde(default)]
    pub(crate) subject: Vec<Subject>,
    /// what kind of claim
    #[serde(default)]
    pub(crate) predicate_type: String,
    /// the claim (`{}` for cosign's sign predicate)
    #[serde(default)]
    pub(crate) predicate: serde_json::Value,
}

/// Why a signed statement is not an image signature for a digest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StatementRejection {
    /// Not JSON, or not an in-toto statement.
    #[error("signs something that is not an in-toto statement ({0})")]
    Malformed(String),
    /// Another predicate type: an attestation, not a signature.
    #[error("is an attestation of type {0}, not an image signature")]
    Attestation(String),
    /// No subject names the image's digest.
    #[error("is for another digest ({0})")]
    OtherDigest(String),
    /// The subject lacks `-a` annotations asked for.
    #[error("lacks the required annotations")]
    Annotations,
}

impl Statement {
    /// The statement ferrosign signs for `repository@digest` (digest `sha256:<hex>`).
    pub(crate) fn image_signature(
        repository: &str,
        digest: &str,
        annotations: &BTreeMap<String, String>,
    ) -> Self {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        Statement {
            type_: STATEMENT_V1.into(),
            subject: vec![Subject {
                name: Some(repository.to_string()),
                digest: BTreeMap::from([("sha256".to_string(), hex.to_string())]),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect(),
                ),
            }],
            predicate_type: COSIGN_SIGN_PREDICATE.into(),
            predicate: serde_json::json!({}),
        }
    }

    /// Compact JSON (fields in the spec's order).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Strings, maps of strings and JSON values: serializing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a statement (v1 or v0.1).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, StatementRejection> {
        let s: Statement = serde_json::from_slice(bytes)
            .map_err(|e| StatementRejection::Malformed(e.to_string()))?;
        if s.type_ != STATEMENT_V1 && s.type_ != STATEMENT_V01 {
            return Err(StatementRejection::Malformed(format!(
                "unknown _type `{}`",
                s.type_
            )));
        }
        Ok(s)
    }

    /// The subjects that name `digest` (`sha256:<hex>`).
    fn subjects_for<'a>(&'a self, digest: &'a str) -> impl Iterator<Item = &'a Subject> + 'a {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.subject.iter().filter(move |s| {
            s.digest
                .get("sha256")
                .is_some_and(|d| d.eq_ignore_ascii_case(hex))
        })
    }

    /// Checks that this statement is a cosign image signature for `digest` whose subject carries every
    /// `wanted` annotation; returns what `cosign verify` prints for it (cosign v3's shape: the reference
    /// with its digest, the predicate type as `type`, the subject's annotations as `optional`).
    pub(crate) fn as_image_signature(
        &self,
        reference: &str,
        digest: &str,
        wanted: &BTreeMap<String, String>,
    ) -> Result<SimpleSigning, StatementRejection> {
        if self.predicate_type != COSIGN_SIGN_PREDICATE {
            return Err(StatementRejection::Attestation(self.predicate_type.clone()));
        }
        let mut named = self.subjects_for(digest).peekable();
        if named.peek().is_none() {
            let others = self
                .subject
                .iter()
                .filter_map(|s| s.digest.get("sha256"))
                .map(|h| format!("sha256:{h}"))
                .collect::<Vec<_>>();
            return Err(StatementRejection::OtherDigest(if others.is_empty() {
                "no sha256 subject".into()
            } else {
                others.join(", ")
            }));
        }
        let has = |s: &Subject| {
            wanted.iter().all(|(k, v)| {
                s.annotations
                    .as_ref()
                    .and_then(|a| a.get(k))
                    .is_some_and(|have| have.as_str() == Some(v.as_str()))
            })
        };
        let Some(subject) = named.find(|s| has(s)) else {
            return Err(StatementRejection::Annotations);
        };
        Ok(SimpleSigning {
            docker_reference: reference.to_string(),
            manifest_digest: digest.to_string(),
            kind: self.predicate_type.clone(),
            optional: Some(subject.annotations.clone().unwrap_or_default()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:7f0ff2c0842593da78b7d07c8dacbff76a389b977ea92bff556914c197b5d999";

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_statement_has_cosigns_shape_and_a_subject_name() {
        let s = Statement::image_signature("ghcr.io/acme/app", D, &map(&[("team", "platform")]));
        assert_eq!(
            String::from_utf8(s.to_bytes()).unwrap(),
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"ghcr.io/acme/app","digest":{"sha256":"7f0ff2c0842593da78b7d07c8dacbff76a389b977ea92bff556914c197b5d999"},"annotations":{"team":"platform"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}"#
        );
        let none = Statement::image_signature("r", D, &BTreeMap::new());
        assert!(String::from_utf8(none.to_bytes())
            .unwrap()
            .contains(r#""annotations":{}"#));
    }

    #[test]
    fn cosign_v3s_statement_is_an_image_signature() {
        // Written by cosign v3.1.3 `sign -a team=platform` (no subject name).
        let cosign = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"7f0ff2c0842593da78b7d07c8dacbff76a389b977ea92bff556914c197b5d999"},"annotations":{"team":"platform"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}"#;
        let s = Statement::parse(cosign).unwrap();
        let p = s
            .as_image_signature("r@x", D, &map(&[("team", "platform")]))
            .unwrap();
        assert_eq!(p.kind, COSIGN_SIGN_PREDICATE);
        assert_eq!(p.docker_reference, "r@x");
        assert_eq!(
            s.as_image_signature("r", D, &map(&[("team", "other")])),
            Err(StatementRejection::Annotations)
        );
        // cosign v2.6.5's: spaces, no annotations, no predicate
        let v2 = br#"{"_type":"https://in-toto.io/Statement/v1", "subject":[{"digest":{"sha256":"7f0ff2c0842593da78b7d07c8dacbff76a389b977ea92bff556914c197b5d999"}}], "predicateType":"https://sigstore.dev/cosign/sign/v1"}"#;
        let s = Statement::parse(v2).unwrap();
        assert!(s.as_image_signature("r", D, &BTreeMap::new()).is_ok());
    }

    #[test]
    fn attestations_and_other_digests_never_count() {
        let mut s = Statement::image_signature("r", D, &BTreeMap::new());
        let other = format!("sha256:{}", "1".repeat(64));
        assert!(matches!(
            s.as_image_signature("r", &other, &BTreeMap::new()),
            Err(StatementRejection::OtherDigest(d)) if d == D
        ));
        s.predicate_type = "https://slsa.dev/provenance/v1".into();
        assert_eq!(
            s.as_image_signature("r", D, &BTreeMap::new()),
            Err(StatementRejection::Attestation(
                "https://slsa.dev/provenance/v1".into()
            ))
        );
        assert!(matches!(
            Statement::parse(br#"{"_type":"x","subject":[]}"#),
            Err(StatementRejection::Malformed(_))
        ));
        assert!(matches!(
            Statement::parse(b"nope"),
            Err(StatementRejection::Malformed(_))
        ));
    }
}
