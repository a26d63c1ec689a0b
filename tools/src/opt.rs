//! The `hailo-opt` driver: parse textual IR, verify, run a pass pipeline with
//! instrumentation, print the result, as `mlir-opt` does.
//!
//! Exit codes: 0 success, 1 diagnostics or a failed pass, 2 usage errors.

use crate::instrument::InstrumentFlags;
use clap::Parser as ClapParser;
use hailo_executor::dataset::{CalibrationSet, Layout, Purpose, Source};
use hailo_executor::{graph_inputs, GraphRef};
use hailo_ir::diag::SourceMgr;
use hailo_ir::pass::{OpPassManager, PassRegistry, Reproducer, Resources};
use hailo_ir::{print_module, Context, Diagnostic, Location, PrintOptions, Sym};
use hailo_target::Target;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(ClapParser, Debug, Clone)]
#[command(
    name = "hailo-opt",
    version,
    about = "Run passes over Hailo IR (.hir), like mlir-opt"
)]
pub struct OptArgs {
    /// Input file (`-` for stdin).
    #[arg(default_value = "-")]
    pub input: String,
    /// Output file (`-` for stdout).
    #[arg(short = 'o', default_value = "-")]
    pub output: String,
    /// The pass pipeline, e.g. 'builtin.module(builtin.graph(canonicalize,cse))'.
    #[arg(long = "pass-pipeline")]
    pub pass_pipeline: Option<String>,
    /// Print the pipeline with every option, then continue.
    #[arg(long)]
    pub dump_pass_pipeline: bool,
    /// List registered passes and pipelines with their options, then exit.
    #[arg(long)]
    pub list_passes: bool,
    /// Print ops in the generic form.
    #[arg(long)]
    pub print_generic: bool,
    /// Accept ops of dialects that are not registered.
    #[arg(long)]
    pub allow_unregistered_dialect: bool,
    /// Split the input at `// -----` lines and process each chunk separately.
    #[arg(long)]
    pub split_input_file: bool,
    /// Check diagnostics against `// expected-error` comments instead of printing them.
    #[arg(long)]
    pub verify_diagnostics: bool,
    #[command(flatten)]
    pub instrument: InstrumentFlags,
    /// Replay a reproducer written by --reproducer.
    #[arg(long)]
    pub run_reproducer: Option<PathBuf>,
    /// Load resource blobs (weights) from this .npz sidecar.
    #[arg(long)]
    pub resources_npz: Option<PathBuf>,
    /// Write resource blobs to this .npz sidecar instead of the IR's resources section.
    #[arg(long)]
    pub emit_resources_npz: Option<PathBuf>,
    /// Calibration set for data-driven passes (`quant-calibrate`): a .npy, an .npz keyed by
    /// input layer, or a directory of .npy samples, for the input's first graph.
    #[arg(long)]
    pub calib_set: Option<PathBuf>,
    /// Layout of rank-4 calibration data; nchw is transposed to the model's NHWC.
    #[arg(long, default_value = "nhwc", value_parser = ["nhwc", "nchw"])]
    pub calib_layout: String,
    /// The chip that target-aware passes (`quant-to-phys`) compile for: hailo8, hailo8l or
    /// hailo8r.
    #[arg(long, default_value = "hailo8", value_parser = Target::by_name)]
    pub hw_arch: Target,
}

pub struct OptOutcome {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
    /// Where stdout should go (`None`: stdout).
    pub output_path: Option<PathBuf>,
}

const SPLIT_MARKER: &str = "// -----";

fn usage(msg: String) -> OptOutcome {
    OptOutcome {
        stdout: String::new(),
        stderr: format!("hailo-opt: error: {msg}\n"),
        code: 2,
        output_path: None,
    }
}

