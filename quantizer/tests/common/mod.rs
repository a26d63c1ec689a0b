//! Shared helpers of the quantizer tests: seeded data and small `hl` nets from IR text with
//! seeded weights.

#![allow(dead_code)]

use hailo_ir::{Blob, Context, Module};
use ndarray::{ArrayD, IxDyn};

/// A deterministic generator: uniform [0, 1) and N(0, 1) (Box–Muller over an LCG).
pub struct Rng(pub u64);

impl Rng {
    pub fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn gaussian(&mut self) -> f64 {
        let (a, b) = (self.uniform(), self.uniform());
        (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
    }
    pub fn array(&mut self, shape: &[usize]) -> ArrayD<f32> {
        ArrayD::from_shape_simple_fn(IxDyn(shape), || self.gaussian() as f32)
    }
}

pub fn ctx() -> Context {
    let mut c = Context::new();
    c.register(hailo_dialect_hl::dialect());
    c.register(hailo_dialect_quant::dialect());
    c
}

/// Parses `text` and fills each `(key, count, std)` blob with seeded N(0, std²) weights
/// (biases: keys ending in `.bias`, std used as is).
pub fn module(text: &str, blobs: &[(&str, usize, f64)], seed: u64) -> Module {
    let mut m = hailo_ir::parse_module(&ctx(), "test.hir", text).expect("test IR parses");
    let mut rng = Rng(seed);
    for &(key, n, std) in blobs {
        let v: Vec<f32> = (0..n).map(|_| (rng.gaussian() * std) as f32).collect();
        m.resources.insert(key, Blob::from_f32(&v));
    }
    m
}

pub fn print(m: &Module) -> String {
    hailo_ir::print_module(
        m,
        &ctx(),
        hailo_ir::PrintOptions {
            generic: false,
            elide_resources: true,
        },
    )
}
