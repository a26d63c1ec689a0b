//! `hailo parser`: translates a framework model into the `hl` dialect and a Hailo archive
//! (guide §4.2, §5.1). One subcommand per framework (`onnx`, `tf` alias `tflite`); each
//! frontend imports faithfully and runs the `hailo-parse` pipeline (folds, fusions, layer
//! numbering; `--dump-pass-pipeline` prints it). Both share the output stage: verify, write
//! `.hir`, HAR and parsing report, print the mapping.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hailo_har::{write_har, HarMetadata, HarState};
use hailo_ir::pass::OpPassManager;
use hailo_ir::{print_module, Module, PrintOptions};
use hailo_onnx::to_hl::{convert_owned, ConvertOptions};
use hailo_onnx::{load_with, parse_input_shape, LoadOptions};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    framework: Framework,
}

#[derive(clap::Subcommand)]
enum Framework {
    /// Parse an ONNX model (opsets 8 and 11-17).
    Onnx(OnnxArgs),
    /// Parse a TFLite model (float32/float16; 8-bit quantized models are rejected).
    #[command(alias = "tflite")]
    Tf(TfArgs),
}

#[derive(clap::Args)]
struct TfArgs {
    /// The .tflite model.
    model: PathBuf,
    /// Network name (default: the model file's stem).
    #[arg(long)]
    net_name: Option<String>,
    /// Parse from these tensors on (TFLite tensor names, `;`-joined fused names accepted).
    #[arg(long, num_args = 1..)]
    start_node_names: Vec<String>,
    /// Parse up to these tensors; the outputs come in this order.
    #[arg(long, num_args = 1..)]
    end_node_names: Vec<String>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Where the parse results go (shared by every framework).
#[derive(clap::Args)]
struct OutputArgs {
    /// Target architecture recorded in the archive.
    #[arg(long, default_value = "hailo8")]
    hw_arch: String,
    /// Where to write the HAR (default: `<net>.har` in the current directory).
    #[arg(long)]
    har_path: Option<PathBuf>,
    /// Also write the hl IR (with its weights in the resources section) here.
    #[arg(long)]
    hir_path: Option<PathBuf>,
    /// Write a JSON report of what became of every framework node.
    #[arg(long)]
    parsing_report: Option<PathBuf>,
    /// Print the pass pipeline run on the imported graph (the folds and fusions of
    /// `hailo-parse`; replay it with `hailo-opt m.hir --pass-pipeline='...'`).
    #[arg(long)]
    dump_pass_pipeline: bool,
}

/// What a frontend hands to the shared output stage.
struct Parsed {
    module: Module,
    net: String,
    report_json: String,
    /// (layer, original name, NHWC shape) of inputs and outputs, in order.
    inputs: Vec<(String, String, Vec<usize>)>,
    outputs: Vec<(String, String, Vec<usize>)>,
    /// Framework nodes in the parsed (selected) model.
    nodes: usize,
    /// Framework nodes left out by `--start-node-names` / `--end-node-names`.
    outside: usize,
}

/// Target architectures the archive may name.
const HW_ARCHS: &[&str] = &[
    "hailo8", "hailo8r", "hailo8l", "hailo15h", "hailo15m", "hailo15l", "hailo10h",
];

#[derive(clap::Args)]
struct OnnxArgs {
    /// The ONNX model.
    model: PathBuf,
    /// Network name (default: the model file's stem).
    #[arg(long)]
    net_name: Option<String>,
    /// Parse from these nodes on (their run-time inputs become the network inputs).
    #[arg(long, num_args = 1..)]
    start_node_names: Vec<String>,
    /// Parse up to these nodes; the outputs come in this order.
    #[arg(long, num_args = 1..)]
    end_node_names: Vec<String>,
    /// Static input shapes, `name=d0,d1,...` (needed for dynamic dimensions).
    #[arg(long, num_args = 1..)]
    net_input_shapes: Vec<String>,
    /// Axis letters of an input, `name=NCHW` / `name=NHWC` / `name=NCW` ... (defaults by rank:
    /// NC, NWC, NCHW).
    #[arg(long, num_args = 1..)]
    input_format: Vec<String>,
    #[command(flatten)]
    out: OutputArgs,
}

pub fn run(args: Args, quiet: bool) -> ExitCode {
    let out = match &args.framework {
        Framework::Onnx(a) => &a.out,
        Framework::Tf(a) => &a.out,
    };
    if out.dump_pass_pipeline {
        match OpPassManager::parse("builtin.module(hailo-parse)", &hailo_passes::registry()) {
            Ok(pm) => eprintln!("Pass Manager with 1 top-level anchor:\n{}", pm.dump()),
            Err(e) => eprintln!("error: hailo-parse: {}", e.message),
        }
    }
    let result = match args.framework {
        Framework::Onnx(a) => check_arch(&a.out)
            .and_then(|()| parse_onnx(&a))
            .and_then(|p| emit(p, &a.model, &a.out, quiet)),
        Framework::Tf(a) => check_arch(&a.out)
            .and_then(|()| parse_tflite(&a))
            .and_then(|p| emit(p, &a.model, &a.out, quiet)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {}", message.trim_end());
            ExitCode::FAILURE
        }
    }
}

fn check_arch(out: &OutputArgs) -> Result<(), String> {
    if HW_ARCHS.contains(&out.hw_arch.as_str()) {
        return Ok(());
    }
    Err(format!(
        "unknown --hw-arch '{}'; expected one of {}",
        out.hw_arch,
        HW_ARCHS.join(", ")
    ))
}

fn parse_onnx(a: &OnnxArgs) -> Result<Parsed, String> {
    let input_shapes = a
        .net_input_shapes
        .iter()
        .map(|s| parse_input_shape(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let input_formats = a
        .input_format
        .iter()
        .map(|s| {
            s.rsplit_once('=')
                .map(|(n, f)| (n.to_string(), f.to_string()))
                .ok_or_else(|| {
                    format!("--input-format '{s}': expected NAME=FORMAT, e.g. input.1=NCHW")
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Every message names the model file (the load errors that do not already).
    let located = |e: hailo_onnx::OnnxError| {
        if e.names_file() {
            e.to_string()
        } else {
            format!("{}: {e}", a.model.display())
        }
    };
    let mut model = load_with(&a.model, &LoadOptions { input_shapes }).map_err(located)?;
    if !a.start_node_names.is_empty() || !a.end_node_names.is_empty() {
        model = model
            .select(&a.start_node_names, &a.end_node_names)
            .map_err(located)?;
    }
    let options = ConvertOptions {
        net_name: a.net_name.clone(),
        input_formats,
    };
    let conversion =
        convert_owned(model, &options).map_err(|e| format!("{}: {e}", a.model.display()))?;
    let outside = conversion
        .report
        .nodes
        .iter()
        .filter(|n| n.fate == hailo_onnx::to_hl::NodeFate::OutsideSelection)
        .count();
    let io = |v: &[hailo_onnx::to_hl::IoMapping]| {
        v.iter()
            .map(|m| (m.layer.clone(), m.original_name.clone(), m.shape.clone()))
            .collect()
    };
    Ok(Parsed {
        inputs: io(conversion.inputs()),
        outputs: io(conversion.outputs()),
        net: conversion.report.net_name.clone(),
        report_json: conversion.report.to_json(),
        nodes: conversion.report.nodes.len() - outside,
        outside,
        module: conversion.module,
    })
}

fn parse_tflite(a: &TfArgs) -> Result<Parsed, String> {
    let graph = hailo_tflite::read_tflite_file(&a.model)
        .map_err(|e| format!("{}: {e}", a.model.display()))?;
    let stem = a
        .model
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let options = hailo_tflite::to_hl::ConvertOptions {
        net_name: a.net_name.clone().or(stem),
        start_node_names: a.start_node_names.clone(),
        end_node_names: a.end_node_names.clone(),
    };
    let (module, report) = hailo_tflite::to_hl::convert(&graph, &options)
        .map_err(|e| format!("{}: {e}", a.model.display()))?;
    let outside = report
        .nodes
        .iter()
        .filter(|n| n.fate == hailo_tflite::to_hl::NodeFate::OutsideSelection)
        .count();
    let io = |v: &[hailo_tflite::to_hl::IoMapping]| {
        v.iter()
            .map(|m| (m.layer.clone(), m.original_name.clone(), m.shape.clone()))
            .collect()
    };
    Ok(Parsed {
        inputs: io(&report.inputs),
        outputs: io(&report.outputs),
        net: report.net_name.clone(),
        report_json: report.to_json(),
        nodes: report.nodes.len() - outside,
        outside,
        module,
    })
}

/// Verifies the module and writes the `.hir`, the HAR and the report; prints the mapping.
fn emit(p: Parsed, model: &Path, out: &OutputArgs, quiet: bool) -> Result<(), String> {
    let ctx = crate::context::full_context(false);
    if let Err(diags) = hailo_ir::verifier::verify(&p.module, &ctx, p.module.top()) {
        let list: Vec<String> = diags
            .iter()
            .map(|d| format!("  {}: {}", d.loc, d.message))
            .collect();
        return Err(format!(
            "{}: the model is inconsistent; the converted network does not verify:\n{}\nthe \
             file is damaged, or the frontend missed a check: if the model loads in its own \
             framework, please report this",
            model.display(),
            list.join("\n")
        ));
    }
    if let Some(path) = &out.hir_path {
        let text = print_module(&p.module, &ctx, PrintOptions::default());
        write_atomic(path, text.as_bytes())?;
    }
    let har = out
        .har_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.har", p.net)));
    let meta = HarMetadata::new(HarState::HailoModel, &out.hw_arch);
    write_har(&p.module, &ctx, &meta, &har, false).map_err(|e| e.to_string())?;
    if let Some(path) = &out.parsing_report {
        write_atomic(path, format!("{}\n", p.report_json).as_bytes())?;
    }
    if !quiet {
        print_summary(&p, &har);
    }
    Ok(())
}

/// The input-layer → original-input mapping and the output layers in order (guide 3.27).
fn print_summary(p: &Parsed, har: &Path) {
    let net = &p.net;
    if p.outside == 0 {
        println!("Parsed '{net}': {} nodes", p.nodes);
    } else {
        println!(
            "Parsed '{net}': {} nodes (the model's other {} nodes lie outside --start-node-names/--end-node-names)",
            p.nodes, p.outside
        );
    }
    println!("Input layers:");
    for (layer, original, shape) in &p.inputs {
        println!("  {net}/{layer} <- '{original}' {shape:?}");
    }
    println!("Output layers (in order):");
    for (layer, original, shape) in &p.outputs {
        println!("  {net}/{layer} <- '{original}' {shape:?}");
    }
    println!("Saved HAR to {}", har.display());
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    hailo_npz::atomic::write_bytes(path, bytes)
        .map_err(|e| format!("cannot write '{}': {e}", path.display()))
}
