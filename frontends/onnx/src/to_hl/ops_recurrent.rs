//! ONNX LSTM, GRU and RNN, unrolled over their static sequence length into `hl` layers (guide
//! §5.5.33: Hailo has no feedback loops, so every time step becomes its own layers). Per step
//! and direction: dense layers for `W·x` (with both biases folded in) and `R·h`, an `ew_add`
//! carrying the gate activation, a feature split into gates, and the elementwise state update.
//! Zero initial states skip the `R·h` and `f ⊙ c` terms of the first step. `Y`, `Y_h` and
//! `Y_c` are concatenated from the steps.
//!
//! ONNX defaults are respected (activations Sigmoid/Tanh/Tanh, `layout` 0, zero initial
//! states, `B` = `[Wb, Rb]`, GRU `linear_before_reset` 0 or 1, directions forward, reverse and
//! bidirectional). Cell clipping, coupled input-forget gates, peepholes, variable sequence
//! lengths and the scaled/affine activations are rejected with a node error.

use hailo_dialect_hl::Activation;
use hailo_ir::ValueId;
use ndarray::{s, ArrayD, Axis, IxDyn};

use super::error::{node_error, ConvertResult};
use super::layout::transpose_array;
use super::unroll::{Ew, Unroll};
use super::Converter;
use crate::graph::Node;

/// The recurrent cell kind.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell {
    Lstm,
    Gru { linear_before_reset: bool },
    Rnn,
}

impl Cell {
    /// Gates per direction (rows of `W` are `gates * hidden`).
    fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru { .. } => 3,
            Cell::Rnn => 1,
        }
    }

    /// Activations per direction and their defaults.
    fn default_acts(self) -> &'static [&'static str] {
        match self {
            Cell::Lstm => &["Sigmoid", "Tanh", "Tanh"],
            Cell::Gru { .. } => &["Sigmoid", "Tanh"],
            Cell::Rnn => &["Tanh"],
        }
    }
}

/// Static facts of one recurrent node.
struct Recurrent {
    cell: Cell,
    hidden: usize,
    seq: usize,
    batch: usize,
    batch_first: bool,
    /// Per direction: whether it runs backwards in time.
    reverse: Vec<bool>,
    /// `[dirs, gates*H, I]`, `[dirs, gates*H, H]`, `[dirs, 2*gates*H]`.
    w: ArrayD<f32>,
    r: ArrayD<f32>,
    b: ArrayD<f32>,
    /// Per direction, the cell's activations (f, g, h).
    acts: Vec<Vec<Activation>>,
}

impl Recurrent {
    /// `W` (or `R`) rows of gates `gates` of direction `d`, transposed to a dense kernel
    /// `[in, gates.len() * H]`.
    fn kernel(&self, m: &ArrayD<f32>, d: usize, gates: std::ops::Range<usize>) -> ArrayD<f32> {
        let h = self.hidden;
        let rows = m
            .index_axis(Axis(0), d)
            .slice(s![gates.start * h..gates.end * h, ..])
            .to_owned()
            .into_dyn();
        transpose_array(&rows, &[1, 0])
    }

    /// `Wb` (+ `Rb` when `with_r`) of gates `gates` of direction `d`.
    fn bias(&self, d: usize, gates: std::ops::Range<usize>, with_r: bool) -> Vec<f32> {
        let (h, g) = (self.hidden, self.cell.gates());
        let row = self.b.index_axis(Axis(0), d);
        (gates.start * h..gates.end * h)
            .map(|k| row[k] + if with_r { row[g * h + k] } else { 0.0 })
            .collect()
    }

    /// `Rb` of gates `gates` of direction `d`.
    fn r_bias(&self, d: usize, gates: std::ops::Range<usize>) -> Vec<f32> {
        let (h, g) = (self.hidden, self.cell.gates());
        let row = self.b.index_axis(Axis(0), d);
        (gates.start * h..gates.end * h)
            .map(|k| row[g * h + k])
            .collect()
    }
}

