//! Image references (`registry/repo[:tag][@digest]`), as `sign`, `verify` and the Action's `images` read them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrosign::fuzzing::image_reference(data);
});
