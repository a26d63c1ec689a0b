//! Hand-built TFLite flatbuffers exercising features the shared model lacks:
//! external buffers, fp16 DEQUANTIZE folding, quantized-model rejection,
//! unsupported-op reporting, option decoding and exact validation errors.

mod common;

use common::{buffer, f32_bytes, i32_bytes, model, opcode, operator, serialize, tensor, Obj, Val};
use hailo_tflite::schema::options as opt;
use hailo_tflite::*;

const F32: i8 = 0;
const F16: i8 = 1;
const I32: i8 = 2;
const I8: i8 = 9;

/// x[1,2] + c[1,2] with the constant in buffer 1.
fn add_model(const_buffer: Obj) -> Obj {
    model(
        vec![opcode(0)],
        vec![
            tensor("x", &[1, 2], F32, 0),
            tensor("c", &[1, 2], F32, 1),
            tensor("y", &[1, 2], F32, 0),
        ],
        &[0],
        &[2],
        vec![operator(
            0,
            &[0, 1],
            &[2],
            Some((opt::ADD.code, Obj::default().with(0, Val::I8(1)))),
        )],
        vec![buffer(vec![]), const_buffer],
    )
}

#[test]
fn reads_add_with_fused_relu() {
    let g = read_tflite(&serialize(&add_model(buffer(f32_bytes(&[1.5, -2.0]))))).unwrap();
    assert_eq!(g.ops.len(), 1);
    assert_eq!(
        g.ops[0].kind,
        OpKind::Binary {
            op: BinaryOp::Add,
            activation: Activation::Relu
        }
    );
    assert_eq!(g.ops[0].inputs, [0, 1]);
    assert_eq!(g.tensors[1].data, Some(TensorData::Float(vec![1.5, -2.0])));
}

#[test]
fn reads_buffer_stored_past_the_flatbuffer() {
    // Placeholder offset first to learn the flatbuffer size (fixed-width field).
    let ext = |offset: u64, size: u64| {
        Obj::default()
            .with(1, Val::U64(offset))
            .with(2, Val::U64(size))
    };
    let mut bytes = serialize(&add_model(ext(u64::MAX, 8)));
    let offset = bytes.len() as u64 + 16;
    bytes = serialize(&add_model(ext(offset, 8)));
    bytes.resize(offset as usize, 0);
    bytes.extend_from_slice(&f32_bytes(&[3.0, 4.0]));
    let model = hailo_tflite::schema::Model::parse(&bytes).unwrap();
    assert!(model.buffers[1].external);
    let g = read_tflite(&bytes).unwrap();
    assert_eq!(g.tensors[1].data, Some(TensorData::Float(vec![3.0, 4.0])));

    bytes.truncate(bytes.len() - 1);
    let err = read_tflite(&bytes).unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "external data range offset {offset} + size 8 lies outside the {}-byte file",
            bytes.len()
        )),
        "{err}"
    );
}

#[test]
fn folds_fp16_dequantize_into_f32_constant() {
    let half: Vec<u8> = [0.5f32, -1.25]
        .iter()
        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
        .collect();
    let m = model(
        vec![opcode(6), opcode(18)],
        vec![
            tensor("x", &[2], F32, 0),
            tensor("w16", &[2], F16, 1),
            tensor("w", &[2], F32, 0),
            tensor("y", &[2], F32, 0),
        ],
        &[0],
        &[3],
        vec![
            operator(0, &[1], &[2], None),
            operator(1, &[0, 2], &[3], Some((opt::MUL.code, Obj::default()))),
        ],
        vec![buffer(vec![]), buffer(half)],
    );
    let g = read_tflite(&serialize(&m)).unwrap();
    assert_eq!(g.ops.len(), 1, "DEQUANTIZE folded away");
    assert_eq!(g.ops[0].tflite_index, 1);
    assert_eq!(
        g.ops[0].kind,
        OpKind::Binary {
            op: BinaryOp::Mul,
            activation: Activation::None
        }
    );
    assert_eq!(g.tensors[2].data, Some(TensorData::Float(vec![0.5, -1.25])));
    assert_eq!(g.tensors[2].dtype, DType::F32);
}

