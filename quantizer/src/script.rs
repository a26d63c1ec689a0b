//! Model-script commands of the optimization stage (guide §5.3) turned into a
//! [`QuantConfig`]: `quantization_param` (precision_mode, bias_mode, force_range_out,
//! quantization_groups), `model_optimization_flavor(compression_level)`,
//! `model_optimization_config(calibration | compression_params, ...)` and
//! `pre_quantization_optimization(weights_clipping | activation_clipping, ...)`. Layer
//! selectors resolve against the model with `hailo-alls`; other optimization commands are
//! returned as notes (not applied yet).

use crate::optimize::{Precision, QuantConfig};
use hailo_alls::spec::Stage;
use hailo_alls::value::TypedValue;
use hailo_alls::{check_source, CheckOptions, LayerScope, SourceFile};
use hailo_passes::quant::clipping::WeightClipping;
use std::collections::BTreeMap;

/// Applies `text` (file `name`) to `cfg`. `layers` are the model's scoped layer names
/// (`net/layer`), `original` maps framework names to them. Returns notes about commands
/// that were read but are not applied; errors carry rendered, located diagnostics.
pub fn apply_script(
    cfg: &mut QuantConfig,
    name: &str,
    text: &str,
    layers: &[String],
    original: &BTreeMap<String, String>,
) -> Result<Vec<String>, String> {
    let src = SourceFile::new(name, text);
    let checked = check_source(&src, CheckOptions::default());
    let (resolved, unresolved) = LayerScope::new(layers, original).resolve_script(&checked.script);
    let errors: Vec<String> = checked
        .diagnostics
        .iter()
        .chain(&unresolved)
        .filter(|d| d.is_error())
        .map(|d| d.render(&src))
        .collect();
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    let bare = |full: &String| {
        full.split_once('/')
            .map_or(full.clone(), |(_, l)| l.to_owned())
    };
    let mut notes = Vec::new();
    for r in &resolved {
        let cmd = &checked.script.commands[r.index];
        let Some(t) = cmd
            .typed
            .as_ref()
            .filter(|t| t.stage() == Stage::Optimization)
        else {
            continue;
        };
        let targets: Vec<String> = r
            .layers
            .iter()
            .filter(|(p, _)| *p == "layers")
            .flat_map(|(_, l)| l.iter().map(bare))
            .collect();
        let at = src.line_col(cmd.statement.span.start);
        let here = format!("{name}:{}:{}", at.0, at.1);
        let word = |k: &str| t.get(k).and_then(TypedValue::as_word);
        let pair = |k: &str| -> Option<(f64, f64)> {
            match t.get(k).and_then(TypedValue::as_list) {
                Some([a, b]) => Some((a.as_f64()?, b.as_f64()?)),
                _ => None,
            }
        };
        match (t.spec.name, t.feature.map(|f| f.name)) {
            ("quantization_param", _) => {
                for l in &targets {
                    if let Some(p) = word("precision_mode") {
                        let p = Precision::parse(p).ok_or_else(|| {
                            format!("{here}: precision_mode '{p}' is not supported yet (aX_wY or aX_wY_aZ with X, Z in 8/16 and Y in 4/8/16)")
                        })?;
                        cfg.precision.insert(l.clone(), p);
                    }
                    if let Some(n) = t.get("quantization_groups").and_then(TypedValue::as_f64) {
                        cfg.quant_groups.insert(l.clone(), n as usize);
                    }
                    if let Some(b) = word("bias_mode") {
                        cfg.bias_mode.insert(l.clone(), b.to_owned());
                    }
                    if let Some(r) = pair("force_range_out") {
                        cfg.force_range_out.insert(l.clone(), r);
                    }
                }
            }
            ("model_optimization_config", Some("calibration")) => {
                if let Some(n) = t.get("calibset_size").and_then(TypedValue::as_f64) {
                    cfg.calibration.calibset_size = n as usize;
                }
                if let Some(n) = t.get("batch_size").and_then(TypedValue::as_f64) {
                    cfg.calibration.batch_size = n as usize;
                }
            }
            ("model_optimization_config", Some("compression_params")) => {
                if let Some(r) = t
                    .get("auto_4bit_weights_ratio")
                    .and_then(TypedValue::as_f64)
                {
                    cfg.auto_4bit_ratio = r;
                }
                match t
                    .get("auto_16bit_weights_ratio")
                    .and_then(TypedValue::as_f64)
                {
                    Some(r) if r >= 1.0 => cfg.default_precision = Precision::A16W16,
                    Some(r) if r > 0.0 => cfg.auto_16bit_ratio = r,
                    _ => {}
                }
            }
            ("model_optimization_flavor", _) => {
                if let Some(l) = t.get("compression_level").and_then(TypedValue::as_f64) {
                    cfg.compression_level = l as u8;
                }
                for k in ["optimization_level", "batch_size"] {
                    if t.get(k).is_some() {
                        notes.push(format!(
                            "{here}: model_optimization_flavor({k}) is read but not applied by this version"
                        ));
                    }
                }
            }
            ("pre_quantization_optimization", Some("weights_clipping")) => {
                let values = pair("clipping_values");
                let mode = match (word("mode").unwrap_or("mmse_if4b"), values) {
                    ("disabled", _) => WeightClipping::MinMax,
                    ("manual", Some((_, hi))) => WeightClipping::Manual(hi),
                    ("percentile", Some((_, hi))) => WeightClipping::Percentile(hi),
                    ("mmse", _) => WeightClipping::Mmse,
                    _ => WeightClipping::MmseIf4b,
                };
                if targets.is_empty() {
                    cfg.weight_clipping = mode;
                } else {
                    for l in &targets {
                        cfg.weight_clipping_layers.insert(l.clone(), mode.clone());
                    }
                }
            }
            ("pre_quantization_optimization", Some("activation_clipping")) => {
                let all: Vec<String> = if targets.is_empty() {
                    layers.iter().map(bare).collect()
                } else {
                    targets.clone()
                };
                for l in all {
                    match (word("mode"), pair("clipping_values")) {
                        (Some("percentile"), Some(v)) => {
                            cfg.activation_percentile.insert(l, v);
                        }
                        (Some("manual"), Some(v)) => {
                            cfg.force_range_out.insert(l, v);
                        }
                        _ => {}
                    }
                }
            }
            (command, feature) => notes.push(format!(
                "{here}: {command}{} is read but not applied by this version",
                feature.map_or(String::new(), |f| format!("({f})"))
            )),
        }
    }
    Ok(notes)
}
