//! `verify` for container images: at least one signature of each image must verify (with the key, or
//! with a Fulcio certificate for the required identity and issuer, its SCT and its log entry), name the
//! image's digest, and carry the required annotations. Signatures are looked for in both of cosign's
//! layouts (the request's [`SignatureFormat`] may restrict it), read concurrently:
//! - the `.sig` manifest: simple-signing payloads; Rekor bundles attached to key signatures are checked
//!   too (SET with the trusted log key, body against signature, key and payload);
//! - Sigstore bundles attached as OCI 1.1 referrers ([`crate::oci::bundles`]): a bundle counts only when
//!   it holds a DSSE in-toto statement with cosign's sign predicate type naming THIS image's digest —
//!   attestations (SLSA provenance, SBOMs) and bundles for other digests never count, unlike in cosign
//!   (docs/cosign-bundle-layout.md §2.3); then sigstore-verify checks it (the signature over the PAE, the
//!   certificate or key, the `dsse` log entry) with the image digest as the artifact.
//!
//! When signatures were found and none verified, the error says how many of each kind were found and
//! why each failed. The report holds the verified payloads; the front-end prints them as cosign does
//! (for a bundle, cosign v3's shape: the reference with its digest, the predicate type, the subject's
//! annotations).

use super::{SignatureFormat, VerifyWith};
use crate::error::Error;
use crate::gha::Ui;
use crate::oci::layout::{self, ANN_BUNDLE, ANN_SIGNATURE};
use crate::oci::{bundles, ImageRef, OciError, Registry, RegistryOptions};
use crate::signing::payload::SimpleSigning;
use crate::signing::statement::Statement;
use crate::signing::{Algorithm, HashAlg, PublicKey};
use crate::sigstore::trust::sources::TrustSettings;
use crate::sigstore::trust::TrustRoot;
use crate::sigstore::verify;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::collections::BTreeMap;

/// `verify` (images).
#[derive(Debug)]
pub(crate) struct VerifyImages {
    /// the images
    pub(crate) images: Vec<ImageRef>,
    /// a public key, or a keyless identity policy
    pub(crate) verify_with: VerifyWith,
    /// where the trusted root comes from (`--trusted-root`, else TUF)
    pub(crate) trust: TrustSettings,
    /// annotations every accepted payload must carry
    pub(crate) annotations: BTreeMap<String, String>,
    /// `--insecure-ignore-tlog` was given
    pub(crate) ignore_tlog: bool,
    /// the layouts to look in
    pub(crate) format: SignatureFormat,
    /// `--signature-digest-algorithm` for key signatures (cosign's default: SHA-256, whatever the key)
    pub(crate) digest_alg: HashAlg,
    /// registry access
    pub(crate) registry: RegistryOptions,
}

/// One image verified.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedImage {
    /// the verified payloads
    pub(crate) payloads: Vec<SimpleSigning>,
}

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub(crate) struct VerifyReport {
    /// one entry per image given
    pub(crate) images: Vec<VerifiedImage>,
}

/// Why one signature layer did not count.
fn rejection(
    key: &PublicKey,
    hash: HashAlg,
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
    key.verify_with(hash, payload, &der)
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
    settings: &'a TrustSettings,
    trust: Option<TrustRoot>,
    ignore_tlog: bool,
    hash: HashAlg,
}

