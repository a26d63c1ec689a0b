//! Whether `hl-fuse-conv-add` (on by default: `ew_add_fusing`) keeps quantized accuracy: each
//! shared model with residual adds is quantized as the shared goldens do (a8_w8 defaults, 16
//! calibration samples) with and without the fusion, and the output SNR against the float model on the 4 held-out samples is
//! compared. Fused, a residual add runs in the conv's accumulator instead of as an `ew_add`
//! layer of its own on two 8-bit inputs, so the sum is requantized once instead of twice; the
//! fused SNR must not fall below the unfused one by more than 0.1 dB.

mod common;

use common::{shared_model, CALIB};
use hailo_executor::{Executor, GraphRef};
use hailo_ir::Module;
use hailo_passes::quant::snr::snr_db;
use hailo_quantizer::{quantize, QuantConfig};
use ndarray::ArrayD;

fn count(m: &Module, name: &str) -> usize {
    m.walk(m.top())
        .into_iter()
        .filter(|&o| m.op(o).name_str() == name)
        .count()
}

/// (output SNR in dB, number of hl.ew_add) of `m` quantized, with or without the fusion.
fn snr(mut m: Module, calib: &ArrayD<f32>, eval: &ArrayD<f32>, fuse: bool) -> (f64, usize) {
    let float = Executor::new(&m, GraphRef::First)
        .expect("float")
        .run(std::slice::from_ref(eval))
        .expect("float runs");
    let mut cfg = QuantConfig::default();
    cfg.calibration.calibset_size = CALIB;
    cfg.ew_add_fusing = fuse;
    quantize(&mut m, std::slice::from_ref(calib), &cfg).expect("quantizes");
    let adds = count(&m, "q.ew_add");
    let out = hailo_quantizer::infer(&m, std::slice::from_ref(eval)).expect("runs");
    (snr_db(&float, &out), adds)
}

#[test]
fn fusing_residual_adds_keeps_the_output_snr() {
    for name in ["resnet18", "mobilenet_v2", "digits_mbv2"] {
        let (m, calib, eval) = shared_model(name);
        let (plain, adds_before) = snr(m.clone(), &calib, &eval, false);
        let (fused, adds_after) = snr(m, &calib, &eval, true);
        eprintln!(
            "{name}: {adds_before} -> {adds_after} ew_add layers; output SNR {plain:.2} dB -> {fused:.2} dB"
        );
        assert!(adds_after < adds_before, "{name}: nothing fused");
        assert!(
            fused >= plain - 0.1,
            "{name}: fusing lowers the output SNR from {plain:.2} to {fused:.2} dB"
        );
    }
}
