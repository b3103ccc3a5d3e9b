//! `generate-key-pair github://…` and `k8s://…`: a new key pair stored where CI can read it, never on disk.
//!
//! - [`github`]: Actions secrets `COSIGN_PASSWORD`, `COSIGN_PRIVATE_KEY`, `COSIGN_PUBLIC_KEY` of a
//!   repository, an environment or an organisation, each sealed (libsodium `crypto_box_seal`) to the
//!   public key GitHub hands out.
//! - [`kubernetes`]: one immutable Opaque Secret with `cosign.key`, `cosign.pub`, `cosign.password`.
//!
//! Both write the public key locally (`cosign.pub`) once the secrets are stored, as cosign does. The
//! password comes from `COSIGN_PASSWORD` or is generated, and is never printed: it and the private key
//! are masked through [`Ui::mask`] before any other output.
//!
//! Both talk through [`crate::http::Http`], the project's only network client (timeouts, retries with
//! backoff, user agent, the plain-HTTP policy), not through octocrab or the kube crate: see the module
//! docs of [`github`] and [`kubernetes`] for why.

pub mod github;
pub mod kubernetes;

use crate::config::{GenerateKeyPair, KeyTarget};
use crate::error::Error;
use crate::fsutil::Staged;
use crate::gha::Ui;
use crate::http::HttpError;
use crate::keys::{new_key_pair, NewKeyPair};
use crate::secret::SecretString;
use crate::signing::PasswordSource;
use std::path::{Path, PathBuf};

/// The Actions secret holding the key's password.
pub const SECRET_PASSWORD: &str = "COSIGN_PASSWORD";
/// The Actions secret holding the encrypted private key (PEM).
pub const SECRET_PRIVATE_KEY: &str = "COSIGN_PRIVATE_KEY";
/// The Actions secret holding the public key (PEM); its presence guards against replacing a key.
pub const SECRET_PUBLIC_KEY: &str = "COSIGN_PUBLIC_KEY";

/// What can go wrong storing a key pair in GitHub or Kubernetes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
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
        source: Box<SecretsError>,
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

fn partial_text(written: &[&str], not_written: &[&str], source: &SecretsError) -> String {
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

impl SecretsError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            SecretsError::NoToken => Some(
                "set GITHUB_TOKEN to a token that may write Actions secrets (fine-grained: \
                 \"Secrets\" read and write; classic: `repo`, or `admin:org` for organisation secrets); \
                 the job's own GITHUB_TOKEN cannot"
                    .into(),
            ),
            SecretsError::Http(e) => e.hint(),
            SecretsError::Status {
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
            SecretsError::BadResponse { .. } => {
                Some("check that the API URL points at the right server".into())
            }
            SecretsError::Seal(_) => None,
            SecretsError::PublicKeyExists { .. } => Some(format!(
                "a key pair is already provisioned there; replacing it breaks verification of \
                 everything signed with the old key. If that is what you want, pass --force (or \
                 delete the {SECRET_PUBLIC_KEY} secret first)"
            )),
            SecretsError::Partial {
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
            SecretsError::K8sSecretExists { namespace, name } => Some(format!(
                "the Secret is immutable: delete it first (`kubectl delete secret -n {namespace} \
                 {name}`; everything signed with its key then needs the old public key to verify) or \
                 pick another name"
            )),
            SecretsError::NoCluster(_) => Some(
                "set KUBECONFIG (or create ~/.kube/config, e.g. with `kind get kubeconfig`), or run \
                 inside a cluster with a service account"
                    .into(),
            ),
            SecretsError::Kubeconfig { .. } => {
                Some("check the file with `kubectl config view`".into())
            }
            SecretsError::KubeconfigUnsupported { hint, .. } => Some(hint.clone()),
        }
    }
}

/// Reads the server's error message out of a JSON body (`{"message": …}`, as GitHub and Kubernetes
/// send it): one line, printable, at most 200 characters.
pub(crate) fn server_message(body: &[u8]) -> String {
    let text = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
        .unwrap_or_default();
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    match clean.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &clean[..i]),
        None => clean.to_string(),
    }
}

