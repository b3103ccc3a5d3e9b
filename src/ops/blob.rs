//! `sign-blob` and `verify-blob` for local files.

use super::signer::Signer;
use super::{Instance, SignWith, VerifyWith};
use crate::error::Error;
use crate::fsutil::write_atomic;
use crate::gha::Ui;
use crate::signing::{sha256_reader, KeyError, PublicKey};
use crate::sigstore::bundle::{Bundle, PublicKeyIdentifier, VerificationMaterial, X509Certificate};
use crate::sigstore::rekor_v2;
use crate::sigstore::trust::sources::TrustSettings;
use crate::sigstore::trust::TrustRoot;
use crate::sigstore::verify;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::path::{Path, PathBuf};

/// `sign-blob`.
#[derive(Debug)]
pub(crate) struct SignBlob {
    /// the file
    pub(crate) file: PathBuf,
    /// who signs
    pub(crate) sign_with: SignWith,
    /// also write the signature here
    pub(crate) output_signature: Option<PathBuf>,
    /// keyless: also write the certificate here
    pub(crate) output_certificate: Option<PathBuf>,
    /// write a Sigstore bundle here
    pub(crate) bundle: Option<PathBuf>,
    /// the Sigstore instance (Fulcio, Rekor, trusted root, private repository policy)
    pub(crate) instance: Instance,
    /// record the signature in Rekor
    pub(crate) tlog_upload: bool,
}

/// What `sign-blob` made.
#[derive(Debug, Clone)]
pub(crate) struct SignBlobReport {
    /// the base64 signature
    pub(crate) signature: String,
    /// where it was also written, if asked
    pub(crate) output_signature: Option<PathBuf>,
}

/// `verify-blob`.
#[derive(Debug)]
pub(crate) struct VerifyBlob {
    /// the file
    pub(crate) file: PathBuf,
    /// a public key, or a keyless identity policy
    pub(crate) verify_with: VerifyWith,
    /// the signature or bundle
    pub(crate) evidence: BlobEvidence,
    /// where the trusted root comes from (`--trusted-root`, else TUF)
    pub(crate) trust: TrustSettings,
    /// `--insecure-ignore-tlog`
    pub(crate) ignore_tlog: bool,
}

/// What `verify-blob` checks the file against.
#[derive(Debug)]
pub(crate) enum BlobEvidence {
    /// A path to a signature file, or the base64 signature itself.
    Signature(String),
    /// A bundle file.
    Bundle(PathBuf),
}

/// What `verify-blob` established.
#[derive(Debug, Clone)]
pub(crate) struct VerifyBlobReport {
    /// the checks that passed (identity, issuer, log entries, times); `None` for a bare signature
    pub(crate) verified: Option<verify::Verified>,
}

fn digest_file(path: &Path) -> Result<[u8; 32], Error> {
    let read = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(read)?;
    sha256_reader(std::io::BufReader::new(f)).map_err(read)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomic(path, bytes).map_err(|source| Error::Io {
        context: "cannot write",
        path: path.to_path_buf(),
        source,
    })
}

/// The `publicKey.hint` of a key-signed bundle: base64 SHA-256 of the DER public key.
pub(crate) fn key_hint(key: &PublicKey) -> String {
    use sha2::Digest;
    B64.encode(sha2::Sha256::digest(key.to_der()))
}

/// Signs a file with a key or keylessly; records the signature in Rekor unless told not to; writes
/// the signature file, certificate and bundle asked for; the report holds the base64 signature.
pub(crate) async fn sign_blob(req: &SignBlob, ui: &mut Ui) -> Result<SignBlobReport, Error> {
    let digest = digest_file(&req.file)?;
    let signer = Signer::prepare(
        &req.sign_with,
        &req.instance,
        req.tlog_upload,
        "the signature, public key and file digest go to the public Rekor log",
        true,
        ui,
    )
    .await?;
    let signed = signer.sign(&digest).await?;
    let sig = signed.signature.clone();
    // The bundle's verification material: the key's hint, or the certificate.
    let mut material = match (signer.public_key(), signer.certificate()) {
        (_, Some(cert)) => VerificationMaterial {
            certificate: Some(X509Certificate {
                raw_bytes: B64.encode(&cert.leaf_der),
            }),
            ..Default::default()
        },
        (public, None) => VerificationMaterial {
            public_key: public.map(|p| PublicKeyIdentifier { hint: key_hint(p) }),
            ..Default::default()
        },
    };
    let cert_pem = signer.certificate().map(|c| c.leaf_pem.clone());
    for ts in &signed.timestamps {
        ui.info(&format!("timestamp from {}: {}", ts.url, ts.time));
    }
    material.timestamp_verification_data = rekor_v2::timestamp_data(&signed.timestamps);
    for entry in &signed.entries {
        if let Some(index) = entry.log_index() {
            ui.info(&format!("tlog entry created with index: {index}"));
        }
        material.tlog_entries.push(entry.bundle_entry());
    }
    if !signer.logs() {
        ui.warn(
            "--tlog-upload=false: the signature is not in the transparency log; verifiers must skip the log check (cosign: --insecure-ignore-tlog)",
        );
    }
    let sig_b64 = B64.encode(&sig);
    if let Some(path) = &req.bundle {
        let b = Bundle::for_digest(material, &digest, &sig);
        // A struct of strings and vectors always serialises.
        let json = serde_json::to_vec(&b).unwrap_or_default();
        write(path, &json)?;
        ui.info(&format!("Wrote bundle to file {}", path.display()));
    }
    if let (Some(path), Some(pem)) = (&req.output_certificate, &cert_pem) {
        write(path, pem.as_bytes())?;
        ui.info(&format!("Wrote certificate to file {}", path.display()));
    }
    if cert_pem.is_some() && req.bundle.is_none() && req.output_certificate.is_none() {
        ui.warn("keyless signature without --bundle or --output-certificate: verifiers will have no certificate to check it with");
    }
    if let Some(path) = &req.output_signature {
        write(path, sig_b64.as_bytes())?;
        ui.info(&format!("Wrote signature to file {}", path.display()));
    }
    Ok(SignBlobReport {
        signature: sig_b64,
        output_signature: req.output_signature.clone(),
    })
}

