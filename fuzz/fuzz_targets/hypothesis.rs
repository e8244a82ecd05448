#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| scrub_fuzz::hypothesis(data));
