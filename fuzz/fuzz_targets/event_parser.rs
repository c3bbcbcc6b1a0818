#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| vbaws_cfn::fuzzing::event(bytes));
