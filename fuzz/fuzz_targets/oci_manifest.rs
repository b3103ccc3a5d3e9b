//! A `.sig` manifest or an image index as the registry answers it, and the payload of a signature layer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrosign::fuzzing::oci_manifest(data);
});