/// ONNX activation name (with alpha/beta from the node's lists) as an `hl` activation.
fn activation(
    node: &Node,
    name: &str,
    alphas: &mut Vec<f32>,
    betas: &mut Vec<f32>,
) -> ConvertResult<Activation> {
    let take = |list: &mut Vec<f32>, default: f32| -> f64 {
        f64::from(if list.is_empty() {
            default
        } else {
            list.remove(0)
        })
    };
    Ok(match name.to_ascii_lowercase().as_str() {
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "relu" => Activation::Relu,
        "softsign" => Activation::Softsign,
        "softplus" => Activation::Softplus,
        "leakyrelu" => Activation::Leaky {
            alpha: take(alphas, 0.01),
        },
        "elu" => Activation::Elu {
            alpha: take(alphas, 1.0),
        },
        "hardsigmoid" => {
            let alpha = take(alphas, 0.2);
            Activation::HardSigmoid {
                alpha,
                beta: take(betas, 0.5),
            }
        }
        _ => {
            return Err(node_error(
                node,
                format!(
                    "activation '{name}' is not supported in recurrent cells (use Sigmoid, Tanh, \
                     Relu, LeakyRelu, Elu, HardSigmoid, Softsign or Softplus)"
                ),
            ))
        }
    })
}

/// A recurrent state: zero (absent or all-zero initial state) or a `[batch, H]` value.
type State = Option<ValueId>;

