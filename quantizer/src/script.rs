//! The optimization commands of a model script (guide §5.3) compiled into a [`QuantConfig`],
//! whose settings are the options of the quantization passes ([`crate::pipeline`]).
//!
//! Nothing is dropped silently: every argument a command is given is either read by the
//! handler that applies it, or reported as a located warning `accepted but not applied: <why>`.
//! A [`Reader`] records which arguments a handler reads, so the two cannot drift apart; a
//! whole command or feature without a handler is one warning. A feature switched off
//! (`policy=disabled`) that this version never runs is applied as written.

use crate::optimize::{Precision, QuantConfig};
use hailo_alls::spec::Stage;
use hailo_alls::value::TypedValue;
use hailo_alls::{check_source, CheckOptions, LayerScope, SourceFile, TypedCommand};
use hailo_passes::quant::clipping::WeightClipping;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// What became of one optimization command.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// `command` or `command(feature)`.
    pub command: String,
    /// Arguments that took effect (all of them when `warned` is empty).
    pub applied: Vec<&'static str>,
    /// `(argument or "" for the whole command, why it is not applied)`.
    pub warned: Vec<(String, String)>,
}

/// Arguments a handler reads; the rest are reported.
pub struct Reader<'a> {
    t: &'a TypedCommand,
    read: RefCell<BTreeSet<&'static str>>,
}

impl<'a> Reader<'a> {
    fn new(t: &'a TypedCommand) -> Self {
        Reader {
            t,
            read: RefCell::new(BTreeSet::new()),
        }
    }

    fn get(&self, k: &str) -> Option<&'a TypedValue> {
        let arg = self.t.args.iter().find(|a| a.param.name == k)?;
        self.read.borrow_mut().insert(arg.param.name);
        Some(&arg.value)
    }

    /// Marks every argument read.
    fn read_all(&self) {
        self.read
            .borrow_mut()
            .extend(self.t.args.iter().map(|a| a.param.name));
    }

    fn word(&self, k: &str) -> Option<&'a str> {
        self.get(k).and_then(TypedValue::as_word)
    }

    fn f64(&self, k: &str) -> Option<f64> {
        self.get(k).and_then(TypedValue::as_f64)
    }

    fn pair(&self, k: &str) -> Option<(f64, f64)> {
        match self.get(k).and_then(TypedValue::as_list) {
            Some([a, b]) => Some((a.as_f64()?, b.as_f64()?)),
            _ => None,
        }
    }
}

/// Why an argument or feature is accepted but has no effect in this version.
fn why_not(command: &str, feature: Option<&str>, arg: &str) -> String {
    let later = |what: &str| format!("{what} is not built yet");
    match (command, feature, arg) {
        ("model_optimization_flavor", _, "optimization_level") => {
            "the guide's levels are -100 and 0 to 4".into()
        }
        ("model_optimization_flavor", _, "batch_size") => {
            "it sets the batch of AdaRound and fine-tuning, which are not built yet; \
             calibration takes model_optimization_config(calibration, batch_size=...)"
                .into()
        }
        ("quantization_param", _, "max_elementwise_feed_repeat" | "max_bias_feed_repeat") => {
            later("the compiler's bias/elementwise feed allocation")
        }
        ("quantization_param", _, "null_channels_cutoff_factor") => {
            later("dead-channel handling (pre_quantization_optimization(dead_channels_removal))")
        }
        ("quantization_param", _, "output_encoding_vector") => later("per-channel output encoding"),
        ("pre_quantization_optimization", Some("matmul_equalization"), "matmul_bias") => {
            later("the matmul DC-offset bias (matmul_bias=enabled)")
        }
        ("pre_quantization_optimization", Some("ew_add_fusing"), "infusible_ew_add_type") => {
            later("replacing an add that cannot fuse by a convolution (infusible_ew_add_type=conv)")
        }
        ("pre_quantization_optimization" | "post_quantization_optimization", Some(f), "") => {
            later(&format!("the '{f}' algorithm"))
        }
        ("model_optimization_config", Some(f), "") => later(&format!("the '{f}' configuration")),
        (_, _, "") => later(&format!("'{command}'")),
        _ => "this version does not implement this argument".into(),
    }
}

/// Applies one optimization command to `cfg`: `targets` are the layers it names (bare names),
/// `all` every layer of the model. Returns what took effect and what did not.
pub fn apply_command(
    cfg: &mut QuantConfig,
    t: &TypedCommand,
    targets: &[String],
    all: &[String],
) -> Result<Outcome, String> {
    let r = Reader::new(t);
    let feature = t.feature.map(|f| f.name);
    let command = match feature {
        Some(f) => format!("{}({f})", t.spec.name),
        None => t.spec.name.to_owned(),
    };
    let handled = handle(cfg, &r, t.spec.name, feature, targets, all)?;
    let structural = ["feature", "layers"];
    let given: Vec<&'static str> = t
        .args
        .iter()
        .map(|a| a.param.name)
        .filter(|n| !structural.contains(n))
        .collect();
    if !handled {
        return Ok(Outcome {
            command,
            applied: Vec::new(),
            warned: vec![(String::new(), why_not(t.spec.name, feature, ""))],
        });
    }
    let read = r.read.into_inner();
    let (applied, unread): (Vec<_>, Vec<_>) = given.into_iter().partition(|n| read.contains(n));
    Ok(Outcome {
        command,
        applied,
        warned: unread
            .into_iter()
            .map(|n| (n.to_owned(), why_not(t.spec.name, feature, n)))
            .collect(),
    })
}

