//! Precision groups (quantization.md §9): concat, shortcut (`ew_add` / `ew_sub`), output
//! layers and the ops that only move codes output the precision they receive, so one 16-bit
//! member raises the whole group. Concat inputs additionally share one range, so the concat moves codes.

use hailo_dialect_hl::interfaces::{interface, GroupRole, PrecisionGroup};
use hailo_ir::{Module, OpId};
use rustc_hash::FxHashMap;

/// The part `op` plays in precision groups, from its `PrecisionGroup` interface.
pub fn role(m: &Module, op: OpId) -> Option<GroupRole> {
    interface::<dyn PrecisionGroup>(m, op).map(|g| g.role())
}

/// Whether `op`'s result carries its input's codes unchanged (same quantized type).
pub fn moves_codes(m: &Module, op: OpId) -> bool {
    role(m, op) == Some(GroupRole::MovesCodes)
}

/// The op that decides the type of `op`'s input `i`: its producer, followed back through
/// code-moving ops.
pub fn source(m: &Module, op: OpId, i: usize) -> Option<OpId> {
    let mut p = m.defining_op(*m.op(op).operands().get(i)?)?;
    while moves_codes(m, p) {
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
        if role(m, op) == Some(GroupRole::JoinsInputs) {
            for i in 0..m.op(op).operands().len() {
                if let Some(s) = source(m, op, i) {
                    g.union(op, s);
                }
            }
        }
    }
    g
}
