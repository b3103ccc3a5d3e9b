//! Hooks for the integration tests only (`tests/it/referrers.rs`): the OCI 1.1 referrers calls of
//! `oci::referrers`, driven against real registries (the referrers-API peer, Debian's docker-registry,
//! the fault proxy) before a command of ferrosign's own uses them (the bundle layout, issue 10). Not an
//! API: hidden from the documentation, shaped for those tests, changed with them.

use crate::oci::{referrers, ImageRef, OciError, Registry, RegistryOptions};
use std::collections::BTreeMap;

/// Why a call failed: the error's text (as the user would read it) and its kind.
#[derive(Debug)]
pub struct Failure {
    /// the error, one line
    pub message: String,
    /// the registry refused a manifest with a `subject` (`OciError::SubjectRefused`)
    pub subject_refused: bool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<OciError> for Failure {
    fn from(e: OciError) -> Self {
        Failure {
            subject_refused: matches!(e, OciError::SubjectRefused { .. }),
            message: e.to_string(),
        }
    }
}

/// A referrer attached.
#[derive(Debug, Clone)]
pub struct Attached {
    /// the referrer manifest's digest
    pub digest: String,
    /// true when the registry's referrers API keeps the list, false for the tag schema
    pub via_api: bool,
    /// `registry/name@digest` of the referrer manifest
    pub manifest: String,
    /// with the tag schema: the entries of the index afterwards
    pub index_entries: Option<usize>,
}

/// The referrers of a digest.
#[derive(Debug, Clone)]
pub struct Listed {
    /// the descriptors as JSON (`digest`, `artifactType`, `annotations`, …)
    pub referrers: Vec<serde_json::Value>,
    /// true when they came from the referrers API, false from the tag schema
    pub via_api: bool,
}

/// One referrer read back.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// the manifest's `artifactType` (else its config's media type)
    pub artifact_type: Option<String>,
    /// the manifest's annotations
    pub annotations: BTreeMap<String, String>,
    /// the digest its `subject` names
    pub subject_digest: Option<String>,
    /// the digest of its one layer
    pub layer_digest: String,
    /// that layer's bytes
    pub bytes: Vec<u8>,
}

/// A fresh client with the default options, as a separate process would have.
fn client() -> Result<Registry, Failure> {
    Ok(Registry::new(RegistryOptions::default())?.for_image(true))
}

fn image(repository: &str) -> Result<ImageRef, Failure> {
    repository.parse::<ImageRef>().map_err(|e| Failure {
        message: e.to_string(),
        subject_refused: false,
    })
}

/// Attaches an artifact (`artifact_type`, one layer of that media type, `annotations`) to
/// `repository@subject_digest` (`repository` as `registry/name`).
pub async fn attach(
    repository: &str,
    subject_digest: &str,
    artifact_type: &str,
    layer: Vec<u8>,
    annotations: BTreeMap<String, String>,
) -> Result<Attached, Failure> {
    let registry = client()?;
    let image = image(repository)?;
    let subject = registry
        .head_manifest(&image.with_digest(subject_digest))
        .await?
        .ok_or_else(|| Failure {
            message: format!("no subject {repository}@{subject_digest}"),
            subject_refused: false,
        })?;
    let artifact = referrers::Artifact {
        artifact_type: artifact_type.into(),
        layer_media_type: artifact_type.into(),
        layer,
        annotations,
    };
    let done = referrers::attach(&registry, &image, &subject, &artifact).await?;
    Ok(Attached {
        digest: done.digest,
        via_api: done.recorded == referrers::Recorded::Api,
        manifest: done.manifest.to_string(),
        index_entries: done.index_entries,
    })
}

/// Lists the referrers of `repository@digest`, with `artifact_type` when given.
pub async fn list(
    repository: &str,
    digest: &str,
    artifact_type: Option<&str>,
) -> Result<Listed, Failure> {
    let listing = referrers::list(&client()?, &image(repository)?, digest, artifact_type).await?;
    Ok(Listed {
        referrers: listing
            .referrers
            .iter()
            .map(|d| serde_json::to_value(d).unwrap_or_default())
            .collect(),
        via_api: listing.source == referrers::Source::Api,
    })
}

/// Reads the referrer `repository@digest` and its one layer when that layer is of `layer_type`.
pub async fn fetch(
    repository: &str,
    digest: &str,
    layer_type: &str,
) -> Result<Option<Fetched>, Failure> {
    let got =
        referrers::fetch(&client()?, &image(repository)?, digest, |t| t == layer_type).await?;
    Ok(got.map(|f| Fetched {
        artifact_type: f.artifact_type,
        annotations: f.annotations,
        subject_digest: f.subject.map(|s| s.digest),
        layer_digest: f.layer.digest,
        bytes: f.bytes,
    }))
}