impl Converter<'_> {
    /// Reads and checks the node's attributes and weights.
    fn recurrent_spec(&self, i: usize) -> ConvertResult<Recurrent> {
        let node = self.g.node(i);
        let cell = match node.op_type.as_str() {
            "LSTM" => Cell::Lstm,
            "GRU" => Cell::Gru {
                linear_before_reset: node.attr_int_or("linear_before_reset", 0)? != 0,
            },
            _ => Cell::Rnn,
        };
        if node.attrs.contains_key("clip") {
            return Err(node_error(
                node,
                "attribute clip (cell clipping) is not supported; remove it or cut the model \
                 before this node",
            ));
        }
        if node.attr_int_or("input_forget", 0)? != 0 {
            return Err(node_error(
                node,
                "input_forget=1 (coupled input and forget gates) is not supported",
            ));
        }
        let x_name = node
            .input(0)
            .ok_or_else(|| node_error(node, "required input X is missing"))?;
        let x = self.e.model.shape(x_name).ok_or_else(|| {
            node_error(
                node,
                format!(
                    "the shape of X ('{x_name}') is not static; the sequence length must be known \
                     to unroll the cell (set it with --input-shape)"
                ),
            )
        })?;
        if x.len() != 3 {
            return Err(node_error(
                node,
                format!("X has shape {x:?}; expected rank 3"),
            ));
        }
        let batch_first = node.attr_int_or("layout", 0)? != 0;
        let (seq, batch) = if batch_first {
            (x[1], x[0])
        } else {
            (x[0], x[1])
        };
        let hidden = node
            .attr_int("hidden_size")?
            .filter(|&h| h > 0)
            .ok_or_else(|| node_error(node, "attribute hidden_size must be a positive integer"))?
            as usize;
        let reverse = match node.attr_string_or("direction", "forward")? {
            "forward" => vec![false],
            "reverse" => vec![true],
            "bidirectional" => vec![false, true],
            other => return Err(node_error(node, format!("unknown direction '{other}'"))),
        };
        let dirs = reverse.len();
        let g = cell.gates();
        let w = self.const_input(node, 1)?;
        let r = self.const_input(node, 2)?;
        if w.shape() != [dirs, g * hidden, x[2]] || r.shape() != [dirs, g * hidden, hidden] {
            return Err(node_error(
                node,
                format!(
                    "W {:?} / R {:?} do not match {dirs} direction(s), {g} gate(s) of hidden size \
                     {hidden} and input size {}",
                    w.shape(),
                    r.shape(),
                    x[2]
                ),
            ));
        }
        let b = match node.input(3) {
            Some(_) => self.const_input(node, 3)?,
            None => ArrayD::zeros(IxDyn(&[dirs, 2 * g * hidden])),
        };
        if b.shape() != [dirs, 2 * g * hidden] {
            return Err(node_error(
                node,
                format!(
                    "B has shape {:?}; expected [{dirs}, {}]",
                    b.shape(),
                    2 * g * hidden
                ),
            ));
        }
        if let Some(name) = node.input(4) {
            let lens = self.e.model.constant(name).map(|t| t.to_i64_vec());
            if !lens.is_some_and(|l| l.iter().all(|&n| n == seq as i64)) {
                return Err(node_error(
                    node,
                    format!(
                        "sequence_lens must be a constant equal to the sequence length {seq} \
                         (variable-length sequences cannot be unrolled)"
                    ),
                ));
            }
        }
        if cell == Cell::Lstm && node.input(7).is_some() {
            let p = self.const_input(node, 7)?;
            if p.iter().any(|&v| v != 0.0) {
                return Err(node_error(
                    node,
                    "peephole weights (input P) are not supported",
                ));
            }
        }
        let names: Vec<String> = match node.attr_strings("activations")? {
            Some(list) => list.to_vec(),
            None => (0..dirs)
                .flat_map(|_| cell.default_acts().iter().map(|s| s.to_string()))
                .collect(),
        };
        let per = cell.default_acts().len();
        if names.len() != per * dirs {
            return Err(node_error(
                node,
                format!(
                    "{} activations given; {} expects {per} per direction ({} in all)",
                    names.len(),
                    node.op_type,
                    per * dirs
                ),
            ));
        }
        let mut alphas = node
            .attr_floats("activation_alpha")?
            .unwrap_or_default()
            .to_vec();
        let mut betas = node
            .attr_floats("activation_beta")?
            .unwrap_or_default()
            .to_vec();
        let mut acts = Vec::new();
        for chunk in names.chunks(per) {
            acts.push(
                chunk
                    .iter()
                    .map(|n| activation(node, n, &mut alphas, &mut betas))
                    .collect::<ConvertResult<Vec<_>>>()?,
            );
        }
        Ok(Recurrent {
            cell,
            hidden,
            seq,
            batch,
            batch_first,
            reverse,
            w,
            r,
            b,
            acts,
        })
    }

    /// Converts an LSTM, GRU or RNN node by unrolling it.
    pub(crate) fn recurrent(&mut self, i: usize) -> ConvertResult<()> {
        let spec = self.recurrent_spec(i)?;
        let node = self.g.node(i);
        let ident: Vec<usize> = (0..3).collect();
        let x = self.e.input_in(node, 0, &ident)?;
        let init_h = self.initial_state(i, 5, &spec)?;
        let init_c = match spec.cell {
            Cell::Lstm => self.initial_state(i, 6, &spec)?,
            _ => vec![None; spec.reverse.len()],
        };
        let mut u = Unroll::new(self, i);
        let (seq, batch, hidden) = (spec.seq, spec.batch, spec.hidden);
        let time_axis = usize::from(spec.batch_first);
        let steps: Vec<ValueId> = u
            .split(x, time_axis, &vec![1; seq])
            .into_iter()
            .map(|s| {
                let input = u.shape_of(s)[2];
                u.reshape(s, &[batch, input])
            })
            .collect();
        // outputs[t][d]: H of step t, direction d; finals[d]: (H, C) after the last step.
        let mut outputs = vec![Vec::new(); seq];
        let mut finals = Vec::new();
        for (d, &reverse) in spec.reverse.iter().enumerate() {
            let (mut h, mut c) = (init_h[d], init_c[d]);
            let order: Vec<usize> = if reverse {
                (0..seq).rev().collect()
            } else {
                (0..seq).collect()
            };
            for t in order {
                let (nh, nc) = match spec.cell {
                    Cell::Lstm => lstm_step(&mut u, &spec, d, steps[t], h, c),
                    Cell::Gru {
                        linear_before_reset,
                    } => (
                        gru_step(&mut u, &spec, d, steps[t], h, linear_before_reset),
                        None,
                    ),
                    Cell::Rnn => (rnn_step(&mut u, &spec, d, steps[t], h), None),
                };
                outputs[t].push(nh);
                h = Some(nh);
                c = nc;
            }
            finals.push((h, c));
        }
        let dirs = spec.reverse.len();
        // Y: per step [batch, dirs*H] → [1, batch, dirs, H] (or [batch, 1, dirs, H]) → concat.
        let y_used = u.cx.used_output(node, 0);
        if y_used {
            let step_shape = if spec.batch_first {
                [batch, 1, dirs, hidden]
            } else {
                [1, batch, dirs, hidden]
            };
            let per_step: Vec<ValueId> = outputs
                .iter()
                .map(|hs| {
                    let cat = u.concat(hs, 1);
                    u.reshape(cat, &step_shape)
                })
                .collect();
            let y = u.concat(&per_step, time_axis);
            // hl keeps [seq, batch, dirs, H] (ONNX [seq, dirs, batch, H] transposed) so that
            // exporters' Squeeze / Transpose(0, 2, 1, 3) + Reshape need no data movement.
            let perm = if spec.batch_first {
                vec![0, 1, 2, 3]
            } else {
                vec![0, 2, 1, 3]
            };
            u.cx.e.bind(&node.outputs[0], y, perm);
        }
        for (k, pick) in [(1usize, 0usize), (2, 1)] {
            if !u.cx.used_output(node, k) {
                continue;
            }
            let states: Vec<ValueId> = finals
                .iter()
                .map(|f| if pick == 0 { f.0 } else { f.1 })
                .collect::<Option<_>>()
                .ok_or_else(|| node_error(node, "the sequence is empty"))?;
            let v = if spec.batch_first {
                let cat = u.concat(&states, 1);
                u.reshape(cat, &[batch, dirs, hidden])
            } else {
                let rows: Vec<ValueId> = states
                    .iter()
                    .map(|&s| u.reshape(s, &[1, batch, hidden]))
                    .collect();
                u.concat(&rows, 0)
            };
            u.cx.e.bind(&node.outputs[k], v, ident.clone());
        }
        self.done[i] = true;
        self.converted(i, &[]);
        Ok(())
    }

    /// Whether output `k` of `node` exists and is used.
    fn used_output(&self, node: &Node, k: usize) -> bool {
        node.output(k)
            .is_some_and(|o| self.g.is_graph_output(o) || !self.g.consumers(o).is_empty())
    }

    /// The initial state input `k` (`[dirs, batch, H]`) per direction: zero when absent or an
    /// all-zero constant, else a `[batch, H]` value (constant or run-time data).
    fn initial_state(&mut self, i: usize, k: usize, spec: &Recurrent) -> ConvertResult<Vec<State>> {
        let node = self.g.node(i);
        let dirs = spec.reverse.len();
        let Some(name) = node.input(k) else {
            return Ok(vec![None; dirs]);
        };
        // [dirs, batch, H], or [batch, dirs, H] with layout = 1.
        let dir_axis = usize::from(spec.batch_first);
        let mut want = [dirs, dirs, spec.hidden];
        want[1 - dir_axis] = spec.batch;
        if let Some(t) = self.e.model.constant(name) {
            let a = t.to_f32();
            if a.shape() != want {
                return Err(node_error(
                    node,
                    format!(
                        "initial state '{name}' has shape {:?}; expected {want:?}",
                        a.shape()
                    ),
                ));
            }
            if a.iter().all(|&v| v == 0.0) {
                return Ok(vec![None; dirs]);
            }
            let mut u = Unroll::new(self, i);
            return Ok((0..dirs)
                .map(|d| Some(u.constant("value", &a.index_axis(Axis(dir_axis), d).to_owned())))
                .collect());
        }
        if self.e.shape(node, name)? != want {
            return Err(node_error(
                node,
                format!("initial state '{name}' must have shape {want:?}"),
            ));
        }
        let v = self.e.input_in(node, k, &[0, 1, 2])?;
        let mut u = Unroll::new(self, i);
        let parts = u.split(v, dir_axis, &vec![1; dirs]);
        Ok(parts
            .into_iter()
            .map(|p| Some(u.reshape(p, &[spec.batch, spec.hidden])))
            .collect())
    }
}

