//! Rekor's answer to an upload (`{uuid: {body, integratedTime, logID, logIndex, verification}}`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrosign::fuzzing::rekor_answer(data);
});
