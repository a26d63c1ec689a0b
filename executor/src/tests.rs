//! Executor tests on small hand-built `hl` graphs with hand-computed results.

use crate::dump::LayerDump;
use crate::{Context, ExecError, Executor};
use hailo_ir::builtin::{create_graph, RETURN};
use hailo_ir::{Attribute, Blob, BlockId, DenseValues, Module, OpSpec, Type, ValueId};
use ndarray::{array, Array, ArrayD, IxDyn};

struct Builder {
    m: Module,
    block: BlockId,
    args: Vec<ValueId>,
}

fn ty(shape: &[usize]) -> Type {
    Type::tensor(
        &shape.iter().map(|&d| d as i64).collect::<Vec<_>>(),
        Type::f32(),
    )
}

impl Builder {
    fn new(inputs: &[&[usize]], outputs: &[&[usize]]) -> Self {
        let mut m = Module::new(Some("t"));
        let body = m.body();
        let ins: Vec<Type> = inputs.iter().map(|s| ty(s)).collect();
        let outs: Vec<Type> = outputs.iter().map(|s| ty(s)).collect();
        let (_, block) = create_graph(&mut m, body, "main", &ins, &outs);
        let args = m.block(block).args().to_vec();
        Builder { m, block, args }
    }

    fn op(
        &mut self,
        name: &str,
        operands: &[ValueId],
        result: &[usize],
        attrs: &[(&str, Attribute)],
    ) -> ValueId {
        let mut spec = OpSpec::new(name).operands(operands).results(&[ty(result)]);
        for (k, v) in attrs {
            spec = spec.attr(k, v.clone());
        }
        let op = self.m.create_op(spec);
        self.m.append_op(self.block, op);
        self.m.result(op, 0)
    }

    fn weight(&mut self, key: &str, a: ArrayD<f32>) -> ValueId {
        let data: Vec<f32> = a.iter().copied().collect();
        self.m.resources.insert(key, Blob::from_f32(&data));
        let t = ty(a.shape());
        self.op(
            "hl.const",
            &[],
            a.shape(),
            &[(
                "value",
                Attribute::DenseResource {
                    key: key.into(),
                    ty: t,
                },
            )],
        )
    }

    fn finish(mut self, results: &[ValueId]) -> Module {
        let ret = self.m.create_op(OpSpec::new(RETURN).operands(results));
        self.m.append_op(self.block, ret);
        self.m
    }
}

fn layer(name: &str) -> (&'static str, Attribute) {
    ("layer", Attribute::str(name))
}

fn s(key: &'static str, v: &str) -> (&'static str, Attribute) {
    (key, Attribute::str(v))
}

fn ints(key: &'static str, v: &[i64]) -> (&'static str, Attribute) {
    (key, Attribute::i64_array(v))
}

/// input → conv 3x3 SAME (all-ones kernel, bias 1, relu) → global avgpool → output.
fn conv_model(padding: &str) -> Module {
    let mut b = Builder::new(&[&[1, 3, 3, 1]], &[&[1, 1, 1, 1]]);
    let x = b.args[0];
    let i = b.op(
        "hl.input_layer",
        &[x],
        &[1, 3, 3, 1],
        &[layer("input_layer1"), s("original_name", "input")],
    );
    let w = b.weight("conv1.kernel", ArrayD::ones(IxDyn(&[3, 3, 1, 1])));
    let bias = b.weight("conv1.bias", array![1.0f32].into_dyn());
    let c = b.op(
        "hl.conv2d",
        &[i, w, bias],
        &[1, 3, 3, 1],
        &[
            layer("conv1"),
            s("padding", padding),
            s("activation", "relu"),
            ints("strides", &[1, 1]),
        ],
    );
    let g = b.op(
        "hl.global_avgpool",
        &[c],
        &[1, 1, 1, 1],
        &[layer("avgpool1")],
    );
    let o = b.op(
        "hl.output_layer",
        &[g],
        &[1, 1, 1, 1],
        &[layer("output_layer1"), s("original_name", "logits")],
    );
    b.finish(&[o])
}

