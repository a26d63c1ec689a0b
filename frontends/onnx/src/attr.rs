//! Node attributes in a neutral form (`Attribute`), converted from and to `AttributeProto`,
//! plus typed accessors on `Node` whose errors name the node and the attribute.

use std::path::Path;

use crate::error::{OnnxError, Result};
use crate::graph::Node;
use crate::proto::{attribute_type as at, AttributeProto};
use crate::tensor::TensorData;
use crate::tensor_io::{tensor_from_proto, tensor_to_proto};

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attribute {
    Float(f32),
    Int(i64),
    String(String),
    Tensor(TensorData),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Strings(Vec<String>),
    Tensors(Vec<TensorData>),
    /// A subgraph (`If`, `Loop`, `Scan` bodies); kept only by name, the compiler does not run them.
    Graph(String),
    /// A list of subgraphs, by name.
    Graphs(Vec<String>),
    /// Sparse tensors and type protos, which no supported operator uses; kept as the ONNX type name.
    Unsupported(&'static str),
}

impl Attribute {
    /// The ONNX name of the attribute's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Attribute::Float(_) => "FLOAT",
            Attribute::Int(_) => "INT",
            Attribute::String(_) => "STRING",
            Attribute::Tensor(_) => "TENSOR",
            Attribute::Floats(_) => "FLOATS",
            Attribute::Ints(_) => "INTS",
            Attribute::Strings(_) => "STRINGS",
            Attribute::Tensors(_) => "TENSORS",
            Attribute::Graph(_) => "GRAPH",
            Attribute::Graphs(_) => "GRAPHS",
            Attribute::Unsupported(kind) => kind,
        }
    }
}

impl std::fmt::Display for Attribute {
    /// A short one-line rendering (tensors by type and shape), used by listings.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attribute::Float(v) => write!(f, "{v}"),
            Attribute::Int(v) => write!(f, "{v}"),
            Attribute::String(v) => write!(f, "{v:?}"),
            Attribute::Tensor(t) => write!(f, "tensor<{:?}>{:?}", t.dtype(), t.shape()),
            Attribute::Floats(v) => write!(f, "{v:?}"),
            Attribute::Ints(v) => write!(f, "{v:?}"),
            Attribute::Strings(v) => write!(f, "{v:?}"),
            Attribute::Tensors(v) => write!(f, "{} tensors", v.len()),
            Attribute::Graph(name) => write!(f, "graph {name:?}"),
            Attribute::Graphs(v) => write!(f, "{} graphs", v.len()),
            Attribute::Unsupported(kind) => write!(f, "<{kind}>"),
        }
    }
}

fn utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Decodes one attribute of node `node` (`op_type`); tensors use `base_dir` for external data.
pub(crate) fn attribute_from_proto(
    a: &AttributeProto,
    node: &str,
    op_type: &str,
    base_dir: Option<&Path>,
) -> Result<Attribute> {
    let tensor = |t: &crate::proto::TensorProto| tensor_from_proto(t, base_dir);
    Ok(match a.r#type {
        at::FLOAT => Attribute::Float(a.f),
        at::INT => Attribute::Int(a.i),
        at::STRING => Attribute::String(utf8(&a.s)),
        at::TENSOR => match &a.t {
            Some(t) => Attribute::Tensor(tensor(t)?),
            None => {
                return Err(OnnxError::Attribute {
                    node: node.into(),
                    op_type: op_type.into(),
                    attr: a.name.clone(),
                    message: "type is TENSOR but no tensor is stored".into(),
                })
            }
        },
        at::FLOATS => Attribute::Floats(a.floats.clone()),
        at::INTS => Attribute::Ints(a.ints.clone()),
        at::STRINGS => Attribute::Strings(a.strings.iter().map(|s| utf8(s)).collect()),
        at::TENSORS => Attribute::Tensors(a.tensors.iter().map(tensor).collect::<Result<_>>()?),
        at::GRAPH => Attribute::Graph(a.g.as_ref().map(|g| g.name.clone()).unwrap_or_default()),
        at::GRAPHS => Attribute::Graphs(a.graphs.iter().map(|g| g.name.clone()).collect()),
        at::SPARSE_TENSOR => Attribute::Unsupported("SPARSE_TENSOR"),
        at::SPARSE_TENSORS => Attribute::Unsupported("SPARSE_TENSORS"),
        at::TYPE_PROTO => Attribute::Unsupported("TYPE_PROTO"),
        at::TYPE_PROTOS => Attribute::Unsupported("TYPE_PROTOS"),
        code => {
            return Err(OnnxError::UnknownAttributeType {
                node: node.into(),
                op_type: op_type.into(),
                attr: a.name.clone(),
                code,
            })
        }
    })
}

