//! Malformed models give errors that name the problem and the node; nothing panics.

use hailo_onnx::builder::{ramp_f32, ModelBuilder};
use hailo_onnx::proto::{AttributeProto, NodeProto};
use hailo_onnx::{
    load, load_bytes, parse_input_shape, Attribute, DataType, Dim, LoadOptions, OnnxError,
};

fn from_bytes(bytes: Vec<u8>) -> Result<hailo_onnx::OnnxModel, OnnxError> {
    load_bytes(bytes.into(), "test.onnx", None, &LoadOptions::default())
}

/// x[1,3,8,8] -> Conv(w, b) -> Relu -> y
fn conv_relu(weight_shape: &[usize]) -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 8, 8])
        .initializer("w", &ramp_f32(weight_shape))
        .initializer("b", &ramp_f32(&[4]))
        .node(
            "Conv",
            "conv1",
            &["x", "w", "b"],
            &["c"],
            &[("pads", Attribute::Ints(vec![1, 1, 1, 1]))],
        )
        .node("Relu", "relu1", &["c"], &["y"], &[])
        .output("y", &[1, 4, 8, 8]);
    b
}

#[test]
fn well_formed_reference_loads() {
    let model = from_bytes(conv_relu(&[4, 3, 3, 3]).encode()).expect("loads");
    assert_eq!(model.shape("y"), Some(&[1, 4, 8, 8][..]));
}

#[test]
fn truncated_protobuf_is_a_decode_error() {
    let bytes = conv_relu(&[4, 3, 3, 3]).encode();
    for cut in [bytes.len() / 2, bytes.len() - 1, 3] {
        let err = from_bytes(bytes[..cut].to_vec()).expect_err("truncated");
        assert!(
            matches!(err, OnnxError::Decode { len, .. } if len == cut),
            "{cut}: {err}"
        );
        assert!(err.to_string().starts_with(&format!(
            "'test.onnx' ({cut} bytes) is not a valid ONNX model"
        )));
    }
    let err = from_bytes(Vec::new()).expect_err("empty");
    assert_eq!(
        err.to_string(),
        "'test.onnx' holds no graph (ModelProto.graph is missing)"
    );
}

#[test]
fn truncated_file_on_disk_names_the_file() {
    let dir = std::env::temp_dir().join(format!("hailo-onnx-trunc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("cut.onnx");
    let bytes = conv_relu(&[4, 3, 3, 3]).encode();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).expect("write");
    let err = load(&path).expect_err("truncated");
    assert!(err.to_string().contains("cut.onnx"), "{err}");
    let missing = load(dir.join("absent.onnx")).expect_err("missing file");
    assert!(matches!(missing, OnnxError::Io { .. }));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn missing_initializer_names_node_and_input() {
    let mut model = conv_relu(&[4, 3, 3, 3]).build();
    let graph = model.graph.as_mut().expect("graph");
    graph.initializer.retain(|t| t.name != "w");
    let err = from_bytes(prost::Message::encode_to_vec(&model)).expect_err("missing");
    assert_eq!(
        err.to_string(),
        "node 'conv1' (Conv) input 'w' is produced by nothing: it is not a graph input, an \
         initializer or the output of another node (missing initializer?)"
    );
}

#[test]
fn dangling_input_and_output_are_reported() {
    let mut b = conv_relu(&[4, 3, 3, 3]);
    b.node("Add", "add1", &["y", "ghost"], &["z"], &[]);
    let err = from_bytes(b.encode()).expect_err("dangling");
    assert!(
        matches!(&err, OnnxError::DanglingInput { node, input, .. } if node == "add1" && input == "ghost")
    );

    let mut b = conv_relu(&[4, 3, 3, 3]);
    b.output("nowhere", &[1]);
    let err = from_bytes(b.encode()).expect_err("dangling output");
    assert_eq!(
        err.to_string(),
        "graph output 'nowhere' is produced by nothing"
    );
}

#[test]
fn wrong_weight_rank_names_the_node() {
    let err = from_bytes(conv_relu(&[4, 27]).encode()).expect_err("rank");
    assert_eq!(
        err.to_string(),
        "node 'conv1' (Conv) input 'w' (weight) has rank 2 (shape [4, 27]), expected 4 (the input's rank)"
    );
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8])
        .initializer("w", &ramp_f32(&[8, 4, 1]))
        .node("Gemm", "fc", &["x", "w"], &["y"], &[])
        .output("y", &[1, 4]);
    let err = from_bytes(b.encode()).expect_err("rank");
    assert!(
        matches!(&err, OnnxError::WeightRank(w) if w.node == "fc" && w.shape.len() == 3),
        "{err}"
    );
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 2, 2])
        .initializer("s", &ramp_f32(&[4, 1]))
        .initializer("bb", &ramp_f32(&[4]))
        .initializer("m", &ramp_f32(&[4]))
        .initializer("v", &ramp_f32(&[4]))
        .node(
            "BatchNormalization",
            "bn",
            &["x", "s", "bb", "m", "v"],
            &["y"],
            &[],
        )
        .output("y", &[1, 4, 2, 2]);
    let err = from_bytes(b.encode()).expect_err("rank");
    assert!(
        matches!(&err, OnnxError::WeightRank(w) if w.node == "bn" && w.role == "scale" && w.shape == [4, 1]),
        "{err}"
    );
}

