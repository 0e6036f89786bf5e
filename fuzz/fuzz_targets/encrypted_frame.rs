#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swim_fuzz::checks::encrypted_frame(data));
