//! Fuzzes the textual IR parser: any input must parse or give a diagnostic,
//! and whatever parses must verify or give diagnostics, and print.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut ctx = hailo_ir::Context::new();
    ctx.allow_unregistered = true;
    if let Ok(m) = hailo_ir::parse_module(&ctx, "fuzz.hir", text) {
        let _ = hailo_ir::verifier::verify(&m, &ctx, m.top());
        let printed = hailo_ir::print_module(&m, &ctx, hailo_ir::PrintOptions::default());
        // What we print must parse again.
        hailo_ir::parse_module(&ctx, "printed.hir", &printed).expect("printed IR re-parses");
    }
});
