//! Elementwise and per-tensor layers: binary ew ops (constant operands broadcast to the data
//! rank), ADD_N, standalone activations (Table 3), PRELU, SOFTMAX, ARG_MAX, L2_NORMALIZATION
//! and the activation layers of recognised patterns.

use hailo_dialect_hl as hl;
use hailo_ir::{Attribute, ValueId};

use super::error::ConvertResult;
use super::ops_linear::fused_act;
use super::{strs, Converter};
use crate::graph::{BinaryOp, Op, OpKind, TensorId, TfliteGraph, UnaryOp};

/// The single value of a constant tensor with one element.
pub(crate) fn scalar_const(g: &TfliteGraph, t: TensorId) -> Option<f64> {
    match &g.tensors[t].data {
        Some(d) if d.len() == 1 => d.to_f32().first().map(|&v| f64::from(v)),
        _ => None,
    }
}

/// The activation operator `op` computes on its run-time input 0, if it is one (unary
/// activations, and binary operators against a constant scalar that Table 3 lists as
/// activations: POW, EQUAL/GREATER/LESS, MAXIMUM/MINIMUM).
pub(crate) fn op_activation(g: &TfliteGraph, op: &Op) -> Option<hl::Activation> {
    Some(match &op.kind {
        OpKind::Unary(u) => match u {
            UnaryOp::Relu => hl::Activation::Relu,
            UnaryOp::Relu6 => hl::Activation::Relu6,
            UnaryOp::ReluN1To1 => hl::Activation::Clip {
                min: -1.0,
                max: 1.0,
            },
            UnaryOp::Tanh => hl::Activation::Tanh,
            UnaryOp::Logistic => hl::Activation::Sigmoid,
            UnaryOp::Elu => hl::Activation::Elu { alpha: 1.0 },
            UnaryOp::HardSwish => hl::Activation::HardSwish,
            UnaryOp::Exp => hl::Activation::Exp,
            UnaryOp::Log => hl::Activation::Log,
            UnaryOp::Sqrt => hl::Activation::Sqrt,
            UnaryOp::Abs => hl::Activation::Abs,
            UnaryOp::Neg => hl::Activation::Neg,
            UnaryOp::Square => hl::Activation::Square,
            UnaryOp::Sign => return None,
        },
        OpKind::LeakyRelu { alpha } => hl::Activation::Leaky {
            alpha: f64::from(*alpha),
        },
        OpKind::Binary { op: b, .. } => {
            let c = scalar_const(g, *op.inputs.get(1)?)?;
            if g.tensors[op.inputs[0]].data.is_some() {
                return None;
            }
            match b {
                BinaryOp::Pow if c == 2.0 => hl::Activation::Square,
                BinaryOp::Pow if c == 0.5 => hl::Activation::Sqrt,
                BinaryOp::Pow => hl::Activation::Pow { exponent: c },
                BinaryOp::Equal => hl::Activation::Equal { value: c },
                BinaryOp::Greater => hl::Activation::Greater { value: c },
                BinaryOp::Less => hl::Activation::Less { value: c },
                BinaryOp::Maximum if c == 0.0 => hl::Activation::Relu,
                BinaryOp::Maximum => hl::Activation::Clip {
                    min: c,
                    max: f64::from(f32::MAX),
                },
                BinaryOp::Minimum => hl::Activation::Clip {
                    min: f64::from(f32::MIN),
                    max: c,
                },
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// `shape` with leading 1s up to `rank`.
fn lift(shape: &[usize], rank: usize) -> Vec<usize> {
    let mut s = vec![1; rank.saturating_sub(shape.len())];
    s.extend_from_slice(shape);
    s
}

impl Converter<'_> {
    /// An `hl.activation` from `input` to `output` covering `ops` (the first is reported as
    /// converted unless `anchor` says otherwise, the others as fused).
    pub(crate) fn activation_layer(
        &mut self,
        anchor: usize,
        input: TensorId,
        output: TensorId,
        act: hl::Activation,
        ops: &[usize],
    ) -> ConvertResult<()> {
        let x = self.value(anchor, input)?;
        let layer = self.b.next_name("activation");
        let names = self.names(ops);
        let attrs = act.op_attrs();
        let shape = self.shape(output);
        let res = self.b.layer(
            hl::ActivationOp::NAME,
            &layer,
            &[x],
            &[shape],
            attrs,
            &strs(&names),
        );
        self.values.insert(output, res[0]);
        self.converted(anchor, std::slice::from_ref(&layer));
        let others: Vec<usize> = ops.iter().copied().filter(|&o| o != anchor).collect();
        let why = format!(
            "part of a subgraph recognised as a {} activation",
            act.name()
        );
        self.fused(&others, &layer, &why);
        Ok(())
    }

    pub(crate) fn activation_op(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let act = op_activation(self.g, op).ok_or_else(|| {
            self.node_error(
                i,
                "only supported as part of the ABS -> SIGN -> MUL delta pattern",
            )
        })?;
        self.activation_layer(i, op.inputs[0], op.outputs[0], act, &[i])
    }

    /// A data operand of an elementwise layer: the run-time value, or a constant broadcast
    /// to `rank` named `<layer>.<param>`.
    fn ew_operand(
        &mut self,
        i: usize,
        t: TensorId,
        rank: usize,
        layer: &str,
        param: &str,
    ) -> ConvertResult<ValueId> {
        let shape = self.shape(t);
        if shape.len() > rank {
            return Err(self.node_error(
                i,
                format!(
                    "operand '{}' has a higher rank than the result",
                    self.g.tensors[t].name
                ),
            ));
        }
        let lifted = lift(&shape, rank);
        if self.g.tensors[t].data.is_some() {
            let v = self.const_values(i, t, "operand")?;
            let name = self.g.ops[i].name_hint.clone();
            return Ok(self.b.constant(layer, param, &lifted, &v, false, &[&name]));
        }
        let x = self.value(i, t)?;
        Ok(self.reshape_to(i, x, &lifted).0)
    }

    pub(crate) fn binary(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        if let Some(act) = op_activation(self.g, op) {
            return self.activation_layer(i, op.inputs[0], op.outputs[0], act, &[i]);
        }
        let OpKind::Binary { op: b, activation } = op.kind else {
            return Err(self.node_error(i, "not a binary operator"));
        };
        let (op_name, prefix) = match b {
            BinaryOp::Add => (hl::EwAdd::NAME, "ew_add"),
            BinaryOp::Sub => (hl::EwSub::NAME, "ew_sub"),
            BinaryOp::Mul => (hl::EwMult::NAME, "ew_mult"),
            BinaryOp::Div => (hl::EwDiv::NAME, "ew_div"),
            BinaryOp::Maximum => (hl::EwMax::NAME, "ew_max"),
            BinaryOp::Minimum => (hl::EwMin::NAME, "ew_min"),
            BinaryOp::Pow => (hl::EwPow::NAME, "pow"),
            BinaryOp::Equal | BinaryOp::Greater | BinaryOp::Less => {
                return Err(self.node_error(
                    i,
                    "comparisons are supported only against a constant scalar (second operand)",
                ))
            }
        };
        if op.inputs.iter().all(|&t| self.g.tensors[t].data.is_some()) {
            return Err(self.node_error(i, "both operands are constants"));
        }
        let inputs = op.inputs.clone();
        let out_t = op.outputs[0];
        let rank = self.shape(out_t).len();
        let layer = self.b.next_name(prefix);
        let a = self.ew_operand(i, inputs[0], rank, &layer, "a")?;
        let bv = self.ew_operand(i, inputs[1], rank, &layer, "b")?;
        let names = self.names(&[i]);
        let shape = self.shape(out_t);
        let res = self.b.layer(
            op_name,
            &layer,
            &[a, bv],
            &[shape],
            fused_act(activation).layer_attrs(),
            &strs(&names),
        );
        self.values.insert(out_t, res[0]);
        self.converted(i, std::slice::from_ref(&layer));
        Ok(())
    }

    pub(crate) fn add_n(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let out_t = op.outputs[0];
        let shape = self.shape(out_t);
        let inputs = op.inputs.clone();
        let name = op.name_hint.clone();
        if inputs.len() < 2 {
            return Err(self.node_error(i, "ADD_N needs at least 2 inputs"));
        }
        let layers: Vec<String> = (1..inputs.len())
            .map(|_| self.b.next_name("ew_add"))
            .collect();
        let mut acc = self.ew_operand(i, inputs[0], shape.len(), &layers[0], "a")?;
        for (layer, &t) in layers.iter().zip(&inputs[1..]) {
            let v = self.ew_operand(i, t, shape.len(), layer, "b")?;
            let attrs = hl::Activation::Linear.layer_attrs();
            acc = self.b.layer(
                hl::EwAdd::NAME,
                layer,
                &[acc, v],
                std::slice::from_ref(&shape),
                attrs,
                &[&name],
            )[0];
        }
        self.values.insert(out_t, acc);
        self.converted(i, &layers);
        Ok(())
    }

    pub(crate) fn prelu(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let (xt, at, out_t) = (op.inputs[0], op.inputs[1], op.outputs[0]);
        let shape = self.shape(out_t);
        let alpha = self.const_values(i, at, "alpha")?;
        let a_shape = self.shape(at);
        if a_shape.len() > shape.len() {
            return Err(self.node_error(i, "alpha has a higher rank than the input"));
        }
        let layer = self.b.next_name("activation");
        let name = op.name_hint.clone();
        let x = self.value(i, xt)?;
        let k = self.b.constant(
            &layer,
            "slope",
            &lift(&a_shape, shape.len()),
            &alpha,
            true,
            &[&name],
        );
        self.sole_layer(i, hl::Prelu::NAME, layer, &[x, k], vec![]);
        Ok(())
    }

    pub(crate) fn softmax(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let OpKind::Softmax { beta } = op.kind else {
            return Err(self.node_error(i, "not a softmax"));
        };
        let (xt, out_t) = (op.inputs[0], op.outputs[0]);
        let shape = self.shape(out_t);
        let name = op.name_hint.clone();
        let mut x = self.value(i, xt)?;
        let mut layers = Vec::new();
        if beta != 1.0 {
            let layer = self.b.next_name("ew_mult");
            let ones = vec![1; shape.len()];
            let b = self
                .b
                .constant(&layer, "b", &ones, &[beta], false, &[&name]);
            let attrs = hl::Activation::Linear.layer_attrs();
            x = self.b.layer(
                hl::EwMult::NAME,
                &layer,
                &[x, b],
                std::slice::from_ref(&shape),
                attrs,
                &[&name],
            )[0];
            layers.push(layer);
        }
        let layer = self.b.next_name("softmax");
        let axis = Attribute::i64(shape.len() as i64 - 1);
        let res = self.b.layer(
            hl::Softmax::NAME,
            &layer,
            &[x],
            &[shape],
            vec![("axis", axis)],
            &[&name],
        );
        layers.push(layer);
        self.values.insert(out_t, res[0]);
        self.converted(i, &layers);
        Ok(())
    }

    pub(crate) fn argmax(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let OpKind::ArgMax { axis, .. } = op.kind else {
            return Err(self.node_error(i, "not an arg max"));
        };
        let xt = op.inputs[0];
        let axis = self.norm_axis(i, axis, self.shape(xt).len())?;
        let layer = self.b.next_name("argmax");
        let x = self.value(i, xt)?;
        let attrs = vec![
            ("axis", Attribute::i64(axis as i64)),
            ("keepdims", Attribute::Bool(false)),
        ];
        self.sole_layer(i, hl::ArgMax::NAME, layer, &[x], attrs);
        Ok(())
    }

    pub(crate) fn l2_norm(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let OpKind::L2Normalization { activation } = op.kind else {
            return Err(self.node_error(i, "not an L2 normalization"));
        };
        let (xt, out_t) = (op.inputs[0], op.outputs[0]);
        let shape = self.shape(out_t);
        let layer = self.b.next_name("l2_norm");
        let name = op.name_hint.clone();
        let x = self.value(i, xt)?;
        // TFLite divides by max(sqrt(sum(x^2)), 1e-6) = sqrt(max(sum(x^2), 1e-12)).
        let attrs = vec![
            ("axis", Attribute::i64(shape.len() as i64 - 1)),
            ("epsilon", Attribute::f64(1e-12)),
        ];
        self.layer_then_activation(
            i,
            hl::L2Norm::NAME,
            &layer,
            &[x],
            attrs,
            &[&name],
            activation,
        );
        Ok(())
    }

    /// Emits the activation layer of pattern `p` (at its anchor operator).
    pub(crate) fn pattern(&mut self, p: usize) -> ConvertResult<()> {
        let pat = self.patterns.list[p].clone();
        let anchor = pat.anchor();
        for &o in &pat.ops {
            self.done[o] = true;
        }
        self.activation_layer(anchor, pat.input, pat.output, pat.act, &pat.ops)
    }
}
