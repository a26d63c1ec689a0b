//! `hailo optimize` as a library call: read a HAR and a calibration set, apply the model
//! script's optimization commands, calibrate, annotate (the archive keeps the `hl` graph
//! with its `q_*` decisions, lowered again on load), measure the report and write the
//! quantized HAR atomically. Any failure leaves no output file.

use crate::calib::random_calib_set;
use crate::error::QuantError;
use crate::infer::context;
use crate::optimize::{first_graph, prepare_timed, QuantConfig};
use crate::report::build_report;
use crate::script::apply_script;
use hailo_alls::modifications::apply_model_modifications;
use hailo_alls::{check_source, CheckOptions, SourceFile};
use hailo_executor::dataset::{Layout, Purpose, Source};
use hailo_executor::Executor;
use hailo_har::{read_har, summarize, write_har, HarState, QuantReport};
use hailo_ir::pass::OpPassManager;
use hailo_ir::{Attribute, Context, Module};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the calibration data comes from.
#[derive(Clone, Debug)]
pub enum CalibSource {
    Path(PathBuf, Layout),
    /// `--use-random-calib-set`.
    Random,
}

/// One `hailo optimize` run.
#[derive(Clone, Debug)]
pub struct OptimizeRequest {
    pub har: PathBuf,
    pub calib: CalibSource,
    pub model_script: Option<PathBuf>,
    /// `--full-precision-only`: apply the script's float stage only (no quantization).
    pub full_precision_only: bool,
    pub output: PathBuf,
    pub quiet: bool,
    /// `--dump-pass-pipeline`: report the pipeline the script's quantization settings are.
    pub dump_pipeline: bool,
    /// `--timing`: report the wall time of every pass.
    pub timing: bool,
}

/// What the run did.
#[derive(Clone, Debug)]
pub struct OptimizeSummary {
    pub state: HarState,
    pub report: Option<QuantReport>,
    /// What the run did differently from a fresh optimization (e.g. modifications already applied).
    pub notes: Vec<String>,
    /// Script arguments accepted but not applied, settings the run adjusted to go on (a
    /// calibration set smaller than calibset_size) and the passes' warnings.
    pub warnings: Vec<String>,
    /// With `dump_pipeline`: the quantization as a pass pipeline (every option printed), which
    /// `hailo-opt --calib-set` replays on the fp-optimized graph.
    pub pipeline: Option<String>,
    /// With `timing`: the pass timing tree (when the quantization ran as passes).
    pub timing: Option<String>,
}

/// The guide's advice on the calibration set size (§5.3, "Model Optimization Flavors").
const GUIDE_CALIBSET_ADVICE: &str = "the DFC guide recommends at least 1024 calibration samples \
     (optimization levels 2 and 4 require 1024, level 3 requires 256)";

/// Calibrates on all `given` samples when there are fewer than `calibset_size`; the warning
/// says so. An empty set is an error.
fn fit_calibset_size(calibset_size: &mut usize, given: usize) -> Result<Option<String>, String> {
    if given == 0 {
        return Err("the calibration set has no samples".into());
    }
    if given >= *calibset_size {
        return Ok(None);
    }
    let warning = format!(
        "the calibration set has {given} samples, fewer than calibset_size ({}): calibrating on \
         all {given}; {GUIDE_CALIBSET_ADVICE}",
        *calibset_size
    );
    *calibset_size = given;
    Ok(Some(warning))
}

/// Scoped layer names (`net/layer`) and original names of `m`, for the model script.
fn scope_names(m: &Module, net: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let mut layers = Vec::new();
    let mut original = BTreeMap::new();
    for op in m.walk(m.top()) {
        let Some(layer) = m.attr(op, "layer").and_then(Attribute::as_str) else {
            continue;
        };
        let full = format!("{net}/{layer}");
        for name in m.op(op).loc.names() {
            original
                .entry(name.to_owned())
                .or_insert_with(|| full.clone());
        }
        layers.push(full);
    }
    (layers, original)
}

/// Applies the model modification commands of the script `text` (named `name` in errors) to
/// the parsed model `m`, in script order; relative paths in the script (NMS configs) are
/// resolved beside `base`.
fn apply_modifications(
    m: &mut Module,
    ctx: &Context,
    name: &str,
    text: &str,
    base: &Path,
) -> Result<(), String> {
    let src = SourceFile::new(name, text);
    let checked = check_source(&src, CheckOptions::default());
    if let Some(d) = checked.diagnostics.iter().find(|d| d.is_error()) {
        return Err(d.render(&src));
    }
    let dir = base.parent().unwrap_or(Path::new("."));
    apply_model_modifications(m, ctx, &checked.script, dir).map_err(|d| d.render(&src))
}

