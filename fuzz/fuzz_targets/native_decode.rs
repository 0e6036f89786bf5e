#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swim_fuzz::checks::native_decode(data));
