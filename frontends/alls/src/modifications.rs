//! Applying a model script's model-modification commands (guide §5.3.3) to an `hl` module
//! (here, with the script, so the passes know nothing of model scripts):
//! each command, in script order, becomes its `hl-*` pass with the command's arguments as
//! options. Layer arguments are resolved against the module's current layer names (so names
//! created by earlier commands are in scope), the statement's targets name the created layers,
//! and every failure is reported at the statement in the script.

use crate::ast::{Statement, Targets};
use crate::spec::Stage;
use crate::value::TypedValue;
use crate::{Diagnostic, LayerScope, ModelScript, TypedCommand};
use hailo_ir::pass::options::print_options;
use hailo_ir::pass::{Instrumentation, OpPassManager, PassDef};
use hailo_ir::{Attribute, Context, Module, Severity};
use hailo_passes::hl::change_output_activation::{
    ChangeOutputActivation, ChangeOutputActivationOptions,
};
use hailo_passes::hl::input_conversion::{InputConversion, InputConversionOptions};
use hailo_passes::hl::logits_layer::{LogitsLayer, LogitsLayerOptions};
use hailo_passes::hl::nms_postprocess::{NmsPostprocess, NmsPostprocessOptions};
use hailo_passes::hl::normalization::{Normalization, NormalizationOptions};
use hailo_passes::hl::resize::{Resize, ResizeOptions};
use hailo_passes::hl::set_seed::{SetSeed, SetSeedOptions};
use hailo_passes::hl::transpose::{Transpose, TransposeOptions};
use std::collections::BTreeMap;
use std::path::Path;

/// Runs every model-modification command of `script` on `m`, in order. `base_dir` is where
/// relative paths of the script (NMS configs) are resolved from. Returns each pass as
/// pipeline text with its options resolved (`hl-normalization{mean=[...] ...}`): run in
/// order from the same module, they make the same changes.
pub fn apply_model_modifications(
    m: &mut Module,
    ctx: &Context,
    script: &ModelScript,
    base_dir: &Path,
) -> Result<Vec<String>, Diagnostic> {
    script
        .for_stage(Stage::ModelModification)
        .map(|(stmt, cmd)| apply_command(m, ctx, stmt, cmd, base_dir))
        .collect()
}

/// Every layer name of the module, in order.
fn layer_names(m: &Module) -> Vec<String> {
    m.walk(m.top())
        .into_iter()
        .filter_map(|op| {
            m.attr(op, "layer")
                .and_then(Attribute::as_str)
                .map(str::to_owned)
        })
        .collect()
}

struct Args<'a> {
    stmt: &'a Statement,
    cmd: &'a TypedCommand,
    scope: LayerScope,
}

impl Args<'_> {
    fn err(&self, message: String) -> Diagnostic {
        Diagnostic::error(self.stmt.span, message, "in this command")
    }

    fn layer(&self, name: &str) -> Result<String, Diagnostic> {
        match self.cmd.get(name) {
            Some(TypedValue::Layers(sel)) => {
                let names = self.scope.resolve(sel)?;
                match names.as_slice() {
                    [one] => Ok(one.clone()),
                    _ => Err(self.err(format!(
                        "'{name}' must name one layer, got {}",
                        names.join(", ")
                    ))),
                }
            }
            _ => Ok(String::new()),
        }
    }

    fn word(&self, name: &str) -> String {
        self.cmd
            .get(name)
            .and_then(TypedValue::as_word)
            .unwrap_or_default()
            .to_owned()
    }

    fn word_or(&self, name: &str, default: &str) -> String {
        Some(self.word(name))
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| default.to_owned())
    }

    fn float(&self, name: &str) -> Option<f64> {
        self.cmd.get(name).and_then(TypedValue::as_f64)
    }

    fn int(&self, name: &str) -> Option<i64> {
        match self.cmd.get(name) {
            Some(TypedValue::Int(i)) => Some(*i),
            _ => None,
        }
    }

    fn bool(&self, name: &str) -> bool {
        matches!(self.cmd.get(name), Some(TypedValue::Bool(true)))
    }

    fn floats(&self, name: &str) -> Vec<f64> {
        self.cmd
            .get(name)
            .and_then(TypedValue::as_list)
            .map(|l| l.iter().filter_map(TypedValue::as_f64).collect())
            .unwrap_or_default()
    }

    fn ints(&self, name: &str) -> Vec<i64> {
        self.floats(name).into_iter().map(|f| f as i64).collect()
    }

    /// The statement's target names (the layers it creates).
    fn targets(&self) -> Vec<String> {
        match &self.stmt.targets {
            Some(Targets::Names(names)) => names.iter().map(|n| n.text.clone()).collect(),
            _ => Vec::new(),
        }
    }
}