impl Checker<'_> {
    /// The trust material, read on first use (a key-only run without Rekor bundles never needs it).
    async fn trust(&mut self, ui: &mut Ui) -> Result<&TrustRoot, Error> {
        if self.trust.is_none() {
            self.trust = Some(super::trust::trusted_root(self.settings, ui).await?);
        }
        // just set above
        self.trust
            .as_ref()
            .ok_or_else(|| Error::input("no trusted root", "pass --trusted-root"))
    }

    /// Checks one signature layer: `Ok` with the payload and what the log check established (None when
    /// there was no Rekor bundle to check), `Err` with why this layer does not count.
    async fn check(
        &mut self,
        digest: &str,
        wanted: &BTreeMap<String, String>,
        payload: &[u8],
        ann: &BTreeMap<String, String>,
        ui: &mut Ui,
    ) -> Result<Result<(SimpleSigning, Option<verify::Verified>), String>, Error> {
        if let Some(policy) = self.policy {
            if !ann.contains_key(layout::ANN_CERTIFICATE) {
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
            let trust = self.trust(ui).await?;
            let v = match verify::verify_bundle(
                trust,
                &bundle,
                verify::Artifact::Bytes(payload),
                verify::ExpectedSigner::Keyless(policy),
            ) {
                Ok(v) => v,
                Err(e) => return Ok(Err(e.to_string())),
            };
            return Ok(payload_rejection(digest, wanted, payload)
                .map(|p| (p, Some(v)))
                .map_err(str::to_string));
        }
        let Some(key) = self.key.clone() else {
            return Err(Error::input("no key loaded", "pass --key"));
        };
        let parsed = match rejection(&key, self.hash, digest, wanted, payload, ann) {
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
        let trust = self.trust(ui).await?;
        Ok(
            match verify::verify_bundle(
                trust,
                &bundle,
                verify::Artifact::Bytes(payload),
                verify::ExpectedSigner::Key(&key),
            ) {
                Ok(v) => Ok((parsed, Some(v))),
                Err(e) => Err(format!("has a Rekor bundle that does not verify: {e}")),
            },
        )
    }
}

impl Checker<'_> {
    /// Checks one Sigstore bundle attached to the image `reference` (`repo@digest`): `Ok` with what
    /// `cosign verify` prints for it and what the log check established (None when it has no log entry
    /// or the log was ignored), `Err` with why it does not count.
    async fn check_bundle(
        &mut self,
        reference: &str,
        digest: &str,
        wanted: &BTreeMap<String, String>,
        bytes: &[u8],
        ui: &mut Ui,
    ) -> Result<Result<(SimpleSigning, Option<verify::Verified>), String>, Error> {
        use sigstore_verify::types::SignatureContent;
        let bundle = match verify::load_bundle(bytes) {
            Ok(b) => b,
            Err(e) => return Ok(Err(format!("is not a readable Sigstore bundle ({e})"))),
        };
        let SignatureContent::DsseEnvelope(env) = &bundle.content else {
            return Ok(Err(
                "holds a plain message signature, not a signed statement about the image".into(),
            ));
        };
        if env.payload_type != crate::signing::dsse::IN_TOTO_PAYLOAD_TYPE {
            return Ok(Err(format!(
                "signs a `{}` payload, not an in-toto statement",
                env.payload_type
            )));
        }
        // What the statement claims decides whether it is an image signature at all; the crypto below
        // decides whether the claim holds.
        let statement = match Statement::parse(env.payload.as_bytes()) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e.to_string())),
        };
        if let Err(e) = statement.as_image_signature(reference, digest, &BTreeMap::new()) {
            return Ok(Err(e.to_string()));
        }
        let mut artifact = [0u8; 32];
        if hex::decode_to_slice(digest.trim_start_matches("sha256:"), &mut artifact).is_err() {
            return Err(OciError::Malformed {
                what: "the image digest",
                reference: reference.to_string(),
                reason: "not a sha256 digest".into(),
            }
            .into());
        }
        let artifact = verify::Artifact::Digest(&artifact);
        let verified = if let Some(policy) = self.policy {
            let trust = self.trust(ui).await?;
            match verify::verify_bundle(
                trust,
                &bundle,
                artifact,
                verify::ExpectedSigner::Keyless(policy),
            ) {
                Ok(v) => Some(v),
                Err(e) => return Ok(Err(format!("does not verify: {e}"))),
            }
        } else {
            let Some(key) = self.key.clone() else {
                return Err(Error::input("no key loaded", "pass --key"));
            };
            let material = &bundle.verification_material;
            let unlogged = material.tlog_entries.is_empty()
                && material
                    .timestamp_verification_data
                    .rfc3161_timestamps
                    .is_empty();
            if self.ignore_tlog || unlogged {
                match verify::verify_plain(&bundle, artifact, &key) {
                    Ok(_) => None,
                    Err(verify::VerifyError::NeedsIdentity) => {
                        return Ok(Err("has a certificate (a keyless signature)".into()))
                    }
                    Err(e) => return Ok(Err(format!("does not verify with this key: {e}"))),
                }
            } else {
                let trust = self.trust(ui).await?;
                match verify::verify_bundle(
                    trust,
                    &bundle,
                    artifact,
                    verify::ExpectedSigner::Key(&key),
                ) {
                    Ok(v) => Some(v),
                    Err(verify::VerifyError::NeedsIdentity) => {
                        return Ok(Err("has a certificate (a keyless signature)".into()))
                    }
                    Err(e) => return Ok(Err(format!("does not verify with this key: {e}"))),
                }
            }
        };
        Ok(statement
            .as_image_signature(reference, digest, wanted)
            .map(|p| (p, verified))
            .map_err(|e| e.to_string()))
    }
}

/// Why the signatures of one kind did not count: reason → how many.
#[derive(Default)]
struct Found {
    count: usize,
    reasons: BTreeMap<String, usize>,
}

impl Found {
    /// `2 Sigstore bundles (1 is an attestation …; 1 does not verify …)`
    fn describe(&self, one: &str, many: &str) -> String {
        let why = self
            .reasons
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect::<Vec<_>>()
            .join("; ");
        format!(
            "{} {} ({why})",
            self.count,
            if self.count == 1 { one } else { many }
        )
    }
}

