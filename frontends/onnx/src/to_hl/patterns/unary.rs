//! Activations written as several elementwise nodes (SiLU `x * sigmoid(x)`, HardSwish
//! `x * clip(x + 3, 0, 6) / 6`, GELU with Erf or Tanh, Mish, Softplus `log(1 + exp(x))`,
//! Softsign `x / (1 + |x|)`, HardSigmoid `clip(x + 3, 0, 6) / 6`).
//!
//! A candidate is a closed subgraph of elementwise nodes with one run-time input `x` and
//! scalar constants; it is evaluated at sample points and compared with each activation's
//! formula. This recognises every algebraic spelling without a matcher per spelling.

use std::collections::{HashMap, HashSet};

use hailo_dialect_hl::Activation;

use super::{GraphView, Pattern, PatternKind};
use crate::to_hl::act::scalar_const;

/// Nodes a candidate subgraph may contain.
const ELEMENTWISE: &[&str] = &[
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Sigmoid",
    "Tanh",
    "Erf",
    "Exp",
    "Log",
    "Softplus",
    "Abs",
    "Neg",
    "Sqrt",
    "Relu",
    "Clip",
    "HardSigmoid",
    "Min",
    "Max",
    "Reciprocal",
];

/// How far back from the anchor candidates are searched.
const MAX_NODES: usize = 12;

const SAMPLES: &[f64] = &[
    -7.0, -4.5, -3.0, -2.2, -1.3, -0.7, -0.25, 0.0, 0.1, 0.4, 0.9, 1.6, 2.5, 3.3, 5.0, 8.0,
];

fn is_elementwise(g: &GraphView, i: usize) -> bool {
    let n = g.node(i);
    n.domain.is_empty() && ELEMENTWISE.contains(&n.op_type.as_str()) && n.outputs.len() == 1
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

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// An activation's formula.
type Formula = fn(f64) -> f64;

/// The activations a subgraph may be, with their formulas.
fn targets() -> Vec<(Activation, Formula)> {
    vec![
        (Activation::Silu, |x| x * sigmoid(x)),
        (Activation::Gelu, |x| 0.5 * x * (1.0 + erf(x / 2f64.sqrt()))),
        (Activation::GeluTanh, |x| {
            0.5 * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
        }),
        (Activation::Mish, |x| x * softplus(x).tanh()),
        (Activation::HardSwish, |x| {
            x * (x + 3.0).clamp(0.0, 6.0) / 6.0
        }),
        (
            Activation::HardSigmoid {
                alpha: 1.0 / 6.0,
                beta: 0.5,
            },
            |x| (x / 6.0 + 0.5).clamp(0.0, 1.0),
        ),
        (
            Activation::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            },
            |x| (0.2 * x + 0.5).clamp(0.0, 1.0),
        ),
        (Activation::Softplus, softplus),
        (Activation::Softsign, |x| x / (1.0 + x.abs())),
    ]
}

/// Evaluates one node on already known input values; `None` for anything unexpected.
fn eval_node(g: &GraphView, i: usize, vals: &HashMap<&str, f64>) -> Option<f64> {
    let n = g.node(i);
    let arg = |k: usize| -> Option<f64> {
        let name = n.input(k)?;
        vals.get(name)
            .copied()
            .or_else(|| scalar_const(g.model, name))
    };
    let a = arg(0)?;
    let attr = |name: &str, d: f32| f64::from(n.attr_float_or(name, d).unwrap_or(d));
    Some(match n.op_type.as_str() {
        "Add" => a + arg(1)?,
        "Sub" => a - arg(1)?,
        "Mul" => a * arg(1)?,
        "Div" => a / arg(1)?,
        "Pow" => a.powf(arg(1)?),
        "Min" => n
            .inputs
            .iter()
            .enumerate()
            .try_fold(a, |m, (k, _)| Some(m.min(arg(k)?)))?,
        "Max" => n
            .inputs
            .iter()
            .enumerate()
            .try_fold(a, |m, (k, _)| Some(m.max(arg(k)?)))?,
        "Sigmoid" => sigmoid(a),
        "Tanh" => a.tanh(),
        "Erf" => erf(a),
        "Exp" => a.exp(),
        "Log" => a.ln(),
        "Softplus" => softplus(a),
        "Abs" => a.abs(),
        "Neg" => -a,
        "Sqrt" => a.sqrt(),
        "Relu" => a.max(0.0),
        "Reciprocal" => 1.0 / a,
        "HardSigmoid" => (attr("alpha", 0.2) * a + attr("beta", 0.5)).clamp(0.0, 1.0),
        "Clip" => {
            let (lo, hi) = if g.model.opset("") < 11 {
                (attr("min", f32::MIN), attr("max", f32::MAX))
            } else {
                (
                    if n.input(1).is_some() {
                        arg(1)?
                    } else {
                        f64::MIN
                    },
                    if n.input(2).is_some() {
                        arg(2)?
                    } else {
                        f64::MAX
                    },
                )
            };
            a.max(lo).min(hi)
        }
        _ => return None,
    })
}

