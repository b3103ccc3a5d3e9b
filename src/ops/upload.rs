//! `upload blob -f FILE REF`: pushes a file as a one-layer OCI artifact (as cosign does), so that it
//! can be signed like an image.

use crate::error::Error;
use crate::gha::Ui;
use crate::oci::layout;
use crate::oci::{
    sha256_digest, ImageRef, OciError, Registry, RegistryOptions, OCI_CONFIG, OCI_MANIFEST,
};
use std::path::PathBuf;

/// `upload blob`.
#[derive(Debug)]
pub(crate) struct UploadBlob {
    /// the file
    pub(crate) file: PathBuf,
    /// where to push it (a tag, or `latest`)
    pub(crate) image: ImageRef,
    /// the layer media type, when given
    pub(crate) content_type: Option<String>,
    /// registry access
    pub(crate) registry: RegistryOptions,
}

/// What `upload blob` pushed.
#[derive(Debug, Clone)]
pub(crate) struct UploadReport {
    /// `REF@sha256:…` of the artifact's manifest
    pub(crate) reference: String,
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
pub(crate) async fn upload_blob(req: &UploadBlob, ui: &mut Ui) -> Result<UploadReport, Error> {
    let data = std::fs::read(&req.file).map_err(|source| Error::Read {
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
    Ok(UploadReport {
        reference: req.image.with_digest(&digest).to_string(),
    })
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
}
