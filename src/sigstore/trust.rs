//! Sigstore trust material: which Fulcio CAs, Rekor logs, CT logs and timestamp authorities to trust.
//!
//! The format is Sigstore's `trusted_root.json` (protobuf-specs `TrustedRoot`, media type
//! `application/vnd.dev.sigstore.trustedroot+json;version=0.1`), the file Sigstore clients get from
//! the instance's TUF repository. Where it comes from, in order ([`sources`]): `--trusted-root FILE`;
//! the TUF repository ([`tuf`]: Sigstore's public-good one, or a mirror set with `ferrosign initialize`
//! or `TUF_MIRROR`); that repository's cache when its mirror cannot be reached; and for the public-good
//! repository, a snapshot embedded in the binary ([`PRODUCTION_TRUSTED_ROOT`], refreshed by
//! `scripts/refresh-trusted-root.sh`). The signing config ([`signing_config`]) comes the same way.
//!
//! Parsing uses the `sigstore-trust-root` model (Rekor v1 ECDSA and Rekor v2 Ed25519 log keys, CT
//! logs, TSAs, validity windows); this module adds the source, structural checks that make a wrong
//! file fail early with a clear reason, and lookups used in error messages.

pub(crate) mod signing_config;
pub(crate) mod sources;
pub(crate) mod tuf;

use sigstore_verify::trust_root::TrustedRoot;
use std::fmt;
use std::path::{Path, PathBuf};

/// The public-good instance's trusted root, embedded for offline use (see `scripts/refresh-trusted-root.sh`).
pub(crate) const PRODUCTION_TRUSTED_ROOT: &str = include_str!("production_trusted_root.json");

/// The media type prefix every trusted root carries.
const MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.trustedroot";

/// Where the trust material came from: named in every error, so a wrong-instance failure says which root was used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum TrustSource {
    /// The embedded snapshot of the public-good instance's root.
    Production,
    /// A file given with `--trusted-root`.
    File(PathBuf),
    /// The `trusted_root.json` target of a TUF repository.
    Tuf {
        /// the mirror's URL
        mirror: String,
        /// the TUF root version the metadata verified under
        root_version: u64,
        /// whether the mirror answered, or its cache stood in
        fetched: Fetched,
    },
}

/// Whether a TUF target came from the mirror just now or from its cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fetched {
    /// Refreshed from the mirror in this run.
    Now,
    /// The mirror could not be reached and the cache (verified on its own) stood in.
    Cached {
        /// when the cache was last refreshed from the mirror, if known
        refreshed: Option<jiff::Timestamp>,
    },
}

impl TrustSource {
    /// Where it came from and how old it is, for the job summary and reports: (`source`, `age`).
    pub(crate) fn provenance(&self, now: jiff::Timestamp) -> (String, String) {
        match self {
            TrustSource::Production => (
                "embedded public-good snapshot".into(),
                format!(
                    "taken {} ({} old)",
                    sources::EMBEDDED_SNAPSHOT_DATE,
                    sources::embedded_age(now)
                ),
            ),
            TrustSource::File(p) => (format!("file {}", p.display()), "as given".into()),
            TrustSource::Tuf {
                mirror,
                root_version,
                fetched,
            } => {
                let source = format!("TUF {mirror} (root v{root_version})");
                let age = match fetched {
                    Fetched::Now => "refreshed now".to_string(),
                    Fetched::Cached { refreshed: None } => "cached, age unknown".to_string(),
                    Fetched::Cached {
                        refreshed: Some(at),
                    } => format!(
                        "cached, refreshed {} ago",
                        sources::span(now.as_second() - at.as_second())
                    ),
                };
                (source, age)
            }
        }
    }
}

