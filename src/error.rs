//! The top-level error: wraps each module's error with its context, carries the hint, and has a
//! [`Kind`] from which the exit code comes. Rendered once, at the edge (the front-ends), as one `error:`
//! line and one `hint:` line.
//!
//! The rule, also in the README: exit **2** when the request is wrong — a flag or Action input is
//! missing, malformed or contradicts another ([`Kind::Usage`]: image references, annotations, URLs,
//! regular expressions, key pair targets), or a file or variable it names cannot be used as what it
//! should be ([`Kind::Input`]: a trusted root, a key or its password, an identity token, the file to
//! sign, a kubeconfig, a missing token variable). Exit **1** when a well-formed request fails while it
//! runs ([`Kind::Failure`]): a registry, Fulcio, Rekor, GitHub or Kubernetes fails or refuses, a
//! signature does not verify, a policy refuses (a private repository), something already exists and
//! would be replaced, an output cannot be written.

use crate::gha::GhaError;
use crate::oci::OciError;
use crate::signing::payload::PayloadError;
use crate::signing::KeyError;
use crate::sigstore::fulcio::FulcioError;
use crate::sigstore::oidc::OidcError;
use crate::sigstore::rekor::RekorError;
use crate::sigstore::trust::TrustError;
use crate::sigstore::tsa::TsaError;
use crate::sigstore::verify::VerifyError;
use crate::stores::StoreError;
use std::path::PathBuf;

/// What kind of failure an error is; the exit code follows from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The flags or Action inputs are wrong (exit 2).
    Usage,
    /// A file or variable the request names cannot be used (exit 2).
    Input,
    /// A well-formed request failed while running (exit 1).
    Failure,
}

impl Kind {
    /// 2 for usage and input errors, 1 for everything else.
    pub(crate) fn exit_code(self) -> i32 {
        match self {
            Kind::Usage | Kind::Input => 2,
            Kind::Failure => 1,
        }
    }
}

