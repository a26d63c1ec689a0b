//! `Gather` with constant indices, `Einsum` in its matmul forms and `OneHot`, one tiny model
//! per form: the `hl` layers it becomes, the interpreter's result against values computed
//! here, and the exact error of every form that cannot be converted.

use bytes::Bytes;
use hailo_executor::Executor;
use hailo_ir::{print_module, Context, PrintOptions};
use hailo_onnx::builder::{noise_f32, tensor_f32, tensor_i64, ModelBuilder};
use hailo_onnx::to_hl::{convert, Conversion, ConvertOptions, NodeFate};
use hailo_onnx::{load_bytes, Attribute as A, LoadOptions};
use ndarray::{ArrayD, IxDyn};

fn convert_model(b: &ModelBuilder) -> Result<Conversion, String> {
    let model =
        load_bytes(Bytes::from(b.encode()), "t", None, &LoadOptions::default()).expect("loads");
    convert(&model, &ConvertOptions::default()).map_err(|e| e.to_string())
}

/// The converted module as text (verified), and its outputs on `inputs` (in `hl` layout).
fn run(b: &ModelBuilder, inputs: &[ArrayD<f32>]) -> (Conversion, String, Vec<ArrayD<f32>>) {
    let c = convert_model(b).unwrap_or_else(|e| panic!("{e}"));
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    if let Err(d) = hailo_ir::verifier::verify(&c.module, &ctx, c.module.top()) {
        panic!("does not verify: {d:?}");
    }
    let text = print_module(&c.module, &ctx, PrintOptions::default());
    let interp = Executor::new(&c.module, "main").unwrap_or_else(|e| panic!("{e}"));
    let outputs = interp.run(inputs).unwrap_or_else(|e| panic!("{e}"));
    (c, text, outputs)
}

fn error(b: &ModelBuilder) -> String {
    match convert_model(b) {
        Ok(_) => panic!("converted, but must be rejected"),
        Err(e) => e,
    }
}

fn count(text: &str, op: &str) -> usize {
    text.matches(&format!("{op} ")).count()
}

fn ramp(shape: &[usize]) -> ArrayD<f32> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|v| v as f32).collect()).expect("shape")
}

fn assert_close(actual: &ArrayD<f32>, expected: &ArrayD<f32>) {
    assert_eq!(actual.shape(), expected.shape());
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            (a - e).abs() <= 1e-4 * (1.0 + e.abs()),
            "{actual} vs {expected}"
        );
    }
}

fn fate(c: &Conversion, node: &str) -> NodeFate {
    c.report
        .nodes
        .iter()
        .find(|n| n.node == node)
        .map(|n| n.fate.clone())
        .expect("node is reported")
}

// ---- Gather ----

/// `x` of `shape` gathered along `axis` at `indices` (of `index_shape`).
fn gather(shape: &[usize], axis: i64, index_shape: &[usize], indices: Vec<i64>) -> ModelBuilder {
    let out = gathered_shape(shape, axis as usize, index_shape);
    let mut b = ModelBuilder::new(13);
    b.input("x", shape)
        .initializer("idx", &tensor_i64(index_shape, indices))
        .node(
            "Gather",
            "g",
            &["x", "idx"],
            &["y"],
            &[("axis", A::Int(axis))],
        )
        .output("y", &out);
    b
}

fn gathered_shape(shape: &[usize], axis: usize, index_shape: &[usize]) -> Vec<usize> {
    [&shape[..axis], index_shape, &shape[axis + 1..]].concat()
}

/// numpy's `take(x, indices, axis)` on a ramp of `shape`, indices already normalised.
fn take(shape: &[usize], axis: usize, index_shape: &[usize], indices: &[usize]) -> ArrayD<f32> {
    let x = ramp(shape);
    let picked = x.select(ndarray::Axis(axis), indices);
    picked
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order(IxDyn(&gathered_shape(shape, axis, index_shape)))
        .expect("shape")
}

