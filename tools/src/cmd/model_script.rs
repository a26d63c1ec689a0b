//! `hailo model-script check`: parse and check model scripts (.alls) against the user guide's
//! command tables, printing located diagnostics.
//!
//! Warnings (unknown commands, parameters and values, kept as raw data) don't fail the check;
//! `--strict` turns them into errors. Automatic model scripts repeat the same undocumented
//! parameters on thousands of lines, so by default each distinct warning is shown once per file
//! with a count of the other occurrences.

use hailo_alls::{check_source, CheckOptions, Diagnostic, SourceFile};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Subcommand,
}

#[derive(clap::Subcommand)]
enum Subcommand {
    /// Parse and check model scripts; exits 1 when any script has an error.
    Check(CheckArgs),
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Model script(s) to check.
    #[arg(required = true)]
    scripts: Vec<PathBuf>,
    /// Treat unknown commands, sub-commands, parameters and values as errors.
    #[arg(long)]
    strict: bool,
    /// Print every warning, not only the first of each kind per file.
    #[arg(long)]
    all_warnings: bool,
    /// Resolve layer names and `from_tf(...)` against this model's layers and original names.
    #[arg(long)]
    har: Option<PathBuf>,
}

/// The layer names (`<net>/<layer>`) and original-name map of a HAR's model.
fn har_layers(path: &std::path::Path) -> Result<(Vec<String>, BTreeMap<String, String>), String> {
    let ctx = crate::context::full_context(false);
    let (m, _) = hailo_har::read_har(path, &ctx).map_err(|e| format!("{}: {e}", path.display()))?;
    let net = hailo_har::summarize(&m).net_name;
    let mut layers = Vec::new();
    let mut original = BTreeMap::new();
    for op in m.walk(m.top()) {
        let Some(layer) = m.attr(op, "layer").and_then(hailo_ir::Attribute::as_str) else {
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
    Ok((layers, original))
}

pub fn run(args: Args, quiet: bool) -> ExitCode {
    let Subcommand::Check(check) = args.command;
    let stderr = std::io::stderr();
    match check_files(&check, quiet, &mut stderr.lock()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: cannot write diagnostics: {e}");
            ExitCode::from(1)
        }
    }
}

/// Checks every script, writing diagnostics and per-file summaries to `out` (summaries omitted
/// when `quiet`). Returns whether all scripts are free of errors.
fn check_files(args: &CheckArgs, quiet: bool, out: &mut impl Write) -> std::io::Result<bool> {
    let options = CheckOptions {
        strict: args.strict,
    };
    let mut all_ok = true;
    let model = match &args.har {
        Some(har) => match har_layers(har) {
            Ok(m) => Some(m),
            Err(e) => {
                writeln!(out, "error: cannot read the HAR: {e}")?;
                return Ok(false);
            }
        },
        None => None,
    };
    for path in &args.scripts {
        let text = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    writeln!(
                        out,
                        "{}: error: not UTF-8 text (invalid byte at offset {at})",
                        path.display()
                    )?;
                    all_ok = false;
                    continue;
                }
            },
            Err(e) => {
                writeln!(
                    out,
                    "{}: error: cannot read the model script: {e}",
                    path.display()
                )?;
                all_ok = false;
                continue;
            }
        };
        let src = SourceFile::new(path.display().to_string(), text);
        let mut checked = check_source(&src, options);
        if let Some((layers, original)) = &model {
            let (_, unresolved) =
                hailo_alls::LayerScope::new(layers, original).resolve_script(&checked.script);
            checked.diagnostics.extend(unresolved);
        }
        write_diagnostics(&src, &checked.diagnostics, args.all_warnings, out)?;
        if !quiet {
            writeln!(
                out,
                "{}: {} command(s), {} error(s), {} warning(s)",
                path.display(),
                checked.script.commands.len(),
                checked.error_count(),
                checked.warning_count()
            )?;
        }
        all_ok &= checked.error_count() == 0;
    }
    Ok(all_ok)
}

/// Errors always; warnings once per distinct message unless `all_warnings`.
fn write_diagnostics(
    src: &SourceFile,
    diags: &[Diagnostic],
    all_warnings: bool,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut repeats: BTreeMap<&str, usize> = BTreeMap::new();
    for d in diags.iter().filter(|d| !d.is_error()) {
        *repeats.entry(&d.message).or_default() += 1;
    }
    let mut shown: BTreeSet<&str> = BTreeSet::new();
    for d in diags {
        if !d.is_error() && !all_warnings && !shown.insert(&d.message) {
            continue;
        }
        write!(out, "{}", d.render(src))?;
        let more = repeats.get(d.message.as_str()).copied().unwrap_or(0);
        if !d.is_error() && !all_warnings && more > 1 {
            writeln!(out, "  (and {} more like this in this file)", more - 1)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

    fn alls_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("corpus directory")
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                alls_files(&p, out);
            } else if p.extension().is_some_and(|e| e == "alls") {
                out.push(p);
            }
        }
    }

    fn check(scripts: Vec<PathBuf>, strict: bool) -> (bool, String) {
        let args = CheckArgs {
            scripts,
            strict,
            all_warnings: false,
            har: None,
        };
        let mut out = Vec::new();
        let ok = check_files(&args, false, &mut out).expect("write to memory");
        (ok, String::from_utf8(out).expect("UTF-8 output"))
    }

    #[test]
    fn every_corpus_script_passes_the_check() {
        let mut files = Vec::new();
        alls_files(std::path::Path::new(CORPUS), &mut files);
        assert_eq!(files.len(), 606);
        for f in files {
            let (ok, out) = check(vec![f.clone()], false);
            assert!(ok, "{}:\n{out}", f.display());
        }
    }

    fn temp_script(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hailo-model-script-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write temp script");
        p
    }

    #[test]
    fn errors_fail_and_warnings_are_grouped() {
        let p = temp_script("bad.alls", "normalization([1.0], [0.0])\n");
        let (ok, out) = check(vec![p.clone()], false);
        assert!(!ok);
        assert!(
            out.contains("bad.alls:1:22: error: `std` contains a zero"),
            "{out}"
        );

        let p = temp_script("warn.alls", "foo(a)\nfoo(b)\nfoo(c)\n");
        let (ok, out) = check(vec![p.clone()], false);
        assert!(ok, "{out}");
        assert_eq!(
            out.matches("warning: unknown command `foo`").count(),
            1,
            "{out}"
        );
        assert!(out.contains("(and 2 more like this in this file)"), "{out}");
        let (ok, out) = check(vec![p], true);
        assert!(!ok);
        assert_eq!(
            out.matches("error: unknown command `foo`").count(),
            3,
            "{out}"
        );
    }

    #[test]
    fn unreadable_script_is_an_error() {
        let (ok, out) = check(vec![PathBuf::from("/nonexistent/x.alls")], false);
        assert!(!ok);
        assert!(
            out.contains("/nonexistent/x.alls: error: cannot read the model script"),
            "{out}"
        );
    }
}
