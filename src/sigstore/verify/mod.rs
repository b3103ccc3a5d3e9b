//! Verification of Sigstore bundles and cosign signatures against a trusted root.
//!
//! The cryptography and the order of checks are the `sigstore-verify` crate's (the Sigstore
//! project's Rust verifier, run against the Sigstore conformance suite): certificate chain to a
//! trusted Fulcio CA at every verified time, the embedded SCT with a trusted CT log key, Rekor v1
//! SETs over the canonical `{body,integratedTime,logID,logIndex}`, inclusion proofs with signed
//! checkpoints (Rekor v1 and v2, cosignatures ignored unless they are the log's own), RFC 3161
//! timestamps from a trusted TSA, the log body's consistency with the signature, key or
//! certificate and artifact digest, and `integratedTime` inside the certificate's validity.
//!
//! This module adds what ferrosign needs around it:
//! - cosign's formats turned into Sigstore bundles ([`cosign`]): the older `verify-blob` bundle
//!   and the `.sig` image layer's signature/certificate/chain/bundle annotations;
//! - identity and issuer matching with cosign's flags (exact or regular expression);
//! - key-mode bundles without a log entry (`--tlog-upload=false`), checked as plain signatures;
//! - errors that say which check failed and what to do, naming the trusted root in use.

pub(crate) mod cosign;

use crate::signing::PublicKey;
use crate::sigstore::rekor::{LoggedBy, RekorError};
use crate::sigstore::trust::TrustRoot;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sigstore_verify::types::{
    Bundle, HashAlgorithm, SignatureContent, VerificationMaterialContent,
};
use sigstore_verify::{CertificateError, TimestampError, TransparencyLogError};
use std::path::Path;

/// Matches a certificate claim: exactly, or with a regular expression (unanchored, as cosign's).
#[derive(Clone, Debug)]
pub(crate) enum Matcher {
    /// equal to this string
    Exact(String),
    /// matched by this expression (add `^…$` to anchor it, as with cosign)
    Regex(regex::Regex),
}

impl Matcher {
    /// Whether `value` satisfies this matcher.
    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == value,
            Matcher::Regex(r) => r.is_match(value),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(s) => write!(f, "`{s}`"),
            Matcher::Regex(r) => write!(f, "a match for /{}/", r.as_str()),
        }
    }
}

/// Who must have signed, for keyless (certificate) signatures.
#[derive(Clone, Debug)]
pub(crate) struct KeylessPolicy {
    /// the certificate's SAN (`--certificate-identity` / `-regexp`)
    pub(crate) identity: Matcher,
    /// the certificate's OIDC issuer extension (`--certificate-oidc-issuer` / `-regexp`)
    pub(crate) issuer: Matcher,
    /// skip the embedded SCT check (`--insecure-ignore-sct`)
    pub(crate) insecure_ignore_sct: bool,
    /// skip inclusion proofs and checkpoints (`--insecure-ignore-tlog`); a verified time is still required
    pub(crate) insecure_ignore_tlog: bool,
}

/// What the signature must verify with.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ExpectedSigner<'a> {
    /// a Fulcio certificate whose identity matches the policy
    Keyless(&'a KeylessPolicy),
    /// a public key
    Key(&'a PublicKey),
}

/// The signed data.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Artifact<'a> {
    /// bytes in memory (an image's simple-signing payload)
    Bytes(&'a [u8]),
    /// a file, streamed
    File(&'a Path),
    /// the SHA-256 digest of data not at hand (what was just signed and logged; signing with a log
    /// entry is SHA-256 only, docs/inputs.md A5m)
    Digest(&'a [u8; 32]),
}

/// One transparency log entry that verified.
#[derive(Clone, Debug)]
pub(crate) struct VerifiedLogEntry {
    /// the entry's index in its log
    pub(crate) index: u64,
    /// the log's base URL from the trusted root, when listed
    pub(crate) log_url: Option<String>,
    /// `hashedrekord 0.0.1`, …
    pub(crate) kind: String,
    /// the SET-authenticated integration time (Rekor v1), RFC 3339
    pub(crate) integrated_time: Option<String>,
}

/// What a successful verification established.
#[derive(Clone, Debug)]
pub(crate) struct Verified {
    /// the certificate's SAN (keyless)
    pub(crate) identity: Option<String>,
    /// the certificate's OIDC issuer (keyless)
    pub(crate) issuer: Option<String>,
    /// the log entries in the bundle (empty when the signature was not logged)
    pub(crate) log_entries: Vec<VerifiedLogEntry>,
    /// whether the log entries' inclusion (SET, proof, checkpoint) was verified
    pub(crate) tlog_verified: bool,
    /// whether the certificate's SCT was verified
    pub(crate) sct_verified: bool,
    /// the verified signing times (TSA and SET), RFC 3339
    pub(crate) verified_times: Vec<String>,
}

/// Why a signature did not verify. Every variant is a clear refusal (exit 1).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum VerifyError {
    /// The bundle cannot be read.
    #[error("the bundle cannot be read: {0}")]
    Malformed(String),
    /// The bundle uses a format or entry kind ferrosign does not verify.
    #[error("the bundle is not supported: {0}")]
    Unsupported(String),
    /// A key-signed bundle, verified without `--key`.
    #[error("the bundle was signed with a key, not with a Fulcio certificate")]
    NeedsKey,
    /// A keyless bundle, verified with `--key`.
    #[error("the bundle carries a Fulcio certificate (keyless signature), not a key signature")]
    NeedsIdentity,
    /// The certificate's SAN is not the expected identity.
    #[error("the certificate's identity is `{actual}`, not {expected}")]
    IdentityMismatch {
        /// what was asked for
        expected: String,
        /// what the certificate says
        actual: String,
    },
    /// The certificate's OIDC issuer is not the expected one.
    #[error("the certificate's OIDC issuer is `{actual}`, not {expected}")]
    IssuerMismatch {
        /// what was asked for
        expected: String,
        /// what the certificate says
        actual: String,
    },
    /// The signature does not verify over the artifact.
    #[error("the signature does not match the data and the signer's key: {0}")]
    BadSignature(String),
    /// The bundle is for other data.
    #[error("the bundle is for other data than {0}")]
    ArtifactMismatch(String),
    /// The certificate does not chain to a trusted Fulcio CA.
    #[error(
        "the signing certificate was not issued by a certificate authority in {trust}: {reason}"
    )]
    UntrustedCertificate {
        /// the trusted root in use
        trust: String,
        /// the chain error
        reason: String,
    },
    /// The certificate was not valid when the signature was logged or timestamped.
    #[error("the signing certificate was not valid when the signature was made: {0}")]
    CertificateTime(String),
    /// The certificate's SCT does not verify with a trusted CT log key.
    #[error("the certificate's signed certificate timestamp (SCT) does not verify with a CT log in {trust}: {reason}")]
    Sct {
        /// the trusted root in use
        trust: String,
        /// the SCT error
        reason: String,
    },
    /// The entry names a log the trusted root does not list.
    #[error("the bundle's log entry comes from a transparency log that {trust} does not list (log ID {log_id})")]
    UnknownLog {
        /// the trusted root in use
        trust: String,
        /// hex log ID
        log_id: String,
    },
    /// The SET, inclusion proof or checkpoint does not verify.
    #[error("the transparency log entry does not verify with the log keys in {trust}: {reason}")]
    LogProof {
        /// the trusted root in use
        trust: String,
        /// which proof failed
        reason: String,
    },
    /// The log entry describes another signature, key, certificate or artifact.
    #[error("the transparency log entry does not describe this signature: {0}")]
    EntryMismatch(String),
    /// The log's integration time is outside the certificate's validity or in the future.
    #[error("the log entry's time is not acceptable: {0}")]
    EntryTime(String),
    /// An RFC 3161 timestamp does not verify with a trusted TSA.
    #[error(
        "the RFC 3161 timestamp does not verify with a timestamp authority in {trust}: {reason}"
    )]
    Timestamp {
        /// the trusted root in use
        trust: String,
        /// the timestamp error
        reason: String,
    },
    /// Nothing in the bundle proves when the signature was made.
    #[error("the bundle has no verifiable time for the signature: {0}")]
    NoVerifiedTime(String),
    /// The bundle carries no transparency log entry (`sign --tlog-upload=false`, with or without an
    /// RFC 3161 timestamp), and the log check was not waived: cosign v3 refuses it too (its verifier
    /// asks for one log entry unless `--insecure-ignore-tlog`, pkg/cosign/verify.go).
    #[error("the bundle has no transparency log entry to check")]
    NotLogged,
    /// The signed file could not be read.
    #[error("the artifact cannot be read: {0}")]
    Read(String),
    /// Another verification failure.
    #[error("{0}")]
    Other(String),
}

