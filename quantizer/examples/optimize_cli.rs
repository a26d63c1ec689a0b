//! Dev harness: `tools/src/cmd/optimize.rs` (the `hailo optimize` command) as a standalone
//! binary, for benchmarking before it is wired into `hailo`:
//! `cargo run --release -p hailo-quantizer --example optimize_cli -- model.har --calib-set-path calib.npy -o q.har`.

#[path = "../../tools/src/cmd/optimize.rs"]
mod optimize;

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: optimize::Args,
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    optimize::run(cli.args, cli.quiet)
}
