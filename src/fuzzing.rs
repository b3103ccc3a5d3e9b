//! Entry points for the fuzz targets (`fuzz/`, run by `scripts/fuzz.sh`; only with the `fuzzing`
//! feature): each feeds untrusted bytes to the parser ferrosign uses for them. None may panic, loop or
//! allocate beyond the input's size; the result is ignored. A crash found becomes a regression test
//! below, with the input that caused it.

use std::collections::BTreeMap;

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Image references, as `sign`, `verify` and the Action's `images` read them.
pub fn image_reference(data: &[u8]) {
    if let Some(s) = text(data) {
        if let Ok(r) = s.parse::<crate::oci::ImageRef>() {
            let _ = r.to_string();
            let _ = r.payload_name();
            let _ = r.signature_ref(
                "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            );
        }
    }
}

/// PEM key text: a public key, and an encrypted cosign private key with the empty password.
pub fn key_pem(data: &[u8]) {
    if let Some(s) = text(data) {
        let _ = crate::signing::PublicKey::from_pem_bytes(s.as_bytes());
        let _ = crate::signing::keyfile::decrypt(s.as_bytes(), b"");
    }
}

/// The JSON envelope of a cosign private key, armoured as PEM and decrypted with a fixed password.
pub fn key_json(data: &[u8]) {
    let Ok(pem) = pem_rfc7468::encode_string(
        crate::signing::keyfile::PEM_LABEL,
        pem_rfc7468::LineEnding::LF,
        data,
    ) else {
        return;
    };
    let _ = crate::signing::keyfile::decrypt(pem.as_bytes(), b"password");
}

/// `-a` values (Go CSV records split at the first `=`) and the Action's `annotations` lines.
pub fn annotations(data: &[u8]) {
    if let Some(s) = text(data) {
        let _ = crate::front::validate::go_csv_record(s);
        let _ = crate::front::validate::cli_annotations(&[s.to_string()]);
        for line in s.lines() {
            let _ = crate::front::validate::annotation_line(line);
        }
    }
}

/// Sigstore bundles, and the `.sig` layer annotations that make one.
pub fn bundle(data: &[u8]) {
    let _ = crate::sigstore::verify::load_bundle(data);
    if let Ok(ann) = serde_json::from_slice::<BTreeMap<String, String>>(data) {
        let _ = crate::sigstore::verify::cosign::from_layer_annotations(&ann);
    }
}

/// A `.sig` manifest as the registry answers it, and a signature layer's payload.
pub fn oci_manifest(data: &[u8]) {
    if let Ok(m) = serde_json::from_slice::<crate::oci::layout::SigManifest>(data) {
        for l in m.signature_layers() {
            let _ = l.annotations.as_ref().map(BTreeMap::len);
        }
    }
    let _ = crate::signing::payload::SimpleSigning::parse(data);
}

/// Rekor's answer to an upload.
pub fn rekor_answer(data: &[u8]) {
    if let Ok(entry) = crate::sigstore::rekor::parse_answer(data) {
        let _ = entry.cosign_bundle_annotation();
        let _ = entry.bundle_entry();
    }
}

#[cfg(test)]
mod tests {
    //! Every target once on a few seeds (so that the fuzz entry points keep compiling and running in
    //! the default tests), then the regression inputs of crashes the fuzzer found.
    use super::*;

    #[test]
    fn every_target_takes_seeds_without_panicking() {
        let seeds: &[&[u8]] = &[
            b"",
            b"\xff\xfe",
            b"ghcr.io/acme/app:v1@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            br#"{"kdf":{"name":"scrypt","params":{"N":1048576,"r":32,"p":16},"salt":""},"cipher":{"name":"nacl/secretbox","nonce":""},"ciphertext":""}"#,
            br#""a=b,c",d=e"#,
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#,
            br#"{"schemaVersion":2,"config":{"mediaType":"x","size":1,"digest":"d"},"layers":[]}"#,
            br#"{"x":{"body":"e30=","integratedTime":1,"logID":"00","logIndex":1}}"#,
        ];
        for s in seeds {
            image_reference(s);
            key_pem(s);
            key_json(s);
            annotations(s);
            bundle(s);
            oci_manifest(s);
            rekor_answer(s);
        }
    }
}
