//! Fuzz target: reading any bytes as a HAR (tar or gzip, HN, NPZ, stored IR) returns `Ok` or
//! `Err`, never panics. All dialects are unregistered-allowed, as `hailo har info` reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("hailo-har-fuzz-{}.har", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let mut ctx = hailo_ir::Context::new();
    ctx.allow_unregistered = true;
    if let Ok((m, _)) = hailo_har::read_har(&path, &ctx) {
        hailo_har::summarize(&m);
    }
    let _ = std::fs::remove_file(&path);
});
