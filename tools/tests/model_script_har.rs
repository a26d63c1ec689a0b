//! `hailo model-script check --har`: layer names in a script resolve against the model.

use std::process::Command;

const MODEL: &str = r#"builtin.module @tiny {
  builtin.graph @main(%arg0: tensor<1x8x8x3xf32>) -> tensor<1x8x8x4xf32> {
    %0 = hl.input_layer %arg0 {layer = "input_layer1"} : tensor<1x8x8x3xf32>
    %1 = hl.const dense<1.0> : tensor<1x1x3x4xf32>
    %2 = hl.conv2d %0, %1 {layer = "conv1"} : tensor<1x8x8x4xf32> loc("/stem/Conv")
    %3 = hl.output_layer %2 {layer = "output_layer1"} : tensor<1x8x8x4xf32>
    builtin.return %3 : tensor<1x8x8x4xf32>
  }
}
"#;

fn check(dir: &std::path::Path, script: &str, har: &std::path::Path) -> (i32, String) {
    let path = dir.join("s.alls");
    std::fs::write(&path, script).expect("write script");
    let out = Command::new(env!("CARGO_BIN_EXE_hailo"))
        .args(["model-script", "check"])
        .arg(&path)
        .arg("--har")
        .arg(har)
        .output()
        .expect("hailo runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn layer_names_resolve_against_the_har() {
    let dir = std::env::temp_dir().join(format!("hailo-ms-har-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ctx = hailo_tools::context::full_context(false);
    let m = hailo_ir::parse_module(&ctx, "tiny.hir", MODEL).expect("model parses");
    let har = dir.join("tiny.har");
    let meta = hailo_har::HarMetadata::new(hailo_har::HarState::HailoModel, "hailo8");
    hailo_har::write_har(&m, &ctx, &meta, &har, false).expect("HAR written");

    let (code, err) = check(
        &dir,
        "quantization_param(conv1, precision_mode=a8_w8)\n",
        &har,
    );
    assert_eq!(code, 0, "{err}");
    let (code, err) = check(
        &dir,
        "stem = from_tf('/stem/Conv')\nquantization_param(stem, precision_mode=a8_w4)\n",
        &har,
    );
    assert_eq!(code, 0, "{err}");
    let (code, err) = check(
        &dir,
        "quantization_param(conv9, precision_mode=a8_w8)\n",
        &har,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("s.alls:1:20: error:") && err.contains("conv9"),
        "{err}"
    );
    let (code, err) = check(&dir, "x = from_tf('/no/such/node')\n", &har);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/no/such/node"), "{err}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
