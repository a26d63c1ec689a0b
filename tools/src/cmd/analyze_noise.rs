//! `hailo analyze-noise m_q.har --data-path d.npy [--data-count N] [--json]`: layer noise
//! analysis of a quantized HAR, as the DFC's (guide: "Layer Noise Analysis"). Runs the
//! `quant-noise-analysis` pass on the HAR's annotated graph (per layer: the output SNR with
//! only that layer quantized, and the SNR at the layer's own output with every layer
//! quantized), prints the table (layers under 10 dB flagged) or its JSON, and saves the
//! result inside the HAR, where `hailo har info` shows it.

use crate::context::full_context;
use hailo_executor::dataset::{Layout, Purpose, Source};
use hailo_executor::Executor;
use hailo_har::{read_har, summarize, write_har, HarState, LayerNoise, NoiseReport};
use hailo_ir::{Attribute, Module};
use hailo_passes::quant::noise_analysis::{PARTIAL_SNR, SNR};
use hailo_quantizer::optimize::{first_graph, resources, run_pipeline};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A quantized HAR (`hailo optimize`); the analysis is saved into it.
    har: PathBuf,
    /// The data: x.npy (one input), x.npz (keys = input layer or original input names), or a
    /// directory of .npy files (one sample each).
    #[arg(long)]
    data_path: PathBuf,
    /// Layout of rank-4 data; nchw data is transposed to the model's NHWC.
    #[arg(long, default_value = "nhwc", value_parser = ["nhwc", "nchw"])]
    input_layout: String,
    /// For a single-input model fed from a .npz: the member holding the input (e.g. x_nhwc).
    #[arg(long)]
    input_key: Option<String>,
    /// Samples to analyze (the first N).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    data_count: u64,
    /// Print the result as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, quiet: bool) -> ExitCode {
    match analyze(&args, quiet) {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                println!("{}", noise_table(&report));
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn analyze(args: &Args, quiet: bool) -> Result<NoiseReport, String> {
    let ctx = full_context(false);
    let path = &args.har;
    let (m, mut meta) = read_har(path, &ctx).map_err(|e| e.to_string())?;
    if meta.state != HarState::Quantized {
        return Err(format!(
            "{}: the model is {}, not quantized; run `hailo optimize` first",
            path.display(),
            meta.state
        ));
    }
    let Some(quantization) = meta.quantization.as_mut() else {
        return Err(format!(
            "{}: the HAR has no quantization report; optimize it again",
            path.display()
        ));
    };
    let data = read_data(args, &m)?;
    let samples = data
        .first()
        .map_or(0, |d| d.shape()[0])
        .min(args.data_count as usize);
    if samples == 0 {
        return Err(format!("{}: no samples", args.data_path.display()));
    }
    let mut analyzed = m.clone();
    let text = format!("builtin.module(builtin.graph(quant-noise-analysis{{samples={samples}}}))");
    run_pipeline(
        &mut analyzed,
        &text,
        &resources(&data, quiet),
        &mut Default::default(),
    )
    .map_err(|f| {
        let lines: Vec<String> = f.diagnostics.into_iter().map(|d| d.message).collect();
        format!("{}: {}", path.display(), lines.join("\n"))
    })?;
    let report = read_report(&analyzed, samples)?;
    quantization.noise = Some(report.clone());
    write_har(&m, &ctx, &meta, path, false).map_err(|e| e.to_string())?;
    Ok(report)
}

fn read_data(args: &Args, m: &Module) -> Result<Vec<ndarray::ArrayD<f32>>, String> {
    let graph = first_graph(m).map_err(|e| e.to_string())?;
    let inputs = Executor::new(m, graph)
        .map_err(|e| format!("{}: {e}", args.har.display()))?
        .inputs()
        .to_vec();
    let net = summarize(m).net_name;
    Source {
        path: &args.data_path,
        layout: Layout::parse(&args.input_layout).unwrap_or(Layout::Nhwc),
        purpose: Purpose::Inference,
        member: args.input_key.as_deref(),
        net: Some(&net),
    }
    .read(&inputs)
    .map_err(|e| e.to_string())
}

/// The pass's per-layer attributes as a report, in graph order.
fn read_report(m: &Module, samples: usize) -> Result<NoiseReport, String> {
    let graph = first_graph(m).map_err(|e| e.to_string())?;
    let layers = m
        .walk(graph)
        .into_iter()
        .filter(|&o| m.attr(o, "q_range").is_some() && m.op(o).results().len() == 1)
        .filter_map(|o| {
            let layer = m.attr(o, "layer").and_then(Attribute::as_str)?;
            Some(LayerNoise {
                layer: layer.to_owned(),
                snr_db: m.attr(o, SNR).and_then(Attribute::as_f64),
                partial_snr_db: m.attr(o, PARTIAL_SNR).and_then(Attribute::as_f64),
            })
        })
        .collect();
    Ok(NoiseReport { samples, layers })
}

/// The analysis as a table: one row per layer, flagged under 10 dB.
pub fn noise_table(r: &NoiseReport) -> String {
    let db = |s: Option<f64>| s.map_or("exact".to_string(), |v| format!("{v:.2}"));
    let width = r
        .layers
        .iter()
        .map(|l| l.layer.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "layer noise analysis on {} sample(s): output SNR with only the layer quantized, SNR at the layer's output with all quantized\n{:width$}  {:>9} {:>11}",
        r.samples, "layer", "SNR dB", "partial dB"
    );
    for l in &r.layers {
        let flag = if l.snr_db.is_some_and(|s| s < NoiseReport::LOW_SNR_DB) {
            "  < 10 dB"
        } else {
            ""
        };
        out.push_str(&format!(
            "\n{:width$}  {:>9} {:>11}{flag}",
            l.layer,
            db(l.snr_db),
            db(l.partial_snr_db)
        ));
    }
    out
}
