//! Sigstore trust material: which Fulcio CAs, Rekor logs, CT logs and timestamp authorities to trust.
//!
//! The format is Sigstore's `trusted_root.json` (protobuf-specs `TrustedRoot`, media type
//! `application/vnd.dev.sigstore.trustedroot+json;version=0.1`), the file Sigstore clients get from
//! the instance's TUF repository. Two sources:
//! - the public-good instance (fulcio.sigstore.dev, rekor.sigstore.dev), from a snapshot embedded in
//!   the binary so that verification works offline: [`PRODUCTION_TRUSTED_ROOT`], refreshed by
//!   `scripts/refresh-trusted-root.sh` (see that script for where the snapshot comes from);
//! - any other instance (a private deployment, the test services): `--trusted-root FILE`.
//!
//! Parsing uses the `sigstore-trust-root` model (Rekor v1 ECDSA and Rekor v2 Ed25519 log keys, CT
//! logs, TSAs, validity windows); this module adds the source, structural checks that make a wrong
//! file fail early with a clear reason, and lookups used in error messages.

use sigstore_verify::trust_root::TrustedRoot;
use std::fmt;
use std::path::{Path, PathBuf};

/// The public-good instance's trusted root, embedded for offline use (see `scripts/refresh-trusted-root.sh`).
pub const PRODUCTION_TRUSTED_ROOT: &str = include_str!("production_trusted_root.json");

/// The media type prefix every trusted root carries.
const MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.trustedroot";

/// Where the trust material came from: named in every error, so a wrong-instance failure says which root was used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustSource {
    /// The embedded snapshot of the public-good instance's root.
    Production,
    /// A file given with `--trusted-root`.
    File(PathBuf),
}

impl fmt::Display for TrustSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustSource::Production => {
                f.write_str("the public-good Sigstore trusted root (embedded)")
            }
            TrustSource::File(p) => write!(f, "the trusted root {}", p.display()),
        }
    }
}

/// Why trust material could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The `--trusted-root` file could not be read.
    #[error("cannot read the trusted root {}: {source}", path.display())]
    Read {
        /// the file
        path: PathBuf,
        /// the cause
        source: std::io::Error,
    },
    /// The JSON is not a trusted root.
    #[error("{origin} is not a Sigstore trusted_root.json: {reason}")]
    Parse {
        /// which root
        origin: TrustSource,
        /// what is wrong
        reason: String,
    },
    /// The root parses but some of its keys or certificates are unusable.
    #[error("{origin} holds unusable trust material: {reason}")]
    Invalid {
        /// which root
        origin: TrustSource,
        /// what is wrong
        reason: String,
    },
}

impl TrustError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            TrustError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "check the path given to --trusted-root".into()
            }
            TrustError::Read { .. } => "check the file's permissions".into(),
            TrustError::Parse { .. } | TrustError::Invalid { .. } => {
                "pass --trusted-root the trusted_root.json of your Sigstore instance (the TUF target \
                 of that name), or omit it to use the public-good instance"
                    .into()
            }
        })
    }
}

/// A Rekor or CT log named by the trust root.
#[derive(Clone, Debug)]
pub struct LogInfo {
    /// the log's base URL
    pub base_url: String,
    /// the log ID (SHA-256 of the log's DER public key for Rekor v1 and CT), lowercase hex
    pub log_id_hex: String,
    /// `PKIX_ECDSA_P256_SHA_256`, `PKIX_ED25519`, …
    pub key_details: String,
    /// `start..end` of the key's validity, RFC 3339
    pub valid_for: String,
}

/// Loaded, checked trust material and where it came from.
#[derive(Clone, Debug)]
pub struct TrustRoot {
    root: TrustedRoot,
    source: TrustSource,
}

/// One log's summary; Rekor and CT logs have the same fields under different types.
fn log_info(
    base_url: &str,
    key_id: &[u8],
    key_details: &str,
    valid_for: Option<&sigstore_verify::types::TimeRange>,
) -> LogInfo {
    LogInfo {
        base_url: base_url.to_string(),
        log_id_hex: hex::encode(key_id),
        key_details: key_details.to_string(),
        valid_for: window(valid_for),
    }
}

fn window(range: Option<&sigstore_verify::types::TimeRange>) -> String {
    match range {
        None => "always".into(),
        Some(r) => match &r.end {
            Some(end) => format!("{} to {end}", r.start),
            None => format!("from {}", r.start),
        },
    }
}

impl TrustRoot {
    /// The public-good instance's root, from the embedded snapshot.
    pub fn production() -> Result<Self, TrustError> {
        Self::parse(PRODUCTION_TRUSTED_ROOT, TrustSource::Production)
    }

