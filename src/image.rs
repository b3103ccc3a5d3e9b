//! `sign` and `verify` for container images in a registry (cosign's `.sig` layout), and `upload blob`.
//!
//! Signing takes an [`ImageSigner`]: given the payload bytes it returns the signature layer (base64
//! signature, and for keyless signing the certificate, chain and Rekor bundle). [`KeySigner`] signs with a
//! cosign key; a keyless signer plugs in the same way. Both entry points return a structured report (for
//! the Action's outputs and job summary) and write only through [`Ui`].

use crate::config::{SignImages, SignerSpec, UploadBlob, VerifyImages, VerifySigner};
use crate::error::Error;
use crate::gha::Ui;
use crate::keyless::{check_private_repository, KeylessSigner, Tlog, Trust};
use crate::oci::layout::{self, SignatureLayer, ANN_BUNDLE, ANN_SIGNATURE};
use crate::oci::{sha256_digest, ImageRef, OciError, Registry, OCI_CONFIG, OCI_MANIFEST};
use crate::signing::payload::{to_json_array, SimpleSigning};
use crate::signing::{PrivateKey, PublicKey};
use crate::trust::TrustRoot;
use crate::verify;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::Digest;
use std::collections::BTreeMap;
use std::future::Future;

/// Signs image payloads. Implemented by [`KeySigner`]; the keyless (Fulcio + Rekor) signer implements it too.
pub trait ImageSigner: Sync {
    /// Signs one payload and returns the contents of its signature layer.
    fn sign(&self, payload: &[u8]) -> impl Future<Output = Result<SignatureLayer, Error>> + Send;

    /// The key whose valid signature over the same payload counts as "already signed" (duplicate
    /// detection); `None` when only a byte-identical layer counts.
    fn public_key(&self) -> Option<&PublicKey>;

    /// How logs and the job summary name the signer (e.g. `key sha256:…`).
    fn describe(&self) -> String;
}

/// Signs with a private key (cosign key file); records each signature in Rekor when given a log.
#[derive(Debug)]
pub struct KeySigner {
    key: PrivateKey,
    public: PublicKey,
    tlog: Option<Tlog>,
}

impl KeySigner {
    /// Wraps a loaded key (no transparency log).
    pub fn new(key: PrivateKey) -> Self {
        let public = key.public_key();
        KeySigner {
            key,
            public,
            tlog: None,
        }
    }

    /// Also records each signature in this log (cosign's default).
    pub fn with_tlog(mut self, tlog: Tlog) -> Self {
        self.tlog = Some(tlog);
        self
    }
}

/// Records `signature` over `payload` in `tlog` (if any) and puts cosign's bundle annotation on the layer.
async fn log_layer(
    tlog: Option<&Tlog>,
    mut layer: SignatureLayer,
    signature: &[u8],
    verifier_pem: &str,
) -> Result<SignatureLayer, Error> {
    if let Some(tlog) = tlog {
        let digest: [u8; 32] = sha2::Sha256::digest(&layer.payload).into();
        let entry = tlog.record(&digest, signature, verifier_pem).await?;
        layer.bundle = Some(entry.cosign_bundle_annotation());
    }
    Ok(layer)
}

impl ImageSigner for KeySigner {
    fn sign(&self, payload: &[u8]) -> impl Future<Output = Result<SignatureLayer, Error>> + Send {
        let sig = self.key.sign(payload);
        let layer = SignatureLayer::new(payload.to_vec(), B64.encode(&sig));
        let pem = self.public.to_pem();
        async move { log_layer(self.tlog.as_ref(), layer, &sig, &pem).await }
    }

    fn public_key(&self) -> Option<&PublicKey> {
        Some(&self.public)
    }

    fn describe(&self) -> String {
        format!("key sha256:{}", self.public.fingerprint())
    }
}

/// Signs keylessly: one ephemeral key and Fulcio certificate for the whole run; each layer carries the
/// certificate and chain, and the Rekor bundle when a log is given.
#[derive(Debug)]
pub struct KeylessImageSigner {
    signer: KeylessSigner,
    tlog: Option<Tlog>,
}