#[test]
fn rejects_int8_quantized_model_with_guide_explanation() {
    let q = Obj::default()
        .with(2, Val::Floats(vec![0.02]))
        .with(3, Val::Longs(vec![-3]));
    let m = model(
        vec![opcode(19)],
        vec![
            tensor("x", &[4], F32, 0),
            tensor("q", &[4], I8, 0).with(4, Val::Table(q)),
        ],
        &[0],
        &[1],
        vec![operator(0, &[0], &[1], None)],
        vec![buffer(vec![])],
    );
    let err = read_tflite(&serialize(&m)).unwrap_err();
    assert!(
        matches!(&err, TfliteError::QuantizedModel { tensor, bits: 8, .. } if tensor == "q"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("already quantized to 8 bits"), "{msg}");
    assert!(
        msg.contains("Hailo supports 32-bit/16-bit (float) TFLite models"),
        "{msg}"
    );
    assert!(msg.contains("§5.1.2"), "{msg}");
}

#[test]
fn lists_every_unsupported_operator() {
    let custom = Obj::default()
        .with(1, Val::Str("MyOp".into()))
        .with(3, Val::I32(32));
    let m = model(
        vec![opcode(66), custom, opcode(34), opcode(19)],
        vec![
            tensor("x", &[1, 4], F32, 0),
            tensor("sin_out", &[1, 4], F32, 0),
            tensor("custom_out", &[1, 4], F32, 0),
            tensor("pads", &[2, 2], I32, 0),
            tensor("pad_out", &[1, 6], F32, 0),
            tensor("relu_out", &[1, 6], F32, 0),
        ],
        &[0, 3],
        &[5],
        vec![
            operator(0, &[0], &[1], None),
            operator(1, &[1], &[2], None),
            operator(2, &[2, 3], &[4], None),
            operator(3, &[4], &[5], None),
        ],
        vec![buffer(vec![])],
    );
    let g = read_tflite(&serialize(&m)).unwrap();
    let got: Vec<(usize, String, String)> = g
        .unsupported_ops()
        .into_iter()
        .map(|u| (u.op_index, u.op_name, u.output_name))
        .collect();
    assert_eq!(
        got,
        [
            (0, "SIN".to_string(), "sin_out".to_string()),
            (1, "CUSTOM:MyOp".to_string(), "custom_out".to_string()),
            (2, "PAD".to_string(), "pad_out".to_string()),
        ]
    );
    assert_eq!(
        g.unsupported_ops()[2].reason,
        "parameter 'paddings' (tensor 'pads') is computed at runtime; only constant parameters are supported"
    );
    assert_eq!(g.ops[3].kind, OpKind::Unary(UnaryOp::Relu));
}

#[test]
fn operator_code_uses_larger_of_deprecated_and_extended_fields() {
    let old_style = Obj::default().with(0, Val::I8(3)); // only the byte field (pre-2.3 files)
    let extended = Obj::default().with(0, Val::I8(127)).with(3, Val::I32(150));
    let m = model(
        vec![old_style, extended, opcode(4)],
        vec![],
        &[],
        &[],
        vec![],
        vec![buffer(vec![])],
    );
    let bytes = serialize(&m);
    let parsed = hailo_tflite::schema::Model::parse(&bytes).unwrap();
    let names: Vec<String> = parsed.operator_codes.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["CONV_2D", "GELU", "DEPTHWISE_CONV_2D"]);
}

/// x [1,5,5,4] -> DEPTHWISE_CONV_2D with filter [1,3,3,8] (multiplier 2).
fn depthwise_model(stride_h: i32) -> Obj {
    let options = Obj::default()
        .with(0, Val::I8(0))
        .with(1, Val::I32(1))
        .with(2, Val::I32(stride_h))
        .with(3, Val::I32(2))
        .with(4, Val::I8(3))
        .with(5, Val::I32(2));
    model(
        vec![opcode(4)],
        vec![
            tensor("x", &[1, 5, 5, 4], F32, 0),
            tensor("w", &[1, 3, 3, 8], F32, 1),
            tensor("y", &[1, 5, 5, 8], F32, 0),
        ],
        &[0],
        &[2],
        vec![operator(
            0,
            &[0, 1, -1],
            &[2],
            Some((opt::DEPTHWISE_CONV_2D.code, options)),
        )],
        vec![buffer(vec![]), buffer(f32_bytes(&[0.25; 72]))],
    )
}

#[test]
fn depthwise_with_multiplier_and_omitted_bias() {
    let g = read_tflite(&serialize(&depthwise_model(1))).unwrap();
    let params = ConvParams {
        padding: Padding::Same,
        stride: [1, 1],
        dilation: [1, 2],
        activation: Activation::Relu6,
    };
    assert_eq!(
        g.ops[0].kind,
        OpKind::DepthwiseConv2d {
            params,
            depth_multiplier: 2
        }
    );
    assert_eq!(g.ops[0].inputs, [0, 1], "bias -1 omitted");
}

#[test]
fn zero_stride_is_an_error() {
    let err = read_tflite(&serialize(&depthwise_model(0)))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("operator 0 (DEPTHWISE_CONV_2D) at byte offset "),
        "{err}"
    );
    assert!(err.ends_with(": stride (h) is 0, must be >= 1"), "{err}");
}