fn apply_command(
    m: &mut Module,
    ctx: &Context,
    stmt: &Statement,
    cmd: &TypedCommand,
    base_dir: &Path,
) -> Result<String, Diagnostic> {
    let a = Args {
        stmt,
        cmd,
        scope: LayerScope::new(&layer_names(m), &BTreeMap::new()),
    };
    match cmd.spec.name {
        "normalization" => run::<Normalization>(
            m,
            ctx,
            &a,
            NormalizationOptions {
                mean: a.floats("mean"),
                std: a.floats("std"),
                input_layer: a.layer("input_layer")?,
                names: a.targets(),
            },
        ),
        "input_conversion" => run::<InputConversion>(
            m,
            ctx,
            &a,
            InputConversionOptions {
                conversion: a.word("conversion"),
                input_layer: a.layer("input_layer")?,
                emulator_support: a.bool("emulator_support"),
                names: a.targets(),
            },
        ),
        "transpose" => {
            let layers = match cmd.get("input_layers") {
                Some(TypedValue::Layers(sel)) => a.scope.resolve(sel)?,
                _ => Vec::new(),
            };
            run::<Transpose>(
                m,
                ctx,
                &a,
                TransposeOptions {
                    input_layers: layers,
                },
            )
        }
        "nms_postprocess" => {
            // The path is the script author's, relative to the script (the model zoo's
            // scripts name `../../postprocess_config/<net>.json`); the pass reads regular
            // files only, so a FIFO or device cannot hang or feed it.
            let config = a.word("config_path");
            let config_path = if config.is_empty() {
                String::new()
            } else {
                base_dir.join(&config).to_string_lossy().into_owned()
            };
            run::<NmsPostprocess>(
                m,
                ctx,
                &a,
                NmsPostprocessOptions {
                    config_path,
                    meta_arch: a.word("meta_arch"),
                    engine: a.word("engine"),
                    nms_scores_th: a.float("nms_scores_th"),
                    nms_iou_th: a.float("nms_iou_th"),
                    image_dims: a.ints("image_dims"),
                    classes: a.int("classes").unwrap_or(0),
                    bbox_decoding_only: a.bool("bbox_decoding_only"),
                },
            )
        }
        "change_output_activation" => run::<ChangeOutputActivation>(
            m,
            ctx,
            &a,
            ChangeOutputActivationOptions {
                output_layer: a.layer("output_layer")?,
                activation: a.word("activation"),
                ..Default::default()
            },
        ),
        "logits_layer" => run::<LogitsLayer>(
            m,
            ctx,
            &a,
            LogitsLayerOptions {
                output_layer: a.layer("output_layer")?,
                logits_type: a.word("logits_type"),
                axis: a.int("axis").unwrap_or(-1),
                engine: a.word_or("engine", "nn_core"),
                names: a.targets(),
            },
        ),
        "set_seed" => run::<SetSeed>(
            m,
            ctx,
            &a,
            SetSeedOptions {
                seed: a.int("seed").unwrap_or(-1),
            },
        ),
        "resize" => run::<Resize>(
            m,
            ctx,
            &a,
            ResizeOptions {
                layer: a.layer("layer")?,
                resize_shapes: a.ints("resize_shapes"),
                resize_method: a.word_or("resize_method", "bilinear"),
                pixels_mode: a.word_or("pixels_mode", "align_corners"),
                engine: a.word_or("engine", "nn_core"),
                names: a.targets(),
            },
        ),
        other => Err(a.err(format!("'{other}' is not a model modification command"))),
    }
}

/// Runs one pass on the module through the pass manager (verifying after it); its error
/// diagnostics become one error at the statement. Returns the pass as pipeline text.
fn run<P: PassDef>(
    m: &mut Module,
    ctx: &Context,
    a: &Args<'_>,
    options: P::Options,
) -> Result<String, Diagnostic> {
    let text = format!("{}{}", P::NAME, print_options(&options));
    let mut pm = OpPassManager::new(hailo_ir::builtin::MODULE);
    pm.add_pass(Box::new(P::new(options)));
    let mut inst = Instrumentation {
        verify_each: true,
        ..Instrumentation::default()
    };
    let root = m.top();
    pm.run(m, ctx, root, &mut inst)
        .map(|()| text)
        .map_err(|failure| {
            // A verification failure ends with the manager's note naming the pass.
            let invalid = failure
                .diagnostics
                .iter()
                .any(|d| d.severity == Severity::Note);
            let text: Vec<String> = failure
                .diagnostics
                .into_iter()
                .filter(|d| d.severity != Severity::Note)
                .map(|d| d.message)
                .collect();
            if invalid {
                a.err(format!(
                    "{} produced invalid IR: {}",
                    P::NAME,
                    text.join("; ")
                ))
            } else {
                a.err(text.join("; "))
            }
        })
}
