//! Fuzz target: any bytes decode as `.npy` (in memory) and read as `.npz` (from a file) to
//! `Ok` or `Err`, never a panic or an allocation the bytes do not back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = hailo_npz::decode_npy(data) {
        let _ = a.to_f32();
    }
    let path = std::env::temp_dir().join(format!("hailo-npz-fuzz-{}.npz", std::process::id()));
    if std::fs::write(&path, data).is_ok() {
        let _ = hailo_npz::read_npz(&path);
        let _ = std::fs::remove_file(&path);
    }
});
