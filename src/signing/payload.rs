//! The simple-signing payload cosign signs for a container image, byte for byte as cosign writes it
//! (Go's `encoding/json`: struct fields in declaration order, map keys sorted, `<`, `>`, `&`, U+2028 and
//! U+2029 escaped as `\u003c`…), and the `-a key=value` annotations that go in its `optional` part.

use std::collections::BTreeMap;

/// `critical.type` of an image signature.
pub(crate) const COSIGN_SIGNATURE_TYPE: &str = "cosign container image signature";

/// What can be wrong with annotations or a payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PayloadError {
    /// An `-a` value that is not `key=value` (or not a CSV record, as cosign reads `-a`).
    #[error("invalid annotation `{0}`: expected key=value")]
    Annotation(String),
    /// A payload that is not cosign's simple-signing JSON.
    #[error("the signed payload is not a cosign image signature payload: {0}")]
    Malformed(String),
}

impl PayloadError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            PayloadError::Annotation(_) => Some(
                "write each annotation as -a key=value (split at the first `=`; several may be comma-separated: -a a=1,b=2; quote one whose value has commas: -a '\"k=a,b\"')".into(),
            ),
            PayloadError::Malformed(_) => None,
        }
    }
}

/// A simple-signing payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SimpleSigning {
    /// `critical.identity.docker-reference`: the repository (cosign: without tag or digest)
    pub(crate) docker_reference: String,
    /// `critical.image.docker-manifest-digest`
    pub(crate) manifest_digest: String,
    /// `critical.type`
    pub(crate) kind: String,
    /// `optional`: the annotations (`null` when there are none); values are usually strings
    pub(crate) optional: Option<BTreeMap<String, serde_json::Value>>,
}

impl SimpleSigning {
    /// The payload cosign would sign for `docker_reference@digest` with these annotations.
    pub(crate) fn new(
        docker_reference: &str,
        digest: &str,
        annotations: &BTreeMap<String, String>,
    ) -> Self {
        SimpleSigning {
            docker_reference: docker_reference.to_string(),
            manifest_digest: digest.to_string(),
            kind: COSIGN_SIGNATURE_TYPE.to_string(),
            optional: if annotations.is_empty() {
                None
            } else {
                Some(
                    annotations
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect(),
                )
            },
        }
    }

    /// The exact bytes cosign writes.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::with_capacity(256);
        s.push_str("{\"critical\":{\"identity\":{\"docker-reference\":");
        go_string(&mut s, &self.docker_reference);
        s.push_str("},\"image\":{\"docker-manifest-digest\":");
        go_string(&mut s, &self.manifest_digest);
        s.push_str("},\"type\":");
        go_string(&mut s, &self.kind);
        s.push_str("},\"optional\":");
        match &self.optional {
            None => s.push_str("null"),
            Some(map) => go_object(&mut s, map),
        }
        s.push('}');
        s.into_bytes()
    }

    /// Parses a payload as cosign does (the type must be cosign's).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, PayloadError> {
        #[derive(serde::Deserialize)]
        struct Raw {
            critical: Critical,
            #[serde(default)]
            optional: Option<BTreeMap<String, serde_json::Value>>,
        }
        #[derive(serde::Deserialize)]
        struct Critical {
            identity: Identity,
            image: Image,
            #[serde(rename = "type")]
            kind: String,
        }
        #[derive(serde::Deserialize)]
        struct Identity {
            #[serde(rename = "docker-reference", default)]
            docker_reference: String,
        }
        #[derive(serde::Deserialize)]
        struct Image {
            #[serde(rename = "docker-manifest-digest", default)]
            docker_manifest_digest: String,
        }
        let raw: Raw =
            serde_json::from_slice(bytes).map_err(|e| PayloadError::Malformed(e.to_string()))?;
        if raw.critical.kind != COSIGN_SIGNATURE_TYPE {
            return Err(PayloadError::Malformed(format!(
                "unknown type `{}`",
                raw.critical.kind
            )));
        }
        Ok(SimpleSigning {
            docker_reference: raw.critical.identity.docker_reference,
            manifest_digest: raw.critical.image.docker_manifest_digest,
            kind: raw.critical.kind,
            optional: raw.optional,
        })
    }

    /// True when every wanted annotation is present with the same string value (cosign's check).
    pub(crate) fn has_annotations(&self, wanted: &BTreeMap<String, String>) -> bool {
        wanted.iter().all(|(k, v)| {
            self.optional
                .as_ref()
                .and_then(|o| o.get(k))
                .is_some_and(|have| have.as_str() == Some(v.as_str()))
        })
    }
}

