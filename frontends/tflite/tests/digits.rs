//! The shared `digits_cnn.tflite` model: structure, weights and a numeric
//! forward pass against the LiteRT reference output.

mod common;

use hailo_tflite::schema::Model;
use hailo_tflite::*;

fn digits() -> TfliteGraph {
    read_tflite_file(&common::shared_model("digits_cnn.tflite")).expect("digits_cnn.tflite reads")
}

#[test]
fn schema_level_model_fields() {
    let bytes = std::fs::read(common::shared_model("digits_cnn.tflite")).unwrap();
    let m = Model::parse(&bytes).unwrap();
    assert_eq!(m.version, 3);
    let codes: Vec<String> = m.operator_codes.iter().map(|c| c.name()).collect();
    assert_eq!(
        codes,
        ["PAD", "CONV_2D", "MAX_POOL_2D", "MEAN", "FULLY_CONNECTED"]
    );
    assert_eq!(m.subgraphs.len(), 1);
    assert_eq!(m.subgraphs[0].operators.len(), 8);
    assert_eq!(m.buffers.len(), 22);
    assert!(
        m.buffers[0].data.is_empty(),
        "buffer 0 is the empty sentinel"
    );
    let names: Vec<&str> = m.metadata.iter().map(|md| md.name.as_str()).collect();
    assert_eq!(names, ["min_runtime_version", "CONVERSION_METADATA"]);
    let version = m.buffers[m.metadata[0].buffer as usize].data;
    assert!(
        version.starts_with(b"1.") || version.starts_with(b"2."),
        "{version:?}"
    );
}

#[test]
fn op_list_and_options() {
    let g = digits();
    let conv = |padding, stride| {
        OpKind::Conv2d(ConvParams {
            padding,
            stride: [stride; 2],
            dilation: [1, 1],
            activation: Activation::Relu,
        })
    };
    let pad = OpKind::Pad {
        paddings: vec![[0, 0], [1, 1], [1, 1], [0, 0]],
        value: 0.0,
    };
    let kinds: Vec<&OpKind> = g.ops.iter().map(|o| &o.kind).collect();
    let expected = [
        pad.clone(),
        conv(Padding::Valid, 2),
        pad,
        conv(Padding::Valid, 2),
        conv(Padding::Same, 1),
        OpKind::MaxPool2d(PoolParams {
            padding: Padding::Valid,
            stride: [2, 2],
            filter: [2, 2],
            activation: Activation::None,
        }),
        OpKind::Reduce {
            op: ReduceOp::Mean,
            axes: vec![1, 2],
            keep_dims: false,
        },
        OpKind::FullyConnected {
            activation: Activation::None,
            keep_num_dims: false,
        },
    ];
    assert_eq!(kinds, expected.iter().collect::<Vec<_>>());
    assert!(g.unsupported_ops().is_empty());
    // Parameter tensors are resolved away: PAD and MEAN keep one dataflow input.
    assert_eq!(g.ops[0].inputs.len(), 1);
    assert_eq!(g.ops[6].inputs.len(), 1);
    assert_eq!(
        g.ops.iter().map(|o| o.tflite_index).collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>()
    );
    assert_eq!(g.ops[7].name_hint, "StatefulPartitionedCall_1:0");
}

