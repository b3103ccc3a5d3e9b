//! `sign` for container images in a registry: resolve each reference to its digest (and with
//! `recursive` an index's children), then for each digest write the layouts of the request's
//! [`SignatureFormat`], side by side and concurrently:
//! - `legacy`: the simple-signing payload, signed by the [`Signer`] (key or keyless, with a
//!   `hashedrekord` Rekor entry), as a layer of the `.sig` manifest (SPEC.md §2);
//! - `bundle`: cosign v3's in-toto statement (`https://sigstore.dev/cosign/sign/v1`, subject = the digest,
//!   the annotations on the subject), signed as a DSSE envelope (with a `dsse` Rekor v1 entry, or a
//!   `hashedrekord` v0.0.2 Rekor v2 entry over its PAE), in a Sigstore bundle v0.3 attached as an OCI 1.1
//!   referrer (docs/cosign-bundle-layout.md §1).
//!
//! With a Rekor v2 log, whose entries fit only in a bundle, `both` writes the bundle alone (warned once)
//! and `legacy` is refused by [`Signer::prepare`] before anything is signed, as cosign v3.1.3 never
//! writes the `.sig` layout when it logs to Rekor v2.
//!
//! Images are signed concurrently, at most `max_workers` at a time, and so are the children of an index
//! with `recursive` (at most `max_workers` manifests being signed at any moment in the whole run; a
//! manifest gives its slot back while it waits out a settling window before its last re-read, so the
//! next one starts meanwhile: [`crate::oci::slot`]), all
//! over the run's one registry client (one connection pool per registry) with the one key, or the one
//! token and certificate, the run prepared. Each image logs into its own captured [`Ui`], written out in
//! the input order as the images finish, so the log and the report read as if they had been signed one
//! after the other.
//!
//! A registry that refuses manifests with a `subject` (no OCI 1.1): with `both` the `.sig` is kept, the
//! run warns once and the report says which images have no bundle; with `bundle` the image fails.
//!
//! Two ways to meet a failed image: the CLI stops at the first (the error is the run's: no image starts
//! after it, the ones under way finish), the Action
//! (`keep_going`) signs each image in its own log group, reports each failure there and goes on; the
//! report then lists what was not signed. With `verify_after` (the Action's `verify: true`) each image
//! is verified right after signing, as a consumer would.

use super::signer::{SignedBy, Signer};
use super::verify_image::{self, VerifyImages};
use super::{Instance, SignWith, SignatureFormat};
use crate::error::Error;
use crate::gha::Ui;
use crate::oci::layout::{self, ANN_SIGNATURE};
use crate::oci::referrers::{self, Recorded};
use crate::oci::registry::ManifestHead;
use crate::oci::slot;
use crate::oci::{bundles, ImageRef, OciError, Registry, RegistryOptions};
use crate::signing::payload::SimpleSigning;
use crate::signing::statement::{Statement, COSIGN_SIGN_PREDICATE};
use crate::sigstore::trust::sources::TrustSettings;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many images (and `recursive` children) are signed at once unless told otherwise: the work is
/// waiting on the registry and the log, not the CPU (about 2 ms of our CPU per image), so a 2-core
/// runner keeps this many in flight; the settling windows do not count ([`crate::oci::slot`]).
///
/// Chosen by measurement (bench/RESULTS.md, session 5: 100 images at 20 ms, 8, 16, 24 and 32 workers,
/// three runs each, on go-containerregistry's registry and on Debian's docker-registry sharing the
/// runner's 2 cores), as the setting whose worst cell is least behind that cell's best: 16 is at most
/// 1.40x the best (8: 2.13x, 24: 1.46x, 32: 1.71x). More workers keep helping a registry that answers
/// fast (32: 0.83 s against 1.16 s at 16) and slow down one that is short of CPU itself.
pub(crate) const DEFAULT_MAX_WORKERS: usize = 16;
/// The largest `max_workers` accepted.
pub(crate) const MAX_MAX_WORKERS: usize = 64;