/// What the driver gives the passes besides the IR: the target description, and the calibration
/// set when asked for.
fn pass_resources(m: &hailo_ir::Module, args: &OptArgs) -> Result<Resources, String> {
    let mut resources = Resources::new();
    resources.insert(args.hw_arch.clone());
    if let Some(path) = &args.calib_set {
        let inputs = graph_inputs(m, GraphRef::First).map_err(|e| e.to_string())?;
        let source = Source {
            path,
            layout: Layout::parse(&args.calib_layout).unwrap_or_default(),
            purpose: Purpose::Calibration,
            member: None,
            net: None,
        };
        let data = source.read(&inputs).map_err(|e| e.to_string())?;
        resources.insert(CalibrationSet(data));
    }
    Ok(resources)
}

/// Runs the whole tool on parsed arguments and the input text.
pub fn run(
    mut args: OptArgs,
    registry: &PassRegistry,
    read_input: impl Fn(&str) -> std::io::Result<String>,
) -> OptOutcome {
    if args.list_passes {
        return OptOutcome {
            stdout: registry.list_text(),
            stderr: String::new(),
            code: 0,
            output_path: None,
        };
    }
    let mut input_name = args.input.clone();
    if let Some(r) = &args.run_reproducer {
        input_name = r.display().to_string();
    }
    let text = match read_input(&input_name) {
        Ok(t) => t,
        Err(e) => {
            let msg = if e.kind() == std::io::ErrorKind::InvalidData {
                format!("'{input_name}' is not valid UTF-8 text; .hir files are UTF-8")
            } else {
                format!("cannot read '{input_name}': {e}")
            };
            return OptOutcome {
                stdout: String::new(),
                stderr: format!("hailo-opt: error: {msg}\n"),
                code: 1,
                output_path: None,
            };
        }
    };
    if args.run_reproducer.is_some() {
        match Reproducer::parse(&text) {
            Ok(cfg) => {
                args.pass_pipeline = Some(cfg.pipeline);
                args.allow_unregistered_dialect |= cfg.allow_unregistered_dialect;
                if let Some(name) = cfg.hw_arch {
                    match Target::by_name(&name) {
                        Ok(t) => args.hw_arch = t,
                        Err(e) => return usage(format!("'{input_name}': {e}")),
                    }
                }
                // A calibration set given on the command line wins over the recorded one.
                if let (None, Some((path, layout))) = (&args.calib_set, cfg.calib_set) {
                    args.calib_set = Some(path);
                    args.calib_layout = layout;
                }
            }
            Err(e) => return usage(format!("'{input_name}': {e}")),
        }
    }
    let display_name = if input_name == "-" {
        "<stdin>".to_owned()
    } else {
        input_name.clone()
    };
    let ctx = crate::context::full_context(args.allow_unregistered_dialect);
    let mut sm = SourceMgr::default();
    sm.add(&display_name, &text);

    // Build the pipeline once to validate it (errors point at the column).
    let pipeline_text = args.pass_pipeline.clone();
    if let Some(p) = &pipeline_text {
        if let Err(e) = OpPassManager::parse(p, registry) {
            let mut psm = SourceMgr::default();
            psm.add("<pass-pipeline>", p);
            let col = p[..e.offset.min(p.len())].chars().count() as u32 + 1;
            let mut d = Diagnostic::error(
                Location::Src {
                    file: Sym::new("<pass-pipeline>"),
                    line: 1,
                    col,
                },
                e.message,
            );
            if let Some(fix) = anchored_pipeline(p, registry) {
                d = d.with_note(
                    Location::Unknown,
                    format!(
                        "passes nest under the op they run on; this pipeline works: \
                         --pass-pipeline='{fix}'"
                    ),
                );
            }
            return OptOutcome {
                stdout: String::new(),
                stderr: psm.render(&d),
                code: 1,
                output_path: None,
            };
        }
    }

    let chunks: Vec<String> = if args.split_input_file {
        split_chunks(&text)
    } else {
        vec![text.clone()]
    };
    let mut out = Vec::new();
    let mut stderr = String::new();
    let mut failed = false;
    for chunk in &chunks {
        let r = process_chunk(
            &args,
            &ctx,
            registry,
            &display_name,
            chunk,
            pipeline_text.as_deref(),
            &sm,
        );
        stderr.push_str(&r.stderr);
        failed |= r.failed;
        if let Some(o) = r.output {
            out.push(o);
        }
    }
    let stdout = out.join(&format!("{SPLIT_MARKER}\n"));
    let output_path = (args.output != "-").then(|| PathBuf::from(&args.output));
    OptOutcome {
        stdout,
        stderr,
        code: u8::from(failed),
        output_path,
    }
}

