//! `sign-blob` and `verify-blob` for local files.

use crate::bundle::{
    self, AnyBundle, Bundle, HashOutput, MessageSignature, PublicKeyIdentifier,
    VerificationMaterial,
};
use crate::config::{BlobEvidence, SignBlob, VerifyBlob};
use crate::error::Error;
use crate::fsutil::write_atomic;
use crate::gha::Ui;
use crate::signing::{sha256_reader, KeyError, PublicKey};
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

/// Signs a file with a key; prints the base64 signature, and writes the signature file and bundle asked for.
pub fn sign_blob(req: &SignBlob, ui: &mut Ui) -> Result<(), Error> {
    let digest = digest_file(&req.file)?;
    let key = req
        .key
        .load_private(&req.password)
        .map_err(|e| Error::key(format!("cannot load the private key from {}", req.key), e))?;
    let sig = key
        .sign_digest(&digest)
        .map_err(|e| Error::key("cannot sign", e))?;
    let sig_b64 = B64.encode(&sig);
    if let Some(path) = &req.bundle {
        let b = Bundle {
            media_type: bundle::MEDIA_TYPE_V03.into(),
            verification_material: VerificationMaterial {
                public_key: Some(PublicKeyIdentifier {
                    hint: key_hint(&key.public_key()),
                }),
                ..Default::default()
            },
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

/// Verifies a file against a signature or bundle with a public key.
pub fn verify_blob(req: &VerifyBlob, ui: &mut Ui) -> Result<(), Error> {
    let key = req
        .key
        .load_public()
        .map_err(|e| Error::key(format!("cannot load the public key from {}", req.key), e))?;
    let digest = digest_file(&req.file)?;
    let sig = match &req.evidence {
        BlobEvidence::Signature(s) => {
            let p = Path::new(s);
            let text = if p.is_file() {
                std::fs::read_to_string(p).map_err(|source| Error::Io {
                    context: "cannot read",
                    path: p.to_path_buf(),
                    source,
                })?
            } else {
                s.clone()
            };
            decode_signature(&text).map_err(|e| Error::key("cannot read the signature", e))?
        }
        BlobEvidence::Bundle(path) => {
            let bytes = std::fs::read(path).map_err(|source| Error::Io {
                context: "cannot read",
                path: path.clone(),
                source,
            })?;
            let parsed = bundle::parse(&bytes).map_err(|reason| Error::Verification {
                reason: format!(
                    "{} is not a bundle ferrosign can read: {reason}",
                    path.display()
                ),
                hint: Some("pass the file written by `sign-blob --bundle`".into()),
            })?;
            match parsed {
                AnyBundle::Legacy(l) => decode_signature(&l.base64_signature)
                    .map_err(|e| Error::key("cannot read the bundle's signature", e))?,
                AnyBundle::Sigstore(b) => {
                    let Some(ms) = b.message_signature else {
                        return Err(Error::NotAvailable {
                            message: "verifying DSSE envelopes (attestations) is not available in this build yet".into(),
                            hint: "verify a bundle written by `sign-blob`".into(),
                        });
                    };
                    if let Some(md) = &ms.message_digest {
                        let ok = md.algorithm == "SHA2_256"
                            && B64.decode(&md.digest).ok().as_deref() == Some(&digest[..]);
                        if !ok {
                            return Err(Error::Verification {
                                reason: format!(
                                    "the bundle is for other data than {}",
                                    req.file.display()
                                ),
                                hint: Some(
                                    "check that the bundle and the file belong together".into(),
                                ),
                            });
                        }
                    }
                    decode_signature(&ms.signature)
                        .map_err(|e| Error::key("cannot read the bundle's signature", e))?
                }
            }
        }
    };
    key.verify_digest(&digest, &sig).map_err(|e| match e {
        KeyError::BadSignature => Error::Verification {
            reason: format!(
                "the signature does not match {} and the public key {}",
                req.file.display(),
                req.key
            ),
            hint: e.hint(),
        },
        other => Error::key("cannot check the signature", other),
    })?;
    ui.info("Verified OK");
    Ok(())
}
