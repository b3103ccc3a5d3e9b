//! `-a key=value` values (Go CSV records, split at the first `=`) and the Action's `annotations` lines.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrosign::fuzzing::annotations(data);
});
