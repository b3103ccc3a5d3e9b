//! Secret stores a new key pair goes to (`generate-key-pair github://…` and `k8s://…`, driven by
//! [`crate::ops::provision`]): where CI can read it, never on disk.
//!
//! - [`github`]: Actions secrets `COSIGN_PASSWORD`, `COSIGN_PRIVATE_KEY`, `COSIGN_PUBLIC_KEY` of a
//!   repository, an environment or an organisation, each sealed (libsodium `crypto_box_seal`) to the
//!   public key GitHub hands out.
//! - [`kubernetes`]: one immutable Opaque Secret with `cosign.key`, `cosign.pub`, `cosign.password`.
//!
//! Both talk through [`crate::net::Http`], the project's only network client (timeouts, retries with
//! backoff, user agent, the plain-HTTP policy), not through octocrab or the kube crate: see the module
//! docs of [`github`] and [`kubernetes`] for why.

pub(crate) mod github;
pub(crate) mod kubernetes;

use crate::net::HttpError;

/// The Actions secret holding the key's password.
pub(crate) const SECRET_PASSWORD: &str = "COSIGN_PASSWORD";
/// The Actions secret holding the encrypted private key (PEM).
pub(crate) const SECRET_PRIVATE_KEY: &str = "COSIGN_PRIVATE_KEY";
/// The Actions secret holding the public key (PEM); its presence guards against replacing a key.
pub(crate) const SECRET_PUBLIC_KEY: &str = "COSIGN_PUBLIC_KEY";

/// What can go wrong storing a key pair in GitHub or Kubernetes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StoreError {
    /// No token to call the GitHub API with.
    #[error("GITHUB_TOKEN is not set: storing Actions secrets needs a GitHub token")]
    NoToken,
    /// The server could not be reached (after retries) or the URL is refused.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The server answered with an error status.
    #[error("{action}: {service} answered {status}{}", detail(.message))]
    Status {
        /// "GitHub" or "Kubernetes"
        service: &'static str,
        /// what was being done, e.g. "reading the secrets public key of repository acme/app"
        action: String,
        /// the HTTP status code
        status: u16,
        /// the server's own message, if any (sanitised, shortened)
        message: String,
        /// what the target is called in hints, e.g. "repository acme/app"
        target: String,
    },
    /// The server's answer could not be understood.
    #[error("{action}: unexpected answer from {service}: {reason}")]
    BadResponse {
        /// "GitHub" or "Kubernetes"
        service: &'static str,
        /// what was being done
        action: String,
        /// what is wrong with it
        reason: String,
    },
    /// A secret could not be sealed.
    #[error("cannot seal secret {0} with the public key GitHub returned")]
    Seal(&'static str),
    /// `COSIGN_PUBLIC_KEY` already exists and `--force` was not given.
    #[error("{target} already has a {SECRET_PUBLIC_KEY} secret: nothing was changed")]
    PublicKeyExists {
        /// e.g. "repository acme/app"
        target: String,
    },
    /// Some secrets were written, then one failed.
    #[error("{}", partial_text(.written, .not_written, .source))]
    Partial {
        /// the secrets that were written, in order
        written: Vec<&'static str>,
        /// the secrets that were not
        not_written: Vec<&'static str>,
        /// why the first of `not_written` failed
        source: Box<StoreError>,
    },
    /// The Kubernetes Secret already exists.
    #[error("secret {namespace}/{name} already exists in the cluster: nothing was changed")]
    K8sSecretExists {
        /// namespace
        namespace: String,
        /// name
        name: String,
    },
    /// No kubeconfig and not inside a cluster.
    #[error("no Kubernetes cluster configured: {0}")]
    NoCluster(String),
    /// The kubeconfig cannot be read or is not usable.
    #[error("kubeconfig {path}: {reason}")]
    Kubeconfig {
        /// which file (or "in-cluster service account")
        path: String,
        /// what is wrong
        reason: String,
    },
    /// The kubeconfig asks for something ferrosign does not do.
    #[error("kubeconfig {path}: {what} is not supported")]
    KubeconfigUnsupported {
        /// which file
        path: String,
        /// e.g. "the exec credential plugin of user `gke`"
        what: String,
        /// how to get a usable context
        hint: String,
    },
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    }
}

