//! OCI 1.1 referrers (distribution-spec v1.1 "Listing Referrers" and "Referrers Tag Schema"): the
//! manifests whose `subject` is an image, e.g. cosign v3's Sigstore bundles
//! (docs/cosign-bundle-layout.md §1.4–1.5, §2.1).
//!
//! ## The API (three calls; each bounded, each error typed, none treats a failure as "nothing")
//! - [`attach`]`(registry, image, subject, artifact)`: push an artifact manifest (`artifactType`, empty
//!   config, one layer, `subject`) and record it (API or tag schema) → [`Attached`]; a registry refusing
//!   `subject` → [`OciError::SubjectRefused`].
//! - [`list`]`(registry, image, digest, Some(artifact_type))`: the referrers of a digest, filtered →
//!   [`Listing`] (descriptors, de-duplicated, and where they came from).
//! - [`fetch`]`(registry, image, referrer_digest, layer_ok)`: one referrer's manifest and its one layer,
//!   bounded and digest-checked → [`Fetched`], or `None` when it is not such an artifact.
//!
//! Use a handle from [`Registry::for_image`] per image: calls for different images may run at once.
//!
//! ## Reading ([`list`])
//! `GET /v2/<name>/referrers/<digest>[?artifactType=…]` with `Accept: application/vnd.oci.image.index.v1+json`.
//! - `200` with the OCI index `Content-Type`: the API. Pages are followed through `Link: <…>; rel="next"`
//!   (relative or absolute), at most [`MAX_REFERRER_PAGES`] pages and [`MAX_REFERRERS`] entries.
//! - `404`, `400`, `406`, or a `200` of another type: no API (go-containerregistry's rule). Then the
//!   tag schema: the index tagged `sha256-<hex>`; its `404` means no referrers.
//! - Anything else (401/403, 5xx after retries, a malformed index, a limit) is an error, never "none":
//!   a writer that took a failed read as empty would drop every other referrer.
//! - Duplicates (same digest) are listed once. A filter by `artifactType` is applied here whether or not
//!   the registry says it applied it (`OCI-Filters-Applied`). An entry whose `artifactType` is missing or
//!   the empty config type (`application/vnd.oci.empty.v1+json`: registries that report the config's
//!   media type, like go-containerregistry's, and cosign v2.6.5's fallback entries — cosign issue 4641)
//!   tells nothing: its manifest is fetched to learn the real one, only when a filter needs it.
//!
//! ## Writing ([`attach`]: [`prepare`] and [`commit`])
//! An OCI image manifest with `artifactType`, the empty config (`{}`), one layer and `subject` = the
//! image, pushed by digest (what cosign v3 writes, §1.4). A `4xx` refusal of it is
//! [`OciError::SubjectRefused`], so callers can fall back. Then: an `OCI-Subject` header on the answer,
//! or a referrers API answering for the subject, means the registry keeps the list: done. Otherwise the
//! `sha256-<hex>` index is updated with the race care of [`super::rmw`] (re-read, merge, never drop an
//! entry), its entry carrying the manifest's `artifactType` and annotations (as the spec asks, and as
//! go-containerregistry does not). What the registry's API answered is remembered for the run
//! ([`Registry::referrers_api`]): the images after the first are not probed again.
//!
//! In two steps, so that what needs no artifact runs while the signature is made: [`prepare`] (the
//! empty config upload, the layer's upload opened, the probe, the index's first read), then
//! [`commit`] (the layer, the manifest, the index). Requests for a first bundle on a registry without
//! auth, with the API: the empty config (one request, or none once this run put it in the repository),
//! the layer's upload opened (`POST` → `202`; none on a registry taking one-request uploads) and
//! finished (`PUT`), the probe (first image of the run only), the manifest's `PUT`: 3 to 5 (4 to 6 with
//! the subject's `HEAD` the caller makes first). Tag schema, besides the blobs and the manifest: the
//! probe (first image of the run only), then [`super::rmw`] on the index: `GET` (404) in [`prepare`],
//! the confirming `GET` (404) beside the manifest's `PUT`, `PUT`, and after the settling window one
//! `GET`.