/// Writes `v` as Go's `encoding/json` does (HTML-safe escaping).
fn go_string(out: &mut String, v: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20
                || c == '<'
                || c == '>'
                || c == '&'
                || c == '\u{2028}'
                || c == '\u{2029}' =>
            {
                let n = c as u32;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((n >> shift) & 0xf) as usize] as char);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn go_object(out: &mut String, map: &BTreeMap<String, serde_json::Value>) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        go_string(out, k);
        out.push(':');
        go_value(out, v);
    }
    out.push('}');
}

fn go_value(out: &mut String, v: &serde_json::Value) {
    match v {
        serde_json::Value::String(s) => go_string(out, s),
        serde_json::Value::Object(m) => {
            let sorted: BTreeMap<String, serde_json::Value> =
                m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            go_object(out, &sorted);
        }
        serde_json::Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_value(out, x);
            }
            out.push(']');
        }
        // null, booleans and numbers: serde_json's text (Go differs only for some floats).
        other => out.push_str(&other.to_string()),
    }
}

/// Several payloads as the JSON array `cosign verify` prints.
pub(crate) fn to_json_array(payloads: &[SimpleSigning]) -> String {
    let mut out = String::from("[");
    for (i, p) in payloads.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&String::from_utf8_lossy(&p.to_bytes()));
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:7f0ff2c0842593da78b7d07c8dacbff76a389b977ea92bff556914c197b5d999";

    #[test]
    fn byte_exact_with_cosign_v2() {
        // Written by `cosign sign -a foo=bar -a 'x=<&>'` (v2.6.5) against a local registry.
        let want = r#"{"critical":{"identity":{"docker-reference":"127.0.0.1:5555/demo/app"},"image":{"docker-manifest-digest":"sha256:7f0ff2c0842593da78b7d07c8dacbff76a389b977ea92bff556914c197b5d999"},"type":"cosign container image signature"},"optional":{"foo":"bar","x":"\u003c\u0026\u003e"}}"#;
        let ann = map(&[("x", "<&>"), ("foo", "bar")]);
        let p = SimpleSigning::new("127.0.0.1:5555/demo/app", D, &ann);
        assert_eq!(String::from_utf8(p.to_bytes()).unwrap(), want);
        assert_eq!(SimpleSigning::parse(want.as_bytes()).unwrap(), p);
        // And without annotations: `"optional":null`.
        let want = r#"{"critical":{"identity":{"docker-reference":"127.0.0.1:5555/demo/app"},"image":{"docker-manifest-digest":"sha256:7f0ff2c0842593da78b7d07c8dacbff76a389b977ea92bff556914c197b5d999"},"type":"cosign container image signature"},"optional":null}"#;
        let p = SimpleSigning::new("127.0.0.1:5555/demo/app", D, &BTreeMap::new());
        assert_eq!(String::from_utf8(p.to_bytes()).unwrap(), want);
    }

    #[test]
    fn payload_snapshot() {
        let p = SimpleSigning::new(
            "ghcr.io/acme/app",
            D,
            &map(&[
                ("workflow", "Build, test and release"),
                ("run-url", "https://ci.example/run?id=42"),
                ("html", "<&>"),
            ]),
        );
        insta::with_settings!({filters => vec![(r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]")]}, {
            insta::assert_snapshot!(String::from_utf8(p.to_bytes()).unwrap());
        });
    }

    #[test]
    fn go_escaping() {
        let mut s = String::new();
        go_string(
            &mut s,
            "a\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}é\u{2028}\u{2029}😀",
        );
        assert_eq!(s, r#""a\"\\\n\r\t\b\f\u0001\u001fé\u2028\u2029😀""#);
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn annotation_check() {
        let p = SimpleSigning::new("r", D, &map(&[("a", "1"), ("b", "x=1,y=2")]));
        assert!(p.has_annotations(&map(&[("a", "1")])));
        assert!(p.has_annotations(&map(&[("b", "x=1,y=2")])));
        assert!(!p.has_annotations(&map(&[("a", "2")])));
        assert!(!p.has_annotations(&map(&[("z", "1")])));
        assert!(p.has_annotations(&BTreeMap::new()));
    }

    #[test]
    fn rejects_other_payloads() {
        assert!(SimpleSigning::parse(b"{}").is_err());
        assert!(
            SimpleSigning::parse(br#"{"critical":{"identity":{},"image":{},"type":"x"}}"#).is_err()
        );
        assert!(SimpleSigning::parse(b"not json").is_err());
    }
}