/// The handler of each command this version applies; `false` for the others.
fn handle(
    cfg: &mut QuantConfig,
    r: &Reader<'_>,
    command: &str,
    feature: Option<&str>,
    targets: &[String],
    all: &[String],
) -> Result<bool, String> {
    match (command, feature) {
        ("quantization_param", _) => quantization_param(cfg, r, targets)?,
        ("model_optimization_config", Some("calibration")) => {
            if let Some(n) = r.f64("calibset_size") {
                cfg.calibration.calibset_size = n as usize;
            }
            if let Some(n) = r.f64("batch_size") {
                cfg.calibration.batch_size = n as usize;
            }
        }
        ("model_optimization_config", Some("compression_params")) => {
            if let Some(v) = r.f64("auto_4bit_weights_ratio") {
                cfg.auto_4bit_ratio = v;
            }
            match r.f64("auto_16bit_weights_ratio") {
                Some(v) if v >= 1.0 => cfg.default_precision = Precision::A16W16,
                Some(v) if v > 0.0 => cfg.auto_16bit_ratio = v,
                _ => {}
            }
        }
        ("model_optimization_flavor", _) => {
            if let Some(l) = r.f64("compression_level") {
                cfg.compression_level = l as u8;
                cfg.compression_level_set = true;
            }
            // A level outside the guide's table stays unread, so it is reported.
            let level = r.t.get("optimization_level").and_then(TypedValue::as_f64);
            if let Some(l) = level.filter(|&l| crate::levels::is_level(l as i64)) {
                r.get("optimization_level");
                cfg.optimization_level = Some(l as i64);
            }
        }
        ("post_quantization_optimization", Some("bias_correction")) => {
            // Layer results are held in memory: there is no disk cache to compress.
            r.get("cache_compression");
            let enabled = match r.word("policy") {
                Some("enabled") => Some(true),
                Some("disabled") => Some(false),
                _ => None,
            };
            match (enabled, targets.is_empty()) {
                (e, true) => cfg.bias_correction = e.or(cfg.bias_correction),
                (Some(e), false) => {
                    for l in targets {
                        cfg.bias_correction_layers.insert(l.clone(), e);
                    }
                }
                // `allowed` on layers: they follow the global policy.
                (None, false) => {
                    for l in targets {
                        cfg.bias_correction_layers.remove(l);
                    }
                }
            }
        }
        ("pre_quantization_optimization", Some("dead_channels_removal")) => {
            if let Some(p) = r.word("policy") {
                cfg.dead_channels_removal = p == "enabled";
            }
        }
        ("pre_quantization_optimization", Some("dead_layers_removal")) => {
            // Only exact removals are made, so there is nothing for the validation to reject.
            r.get("validate_change");
            if let Some(p) = r.word("policy") {
                cfg.dead_layers_removal = p != "disabled";
            }
        }
        ("pre_quantization_optimization", Some("equalization")) => {
            let policy = r.word("policy");
            let target = r.word("equalization_target");
            if targets.is_empty() {
                if let Some(p) = policy {
                    cfg.equalization = p == "enabled";
                }
            }
            for l in targets {
                if let Some(p) = policy {
                    cfg.equalization_layers.insert(l.clone(), p.to_owned());
                }
                if let Some(t) = target {
                    cfg.equalization_targets.insert(l.clone(), t.to_owned());
                }
            }
        }
        ("pre_quantization_optimization", Some("matmul_equalization")) => {
            if let Some(p) = r.word("policy") {
                if targets.is_empty() {
                    cfg.matmul_equalization = p.to_owned();
                }
                for l in targets {
                    cfg.matmul_equalization_layers
                        .insert(l.clone(), p.to_owned());
                }
            }
            // The DC offset is not built: `disabled` (the default) is what this version does.
            if r.t.get("matmul_bias").and_then(TypedValue::as_word) != Some("enabled") {
                r.get("matmul_bias");
            }
        }
        ("pre_quantization_optimization", Some("zero_static_channels")) => {
            let policy = r.word("policy");
            if let Some(eps) = r.f64("eps") {
                cfg.zero_static_eps = eps;
            }
            if targets.is_empty() {
                if let Some(p) = policy {
                    cfg.zero_static_channels = p == "enabled";
                }
            }
            for l in targets {
                if let Some(p) = policy {
                    cfg.zero_static_layers.insert(l.clone(), p.to_owned());
                }
            }
        }
        ("pre_quantization_optimization", Some("global_avgpool_reduction")) => {
            if let Some((h, w)) = r.pair("division_factors") {
                for l in targets {
                    cfg.global_avgpool_reduction
                        .insert(l.clone(), (h as i64, w as i64));
                }
            }
        }
        ("pre_quantization_optimization", Some("se_optimization"))
            if r.t
                .get("method")
                .and_then(TypedValue::as_word)
                .unwrap_or("tse")
                == "tse" =>
        {
            r.get("method");
            let mode = r.word("mode").unwrap_or("disabled");
            let tile_height = match r.get("tile_height") {
                Some(v) => match v.as_list() {
                    Some(l) => l
                        .iter()
                        .filter_map(TypedValue::as_f64)
                        .map(|h| h as i64)
                        .collect(),
                    None => v.as_f64().map(|h| vec![h as i64]).unwrap_or_default(),
                },
                None => vec![7],
            };
            let count = r.f64("count").unwrap_or(0.0) as i64;
            cfg.se_optimization = (mode != "disabled").then(|| crate::optimize::TseConfig {
                mode: mode.to_owned(),
                count,
                layers: targets.to_vec(),
                tile_height,
            });
        }
        ("pre_quantization_optimization", Some("weights_clipping")) => {
            weights_clipping(cfg, r, targets)
        }
        ("pre_quantization_optimization", Some("ew_add_fusing")) => {
            if let Some(p) = r.word("policy") {
                cfg.ew_add_fusing = p == "enabled";
            }
            // An add that cannot fuse stays an add layer: the default, and what this version does.
            if r.t
                .get("infusible_ew_add_type")
                .and_then(TypedValue::as_word)
                == Some("ew_add")
            {
                r.get("infusible_ew_add_type");
            }
        }
        ("pre_quantization_optimization", Some("activation_clipping")) => {
            let layers = if targets.is_empty() { all } else { targets };
            for l in layers {
                match (r.word("mode"), r.pair("clipping_values")) {
                    (Some("percentile"), Some(v)) => {
                        cfg.activation_percentile.insert(l.clone(), v);
                    }
                    (Some("manual"), Some(v)) => {
                        cfg.force_range_out.insert(l.clone(), v);
                    }
                    _ => {}
                }
            }
        }
        // A feature this version never runs, switched off: exactly what the script asks (its
        // other arguments configure the algorithm that does not run).
        ("pre_quantization_optimization" | "post_quantization_optimization", Some(_))
            if r.t.get("policy").and_then(TypedValue::as_word) == Some("disabled") =>
        {
            r.read_all();
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn quantization_param(
    cfg: &mut QuantConfig,
    r: &Reader<'_>,
    targets: &[String],
) -> Result<(), String> {
    for l in targets {
        if let Some(p) = r.word("precision_mode") {
            let p = Precision::parse(p).ok_or_else(|| {
                format!("precision_mode '{p}' is not supported yet (aX_wY or aX_wY_aZ with X, Z in 8/16 and Y in 4/8/16)")
            })?;
            cfg.precision.insert(l.clone(), p);
        }
        if let Some(n) = r.f64("quantization_groups") {
            cfg.quant_groups.insert(l.clone(), n as usize);
        }
        if let Some(b) = r.word("bias_mode") {
            cfg.bias_mode.insert(l.clone(), b.to_owned());
        }
        if let Some(v) = r.pair("force_range_out") {
            cfg.force_range_out.insert(l.clone(), v);
        }
    }
    Ok(())
}

fn weights_clipping(cfg: &mut QuantConfig, r: &Reader<'_>, targets: &[String]) {
    let values = r.pair("clipping_values");
    let mode = match (r.word("mode").unwrap_or("mmse_if4b"), values) {
        ("disabled", _) => WeightClipping::MinMax,
        ("manual", Some((_, hi))) => WeightClipping::Manual(hi),
        ("percentile", Some((_, hi))) => WeightClipping::Percentile(hi),
        ("mmse", _) => WeightClipping::Mmse,
        _ => WeightClipping::MmseIf4b,
    };
    if targets.is_empty() {
        cfg.weight_clipping = mode;
    } else {
        for l in targets {
            cfg.weight_clipping_layers.insert(l.clone(), mode.clone());
        }
    }
}

/// Applies `text` (file `name`) to `cfg`. `layers` are the model's scoped layer names
/// (`net/layer`), `original` maps framework names to them. Returns the located warnings for
/// what is accepted but not applied; errors carry rendered, located diagnostics.
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
    let all: Vec<String> = layers.iter().map(bare).collect();
    let mut warnings = Vec::new();
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
        let at = |offset: usize| {
            let (line, col) = src.line_col(offset);
            format!("{name}:{line}:{col}")
        };
        let outcome = apply_command(cfg, t, &targets, &all)
            .map_err(|e| format!("{}: {e}", at(cmd.statement.span.start)))?;
        for (arg, why) in outcome.warned {
            let span = t
                .args
                .iter()
                .find(|a| a.param.name == arg)
                .map_or(cmd.statement.span, |a| a.span);
            let what = if arg.is_empty() {
                outcome.command.clone()
            } else {
                format!("{} argument '{arg}'", outcome.command)
            };
            warnings.push(format!(
                "{}: {what}: accepted but not applied: {why}",
                at(span.start)
            ));
        }
    }
    Ok(warnings)
}