/// The nodes between `x` and `anchor` if they form a closed elementwise subgraph.
fn closed_group(g: &GraphView, region: &[usize], x: &str, anchor: usize) -> Option<Vec<usize>> {
    // Region is in ascending order: forward pass marks nodes depending on x.
    let mut dep: HashSet<&str> = HashSet::from([x]);
    let mut group = Vec::new();
    for &i in region {
        let n = g.node(i);
        if n.inputs.iter().any(|t| dep.contains(t.as_str())) {
            group.push(i);
            dep.insert(n.outputs[0].as_str());
        }
    }
    if group.len() < 2 || group.last() != Some(&anchor) {
        return None;
    }
    let outputs: HashSet<&str> = group
        .iter()
        .map(|&i| g.node(i).outputs[0].as_str())
        .collect();
    for &i in &group {
        let n = g.node(i);
        for t in n.inputs.iter().filter(|t| !t.is_empty()) {
            let ok = t == x || outputs.contains(t.as_str()) || scalar_const(g.model, t).is_some();
            if !ok {
                return None;
            }
        }
        if i != anchor && !g.only_used_by(&n.outputs[0], &group) {
            return None;
        }
    }
    Some(group)
}

fn matches(g: &GraphView, group: &[usize], x: &str, f: Formula) -> bool {
    SAMPLES.iter().all(|&s| {
        let mut vals: HashMap<&str, f64> = HashMap::from([(x, s)]);
        for &i in group {
            match eval_node(g, i, &vals) {
                Some(v) => vals.insert(g.node(i).outputs[0].as_str(), v),
                None => return false,
            };
        }
        let got = vals[g.node(group[group.len() - 1]).outputs[0].as_str()];
        let want = f(s);
        (got - want).abs() <= 1e-5 + 1e-5 * want.abs()
    })
}

/// An activation pattern ending at node `anchor`.
pub(super) fn match_at(
    g: &GraphView,
    anchor: usize,
    claimed: &HashMap<usize, usize>,
) -> Option<Pattern> {
    if !is_elementwise(g, anchor) {
        return None;
    }
    // The elementwise ancestors of the anchor, nearest first, bounded.
    let mut region = vec![anchor];
    let mut frontier = vec![anchor];
    while let Some(i) = frontier.pop() {
        for t in &g.node(i).inputs {
            if let Some(p) = g.producer(t) {
                if region.len() < MAX_NODES
                    && !region.contains(&p)
                    && !claimed.contains_key(&p)
                    && is_elementwise(g, p)
                {
                    region.push(p);
                    frontier.push(p);
                }
            }
        }
    }
    region.sort_unstable();
    // Candidate inputs: run-time tensors read inside the region, nearest to the anchor first.
    let mut candidates: Vec<(i64, &str)> = Vec::new();
    for &i in &region {
        for t in g.node(i).inputs.iter().filter(|t| !t.is_empty()) {
            if g.model.constant(t).is_none() && !candidates.iter().any(|(_, c)| c == t) {
                let pos = g.producer(t).map_or(-1, |p| p as i64);
                candidates.push((pos, t));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let targets = targets();
    for (_, x) in candidates {
        let Some(group) = closed_group(g, &region, x, anchor) else {
            continue;
        };
        if let Some((act, _)) = targets.iter().find(|(_, f)| matches(g, &group, x, *f)) {
            return Some(Pattern {
                output: g.node(anchor).outputs[0].clone(),
                input: x.to_string(),
                nodes: group,
                kind: PatternKind::Activation(*act),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn erf_is_accurate() {
        assert!((super::erf(0.5) - 0.520_499_877_8).abs() < 2e-7);
        assert!((super::erf(-1.5) + 0.966_105_146_5).abs() < 2e-7);
    }
}