#[test]
fn channel_mismatch_names_the_node() {
    let err = from_bytes(conv_relu(&[4, 2, 3, 3]).encode()).expect_err("channels");
    assert_eq!(
        err.to_string(),
        "node 'conv1' (Conv): input channels 3 do not match weight shape [4, 2, 3, 3] with group 1"
    );
}

#[test]
fn unknown_attribute_type_names_the_node() {
    let mut b = conv_relu(&[4, 3, 3, 3]);
    b.node_proto(NodeProto {
        name: "odd".into(),
        op_type: "Relu".into(),
        input: vec!["y".into()],
        output: vec!["z".into()],
        attribute: vec![AttributeProto {
            name: "mystery".into(),
            r#type: 99,
            ..Default::default()
        }],
        ..Default::default()
    });
    let err = from_bytes(b.encode()).expect_err("attr type");
    assert_eq!(
        err.to_string(),
        "node 'odd' (Relu) attribute 'mystery' has unknown attribute type 99"
    );
}

#[test]
fn wrong_attribute_type_names_the_node() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 8, 8])
        .node(
            "MaxPool",
            "pool",
            &["x"],
            &["y"],
            &[("kernel_shape", Attribute::Int(2))],
        )
        .output("y", &[1, 4, 4, 4]);
    let err = from_bytes(b.encode()).expect_err("attr");
    assert_eq!(
        err.to_string(),
        "node 'pool' (MaxPool) attribute 'kernel_shape': expected type INTS, found INT"
    );
}

#[test]
fn cycles_and_double_producers_are_reported() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4])
        .node("Add", "a", &["x", "q"], &["p"], &[])
        .node("Relu", "r", &["p"], &["q"], &[])
        .output("q", &[1, 4]);
    let err = from_bytes(b.encode()).expect_err("cycle");
    assert_eq!(
        err.to_string(),
        "the graph has a cycle; nodes on or behind it: 'a', 'r'"
    );

    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4])
        .node("Relu", "r1", &["x"], &["y"], &[])
        .node("Relu", "r2", &["x"], &["y"], &[])
        .output("y", &[1, 4]);
    let err = from_bytes(b.encode()).expect_err("duplicate");
    assert_eq!(
        err.to_string(),
        "tensor 'y' is produced twice: by node 'r1' and by node 'r2'"
    );
}

#[test]
fn symbolic_input_needs_an_override() {
    let mut b = ModelBuilder::new(13);
    b.input_dims(
        "x",
        DataType::Float,
        &[
            Dim::Symbolic("batch".into()),
            Dim::Fixed(3),
            Dim::Fixed(8),
            Dim::Fixed(8),
        ],
    )
    .node("Relu", "r", &["x"], &["y"], &[])
    .output_unshaped("y");
    let bytes = b.encode();
    let err = from_bytes(bytes.clone()).expect_err("symbolic");
    assert_eq!(
        err.to_string(),
        "graph input 'x': dimension 0 is symbolic ('batch'); give a static shape, e.g. \
         --net-input-shapes x=1,3,8,8"
    );
    let opts = LoadOptions {
        input_shapes: vec![parse_input_shape("x=2,3,8,8").expect("parses")],
    };
    let model = load_bytes(bytes.clone().into(), "t", None, &opts).expect("loads");
    assert_eq!(model.shape("y"), Some(&[2, 3, 8, 8][..]));
    let bad = LoadOptions {
        input_shapes: vec![("x".into(), vec![1, 3])],
    };
    let err = load_bytes(bytes.clone().into(), "t", None, &bad).expect_err("rank");
    assert!(
        err.to_string()
            .contains("has rank 2 but the model declares rank 4"),
        "{err}"
    );
    let unknown = LoadOptions {
        input_shapes: vec![("input.1".into(), vec![1])],
    };
    let err = load_bytes(bytes.into(), "t", None, &unknown).expect_err("name");
    assert_eq!(
        err.to_string(),
        "graph input 'input.1': no such graph input; the inputs are: x"
    );
    assert!(parse_input_shape("x=1,a").is_err());
    assert_eq!(
        parse_input_shape("a=b=1,2").expect("parses"),
        ("a=b".to_string(), vec![1, 2])
    );
}

#[test]
fn bad_tensor_payloads_are_errors() {
    let mut t = hailo_onnx::tensor_to_proto("w", &ramp_f32(&[4, 3, 3, 3]));
    t.raw_data = t.raw_data.slice(..10);
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 8, 8])
        .initializer_proto(t)
        .node("Conv", "conv1", &["x", "w"], &["y"], &[])
        .output("y", &[1, 4, 6, 6]);
    let err = from_bytes(b.encode()).expect_err("short raw data");
    assert_eq!(
        err.to_string(),
        "tensor 'w': raw data has 10 bytes but 108 values of Float need 432"
    );
}

