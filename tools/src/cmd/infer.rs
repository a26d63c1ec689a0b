//! `hailo infer`: runs a model (`.har` or `.hir`) in an emulation context on user data, as the
//! DFC's `runner.infer(context, data)` (guide §4.3.2), and writes the outputs to `.npz`.
//!
//! Inputs: a `.npy` (the single input), a `.npz` keyed by input layer names or the original
//! (ONNX) input names, or a directory of `.npy` files holding one sample each (single-input
//! models), read by [`hailo_executor::dataset`] as `hailo optimize` reads calibration sets.
//! Data is NHWC as in the HAR; `--input-layout nchw` transposes rank-4 inputs.
//!
//! Output: one array per output layer name, in output order, plus the original output names
//! as aliases. NaN policy: NaNs in the inputs or produced by the model's arithmetic
//! propagate unchanged into the outputs; a warning names every output that holds NaN.

use crate::context::full_context;
use hailo_executor::dataset::{Layout, Purpose, Source};
use hailo_executor::dump::LayerDump;
use hailo_executor::{Context, Executor, TensorInfo};
use hailo_ir::diag::SourceMgr;
use hailo_ir::Module;
use hailo_npz::{read_npy, read_npz, write_npz, NpyArray};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{concatenate, ArrayD, Axis, Slice};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The model: a Hailo archive (.har) or textual IR (.hir).
    model: PathBuf,
    /// Emulation context: native (the parsed float model) or fp_optimized (after the
    /// model script's float modifications).
    /// `quantized` runs a HAR written by `hailo optimize` in integer arithmetic.
    #[arg(long, default_value = "native", value_parser = ["native", "fp_optimized", "quantized"])]
    context: String,
    /// Input data: x.npy (one input), x.npz (keys = input layer or original input names), or
    /// a directory of .npy files (one sample each).
    #[arg(long)]
    input: PathBuf,
    /// Layout of rank-4 input data; nchw data is transposed to the model's NHWC.
    #[arg(long, default_value = "nhwc", value_parser = ["nhwc", "nchw"])]
    input_layout: String,
    /// Samples per interpreter run.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    batch_size: u64,
    /// Use only the first N samples.
    #[arg(long)]
    data_count: Option<usize>,
    /// Write every layer's output to DIR/<layer>.npy (all samples; use with a small data count).
    #[arg(long, value_name = "DIR")]
    dump_layers: Option<PathBuf>,
    /// Graph to run (symbol name).
    #[arg(long, default_value = "main")]
    graph: String,
    /// For a single-input model fed from a .npz: the member holding the input (e.g. x_nhwc).
    #[arg(long)]
    input_key: Option<String>,
    /// Integer class labels (.npy, or .npz with --labels-key): prints the top-1 accuracy of
    /// the first output.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Member of the --labels .npz holding the labels.
    #[arg(long, default_value = "y")]
    labels_key: String,
    /// Output .npz.
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(args: Args, quiet: bool) -> ExitCode {
    match infer(&args, quiet) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_model(path: &Path) -> Result<Module, String> {
    let ctx = full_context(true);
    match path.extension().and_then(|e| e.to_str()) {
        Some("har") => hailo_har::read_har(path, &ctx)
            .map(|(m, _)| m)
            .map_err(|e| e.to_string()),
        Some("hir") => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let file = path.display().to_string();
            hailo_ir::parse_module(&ctx, &file, &text).map_err(|d| {
                let mut sm = SourceMgr::default();
                sm.add(&file, &text);
                sm.render(&d).trim_end().to_owned()
            })
        }
        _ => Err(format!(
            "{}: unknown model format (expected a .har or .hir file)",
            path.display()
        )),
    }
}

