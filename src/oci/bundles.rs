//! cosign v3's image signature layout: a Sigstore bundle attached to the image as an OCI 1.1 referrer
//! (docs/cosign-bundle-layout.md §1.4 for the manifest, §2.1 for discovery), on [`super::referrers`].
//!
//! Written: an OCI image manifest with `artifactType` and its one layer's media type
//! `application/vnd.dev.sigstore.bundle.v0.3+json`, the empty config, `subject` = the image, and the
//! annotations cosign v3 writes (`dev.sigstore.bundle.content=dsse-envelope`,
//! `dev.sigstore.bundle.predicateType`, `org.opencontainers.image.created`), pushed by digest; the
//! registry's referrers API lists it, or the `sha256-<hex>` tag-schema index gets an entry that carries
//! the manifest's `artifactType` and annotations.
//!
//! Read: every referrer that may be a bundle (its `artifactType` is a Sigstore bundle type, or tells
//! nothing: missing, or the empty config type some registries and cosign v2.6.5 report) is fetched; it
//! is a bundle when its manifest has exactly one layer and that layer's media type is a Sigstore bundle
//! type (cosign's rule, `pkg/oci/remote/signatures.go` `Bundle`). Whether a bundle is an image signature
//! is for the caller to decide from its content, never from annotations, which anyone can set.

use super::layout::Descriptor;
use super::referrers::{self, Artifact};
use super::registry::Registry;
use super::{ImageRef, OciError, OCI_EMPTY};
use std::collections::BTreeMap;

/// The media type (and `artifactType`) of a Sigstore bundle v0.3.
pub(crate) const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// What every Sigstore bundle media type starts with (v0.1 and v0.2 are
/// `application/vnd.dev.sigstore.bundle+json;version=0.x`).
pub(crate) const BUNDLE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// Manifest annotation: what the bundle holds (`dsse-envelope`).
pub(crate) const ANN_CONTENT: &str = "dev.sigstore.bundle.content";
/// Manifest annotation: the in-toto statement's predicate type.
pub(crate) const ANN_PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";
/// Manifest annotation: when it was made (RFC 3339, seconds, UTC).
pub(crate) const ANN_CREATED: &str = "org.opencontainers.image.created";

/// The referrer artifact of a bundle (its JSON) holding a DSSE statement of `predicate_type`, as
/// cosign v3 writes it (docs/cosign-bundle-layout.md §1.4): attached with [`referrers::prepare`] and
/// [`referrers::commit`] (a registry refusing the manifest is [`OciError::SubjectRefused`]).
pub(crate) fn artifact(bundle: Vec<u8>, predicate_type: &str) -> Artifact {
    let created = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    Artifact {
        artifact_type: BUNDLE_V03.into(),
        layer_media_type: BUNDLE_V03.into(),
        layer: bundle,
        annotations: BTreeMap::from([
            (ANN_CONTENT.to_string(), "dsse-envelope".to_string()),
            (ANN_PREDICATE_TYPE.to_string(), predicate_type.to_string()),
            (ANN_CREATED.to_string(), created),
        ]),
    }
}

/// One bundle attached to an image.
#[derive(Debug, Clone)]
pub(crate) struct FoundBundle {
    /// the bundle's bytes (at most [`referrers::MAX_REFERRER_LAYER`])
    pub(crate) bytes: Vec<u8>,
}

/// The bundles attached to an image.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// every referrer that is a bundle, in listing order
    pub(crate) bundles: Vec<FoundBundle>,
}

/// True when a referrer descriptor may be a bundle (see the module documentation).
fn may_be_bundle(d: &Descriptor) -> bool {
    match referrers::artifact_type(d) {
        None => true,
        Some(t) => t == OCI_EMPTY || t.starts_with(BUNDLE_PREFIX),
    }
}

/// The bundles attached to `digest` in `image`'s repository: every referrer that may be a bundle,
/// fetched with [`referrers::fetch`] (bounded, digest-checked), kept when its one layer is a Sigstore
/// bundle. Registry errors are errors, never "no bundles".
pub(crate) async fn read(
    registry: &Registry,
    image: &ImageRef,
    digest: &str,
) -> Result<Found, OciError> {
    let listing = referrers::list(registry, image, digest, None).await?;
    let mut bundles = Vec::new();
    for d in listing.referrers.iter().filter(|d| may_be_bundle(d)) {
        let fetched = referrers::fetch(registry, image, &d.digest, |media_type| {
            media_type.starts_with(BUNDLE_PREFIX)
        })
        .await?;
        if let Some(f) = fetched {
            bundles.push(FoundBundle { bytes: f.bytes });
        }
    }
    Ok(Found { bundles })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(artifact_type: Option<&str>) -> Descriptor {
        let mut d = Descriptor {
            media_type: super::super::OCI_MANIFEST.into(),
            size: 1,
            digest: "sha256:00".into(),
            annotations: None,
            extra: serde_json::Map::new(),
        };
        if let Some(t) = artifact_type {
            d.extra.insert("artifactType".into(), t.into());
        }
        d
    }

    #[test]
    fn which_referrers_may_be_bundles() {
        assert!(may_be_bundle(&desc(Some(BUNDLE_V03))));
        assert!(may_be_bundle(&desc(Some(
            "application/vnd.dev.sigstore.bundle+json;version=0.2"
        ))));
        // cosign issue 4641, and registries that report the config's media type
        assert!(may_be_bundle(&desc(Some(OCI_EMPTY))));
        assert!(may_be_bundle(&desc(None)));
        assert!(!may_be_bundle(&desc(Some("application/spdx+json"))));
    }
}
