//! Semantics of single-operator conversions on tiny models: weight layouts (OIHW → HWIO,
//! Gemm transB/alpha/beta, NHWC flatten before dense), folds (BatchNorm, bias Add, zero Pad),
//! explicit pads from auto_pad, NCHW → NHWC axis remapping, and layout-only nodes.

use bytes::Bytes;
use hailo_ir::{print_module, Context, PrintOptions};
use hailo_onnx::builder::{ramp_f32, tensor_f32, tensor_i64, ModelBuilder};
use hailo_onnx::to_hl::{convert, convert_owned, Conversion, ConvertOptions, NodeFate};
use hailo_onnx::{load_bytes, Attribute as A, LoadOptions};

fn context() -> Context {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    ctx
}

fn run(b: &ModelBuilder) -> (Conversion, String) {
    let model =
        load_bytes(Bytes::from(b.encode()), "t", None, &LoadOptions::default()).expect("loads");
    let opts = ConvertOptions {
        net_name: Some("t".into()),
        ..Default::default()
    };
    let c = convert(&model, &opts).expect("converts");
    let ctx = context();
    if let Err(d) = hailo_ir::verifier::verify(&c.module, &ctx, c.module.top()) {
        panic!("does not verify: {d:?}");
    }
    let owned = convert_owned(model, &opts).expect("converts when owned");
    let full = |c: &Conversion| print_module(&c.module, &ctx, PrintOptions::default());
    assert_eq!(full(&c), full(&owned), "convert_owned differs from convert");
    let text = print_module(
        &c.module,
        &ctx,
        PrintOptions {
            elide_resources: true,
            ..Default::default()
        },
    );
    (c, text)
}

fn blob(c: &Conversion, key: &str) -> Vec<f32> {
    c.module
        .resources
        .get(key)
        .unwrap_or_else(|| panic!("no blob {key}"))
        .to_f32()
}

fn has(text: &str, s: &str) {
    assert!(text.contains(s), "expected `{s}` in\n{text}");
}

#[test]
fn conv_kernel_is_hwio_and_bn_relu_fold() {
    // 2 output channels, 1 input channel, 1x2 kernel: W[o, 0, 0, k] = o * 10 + k.
    let w = tensor_f32(&[2, 1, 1, 2], vec![0.0, 1.0, 10.0, 11.0]);
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 1, 3, 3])
        .initializer("w", &w)
        .initializer("bias", &tensor_f32(&[2], vec![1.0, 2.0]))
        .initializer("g", &tensor_f32(&[2], vec![2.0, 3.0]))
        .initializer("be", &tensor_f32(&[2], vec![0.5, -0.5]))
        .initializer("mu", &tensor_f32(&[2], vec![1.0, 4.0]))
        .initializer("var", &tensor_f32(&[2], vec![3.0, 8.0]))
        .node(
            "Conv",
            "conv",
            &["x", "w", "bias"],
            &["c"],
            &[("auto_pad", A::String("SAME_UPPER".into()))],
        )
        .node(
            "BatchNormalization",
            "bn",
            &["c", "g", "be", "mu", "var"],
            &["n"],
            &[("epsilon", A::Float(1.0))],
        )
        .node("Relu", "relu", &["n"], &["y"], &[])
        .output("y", &[1, 2, 3, 3]);
    let (c, text) = run(&b);
    has(&text, r#"activation = "relu""#);
    has(&text, "pads = [0, 0, 0, 1]");
    has(&text, r#"loc(fused["conv", "bn", "relu"])"#);
    // scale = g / sqrt(var + 1) = [1, 1]; HWIO [1, 2, 1, 2]: element (0, k, 0, o) = W[o, 0, 0, k].
    assert_eq!(blob(&c, "conv1.kernel"), vec![0.0, 10.0, 1.0, 11.0]);
    // bias' = (b - mean) * scale + beta.
    assert_eq!(blob(&c, "conv1.bias"), vec![0.5, -2.5]);
    let fates: Vec<NodeFate> = c.report.nodes.iter().map(|n| n.fate.clone()).collect();
    assert_eq!(
        fates,
        [NodeFate::Converted, NodeFate::Fused, NodeFate::Fused]
    );
}

#[test]
fn depthwise_conv_and_zero_pad_fold() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 4, 4])
        .initializer("pads", &tensor_i64(&[8], vec![0, 0, 1, 2, 0, 0, 1, 0]))
        .initializer("w", &ramp_f32(&[3, 1, 3, 3]))
        .node("Pad", "pad", &["x", "pads"], &["p"], &[])
        .node("Conv", "dw", &["p", "w"], &["y"], &[("group", A::Int(3))])
        .output("y", &[1, 3, 4, 4]);
    let (c, text) = run(&b);
    has(&text, "hl.depthwise_conv2d");
    has(&text, "pads = [1, 2, 1, 0]");
    has(&text, "tensor<3x3x1x3xf32>");
    assert!(!text.contains("hl.pad"), "{text}");
    assert_eq!(c.report.nodes[0].fate, NodeFate::Fused);
}