#[test]
fn every_truncation_and_byte_flip_is_handled_without_panic() {
    let mut b = conv_relu(&[4, 3, 3, 3]);
    b.initializer(
        "target",
        &hailo_onnx::builder::tensor_i64(&[2], vec![1, -1]),
    )
    .node("Shape", "shape", &["y"], &["s"], &[])
    .node("Reshape", "flat", &["y", "target"], &["z"], &[])
    .output_unshaped("s")
    .output_unshaped("z");
    let bytes = b.encode();
    let mut errors = 0;
    for cut in 0..bytes.len() {
        errors += usize::from(from_bytes(bytes[..cut].to_vec()).is_err());
    }
    for pos in 0..bytes.len() {
        for flip in [0xFFu8, 0x01, 0x80] {
            let mut corrupted = bytes.clone();
            corrupted[pos] ^= flip;
            errors += usize::from(from_bytes(corrupted).is_err());
        }
    }
    // Most corruptions must be detected (the rest decode to a different but valid model).
    assert!(
        errors > bytes.len() * 2,
        "{errors} errors for {} bytes",
        bytes.len()
    );
}

#[test]
fn add_without_inputs_is_an_error_not_a_panic() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3])
        .node("Add", "empty_add", &[], &["s"], &[])
        .node("Add", "a", &["x", "s"], &["y"], &[])
        .output("y", &[1, 3]);
    let err = from_bytes(b.encode()).expect_err("Add with no inputs");
    assert_eq!(
        err.to_string(),
        "node 'empty_add' (Add): Add needs 1 input(s), the node has 0"
    );
}

#[test]
fn huge_input_dimensions_are_refused_at_load() {
    for dim in [1usize << 40, 1 << 62] {
        let mut b = ModelBuilder::new(13);
        b.input("x", &[1, dim])
            .node("Relu", "r", &["x"], &["y"], &[])
            .output("y", &[1, dim]);
        let err = from_bytes(b.encode()).expect_err("huge input");
        assert_eq!(
            err.to_string(),
            format!(
                "graph input 'x': shape [1, {dim}] has {dim} elements, over the budget of \
                 268435456 elements per tensor; if the model really needs it, raise the budget \
                 with HAILO_MAX_TENSOR_ELEMENTS=N"
            )
        );
    }
}

#[test]
fn huge_conv_pads_are_refused_at_load() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 8, 8])
        .initializer("w", &ramp_f32(&[4, 3, 3, 3]))
        .node(
            "Conv",
            "conv1",
            &["x", "w"],
            &["y"],
            &[("pads", Attribute::Ints(vec![100000; 4]))],
        )
        .output("y", &[1, 4, 200006, 200006]);
    let err = from_bytes(b.encode()).expect_err("huge pads");
    assert!(
        err.to_string().starts_with(
            "node 'conv1' (Conv): output shape [1, 4, 200006, 200006] has 160009600144 \
             elements, over the budget"
        ),
        "{err}"
    );
}

#[test]
fn non_finite_weights_name_the_node_and_tensor() {
    for (bad, what) in [(f32::INFINITY, "inf"), (f32::NAN, "NaN")] {
        let mut w = ramp_f32(&[4, 3, 3, 3]);
        if let hailo_onnx::TensorData::F32(a) = &mut w {
            a[[1, 2, 0, 1]] = bad;
        }
        let mut b = ModelBuilder::new(13);
        b.input("x", &[1, 3, 8, 8])
            .initializer("w", &w)
            .node("Conv", "conv1", &["x", "w"], &["y"], &[])
            .output("y", &[1, 4, 6, 6]);
        let err = from_bytes(b.encode()).expect_err("non-finite weight");
        assert_eq!(
            err.to_string(),
            format!(
                "node 'conv1' (Conv): input 'w' holds {what} at index [1, 2, 0, 1]; the model's \
                 weights are damaged (re-export the model, or fix the training run)"
            )
        );
    }
}

/// Field `field` (length-delimited) holding `body`, protobuf-encoded.
fn wrap(field: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 8);
    for mut n in [u64::from(field << 3 | 2), body.len() as u64] {
        while n >= 0x80 {
            out.push(n as u8 | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }
    out.extend_from_slice(body);
    out
}

#[test]
fn deeply_nested_subgraphs_are_a_decode_error_not_a_stack_overflow() {
    // graph.node[0].attribute[0].g.node[0].attribute[0].g ... 3,000 levels deep.
    let mut graph = Vec::new();
    for _ in 0..3000 {
        let attribute = wrap(6, &graph); // AttributeProto.g
        let node = wrap(5, &attribute); // NodeProto.attribute
        graph = wrap(1, &node); // GraphProto.node
    }
    let model = wrap(7, &graph); // ModelProto.graph
    let err = from_bytes(model).expect_err("too deep");
    assert!(matches!(err, OnnxError::Decode { .. }), "{err}");
    assert!(err.to_string().contains("recursion limit reached"), "{err}");
}