/// Runs the optimization stage; errors are complete messages for the user.
pub fn optimize_har(req: &OptimizeRequest) -> Result<OptimizeSummary, String> {
    let ctx = context();
    let (mut m, mut meta) = read_har(&req.har, &ctx).map_err(|e| e.to_string())?;
    if meta.state == HarState::Quantized || meta.state == HarState::Compiled {
        return Err(format!(
            "{}: the model is already {}; optimize a parsed (hailo_model) or fp_optimized HAR",
            req.har.display(),
            meta.state
        ));
    }
    let net = summarize(&m).net_name;
    let mut cfg = QuantConfig::default();
    cfg.calibration.quiet = req.quiet;
    let script = match &req.model_script {
        Some(p) => Some((
            p.display().to_string(),
            std::fs::read_to_string(p)
                .map_err(|e| format!("{}: cannot read the model script: {e}", p.display()))?,
        )),
        None => meta
            .model_script
            .clone()
            .map(|t| (format!("{}:<model script>", req.har.display()), t)),
    };
    let (mut notes, mut warnings) = (Vec::new(), Vec::new());
    if let Some((name, text)) = &script {
        if meta.state == HarState::HailoModel {
            let base = req.model_script.as_deref().unwrap_or(&req.har);
            apply_modifications(&mut m, &ctx, name, text, base)?;
        } else {
            notes.push(format!(
                "{name}: the HAR is already {}: its model modification commands were applied \
                 when it was optimized and are not applied again",
                meta.state
            ));
        }
        let (layers, original) = scope_names(&m, &net);
        warnings.extend(apply_script(&mut cfg, name, text, &layers, &original)?);
        meta.model_script = Some(text.clone());
    }
    if req.full_precision_only {
        meta.state = HarState::FpOptimized;
        write_har(&m, &ctx, &meta, &req.output, false).map_err(|e| e.to_string())?;
        return Ok(OptimizeSummary {
            state: meta.state,
            report: None,
            notes,
            warnings,
            pipeline: None,
            timing: None,
        });
    }
    let graph = first_graph(&m).map_err(|e| e.to_string())?;
    let inputs = Executor::new(&m, graph)
        .map_err(|e| format!("{}: {e}", req.har.display()))?
        .inputs()
        .to_vec();
    let data = match &req.calib {
        CalibSource::Path(p, layout) => Source {
            path: p,
            layout: *layout,
            purpose: Purpose::Calibration,
            member: None,
            net: Some(&net),
        }
        .read(&inputs)
        .map_err(|e| QuantError::Calibration(e.to_string()).to_string())?,
        CalibSource::Random => random_calib_set(
            &inputs,
            cfg.calibration.calibset_size,
            hailo_passes::hl::set_seed::seed_of(&m),
        ),
    };
    let given = data.first().map_or(0, |d| d.shape()[0]);
    warnings.extend(
        fit_calibset_size(&mut cfg.calibration.calibset_size, given).map_err(|e| {
            match &req.calib {
                CalibSource::Path(p, _) => format!("{}: {e}", p.display()),
                CalibSource::Random => e,
            }
        })?,
    );
    let pipeline = req.dump_pipeline.then(|| {
        let text = crate::pipeline::of(&cfg);
        OpPassManager::parse(&text, &hailo_passes::registry()).map_or(text, |pm| pm.dump())
    });
    let (prepared, timing) =
        prepare_timed(&mut m, &data, &cfg, req.timing).map_err(|e| e.to_string())?;
    warnings.extend(prepared.notes.iter().cloned());
    let report = build_report(
        &m,
        &prepared,
        cfg.calibration.calibset_size,
        cfg.calibration.batch_size,
        &data,
    )
    .map_err(|e| e.to_string())?;
    meta.state = HarState::Quantized;
    meta.quantization = Some(report.clone());
    write_har(&m, &ctx, &meta, &req.output, false).map_err(|e| e.to_string())?;
    Ok(OptimizeSummary {
        state: meta.state,
        report: Some(report),
        notes,
        warnings,
        pipeline,
        timing,
    })
}

/// Reads a quantized HAR for emulation: the module (lower it with [`crate::infer`]).
pub fn read_quantized(path: &Path) -> Result<Module, String> {
    let (m, meta) = read_har(path, &context()).map_err(|e| e.to_string())?;
    if meta.state != HarState::Quantized {
        return Err(format!(
            "{}: the model is {}, not quantized; run `hailo optimize` first",
            path.display(),
            meta.state
        ));
    }
    Ok(m)
}