use super::layout::Descriptor;
use super::registry::{ManifestHead, Registry, Upload, MANIFEST_ANSWER, MANIFEST_DEADLINE};
use super::rmw::{self, Doc};
use super::{client, ImageRef, OciError, OCI_EMPTY, OCI_EMPTY_BLOB, OCI_INDEX, OCI_MANIFEST};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most pages of a referrers listing followed.
pub(crate) const MAX_REFERRER_PAGES: usize = 32;
/// The most referrers listed for one subject (after removing duplicates).
pub(crate) const MAX_REFERRERS: usize = 1000;
/// Times [`commit`] pushes the blobs and PUTs the referrer manifest while the registry answers that a
/// blob it names is unknown (`MANIFEST_BLOB_UNKNOWN`, or distribution's `DIGEST_INVALID` when
/// concurrent uploads of the same content, such as the empty config blob that every bundle names,
/// race in its storage). 16 signers of one digest on a loaded machine needed more than 2.
pub(crate) const BLOB_UNKNOWN_TRIES: u32 = 5;
/// Wait before push `n + 1` after a blob-unknown answer: `n` × this, so the racing uploads settle
/// (100 ms, 200 ms, … 400 ms; 1 s in all at most).
const BLOB_UNKNOWN_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// Where a listing came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Source {
    /// the registry's referrers API
    Api,
    /// the `sha256-<hex>` tag-schema index
    TagSchema,
}

/// The referrers of one subject.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    /// the descriptors, de-duplicated, filtered
    pub(crate) referrers: Vec<Descriptor>,
    /// where they came from
    pub(crate) source: Source,
}

/// The `artifactType` of a descriptor, if it has one.
pub(crate) fn artifact_type(d: &Descriptor) -> Option<&str> {
    d.extra.get("artifactType").and_then(|v| v.as_str())
}

/// An image index, unknown fields kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Index {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

impl Doc for Index {
    type Entry = Descriptor;
    fn parse(bytes: &[u8], _media_type: &str, tag: &ImageRef) -> Result<Self, OciError> {
        let index: Index = serde_json::from_slice(bytes).map_err(|e| OciError::Malformed {
            what: "the referrers index",
            reference: tag.to_string(),
            reason: e.to_string(),
        })?;
        if index.manifests.len() > MAX_REFERRERS {
            return Err(too_many(tag));
        }
        Ok(index)
    }
    fn entries(&self) -> &[Descriptor] {
        &self.manifests
    }
    fn same(a: &Descriptor, b: &Descriptor) -> bool {
        a.digest == b.digest
    }
    fn id(e: &Descriptor) -> String {
        e.digest.clone()
    }
}

fn too_many(at: &ImageRef) -> OciError {
    OciError::TooLarge {
        what: "the referrers list",
        reference: at.to_string(),
        limit: MAX_REFERRERS as u64,
        limit_name: "MAX_REFERRERS",
    }
}

/// The tag-schema tag of `digest`: `sha256-<hex>`.
pub(crate) fn tag_schema_ref(image: &ImageRef, digest: &str) -> ImageRef {
    image.with_tag(&digest.replacen(':', "-", 1))
}

fn is_index_type(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| super::registry::bare_media_type(c) == OCI_INDEX)
}

/// One page of the referrers API: `Some((descriptors, next page, filter applied))`, or `None` when the
/// registry has no referrers API.
#[allow(clippy::type_complexity)]
async fn api_page(
    registry: &Registry,
    image: &ImageRef,
    target: String,
    what: &str,
) -> Result<Option<(Vec<Descriptor>, Option<String>, bool)>, OciError> {
    let mut req = client::Req::new(Method::GET, image.repository(), target, what.to_string());
    req.accept = Some(OCI_INDEX.to_string());
    req.timeout = Some(MANIFEST_DEADLINE);
    let resp = registry.send(image, &req).await?;
    let status = resp.status();
    if matches!(
        status,
        StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST | StatusCode::NOT_ACCEPTABLE
    ) {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(registry.error(image, what, "pull", resp).await);
    }
    if !is_index_type(client::header(&resp, "content-type").as_deref()) {
        return Ok(None);
    }
    let next = client::link_next(resp.headers());
    let filtered = client::header(&resp, "oci-filters-applied")
        .is_some_and(|f| f.split(',').any(|x| x.trim() == "artifactType"));
    let url = resp.url().to_string();
    let body = crate::net::read_answer(resp, &url, MANIFEST_ANSWER, MANIFEST_DEADLINE)
        .await
        .map_err(|e| client::body_error(image.registry(), what, "a referrers page", e))?;
    let index = Index::parse(&body, OCI_INDEX, image)?;
    Ok(Some((index.manifests, next, filtered)))
}

