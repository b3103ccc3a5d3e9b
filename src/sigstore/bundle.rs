//! The Sigstore bundle (v0.1–v0.3 read, v0.3 written) and cosign's older blob bundle.
//!
//! Field names and encodings follow the protobuf JSON mapping: camelCase, bytes as standard base64,
//! 64-bit integers as strings.

use serde::{Deserialize, Serialize};

/// The media type ferrosign writes.
pub const MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// A Sigstore bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// `application/vnd.dev.sigstore.bundle[.v0.3]+json` (or `…;version=0.x`)
    pub media_type: String,
    /// key or certificate, log entries, timestamps
    pub verification_material: VerificationMaterial,
    /// a plain signature over a message digest
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<MessageSignature>,
    /// a DSSE envelope (attestations)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<serde_json::Value>,
}

/// How to verify the signature.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// a hint naming the key (key-based signing)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    /// the signing certificate (v0.3)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<X509Certificate>,
    /// the certificate chain, leaf first (v0.1, v0.2)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<X509CertificateChain>,
    /// transparency log entries
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlog_entries: Vec<serde_json::Value>,
    /// RFC 3161 timestamps
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<serde_json::Value>,
}

/// `publicKey.hint`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublicKeyIdentifier {
    /// free-form key identifier
    #[serde(default)]
    pub hint: String,
}

/// A DER certificate, base64.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509Certificate {
    /// base64 DER
    pub raw_bytes: String,
}

/// A certificate chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct X509CertificateChain {
    /// leaf first
    pub certificates: Vec<X509Certificate>,
}

/// A signature over a message digest.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSignature {
    /// the digest that was signed (optional in the spec)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_digest: Option<HashOutput>,
    /// base64 signature
    pub signature: String,
}

/// A digest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HashOutput {
    /// `SHA2_256`
    pub algorithm: String,
    /// base64 digest
    pub digest: String,
}

/// cosign's older blob bundle (`cosign sign-blob --bundle` before the Sigstore bundle format).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyBundle {
    /// base64 signature
    pub base64_signature: String,
    /// base64 of the certificate PEM (keyless)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// the Rekor bundle
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekor_bundle: Option<serde_json::Value>,
}

/// A bundle of either kind, as read from a file.
#[derive(Clone, Debug)]
pub enum AnyBundle {
    /// a Sigstore bundle
    Sigstore(Bundle),
    /// cosign's older format
    Legacy(LegacyBundle),
}

/// Parses either bundle format.
pub fn parse(bytes: &[u8]) -> Result<AnyBundle, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("mediaType").is_some() {
        let b: Bundle =
            serde_json::from_value(v).map_err(|e| format!("not a Sigstore bundle: {e}"))?;
        if !b
            .media_type
            .starts_with("application/vnd.dev.sigstore.bundle")
        {
            return Err(format!("unknown bundle media type `{}`", b.media_type));
        }
        Ok(AnyBundle::Sigstore(b))
    } else if v.get("base64Signature").is_some() {
        serde_json::from_value(v)
            .map(AnyBundle::Legacy)
            .map_err(|e| format!("not a cosign bundle: {e}"))
    } else {
        Err(
            "neither a Sigstore bundle (no mediaType) nor a cosign bundle (no base64Signature)"
                .into(),
        )
    }
}