/// `sign` (images).
#[derive(Debug)]
pub(crate) struct SignImages {
    /// the images, in order
    pub(crate) images: Vec<ImageRef>,
    /// who signs
    pub(crate) sign_with: SignWith,
    /// annotations: the payload's `optional` (`.sig`), the statement subject's `annotations` (bundle)
    pub(crate) annotations: BTreeMap<String, String>,
    /// which layouts to write
    pub(crate) format: SignatureFormat,
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
    /// how many images (and children) are signed at once, 1 to [`MAX_MAX_WORKERS`]
    /// ([`DEFAULT_MAX_WORKERS`] unless given)
    pub(crate) max_workers: usize,
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
    /// the `.sig` signature, when that layout was written
    pub(crate) legacy: Option<LegacyWritten>,
    /// the Sigstore bundle referrer, when that layout was written
    pub(crate) bundle: Option<BundleWritten>,
    /// the base URL of the Rekor log its entries were recorded in (the first log), when recorded
    pub(crate) rekor_url: Option<String>,
    /// why no bundle was written although the format asked for one (`both`, and the registry refused
    /// a manifest with a `subject`)
    pub(crate) bundle_refused: Option<String>,
    /// true/false when verified after signing; `None` when not checked
    pub(crate) verified: Option<bool>,
    /// registry requests sent for this image (with `recursive`: for the image and its children, on the
    /// first entry; 0 on the others)
    pub(crate) requests: u64,
}

impl SignedManifest {
    /// The formats written, in order: `legacy`, `bundle`.
    pub(crate) fn formats(&self) -> Vec<&'static str> {
        let mut f = Vec::new();
        if self.legacy.is_some() {
            f.push("legacy");
        }
        if self.bundle.is_some() {
            f.push("bundle");
        }
        f
    }
}

/// The `.sig` signature written for one manifest.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct LegacyWritten {
    /// the `.sig` reference (`registry/repo:sha256-<hex>.sig`)
    pub(crate) signature_ref: String,
    /// false when an identical signature was already there
    pub(crate) added: bool,
    /// signature layers in the `.sig` manifest afterwards
    pub(crate) layers: usize,
    /// the Rekor log index of its `hashedrekord` entry, when it was recorded
    pub(crate) rekor_log_index: Option<u64>,
}

/// The Sigstore bundle attached to one manifest.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct BundleWritten {
    /// the referrer manifest (`registry/repo@sha256:…`)
    pub(crate) referrer: String,
    /// how the image's referrers list learned of it: the registry's API, or the tag-schema index
    pub(crate) recorded: Recorded,
    /// the Rekor log index of its `dsse` entry, when it was recorded
    pub(crate) rekor_log_index: Option<u64>,
    /// the RFC 3161 timestamps in the bundle: the TSA's URL and the time it attests (RFC 3339)
    pub(crate) timestamps: Vec<(String, String)>,
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
    /// where the trusted root came from and how old it is (`None`: none was read, a key without a log)
    pub(crate) trust: Option<(String, String)>,
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

/// Resolves `image` to its manifest's descriptor (one `HEAD`: its digest, media type and size, which
/// the bundle layout's `subject` needs too); says so when a tag was resolved. Also returns the tag.
pub(crate) async fn resolve(
    registry: &Registry,
    image: &ImageRef,
    ui: &mut Ui,
    verb: &str,
) -> Result<(ManifestHead, Option<String>), Error> {
    let Some(head) = registry.head_manifest(image).await? else {
        return Err(OciError::NotFound {
            reference: image.to_string(),
        }
        .into());
    };
    if image.digest().is_some() {
        return Ok((head, None));
    }
    let tag = image.reference().to_string();
    let digest = &head.digest;
    ui.warn(&format!(
        "{image} uses a tag, not a digest: resolved it to {digest} and {verb} that digest. \
         Pass {}@{digest} to be sure of what you {verb}.",
        image.name()
    ));
    Ok((head, Some(tag)))
}

