//! Instrumentation of a pass pipeline run: IR dumps around passes, wall
//! time per pass (reported as a tree), statistics and verify-each.

use std::time::Duration;

/// Which passes to dump IR around; names match registry names.
#[derive(Clone, Debug, Default)]
pub enum PassFilter {
    #[default]
    Never,
    All,
    Names(Vec<String>),
}

impl PassFilter {
    pub fn matches(&self, name: &str) -> bool {
        match self {
            PassFilter::Never => false,
            PassFilter::All => true,
            PassFilter::Names(n) => n.iter().any(|x| x == name),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Instrumentation {
    pub print_before: PassFilter,
    pub print_after: PassFilter,
    /// Print after a pass only when it changed the IR.
    pub print_after_change: bool,
    pub print_after_failure: bool,
    pub verify_each: bool,
    pub timing: bool,
    pub statistics: bool,
    /// IR dumps, in order; the tool writes them to stderr.
    pub output: String,
    /// Warnings and remarks emitted by passes that succeeded.
    pub diagnostics: Vec<crate::diag::Diagnostic>,
}

impl Instrumentation {
    pub fn wants_dump(&self) -> bool {
        !matches!(self.print_before, PassFilter::Never)
            || !matches!(self.print_after, PassFilter::Never)
            || self.print_after_change
            || self.print_after_failure
    }
}

/// `  0.0012 ( 42.1%)` for one row of the timing report.
pub fn timing_cell(d: Duration, total: Duration) -> String {
    let pct = if total.is_zero() {
        0.0
    } else {
        100.0 * d.as_secs_f64() / total.as_secs_f64()
    };
    format!("{:>9.4} ({:>5.1}%)", d.as_secs_f64(), pct)
}