/// Every way a ferrosign run can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Error {
    /// The command line or the Action inputs are wrong.
    #[error("{message}")]
    Usage {
        /// what is wrong
        message: String,
        /// how to fix it
        hint: Option<String>,
    },
    /// Something the request names (a variable, a file) is missing or unusable.
    #[error("{message}")]
    Input {
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
    /// A file the request names could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// the file
        path: PathBuf,
        /// the cause
        source: std::io::Error,
    },
    /// A local file could not be written.
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
    #[error("{} already exists", path.display())]
    Exists {
        /// the file
        path: PathBuf,
        /// how to proceed
        hint: String,
    },
    /// A policy refused to go on (e.g. signing in a private repository with `refuse`).
    #[error("{message}")]
    Refused {
        /// what was refused and why
        message: String,
        /// how to proceed
        hint: Option<String>,
    },
    /// Verification failed: nothing that was checked verifies.
    #[error("verification failed: {reason}")]
    Verification {
        /// why
        reason: String,
        /// what to check
        hint: Option<String>,
    },
    /// Some images were not signed (each was reported with its own error).
    #[error("{} of {total} images were not signed: {}", failed.len(), failed.join(", "))]
    NotSigned {
        /// the images as given
        failed: Vec<String>,
        /// how many were asked for
        total: usize,
    },
    /// The runner's output or summary file could not be written.
    #[error(transparent)]
    Gha(#[from] GhaError),
    /// Storing a key pair in GitHub or Kubernetes failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A registry, image reference or signature layout problem.
    #[error(transparent)]
    Oci(#[from] OciError),
    /// Bad annotations or an unreadable signed payload.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The Sigstore trust material (trusted root) could not be loaded.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// A signature, certificate or log entry did not verify.
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
    /// A timestamp authority gave no usable timestamp.
    #[error(transparent)]
    Tsa(#[from] TsaError),
    /// An input cosign accepts that ferrosign refuses on purpose (docs/inputs.md §11): the message says
    /// why, the hint what to do instead.
    #[error("{message} (refused on purpose)")]
    OnPurpose {
        /// what is refused, and why
        message: String,
        /// what to do instead
        hint: String,
    },
    /// A feature the request asks for that this build cannot do.
    #[error("{message}")]
    NotAvailable {
        /// what
        message: String,
        /// the alternative
        hint: String,
    },
}

impl From<crate::sigstore::trust::signing_config::SigningConfigError> for Error {
    fn from(e: crate::sigstore::trust::signing_config::SigningConfigError) -> Self {
        Error::Trust(TrustError::SigningConfig(e))
    }
}

impl Error {
    /// A usage error with a hint.
    pub(crate) fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// An input error (something the request names is missing or unusable) with a hint.
    pub(crate) fn input(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Input {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// An input refused on purpose (exit 2), with what to do instead.
    pub(crate) fn on_purpose(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::OnPurpose {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// A key error in context.
    pub(crate) fn key(context: impl Into<String>, source: KeyError) -> Self {
        Error::Key {
            context: context.into(),
            source,
        }
    }

    /// What kind of error this is (see the module documentation for the rule).
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Error::Usage { .. } | Error::NotAvailable { .. } | Error::OnPurpose { .. } => {
                Kind::Usage
            }
            Error::Input { .. } | Error::Read { .. } => Kind::Input,
            Error::Trust(e) => {
                if e.is_input() {
                    Kind::Input
                } else {
                    Kind::Failure
                }
            }
            Error::Key { source, .. } => match source {
                // A signature under verification is the evidence, not the request.
                KeyError::BadSignature | KeyError::MalformedSignature(_) | KeyError::Crypto => {
                    Kind::Failure
                }
                _ => Kind::Input,
            },
            Error::Oci(e) => match e {
                OciError::Reference(_) | OciError::Options(_) => Kind::Usage,
                OciError::DockerConfig { .. } => Kind::Input,
                _ => Kind::Failure,
            },
            Error::Payload(PayloadError::Annotation(_)) => Kind::Usage,
            Error::Store(e) => match e {
                StoreError::NoToken
                | StoreError::NoCluster(_)
                | StoreError::Kubeconfig { .. }
                | StoreError::KubeconfigUnsupported { .. } => Kind::Input,
                _ => Kind::Failure,
            },
            Error::Oidc(e) => match e {
                OidcError::Malformed(_) | OidcError::Expired(_) | OidcError::MissingClaim(_) => {
                    Kind::Input
                }
                _ => Kind::Failure,
            },
            Error::Io { .. }
            | Error::Exists { .. }
            | Error::Refused { .. }
            | Error::Verification { .. }
            | Error::NotSigned { .. }
            | Error::Gha(_)
            | Error::Payload(_)
            | Error::Verify(_)
            | Error::Fulcio(_)
            | Error::Rekor(_)
            | Error::Tsa(_) => Kind::Failure,
        }
    }

    /// The process exit code: from the kind.
    pub(crate) fn exit_code(&self) -> i32 {
        self.kind().exit_code()
    }

    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            Error::Usage { hint, .. }
            | Error::Input { hint, .. }
            | Error::Refused { hint, .. }
            | Error::Verification { hint, .. } => hint.clone(),
            Error::Key { source, .. } => source.hint(),
            Error::Read { source, .. } | Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => Some("check the path".into()),
                std::io::ErrorKind::PermissionDenied => Some("check the file's permissions".into()),
                std::io::ErrorKind::InvalidData
                    if source
                        .get_ref()
                        .is_some_and(|e| e.is::<crate::fsutil::TooLarge>()) =>
                {
                    Some("check that the path names the right file; ferrosign reads no more than the limit".into())
                }
                _ => None,
            },
            Error::Exists { hint, .. }
            | Error::NotAvailable { hint, .. }
            | Error::OnPurpose { hint, .. } => Some(hint.clone()),
            Error::NotSigned { .. } => Some(
                "see the error above for each image; the others were signed, and re-running signs only what is missing"
                    .into(),
            ),
            Error::Gha(e) => e.hint(),
            Error::Store(e) => e.hint(),
            Error::Oci(e) => Some(e.hint()),
            Error::Payload(e) => e.hint(),
            Error::Trust(e) => Some(e.hint()),
            Error::Tsa(e) => Some(e.hint()),
            Error::Verify(e) => e.hint(),
            Error::Oidc(e) => e.hint(),
            Error::Fulcio(e) => e.hint(),
            Error::Rekor(e) => e.hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_kind() {
        let reference = "UPPER/x"
            .parse::<crate::oci::ImageRef>()
            .map_err(|e| Error::Oci(OciError::Reference(e)))
            .unwrap_err();
        let cases: Vec<(Error, i32)> = vec![
            (Error::usage("x", "y"), 2),
            (reference, 2),
            (Error::Payload(PayloadError::Annotation("a".into())), 2),
            (
                Error::Trust(TrustError::Parse {
                    origin: crate::sigstore::trust::TrustSource::Production,
                    reason: "r".into(),
                }),
                2,
            ),
            (Error::key("k", KeyError::WrongPassword), 2),
            (Error::key("k", KeyError::BadSignature), 1),
            (
                Error::Refused {
                    message: "private".into(),
                    hint: None,
                },
                1,
            ),
            (Error::Store(StoreError::NoToken), 2),
            (
                Error::Exists {
                    path: "cosign.key".into(),
                    hint: "h".into(),
                },
                1,
            ),
            (
                Error::NotSigned {
                    failed: vec!["a".into()],
                    total: 2,
                },
                1,
            ),
        ];
        for (e, code) in cases {
            assert_eq!(e.exit_code(), code, "{e:?}");
        }
    }
}
