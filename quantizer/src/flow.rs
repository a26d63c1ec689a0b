//! `hailo optimize` as a library call: read a HAR and a calibration set, compile the model
//! script to one pass pipeline (its model modifications with resolved options, then the
//! quantization passes and `hl-to-quant`: [`crate::pipeline`]), run it through the pass
//! manager with the driver's instrumentation, measure the report and write the quantized HAR
//! atomically. The archive keeps the `hl` graph with its `q_*` decisions (lowered again on
//! load), so the final `hl-to-quant` runs on a copy that the report measures. Any failure
//! leaves no output file; a failing pass can write a `hailo-opt` reproducer.

use crate::calib::random_calib_set;
use crate::error::QuantError;
use crate::infer::context;
use crate::optimize::{first_graph, read_prepared, run_pipeline, QuantConfig};
use crate::report::build_report;
use crate::script::apply_script;
use hailo_alls::modifications::apply_model_modifications;
use hailo_alls::{check_source, CheckOptions, SourceFile};
use hailo_executor::dataset::{Layout, Purpose, Source};
use hailo_executor::Executor;
use hailo_har::{read_har, summarize, write_har, HarState, QuantReport};
use hailo_ir::pass::{pipeline, Instrumentation, OpPassManager, PassDef, Reproducer, Resources};
use hailo_ir::{print_module, Attribute, Context, Module, PrintOptions, Severity};
use hailo_passes::conversion::hl_to_quant::HlToQuant;
use hailo_target::Target;
use ndarray::ArrayD;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    /// `--pass-pipeline`: run this pipeline instead of the one the model script compiles to.
    pub pass_pipeline: Option<String>,
    /// `--dump-pass-pipeline`: report the pipeline that runs.
    pub dump_pipeline: bool,
    /// IR dumps, timing, statistics and verify-each around the passes.
    pub instrumentation: Instrumentation,
    /// `--reproducer`: where a failing pass writes the pipeline's input and the pipeline.
    pub reproducer: Option<PathBuf>,
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
    /// What the run chose because the script did not say (the guide's default optimization
    /// level and what of it is not built): shown unless `--quiet`.
    pub defaults: Vec<String>,
    /// With `dump_pipeline`: the pipeline that ran (every option printed), which `hailo-opt
    /// --calib-set` replays on the HAR's graph.
    pub pipeline: Option<String>,
    /// What the instrumentation reported: IR dumps, the timing tree, statistics.
    pub instrumentation: String,
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
/// resolved beside `base`. Returns the passes as pipeline text.
fn apply_modifications(
    m: &mut Module,
    ctx: &Context,
    name: &str,
    text: &str,
    base: &Path,
) -> Result<Vec<String>, String> {
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
    if req.pass_pipeline.is_some() && req.model_script.is_some() {
        return Err(
            "--pass-pipeline replaces the pipeline a model script compiles to: \
                    give one or the other"
                .into(),
        );
    }
    let net = summarize(&m).net_name;
    let mut cfg = QuantConfig::default();
    cfg.calibration.quiet = req.quiet;
    let (mut notes, mut warnings) = (Vec::new(), Vec::new());
    // The module as the pipeline's model modifications leave it: its layers are what the
    // script's quantization commands name, its inputs what the calibration set must match.
    let mut modified = m.clone();
    let mut modifications = Vec::new();
    if req.pass_pipeline.is_none() {
        if let Some((name, text)) = script_of(req, &meta)? {
            if meta.state == HarState::HailoModel {
                let base = req.model_script.as_deref().unwrap_or(&req.har);
                modifications = apply_modifications(&mut modified, &ctx, &name, &text, base)?;
            } else {
                notes.push(format!(
                    "{name}: the HAR is already {}: its model modification commands were applied \
                     when it was optimized and are not applied again",
                    meta.state
                ));
            }
            let (layers, original) = scope_names(&modified, &net);
            warnings.extend(apply_script(&mut cfg, &name, &text, &layers, &original)?);
            meta.model_script = Some(text);
        }
    }
    let quantize = !req.full_precision_only;
    let data = if quantize {
        let data = calibration_data(req, &modified, &net, cfg.calibration.calibset_size)?;
        let given = data.first().map_or(0, |d| d.shape()[0]);
        warnings.extend(
            fit_calibset_size(&mut cfg.calibration.calibset_size, given).map_err(|e| match &req
                .calib
            {
                CalibSource::Path(p, _) => format!("{}: {e}", p.display()),
                CalibSource::Random => e,
            })?,
        );
        data
    } else {
        Vec::new()
    };
    let mut defaults = Vec::new();
    if quantize && req.pass_pipeline.is_none() {
        let level = crate::levels::messages(&cfg);
        if cfg.optimization_level.is_some() {
            warnings.extend(level);
        } else {
            defaults.extend(level);
        }
    }
    let text = match &req.pass_pipeline {
        Some(p) => p.clone(),
        None => crate::pipeline::with_modifications(&modifications, quantize.then_some(&cfg)),
    };
    let (prefix, lowering) = split_lowering(&text, quantize)?;
    let registry = hailo_passes::registry();
    let pipeline = req
        .dump_pipeline
        .then(|| OpPassManager::parse(&text, &registry).map_or(text.clone(), |pm| pm.dump()));
    let mut inst = req.instrumentation.clone();
    let resources = crate::optimize::resources(&data, req.quiet);
    let start = Instant::now();
    let pm = match &prefix {
        Some(prefix) => Some(run_or_reproduce(
            &mut m, prefix, &resources, &mut inst, req,
        )?),
        None => None,
    };
    let mut report = None;
    let (mut lowering_time, mut report_time) = (Duration::ZERO, Duration::ZERO);
    if let Some(lowering) = lowering {
        let prepared = read_prepared(&mut m, Vec::new()).map_err(|e| e.to_string())?;
        let mut lowered = m.clone();
        let t = Instant::now();
        run_or_reproduce(&mut lowered, &lowering, &resources, &mut inst, req)?;
        lowering_time = t.elapsed();
        let t = Instant::now();
        let r = build_report(
            &m,
            &lowered,
            &prepared,
            cfg.calibration.calibset_size,
            cfg.calibration.batch_size,
            &data,
        )
        .map_err(|e| e.to_string())?;
        report_time = t.elapsed();
        warnings.extend(hardware_warnings(&lowered, &meta.hw_arch));
        meta.state = HarState::Quantized;
        meta.quantization = Some(r.clone());
        report = Some(r);
    } else {
        meta.state = HarState::FpOptimized;
    }
    warnings.extend(inst.diagnostics.iter().map(|d| d.message.clone()));
    let mut instrumentation = std::mem::take(&mut inst.output);
    if let Some(pm) = &pm {
        if inst.statistics {
            instrumentation.push_str(&pm.statistics_report());
        }
        if inst.timing {
            let rows = [
                ("hl-to-quant", lowering_time),
                ("Report (SNR of every layer)", report_time),
            ];
            let rows = if quantize { &rows[..] } else { &[] };
            instrumentation.push_str(&pm.timing_report(start.elapsed(), rows));
        }
    }
    write_har(&m, &ctx, &meta, &req.output, false).map_err(|e| e.to_string())?;
    Ok(OptimizeSummary {
        state: meta.state,
        report,
        notes,
        warnings,
        defaults,
        pipeline,
        instrumentation,
    })
}

