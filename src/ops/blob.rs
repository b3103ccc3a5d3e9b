//! `sign-blob` and `verify-blob` for local files.

use super::signer::Signer;
use super::{Instance, SignWith, VerifyWith};
use crate::error::Error;
use crate::fsutil::write_atomic;
use crate::gha::Ui;
use crate::signing::keys::digest_reader;
use crate::signing::{Algorithm, Digest, HashAlg, KeyError, PublicKey};
use crate::sigstore::bundle::{Bundle, PublicKeyIdentifier, VerificationMaterial, X509Certificate};
use crate::sigstore::rekor_v2;
use crate::sigstore::trust::sources::TrustSettings;
use crate::sigstore::trust::TrustRoot;
use crate::sigstore::verify;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::path::{Path, PathBuf};

/// The file a blob verb works on: a path, or bytes the front-end read (`-`: stdin; `env://VAR`).
#[derive(Debug)]
pub(crate) enum Blob {
    /// A file, streamed.
    File(PathBuf),
    /// Bytes in hand, and how to name them in messages (`stdin`, `env://VAR`).
    Bytes {
        /// how messages name it
        name: String,
        /// the bytes
        bytes: Vec<u8>,
    },
}

impl Blob {
    /// How messages name it.
    pub(crate) fn name(&self) -> String {
        match self {
            Blob::File(p) => p.display().to_string(),
            Blob::Bytes { name, .. } => name.clone(),
        }
    }

    fn digest(&self, alg: HashAlg) -> Result<Digest, Error> {
        match self {
            Blob::File(p) => digest_file(p, alg),
            Blob::Bytes { bytes, .. } => Ok(alg.digest(bytes)),
        }
    }

    /// The whole message (pure Ed25519 needs it), at most [`MAX_ED25519_MESSAGE`] bytes of a file.
    fn message(&self, what: &str) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
        match self {
            Blob::File(p) => read_limited(p, MAX_ED25519_MESSAGE, what).map(Into::into),
            Blob::Bytes { bytes, .. } => Ok(bytes.as_slice().into()),
        }
    }

    fn artifact(&self) -> verify::Artifact<'_> {
        match self {
            Blob::File(p) => verify::Artifact::File(p),
            Blob::Bytes { bytes, .. } => verify::Artifact::Bytes(bytes),
        }
    }
}

/// `sign-blob`.
#[derive(Debug)]
pub(crate) struct SignBlob {
    /// the file
    pub(crate) file: Blob,
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
    /// write the signature as raw bytes instead of base64 (`--b64=false`)
    pub(crate) raw: bool,
}

/// What `sign-blob` made.
#[derive(Debug, Clone)]
pub(crate) struct SignBlobReport {
    /// the base64 signature
    pub(crate) signature: String,
    /// the signature bytes (printed as they are with `--b64=false`)
    pub(crate) raw: Option<Vec<u8>>,
    /// where it was also written, if asked
    pub(crate) output_signature: Option<PathBuf>,
}

/// `verify-blob`.
#[derive(Debug)]
pub(crate) struct VerifyBlob {
    /// the file
    pub(crate) file: Blob,
    /// a public key, or a keyless identity policy
    pub(crate) verify_with: VerifyWith,
    /// the signature or bundle
    pub(crate) evidence: BlobEvidence,
    /// where the trusted root comes from (`--trusted-root`, else TUF)
    pub(crate) trust: TrustSettings,
    /// `--insecure-ignore-tlog`
    pub(crate) ignore_tlog: bool,
    /// `--signature-digest-algorithm` (cosign's default: SHA-256, whatever the key)
    pub(crate) digest_alg: HashAlg,
}

/// What `verify-blob` checks the file against.
#[derive(Debug)]
pub(crate) enum BlobEvidence {
    /// `--signature` as given: a path to a file holding the signature, or the signature itself.
    Signature(String),
    /// `--signature env://VAR`: the variable's bytes, read by the front-end.
    SignatureBytes {
        /// the bytes
        bytes: Vec<u8>,
    },
    /// A bundle file.
    Bundle(PathBuf),
}

/// The largest file pure Ed25519 signs or verifies: it needs the whole message in memory.
pub(crate) const MAX_ED25519_MESSAGE: u64 = 256 * 1024 * 1024;

