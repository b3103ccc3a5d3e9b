//! The top-level error: wraps each module's error with its context, carries the hint, picks the exit code.
//! Rendered once, at the edge (`main`), as one `error:` line and one `hint:` line.

use crate::fulcio::FulcioError;
use crate::gha::GhaError;
use crate::oci::OciError;
use crate::oidc::OidcError;
use crate::rekor::RekorError;
use crate::secrets::SecretsError;
use crate::signing::payload::PayloadError;
use crate::signing::KeyError;
use crate::trust::TrustError;
use crate::verify::VerifyError;
use std::path::PathBuf;

/// Every way a ferrosign run can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line or the Action inputs are wrong (exit code 2).
    #[error("{message}")]
    Usage {
        /// what is wrong
        message: String,
        /// how to fix it
        hint: Option<String>,
    },
    /// A key could not be read, decrypted or used; `context` names which and from where.
    #[error("{context}: {source}")]
    Key {
        /// e.g. "cannot load the private key from cosign.key"
        context: String,
        /// the cause
        source: KeyError,
    },
    /// A local file could not be read or written.
    #[error("{context} {}: {source}", path.display())]
    Io {
        /// what was being done
        context: &'static str,
        /// the file
        path: PathBuf,
        /// the cause
        source: std::io::Error,
    },
    /// A file would be overwritten.
    #[error("{} already exists", .0.display())]
    Exists(PathBuf),
    /// Verification failed: nothing that was checked verifies.
    #[error("verification failed: {reason}")]
    Verification {
        /// why
        reason: String,
        /// what to check
        hint: Option<String>,
    },
    /// The Action could not do all it was asked.
    #[error(transparent)]
    Action(#[from] crate::action::ActionError),
    /// The runner's output or summary file could not be written.
    #[error(transparent)]
    Gha(#[from] GhaError),
    /// Storing a key pair in GitHub or Kubernetes failed.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// A registry, image reference or signature layout problem.
    #[error(transparent)]
    Oci(#[from] OciError),
    /// Bad annotations or an unreadable signed payload.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The Sigstore trust material (trusted root) could not be loaded.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// A signature, certificate or log entry did not verify (exit 1).
    #[error("verification failed: {0}")]
    Verify(#[from] VerifyError),
    /// The OIDC identity token could not be had or read.
    #[error(transparent)]
    Oidc(#[from] OidcError),
    /// Fulcio did not give a usable certificate.
    #[error(transparent)]
    Fulcio(#[from] FulcioError),
    /// Rekor did not record the signature, or its answer does not verify.
    #[error(transparent)]
    Rekor(#[from] RekorError),
    /// A feature the request asks for that this build cannot do yet.
    #[error("{message}")]
    NotAvailable {
        /// what
        message: String,
        /// the alternative
        hint: String,
    },
}

impl Error {
    /// A usage error with a hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// A key error in context.
    pub fn key(context: impl Into<String>, source: KeyError) -> Self {
        Error::Key {
            context: context.into(),
            source,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Usage { hint, .. } | Error::Verification { hint, .. } => hint.clone(),
            Error::Key { source, .. } => source.hint(),
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => Some("check the path".into()),
                std::io::ErrorKind::PermissionDenied => Some("check the file's permissions".into()),
                _ => None,
            },
            Error::Exists(_) => Some("pass --force to overwrite it".into()),
            Error::NotAvailable { hint, .. } => Some(hint.clone()),
            Error::Gha(e) => e.hint(),
            Error::Action(e) => e.hint(),
            Error::Secrets(e) => e.hint(),
            Error::Oci(e) => e.hint(),
            Error::Payload(e) => e.hint(),
            Error::Trust(e) => e.hint(),
            Error::Verify(e) => e.hint(),
            Error::Oidc(e) => e.hint(),
            Error::Fulcio(e) => e.hint(),
            Error::Rekor(e) => e.hint(),
        }
    }

    /// 2 for usage errors, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage { .. } => 2,
            _ => 1,
        }
    }
}