/// Runs the command; the error is the message `run` prints.
pub fn infer(args: &Args, quiet: bool) -> Result<(), String> {
    if args.context == "quantized" {
        return infer_quantized(args, quiet);
    }
    let module = load_model(&args.model)?;
    let context = Context::parse(&args.context)
        .ok_or_else(|| format!("unknown context '{}'", args.context))?;
    let interp = Executor::with_context(&module, args.graph.as_str(), context)
        .map_err(|e| format!("{}: {e}", args.model.display()))?;
    drop(module);
    let (inputs, count) = read_inputs(args, interp.inputs())?;
    let batch = usize::try_from(args.batch_size).unwrap_or(usize::MAX);
    let bar = progress(count as u64, quiet);
    let mut dump = args.dump_layers.as_ref().map(LayerDump::new);
    let mut batches: Vec<Vec<ArrayD<f32>>> = Vec::new();
    for start in (0..count).step_by(batch) {
        let end = (start + batch).min(count);
        let chunk: Vec<ArrayD<f32>> = inputs
            .iter()
            .map(|x| x.slice_axis(Axis(0), Slice::from(start..end)).to_owned())
            .collect();
        let outs = match dump.as_mut() {
            Some(d) => interp.run_observed(&chunk, &mut |o| d.record(o)),
            None => interp.run(&chunk),
        }
        .map_err(|e| format!("samples {start}..{end}: {e}"))?;
        batches.push(outs);
        bar.inc((end - start) as u64);
    }
    bar.finish_and_clear();
    let outputs = stack_outputs(batches, interp.outputs().len())?;
    warn_nan(&outputs, interp.outputs());
    write_outputs(&args.output, &outputs, interp.outputs())?;
    if let Some(labels) = &args.labels {
        let (correct, n) = top1(&outputs[0], labels, &args.labels_key, count)?;
        println!(
            "top-1 accuracy: {:.2}% ({correct}/{n})",
            100.0 * correct as f64 / n as f64
        );
    }
    if let Some(d) = dump {
        let files = d.finish().map_err(|e| e.to_string())?;
        if !quiet {
            eprintln!(
                "wrote {} layer outputs to {}",
                files.len(),
                args.dump_layers
                    .as_deref()
                    .unwrap_or(Path::new(""))
                    .display()
            );
        }
    }
    if !quiet {
        eprintln!(
            "ran {count} sample(s) in the {} context; wrote {}",
            context.name(),
            args.output.display()
        );
    }
    Ok(())
}

/// `--context quantized`: the quantized HAR's integer emulation (dequantized outputs).
fn infer_quantized(args: &Args, quiet: bool) -> Result<(), String> {
    if args.model.extension().is_none_or(|e| e != "har") {
        return Err(format!(
            "{}: the quantized context runs a HAR written by `hailo optimize`",
            args.model.display()
        ));
    }
    let module = hailo_quantizer::flow::read_quantized(&args.model)?;
    let infos = Executor::new(&module, args.graph.as_str())
        .map_err(|e| format!("{}: {e}", args.model.display()))?;
    let (inputs, count) = read_inputs(args, infos.inputs())?;
    let inputs: Vec<ArrayD<f32>> = inputs
        .iter()
        .map(|x| x.slice_axis(Axis(0), Slice::from(0..count)).to_owned())
        .collect();
    let outputs = match &args.dump_layers {
        Some(dir) => hailo_quantizer::infer_with_dump(&module, &inputs, dir).map(|(o, _)| o),
        None => hailo_quantizer::infer(&module, &inputs),
    }
    .map_err(|e| e.to_string())?;
    warn_nan(&outputs, infos.outputs());
    write_outputs(&args.output, &outputs, infos.outputs())?;
    if let Some(labels) = &args.labels {
        let (correct, n) = top1(&outputs[0], labels, &args.labels_key, count)?;
        println!(
            "top-1 accuracy: {:.2}% ({correct}/{n})",
            100.0 * correct as f64 / n as f64
        );
    }
    if !quiet {
        eprintln!(
            "ran {count} sample(s) in the quantized context; wrote {}",
            args.output.display()
        );
    }
    Ok(())
}