const MAX_DEPTH: usize = 4;

/// The manifests an index lists, recursively (nested indexes included), in order: each with its parent
/// index's digest and its descriptor from the index (`None` when the entry lacks a media type or size).
async fn children(
    registry: &Registry,
    image: &ImageRef,
    digest: &str,
    depth: usize,
    out: &mut Vec<Target>,
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
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        size: Option<u64>,
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
        if out.iter().any(|t| t.digest == e.digest) {
            continue;
        }
        let head = match (e.media_type, e.size) {
            (Some(media_type), Some(size)) => Some(ManifestHead {
                media_type,
                size,
                digest: e.digest.clone(),
            }),
            _ => None,
        };
        out.push(Target {
            digest: e.digest.clone(),
            parent: Some(digest.to_string()),
            head,
        });
        Box::pin(children(registry, image, &e.digest, depth + 1, out)).await?;
    }
    Ok(())
}

/// Signs every image of the request. Errors that concern the whole run (the key, the token, the
/// certificate, the registry client) are returned; an image's own failure ends up in the report.
///
/// Two stages per image, `max_workers` images at a time, while the signer is being prepared (the key
/// decrypted, or the token and certificate fetched) beside them: stage 1 resolves the image (its
/// digest, and with `recursive` its children) and does what each manifest's layouts need before a
/// signature exists (blob uploads, the first reads: [`Prelude`]), so that neither waits for the key;
/// stage 2 waits for the signer, then signs and writes (only the requests that need the signature
/// are left: a `.sig` write and its checks, the bundle's layer, manifest and index). A run whose
/// signer cannot be prepared (a wrong password, Fulcio refusing) may thus leave blobs that nothing
/// names (a payload, a config, an opened upload) in the repository; no manifest or tag is written
/// before a signature exists, and nothing of the `.sig` layout is sent while a Rekor v2 log may still
/// rule it out ([`format_known_early`]).
pub(crate) async fn sign(req: &SignImages, ui: &mut Ui) -> Result<SignReport, Error> {
    if !req.tlog_upload {
        ui.warn("--tlog-upload=false: the signatures are not in the transparency log; verifiers must skip the log check (cosign: --insecure-ignore-tlog)");
    }
    let registry = Registry::new(req.registry.clone())?;
    for s in registry.secrets(&req.images)? {
        ui.mask(s.expose());
    }
    let workers = req.max_workers.clamp(1, MAX_MAX_WORKERS);
    let registry = &registry;
    // At most `workers` manifests are being prepared or signed at once in the whole run, children
    // included; an image waits for a slot only around each manifest, never while holding one for its
    // children. A manifest gives its slot back for its settling windows (crate::oci::slot).
    let slots = Arc::new(Semaphore::new(workers));
    let slots = &slots;
    // Every capture is made once the registry's secrets are masked; stage 1 sees no other secret.
    let captures: Vec<_> = req.images.iter().map(|_| ui.capture()).collect();
    // The signer is prepared beside the images' first stage, into a capture of its own, written out
    // before any image's log.
    let (mut prep_ui, prep_captured) = ui.capture();
    let signer_cell: OnceLock<Signer> = OnceLock::new();
    let format_cell: OnceLock<SignatureFormat> = OnceLock::new();
    let format_cell = &format_cell;
    // A capture of the signer's log after preparing: it carries every mask (the identity token).
    let masks: OnceLock<Ui> = OnceLock::new();
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let (signer_cell, masks, done_rx) = (&signer_cell, &masks, &done_rx);
    let prepare = async move {
        let prepared = Signer::prepare(
            &req.sign_with,
            &req.instance,
            req.tlog_upload,
            "the signatures, public key and image digests go to the public Rekor log",
            req.format.bundle(),
            &mut prep_ui,
        )
        .await;
        let prepared = prepared.map(|signer| {
            let _ = format_cell.set(effective_format(req.format, &signer, &mut prep_ui));
            // the only place the cell is set
            let _ = signer_cell.set(signer);
        });
        let _ = masks.set(prep_ui.capture().0);
        // Every image waiting for the signer goes on (without one, it stops).
        let _ = done_tx.send(true);
        prepared
    };
    // Without `keep_going`, the first failure stops the run: no image starts after it.
    let stopped = AtomicBool::new(false);
    // The registry's refusal of bundles is warned about once per run.
    let warned_refusal = AtomicBool::new(false);
    let shared = Shared {
        early_format: format_known_early(req),
        format: format_cell,
        signer: signer_cell,
        prepared: done_rx,
        masks,
        slots,
        warned_refusal: &warned_refusal,
    };
    let (shared, stopped) = (&shared, &stopped);
    // Each image: resolved (stage 1), then signed (stage 2: each manifest's requests that need no
    // signature run while the signer is prepared), their output in the input order. Every image waits
    // for a slot at once (the semaphore serves them in the input order): `workers` of them work, and
    // one whose manifests wait out their settling windows lets the next one start.
    let results = futures_util::stream::iter(req.images.iter().zip(captures))
        .map(|(image, (mut task_ui, captured))| async move {
            // The image's own manifest keeps this slot from stage 1 on (its children take theirs).
            let permit = slots.clone().acquire_owned().await.ok();
            if stopped.load(Ordering::SeqCst) {
                return (image, None, captured);
            }
            if req.keep_going {
                task_ui.group(&format!("Sign {image}"));
            }
            // One handle per image: it counts the image's own requests.
            let handle = registry.for_image(true);
            let targets = resolve_targets(req, &handle, image, &mut task_ui).await;
            if stopped.load(Ordering::SeqCst) {
                return (image, None, captured);
            }
            let result = match targets {
                Ok((targets, resolved_tag)) => {
                    sign_targets(
                        req,
                        shared,
                        &handle,
                        image,
                        (targets, permit),
                        resolved_tag,
                        &mut task_ui,
                    )
                    .await
                }
                Err(e) => {
                    drop(permit);
                    Err(e)
                }
            };
            // Without a signer the run fails with its error, not the images'.
            if shared.signer().await.is_none() {
                return (image, None, captured);
            }
            if let Some(m) = masks.get() {
                task_ui.adopt_masks(m);
            }
            if let Err(error) = &result {
                if req.keep_going {
                    task_ui.error(
                        &format!("{image} was not signed: {error}"),
                        error.hint().as_deref(),
                    );
                } else {
                    stopped.store(true, Ordering::SeqCst);
                }
            }
            if req.keep_going {
                task_ui.end_group();
            }
            (image, Some(result), captured)
        })
        .buffered(req.images.len().max(1));
    let mut images = Vec::new();
    let mut failed = Vec::new();
    let mut prep_written = false;
    let (prepared, ()) = tokio::join!(prepare, async {
        let mut results = results;
        // In the input order, whatever order they finish in; the signer's log first.
        while let Some((image, result, captured)) = results.next().await {
            if !prep_written {
                let _ = done_rx.clone().wait_for(|done| *done).await;
                if let Some(m) = masks.get() {
                    ui.adopt_masks(m);
                }
                ui.replay(&prep_captured);
                prep_written = true;
            }
            ui.replay(&captured);
            match result {
                None => {}
                Some(Ok(mut signed)) => images.append(&mut signed),
                Some(Err(error)) => failed.push(FailedImage {
                    image: image.to_string(),
                    error,
                }),
            }
        }
    });
    if !prep_written {
        if let Some(m) = masks.get() {
            ui.adopt_masks(m);
        }
        ui.replay(&prep_captured);
    }
    prepared?;
    let Some(signer) = signer_cell.get() else {
        // `prepared` is Ok only once the cell is set
        return Err(Error::Oci(OciError::Options(
            "the signer was not prepared".into(),
        )));
    };
    Ok(SignReport {
        signed_by: signer.signed_by(),
        trust: signer
            .trust()
            .map(|t| t.source().provenance(jiff::Timestamp::now())),
        images,
        failed,
    })
}