#[test]
fn gather_scalar_index_on_the_nchw_channel_axis_is_a_slice_and_reshape() {
    // x[:, 2] of NCHW [1, 4, 2, 3]: the channel is the last hl axis.
    let b = gather(&[1, 4, 2, 3], 1, &[], vec![2]);
    let nhwc = ramp(&[1, 4, 2, 3]).permuted_axes(IxDyn(&[0, 2, 3, 1]));
    let (c, text, out) = run(&b, &[nhwc.as_standard_layout().into_owned()]);
    assert!(
        text.contains(r#"hl.slice %0 {ends = [1, 2, 3, 3], layer = "slice1", starts = [0, 0, 0, 2], steps = [1, 1, 1, 1]} : tensor<1x2x3x1xf32> loc("g")"#),
        "{text}"
    );
    assert!(
        text.contains(r#"hl.reshape %1 {layer = "reshape1"} : tensor<1x2x3xf32> loc("g")"#),
        "{text}"
    );
    assert_eq!(fate(&c, "g"), NodeFate::Converted);
    assert_close(&out[0], &take(&[1, 4, 2, 3], 1, &[], &[2]));
}

#[test]
fn gather_index_list_slices_runs_and_concatenates() {
    // 0, 1 | 4, 5 (-1 is 5): two slices joined on the gathered axis.
    let b = gather(&[1, 6, 4], 1, &[4], vec![0, 1, 4, -1]);
    let (_, text, out) = run(&b, &[ramp(&[1, 6, 4])]);
    assert_eq!(count(&text, "hl.slice"), 2, "{text}");
    assert!(
        text.contains(r#"hl.concat %1, %2 {axis = 1, layer = "concat1"} : tensor<1x4x4xf32>"#),
        "{text}"
    );
    assert_close(&out[0], &take(&[1, 6, 4], 1, &[4], &[0, 1, 4, 5]));
}

#[test]
fn gather_with_repeated_and_two_dimensional_indices() {
    let b = gather(&[3, 3], 1, &[2, 2], vec![2, 0, 0, -3]);
    let (_, text, out) = run(&b, &[ramp(&[3, 3])]);
    // Column 2, then column 0 three times: one slice each, the repeats reused.
    assert_eq!(count(&text, "hl.slice"), 2, "{text}");
    assert!(
        text.contains("hl.concat %1, %2, %2, %2 {axis = 1"),
        "{text}"
    );
    assert_close(&out[0], &take(&[3, 3], 1, &[2, 2], &[2, 0, 0, 0]));
}

#[test]
fn gather_of_the_whole_axis_in_order_is_dropped() {
    let b = gather(&[2, 3], 0, &[2], vec![0, 1]);
    let (c, text, out) = run(&b, &[ramp(&[2, 3])]);
    assert_eq!(
        count(&text, "hl.slice") + count(&text, "hl.concat"),
        0,
        "{text}"
    );
    assert_eq!(fate(&c, "g"), NodeFate::Dropped);
    assert_close(&out[0], &ramp(&[2, 3]));
}

#[test]
fn gather_index_out_of_range_is_a_node_error() {
    let e = error(&gather(&[1, 4, 3], 1, &[2], vec![1, -5]));
    assert_eq!(
        e,
        "node 'g' (Gather): index -5 is out of range for axis 1 of size 4"
    );
}

#[test]
fn gather_with_run_time_indices_is_unsupported() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[2, 3])
        .input("idx", &[2])
        .node("Gather", "g", &["x", "idx"], &["y"], &[])
        .output("y", &[2, 3]);
    let e = error(&b);
    assert!(
        e.contains("'g' (Gather from ai.onnx opset 13): Gather with run-time indices is not supported (the indices must be a constant)"),
        "{e}"
    );
}

// ---- Einsum ----

/// `Einsum(a, b)` with run-time `a` and, if `b_const`, a constant `b` (noise of seed 2).
fn einsum(eq: &str, a: &[usize], b: &[usize], out: &[usize], b_const: bool) -> ModelBuilder {
    let mut m = ModelBuilder::new(13);
    m.input("a", a);
    if b_const {
        m.initializer("b", &noise_f32(b, 2));
    } else {
        m.input("b", b);
    }
    m.node(
        "Einsum",
        "e",
        &["a", "b"],
        &["y"],
        &[("equation", A::String(eq.into()))],
    )
    .output("y", out);
    m
}

/// Two-operand einsum computed index by index (an implicit output is the indices that occur
/// once, sorted).
fn einsum_ref(eq: &str, a: &ArrayD<f32>, b: &ArrayD<f32>) -> ArrayD<f32> {
    let (lhs, out) = eq.split_once("->").unwrap_or((eq, ""));
    let (ta, tb) = lhs.split_once(',').expect("two operands");
    let implicit: String = {
        let mut once: Vec<char> = lhs
            .chars()
            .filter(|&c| c != ',' && lhs.matches(c).count() == 1)
            .collect();
        once.sort_unstable();
        once.into_iter().collect()
    };
    let out = if eq.contains("->") {
        out
    } else {
        implicit.as_str()
    };
    let mut letters: Vec<(char, usize)> = Vec::new();
    for (t, x) in [(ta, a), (tb, b)] {
        for (c, &d) in t.chars().zip(x.shape()) {
            if !letters.iter().any(|l| l.0 == c) {
                letters.push((c, d));
            }
        }
    }
    let size = |c: char| letters.iter().find(|l| l.0 == c).expect("letter").1;
    let mut y = ArrayD::zeros(IxDyn(&out.chars().map(size).collect::<Vec<_>>()));
    let mut idx = vec![0usize; letters.len()];
    let at = |t: &str, idx: &[usize]| -> Vec<usize> {
        t.chars()
            .map(|c| idx[letters.iter().position(|l| l.0 == c).expect("letter")])
            .collect()
    };
    'all: loop {
        y[IxDyn(&at(out, &idx))] += a[IxDyn(&at(ta, &idx))] * b[IxDyn(&at(tb, &idx))];
        for (k, (_, d)) in letters.iter().enumerate().rev() {
            idx[k] += 1;
            if idx[k] < *d {
                continue 'all;
            }
            idx[k] = 0;
        }
        break;
    }
    y
}