impl VerifyError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        let other_instance = "if the signature was made with another Sigstore instance, pass that \
                              instance's trusted_root.json with --trusted-root";
        Some(match self {
            VerifyError::Malformed(_) => {
                "pass a Sigstore bundle (v0.1–v0.3, e.g. from `cosign sign-blob --bundle`) or \
                 cosign's older bundle"
                    .into()
            }
            VerifyError::Unsupported(_) => return None,
            VerifyError::NeedsKey => "pass the signer's public key with --key".into(),
            VerifyError::NeedsIdentity => {
                "verify it with --certificate-identity and --certificate-oidc-issuer instead of --key"
                    .into()
            }
            VerifyError::IdentityMismatch { actual, .. } => format!(
                "check --certificate-identity: the signer was `{actual}` (for GitHub Actions, \
                 https://github.com/OWNER/REPO/.github/workflows/FILE@REF)"
            ),
            VerifyError::IssuerMismatch { actual, .. } => format!(
                "check --certificate-oidc-issuer: the certificate was issued for `{actual}` \
                 (GitHub Actions: https://token.actions.githubusercontent.com)"
            ),
            VerifyError::BadSignature(_) | VerifyError::ArtifactMismatch(_) => {
                "check that the bundle and the file belong together; either was changed after signing"
                    .into()
            }
            VerifyError::UntrustedCertificate { .. }
            | VerifyError::UnknownLog { .. }
            | VerifyError::Timestamp { .. } => other_instance.into(),
            VerifyError::Sct { .. } => format!(
                "{other_instance}; --insecure-ignore-sct skips this check for certificates that \
                 were not logged"
            ),
            VerifyError::LogProof { .. } => format!(
                "the log entry was altered or signed by another log; {other_instance}"
            ),
            VerifyError::EntryMismatch(_) | VerifyError::EntryTime(_) => {
                "the bundle was altered: its log entry and its signature do not belong together"
                    .into()
            }
            VerifyError::CertificateTime(_) => {
                "the bundle was altered, or its certificate was used outside its short validity"
                    .into()
            }
            VerifyError::NotLogged => "it was signed without the transparency log \
                                       (--tlog-upload=false): verify it with --insecure-ignore-tlog \
                                       to check the signature (and its timestamp) without a log entry, \
                                       as cosign does"
                .into(),
            VerifyError::NoVerifiedTime(_) => {
                "keyless signatures need a Rekor entry or an RFC 3161 timestamp: sign with the \
                 transparency log on"
                    .into()
            }
            VerifyError::Read(_) => "check the path".into(),
            VerifyError::Other(_) => return None,
        })
    }
}

/// Which Rekor API a log's answer came from (for [`check_logged`]'s messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogApi {
    /// Rekor v1 (`/api/v1/log/entries`)
    V1,
    /// Rekor v2 (`/api/v2/log/entries`)
    V2,
}

