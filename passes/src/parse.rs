//! The `hailo-parse` pipeline as the frontends run it on their faithful import. Each pass runs
//! through the pass manager in turn, so that what it absorbed is known: a frontend's parsing
//! report turns the layers a pass removed into "fused into <layer>" entries with the pass's own
//! summary as the reason, and follows the layers `hl-name-layers` renamed.

use crate::pipelines::HAILO_PARSE;
use hailo_ir::pass::{Instrumentation, OpPassManager};
use hailo_ir::{Attribute, Context, Module, OpId};
use std::collections::BTreeMap;

/// A layer a pass of the pipeline removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absorbed {
    /// The final name of the layer that took it over (whose location now holds its names).
    pub into: String,
    /// `<pass>: <summary>`.
    pub reason: String,
}

/// What the pipeline did to the frontend's layers, by their names before it ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseRewrites {
    /// Every layer that remains, with its final name.
    pub renamed: BTreeMap<String, String>,
    pub absorbed: BTreeMap<String, Absorbed>,
}

impl ParseRewrites {
    /// The final layer that stands for `layer` (itself renamed, or the one that absorbed it).
    pub fn final_name(&self, layer: &str) -> Option<&str> {
        self.renamed
            .get(layer)
            .or_else(|| self.absorbed.get(layer).map(|a| &a.into))
            .map(String::as_str)
    }

    /// A report entry's `layers` (names before the pipeline) as their final layers, each once;
    /// returns the reason of the first when the pipeline absorbed all of them (the entry is
    /// then fused into what absorbed it).
    pub fn follow(&self, layers: &mut Vec<String>) -> Option<String> {
        let all_absorbed =
            !layers.is_empty() && layers.iter().all(|l| self.absorbed.contains_key(l));
        let reason = all_absorbed.then(|| self.absorbed[&layers[0]].reason.clone());
        let mut out: Vec<String> = Vec::new();
        for l in layers.iter() {
            let name = self.final_name(l).unwrap_or(l).to_owned();
            if !out.contains(&name) {
                out.push(name);
            }
        }
        *layers = out;
        reason
    }
}

/// The passes of `hailo-parse`, in order.
pub fn passes() -> Vec<&'static str> {
    HAILO_PARSE
        .trim_start_matches("builtin.graph(")
        .trim_end_matches(')')
        .split(',')
        .collect()
}

fn layer(m: &Module, op: OpId) -> Option<&str> {
    m.attr(op, "layer").and_then(Attribute::as_str)
}

/// Runs `hailo-parse` on `m` (a module of `hl` graphs).
pub fn run(m: &mut Module) -> Result<ParseRewrites, String> {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    let registry = crate::registry();
    let tracked: Vec<(OpId, String, Vec<&'static str>)> = m
        .walk(m.top())
        .into_iter()
        .filter_map(|op| {
            let name = layer(m, op)?.to_owned();
            Some((op, name, m.op(op).loc.names()))
        })
        .collect();
    let alive = |m: &Module, op: OpId| m.is_alive(op) && layer(m, op).is_some();
    let mut removed_by: BTreeMap<usize, String> = BTreeMap::new();
    for pass in passes() {
        let mut pm = OpPassManager::parse(&format!("builtin.graph({pass})"), &registry)
            .map_err(|e| format!("hailo-parse: {}", e.message))?;
        let mut inst = Instrumentation::default();
        let top = m.top();
        for g in m.child_ops(top) {
            if m.op(g).name_str() == hailo_ir::builtin::GRAPH {
                pm.run(m, &ctx, g, &mut inst).map_err(|f| {
                    let msgs: Vec<String> = f
                        .diagnostics
                        .iter()
                        .map(|d| format!("{}: {}", d.loc, d.message))
                        .collect();
                    format!("hailo-parse: {} failed: {}", f.pass, msgs.join("; "))
                })?;
            }
        }
        let summary = registry
            .passes()
            .iter()
            .find(|p| p.name == pass)
            .map_or("", |p| p.summary);
        for (i, (op, _, _)) in tracked.iter().enumerate() {
            if !removed_by.contains_key(&i) && !alive(m, *op) {
                removed_by.insert(i, format!("{pass}: {summary}"));
            }
        }
    }
    let survivors: Vec<(String, Vec<&'static str>)> = tracked
        .iter()
        .filter(|(op, _, _)| alive(m, *op))
        .map(|(op, _, _)| {
            (
                layer(m, *op).unwrap_or_default().to_owned(),
                m.op(*op).loc.names(),
            )
        })
        .collect();
    let mut out = ParseRewrites::default();
    for (i, (op, old, names)) in tracked.iter().enumerate() {
        match removed_by.get(&i) {
            None => {
                out.renamed
                    .insert(old.clone(), layer(m, *op).unwrap_or_default().to_owned());
            }
            Some(reason) => {
                let into = survivors
                    .iter()
                    .find(|(_, locs)| names.first().is_some_and(|n| locs.contains(n)))
                    .map(|(l, _)| l.clone())
                    .unwrap_or_default();
                out.absorbed.insert(
                    old.clone(),
                    Absorbed {
                        into,
                        reason: reason.clone(),
                    },
                );
            }
        }
    }
    Ok(out)
}
