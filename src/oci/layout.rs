//! cosign's legacy signature layout: the signatures of image `sha256:<hex>` live in the same repository
//! under the tag `sha256-<hex>.sig`, an OCI image manifest with one layer per signature (the payload
//! blob, annotated with the base64 signature and, for keyless signatures, certificate, chain and Rekor
//! bundle).
//!
//! Adding a signature reads the manifest, keeps every layer, appends ours (unless an identical one is
//! there), and writes it back. Registries offer no compare-and-swap on tags, so two signers can overwrite
//! each other: [`super::rmw`] says how the update keeps every layer it saw, and where that stops.

use super::registry::Registry;
use super::rmw;
use super::{
    ImageRef, OciError, DOCKER_CONFIG, DOCKER_MANIFEST, OCI_CONFIG, OCI_MANIFEST,
    SIMPLE_SIGNING_MEDIA_TYPE,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// The most layers a signature manifest may list (cosign's `maxLayers`, 1,000): a manifest with more is
/// refused before any of its blobs is fetched.
pub(crate) const MAX_SIGNATURE_LAYERS: usize = 1000;
/// The largest signature blob (a simple-signing payload, or a Sigstore bundle) read: 4 MiB.
pub(crate) const MAX_SIGNATURE_BLOB: u64 = 4 << 20;

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
    media_type: &str,
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
        media_type,
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
    rmw::read::<SigManifest>(registry, &image.signature_ref(digest)).await
}

/// Parses a signature manifest read from `sig_ref`, refusing more than [`MAX_SIGNATURE_LAYERS`] layers.
fn parse(bytes: &[u8], sig_ref: &ImageRef) -> Result<SigManifest, OciError> {
    let parsed: SigManifest = serde_json::from_slice(bytes).map_err(|e| OciError::Malformed {
        what: "the signature manifest",
        reference: sig_ref.to_string(),
        reason: e.to_string(),
    })?;
    if parsed.layers.len() > MAX_SIGNATURE_LAYERS {
        return Err(OciError::TooLarge {
            what: "the signature manifest's layer list",
            reference: sig_ref.to_string(),
            limit: MAX_SIGNATURE_LAYERS as u64,
            limit_name: "MAX_SIGNATURE_LAYERS",
        });
    }
    Ok(parsed)
}

/// What [`commit`] did.
#[derive(Debug, Clone)]
pub(crate) struct Attached {
    /// the `.sig` reference written
    pub(crate) signature_ref: ImageRef,
    /// false when an identical signature was already there
    pub(crate) added: bool,
    /// signature layers in the manifest afterwards
    pub(crate) layers: usize,
}

/// What [`prepare`] did before the signature existed: the payload uploaded, the first read of the
/// `.sig` manifest, and (when that read found none) the config of a manifest holding only our layer
/// uploaded.
#[derive(Debug)]
pub(crate) struct Prepared {
    sig_ref: ImageRef,
    payload_digest: String,
    first: rmw::Read<SigManifest>,
}

/// The part of adding a signature to `digest` in `image`'s repository that needs no signature, so
/// that it runs while the signature is made (the key decrypted, Fulcio and Rekor asked): the payload
/// upload side by side with the first read of the `.sig` manifest, then, when that read found none,
/// the upload of the config a first signature's manifest names (it depends only on the payload's
/// digest). [`commit`] does the rest.
///
/// Requests on a registry without auth: `GET` `.sig` (404) beside the payload upload (one request on a
/// registry taking one-request uploads, else `POST` → `202` + `PUT`), then the config upload (one or
/// two): 3 to 5 (fewer for blobs this run already uploaded there).
pub(crate) async fn prepare(
    registry: &Registry,
    image: &ImageRef,
    digest: &str,
    payload: &[u8],
) -> Result<Prepared, OciError> {
    let sig_ref = image.signature_ref(digest);
    let (payload_digest, first) = tokio::join!(registry.push_blob(image, payload), async {
        let first = rmw::Read::<SigManifest>::now(registry, &sig_ref).await?;
        if first.doc.is_none() {
            registry
                .push_blob(image, &config_blob(&[super::sha256_digest(payload)]))
                .await?;
        }
        Ok::<_, OciError>(first)
    });
    Ok(Prepared {
        sig_ref,
        payload_digest: payload_digest?,
        first: first?,
    })
}

