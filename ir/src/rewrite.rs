//! Rewriter, rewrite patterns, folding and the deterministic greedy driver.
//!
//! The driver keeps a worklist of ops seeded in program order. For each op
//! it removes it if trivially dead, tries the op's folder, then every
//! pattern rooted at the op's name (highest benefit first, then
//! registration order). Whatever a rewrite touches goes back on the
//! worklist. The order depends only on the IR, so results are reproducible.

use crate::attrs::Attribute;
use crate::dialect::{Context, FoldResult, Traits};
use crate::location::Location;
use crate::module::{Module, OpId, OpSpec, ValueId};
use crate::types::Type;
use rustc_hash::FxHashSet;
use std::collections::VecDeque;

/// A rewrite rule: match an op, change the IR through the rewriter, say whether it did.
pub trait RewritePattern {
    fn name(&self) -> &'static str;
    /// The op name this pattern is rooted at (`None`: tried on every op).
    fn root(&self) -> Option<&'static str>;
    fn benefit(&self) -> u16 {
        1
    }
    fn match_and_rewrite(&self, rw: &mut Rewriter<'_>, op: OpId) -> bool;
}

/// Mutation API for patterns: records what changed so the driver can revisit it.
pub struct Rewriter<'a> {
    pub m: &'a mut Module,
    touched: Vec<OpId>,
    changed: bool,
}

