//! cosign's legacy signature layout: the signatures of image `sha256:<hex>` live in the same repository
//! under the tag `sha256-<hex>.sig`, an OCI image manifest with one layer per signature (the payload
//! blob, annotated with the base64 signature and, for keyless signatures, certificate, chain and Rekor
//! bundle).
//!
//! Adding a signature reads the manifest, keeps every layer, appends ours (unless an identical one is
//! there), and writes it back. Registries offer no compare-and-swap on tags, so two signers can overwrite
//! each other: after writing we read back until our layer has stayed present past a settling delay, and
//! write again when it was dropped.

use super::registry::Registry;
use super::{ImageRef, OciError, OCI_CONFIG, OCI_MANIFEST, SIMPLE_SIGNING_MEDIA_TYPE};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Layer annotation: the base64 signature (always).
pub(crate) const ANN_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// Layer annotation: the signing certificate, PEM (keyless).
pub(crate) const ANN_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// Layer annotation: the certificate chain, PEM (keyless).
pub(crate) const ANN_CHAIN: &str = "dev.sigstore.cosign/chain";
/// Layer annotation: the Rekor bundle JSON (when the signature is in the transparency log).
pub(crate) const ANN_BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// Layer annotation: an RFC 3161 timestamp JSON (when a timestamp authority was used).
pub(crate) const ANN_RFC3161_TIMESTAMP: &str = "dev.sigstore.cosign/rfc3161timestamp";

const MAX_ATTEMPTS: u32 = 12;

/// The contents of one signature layer: what a signer produces for one payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignatureLayer {
    /// the signed bytes (the simple-signing payload): the layer's blob
    pub(crate) payload: Vec<u8>,
    /// base64 signature over `payload`
    pub(crate) signature: String,
    /// leaf certificate PEM (keyless)
    pub(crate) certificate: Option<String>,
    /// intermediate + root PEMs (keyless)
    pub(crate) chain: Option<String>,
    /// Rekor bundle JSON (`{"SignedEntryTimestamp":…,"Payload":{…}}`)
    pub(crate) bundle: Option<String>,
    /// any other layer annotations (e.g. an RFC 3161 timestamp)
    pub(crate) extra: BTreeMap<String, String>,
}

impl SignatureLayer {
    /// A plain key signature.
    pub(crate) fn new(payload: Vec<u8>, signature: String) -> Self {
        SignatureLayer {
            payload,
            signature,
            certificate: None,
            chain: None,
            bundle: None,
            extra: BTreeMap::new(),
        }
    }

    /// The layer's annotations.
    pub(crate) fn annotations(&self) -> BTreeMap<String, String> {
        let mut a = self.extra.clone();
        a.insert(ANN_SIGNATURE.into(), self.signature.clone());
        for (k, v) in [
            (ANN_CERTIFICATE, &self.certificate),
            (ANN_CHAIN, &self.chain),
            (ANN_BUNDLE, &self.bundle),
        ] {
            if let Some(v) = v {
                a.insert(k.into(), v.clone());
            }
        }
        a
    }
}

/// A content descriptor, unknown fields kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Descriptor {
    /// media type
    #[serde(rename = "mediaType")]
    pub(crate) media_type: String,
    /// size in bytes
    pub(crate) size: u64,
    /// `sha256:<hex>`
    pub(crate) digest: String,
    /// annotations
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) annotations: Option<BTreeMap<String, String>>,
    /// anything else (urls, platform, artifactType, …), kept as read
    #[serde(flatten)]
    pub(crate) extra: serde_json::Map<String, serde_json::Value>,
}

/// A signature manifest, unknown fields kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SigManifest {
    /// 2
    #[serde(rename = "schemaVersion")]
    pub(crate) schema_version: u32,
    /// OCI image manifest
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub(crate) media_type: Option<String>,
    /// the config blob
    pub(crate) config: Descriptor,
    /// one per signature
    pub(crate) layers: Vec<Descriptor>,
    /// anything else (annotations, subject, …), kept as read
    #[serde(flatten)]
    pub(crate) extra: serde_json::Map<String, serde_json::Value>,
}