/// Encodes an attribute (graphs and unsupported kinds cannot be written and are skipped by the
/// builder's callers; they encode as `UNDEFINED`).
pub(crate) fn attribute_to_proto(name: &str, value: &Attribute) -> AttributeProto {
    let mut a = AttributeProto {
        name: name.to_string(),
        ..Default::default()
    };
    match value {
        Attribute::Float(v) => (a.r#type, a.f) = (at::FLOAT, *v),
        Attribute::Int(v) => (a.r#type, a.i) = (at::INT, *v),
        Attribute::String(v) => (a.r#type, a.s) = (at::STRING, v.as_bytes().to_vec()),
        Attribute::Tensor(t) => (a.r#type, a.t) = (at::TENSOR, Some(tensor_to_proto("", t))),
        Attribute::Floats(v) => (a.r#type, a.floats) = (at::FLOATS, v.clone()),
        Attribute::Ints(v) => (a.r#type, a.ints) = (at::INTS, v.clone()),
        Attribute::Strings(v) => {
            (a.r#type, a.strings) = (
                at::STRINGS,
                v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            )
        }
        Attribute::Tensors(v) => {
            (a.r#type, a.tensors) = (
                at::TENSORS,
                v.iter().map(|t| tensor_to_proto("", t)).collect(),
            )
        }
        Attribute::Graph(_) | Attribute::Graphs(_) | Attribute::Unsupported(_) => {
            a.r#type = at::UNDEFINED
        }
    }
    a
}

impl Node {
    fn attr_error(&self, attr: &str, message: String) -> OnnxError {
        OnnxError::Attribute {
            node: self.name.clone(),
            op_type: self.op_type.clone(),
            attr: attr.to_string(),
            message,
        }
    }

    fn wrong_type(&self, attr: &str, want: &str, got: &Attribute) -> OnnxError {
        self.attr_error(attr, format!("expected type {want}, found {}", got.kind()))
    }

    /// An INT attribute, if present.
    pub fn attr_int(&self, name: &str) -> Result<Option<i64>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Int(v)) => Ok(Some(*v)),
            Some(other) => Err(self.wrong_type(name, "INT", other)),
        }
    }

    /// An INT attribute or its default.
    pub fn attr_int_or(&self, name: &str, default: i64) -> Result<i64> {
        Ok(self.attr_int(name)?.unwrap_or(default))
    }

    /// A FLOAT attribute or its default.
    pub fn attr_float_or(&self, name: &str, default: f32) -> Result<f32> {
        match self.attrs.get(name) {
            None => Ok(default),
            Some(Attribute::Float(v)) => Ok(*v),
            Some(other) => Err(self.wrong_type(name, "FLOAT", other)),
        }
    }

    /// An INTS attribute, if present.
    pub fn attr_ints(&self, name: &str) -> Result<Option<&[i64]>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Ints(v)) => Ok(Some(v)),
            Some(other) => Err(self.wrong_type(name, "INTS", other)),
        }
    }

    /// A FLOATS attribute, if present.
    pub fn attr_floats(&self, name: &str) -> Result<Option<&[f32]>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Floats(v)) => Ok(Some(v)),
            Some(other) => Err(self.wrong_type(name, "FLOATS", other)),
        }
    }

    /// A STRINGS attribute, if present.
    pub fn attr_strings(&self, name: &str) -> Result<Option<&[String]>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Strings(v)) => Ok(Some(v)),
            Some(other) => Err(self.wrong_type(name, "STRINGS", other)),
        }
    }

    /// A STRING attribute or its default.
    pub fn attr_string_or<'a>(&'a self, name: &str, default: &'a str) -> Result<&'a str> {
        match self.attrs.get(name) {
            None => Ok(default),
            Some(Attribute::String(v)) => Ok(v),
            Some(other) => Err(self.wrong_type(name, "STRING", other)),
        }
    }

    /// A TENSOR attribute, if present.
    pub fn attr_tensor(&self, name: &str) -> Result<Option<&TensorData>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Tensor(v)) => Ok(Some(v)),
            Some(other) => Err(self.wrong_type(name, "TENSOR", other)),
        }
    }

    /// An error about attribute `attr` of this node with a free-form message.
    pub fn bad_attr(&self, attr: &str, message: impl Into<String>) -> OnnxError {
        self.attr_error(attr, message.into())
    }
}
