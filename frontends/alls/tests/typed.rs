//! Typed commands: argument matching, canonical values, defaults, stages, and layer resolution.

use hailo_alls::selector::LayerSelector;
use hailo_alls::spec::Stage;
use hailo_alls::value::TypedValue;
use hailo_alls::{check_source, CheckOptions, Checked, LayerScope, SourceFile, TypedCommand};
use std::collections::BTreeMap;

fn checked(text: &str) -> Checked {
    let c = check_source(&SourceFile::new("t.alls", text), CheckOptions::default());
    assert_eq!(c.diagnostics, vec![], "{text}");
    c
}

fn typed(text: &str) -> TypedCommand {
    let c = checked(text);
    c.script.commands[0].typed.clone().expect("known command")
}

fn word(v: Option<&TypedValue>) -> Option<&str> {
    v.and_then(TypedValue::as_word)
}

fn layer_names(v: Option<&TypedValue>) -> Vec<String> {
    match v {
        Some(TypedValue::Layers(LayerSelector::Name(r))) => vec![r.name.clone()],
        Some(TypedValue::Layers(LayerSelector::List(rs))) => {
            rs.iter().map(|r| r.name.clone()).collect()
        }
        other => panic!("not a layer list: {other:?}"),
    }
}

#[test]
fn optional_leading_and_trailing_positionals_are_matched_by_type() {
    let t = typed("l = logits_layer(argmax, 3)");
    assert_eq!(
        (
            word(t.get("logits_type")),
            t.get("axis"),
            t.get("output_layer")
        ),
        (Some("argmax"), Some(&TypedValue::Int(3)), None)
    );
    let t = typed("l = logits_layer(fc1, softmax, -1, cpu)");
    assert_eq!(layer_names(t.get("output_layer")), ["fc1"]);
    assert_eq!(
        (word(t.get("engine")), t.get("axis")),
        (Some("cpu"), Some(&TypedValue::Int(-1)))
    );
    let t = typed("rgb = input_conversion(yuv_to_rgb)");
    assert_eq!(
        (word(t.get("conversion")), t.get("input_layer")),
        (Some("yuv_to_rgb"), None)
    );
    let t = typed("buffers(conv1, conv2, 4, PARTIAL_ROW)");
    assert_eq!(t.get("number_of_rows"), Some(&TypedValue::Int(4)));
    assert_eq!(
        (t.get("number_of_rows_cluster_b"), word(t.get("row_mode"))),
        (None, Some("PARTIAL_ROW"))
    );
    let t = typed("buffers(conv1, conv2, 4, 2, FULL_ROW)");
    assert_eq!(t.get("number_of_rows_cluster_b"), Some(&TypedValue::Int(2)));
}

#[test]
fn positional_parameters_can_be_given_by_keyword() {
    assert_eq!(
        typed("set_seed(seed=5)").get("seed"),
        Some(&TypedValue::Int(5))
    );
    assert_eq!(
        word(typed("nms_postprocess(meta_arch=ssd, engine=nn_core)").get("meta_arch")),
        Some("ssd")
    );
}

#[test]
fn values_are_stored_canonically() {
    let t = typed("allocator_param(timeout=25m, automatic_ddr=False, automatic_reshapes=enabled)");
    assert_eq!(t.get("timeout"), Some(&TypedValue::Seconds(1500)));
    assert_eq!(
        (
            word(t.get("automatic_ddr")),
            word(t.get("automatic_reshapes"))
        ),
        (Some("disabled"), Some("enabled"))
    );
    // The guide itself writes `double_scale_INITIALIZATION`.
    let t = typed("quantization_param({conv*}, bias_mode=double_scale_INITIALIZATION)");
    assert_eq!(
        word(t.get("bias_mode")),
        Some("double_scale_initialization")
    );
    let t = typed("n = normalization([0, 127.5, 1e2], [1, 2, 3])");
    assert_eq!(
        t.get("mean"),
        Some(&TypedValue::List(vec![
            TypedValue::Float(0.0),
            TypedValue::Float(127.5),
            TypedValue::Float(100.0)
        ]))
    );
    assert_eq!(
        typed("performance_param(compiler_optimization_level=max)")
            .get("compiler_optimization_level")
            .and_then(TypedValue::as_word),
        Some("max")
    );
}

#[test]
fn per_layer_feature_tables_apply_when_layers_are_given() {
    let t = typed("pre_quantization_optimization(equalization, layers={conv*}, policy=allowed)");
    assert!(t.per_layer);
    assert_eq!(
        (t.feature.map(|f| f.name), word(t.get("policy"))),
        (Some("equalization"), Some("allowed"))
    );
    let c = check_source(
        &SourceFile::new(
            "t.alls",
            "pre_quantization_optimization(equalization, policy=allowed)",
        ),
        CheckOptions::default(),
    );
    assert_eq!(c.diagnostics.len(), 1);
    assert_eq!(
        c.diagnostics[0].message,
        "invalid value `allowed` for `policy`"
    );
}

#[test]
fn stages_split_the_script() {
    let text = "n = normalization([0.0], [1.0])\nmodel_optimization_flavor(optimization_level=2)\nperformance_param(compiler_optimization_level=max)\nfoo(bar)\n";
    let c = check_source(&SourceFile::new("t.alls", text), CheckOptions::default());
    assert_eq!((c.error_count(), c.warning_count()), (0, 1));
    let names = |stage| {
        c.script
            .for_stage(stage)
            .map(|(_, t)| t.spec.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(Stage::ModelModification), ["normalization"]);
    assert_eq!(names(Stage::Optimization), ["model_optimization_flavor"]);
    assert_eq!(names(Stage::Compilation), ["performance_param"]);
    assert!(
        c.script.commands[3].typed.is_none(),
        "unknown commands stay raw"
    );
}

#[test]
fn unknown_keys_are_kept_as_raw_arguments() {
    let c = check_source(
        &SourceFile::new("t.alls", "performance_param(fps=30)"),
        CheckOptions::default(),
    );
    assert_eq!(c.warning_count(), 1);
    let t = c.script.commands[0].typed.as_ref().expect("typed");
    assert_eq!(t.unknown.len(), 1);
    assert_eq!(t.unknown[0].to_string(), "fps=30");
}

#[test]
fn layers_resolve_against_the_model_and_earlier_statements() {
    let c = checked(
        "s1 = shortcut(conv1, [net/conv2, other/conv2])\nquantization_param({conv*}, precision_mode=a16_w16)\ncompilation_param(s1, fps=100)\nmy = from_tf('block1/conv')\nremove_node(my)\n",
    );
    let layers: Vec<String> = ["net/conv1", "net/conv2", "other/conv2", "net/fc1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let original = BTreeMap::from([("block1/conv".to_string(), "net/fc1".to_string())]);
    let mut scope = LayerScope::new(&layers, &original);
    let (resolved, diags) = scope.resolve_script(&c.script);
    assert_eq!(diags, vec![]);
    let flat: Vec<_> = resolved
        .iter()
        .map(|r| (r.index, r.layers.clone()))
        .collect();
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        flat,
        vec![
            (
                0,
                vec![
                    ("layer_from", v(&["net/conv1"])),
                    ("layers_to", v(&["net/conv2", "other/conv2"]))
                ]
            ),
            (
                1,
                vec![("layers", v(&["net/conv1", "net/conv2", "other/conv2"]))]
            ),
            (2, vec![("layers", v(&["s1"]))]),
            (3, vec![("original_name", v(&["net/fc1"]))]),
            (4, vec![("layer_name", v(&["net/fc1"]))]),
        ]
    );
}
