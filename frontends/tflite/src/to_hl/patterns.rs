//! Activations written as several elementwise TFLite operators: swish/SiLU (`x * LOGISTIC(x)`),
//! mish (`x * TANH(LOG(EXP(x) + 1))`), hard-sigmoid (`MINIMUM`/`MAXIMUM`/`MUL`/`ADD`, or
//! `RELU6(x + 3) / 6`), hard-swish, softplus, softsign, GELU, clip (`MINIMUM(MAXIMUM(x, lo),
//! hi)`) and the biased delta `ABS -> SIGN -> MUL(c)` (Hailo's `delta`: 0 at 0, else c).
//!
//! A candidate is a closed subgraph of elementwise operators with one run-time input `x` and
//! scalar constants; it is evaluated at sample points and compared with each activation's
//! formula (parameters are fitted from the samples first), so every algebraic spelling a
//! converter produces is recognised without one matcher per spelling.

use std::collections::{HashMap, HashSet};

use hailo_dialect_hl as hl;

use super::ops_misc::scalar_const;
use super::select::Selection;
use crate::graph::{Activation, BinaryOp, OpKind, TensorId, TfliteGraph, UnaryOp};

/// A recognised subgraph: `ops` (ascending operator indices) compute `output` from `input`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pattern {
    pub ops: Vec<usize>,
    pub input: TensorId,
    pub output: TensorId,
    pub act: hl::Activation,
}

impl Pattern {
    /// The operator producing `output`.
    pub fn anchor(&self) -> usize {
        self.ops.last().copied().unwrap_or(0)
    }
}

/// All recognised patterns and which operator belongs to which.
#[derive(Debug, Default)]
pub(crate) struct Patterns {
    pub list: Vec<Pattern>,
    /// Operator index → pattern index.
    pub owner: HashMap<usize, usize>,
}

/// How many operators back from the anchor candidates are searched.
const MAX_OPS: usize = 12;

const SAMPLES: &[f64] = &[
    -7.0, -4.5, -3.0, -2.2, -1.3, -0.7, -0.25, 0.0, 0.1, 0.4, 0.9, 1.6, 2.5, 3.3, 5.0, 8.0,
];

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `erf` by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, far below the match tolerance).
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x < 0.0 {
        -y
    } else {
        y
    }
}

fn apply_fused(a: Activation, v: f64) -> f64 {
    match a {
        Activation::None => v,
        Activation::Relu => v.max(0.0),
        Activation::Relu6 => v.clamp(0.0, 6.0),
        Activation::ReluN1To1 => v.clamp(-1.0, 1.0),
        Activation::Tanh => v.tanh(),
    }
}

/// Operators a candidate may contain: unary activations and binary ops with one operand.
fn is_elementwise(g: &TfliteGraph, i: usize) -> bool {
    let op = &g.ops[i];
    op.outputs.len() == 1
        && match &op.kind {
            OpKind::Unary(_) | OpKind::LeakyRelu { .. } => true,
            OpKind::Binary { op: b, .. } => matches!(
                b,
                BinaryOp::Add
                    | BinaryOp::Sub
                    | BinaryOp::Mul
                    | BinaryOp::Div
                    | BinaryOp::Maximum
                    | BinaryOp::Minimum
                    | BinaryOp::Pow
            ),
            _ => false,
        }
}

/// Evaluates operator `i` on known input values; `None` for anything unexpected.
fn eval_op(g: &TfliteGraph, i: usize, vals: &HashMap<TensorId, f64>) -> Option<f64> {
    let op = &g.ops[i];
    let arg = |k: usize| -> Option<f64> {
        let t = *op.inputs.get(k)?;
        vals.get(&t).copied().or_else(|| scalar_const(g, t))
    };
    let a = arg(0)?;
    Some(match &op.kind {
        OpKind::Unary(u) => match u {
            UnaryOp::Neg => -a,
            UnaryOp::Square => a * a,
            UnaryOp::Sqrt => a.sqrt(),
            UnaryOp::Exp => a.exp(),
            UnaryOp::Log => a.ln(),
            UnaryOp::Abs => a.abs(),
            UnaryOp::Sign => {
                if a > 0.0 {
                    1.0
                } else if a < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            UnaryOp::Logistic => sigmoid(a),
            UnaryOp::Tanh => a.tanh(),
            UnaryOp::Elu => {
                if a > 0.0 {
                    a
                } else {
                    a.exp_m1()
                }
            }
            UnaryOp::HardSwish => a * (a + 3.0).clamp(0.0, 6.0) / 6.0,
            UnaryOp::Relu => a.max(0.0),
            UnaryOp::Relu6 => a.clamp(0.0, 6.0),
            UnaryOp::ReluN1To1 => a.clamp(-1.0, 1.0),
        },
        OpKind::LeakyRelu { alpha } => {
            if a >= 0.0 {
                a
            } else {
                a * f64::from(*alpha)
            }
        }
        OpKind::Binary { op: b, activation } => {
            let c = arg(1)?;
            let v = match b {
                BinaryOp::Add => a + c,
                BinaryOp::Sub => a - c,
                BinaryOp::Mul => a * c,
                BinaryOp::Div => a / c,
                BinaryOp::Maximum => a.max(c),
                BinaryOp::Minimum => a.min(c),
                BinaryOp::Pow => a.powf(c),
                _ => return None,
            };
            apply_fused(*activation, v)
        }
        _ => return None,
    })
}

/// The subgraph as a function of `x` (anchor output), when every operator evaluates.
struct Candidate<'g> {
    g: &'g TfliteGraph,
    group: &'g [usize],
    x: TensorId,
}

