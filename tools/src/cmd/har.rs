//! `hailo har`: inspect a Hailo archive (`info`, text or `--json`; quantized archives add
//! bits per layer, weight-bit ratios and the SNR report) and unpack it (`extract`
//! its members, the module's IR with `--hir`, the model script with `--model-script-path`).
//! Any bad archive is reported with what is wrong and where, and exits 1.

use hailo_har::{read_har, read_members, summarize, HarMetadata, HarSummary};
use serde_json::json;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Subcommand,
}

#[derive(clap::Subcommand)]
enum Subcommand {
    /// Show network name, state, target, layers by type, inputs/outputs, params and weight bytes.
    Info {
        /// HAR file to inspect.
        har: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the archive's members (HN, NPZ, metadata) into a directory.
    Extract {
        /// HAR file to unpack.
        har: PathBuf,
        /// Directory for the members (created if missing).
        #[arg(short = 'o', long = "output-dir", default_value = ".")]
        output_dir: PathBuf,
        /// Also write the module's IR text (with its weights) to this file.
        #[arg(long)]
        hir: Option<PathBuf>,
        /// Also write the archived model script to this file.
        #[arg(long)]
        model_script_path: Option<PathBuf>,
    },
}

pub fn run(args: Args, _quiet: bool) -> ExitCode {
    let result = match args.command {
        Subcommand::Info { har, json } => info(&har, json),
        Subcommand::Extract {
            har,
            output_dir,
            hir,
            model_script_path,
        } => extract(
            &har,
            &output_dir,
            hir.as_deref(),
            model_script_path.as_deref(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn info(path: &Path, as_json: bool) -> Result<(), String> {
    let ctx = crate::context::full_context(true);
    let (m, meta) = read_har(path, &ctx).map_err(|e| e.to_string())?;
    let s = summarize(&m);
    let text = if as_json {
        json_report(&s, &meta)
    } else {
        text_report(&s, &meta)
    };
    println!("{text}");
    Ok(())
}

fn json_report(s: &HarSummary, meta: &HarMetadata) -> String {
    let ports = |list: &[(String, Vec<i64>)]| -> Vec<serde_json::Value> {
        list.iter()
            .map(|(n, shape)| json!({"name": n, "shape": shape}))
            .collect()
    };
    let report = json!({
        "net_name": s.net_name,
        "state": meta.state.as_str(),
        "hw_arch": meta.hw_arch,
        "tool_version": meta.tool_version,
        "has_model_script": meta.model_script.is_some(),
        "layer_count": s.layer_counts.values().sum::<usize>(),
        "layers_by_type": s.layer_counts,
        "inputs": ports(&s.inputs),
        "outputs": ports(&s.outputs),
        "params": s.params,
        "weight_bytes": s.weight_bytes,
        "content_hashes": meta.content_hashes,
        "quantization": meta.quantization,
    });
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

fn text_report(s: &HarSummary, meta: &HarMetadata) -> String {
    let by_type: Vec<String> = s
        .layer_counts
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    let mut out = format!(
        "network:      {}\nstate:        {}\nhw_arch:      {}\ntool:         {}\nmodel script: {}\nlayers:       {} ({})\n",
        s.net_name,
        meta.state,
        meta.hw_arch,
        meta.tool_version,
        meta.model_script.as_ref().map_or("none".to_string(), |t| format!("{} line(s)", t.lines().count())),
        s.layer_counts.values().sum::<usize>(),
        by_type.join(", "),
    );
    for (title, list) in [("inputs", &s.inputs), ("outputs", &s.outputs)] {
        out.push_str(&format!("{title}:\n"));
        for (name, shape) in list {
            out.push_str(&format!("  {name} {shape:?}\n"));
        }
    }
    out.push_str(&format!(
        "params:       {}\nweights:      {} bytes",
        s.params, s.weight_bytes
    ));
    if let Some(q) = &meta.quantization {
        out.push_str(&quant_report(q));
        if let Some(n) = &q.noise {
            out.push('\n');
            out.push_str(&super::analyze_noise::noise_table(n));
        }
    }
    out
}

/// Bits per layer, weight-bit ratios and the SNR report of a quantized HAR.
fn quant_report(q: &hailo_har::QuantReport) -> String {
    let db = |s: Option<f64>| s.map_or("exact".to_string(), |v| format!("{v:.2}"));
    let snr: Vec<String> = q.output_snr_db.iter().map(|s| db(*s)).collect();
    let ratio = |b: &str| 100.0 * q.weight_bit_ratios.get(b).copied().unwrap_or(0.0);
    let mut out = format!(
        "\nquantization: calibset_size {} (batch {}), output SNR {} dB on {} sample(s)\nweight bits:  4-bit {:.1}%, 8-bit {:.1}%, 16-bit {:.1}%\n",
        q.calibset_size,
        q.batch_size,
        snr.join(", "),
        q.snr_samples,
        ratio("4"),
        ratio("8"),
        ratio("16"),
    );
    if !q.auto_4bit_layers.is_empty() {
        out.push_str(&format!(
            "auto 4-bit:   {}\n",
            q.auto_4bit_layers.join(", ")
        ));
    }
    let width = q
        .layers
        .iter()
        .map(|l| l.layer.len())
        .max()
        .unwrap_or(5)
        .max(5);
    out.push_str(&format!(
        "{:width$}  {:>6} {:>3} {:>4} {:>3} {:>9} {:>9}",
        "layer", "in", "w", "bias", "out", "weights", "SNR dB"
    ));
    let bits = |b: Option<u32>| b.map_or("-".to_string(), |v| v.to_string());
    for l in &q.layers {
        let ins: Vec<String> = l.input_bits.iter().map(u32::to_string).collect();
        let ins = if ins.is_empty() {
            "f32".to_string()
        } else {
            ins.join(",")
        };
        let flag = if l.partial_snr_db.is_some_and(|s| s < 10.0) {
            "  < 10 dB"
        } else {
            ""
        };
        out.push_str(&format!(
            "\n{:width$}  {:>6} {:>3} {:>4} {:>3} {:>9} {:>9}{flag}",
            l.layer,
            ins,
            bits(l.weight_bits),
            bits(l.bias_bits),
            l.output_bits,
            l.weights,
            db(l.partial_snr_db),
        ));
    }
    out
}

/// A member name as a relative path that stays inside the output directory.
fn safe_relative(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    p.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| p.to_path_buf())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    hailo_npz::atomic::write_bytes(path, bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn extract(
    path: &Path,
    dir: &Path,
    hir: Option<&Path>,
    script: Option<&Path>,
) -> Result<(), String> {
    let members = read_members(path).map_err(|e| e.to_string())?;
    // Read the whole archive first: a corrupt one writes nothing.
    let ctx = crate::context::full_context(true);
    let (m, meta) = read_har(path, &ctx).map_err(|e| e.to_string())?;
    let script_text = match script {
        Some(_) => Some(
            meta.model_script
                .as_deref()
                .ok_or_else(|| format!("{}: the archive holds no model script", path.display()))?,
        ),
        None => None,
    };
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (name, data) in &members {
        let rel = safe_relative(name).ok_or_else(|| {
            format!(
                "{}: member '{name}' would be written outside the output directory",
                path.display()
            )
        })?;
        if !seen.insert(rel.clone()) {
            return Err(format!(
                "{}: member '{name}' appears twice; the archive is damaged",
                path.display()
            ));
        }
        files.push((rel, data.as_slice()));
    }
    hailo_npz::atomic::write_files(dir, &files).map_err(|e| format!("cannot write {e}"))?;
    for (rel, _) in &files {
        println!("{}", dir.join(rel).display());
    }
    if let Some(out) = hir {
        let text = hailo_ir::print_module(&m, &ctx, hailo_ir::PrintOptions::default());
        write_file(out, text.as_bytes())?;
        println!("{}", out.display());
    }
    if let (Some(out), Some(text)) = (script, script_text) {
        write_file(out, text.as_bytes())?;
        println!("{}", out.display());
    }
    Ok(())
}
