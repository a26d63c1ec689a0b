//! Shared helpers of the quantizer tests: seeded data and small `hl` nets from IR text with
//! seeded weights.

#![allow(dead_code)]

pub mod toy;

use hailo_ir::{Blob, Context, Module};
use ndarray::{ArrayD, Axis, IxDyn, Slice};
use std::path::PathBuf;

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

/// Four convs (432, 96, 1152, 64 weights) in a chain, weights named w1..w4 for [`module`];
/// the tests plant their own weight patterns (4-bit grid, spread channel ranges).
pub const FOUR_CONVS: &str = r#"builtin.module @net {
  builtin.graph @main(%arg0: tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> {
    %0 = hl.input_layer %arg0 {layer = "input_layer1"} : tensor<1x8x8x4xf32>
    %w1 = hl.const dense_resource<w1> : tensor<3x3x4x12xf32>
    %1 = hl.conv2d %0, %w1 {layer = "conv1", activation = "relu", padding = "SAME"} : tensor<1x8x8x12xf32>
    %w2 = hl.const dense_resource<w2> : tensor<1x1x12x8xf32>
    %2 = hl.conv2d %1, %w2 {layer = "conv2", activation = "relu"} : tensor<1x8x8x8xf32>
    %w3 = hl.const dense_resource<w3> : tensor<3x3x8x16xf32>
    %3 = hl.conv2d %2, %w3 {layer = "conv3", activation = "relu", padding = "SAME"} : tensor<1x8x8x16xf32>
    %w4 = hl.const dense_resource<w4> : tensor<1x1x16x4xf32>
    %4 = hl.conv2d %3, %w4 {layer = "conv4"} : tensor<1x8x8x4xf32>
    %5 = hl.output_layer %4 {layer = "output_layer1"} : tensor<1x8x8x4xf32>
    builtin.return %5 : tensor<1x8x8x4xf32>
  }
}
"#;

/// Top-1 accuracy (%) of `logits` `[N, classes]` against integer `labels` `[N]`.
pub fn accuracy(logits: &ArrayD<f32>, labels: &ArrayD<f32>) -> f64 {
    let hits = logits
        .axis_iter(Axis(0))
        .zip(labels.iter())
        .filter(|(row, &y)| {
            let best = row
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                );
            best.0 as f32 == y
        })
        .count();
    100.0 * hits as f64 / labels.len() as f64
}

/// `shared/models` beside the repository.
pub fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models")
}

/// Array `key` of the shared `.npz` file `name`, as f32.
pub fn npz(name: &str, key: &str) -> ArrayD<f32> {
    hailo_npz::read_npz(models().join(name))
        .expect("npz reads")
        .into_iter()
        .find(|(k, _)| k.trim_end_matches(".npy") == key)
        .map(|(_, a)| a.to_f32())
        .unwrap_or_else(|| panic!("{name} has no key {key}"))
}

/// Calibration and evaluation samples of [`shared_model`].
pub const CALIB: usize = 16;
pub const EVAL: usize = 4;
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

fn first(x: ArrayD<f32>, n: usize) -> ArrayD<f32> {
    x.slice_axis(Axis(0), Slice::from(0..n)).to_owned()
}

fn nchw_to_nhwc(x: ArrayD<f32>) -> ArrayD<f32> {
    x.permuted_axes(IxDyn(&[0, 2, 3, 1]))
        .as_standard_layout()
        .into_owned()
}

/// uint8 NHWC images → float NHWC (x/255, optionally ImageNet mean/std).
fn images(name: &str, normalize: bool) -> ArrayD<f32> {
    let mut x = npz(name, "images").mapv(|v| v / 255.0);
    if normalize {
        for (c, mut lane) in x.axis_iter_mut(Axis(3)).enumerate() {
            lane.mapv_inplace(|v| (v - MEAN[c]) / STD[c]);
        }
    }
    x
}

/// A shared model converted (ONNX or TFLite frontend, `hailo-parse`) and its
/// (calibration, evaluation) NHWC inputs: `CALIB` and `EVAL` samples.
pub fn shared_model(name: &str) -> (Module, ArrayD<f32>, ArrayD<f32>) {
    shared_model_with(name, CALIB)
}

/// [`shared_model`] with `calib` calibration samples.
pub fn shared_model_with(name: &str, calib_n: usize) -> (Module, ArrayD<f32>, ArrayD<f32>) {
    let m = if name.ends_with("tflite") {
        let graph =
            hailo_tflite::read_tflite_file(&models().join("digits_cnn.tflite")).expect("reads");
        hailo_tflite::to_hl::convert(&graph, &Default::default())
            .expect("converts")
            .0
    } else {
        let model = hailo_onnx::load(models().join(format!("{name}.onnx"))).expect("loads");
        hailo_onnx::to_hl::convert(&model, &Default::default())
            .expect("converts")
            .module
    };
    let (calib, eval) = if name.starts_with("digits") {
        (
            npz("digits_calib.npz", "x_nhwc"),
            npz("digits_test.npz", "x_nhwc"),
        )
    } else if name == "yolo_like_320" {
        let x = images("calib_image_like_320.npz", false);
        (
            x.clone(),
            x.slice_axis(Axis(0), Slice::from(CALIB..)).to_owned(),
        )
    } else {
        let key = "input";
        (
            images("calib_image_like_224.npz", true),
            nchw_to_nhwc(npz(&format!("{name}_ref.npz"), key)),
        )
    };
    (m, first(calib, calib_n), first(eval, EVAL))
}

/// Every model of `../shared/models/manifest.json`, by file stem.
pub const SHARED_MODELS: [&str; 9] = [
    "digits_cnn_opset13",
    "digits_cnn_opset17",
    "digits_cnn_tflite",
    "digits_mbv2",
    "digits_vit",
    "mobilenet_v2",
    "resnet18",
    "squeezenet1_1",
    "yolo_like_320",
];