/// The layouts written: the request's, except that with a Rekor v2 log `both` writes the bundle alone
/// (a Rekor v2 entry fits only in a Sigstore bundle; cosign v3.1.3 writes only the bundle whenever it
/// logs to Rekor v2), said once in a warning. (`legacy` with a Rekor v2 log was refused by
/// [`Signer::prepare`], before anything was signed.)
fn effective_format(format: SignatureFormat, signer: &Signer, ui: &mut Ui) -> SignatureFormat {
    if format == SignatureFormat::Both && signer.logs_to_rekor_v2() {
        ui.warn(
            "the Rekor log is a Rekor v2 log, whose entries fit only in a Sigstore bundle: writing the \
             bundle layout alone, no .sig signature, as cosign v3 does (verifiers that read only .sig, \
             such as cosign before v2.6.3, will not find it; --rekor-version 1 writes both)",
        );
        return SignatureFormat::Bundle;
    }
    format
}

/// The layouts written, when the flags tell before the signer is prepared: they are the request's
/// unless a Rekor v2 log turns `both` into the bundle alone, or refuses `legacy`
/// ([`effective_format`]); a Rekor v2 log is ruled out without a log, with `--rekor-version 1`, or with
/// `--rekor-url` and no `--rekor-version 2` (a named log is v1 unless told). `None`: the signing
/// config decides, once loaded.
fn format_known_early(req: &SignImages) -> Option<SignatureFormat> {
    let no_v2 = !req.tlog_upload
        || req.instance.rekor_version == Some(1)
        || (req.instance.rekor_url.is_some() && req.instance.rekor_version != Some(2));
    (req.format == SignatureFormat::Bundle || no_v2).then_some(req.format)
}