impl<'a> Rewriter<'a> {
    pub fn new(m: &'a mut Module) -> Rewriter<'a> {
        Rewriter {
            m,
            touched: Vec::new(),
            changed: false,
        }
    }

    pub fn changed(&self) -> bool {
        self.changed
    }

    fn touch_users(&mut self, v: ValueId) {
        let users: Vec<OpId> = self.m.value(v).uses().iter().map(|u| u.op).collect();
        self.touched.extend(users);
    }

    fn touch_defs(&mut self, op: OpId) {
        let defs: Vec<OpId> = self
            .m
            .op(op)
            .operands()
            .iter()
            .filter_map(|&v| self.m.defining_op(v))
            .collect();
        self.touched.extend(defs);
    }

    /// Creates an op right before `anchor` (in the same block).
    pub fn create_before(&mut self, anchor: OpId, spec: OpSpec) -> OpId {
        let op = self.m.create_op(spec);
        self.m.insert_before(anchor, op);
        self.touched.push(op);
        self.changed = true;
        op
    }

    /// Replaces all uses of `op`'s results with `new` and erases `op`.
    pub fn replace_op(&mut self, op: OpId, new: &[ValueId]) {
        for &r in self.m.op(op).results() {
            let users: Vec<OpId> = self.m.value(r).uses().iter().map(|u| u.op).collect();
            self.touched.extend(users);
        }
        self.touch_defs(op);
        self.m.replace_op(op, new);
        self.changed = true;
    }

    pub fn erase_op(&mut self, op: OpId) {
        self.touch_defs(op);
        self.m.erase_op(op);
        self.changed = true;
    }

    pub fn replace_all_uses(&mut self, old: ValueId, new: ValueId) {
        self.touch_users(old);
        self.m.replace_all_uses(old, new);
        self.changed = true;
    }

    pub fn set_operand(&mut self, op: OpId, i: usize, v: ValueId) {
        self.m.set_operand(op, i, v);
        self.touched.push(op);
        self.changed = true;
    }

    pub fn set_attr(&mut self, op: OpId, key: &str, value: Attribute) {
        self.m.set_attr(op, key, value);
        self.touched.push(op);
        self.changed = true;
    }

    /// Records an in-place change made directly through `self.m`.
    pub fn modified(&mut self, op: OpId) {
        self.touched.push(op);
        self.changed = true;
    }
}

/// Limits and results of one greedy run.
#[derive(Clone, Copy, Debug, Default)]
pub struct GreedyConfig {
    /// Upper bound on processed worklist items (0 = 64 × initial op count + 1000).
    pub max_rewrites: usize,
    pub fold: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct GreedyStats {
    pub folded: u64,
    pub rewritten: u64,
    pub erased_dead: u64,
    pub converged: bool,
}

/// True when `op` has no side effects and none of its results are used.
pub fn is_trivially_dead(m: &Module, ctx: &Context, op: OpId) -> bool {
    ctx.has_trait(m.op(op).name_str(), Traits::PURE)
        && m.op(op)
            .results()
            .iter()
            .all(|&r| m.value(r).uses().is_empty())
}

/// The constant attribute of a value defined by a constant-like op.
pub fn constant_value(m: &Module, ctx: &Context, v: ValueId) -> Option<Attribute> {
    let d = m.defining_op(v)?;
    if !ctx.has_trait(m.op(d).name_str(), Traits::CONSTANT_LIKE) {
        return None;
    }
    m.attr(d, "value").cloned()
}

fn materialize(
    m: &mut Module,
    ctx: &Context,
    anchor: OpId,
    a: &Attribute,
    ty: Type,
    loc: Location,
) -> Option<ValueId> {
    let dialect = Context::dialect_of(m.op(anchor).name_str());
    let f = ctx.dialect(dialect)?.materialize_constant?;
    let c = f(m, a, ty, loc)?;
    m.insert_before(anchor, c);
    Some(m.result(c, 0))
}

/// Runs patterns and folders over every op nested in `root` until nothing changes.
pub fn apply_patterns_greedily(
    m: &mut Module,
    ctx: &Context,
    root: OpId,
    patterns: &[Box<dyn RewritePattern>],
    cfg: GreedyConfig,
) -> GreedyStats {
    let mut order: Vec<usize> = (0..patterns.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(patterns[i].benefit()));
    let initial: Vec<OpId> = m.walk(root).into_iter().filter(|&o| o != root).collect();
    let budget = if cfg.max_rewrites == 0 {
        64 * initial.len() + 1000
    } else {
        cfg.max_rewrites
    };
    let mut queued: FxHashSet<OpId> = initial.iter().copied().collect();
    let mut worklist: VecDeque<OpId> = initial.into();
    let mut stats = GreedyStats::default();
    let mut steps = 0usize;
    while let Some(op) = worklist.pop_front() {
        queued.remove(&op);
        if !m.is_alive(op) || op == root {
            continue;
        }
        steps += 1;
        if steps > budget {
            return stats;
        }
        let mut touched: Vec<OpId> = Vec::new();
        if is_trivially_dead(m, ctx, op) {
            touched.extend(m.op(op).operands().iter().filter_map(|&v| m.defining_op(v)));
            m.erase_op(op);
            stats.erased_dead += 1;
        } else if cfg.fold && try_fold(m, ctx, op, &mut touched) {
            stats.folded += 1;
        } else {
            let name = m.op(op).name_str();
            for &i in &order {
                let p = &patterns[i];
                if p.root().is_some_and(|r| r != name) {
                    continue;
                }
                let mut rw = Rewriter::new(m);
                if p.match_and_rewrite(&mut rw, op) && rw.changed {
                    touched.append(&mut rw.touched);
                    if m.is_alive(op) {
                        touched.push(op);
                    }
                    stats.rewritten += 1;
                    break;
                }
            }
        }
        for t in touched {
            if m.is_alive(t) && t != root && queued.insert(t) {
                worklist.push_back(t);
            }
        }
    }
    stats.converged = true;
    stats
}

fn try_fold(m: &mut Module, ctx: &Context, op: OpId, touched: &mut Vec<OpId>) -> bool {
    let name = m.op(op).name_str();
    let Some(fold) = ctx.op_def(name).and_then(|d| d.fold) else {
        return false;
    };
    if ctx.has_trait(name, Traits::CONSTANT_LIKE) {
        return false;
    }
    let consts: Vec<Option<Attribute>> = m
        .op(op)
        .operands()
        .iter()
        .map(|&v| constant_value(m, ctx, v))
        .collect();
    let Some(folded) = fold(m, op, &consts) else {
        return false;
    };
    let results = m.op(op).results().to_vec();
    if folded.len() != results.len() {
        return false;
    }
    let loc = m.op(op).loc.clone();
    let mut new_values = Vec::with_capacity(results.len());
    for (r, f) in results.iter().zip(folded) {
        match f {
            FoldResult::Value(v) => new_values.push(v),
            FoldResult::Attr(a) => match materialize(m, ctx, op, &a, m.value_type(*r), loc.clone())
            {
                Some(v) => {
                    touched.extend(m.defining_op(v));
                    new_values.push(v)
                }
                None => return false,
            },
        }
    }
    for &r in &results {
        touched.extend(m.value(r).uses().iter().map(|u| u.op));
    }
    touched.extend(m.op(op).operands().iter().filter_map(|&v| m.defining_op(v)));
    m.replace_op(op, &new_values);
    true
}