/// What `verify-blob` established.
#[derive(Debug, Clone)]
pub(crate) struct VerifyBlobReport {
    /// the checks that passed (identity, issuer, log entries, times); `None` for a bare signature
    pub(crate) verified: Option<verify::Verified>,
}

fn digest_file(path: &Path, alg: HashAlg) -> Result<Digest, Error> {
    let read = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(read)?;
    digest_reader(alg, std::io::BufReader::new(f)).map_err(read)
}

/// Reads a whole file, at most `limit` bytes (pure Ed25519 needs the message itself).
fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let read = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .map_err(read)?
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(read)?;
    if buf.len() as u64 > limit {
        return Err(Error::input(
            format!(
                "{} is larger than {limit} bytes, the limit for {what}",
                path.display()
            ),
            "check the path",
        ));
    }
    Ok(buf)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomic(path, bytes).map_err(|source| Error::Io {
        context: "cannot write",
        path: path.to_path_buf(),
        source,
    })
}

/// Signs a file with a key or keylessly; records the signature in Rekor unless told not to; writes
/// the signature file, certificate and bundle asked for; the report holds the base64 signature.
pub(crate) async fn sign_blob(req: &SignBlob, ui: &mut Ui) -> Result<SignBlobReport, Error> {
    let signer = Signer::prepare(
        &req.sign_with,
        &req.instance,
        req.tlog_upload,
        "the signature, public key and file digest go to the public Rekor log",
        true,
        ui,
    )
    .await?;
    let digest = req.file.digest(signer.digest_alg())?;
    let signed = if signer.algorithm() == Algorithm::Ed25519 {
        // Pure Ed25519 over the file (what cosign v3 signs without a log entry); the signer refused
        // Ed25519 with a log entry.
        let message = req.file.message("Ed25519 signing")?;
        signer.sign_message(&message).await?
    } else {
        signer.sign(&digest).await?
    };
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
            public_key: public.map(|p| PublicKeyIdentifier {
                hint: crate::sigstore::bundle::key_hint(p),
            }),
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
        let bytes = if req.raw {
            &sig[..]
        } else {
            sig_b64.as_bytes()
        };
        write(path, bytes)?;
        ui.info(&format!("Wrote signature to file {}", path.display()));
    }
    Ok(SignBlobReport {
        signature: sig_b64,
        raw: req.raw.then_some(sig),
        output_signature: req.output_signature.clone(),
    })
}

/// Go's `base64.StdEncoding` when decoding: padding required, non-zero trailing bits allowed.
const GO_STD: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical),
);

/// The signature bytes of `--signature` content, as cosign's `verify-blob` reads them
/// (`cmd/cosign/cli/verify/verify_blob.go`): standard base64 (line breaks skipped, as Go's decoder
/// does) is decoded; anything else IS the signature (raw DER from `sign-blob --b64=false`, or IEEE
/// P1363 `r‖s`). Kept beyond cosign: base64 with surrounding white space (copy-paste noise) is decoded
/// too.
pub(crate) fn decode_signature(content: &[u8]) -> Result<Vec<u8>, KeyError> {
    if content.is_empty() {
        return Err(KeyError::MalformedSignature("it is empty".into()));
    }
    let no_breaks: Vec<u8> = content
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    if let Ok(sig) = GO_STD.decode(&no_breaks) {
        if !sig.is_empty() {
            return Ok(sig);
        }
    }
    let compact: Vec<u8> = content
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if compact.is_empty() {
        return Err(KeyError::MalformedSignature("it is empty".into()));
    }
    if let Ok(sig) = GO_STD.decode(&compact) {
        return Ok(sig);
    }
    Ok(content.to_vec())
}

/// The hint for a signature that does not verify, naming cosign's schemes where they explain it.
fn bad_signature_hint(key: &PublicKey, hash: HashAlg) -> String {
    match (key.algorithm(), hash) {
        (Algorithm::P384, HashAlg::Sha256) => "cosign signs with SHA-384 for P-384 keys: add --signature-digest-algorithm sha384".into(),
        (Algorithm::P521, HashAlg::Sha256) => "cosign signs with SHA-512 for P-521 keys: add --signature-digest-algorithm sha512".into(),
        (Algorithm::Rsa(_), _) => "check that the public key, the signature and the file belong together; cosign's RSA signatures are PKCS#1 v1.5 with SHA-256 (RSA-PSS is not accepted with --key)".into(),
        _ => "check that the public key, the signature and the file belong together".into(),
    }
}