/// Converts and runs `Einsum(eq)` on noise and checks it against `einsum_ref`. Run-time
/// operands share their leading (batch) size, as the interpreter's inputs must.
fn check_einsum(eq: &str, a: &[usize], b: &[usize], out: &[usize], b_const: bool) -> String {
    let model = einsum(eq, a, b, out, b_const);
    let (xa, xb) = (noise_f32(a, 1).to_f32(), noise_f32(b, 2).to_f32());
    let inputs = if b_const {
        vec![xa.clone()]
    } else {
        vec![xa.clone(), xb.clone()]
    };
    // Rank-4 graph inputs and outputs are NHWC in hl.
    let nhwc = |x: &ArrayD<f32>, p: [usize; 4]| {
        x.view()
            .permuted_axes(IxDyn(&p))
            .as_standard_layout()
            .into_owned()
    };
    let inputs: Vec<_> = inputs
        .iter()
        .map(|x| {
            if x.ndim() == 4 {
                nhwc(x, [0, 2, 3, 1])
            } else {
                x.clone()
            }
        })
        .collect();
    let (c, text, got) = run(&model, &inputs);
    let got = if got[0].ndim() == 4 {
        nhwc(&got[0], [0, 3, 1, 2])
    } else {
        got[0].clone()
    };
    assert_close(&got, &einsum_ref(eq, &xa, &xb));
    assert_eq!(fate(&c, "e"), NodeFate::Converted);
    assert_eq!(count(&text, "hl.matmul"), 1, "{text}");
    text
}