/// Checks what a log answered at signing time, before anyone relies on it: `ours` — the Sigstore bundle
/// made of the answer (its `tlogEntries[0]`), the signature (message signature or DSSE envelope), the
/// signer's key hint or certificate and, for Rekor v2, the timestamps that date it — must verify against
/// `trust` over `artifact` (a SHA-256 digest: the signed digest, or a DSSE statement's subject) with
/// exactly this signer: `by`'s public key, or its certificate's identity and issuer (the embedded SCT
/// checked when the certificate has one). Used by [`RekorEntry::check`] (v1) and
/// [`crate::sigstore::rekor_v2::check`] (v2). Errors: [`RekorError::BadAnswer`] when the answer does not
/// make a bundle the verifier reads; [`RekorError::NotOurs`] when it is another signature's entry
/// (other data, signature, key, identity or issuer); [`RekorError::Unverified`] with the verifier's
/// reason otherwise (proof, log, time, SCT).
///
/// [`RekorEntry::check`]: crate::sigstore::rekor::RekorEntry::check
pub(crate) fn check_logged(
    trust: &TrustRoot,
    ours: &crate::sigstore::bundle::Bundle,
    artifact: &[u8; 32],
    by: LoggedBy<'_>,
    api: LogApi,
) -> Result<(), RekorError> {
    let unreadable = |e: serde_json::Error| {
        RekorError::BadAnswer(format!(
            "{} does not make a Sigstore bundle: {e}",
            match api {
                LogApi::V1 => "the entry",
                LogApi::V2 => "the Rekor v2 entry",
            }
        ))
    };
    let json = serde_json::to_value(ours).map_err(unreadable)?;
    let parsed: Bundle = serde_json::from_value(json).map_err(unreadable)?;
    let policy;
    let expected = match by {
        LoggedBy::Key(key) => ExpectedSigner::Key(key),
        LoggedBy::Certificate(cert) => {
            policy = KeylessPolicy {
                identity: Matcher::Exact(cert.identity.clone()),
                issuer: Matcher::Exact(cert.issuer.clone()),
                insecure_ignore_sct: !cert.has_sct,
                insecure_ignore_tlog: false,
            };
            ExpectedSigner::Keyless(&policy)
        }
    };
    verify_bundle(trust, &parsed, Artifact::Digest(artifact), expected)
        .map(|_| ())
        .map_err(|e| match e {
            VerifyError::BadSignature(_)
            | VerifyError::ArtifactMismatch(_)
            | VerifyError::EntryMismatch(_)
            | VerifyError::IdentityMismatch { .. }
            | VerifyError::IssuerMismatch { .. } => RekorError::NotOurs(e.to_string()),
            e => RekorError::Unverified(e.to_string()),
        })
}

/// Checks a bundle's signature over `artifact`, with the trust material of `trust`.
pub(crate) fn verify_bundle(
    trust: &TrustRoot,
    bundle: &Bundle,
    artifact: Artifact<'_>,
    signer: ExpectedSigner<'_>,
) -> Result<Verified, VerifyError> {
    let has_cert = !matches!(
        bundle.verification_material.content,
        VerificationMaterialContent::PublicKey(_)
    );
    match signer {
        ExpectedSigner::Keyless(_) if !has_cert => return Err(VerifyError::NeedsKey),
        ExpectedSigner::Key(_) if has_cert => return Err(VerifyError::NeedsIdentity),
        _ => {}
    }
    let entries = bundle.verification_material.tlog_entries.as_slice();
    let has_timestamps = !bundle
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps
        .is_empty();
    if let ExpectedSigner::Key(key) = signer {
        if entries.is_empty() && !has_timestamps {
            // Signed with --tlog-upload=false: nothing to check against the trust root.
            return verify_plain(bundle, artifact, key);
        }
    }
    let ignore_tlog = matches!(signer, ExpectedSigner::Keyless(p) if p.insecure_ignore_tlog);
    if entries.is_empty() && !ignore_tlog {
        return Err(VerifyError::NotLogged);
    }
    let trust_name = trust.describe();
    for e in entries {
        if trust.rekor_log(e.log_id.key_id.as_bytes()).is_none() {
            return Err(VerifyError::UnknownLog {
                trust: trust_name,
                log_id: hex::encode(e.log_id.key_id.as_bytes()),
            });
        }
    }
    let verifier = sigstore_verify::Verifier::new(trust.root()).map_err(|e| map(e, &trust_name))?;
    let mut out = Verified {
        identity: None,
        issuer: None,
        log_entries: Vec::new(),
        tlog_verified: false,
        sct_verified: false,
        verified_times: Vec::new(),
    };
    let result = match signer {
        ExpectedSigner::Keyless(policy) => {
            let mut p = sigstore_verify::VerificationPolicy::any_identity();
            if policy.insecure_ignore_sct {
                p = p.skip_sct();
            }
            if policy.insecure_ignore_tlog {
                p = p.skip_tlog_unsafe();
            }
            let r = run(&verifier, artifact, bundle, &p).map_err(|e| map(e, &trust_name))?;
            // Only a verified chain makes the claims worth matching; the policy above keeps it on.
            if !r.certificate_verified() {
                return Err(VerifyError::Other(
                    "the signing certificate was not verified".into(),
                ));
            }
            let identity = r
                .identity()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let issuer = r.issuer().unwrap_or_default().to_string();
            if !policy.identity.matches(&identity) {
                return Err(VerifyError::IdentityMismatch {
                    expected: policy.identity.to_string(),
                    actual: identity,
                });
            }
            if !policy.issuer.matches(&issuer) {
                return Err(VerifyError::IssuerMismatch {
                    expected: policy.issuer.to_string(),
                    actual: issuer,
                });
            }
            out.identity = Some(identity);
            out.issuer = Some(issuer);
            r
        }
        ExpectedSigner::Key(key) => {
            let p = sigstore_verify::PublicKeyVerificationPolicy::new(
                sigstore_verify::types::DerPublicKey::new(key.to_der()),
            );
            run(&verifier, artifact, bundle, &p).map_err(|e| map(e, &trust_name))?
        }
    };
    out.tlog_verified = result.tlog_verified();
    out.sct_verified = result.sct_verified();
    out.verified_times = result
        .verified_timestamps()
        .iter()
        .map(|t| t.to_string())
        .collect();
    out.log_entries = entries
        .iter()
        .map(|e| VerifiedLogEntry {
            index: e.log_index.get(),
            log_url: trust
                .rekor_log(e.log_id.key_id.as_bytes())
                .map(|l| l.base_url),
            kind: format!("{} {}", e.kind_version.kind(), e.kind_version.version()),
            integrated_time: e.integrated_time.map(|t| t.to_string()),
        })
        .collect();
    Ok(out)
}