impl KeylessImageSigner {
    /// Wraps a signer that holds its certificate.
    pub fn new(signer: KeylessSigner, tlog: Option<Tlog>) -> Self {
        KeylessImageSigner { signer, tlog }
    }
}

impl ImageSigner for KeylessImageSigner {
    fn sign(&self, payload: &[u8]) -> impl Future<Output = Result<SignatureLayer, Error>> + Send {
        let sig = self.signer.sign(payload);
        let cert = self.signer.certificate();
        let mut layer = SignatureLayer::new(payload.to_vec(), B64.encode(&sig));
        layer.certificate = Some(cert.leaf_pem.clone());
        layer.chain = Some(cert.chain_pem.clone());
        async move { log_layer(self.tlog.as_ref(), layer, &sig, &cert.leaf_pem).await }
    }

    fn public_key(&self) -> Option<&PublicKey> {
        // A fresh key each run: only a byte-identical layer is a duplicate.
        None
    }

    fn describe(&self) -> String {
        let cert = self.signer.certificate();
        format!("keyless {} (issuer {})", cert.identity, cert.issuer)
    }
}

/// One manifest signed by `sign`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignedImage {
    /// the reference as given on the command line or in the inputs
    pub reference: String,
    /// `registry/repository@sha256:…` of the signed manifest
    pub image: String,
    /// the signed digest
    pub digest: String,
    /// the tag that was resolved to the digest, when the reference had no digest
    pub resolved_tag: Option<String>,
    /// for `--recursive`: the index this manifest belongs to (`None` for the reference itself)
    pub parent: Option<String>,
    /// the `.sig` reference written
    pub signature_ref: String,
    /// false when an identical signature was already there
    pub added: bool,
    /// signature layers in the `.sig` manifest afterwards
    pub layers: usize,
    /// the Rekor log index of the signature, when it was recorded
    pub rekor_log_index: Option<u64>,
}

/// The log index in cosign's bundle annotation.
fn bundle_log_index(bundle: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(bundle).ok()?;
    v["Payload"]["logIndex"].as_u64()
}

/// What `sign` did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SignReport {
    /// how the signer is described (`key sha256:…`, or the keyless identity)
    pub signer: String,
    /// every manifest signed, in order
    pub images: Vec<SignedImage>,
}

/// One image verified by `verify`.
#[derive(Debug, Clone)]
pub struct VerifiedImage {
    /// the reference as given
    pub reference: String,
    /// `registry/repository@sha256:…`
    pub image: String,
    /// the verified payloads
    pub payloads: Vec<SimpleSigning>,
}

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// one entry per image given
    pub images: Vec<VerifiedImage>,
}

