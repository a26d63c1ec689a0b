//! Fuzz target: checking any text as a model script gives diagnostics, never a panic or a
//! stack overflow (deep brackets).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let src = hailo_alls::SourceFile::new("fuzz.alls", text);
    let checked = hailo_alls::check_source(&src, hailo_alls::CheckOptions::default());
    for d in &checked.diagnostics {
        let _ = d.render(&src);
    }
});
