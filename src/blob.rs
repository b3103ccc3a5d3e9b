//! `sign-blob` and `verify-blob` for local files.

use crate::bundle::{
    self, Bundle, HashOutput, MessageSignature, PublicKeyIdentifier, VerificationMaterial,
    X509Certificate,
};
use crate::config::{BlobEvidence, SignBlob, SignerSpec, VerifyBlob, VerifySigner};
use crate::error::Error;
use crate::fsutil::write_atomic;
use crate::gha::Ui;
use crate::keyless::{check_private_repository, KeylessSigner, Tlog, Trust};
use crate::signing::{sha256_reader, KeyError, PublicKey};
use crate::trust::TrustRoot;
use crate::verify;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::path::Path;

fn digest_file(path: &Path) -> Result<[u8; 32], Error> {
    let f = std::fs::File::open(path).map_err(|source| Error::Io {
        context: "cannot read",
        path: path.to_path_buf(),
        source,
    })?;
    sha256_reader(std::io::BufReader::new(f)).map_err(|source| Error::Io {
        context: "cannot read",
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomic(path, bytes).map_err(|source| Error::Io {
        context: "cannot write",
        path: path.to_path_buf(),
        source,
    })
}

/// The `publicKey.hint` of a key-signed bundle: base64 SHA-256 of the DER public key.
pub fn key_hint(key: &PublicKey) -> String {
    use sha2::Digest;
    B64.encode(sha2::Sha256::digest(key.to_der()))
}

/// Signs a file with a key or keylessly; records the signature in Rekor unless told not to; prints the
/// base64 signature, and writes the signature file, certificate and bundle asked for.
pub async fn sign_blob(req: &SignBlob, ui: &mut Ui) -> Result<(), Error> {
    let digest = digest_file(&req.file)?;
    let needs_trust = req.tlog_upload || matches!(req.signer, SignerSpec::Keyless(_));
    let trust = if needs_trust {
        Trust::load(req.instance.trusted_root.as_deref())?
    } else {
        Trust::default()
    };
    let http = crate::keyless::http_client()?;
    // The signature, the PEM Rekor checks it with, and the bundle's verification material.
    let (sig, verifier_pem, mut material, cert_pem) = match &req.signer {
        SignerSpec::Key { key, password } => {
            let private = key
                .load_private(password)
                .map_err(|e| Error::key(format!("cannot load the private key from {key}"), e))?;
            if req.tlog_upload {
                check_private_repository(
                    req.instance.private_repository,
                    None,
                    "the signature, public key and file digest go to the public Rekor log",
                    ui,
                )?;
            }
            let sig = private
                .sign_digest(&digest)
                .map_err(|e| Error::key("cannot sign", e))?;
            let material = VerificationMaterial {
                public_key: Some(PublicKeyIdentifier {
                    hint: key_hint(&private.public_key()),
                }),
                ..Default::default()
            };
            (sig, private.public_key().to_pem(), material, None)
        }
        SignerSpec::Keyless(token) => {
            let signer = KeylessSigner::obtain(token, &req.instance, &trust, &http, ui).await?;
            let sig = signer.sign_digest(&digest)?;
            let cert = signer.certificate();
            let material = VerificationMaterial {
                certificate: Some(X509Certificate {
                    raw_bytes: B64.encode(&cert.leaf_der),
                }),
                ..Default::default()
            };
            (
                sig,
                cert.leaf_pem.clone(),
                material,
                Some(cert.leaf_pem.clone()),
            )
        }
    };
    if req.tlog_upload {
        let tlog = Tlog::new(&http, &req.instance.rekor_url, &trust);
        let entry = tlog.record(&digest, &sig, &verifier_pem).await?;
        ui.info(&format!(
            "tlog entry created with index: {}",
            entry.log_index
        ));
        material.tlog_entries.push(entry.bundle_entry());
    } else {
        ui.warn(
            "--tlog-upload=false: the signature is not in the transparency log; verifiers must skip the log check (cosign: --insecure-ignore-tlog)",
        );
    }
    let sig_b64 = B64.encode(&sig);
    if let Some(path) = &req.bundle {
        let b = Bundle {
            media_type: bundle::MEDIA_TYPE_V03.into(),
            verification_material: material,
            message_signature: Some(MessageSignature {
                message_digest: Some(HashOutput {
                    algorithm: "SHA2_256".into(),
                    digest: B64.encode(digest),
                }),
                signature: sig_b64.clone(),
            }),
            dsse_envelope: None,
        };
        let json = serde_json::to_vec(&b).map_err(|e| {
            Error::usage(
                format!("cannot encode the bundle: {e}"),
                "report this as a bug",
            )
        })?;
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
    match &req.output_signature {
        Some(path) => {
            write(path, sig_b64.as_bytes())?;
            ui.info(&format!("Wrote signature to file {}", path.display()));
        }
        None => ui.data(&sig_b64),
    }
    Ok(())
}

/// Decodes a signature given as base64 text (white space tolerated).
pub fn decode_signature(text: &str) -> Result<Vec<u8>, KeyError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(KeyError::MalformedSignature("it is empty".into()));
    }
    B64.decode(compact.as_bytes())
        .map_err(|_| KeyError::MalformedSignature("it is not base64".into()))
}

/// Verifies a file against a signature or bundle: with a public key, or keylessly against a trusted root.
pub fn verify_blob(req: &VerifyBlob, ui: &mut Ui) -> Result<(), Error> {
    let key = match &req.signer {
        VerifySigner::Key(k) => Some(
            k.load_public()
                .map_err(|e| Error::key(format!("cannot load the public key from {k}"), e))?,
        ),
        VerifySigner::Keyless(_) => None,
    };
    match &req.evidence {
        BlobEvidence::Signature(s) => {
            let Some(key) = key else {
                // config only builds this pair with a key
                return Err(Error::usage("a bare signature needs --key", "pass --key"));
            };
            verify_signature(req, &key, s)?;
            ui.info("Verified OK");
            Ok(())
        }
        BlobEvidence::Bundle(path) => {
            let bytes = std::fs::read(path).map_err(|source| Error::Io {
                context: "cannot read",
                path: path.clone(),
                source,
            })?;
            let mut bundle = verify::load_bundle(&bytes)?;
            if req.ignore_tlog {
                ui.warn("Skipping tlog verification is an insecure practice that lacks transparency and auditability verification for the signature.");
                if matches!(req.signer, VerifySigner::Key(_)) {
                    // a key signature needs no time: check the signature alone, as cosign does
                    bundle.verification_material.tlog_entries.clear();
                    bundle
                        .verification_material
                        .timestamp_verification_data
                        .rfc3161_timestamps
                        .clear();
                }
            }
            let signer = match (&req.signer, &key) {
                (VerifySigner::Keyless(p), _) => verify::Signer::Keyless(p),
                (VerifySigner::Key(_), Some(k)) => verify::Signer::Key(k),
                (VerifySigner::Key(_), None) => {
                    return Err(Error::usage("no key loaded", "pass --key"))
                }
            };
            // The trusted root is read only when the bundle needs it (a key signature without a
            // log entry does not), so a key-only user never meets a trust error.
            let needs_trust = matches!(signer, verify::Signer::Keyless(_))
                || !bundle.verification_material.tlog_entries.is_empty()
                || !bundle
                    .verification_material
                    .timestamp_verification_data
                    .rfc3161_timestamps
                    .is_empty();
            let trust = if needs_trust {
                TrustRoot::load(req.trusted_root.as_deref())?
            } else {
                TrustRoot::production()?
            };
            let v =
                verify::verify_bundle(&trust, &bundle, verify::Artifact::File(&req.file), signer)
                    .map_err(|e| match e {
                    verify::VerifyError::ArtifactMismatch(_) => {
                        verify::VerifyError::ArtifactMismatch(req.file.display().to_string())
                    }
                    other => other,
                })?;
            report(&v, ui);
            Ok(())
        }
    }
}

/// Prints what was verified (stderr, like cosign's "Verified OK"): signer, issuer, log entries.
pub fn report(v: &verify::Verified, ui: &mut Ui) {
    ui.info("Verified OK");
    if let Some(id) = &v.identity {
        ui.info(&format!("  identity: {id}"));
    }
    if let Some(iss) = &v.issuer {
        ui.info(&format!("  issuer:   {iss}"));
    }
    for e in &v.log_entries {
        let log = e.log_url.as_deref().unwrap_or("transparency log");
        let when = e
            .integrated_time
            .as_deref()
            .map(|t| format!(", integrated {t}"))
            .unwrap_or_default();
        ui.info(&format!(
            "  tlog:     {log} log index {} ({}){when}",
            e.index, e.kind
        ));
    }
    if let Some(t) = v.verified_times.iter().min() {
        ui.info(&format!("  signed:   {t} (verified time)"));
    }
    if v.log_entries.is_empty() {
        ui.warn(
            "the signature has no transparency log entry: only the signature itself was checked",
        );
    }
}

fn verify_signature(req: &VerifyBlob, key: &PublicKey, s: &str) -> Result<(), Error> {
    let digest = digest_file(&req.file)?;
    let p = Path::new(s);
    let text = if p.is_file() {
        std::fs::read_to_string(p).map_err(|source| Error::Io {
            context: "cannot read",
            path: p.to_path_buf(),
            source,
        })?
    } else {
        s.to_string()
    };
    let sig = decode_signature(&text).map_err(|e| Error::key("cannot read the signature", e))?;
    let key_name = match &req.signer {
        VerifySigner::Key(k) => k.to_string(),
        VerifySigner::Keyless(_) => String::new(),
    };
    key.verify_digest(&digest, &sig).map_err(|e| match e {
        KeyError::BadSignature => Error::Verification {
            reason: format!(
                "the signature does not match {} and the public key {key_name}",
                req.file.display(),
            ),
            hint: e.hint(),
        },
        other => Error::key("cannot check the signature", other),
    })
}