impl Candidate<'_> {
    fn eval(&self, s: f64) -> Option<f64> {
        let mut vals = HashMap::from([(self.x, s)]);
        for &i in self.group {
            let v = eval_op(self.g, i, &vals)?;
            vals.insert(self.g.ops[i].outputs[0], v);
        }
        let last = *self.group.last()?;
        vals.get(&self.g.ops[last].outputs[0]).copied()
    }

    /// Whether the subgraph equals `f` at every point of `at`.
    fn equals(&self, at: &[f64], f: impl Fn(f64) -> f64) -> bool {
        at.iter().all(|&s| match self.eval(s) {
            Some(got) => {
                let want = f(s);
                (got - want).abs() <= 1e-5 + 1e-5 * want.abs()
            }
            None => false,
        })
    }

    /// The activation the subgraph computes, if any.
    fn identify(&self) -> Option<hl::Activation> {
        type Formula = fn(f64) -> f64;
        let fixed: [(hl::Activation, Formula); 7] = [
            (hl::Activation::Silu, |x| x * sigmoid(x)),
            (hl::Activation::Gelu, |x| {
                0.5 * x * (1.0 + erf(x / 2f64.sqrt()))
            }),
            (hl::Activation::GeluTanh, |x| {
                0.5 * x
                    * (1.0
                        + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
            }),
            (hl::Activation::Mish, |x| x * softplus(x).tanh()),
            (hl::Activation::HardSwish, |x| {
                x * (x + 3.0).clamp(0.0, 6.0) / 6.0
            }),
            (hl::Activation::Softplus, softplus),
            (hl::Activation::Softsign, |x| x / (1.0 + x.abs())),
        ];
        if let Some((act, _)) = fixed.iter().find(|(_, f)| self.equals(SAMPLES, f)) {
            return Some(*act);
        }
        // swish: x * sigmoid(beta * x), beta from f(1).
        if let Some(s) = self.eval(1.0).filter(|s| *s > 0.0 && *s < 1.0) {
            let beta = (s / (1.0 - s)).ln();
            if self.equals(SAMPLES, |x| x * sigmoid(beta * x)) {
                return Some(hl::Activation::Swish { beta });
            }
        }
        // hardsigmoid: clamp(alpha * x + beta, 0, 1), fitted around 0.
        if let (Some(b), Some(lo), Some(hi)) = (self.eval(0.0), self.eval(-0.25), self.eval(0.25)) {
            let alpha = (hi - lo) / 0.5;
            if alpha > 0.0
                && b > 0.0
                && b < 1.0
                && self.equals(SAMPLES, |x| (alpha * x + b).clamp(0.0, 1.0))
            {
                return Some(hl::Activation::HardSigmoid { alpha, beta: b });
            }
        }
        // delta: 0 at 0, c elsewhere.
        if let Some(c) = self.eval(1.0).filter(|c| *c != 0.0) {
            if self.equals(SAMPLES, |x| if x == 0.0 { 0.0 } else { c }) {
                return Some(hl::Activation::Delta { value: c });
            }
        }
        // clip: clamp(x, lo, hi) with bounds read far outside.
        if let (Some(lo), Some(hi)) = (self.eval(-1e30), self.eval(1e30)) {
            let mut at = SAMPLES.to_vec();
            at.extend(
                [lo, hi, (lo + hi) / 2.0]
                    .iter()
                    .filter(|v| v.is_finite() && v.abs() < 1e20),
            );
            if lo < hi && self.equals(&at, |x| x.clamp(lo, hi)) {
                let bound = |v: f64| v.clamp(f64::from(f32::MIN), f64::from(f32::MAX));
                return Some(if lo == 0.0 && hi == 6.0 {
                    hl::Activation::Relu6
                } else {
                    hl::Activation::Clip {
                        min: bound(lo),
                        max: bound(hi),
                    }
                });
            }
        }
        None
    }
}

