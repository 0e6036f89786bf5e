#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swim_fuzz::checks::core_packets(data));
