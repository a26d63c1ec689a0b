//! ONNX nodes whose semantics the `hl` layers cannot honour are rejected with a node error
//! instead of being converted silently to something else (conformance models from
//! `tests/conformance/cases`).

use std::path::Path;

fn convert_error(case: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance/cases")
        .join(case)
        .join("model.onnx");
    let model = hailo_onnx::load(&path).unwrap_or_else(|e| panic!("{case}: {e}"));
    match hailo_onnx::to_hl::convert_owned(model, &Default::default()) {
        Ok(_) => panic!("{case}: converted, but the node must be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn resize_with_antialias_is_rejected() {
    let e = convert_error("test_resize_downsample_scales_linear_antialias");
    assert!(
        e.contains("(Resize): Resize with antialias=1 is not supported"),
        "{e}"
    );
}

#[test]
fn space_to_depth_crd_is_rejected() {
    let e = convert_error("test_spacetodepth_crd_mode_example");
    assert!(
        e.contains("(SpaceToDepth): SpaceToDepth mode 'CRD' is not supported"),
        "{e}"
    );
}

#[test]
fn dropout_in_training_mode_is_rejected_unless_its_ratio_is_zero() {
    for case in ["test_training_dropout", "test_training_dropout_default"] {
        let e = convert_error(case);
        assert!(
            e.contains("(Dropout): Dropout in training mode"),
            "{case}: {e}"
        );
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance/cases/test_training_dropout_zero_ratio/model.onnx");
    let model = hailo_onnx::load(&path).expect("loads");
    assert!(hailo_onnx::to_hl::convert_owned(model, &Default::default()).is_ok());
}
