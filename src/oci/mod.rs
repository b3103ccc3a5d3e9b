//! Container registries: references, our own OCI distribution client and its authentication, cosign's
//! `.sig` signature layout, the OCI 1.1 referrers (API and tag schema), and the multi-arch walk.
//!
//! ## Why our own client
//! ferrosign used `oci-client`; it is replaced by a small distribution client on [`crate::net`]
//! (reqwest/rustls) because `oci-client` reads every body whole (no size limit: a blob served beyond its
//! size filled the memory), probes `GET /v2/` before each request on registries without auth (10 of 20
//! requests per image), has no `Retry-After`, reads one page of referrers, and treats a failed
//! tag-schema read as "no referrers" (which would drop signatures on a later write). The distribution
//! API ferrosign needs is small; the OCI layouts are what ferrosign exists for.
//!
//! ## Map
//! - [`client`]: one exchange with a registry: scheme (HTTPS, plain HTTP for local registries or with
//!   `--allow-http-registry`), `Basic`/`Bearer` authentication, request counting;
//! - [`registry`]: manifests, blobs (mount-or-upload, streamed and digest-checked downloads), limits;
//! - [`layout`]: cosign's `.sig` manifests and their race-safe read-modify-write;
//! - [`referrers`]: OCI 1.1 referrers: listing (API with pages, else the `sha256-<hex>` tag schema) and
//!   attaching an artifact manifest with a `subject`;
//! - [`auth`]: credentials (flags, docker config); [`reference`]: image references;
//! - [`slot`]: the worker slot a manifest's signing gives back while it waits out a settling window.
//!
//! ## Limits (each error names the one it hit)
//! [`registry::MAX_MANIFEST_BYTES`] (4 MiB) for every manifest and index; a blob never beyond its
//! descriptor's size, and the descriptor's size bounded per kind ([`layout::MAX_SIGNATURE_BLOB`]);
//! [`layout::MAX_SIGNATURE_LAYERS`] (1,000, cosign's) layers per signature manifest;
//! [`referrers::MAX_REFERRER_PAGES`] and [`referrers::MAX_REFERRERS`] for referrer listings; error and
//! token answers [`client::MAX_ERROR_BODY`], [`client::MAX_TOKEN_BODY`]. Every body is read by
//! [`crate::net::read_answer`] (a blob streamed by [`crate::net::read_chunks`]). Time and retries:
//! [`crate::net`].

pub(crate) mod auth;
pub(crate) mod bundles;
pub(crate) mod client;
pub(crate) mod layout;
#[cfg(test)]
pub(crate) mod memory;
pub(crate) mod reference;
pub(crate) mod referrers;
pub(crate) mod registry;
pub(crate) mod rmw;
pub(crate) mod slot;

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
    /// No complete answer within the request's deadline (the body included).
    #[error("the registry {registry} gave no complete answer for {reference} within the deadline ({what})")]
    TimedOut {
        /// the registry
        registry: String,
        /// the image or blob
        reference: String,
        /// which deadline
        what: String,
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
        /// the first OCI error code of the answer (`MANIFEST_INVALID`, …), when it had one
        code: Option<String>,
    },
    /// An answer, or what it describes, is over one of the limits of [`crate::oci`].
    #[error("{what} of {reference} is over the limit {limit_name} ({limit} bytes or entries)")]
    TooLarge {
        /// what was too large
        what: &'static str,
        /// the image or blob
        reference: String,
        /// the limit
        limit: u64,
        /// the constant's name
        limit_name: &'static str,
    },
    /// The registry refused a manifest that has a `subject` (no OCI 1.1 support): the referrer was not
    /// attached.
    #[error("the registry {registry} refused the referrer manifest for {reference} (it has a `subject`): {message}")]
    SubjectRefused {
        /// the registry
        registry: String,
        /// the subject image
        reference: String,
        /// what the registry said
        message: String,
    },
    /// Entries of a shared manifest (a `.sig` manifest or a referrers tag-schema index) that were seen
    /// during a read-modify-write vanished and could not be restored.
    #[error("{reference}: {} entr{} seen during the update vanished and could not be restored ({}) after {attempts} writes", missing.len(), if missing.len() == 1 { "y" } else { "ies" }, missing.join(", "))]
    Lost {
        /// the tag written
        reference: String,
        /// the digests of what is missing
        missing: Vec<String>,
        /// writes made
        attempts: u32,
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
    /// True for a manifest upload refused because a blob it names is not (yet) known to the registry
    /// (`MANIFEST_BLOB_UNKNOWN`, `BLOB_UNKNOWN`, or distribution's `DIGEST_INVALID` for a blob whose
    /// concurrent upload of the same content had not settled): worth pushing the blobs again once.
    pub(crate) fn is_blob_unknown(&self) -> bool {
        matches!(self, OciError::Registry { status: 400 | 404, code, message, .. }
            if matches!(code.as_deref(), Some("MANIFEST_BLOB_UNKNOWN" | "BLOB_UNKNOWN" | "DIGEST_INVALID"))
                || message.contains("BLOB_UNKNOWN"))
    }

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
                "check the registry address and that it is running; a registry that speaks plain HTTP needs --allow-http-registry, one whose TLS certificate does not verify --allow-insecure-registry".into()
            }
            OciError::Unreachable { .. } => "check the registry address and that it is running".into(),
            OciError::TimedOut { .. } => "the registry is stalled or very slow (a request's deadline includes its whole answer); check it, then retry".into(),
            OciError::Registry { status: 429, .. } => "the registry is rate limiting: wait and retry, or log in".into(),
            OciError::Registry { status, code, .. } if (400..500).contains(status) && *status != 408 => {
                match code.as_deref() {
                    Some("MANIFEST_INVALID" | "UNSUPPORTED") => "the registry refused the manifest (not a transient fault); a registry that takes only Docker media types needs COSIGN_DOCKER_MEDIA_TYPES=1, as with cosign".into(),
                    _ => "the registry refused the request (not a transient fault): check the image name and the registry's logs".into(),
                }
            }
            OciError::Registry { .. } => "retry later; if it persists, check the registry's logs".into(),
            OciError::TooLarge { .. } => "the registry served more than ferrosign accepts; check what else writes to this repository".into(),
            OciError::SubjectRefused { .. } => "this registry does not take OCI 1.1 manifests with a `subject`; sign with --signature-format legacy".into(),
            OciError::Lost { .. } => "another writer replaced the manifest without these entries (a registry has no conditional writes); sign again, and run concurrent signers of one image with ferrosign".into(),
            OciError::Malformed { .. } => "check what else writes to this repository".into(),
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
/// Docker image config (what cosign writes with `COSIGN_DOCKER_MEDIA_TYPES=1`).
pub(crate) const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// The OCI empty descriptor's media type (config of artifact manifests; blob `{}`).
pub(crate) const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The OCI empty blob.
pub(crate) const OCI_EMPTY_BLOB: &[u8] = b"{}";
/// Every manifest type ferrosign asks for.
pub(crate) const MANIFEST_TYPES: &[&str] = &[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

/// `sha256:<hex>` of some bytes.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