fn grid(values: &[f32]) -> ArrayD<f32> {
    Array::from_shape_vec(IxDyn(&[1, 3, 3, 1]), values.to_vec()).expect("9 values")
}

#[test]
fn conv_same_padding_relu_and_global_pool() {
    let interp = Executor::new(&conv_model("SAME"), "main").expect("prepares");
    assert_eq!(interp.inputs()[0].name, "input_layer1");
    assert_eq!(interp.inputs()[0].original_name.as_deref(), Some("input"));
    assert_eq!(interp.outputs()[0].name, "output_layer1");
    // All-ones input: the 3x3 window sums are 4 6 4 / 6 9 6 / 4 6 4, +1 bias, mean = 49/9 + 1.
    let out = interp.run(&[grid(&[1.0; 9])]).expect("runs");
    assert_eq!(out[0].shape(), &[1, 1, 1, 1]);
    assert!((out[0][[0, 0, 0, 0]] - (49.0 / 9.0 + 1.0)).abs() < 1e-5);
    // Negative input: every pre-activation is negative, relu gives 0.
    let out = interp.run(&[grid(&[-1.0; 9])]).expect("runs");
    assert_eq!(out[0][[0, 0, 0, 0]], 0.0);
}

#[test]
fn batched_run_equals_per_sample_runs() {
    let interp = Executor::with_context(&conv_model("SAME"), "main", Context::FpOptimized)
        .expect("prepares");
    let samples = [
        grid(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]),
        grid(&[-3.0; 9]),
        grid(&[0.5; 9]),
    ];
    let views: Vec<_> = samples.iter().map(ArrayD::view).collect();
    let batch = ndarray::concatenate(ndarray::Axis(0), &views).expect("same shapes");
    let out = interp.run(&[batch]).expect("runs");
    assert_eq!(out[0].shape(), &[3, 1, 1, 1]);
    for (i, x) in samples.iter().enumerate() {
        let single = interp.run(std::slice::from_ref(x)).expect("runs");
        assert_eq!(out[0][[i, 0, 0, 0]], single[0][[0, 0, 0, 0]]);
    }
}

#[test]
fn valid_padding_shape_mismatch_names_the_layer() {
    // VALID gives a 1x1 output where the graph declares 3x3.
    let err = Executor::new(&conv_model("VALID"), "main")
        .expect("prepares")
        .run(&[grid(&[1.0; 9])])
        .expect_err("declared shape differs");
    assert_eq!(
        err.to_string(),
        "layer 'conv1' (hl.conv2d): computed result 0 has shape [1, 1, 1, 1] but the graph declares [1, 3, 3, 1] (batch excluded)"
    );
}

#[test]
fn input_errors_are_clear() {
    let interp = Executor::new(&conv_model("SAME"), "main").expect("prepares");
    let err = interp
        .run(&[ArrayD::zeros(IxDyn(&[1, 1, 3, 3]))])
        .expect_err("NCHW");
    assert_eq!(
        err.to_string(),
        "input 0 ('input_layer1'): expected shape [N, 3, 3, 1] (NHWC, N >= 1), got [1, 1, 3, 3]"
    );
    let err = interp.run(&[]).expect_err("missing");
    assert_eq!(
        err.to_string(),
        "graph: expected 1 input(s) (input_layer1), got 0"
    );
    let err = Executor::new(&conv_model("SAME"), "other").expect_err("no such graph");
    assert_eq!(
        err.to_string(),
        "graph: no graph named @other (the module has: @main)"
    );
}