impl fmt::Display for TrustSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustSource::Production => {
                f.write_str("the public-good Sigstore trusted root (embedded)")
            }
            TrustSource::File(p) => write!(f, "the trusted root {}", p.display()),
            TrustSource::Tuf {
                mirror, fetched, ..
            } => {
                write!(f, "the trusted root of the TUF repository {mirror}")?;
                if *fetched != Fetched::Now {
                    f.write_str(" (its cached copy)")?;
                }
                Ok(())
            }
        }
    }
}

/// Why trust material could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum TrustError {
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
    /// The TUF repository could not be used (and nothing may stand in for it).
    #[error(transparent)]
    Tuf(#[from] tuf::TufError),
    /// The signing config cannot be read or used.
    #[error(transparent)]
    SigningConfig(#[from] signing_config::SigningConfigError),
    /// A service is needed from the signing config, and the TUF repository publishes none.
    #[error("the TUF repository {mirror} publishes no signing_config.v0.2.json, and a service to sign with is not named")]
    NoSigningConfig {
        /// the mirror
        mirror: String,
    },
}

impl TrustError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> String {
        match self {
            TrustError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "check the path given to --trusted-root".into()
            }
            TrustError::Read { .. } => "check the file's permissions".into(),
            TrustError::Parse { .. } | TrustError::Invalid { .. } => {
                "pass --trusted-root the trusted_root.json of your Sigstore instance (the TUF target \
                 of that name), or omit it to use the public-good instance"
                    .into()
            }
            TrustError::Tuf(e) => e.hint(),
            TrustError::SigningConfig(e) => e.hint(),
            TrustError::NoSigningConfig { .. } => {
                "name the services with --fulcio-url and --rekor-url, or pass --signing-config FILE".into()
            }
        }
    }

    /// Whether this is the request's fault (a file it names cannot be used: exit 2) rather than a
    /// failure of the TUF repository while running (exit 1).
    pub(crate) fn is_input(&self) -> bool {
        match self {
            TrustError::Tuf(e) => e.is_input(),
            _ => true,
        }
    }
}

/// A Rekor or CT log named by the trust root.
#[derive(Clone, Debug)]
pub(crate) struct LogInfo {
    /// the log's base URL
    pub(crate) base_url: String,
    /// the log ID (SHA-256 of the log's DER public key for Rekor v1 and CT), lowercase hex
    pub(crate) log_id_hex: String,
}

/// Loaded, checked trust material and where it came from.
#[derive(Clone, Debug)]
pub(crate) struct TrustRoot {
    root: TrustedRoot,
    source: TrustSource,
}

impl TrustRoot {
    /// The public-good instance's root, from the embedded snapshot.
    pub(crate) fn production() -> Result<Self, TrustError> {
        Self::parse(PRODUCTION_TRUSTED_ROOT, TrustSource::Production)
    }

