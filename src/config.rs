//! Raw arguments (CLI or Action inputs) → one validated request, ready to run.
//! Everything that can be checked without touching the network or the key is checked here.

use crate::cli::{self, Command};
use crate::error::Error;
use crate::signing::{KeyRef, PasswordSource};
use std::path::PathBuf;

/// A validated request: what to do, with everything parsed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Request {
    /// Make a key pair.
    GenerateKeyPair(GenerateKeyPair),
    /// Print or write the public key of a private key.
    PublicKey(PublicKeyRequest),
    /// Sign a file.
    SignBlob(SignBlob),
    /// Verify a file.
    VerifyBlob(VerifyBlob),
}

/// Where a new key pair goes.
#[derive(Debug)]
pub struct GenerateKeyPair {
    /// `PREFIX.key` / `PREFIX.pub`
    pub prefix: String,
    /// overwrite existing files
    pub force: bool,
    /// where the new key's password comes from
    pub password: PasswordSource,
}

/// `public-key`.
#[derive(Debug)]
pub struct PublicKeyRequest {
    /// the private key
    pub key: KeyRef,
    /// its password
    pub password: PasswordSource,
    /// write here instead of stdout
    pub outfile: Option<PathBuf>,
}

/// `sign-blob`.
#[derive(Debug)]
pub struct SignBlob {
    /// the file
    pub file: PathBuf,
    /// the private key
    pub key: KeyRef,
    /// its password
    pub password: PasswordSource,
    /// also write the signature here
    pub output_signature: Option<PathBuf>,
    /// write a Sigstore bundle here
    pub bundle: Option<PathBuf>,
}

/// `verify-blob`.
#[derive(Debug)]
pub struct VerifyBlob {
    /// the file
    pub file: PathBuf,
    /// the public key
    pub key: KeyRef,
    /// the signature or bundle
    pub evidence: BlobEvidence,
}

/// What `verify-blob` checks the file against.
#[derive(Debug)]
pub enum BlobEvidence {
    /// A path to a signature file, or the base64 signature itself.
    Signature(String),
    /// A bundle file.
    Bundle(PathBuf),
}

fn key_ref(s: &str) -> Result<KeyRef, Error> {
    s.parse()
        .map_err(|e| Error::key(format!("invalid key reference `{s}`"), e))
}

/// Validates parsed command-line arguments.
pub fn from_cli(command: Command) -> Result<Request, Error> {
    Ok(match command {
        Command::GenerateKeyPair(a) => {
            if a.output_key_prefix.is_empty() {
                return Err(Error::usage(
                    "--output-key-prefix is empty",
                    "pass a file name prefix, e.g. --output-key-prefix release",
                ));
            }
            Request::GenerateKeyPair(GenerateKeyPair {
                prefix: a.output_key_prefix,
                force: a.force,
                password: PasswordSource::EnvOrPrompt,
            })
        }
        Command::PublicKey(a) => Request::PublicKey(PublicKeyRequest {
            key: key_ref(&a.key)?,
            password: PasswordSource::EnvOrPrompt,
            outfile: a.outfile,
        }),
        Command::SignBlob(a) => sign_blob(a)?,
        Command::VerifyBlob(a) => verify_blob(a)?,
    })
}

fn sign_blob(a: cli::SignBlobArgs) -> Result<Request, Error> {
    let Some(key) = a.key else {
        return Err(Error::NotAvailable {
            message: "keyless signing (without --key) is not available in this build yet".into(),
            hint: "sign with a key: --key cosign.key (make one with `ferrosign generate-key-pair`)"
                .into(),
        });
    };
    if a.tlog_upload {
        return Err(Error::NotAvailable {
            message: "uploading to the Rekor transparency log is not available in this build yet"
                .into(),
            hint: "pass --tlog-upload=false to sign without a transparency log entry".into(),
        });
    }
    Ok(Request::SignBlob(SignBlob {
        file: a.file,
        key: key_ref(&key)?,
        password: PasswordSource::EnvOrPrompt,
        output_signature: a.output_signature,
        bundle: a.bundle,
    }))
}

fn verify_blob(a: cli::VerifyBlobArgs) -> Result<Request, Error> {
    let Some(key) = a.key else {
        return Err(Error::NotAvailable {
            message: "keyless verification (without --key) is not available in this build yet"
                .into(),
            hint: "verify with the signer's public key: --key cosign.pub".into(),
        });
    };
    let evidence = match (a.signature, a.bundle) {
        (Some(s), None) => BlobEvidence::Signature(s),
        (None, Some(b)) => BlobEvidence::Bundle(b),
        _ => {
            return Err(Error::usage(
                "verify-blob needs the signature: --signature or --bundle",
                "pass --signature FILE_OR_BASE64 or --bundle FILE",
            ))
        }
    };
    Ok(Request::VerifyBlob(VerifyBlob {
        file: a.file,
        key: key_ref(&key)?,
        evidence,
    }))
}
