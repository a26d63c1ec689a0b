//! `cse`: common subexpression elimination. Two pure, region-free ops in
//! the same block with the same name, attributes, operands (in any order
//! for commutative ops) and result types compute the same values; the later
//! one is replaced by the earlier one.

use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Module, OpId, Traits, ValueId};
use rustc_hash::FxHashMap;
use std::hash::{Hash, Hasher};

pub struct Cse(NoOptions);

/// The identity of an op for CSE purposes.
fn key(m: &Module, op: OpId, commutative: bool) -> (u64, Vec<ValueId>) {
    let o = m.op(op);
    let mut operands = o.operands().to_vec();
    if commutative {
        operands.sort();
    }
    let mut h = rustc_hash::FxHasher::default();
    o.name.hash(&mut h);
    operands.hash(&mut h);
    for &r in o.results() {
        m.value_type(r).hash(&mut h);
    }
    for (k, v) in o.attrs() {
        k.hash(&mut h);
        v.hash_into(&mut h);
    }
    (h.finish(), operands)
}

fn equivalent(m: &Module, a: OpId, b: OpId, a_ops: &[ValueId], b_ops: &[ValueId]) -> bool {
    let (x, y) = (m.op(a), m.op(b));
    x.name == y.name
        && a_ops == b_ops
        && x.attrs() == y.attrs()
        && x.results().len() == y.results().len()
        && x.results()
            .iter()
            .zip(y.results())
            .all(|(&p, &q)| m.value_type(p) == m.value_type(q))
}

impl PassDef for Cse {
    const NAME: &'static str = "cse";
    const SUMMARY: &'static str = "Eliminate common subexpressions";
    const ANCHOR: Option<&'static str> = None;
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        Cse(o)
    }
    fn options(&self) -> &NoOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let mut blocks = Vec::new();
        for op in m.walk(root) {
            for &r in m.op(op).regions() {
                blocks.extend_from_slice(m.region(r).blocks());
            }
        }
        let mut eliminated = 0;
        for b in blocks {
            let mut seen: FxHashMap<u64, Vec<(OpId, Vec<ValueId>)>> = FxHashMap::default();
            for op in m.block_ops(b) {
                let name = m.op(op).name_str();
                if !cx.ctx.has_trait(name, Traits::PURE) || !m.op(op).regions().is_empty() {
                    continue;
                }
                let (h, operands) = key(m, op, cx.ctx.has_trait(name, Traits::COMMUTATIVE));
                let bucket = seen.entry(h).or_default();
                match bucket
                    .iter()
                    .find(|(prev, ops)| equivalent(m, *prev, op, ops, &operands))
                {
                    Some(&(prev, _)) => {
                        let results = m.op(prev).results().to_vec();
                        m.replace_op(op, &results);
                        eliminated += 1;
                    }
                    None => bucket.push((op, operands)),
                }
            }
        }
        cx.stat("num-cse'd", "Number of operations CSE'd", eliminated);
        Ok(if eliminated == 0 {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}
