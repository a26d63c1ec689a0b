//! Pass managers: a list of passes and nested managers anchored on an op name.
//!
//! A nested manager runs on each direct child op with its anchor name, so a
//! pass only ever touches its anchor's subtree (the rule that later allows
//! running graphs in parallel). Wall time and statistics are recorded per
//! entry and reported as a tree mirroring the pipeline.

use super::analysis::AnalysisManager;
use super::instrument::{timing_cell, Instrumentation};
use super::pipeline::{self, Element};
use super::registry::PassRegistry;
use super::resources::Resources;
use super::{Pass, PassCx, Statistic};
use crate::diag::{DiagEngine, Diagnostic};
use crate::dialect::Context;
use crate::module::{Module, OpId};
use crate::printer::{print_op, PrintOptions};
use std::time::{Duration, Instant};

enum Entry {
    Pass {
        pass: Box<dyn Pass>,
        time: Duration,
        stats: Vec<Statistic>,
    },
    Nested(OpPassManager),
}

pub struct OpPassManager {
    pub anchor: String,
    entries: Vec<Entry>,
    time: Duration,
}

/// A pipeline text that does not build: where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineError {
    pub offset: usize,
    pub message: String,
}

/// Why a run stopped.
#[derive(Debug)]
pub struct RunFailure {
    /// The pass that failed (or after which verification failed).
    pub pass: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl OpPassManager {
    pub fn new(anchor: &str) -> OpPassManager {
        OpPassManager {
            anchor: anchor.to_owned(),
            entries: Vec::new(),
            time: Duration::ZERO,
        }
    }

    /// Builds a manager from pipeline text; the text must be `op-name(...)`.
    pub fn parse(text: &str, registry: &PassRegistry) -> Result<OpPassManager, PipelineError> {
        let elems = pipeline::parse(text).map_err(|e| PipelineError {
            offset: e.offset,
            message: e.message,
        })?;
        let [top] = elems.as_slice() else {
            return Err(PipelineError {
                offset: elems[1].offset,
                message:
                    "a pass pipeline has exactly one top-level op anchor, e.g. builtin.module(...)"
                        .into(),
            });
        };
        let Some(nested) = &top.nested else {
            return Err(PipelineError {
                offset: top.offset,
                message: format!(
                    "the pipeline must start with an op anchor; write 'builtin.module({})'",
                    pipeline::print(std::slice::from_ref(top))
                ),
            });
        };
        let mut pm = OpPassManager::new(&top.name);
        pm.add_elements(nested, registry, 0)?;
        Ok(pm)
    }

    fn add_elements(
        &mut self,
        elems: &[Element],
        registry: &PassRegistry,
        base: usize,
    ) -> Result<(), PipelineError> {
        for e in elems {
            let at = |message: String| PipelineError {
                offset: base + e.offset,
                message,
            };
            if let Some(nested) = &e.nested {
                if !e.options.is_empty() {
                    return Err(at(format!("op anchor '{}' takes no options", e.name)));
                }
                let mut pm = OpPassManager::new(&e.name);
                pm.add_elements(nested, registry, base)?;
                self.entries.push(Entry::Nested(pm));
            } else if let Some(info) = registry.pass(&e.name) {
                if let Some(anchor) = info.anchor {
                    if anchor != self.anchor {
                        return Err(at(format!(
                            "pass '{}' runs on '{anchor}' but is nested under '{}'; write '{anchor}({})'",
                            e.name, self.anchor, e.name
                        )));
                    }
                }
                let pass = (info.create)(&e.options).map_err(|m| at(format!("{}: {m}", e.name)))?;
                self.entries.push(Entry::Pass {
                    pass,
                    time: Duration::ZERO,
                    stats: Vec::new(),
                });
            } else if let Some(p) = registry.pipeline(&e.name) {
                let inner = pipeline::parse(p.text)
                    .map_err(|x| at(format!("in pipeline '{}': {}", p.name, x.message)))?;
                let mut tmp = OpPassManager::new(&self.anchor);
                tmp.add_elements(&inner, registry, 0)
                    .map_err(|x| at(format!("in pipeline '{}': {}", p.name, x.message)))?;
                self.entries.extend(tmp.entries);
            } else {
                let hint = registry
                    .suggest(&e.name)
                    .map(|s| format!("; did you mean '{s}'?"))
                    .unwrap_or_default();
                return Err(at(format!(
                    "'{}' does not refer to a registered pass or pass pipeline{hint}",
                    e.name
                )));
            }
        }
        Ok(())
    }

    pub fn add_pass(&mut self, pass: Box<dyn Pass>) {
        self.entries.push(Entry::Pass {
            pass,
            time: Duration::ZERO,
            stats: Vec::new(),
        });
    }

    pub fn nest(&mut self, anchor: &str) -> &mut OpPassManager {
        self.entries.push(Entry::Nested(OpPassManager::new(anchor)));
        match self.entries.last_mut() {
            Some(Entry::Nested(pm)) => pm,
            _ => unreachable!("just pushed a nested manager"),
        }
    }

    /// The pipeline as text with every option spelled out (`--dump-pass-pipeline`).
    pub fn dump(&self) -> String {
        let inner: Vec<String> = self
            .entries
            .iter()
            .map(|e| match e {
                Entry::Pass { pass, .. } => format!("{}{}", pass.name(), pass.options_text()),
                Entry::Nested(pm) => pm.dump(),
            })
            .collect();
        format!("{}({})", self.anchor, inner.join(","))
    }

    /// Runs on `op` (whose name must be the anchor).
    pub fn run(
        &mut self,
        m: &mut Module,
        ctx: &Context,
        op: OpId,
        inst: &mut Instrumentation,
    ) -> Result<(), RunFailure> {
        self.run_with(m, ctx, op, inst, &Resources::default())
    }

    /// [`OpPassManager::run`] with the driver's resources (calibration set, target).
    pub fn run_with(
        &mut self,
        m: &mut Module,
        ctx: &Context,
        op: OpId,
        inst: &mut Instrumentation,
        resources: &Resources,
    ) -> Result<(), RunFailure> {
        let mut am = AnalysisManager::with_resources(resources.clone());
        self.run_on(m, ctx, op, inst, &mut am, resources)
    }

    fn run_on(
        &mut self,
        m: &mut Module,
        ctx: &Context,
        op: OpId,
        inst: &mut Instrumentation,
        am: &mut AnalysisManager,
        resources: &Resources,
    ) -> Result<(), RunFailure> {
        let start = Instant::now();
        let result = self.run_entries(m, ctx, op, inst, am, resources);
        self.time += start.elapsed();
        result
    }

    fn run_entries(
        &mut self,
        m: &mut Module,
        ctx: &Context,
        op: OpId,
        inst: &mut Instrumentation,
        am: &mut AnalysisManager,
        resources: &Resources,
    ) -> Result<(), RunFailure> {
        for entry in &mut self.entries {
            match entry {
                Entry::Nested(pm) => {
                    for child in m.child_ops(op) {
                        if m.is_alive(child) && m.op(child).name_str() == pm.anchor {
                            pm.run_on(m, ctx, child, inst, am, resources)?;
                        }
                    }
                }
                Entry::Pass { pass, time, stats } => {
                    let name = pass.name();
                    let dump_op = |m: &Module| {
                        print_op(
                            m,
                            ctx,
                            op,
                            PrintOptions {
                                elide_resources: true,
                                ..Default::default()
                            },
                        )
                    };
                    let header = |what: &str, m: &Module| {
                        let o = m.op(op);
                        let sym = m
                            .symbol_name(op)
                            .map(|s| format!(" @{s}"))
                            .unwrap_or_default();
                        format!(
                            "// -----// IR Dump {what} {name} ({}{sym}) //----- //\n",
                            o.name_str()
                        )
                    };
                    if inst.print_before.matches(name) {
                        let text = header("Before", m) + &dump_op(m);
                        inst.output.push_str(&text);
                    }
                    let before = inst.print_after_change.then(|| dump_op(m));
                    let mut diags = DiagEngine::default();
                    let t0 = Instant::now();
                    let result = {
                        let mut cx = PassCx::new(name, ctx, &mut diags, am, resources, stats);
                        let r = pass.run(m, op, &mut cx);
                        inst.output.push_str(&cx.out);
                        r
                    };
                    *time += t0.elapsed();
                    match result {
                        Err(_) => {
                            if inst.print_after_failure {
                                let text = header("After Failed", m) + &dump_op(m);
                                inst.output.push_str(&text);
                            }
                            let mut d = diags.take();
                            if d.is_empty() {
                                d.push(Diagnostic::error(
                                    m.op(op).loc.clone(),
                                    format!("pass '{name}' failed"),
                                ));
                            }
                            return Err(RunFailure {
                                pass: name.to_owned(),
                                diagnostics: d,
                            });
                        }
                        Ok(preserved) => {
                            am.invalidate(m, &preserved);
                            let changed_text = before.map(|b| dump_op(m) != b);
                            if inst.print_after.matches(name) || changed_text == Some(true) {
                                let text = header("After", m) + &dump_op(m);
                                inst.output.push_str(&text);
                            }
                            // Warnings and remarks from successful passes still reach the user.
                            inst.diagnostics.extend(diags.take());
                        }
                    }
                    if inst.verify_each {
                        if let Err(errs) = crate::verifier::verify(m, ctx, op) {
                            let mut d = errs;
                            d.push(Diagnostic::note(
                                m.op(op).loc.clone(),
                                format!("verification failed after pass '{name}'"),
                            ));
                            return Err(RunFailure {
                                pass: name.to_owned(),
                                diagnostics: d,
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// `--timing`: wall time per pass as a tree mirroring the pipeline.
    pub fn timing_report(&self, total: Duration, extra: &[(&str, Duration)]) -> String {
        let mut out = String::new();
        out.push_str(
            "===-------------------------------------------------------------------------===\n",
        );
        out.push_str("                         ... Execution time report ...\n");
        out.push_str(
            "===-------------------------------------------------------------------------===\n",
        );
        out.push_str(&format!(
            "  Total Execution Time: {:.4} seconds\n\n",
            total.as_secs_f64()
        ));
        out.push_str("  ----Wall Time----  ----Name----\n");
        for (name, d) in extra.iter().take(1) {
            out.push_str(&format!("  {}  {name}\n", timing_cell(*d, total)));
        }
        self.timing_rows(total, 0, &mut out);
        for (name, d) in extra.iter().skip(1) {
            out.push_str(&format!("  {}  {name}\n", timing_cell(*d, total)));
        }
        out.push_str(&format!("  {}  Total\n", timing_cell(total, total)));
        out
    }

    fn timing_rows(&self, total: Duration, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        out.push_str(&format!(
            "  {}  {pad}'{}' Pipeline\n",
            timing_cell(self.time, total),
            self.anchor
        ));
        for e in &self.entries {
            match e {
                Entry::Pass { pass, time, .. } => {
                    out.push_str(&format!(
                        "  {}  {pad}  {}\n",
                        timing_cell(*time, total),
                        pass.name()
                    ));
                }
                Entry::Nested(pm) => pm.timing_rows(total, depth + 1, out),
            }
        }
    }

    /// `--pass-statistics`: every statistic of every pass, in pipeline order.
    pub fn statistics_report(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "===-------------------------------------------------------------------------===\n",
        );
        out.push_str("                         ... Pass statistics report ...\n");
        out.push_str(
            "===-------------------------------------------------------------------------===\n",
        );
        self.stat_rows(0, &mut out);
        out
    }

    fn stat_rows(&self, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        out.push_str(&format!("{pad}'{}' Pipeline\n", self.anchor));
        for e in &self.entries {
            match e {
                Entry::Pass { pass, stats, .. } => {
                    out.push_str(&format!("{pad}  {}\n", pass.name()));
                    for s in stats {
                        out.push_str(&format!(
                            "{pad}    (S) {} {} - {}\n",
                            s.value, s.name, s.description
                        ));
                    }
                }
                Entry::Nested(pm) => pm.stat_rows(depth + 1, out),
            }
        }
    }
}