#[test]
fn reflect_pad_stays_external_with_nhwc_pads() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 4, 4])
        .initializer("pads", &tensor_i64(&[8], vec![0, 0, 1, 2, 0, 0, 3, 1]))
        .node(
            "Pad",
            "pad",
            &["x", "pads"],
            &["y"],
            &[("mode", A::String("reflect".into()))],
        )
        .output("y", &[1, 3, 8, 7]);
    let (_, text) = run(&b);
    has(
        &text,
        r#"hl.pad %0 {layer = "external_pad1", mode = "reflect", pads = [0, 1, 2, 0, 0, 3, 1, 0]"#,
    );
}

#[test]
fn gemm_trans_b_alpha_beta() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3])
        .initializer(
            "w",
            &tensor_f32(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        )
        .initializer("c", &tensor_f32(&[2], vec![1.0, -1.0]))
        .node(
            "Gemm",
            "fc",
            &["x", "w", "c"],
            &["y"],
            &[
                ("transB", A::Int(1)),
                ("alpha", A::Float(2.0)),
                ("beta", A::Float(0.5)),
            ],
        )
        .output("y", &[1, 2]);
    let (c, text) = run(&b);
    has(&text, "hl.dense");
    // kernel [3, 2] = alpha * W^T.
    assert_eq!(blob(&c, "fc1.kernel"), vec![2.0, 8.0, 4.0, 10.0, 6.0, 12.0]);
    assert_eq!(blob(&c, "fc1.bias"), vec![0.5, -0.5]);
}

#[test]
fn flatten_of_nchw_before_dense_permutes_kernel_rows() {
    // x [1, 2, 1, 2] flattened in ONNX order is (c0w0, c0w1, c1w0, c1w1); in NHWC order
    // (w0c0, w0c1, w1c0, w1c1): kernel rows must follow.
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 2, 1, 2])
        .initializer("w", &tensor_f32(&[4, 1], vec![1.0, 2.0, 3.0, 4.0]))
        .initializer("add", &tensor_f32(&[1], vec![0.25]))
        .node("Flatten", "flat", &["x"], &["f"], &[])
        .node("MatMul", "mm", &["f", "w"], &["m"], &[])
        .node("Add", "bias", &["m", "add"], &["y"], &[])
        .output("y", &[1, 1]);
    let (c, text) = run(&b);
    has(&text, "hl.reshape");
    has(&text, r#"loc(fused["mm", "bias"])"#);
    assert_eq!(blob(&c, "fc1.kernel"), vec![1.0, 3.0, 2.0, 4.0]);
    assert_eq!(blob(&c, "fc1.bias"), vec![0.25]);
}

