//! Constant folding of shape subgraphs, shape inference numbers per operator, unknown operators,
//! and tensor decoding (float16, float64, external data). Models are built with the crate's
//! builder.

use hailo_onnx::builder::{ramp_f32, tensor_f32, tensor_i64, ModelBuilder};
use hailo_onnx::proto::{data_location, StringStringEntryProto, TensorProto};
use hailo_onnx::{
    load, load_bytes, Attribute, IssueKind, LoadOptions, OnnxModel, Removal, TensorData,
};

fn analyse(b: &ModelBuilder) -> OnnxModel {
    load_bytes(
        b.encode().into(),
        "test.onnx",
        None,
        &LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn ints(v: &[i64]) -> Attribute {
    Attribute::Ints(v.to_vec())
}

fn shape<'a>(m: &'a OnnxModel, t: &str) -> &'a [usize] {
    m.shape(t).unwrap_or_else(|| panic!("no shape for {t}"))
}

#[test]
fn shape_gather_unsqueeze_concat_reshape_becomes_constant() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 8, 8])
        .initializer("w", &ramp_f32(&[4, 3, 3, 3]))
        .initializer("zero", &tensor_i64(&[], vec![0]))
        .initializer("axes0", &tensor_i64(&[1], vec![0]))
        .initializer("minus1", &tensor_i64(&[1], vec![-1]))
        .node(
            "Conv",
            "conv",
            &["x", "w"],
            &["c"],
            &[("pads", ints(&[1, 1, 1, 1]))],
        )
        .node("Shape", "shape", &["c"], &["s"], &[])
        .node(
            "Gather",
            "gather",
            &["s", "zero"],
            &["n"],
            &[("axis", Attribute::Int(0))],
        )
        .node("Unsqueeze", "unsq", &["n", "axes0"], &["nu"], &[])
        .node(
            "Concat",
            "cat",
            &["nu", "minus1"],
            &["target"],
            &[("axis", Attribute::Int(0))],
        )
        .node("Reshape", "reshape", &["c", "target"], &["y"], &[])
        .output("y", &[1, 256]);
    let m = analyse(&b);
    let ops: Vec<&str> = m.nodes.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["Conv", "Reshape"]);
    assert_eq!(m.constant("target"), Some(&tensor_i64(&[2], vec![1, -1])));
    assert_eq!(shape(&m, "y"), &[1, 256]);
    let folded: Vec<&str> = m
        .removed
        .iter()
        .filter(|r| r.reason == Removal::Folded)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(folded, ["shape", "gather", "unsq", "cat"]);
    // Intermediate shape values are no longer referenced and are dropped.
    assert!(m.constant("s").is_none() && m.constant("zero").is_none());
}

#[test]
fn shape_slice_cast_mul_feed_resize_sizes_opset11() {
    let mut b = ModelBuilder::new(11);
    b.input("x", &[1, 4, 8, 6])
        .initializer("st0", &tensor_i64(&[1], vec![0]))
        .initializer("st2", &tensor_i64(&[1], vec![2]))
        .initializer("end2", &tensor_i64(&[1], vec![2]))
        .initializer("endmax", &tensor_i64(&[1], vec![i64::MAX]))
        .initializer("two", &tensor_f32(&[], vec![2.0]))
        .initializer("roi", &tensor_f32(&[0], vec![]))
        .initializer("scales", &tensor_f32(&[0], vec![]))
        .node("Shape", "shape", &["x"], &["s"], &[])
        .node("Slice", "head", &["s", "st0", "end2"], &["nc"], &[])
        .node("Slice", "tail", &["s", "st2", "endmax"], &["hw"], &[])
        .node(
            "Cast",
            "tofloat",
            &["hw"],
            &["hwf"],
            &[("to", Attribute::Int(1))],
        )
        .node("Mul", "double", &["hwf", "two"], &["hw2f"], &[])
        .node(
            "Cast",
            "toint",
            &["hw2f"],
            &["hw2"],
            &[("to", Attribute::Int(7))],
        )
        .node(
            "Concat",
            "cat",
            &["nc", "hw2"],
            &["sizes"],
            &[("axis", Attribute::Int(0))],
        )
        .node(
            "Resize",
            "resize",
            &["x", "roi", "scales", "sizes"],
            &["y"],
            &[],
        )
        .output("y", &[1, 4, 16, 12]);
    let m = analyse(&b);
    assert_eq!(m.nodes.len(), 1);
    assert_eq!(
        m.constant("sizes"),
        Some(&tensor_i64(&[4], vec![1, 4, 16, 12]))
    );
    assert_eq!(shape(&m, "y"), &[1, 4, 16, 12]);
}

