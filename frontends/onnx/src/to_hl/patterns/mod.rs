//! Pattern recognition over the ONNX node graph: subgraphs that compute one Hailo layer
//! (SiLU written as `x * sigmoid(x)`, depth-to-space written as reshape + transpose + reshape,
//! YOLOv5's Focus slicing, LayerNorm written with ReduceMean/Sub/Pow/Sqrt/Div, ...) become that
//! layer. Matchers are hand-written; activations are recognised by evaluating the candidate
//! subgraph numerically against each activation's formula, so every algebraic spelling
//! exporters produce is covered.

mod attention;
mod focus;
mod norm;
mod shuffle;
mod unary;

use std::collections::HashMap;

use hailo_dialect_hl::Activation;

use super::net::Net;
use crate::graph::Node;

/// The Hailo layer a recognised subgraph becomes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PatternKind {
    /// An activation of `input` (may still be fused into the producer of `input`).
    Activation(Activation),
    /// `hl.feature_shuffle`: ShuffleNet's reshape to `[N, groups, C/groups, H, W]`, swap, flatten.
    FeatureShuffle { groups: usize },
    /// `hl.depth_to_space` with ONNX DepthToSpace semantics.
    DepthToSpace { block: usize, mode: &'static str },
    /// `hl.space_to_depth`: `classic` is ONNX SpaceToDepth, `focus` is YOLOv5's Focus order.
    SpaceToDepth { block: usize, mode: &'static str },
    /// `hl.layer_norm` over ONNX axes `axes` (affine parameters as constant names).
    LayerNorm {
        axes: Vec<usize>,
        epsilon: f64,
        gamma: Option<String>,
        beta: Option<String>,
    },
    /// `hl.instance_norm` (normalisation over H and W of a rank-4 tensor).
    InstanceNorm {
        epsilon: f64,
        gamma: Option<String>,
        beta: Option<String>,
    },
    /// `hl.normalization`: `(x - mean) / std` per channel.
    Normalization { mean: Vec<f64>, std: Vec<f64> },
    /// `hl.l2_norm` along ONNX axis `axis`: `x / sqrt(max(sum(x^2), epsilon))`.
    L2Norm { axis: usize, epsilon: f64 },
    /// Multi-head attention `softmax(scale * q_h k_hᵀ) v_h` per head over `[B, T, E]` tensors
    /// (the pattern's input is Q; K and V are named here).
    Attention {
        heads: usize,
        scale: f64,
        k: String,
        v: String,
        roles: AttentionNodes,
    },
}

/// The nodes of an attention block by role (indices into `OnnxModel::nodes`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AttentionNodes {
    /// The Reshapes of Q, K and V into heads.
    pub splits: [usize; 3],
    pub qk: usize,
    /// The Div/Mul applying the scale, if any.
    pub scale: Option<usize>,
    pub softmax: usize,
    pub pv: usize,
    /// The Transpose merging the heads back.
    pub merge: usize,
}

/// A recognised subgraph: `nodes` (indices into `OnnxModel::nodes`, ascending) compute
/// `output` from the single run-time tensor `input`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pattern {
    pub nodes: Vec<usize>,
    pub input: String,
    pub output: String,
    pub kind: PatternKind,
}

impl Pattern {
    /// The last node (the one producing `output`).
    pub fn anchor(&self) -> usize {
        self.nodes.last().copied().unwrap_or(0)
    }

    /// A short name for reports.
    pub fn describe(&self) -> String {
        match &self.kind {
            PatternKind::Activation(a) => format!("{} activation", a.name()),
            PatternKind::FeatureShuffle { .. } => "feature shuffle".into(),
            PatternKind::DepthToSpace { .. } => "depth to space".into(),
            PatternKind::SpaceToDepth { mode, .. } => format!("space to depth ({mode})"),
            PatternKind::LayerNorm { .. } => "layer normalization".into(),
            PatternKind::InstanceNorm { .. } => "instance normalization".into(),
            PatternKind::L2Norm { .. } => "L2 normalization".into(),
            PatternKind::Normalization { .. } => "input normalization".into(),
            PatternKind::Attention { heads, .. } => format!("{heads}-head attention"),
        }
    }
}

/// All recognised patterns and which node belongs to which.
#[derive(Debug, Default)]
pub(crate) struct Patterns {
    pub list: Vec<Pattern>,
    /// Node index → pattern index.
    pub owner: HashMap<usize, usize>,
}

/// Graph queries the matchers share.
pub(crate) struct GraphView<'a> {
    pub model: Net<'a>,
    producer: HashMap<&'a str, usize>,
    consumers: HashMap<&'a str, Vec<usize>>,
}