/// Resolves `image` to a digest; says so when a tag was resolved.
async fn resolve(
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

/// `sign` with the signer the request names.
pub async fn sign(req: &SignImages, ui: &mut Ui) -> Result<SignReport, Error> {
    prepare(req, ui).await?.sign(req, ui).await
}

/// A signer made ready once per run (for keyless: the token, the ephemeral key and its one Fulcio
/// certificate), then used for any number of requests with the same signer spec (the Action signs
/// image by image with it).
#[derive(Debug)]
#[non_exhaustive]
pub enum PreparedSigner {
    /// A cosign key, with the Rekor log when uploading.
    Key(KeySigner),
    /// An ephemeral key and its Fulcio certificate.
    Keyless(KeylessImageSigner),
}

impl PreparedSigner {
    /// Signs every image of `req`.
    pub async fn sign(&self, req: &SignImages, ui: &mut Ui) -> Result<SignReport, Error> {
        match self {
            PreparedSigner::Key(s) => sign_with(req, s, ui).await,
            PreparedSigner::Keyless(s) => sign_with(req, s, ui).await,
        }
    }

    /// The public key of a key signer.
    pub fn public_key(&self) -> Option<&PublicKey> {
        match self {
            PreparedSigner::Key(s) => s.public_key(),
            PreparedSigner::Keyless(_) => None,
        }
    }

    /// The certificate's identity (SAN) and OIDC issuer of a keyless signer.
    pub fn certificate_identity(&self) -> Option<(&str, &str)> {
        match self {
            PreparedSigner::Key(_) => None,
            PreparedSigner::Keyless(s) => {
                let cert = s.signer.certificate();
                Some((cert.identity.as_str(), cert.issuer.as_str()))
            }
        }
    }
}

/// Makes the signer the request names ready: loads the key, or gets the token and certificate.
pub async fn prepare(req: &SignImages, ui: &mut Ui) -> Result<PreparedSigner, Error> {
    let keyless = matches!(req.signer, SignerSpec::Keyless(_));
    let trust = if keyless || req.tlog_upload {
        Trust::load(req.instance.trusted_root.as_deref())?
    } else {
        Trust::default()
    };
    let http = crate::keyless::http_client()?;
    let tlog = if req.tlog_upload {
        Some(Tlog::new(&http, &req.instance.rekor_url, &trust))
    } else {
        ui.warn("--tlog-upload=false: the signatures are not in the transparency log; verifiers must skip the log check (cosign: --insecure-ignore-tlog)");
        None
    };
    match &req.signer {
        SignerSpec::Key { key, password } => {
            let loaded = key
                .load_private(password)
                .map_err(|e| Error::key(format!("cannot load the private key from {key}"), e))?;
            if tlog.is_some() {
                check_private_repository(
                    req.instance.private_repository,
                    None,
                    "the signatures, public key and image digests go to the public Rekor log",
                    ui,
                )?;
            }
            let mut signer = KeySigner::new(loaded);
            if let Some(t) = tlog {
                signer = signer.with_tlog(t);
            }
            Ok(PreparedSigner::Key(signer))
        }
        SignerSpec::Keyless(token) => {
            let signer = KeylessSigner::obtain(token, &req.instance, &trust, &http, ui).await?;
            Ok(PreparedSigner::Keyless(KeylessImageSigner::new(
                signer, tlog,
            )))
        }
    }
}

/// Signs every image of the request with `signer`, adding one signature layer per manifest.
pub async fn sign_with<S: ImageSigner>(
    req: &SignImages,
    signer: &S,
    ui: &mut Ui,
) -> Result<SignReport, Error> {
    let registry = Registry::new(req.registry.clone())?;
    for s in registry.secrets(&req.images)? {
        ui.mask(s.expose());
    }
    let mut report = SignReport {
        signer: signer.describe(),
        images: Vec::new(),
    };
    for image in &req.images {
        let (digest, resolved_tag) = resolve(&registry, image, ui, "sign").await?;
        let mut targets = vec![(digest.clone(), None)];
        if req.recursive {
            let mut kids = Vec::new();
            children(&registry, image, &digest, 0, &mut kids).await?;
            targets.extend(kids.into_iter().map(|(d, p)| (d, Some(p))));
        }
        for (target, parent) in targets {
            let payload =
                SimpleSigning::new(&image.payload_name(), &target, &req.annotations).to_bytes();
            let layer = signer.sign(&payload).await?;
            let rekor_log_index = layer.bundle.as_deref().and_then(bundle_log_index);
            if let Some(i) = rekor_log_index {
                ui.info(&format!("tlog entry created with index: {i}"));
            }
            let key = signer.public_key().cloned();
            let payload_for_check = payload.clone();
            let is_duplicate = move |ann: &BTreeMap<String, String>| -> bool {
                let (Some(key), Some(sig)) = (&key, ann.get(ANN_SIGNATURE)) else {
                    return false;
                };
                B64.decode(sig)
                    .is_ok_and(|der| key.verify(&payload_for_check, &der).is_ok())
            };
            let attached = layout::attach(&registry, image, &target, &layer, &is_duplicate).await?;
            let at = image.with_digest(&target);
            if attached.added {
                ui.info(&format!("Pushing signature to: {}", attached.signature_ref));
            } else {
                ui.info(&format!(
                    "{at} already has this signature in {}: nothing to add",
                    attached.signature_ref
                ));
            }
            ui.data(&at.to_string());
            report.images.push(SignedImage {
                reference: image.to_string(),
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
            });
        }
    }
    Ok(report)
}

/// Why one signature layer did not count.
fn rejection(
    key: &PublicKey,
    digest: &str,
    wanted: &BTreeMap<String, String>,
    payload: &[u8],
    ann: &BTreeMap<String, String>,
) -> Result<SimpleSigning, &'static str> {
    let Some(sig) = ann.get(ANN_SIGNATURE) else {
        return Err("has no signature annotation");
    };
    let der = B64
        .decode(sig)
        .map_err(|_| "has a signature that is not base64")?;
    key.verify(payload, &der)
        .map_err(|_| "does not verify with this key")?;
    payload_rejection(digest, wanted, payload)
}