#[test]
fn scalar_and_declared_empty_inputs_run_whole() {
    // y = 2x on a scalar: no sample axis, the tensor runs as declared.
    let mut b = Builder::new(&[&[]], &[&[]]);
    let x = b.args[0];
    let two = b.weight("two", ArrayD::from_elem(IxDyn(&[]), 2.0f32));
    let y = b.op("hl.ew_mult", &[x, two], &[], &[layer("ew_mult1")]);
    let interp = Executor::new(&b.finish(&[y]), "main").expect("prepares");
    assert!(interp.takes_whole_tensors());
    let out = interp
        .run(&[ArrayD::from_elem(IxDyn(&[]), 1.5f32)])
        .expect("runs");
    assert_eq!(out[0], ArrayD::from_elem(IxDyn(&[]), 3.0f32));
    // A graph declaring axis 0 empty takes an empty tensor; one declaring 1 refuses it.
    for (declared, ok) in [(0, true), (1, false)] {
        let mut b = Builder::new(&[&[declared, 3]], &[&[declared, 3]]);
        let x = b.args[0];
        let two = b.weight("two", array![2.0f32].into_dyn());
        let y = b.op(
            "hl.ew_mult",
            &[x, two],
            &[declared, 3],
            &[layer("ew_mult1")],
        );
        let interp = Executor::new(&b.finish(&[y]), "main").expect("prepares");
        assert_eq!(interp.takes_whole_tensors(), ok);
        let run = interp.run(&[ArrayD::zeros(IxDyn(&[0, 3]))]);
        match run {
            Ok(out) => {
                assert!(ok);
                assert_eq!(out[0].shape(), [0, 3]);
            }
            Err(e) => {
                assert!(!ok);
                assert_eq!(
                    e.to_string(),
                    "input 0 ('input0'): expected shape [N, 3] (NHWC, N >= 1), got [0, 3]"
                );
            }
        }
    }
}

#[test]
fn unknown_ops_and_attributes_are_rejected_with_the_layer_name() {
    let mut b = Builder::new(&[&[1, 4]], &[&[1, 4]]);
    let x = b.args[0];
    let y = b.op("hl.frobnicate", &[x], &[1, 4], &[layer("frob1")]);
    let err = Executor::new(&b.finish(&[y]), "main").expect_err("unknown op");
    assert!(
        err.to_string()
            .starts_with("layer 'frob1' (hl.frobnicate): op 'hl.frobnicate' is not supported"),
        "{err}"
    );

    let mut b = Builder::new(&[&[1, 4]], &[&[1, 4]]);
    let x = b.args[0];
    let y = b.op(
        "hl.activation",
        &[x],
        &[1, 4],
        &[layer("activation1"), s("kind", "sparkle")],
    );
    let err = Executor::new(&b.finish(&[y]), "main").expect_err("unknown activation");
    // The dialect's definition of activations reads the kind, and lists the valid ones.
    assert!(
        err.to_string().starts_with(
            "layer 'activation1' (hl.activation): unknown activation \"sparkle\" in 'kind'; \
             expected one of: linear, relu, relu6, leaky,"
        ),
        "{err}"
    );
}

#[test]
fn residual_add_reuses_operands_correctly() {
    // y = relu(x + 2x) where x feeds both the multiply and the add.
    let mut b = Builder::new(&[&[1, 4]], &[&[1, 4]]);
    let x = b.args[0];
    let two = b.weight("two", array![2.0f32].into_dyn());
    let d = b.op("hl.ew_mult", &[x, two], &[1, 4], &[layer("ew_mult1")]);
    let y = b.op(
        "hl.ew_add",
        &[x, d],
        &[1, 4],
        &[layer("ew_add1"), s("activation", "relu")],
    );
    let interp = Executor::new(&b.finish(&[y]), "main").expect("prepares");
    let out = interp
        .run(&[array![[1.0f32, -1.0, 2.0, 0.5]].into_dyn()])
        .expect("runs");
    assert_eq!(out[0], array![[3.0f32, 0.0, 6.0, 1.5]].into_dyn());
}