/// `act(W·x + b [+ R·h])` for gates `gates` of direction `d`: with a zero `h` the activation is
/// fused into the dense layer, else into the `ew_add`.
fn gate_group(
    u: &mut Unroll,
    spec: &Recurrent,
    d: usize,
    x: ValueId,
    h: State,
    gates: std::ops::Range<usize>,
    act: Activation,
) -> ValueId {
    let wk = spec.kernel(&spec.w, d, gates.clone());
    let bias = spec.bias(d, gates.clone(), true);
    match h {
        None => u.dense(x, &wk, bias, act),
        Some(h) => {
            let xw = u.dense(x, &wk, bias, Activation::Linear);
            let rk = spec.kernel(&spec.r, d, gates.clone());
            let zeros = vec![0.0; gates.len() * spec.hidden];
            let hr = u.dense(h, &rk, zeros, Activation::Linear);
            u.ew(Ew::Add, xw, hr, act)
        }
    }
}

/// One LSTM step (gates i, o, f, c): returns the new H and C.
fn lstm_step(
    u: &mut Unroll,
    spec: &Recurrent,
    d: usize,
    x: ValueId,
    h: State,
    c: State,
) -> (ValueId, State) {
    let [f, g, hact] = [spec.acts[d][0], spec.acts[d][1], spec.acts[d][2]];
    let hs = spec.hidden;
    let iof = gate_group(u, spec, d, x, h, 0..3, f);
    let gates = u.split(iof, 1, &[hs, hs, hs]);
    let (i, o, fg) = (gates[0], gates[1], gates[2]);
    let cand = gate_group(u, spec, d, x, h, 3..4, g);
    let ic = u.ew(Ew::Mult, i, cand, Activation::Linear);
    let c_new = match c {
        Some(c) => {
            let fc = u.ew(Ew::Mult, fg, c, Activation::Linear);
            u.ew(Ew::Add, fc, ic, Activation::Linear)
        }
        None => ic,
    };
    let hc = u.activation(c_new, hact);
    (u.ew(Ew::Mult, o, hc, Activation::Linear), Some(c_new))
}