/// The payload checks every accepted signature passes, whoever signed it: a cosign image payload for
/// this digest, carrying the required annotations.
fn payload_rejection(
    digest: &str,
    wanted: &BTreeMap<String, String>,
    payload: &[u8],
) -> Result<SimpleSigning, &'static str> {
    let parsed = SimpleSigning::parse(payload)
        .map_err(|_| "signs a payload that is not a cosign image payload")?;
    if parsed.manifest_digest != digest {
        return Err("is for another digest");
    }
    if !parsed.has_annotations(wanted) {
        return Err("lacks the required annotations");
    }
    Ok(parsed)
}

/// How signatures are checked in one `verify` run.
struct Checker<'a> {
    key: Option<PublicKey>,
    policy: Option<&'a verify::KeylessPolicy>,
    trusted_root: Option<&'a std::path::Path>,
    trust: Option<TrustRoot>,
    ignore_tlog: bool,
}

impl Checker<'_> {
    /// The trust material, read on first use (a key-only run without Rekor bundles never needs it).
    fn trust(&mut self) -> Result<&TrustRoot, Error> {
        if self.trust.is_none() {
            self.trust = Some(TrustRoot::load(self.trusted_root)?);
        }
        // just set above
        self.trust
            .as_ref()
            .ok_or_else(|| Error::usage("no trusted root", "pass --trusted-root"))
    }

    /// Checks one signature layer: `Ok` with the payload and what the log check established (None when
    /// there was no Rekor bundle to check), `Err` with why this layer does not count.
    fn check(
        &mut self,
        digest: &str,
        wanted: &BTreeMap<String, String>,
        payload: &[u8],
        ann: &BTreeMap<String, String>,
    ) -> Result<Result<(SimpleSigning, Option<verify::Verified>), String>, Error> {
        if let Some(policy) = self.policy {
            if !ann.contains_key(verify::cosign::ANN_CERTIFICATE) {
                return Ok(Err("has no certificate (a key signature)".into()));
            }
            if !ann.contains_key(ANN_BUNDLE) {
                return Ok(Err(
                    "has no Rekor bundle (keyless signatures need the log's signed entry timestamp)"
                        .into(),
                ));
            }
            let bundle = match verify::cosign::from_layer_annotations(ann) {
                Ok(b) => b,
                Err(e) => return Ok(Err(e.to_string())),
            };
            let trust = self.trust()?;
            let v = match verify::verify_bundle(
                trust,
                &bundle,
                verify::Artifact::Bytes(payload),
                verify::Signer::Keyless(policy),
            ) {
                Ok(v) => v,
                Err(e) => return Ok(Err(e.to_string())),
            };
            return Ok(payload_rejection(digest, wanted, payload)
                .map(|p| (p, Some(v)))
                .map_err(str::to_string));
        }
        let Some(key) = self.key.clone() else {
            return Err(Error::usage("no key loaded", "pass --key"));
        };
        let parsed = match rejection(&key, digest, wanted, payload, ann) {
            Ok(p) => p,
            Err(why) => return Ok(Err(why.to_string())),
        };
        if self.ignore_tlog || !ann.contains_key(ANN_BUNDLE) {
            return Ok(Ok((parsed, None)));
        }
        let bundle = match verify::cosign::from_layer_annotations(ann) {
            Ok(b) => b,
            Err(e) => return Ok(Err(format!("has a Rekor bundle that cannot be read: {e}"))),
        };
        let trust = self.trust()?;
        Ok(
            match verify::verify_bundle(
                trust,
                &bundle,
                verify::Artifact::Bytes(payload),
                verify::Signer::Key(&key),
            ) {
                Ok(v) => Ok((parsed, Some(v))),
                Err(e) => Err(format!("has a Rekor bundle that does not verify: {e}")),
            },
        )
    }
}

