//! `sign` for container images in a registry (cosign's `.sig` layout): resolve each reference to its
//! digest (and with `recursive` an index's children), build the simple-signing payload, have the
//! [`Signer`] sign it (key or keyless, with the Rekor log), and attach the layer.
//!
//! Two ways to meet a failed image: the CLI stops at the first (the error is the run's), the Action
//! (`keep_going`) signs each image in its own log group, reports each failure there and goes on; the
//! report then lists what was not signed. With `verify_after` (the Action's `verify: true`) each image
//! is verified right after signing, as a consumer would.

use super::signer::{SignedBy, Signer};
use super::verify_image::{self, VerifyImages};
use super::{Instance, SignWith};
use crate::error::Error;
use crate::gha::Ui;
use crate::oci::layout::{self, ANN_SIGNATURE};
use crate::oci::{ImageRef, OciError, Registry, RegistryOptions};
use crate::signing::payload::SimpleSigning;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::collections::BTreeMap;

/// `sign` (images).
#[derive(Debug)]
pub(crate) struct SignImages {
    /// the images, in order
    pub(crate) images: Vec<ImageRef>,
    /// who signs
    pub(crate) sign_with: SignWith,
    /// annotations for the payload's `optional`
    pub(crate) annotations: BTreeMap<String, String>,
    /// also sign an index's children
    pub(crate) recursive: bool,
    /// registry access
    pub(crate) registry: RegistryOptions,
    /// the Sigstore instance (Fulcio, Rekor, trusted root, private repository policy)
    pub(crate) instance: Instance,
    /// record each signature in Rekor
    pub(crate) tlog_upload: bool,
    /// verify each image after signing it (with the signer's public key, or its certificate identity)
    pub(crate) verify_after: bool,
    /// sign every image, each in its own log group, and report failures instead of stopping at the first
    pub(crate) keep_going: bool,
    /// write new `.sig` manifests with Docker media types (`COSIGN_DOCKER_MEDIA_TYPES=1`)
    pub(crate) docker_media_types: bool,
}

/// One manifest signed.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SignedManifest {
    /// the reference as given
    pub(crate) reference: String,
    /// `registry/repository` of the signed manifest
    pub(crate) repository: String,
    /// `registry/repository@sha256:…` of the signed manifest
    pub(crate) image: String,
    /// the signed digest
    pub(crate) digest: String,
    /// the tag that was resolved to the digest, when the reference had no digest
    pub(crate) resolved_tag: Option<String>,
    /// for `recursive`: the index this manifest belongs to (`None` for the reference itself)
    pub(crate) parent: Option<String>,
    /// the `.sig` reference written
    pub(crate) signature_ref: String,
    /// false when an identical signature was already there
    pub(crate) added: bool,
    /// signature layers in the `.sig` manifest afterwards
    pub(crate) layers: usize,
    /// the Rekor log index of the signature, when it was recorded
    pub(crate) rekor_log_index: Option<u64>,
    /// true/false when verified after signing; `None` when not checked
    pub(crate) verified: Option<bool>,
    /// registry requests sent for this image (with `recursive`: for the image and its children, on the
    /// first entry; 0 on the others)
    pub(crate) requests: u64,
}

/// An image that was not signed.
#[derive(Debug)]
pub(crate) struct FailedImage {
    /// the image as given
    pub(crate) image: String,
    /// why (already shown to the user when the request kept going)
    pub(crate) error: Error,
}

/// What `sign` did.
#[derive(Debug)]
pub(crate) struct SignReport {
    /// who signed
    pub(crate) signed_by: SignedBy,
    /// every manifest signed, in order
    pub(crate) images: Vec<SignedManifest>,
    /// the images that were not signed (at most one when the request stops at the first failure)
    pub(crate) failed: Vec<FailedImage>,
}

/// The log index in cosign's bundle annotation.
fn bundle_log_index(bundle: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(bundle).ok()?;
    v["Payload"]["logIndex"].as_u64()
}

