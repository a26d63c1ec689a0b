//! Recurrent cells (ONNX LSTM, GRU, RNN) with pseudo-random weights: forward, reverse and
//! bidirectional, both GRU reset variants, zero and given initial states, both layouts.

use hailo_onnx::builder::{noise_f32, ModelBuilder};
use hailo_onnx::Attribute as A;

/// A cell of `op` over `x` (`[seq, batch, input]`, or `[batch, seq, input]` with `layout = 1`);
/// `state_inputs` adds `initial_h` (and `initial_c` for LSTM) as graph inputs. With layout 0
/// and state inputs, the graph inputs are batch-first and transposed in the graph (as torch
/// exports `batch_first=True`), so that every graph input has the batch on axis 0. All
/// outputs (three for LSTM, two for GRU/RNN) are graph outputs.
fn cell(
    op: &str,
    x: [usize; 3],
    hidden: usize,
    direction: &str,
    state_inputs: bool,
    attrs: &[(&str, A)],
) -> ModelBuilder {
    let gates = match op {
        "LSTM" => 4,
        "GRU" => 3,
        _ => 1,
    };
    let layout = attrs.iter().any(|(k, v)| *k == "layout" && *v == A::Int(1));
    let dirs = if direction == "bidirectional" { 2 } else { 1 };
    let (seq, batch) = if layout { (x[1], x[0]) } else { (x[0], x[1]) };
    let state = if layout {
        [batch, dirs, hidden]
    } else {
        [dirs, batch, hidden]
    };
    let y = if layout {
        [batch, seq, dirs, hidden]
    } else {
        [seq, dirs, batch, hidden]
    };
    let mut b = ModelBuilder::new(14);
    let transposed = state_inputs && !layout;
    let batch_major = |name: &str, s: [usize; 3], b: &mut ModelBuilder| {
        if transposed {
            let src = format!("{name}_batch_first");
            b.input(&src, &[s[1], s[0], s[2]]).node(
                "Transpose",
                &format!("{name}_transpose"),
                &[&src],
                &[name],
                &[("perm", A::Ints(vec![1, 0, 2]))],
            );
        } else {
            b.input(name, &s);
        }
    };
    batch_major("x", x, &mut b);
    b.initializer("w", &noise_f32(&[dirs, gates * hidden, x[2]], 11))
        .initializer("r", &noise_f32(&[dirs, gates * hidden, hidden], 12))
        .initializer("b", &noise_f32(&[dirs, 2 * gates * hidden], 13));
    let mut inputs = vec!["x", "w", "r", "b"];
    if state_inputs {
        batch_major("h0", state, &mut b);
        inputs.extend(["", "h0"]);
        if op == "LSTM" {
            batch_major("c0", state, &mut b);
            inputs.push("c0");
        }
    }
    let mut outputs = vec!["y", "y_h"];
    if op == "LSTM" {
        outputs.push("y_c");
    }
    let mut all = vec![
        ("hidden_size", A::Int(hidden as i64)),
        ("direction", A::String(direction.into())),
    ];
    all.extend(attrs.iter().cloned());
    b.node(op, "cell", &inputs, &outputs, &all);
    b.output("y", &y).output("y_h", &state);
    if op == "LSTM" {
        b.output("y_c", &state);
    }
    b
}

pub fn lstm() -> ModelBuilder {
    cell("LSTM", [4, 1, 3], 5, "forward", false, &[])
}

pub fn lstm_bidir() -> ModelBuilder {
    cell("LSTM", [3, 2, 4], 4, "bidirectional", true, &[])
}

pub fn gru() -> ModelBuilder {
    cell("GRU", [5, 1, 3], 6, "forward", true, &[])
}

pub fn gru_lbr() -> ModelBuilder {
    cell(
        "GRU",
        [4, 2, 3],
        4,
        "reverse",
        false,
        &[("linear_before_reset", A::Int(1))],
    )
}

pub fn rnn() -> ModelBuilder {
    cell("RNN", [3, 4, 2], 8, "forward", false, &[])
}

pub fn rnn_batch_first() -> ModelBuilder {
    cell(
        "RNN",
        [2, 3, 4],
        5,
        "bidirectional",
        true,
        &[("layout", A::Int(1))],
    )
}

/// An LSTM with cell clipping (rejected).
pub fn lstm_clip() -> ModelBuilder {
    cell(
        "LSTM",
        [3, 1, 2],
        2,
        "forward",
        false,
        &[("clip", A::Float(1.0))],
    )
}