#[test]
fn io_and_tensor_shapes() {
    let g = digits();
    let input = &g.tensors[g.inputs[0]];
    assert_eq!(
        (input.name.as_str(), input.shape.as_slice()),
        ("serving_default_input:0", &[1, 32, 32, 3][..])
    );
    assert_eq!(input.dtype, DType::F32);
    assert!(input.data.is_none());
    let output = &g.tensors[g.outputs[0]];
    assert_eq!(
        (output.name.as_str(), output.shape.as_slice()),
        ("StatefulPartitionedCall_1:0", &[1, 10][..])
    );
    let shape = |op: usize, k: usize| g.tensors[g.ops[op].inputs[k]].shape.clone();
    assert_eq!(shape(1, 1), [32, 3, 3, 3]); // OHWI
    assert_eq!(shape(3, 1), [64, 3, 3, 32]);
    assert_eq!(shape(4, 1), [128, 3, 3, 64]);
    assert_eq!(shape(7, 1), [10, 128]);
    let out_shape = |op: usize| g.tensors[g.ops[op].outputs[0]].shape.clone();
    assert_eq!(out_shape(1), [1, 16, 16, 32]);
    assert_eq!(out_shape(3), [1, 8, 8, 64]);
    assert_eq!(out_shape(5), [1, 4, 4, 128]);
    assert_eq!(out_shape(6), [1, 128]);
    // Fused names are kept verbatim (start/end node names match them).
    assert!(g.tensor_by_name(
        "digits_cnn_1/relu1_1/Relu;digits_cnn_1/bn1_1/batchnorm/add_1;digits_cnn_1/conv1_1/convolution;digits_cnn_1/bn1_1/batchnorm/sub1"
    )
    .is_some());
}

#[test]
fn weight_count_matches_readme() {
    // README: 94,762 PyTorch parameters = bias-free convs (864 + 18,432 + 73,728)
    // + BatchNorm gamma/beta (2 x (32 + 64 + 128) = 448) + dense (1,280 + 10).
    // Folding BatchNorm replaces gamma/beta by one bias per channel (224).
    let g = digits();
    let floats: usize = g
        .tensors
        .iter()
        .filter_map(|t| match &t.data {
            Some(TensorData::Float(v)) => Some(v.len()),
            _ => None,
        })
        .sum();
    assert_eq!(floats, 94_762 - 448 + 224);
}

/// NHWC activation.
struct Act {
    shape: [usize; 4],
    data: Vec<f32>,
}

fn act(g: &TfliteGraph, id: TensorId, data: Vec<f32>) -> Act {
    let mut shape = [1; 4];
    for (slot, &d) in shape.iter_mut().zip(&g.tensors[id].shape) {
        *slot = d;
    }
    Act { shape, data }
}

fn consts(g: &TfliteGraph, id: TensorId) -> Vec<f32> {
    g.tensors[id].data.as_ref().expect("constant").to_f32()
}

fn apply(a: Activation, x: f32) -> f32 {
    match a {
        Activation::None => x,
        Activation::Relu => x.max(0.0),
        Activation::Relu6 => x.clamp(0.0, 6.0),
        Activation::ReluN1To1 => x.clamp(-1.0, 1.0),
        Activation::Tanh => x.tanh(),
    }
}

/// Reference NHWC conv (batch 1), driven only by the decoded options.
fn conv(
    x: &Act,
    w: &[f32],
    wshape: &[usize],
    b: &[f32],
    p: &ConvParams,
    out: [usize; 4],
) -> Vec<f32> {
    let [_, ih, iw, ic] = x.shape;
    let (kh, kw) = (wshape[1], wshape[2]);
    let pad = |i: usize, o: usize, k: usize, s: usize| match p.padding {
        Padding::Valid => 0i64,
        Padding::Same => (((o - 1) * s + k).saturating_sub(i) / 2) as i64,
    };
    let (pt, pl) = (
        pad(ih, out[1], kh, p.stride[0]),
        pad(iw, out[2], kw, p.stride[1]),
    );
    let mut y = vec![0f32; out.iter().product()];
    for oy in 0..out[1] {
        for ox in 0..out[2] {
            for oc in 0..out[3] {
                let mut acc = b[oc];
                for ky in 0..kh {
                    for kx in 0..kw {
                        let iy = (oy * p.stride[0] + ky) as i64 - pt;
                        let ix = (ox * p.stride[1] + kx) as i64 - pl;
                        if iy < 0 || ix < 0 || iy >= ih as i64 || ix >= iw as i64 {
                            continue;
                        }
                        for c in 0..ic {
                            acc += x.data[((iy as usize) * iw + ix as usize) * ic + c]
                                * w[((oc * kh + ky) * kw + kx) * ic + c];
                        }
                    }
                }
                y[(oy * out[2] + ox) * out[3] + oc] = apply(p.activation, acc);
            }
        }
    }
    y
}