/// For pipeline text without a single top-level op anchor (`canonicalize,cse`), the nesting
/// that builds: the passes under `builtin.graph` inside `builtin.module`, else directly under
/// `builtin.module`.
fn anchored_pipeline(text: &str, registry: &PassRegistry) -> Option<String> {
    let elems = hailo_ir::pass::pipeline::parse(text).ok()?;
    if matches!(elems.as_slice(), [top] if top.nested.is_some()) {
        return None;
    }
    [
        format!("builtin.module(builtin.graph({text}))"),
        format!("builtin.module({text})"),
    ]
    .into_iter()
    .find(|candidate| OpPassManager::parse(candidate, registry).is_ok())
}

/// Splits at `// -----` lines, padding each chunk with blank lines so line
/// numbers in diagnostics stay those of the original file.
fn split_chunks(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut start_line = 0usize;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_end() == SPLIT_MARKER {
            chunks.push("\n".repeat(start_line) + &current);
            current.clear();
            start_line = line_no + 1;
        } else {
            current.push_str(line);
        }
    }
    chunks.push("\n".repeat(start_line) + &current);
    chunks
}

struct ChunkResult {
    output: Option<String>,
    stderr: String,
    failed: bool,
}

fn process_chunk(
    args: &OptArgs,
    ctx: &Context,
    registry: &PassRegistry,
    file: &str,
    chunk: &str,
    pipeline: Option<&str>,
    sm: &SourceMgr,
) -> ChunkResult {
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut stderr = String::new();
    let t_parse = Instant::now();
    let parsed = hailo_ir::parse_module(ctx, file, chunk);
    let parse_time = t_parse.elapsed();
    let mut output = None;
    let mut timing = None;
    match parsed {
        Err(d) => diags.push(*d),
        Ok(mut m) => {
            if let Some(npz) = &args.resources_npz {
                if let Err(e) = crate::resources::load_sidecar(&mut m, npz) {
                    stderr.push_str(&format!(
                        "hailo-opt: error: cannot load resources from '{}': {e}\n",
                        npz.display()
                    ));
                    return ChunkResult {
                        output: None,
                        stderr,
                        failed: true,
                    };
                }
            }
            let t_verify = Instant::now();
            let verified = hailo_ir::verifier::verify(&m, ctx, m.top());
            let verify_time = t_verify.elapsed();
            match verified {
                Err(errs) => diags.extend(errs),
                Ok(()) => {
                    let mut ok = true;
                    if let Some(p) = pipeline {
                        let Ok(mut pm) = OpPassManager::parse(p, registry) else {
                            unreachable!("validated above")
                        };
                        if args.dump_pass_pipeline {
                            stderr.push_str(&format!(
                                "Pass Manager with {} top-level anchor:\n{}\n",
                                1,
                                pm.dump()
                            ));
                        }
                        let top_name = m.op(m.top()).name_str();
                        if pm.anchor != top_name {
                            diags.push(Diagnostic::error(
                                m.op(m.top()).loc.clone(),
                                format!("the pipeline is anchored on '{}' but the input's top-level op is '{top_name}'", pm.anchor),
                            ));
                            ok = false;
                        } else {
                            let resources = match pass_resources(&m, args) {
                                Ok(r) => r,
                                Err(e) => {
                                    stderr.push_str(&format!("hailo-opt: error: {e}\n"));
                                    return ChunkResult {
                                        output: None,
                                        stderr,
                                        failed: true,
                                    };
                                }
                            };
                            let mut inst = args.instrument.instrumentation();
                            let t_run = Instant::now();
                            let top = m.top();
                            let result = pm.run_with(&mut m, ctx, top, &mut inst, &resources);
                            let run_time = t_run.elapsed();
                            stderr.push_str(&inst.output);
                            diags.extend(inst.diagnostics);
                            if let Err(f) = result {
                                diags.extend(f.diagnostics);
                                ok = false;
                                if let Some(path) = &args.instrument.reproducer {
                                    stderr.push_str(&write_reproducer(
                                        path,
                                        args,
                                        &pm.dump(),
                                        chunk,
                                    ));
                                }
                            }
                            if args.instrument.pass_statistics {
                                stderr.push_str(&pm.statistics_report());
                            }
                            if args.instrument.timing {
                                timing = Some((pm, verify_time, run_time));
                            }
                        }
                    }
                    if ok {
                        let t_print = Instant::now();
                        let sidecar = args.emit_resources_npz.as_ref();
                        let opts = PrintOptions {
                            generic: args.print_generic,
                            elide_resources: sidecar.is_some(),
                        };
                        output = Some(print_module(&m, ctx, opts));
                        if let Some(npz) = sidecar {
                            if let Err(e) = crate::resources::write_sidecar(&m, npz) {
                                let msg = format!("cannot write '{}': {e}", npz.display());
                                stderr.push_str(&format!("hailo-opt: error: {msg}\n"));
                                return ChunkResult {
                                    output: None,
                                    stderr,
                                    failed: true,
                                };
                            }
                        }
                        if let Some((pm, verify_time, run_time)) = &timing {
                            let print_time = t_print.elapsed();
                            let total = parse_time + *verify_time + *run_time + print_time;
                            let rows: [(&str, Duration); 3] = [
                                ("Parser", parse_time),
                                ("Output", print_time),
                                ("Verifier", *verify_time),
                            ];
                            stderr.push_str(&pm.timing_report(total, &rows));
                        }
                    }
                }
            }
        }
    }
    if args.verify_diagnostics {
        let problems = hailo_ir::expected_diags::check(file, chunk, &diags);
        let failed = !problems.is_empty();
        for p in &problems {
            stderr.push_str(&sm.render(p));
        }
        return ChunkResult {
            output,
            stderr,
            failed,
        };
    }
    let failed = diags
        .iter()
        .any(|d| d.severity == hailo_ir::Severity::Error);
    for d in &diags {
        stderr.push_str(&sm.render(d));
    }
    ChunkResult {
        output: if failed { None } else { output },
        stderr,
        failed,
    }
}

fn write_reproducer(path: &std::path::Path, args: &OptArgs, pipeline: &str, input: &str) -> String {
    // The resources the passes were given, so the replay gives them again.
    let repro = Reproducer {
        pipeline: pipeline.to_owned(),
        allow_unregistered_dialect: args.allow_unregistered_dialect,
        hw_arch: Some(args.hw_arch.name.to_string()),
        calib_set: args
            .calib_set
            .clone()
            .map(|c| (c, args.calib_layout.clone())),
    };
    match hailo_npz::atomic::write_bytes(path, repro.render(input).as_bytes()) {
        Ok(()) => format!("hailo-opt: reproducer written to '{}'\n", path.display()),
        Err(e) => format!(
            "hailo-opt: error: could not write reproducer '{}': {e}\n",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_flag_has_help() {
        let cmd = OptArgs::command();
        let missing: Vec<_> = cmd
            .get_arguments()
            .filter(|a| a.get_help().is_none())
            .map(|a| a.get_id().to_string())
            .collect();
        assert!(missing.is_empty(), "flags without help: {missing:?}");
    }
}
