//! `apply_model_modifications`: a model script's modification commands applied in order to an
//! `hl` module, with the guide's layer order rule and errors located at the statement.

use hailo_alls::modifications::apply_model_modifications;
use hailo_alls::{check_source, CheckOptions, SourceFile};
use hailo_ir::{parse_module, print_module, Context, PrintOptions};

const MODEL: &str = r#"builtin.graph @main(%x: tensor<1x4x4x3xf32>) -> tensor<1x4x4x3xf32> {
  %i = hl.input_layer %x {layer = "input_layer1"} : tensor<1x4x4x3xf32>
  %a = hl.activation %i {kind = "relu", layer = "activation1"} : tensor<1x4x4x3xf32>
  %o = hl.output_layer %a {layer = "output_layer1"} : tensor<1x4x4x3xf32>
  builtin.return %o : tensor<1x4x4x3xf32>
}"#;

fn ctx() -> Context {
    let mut c = Context::new();
    c.register(hailo_ir::builtin::dialect());
    c.register(hailo_dialect_hl::dialect());
    c
}

fn run(script: &str) -> Result<String, String> {
    let ctx = ctx();
    let mut m = parse_module(&ctx, "model.hir", MODEL).map_err(|e| format!("{e:?}"))?;
    let src = SourceFile::new("script.alls", script);
    let checked = check_source(&src, CheckOptions::default());
    assert_eq!(checked.error_count(), 0, "{:?}", checked.diagnostics);
    apply_model_modifications(&mut m, &ctx, &checked.script, std::path::Path::new("."))
        .map_err(|d| d.render(&src))?;
    Ok(print_module(&m, &ctx, PrintOptions::default()))
}

#[test]
fn most_recent_input_modification_sits_next_to_the_input() {
    // The guide's example: yuy2_to_yuv1 -> yuv_to_rgb1 -> normalization1 -> network.
    let out = run(
        "normalization1 = normalization([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])\n\
                   yuv_to_rgb1 = input_conversion(yuv_to_rgb)\n\
                   yuy2_to_yuv1 = input_conversion(input_layer1, yuy2_to_hailo_yuv)\n\
                   set_seed(seed=3)\n",
    )
    .expect("applies");
    let layers: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split("layer = \"").nth(1))
        .filter_map(|l| l.split('"').next())
        .collect();
    assert_eq!(
        layers,
        [
            "input_layer1",
            "yuy2_to_yuv1",
            "yuv_to_rgb1",
            "normalization1",
            "activation1",
            "output_layer1"
        ]
    );
    assert!(out.contains("@main(%arg0: tensor<1x4x4x2xf32>)"), "{out}");
    assert!(out.contains("hailo.seed = 3"), "{out}");
}

#[test]
fn pass_errors_point_at_the_statement() {
    let err =
        run("set_seed(seed=1)\nlogits1 = logits_layer(activation1, softmax, 1)\n").unwrap_err();
    assert!(err.contains("script.alls:2:1"), "{err}");
    assert!(
        err.contains("hl-logits-layer: softmax needs an output of rank 2 and axis 1; 'output_layer1' has shape [1, 4, 4, 3] and axis 1"),
        "{err}"
    );
}

#[test]
fn output_activation_parameters_default_only_where_frameworks_agree() {
    let out = run("change_output_activation(activation1, leaky)\n").expect("applies");
    assert!(
        out.contains(r#"hl.activation %1 {alpha = 0.01, kind = "leaky", layer = "activation2"}"#),
        "{out}"
    );
    let err = run("change_output_activation(activation1, hardsigmoid)\n").unwrap_err();
    assert!(err.contains("script.alls:1:1"), "{err}");
    assert!(
        err.contains("activation 'hardsigmoid' needs parameter 'alpha' (of alpha, beta)"),
        "{err}"
    );
}