#[test]
fn constant_slices_ranges_and_arithmetic_fold_exactly() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[10])
        .initializer("data", &tensor_i64(&[10], (0..10).collect()))
        .initializer("start", &tensor_i64(&[1], vec![-1]))
        .initializer("end", &tensor_i64(&[1], vec![-100]))
        .initializer("axes", &tensor_i64(&[1], vec![0]))
        .initializer("step", &tensor_i64(&[1], vec![-3]))
        .initializer("r0", &tensor_i64(&[], vec![0]))
        .initializer("r1", &tensor_i64(&[], vec![10]))
        .initializer("r2", &tensor_i64(&[], vec![3]))
        .initializer("seven", &tensor_i64(&[], vec![7]))
        .node(
            "Slice",
            "rev",
            &["data", "start", "end", "axes", "step"],
            &["sl"],
            &[],
        )
        .node("Range", "range", &["r0", "r1", "r2"], &["rg"], &[])
        .node("Div", "div", &["rg", "seven"], &["q"], &[])
        .node("Sub", "sub", &["sl", "q"], &["d"], &[])
        .node("Add", "use1", &["x", "x"], &["y"], &[])
        .node(
            "Concat",
            "use2",
            &["sl", "rg", "d"],
            &["z"],
            &[("axis", Attribute::Int(0))],
        )
        .output("y", &[10])
        .output("z", &[12]);
    let m = analyse(&b);
    // z = reversed stride-3 slice ++ Range(0, 10, 3) ++ (slice - range / 7); the parts
    // themselves are no longer referenced once z is folded, so they are dropped.
    assert!(m.constant("sl").is_none());
    assert_eq!(
        m.constant("z").map(TensorData::to_i64_vec),
        Some(vec![9, 6, 3, 0, 0, 3, 6, 9, 9, 6, 3, -1])
    );
    assert_eq!(m.nodes.len(), 1, "only the Add on the run-time input stays");
}

