//! Emitting many `hl` layers for one ONNX node (an unrolled LSTM/GRU/RNN is dozens of dense,
//! elementwise, activation, split and concat layers): each helper names the layer, locates it
//! at the node, records it in the node's report entry and returns the result values. Shapes
//! are `hl` shapes the caller computes.

use hailo_dialect_hl as hl;
use hailo_dialect_hl::builder::ints;
use hailo_dialect_hl::Activation;
use hailo_ir::{Attribute, ValueId};
use ndarray::{Array1, ArrayD};

use super::Converter;
use crate::graph::Node;

/// Layer emission on behalf of one node.
pub(crate) struct Unroll<'c, 'a> {
    pub cx: &'c mut Converter<'a>,
    pub node: &'a Node,
}

/// An elementwise binary layer kind.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ew {
    Add,
    Sub,
    Mult,
}

impl Ew {
    fn op(self) -> (&'static str, &'static str) {
        match self {
            Ew::Add => (hl::EwAdd::NAME, "ew_add"),
            Ew::Sub => (hl::EwSub::NAME, "ew_sub"),
            Ew::Mult => (hl::EwMult::NAME, "ew_mult"),
        }
    }
}

impl<'c, 'a> Unroll<'c, 'a> {
    pub fn new(cx: &'c mut Converter<'a>, i: usize) -> Self {
        let node = cx.g.node(i);
        Unroll { cx, node }
    }

    pub fn shape_of(&self, v: ValueId) -> Vec<usize> {
        self.cx
            .e
            .b
            .value_type(v)
            .shape()
            .map(|s| s.iter().map(|&d| d as usize).collect())
            .unwrap_or_default()
    }

    /// One layer `op` named from `prefix` with results of `shapes`.
    pub fn layer(
        &mut self,
        op: &str,
        prefix: &str,
        operands: &[ValueId],
        shapes: &[Vec<usize>],
        attrs: Vec<(&str, Attribute)>,
    ) -> Vec<ValueId> {
        let layer = self.cx.e.b.next_name(prefix);
        self.layer_named(op, &layer, operands, shapes, attrs)
    }

    fn layer_named(
        &mut self,
        op: &str,
        layer: &str,
        operands: &[ValueId],
        shapes: &[Vec<usize>],
        attrs: Vec<(&str, Attribute)>,
    ) -> Vec<ValueId> {
        let n = self.node;
        self.cx.e.report.add_layer(&n.name, &n.op_type, layer);
        self.cx
            .e
            .b
            .layer(op, layer, operands, shapes, attrs, &[&n.name])
    }

    /// `act` fused into a layer that supports it (`attrs` gets the activation), or `None`
    /// when the activation needs its own layer afterwards.
    fn fuse(act: Activation, attrs: &mut Vec<(&str, Attribute)>) -> bool {
        if act.fusable() {
            attrs.extend(act.layer_attrs());
            true
        } else {
            false
        }
    }

    /// A standalone `hl.activation` (nothing when `act` is linear).
    pub fn activation(&mut self, x: ValueId, act: Activation) -> ValueId {
        if act == Activation::Linear {
            return x;
        }
        let shape = self.shape_of(x);
        self.layer(
            hl::ActivationOp::NAME,
            "activation",
            &[x],
            &[shape],
            act.op_attrs(),
        )[0]
    }

    /// `hl.dense` of `x [N, Cin]` with `kernel [Cin, Cout]`, `bias` and activation `act`.
    pub fn dense(
        &mut self,
        x: ValueId,
        kernel: &ArrayD<f32>,
        bias: Vec<f32>,
        act: Activation,
    ) -> ValueId {
        let layer = self.cx.e.b.next_name("fc");
        let n = self.node;
        let k = self
            .cx
            .e
            .constant(&layer, "kernel", kernel, true, &[&n.name]);
        let b = self.cx.e.constant(
            &layer,
            "bias",
            &Array1::from(bias).into_dyn(),
            true,
            &[&n.name],
        );
        let shape = vec![self.shape_of(x)[0], kernel.shape()[1]];
        let mut attrs = Vec::new();
        let fused = Self::fuse(act, &mut attrs);
        let y = self.layer_named(hl::Dense::NAME, &layer, &[x, k, b], &[shape], attrs)[0];
        if fused {
            y
        } else {
            self.activation(y, act)
        }
    }

    /// An elementwise layer `a ∘ b` (same shapes) with activation `act`.
    pub fn ew(&mut self, kind: Ew, a: ValueId, b: ValueId, act: Activation) -> ValueId {
        let (op, prefix) = kind.op();
        let shape = self.shape_of(a);
        let mut attrs = Vec::new();
        let fused = Self::fuse(act, &mut attrs);
        let y = self.layer(op, prefix, &[a, b], &[shape], attrs)[0];
        if fused {
            y
        } else {
            self.activation(y, act)
        }
    }

    /// An elementwise layer `a ∘ c` with a constant `c` broadcast against `a` (numpy rules).
    pub fn ew_const(&mut self, kind: Ew, a: ValueId, c: &ArrayD<f32>) -> ValueId {
        let (op, prefix) = kind.op();
        let layer = self.cx.e.b.next_name(prefix);
        let n = self.node;
        let k = self.cx.e.constant(&layer, "b", c, false, &[&n.name]);
        let shape = self.shape_of(a);
        self.layer_named(op, &layer, &[a, k], &[shape], vec![])[0]
    }

    /// `hl.split` of `x` along `axis` into pieces of `sizes` (feature_splitter on the last
    /// axis, slice otherwise). A single piece is `x` itself.
    pub fn split(&mut self, x: ValueId, axis: usize, sizes: &[usize]) -> Vec<ValueId> {
        if sizes.len() == 1 {
            return vec![x];
        }
        let shape = self.shape_of(x);
        let shapes: Vec<Vec<usize>> = sizes
            .iter()
            .map(|&s| {
                let mut o = shape.clone();
                o[axis] = s;
                o
            })
            .collect();
        let prefix = if axis + 1 == shape.len() {
            "feature_splitter"
        } else {
            "slice"
        };
        let attrs = vec![
            ("axis", Attribute::i64(axis as i64)),
            ("sizes", ints(sizes)),
        ];
        self.layer(hl::Split::NAME, prefix, &[x], &shapes, attrs)
    }

    /// `hl.concat` of `xs` along `axis` (a single input is returned as is).
    pub fn concat(&mut self, xs: &[ValueId], axis: usize) -> ValueId {
        if let [one] = xs {
            return *one;
        }
        let mut shape = self.shape_of(xs[0]);
        shape[axis] = xs.iter().map(|&x| self.shape_of(x)[axis]).sum();
        let attrs = vec![("axis", Attribute::i64(axis as i64))];
        self.layer(hl::Concat::NAME, "concat", xs, &[shape], attrs)[0]
    }

    /// `hl.reshape` of `x` to `shape` (nothing when the shape is already that).
    pub fn reshape(&mut self, x: ValueId, shape: &[usize]) -> ValueId {
        if self.shape_of(x) == shape {
            return x;
        }
        self.layer(
            hl::Reshape::NAME,
            "reshape",
            &[x],
            &[shape.to_vec()],
            vec![],
        )[0]
    }

    /// A constant data tensor (an initial state given as an initializer).
    pub fn constant(&mut self, param: &str, data: &ArrayD<f32>) -> ValueId {
        let layer = self.cx.e.b.next_name("const_input");
        let n = self.node;
        self.cx.e.constant(&layer, param, data, true, &[&n.name])
    }
}