/// Verifies every image of the request: at least one signature must verify (with the key, or with a
/// Fulcio certificate for the required identity and issuer, its SCT and its Rekor bundle), name the
/// image's digest, and carry the required annotations. Rekor bundles attached to key signatures are
/// checked too (SET with the trusted log key, body against signature, key and payload). Prints the
/// verified payloads as cosign does.
pub async fn verify(req: &VerifyImages, ui: &mut Ui) -> Result<VerifyReport, Error> {
    let (key, policy, who) = match &req.signer {
        VerifySigner::Key(k) => (
            Some(
                k.load_public()
                    .map_err(|e| Error::key(format!("cannot load the public key from {k}"), e))?,
            ),
            None,
            format!("the public key {k}"),
        ),
        VerifySigner::Keyless(p) => (
            None,
            Some(p),
            format!("identity {} and issuer {}", p.identity, p.issuer),
        ),
    };
    let mut checker = Checker {
        key,
        policy,
        trusted_root: req.trusted_root.as_deref(),
        trust: None,
        ignore_tlog: req.ignore_tlog,
    };
    if policy.is_some() {
        checker.trust()?; // a bad --trusted-root fails before any registry traffic
    }
    let registry = Registry::new(req.registry.clone())?;
    for s in registry.secrets(&req.images)? {
        ui.mask(s.expose());
    }
    if req.ignore_tlog {
        ui.warn("Skipping tlog verification is an insecure practice that lacks transparency and auditability verification for the signature.");
    }
    let mut report = VerifyReport::default();
    for image in &req.images {
        let digest = match image.digest() {
            Some(d) => {
                registry.resolve_digest(image).await?;
                d.to_string()
            }
            None => registry.resolve_digest(image).await?,
        };
        let at = image.with_digest(&digest);
        let Some(manifest) = layout::read(&registry, image, &digest).await? else {
            let how = if policy.is_some() {
                ""
            } else {
                "--key cosign.key "
            };
            return Err(Error::Verification {
                reason: format!("no signatures found for {at}"),
                hint: Some(format!(
                    "sign it first (ferrosign sign {how}{at}); signatures live at {}",
                    image.signature_ref(&digest)
                )),
            });
        };
        let mut verified = Vec::new();
        let mut logged = Vec::new();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let mut unlogged = 0usize;
        for l in manifest.signature_layers() {
            let ann = l.annotations.clone().unwrap_or_default();
            let payload = registry.get_blob(image, &l.digest).await?;
            match checker.check(&digest, &req.annotations, &payload, &ann)? {
                Ok((p, v)) => {
                    match v {
                        Some(v) => logged.push(v),
                        None => unlogged += 1,
                    }
                    verified.push(p);
                }
                Err(why) => *reasons.entry(why).or_default() += 1,
            }
        }
        if verified.is_empty() {
            let checked = manifest.signature_layers().count();
            let why = reasons
                .iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect::<Vec<_>>()
                .join("; ");
            let hint = if reasons.contains_key("lacks the required annotations") {
                "check the -a key=value pairs against those given when signing".to_string()
            } else if policy.is_some() {
                "check --certificate-identity and --certificate-oidc-issuer against the signer, and \
                 --trusted-root against the Sigstore instance that signed"
                    .to_string()
            } else {
                "check that this public key belongs to the key that signed the image".to_string()
            };
            return Err(Error::Verification {
                reason: format!(
                    "no signature of {at} verifies with {who} ({checked} checked: {why})"
                ),
                hint: Some(hint),
            });
        }
        if unlogged > 0 && !req.ignore_tlog {
            ui.warn(&format!(
                "{unlogged} of these signatures carry no Rekor bundle: their transparency log entry was not checked"
            ));
        }
        ui.info(&format!("\nVerification for {image} --"));
        ui.info("The following checks were performed on each of these signatures:");
        ui.info("  - The cosign claims were validated");
        if !logged.is_empty() {
            ui.info("  - Existence of the claims in the transparency log was verified offline");
        }
        if policy.is_some() {
            ui.info("  - The code-signing certificate was verified using trusted certificate authority certificates");
        } else {
            ui.info("  - The signatures were verified against the specified public key");
        }
        for v in &logged {
            if let (Some(id), Some(iss)) = (&v.identity, &v.issuer) {
                ui.info(&format!("  identity: {id}  issuer: {iss}"));
            }
            for e in &v.log_entries {
                let log = e.log_url.as_deref().unwrap_or("transparency log");
                ui.info(&format!("  tlog: {log} log index {}", e.index));
            }
        }
        ui.data(&to_json_array(&verified));
        report.images.push(VerifiedImage {
            reference: image.to_string(),
            image: at.to_string(),
            payloads: verified,
        });
    }
    Ok(report)
}

