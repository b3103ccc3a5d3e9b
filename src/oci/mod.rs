//! Container registries: references, the registry client (on `oci-client`) and its authentication,
//! cosign's `.sig` signature layout, and the multi-arch walk.

pub(crate) mod auth;
pub(crate) mod layout;
pub(crate) mod reference;
pub(crate) mod registry;

pub(crate) use reference::{ImageRef, ReferenceError};
pub(crate) use registry::{CredentialScope, Registry, RegistryOptions};

/// What can go wrong with a registry or an image in it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum OciError {
    /// The image reference does not parse.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// The registry has no such image (manifest or repository unknown, 404).
    #[error("image {reference} not found in the registry")]
    NotFound {
        /// the image asked for
        reference: String,
    },
    /// The registry wants credentials, or refused the ones given (401).
    #[error("the registry {registry} refused access to {reference}: authentication required{}", if *.had_credentials { " (the credentials given were not accepted)" } else { "" })]
    Unauthorized {
        /// the registry
        registry: String,
        /// the image
        reference: String,
        /// whether credentials were sent
        had_credentials: bool,
    },
    /// The credentials are valid but may not do this (403).
    #[error("the registry {registry} denied {action} on {reference}")]
    Denied {
        /// the registry
        registry: String,
        /// the image
        reference: String,
        /// "pull" or "push"
        action: &'static str,
    },
    /// No answer from the registry (after retries).
    #[error("cannot reach the registry {registry}: {reason}")]
    Unreachable {
        /// the registry
        registry: String,
        /// the last cause
        reason: String,
        /// whether it was tried over HTTPS
        https: bool,
    },
    /// Any other error status from the registry.
    #[error("the registry {registry} answered {status} for {reference}: {message}")]
    Registry {
        /// the registry
        registry: String,
        /// the image
        reference: String,
        /// the HTTP status (0 when unknown)
        status: u16,
        /// what the registry said
        message: String,
    },
    /// A manifest or blob that is not what it claims to be.
    #[error("{what} from {reference} is malformed: {reason}")]
    Malformed {
        /// "the manifest", "the signature manifest", …
        what: &'static str,
        /// the image
        reference: String,
        /// why
        reason: String,
    },
    /// Concurrent writers kept replacing the signature manifest.
    #[error("could not add the signature to {reference}: other writers kept replacing it ({attempts} attempts)")]
    Contended {
        /// the `.sig` reference
        reference: String,
        /// how many times we tried
        attempts: u32,
    },
    /// The docker config file cannot be read.
    #[error("cannot read the docker config {path}: {reason}")]
    DockerConfig {
        /// the file
        path: String,
        /// why
        reason: String,
    },
    /// The registry options are inconsistent.
    #[error("{0}")]
    Options(String),
}

impl OciError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> String {
        match self {
            OciError::Reference(e) => e.hint(),
            OciError::NotFound { .. } => {
                "check the name, tag and digest, and that the image was pushed to this registry".into()
            }
            OciError::Unauthorized { registry, had_credentials: false, .. } => format!(
                "log in: pass --registry-username and --registry-password (or FERROSIGN_REGISTRY_PASSWORD), \
                 or run `docker login {registry}` (ferrosign reads $DOCKER_CONFIG/config.json or ~/.docker/config.json)"
            ),
            OciError::Unauthorized { .. } => {
                "check the username and password or token (for ghcr.io: a token with packages:write)".into()
            }
            OciError::Denied { action, .. } => {
                format!("the credentials are valid but lack permission to {action}; for ghcr.io in a workflow add `permissions: packages: write`")
            }
            OciError::Unreachable { https: true, .. } => {
                "check the registry address and that it is running; a registry that speaks plain HTTP (e.g. a local test registry) needs --allow-insecure-registry".into()
            }
            OciError::Unreachable { .. } => "check the registry address and that it is running".into(),
            OciError::Registry { status: 429, .. } => "the registry is rate limiting: wait and retry, or log in".into(),
            OciError::Registry { .. } => "retry later; if it persists, check the registry's logs".into(),
            OciError::Malformed { .. } => "check what else writes to this repository".into(),
            OciError::Contended { .. } => "retry: another signer was writing the same signature manifest".into(),
            OciError::DockerConfig { .. } => "fix or remove the file, or pass --registry-username/--registry-password".into(),
            OciError::Options(_) => "pass both --registry-username and --registry-password".into(),
        }
    }
}

/// The media type of a cosign signature layer (the simple-signing payload).
pub(crate) const SIMPLE_SIGNING_MEDIA_TYPE: &str =
    "application/vnd.dev.cosign.simplesigning.v1+json";
/// OCI image manifest.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest (schema 2).
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image config.
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Every manifest type ferrosign asks for.
pub(crate) const MANIFEST_TYPES: &[&str] = &[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

/// `sha256:<hex>` of some bytes.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