#[test]
fn wrong_options_union_type_is_an_error() {
    let mut m = add_model(buffer(f32_bytes(&[1.0, 2.0])));
    // Replace the ADD operator's options with a Conv2DOptions table.
    let op = operator(0, &[0, 1], &[2], Some((opt::CONV_2D.code, Obj::default())));
    if let Val::Tables(sgs) = &mut m.0[2].1 {
        sgs[0].0[3].1 = Val::Tables(vec![op]);
    }
    let err = read_tflite(&serialize(&m)).unwrap_err();
    assert!(
        matches!(
            &err,
            TfliteError::WrongOptionsType {
                op_index: 0,
                found: 1,
                expected: 11,
                expected_name: "AddOptions",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("operator 0 (ADD)"), "{err}");
}

#[test]
fn out_of_range_indices_are_errors() {
    let cases: [(Obj, &str); 4] = [
        (
            model(
                vec![opcode(19)],
                vec![tensor("x", &[1], F32, 0)],
                &[0],
                &[0],
                vec![operator(0, &[7], &[0], None)],
                vec![buffer(vec![])],
            ),
            "operator 0 (RELU) input 0 tensor at byte offset",
        ),
        (
            model(
                vec![opcode(19)],
                vec![tensor("x", &[1], F32, 0)],
                &[0],
                &[0],
                vec![operator(3, &[0], &[0], None)],
                vec![buffer(vec![])],
            ),
            "operator 0 opcode_index at byte offset",
        ),
        (
            model(
                vec![],
                vec![tensor("x", &[1], F32, 0)],
                &[0],
                &[4],
                vec![],
                vec![buffer(vec![])],
            ),
            "subgraph 0 output 0 tensor at byte offset",
        ),
        (
            model(
                vec![],
                vec![tensor("x", &[1], F32, 5)],
                &[0],
                &[0],
                vec![],
                vec![buffer(vec![])],
            ),
            "tensor 0 'x' buffer at byte offset",
        ),
    ];
    for (m, prefix) in cases {
        let err = read_tflite(&serialize(&m)).unwrap_err();
        assert!(
            matches!(err, TfliteError::IndexOutOfRange { .. }),
            "{err:?}"
        );
        assert!(err.to_string().starts_with(prefix), "{err}");
    }
}

#[test]
fn constant_size_must_match_shape() {
    let err = read_tflite(&serialize(&add_model(buffer(i32_bytes(&[1, 2, 3])))))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("tensor 1 'c' at byte offset "), "{err}");
    assert!(
        err.ends_with("constant buffer holds 12 bytes but shape [1, 2] of F32 needs 2 x 4 bytes"),
        "{err}"
    );
}

#[test]
fn transpose_conv_reorders_inputs_and_resolves_output_shape() {
    let options = Obj::default()
        .with(0, Val::I8(1))
        .with(1, Val::I32(2))
        .with(2, Val::I32(2));
    let m = model(
        vec![opcode(67)],
        vec![
            tensor("oshape", &[4], I32, 1),
            tensor("w", &[2, 2, 2, 3], F32, 2),
            tensor("x", &[1, 4, 4, 3], F32, 0),
            tensor("y", &[1, 8, 8, 2], F32, 0),
        ],
        &[2],
        &[3],
        vec![operator(
            0,
            &[0, 1, 2],
            &[3],
            Some((opt::TRANSPOSE_CONV.code, options)),
        )],
        vec![
            buffer(vec![]),
            buffer(i32_bytes(&[1, 8, 8, 2])),
            buffer(f32_bytes(&[0.0; 24])),
        ],
    );
    let g = read_tflite(&serialize(&m)).unwrap();
    assert_eq!(
        g.ops[0].kind,
        OpKind::TransposeConv {
            padding: Padding::Valid,
            stride: [2, 2],
            activation: Activation::None,
            output_shape: vec![1, 8, 8, 2]
        }
    );
    assert_eq!(g.ops[0].inputs, [2, 1]);
}

#[test]
fn non_finite_constants_name_the_tensor() {
    let err = read_tflite(&serialize(&add_model(buffer(f32_bytes(&[
        1.0,
        f32::INFINITY,
    ])))))
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("tensor 1 'c' at byte offset "), "{err}");
    assert!(
        err.ends_with(
            "constant holds inf at flat index 1; the model's weights are damaged (re-export the \
             model, or fix the training run)"
        ),
        "{err}"
    );
}

#[test]
fn shapes_over_the_element_budget_are_refused() {
    let huge = model(
        vec![opcode(0)],
        vec![
            tensor("x", &[1 << 20, 1 << 20], F32, 0),
            tensor("y", &[1 << 20, 1 << 20], F32, 0),
        ],
        &[0],
        &[1],
        vec![operator(0, &[0, 0], &[1], None)],
        vec![buffer(vec![])],
    );
    let err = read_tflite(&serialize(&huge)).unwrap_err().to_string();
    assert!(err.starts_with("tensor 0 'x' at byte offset "), "{err}");
    assert!(
        err.ends_with(
            "shape [1048576, 1048576] has 1099511627776 elements, over the budget of 268435456 \
             elements per tensor; if the model really needs it, raise the budget with \
             HAILO_MAX_TENSOR_ELEMENTS=N"
        ),
        "{err}"
    );
}