/// Verifies every image of the request (see the module documentation).
pub(crate) async fn verify(req: &VerifyImages, ui: &mut Ui) -> Result<VerifyReport, Error> {
    let (key, policy, who) = match &req.verify_with {
        VerifyWith::PublicKey(k) => (
            Some(k.clone()),
            None,
            format!("the public key sha256:{}", k.fingerprint()),
        ),
        VerifyWith::Key(k) => (
            Some(
                k.load_public()
                    .map_err(|e| Error::key(format!("cannot load the public key from {k}"), e))?,
            ),
            None,
            format!("the public key {k}"),
        ),
        VerifyWith::Keyless(p) => (
            None,
            Some(p),
            format!("identity {} and issuer {}", p.identity, p.issuer),
        ),
    };
    let mut checker = Checker {
        key,
        policy,
        settings: &req.trust,
        trust: None,
        ignore_tlog: req.ignore_tlog,
        hash: req.digest_alg,
    };
    if policy.is_some() {
        checker.trust(ui).await?; // a bad --trusted-root fails before any registry traffic
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
        let registry = registry.for_image(false);
        let digest = match image.digest() {
            Some(d) => {
                registry.resolve_digest(image).await?;
                d.to_string()
            }
            None => registry.resolve_digest(image).await?,
        };
        let at = image.with_digest(&digest);
        let (sig_manifest, found_bundles) = tokio::join!(
            async {
                if req.format.legacy() {
                    layout::read(&registry, image, &digest).await
                } else {
                    Ok(None)
                }
            },
            async {
                if req.format.bundle() {
                    bundles::read(&registry, image, &digest).await.map(Some)
                } else {
                    Ok(None)
                }
            }
        );
        let sig_manifest = sig_manifest?;
        let mut verified = Vec::new();
        let mut logged = Vec::new();
        let mut unlogged = 0usize;
        let mut accept = |r: Result<(SimpleSigning, Option<verify::Verified>), String>,
                          found: &mut Found| {
            found.count += 1;
            match r {
                Ok((p, v)) => {
                    match v {
                        Some(v) if !v.log_entries.is_empty() => logged.push(v),
                        _ => unlogged += 1,
                    }
                    verified.push(p);
                }
                Err(why) => *found.reasons.entry(why).or_default() += 1,
            }
        };
        let mut legacy = Found::default();
        if let Some(manifest) = &sig_manifest {
            for l in manifest.signature_layers() {
                let ann = l.annotations.clone().unwrap_or_default();
                let payload = registry
                    .get_blob(
                        image,
                        &l.digest,
                        l.size,
                        layout::MAX_SIGNATURE_BLOB,
                        "MAX_SIGNATURE_BLOB",
                    )
                    .await?;
                let r = checker
                    .check(&digest, &req.annotations, &payload, &ann, ui)
                    .await?;
                accept(r, &mut legacy);
            }
        }
        let mut bundle = Found::default();
        let mut bundle_error = None;
        match found_bundles {
            Ok(Some(found)) => {
                for b in &found.bundles {
                    let r = checker
                        .check_bundle(&at.to_string(), &digest, &req.annotations, &b.bytes, ui)
                        .await?;
                    accept(r, &mut bundle);
                }
            }
            Ok(None) => {}
            Err(e) => bundle_error = Some(e),
        }
        if let Some(e) = bundle_error {
            // The `.sig` may still carry a good signature; without one, the listing's error is the
            // answer (never "no signatures").
            if verified.is_empty() {
                return Err(e.into());
            }
            ui.warn(&format!(
                "could not read the Sigstore bundles attached to {at}: {e}"
            ));
        }
        if legacy.count + bundle.count == 0 {
            let how = if policy.is_some() {
                ""
            } else {
                "--key cosign.key "
            };
            let sig_ref = image.signature_ref(&digest);
            let looked = match req.format {
                SignatureFormat::Legacy => format!("looked only at {sig_ref} (--signature-format legacy)"),
                SignatureFormat::Bundle => "looked only for Sigstore bundles among the image's OCI referrers (--signature-format bundle)".to_string(),
                SignatureFormat::Both => format!("looked at {sig_ref} and for Sigstore bundles among the image's OCI referrers"),
            };
            return Err(Error::Verification {
                reason: format!("no signatures found for {at}"),
                hint: Some(format!(
                    "sign it first (ferrosign sign {how}{at}); {looked}"
                )),
            });
        }
        if verified.is_empty() {
            let mut parts = Vec::new();
            if legacy.count > 0 {
                parts.push(legacy.describe("`.sig` signature", "`.sig` signatures"));
            }
            if bundle.count > 0 {
                parts.push(bundle.describe("Sigstore bundle", "Sigstore bundles"));
            }
            let lacks = |f: &Found| f.reasons.contains_key("lacks the required annotations");
            let hint = if lacks(&legacy) || lacks(&bundle) {
                "check the -a key=value pairs against those given when signing".to_string()
            } else if policy.is_some() {
                "check --certificate-identity and --certificate-oidc-issuer against the signer, and \
                 --trusted-root against the Sigstore instance that signed"
                    .to_string()
            } else {
                match (checker.key.as_ref().map(PublicKey::algorithm), req.digest_alg) {
                    (Some(Algorithm::P384), HashAlg::Sha256) => "cosign signs with SHA-384 for P-384 keys: add --signature-digest-algorithm sha384".to_string(),
                    (Some(Algorithm::P521), HashAlg::Sha256) => "cosign signs with SHA-512 for P-521 keys: add --signature-digest-algorithm sha512".to_string(),
                    _ => "check that this public key belongs to the key that signed the image".to_string(),
                }
            };
            return Err(Error::Verification {
                reason: format!(
                    "no signature of {at} verifies with {who}: found {}",
                    parts.join(" and ")
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
        report.images.push(VerifiedImage { payloads: verified });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::PrivateKey;
    use crate::sigstore::trust::sources::TrustSettings;

    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const OTHER: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A payload for `digest` with `ann`, and the `.sig` layer annotations of its signature by `key`.
    fn signed(
        key: &PrivateKey,
        digest: &str,
        ann: &BTreeMap<String, String>,
    ) -> (Vec<u8>, BTreeMap<String, String>) {
        let payload = SimpleSigning::new("registry.test/app", digest, ann).to_bytes();
        let sig = B64.encode(key.sign(&payload).unwrap());
        (payload, annotations(&[(ANN_SIGNATURE, &sig)]))
    }

    #[test]
    fn a_payload_counts_only_for_its_digest_and_with_the_wanted_annotations() {
        let wanted = annotations(&[("env", "prod")]);
        let payload = SimpleSigning::new("registry.test/app", DIGEST, &wanted).to_bytes();
        let ok = payload_rejection(DIGEST, &wanted, &payload).unwrap();
        assert_eq!(ok.manifest_digest, DIGEST);
        // the replay guard: the same payload presented for another image
        assert_eq!(
            payload_rejection(OTHER, &wanted, &payload).unwrap_err(),
            "is for another digest"
        );
        assert_eq!(
            payload_rejection(DIGEST, &annotations(&[("env", "dev")]), &payload).unwrap_err(),
            "lacks the required annotations"
        );
        // no annotation wanted: any payload for the digest counts
        assert!(payload_rejection(DIGEST, &BTreeMap::new(), &payload).is_ok());
        assert_eq!(
            payload_rejection(DIGEST, &wanted, b"{\"not\":\"cosign\"}").unwrap_err(),
            "signs a payload that is not a cosign image payload"
        );
    }

    #[test]
    fn a_layer_counts_only_with_a_signature_of_this_key_over_its_payload() {
        let key = PrivateKey::generate();
        let none = BTreeMap::new();
        let (payload, ann) = signed(&key, DIGEST, &none);
        let public = key.public_key();
        let ok = rejection(&public, HashAlg::Sha256, DIGEST, &none, &payload, &ann).unwrap();
        assert_eq!(ok.manifest_digest, DIGEST);
        // the payload checks apply after the signature's
        assert_eq!(
            rejection(&public, HashAlg::Sha256, OTHER, &none, &payload, &ann).unwrap_err(),
            "is for another digest"
        );
        let stranger = PrivateKey::generate().public_key();
        assert_eq!(
            rejection(&stranger, HashAlg::Sha256, DIGEST, &none, &payload, &ann).unwrap_err(),
            "does not verify with this key"
        );
        let mut altered = payload.clone();
        altered[0] = b' ';
        assert_eq!(
            rejection(&public, HashAlg::Sha256, DIGEST, &none, &altered, &ann).unwrap_err(),
            "does not verify with this key"
        );
        assert_eq!(
            rejection(
                &public,
                HashAlg::Sha256,
                DIGEST,
                &none,
                &payload,
                &BTreeMap::new()
            )
            .unwrap_err(),
            "has no signature annotation"
        );
        assert_eq!(
            rejection(
                &public,
                HashAlg::Sha256,
                DIGEST,
                &none,
                &payload,
                &annotations(&[(ANN_SIGNATURE, "!!")])
            )
            .unwrap_err(),
            "has a signature that is not base64"
        );
    }

    #[test]
    fn found_signatures_are_counted_with_their_reasons() {
        let mut found = Found {
            count: 1,
            reasons: BTreeMap::new(),
        };
        found.reasons.insert("is for another digest".into(), 1);
        assert_eq!(
            found.describe("`.sig` signature", "`.sig` signatures"),
            "1 `.sig` signature (1 is for another digest)"
        );
        found.count = 3;
        found
            .reasons
            .insert("does not verify with this key".into(), 2);
        assert_eq!(
            found.describe("`.sig` signature", "`.sig` signatures"),
            "3 `.sig` signatures (2 does not verify with this key; 1 is for another digest)"
        );
    }

    fn no_trust_file() -> TrustSettings {
        // A key-only run without Rekor bundles never reads the trusted root: a missing file says so
        // (and keeps a mistaken read away from the network).
        TrustSettings {
            trusted_root: Some("/nonexistent/ferrosign-test/trusted_root.json".into()),
            ..TrustSettings::default()
        }
    }

    fn quiet() -> Ui {
        Ui::new(false, Box::new(std::io::sink()), Box::new(std::io::sink()))
    }

    /// A key-signed Sigstore bundle (no log entry) holding cosign's image-signature statement for
    /// `digest` in `repository` with `ann`, its DSSE envelope of `payload_type`.
    fn image_bundle(
        key: &PrivateKey,
        repository: &str,
        digest: &str,
        ann: &BTreeMap<String, String>,
        payload_type: &str,
    ) -> crate::sigstore::bundle::Bundle {
        use crate::signing::dsse::{pae, Envelope};
        use crate::sigstore::bundle::{self, PublicKeyIdentifier, VerificationMaterial};
        let statement = Statement::image_signature(repository, digest, ann).to_bytes();
        let sig = key.sign(&pae(payload_type, &statement)).unwrap();
        bundle::Bundle::for_envelope(
            VerificationMaterial {
                public_key: Some(PublicKeyIdentifier {
                    hint: bundle::key_hint(&key.public_key()),
                }),
                ..VerificationMaterial::default()
            },
            &Envelope::new(payload_type, &statement, &sig),
        )
    }

    #[tokio::test]
    async fn a_keyless_check_wants_a_certificate_and_a_rekor_bundle_first() {
        let policy = verify::KeylessPolicy {
            identity: verify::Matcher::Exact("a@example.test".into()),
            issuer: verify::Matcher::Exact("https://issuer.example.test".into()),
            insecure_ignore_sct: false,
            insecure_ignore_tlog: false,
        };
        let settings = no_trust_file();
        let mut checker = Checker {
            key: None,
            policy: Some(&policy),
            settings: &settings,
            trust: None,
            ignore_tlog: false,
            hash: HashAlg::Sha256,
        };
        let key = PrivateKey::generate();
        let none = BTreeMap::new();
        let (payload, mut ann) = signed(&key, DIGEST, &none);
        let mut ui = quiet();
        let why = |r: Result<(SimpleSigning, Option<verify::Verified>), String>| r.unwrap_err();
        assert_eq!(
            why(checker
                .check(DIGEST, &none, &payload, &ann, &mut ui)
                .await
                .unwrap()),
            "has no certificate (a key signature)"
        );
        ann.insert(layout::ANN_CERTIFICATE.into(), "not a certificate".into());
        assert_eq!(
            why(checker
                .check(DIGEST, &none, &payload, &ann, &mut ui)
                .await
                .unwrap()),
            "has no Rekor bundle (keyless signatures need the log's signed entry timestamp)"
        );
    }

    #[tokio::test]
    async fn a_key_signature_without_a_rekor_bundle_counts_and_a_bundle_present_is_checked() {
        let key = PrivateKey::generate();
        let settings = no_trust_file();
        let checker = |ignore_tlog| Checker {
            key: Some(key.public_key()),
            policy: None,
            settings: &settings,
            trust: None,
            ignore_tlog,
            hash: HashAlg::Sha256,
        };
        let none = BTreeMap::new();
        let (payload, mut ann) = signed(&key, DIGEST, &none);
        let mut ui = quiet();
        let (p, logged) = checker(false)
            .check(DIGEST, &none, &payload, &ann, &mut ui)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.manifest_digest, DIGEST);
        assert!(logged.is_none());
        ann.insert(ANN_BUNDLE.into(), "{}".into());
        let why = checker(false)
            .check(DIGEST, &none, &payload, &ann, &mut ui)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            why.starts_with("has a Rekor bundle that cannot be read: "),
            "{why}"
        );
        // --insecure-ignore-tlog: the bundle is not looked at
        let (_, logged) = checker(true)
            .check(DIGEST, &none, &payload, &ann, &mut ui)
            .await
            .unwrap()
            .unwrap();
        assert!(logged.is_none());
    }

    #[tokio::test]
    async fn a_key_signed_image_bundle_is_checked_by_its_signature_unless_it_has_a_timestamp() {
        use crate::signing::dsse::IN_TOTO_PAYLOAD_TYPE;
        const REFERENCE: &str = "registry.test/app@sha256:1111111111111111111111111111111111111111111111111111111111111111";
        let key = PrivateKey::generate();
        let none = BTreeMap::new();
        let settings = no_trust_file();
        let mut checker = Checker {
            key: Some(key.public_key()),
            policy: None,
            settings: &settings,
            trust: None,
            ignore_tlog: false,
            hash: HashAlg::Sha256,
        };
        let mut ui = quiet();
        let plain = image_bundle(
            &key,
            "registry.test/app",
            DIGEST,
            &none,
            IN_TOTO_PAYLOAD_TYPE,
        );
        // no log entry, no timestamp: its signature alone, without the trusted root (which is missing)
        let (p, logged) = checker
            .check_bundle(REFERENCE, DIGEST, &none, &plain.to_json(), &mut ui)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.manifest_digest.as_str(), p.docker_reference.as_str()),
            (DIGEST, REFERENCE)
        );
        assert!(logged.is_none());
        let other = image_bundle(&key, "registry.test/app", DIGEST, &none, "application/json");
        let why = checker
            .check_bundle(REFERENCE, DIGEST, &none, &other.to_json(), &mut ui)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            why,
            "signs a `application/json` payload, not an in-toto statement"
        );
        // With a timestamp (one over another signature), the bundle goes to the verifier with the
        // trusted root, which refuses it; --insecure-ignore-tlog checks the signature alone.
        let mut stamped = plain.clone();
        stamped.verification_material.timestamp_verification_data = Some(serde_json::json!({
            "rfc3161Timestamps": [{"signedTimestamp": B64.encode(crate::sigstore::fixtures::key_signed().timestamp)}]
        }));
        checker.trust = Some(crate::sigstore::fixtures::trust());
        let why = checker
            .check_bundle(REFERENCE, DIGEST, &none, &stamped.to_json(), &mut ui)
            .await
            .unwrap()
            .unwrap_err();
        assert!(why.starts_with("does not verify with this key: "), "{why}");
        checker.ignore_tlog = true;
        let (_, logged) = checker
            .check_bundle(REFERENCE, DIGEST, &none, &stamped.to_json(), &mut ui)
            .await
            .unwrap()
            .unwrap();
        assert!(logged.is_none());
    }

    /// `verify` against a registry in memory ([`crate::oci::memory`]): what it counts, says and
    /// decides for the signatures it finds in both layouts.
    mod against_a_registry {
        use super::*;
        use crate::gha::test_support::Buf;
        use crate::oci::bundles::BUNDLE_V03;
        use crate::oci::memory::Memory;
        use crate::oci::{
            OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, SIMPLE_SIGNING_MEDIA_TYPE,
        };
        use crate::signing::dsse::IN_TOTO_PAYLOAD_TYPE;

        /// An image `app:v1` in a registry of its own.
        struct Image {
            reg: Memory,
            digest: String,
        }

        impl Image {
            fn new() -> Self {
                let reg = Memory::start();
                let config = reg.put_blob(b"{}");
                let manifest = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "size": 2, "digest": config},
                    "layers": [],
                });
                let digest =
                    reg.put_manifest("app", "v1", OCI_MANIFEST, manifest.to_string().as_bytes());
                Image { reg, digest }
            }

            fn hex(&self) -> &str {
                self.digest.trim_start_matches("sha256:")
            }

            /// The repository as signers name it in payloads.
            fn repository(&self) -> String {
                format!("{}/app", self.reg.host)
            }

            /// A `.sig` layer by `key` over this image's payload with `ann`.
            fn layer(
                &self,
                key: &PrivateKey,
                ann: &BTreeMap<String, String>,
            ) -> (Vec<u8>, BTreeMap<String, String>) {
                let payload = SimpleSigning::new(&self.repository(), &self.digest, ann).to_bytes();
                let sig = B64.encode(key.sign(&payload).unwrap());
                (payload, annotations(&[(ANN_SIGNATURE, &sig)]))
            }

            /// Writes the `.sig` manifest with these layers.
            fn sig(&self, layers: &[(Vec<u8>, BTreeMap<String, String>)]) {
                let layers: Vec<serde_json::Value> = layers
                    .iter()
                    .map(|(payload, ann)| {
                        serde_json::json!({
                            "mediaType": SIMPLE_SIGNING_MEDIA_TYPE,
                            "size": payload.len(),
                            "digest": self.reg.put_blob(payload),
                            "annotations": ann,
                        })
                    })
                    .collect();
                let m = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "size": 2, "digest": self.reg.put_blob(b"{}")},
                    "layers": layers,
                });
                let tag = format!("sha256-{}.sig", self.hex());
                self.reg
                    .put_manifest("app", &tag, OCI_MANIFEST, m.to_string().as_bytes());
            }

            /// Attaches these Sigstore bundles as OCI 1.1 referrers, listed by the tag schema (the
            /// registry has no referrers API).
            fn bundles(&self, bundles: &[crate::sigstore::bundle::Bundle]) {
                let empty = self.reg.put_blob(b"{}");
                let (_, image) = self.reg.manifest("app", "v1").unwrap();
                let entries: Vec<serde_json::Value> = bundles
                    .iter()
                    .map(|b| {
                        let bytes = b.to_json();
                        let m = serde_json::json!({
                            "schemaVersion": 2,
                            "mediaType": OCI_MANIFEST,
                            "artifactType": BUNDLE_V03,
                            "config": {"mediaType": OCI_EMPTY, "size": 2, "digest": empty},
                            "layers": [{"mediaType": BUNDLE_V03, "size": bytes.len(), "digest": self.reg.put_blob(&bytes)}],
                            "subject": {"mediaType": OCI_MANIFEST, "size": image.len(), "digest": self.digest},
                        })
                        .to_string();
                        let d = self.reg.put_manifest("app", "unused", OCI_MANIFEST, m.as_bytes());
                        serde_json::json!({
                            "mediaType": OCI_MANIFEST,
                            "size": m.len(),
                            "digest": d,
                            "artifactType": BUNDLE_V03,
                        })
                    })
                    .collect();
                let index = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": entries,
                });
                let tag = format!("sha256-{}", self.hex());
                self.reg
                    .put_manifest("app", &tag, OCI_INDEX, index.to_string().as_bytes());
            }

            /// A key-signed image bundle (no log entry) by `key` for this image with `ann`.
            fn bundle(
                &self,
                key: &PrivateKey,
                ann: &BTreeMap<String, String>,
            ) -> crate::sigstore::bundle::Bundle {
                image_bundle(
                    key,
                    &self.repository(),
                    &self.digest,
                    ann,
                    IN_TOTO_PAYLOAD_TYPE,
                )
            }

            /// `verify --key` (the public key of `key`) of `app:v1` in both layouts.
            fn request(&self, key: &PublicKey) -> VerifyImages {
                VerifyImages {
                    images: vec![self.reg.image("app:v1")],
                    verify_with: VerifyWith::PublicKey(key.clone()),
                    trust: no_trust_file(),
                    annotations: BTreeMap::new(),
                    ignore_tlog: false,
                    format: SignatureFormat::Both,
                    digest_alg: HashAlg::Sha256,
                    registry: RegistryOptions::default(),
                }
            }
        }

        /// Runs `verify`: its result and what it printed (CLI mode: everything on stderr).
        async fn run(req: &VerifyImages) -> (Result<VerifyReport, Error>, String) {
            let (out, err) = (Buf::default(), Buf::default());
            let mut ui = Ui::new(false, Box::new(out.clone()), Box::new(err.clone()));
            let r = verify(req, &mut ui).await;
            (r, out.text() + &err.text())
        }

        /// The reason and hint of a verification failure.
        fn failure(r: Result<VerifyReport, Error>) -> (String, String) {
            match r {
                Err(Error::Verification { reason, hint }) => (reason, hint.unwrap_or_default()),
                other => panic!("not a verification failure: {other:?}"),
            }
        }

        #[tokio::test]
        async fn a_verified_signature_is_reported_and_its_missing_log_entry_said() {
            let image = Image::new();
            let key = PrivateKey::generate();
            image.sig(&[image.layer(&key, &BTreeMap::new())]);
            let (r, said) = run(&image.request(&key.public_key())).await;
            let report = r.unwrap();
            assert_eq!(report.images.len(), 1);
            assert_eq!(report.images[0].payloads.len(), 1);
            assert_eq!(report.images[0].payloads[0].manifest_digest, image.digest);
            assert!(
                said.contains("warning: 1 of these signatures carry no Rekor bundle: their transparency log entry was not checked"),
                "{said}"
            );
            assert!(
                said.contains("  - The signatures were verified against the specified public key"),
                "{said}"
            );
            assert!(!said.contains("transparency log was verified"), "{said}");
            // a bundle too: both count, neither logged
            image.bundles(&[image.bundle(&key, &BTreeMap::new())]);
            let (r, said) = run(&image.request(&key.public_key())).await;
            assert_eq!(r.unwrap().images[0].payloads.len(), 2);
            assert!(
                said.contains("warning: 2 of these signatures carry no Rekor bundle"),
                "{said}"
            );
            // --insecure-ignore-tlog: that warning instead
            let mut req = image.request(&key.public_key());
            req.ignore_tlog = true;
            let (r, said) = run(&req).await;
            assert_eq!(r.unwrap().images[0].payloads.len(), 2);
            assert!(
                said.contains("warning: Skipping tlog verification is an insecure practice"),
                "{said}"
            );
            assert!(!said.contains("carry no Rekor bundle"), "{said}");
        }

        #[tokio::test]
        async fn a_signature_counts_as_logged_only_with_a_log_entry() {
            // A key signature whose Rekor bundle annotation is blank: checked through the verifier
            // (which needs the trusted root), it verifies without any log entry.
            let image = Image::new();
            let key = PrivateKey::generate();
            let (payload, mut ann) = image.layer(&key, &BTreeMap::new());
            ann.insert(ANN_BUNDLE.into(), String::new());
            image.sig(&[(payload, ann)]);
            let mut req = image.request(&key.public_key());
            req.trust = TrustSettings::loaded(crate::sigstore::fixtures::trust());
            let (r, said) = run(&req).await;
            assert_eq!(r.unwrap().images[0].payloads.len(), 1);
            assert!(
                said.contains("warning: 1 of these signatures carry no Rekor bundle"),
                "{said}"
            );
            assert!(!said.contains("transparency log was verified"), "{said}");
        }

        #[tokio::test]
        async fn when_none_verifies_each_kind_found_is_counted_with_its_reasons() {
            let image = Image::new();
            let (key, stranger) = (PrivateKey::generate(), PrivateKey::generate());
            let none = BTreeMap::new();
            let want = key.public_key();
            let at = format!("{}@{}", image.reg.image("app").name(), image.digest);
            let who = format!("the public key sha256:{}", want.fingerprint());
            // nothing at all
            let (reason, hint) = failure(run(&image.request(&want)).await.0);
            assert_eq!(reason, format!("no signatures found for {at}"));
            assert!(
                hint.starts_with("sign it first (ferrosign sign --key cosign.key "),
                "{hint}"
            );
            // two `.sig` signatures by another key
            image.sig(&[
                image.layer(&stranger, &none),
                image.layer(&stranger, &annotations(&[("a", "b")])),
            ]);
            let (reason, hint) = failure(run(&image.request(&want)).await.0);
            assert_eq!(
                reason,
                format!("no signature of {at} verifies with {who}: found 2 `.sig` signatures (2 does not verify with this key)")
            );
            assert_eq!(
                hint,
                "check that this public key belongs to the key that signed the image"
            );
            // and a bundle by another key
            image.bundles(&[image.bundle(&stranger, &none)]);
            let (reason, _) = failure(run(&image.request(&want)).await.0);
            assert!(
                reason.starts_with(&format!("no signature of {at} verifies with {who}: found 2 `.sig` signatures (2 does not verify with this key) and 1 Sigstore bundle (1 does not verify with this key: ")),
                "{reason}"
            );
            // only bundles
            let mut req = image.request(&want);
            req.format = SignatureFormat::Bundle;
            let (reason, _) = failure(run(&req).await.0);
            assert!(
                reason.starts_with(&format!("no signature of {at} verifies with {who}: found 1 Sigstore bundle (1 does not verify with this key: ")),
                "{reason}"
            );
        }

        #[tokio::test]
        async fn signatures_lacking_the_wanted_annotations_say_so_in_the_hint() {
            let image = Image::new();
            let key = PrivateKey::generate();
            let mut req = image.request(&key.public_key());
            req.annotations = annotations(&[("env", "prod")]);
            let dev = annotations(&[("env", "dev")]);
            image.sig(&[image.layer(&key, &dev)]);
            let (reason, hint) = failure(run(&req).await.0);
            assert!(
                reason.ends_with("found 1 `.sig` signature (1 lacks the required annotations)"),
                "{reason}"
            );
            assert_eq!(
                hint,
                "check the -a key=value pairs against those given when signing"
            );
            // a bundle lacking them, beside a `.sig` signature that fails for another reason
            image.sig(&[image.layer(&PrivateKey::generate(), &req.annotations)]);
            image.bundles(&[image.bundle(&key, &dev)]);
            let (reason, hint) = failure(run(&req).await.0);
            assert!(
                reason.ends_with("and 1 Sigstore bundle (1 lacks the required annotations)"),
                "{reason}"
            );
            assert_eq!(
                hint,
                "check the -a key=value pairs against those given when signing"
            );
        }

        #[tokio::test]
        async fn a_p384_or_p521_signature_checked_with_sha256_names_the_digest_algorithm() {
            use p384::pkcs8::EncodePrivateKey as _;
            let p384 = PrivateKey::from_pkcs8_der(
                p384::SecretKey::random(&mut rand_core::OsRng)
                    .to_pkcs8_der()
                    .unwrap()
                    .as_bytes(),
            )
            .unwrap();
            let p521 = PrivateKey::from_pkcs8_der(
                p521::SecretKey::random(&mut rand_core::OsRng)
                    .to_pkcs8_der()
                    .unwrap()
                    .as_bytes(),
            )
            .unwrap();
            for (key, alg, hash) in [
                (p384, "sha384", HashAlg::Sha384),
                (p521, "sha512", HashAlg::Sha512),
            ] {
                let image = Image::new();
                image.sig(&[image.layer(&key, &BTreeMap::new())]);
                let mut req = image.request(&key.public_key());
                let (_, hint) = failure(run(&req).await.0);
                assert!(
                    hint.ends_with(&format!("add --signature-digest-algorithm {alg}")),
                    "{hint}"
                );
                req.digest_alg = hash;
                run(&req).await.0.unwrap();
            }
        }
    }
}