/// The password for a new key: the one given (Action inputs), else `COSIGN_PASSWORD` if set (it may be
/// empty), else 43 random characters. Never a prompt: nobody would remember it, the secret store does.
pub fn password_for(source: &PasswordSource) -> SecretString {
    if let PasswordSource::Given(p) = source {
        return p.clone();
    }
    if let Ok(p) = std::env::var(crate::signing::source::ENV_PASSWORD) {
        return SecretString::from(p);
    }
    generate_password()
}

/// 43 random characters (32 bytes from the operating system, URL-safe base64 without padding).
pub fn generate_password() -> SecretString {
    use base64::Engine;
    use rand_core::RngCore;
    let mut buf = zeroize::Zeroizing::new([0u8; 32]);
    rand_core::OsRng.fill_bytes(buf.as_mut());
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf.as_ref()))
}

/// The key pair and its password, masked in the output before anything else is written.
pub(crate) struct Material {
    pub password: SecretString,
    pub pair: NewKeyPair,
}

pub(crate) fn make_material(req: &GenerateKeyPair, ui: &mut Ui) -> Result<Material, Error> {
    let password = password_for(&req.password);
    ui.mask(password.expose());
    let pair = new_key_pair(&password)?;
    ui.mask(pair.private_pem.expose());
    Ok(Material { password, pair })
}

/// Where the public key is written locally: `PREFIX.pub`.
pub(crate) fn local_pub_path(req: &GenerateKeyPair) -> PathBuf {
    PathBuf::from(format!("{}.pub", req.prefix))
}

/// Refuses to overwrite the local public key file without `--force`.
pub(crate) fn check_local_pub(req: &GenerateKeyPair) -> Result<PathBuf, Error> {
    let path = local_pub_path(req);
    if !req.force && path.exists() {
        return Err(Error::Usage {
            message: format!("{} already exists", path.display()),
            hint: Some(format!(
                "pass --output-key-prefix NAME to write NAME.pub instead (or --force to overwrite \
                 {} and the stored secrets)",
                path.display()
            )),
        });
    }
    Ok(path)
}

/// Writes the public key next to the user, as cosign does.
pub(crate) fn write_local_pub(path: &Path, material: &Material, ui: &mut Ui) -> Result<(), Error> {
    let io = |source| Error::Io {
        context: "cannot write",
        path: path.to_path_buf(),
        source,
    };
    Staged::write(path, material.pair.public.to_pem().as_bytes(), 0o644)
        .map_err(io)?
        .commit()
        .map_err(io)?;
    ui.info(&format!("Public key also written to {}", path.display()));
    Ok(())
}

/// `generate-key-pair TARGET` for a GitHub or Kubernetes target.
pub async fn generate_key_pair(req: &GenerateKeyPair, ui: &mut Ui) -> Result<(), Error> {
    match &req.target {
        KeyTarget::GitHub(t) => github::provision(req, t, ui).await,
        KeyTarget::Kubernetes(t) => kubernetes::provision(req, t, ui).await,
        KeyTarget::Files => crate::keys::generate_key_pair(req, ui),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let a = generate_password();
        let b = generate_password();
        assert!(a.expose().len() >= 32, "{}", a.expose().len());
        assert_ne!(a.expose(), b.expose());
        assert!(a
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn server_messages_are_one_short_line() {
        assert_eq!(server_message(br#"{"message":"Not\nFound"}"#), "Not Found");
        assert_eq!(server_message(b"<html>"), "");
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(500));
        assert_eq!(server_message(long.as_bytes()).chars().count(), 201);
    }

    #[test]
    fn partial_failure_names_what_was_written() {
        let e = SecretsError::Partial {
            written: vec![SECRET_PASSWORD],
            not_written: vec![SECRET_PRIVATE_KEY, SECRET_PUBLIC_KEY],
            source: Box::new(SecretsError::Status {
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