/// Resolves `image` to a digest; says so when a tag was resolved.
pub(crate) async fn resolve(
    registry: &Registry,
    image: &ImageRef,
    ui: &mut Ui,
    verb: &str,
) -> Result<(String, Option<String>), Error> {
    let digest = registry.resolve_digest(image).await?;
    if let Some(d) = image.digest() {
        return Ok((d.to_string(), None));
    }
    let tag = image.reference().to_string();
    ui.warn(&format!(
        "{image} uses a tag, not a digest: resolved it to {digest} and {verb} that digest. \
         Pass {}@{digest} to be sure of what you {verb}.",
        image.name()
    ));
    Ok((digest, Some(tag)))
}

const MAX_DEPTH: usize = 4;

/// The digests of an index's children, recursively (nested indexes included), in order.
async fn children(
    registry: &Registry,
    image: &ImageRef,
    digest: &str,
    depth: usize,
    out: &mut Vec<(String, String)>,
) -> Result<(), Error> {
    let at = image.with_digest(digest);
    let Some(m) = registry.get_manifest(&at).await? else {
        return Err(OciError::NotFound {
            reference: at.to_string(),
        }
        .into());
    };
    if !m.is_index() {
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Err(OciError::Malformed {
            what: "the image index",
            reference: at.to_string(),
            reason: format!("indexes nested more than {MAX_DEPTH} deep"),
        }
        .into());
    }
    #[derive(serde::Deserialize)]
    struct Index {
        manifests: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        digest: String,
    }
    let index: Index = serde_json::from_slice(&m.bytes).map_err(|e| OciError::Malformed {
        what: "the image index",
        reference: at.to_string(),
        reason: e.to_string(),
    })?;
    for e in index.manifests {
        if format!("localhost/x@{}", e.digest)
            .parse::<ImageRef>()
            .is_err()
        {
            return Err(OciError::Malformed {
                what: "the image index",
                reference: at.to_string(),
                reason: format!("child digest `{}` is not valid", e.digest),
            }
            .into());
        }
        if out.iter().any(|(d, _)| d == &e.digest) {
            continue;
        }
        out.push((e.digest.clone(), digest.to_string()));
        Box::pin(children(registry, image, &e.digest, depth + 1, out)).await?;
    }
    Ok(())
}

/// Signs every image of the request. Errors that concern the whole run (the key, the token, the
/// certificate, the registry client) are returned; an image's own failure ends up in the report.
pub(crate) async fn sign(req: &SignImages, ui: &mut Ui) -> Result<SignReport, Error> {
    if !req.tlog_upload {
        ui.warn("--tlog-upload=false: the signatures are not in the transparency log; verifiers must skip the log check (cosign: --insecure-ignore-tlog)");
    }
    let signer = Signer::prepare(
        &req.sign_with,
        &req.instance,
        req.tlog_upload,
        "the signatures, public key and image digests go to the public Rekor log",
        ui,
    )
    .await?;
    let registry = Registry::new(req.registry.clone())?;
    for s in registry.secrets(&req.images)? {
        ui.mask(s.expose());
    }
    let mut report = SignReport {
        signed_by: signer.signed_by(),
        images: Vec::new(),
        failed: Vec::new(),
    };
    for image in &req.images {
        if req.keep_going {
            ui.group(&format!("Sign {image}"));
        }
        let handle = registry.for_image(true);
        let result = sign_one(req, &signer, &handle, image, ui).await;
        match result {
            Ok(mut signed) => report.images.append(&mut signed),
            Err(error) => {
                if req.keep_going {
                    ui.error(
                        &format!("{image} was not signed: {error}"),
                        error.hint().as_deref(),
                    );
                }
                report.failed.push(FailedImage {
                    image: image.to_string(),
                    error,
                });
            }
        }
        if req.keep_going {
            ui.end_group();
        } else if !report.failed.is_empty() {
            break;
        }
    }
    Ok(report)
}