/// What the images signed at once share: the layouts written, the signer, the run's slots, the
/// once-per-run warning.
struct Shared<'a> {
    /// the layouts written when known before the signer is prepared ([`format_known_early`])
    early_format: Option<SignatureFormat>,
    /// the layouts written ([`effective_format`]), set once the signer is prepared
    format: &'a OnceLock<SignatureFormat>,
    /// set once the signer is prepared
    signer: &'a OnceLock<Signer>,
    /// becomes true once preparing the signer ended (with or without one)
    prepared: &'a tokio::sync::watch::Receiver<bool>,
    /// a capture of the signer's log after preparing: it carries every mask (the identity token)
    masks: &'a OnceLock<Ui>,
    slots: &'a Arc<Semaphore>,
    warned_refusal: &'a AtomicBool,
}

impl Shared<'_> {
    /// Whether the `.sig` layout is written: known at once when [`format_known_early`] knew the
    /// layouts, else once the signer is prepared (so that nothing of it is uploaded for a run that
    /// writes the bundle alone, or is refused).
    async fn writes_legacy(&self) -> bool {
        if let Some(f) = self.early_format {
            return f.legacy();
        }
        self.signer().await;
        self.format.get().is_some_and(|f| f.legacy())
    }

    /// Waits until the signer is prepared: `None` when preparing it failed (the run's error).
    async fn signer(&self) -> Option<&Signer> {
        let _ = self.prepared.clone().wait_for(|done| *done).await;
        self.signer.get()
    }

    /// Waits for the signer, and makes `ui` redact what preparing it masked.
    async fn signer_for(&self, ui: &mut Ui) -> Result<&Signer, Error> {
        let signer = self.signer().await;
        if let Some(m) = self.masks.get() {
            ui.adopt_masks(m);
        }
        signer.ok_or_else(|| Error::Oci(OciError::Options("the signer was not prepared".into())))
    }
}