#[test]
fn spatial_shapes_match_hand_computed_values() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 10, 10])
        .input("p", &[1, 1, 5, 5])
        .input("q", &[1, 1, 6, 6])
        .initializer("wd", &ramp_f32(&[8, 8, 3, 3]))
        .initializer("wt", &ramp_f32(&[8, 2, 4, 4]))
        .initializer("pads", &tensor_i64(&[8], vec![0, 0, 1, 2, 0, 0, 3, 4]))
        // dilation 2, stride 2, pads 2: (10 + 4 - 5) / 2 + 1 = 5
        .node(
            "Conv",
            "dil",
            &["x", "wd"],
            &["c1"],
            &[
                ("dilations", ints(&[2, 2])),
                ("strides", ints(&[2, 2])),
                ("pads", ints(&[2, 2, 2, 2])),
            ],
        )
        // transposed, group 2: 2 * (5 - 1) + 4 - 2 = 10 spatial, 2 * 2 = 4 channels
        .node(
            "ConvTranspose",
            "up",
            &["c1", "wt"],
            &["c2"],
            &[
                ("strides", ints(&[2, 2])),
                ("pads", ints(&[1, 1, 1, 1])),
                ("group", Attribute::Int(2)),
            ],
        )
        // ceil_mode with the last window starting in the padding: 4 -> 3
        .node(
            "MaxPool",
            "mp_ceil",
            &["p"],
            &["p1"],
            &[
                ("kernel_shape", ints(&[2, 2])),
                ("strides", ints(&[2, 2])),
                ("pads", ints(&[1, 1, 1, 1])),
                ("ceil_mode", Attribute::Int(1)),
            ],
        )
        // ceil_mode: ceil(3 / 2) + 1 = 3 (floor would give 2)
        .node(
            "AveragePool",
            "ap_ceil",
            &["q"],
            &["q1"],
            &[
                ("kernel_shape", ints(&[3, 3])),
                ("strides", ints(&[2, 2])),
                ("ceil_mode", Attribute::Int(1)),
            ],
        )
        .node(
            "MaxPool",
            "mp_same",
            &["x"],
            &["x1"],
            &[
                ("kernel_shape", ints(&[3, 3])),
                ("strides", ints(&[3, 3])),
                ("auto_pad", Attribute::String("SAME_UPPER".into())),
            ],
        )
        .node(
            "DepthToSpace",
            "d2s",
            &["x"],
            &["x2"],
            &[("blocksize", Attribute::Int(2))],
        )
        .node(
            "SpaceToDepth",
            "s2d",
            &["x2"],
            &["x3"],
            &[("blocksize", Attribute::Int(2))],
        )
        .node("Pad", "pad", &["x", "pads"], &["x4"], &[])
        .node("GlobalAveragePool", "gap", &["x"], &["x5"], &[])
        .node(
            "Transpose",
            "nhwc",
            &["x"],
            &["x6"],
            &[("perm", ints(&[0, 2, 3, 1]))],
        )
        .node(
            "Flatten",
            "flat",
            &["x"],
            &["x7"],
            &[("axis", Attribute::Int(2))],
        );
    for o in ["c2", "p1", "q1", "x1", "x3", "x4", "x5", "x6", "x7"] {
        b.output_unshaped(o);
    }
    let m = analyse(&b);
    assert_eq!(shape(&m, "c1"), &[1, 8, 5, 5]);
    assert_eq!(shape(&m, "c2"), &[1, 4, 10, 10]);
    assert_eq!(shape(&m, "p1"), &[1, 1, 3, 3]);
    assert_eq!(shape(&m, "q1"), &[1, 1, 3, 3]);
    assert_eq!(shape(&m, "x1"), &[1, 8, 4, 4]);
    assert_eq!(shape(&m, "x2"), &[1, 2, 20, 20]);
    assert_eq!(shape(&m, "x3"), &[1, 8, 10, 10]);
    assert_eq!(shape(&m, "x4"), &[1, 8, 14, 16]);
    assert_eq!(shape(&m, "x5"), &[1, 8, 1, 1]);
    assert_eq!(shape(&m, "x6"), &[1, 10, 10, 8]);
    assert_eq!(shape(&m, "x7"), &[8, 100]);
}