#[test]
fn f16_weights_and_dense_with_flatten() {
    let mut b = Builder::new(&[&[1, 1, 1, 2]], &[&[1, 2]]);
    let x = b.args[0];
    let f16 = Type::tensor(&[2, 2], Type::f16());
    let bytes: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
        .collect();
    b.m.resources.insert("fc1.kernel", Blob::new(2, bytes));
    let w = b.op(
        "hl.const",
        &[],
        &[2, 2],
        &[(
            "value",
            Attribute::DenseResource {
                key: "fc1.kernel".into(),
                ty: f16,
            },
        )],
    );
    let bias = b.op(
        "hl.const",
        &[],
        &[2],
        &[(
            "value",
            Attribute::dense(ty(&[2]), DenseValues::Floats(vec![0.5, -0.5])),
        )],
    );
    let y = b.op("hl.dense", &[x, w, bias], &[1, 2], &[layer("fc1")]);
    let interp = Executor::new(&b.finish(&[y]), "main").expect("prepares");
    let out = interp
        .run(&[array![[[[1.0f32, 1.0]]], [[[2.0, 0.0]]]].into_dyn()])
        .expect("runs");
    // [1,1]·[[1,2],[3,4]] = [4,6]; [2,0]· = [2,4]; plus bias.
    assert_eq!(out[0], array![[4.5f32, 5.5], [2.5, 3.5]].into_dyn());
}

#[test]
fn shape_ops_split_shuffle_focus_reshape() {
    let mut b = Builder::new(&[&[1, 2, 2, 4]], &[&[1, 2, 2, 2], &[1, 8], &[1, 1, 1, 16]]);
    let x = b.args[0];
    let split = OpSpec::new("hl.split")
        .operands(&[x])
        .results(&[ty(&[1, 2, 2, 1]), ty(&[1, 2, 2, 3])])
        .attr("layer", Attribute::str("feature_splitter1"))
        .attr("axis", Attribute::i64(3))
        .attr("sizes", Attribute::i64_array(&[1, 3]));
    let op = b.m.create_op(split);
    b.m.append_op(b.block, op);
    let (lo, hi) = (b.m.result(op, 0), b.m.result(op, 1));
    let hi0 = b.op(
        "hl.slice",
        &[hi],
        &[1, 2, 2, 1],
        &[
            layer("slice1"),
            ints("starts", &[0, 0, 0, 0]),
            ints("ends", &[1, 2, 2, 1]),
        ],
    );
    let cat = b.op(
        "hl.concat",
        &[lo, hi0],
        &[1, 2, 2, 2],
        &[layer("concat1"), ("axis", Attribute::i64(3))],
    );
    let sh = b.op(
        "hl.feature_shuffle",
        &[x],
        &[1, 2, 2, 4],
        &[layer("feature_shuffle1"), ("groups", Attribute::i64(2))],
    );
    let first = b.op(
        "hl.slice",
        &[sh],
        &[1, 1, 2, 4],
        &[
            layer("slice2"),
            ints("starts", &[0, 0, 0, 0]),
            ints("ends", &[1, 1, 2, 4]),
        ],
    );
    let flat = b.op("hl.reshape", &[first], &[1, 8], &[layer("reshape1")]);
    let focus = b.op(
        "hl.space_to_depth",
        &[x],
        &[1, 1, 1, 16],
        &[
            layer("space_to_depth1"),
            ("block_size", Attribute::i64(2)),
            s("mode", "focus"),
        ],
    );
    let interp = Executor::new(&b.finish(&[cat, flat, focus]), "main").expect("prepares");
    let input = Array::from_shape_vec(IxDyn(&[1, 2, 2, 4]), (0..16).map(|v| v as f32).collect())
        .expect("16");
    let out = interp.run(&[input]).expect("runs");
    // Channels 0 and 1 of every pixel.
    assert_eq!(
        out[0].iter().copied().collect::<Vec<_>>(),
        [0.0, 1.0, 4.0, 5.0, 8.0, 9.0, 12.0, 13.0]
    );
    // Shuffle with 2 groups: channel order 0 2 1 3, first row of pixels.
    assert_eq!(
        out[1],
        array![[0.0f32, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]].into_dyn()
    );
    // Focus: pixels (0,0), (1,0), (0,1), (1,1) concatenated on channels.
    let focus: Vec<f32> = [0, 8, 4, 12]
        .iter()
        .flat_map(|&p| (p..p + 4).map(|v| v as f32))
        .collect();
    assert_eq!(out[2].iter().copied().collect::<Vec<_>>(), focus);
}

