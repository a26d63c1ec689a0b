//! `phys-merge`: lets two compute layers share one layer controller (DFC guide, `merge(layer1,
//! layer2)`; resources doc §7: the lever when a network is control-bound).
//!
//! A merged pair keeps both ops (they compute different things) and marks them: `merged = name`
//! on both, `merge_index` 0 on the first, which holds the shared controller and subclusters (the
//! larger of the two counts), 1 on the second, which then costs no layer resources (its
//! `ResourceModel`). The pair's rate is the shared subclusters over the sum of both layers' MACs.
//!
//! **Manual** (`layers`): `a+b[:name]`, default name `merged_layer_<a>_<b>` as in the guide's
//! examples.
//!
//! **Automatic** (`min-utilization` > 0, the script's `allocator_param(merge_min_layer_utilization)`:
//! the control utilization at which the auto-merger starts): while the layer controllers the
//! graph takes exceed that share of the target's, the pair of a compute layer and its only
//! consumer (both compute layers, neither defused nor merged) with the fewest MACs together is
//! merged — as long as the pair still reaches `fps` with the shared subclusters. It stops, without
//! failing, when no pair qualifies (the guide: "will not fail if target utilization cannot be
//! reached").

use hailo_dialect_phys::ops::{self as phys, LayerParams};
use hailo_dialect_phys::resource_model;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId};
use hailo_target::Target;
use std::collections::BTreeMap;

hailo_ir::pass_options! {
    pub struct PhysMergeOptions {
        /// Manual merges, `a+b[:name]` (model script `name = merge(a, b)`).
        layers: Vec<String> = Vec::new(),
        /// Control utilization above which layers are merged automatically (0: never).
        min_utilization: f64 = 0.0,
        /// Frames per second an automatically merged pair must still reach (0: any).
        fps: f64 = 0.0,
    }
}

pub struct PhysMerge(PhysMergeOptions);