/// What the compiler would refuse on the HAR's chip: `quant-to-phys` and the physical verifier
/// (`phys-verify`: the guide's per-layer limits) run on a copy of the quantized graph, each
/// error a warning now, so the model or its script can be fixed before `hailo compiler`.
fn hardware_warnings(lowered: &Module, hw_arch: &str) -> Vec<String> {
    let target = match Target::by_name(hw_arch) {
        Ok(t) => t,
        Err(e) => {
            return vec![format!(
                "the HAR's chip is unknown ({e}): its limits were not checked"
            )]
        }
    };
    let mut m = lowered.clone();
    let mut resources = Resources::new();
    resources.insert(target.clone());
    let text = "builtin.module(builtin.graph(quant-to-phys,phys-verify))";
    match run_pipeline(&mut m, text, &resources, &mut Instrumentation::default()) {
        Ok(_) => Vec::new(),
        Err(f) => f
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| {
                format!(
                    "{}: `hailo compiler` for {} will refuse this",
                    d.message, target.name
                )
            })
            .collect(),
    }
}

/// The model script to apply: `--model-script`, else the HAR's own; `(name for messages, text)`.
fn script_of(
    req: &OptimizeRequest,
    meta: &hailo_har::HarMetadata,
) -> Result<Option<(String, String)>, String> {
    Ok(match &req.model_script {
        Some(p) => Some((
            p.display().to_string(),
            std::fs::read_to_string(p)
                .map_err(|e| format!("{}: cannot read the model script: {e}", p.display()))?,
        )),
        None => meta
            .model_script
            .clone()
            .map(|t| (format!("{}:<model script>", req.har.display()), t)),
    })
}