/// Signs one image (and with `recursive` its children), then verifies it when asked.
async fn sign_one(
    req: &SignImages,
    signer: &Signer,
    registry: &Registry,
    image: &ImageRef,
    ui: &mut Ui,
) -> Result<Vec<SignedManifest>, Error> {
    if let Some(notice) = registry.withheld_notice(image) {
        ui.info(&notice);
    }
    let (digest, resolved_tag) = resolve(registry, image, ui, "sign").await?;
    let mut targets = vec![(digest.clone(), None)];
    if req.recursive {
        let mut kids = Vec::new();
        children(registry, image, &digest, 0, &mut kids).await?;
        targets.extend(kids.into_iter().map(|(d, p)| (d, Some(p))));
    }
    let mut signed = Vec::new();
    for (target, parent) in targets {
        let payload =
            SimpleSigning::new(&image.payload_name(), &target, &req.annotations).to_bytes();
        let layer = signer.sign_layer(&payload).await?;
        let rekor_log_index = layer.bundle.as_deref().and_then(bundle_log_index);
        if let Some(i) = rekor_log_index {
            ui.info(&format!("tlog entry created with index: {i}"));
        }
        let key = signer.public_key().cloned();
        let payload_for_check = payload.clone();
        // With a key, a valid signature of ours over the same payload counts as already signed; a
        // keyless signer has a fresh key each run, so only a byte-identical layer does.
        let is_duplicate = move |ann: &BTreeMap<String, String>| -> bool {
            let (Some(key), Some(sig)) = (&key, ann.get(ANN_SIGNATURE)) else {
                return false;
            };
            B64.decode(sig)
                .is_ok_and(|der| key.verify(&payload_for_check, &der).is_ok())
        };
        let attached = layout::attach(
            registry,
            image,
            &target,
            &layer,
            &is_duplicate,
            req.docker_media_types,
        )
        .await?;
        let at = image.with_digest(&target);
        if attached.added {
            ui.info(&format!("Pushing signature to: {}", attached.signature_ref));
        } else {
            ui.info(&format!(
                "{at} already has this signature in {}: nothing to add",
                attached.signature_ref
            ));
        }
        signed.push(SignedManifest {
            reference: image.to_string(),
            repository: image.name(),
            image: at.to_string(),
            digest: target.clone(),
            resolved_tag: if parent.is_none() {
                resolved_tag.clone()
            } else {
                None
            },
            parent: parent.map(|p| image.with_digest(&p).to_string()),
            signature_ref: attached.signature_ref.to_string(),
            added: attached.added,
            layers: attached.layers,
            rekor_log_index,
            verified: None,
            requests: 0,
        });
    }
    if let Some(first) = signed.first_mut() {
        first.requests = registry.requests();
    }
    if req.verify_after {
        let result = verify_signed(req, signer, &signed, ui).await;
        for s in &mut signed {
            s.verified = Some(result.is_ok());
        }
        result?;
    }
    Ok(signed)
}

/// `verify_after`: verifies every manifest just signed, with the signed annotations: with the key's
/// public key, or with this run's certificate identity and issuer.
async fn verify_signed(
    req: &SignImages,
    signer: &Signer,
    signed: &[SignedManifest],
    ui: &mut Ui,
) -> Result<(), Error> {
    let verify_with = signer.as_verifier();
    let images = signed
        .iter()
        .map(|s| {
            s.image
                .parse::<ImageRef>()
                .map_err(|e| Error::Oci(OciError::Reference(e)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let check = VerifyImages {
        images,
        verify_with,
        trusted_root: req.instance.trusted_root.clone(),
        annotations: req.annotations.clone(),
        ignore_tlog: !req.tlog_upload,
        registry: req.registry.clone(),
    };
    verify_image::verify(&check, ui).await.map(|_| ())
}