impl PassDef for PhysMerge {
    const NAME: &'static str = "phys-merge";
    const SUMMARY: &'static str = "Let pairs of compute layers share one layer controller";
    const DESCRIPTION: &'static str = "Manual from `layers` (the model script's merge commands); \
        automatic while the layer controllers used exceed `min-utilization` of the target's.";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = PhysMergeOptions;

    fn new(o: PhysMergeOptions) -> Self {
        PhysMerge(o)
    }
    fn options(&self) -> &PhysMergeOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let o = &self.0;
        let Some(target) = cx.resource::<Target>() else {
            return Err(cx.fail_at(
                m,
                graph,
                "needs a target description (hailo-opt --hw-arch NAME)",
            ));
        };
        if !(0.0..=1.0).contains(&o.min_utilization) {
            let msg = format!(
                "'min-utilization' must be in [0, 1], got {}",
                o.min_utilization
            );
            return Err(cx.fail_at(m, graph, msg));
        }
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
        let mut merged = 0;
        for text in &o.layers {
            let (a, b, name) = parse(text).map_err(|e| cx.fail_at(m, graph, e))?;
            let find = |n: &str| {
                layers.get(n).copied().ok_or_else(|| {
                    format!("'layers' names '{n}', which is no physical layer of this graph")
                })
            };
            let (a, b) = match (find(&a), find(&b)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return Err(cx.fail_at(m, graph, e)),
            };
            if let Err(e) = mergeable(m, a).and_then(|_| mergeable(m, b)) {
                return Err(cx.fail_at(m, if mergeable(m, a).is_err() { a } else { b }, e));
            }
            join(m, a, b, &name).map_err(|e| cx.fail_at(m, a, e))?;
            merged += 1;
        }
        if o.min_utilization > 0.0 {
            let limit = o.min_utilization * f64::from(target.total_layer_controllers());
            while f64::from(controllers(m, block)) > limit {
                let Some((a, b)) = best_pair(m, block, o.fps, target) else {
                    break;
                };
                let name = format!("merged_layer_{}_{}", name_of(m, a), name_of(m, b));
                join(m, a, b, &name).map_err(|e| cx.fail_at(m, a, e))?;
                merged += 1;
            }
        }
        cx.stat("merged", "layer pairs merged", merged);
        Ok(if merged == 0 {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}

fn parse(text: &str) -> Result<(String, String, String), String> {
    let bad = || format!("'layers' entry '{text}' must be a+b[:name]");
    let (pair, name) = match text.split_once(':') {
        Some((p, n)) if !n.is_empty() => (p, Some(n)),
        Some(_) => return Err(bad()),
        None => (text, None),
    };
    let (a, b) = pair.split_once('+').ok_or_else(bad)?;
    if a.is_empty() || b.is_empty() || a == b {
        return Err(bad());
    }
    let name = name.map_or_else(|| format!("merged_layer_{a}_{b}"), str::to_owned);
    Ok((a.to_owned(), b.to_owned(), name))
}

fn name_of(m: &Module, op: OpId) -> String {
    m.attr(op, "layer")
        .and_then(Attribute::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A compute layer that is in no merge yet.
fn mergeable(m: &Module, op: OpId) -> Result<LayerParams, String> {
    let name = name_of(m, op);
    if phys::Layer::cast(m, op).is_none() {
        return Err(format!(
            "layer '{name}' is no compute layer; only those merge"
        ));
    }
    if m.attr(op, "merged").is_some() {
        return Err(format!("layer '{name}' is already merged"));
    }
    LayerParams::of(m, op)
}

/// Marks `a` and `b` as one merged layer on `a`'s controller.
fn join(m: &mut Module, a: OpId, b: OpId, name: &str) -> Result<(), String> {
    let sc = mergeable(m, a)?
        .subclusters
        .max(mergeable(m, b)?.subclusters);
    for (i, op) in [a, b].into_iter().enumerate() {
        m.set_attr(op, "merged", Attribute::str(name));
        m.set_attr(op, "merge_index", Attribute::i64(i as i64));
        m.set_attr(op, "subclusters", Attribute::i64(i64::from(sc)));
    }
    Ok(())
}

fn controllers(m: &Module, block: hailo_ir::BlockId) -> u32 {
    m.block_ops(block)
        .into_iter()
        .filter_map(|op| resource_model(m, op)?.resources(m, op).ok())
        .map(|r| r.layer_controllers)
        .sum()
}

fn macs(m: &Module, op: OpId) -> u64 {
    resource_model(m, op)
        .and_then(|r| r.work(m, op).ok().flatten())
        .map_or(0, |w| w.macs)
}

/// The producer-consumer pair with the fewest MACs together that may merge.
fn best_pair(
    m: &Module,
    block: hailo_ir::BlockId,
    fps: f64,
    target: &Target,
) -> Option<(OpId, OpId)> {
    let plain = |op: OpId| m.attr(op, "defuse").is_none() && mergeable(m, op).is_ok();
    let mut best: Option<(u64, OpId, OpId)> = None;
    for a in m.block_ops(block) {
        if !plain(a) {
            continue;
        }
        let uses = m.value(m.result(a, 0)).uses();
        let [only] = uses else { continue };
        let b = only.op;
        if !plain(b) {
            continue;
        }
        let total = macs(m, a) + macs(m, b);
        let sc = [a, b]
            .iter()
            .filter_map(|&op| LayerParams::of(m, op).ok())
            .map(|p| p.subclusters)
            .max()
            .unwrap_or(1);
        let peak =
            target.peak_macs_per_second(sc, hailo_target::ScMode::Mode8x8) * target.efficiency();
        if fps > 0.0 && total > 0 && peak / (total as f64) < fps {
            continue;
        }
        if best.is_none_or(|(t, ..)| total < t) {
            best = Some((total, a, b));
        }
    }
    best.map(|(_, a, b)| (a, b))
}