fn run(
    verifier: &sigstore_verify::Verifier,
    artifact: Artifact<'_>,
    bundle: &Bundle,
    policy: &(impl sigstore_verify::Policy + ?Sized),
) -> Result<sigstore_verify::VerificationResult, sigstore_verify::Error> {
    match artifact {
        Artifact::Bytes(b) => verifier.verify(b, bundle, policy),
        Artifact::Digest(d) => {
            let hash = sigstore_verify::types::Sha256Hash::try_from(&d[..])
                .map_err(sigstore_verify::Error::from)?;
            verifier.verify(hash, bundle, policy)
        }
        Artifact::File(path) => {
            let f = std::fs::File::open(path).map_err(sigstore_verify::Error::ArtifactRead)?;
            verifier.verify_reader(std::io::BufReader::new(f), bundle, policy)
        }
    }
}

fn artifact_digest(
    artifact: Artifact<'_>,
    alg: crate::signing::HashAlg,
) -> Result<crate::signing::Digest, VerifyError> {
    match artifact {
        Artifact::Bytes(b) => Ok(alg.digest(b)),
        Artifact::Digest(d) if alg == crate::signing::HashAlg::Sha256 => {
            Ok(crate::signing::Digest {
                alg,
                bytes: d.to_vec(),
            })
        }
        Artifact::Digest(_) => Err(VerifyError::ArtifactMismatch(artifact_name(artifact))),
        Artifact::File(path) => {
            let f = std::fs::File::open(path)
                .map_err(|e| VerifyError::Read(format!("{}: {e}", path.display())))?;
            crate::signing::keys::digest_reader(alg, std::io::BufReader::new(f))
                .map_err(|e| VerifyError::Read(format!("{}: {e}", path.display())))
        }
    }
}

fn artifact_name(artifact: Artifact<'_>) -> String {
    match artifact {
        Artifact::Bytes(_) => "the signed payload".into(),
        Artifact::Digest(_) => "the signed digest".into(),
        Artifact::File(p) => p.display().to_string(),
    }
}

/// A key-signed bundle checked by its signature alone (signed without a log entry, or verified with
/// `--insecure-ignore-tlog`): a message signature over the artifact's digest, or a DSSE envelope whose
/// in-toto statement names the artifact's SHA-256 in a subject and whose signature covers its PAE.
pub(crate) fn verify_plain(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    key: &PublicKey,
) -> Result<Verified, VerifyError> {
    if !matches!(
        bundle.verification_material.content,
        VerificationMaterialContent::PublicKey(_)
    ) {
        return Err(VerifyError::NeedsIdentity);
    }
    match &bundle.content {
        SignatureContent::MessageSignature(ms) => {
            // The bundle's digest algorithm is what the signer hashed with (cosign: SHA-384 for P-384
            // keys, SHA-512 for P-521); without one, SHA-256.
            let alg = match ms.message_digest.as_ref().map(|md| md.algorithm) {
                None | Some(HashAlgorithm::Sha2256) => crate::signing::HashAlg::Sha256,
                Some(HashAlgorithm::Sha2384) => crate::signing::HashAlg::Sha384,
                Some(HashAlgorithm::Sha2512) => crate::signing::HashAlg::Sha512,
                Some(other) => {
                    return Err(VerifyError::Unsupported(format!(
                        "a message digest of type {other:?}"
                    )))
                }
            };
            let digest = artifact_digest(artifact, alg)?;
            if let Some(md) = &ms.message_digest {
                if md.digest.as_bytes() != digest.bytes.as_slice() {
                    return Err(VerifyError::ArtifactMismatch(artifact_name(artifact)));
                }
            }
            key.verify_prehash(&digest, ms.signature.as_bytes())
                .map_err(|e| VerifyError::BadSignature(e.to_string()))?;
        }
        SignatureContent::DsseEnvelope(env) => {
            if env.payload_type != crate::signing::dsse::IN_TOTO_PAYLOAD_TYPE {
                return Err(VerifyError::Unsupported(format!(
                    "a DSSE envelope of type `{}` (not an in-toto statement)",
                    env.payload_type
                )));
            }
            let digest = artifact_digest(artifact, crate::signing::HashAlg::Sha256)?;
            let subject: [u8; 32] = digest
                .bytes
                .as_slice()
                .try_into()
                .map_err(|_| VerifyError::ArtifactMismatch(artifact_name(artifact)))?;
            let statement: sigstore_verify::types::Statement =
                serde_json::from_slice(env.payload.as_bytes())
                    .map_err(|e| VerifyError::Malformed(format!("the in-toto statement: {e}")))?;
            if !statement.matches_sha256(&sigstore_verify::types::Sha256Hash::new(subject)) {
                return Err(VerifyError::ArtifactMismatch(artifact_name(artifact)));
            }
            // The PAE is hashed as cosign signs it with this key type (SHA-384 for P-384, SHA-512
            // for P-521, pure Ed25519): docs/inputs.md A5n.
            key.verify_with(
                key.algorithm().signing_hash(),
                &env.pae(),
                env.signature.sig.as_bytes(),
            )
            .map_err(|e| VerifyError::BadSignature(e.to_string()))?;
        }
        _ => {
            return Err(VerifyError::Unsupported(
                "a bundle with neither a message signature nor a DSSE envelope".into(),
            ))
        }
    }
    Ok(Verified {
        identity: None,
        issuer: None,
        log_entries: Vec::new(),
        tlog_verified: false,
        sct_verified: false,
        verified_times: Vec::new(),
    })
}