    /// A trusted root file.
    pub fn from_file(path: &Path) -> Result<Self, TrustError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrustError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, TrustSource::File(path.to_path_buf()))
    }

    /// The file if one is given, else the public-good root.
    pub fn load(path: Option<&Path>) -> Result<Self, TrustError> {
        match path {
            Some(p) => Self::from_file(p),
            None => Self::production(),
        }
    }

    /// Parses and checks a trusted root's JSON text.
    pub fn parse(json: &str, source: TrustSource) -> Result<Self, TrustError> {
        let parse_err = |reason: String| TrustError::Parse {
            origin: source.clone(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| parse_err(format!("not JSON: {e}")))?;
        let media_type = value
            .get("mediaType")
            .and_then(|m| m.as_str())
            .ok_or_else(|| parse_err("it has no mediaType".into()))?;
        if !media_type.starts_with(MEDIA_TYPE_PREFIX) {
            return Err(parse_err(format!(
                "its mediaType is `{media_type}`, not {MEDIA_TYPE_PREFIX}+json"
            )));
        }
        let root: TrustedRoot =
            serde_json::from_value(value).map_err(|e| parse_err(e.to_string()))?;
        if root.tlogs.is_empty() && root.certificate_authorities.is_empty() {
            return Err(parse_err(
                "it lists neither a transparency log nor a certificate authority".into(),
            ));
        }
        // Building a verifier parses every key and certificate and rejects duplicates and
        // reversed validity windows: a bad root fails here, before any bundle is read.
        sigstore_verify::Verifier::new(&root).map_err(|e| TrustError::Invalid {
            origin: source.clone(),
            reason: e.to_string(),
        })?;
        Ok(TrustRoot { root, source })
    }

    /// The parsed root, for the verifier.
    pub fn root(&self) -> &TrustedRoot {
        &self.root
    }

    /// Where it came from.
    pub fn source(&self) -> &TrustSource {
        &self.source
    }

    /// The Rekor logs it trusts (v1 and v2).
    pub fn rekor_logs(&self) -> Vec<LogInfo> {
        self.root
            .tlogs
            .iter()
            .map(|l| {
                log_info(
                    &l.base_url,
                    l.log_id.key_id.as_bytes(),
                    l.public_key.key_details.as_str(),
                    l.public_key.valid_for.as_ref(),
                )
            })
            .collect()
    }

    /// The certificate transparency logs it trusts.
    pub fn ct_logs(&self) -> Vec<LogInfo> {
        self.root
            .ctlogs
            .iter()
            .map(|l| {
                log_info(
                    &l.base_url,
                    l.log_id.key_id.as_bytes(),
                    l.public_key.key_details.as_str(),
                    l.public_key.valid_for.as_ref(),
                )
            })
            .collect()
    }

    /// The Rekor log with this log ID (raw bytes), if trusted.
    pub fn rekor_log(&self, log_id: &[u8]) -> Option<LogInfo> {
        let hex_id = hex::encode(log_id);
        self.rekor_logs()
            .into_iter()
            .find(|l| l.log_id_hex == hex_id)
    }

    /// Each Fulcio CA's URI and certificate chain (DER, as listed: leaf-most first, root last).
    pub fn fulcio_chains(&self) -> Vec<(String, Vec<Vec<u8>>)> {
        self.root
            .certificate_authorities
            .iter()
            .map(|ca| {
                (
                    ca.uri.clone(),
                    ca.cert_chain
                        .certificates
                        .iter()
                        .map(|c| c.raw_bytes.as_bytes().to_vec())
                        .collect(),
                )
            })
            .collect()
    }

    /// The number of timestamp authorities.
    pub fn tsa_count(&self) -> usize {
        self.root.timestamp_authorities.len()
    }

    /// A one-line description for messages: the source and the log URLs it trusts.
    pub fn describe(&self) -> String {
        let mut logs: Vec<String> = Vec::new();
        for l in self.rekor_logs() {
            if !logs.contains(&l.base_url) {
                logs.push(l.base_url);
            }
        }
        if logs.is_empty() {
            self.source.to_string()
        } else {
            format!("{} (Rekor: {})", self.source, logs.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_root_parses_with_every_kind_of_material() {
        let root = TrustRoot::production().unwrap();
        let logs = root.rekor_logs();
        assert!(logs
            .iter()
            .any(|l| l.base_url == "https://rekor.sigstore.dev"
                && l.key_details == "PKIX_ECDSA_P256_SHA_256"
                && l.log_id_hex
                    == "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"));
        assert!(
            logs.iter().any(|l| l.key_details == "PKIX_ED25519"),
            "a Rekor v2 log: {logs:?}"
        );
        assert!(!root.ct_logs().is_empty());
        assert!(root.tsa_count() >= 1);
        let cas = root.fulcio_chains();
        assert!(cas
            .iter()
            .any(|(uri, chain)| uri == "https://fulcio.sigstore.dev" && chain.len() == 2));
        assert!(root.describe().contains("rekor.sigstore.dev"));
    }

    #[test]
    fn embedded_snapshot_matches_the_sigstore_crate_copy_or_is_newer() {
        // Both come from the public-good TUF repository; when they differ, one was refreshed later.
        // Every Rekor log the crate knows must still be in ours (logs are added, never removed).
        let ours = TrustRoot::production().unwrap();
        let theirs = TrustRoot::parse(
            sigstore_verify::trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT,
            TrustSource::Production,
        )
        .unwrap();
        for log in theirs.rekor_logs() {
            assert!(
                ours.rekor_log(&hex::decode(&log.log_id_hex).unwrap())
                    .is_some(),
                "embedded root lacks {log:?}: run scripts/refresh-trusted-root.sh"
            );
        }
    }

    #[test]
    fn wrong_files_fail_with_reasons() {
        let src = || TrustSource::File("x.json".into());
        for (json, needle) in [
            ("", "not JSON"),
            ("{", "not JSON"),
            ("[]", "no mediaType"),
            (
                r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#,
                "mediaType is",
            ),
            (
                r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
                "neither",
            ),
            (
                r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[{"baseUrl":"x","hashAlgorithm":"SHA2_256","publicKey":{"rawBytes":"AAAA","keyDetails":"PKIX_ECDSA_P256_SHA_256"},"logId":{"keyId":"AAAA"}}]}"#,
                "unusable",
            ),
        ] {
            let e = TrustRoot::parse(json, src()).unwrap_err().to_string();
            assert!(e.contains(needle), "{json:?}: {e}");
            assert!(e.contains("x.json"), "{e}");
        }
    }
}
