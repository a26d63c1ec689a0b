//! Integer lowering of the layers that rearrange codes: transpose, depth_to_space,
//! space_to_depth, feature_shuffle and pad. Each op is quantized alone; its lowered chain
//! (`q.reshape` / `q.transpose` / `q.pad`) is run on random input codes with
//! `hailo-executor`'s integer kernels and must equal the float op on the dequantized codes:
//! exactly (codes move unchanged, the type is the input's), except constant pad cells,
//! which hold the pad value rounded to the input grid (within half a step).

mod common;

use common::{module, Rng};
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::QuantType;
use hailo_executor::qkernels::shape::{pad, transpose, QPadMode};
use hailo_executor::Executor;
use hailo_ir::{Attribute, Module, ValueId};
use hailo_quantizer::optimize::first_graph;
use hailo_quantizer::{lower, prepare, QuantConfig};
use ndarray::{ArrayD, IxDyn};
use std::collections::HashMap;

fn qtype(m: &Module, v: ValueId) -> QuantType {
    QuantType::parse(m.value_type(v)).expect("quantized")
}

/// Runs the lowered graph's code-moving ops on `codes`; returns the dequantized output, the
/// input's (scale, zero point) and the q op names met.
fn run_codes(m: &Module, codes: &ArrayD<i32>) -> (ArrayD<f32>, (f64, i64), Vec<String>) {
    let mut vals: HashMap<ValueId, ArrayD<i32>> = HashMap::new();
    let (mut out, mut input, mut names) = (None, None, Vec::new());
    for op in m.walk(m.top()) {
        let name = m.op(op).name_str();
        if !name.starts_with("q.") {
            continue;
        }
        names.push(name.to_owned());
        let res = m.result(op, 0);
        let arg = |i: usize| &vals[&m.op(op).operands()[i]];
        let ints = |k: &str| m.attr(op, k).and_then(Attribute::as_i64_array).expect(k);
        let y = match name {
            q::QUANTIZE => {
                let t = qtype(m, res);
                input = Some((t.scale_at(0), t.zero_point()));
                codes.clone()
            }
            q::RESHAPE => {
                let s = m.value_type(res).shape().expect("shape").to_vec();
                let s: Vec<usize> = s.iter().map(|&d| d as usize).collect();
                let x = arg(0).as_standard_layout().into_owned();
                x.into_shape_with_order(IxDyn(&s)).expect("reshape")
            }
            q::TRANSPOSE => {
                let p: Vec<usize> = ints("perm").iter().map(|&v| v as usize).collect();
                transpose(arg(0).view(), &p).expect("transpose")
            }
            q::PAD => {
                let p = ints("pads");
                let r = p.len() / 2;
                let pairs: Vec<(usize, usize)> =
                    (0..r).map(|a| (p[a] as usize, p[a + r] as usize)).collect();
                let mode = match m.attr(op, "mode").and_then(Attribute::as_str) {
                    Some("reflect") => QPadMode::Reflect,
                    Some("edge") => QPadMode::Edge,
                    Some("wrap") => QPadMode::Wrap,
                    _ => QPadMode::Constant(
                        m.attr(op, "value")
                            .and_then(Attribute::as_i64)
                            .expect("value") as i32,
                    ),
                };
                pad(arg(0).view(), &pairs, mode).expect("pad")
            }
            q::DEQUANTIZE => {
                let t = qtype(m, m.op(op).operands()[0]);
                let (s, z) = (t.scale_at(0), t.zero_point());
                out = Some(arg(0).mapv(|c| ((c as i64 - z) as f64 * s) as f32));
                continue;
            }
            other => panic!("unexpected op {other}"),
        };
        vals.insert(res, y);
    }
    (out.expect("output"), input.expect("input"), names)
}