/// Whether the registry of `image` has the referrers API, asked with a listing of `digest`; `Some`
/// with the first page when it has.
async fn probe(
    registry: &Registry,
    image: &ImageRef,
    digest: &str,
    filter: Option<&str>,
) -> Result<Option<(Vec<Descriptor>, Option<String>, bool)>, OciError> {
    let mut target = format!("/v2/{}/referrers/{digest}", image.repository());
    if let Some(f) = filter {
        target.push_str("?artifactType=");
        target.push_str(&url_escape(f));
    }
    let what = format!(
        "{}/{}/referrers/{digest}",
        image.registry(),
        image.repository()
    );
    api_page(registry, image, target, &what).await
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The referrers of `digest` in `image`'s repository, with `artifact_type` when given (see the module
/// documentation for the API, the tag-schema fallback, pages, duplicates and the filter).
pub(crate) async fn list(
    registry: &Registry,
    image: &ImageRef,
    digest: &str,
    artifact_type: Option<&str>,
) -> Result<Listing, OciError> {
    let subject = image.with_digest(digest);
    let first_page = probe(registry, image, digest, artifact_type).await?;
    let (mut found, source, server_filtered) = if let Some((first, mut next, filtered)) = first_page
    {
        let mut all = first;
        let mut pages = 1;
        while let Some(target) = next.take() {
            if pages >= MAX_REFERRER_PAGES {
                return Err(OciError::TooLarge {
                    what: "the referrers listing",
                    reference: subject.to_string(),
                    limit: MAX_REFERRER_PAGES as u64,
                    limit_name: "MAX_REFERRER_PAGES",
                });
            }
            let what = format!("{subject} (referrers page {})", pages + 1);
            match api_page(registry, image, target, &what).await? {
                Some((more, n, _)) => {
                    all.extend(more);
                    next = n;
                }
                None => {
                    return Err(OciError::Malformed {
                        what: "the referrers listing",
                        reference: subject.to_string(),
                        reason: format!("page {} is not a referrers page", pages + 1),
                    })
                }
            }
            pages += 1;
            if all.len() > MAX_REFERRERS * 2 {
                return Err(too_many(&subject));
            }
        }
        (all, Source::Api, filtered)
    } else {
        let tag = tag_schema_ref(image, digest);
        let entries = rmw::read::<Index>(registry, &tag)
            .await?
            .map(|i| i.manifests)
            .unwrap_or_default();
        (entries, Source::TagSchema, false)
    };
    let mut unique: Vec<Descriptor> = Vec::new();
    for d in found.drain(..) {
        if !unique.iter().any(|u| u.digest == d.digest) {
            unique.push(d);
        }
    }
    if unique.len() > MAX_REFERRERS {
        return Err(too_many(&subject));
    }
    let mut referrers = Vec::new();
    for mut d in unique {
        let Some(want) = artifact_type else {
            referrers.push(d);
            continue;
        };
        if server_filtered && source == Source::Api {
            referrers.push(d);
            continue;
        }
        match self::artifact_type(&d) {
            Some(t) if t == want => referrers.push(d),
            Some(t) if t != OCI_EMPTY => {}
            _ => {
                // Tells nothing: learn it from the manifest itself.
                let real = manifest_artifact_type(registry, image, &d.digest).await?;
                if real.as_deref() == Some(want) {
                    d.extra.insert(
                        "artifactType".into(),
                        serde_json::Value::String(want.into()),
                    );
                    referrers.push(d);
                }
            }
        }
    }
    Ok(Listing { referrers, source })
}

/// A manifest's artifact type: its `artifactType`, else its config's media type.
async fn manifest_artifact_type(
    registry: &Registry,
    image: &ImageRef,
    digest: &str,
) -> Result<Option<String>, OciError> {
    let at = image.with_digest(digest);
    let Some(m) = registry.get_manifest(&at).await? else {
        return Ok(None);
    };
    let v: serde_json::Value =
        serde_json::from_slice(&m.bytes).map_err(|e| OciError::Malformed {
            what: "a referrer manifest",
            reference: at.to_string(),
            reason: e.to_string(),
        })?;
    Ok(v.get("artifactType")
        .or_else(|| v.get("config").and_then(|c| c.get("mediaType")))
        .and_then(|t| t.as_str())
        .map(str::to_string))
}

/// The largest referrer layer [`fetch`] reads (4 MiB; a Sigstore bundle is a few KiB).
pub(crate) const MAX_REFERRER_LAYER: u64 = 4 << 20;

/// A referrer artifact read by [`fetch`]: its manifest's fields and its one layer.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    /// the manifest's `artifactType`, else its config's media type (OCI image-spec's rule)
    pub(crate) artifact_type: Option<String>,
    /// the manifest's annotations (set by whoever pushed it: never a proof of anything)
    pub(crate) annotations: BTreeMap<String, String>,
    /// the manifest's `subject`, if any
    pub(crate) subject: Option<Descriptor>,
    /// the one layer's descriptor
    pub(crate) layer: Descriptor,
    /// the layer's bytes (exactly `layer.size`, sha256-checked, at most [`MAX_REFERRER_LAYER`])
    pub(crate) bytes: Vec<u8>,
}

