//! Fuzz target: the TFLite reader must return `Ok` or `Err` for any input, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hailo_tflite::read_tflite(data);
});
