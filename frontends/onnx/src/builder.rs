//! A small ONNX model builder, public so that tests of this and other crates can generate tiny
//! models in code instead of downloading them. It writes the same protobuf messages the loader
//! reads; `build` returns the `ModelProto` so a test can also corrupt it on purpose.

use ndarray::{ArrayD, IxDyn};
use prost::Message;

use crate::attr::{attribute_to_proto, Attribute};
use crate::graph::Dim;
use crate::proto::{
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeDimension,
    TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};
use crate::tensor::{DataType, TensorData};
use crate::tensor_io::tensor_to_proto;

/// Builds an ONNX model graph step by step.
#[derive(Debug, Clone)]
pub struct ModelBuilder {
    opsets: Vec<OperatorSetIdProto>,
    graph: GraphProto,
}

fn value_info(name: &str, dtype: DataType, dims: Option<&[Dim]>) -> ValueInfoProto {
    let shape = dims.map(|dims| TensorShapeProto {
        dim: dims
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => TensorShapeDimension {
                    dim_value: Some(*n as i64),
                    ..Default::default()
                },
                Dim::Symbolic(p) => TensorShapeDimension {
                    dim_param: Some(p.clone()),
                    ..Default::default()
                },
                Dim::Unknown => TensorShapeDimension::default(),
            })
            .collect(),
    });
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: dtype.code(),
                shape,
            }),
            denotation: String::new(),
        }),
        doc_string: String::new(),
    }
}

fn fixed(shape: &[usize]) -> Vec<Dim> {
    shape.iter().map(|&d| Dim::Fixed(d)).collect()
}

impl ModelBuilder {
    /// A model importing the default domain at `opset`.
    pub fn new(opset: i64) -> Self {
        ModelBuilder {
            opsets: vec![OperatorSetIdProto {
                domain: String::new(),
                version: opset,
            }],
            graph: GraphProto {
                name: "builder_graph".into(),
                ..Default::default()
            },
        }
    }

    /// Imports another operator-set domain.
    pub fn opset_import(&mut self, domain: &str, version: i64) -> &mut Self {
        self.opsets.push(OperatorSetIdProto {
            domain: domain.into(),
            version,
        });
        self
    }

    /// A float32 graph input with a static shape.
    pub fn input(&mut self, name: &str, shape: &[usize]) -> &mut Self {
        self.input_dims(name, DataType::Float, &fixed(shape))
    }

    /// A graph input with any element type and declared dimensions (fixed or symbolic).
    pub fn input_dims(&mut self, name: &str, dtype: DataType, dims: &[Dim]) -> &mut Self {
        self.graph.input.push(value_info(name, dtype, Some(dims)));
        self
    }

    /// An initializer stored inline as `raw_data`.
    pub fn initializer(&mut self, name: &str, data: &TensorData) -> &mut Self {
        self.graph.initializer.push(tensor_to_proto(name, data));
        self
    }

    /// An initializer given as a ready `TensorProto` (typed fields, float16, external data...).
    pub fn initializer_proto(&mut self, tensor: TensorProto) -> &mut Self {
        self.graph.initializer.push(tensor);
        self
    }

    /// A default-domain node.
    pub fn node(
        &mut self,
        op_type: &str,
        name: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: &[(&str, Attribute)],
    ) -> &mut Self {
        self.node_proto(NodeProto {
            name: name.into(),
            op_type: op_type.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute: attrs
                .iter()
                .map(|(k, v)| attribute_to_proto(k, v))
                .collect(),
            ..Default::default()
        })
    }

    /// A node given as a ready `NodeProto` (other domains, hand-made attributes).
    pub fn node_proto(&mut self, node: NodeProto) -> &mut Self {
        self.graph.node.push(node);
        self
    }

    /// A float32 graph output with a declared static shape.
    pub fn output(&mut self, name: &str, shape: &[usize]) -> &mut Self {
        self.graph
            .output
            .push(value_info(name, DataType::Float, Some(&fixed(shape))));
        self
    }

    /// A float32 graph output without a declared shape.
    pub fn output_unshaped(&mut self, name: &str) -> &mut Self {
        self.graph
            .output
            .push(value_info(name, DataType::Float, None));
        self
    }

    /// The model message.
    pub fn build(&self) -> ModelProto {
        ModelProto {
            ir_version: 8,
            opset_import: self.opsets.clone(),
            producer_name: "hailo-onnx-builder".into(),
            graph: Some(self.graph.clone()),
            ..Default::default()
        }
    }

    /// The model as `.onnx` file bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.build().encode_to_vec()
    }
}

/// A float tensor from a shape and row-major values. Panics if they disagree (test helper).
pub fn tensor_f32(shape: &[usize], values: Vec<f32>) -> TensorData {
    TensorData::F32(ArrayD::from_shape_vec(IxDyn(shape), values).expect("values match the shape"))
}

/// An int64 tensor from a shape and row-major values. Panics if they disagree (test helper).
pub fn tensor_i64(shape: &[usize], values: Vec<i64>) -> TensorData {
    TensorData::I64(ArrayD::from_shape_vec(IxDyn(shape), values).expect("values match the shape"))
}

/// A float tensor filled with a deterministic ramp `0, 0.01, 0.02, ...` (test weights).
pub fn ramp_f32(shape: &[usize]) -> TensorData {
    let n: usize = shape.iter().product();
    tensor_f32(shape, (0..n).map(|i| i as f32 * 0.01).collect())
}

/// A float tensor of deterministic pseudo-random values in `[-0.5, 0.5)` (test weights and
/// inputs that exercise every element differently; same `seed`, same values).
pub fn noise_f32(shape: &[usize], seed: u64) -> TensorData {
    let n: usize = shape.iter().product();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let values = (0..n)
        .map(|_| {
            // xorshift64*: the top 24 bits give a uniform value in [0, 1).
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
            r as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    tensor_f32(shape, values)
}