fn forward(g: &TfliteGraph, input: Vec<f32>) -> Vec<f32> {
    let mut values: Vec<Option<Vec<f32>>> = vec![None; g.tensors.len()];
    values[g.inputs[0]] = Some(input);
    for op in &g.ops {
        let x = act(
            g,
            op.inputs[0],
            values[op.inputs[0]].clone().expect("computed"),
        );
        let out_id = op.outputs[0];
        let os = &g.tensors[out_id].shape;
        let y = match &op.kind {
            OpKind::Pad { paddings, value } => {
                let o = [os[0], os[1], os[2], os[3]];
                let mut y = vec![*value; o.iter().product()];
                let [_, h, w, c] = x.shape;
                let (t, l) = (paddings[1][0] as usize, paddings[2][0] as usize);
                for iy in 0..h {
                    for ix in 0..w {
                        for ch in 0..c {
                            y[((iy + t) * o[2] + ix + l) * o[3] + ch] =
                                x.data[(iy * w + ix) * c + ch];
                        }
                    }
                }
                y
            }
            OpKind::Conv2d(p) => {
                let w = &g.tensors[op.inputs[1]];
                conv(
                    &x,
                    &consts(g, op.inputs[1]),
                    &w.shape,
                    &consts(g, op.inputs[2]),
                    p,
                    [os[0], os[1], os[2], os[3]],
                )
            }
            OpKind::MaxPool2d(p) => {
                let [_, _, w, c] = x.shape;
                let mut y = vec![f32::MIN; os.iter().product()];
                for oy in 0..os[1] {
                    for ox in 0..os[2] {
                        for ch in 0..c {
                            for ky in 0..p.filter[0] {
                                for kx in 0..p.filter[1] {
                                    let v = x.data[((oy * p.stride[0] + ky) * w
                                        + ox * p.stride[1]
                                        + kx)
                                        * c
                                        + ch];
                                    let slot = &mut y[(oy * os[2] + ox) * c + ch];
                                    *slot = slot.max(v);
                                }
                            }
                        }
                    }
                }
                y
            }
            OpKind::Reduce {
                op: ReduceOp::Mean,
                axes,
                keep_dims: false,
            } => {
                assert_eq!(axes, &[1, 2]);
                let [_, h, w, c] = x.shape;
                (0..c)
                    .map(|ch| (0..h * w).map(|i| x.data[i * c + ch]).sum::<f32>() / (h * w) as f32)
                    .collect()
            }
            OpKind::FullyConnected { activation, .. } => {
                let (w, b) = (consts(g, op.inputs[1]), consts(g, op.inputs[2]));
                let n = x.data.len();
                (0..b.len())
                    .map(|o| {
                        apply(
                            *activation,
                            b[o] + (0..n).map(|i| w[o * n + i] * x.data[i]).sum::<f32>(),
                        )
                    })
                    .collect()
            }
            other => panic!("unexpected op {other:?}"),
        };
        values[out_id] = Some(y);
    }
    values[g.outputs[0]].clone().expect("output computed")
}

#[test]
fn forward_pass_matches_litert_reference() {
    let g = digits();
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/digits_ref_sample0.f32"
    ))
    .unwrap();
    let floats: Vec<f32> = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let (input, reference) = floats.split_at(32 * 32 * 3);
    let got = forward(&g, input.to_vec());
    assert_eq!(got.len(), 10);
    for (i, (&a, &b)) in got.iter().zip(reference).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 + 1e-4 * b.abs(),
            "logit {i}: got {a}, reference {b}"
        );
    }
}