impl<'a> GraphView<'a> {
    pub fn new(model: Net<'a>) -> Self {
        let mut producer = HashMap::new();
        let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in model.model().nodes.iter().enumerate() {
            for o in n.outputs.iter().filter(|o| !o.is_empty()) {
                producer.insert(o.as_str(), i);
            }
            for inp in n.inputs.iter().filter(|i| !i.is_empty()) {
                let c = consumers.entry(inp.as_str()).or_default();
                if !c.contains(&i) {
                    c.push(i);
                }
            }
        }
        GraphView {
            model,
            producer,
            consumers,
        }
    }

    pub fn node(&self, i: usize) -> &'a Node {
        &self.model.model().nodes[i]
    }

    /// The names of nodes `idx`.
    pub fn names(&self, idx: impl IntoIterator<Item = usize>) -> Vec<&'a str> {
        idx.into_iter()
            .map(|i| self.node(i).name.as_str())
            .collect()
    }

    /// Index of the node producing `tensor`.
    pub fn producer(&self, tensor: &str) -> Option<usize> {
        self.producer.get(tensor).copied()
    }

    /// Indices of the nodes consuming `tensor`.
    pub fn consumers(&self, tensor: &str) -> &[usize] {
        self.consumers.get(tensor).map_or(&[], Vec::as_slice)
    }

    pub fn is_graph_output(&self, tensor: &str) -> bool {
        self.model.outputs.iter().any(|o| o.name == tensor)
    }

    /// The producer of `tensor` if it is an `op` node whose outputs only `consumer` uses.
    pub fn sole_producer(&self, tensor: &str, op: &str, consumer: usize) -> Option<usize> {
        let p = self.producer(tensor)?;
        let n = self.node(p);
        (n.op_type == op && n.domain.is_empty() && self.only_used_by(tensor, &[consumer]))
            .then_some(p)
    }

    /// Whether `tensor` is used only by nodes in `set` (and is no graph output).
    pub fn only_used_by(&self, tensor: &str, set: &[usize]) -> bool {
        !self.is_graph_output(tensor) && self.consumers(tensor).iter().all(|c| set.contains(c))
    }

    /// The only consumer of `tensor`, if exactly one node uses it and it is no graph output.
    pub fn sole_consumer(&self, tensor: &str) -> Option<usize> {
        match self.consumers(tensor) {
            [one] if !self.is_graph_output(tensor) => Some(*one),
            _ => None,
        }
    }
}

/// Finds every pattern; structural ones first, then activations (largest match first).
pub(crate) fn find(model: Net<'_>) -> Patterns {
    let g = GraphView::new(model);
    let mut out = Patterns::default();
    let add = |out: &mut Patterns, mut p: Pattern| {
        if p.nodes.iter().any(|n| out.owner.contains_key(n)) {
            return;
        }
        p.nodes.sort_unstable();
        p.nodes.dedup();
        let idx = out.list.len();
        for &n in &p.nodes {
            out.owner.insert(n, idx);
        }
        out.list.push(p);
    };
    for i in 0..model.nodes.len() {
        let found = attention::match_at(&g, i)
            .or_else(|| norm::match_at(&g, i))
            .or_else(|| shuffle::match_at(&g, i))
            .or_else(|| focus::match_at(&g, i));
        if let Some(p) = found {
            add(&mut out, p);
        }
    }
    for i in (0..model.nodes.len()).rev() {
        if out.owner.contains_key(&i) {
            continue;
        }
        if let Some(p) = unary::match_at(&g, i, &out.owner) {
            add(&mut out, p);
        }
    }
    out
}

/// Reduce axes of a Reduce* node: attribute before opset 18, constant input from 18 on.
pub(crate) fn reduce_axes(model: Net<'_>, node: &Node, rank: usize) -> Option<Vec<usize>> {
    let raw: Option<Vec<i64>> = if model.opset(&node.domain) >= 18 && node.op_type != "ReduceSum"
        || node.op_type == "ReduceSum" && model.opset(&node.domain) >= 13
    {
        match node.input(1) {
            Some(name) => Some(model.constant(name)?.to_i64_vec()),
            None => None,
        }
    } else {
        node.attr_ints("axes").ok()?.map(<[i64]>::to_vec)
    };
    let mut axes: Vec<usize> = match raw {
        Some(a) if !a.is_empty() => a
            .iter()
            .map(|&a| super::layout::norm_axis(a, rank))
            .collect::<Option<_>>()?,
        _ => (0..rank).collect(),
    };
    axes.sort_unstable();
    axes.dedup();
    Some(axes)
}