/// Maps the verifier's error to ours, naming the trusted root where the cause may be a wrong instance.
fn map(e: sigstore_verify::Error, trust: &str) -> VerifyError {
    use sigstore_verify::Error as E;
    let trust = trust.to_string();
    match e {
        E::IdentityMismatch { expected, actual } => VerifyError::IdentityMismatch {
            expected: expected.to_string(),
            actual: actual.map(|a| a.to_string()).unwrap_or_default(),
        },
        E::IssuerMismatch { expected, actual } => VerifyError::IssuerMismatch {
            expected,
            actual: actual.unwrap_or_default(),
        },
        E::SignatureInvalid(r) => VerifyError::BadSignature(r),
        E::ArtifactMismatch(_) => VerifyError::ArtifactMismatch("the file given".into()),
        E::ArtifactRead(io) => VerifyError::Read(io.to_string()),
        E::Certificate(c) => match c {
            // webpki checks the validity period while building the chain, at each verified time
            // (the log's integration time, a TSA's time): that is a time problem, not a wrong CA.
            CertificateError::ChainInvalid(reason)
                if reason.contains("CertNotValidYet") || reason.contains("CertExpired") =>
            {
                VerifyError::CertificateTime(chain_time_reason(&reason))
            }
            CertificateError::ChainInvalid(reason) => {
                VerifyError::UntrustedCertificate { trust, reason }
            }
            CertificateError::NoValidAuthority { time } => VerifyError::UntrustedCertificate {
                trust,
                reason: format!("no certificate authority is valid at {time}"),
            },
            CertificateError::NotYetValid { .. } | CertificateError::Expired { .. } => {
                VerifyError::CertificateTime(c.to_string())
            }
            CertificateError::Sct(reason) => VerifyError::Sct { trust, reason },
            other => VerifyError::Malformed(other.to_string()),
        },
        E::TransparencyLog(t) => match t {
            TransparencyLogError::UnknownLog { log_id } => {
                VerifyError::UnknownLog { trust, log_id }
            }
            TransparencyLogError::InclusionProof(r)
            | TransparencyLogError::Checkpoint(r)
            | TransparencyLogError::InclusionPromise(r) => {
                VerifyError::LogProof { trust, reason: r }
            }
            TransparencyLogError::EntryMismatch(r) | TransparencyLogError::MalformedEntry(r) => {
                VerifyError::EntryMismatch(r)
            }
            TransparencyLogError::IntegratedTime(r) => VerifyError::EntryTime(r),
            other => VerifyError::Other(other.to_string()),
        },
        E::Timestamp(t) => match t {
            TimestampError::NoVerifiedTimestamp(r) => VerifyError::NoVerifiedTime(r),
            other => VerifyError::Timestamp {
                trust,
                reason: other.to_string(),
            },
        },
        E::InvalidTrustRoot(reason) if reason.contains("CT log") => {
            VerifyError::Sct { trust, reason }
        }
        E::InvalidBundle(r) => VerifyError::Malformed(r),
        E::Bundle(b) => VerifyError::Malformed(b.to_string()),
        E::Types(t) => VerifyError::Malformed(t.to_string()),
        E::UnsupportedBundle(r) | E::UnsupportedArtifact(r) => VerifyError::Unsupported(r),
        other => VerifyError::Other(other.to_string()),
    }
}

/// webpki's `CertNotValidYet { time: UnixTime(T), not_before: UnixTime(NB) }` (or `CertExpired`, with
/// `not_after`) in words, with RFC 3339 times.
fn chain_time_reason(reason: &str) -> String {
    let times: Vec<String> = reason
        .split("UnixTime(")
        .skip(1)
        .filter_map(|rest| rest.split(')').next()?.parse::<i64>().ok())
        .map(|secs| {
            jiff::Timestamp::from_second(secs)
                .map(|t| t.to_string())
                .unwrap_or_else(|_| secs.to_string())
        })
        .collect();
    match (times.as_slice(), reason.contains("CertNotValidYet")) {
        ([t, nb], true) => format!("it was signed at {t}, before the certificate's notBefore {nb}"),
        ([t, na], false) => format!("it was signed at {t}, after the certificate's notAfter {na}"),
        _ => format!("the verified signing time is outside the certificate's validity ({reason})"),
    }
}

/// Reads a bundle file's bytes: a Sigstore bundle (v0.1–v0.3) or cosign's older blob bundle.
pub(crate) fn load_bundle(bytes: &[u8]) -> Result<Bundle, VerifyError> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| VerifyError::Malformed(format!("not JSON: {e}")))?;
    if v.get("mediaType").is_some() {
        serde_json::from_value::<Bundle>(v)
            .map_err(|e| VerifyError::Malformed(format!("not a Sigstore bundle: {e}")))
    } else if v.get("base64Signature").is_some() {
        let legacy: crate::sigstore::bundle::LegacyBundle = serde_json::from_value(v)
            .map_err(|e| VerifyError::Malformed(format!("not a cosign bundle: {e}")))?;
        cosign::from_legacy_blob_bundle(&legacy)
    } else {
        Err(VerifyError::Malformed(
            "neither a Sigstore bundle (no mediaType) nor a cosign bundle (no base64Signature)"
                .into(),
        ))
    }
}

