//! `hailo compiler`: the DFC's compilation stage (guide §5.4). Today it goes as far as the
//! physical IR: the quantized HAR's `q` graph lowered to the physical layers a Hailo-8 runs,
//! following the model script's compilation commands ([`crate::phys_script`]), written with
//! `--stop-after=phys --hir-path p.hir`. Allocation, context splitting and the HEF come later:
//! asking for them says so and exits 2. Bad input exits 1 with no output file.

use crate::phys_script;
use hailo_har::HarState;
use hailo_ir::pass::{Instrumentation, OpPassManager, Resources};
use hailo_ir::Attribute;
use hailo_target::Target;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Quantized HAR (from `hailo optimize`).
    pub har: PathBuf,
    /// Model script (.alls) with compilation commands; defaults to the HAR's own script.
    #[arg(long = "model-script")]
    pub model_script: Option<PathBuf>,
    /// Target chip (hailo8, hailo8r, hailo8l); defaults to the HAR's.
    #[arg(long = "hw-arch", value_parser = Target::by_name)]
    pub hw_arch: Option<Target>,
    /// Stop after this stage and write its IR; only `phys` (the physical layers) is built.
    #[arg(long = "stop-after", value_parser = ["phys"])]
    pub stop_after: Option<String>,
    /// Where `--stop-after` writes its IR (.hir text).
    #[arg(long = "hir-path", requires = "stop_after")]
    pub hir_path: Option<PathBuf>,
    /// Print the pass pipeline the script compiles to (replay it with `hailo-opt`).
    #[arg(long = "dump-pass-pipeline")]
    pub dump_pass_pipeline: bool,
}

pub fn run(args: Args, quiet: bool) -> ExitCode {
    if args.stop_after.is_none() {
        eprintln!(
            "error: `hailo compiler` is not built yet past the physical IR (allocation, contexts, HEF); \
             use --stop-after=phys --hir-path FILE"
        );
        return ExitCode::from(2);
    }
    match compile(&args, quiet) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn compile(args: &Args, quiet: bool) -> Result<(), String> {
    let Some(out) = &args.hir_path else {
        return Err("--stop-after=phys needs --hir-path FILE to write the physical IR to".into());
    };
    let ctx = crate::context::full_context(false);
    let (har, meta) = hailo_har::read_har(&args.har, &ctx).map_err(|e| e.to_string())?;
    if meta.state != HarState::Quantized {
        return Err(format!(
            "{}: the model is {}, not quantized; run `hailo optimize` first",
            args.har.display(),
            meta.state
        ));
    }
    let mut m = hailo_quantizer::infer::lowered(&har)
        .map_err(|e| format!("{}: {e}", args.har.display()))?
        .unwrap_or(har);
    let target = match &args.hw_arch {
        Some(t) => t.clone(),
        None => Target::by_name(&meta.hw_arch)
            .map_err(|e| format!("{}: {e}; pass --hw-arch", args.har.display()))?,
    };
    let (script_name, script_text) = match &args.model_script {
        Some(p) => (
            p.display().to_string(),
            std::fs::read_to_string(p)
                .map_err(|e| format!("{}: cannot read the model script: {e}", p.display()))?,
        ),
        None => (
            format!("{} (model script)", args.har.display()),
            meta.model_script.clone().unwrap_or_default(),
        ),
    };
    let layers: Vec<String> = m
        .walk(m.top())
        .into_iter()
        .filter_map(|op| {
            m.attr(op, "layer")
                .and_then(Attribute::as_str)
                .map(str::to_owned)
        })
        .collect();
    let script = phys_script::read(&script_name, &script_text, &layers)?;
    for w in &script.warnings {
        eprintln!("{w}");
    }
    let pipeline = script.pipeline();
    if args.dump_pass_pipeline {
        eprintln!("{pipeline}");
    }
    let mut pm = OpPassManager::parse(&pipeline, &hailo_passes::registry()).map_err(|e| {
        format!(
            "the physical pipeline `{pipeline}` does not parse at offset {}: {}",
            e.offset, e.message
        )
    })?;
    let mut resources = Resources::new();
    resources.insert(target);
    let mut inst = Instrumentation::default();
    let top = m.top();
    if let Err(failure) = pm.run_with(&mut m, &ctx, top, &mut inst, &resources) {
        let sources = hailo_ir::SourceMgr::default();
        let messages: String = inst
            .diagnostics
            .iter()
            .chain(&failure.diagnostics)
            .map(|d| sources.render(d))
            .collect();
        return Err(messages.trim_end().trim_start_matches("error: ").to_owned());
    }
    let text = hailo_ir::print_module(&m, &ctx, hailo_ir::PrintOptions::default());
    std::fs::write(out, text).map_err(|e| format!("{}: cannot write: {e}", out.display()))?;
    if !quiet {
        eprintln!("wrote {} (physical IR)", out.display());
    }
    Ok(())
}
