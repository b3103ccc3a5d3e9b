//! PEM key text: a public key, and an encrypted cosign private key (PEM armour, then its JSON envelope).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrosign::fuzzing::key_pem(data);
});
