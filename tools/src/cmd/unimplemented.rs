//! Placeholder for subcommands that a later issue implements: says so and fails.
use std::process::ExitCode;

/// Accepts any arguments so `hailo <cmd> ...` reaches the message below.
#[derive(clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

pub fn run(name: &str) -> ExitCode {
    eprintln!("error: `hailo {name}` is not implemented yet in this version");
    ExitCode::from(2)
}
