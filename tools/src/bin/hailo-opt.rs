//! `hailo-opt`: the mlir-opt of this project. See `hailo_tools::opt`.

use clap::Parser;
use std::io::{Read, Write};
use std::process::ExitCode;

fn read_input(name: &str) -> std::io::Result<String> {
    let bytes = if name == "-" {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b)?;
        b
    } else {
        std::fs::read(name)?
    };
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn main() -> ExitCode {
    hailo_tools::pipe::restore_sigpipe();
    let args = hailo_tools::opt::OptArgs::parse();
    let registry = hailo_passes::registry();
    let out = hailo_tools::opt::run(args, &registry, read_input);
    eprint!("{}", out.stderr);
    match &out.output_path {
        Some(path) if out.code == 0 => {
            if let Err(e) = hailo_npz::atomic::write_bytes(path, out.stdout.as_bytes()) {
                eprintln!("hailo-opt: error: cannot write '{}': {e}", path.display());
                return ExitCode::from(1);
            }
        }
        Some(_) => {}
        None => {
            let _ = std::io::stdout().write_all(out.stdout.as_bytes());
        }
    }
    ExitCode::from(out.code)
}