/// The calibration set for the inputs of `m`'s first graph.
fn calibration_data(
    req: &OptimizeRequest,
    m: &Module,
    net: &str,
    calibset_size: usize,
) -> Result<Vec<ArrayD<f32>>, String> {
    let graph = first_graph(m).map_err(|e| e.to_string())?;
    let inputs = Executor::new(m, graph)
        .map_err(|e| format!("{}: {e}", req.har.display()))?
        .inputs()
        .to_vec();
    Ok(match &req.calib {
        CalibSource::Path(p, layout) => Source {
            path: p,
            layout: *layout,
            purpose: Purpose::Calibration,
            member: None,
            net: Some(net),
        }
        .read(&inputs)
        .map_err(|e| QuantError::Calibration(e.to_string()).to_string())?,
        CalibSource::Random => random_calib_set(
            &inputs,
            calibset_size,
            hailo_passes::hl::set_seed::seed_of(m),
        ),
    })
}

/// Splits `builtin.module(..., hl-to-quant)` into the passes before the lowering and the
/// lowering, as pipeline texts (`None` when there are none). The archive keeps the annotated
/// `hl` graph, so a quantizing pipeline must end with `hl-to-quant`; one that does not
/// quantize must not contain it.
fn split_lowering(text: &str, quantize: bool) -> Result<(Option<String>, Option<String>), String> {
    let bad = |why: &str| format!("pass pipeline '{text}': {why}");
    let elems = pipeline::parse(text).map_err(|e| bad(&e.message))?;
    let [top] = elems.as_slice() else {
        return Err(bad("expected one builtin.module(...)"));
    };
    let nested = match (&top.nested, top.name.as_str()) {
        (Some(n), hailo_ir::builtin::MODULE) => n,
        _ => return Err(bad("expected one builtin.module(...)")),
    };
    let wrap = |e: &[pipeline::Element]| {
        (!e.is_empty()).then(|| format!("{}({})", hailo_ir::builtin::MODULE, pipeline::print(e)))
    };
    match nested.split_last() {
        Some((last, rest)) if quantize && last.name == HlToQuant::NAME => {
            Ok((wrap(rest), wrap(std::slice::from_ref(last))))
        }
        _ if quantize => Err(bad(&format!(
            "hailo optimize writes the quantized HAR from the graph the pipeline leaves before \
             its last pass, which must be {}",
            HlToQuant::NAME
        ))),
        _ => Ok((wrap(nested), None)),
    }
}

/// Runs `text` on `m`; on failure, writes the reproducer if asked and returns the errors.
fn run_or_reproduce(
    m: &mut Module,
    text: &str,
    resources: &Resources,
    inst: &mut Instrumentation,
    req: &OptimizeRequest,
) -> Result<OpPassManager, String> {
    let input = req
        .reproducer
        .as_ref()
        .map(|_| print_module(m, &context(), PrintOptions::default()));
    let failure = match run_pipeline(m, text, resources, inst) {
        Ok(pm) => return Ok(pm),
        Err(f) => f,
    };
    let mut lines: Vec<String> = failure
        .diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect();
    if let (Some(path), Some(input)) = (&req.reproducer, input) {
        let repro = Reproducer {
            pipeline: text.to_owned(),
            allow_unregistered_dialect: false,
            hw_arch: None,
            calib_set: match &req.calib {
                CalibSource::Path(p, layout) => Some((p.clone(), layout.name().to_owned())),
                CalibSource::Random => None,
            },
        };
        lines.push(
            match hailo_npz::atomic::write_bytes(path, repro.render(&input).as_bytes()) {
                Ok(()) => format!(
                    "reproducer written to '{}' (replay: hailo-opt --run-reproducer {}{})",
                    path.display(),
                    path.display(),
                    if matches!(req.calib, CalibSource::Random) {
                        " --calib-set <data>: the calibration set was random"
                    } else {
                        ""
                    }
                ),
                Err(e) => format!("could not write reproducer '{}': {e}", path.display()),
            },
        );
    }
    // IR dumps the instrumentation made before the failure (`--print-ir-after-failure`).
    lines.push(std::mem::take(&mut inst.output));
    Err(lines.join("\n").trim_end().to_owned())
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
