//! `phys-assign`: applies a model script's per-layer allocation decisions to the physical
//! layers they name, after defuse has made the parts they refer to.
//!
//! The vendor's compiler writes its choices back as script commands (the zoo's scripts are full
//! of them): `compilation_param(l, number_of_subclusters=n, use_16x4_sc=enabled)`,
//! `place(cluster, [layers])`, `context_k.place(...)` / `context(...)`. They become options:
//!
//! - `subclusters`: `layer:n` sets a compute layer's or format conversion's `subclusters`; a
//!   helper (concat, splitter, shortcut, portal) has a fixed cost, so `n` must equal it (its
//!   resource model's count), else it is an error naming the layer;
//! - `mode-16x4`: layers that run in 16x4 mode (`mode = "16x4"`; the op verifier checks the
//!   DFC guide's Table 7);
//! - `clusters`: `layer:cluster` (`place`), kept as `cluster` for the allocator and for the
//!   cross-cluster buffers of `phys-buffers`;
//! - `contexts`: `layer:context`, kept as `context` for the context splitter.
//!
//! A name that is no layer of the graph is an error at the graph.

use hailo_dialect_phys::ops as phys;
use hailo_dialect_phys::resource_model;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId};
use std::collections::BTreeMap;

hailo_ir::pass_options! {
    pub struct PhysAssignOptions {
        /// `layer:n`: subclusters (`compilation_param(l, number_of_subclusters=n)`).
        subclusters: Vec<String> = Vec::new(),
        /// Layers in 16x4 mode (`compilation_param(l, use_16x4_sc=enabled)`).
        mode_16x4: Vec<String> = Vec::new(),
        /// `layer:cluster` (`place(cluster, [layers])`).
        clusters: Vec<String> = Vec::new(),
        /// `layer:context` (`context_k.place(...)`).
        contexts: Vec<String> = Vec::new(),
    }
}

pub struct PhysAssign(PhysAssignOptions);

impl PassDef for PhysAssign {
    const NAME: &'static str = "phys-assign";
    const SUMMARY: &'static str =
        "Set subclusters, 16x4 mode, cluster and context of named physical layers";
    const DESCRIPTION: &'static str = "The model script's compilation_param \
        (number_of_subclusters, use_16x4_sc), place and context commands.";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = PhysAssignOptions;

    fn new(o: PhysAssignOptions) -> Self {
        PhysAssign(o)
    }
    fn options(&self) -> &PhysAssignOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let block = m.region(m.op(graph).regions()[0]).blocks()[0];
        let layers: BTreeMap<String, OpId> = m
            .block_ops(block)
            .into_iter()
            .filter(|&op| resource_model(m, op).is_some())
            .filter_map(|op| {
                let name = m.attr(op, "layer").and_then(Attribute::as_str)?;
                Some((name.to_owned(), op))
            })
            .collect();
        let o = &self.0;
        let mut edits: Vec<(OpId, &'static str, Attribute)> = Vec::new();
        let find = |name: &str, option: &str| {
            layers.get(name).copied().ok_or_else(|| {
                format!("'{option}' names '{name}', which is no physical layer of this graph")
            })
        };
        let result = (|| -> Result<(), (Option<OpId>, String)> {
            let graph_err = |e: String| (None, e);
            for (option, key, entries) in [
                ("subclusters", "subclusters", &o.subclusters),
                ("clusters", "cluster", &o.clusters),
                ("contexts", "context", &o.contexts),
            ] {
                for text in entries {
                    let (name, n) = numbered(text, option).map_err(graph_err)?;
                    let op = find(name, option).map_err(graph_err)?;
                    if key == "subclusters" && !has_subclusters(m, op) {
                        let cost = resource_model(m, op)
                            .and_then(|r| r.resources(m, op).ok())
                            .map_or(0, |r| i64::from(r.subclusters));
                        if cost != n {
                            return Err((
                                Some(op),
                                format!(
                                    "layer '{name}' always takes {cost} subcluster(s), not {n}"
                                ),
                            ));
                        }
                        continue;
                    }
                    edits.push((op, key, Attribute::i64(n)));
                }
            }
            for name in &o.mode_16x4 {
                let op = find(name, "mode-16x4").map_err(graph_err)?;
                if phys::Layer::cast(m, op).is_none() {
                    return Err((
                        Some(op),
                        format!("layer '{name}' is no compute layer; only those run in 16x4 mode"),
                    ));
                }
                edits.push((op, "mode", Attribute::str("16x4")));
            }
            Ok(())
        })();
        if let Err((at, msg)) = result {
            return Err(cx.fail_at(m, at.unwrap_or(graph), msg));
        }
        let changed = edits.len();
        for (op, key, value) in edits {
            m.set_attr(op, key, value);
        }
        cx.stat("assigned", "layer attributes set", changed as u64);
        Ok(if changed == 0 {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}

/// `layer:n` with `n >= 0`.
fn numbered<'t>(text: &'t str, option: &str) -> Result<(&'t str, i64), String> {
    text.rsplit_once(':')
        .and_then(|(l, n)| Some((l, n.parse::<i64>().ok().filter(|&n| n >= 0)?)))
        .filter(|(l, _)| !l.is_empty())
        .ok_or_else(|| format!("'{option}' entry '{text}' must be layer:n with n >= 0"))
}

/// Ops whose subclusters are an attribute (compute layers, format conversions).
fn has_subclusters(m: &Module, op: OpId) -> bool {
    phys::Layer::cast(m, op).is_some() || phys::FormatConversion::cast(m, op).is_some()
}