/// Adds `layer` (whose payload [`prepare`] uploaded) to the signatures of `digest` in `image`'s
/// repository, by the race-safe read-modify-write of [`super::rmw`]. `is_duplicate` is asked about
/// each existing signature layer whose payload equals ours (with its annotations) and says whether it
/// counts as this same signature already (e.g. it verifies with the signer's key).
///
/// Media types: an existing `.sig` manifest keeps its own (Docker or OCI, manifest and config alike,
/// as cosign's `mutate.Append` keeps them); a new one is OCI, or Docker with `docker_media_types`
/// (cosign's `COSIGN_DOCKER_MEDIA_TYPES=1`: manifest
/// `application/vnd.docker.distribution.manifest.v2+json`, config
/// `application/vnd.docker.container.image.v1+json`; cosign `pkg/oci/mediatypes.go`).
///
/// Requests for a first signature, after [`prepare`]'s: the confirming `GET` `.sig` (404; it is also
/// the base of the write, read just before it), `PUT` `.sig`, and after the settling window one `GET`
/// `.sig` ([`super::rmw`] says why each read stays): 3, in 2 round trips plus the window.
pub(crate) async fn commit(
    registry: &Registry,
    image: &ImageRef,
    prepared: Prepared,
    layer: &SignatureLayer,
    is_duplicate: &(dyn Fn(&BTreeMap<String, String>) -> bool + Send + Sync),
    docker_media_types: bool,
) -> Result<Attached, OciError> {
    let Prepared {
        sig_ref,
        payload_digest,
        first,
    } = prepared;
    if super::sha256_digest(&layer.payload) != payload_digest {
        return Err(OciError::Malformed {
            what: "the signature layer",
            reference: sig_ref.to_string(),
            reason: "its payload is not the one prepared".into(),
        });
    }
    let ours = Descriptor {
        media_type: SIMPLE_SIGNING_MEDIA_TYPE.into(),
        size: layer.payload.len() as u64,
        digest: payload_digest.clone(),
        annotations: Some(layer.annotations()),
        extra: serde_json::Map::new(),
    };
    let ours_check = ours.clone();
    let present = move |m: &SigManifest| {
        m.layers.iter().any(|l| {
            same_layer(l, &ours_check)
                || (l.media_type == SIMPLE_SIGNING_MEDIA_TYPE
                    && l.digest == ours_check.digest
                    && l.annotations.as_ref().is_some_and(is_duplicate))
        })
    };
    let tag = sig_ref.clone();
    let build = move |current: Option<&SigManifest>, layers: Vec<Descriptor>| -> rmw::Build<'_> {
        let (manifest_type, config_type) = match current {
            Some(m) if m.media_type.as_deref() == Some(DOCKER_MANIFEST) => {
                (DOCKER_MANIFEST, m.config.media_type.clone())
            }
            Some(m) => (OCI_MANIFEST, m.config.media_type.clone()),
            None if docker_media_types => (DOCKER_MANIFEST, DOCKER_CONFIG.to_string()),
            None => (OCI_MANIFEST, OCI_CONFIG.to_string()),
        };
        let extra = current.map(|m| m.extra.clone()).unwrap_or_default();
        let tag = tag.clone();
        Box::pin(async move {
            if layers.len() > MAX_SIGNATURE_LAYERS {
                return Err(OciError::TooLarge {
                    what: "the signature manifest to write",
                    reference: tag.to_string(),
                    limit: MAX_SIGNATURE_LAYERS as u64,
                    limit_name: "MAX_SIGNATURE_LAYERS",
                });
            }
            let diff_ids: Vec<String> = layers.iter().map(|l| l.digest.clone()).collect();
            let config = config_blob(&diff_ids);
            let config_digest = registry.push_blob(image, &config).await?;
            let config_desc = Descriptor {
                media_type: config_type,
                size: config.len() as u64,
                digest: config_digest,
                annotations: None,
                extra: serde_json::Map::new(),
            };
            let bytes =
                manifest_bytes(manifest_type, &config_desc, &layers, &extra).map_err(|e| {
                    OciError::Malformed {
                        what: "the new signature manifest",
                        reference: tag.to_string(),
                        reason: e.to_string(),
                    }
                })?;
            Ok((bytes, manifest_type.to_string()))
        })
    };
    let updated =
        rmw::update::<SigManifest>(registry, &sig_ref, Some(first), None, ours, present, build)
            .await?;
    Ok(Attached {
        signature_ref: sig_ref,
        added: updated.added,
        layers: updated.entries,
    })
}

