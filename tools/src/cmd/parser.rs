//! `hailo parser`: translates a framework model into the `hl` dialect and a Hailo archive
//! (guide §4.2 and §5.1.3). One subcommand per framework; `onnx` is implemented here, other
//! frameworks add a variant to `Framework`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hailo_har::{write_har, HarMetadata, HarState};
use hailo_ir::{print_module, PrintOptions};
use hailo_onnx::to_hl::{convert, Conversion, ConvertOptions};
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
    /// Target architecture recorded in the archive.
    #[arg(long, default_value = "hailo8")]
    hw_arch: String,
    /// Where to write the HAR (default: `<net>.har` in the current directory).
    #[arg(long)]
    har_path: Option<PathBuf>,
    /// Also write the hl IR (with its weights in the resources section) here.
    #[arg(long)]
    hir_path: Option<PathBuf>,
    /// Write a JSON report of what became of every ONNX node.
    #[arg(long)]
    parsing_report: Option<PathBuf>,
}

pub fn run(args: Args, quiet: bool) -> ExitCode {
    let result = match args.framework {
        Framework::Onnx(a) => parse_onnx(a, quiet),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {}", message.trim_end());
            ExitCode::FAILURE
        }
    }
}

fn parse_onnx(a: OnnxArgs, quiet: bool) -> Result<(), String> {
    if !HW_ARCHS.contains(&a.hw_arch.as_str()) {
        return Err(format!(
            "unknown --hw-arch '{}'; expected one of {}",
            a.hw_arch,
            HW_ARCHS.join(", ")
        ));
    }
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
    let mut model =
        load_with(&a.model, &LoadOptions { input_shapes }).map_err(|e| e.to_string())?;
    if !a.start_node_names.is_empty() || !a.end_node_names.is_empty() {
        model = model
            .select(&a.start_node_names, &a.end_node_names)
            .map_err(|e| e.to_string())?;
    }
    let options = ConvertOptions {
        net_name: a.net_name.clone(),
        input_formats,
    };
    let conversion = convert(&model, &options).map_err(|e| e.to_string())?;
    let ctx = crate::context::full_context(false);
    if let Err(diags) =
        hailo_ir::verifier::verify(&conversion.module, &ctx, conversion.module.top())
    {
        let list: Vec<String> = diags.iter().map(|d| format!("  {}", d.message)).collect();
        return Err(format!(
            "internal error: the converted network does not verify (please report this):\n{}",
            list.join("\n")
        ));
    }
    let net = conversion.report.net_name.clone();
    if let Some(path) = &a.hir_path {
        let text = print_module(&conversion.module, &ctx, PrintOptions::default());
        write_atomic(path, text.as_bytes())?;
    }
    let har = a
        .har_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{net}.har")));
    let meta = HarMetadata::new(HarState::HailoModel, &a.hw_arch);
    write_har(&conversion.module, &ctx, &meta, &har, false).map_err(|e| e.to_string())?;
    if let Some(path) = &a.parsing_report {
        let mut json = conversion.report.to_json();
        json.push('\n');
        write_atomic(path, json.as_bytes())?;
    }
    if !quiet {
        print_summary(&conversion, &har);
    }
    Ok(())
}

/// The input-layer → original-input mapping and the output layers in order (guide 3.27).
fn print_summary(c: &Conversion, har: &Path) {
    let net = &c.report.net_name;
    println!("Parsed '{net}': {} ONNX nodes", c.report.nodes.len());
    println!("Input layers:");
    for m in c.inputs() {
        println!("  {net}/{} <- '{}' {:?}", m.layer, m.original_name, m.shape);
    }
    println!("Output layers (in order):");
    for m in c.outputs() {
        println!("  {net}/{} <- '{}' {:?}", m.layer, m.original_name, m.shape);
    }
    println!("Saved HAR to {}", har.display());
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write '{}': {e}", path.display())
        })
}