/// Reads the referrer manifest `digest` in `image`'s repository (at most
/// [`super::registry::MAX_MANIFEST_BYTES`], digest-checked) and its one layer (streamed, at most its descriptor's size
/// and [`MAX_REFERRER_LAYER`], digest-checked).
///
/// `Ok(None)` when it is not an artifact to read (skipped, as cosign skips it: `pkg/oci/remote`): the
/// manifest is gone (404; deleted since it was listed), it is not an image manifest, it has not exactly
/// one layer, or `layer_ok` refuses that layer's media type (checked before the layer is fetched).
/// Errors: the registry's (never taken as "none"), [`OciError::TooLarge`] naming the limit,
/// [`OciError::Malformed`] for bytes that do not match their digest.
pub(crate) async fn fetch(
    registry: &Registry,
    image: &ImageRef,
    digest: &str,
    layer_ok: impl Fn(&str) -> bool,
) -> Result<Option<Fetched>, OciError> {
    #[derive(Deserialize)]
    struct Artifact {
        #[serde(rename = "mediaType", default)]
        media_type: Option<String>,
        #[serde(rename = "artifactType", default)]
        artifact_type: Option<String>,
        config: Option<Descriptor>,
        #[serde(default)]
        layers: Vec<Descriptor>,
        #[serde(default)]
        annotations: BTreeMap<String, String>,
        subject: Option<Descriptor>,
    }
    let at = image.with_digest(digest);
    let Some(m) = registry.get_manifest(&at).await? else {
        return Ok(None);
    };
    if m.media_type != OCI_MANIFEST && m.media_type != super::DOCKER_MANIFEST {
        return Ok(None);
    }
    let Ok(parsed) = serde_json::from_slice::<Artifact>(&m.bytes) else {
        return Ok(None);
    };
    if parsed
        .media_type
        .as_deref()
        .is_some_and(|t| t != OCI_MANIFEST && t != super::DOCKER_MANIFEST)
    {
        return Ok(None);
    }
    let [layer] = parsed.layers.as_slice() else {
        return Ok(None);
    };
    if !layer_ok(&layer.media_type) {
        return Ok(None);
    }
    let bytes = registry
        .get_blob(
            image,
            &layer.digest,
            layer.size,
            MAX_REFERRER_LAYER,
            "MAX_REFERRER_LAYER",
        )
        .await?;
    Ok(Some(Fetched {
        artifact_type: parsed.artifact_type.or(parsed.config.map(|c| c.media_type)),
        annotations: parsed.annotations,
        subject: parsed.subject,
        layer: layer.clone(),
        bytes,
    }))
}

/// What to attach to an image.
#[derive(Debug, Clone)]
pub(crate) struct Artifact {
    /// the manifest's `artifactType` (e.g. `application/vnd.dev.sigstore.bundle.v0.3+json`)
    pub(crate) artifact_type: String,
    /// the one layer's media type
    pub(crate) layer_media_type: String,
    /// the one layer's bytes
    pub(crate) layer: Vec<u8>,
    /// the manifest's annotations (copied into a tag-schema entry)
    pub(crate) annotations: BTreeMap<String, String>,
}

/// How a referrer was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Recorded {
    /// the registry keeps the list (referrers API)
    Api,
    /// we added the entry to the `sha256-<hex>` index
    TagSchema,
}

/// What [`attach`] did.
#[derive(Debug, Clone)]
pub(crate) struct Attached {
    /// `registry/repo@sha256:…` of the referrer manifest
    pub(crate) manifest: ImageRef,
    /// its digest
    pub(crate) digest: String,
    /// how the subject's list learned of it
    pub(crate) recorded: Recorded,
    /// for [`Recorded::TagSchema`]: entries in the index afterwards
    pub(crate) index_entries: Option<usize>,
}