#[test]
fn avgpool_keeps_count_include_pad_and_ceil_mode() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 2, 5, 5])
        .node(
            "AveragePool",
            "pool",
            &["x"],
            &["y"],
            &[
                ("kernel_shape", A::Ints(vec![3, 3])),
                ("strides", A::Ints(vec![2, 2])),
                ("pads", A::Ints(vec![1, 1, 1, 1])),
                ("ceil_mode", A::Int(1)),
                ("count_include_pad", A::Int(1)),
            ],
        )
        .output("y", &[1, 2, 3, 3]);
    let (_, text) = run(&b);
    has(&text, "hl.avgpool %0 {ceil_mode = true, count_include_pad = true, kernel = [3, 3], layer = \"avgpool1\", padding = \"EXPLICIT\", pads = [1, 1, 1, 1], strides = [2, 2]}");
}

#[test]
fn axes_are_remapped_to_nhwc() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 2, 3])
        .initializer("ax", &tensor_i64(&[1], vec![1]))
        .initializer("split", &tensor_i64(&[2], vec![1, 3]))
        .initializer("s_start", &tensor_i64(&[1], vec![1]))
        .initializer("s_end", &tensor_i64(&[1], vec![3]))
        .initializer("s_axis", &tensor_i64(&[1], vec![3]))
        .node("Softmax", "sm", &["x"], &["s"], &[("axis", A::Int(1))])
        .node(
            "Split",
            "split",
            &["s", "split"],
            &["a", "b"],
            &[("axis", A::Int(1))],
        )
        .node(
            "Concat",
            "cat",
            &["b", "a"],
            &["c"],
            &[("axis", A::Int(-3))],
        )
        .node(
            "Slice",
            "slice",
            &["c", "s_start", "s_end", "s_axis"],
            &["d"],
            &[],
        )
        .node(
            "ReduceSum",
            "sum",
            &["d", "ax"],
            &["y"],
            &[("keepdims", A::Int(0))],
        )
        .output("y", &[1, 2, 2]);
    let (_, text) = run(&b);
    has(&text, r#"hl.softmax %0 {axis = 3"#);
    has(
        &text,
        r#"hl.split %1 {axis = 3, layer = "feature_splitter1", sizes = [1, 3]}"#,
    );
    has(&text, r#"hl.concat %2#1, %2#0 {axis = 3"#);
    has(&text, "hl.slice %3 {ends = [1, 2, 3, 4], layer = \"slice1\", starts = [0, 0, 1, 0], steps = [1, 1, 1, 1]}");
    has(
        &text,
        r#"hl.reduce %4 {axes = [3], keepdims = false, kind = "sum""#,
    );
    has(&text, ": tensor<1x2x2xf32>");
}

#[test]
fn transposes_use_nhwc_when_free() {
    // NCHW → NHWC transpose at the end of a graph is free in hl, the output gets the
    // canonical layout back with one transpose.
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 2, 4])
        .node(
            "Transpose",
            "to_nhwc",
            &["x"],
            &["t"],
            &[("perm", A::Ints(vec![0, 2, 3, 1]))],
        )
        .node("Relu", "relu", &["t"], &["y"], &[])
        .output("y", &[1, 2, 4, 3]);
    let (c, text) = run(&b);
    assert_eq!(c.report.nodes[0].fate, NodeFate::Dropped);
    has(
        &text,
        r#"hl.activation %0 {kind = "relu", layer = "activation1"} : tensor<1x2x4x3xf32>"#,
    );
    has(
        &text,
        "hl.transpose %1 {layer = \"transpose1\", perm = [0, 2, 3, 1]} : tensor<1x4x3x2xf32>",
    );
}