/// Decodes standard base64, tolerating white space.
pub(crate) fn b64(text: &str, what: &str) -> Result<Vec<u8>, VerifyError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(compact.as_bytes())
        .map_err(|_| VerifyError::Malformed(format!("{what} is not base64")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_follow_cosign() {
        let exact =
            Matcher::Exact("https://github.com/a/b/.github/workflows/r.yml@refs/heads/main".into());
        assert!(exact.matches("https://github.com/a/b/.github/workflows/r.yml@refs/heads/main"));
        assert!(!exact.matches("https://github.com/a/b/.github/workflows/r.yml@refs/heads/mainx"));
        // cosign's regular expressions are unanchored
        let re = Matcher::Regex(regex::Regex::new("github.com/a/").unwrap());
        assert!(re.matches("https://github.com/a/b"));
        assert!(!re.matches("https://github.com/ab/"));
        let anchored = Matcher::Regex(regex::Regex::new("^https://github.com/a/b/").unwrap());
        assert!(!anchored.matches("https://evil.example/https://github.com/a/b/"));
        assert_eq!(
            exact.to_string(),
            "`https://github.com/a/b/.github/workflows/r.yml@refs/heads/main`"
        );
    }

    #[test]
    fn webpki_time_errors_read_as_sentences() {
        let r = chain_time_reason("certificate chain validation failed: CertNotValidYet { time: UnixTime(1795613677), not_before: UnixTime(1795617277) }");
        assert_eq!(r, "it was signed at 2026-11-25T13:34:37Z, before the certificate's notBefore 2026-11-25T14:34:37Z");
        let r = chain_time_reason("CertExpired { time: UnixTime(100), not_after: UnixTime(50) }");
        assert!(
            r.contains("after the certificate's notAfter 1970-01-01T00:00:50Z"),
            "{r}"
        );
        assert!(chain_time_reason("CertExpired").contains("outside"));
    }

    #[test]
    fn garbage_is_a_clear_error() {
        for (bytes, needle) in [
            (&b""[..], "not JSON"),
            (b"{", "not JSON"),
            (b"{}", "neither"),
            (b"[1]", "neither"),
            (
                br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.9+json"}"#,
                "not a Sigstore bundle",
            ),
            (br#"{"base64Signature":5}"#, "not a cosign bundle"),
        ] {
            let e = load_bundle(bytes).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    /// Key-signed bundles (no log entry): what `sign-blob --tlog-upload=false` and a key-signed image
    /// bundle look like; checked by their signature alone.
    mod plain {
        use super::*;
        use crate::signing::dsse::{pae, Envelope, IN_TOTO_PAYLOAD_TYPE};
        use crate::signing::PrivateKey;
        use crate::sigstore::bundle::{self as ours, PublicKeyIdentifier, VerificationMaterial};

        fn material(key: &PrivateKey) -> VerificationMaterial {
            VerificationMaterial {
                public_key: Some(PublicKeyIdentifier {
                    hint: ours::key_hint(&key.public_key()),
                }),
                ..VerificationMaterial::default()
            }
        }

        fn load(b: &ours::Bundle) -> Bundle {
            load_bundle(&b.to_json()).unwrap()
        }

        /// A message-signature bundle over `data`'s digest, signed by `key`.
        fn message(key: &PrivateKey, data: &[u8]) -> Bundle {
            let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(data).into();
            let d = crate::signing::Digest {
                alg: crate::signing::HashAlg::Sha256,
                bytes: digest.to_vec(),
            };
            let sig = key.sign_prehash(&d).unwrap();
            load(&ours::Bundle::for_digest(material(key), &d, &sig))
        }

        /// A DSSE bundle whose in-toto statement names `subject`'s SHA-256, of type `payload_type`.
        fn dsse(key: &PrivateKey, subject: &[u8], payload_type: &str) -> Bundle {
            let hex = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(subject));
            let statement = format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"f","digest":{{"sha256":"{hex}"}}}}],"predicateType":"https://example.test/p","predicate":{{}}}}"#
            );
            let sig = key.sign(&pae(payload_type, statement.as_bytes())).unwrap();
            let env = Envelope::new(payload_type, statement.as_bytes(), &sig);
            load(&ours::Bundle::for_envelope(material(key), &env))
        }

        #[test]
        fn a_message_signature_verifies_for_its_data_and_key_only() {
            let key = PrivateKey::generate();
            let b = message(&key, b"data");
            let pk = key.public_key();
            let v = verify_plain(&b, Artifact::Bytes(b"data"), &pk).unwrap();
            assert!(v.log_entries.is_empty() && !v.tlog_verified);
            let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"data").into();
            verify_plain(&b, Artifact::Digest(&digest), &pk).unwrap();
            // other data: the bundle's digest says so before the signature is tried
            let e = verify_plain(&b, Artifact::Bytes(b"other"), &pk).unwrap_err();
            assert!(matches!(e, VerifyError::ArtifactMismatch(_)), "{e}");
            let e = verify_plain(
                &b,
                Artifact::Bytes(b"data"),
                &PrivateKey::generate().public_key(),
            )
            .unwrap_err();
            assert!(matches!(e, VerifyError::BadSignature(_)), "{e}");
        }

        #[test]
        fn a_message_digest_of_another_algorithm_is_refused() {
            let key = PrivateKey::generate();
            let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"data").into();
            let d = crate::signing::Digest {
                alg: crate::signing::HashAlg::Sha256,
                bytes: digest.to_vec(),
            };
            let sig = key.sign_prehash(&d).unwrap();
            let mut b = ours::Bundle::for_digest(material(&key), &d, &sig);
            if let Some(ms) = b.message_signature.as_mut() {
                if let Some(md) = ms.message_digest.as_mut() {
                    md.algorithm = "SHA2_384".into();
                }
            }
            let e =
                verify_plain(&load(&b), Artifact::Bytes(b"data"), &key.public_key()).unwrap_err();
            assert!(matches!(e, VerifyError::ArtifactMismatch(_)), "{e}");
        }

        #[test]
        fn a_dsse_envelope_verifies_for_its_subject_type_and_key_only() {
            let key = PrivateKey::generate();
            let pk = key.public_key();
            let b = dsse(&key, b"data", IN_TOTO_PAYLOAD_TYPE);
            verify_plain(&b, Artifact::Bytes(b"data"), &pk).unwrap();
            let e = verify_plain(&b, Artifact::Bytes(b"other"), &pk).unwrap_err();
            assert!(matches!(e, VerifyError::ArtifactMismatch(_)), "{e}");
            let e = verify_plain(
                &b,
                Artifact::Bytes(b"data"),
                &PrivateKey::generate().public_key(),
            )
            .unwrap_err();
            assert!(matches!(e, VerifyError::BadSignature(_)), "{e}");
            let other_type = dsse(&key, b"data", "application/vnd.example+json");
            let e = verify_plain(&other_type, Artifact::Bytes(b"data"), &pk).unwrap_err();
            assert!(matches!(e, VerifyError::Unsupported(_)), "{e}");
        }

        #[test]
        fn a_key_bundle_without_log_entries_is_checked_by_its_signature_and_never_as_keyless() {
            let trust = TrustRoot::production().unwrap();
            let key = PrivateKey::generate();
            let pk = key.public_key();
            let b = message(&key, b"data");
            let v = verify_bundle(
                &trust,
                &b,
                Artifact::Bytes(b"data"),
                ExpectedSigner::Key(&pk),
            )
            .unwrap();
            assert!(v.log_entries.is_empty());
            let e = verify_bundle(
                &trust,
                &b,
                Artifact::Bytes(b"data"),
                ExpectedSigner::Key(&PrivateKey::generate().public_key()),
            )
            .unwrap_err();
            assert!(matches!(e, VerifyError::BadSignature(_)), "{e}");
            let policy = KeylessPolicy {
                identity: Matcher::Exact("a@example.test".into()),
                issuer: Matcher::Exact("https://issuer.example.test".into()),
                insecure_ignore_sct: false,
                insecure_ignore_tlog: false,
            };
            let e = verify_bundle(
                &trust,
                &b,
                Artifact::Bytes(b"data"),
                ExpectedSigner::Keyless(&policy),
            )
            .unwrap_err();
            assert!(matches!(e, VerifyError::NeedsKey), "{e}");
        }
    }
}