impl rmw::Doc for SigManifest {
    type Entry = Descriptor;
    fn parse(bytes: &[u8], _media_type: &str, tag: &ImageRef) -> Result<Self, OciError> {
        parse(bytes, tag)
    }
    fn entries(&self) -> &[Descriptor] {
        &self.layers
    }
    fn same(a: &Descriptor, b: &Descriptor) -> bool {
        same_layer(a, b)
    }
    fn id(e: &Descriptor) -> String {
        e.digest.clone()
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
        let out = manifest_bytes(OCI_MANIFEST, &m.config, &m.layers, &m.extra).unwrap();
        let again: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            again,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
        assert!(String::from_utf8(out).unwrap().starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"#));
    }

    #[test]
    fn more_than_cosigns_layer_limit_is_refused_naming_it() {
        let tag: ImageRef = "127.0.0.1:5000/a/b:sha256-00.sig".parse().unwrap();
        let layer = r#"{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":1,"digest":"sha256:00"}"#;
        let manifest = |n: usize| {
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"x","size":1,"digest":"sha256:00"}},"layers":[{}]}}"#,
                vec![layer; n].join(",")
            )
        };
        assert_eq!(
            parse(manifest(MAX_SIGNATURE_LAYERS).as_bytes(), &tag)
                .unwrap()
                .layers
                .len(),
            1000
        );
        let err = parse(manifest(MAX_SIGNATURE_LAYERS + 1).as_bytes(), &tag).unwrap_err();
        assert!(err.to_string().contains("MAX_SIGNATURE_LAYERS"), "{err}");
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

    fn desc(digest: &str, ann: &[(&str, &str)]) -> Descriptor {
        Descriptor {
            media_type: SIMPLE_SIGNING_MEDIA_TYPE.into(),
            size: 1,
            digest: digest.into(),
            annotations: Some(
                ann.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            extra: serde_json::Map::new(),
        }
    }

    #[test]
    fn a_layer_is_the_same_one_with_the_same_digest_and_annotations_only() {
        let a = desc("sha256:aa", &[(ANN_SIGNATURE, "c2ln")]);
        assert!(same_layer(&a, &a.clone()));
        assert!(!same_layer(
            &a,
            &desc("sha256:bb", &[(ANN_SIGNATURE, "c2ln")])
        ));
        assert!(!same_layer(
            &a,
            &desc("sha256:aa", &[(ANN_SIGNATURE, "b3RoZXI=")])
        ));
        // what the read-modify-write of the `.sig` manifest sees of it
        let tag: ImageRef = "127.0.0.1:5000/a/b:sha256-00.sig".parse().unwrap();
        let two = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"x","size":1,"digest":"sha256:00"}},"layers":[{},{}]}}"#,
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&desc("sha256:bb", &[])).unwrap()
        );
        let m = <SigManifest as rmw::Doc>::parse(two.as_bytes(), OCI_MANIFEST, &tag).unwrap();
        let entries = <SigManifest as rmw::Doc>::entries(&m);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], a);
        assert!(<SigManifest as rmw::Doc>::same(&entries[0], &a));
        assert!(!<SigManifest as rmw::Doc>::same(&entries[0], &entries[1]));
        assert_eq!(<SigManifest as rmw::Doc>::id(&entries[1]), "sha256:bb");
        let many = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"x","size":1,"digest":"sha256:00"}},"layers":[{}]}}"#,
            vec![serde_json::to_string(&a).unwrap(); MAX_SIGNATURE_LAYERS + 1].join(",")
        );
        let e = <SigManifest as rmw::Doc>::parse(many.as_bytes(), OCI_MANIFEST, &tag).unwrap_err();
        assert!(e.to_string().contains("MAX_SIGNATURE_LAYERS"), "{e}");
    }

    /// Against a registry in memory ([`crate::oci::memory`]): what `prepare` and `commit` write.
    mod against_a_registry {
        use super::*;
        use crate::oci::memory::Memory;
        use crate::oci::RegistryOptions;

        const DIGEST: &str =
            "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        const SIG_TAG: &str =
            "sha256-1111111111111111111111111111111111111111111111111111111111111111.sig";

        fn client() -> Registry {
            Registry::new(RegistryOptions::default())
                .unwrap()
                .for_image(true)
        }

        async fn attach(
            reg: &Memory,
            layer: &SignatureLayer,
            duplicate: bool,
            docker: bool,
        ) -> Result<Attached, OciError> {
            let (registry, image) = (client(), reg.image("app:v1"));
            let prepared = prepare(&registry, &image, DIGEST, &layer.payload).await?;
            commit(
                &registry,
                &image,
                prepared,
                layer,
                &move |_| duplicate,
                docker,
            )
            .await
        }

        fn written(reg: &Memory) -> (String, serde_json::Value) {
            let (media_type, bytes) = reg.manifest("app", SIG_TAG).unwrap();
            (media_type, serde_json::from_slice(&bytes).unwrap())
        }

        #[tokio::test]
        async fn a_first_signature_makes_the_manifest_and_is_read_back() {
            let reg = Memory::start();
            let mut layer = SignatureLayer::new(b"payload one".to_vec(), "c2lnMQ==".into());
            layer.bundle = Some("{}".into());
            let a = attach(&reg, &layer, false, false).await.unwrap();
            assert!(a.added);
            assert_eq!(a.layers, 1);
            assert_eq!(
                a.signature_ref.to_string(),
                format!("{}/app:{SIG_TAG}", reg.host)
            );
            let (media_type, m) = written(&reg);
            assert_eq!(media_type, OCI_MANIFEST);
            assert_eq!(m["mediaType"], OCI_MANIFEST);
            assert_eq!(m["config"]["mediaType"], OCI_CONFIG);
            let payload_digest = crate::oci::sha256_digest(b"payload one");
            assert_eq!(
                m["layers"],
                serde_json::json!([{
                    "mediaType": SIMPLE_SIGNING_MEDIA_TYPE,
                    "size": 11,
                    "digest": payload_digest,
                    "annotations": {ANN_SIGNATURE: "c2lnMQ==", ANN_BUNDLE: "{}"},
                }])
            );
            // the config go-containerregistry would write for it, uploaded
            let config = config_blob(std::slice::from_ref(&payload_digest));
            assert_eq!(m["config"]["size"], config.len());
            assert_eq!(m["config"]["digest"], crate::oci::sha256_digest(&config));
            // read as `verify` reads it
            let back = read(&client(), &reg.image("app:v1"), DIGEST)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(back.signature_layers().count(), 1);
            assert_eq!(back.layers[0].digest, payload_digest);
            assert!(
                read(&client(), &reg.image("app:v1"), &DIGEST.replace('1', "2"))
                    .await
                    .unwrap()
                    .is_none()
            );
        }

        #[tokio::test]
        async fn a_second_signature_is_appended_and_the_same_one_is_not_added_twice() {
            let reg = Memory::start();
            let one = SignatureLayer::new(b"payload".to_vec(), "c2lnMQ==".into());
            let two = SignatureLayer::new(b"payload".to_vec(), "c2lnMg==".into());
            attach(&reg, &one, false, false).await.unwrap();
            let a = attach(&reg, &two, false, false).await.unwrap();
            assert!(a.added);
            assert_eq!(a.layers, 2);
            let (_, m) = written(&reg);
            let sigs: Vec<&serde_json::Value> = m["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| &l["annotations"][ANN_SIGNATURE])
                .collect();
            assert_eq!(sigs, ["c2lnMQ==", "c2lnMg=="]);
            // the config names both layers
            assert_eq!(
                m["config"]["size"],
                config_blob(&[
                    crate::oci::sha256_digest(b"payload"),
                    crate::oci::sha256_digest(b"payload")
                ])
                .len()
            );
            let puts = |reg: &Memory| {
                reg.requests()
                    .iter()
                    .filter(|r| r.starts_with("PUT ") && r.contains("/manifests/"))
                    .count()
            };
            let before = puts(&reg);
            // the identical layer, and one the caller counts as the same signature: nothing written
            let again = attach(&reg, &two, false, false).await.unwrap();
            assert!(!again.added);
            assert_eq!(again.layers, 2);
            let same = SignatureLayer::new(b"payload".to_vec(), "c2lnMw==".into());
            let dup = attach(&reg, &same, true, false).await.unwrap();
            assert!(!dup.added);
            assert_eq!(puts(&reg), before);
            // not a duplicate for the caller: added
            assert!(attach(&reg, &same, false, false).await.unwrap().added);
            // the caller is asked only about layers with our payload
            let other = SignatureLayer::new(b"other payload".to_vec(), "c2lnNA==".into());
            assert!(attach(&reg, &other, true, false).await.unwrap().added);
            assert_eq!(written(&reg).1["layers"].as_array().unwrap().len(), 4);
        }

        #[tokio::test]
        async fn media_types_are_kept_or_chosen_and_other_fields_kept() {
            let reg = Memory::start();
            let layer = SignatureLayer::new(b"p".to_vec(), "c2ln".into());
            attach(&reg, &layer, false, true).await.unwrap();
            let (media_type, m) = written(&reg);
            assert_eq!(media_type, DOCKER_MANIFEST);
            assert_eq!(m["mediaType"], DOCKER_MANIFEST);
            assert_eq!(m["config"]["mediaType"], DOCKER_CONFIG);
            // an existing manifest keeps its types and its other fields, whatever is asked
            let reg = Memory::start();
            let existing = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/x-own-config", "size": 2, "digest": reg.put_blob(b"{}")},
                "layers": [],
                "annotations": {"k": "v"},
            });
            reg.put_manifest(
                "app",
                SIG_TAG,
                OCI_MANIFEST,
                existing.to_string().as_bytes(),
            );
            attach(&reg, &layer, false, true).await.unwrap();
            let (media_type, m) = written(&reg);
            assert_eq!(media_type, OCI_MANIFEST);
            assert_eq!(m["config"]["mediaType"], "application/x-own-config");
            assert_eq!(m["annotations"], serde_json::json!({"k": "v"}));
            let mut docker = existing.clone();
            docker["mediaType"] = DOCKER_MANIFEST.into();
            reg.put_manifest(
                "app",
                SIG_TAG,
                DOCKER_MANIFEST,
                docker.to_string().as_bytes(),
            );
            let other = SignatureLayer::new(b"q".to_vec(), "c2ln".into());
            attach(&reg, &other, false, false).await.unwrap();
            let (media_type, m) = written(&reg);
            assert_eq!(media_type, DOCKER_MANIFEST);
            assert_eq!(m["config"]["mediaType"], "application/x-own-config");
            assert_eq!(m["layers"].as_array().unwrap().len(), 1);
        }

        #[tokio::test]
        async fn a_layer_whose_payload_was_not_the_one_prepared_is_refused() {
            let reg = Memory::start();
            let (registry, image) = (client(), reg.image("app:v1"));
            let prepared = prepare(&registry, &image, DIGEST, b"prepared")
                .await
                .unwrap();
            let layer = SignatureLayer::new(b"another".to_vec(), "c2ln".into());
            let e = commit(&registry, &image, prepared, &layer, &|_| false, false)
                .await
                .unwrap_err();
            assert!(
                e.to_string()
                    .contains("its payload is not the one prepared"),
                "{e}"
            );
            assert!(reg.manifest("app", SIG_TAG).is_none());
        }

        #[tokio::test]
        async fn a_manifest_takes_signatures_up_to_cosigns_layer_limit() {
            let reg = Memory::start();
            let full = |n: usize| {
                let layers: Vec<Descriptor> = (0..n)
                    .map(|i| desc(&crate::oci::sha256_digest(i.to_string().as_bytes()), &[]))
                    .collect();
                serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "size": 2, "digest": reg.put_blob(b"{}")},
                    "layers": layers,
                })
                .to_string()
            };
            let layer = SignatureLayer::new(b"p".to_vec(), "c2ln".into());
            reg.put_manifest(
                "app",
                SIG_TAG,
                OCI_MANIFEST,
                full(MAX_SIGNATURE_LAYERS - 1).as_bytes(),
            );
            let a = attach(&reg, &layer, false, false).await.unwrap();
            assert_eq!(a.layers, MAX_SIGNATURE_LAYERS);
            reg.put_manifest(
                "app",
                SIG_TAG,
                OCI_MANIFEST,
                full(MAX_SIGNATURE_LAYERS).as_bytes(),
            );
            let e = attach(&reg, &layer, false, false).await.unwrap_err();
            assert!(e.to_string().contains("MAX_SIGNATURE_LAYERS"), "{e}");
        }

        #[tokio::test]
        async fn a_signature_blob_is_read_up_to_its_limit() {
            assert_eq!(MAX_SIGNATURE_BLOB, 4 * 1024 * 1024);
            let reg = Memory::start();
            let (registry, image) = (client(), reg.image("app:v1"));
            let payload = vec![b'x'; 1000];
            let digest = reg.put_blob(&payload);
            let got = registry
                .get_blob(
                    &image,
                    &digest,
                    1000,
                    MAX_SIGNATURE_BLOB,
                    "MAX_SIGNATURE_BLOB",
                )
                .await
                .unwrap();
            assert_eq!(got, payload);
            let e = registry
                .get_blob(
                    &image,
                    &digest,
                    MAX_SIGNATURE_BLOB + 1,
                    MAX_SIGNATURE_BLOB,
                    "MAX_SIGNATURE_BLOB",
                )
                .await
                .unwrap_err();
            assert!(e.to_string().contains("MAX_SIGNATURE_BLOB"), "{e}");
        }
    }
}