/// Verifies a file against a signature or bundle: with a public key, or keylessly against a trusted root.
pub(crate) async fn verify_blob(req: &VerifyBlob, ui: &mut Ui) -> Result<VerifyBlobReport, Error> {
    let signature = |e: &BlobEvidence| -> Result<Option<Vec<u8>>, Error> {
        Ok(match e {
            BlobEvidence::Signature(s) => Some(signature_content(s)?),
            BlobEvidence::SignatureBytes { bytes, .. } => Some(bytes.clone()),
            BlobEvidence::Bundle(_) => None,
        })
    };
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
        (BlobEvidence::Bundle(_), _) => {}
        (e, verify::ExpectedSigner::Key(key)) => {
            let content = signature(e)?.unwrap_or_default();
            verify_signature(&req.file, key, &key_name, &content, req.digest_alg)?;
            return Ok(VerifyBlobReport { verified: None });
        }
        (_, verify::ExpectedSigner::Keyless(_)) => return Err(Error::usage(
            "keyless verification needs the Sigstore bundle (certificate and log entry), not a bare signature",
            "pass --bundle FILE (written by `sign-blob --bundle`)",
        )),
    }
    match (&req.evidence, expected) {
        (BlobEvidence::Bundle(path), expected) => {
            let bytes = crate::fsutil::read_limited(path, crate::fsutil::BUNDLE_FILE).map_err(
                |source| Error::Read {
                    path: path.clone(),
                    source,
                },
            )?;
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
            let v = verify::verify_bundle(&trust, &bundle, req.file.artifact(), expected).map_err(
                |e| match e {
                    verify::VerifyError::ArtifactMismatch(_) => {
                        verify::VerifyError::ArtifactMismatch(req.file.name())
                    }
                    other => other,
                },
            )?;
            Ok(VerifyBlobReport { verified: Some(v) })
        }
        _ => Err(Error::input(
            "no signature to check",
            "pass --signature or --bundle",
        )),
    }
}

/// The bytes `--signature VALUE` stands for: the file VALUE when it exists (at most
/// the limit for signature files), else VALUE itself when it is base64 (cosign's `LoadFileOrURL`, then the flag
/// value as the signature).
fn signature_content(value: &str) -> Result<Vec<u8>, Error> {
    let path = Path::new(value);
    match std::fs::metadata(path) {
        Ok(_) => {
            crate::fsutil::read_limited(path, crate::fsutil::SIGNATURE_FILE).map_err(|source| {
                Error::Read {
                    path: path.to_path_buf(),
                    source,
                }
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let looks_base64 = {
                let compact: Vec<u8> = value.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
                !compact.is_empty() && GO_STD.decode(&compact).is_ok()
            };
            if !looks_base64 {
                return Err(Error::input(
                    format!("--signature: no file named {value}, and `{value}` is not a base64 signature either"),
                    "pass the path of the signature file (as sign-blob --output-signature writes it), or the base64 signature itself",
                ));
            }
            Ok(value.as_bytes().to_vec())
        }
        Err(source) => Err(Error::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn verify_signature(
    file: &Blob,
    key: &PublicKey,
    key_name: &str,
    content: &[u8],
    hash: HashAlg,
) -> Result<(), Error> {
    let sig = decode_signature(content).map_err(|e| Error::key("cannot read the signature", e))?;
    let checked = if key.algorithm() == Algorithm::Ed25519 {
        let message = file.message("Ed25519 verification")?;
        key.verify_with(hash, &message, &sig)
    } else {
        key.verify_prehash(&file.digest(hash)?, &sig)
    };
    checked.map_err(|e| match e {
        KeyError::BadSignature => Error::Verification {
            reason: format!(
                "the signature does not match {} and the public key {key_name}",
                file.name(),
            ),
            hint: Some(bad_signature_hint(key, hash)),
        },
        other => Error::key("cannot check the signature", other),
    })
}