/// The operators between `x` and `anchor` if they form a closed elementwise subgraph.
fn closed_group(
    g: &TfliteGraph,
    consumers: &[Vec<usize>],
    outputs: &[TensorId],
    region: &[usize],
    x: TensorId,
    anchor: usize,
) -> Option<Vec<usize>> {
    let mut dep: HashSet<TensorId> = HashSet::from([x]);
    let mut group = Vec::new();
    for &i in region {
        let op = &g.ops[i];
        if op.inputs.iter().any(|t| dep.contains(t)) {
            group.push(i);
            dep.insert(op.outputs[0]);
        }
    }
    if group.len() < 2 || group.last() != Some(&anchor) {
        return None;
    }
    let made: HashSet<TensorId> = group.iter().map(|&i| g.ops[i].outputs[0]).collect();
    for &i in &group {
        let op = &g.ops[i];
        if !op
            .inputs
            .iter()
            .all(|&t| t == x || made.contains(&t) || scalar_const(g, t).is_some())
        {
            return None;
        }
        let out = op.outputs[0];
        if i != anchor
            && (outputs.contains(&out) || !consumers[out].iter().all(|c| group.contains(c)))
        {
            return None;
        }
    }
    Some(group)
}

/// Finds activation patterns among the kept operators, largest (latest anchor) first.
pub(crate) fn find(g: &TfliteGraph, sel: &Selection) -> Patterns {
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); g.tensors.len()];
    let producer = super::select::producers(g);
    for (i, op) in g.ops.iter().enumerate().filter(|(i, _)| sel.kept[*i]) {
        for &t in &op.inputs {
            consumers[t].push(i);
        }
    }
    let eligible = |i: usize| sel.kept[i] && is_elementwise(g, i);
    let mut out = Patterns::default();
    for anchor in (0..g.ops.len()).rev() {
        if out.owner.contains_key(&anchor) || !eligible(anchor) {
            continue;
        }
        let mut region = vec![anchor];
        let mut frontier = vec![anchor];
        while let Some(i) = frontier.pop() {
            for &t in &g.ops[i].inputs {
                if let Some(p) = producer[t] {
                    if region.len() < MAX_OPS
                        && !region.contains(&p)
                        && !out.owner.contains_key(&p)
                        && eligible(p)
                    {
                        region.push(p);
                        frontier.push(p);
                    }
                }
            }
        }
        region.sort_unstable();
        let mut candidates: Vec<(i64, TensorId)> = Vec::new();
        for &i in &region {
            for &t in &g.ops[i].inputs {
                if g.tensors[t].data.is_none() && !candidates.iter().any(|c| c.1 == t) {
                    candidates.push((producer[t].map_or(-1, |p| p as i64), t));
                }
            }
        }
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        // The candidate input whose matching subgraph covers the most operators.
        let mut best: Option<(Vec<usize>, TensorId, hl::Activation)> = None;
        for (_, x) in candidates {
            let Some(group) = closed_group(g, &consumers, &sel.outputs, &region, x, anchor) else {
                continue;
            };
            if best.as_ref().is_some_and(|b| b.0.len() >= group.len()) {
                continue;
            }
            if let Some(act) = (Candidate {
                g,
                group: &group,
                x,
            })
            .identify()
            {
                best = Some((group, x, act));
            }
        }
        if let Some((group, x, act)) = best {
            let idx = out.list.len();
            for &o in &group {
                out.owner.insert(o, idx);
            }
            out.list.push(Pattern {
                output: g.ops[anchor].outputs[0],
                input: x,
                ops: group,
                act,
            });
        }
    }
    out
}

/// SIGN operators outside a recognised delta pattern (they have no `hl` counterpart).
pub(crate) fn lone_signs(
    g: &TfliteGraph,
    sel: &Selection,
    patterns: &Patterns,
) -> Vec<(usize, String, String)> {
    g.ops
        .iter()
        .enumerate()
        .filter(|(i, op)| {
            sel.kept[*i]
                && op.kind == OpKind::Unary(UnaryOp::Sign)
                && !patterns.owner.contains_key(i)
        })
        .map(|(i, _)| {
            (
                i,
                "SIGN".to_string(),
                "SIGN is supported only inside the biased delta pattern ABS -> SIGN -> MUL(constant)"
                    .to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::to_hl::ops_linear::fused_act;

    #[test]
    fn erf_is_accurate() {
        assert!((erf(0.5) - 0.520_499_877_8).abs() < 2e-7);
        assert!((erf(-1.5) + 0.966_105_146_5).abs() < 2e-7);
    }

    #[test]
    fn fused_activation_evaluation_matches_hl_kinds() {
        assert_eq!(fused_act(Activation::Relu6), hl::Activation::Relu6);
        assert_eq!(apply_fused(Activation::Relu6, 7.0), 6.0);
        assert_eq!(apply_fused(Activation::ReluN1To1, -3.0), -1.0);
    }
}
