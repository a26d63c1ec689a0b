//! The instrumentation flags every pass-running command shares (`hailo-opt`, `hailo
//! optimize`), as MLIR's pass-manager options: IR dumps around passes, timing, statistics,
//! verify-each and crash reproducers. One declaration, so the commands cannot drift apart.

use hailo_ir::pass::instrument::PassFilter;
use hailo_ir::pass::Instrumentation;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct InstrumentFlags {
    /// Print the IR before the listed passes (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub print_ir_before: Vec<String>,
    /// Print the IR after the listed passes (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub print_ir_after: Vec<String>,
    /// Print the IR before every pass.
    #[arg(long)]
    pub print_ir_before_all: bool,
    /// Print the IR after every pass.
    #[arg(long)]
    pub print_ir_after_all: bool,
    /// Print the IR after a pass only if the pass changed it.
    #[arg(long)]
    pub print_ir_after_change: bool,
    /// Print the IR after a pass that failed.
    #[arg(long)]
    pub print_ir_after_failure: bool,
    /// Report wall time per pass as a tree.
    #[arg(long)]
    pub timing: bool,
    /// Report the statistics of every pass.
    #[arg(long)]
    pub pass_statistics: bool,
    /// Verify the IR after every pass.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub verify_each: bool,
    /// On a pass failure, write the pipeline's input IR and the pipeline to FILE (replay it
    /// with `hailo-opt --run-reproducer FILE`).
    #[arg(long)]
    pub reproducer: Option<PathBuf>,
}

impl InstrumentFlags {
    /// The instrumentation these flags ask for.
    pub fn instrumentation(&self) -> Instrumentation {
        let filter = |all: bool, names: &[String]| {
            if all {
                PassFilter::All
            } else if names.is_empty() {
                PassFilter::Never
            } else {
                PassFilter::Names(names.to_vec())
            }
        };
        Instrumentation {
            print_before: filter(self.print_ir_before_all, &self.print_ir_before),
            print_after: filter(self.print_ir_after_all, &self.print_ir_after),
            print_after_change: self.print_ir_after_change,
            print_after_failure: self.print_ir_after_failure,
            verify_each: self.verify_each,
            timing: self.timing,
            statistics: self.pass_statistics,
            ..Instrumentation::default()
        }
    }
}
