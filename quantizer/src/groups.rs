//! Precision groups (quantization.md §9): concat, shortcut (`ew_add` / `ew_sub`), output
//! layers and the ops that only move codes output the precision they receive, so one 16-bit
//! member raises the whole group. Concat inputs additionally share one range, so the concat moves codes.

use hailo_ir::{Module, OpId};
use rustc_hash::FxHashMap;

/// Ops whose result carries its input's codes unchanged (same quantized type).
pub const MOVES_CODES: [&str; 11] = [
    "hl.maxpool",
    "hl.global_maxpool",
    "hl.reshape",
    "hl.resize",
    "hl.slice",
    "hl.split",
    "hl.transpose",
    "hl.depth_to_space",
    "hl.space_to_depth",
    "hl.feature_shuffle",
    "hl.pad",
];
/// Ops that join their inputs' precisions. An output layer joins its producer's group, so
/// `quantization_param(output_layer1, precision_mode=a16_w16)` makes the layer feeding the
/// output compute a 16-bit result (guide §5.3: 16-bit output layers).
pub const JOINS: [&str; 4] = ["hl.concat", "hl.ew_add", "hl.ew_sub", "hl.output_layer"];

/// The op that decides the type of `op`'s input `i`: its producer, followed back through
/// code-moving ops.
pub fn source(m: &Module, op: OpId, i: usize) -> Option<OpId> {
    let mut p = m.defining_op(*m.op(op).operands().get(i)?)?;
    while MOVES_CODES.contains(&m.op(p).name_str()) {
        p = m.defining_op(*m.op(p).operands().first()?)?;
    }
    Some(p)
}

/// Union-find over ops.
#[derive(Default)]
pub struct Groups {
    parent: FxHashMap<OpId, OpId>,
}

impl Groups {
    pub fn find(&mut self, x: OpId) -> OpId {
        let p = *self.parent.get(&x).unwrap_or(&x);
        if p == x {
            return x;
        }
        let r = self.find(p);
        self.parent.insert(x, r);
        r
    }

    pub fn union(&mut self, a: OpId, b: OpId) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent.insert(ra, rb);
        }
    }
}

/// Groups every joining op with the sources of its inputs.
pub fn precision_groups(m: &Module, ops: &[OpId]) -> Groups {
    let mut g = Groups::default();
    for &op in ops {
        if JOINS.contains(&m.op(op).name_str()) {
            for i in 0..m.op(op).operands().len() {
                if let Some(s) = source(m, op, i) {
                    g.union(op, s);
                }
            }
        }
    }
    g
}