#[test]
fn dense_broadcast_split_reduce_shapes() {
    let mut b = ModelBuilder::new(13);
    b.input("a", &[1, 16])
        .input("m", &[2, 1, 3, 4])
        .input("e", &[1, 4, 1, 8])
        .input("f", &[1, 8, 4, 4])
        .initializer("w", &ramp_f32(&[10, 16]))
        .initializer("mb", &ramp_f32(&[5, 4, 6]))
        .initializer("eb", &ramp_f32(&[3, 1]))
        .initializer("split", &tensor_i64(&[2], vec![2, 6]))
        .initializer("raxes", &tensor_i64(&[1], vec![1]))
        .node(
            "Gemm",
            "fc",
            &["a", "w"],
            &["g"],
            &[("transB", Attribute::Int(1))],
        )
        .node("MatMul", "mm", &["m", "mb"], &["mmo"], &[])
        .node("Mul", "bc", &["e", "eb"], &["bco"], &[])
        .node(
            "Split",
            "split",
            &["f", "split"],
            &["s0", "s1"],
            &[("axis", Attribute::Int(1))],
        )
        .node(
            "ReduceMean",
            "rmean",
            &["f"],
            &["rm"],
            &[("axes", ints(&[2, 3])), ("keepdims", Attribute::Int(0))],
        )
        .node("ReduceSum", "rsum", &["f", "raxes"], &["rs"], &[])
        .node(
            "Softmax",
            "sm",
            &["g"],
            &["smo"],
            &[("axis", Attribute::Int(-1))],
        )
        .node(
            "ArgMax",
            "am",
            &["g"],
            &["amo"],
            &[("axis", Attribute::Int(1)), ("keepdims", Attribute::Int(0))],
        );
    for o in ["smo", "mmo", "bco", "s0", "s1", "rm", "rs", "amo"] {
        b.output_unshaped(o);
    }
    let m = analyse(&b);
    assert_eq!(shape(&m, "g"), &[1, 10]);
    assert_eq!(shape(&m, "mmo"), &[2, 5, 3, 6]);
    assert_eq!(shape(&m, "bco"), &[1, 4, 3, 8]);
    assert_eq!(
        (shape(&m, "s0"), shape(&m, "s1")),
        (&[1, 2, 4, 4][..], &[1, 6, 4, 4][..])
    );
    assert_eq!(shape(&m, "rm"), &[1, 8]);
    assert_eq!(shape(&m, "rs"), &[1, 1, 4, 4]);
    assert_eq!(shape(&m, "smo"), &[1, 10]);
    assert_eq!(shape(&m, "amo"), &[1]);
}

#[test]
fn unknown_ops_are_listed_not_fatal() {
    let mut b = ModelBuilder::new(13);
    b.opset_import("com.example", 1)
        .input("x", &[1, 4])
        .node("FancyOp", "fancy", &["x"], &["f"], &[])
        .node("Relu", "relu", &["f"], &["y"], &[])
        .output_unshaped("y");
    let mut model = b.build();
    let graph = model.graph.as_mut().expect("graph");
    graph.node.push(hailo_onnx::proto::NodeProto {
        name: "custom".into(),
        op_type: "Relu".into(),
        domain: "com.example".into(),
        input: vec!["x".into()],
        output: vec!["cu".into()],
        ..Default::default()
    });
    graph.output.push(hailo_onnx::proto::ValueInfoProto {
        name: "cu".into(),
        ..Default::default()
    });
    let m = load_bytes(
        prost::Message::encode_to_vec(&model).into(),
        "t",
        None,
        &LoadOptions::default(),
    )
    .expect("loads");
    let issues: Vec<(&str, IssueKind, &str)> = m
        .issues
        .iter()
        .map(|i| (i.node.as_str(), i.kind, i.message.as_str()))
        .collect();
    assert_eq!(
        issues,
        vec![
            (
                "fancy",
                IssueKind::UnknownOp,
                "operator ai.onnx::FancyOp (opset 13) is not known to the frontend"
            ),
            (
                "relu",
                IssueKind::UnresolvedShape,
                "shape of input 'f' is unknown"
            ),
            (
                "custom",
                IssueKind::UnknownOp,
                "operator com.example::Relu (opset 1) is not known to the frontend"
            ),
        ]
    );
    assert!(m.shape("y").is_none());
}

