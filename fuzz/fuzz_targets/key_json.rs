//! The JSON envelope inside a cosign private key (kdf, cipher, ciphertext), armoured as PEM.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrosign::fuzzing::key_json(data);
});
