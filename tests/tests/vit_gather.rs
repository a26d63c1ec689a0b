//! A torchvision-style ViT (`tests/data/vit_gather.onnx`, written with its onnxruntime outputs
//! by the dev-only `tests/data/make_vit_gather.py`): q, k and v taken from the stacked
//! `[3, T, N, E]` in-projection with `Gather`, attention as `MatMul` in one layer and `Einsum`
//! in the other, the class token taken with `Gather`. It converts with every `Gather` and
//! `Einsum` node converted (none cut away), and the interpreter matches onnxruntime within
//! rtol 1e-4 / atol 1e-4.

use std::path::PathBuf;

use hailo_executor::Executor;
use hailo_onnx::to_hl::NodeFate;
use hailo_tests::{compare, to_nhwc};
use ndarray::ArrayD;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn reference(name: &str) -> ArrayD<f32> {
    hailo_npz::read_npz(data("vit_gather_ref.npz"))
        .unwrap_or_else(|e| panic!("vit_gather_ref.npz: {e}"))
        .into_iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("vit_gather_ref.npz has no '{name}'"))
        .1
        .to_f32()
}

#[test]
fn torchvision_style_vit_matches_onnxruntime() {
    let model = hailo_onnx::load(data("vit_gather.onnx")).unwrap_or_else(|e| panic!("{e}"));
    let conv = hailo_onnx::to_hl::convert_owned(model, &Default::default())
        .unwrap_or_else(|e| panic!("convert: {e}"));
    let fates = |op: &str| -> Vec<NodeFate> {
        conv.report
            .nodes
            .iter()
            .filter(|n| n.op_type == op)
            .map(|n| n.fate.clone())
            .collect()
    };
    // q, k, v of two layers and the class token; two Einsums in layer 1.
    assert_eq!(fates("Gather"), vec![NodeFate::Converted; 7]);
    assert_eq!(fates("Einsum"), vec![NodeFate::Converted; 2]);

    let interp = Executor::new(&conv.module, "main").unwrap_or_else(|e| panic!("{e}"));
    let outputs = interp
        .run(&[to_nhwc(&reference("image"))])
        .unwrap_or_else(|e| panic!("run: {e}"));
    let a =
        compare(&outputs[0], &reference("logits"), 1e-4, 1e-4).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "vit_gather logits: max abs error {:.3e}, max rel error {:.3e}",
        a.max_abs, a.max_rel
    );
    assert_eq!(a.violations, 0, "{a:?} outside rtol 1e-4 / atol 1e-4");
}
