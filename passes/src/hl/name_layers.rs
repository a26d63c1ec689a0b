//! `hl-name-layers`: gives every `hl` layer named `<prefix><n>` (`conv3`, `ew_add12`) the name
//! Hailo's parser gives it: one counter per prefix, counting from 1 in breadth-first
//! topological order. The order is Kahn's algorithm with a first-in first-out queue, starting
//! from the graph's inputs, a layer's readers taken in graph order: a layer is numbered once
//! all its producers are, before the layers that became ready after it. This is the numbering
//! of the vendor's allocation dumps: in a resnet unit with a projection shortcut the 1x1
//! reduction, the projection, the 3x3 and the 1x1 expansion come in that order (TF-slim
//! resnet_v1_50, torchvision resnet18: the downsample conv is numbered between the block's two
//! convs), where the source file lists the projection first or last. Run after the parse-time
//! fusions, it also closes the gaps the absorbed layers leave. Input and output layers keep
//! their names (their numbers follow the graph's inputs and outputs); names without a trailing
//! number (chosen by a user) are kept. A renamed layer's weights move with it
//! (`<layer>.kernel`).

use super::{body_ops, graphs, layer_name};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::naming::LayerNamer;
use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Blob, Module, OpId, Sym};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub struct NameLayers(NoOptions);

impl PassDef for NameLayers {
    const NAME: &'static str = "hl-name-layers";
    const SUMMARY: &'static str =
        "Number the layers of each type 1, 2, ... in breadth-first order, as the Hailo parser does";
    const ANCHOR: Option<&'static str> = None;
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        NameLayers(o)
    }
    fn options(&self) -> &NoOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        _cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let mut renamed = Vec::new();
        for g in graphs(m, root) {
            let mut namer = LayerNamer::new();
            for op in breadth_first(m, g) {
                let name = m.op(op).name_str();
                if !name.starts_with("hl.")
                    || name == hl::InputLayer::NAME
                    || name == hl::OutputLayer::NAME
                {
                    continue;
                }
                let Some(old) = layer_name(m, op) else {
                    continue;
                };
                let prefix = old.trim_end_matches(|c: char| c.is_ascii_digit());
                if prefix.is_empty() || prefix.len() == old.len() {
                    continue;
                }
                let new = namer.next(prefix);
                if new != old {
                    renamed.push((op, old.to_owned(), new.clone()));
                    m.set_attr(op, "layer", Attribute::str(&new));
                }
            }
        }
        rename_blobs(m, &renamed);
        // Renaming changes attributes only: the graph's structure and values stay.
        Ok(if !renamed.is_empty() {
            Preserved::None
        } else {
            Preserved::All
        })
    }
}

/// Moves the weights of every renamed layer from `<old>.<param>` to `<new>.<param>`, so a
/// layer's blobs carry its name (the HAR and the reports key weights by it, and a pass that
/// writes `<layer>.<param>` must not land on another layer's weights). Only constants the
/// layer alone reads move, all at once (layers often trade names); a key already taken by a
/// blob that does not move keeps the old name.
fn rename_blobs(m: &mut Module, renamed: &[(OpId, String, String)]) {
    let mut moves = Vec::new();
    for (op, old, new) in renamed {
        for &v in m.op(*op).operands() {
            let Some(def) = m.defining_op(v) else {
                continue;
            };
            if m.op(def).name_str() != hl::Const::NAME || m.value(v).uses().len() != 1 {
                continue;
            }
            if let Some(Attribute::DenseResource { key, ty }) = m.attr(def, "value") {
                if let Some(param) = key.as_str().strip_prefix(&format!("{old}.")) {
                    moves.push((def, key.as_str().to_owned(), format!("{new}.{param}"), *ty));
                }
            }
        }
    }
    let blobs: Vec<Option<Blob>> = moves
        .iter()
        .map(|(_, k, _, _)| m.resources.remove(k))
        .collect();
    // A move whose new key is taken keeps its old key, which may in turn be another's new key.
    let mut keep_old: Vec<bool> = blobs.iter().map(Option::is_none).collect();
    loop {
        let kept: BTreeSet<&str> = (moves.iter().zip(&keep_old))
            .filter(|(_, &k)| k)
            .map(|(mv, _)| mv.1.as_str())
            .collect();
        let mut changed = false;
        for (i, (_, _, new, _)) in moves.iter().enumerate() {
            if !keep_old[i] && (m.resources.get(new).is_some() || kept.contains(new.as_str())) {
                keep_old[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (((def, old, new, ty), blob), keep) in moves.into_iter().zip(blobs).zip(keep_old) {
        let Some(blob) = blob else { continue };
        let key = if keep { old } else { new };
        m.resources.insert(&key, blob);
        let value = Attribute::DenseResource {
            key: Sym::new(&key),
            ty,
        };
        m.set_attr(def, "value", value);
    }
}

/// The ops of `graph` that compute on data (not constants), in FIFO-Kahn order: ops reading
/// only graph arguments and constants first, in graph order; then each op once all its data
/// producers have been taken, readers queued in graph order.
fn breadth_first(m: &Module, graph: OpId) -> Vec<OpId> {
    let ops: Vec<OpId> = body_ops(m, graph)
        .into_iter()
        .filter(|&op| m.op(op).name_str() != hl::Const::NAME)
        .collect();
    let position: BTreeMap<OpId, usize> = ops.iter().enumerate().map(|(i, &o)| (o, i)).collect();
    let producers = |op: OpId| -> Vec<usize> {
        m.op(op)
            .operands()
            .iter()
            .filter_map(|&v| m.defining_op(v))
            .filter_map(|d| position.get(&d).copied())
            .collect()
    };
    let mut waiting: Vec<usize> = ops.iter().map(|&op| producers(op).len()).collect();
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); ops.len()];
    for (i, &op) in ops.iter().enumerate() {
        for p in producers(op) {
            readers[p].push(i);
        }
    }
    let mut queue: VecDeque<usize> = (0..ops.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(ops.len());
    while let Some(i) = queue.pop_front() {
        order.push(ops[i]);
        for &r in &readers[i] {
            waiting[r] -= 1;
            if waiting[r] == 0 {
                queue.push_back(r);
            }
        }
    }
    order
}
