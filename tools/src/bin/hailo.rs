//! `hailo`: the user-facing CLI, shaped like the Dataflow Compiler's `hailo` tool.
//!
//! Each subcommand lives in its own module under `tools/src/cmd/`; this file only
//! dispatches. Subcommands that later issues fill say so and exit non-zero.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hailo",
    version,
    about = "Open model compiler for Hailo-8 accelerators"
)]
struct Cli {
    /// Silence progress bars.
    #[arg(long, global = true)]
    quiet: bool,
    /// Largest tensor (in elements) a model may declare; default 2^28, or the
    /// HAILO_MAX_TENSOR_ELEMENTS environment variable.
    #[arg(long, global = true, value_name = "N")]
    max_tensor_elements: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Translate an ONNX or TFLite model into a Hailo archive (HAR).
    Parser(hailo_tools::cmd::parser::Args),
    /// Optimize (quantize) a HAR with a calibration set and a model script.
    Optimize(hailo_tools::cmd::optimize::Args),
    /// Compile a quantized HAR (today up to the physical IR: --stop-after=phys).
    Compiler(hailo_tools::cmd::compiler::Args),
    /// Report the expected performance of a compiled model.
    Profiler(hailo_tools::cmd::unimplemented::Args),
    /// Inspect or extract a HAR.
    Har(hailo_tools::cmd::har::Args),
    /// Run a HAR in an emulator context.
    Infer(hailo_tools::cmd::infer::Args),
    /// Check model scripts (.alls).
    ModelScript(hailo_tools::cmd::model_script::Args),
    /// Analyze quantization noise layer by layer.
    AnalyzeNoise(hailo_tools::cmd::analyze_noise::Args),
    /// Render a HAR as a graph.
    Visualizer(hailo_tools::cmd::unimplemented::Args),
    /// Inspect and check HEF files.
    Hef(hailo_tools::cmd::hef::Args),
}

fn main() -> ExitCode {
    hailo_tools::pipe::restore_sigpipe();
    let cli = Cli::parse();
    if let Some(n) = cli.max_tensor_elements {
        hailo_guard::limits::set_max_elements(n);
    }
    let name = match cli.command {
        Command::Optimize(args) => return hailo_tools::cmd::optimize::run(args, cli.quiet),
        Command::Infer(args) => return hailo_tools::cmd::infer::run(args, cli.quiet),
        Command::Har(args) => return hailo_tools::cmd::har::run(args, cli.quiet),
        Command::Parser(args) => return hailo_tools::cmd::parser::run(args, cli.quiet),
        Command::ModelScript(args) => return hailo_tools::cmd::model_script::run(args, cli.quiet),
        Command::Hef(args) => return hailo_tools::cmd::hef::run(args, cli.quiet),
        Command::Compiler(args) => return hailo_tools::cmd::compiler::run(args, cli.quiet),
        Command::Profiler(_) => "profiler",
        Command::AnalyzeNoise(args) => {
            return hailo_tools::cmd::analyze_noise::run(args, cli.quiet)
        }
        Command::Visualizer(_) => "visualizer",
    };
    hailo_tools::cmd::unimplemented::run(name)
}
