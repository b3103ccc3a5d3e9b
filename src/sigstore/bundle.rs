//! The Sigstore bundle (v0.1–v0.3 read, v0.3 written) and cosign's older blob bundle.
//!
//! Field names and encodings follow the protobuf JSON mapping: camelCase, bytes as standard base64,
//! 64-bit integers as strings.

use crate::signing::dsse::Envelope;
use crate::signing::PublicKey;
use serde::{Deserialize, Serialize};

/// The media type ferrosign writes.
pub(crate) const MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// A Sigstore bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Bundle {
    /// `application/vnd.dev.sigstore.bundle[.v0.3]+json` (or `…;version=0.x`)
    pub(crate) media_type: String,
    /// key or certificate, log entries, timestamps
    pub(crate) verification_material: VerificationMaterial,
    /// a plain signature over a message digest
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message_signature: Option<MessageSignature>,
    /// a DSSE envelope (attestations, and cosign v3's image signatures)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dsse_envelope: Option<Envelope>,
}

/// `publicKey.hint` as cosign v3 writes it for a key: base64 of the SHA-256 of the key's PKIX DER
/// (cosign `internal/key/svkeypair.go` `NewSignerVerifierKeypair`; docs/cosign-bundle-layout.md §1.2).
pub(crate) fn key_hint(key: &PublicKey) -> String {
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;
    use sha2::Digest;
    B64.encode(sha2::Sha256::digest(key.to_der()))
}

impl Bundle {
    /// A v0.3 bundle for a signature over a digest (`messageSignature` with its digest and algorithm:
    /// `SHA2_256`, or `SHA2_384`/`SHA2_512` as cosign signs with P-384/P-521 keys).
    pub(crate) fn for_digest(
        material: VerificationMaterial,
        digest: &crate::signing::Digest,
        signature: &[u8],
    ) -> Self {
        use base64::engine::general_purpose::STANDARD as B64;
        use base64::Engine;
        Bundle {
            media_type: MEDIA_TYPE_V03.into(),
            verification_material: material,
            message_signature: Some(MessageSignature {
                message_digest: Some(HashOutput {
                    algorithm: digest.alg.bundle_name().into(),
                    digest: B64.encode(&digest.bytes),
                }),
                signature: B64.encode(signature),
            }),
            dsse_envelope: None,
        }
    }
}

impl Bundle {
    /// A v0.3 bundle for a DSSE envelope (cosign v3's image signatures): `mediaType`,
    /// `verificationMaterial`, `dsseEnvelope`, in that order.
    pub(crate) fn for_envelope(material: VerificationMaterial, envelope: &Envelope) -> Self {
        Bundle {
            media_type: MEDIA_TYPE_V03.into(),
            verification_material: material,
            message_signature: None,
            dsse_envelope: Some(envelope.clone()),
        }
    }

    /// Compact JSON.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        // Strings, lists and JSON values: serializing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// How to verify the signature.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerificationMaterial {
    /// a hint naming the key (key-based signing)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) public_key: Option<PublicKeyIdentifier>,
    /// the signing certificate (v0.3)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) certificate: Option<X509Certificate>,
    /// the certificate chain, leaf first (v0.1, v0.2)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) x509_certificate_chain: Option<X509CertificateChain>,
    /// transparency log entries
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tlog_entries: Vec<serde_json::Value>,
    /// RFC 3161 timestamps
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) timestamp_verification_data: Option<serde_json::Value>,
}

/// `publicKey.hint`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PublicKeyIdentifier {
    /// free-form key identifier
    #[serde(default)]
    pub(crate) hint: String,
}

/// A DER certificate, base64.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct X509Certificate {
    /// base64 DER
    pub(crate) raw_bytes: String,
}

/// A certificate chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct X509CertificateChain {
    /// leaf first
    pub(crate) certificates: Vec<X509Certificate>,
}

/// A signature over a message digest.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageSignature {
    /// the digest that was signed (optional in the spec)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message_digest: Option<HashOutput>,
    /// base64 signature
    pub(crate) signature: String,
}

/// A digest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct HashOutput {
    /// `SHA2_256`
    pub(crate) algorithm: String,
    /// base64 digest
    pub(crate) digest: String,
}

/// cosign's older blob bundle (`cosign sign-blob --bundle` before the Sigstore bundle format).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LegacyBundle {
    /// base64 signature
    pub(crate) base64_signature: String,
    /// base64 of the certificate PEM (keyless)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cert: Option<String>,
    /// the Rekor bundle
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rekor_bundle: Option<serde_json::Value>,
}

#[cfg(test)]
mod hint {
    use super::*;

    #[test]
    fn a_key_hint_is_the_base64_sha256_of_the_keys_der() {
        // `openssl pkey -pubin -in key.pub -outform DER | openssl dgst -sha256 -binary | base64`
        // for the fixture key (src/sigstore/testdata/rekor_v2/key.pub).
        let key = crate::sigstore::fixtures::key();
        assert_eq!(
            key_hint(&key),
            "E53Jm7B09F0Xy9ZH5ktnQyURV84cPaOwCLurP05MUNY="
        );
    }
}