/// The manifest bytes for `artifact` (blobs at `layer_digest`) referring to `subject`.
fn manifest_bytes(artifact: &Artifact, layer_digest: &str, subject: &ManifestHead) -> Vec<u8> {
    let mut v = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact.artifact_type,
        "config": {
            "mediaType": OCI_EMPTY,
            "size": OCI_EMPTY_BLOB.len(),
            "digest": super::sha256_digest(OCI_EMPTY_BLOB),
        },
        "layers": [{
            "mediaType": artifact.layer_media_type,
            "size": artifact.layer.len(),
            "digest": layer_digest,
        }],
        "subject": {
            "mediaType": subject.media_type,
            "size": subject.size,
            "digest": subject.digest,
        },
    });
    if !artifact.annotations.is_empty() {
        v["annotations"] = serde_json::json!(artifact.annotations);
    }
    // serde_json::Value serialises infallibly
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Attaches `artifact` to the image `subject` (its descriptor, from [`Registry::head_manifest`]) in
/// `image`'s repository: [`prepare`], then [`commit`]; see the module documentation.
pub(crate) async fn attach(
    registry: &Registry,
    image: &ImageRef,
    subject: &ManifestHead,
    artifact: &Artifact,
) -> Result<Attached, OciError> {
    let prepared = prepare(registry, image, subject).await?;
    commit(registry, image, subject, prepared, artifact).await
}

/// What [`prepare`] did before the artifact existed.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// the upload of the artifact's layer, opened
    upload: Upload,
    /// whether the registry keeps the referrers lists (its API answered)
    api: bool,
    /// without the API: the first read of the tag-schema index
    index: Option<rmw::Read<Index>>,
}

/// The part of attaching an artifact to `subject` that needs no artifact, so that it runs while the
/// signature is made: side by side, the empty config's upload (none when this run put it in the
/// repository already; a mount from another repository of the registry where it did), the opening of
/// the layer's upload ([`Registry::open_upload`]), and what the referrers list needs: nothing when the
/// registry's API answered earlier in the run; else the API probe (once per registry and run,
/// remembered either way), and without the API the first read of the `sha256-<hex>` index.
pub(crate) async fn prepare(
    registry: &Registry,
    image: &ImageRef,
    subject: &ManifestHead,
) -> Result<Prepared, OciError> {
    let lists = async {
        let api = if let Some(known) = registry.referrers_api(image.registry()) {
            known
        } else {
            let has = probe(registry, image, &subject.digest, None)
                .await?
                .is_some();
            registry.note_referrers_api(image.registry(), has);
            has
        };
        let index = if api {
            None
        } else {
            let tag = tag_schema_ref(image, &subject.digest);
            Some(rmw::Read::<Index>::now(registry, &tag).await?)
        };
        Ok::<_, OciError>((api, index))
    };
    let (config, upload, lists) = tokio::join!(
        registry.push_blob(image, OCI_EMPTY_BLOB),
        registry.open_upload(image),
        lists
    );
    config?;
    let (api, index) = lists?;
    Ok(Prepared {
        upload: upload?,
        api,
        index,
    })
}

