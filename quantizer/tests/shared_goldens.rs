//! Quantized outputs of every shared model pinned bit for bit: each model is converted,
//! quantized (a8_w8 defaults, 16 calibration samples) and emulated in the quantized
//! context on 4 held-out samples; the SHA-256 of every output's f32 bytes (or the exact
//! error, for models that do not quantize yet) must equal `tests/goldens/shared_models.txt`.
//!
//! The goldens were recorded from commit 634a0ed, before op definitions, interfaces and the
//! executor were redesigned (issue "One definition per op …"): a refactor of the IR may not
//! move a single bit of any model's integer result. To record them again (only for an
//! intended numeric change, said in the commit message), run with
//! `HAILO_WRITE_GOLDENS=1 cargo test -p hailo-quantizer --test shared_goldens`.

mod common;

use common::{models, shared_model, CALIB};
use hailo_quantizer::{quantize, QuantConfig};
use sha2::{Digest, Sha256};
use std::fmt::Write;
use std::path::PathBuf;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/shared_models.txt")
}

/// One golden line per output (`model output#i shape sha256`) or the model's error.
fn golden_lines(name: &str) -> String {
    let (mut m, calib, eval) = shared_model(name);
    let mut cfg = QuantConfig::default();
    cfg.calibration.calibset_size = CALIB;
    let outs = quantize(&mut m, &[calib], &cfg)
        .and_then(|_| hailo_quantizer::infer(&m, std::slice::from_ref(&eval)));
    let mut s = String::new();
    match outs {
        Ok(outs) => {
            for (i, o) in outs.iter().enumerate() {
                let mut h = Sha256::new();
                for v in o.iter() {
                    h.update(v.to_le_bytes());
                }
                let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
                writeln!(s, "{name} output#{i} {:?} {hex}", o.shape()).unwrap();
            }
        }
        Err(e) => writeln!(s, "{name} error: {e}").unwrap(),
    }
    s
}

use common::SHARED_MODELS as MODELS;

#[test]
fn quantized_outputs_of_every_shared_model_are_bit_identical_to_the_goldens() {
    let manifest = std::fs::read_to_string(models().join("manifest.json")).expect("manifest");
    let listed = manifest.matches("\"format\":").count();
    assert_eq!(
        listed,
        MODELS.len(),
        "shared/models/manifest.json lists a model this test does not cover"
    );
    let actual: String = MODELS.iter().map(|n| golden_lines(n)).collect();
    if std::env::var_os("HAILO_WRITE_GOLDENS").is_some() {
        std::fs::create_dir_all(golden_path().parent().unwrap()).unwrap();
        std::fs::write(golden_path(), &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(golden_path()).expect("goldens recorded");
    assert_eq!(actual, expected);
}
