//! Sigstore bundles (v0.1-v0.3) and cosign's older `--bundle` file, and the `.sig` layer annotations.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrosign::fuzzing::bundle(data);
});