impl SigManifest {
    /// The signature layers (those with the simple-signing media type), with their annotations.
    pub(crate) fn signature_layers(&self) -> impl Iterator<Item = &Descriptor> {
        self.layers
            .iter()
            .filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE)
    }
}

fn same_layer(a: &Descriptor, b: &Descriptor) -> bool {
    a.digest == b.digest && a.annotations == b.annotations
}

/// The config blob go-containerregistry writes for a signature image with these layers.
pub(crate) fn config_blob(layer_digests: &[String]) -> Vec<u8> {
    let history = vec![r#"{"created":"0001-01-01T00:00:00Z"}"#; layer_digests.len()].join(",");
    let diff_ids = layer_digests
        .iter()
        .map(|d| format!("\"{d}\""))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        r#"{{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{history}],"os":"","rootfs":{{"type":"layers","diff_ids":[{diff_ids}]}},"config":{{}}}}"#
    )
    .into_bytes()
}

/// The manifest bytes for these layers (cosign's field order), keeping `extra` top-level fields.
fn manifest_bytes(
    config: &Descriptor,
    layers: &[Descriptor],
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<u8>, serde_json::Error> {
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(rename = "schemaVersion")]
        schema_version: u32,
        #[serde(rename = "mediaType")]
        media_type: &'a str,
        config: &'a Descriptor,
        layers: &'a [Descriptor],
        #[serde(flatten)]
        extra: &'a serde_json::Map<String, serde_json::Value>,
    }
    serde_json::to_vec(&Out {
        schema_version: 2,
        media_type: OCI_MANIFEST,
        config,
        layers,
        extra,
    })
}

/// Reads the `.sig` manifest of `digest` in `image`'s repository: `None` when there is none.
pub(crate) async fn read(
    registry: &Registry,
    image: &ImageRef,
    digest: &str,
) -> Result<Option<SigManifest>, OciError> {
    let sig_ref = image.signature_ref(digest);
    let Some(m) = registry.get_manifest(&sig_ref).await? else {
        return Ok(None);
    };
    let parsed: SigManifest =
        serde_json::from_slice(&m.bytes).map_err(|e| OciError::Malformed {
            what: "the signature manifest",
            reference: sig_ref.to_string(),
            reason: e.to_string(),
        })?;
    Ok(Some(parsed))
}

/// What [`attach`] did.
#[derive(Debug, Clone)]
pub(crate) struct Attached {
    /// the `.sig` reference written
    pub(crate) signature_ref: ImageRef,
    /// false when an identical signature was already there
    pub(crate) added: bool,
    /// signature layers in the manifest afterwards
    pub(crate) layers: usize,
}