/// `verify_bundle`, `check_logged` and the error mapping on a recorded Rekor v2 signing of the fake
/// Sigstore (`fixtures`: a key-signed and a keyless bundle, each with an entry and a timestamp)
/// (issue 16's mutation run: each test fails with a mutant of this file).
#[cfg(test)]
mod recorded {
    use super::*;
    use crate::sigstore::fixtures;

    fn bundle(json: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Bundle {
        let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
        edit(&mut v);
        load_bundle(v.to_string().as_bytes()).unwrap()
    }

    fn policy(identity: &str, issuer: &str, ignore_sct: bool) -> KeylessPolicy {
        KeylessPolicy {
            identity: Matcher::Exact(identity.into()),
            issuer: Matcher::Exact(issuer.into()),
            insecure_ignore_sct: ignore_sct,
            insecure_ignore_tlog: false,
        }
    }

    #[test]
    fn a_keyless_bundle_verifies_for_its_identity_and_issuer_with_entry_sct_and_time() {
        let trust = fixtures::trust();
        let b = bundle(fixtures::KEYLESS_BUNDLE, |_| {});
        let data = Artifact::Bytes(fixtures::CONTENT);
        let p = policy(fixtures::IDENTITY, fixtures::ISSUER, false);
        let v = verify_bundle(&trust, &b, data, ExpectedSigner::Keyless(&p)).unwrap();
        assert_eq!(v.identity.as_deref(), Some(fixtures::IDENTITY));
        assert_eq!(v.issuer.as_deref(), Some(fixtures::ISSUER));
        assert!(v.tlog_verified && v.sct_verified, "{v:?}");
        assert_eq!(v.verified_times, ["2026-11-30T07:33:57Z"]);
        assert_eq!(v.log_entries.len(), 1);
        let e = &v.log_entries[0];
        assert_eq!((e.index, e.kind.as_str()), (9, "hashedrekord 0.0.2"));
        assert_eq!(e.log_url.as_deref(), Some("http://127.0.0.1:45197"));
        // --insecure-ignore-sct: the SCT is not checked.
        let p = policy(fixtures::IDENTITY, fixtures::ISSUER, true);
        let v = verify_bundle(&trust, &b, data, ExpectedSigner::Keyless(&p)).unwrap();
        assert!(v.tlog_verified && !v.sct_verified, "{v:?}");
        // Another identity, another issuer, another file.
        let p = policy("https://github.com/acme/other", fixtures::ISSUER, false);
        let e = verify_bundle(&trust, &b, data, ExpectedSigner::Keyless(&p)).unwrap_err();
        assert!(matches!(e, VerifyError::IdentityMismatch { .. }), "{e}");
        let p = policy(fixtures::IDENTITY, "https://accounts.google.com", false);
        let e = verify_bundle(&trust, &b, data, ExpectedSigner::Keyless(&p)).unwrap_err();
        assert!(matches!(e, VerifyError::IssuerMismatch { .. }), "{e}");
        let p = policy(fixtures::IDENTITY, fixtures::ISSUER, false);
        let other = Artifact::Bytes(b"another file\n");
        assert!(verify_bundle(&trust, &b, other, ExpectedSigner::Keyless(&p)).is_err());
        // A keyless bundle is not checked as a key signature, whatever the key.
        let key = fixtures::key();
        let e = verify_bundle(&trust, &b, data, ExpectedSigner::Key(&key)).unwrap_err();
        assert!(matches!(e, VerifyError::NeedsIdentity), "{e}");
        // A log the trusted root does not list: refused by name.
        let mut root = fixtures::trusted_root_json();
        root["tlogs"] = serde_json::json!([root["tlogs"][0].clone()]);
        let only_v1 = fixtures::trust_from(&root);
        let e = verify_bundle(&only_v1, &b, data, ExpectedSigner::Keyless(&p)).unwrap_err();
        assert!(matches!(e, VerifyError::UnknownLog { .. }), "{e}");
    }

    #[test]
    fn a_key_bundle_with_an_entry_is_checked_against_the_log_not_as_a_plain_signature() {
        let trust = fixtures::trust();
        let key = fixtures::key();
        let data = Artifact::Bytes(fixtures::CONTENT);
        let b = bundle(fixtures::KEY_BUNDLE, |_| {});
        let v = verify_bundle(&trust, &b, data, ExpectedSigner::Key(&key)).unwrap();
        assert!(v.tlog_verified && v.identity.is_none(), "{v:?}");
        assert_eq!(v.log_entries.len(), 1);
        // Without its timestamp the entry is still checked (a key needs no time).
        let untimed = bundle(fixtures::KEY_BUNDLE, |v| {
            v["verificationMaterial"]
                .as_object_mut()
                .unwrap()
                .remove("timestampVerificationData");
        });
        let v = verify_bundle(&trust, &untimed, data, ExpectedSigner::Key(&key)).unwrap();
        assert!(v.tlog_verified, "{v:?}");
        assert_eq!(v.log_entries.len(), 1);
        // A forged inclusion proof in a key bundle: refused, not waved through as plain.
        let forged = bundle(fixtures::KEY_BUNDLE, |v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0] =
                serde_json::json!(B64.encode([7u8; 32]));
        });
        let e = verify_bundle(&trust, &forged, data, ExpectedSigner::Key(&key)).unwrap_err();
        assert!(matches!(e, VerifyError::LogProof { .. }), "{e}");
        // A timestamp without an entry is not a plain signature either: without a log entry it is
        // refused as not logged (cosign v3 too, unless --insecure-ignore-tlog), with that hint.
        let timed_only = bundle(fixtures::KEY_BUNDLE, |v| {
            v["verificationMaterial"]
                .as_object_mut()
                .unwrap()
                .remove("tlogEntries");
        });
        let e = verify_bundle(&trust, &timed_only, data, ExpectedSigner::Key(&key)).unwrap_err();
        assert!(matches!(&e, VerifyError::NotLogged), "{e}");
        assert!(e.hint().unwrap().contains("--insecure-ignore-tlog"));
        // A key bundle wants a key, not an identity.
        let p = policy(fixtures::IDENTITY, fixtures::ISSUER, false);
        let e = verify_bundle(&trust, &b, data, ExpectedSigner::Keyless(&p)).unwrap_err();
        assert!(matches!(e, VerifyError::NeedsKey), "{e}");
    }

    #[test]
    fn at_signing_the_embedded_sct_is_checked_when_the_certificate_has_one() {
        let trust = fixtures::trust();
        let c = fixtures::keyless_signed();
        let ts = [fixtures::timestamp(c.timestamp.clone())];
        let digest = fixtures::digest();
        let mut cert = fixtures::certificate(&trust);
        assert!(cert.has_sct);
        // A trusted root without the CT log: the SCT cannot verify.
        let mut root = fixtures::trusted_root_json();
        root["ctlogs"] = serde_json::json!([]);
        let no_ct = fixtures::trust_from(&root);
        let check = |trust: &TrustRoot, cert: &crate::sigstore::fulcio::SigningCertificate| {
            crate::sigstore::rekor_v2::check(
                &c.entry,
                &ts,
                trust,
                &digest,
                &c.signature,
                LoggedBy::Certificate(cert),
            )
        };
        check(&trust, &cert).unwrap();
        let e = check(&no_ct, &cert).unwrap_err();
        assert!(matches!(e, RekorError::Unverified(_)), "{e}");
        // A certificate without an SCT is logged without one: nothing to check there.
        cert.has_sct = false;
        check(&no_ct, &cert).unwrap();
    }

    #[test]
    fn verifier_errors_map_to_what_failed() {
        use sigstore_verify::Error as E;
        let chain = |reason: &str| {
            map(
                E::Certificate(CertificateError::ChainInvalid(reason.into())),
                "root.json",
            )
        };
        let e = chain("CertExpired { time: UnixTime(100), not_after: UnixTime(50) }");
        assert!(
            matches!(&e, VerifyError::CertificateTime(r) if r.contains("after the certificate's notAfter")),
            "{e}"
        );
        let e = chain("CertNotValidYet { time: UnixTime(100), not_before: UnixTime(150) }");
        assert!(
            matches!(&e, VerifyError::CertificateTime(r) if r.contains("before the certificate's notBefore")),
            "{e}"
        );
        let e = chain("UnknownIssuer");
        assert!(
            matches!(&e, VerifyError::UntrustedCertificate { trust, .. } if trust == "root.json"),
            "{e}"
        );
        let e = map(E::InvalidTrustRoot("no CT log key".into()), "root.json");
        assert!(matches!(e, VerifyError::Sct { .. }), "{e}");
        let e = map(E::InvalidTrustRoot("no Fulcio CA".into()), "root.json");
        assert!(!matches!(e, VerifyError::Sct { .. }), "{e}");
    }

    #[test]
    fn artifacts_are_named_and_digests_taken_as_given() {
        let d = [9u8; 32];
        assert_eq!(artifact_name(Artifact::Bytes(b"x")), "the signed payload");
        assert_eq!(artifact_name(Artifact::Digest(&d)), "the signed digest");
        assert_eq!(
            artifact_name(Artifact::File(Path::new("/tmp/f.txt"))),
            "/tmp/f.txt"
        );
        let got = artifact_digest(Artifact::Digest(&d), crate::signing::HashAlg::Sha256).unwrap();
        assert_eq!(got.bytes, d);
        let e = artifact_digest(Artifact::Digest(&d), crate::signing::HashAlg::Sha384).unwrap_err();
        assert!(matches!(e, VerifyError::ArtifactMismatch(_)), "{e}");
        assert_eq!(b64(" QUJD\nRA== ", "x").unwrap(), b"ABCD");
        assert!(b64("not base64!", "the thing").is_err());
    }
}