/// One manifest to sign.
#[derive(Debug)]
struct Target {
    /// its digest
    digest: String,
    /// for `recursive`: the digest of the index listing it (`None` for the image itself)
    parent: Option<String>,
    /// its descriptor when known already (the image's `HEAD`, an index entry)
    head: Option<ManifestHead>,
}

/// The manifests to sign for one image: its own (resolving a tag), and with `recursive` the manifests
/// its index lists; and the tag that was resolved, if any.
type Targets = (Vec<Target>, Option<String>);

/// Stage 1 for one image: what to sign ([`Targets`]).
async fn resolve_targets(
    req: &SignImages,
    registry: &Registry,
    image: &ImageRef,
    ui: &mut Ui,
) -> Result<Targets, Error> {
    if let Some(notice) = registry.withheld_notice(image) {
        ui.info(&notice);
    }
    let (head, resolved_tag) = resolve(registry, image, ui, "sign").await?;
    let digest = head.digest.clone();
    let mut targets = vec![Target {
        digest: digest.clone(),
        parent: None,
        head: Some(head),
    }];
    if req.recursive {
        children(registry, image, &digest, 0, &mut targets).await?;
    }
    Ok((targets, resolved_tag))
}

/// Stage 2 for one image: signs its manifests (concurrently), then verifies them when asked. The
/// first target (the image's own manifest) works in the slot the image was resolved in (`first`); the
/// others each wait for one.
async fn sign_targets(
    req: &SignImages,
    shared: &Shared<'_>,
    registry: &Registry,
    image: &ImageRef,
    (targets, first): (Vec<Target>, Option<OwnedSemaphorePermit>),
    resolved_tag: Option<String>,
    ui: &mut Ui,
) -> Result<Vec<SignedManifest>, Error> {
    let captures: Vec<_> = targets.iter().map(|_| ui.capture()).collect();
    let mut first = first;
    let mut results = futures_util::stream::iter(targets.into_iter().zip(captures))
        .map(|(target, (mut target_ui, captured))| {
            let given = first.take();
            async move {
                // The run's semaphore is never closed, so a slot always comes.
                let permit = match given {
                    Some(p) => Some(p),
                    None => shared.slots.clone().acquire_owned().await.ok(),
                };
                let work = Box::pin(sign_target(
                    req,
                    shared,
                    registry,
                    image,
                    target,
                    &mut target_ui,
                ));
                let result = slot::held(permit, work).await;
                (result, captured)
            }
        })
        .buffered(req.max_workers.clamp(1, MAX_MAX_WORKERS));
    let mut signed = Vec::new();
    while let Some((result, captured)) = results.next().await {
        ui.replay(&captured);
        let mut s = result?;
        if s.parent.is_none() {
            s.resolved_tag.clone_from(&resolved_tag);
        }
        signed.push(s);
    }
    drop(results);
    // Every target was signed: the signer is there.
    let signer = shared.signer_for(ui).await?;
    // One log for every layout and manifest of the image: the signer's (none without the log).
    let rekor_url = signer.log_url().map(str::to_string);
    for s in &mut signed {
        s.rekor_url.clone_from(&rekor_url);
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

/// Signs one manifest of an image (the image itself, or with `parent` a child of its index) in the
/// layouts of the request's format, side by side.
async fn sign_target(
    req: &SignImages,
    shared: &Shared<'_>,
    registry: &Registry,
    image: &ImageRef,
    target: Target,
    ui: &mut Ui,
) -> Result<SignedManifest, Error> {
    let Target {
        digest: target,
        parent,
        head,
    } = target;
    let at = image.with_digest(&target);
    let (legacy, bundle) = tokio::join!(
        async {
            if shared.writes_legacy().await {
                write_legacy(req, shared, registry, image, &target)
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        },
        async {
            if req.format.bundle() {
                write_bundle(req, shared, registry, image, &target, head.as_ref())
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        }
    );
    // Preparing the signer may have masked a secret (the identity token): this log redacts it too.
    if let Some(m) = shared.masks.get() {
        ui.adopt_masks(m);
    }
    let legacy = legacy?;
    if let Some(l) = &legacy {
        if let Some(i) = l.rekor_log_index {
            ui.info(&format!("tlog entry created with index: {i}"));
        }
        if l.added {
            ui.info(&format!("Pushing signature to: {}", l.signature_ref));
        } else {
            ui.info(&format!(
                "{at} already has this signature in {}: nothing to add",
                l.signature_ref
            ));
        }
    }
    let (bundle, bundle_refused) = match bundle {
        Ok(b) => (b, None),
        Err(Error::Oci(OciError::SubjectRefused { message, .. }))
            if shared.format.get() == Some(&SignatureFormat::Both) =>
        {
            if !shared.warned_refusal.swap(true, Ordering::SeqCst) {
                ui.warn(&format!(
                    "{} refused the Sigstore bundle (a manifest with a `subject`, OCI 1.1): {message}. \
                     The `.sig` signatures are written; cosign v3 and v2.6.3+ read them as long as no \
                     one attaches a bundle to the image",
                    image.registry()
                ));
            }
            (None, Some(message))
        }
        Err(e) => return Err(e),
    };
    if let Some(b) = &bundle {
        if let Some(i) = b.rekor_log_index {
            ui.info(&format!("tlog entry created with index: {i} (dsse)"));
        }
        for (url, time) in &b.timestamps {
            ui.info(&format!("timestamp from {url}: {time} (bundle)"));
        }
        ui.info(&format!(
            "Attaching Sigstore bundle to {at}: {}{}",
            b.referrer,
            match b.recorded {
                Recorded::Api => "",
                Recorded::TagSchema => " (listed in the referrers tag schema index)",
            }
        ));
    }
    Ok(SignedManifest {
        reference: image.to_string(),
        repository: image.name(),
        image: at.to_string(),
        digest: target.clone(),
        resolved_tag: None,
        parent: parent.map(|p| image.with_digest(&p).to_string()),
        legacy,
        bundle,
        bundle_refused,
        // set by sign_targets, once for the image
        rekor_url: None,
        verified: None,
        requests: 0,
    })
}

/// Signs `target` in the `.sig` layout: what needs no signature ([`layout::prepare`]: the payload
/// and config uploads, the first read) side by side with signing the payload (once the signer is
/// prepared), then the write ([`layout::commit`]).
async fn write_legacy(
    req: &SignImages,
    shared: &Shared<'_>,
    registry: &Registry,
    image: &ImageRef,
    target: &str,
) -> Result<LegacyWritten, Error> {
    let payload = SimpleSigning::new(&image.payload_name(), target, &req.annotations).to_bytes();
    let (prepared, signed) =
        tokio::join!(layout::prepare(registry, image, target, &payload), async {
            let signer = shared.signer().await.ok_or_else(|| {
                Error::Oci(OciError::Options("the signer was not prepared".into()))
            })?;
            let layer = signer.sign_layer(&payload).await?;
            Ok::<_, Error>((signer, layer))
        });
    let (signer, layer) = signed?;
    let prepared = prepared?;
    let rekor_log_index = layer.bundle.as_deref().and_then(bundle_log_index);
    let key = signer.public_key().cloned();
    let hash = signer.digest_alg();
    let payload_for_check = payload.clone();
    // With a key, a valid signature of ours over the same payload counts as already signed; a
    // keyless signer has a fresh key each run, so only a byte-identical layer does.
    let is_duplicate = move |ann: &BTreeMap<String, String>| -> bool {
        let (Some(key), Some(sig)) = (&key, ann.get(ANN_SIGNATURE)) else {
            return false;
        };
        B64.decode(sig)
            .is_ok_and(|der| key.verify_with(hash, &payload_for_check, &der).is_ok())
    };
    let attached = layout::commit(
        registry,
        image,
        prepared,
        &layer,
        &is_duplicate,
        req.docker_media_types,
    )
    .await?;
    Ok(LegacyWritten {
        signature_ref: attached.signature_ref.to_string(),
        added: attached.added,
        layers: attached.layers,
        rekor_log_index,
    })
}

/// Signs `target` in the bundle layout: what needs no signature ([`referrers::prepare`]) side by side
/// with signing the statement into a DSSE bundle (once the signer is prepared), then the referrer
/// ([`referrers::commit`]). `head`: the target's descriptor when known (else one `HEAD` asks for it).
async fn write_bundle(
    req: &SignImages,
    shared: &Shared<'_>,
    registry: &Registry,
    image: &ImageRef,
    target: &str,
    head: Option<&ManifestHead>,
) -> Result<BundleWritten, Error> {
    let at = image.with_digest(target);
    let statement = Statement::image_signature(&image.name(), target, &req.annotations);
    let hex = target.strip_prefix("sha256:").unwrap_or(target);
    let mut subject_digest = [0u8; 32];
    hex::decode_to_slice(hex, &mut subject_digest).map_err(|_| OciError::Malformed {
        what: "the image digest",
        reference: at.to_string(),
        reason: "not a sha256 digest".into(),
    })?;
    let (prepared, signed) = tokio::join!(
        async {
            let subject = match head {
                Some(h) => h.clone(),
                None => registry
                    .head_manifest(&at)
                    .await?
                    .ok_or_else(|| OciError::NotFound {
                        reference: at.to_string(),
                    })?,
            };
            let prepared = referrers::prepare(registry, image, &subject).await?;
            Ok::<_, OciError>((subject, prepared))
        },
        async {
            let signer = shared.signer().await.ok_or_else(|| {
                Error::Oci(OciError::Options("the signer was not prepared".into()))
            })?;
            signer
                .sign_statement(&statement.to_bytes(), &subject_digest)
                .await
        }
    );
    let signed = signed?;
    let (subject, prepared) = prepared?;
    let artifact = bundles::artifact(signed.json, COSIGN_SIGN_PREDICATE);
    let attached = referrers::commit(registry, image, &subject, prepared, &artifact).await?;
    Ok(BundleWritten {
        referrer: attached.manifest.to_string(),
        recorded: attached.recorded,
        rekor_log_index: signed.rekor_log_index,
        timestamps: signed
            .timestamps
            .iter()
            .map(|t| (t.url.clone(), t.time.to_string()))
            .collect(),
    })
}

/// `verify_after`: verifies every manifest just signed, with the signed annotations: with the key's
/// public key, or with this run's certificate identity and issuer — each layout written on its own, so
/// that each verifies by itself.
async fn verify_signed(
    req: &SignImages,
    signer: &Signer,
    signed: &[SignedManifest],
    ui: &mut Ui,
) -> Result<(), Error> {
    // The trusted root this run signed with, not a second TUF refresh.
    let trust = match signer.trust() {
        Some(root) => TrustSettings::loaded(root.clone()),
        None => req.instance.trust.clone(),
    };
    for format in [SignatureFormat::Legacy, SignatureFormat::Bundle] {
        let images = signed
            .iter()
            .filter(|s| match format {
                SignatureFormat::Legacy => s.legacy.is_some(),
                _ => s.bundle.is_some(),
            })
            .map(|s| {
                s.image
                    .parse::<ImageRef>()
                    .map_err(|e| Error::Oci(OciError::Reference(e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if images.is_empty() {
            continue;
        }
        let check = VerifyImages {
            images,
            verify_with: signer.as_verifier(),
            trust: trust.clone(),
            annotations: req.annotations.clone(),
            ignore_tlog: !req.tlog_upload,
            format,
            // our own signatures: the digest this key signs with
            digest_alg: signer.digest_alg(),
            registry: req.registry.clone(),
        };
        verify_image::verify(&check, ui).await?;
    }
    Ok(())
}