fn progress(len: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} samples {per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// `--input` (with `--input-layout` and `--input-key`) as one array per model input, and
/// how many of their samples to run (`--data-count`).
fn read_inputs(args: &Args, infos: &[TensorInfo]) -> Result<(Vec<ArrayD<f32>>, usize), String> {
    let layout = Layout::parse(&args.input_layout)
        .ok_or_else(|| format!("unknown input layout '{}'", args.input_layout))?;
    let source = Source {
        path: &args.input,
        layout,
        purpose: Purpose::Inference,
        member: args.input_key.as_deref(),
        net: None,
    };
    let inputs = source.read(infos).map_err(|e| e.to_string())?;
    let total = inputs.first().map_or(0, |x| x.len_of(Axis(0)));
    let count = args.data_count.map_or(total, |n| n.min(total));
    if count == 0 {
        return Err(format!("{}: no samples to run", args.input.display()));
    }
    Ok((inputs, count))
}

/// Top-1 hits of `scores` (`[N, classes]`, or any shape with the class axis last) against
/// integer labels; returns (correct, samples).
fn top1(
    scores: &ArrayD<f32>,
    path: &Path,
    key: &str,
    count: usize,
) -> Result<(usize, usize), String> {
    let labels = match path.extension().and_then(|e| e.to_str()) {
        Some("npz") => read_npz(path)
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, a)| a)
            .ok_or_else(|| format!("{}: no member '{key}' (set --labels-key)", path.display()))?,
        _ => read_npy(path).map_err(|e| e.to_string())?,
    };
    let labels: Vec<i64> = match labels {
        NpyArray::I64(a) => a.iter().copied().collect(),
        NpyArray::I32(a) => a.iter().map(|&v| i64::from(v)).collect(),
        NpyArray::U8(a) => a.iter().map(|&v| i64::from(v)).collect(),
        other => {
            return Err(format!(
                "{}: labels must be integers, found {}",
                path.display(),
                other.dtype().name()
            ))
        }
    };
    if labels.len() < count {
        return Err(format!(
            "{}: {} label(s) for {count} sample(s)",
            path.display(),
            labels.len()
        ));
    }
    let classes = scores.shape().last().copied().unwrap_or(0);
    let flat = scores.as_standard_layout();
    let rows = flat.as_slice().unwrap_or(&[]).chunks(classes.max(1));
    let correct = rows
        .zip(&labels)
        .filter(|(row, &label)| {
            let best = row
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                );
            best.0 as i64 == label
        })
        .count();
    Ok((correct, count))
}

fn stack_outputs(batches: Vec<Vec<ArrayD<f32>>>, n: usize) -> Result<Vec<ArrayD<f32>>, String> {
    (0..n)
        .map(|i| {
            let views: Vec<_> = batches.iter().map(|b| b[i].view()).collect();
            concatenate(Axis(0), &views)
                .map_err(|e| format!("output {i}: batches differ in shape: {e}"))
        })
        .collect()
}

fn warn_nan(outputs: &[ArrayD<f32>], infos: &[TensorInfo]) {
    for (o, info) in outputs.iter().zip(infos) {
        let nan = o.iter().filter(|v| v.is_nan()).count();
        if nan > 0 {
            eprintln!("warning: output '{}' holds {nan} NaN value(s) of {} (NaNs propagate; they are written as is)", info.name, o.len());
        }
    }
}

fn write_outputs(path: &Path, outputs: &[ArrayD<f32>], infos: &[TensorInfo]) -> Result<(), String> {
    let mut entries: Vec<(String, NpyArray)> = infos
        .iter()
        .zip(outputs)
        .map(|(info, o)| (info.name.clone(), NpyArray::F32(o.clone())))
        .collect();
    for (info, o) in infos.iter().zip(outputs) {
        if let Some(orig) = &info.original_name {
            if !entries.iter().any(|(k, _)| k == orig) {
                entries.push((orig.clone(), NpyArray::F32(o.clone())));
            }
        }
    }
    write_npz(path, &entries).map_err(|e| e.to_string())
}