    /// A trusted root file.
    pub(crate) fn from_file(path: &Path) -> Result<Self, TrustError> {
        let text = crate::fsutil::read_limited_string(path, crate::fsutil::TRUSTED_ROOT_FILE)
            .map_err(|source| TrustError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        Self::parse(&text, TrustSource::File(path.to_path_buf()))
    }

    /// Parses and checks a trusted root's JSON text.
    pub(crate) fn parse(json: &str, source: TrustSource) -> Result<Self, TrustError> {
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
    pub(crate) fn root(&self) -> &TrustedRoot {
        &self.root
    }

    /// Where it came from.
    pub(crate) fn source(&self) -> &TrustSource {
        &self.source
    }

    /// The Rekor logs it trusts (v1 and v2).
    pub(crate) fn rekor_logs(&self) -> Vec<LogInfo> {
        self.root
            .tlogs
            .iter()
            .map(|l| LogInfo {
                base_url: l.base_url.clone(),
                log_id_hex: hex::encode(l.log_id.key_id.as_bytes()),
            })
            .collect()
    }

    /// The Rekor log with this log ID (raw bytes), if trusted.
    pub(crate) fn rekor_log(&self, log_id: &[u8]) -> Option<LogInfo> {
        let hex_id = hex::encode(log_id);
        self.rekor_logs()
            .into_iter()
            .find(|l| l.log_id_hex == hex_id)
    }

    /// Checks that `leaf` (DER) chains through `intermediates` (DER, as the CA handed them out) to a
    /// Fulcio certificate authority of this root that is valid at `at`, with every certificate valid
    /// then and the code-signing extended key usage: the path building and signature checks are
    /// rustls-webpki's, with the algorithms sigstore-verify accepts, as sigstore-verify checks a bundle's
    /// certificate. Errors: the reason, in words.
    pub(crate) fn verify_fulcio_chain(
        &self,
        leaf: &[u8],
        intermediates: &[Vec<u8>],
        at: jiff::Timestamp,
    ) -> Result<(), String> {
        use rustls_pki_types::{CertificateDer, UnixTime};
        /// id-kp-codeSigning (1.3.6.1.5.5.7.3.3), DER content octets.
        const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
        let anchors: Vec<_> = self
            .root
            .certificate_authorities
            .iter()
            .filter(|ca| ca.valid_for.is_none_or(|window| window.contains(at)))
            .flat_map(|ca| ca.cert_chain.certificates.iter())
            .filter_map(|c| {
                webpki::anchor_from_trusted_cert(&CertificateDer::from(c.raw_bytes.as_bytes()))
                    .ok()
                    .map(|a| a.to_owned())
            })
            .collect();
        if anchors.is_empty() {
            return Err(format!("it lists no certificate authority valid at {at}"));
        }
        let intermediates: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|c| CertificateDer::from(c.as_slice()))
            .collect();
        let leaf = CertificateDer::from(leaf);
        let ee = webpki::EndEntityCert::try_from(&leaf)
            .map_err(|e| format!("the certificate cannot be parsed: {e}"))?;
        let seconds = u64::try_from(at.as_second()).unwrap_or(0);
        ee.verify_for_usage(
            sigstore_verify::crypto::WEBPKI_VERIFICATION_ALGS,
            &anchors,
            &intermediates,
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds)),
            webpki::KeyUsage::required(CODE_SIGNING),
            None,
            None,
        )
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
    }

    /// A one-line description for messages: the source and the log URLs it trusts.
    pub(crate) fn describe(&self) -> String {
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
        assert!(root
            .rekor_logs()
            .iter()
            .any(|l| l.base_url == "https://rekor.sigstore.dev"
                && l.log_id_hex
                    == "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"));
        let r = root.root();
        let keys: Vec<&str> = r
            .tlogs
            .iter()
            .map(|l| l.public_key.key_details.as_str())
            .collect();
        assert!(
            keys.contains(&"PKIX_ECDSA_P256_SHA_256") && keys.contains(&"PKIX_ED25519"),
            "{keys:?}"
        );
        assert!(!r.ctlogs.is_empty());
        assert!(!r.timestamp_authorities.is_empty());
        assert!(r
            .certificate_authorities
            .iter()
            .any(|ca| ca.uri == "https://fulcio.sigstore.dev"
                && ca.cert_chain.certificates.len() == 2));
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
    fn fulcio_chains_are_checked_against_the_root() {
        let root = TrustRoot::production().unwrap();
        let chain: Vec<Vec<u8>> = root
            .root()
            .certificate_authorities
            .iter()
            .find(|ca| ca.uri == "https://fulcio.sigstore.dev")
            .unwrap()
            .cert_chain
            .certificates
            .iter()
            .map(|c| c.raw_bytes.as_bytes().to_vec())
            .collect();
        // The public-good intermediate is a CA certificate: no code-signing leaf, refused.
        let now = jiff::Timestamp::now();
        let e = root
            .verify_fulcio_chain(&chain[0], &chain[1..], now)
            .unwrap_err();
        assert!(!e.is_empty());
        assert!(root.verify_fulcio_chain(b"not DER", &[], now).is_err());
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