#[test]
fn einsum_attention_scores_are_a_matmul_with_transpose_b() {
    let text = check_einsum(
        "bhid,bhjd->bhij",
        &[1, 2, 3, 4],
        &[1, 2, 5, 4],
        &[1, 2, 3, 5],
        false,
    );
    assert!(
        text.contains(r#"{layer = "matmul1", transpose_b = true} : tensor<1x2x3x5xf32> loc("e")"#),
        "{text}"
    );
}

#[test]
fn einsum_attention_weighting_is_a_plain_matmul() {
    let text = check_einsum(
        "bhij,bhjd->bhid",
        &[1, 2, 3, 5],
        &[1, 2, 5, 4],
        &[1, 2, 3, 4],
        false,
    );
    assert!(text.contains("transpose_b = false"), "{text}");
}

#[test]
fn einsum_batched_and_plain_matmuls() {
    check_einsum("bij,bjk->bik", &[2, 3, 4], &[2, 4, 5], &[2, 3, 5], false);
    check_einsum("ij,jk->ik", &[4, 4], &[4, 2], &[4, 2], false);
    // Implicit output (ik), a constant second operand stored in the order the matmul reads.
    let text = check_einsum("ij,jk", &[3, 4], &[4, 2], &[3, 2], true);
    assert!(text.contains("hl.const"), "{text}");
}

#[test]
fn einsum_with_a_broadcast_weight_and_a_transposed_constant() {
    // A linear layer on [B, T, C] with the weight as [C, D] and as [D, C].
    let text = check_einsum("btc,cd->btd", &[2, 3, 4], &[4, 5], &[2, 3, 5], true);
    assert!(text.contains("transpose_b = false"), "{text}");
    let text = check_einsum("btc,dc->btd", &[2, 3, 4], &[5, 4], &[2, 3, 5], true);
    assert!(text.contains("transpose_b = true"), "{text}");
    // The second operand's own leading index broadcasts the first: [c, b, j] into [b, c, j].
    check_einsum("bi,cij->bcj", &[2, 3], &[4, 3, 5], &[2, 4, 5], true);
}

#[test]
fn einsum_with_a_transposed_output_is_a_matmul_then_a_transpose() {
    let text = check_einsum("bij,bjk->bki", &[2, 3, 4], &[2, 4, 5], &[2, 5, 3], false);
    assert!(
        text.contains(r#"hl.transpose %2 {layer = "transpose1", perm = [0, 2, 1]}"#),
        "{text}"
    );
    // Operands read in another order are transposed on the way in.
    check_einsum("bji,bkj->bik", &[2, 4, 3], &[2, 5, 4], &[2, 3, 5], false);
}

#[test]
fn einsum_of_one_operand_permutes_its_layout() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[2, 3])
        .node(
            "Einsum",
            "e",
            &["x"],
            &["y"],
            &[("equation", A::String("ij->ji".into()))],
        )
        .output("y", &[3, 2]);
    let (_, text, out) = run(&b, &[ramp(&[2, 3])]);
    // The only layer is the graph output's transpose into ONNX order.
    assert_eq!(text.matches(" = hl.").count(), 3, "{text}");
    assert!(
        text.contains(r#"perm = [1, 0]} : tensor<3x2xf32> loc("e")"#),
        "{text}"
    );
    assert_close(
        &out[0],
        &ramp(&[2, 3])
            .reversed_axes()
            .as_standard_layout()
            .into_owned(),
    );
}

#[test]
fn einsum_forms_that_are_not_matmuls_are_unsupported_with_the_equation() {
    let cases: &[(&str, &[&[usize]], &str)] = &[
        (
            "ii->i",
            &[&[3, 3]],
            "index 'i' repeats within an operand (a diagonal or trace)",
        ),
        (
            "ij->i",
            &[&[3, 4]],
            "it sums over indices of its one operand (a reduction)",
        ),
        (
            "i,i",
            &[&[3], &[3]],
            "an operand has no free index (a matrix-vector or inner product)",
        ),
        (
            "ij,kl->ijkl",
            &[&[2, 2], &[2, 2]],
            "no index is contracted (an outer or elementwise product)",
        ),
        (
            "ijk,jk->i",
            &[&[2, 3, 4], &[3, 4]],
            "more than one index is contracted",
        ),
        (
            "ij,jk->i",
            &[&[2, 3], &[3, 4]],
            "index 'k' is summed over within one operand (a reduction)",
        ),
        (
            "xbi,cij->xbcj",
            &[&[2, 2, 3], &[4, 3, 5]],
            "both operands have batch indices the other lacks",
        ),
        (
            "ij,jk,kl->il",
            &[&[2, 2], &[2, 2], &[2, 2]],
            "it has 3 operands; only one or two are supported",
        ),
        (
            "...ij,...jk->...ik",
            &[&[2, 2], &[2, 2]],
            "the ellipsis ('...') is not supported",
        ),
    ];
    for (eq, shapes, why) in cases {
        let mut b = ModelBuilder::new(13);
        let names: Vec<String> = (0..shapes.len()).map(|k| format!("x{k}")).collect();
        for (n, s) in names.iter().zip(*shapes) {
            b.input(n, s);
        }
        let inputs: Vec<&str> = names.iter().map(String::as_str).collect();
        b.node(
            "Einsum",
            "e",
            &inputs,
            &["y"],
            &[("equation", A::String((*eq).into()))],
        )
        .output_unshaped("y");
        let want = format!(
            "'e' (Einsum from ai.onnx opset 13): Einsum equation '{eq}' is not supported: {why}"
        );
        match convert_model(&b) {
            Err(e) => assert!(e.contains(&want), "{eq}: {e}"),
            Ok(_) => panic!("{eq}: converted, but must be rejected"),
        }
    }
}

// ---- OneHot ----

/// `OneHot` of depth 4 with `values` (`[off, on]` when valid).
fn one_hot(shape: &[usize], values: &[f32], axis: i64, out: &[usize]) -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("i", shape)
        .initializer("depth", &tensor_f32(&[], vec![4.0]))
        .initializer("values", &tensor_f32(&[values.len()], values.to_vec()))
        .node(
            "OneHot",
            "oh",
            &["i", "depth", "values"],
            &["y"],
            &[("axis", A::Int(axis))],
        )
        .output("y", out);
    b
}

