//! Placeholder: replaced by the implementation of this subcommand.
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

pub fn run(_args: Args, _quiet: bool) -> ExitCode {
    super::unimplemented::run("har")
}
