//! `hailo optimize`: the DFC's optimization stage (guide §4.3.1, §5.3). Reads a HAR and a
//! calibration set (`.npy`, `.npz` keyed by input layer, or a directory of `.npy`), applies
//! the model script's optimization commands, calibrates, quantizes and writes the quantized
//! HAR with its statistics and SNR report (see `hailo har info`). A calibration set smaller
//! than `calibset_size` is used whole, with a warning. Bad input exits 1 with no output file.
//! The work is one pass pipeline (`--dump-pass-pipeline`, `--pass-pipeline`) with the
//! instrumentation flags of `hailo-opt` (IR dumps, `--timing`, `--pass-statistics`,
//! `--reproducer`).

use hailo_executor::dataset::Layout;
use hailo_quantizer::flow::{optimize_har, CalibSource, OptimizeRequest};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Parsed (or fp-optimized) HAR to quantize.
    pub har: PathBuf,
    /// Calibration set: .npy (single input), .npz (one array per input layer) or a
    /// directory of .npy files; samples on axis 0, NHWC unless --input-layout nchw. A set
    /// smaller than calibset_size (default 64) is used whole, with a warning.
    #[arg(long = "calib-set-path", required_unless_present_any = ["use_random_calib_set", "full_precision_only"])]
    pub calib_set_path: Option<PathBuf>,
    /// Layout of rank-4 calibration data; nchw data is transposed to the model's NHWC (as
    /// `hailo infer --input-layout`).
    // `--calib-layout` was this flag's name before it took `hailo infer`'s; kept as an alias.
    #[arg(long = "input-layout", alias = "calib-layout", value_parser = ["nhwc", "nchw"], default_value = "nhwc")]
    pub input_layout: String,
    /// Model script (.alls) with optimization commands; defaults to the HAR's own script.
    #[arg(long = "model-script")]
    pub model_script: Option<PathBuf>,
    /// Calibrate on seeded random data (smoke tests only: ranges will not match real data).
    #[arg(long = "use-random-calib-set", conflicts_with = "calib_set_path")]
    pub use_random_calib_set: bool,
    /// Apply the model script's full-precision stage only; write an fp_optimized HAR.
    #[arg(long = "full-precision-only")]
    pub full_precision_only: bool,
    /// Print the pass pipeline that runs: the script's model modifications, its quantization
    /// and hl-to-quant (replay it with `hailo-opt m.hir --calib-set c.npy --pass-pipeline='...'`).
    #[arg(long = "dump-pass-pipeline")]
    pub dump_pass_pipeline: bool,
    /// Run this pass pipeline instead of the one the model script compiles to (it must end
    /// with hl-to-quant unless --full-precision-only).
    #[arg(long = "pass-pipeline", conflicts_with = "model_script")]
    pub pass_pipeline: Option<String>,
    #[command(flatten)]
    pub instrument: crate::instrument::InstrumentFlags,
    /// Output HAR (default: <har stem>_optimized.har).
    #[arg(short = 'o', long = "output-har-path")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args, quiet: bool) -> ExitCode {
    let output = args.output.clone().unwrap_or_else(|| {
        let stem = args
            .har
            .file_stem()
            .map_or("model".into(), |s| s.to_string_lossy().into_owned());
        args.har.with_file_name(format!("{stem}_optimized.har"))
    });
    let Some(layout) = Layout::parse(&args.input_layout) else {
        eprintln!("error: unknown input layout '{}'", args.input_layout);
        return ExitCode::FAILURE;
    };
    let calib = match args.calib_set_path {
        Some(p) => CalibSource::Path(p, layout),
        None => CalibSource::Random,
    };
    let req = OptimizeRequest {
        har: args.har,
        calib,
        model_script: args.model_script,
        full_precision_only: args.full_precision_only,
        output: output.clone(),
        quiet,
        pass_pipeline: args.pass_pipeline,
        dump_pipeline: args.dump_pass_pipeline,
        instrumentation: args.instrument.instrumentation(),
        reproducer: args.instrument.reproducer,
    };
    match optimize_har(&req) {
        Ok(summary) => {
            for w in &summary.warnings {
                eprintln!("warning: {w}");
            }
            for n in &summary.notes {
                eprintln!("note: {n}");
            }
            if !quiet {
                for n in &summary.defaults {
                    eprintln!("note: {n}");
                }
            }
            if let Some(p) = &summary.pipeline {
                eprintln!("Pass Manager with 1 top-level anchor:\n{p}");
            }
            eprint!("{}", summary.instrumentation);
            if !quiet {
                if let Some(r) = &summary.report {
                    let snr: Vec<String> = r
                        .output_snr_db
                        .iter()
                        .map(|s| s.map_or("exact".into(), |v| format!("{v:.2} dB")))
                        .collect();
                    eprintln!(
                        "output SNR {} on {} calibration sample(s); {} layer(s) under 10 dB",
                        snr.join(", "),
                        r.snr_samples,
                        r.low_snr_layers(10.0).len()
                    );
                }
                eprintln!("wrote {} ({})", output.display(), summary.state);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