/// Attaches `artifact` to `subject` after [`prepare`]: its layer through the opened upload, the
/// manifest `PUT` by digest (without the API, side by side with the confirming read of the
/// `sha256-<hex>` index, which is the base of the index's write), then without the API the index
/// update of [`super::rmw`]. Requests for a first bundle on a registry without the API: `PUT` of the
/// layer, `PUT` of the manifest beside the `GET` of the index (404), `PUT` of the index, and after
/// the settling window one `GET`: 5 in 3 round trips plus the window; with the API: 2.
pub(crate) async fn commit(
    registry: &Registry,
    image: &ImageRef,
    subject: &ManifestHead,
    prepared: Prepared,
    artifact: &Artifact,
) -> Result<Attached, OciError> {
    let Prepared {
        upload,
        api,
        index: earlier,
    } = prepared;
    let subject_ref = image.with_digest(&subject.digest);
    let tag = tag_schema_ref(image, &subject.digest);
    let mut upload = Some(upload);
    let mut tries = 0;
    let (pushed, bytes, digest, at, fresh) = loop {
        tries += 1;
        let layer_digest = if let Some(opened) = upload.take() {
            registry
                .finish_upload(image, opened, &artifact.layer)
                .await?
        } else {
            let (config, layer) = tokio::join!(
                registry.push_blob(image, OCI_EMPTY_BLOB),
                registry.push_blob(image, &artifact.layer)
            );
            config?;
            layer?
        };
        let bytes = manifest_bytes(artifact, &layer_digest, subject);
        let digest = super::sha256_digest(&bytes);
        let at = image.with_digest(&digest);
        let (put, fresh) = tokio::join!(registry.put_manifest(&at, &bytes, OCI_MANIFEST), async {
            if api {
                None
            } else {
                Some(rmw::Read::<Index>::now(registry, &tag).await)
            }
        });
        match put {
            Ok(p) => break (p, bytes, digest, at, fresh),
            // A concurrent upload of the same blob had not settled: wait a little, push the blobs
            // again.
            Err(e) if e.is_blob_unknown() && tries < BLOB_UNKNOWN_TRIES => {
                tokio::time::sleep(BLOB_UNKNOWN_BACKOFF * tries).await;
            }
            Err(e) if e.is_blob_unknown() => return Err(e),
            // Any other permanent refusal of a manifest whose only novelty is `subject`.
            Err(OciError::Registry {
                registry: reg,
                status,
                message,
                ..
            }) if (400..500).contains(&status) && ![401, 403, 404, 408, 429].contains(&status) => {
                return Err(OciError::SubjectRefused {
                    registry: reg,
                    reference: subject_ref.to_string(),
                    message,
                })
            }
            Err(e) => return Err(e),
        }
    };
    let done = |recorded, index_entries| Attached {
        manifest: at.clone(),
        digest: digest.clone(),
        recorded,
        index_entries,
    };
    if api || pushed.oci_subject.as_deref() == Some(subject.digest.as_str()) {
        return Ok(done(Recorded::Api, None));
    }
    let fresh = fresh.transpose()?;
    let mut entry = Descriptor {
        media_type: OCI_MANIFEST.into(),
        size: bytes.len() as u64,
        digest: digest.clone(),
        annotations: (!artifact.annotations.is_empty()).then(|| artifact.annotations.clone()),
        extra: serde_json::Map::new(),
    };
    entry.extra.insert(
        "artifactType".into(),
        serde_json::Value::String(artifact.artifact_type.clone()),
    );
    let tag_for_build = tag.clone();
    let ours = entry.clone();
    let updated = rmw::update::<Index>(
        registry,
        &tag,
        earlier,
        fresh,
        entry,
        move |i: &Index| i.manifests.iter().any(|m| m.digest == ours.digest),
        move |current: Option<&Index>, entries: Vec<Descriptor>| {
            let extra = current.map(|c| c.extra.clone()).unwrap_or_default();
            let tag = tag_for_build.clone();
            Box::pin(async move {
                if entries.len() > MAX_REFERRERS {
                    return Err(too_many(&tag));
                }
                let index = Index {
                    schema_version: 2,
                    media_type: Some(OCI_INDEX.into()),
                    manifests: entries,
                    extra,
                };
                let bytes = serde_json::to_vec(&index).map_err(|e| OciError::Malformed {
                    what: "the new referrers index",
                    reference: tag.to_string(),
                    reason: e.to_string(),
                })?;
                Ok((bytes, OCI_INDEX.to_string()))
            })
        },
    )
    .await?;
    Ok(done(Recorded::TagSchema, Some(updated.entries)))
}

#[cfg(test)]
mod loopback;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrer_manifest_has_cosigns_shape() {
        let artifact = Artifact {
            artifact_type: "application/vnd.dev.sigstore.bundle.v0.3+json".into(),
            layer_media_type: "application/vnd.dev.sigstore.bundle.v0.3+json".into(),
            layer: b"{}".to_vec(),
            annotations: BTreeMap::from([(
                "dev.sigstore.bundle.content".into(),
                "dsse-envelope".into(),
            )]),
        };
        let subject = ManifestHead {
            media_type: OCI_MANIFEST.into(),
            size: 412,
            digest: format!("sha256:{}", "a".repeat(64)),
        };
        let v: serde_json::Value =
            serde_json::from_slice(&manifest_bytes(&artifact, "sha256:00", &subject)).unwrap();
        assert_eq!(
            v["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(v["config"]["size"], 2);
        assert_eq!(
            v["artifactType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(v["subject"]["size"], 412);
        assert_eq!(
            v["annotations"]["dev.sigstore.bundle.content"],
            "dsse-envelope"
        );
        assert_eq!(v["layers"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn escapes_filters() {
        assert_eq!(
            url_escape("application/vnd.dev.sigstore.bundle.v0.3+json"),
            "application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson"
        );
    }
}