fn partial_text(written: &[&str], not_written: &[&str], source: &StoreError) -> String {
    if written.is_empty() {
        format!("no secret was written: {source}")
    } else {
        format!(
            "written: {}; not written: {}: {source}",
            written.join(", "),
            not_written.join(", ")
        )
    }
}

impl StoreError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            StoreError::NoToken => Some(
                "set GITHUB_TOKEN to a token that may write Actions secrets (fine-grained: \
                 \"Secrets\" read and write; classic: `repo`, or `admin:org` for organisation secrets); \
                 the job's own GITHUB_TOKEN cannot"
                    .into(),
            ),
            StoreError::Http(e) => e.hint(),
            StoreError::Status {
                service,
                status,
                target,
                ..
            } => match (*service, *status) {
                ("GitHub", 401) => Some(
                    "the token is invalid or expired; the job's GITHUB_TOKEN cannot write secrets: \
                     use a token with secrets write permission"
                        .into(),
                ),
                ("GitHub", 403) => Some(
                    "the job's GITHUB_TOKEN cannot write secrets: use a token with secrets write \
                     permission (fine-grained: \"Secrets\" read and write; classic: `repo`, or \
                     `admin:org` for organisation secrets)"
                        .into(),
                ),
                ("GitHub", 404) => Some(format!(
                    "check that {target} exists and that the token can see it (a token without \
                     access to a private repository gets 404, not 403)"
                )),
                ("GitHub", 422) => Some(
                    "GitHub rejected the request as invalid: check the names and --github-visibility"
                        .into(),
                ),
                ("Kubernetes", 401) => Some(
                    "the cluster rejected the credentials: refresh them (e.g. `kubectl create token`) \
                     or pick another context with `kubectl config use-context`"
                        .into(),
                ),
                ("Kubernetes", 403) => Some(format!(
                    "the context's user may not create Secrets in {target}: it needs RBAC `create` on \
                     `secrets` there"
                )),
                ("Kubernetes", 404) => Some(format!(
                    "check that {target} exists: kubectl create namespace NAME"
                )),
                ("Kubernetes", 422) => Some("check the namespace and Secret name".into()),
                _ => None,
            },
            StoreError::BadResponse { .. } => {
                Some("check that the API URL points at the right server".into())
            }
            StoreError::Seal(_) => None,
            StoreError::PublicKeyExists { .. } => Some(format!(
                "a key pair is already provisioned there; replacing it breaks verification of \
                 everything signed with the old key. If that is what you want, pass --force (or \
                 delete the {SECRET_PUBLIC_KEY} secret first)"
            )),
            StoreError::Partial {
                source,
                not_written,
                ..
            } => {
                let rerun = if not_written.contains(&SECRET_PUBLIC_KEY) {
                    "rerun the same command to write all three"
                } else {
                    "rerun the same command with --force to write all three"
                };
                Some(match source.hint() {
                    Some(h) => format!("{h}; then {rerun}"),
                    None => rerun.to_string(),
                })
            }
            StoreError::K8sSecretExists { namespace, name } => Some(format!(
                "the Secret is immutable: delete it first (`kubectl delete secret -n {namespace} \
                 {name}`; everything signed with its key then needs the old public key to verify) or \
                 pick another name"
            )),
            StoreError::NoCluster(_) => Some(
                "set KUBECONFIG (or create ~/.kube/config, e.g. with `kind get kubeconfig`), or run \
                 inside a cluster with a service account"
                    .into(),
            ),
            StoreError::Kubeconfig { .. } => {
                Some("check the file with `kubectl config view`".into())
            }
            StoreError::KubeconfigUnsupported { hint, .. } => Some(hint.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_failure_names_what_was_written() {
        let e = StoreError::Partial {
            written: vec![SECRET_PASSWORD],
            not_written: vec![SECRET_PRIVATE_KEY, SECRET_PUBLIC_KEY],
            source: Box::new(StoreError::Status {
                service: "GitHub",
                action: "writing secret COSIGN_PRIVATE_KEY".into(),
                status: 422,
                message: "bad".into(),
                target: "repository a/b".into(),
            }),
        };
        assert_eq!(
            e.to_string(),
            "written: COSIGN_PASSWORD; not written: COSIGN_PRIVATE_KEY, COSIGN_PUBLIC_KEY: \
             writing secret COSIGN_PRIVATE_KEY: GitHub answered 422 (bad)"
        );
        assert!(e
            .hint()
            .unwrap()
            .ends_with("rerun the same command to write all three"));
    }
}
