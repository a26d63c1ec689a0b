//! Optimization levels and the bias correction policy, from model script text to the passes
//! that run: the guide's default without a GPU (level 0) runs no post-quantization pass;
//! levels 1 to 4 run `quant-bias-correction` on the calibration set; a script's
//! `post_quantization_optimization(bias_correction, ...)` overrides the level globally or per
//! layer; a level outside the guide's table is reported, not applied.

use hailo_quantizer::pipeline::graph_passes;
use hailo_quantizer::script::apply_script;
use hailo_quantizer::QuantConfig;
use std::collections::BTreeMap;

fn passes(script: &str) -> (Vec<String>, Vec<String>) {
    let mut cfg = QuantConfig::default();
    let layers = ["net/conv1".to_owned(), "net/conv2".to_owned()];
    let warnings = apply_script(&mut cfg, "s.alls", script, &layers, &BTreeMap::new())
        .expect("script applies");
    let bc = graph_passes(&cfg)
        .into_iter()
        .filter(|p| p.starts_with("quant-bias-correction"))
        .collect();
    (bc, warnings)
}

#[test]
fn the_level_picks_bias_correction_and_the_policy_overrides_it() {
    assert_eq!(passes(""), (vec![], vec![]));
    let on = "quant-bias-correction{samples=64 default=enabled layers=[]}".to_owned();
    for l in 1..=4 {
        let script = format!("model_optimization_flavor(optimization_level={l})\n");
        assert_eq!(passes(&script).0, vec![on.clone()], "level {l}");
    }
    assert_eq!(
        passes("model_optimization_flavor(optimization_level=0)\n").0,
        Vec::<String>::new()
    );
    assert_eq!(
        passes("post_quantization_optimization(bias_correction, policy=enabled)\n").0,
        vec![on.clone()]
    );
    assert_eq!(
        passes(
            "model_optimization_flavor(optimization_level=2)\n\
             post_quantization_optimization(bias_correction, policy=disabled)\n"
        )
        .0,
        Vec::<String>::new()
    );
    assert_eq!(
        passes(
            "post_quantization_optimization(bias_correction, policy=enabled)\n\
             post_quantization_optimization(bias_correction, layers=[conv2], policy=disabled)\n"
        )
        .0,
        vec![
            "quant-bias-correction{samples=64 default=enabled layers=[conv2:disabled]}".to_owned()
        ]
    );
    assert_eq!(
        passes("post_quantization_optimization(bias_correction, layers=[conv1], policy=enabled)\n")
            .0,
        vec![
            "quant-bias-correction{samples=64 default=disabled layers=[conv1:enabled]}".to_owned()
        ]
    );
}

#[test]
fn a_level_outside_the_table_is_reported_or_rejected() {
    // In the checker's range (-100..=4) but not one of the guide's levels: reported.
    let (bc, warnings) = passes("model_optimization_flavor(optimization_level=-1)\n");
    assert!(bc.is_empty());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(
            "'optimization_level': accepted but not applied: the guide's levels are -100 and 0 to 4"
        ),
        "{warnings:?}"
    );
    // Out of the checker's range: a located error.
    let mut cfg = QuantConfig::default();
    let e = apply_script(
        &mut cfg,
        "s.alls",
        "model_optimization_flavor(optimization_level=7)\n",
        &[],
        &BTreeMap::new(),
    )
    .unwrap_err();
    assert!(
        e.starts_with("s.alls:1:46: error: value `7` for `optimization_level` is out of range"),
        "{e}"
    );
}