#[test]
fn resize_and_depth_to_space_attributes() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 2, 2])
        .initializer("roi", &tensor_f32(&[0], vec![]))
        .initializer("scales", &tensor_f32(&[4], vec![1.0, 1.0, 2.0, 2.0]))
        .node(
            "Resize",
            "up",
            &["x", "roi", "scales"],
            &["u"],
            &[
                ("mode", A::String("linear".into())),
                (
                    "coordinate_transformation_mode",
                    A::String("align_corners".into()),
                ),
            ],
        )
        .node(
            "DepthToSpace",
            "d2s",
            &["u"],
            &["y"],
            &[("blocksize", A::Int(2)), ("mode", A::String("CRD".into()))],
        )
        .output("y", &[1, 2, 8, 8]);
    let (_, text) = run(&b);
    has(
        &text,
        r#"hl.resize %0 {coordinate = "align_corners", layer = "resize1", mode = "bilinear"} : tensor<1x4x4x8xf32>"#,
    );
    has(
        &text,
        r#"hl.depth_to_space %1 {block_size = 2, layer = "depth_to_space1", mode = "CRD"} : tensor<1x8x8x2xf32>"#,
    );
}

#[test]
fn input_format_nhwc_keeps_axes() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 4, 3])
        .node("Relu", "relu", &["x"], &["y"], &[])
        .output("y", &[1, 4, 4, 3]);
    let model =
        load_bytes(Bytes::from(b.encode()), "t", None, &LoadOptions::default()).expect("loads");
    let opts = ConvertOptions {
        input_formats: vec![("x".into(), "NHWC".into())],
        ..Default::default()
    };
    let c = convert(&model, &opts).expect("converts");
    assert_eq!(c.inputs()[0].shape, vec![1, 4, 4, 3]);
}

#[test]
fn matmul_of_sequence_with_constant_is_a_1x1_conv() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 5, 3])
        .initializer(
            "w",
            &tensor_f32(&[3, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        )
        .initializer("bias", &tensor_f32(&[2], vec![0.5, -0.5]))
        .node("MatMul", "mm", &["x", "w"], &["m"], &[])
        .node("Add", "add", &["m", "bias"], &["a"], &[])
        .node("Relu", "relu", &["a"], &["y"], &[])
        .output("y", &[1, 5, 2]);
    let (c, text) = run(&b);
    has(
        &text,
        r#"hl.reshape %0 {layer = "reshape1"} : tensor<1x1x5x3xf32>"#,
    );
    has(&text, r#"activation = "relu""#);
    has(&text, r#"loc(fused["mm", "add", "relu"])"#);
    has(
        &text,
        r#"hl.reshape %4 {layer = "reshape2"} : tensor<1x5x2xf32>"#,
    );
    assert_eq!(blob(&c, "conv1.kernel"), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(blob(&c, "conv1.bias"), vec![0.5, -0.5]);
    assert_eq!(c.report.nodes[0].layers, ["reshape1", "conv1", "reshape2"]);
}

#[test]
fn conv_transpose_groups_kernel_layout_and_output_shape_pads() {
    // Cin 2, groups 2, Cout/g 1, 2x2 kernel: W[ci, 0, y, x] = 4 ci + 2 y + x.
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 2, 3, 3])
        .initializer(
            "w",
            &tensor_f32(&[2, 1, 2, 2], (0..8).map(|v| v as f32).collect()),
        )
        .node(
            "ConvTranspose",
            "up",
            &["x", "w"],
            &["y"],
            &[
                ("group", A::Int(2)),
                ("strides", A::Ints(vec![2, 2])),
                ("output_shape", A::Ints(vec![5, 5])),
            ],
        )
        .output("y", &[1, 2, 5, 5]);
    let (c, text) = run(&b);
    // Full size 2 * (3 - 1) + 2 = 6, total padding 1: without SAME_UPPER the extra pixel is
    // cut at the start.
    has(
        &text,
        r#"groups = 2, layer = "deconv1", output_padding = [0, 0], pads = [1, 1, 0, 0], strides = [2, 2]}"#,
    );
    let k = blob(&c, "deconv1.kernel");
    assert_eq!(k, vec![0.0, 4.0, 1.0, 5.0, 2.0, 6.0, 3.0, 7.0]);
}
