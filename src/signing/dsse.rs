//! DSSE (Dead Simple Signing Envelope, <https://github.com/secure-systems-lab/dsse>, `envelope.md` and
//! `protocol.md`): the pre-authentication encoding a signature covers, and the envelope as JSON.
//!
//! The envelope's JSON is what cosign v3 writes inside a Sigstore bundle (`dsseEnvelope`) and proposes to
//! Rekor as a `dsse` entry's `envelope` string (Go `encoding/json` of the protobuf struct): fields
//! `payload`, `payloadType`, `signatures` in that order, bytes as standard base64, `keyid` left out when
//! empty (docs/cosign-bundle-layout.md §1.2, §1.3).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The payload type of an in-toto statement.
pub(crate) const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The bytes a DSSE signature covers: `DSSEv1 <len(type)> <type> <len(payload)> <payload>` (lengths in
/// ASCII decimal, one space between fields) — sigstore-types' implementation, the one its verifier uses.
pub(crate) use sigstore_verify::types::pae;

/// One signature of an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EnvelopeSignature {
    /// base64 signature over the PAE (ASN.1 DER for ECDSA)
    pub(crate) sig: String,
    /// optional key identifier (cosign leaves it out)
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) keyid: String,
}

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope {
    /// base64 payload
    pub(crate) payload: String,
    /// the payload's type (`application/vnd.in-toto+json`)
    pub(crate) payload_type: String,
    /// at least one
    pub(crate) signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// An envelope for `payload` with one DER signature over its PAE.
    pub(crate) fn new(payload_type: &str, payload: &[u8], signature: &[u8]) -> Self {
        Envelope {
            payload: B64.encode(payload),
            payload_type: payload_type.to_string(),
            signatures: vec![EnvelopeSignature {
                sig: B64.encode(signature),
                keyid: String::new(),
            }],
        }
    }

    /// The envelope as compact JSON (cosign's field order).
    pub(crate) fn to_json(&self) -> String {
        // Serializing strings and a list of structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_follows_the_dsse_protocol() {
        // The example of DSSE's protocol.md.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn envelope_json_has_cosigns_shape() {
        let e = Envelope::new(IN_TOTO_PAYLOAD_TYPE, b"{}", &[1, 2, 3]);
        assert_eq!(
            e.to_json(),
            r#"{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AQID"}]}"#
        );
        let back: Envelope = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(back, e);
        assert_eq!(B64.decode(back.payload).unwrap(), b"{}");
    }
}
