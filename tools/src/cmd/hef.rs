//! `hailo hef`: inspect a HEF (`info`, text or `--json`) and check it against HailoRT 4.23's
//! acceptance rules (`check`, exit 1 when any rule is broken).

use hailo_hef::{check_bytes, Hef, HefInfo};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Subcommand,
}

#[derive(clap::Subcommand)]
enum Subcommand {
    /// Show container, architecture, extensions, groups, streams, contexts and CCWs.
    Info {
        /// HEF file to inspect.
        hef: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Report every HailoRT 4.23 rejection rule (and crash construct) the file breaks.
    Check {
        /// HEF file to check.
        hef: PathBuf,
    },
}

pub fn run(args: Args, _quiet: bool) -> ExitCode {
    match args.command {
        Subcommand::Info { hef, json } => info(&hef, json),
        Subcommand::Check { hef } => check(&hef),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ExitCode> {
    std::fs::read(path).map_err(|e| {
        eprintln!("error: cannot read {}: {e}", path.display());
        ExitCode::from(2)
    })
}

fn info(path: &Path, json: bool) -> ExitCode {
    let bytes = match read(path) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let hef = match Hef::from_bytes_unverified(&bytes) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let report = HefInfo::new(&hef);
    let text = if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("error: cannot serialize the report: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        report.to_text()
    };
    // A closed pipe (e.g. `| head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if !report.container.checksum_ok {
        eprintln!(
            "warning: {}: checksum mismatch, the file is corrupted",
            path.display()
        );
    }
    ExitCode::SUCCESS
}

fn check(path: &Path) -> ExitCode {
    let bytes = match read(path) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let violations = check_bytes(&bytes);
    let name = path.display();
    let mut text: String = violations
        .iter()
        .map(|v| format!("{name}: {v}\n"))
        .collect();
    if violations.is_empty() {
        text += &format!("{name}: OK, HailoRT 4.23 would accept this HEF\n");
    } else {
        text += &format!("{name}: {} violation(s)\n", violations.len());
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
