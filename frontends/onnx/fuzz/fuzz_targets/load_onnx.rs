//! Fuzz target: loading and converting any bytes as an ONNX model returns `Ok` or `Err`,
//! never panics, overflows the stack or allocates without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = hailo_onnx::LoadOptions::default();
    if let Ok(model) = hailo_onnx::load_bytes(data.to_vec().into(), "fuzz.onnx", None, &options) {
        let _ = hailo_onnx::to_hl::convert_owned(model, &Default::default());
    }
});