/// Quantizes `op(in) -> out`, runs it on random codes and compares with the float op.
fn check(op_text: &str, shape: &[usize], out: &str, want_ops: &[&str], pad_tolerance: bool) {
    let ts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let t_in = format!("tensor<{}xf32>", ts.join("x"));
    let t_out = format!("tensor<{out}xf32>");
    let text = format!(
        "builtin.module @t {{\n  builtin.graph @main(%a: {t_in}) -> ({t_out}) {{\n    %i = hl.input_layer %a {{layer = \"in\"}} : {t_in}\n    %r = {op_text} : {t_out}\n    %o = hl.output_layer %r {{layer = \"out\"}} : {t_out}\n    builtin.return %o : {t_out}\n  }}\n}}\n"
    );
    let mut m = module(&text, &[], 1);
    let data = vec![Rng(4).array(shape)];
    let mut cfg = QuantConfig::default();
    cfg.calibration.calibset_size = shape[0];
    prepare(&mut m, &data, &cfg).expect("prepares");
    lower(&mut m).expect("lowers");
    let mut r = Rng(9);
    let codes = ArrayD::from_shape_simple_fn(IxDyn(shape), || (r.uniform() * 256.0) as i32);
    let (y, (s, z), names) = run_codes(&m, &codes);
    let mut core: Vec<&str> = names.iter().map(String::as_str).collect();
    core.retain(|n| *n != q::QUANTIZE && *n != q::DEQUANTIZE);
    assert_eq!(core, want_ops, "{op_text}");
    let deq = codes.mapv(|c| ((c as i64 - z) as f64 * s) as f32);
    let plain = module(&text, &[], 1);
    let reference = Executor::new(&plain, first_graph(&plain).expect("graph"))
        .expect("float")
        .run(&[deq])
        .expect("runs");
    assert_eq!(y.shape(), reference[0].shape());
    let tol = if pad_tolerance { 0.5 * s + 1e-6 } else { 0.0 };
    for (a, b) in y.iter().zip(reference[0].iter()) {
        assert!(
            (f64::from(*a) - f64::from(*b)).abs() <= tol,
            "{op_text}: {a} vs {b} (step {s})"
        );
    }
}

const SHUFFLE: [&str; 3] = [q::RESHAPE, q::TRANSPOSE, q::RESHAPE];

#[test]
fn transpose_moves_codes_exactly() {
    check(
        "hl.transpose %i {layer = \"t1\", perm = [0, 2, 3, 1]}",
        &[2, 3, 4, 5],
        "2x4x5x3",
        &[q::TRANSPOSE],
        false,
    );
}

#[test]
fn depth_to_space_in_both_modes_moves_codes_exactly() {
    for mode in ["DCR", "CRD"] {
        check(
            &format!("hl.depth_to_space %i {{block_size = 2, layer = \"d1\", mode = \"{mode}\"}}"),
            &[2, 3, 4, 12],
            "2x6x8x3",
            &SHUFFLE,
            false,
        );
    }
}

#[test]
fn space_to_depth_classic_and_focus_move_codes_exactly() {
    for mode in ["classic", "focus"] {
        check(
            &format!("hl.space_to_depth %i {{block_size = 2, layer = \"s1\", mode = \"{mode}\"}}"),
            &[2, 4, 6, 3],
            "2x2x3x12",
            &SHUFFLE,
            false,
        );
    }
}

#[test]
fn feature_shuffle_moves_codes_exactly() {
    check(
        "hl.feature_shuffle %i {groups = 3, layer = \"f1\"}",
        &[2, 3, 3, 12],
        "2x3x3x12",
        &SHUFFLE,
        false,
    );
}

#[test]
fn pad_moves_codes_and_writes_the_quantized_value() {
    for (mode, tol) in [
        ("mode = \"constant\", value = 0.3", true),
        ("mode = \"reflect\"", false),
        ("mode = \"edge\"", false),
        ("mode = \"wrap\"", false),
    ] {
        check(
            &format!("hl.pad %i {{layer = \"p1\", {mode}, pads = [0, 1, 2, 0, 0, 2, 1, 1]}}"),
            &[2, 4, 5, 3],
            "2x7x8x4",
            &[q::PAD],
            tol,
        );
    }
}