/// The one-hot of `indices` (ONNX rules: negatives count from the end, out of range is all
/// off) along axis 1 or the last axis of a `[2, 3]` index block, depth 4, off -1, on 5.
fn one_hot_ref(indices: &[f32], axis_last: bool) -> ArrayD<f32> {
    let shape = if axis_last { [2, 3, 4] } else { [2, 4, 3] };
    let mut y = ArrayD::from_elem(IxDyn(&shape), -1.0f32);
    for (k, &v) in indices.iter().enumerate() {
        let d = if v < 0.0 { v + 4.0 } else { v };
        if (0.0..4.0).contains(&d) {
            let (r, c, d) = (k / 3, k % 3, d as usize);
            let at = if axis_last { [r, c, d] } else { [r, d, c] };
            y[IxDyn(&at)] = 5.0;
        }
    }
    y
}

#[test]
fn one_hot_on_the_last_axis() {
    let idx = vec![0.0, 3.0, -1.0, 4.0, -5.0, 1.0];
    let b = one_hot(&[2, 3], &[-1.0, 5.0], -1, &[2, 3, 4]);
    let x = ArrayD::from_shape_vec(IxDyn(&[2, 3]), idx.clone()).expect("shape");
    let (_, text, out) = run(&b, &[x]);
    assert!(
        text.contains(r#"hl.one_hot %0 {depth = 4, layer = "one_hot1", off_value = -1.0, on_value = 5.0} : tensor<2x3x4xf32> loc("oh")"#),
        "{text}"
    );
    assert_close(&out[0], &one_hot_ref(&idx, true));
}

#[test]
fn one_hot_on_an_inner_axis_is_a_layout() {
    // The depth axis is last in hl; the graph output is transposed into ONNX order.
    let idx = vec![2.0, 0.0, 1.0, 3.0, -2.0, 7.0];
    let b = one_hot(&[2, 3], &[-1.0, 5.0], 1, &[2, 4, 3]);
    let x = ArrayD::from_shape_vec(IxDyn(&[2, 3]), idx.clone()).expect("shape");
    let (_, text, out) = run(&b, &[x]);
    assert!(text.contains("tensor<2x3x4xf32> loc(\"oh\")"), "{text}");
    assert_close(&out[0], &one_hot_ref(&idx, false));
}

#[test]
fn one_hot_errors() {
    assert_eq!(
        error(&one_hot(&[2, 3], &[0.0, 1.0, 2.0], -1, &[2, 3, 4])),
        "node 'oh' (OneHot): values must be [off_value, on_value], got [0, 1, 2]"
    );
    let mut b = ModelBuilder::new(13);
    b.input("i", &[2])
        .input("depth", &[])
        .initializer("values", &tensor_f32(&[2], vec![0.0, 1.0]))
        .node("OneHot", "oh", &["i", "depth", "values"], &["y"], &[])
        .output("y", &[2, 4]);
    let e = error(&b);
    assert!(
        e.contains("'oh' (OneHot from ai.onnx opset 13): OneHot with a run-time depth or values is not supported (both must be constants)"),
        "{e}"
    );
}
