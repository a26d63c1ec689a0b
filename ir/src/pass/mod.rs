//! Pass infrastructure: the `Pass` trait, typed options, the registry,
//! MLIR's textual pipeline grammar, nested pass managers, analyses and
//! instrumentation (IR dumps, timing, statistics, verify-each, reproducers).
//!
//! A pass is a type implementing [`PassDef`]; [`PassInfo::of`] turns it into a
//! registry entry whose options are parsed from pipeline text, checked
//! against the option struct (kebab-case, unknown keys rejected, defaults
//! filled) and printed back by `--dump-pass-pipeline`.

pub mod analysis;
pub mod instrument;
pub mod manager;
pub mod options;
pub mod pipeline;
pub mod registry;
pub mod reproducer;
pub mod resources;

pub use analysis::{Analysis, AnalysisManager, Preserved};
pub use instrument::Instrumentation;
pub use manager::{OpPassManager, PipelineError};
pub use options::{OptionInfo, PassOptions, RawValue};
pub use registry::{PassInfo, PassRegistry, PipelineInfo};
pub use reproducer::Reproducer;
pub use resources::Resources;

use crate::diag::{DiagEngine, Diagnostic};
use crate::dialect::Context;
use crate::module::{Module, OpId};

/// Returned by a pass that failed; its diagnostics are already emitted.
#[derive(Debug)]
pub struct PassFailed;

/// What a running pass can reach besides the IR.
pub struct PassCx<'a> {
    /// The running pass's name.
    pub pass: &'static str,
    pub ctx: &'a Context,
    pub diags: &'a mut DiagEngine,
    pub analyses: &'a mut AnalysisManager,
    /// What the driver provides besides the IR (calibration set, target description).
    pub resources: &'a Resources,
    stats: &'a mut Vec<Statistic>,
    /// Text a pass reports to the user (e.g. `print-op-stats`); written to stderr by the tool.
    pub out: String,
}

/// A named counter a pass reports (shown by `--pass-statistics`).
#[derive(Clone, Debug)]
pub struct Statistic {
    pub name: &'static str,
    pub description: &'static str,
    pub value: u64,
}

impl<'a> PassCx<'a> {
    pub fn new(
        pass: &'static str,
        ctx: &'a Context,
        diags: &'a mut DiagEngine,
        analyses: &'a mut AnalysisManager,
        resources: &'a Resources,
        stats: &'a mut Vec<Statistic>,
    ) -> PassCx<'a> {
        PassCx {
            pass,
            ctx,
            diags,
            analyses,
            resources,
            stats,
            out: String::new(),
        }
    }

    /// Adds `delta` to the statistic `name`.
    pub fn stat(&mut self, name: &'static str, description: &'static str, delta: u64) {
        match self.stats.iter_mut().find(|s| s.name == name) {
            Some(s) => s.value += delta,
            None => self.stats.push(Statistic {
                name,
                description,
                value: delta,
            }),
        }
    }

    /// Emits an error diagnostic and returns the failure to propagate.
    pub fn fail(&mut self, d: Diagnostic) -> PassFailed {
        self.diags.emit(d);
        PassFailed
    }

    /// Fails with `<pass>: <message>` at `op`'s location.
    pub fn fail_at(&mut self, m: &Module, op: OpId, message: impl std::fmt::Display) -> PassFailed {
        let loc = m.op(op).loc.clone();
        self.fail(Diagnostic::error(loc, format!("{}: {message}", self.pass)))
    }

    pub fn analysis<A: Analysis>(&mut self, m: &Module, op: OpId) -> &A {
        self.analyses.get::<A>(m, op)
    }

    /// The driver's resource of type `T`, if it provided one.
    pub fn resource<T: std::any::Any>(&self) -> Option<&'a T> {
        self.resources.get::<T>()
    }

    /// Runs `pm` on `op` of `m` (typically a clone of the module, or a sub-graph) from inside
    /// a pass, with this run's resources and fresh analyses; its errors and warnings become
    /// this pass's diagnostics.
    pub fn run_nested(
        &mut self,
        m: &mut Module,
        op: OpId,
        pm: &mut OpPassManager,
    ) -> Result<(), PassFailed> {
        let mut inst = Instrumentation::default();
        let result = pm.run_with(m, self.ctx, op, &mut inst, self.resources);
        for d in inst.diagnostics {
            self.diags.emit(d);
        }
        result.map_err(|failure| {
            for d in failure.diagnostics {
                self.diags.emit(d);
            }
            PassFailed
        })
    }
}

/// A pass with typed options. Implement this; the registry does the rest.
pub trait PassDef: 'static {
    /// Kebab-case, dialect-prefixed for dialect passes (`hl-fold-batchnorm`).
    const NAME: &'static str;
    const SUMMARY: &'static str;
    /// Longer description shown by `--list-passes` (usually the module doc).
    const DESCRIPTION: &'static str = "";
    /// The op this pass runs on; `None` runs on any op.
    const ANCHOR: Option<&'static str>;
    type Options: PassOptions;

    fn new(options: Self::Options) -> Self;
    fn options(&self) -> &Self::Options;
    fn run(
        &mut self,
        m: &mut Module,
        op: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed>;
}

/// Object-safe face of a pass inside a pass manager.
pub trait Pass {
    fn name(&self) -> &'static str;
    fn anchor(&self) -> Option<&'static str>;
    /// `{k=v ...}` with every option, or empty when the pass has none.
    fn options_text(&self) -> String;
    fn run(
        &mut self,
        m: &mut Module,
        op: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed>;
}

impl<P: PassDef> Pass for P {
    fn name(&self) -> &'static str {
        P::NAME
    }
    fn anchor(&self) -> Option<&'static str> {
        P::ANCHOR
    }
    fn options_text(&self) -> String {
        options::print_options(self.options())
    }
    fn run(
        &mut self,
        m: &mut Module,
        op: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        PassDef::run(self, m, op, cx)
    }
}