#[test]
fn float16_float64_and_typed_fields_decode() {
    let halfs: Vec<i32> = [1.5f32, -2.0, 0.25]
        .iter()
        .map(|&v| i32::from(half::f16::from_f32(v).to_bits()))
        .collect();
    let mut b = ModelBuilder::new(13);
    b.input("x", &[3])
        .initializer_proto(TensorProto {
            name: "h".into(),
            dims: vec![3],
            data_type: 10,
            int32_data: halfs,
            ..Default::default()
        })
        .initializer_proto(TensorProto {
            name: "d".into(),
            dims: vec![3],
            data_type: 11,
            raw_data: [0.5f64, 1e-3, -4.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>()
                .into(),
            ..Default::default()
        })
        .initializer_proto(TensorProto {
            name: "i".into(),
            dims: vec![3],
            data_type: 7,
            int64_data: vec![4, -5, 6],
            ..Default::default()
        })
        .node("Add", "a1", &["x", "h"], &["y1"], &[])
        .node("Add", "a2", &["y1", "d"], &["y2"], &[])
        .node("Add", "a3", &["y2", "i"], &["y"], &[])
        .output("y", &[3]);
    let m = analyse(&b);
    assert_eq!(
        m.constant("h"),
        Some(&tensor_f32(&[3], vec![1.5, -2.0, 0.25]))
    );
    assert_eq!(
        m.constant("d"),
        Some(&tensor_f32(&[3], vec![0.5, 1e-3, -4.0]))
    );
    assert_eq!(m.constant("i"), Some(&tensor_i64(&[3], vec![4, -5, 6])));
}

#[test]
fn external_data_resolves_relative_to_the_model() {
    let dir = std::env::temp_dir().join(format!("hailo-onnx-ext-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let weights: Vec<f32> = (0..12).map(|i| i as f32 - 5.5).collect();
    let mut blob = vec![0xAAu8; 8];
    blob.extend(weights.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(dir.join("weights.bin"), &blob).expect("write weights");
    let external = |location: &str| TensorProto {
        name: "w".into(),
        dims: vec![3, 4],
        data_type: 1,
        data_location: data_location::EXTERNAL,
        external_data: [("location", location), ("offset", "8"), ("length", "48")]
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
        ..Default::default()
    };
    let model_with = |location: &str| {
        let mut b = ModelBuilder::new(13);
        b.input("x", &[2, 3])
            .initializer_proto(external(location))
            .node("MatMul", "mm", &["x", "w"], &["y"], &[])
            .output("y", &[2, 4]);
        b.encode()
    };
    std::fs::write(dir.join("model.onnx"), model_with("weights.bin")).expect("write model");
    let m = load(dir.join("model.onnx")).expect("loads");
    assert_eq!(m.constant("w"), Some(&tensor_f32(&[3, 4], weights)));
    assert_eq!(shape(&m, "y"), &[2, 4]);

    std::fs::write(dir.join("escape.onnx"), model_with("../weights.bin")).expect("write model");
    let err = load(dir.join("escape.onnx")).expect_err("escaping path");
    assert_eq!(
        err.to_string(),
        "tensor 'w': external data: location '../weights.bin' must be a relative path inside the \
         model's directory (no '/' at the start, no '..')"
    );
    // A symlink out of the directory is refused (it used to copy /etc/passwd into the HAR).
    std::os::unix::fs::symlink("/etc", dir.join("link")).expect("symlink");
    std::fs::write(dir.join("link.onnx"), model_with("link/passwd")).expect("write model");
    let err = load(dir.join("link.onnx")).expect_err("symlink out of the model directory");
    assert_eq!(
        err.to_string(),
        "tensor 'w': external data: location 'link/passwd' resolves to '/etc/passwd', outside \
         the model's directory (through a symbolic link); copy the file into the model's directory"
    );
    // A FIFO is refused at once (it used to block the load forever).
    let fifo = std::ffi::CString::new(dir.join("pipe.bin").into_os_string().into_encoded_bytes())
        .expect("path");
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::fs::write(dir.join("fifo.onnx"), model_with("pipe.bin")).expect("write model");
    let err = load(dir.join("fifo.onnx")).expect_err("FIFO");
    assert!(
        err.to_string().ends_with(
            "pipe.bin' is a FIFO (named pipe), not a regular file; only regular files are read"
        ),
        "{err}"
    );
    std::fs::write(dir.join("short.onnx"), model_with("missing.bin")).expect("write model");
    let err = load(dir.join("short.onnx")).expect_err("missing external file");
    assert!(
        err.to_string().starts_with(&format!(
            "tensor 'w': external data: cannot read '{}': ",
            dir.join("missing.bin").display()
        )),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