/// The media type `upload blob` gives a file: as Go's `http.DetectContentType` would for the common cases.
fn detect_media_type(bytes: &[u8]) -> &'static str {
    let head = &bytes[..bytes.len().min(512)];
    let texty = std::str::from_utf8(head).is_ok()
        || (head.len() == 512 && std::str::from_utf8(&head[..508]).is_ok());
    if texty
        && !head
            .iter()
            .any(|b| matches!(b, 0..=8 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f))
    {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

/// `upload blob -f FILE REF`: pushes the file as a one-layer OCI artifact; prints `REF@digest`.
pub async fn upload_blob(req: &UploadBlob, ui: &mut Ui) -> Result<String, Error> {
    let data = std::fs::read(&req.file).map_err(|source| Error::Io {
        context: "cannot read",
        path: req.file.clone(),
        source,
    })?;
    let registry = Registry::new(req.registry.clone())?;
    for s in registry.secrets(std::slice::from_ref(&req.image))? {
        ui.mask(s.expose());
    }
    let media_type = req
        .content_type
        .clone()
        .unwrap_or_else(|| detect_media_type(&data).to_string());
    ui.info(&format!(
        "Uploading file from [{}] to [{}] with media type [{media_type}]",
        req.file.display(),
        req.image
    ));
    let layer_digest = registry.push_blob(&req.image, &data).await?;
    let config = layout::config_blob(std::slice::from_ref(&layer_digest));
    let config_digest = registry.push_blob(&req.image, &config).await?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": config.len(), "digest": config_digest},
        "layers": [{"mediaType": media_type, "size": data.len(), "digest": layer_digest}],
    });
    let bytes = serde_json::to_vec(&manifest).map_err(|e| OciError::Malformed {
        what: "the new manifest",
        reference: req.image.to_string(),
        reason: e.to_string(),
    })?;
    registry
        .put_manifest(&req.image, &bytes, OCI_MANIFEST)
        .await?;
    let digest = sha256_digest(&bytes);
    ui.info(&format!(
        "File [{}] is available directly at [{}/v2/{}/blobs/{layer_digest}]",
        req.file.display(),
        req.image.registry(),
        req.image.repository()
    ));
    ui.info("Uploaded image to:");
    let at = req.image.with_digest(&digest).to_string();
    ui.data(&at);
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_detection() {
        assert_eq!(detect_media_type(b"hello\n"), "text/plain");
        assert_eq!(
            detect_media_type(b"\x7fELF\x02\x01\x01\x00\x00"),
            "application/octet-stream"
        );
        assert_eq!(
            detect_media_type(&[0xff, 0xfe, 0x00]),
            "application/octet-stream"
        );
    }

    #[tokio::test]
    async fn key_signer_signs_the_payload() {
        let k = PrivateKey::generate();
        let s = KeySigner::new(k);
        let layer = s.sign(b"payload").await.unwrap();
        let der = B64.decode(&layer.signature).unwrap();
        s.public_key().unwrap().verify(b"payload", &der).unwrap();
        assert_eq!(layer.payload, b"payload");
        assert!(s.describe().starts_with("key sha256:"));
    }
}