/// One GRU step (gates z, r, h).
fn gru_step(
    u: &mut Unroll,
    spec: &Recurrent,
    d: usize,
    x: ValueId,
    h: State,
    linear_before_reset: bool,
) -> ValueId {
    let [f, g] = [spec.acts[d][0], spec.acts[d][1]];
    let hs = spec.hidden;
    let zr = gate_group(u, spec, d, x, h, 0..2, f);
    let gates = u.split(zr, 1, &[hs, hs]);
    let (z, r) = (gates[0], gates[1]);
    let rb = spec.r_bias(d, 2..3);
    let rk = spec.kernel(&spec.r, d, 2..3);
    let zeros = vec![0.0; hs];
    // The recurrent term of the candidate: r ⊙ (R·h + Rb), or R·(r ⊙ h) (+ Rb, in the bias).
    let term = match (h, linear_before_reset) {
        (None, true) if rb.iter().any(|&v| v != 0.0) => {
            let rb = ndarray::Array1::from(rb).into_dyn();
            Some(u.ew_const(Ew::Mult, r, &rb))
        }
        (None, _) => None,
        (Some(h), true) => {
            let hr = u.dense(h, &rk, rb, Activation::Linear);
            Some(u.ew(Ew::Mult, r, hr, Activation::Linear))
        }
        (Some(h), false) => {
            let rh = u.ew(Ew::Mult, r, h, Activation::Linear);
            Some(u.dense(rh, &rk, zeros, Activation::Linear))
        }
    };
    let wk = spec.kernel(&spec.w, d, 2..3);
    let cand = match term {
        None => u.dense(x, &wk, spec.bias(d, 2..3, !linear_before_reset), g),
        Some(term) => {
            let xw = u.dense(
                x,
                &wk,
                spec.bias(d, 2..3, !linear_before_reset),
                Activation::Linear,
            );
            u.ew(Ew::Add, xw, term, g)
        }
    };
    // H = (1 - z) ⊙ cand + z ⊙ h = cand + z ⊙ (h - cand).
    match h {
        Some(h) => {
            let diff = u.ew(Ew::Sub, h, cand, Activation::Linear);
            let zd = u.ew(Ew::Mult, z, diff, Activation::Linear);
            u.ew(Ew::Add, cand, zd, Activation::Linear)
        }
        None => {
            let zc = u.ew(Ew::Mult, z, cand, Activation::Linear);
            u.ew(Ew::Sub, cand, zc, Activation::Linear)
        }
    }
}

/// One RNN step: `H = f(W·x + R·h + Wb + Rb)`.
fn rnn_step(u: &mut Unroll, spec: &Recurrent, d: usize, x: ValueId, h: State) -> ValueId {
    gate_group(u, spec, d, x, h, 0..1, spec.acts[d][0])
}