#[test]
fn layer_dump_writes_one_npy_per_layer() {
    let interp = Executor::new(&conv_model("SAME"), "main").expect("prepares");
    let dir = std::env::temp_dir().join(format!("hailo-executor-dump-{}", std::process::id()));
    let mut dump = LayerDump::new(&dir);
    for v in [1.0, 2.0] {
        interp
            .run_observed(&[grid(&[v; 9])], &mut |o| dump.record(o))
            .expect("runs");
    }
    let files = dump.finish().expect("writes");
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "input_layer1.npy",
            "conv1.npy",
            "avgpool1.npy",
            "output_layer1.npy"
        ]
    );
    let conv = hailo_npz::read_npy(dir.join("conv1.npy")).expect("reads");
    assert_eq!(conv.shape(), &[2, 3, 3, 1]);
    // Centre pixel: 9 taps of 2.0 plus bias 1 in the second batch.
    assert_eq!(conv.to_f32()[[1, 1, 1, 0]], 19.0);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn missing_resource_is_reported() {
    let mut b = Builder::new(&[&[1, 2]], &[&[1, 2]]);
    let t = ty(&[2]);
    let c = b.op(
        "hl.const",
        &[],
        &[2],
        &[(
            "value",
            Attribute::DenseResource {
                key: "fc9.bias".into(),
                ty: t,
            },
        )],
    );
    let x = b.args[0];
    let y = b.op("hl.ew_add", &[x, c], &[1, 2], &[layer("ew_add1")]);
    let err = Executor::new(&b.finish(&[y]), "main").expect_err("no blob");
    assert!(matches!(err, ExecError::Layer { .. }));
    assert!(
        err.to_string()
            .contains("resource 'fc9.bias' is not in the module's blob store"),
        "{err}"
    );
}

/// x → conv 3x3 SAME (bias, then `add` of `r` with relu): as one `hl.conv2d` with the add as
/// its fourth operand (`fused`), or as a linear conv followed by an `hl.ew_add`.
fn conv_add_model(fused: bool) -> Module {
    let mut b = Builder::new(&[&[1, 3, 3, 2], &[1, 3, 3, 2]], &[&[1, 3, 3, 2]]);
    let (x, r) = (b.args[0], b.args[1]);
    let kernel: Vec<f32> = (0..36).map(|i| (i as f32 * 0.37).sin()).collect();
    let w = b.weight(
        "conv1.kernel",
        Array::from_shape_vec(IxDyn(&[3, 3, 2, 2]), kernel).expect("36 values"),
    );
    let bias = b.weight("conv1.bias", array![0.1f32, -0.3].into_dyn());
    let conv = [
        layer("conv1"),
        s("padding", "SAME"),
        ints("strides", &[1, 1]),
    ];
    let y = if fused {
        let mut attrs = conv.to_vec();
        attrs.push(s("activation", "relu"));
        b.op("hl.conv2d", &[x, w, bias, r], &[1, 3, 3, 2], &attrs)
    } else {
        let c = b.op("hl.conv2d", &[x, w, bias], &[1, 3, 3, 2], &conv);
        b.op(
            "hl.ew_add",
            &[c, r],
            &[1, 3, 3, 2],
            &[layer("ew_add1"), s("activation", "relu")],
        )
    };
    b.finish(&[y])
}

#[test]
fn conv_with_fused_add_is_bit_identical_to_conv_then_add() {
    let x: Vec<f32> = (0..18).map(|i| (i as f32 * 0.71).cos()).collect();
    let r: Vec<f32> = (0..18).map(|i| (i as f32 * 1.3).sin() - 0.2).collect();
    let inputs = [
        Array::from_shape_vec(IxDyn(&[1, 3, 3, 2]), x).expect("18 values"),
        Array::from_shape_vec(IxDyn(&[1, 3, 3, 2]), r).expect("18 values"),
    ];
    let run = |fused| {
        Executor::new(&conv_add_model(fused), "main")
            .expect("prepares")
            .run(&inputs)
            .expect("runs")
    };
    let (fused, separate) = (run(true), run(false));
    let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&fused[0]), bits(&separate[0]));
    assert!(fused[0].iter().any(|&v| v == 0.0) && fused[0].iter().any(|&v| v > 0.0));
}
