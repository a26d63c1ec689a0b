//! The physical graphs of the shared resnet18 and mobilenet_v2, pinned as insta snapshots:
//! each converted from ONNX, quantized on 16 images of its calibration set (as the quantizer's
//! shared goldens do), then run through the pipeline `hailo compiler --stop-after=phys` builds
//! from a model script asking 2000 fps on a Hailo-8. A change in what a physical pass decides
//! (parts, subclusters, buffer rows) shows up as a snapshot diff to review.

mod common;

use common::{phys_summary, MODELS};
use hailo_ir::pass::{Instrumentation, OpPassManager, Resources};
use hailo_quantizer::{quantize, QuantConfig};
use hailo_target::Target;
use ndarray::{ArrayD, Axis, Slice};

const CALIB: usize = 16;
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];
const SCRIPT: &str = "performance_param(fps=2000)\n";

/// The calibration images, x/255 with the ImageNet mean and std, NHWC.
fn calibration() -> ArrayD<f32> {
    let x = hailo_npz::read_npz(format!("{MODELS}/calib_image_like_224.npz"))
        .expect("calibration set reads")
        .into_iter()
        .find(|(k, _)| k.trim_end_matches(".npy") == "images")
        .expect("images")
        .1
        .to_f32();
    let mut x = x
        .slice_axis(Axis(0), Slice::from(0..CALIB))
        .mapv(|v| v / 255.0);
    for (c, mut lane) in x.axis_iter_mut(Axis(3)).enumerate() {
        lane.mapv_inplace(|v| (v - MEAN[c]) / STD[c]);
    }
    x
}

fn physical(model: &str) -> String {
    let onnx = hailo_onnx::load(format!("{MODELS}/{model}.onnx")).expect("loads");
    let mut m = hailo_onnx::to_hl::convert(&onnx, &Default::default())
        .expect("converts")
        .module;
    let mut cfg = QuantConfig::default();
    cfg.calibration.calibset_size = CALIB;
    quantize(&mut m, &[calibration()], &cfg).expect("quantizes");
    let layers: Vec<String> = m
        .walk(m.top())
        .into_iter()
        .filter_map(|op| {
            m.attr(op, "layer")
                .and_then(|a| a.as_str())
                .map(str::to_owned)
        })
        .collect();
    let script = hailo_tools::phys_script::read("s.alls", SCRIPT, &layers).expect("reads");
    let mut pm = OpPassManager::parse(&script.pipeline(), &hailo_passes::registry())
        .expect("pipeline parses");
    let mut resources = Resources::new();
    resources.insert(Target::hailo8());
    let ctx = hailo_tools::context::full_context(false);
    let top = m.top();
    pm.run_with(
        &mut m,
        &ctx,
        top,
        &mut Instrumentation::default(),
        &resources,
    )
    .unwrap_or_else(|f| panic!("{model}: {:?}", f.diagnostics));
    let mut lines = phys_summary(&m);
    let totals = m
        .walk(m.top())
        .into_iter()
        .filter_map(|op| {
            hailo_dialect_phys::resource_model(&m, op)?
                .resources(&m, op)
                .ok()
        })
        .fold((0, 0, 0), |(l, s, b), r| {
            (
                l + r.layer_controllers,
                s + r.subclusters,
                b + r.buffer_bytes,
            )
        });
    lines.push(format!(
        "total: {} layer controllers, {} subclusters, {} buffered bytes",
        totals.0, totals.1, totals.2
    ));
    lines.join("\n") + "\n"
}

#[test]
fn resnet18_physical_graph() {
    insta::assert_snapshot!(physical("resnet18"));
}

#[test]
fn mobilenet_v2_physical_graph() {
    insta::assert_snapshot!(physical("mobilenet_v2"));
}