/// Adds `layer` to the signatures of `digest` in `image`'s repository. `is_duplicate` is asked about each
/// existing signature layer whose payload equals ours (with its annotations) and says whether it counts as
/// this same signature already (e.g. it verifies with the signer's key).
pub(crate) async fn attach(
    registry: &Registry,
    image: &ImageRef,
    digest: &str,
    layer: &SignatureLayer,
    is_duplicate: &(dyn Fn(&BTreeMap<String, String>) -> bool + Send + Sync),
) -> Result<Attached, OciError> {
    let sig_ref = image.signature_ref(digest);
    let payload_digest = registry.push_blob(image, &layer.payload).await?;
    let ours = Descriptor {
        media_type: SIMPLE_SIGNING_MEDIA_TYPE.into(),
        size: layer.payload.len() as u64,
        digest: payload_digest.clone(),
        annotations: Some(layer.annotations()),
        extra: serde_json::Map::new(),
    };
    let present = |m: &Option<SigManifest>| {
        m.as_ref()
            .is_some_and(|m| m.layers.iter().any(|l| same_layer(l, &ours)))
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let started = Instant::now();
        let existing = read(registry, image, digest).await?;
        if let Some(m) = &existing {
            let dup = m.layers.iter().any(|l| {
                same_layer(l, &ours)
                    || (l.media_type == SIMPLE_SIGNING_MEDIA_TYPE
                        && l.digest == payload_digest
                        && l.annotations.as_ref().is_some_and(is_duplicate))
            });
            if dup && attempts == 1 {
                return Ok(Attached {
                    signature_ref: sig_ref,
                    added: false,
                    layers: m.signature_layers().count(),
                });
            }
        }
        if present(&existing) {
            // Written by an earlier attempt and still there after settling: done.
            let layers = existing
                .as_ref()
                .map_or(0, |m| m.signature_layers().count());
            return Ok(Attached {
                signature_ref: sig_ref,
                added: true,
                layers,
            });
        }
        if attempts > MAX_ATTEMPTS {
            return Err(OciError::Contended {
                reference: sig_ref.to_string(),
                attempts: MAX_ATTEMPTS,
            });
        }
        let (mut layers, extra) = match existing {
            Some(m) => (m.layers, m.extra),
            None => (Vec::new(), serde_json::Map::new()),
        };
        layers.push(ours.clone());
        let diff_ids: Vec<String> = layers.iter().map(|l| l.digest.clone()).collect();
        let config = config_blob(&diff_ids);
        let config_digest = registry.push_blob(image, &config).await?;
        let config_desc = Descriptor {
            media_type: OCI_CONFIG.into(),
            size: config.len() as u64,
            digest: config_digest,
            annotations: None,
            extra: serde_json::Map::new(),
        };
        let bytes =
            manifest_bytes(&config_desc, &layers, &extra).map_err(|e| OciError::Malformed {
                what: "the new signature manifest",
                reference: sig_ref.to_string(),
                reason: e.to_string(),
            })?;
        registry
            .put_manifest(&sig_ref, &bytes, OCI_MANIFEST)
            .await?;
        // Another signer that read before our write may still write its stale copy: wait a few times
        // our own read-to-write time before checking that ours is still there.
        let window = started.elapsed();
        let settle = (window * 3).clamp(Duration::from_millis(50), Duration::from_secs(3));
        tokio::time::sleep(settle).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_matches_go_containerregistry() {
        // Written by cosign v2.6.5 for one signature layer.
        let want = r#"{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["sha256:3565676ce103bc2fde4726cf1cfdd53411da81e10db893318654228d0ef7ee6a"]},"config":{}}"#;
        let got = config_blob(&[
            "sha256:3565676ce103bc2fde4726cf1cfdd53411da81e10db893318654228d0ef7ee6a".into(),
        ]);
        assert_eq!(String::from_utf8(got).unwrap(), want);
    }

    #[test]
    fn manifest_round_trip_keeps_unknown_fields() {
        // cosign's manifest, plus fields another tool might add.
        let text = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":233,"digest":"sha256:3a7e54aae7b1502b3eda70b30bee634fdf988a6689aa2df80be1f0f04116d81b"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":273,"digest":"sha256:3565676ce103bc2fde4726cf1cfdd53411da81e10db893318654228d0ef7ee6a","annotations":{"dev.cosignproject.cosign/signature":"MEYC"},"urls":["x"]},{"mediaType":"text/plain","size":1,"digest":"sha256:00"}],"annotations":{"k":"v"}}"#;
        let m: SigManifest = serde_json::from_str(text).unwrap();
        assert_eq!(m.signature_layers().count(), 1);
        let out = manifest_bytes(&m.config, &m.layers, &m.extra).unwrap();
        let again: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            again,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
        assert!(String::from_utf8(out).unwrap().starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"#));
    }

    #[test]
    fn layer_annotations_round_trip() {
        let mut l = SignatureLayer::new(b"p".to_vec(), "c2ln".into());
        l.certificate = Some("CERT".into());
        l.bundle = Some("{}".into());
        l.extra.insert(ANN_RFC3161_TIMESTAMP.into(), "{}".into());
        let a = l.annotations();
        assert_eq!(a.len(), 4);
        assert_eq!(a[ANN_SIGNATURE], "c2ln");
        assert_eq!(a[ANN_CERTIFICATE], "CERT");
        assert_eq!(a[ANN_BUNDLE], "{}");
    }
}
