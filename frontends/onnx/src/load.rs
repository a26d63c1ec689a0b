//! Loading: decode the protobuf (incrementally, `stream`), turn initializers and `Constant` nodes into arrays, resolve the
//! graph inputs' shapes (with caller overrides), validate the structure, then run the analysis
//! (constant folding + shape inference).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use std::io::BufReader;

use bytes::Bytes;

use crate::analyze::analyze;
use crate::attr::attribute_from_proto;
use crate::error::{OnnxError, Result};
use crate::graph::{Dim, Node, OnnxModel, Removal, RemovedNode, ValueInfo};
use crate::proto::{GraphProto, NodeProto, ValueInfoProto};
use crate::stream::{decode, Decoded, Input};
use crate::tensor::{DataType, TensorData};

/// Caller choices that change how a model loads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadOptions {
    /// Static shapes for graph inputs (`--net-input-shapes name=1,3,224,224`), replacing the
    /// declared dimensions (needed for symbolic ones).
    pub input_shapes: Vec<(String, Vec<usize>)>,
}

/// Parses one `--net-input-shapes` item, `name=d0,d1,...` (the last `=` separates the name).
pub fn parse_input_shape(item: &str) -> Result<(String, Vec<usize>)> {
    let bad = |message: String| OnnxError::InputShape {
        input: item.to_string(),
        message,
    };
    let (name, dims) = item
        .rsplit_once('=')
        .ok_or_else(|| bad("expected NAME=D0,D1,... (e.g. input.1=1,3,224,224)".into()))?;
    let dims = dims
        .split(',')
        .map(|d| {
            d.trim()
                .parse::<usize>()
                .map_err(|_| bad(format!("'{d}' is not a dimension size")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((name.to_string(), dims))
}

/// Loads an ONNX file with default options.
pub fn load(path: impl AsRef<Path>) -> Result<OnnxModel> {
    load_with(path, &LoadOptions::default())
}

/// Loads an ONNX file; external data is resolved relative to the file's directory. The file
/// is read incrementally (see `stream`), so its weight bytes are not all held at once.
pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<OnnxModel> {
    let path = path.as_ref();
    let io = |source| OnnxError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let base = path.parent().unwrap_or(Path::new("."));
    let decoded = decode(
        Input::File(BufReader::new(file)),
        len,
        &path.display().to_string(),
        Some(base),
    )?;
    finish(decoded, &path.display().to_string(), Some(base), options)
}

/// Loads a model from memory. `source` names it in messages; `base_dir` resolves external data.
pub fn load_bytes(
    bytes: Bytes,
    source: &str,
    base_dir: Option<&Path>,
    options: &LoadOptions,
) -> Result<OnnxModel> {
    let len = bytes.len() as u64;
    let decoded = decode(Input::Memory(bytes), len, source, base_dir)?;
    finish(decoded, source, base_dir, options)
}

fn finish(
    decoded: Decoded,
    source: &str,
    base_dir: Option<&Path>,
    options: &LoadOptions,
) -> Result<OnnxModel> {
    let Decoded {
        model,
        graph,
        initializers,
    } = decoded;
    let graph = graph.ok_or_else(|| OnnxError::NoGraph {
        path: source.to_string(),
    })?;
    let mut opsets = BTreeMap::new();
    for o in &model.opset_import {
        let domain = if o.domain == "ai.onnx" { "" } else { &o.domain };
        opsets.insert(domain.to_string(), o.version);
    }
    let producer = format!("{} {}", model.producer_name, model.producer_version)
        .trim()
        .to_string();
    build(
        graph,
        initializers,
        Header {
            source: source.to_string(),
            ir_version: model.ir_version,
            producer,
            opsets,
        },
        base_dir,
        options,
    )
}

/// Model-level facts carried into `OnnxModel`.
struct Header {
    source: String,
    ir_version: i64,
    producer: String,
    opsets: BTreeMap<String, i64>,
}

/// Builds the model from the graph (initializers already decoded into `constants`).
fn build(
    mut graph: GraphProto,
    mut constants: BTreeMap<String, TensorData>,
    header: Header,
    base_dir: Option<&Path>,
    options: &LoadOptions,
) -> Result<OnnxModel> {
    let graph_name = std::mem::take(&mut graph.name);
    let mut inputs: Vec<ValueInfo> = graph
        .input
        .iter()
        .filter(|v| !constants.contains_key(&v.name))
        .map(value_info)
        .collect();
    apply_input_shapes(&mut inputs, options)?;
    let outputs: Vec<ValueInfo> = graph.output.iter().map(value_info).collect();
    let declared: BTreeMap<String, ValueInfo> = graph
        .value_info
        .iter()
        .chain(&graph.output)
        .map(|v| (v.name.clone(), value_info(v)))
        .collect();

    let mut nodes = Vec::with_capacity(graph.node.len());
    let mut removed = Vec::new();
    let mut used_names: HashSet<String> = graph.node.iter().map(|n| n.name.clone()).collect();
    for (index, proto) in graph.node.iter().enumerate() {
        let node = convert_node(proto, index, &mut used_names, base_dir)?;
        if node.op_type == "Constant" && node.domain.is_empty() {
            let value = constant_value(&node)?;
            let out = node.output(0).ok_or_else(|| OnnxError::Node {
                node: node.name.clone(),
                op_type: node.op_type.clone(),
                message: "Constant node has no output".into(),
            })?;
            constants.insert(out.to_string(), value);
            removed.push(RemovedNode {
                name: node.name,
                op_type: node.op_type,
                outputs: node.outputs,
                reason: Removal::Constant,
            });
        } else {
            nodes.push(node);
        }
    }
    drop(graph);

    let sources: BTreeSet<String> = inputs
        .iter()
        .map(|i| i.name.clone())
        .chain(constants.keys().cloned())
        .collect();
    let output_names: Vec<String> = outputs.iter().map(|o| o.name.clone()).collect();
    let nodes = crate::validate::check_and_sort(nodes, &sources, &output_names)?;

    let mut model = OnnxModel {
        source: header.source,
        ir_version: header.ir_version,
        producer: header.producer,
        graph_name,
        opsets: header.opsets,
        inputs,
        outputs,
        nodes,
        constants,
        shapes: BTreeMap::new(),
        removed,
        issues: Vec::new(),
    };
    analyze(&mut model, &declared)?;
    check_finite(&model)?;
    Ok(model)
}

/// Refuses NaN and infinite constants feeding a node, naming both: they cannot be emulated
/// or quantized, and would otherwise surface much later without a location. Clip's bounds
/// are exempt: an infinite bound is an open one.
fn check_finite(model: &OnnxModel) -> Result<()> {
    for node in &model.nodes {
        for (i, input) in node.inputs.iter().enumerate() {
            if node.op_type == "Clip" && i > 0 {
                continue;
            }
            let Some(TensorData::F32(a)) = model.constants.get(input) else {
                continue;
            };
            if let Some((at, v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
                let what = if v.is_nan() {
                    "NaN"
                } else if *v > 0.0 {
                    "inf"
                } else {
                    "-inf"
                };
                return Err(OnnxError::Node {
                    node: node.name.clone(),
                    op_type: node.op_type.clone(),
                    message: format!(
                        "input '{input}' holds {what} at index {:?}; the model's weights are \
                         damaged (re-export the model, or fix the training run)",
                        ndarray::Dimension::slice(&at)
                    ),
                });
            }
        }
    }
    Ok(())
}

fn value_info(v: &ValueInfoProto) -> ValueInfo {
    let tensor = v.r#type.as_ref().and_then(|t| t.tensor_type.as_ref());
    ValueInfo {
        name: v.name.clone(),
        dtype: DataType::from_code(tensor.map_or(0, |t| t.elem_type)),
        dims: tensor.and_then(|t| t.shape.as_ref()).map(|s| {
            s.dim
                .iter()
                .map(|d| match (d.dim_value, &d.dim_param) {
                    (Some(v), _) if v >= 0 => Dim::Fixed(v as usize),
                    (_, Some(p)) if !p.is_empty() => Dim::Symbolic(p.clone()),
                    _ => Dim::Unknown,
                })
                .collect()
        }),
    }
}

/// Applies the caller's shape overrides, then requires every input dimension to be fixed.
fn apply_input_shapes(inputs: &mut [ValueInfo], options: &LoadOptions) -> Result<()> {
    let known: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
    for (name, shape) in &options.input_shapes {
        let input =
            inputs
                .iter_mut()
                .find(|i| &i.name == name)
                .ok_or_else(|| OnnxError::InputShape {
                    input: name.clone(),
                    message: format!("no such graph input; the inputs are: {}", known.join(", ")),
                })?;
        if let Some(dims) = &input.dims {
            if dims.len() != shape.len() {
                return Err(OnnxError::InputShape {
                    input: name.clone(),
                    message: format!(
                        "the override {shape:?} has rank {} but the model declares rank {}",
                        shape.len(),
                        dims.len()
                    ),
                });
            }
        }
        input.dims = Some(shape.iter().map(|&d| Dim::Fixed(d)).collect());
    }
    for input in inputs.iter() {
        let dims = input.dims.as_ref().ok_or_else(|| OnnxError::InputShape {
            input: input.name.clone(),
            message: format!(
                "the model declares no shape; give one with --net-input-shapes {}=D0,D1,...",
                input.name
            ),
        })?;
        if let Some(axis) = dims.iter().position(|d| !matches!(d, Dim::Fixed(_))) {
            let what = match &dims[axis] {
                Dim::Symbolic(p) => format!("is symbolic ('{p}')"),
                _ => "has no size".to_string(),
            };
            let example: Vec<String> = dims
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => n.to_string(),
                    _ => "1".to_string(),
                })
                .collect();
            return Err(OnnxError::InputShape {
                input: input.name.clone(),
                message: format!(
                    "dimension {axis} {what}; give a static shape, e.g. --net-input-shapes {}={}",
                    input.name,
                    example.join(",")
                ),
            });
        }
        let fixed: Vec<u64> = dims
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => *n as u64,
                _ => 1,
            })
            .collect();
        hailo_guard::limits::check_elements(fixed.iter().copied()).map_err(|e| {
            OnnxError::InputShape {
                input: input.name.clone(),
                message: format!("shape {fixed:?} has {e}"),
            }
        })?;
    }
    Ok(())
}

fn convert_node(
    proto: &NodeProto,
    index: usize,
    used_names: &mut HashSet<String>,
    base_dir: Option<&Path>,
) -> Result<Node> {
    let name = if proto.name.is_empty() {
        let mut candidate = format!("{}_{index}", proto.op_type);
        while used_names.contains(&candidate) {
            candidate.push('_');
        }
        used_names.insert(candidate.clone());
        candidate
    } else {
        proto.name.clone()
    };
    let domain = if proto.domain == "ai.onnx" {
        String::new()
    } else {
        proto.domain.clone()
    };
    let mut attrs = BTreeMap::new();
    for a in &proto.attribute {
        let value = attribute_from_proto(a, &name, &proto.op_type, base_dir)?;
        attrs.insert(a.name.clone(), value);
    }
    Ok(Node {
        name,
        op_type: proto.op_type.clone(),
        domain,
        inputs: proto.input.clone(),
        outputs: proto.output.clone(),
        attrs,
    })
}

/// The value of a `Constant` node (any of its value attributes).
fn constant_value(node: &Node) -> Result<TensorData> {
    use crate::attr::Attribute as A;
    use ndarray::{arr0, Array1};
    let (key, value) = node.attrs.iter().next().ok_or_else(|| OnnxError::Node {
        node: node.name.clone(),
        op_type: node.op_type.clone(),
        message: "Constant node has no value attribute".into(),
    })?;
    Ok(match (key.as_str(), value) {
        ("value", A::Tensor(t)) => t.clone(),
        ("value_float", A::Float(v)) => TensorData::F32(arr0(*v).into_dyn()),
        ("value_floats", A::Floats(v)) => TensorData::F32(Array1::from_vec(v.clone()).into_dyn()),
        ("value_int", A::Int(v)) => TensorData::I64(arr0(*v).into_dyn()),
        ("value_ints", A::Ints(v)) => TensorData::from_i64s(v.clone()),
        (key, value) => {
            return Err(node.bad_attr(
                key,
                format!(
                    "unsupported Constant value of type {} (sparse and string constants are not supported)",
                    value.kind()
                ),
            ))
        }
    })
}