/// Decodes a signature given as base64 text (white space tolerated).
pub(crate) fn decode_signature(text: &str) -> Result<Vec<u8>, KeyError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(KeyError::MalformedSignature("it is empty".into()));
    }
    B64.decode(compact.as_bytes())
        .map_err(|_| KeyError::MalformedSignature("it is not base64".into()))
}

/// Verifies a file against a signature or bundle: with a public key, or keylessly against a trusted root.
pub(crate) async fn verify_blob(req: &VerifyBlob, ui: &mut Ui) -> Result<VerifyBlobReport, Error> {
    let (key, key_name) = match &req.verify_with {
        VerifyWith::Key(k) => (
            Some(
                k.load_public()
                    .map_err(|e| Error::key(format!("cannot load the public key from {k}"), e))?,
            ),
            k.to_string(),
        ),
        VerifyWith::PublicKey(k) => (Some(k.clone()), format!("sha256:{}", k.fingerprint())),
        VerifyWith::Keyless(_) => (None, String::new()),
    };
    let expected = match (&req.verify_with, &key) {
        (VerifyWith::Keyless(p), _) => verify::ExpectedSigner::Keyless(p),
        (_, Some(k)) => verify::ExpectedSigner::Key(k),
        (_, None) => return Err(Error::input("no key loaded", "pass --key")),
    };
    match (&req.evidence, expected) {
        (BlobEvidence::Signature(s), verify::ExpectedSigner::Key(key)) => {
            verify_signature(&req.file, key, &key_name, s)?;
            Ok(VerifyBlobReport { verified: None })
        }
        (BlobEvidence::Signature(_), verify::ExpectedSigner::Keyless(_)) => Err(Error::usage(
            "keyless verification needs the Sigstore bundle (certificate and log entry), not a bare signature",
            "pass --bundle FILE (written by `sign-blob --bundle`)",
        )),
        (BlobEvidence::Bundle(path), expected) => {
            let bytes = crate::fsutil::read_limited(path, crate::fsutil::BUNDLE_FILE)
                .map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let mut bundle = verify::load_bundle(&bytes)?;
            if req.ignore_tlog {
                ui.warn("Skipping tlog verification is an insecure practice that lacks transparency and auditability verification for the signature.");
                if matches!(expected, verify::ExpectedSigner::Key(_)) {
                    // a key signature needs no time: check the signature alone, as cosign does
                    bundle.verification_material.tlog_entries.clear();
                    bundle
                        .verification_material
                        .timestamp_verification_data
                        .rfc3161_timestamps
                        .clear();
                }
            }
            // The trusted root is read only when the bundle needs it (a key signature without a
            // log entry does not), so a key-only user never meets a trust error.
            let needs_trust = matches!(expected, verify::ExpectedSigner::Keyless(_))
                || !bundle.verification_material.tlog_entries.is_empty()
                || !bundle
                    .verification_material
                    .timestamp_verification_data
                    .rfc3161_timestamps
                    .is_empty();
            let trust = if needs_trust {
                super::trust::trusted_root(&req.trust, ui).await?
            } else {
                TrustRoot::production()?
            };
            let v = verify::verify_bundle(
                &trust,
                &bundle,
                verify::Artifact::File(&req.file),
                expected,
            )
            .map_err(|e| match e {
                verify::VerifyError::ArtifactMismatch(_) => {
                    verify::VerifyError::ArtifactMismatch(req.file.display().to_string())
                }
                other => other,
            })?;
            Ok(VerifyBlobReport { verified: Some(v) })
        }
    }
}

fn verify_signature(file: &Path, key: &PublicKey, key_name: &str, s: &str) -> Result<(), Error> {
    let digest = digest_file(file)?;
    let p = Path::new(s);
    let text = if p.is_file() {
        crate::fsutil::read_limited_string(p, crate::fsutil::SIGNATURE_FILE).map_err(|source| {
            Error::Read {
                path: p.to_path_buf(),
                source,
            }
        })?
    } else {
        s.to_string()
    };
    let sig = decode_signature(&text).map_err(|e| Error::key("cannot read the signature", e))?;
    key.verify_digest(&digest, &sig).map_err(|e| match e {
        KeyError::BadSignature => Error::Verification {
            reason: format!(
                "the signature does not match {} and the public key {key_name}",
                file.display(),
            ),
            hint: e.hint(),
        },
        other => Error::key("cannot check the signature", other),
    })
}
