//! The correspondence between `hl` ops and HN layer types, in both directions.
//!
//! One table says, for each op, its HN `type`, the NPZ names of its constant operands
//! (`kernel`, `bias`, ...) and which attributes travel in the layer's `params`. Spatial
//! pairs become HN's NHWC 4-vectors (`strides = [1, sh, sw, 1]`); pool windows become
//! `kernel_shape`; `hl.activation`'s `kind` is HN's `activation`. Everything else is carried
//! under its `hl` name, so writing and rebuilding are inverse for every op in the table.

use hailo_ir::{Attribute, Type};
use serde_json::{json, Value};

/// How an attribute is spelled in HN params.
#[derive(Clone, Copy)]
pub(crate) enum Form {
    /// Same name, same value.
    Same,
    /// `[a, b]` ↔ `[1, a, b, 1]` under the same name.
    Spatial,
    /// `[a, b]` ↔ `[1, a, b, 1]` under another name.
    SpatialAs(&'static str),
    /// Same value under another name.
    Renamed(&'static str),
}

impl Form {
    pub(crate) fn hn_name(self, hl_name: &'static str) -> &'static str {
        match self {
            Form::Same | Form::Spatial => hl_name,
            Form::SpatialAs(n) | Form::Renamed(n) => n,
        }
    }
}

pub(crate) struct LayerKind {
    pub op: &'static str,
    /// HN type; `hl.reduce` adds its `kind` (`reduce_max`, ...).
    pub hn_type: &'static str,
    /// NPZ names of operands 1.. when they are constants.
    pub weights: &'static [&'static str],
    pub attrs: &'static [(&'static str, Form)],
}

const ACT: [(&str, Form); 8] = [
    ("activation", Form::Same),
    ("alpha", Form::Same),
    ("beta", Form::Same),
    ("min", Form::Same),
    ("max", Form::Same),
    ("threshold", Form::Same),
    ("value", Form::Same),
    ("exponent", Form::Same),
];
const CONV: [(&str, Form); 13] = [
    ("strides", Form::Spatial),
    ("dilations", Form::Spatial),
    ("groups", Form::Same),
    ("padding", Form::Same),
    ("pads", Form::Same),
    ACT[0],
    ACT[1],
    ACT[2],
    ACT[3],
    ACT[4],
    ACT[5],
    ACT[6],
    ACT[7],
];
const DECONV: [(&str, Form); 14] = [
    ("strides", Form::Spatial),
    ("dilations", Form::Spatial),
    ("groups", Form::Same),
    ("padding", Form::Same),
    ("pads", Form::Same),
    ("output_padding", Form::Same),
    ACT[0],
    ACT[1],
    ACT[2],
    ACT[3],
    ACT[4],
    ACT[5],
    ACT[6],
    ACT[7],
];
const POOL: [(&str, Form); 6] = [
    ("kernel", Form::SpatialAs("kernel_shape")),
    ("strides", Form::Spatial),
    ("padding", Form::Same),
    ("pads", Form::Same),
    ("ceil_mode", Form::Same),
    ("count_include_pad", Form::Same),
];
const IO: [(&str, Form); 1] = [("original_name", Form::Same)];
const KB: [&str; 2] = ["kernel", "bias"];
const GB: [&str; 2] = ["gamma", "beta"];

macro_rules! kind {
    ($op:literal, $ty:literal, $w:expr, $a:expr) => {
        LayerKind {
            op: $op,
            hn_type: $ty,
            weights: &$w,
            attrs: &$a,
        }
    };
}

/// Every op the HAR maps, in the order of the `hl` dialect contract.
pub(crate) static KINDS: &[LayerKind] = &[
    kind!("hl.input_layer", "input_layer", [], IO),
    kind!("hl.output_layer", "output_layer", [], IO),
    kind!("hl.conv2d", "conv", KB, CONV),
    kind!("hl.depthwise_conv2d", "dw", KB, CONV),
    kind!("hl.deconv2d", "deconv", KB, DECONV),
    kind!("hl.dense", "dense", KB, ACT),
    kind!("hl.matmul", "matmul", [], [("transpose_b", Form::Same)]),
    kind!("hl.maxpool", "maxpool", [], POOL),
    kind!("hl.avgpool", "avgpool", [], POOL),
    kind!("hl.global_avgpool", "global_avg_pool", [], []),
    kind!("hl.global_maxpool", "global_max_pool", [], []),
    kind!(
        "hl.batch_norm",
        "batch_norm",
        ["moving_mean", "moving_variance", "gamma", "beta"],
        [
            ("epsilon", Form::Same),
            ACT[0],
            ACT[1],
            ACT[2],
            ACT[3],
            ACT[4],
            ACT[5],
            ACT[6],
            ACT[7]
        ]
    ),
    kind!(
        "hl.activation",
        "activation",
        [],
        [
            ("kind", Form::Renamed("activation")),
            ACT[1],
            ACT[2],
            ACT[3],
            ACT[4],
            ACT[5],
            ACT[6],
            ACT[7]
        ]
    ),
    kind!("hl.prelu", "prelu", ["slope"], []),
    kind!("hl.ew_add", "ew_add", [], ACT),
    kind!("hl.ew_sub", "ew_sub", [], ACT),
    kind!("hl.ew_mult", "ew_mult", [], ACT),
    kind!("hl.ew_div", "ew_div", [], ACT),
    kind!("hl.ew_max", "ew_max", [], ACT),
    kind!("hl.ew_min", "ew_min", [], ACT),
    kind!("hl.ew_pow", "ew_pow", [], ACT),
    kind!("hl.concat", "concat", [], [("axis", Form::Same)]),
    kind!(
        "hl.split",
        "feature_splitter",
        [],
        [("axis", Form::Same), ("sizes", Form::Same)]
    ),
    kind!(
        "hl.slice",
        "slice",
        [],
        [
            ("starts", Form::Same),
            ("ends", Form::Same),
            ("steps", Form::Same)
        ]
    ),
    kind!("hl.reshape", "reshape", [], []),
    kind!("hl.transpose", "transpose", [], [("perm", Form::Same)]),
    kind!(
        "hl.resize",
        "resize",
        [],
        [
            ("mode", Form::Same),
            ("coordinate", Form::Same),
            ("nearest_mode", Form::Same)
        ]
    ),
    kind!(
        "hl.depth_to_space",
        "depth_to_space",
        [],
        [("block_size", Form::Same), ("mode", Form::Same)]
    ),
    kind!(
        "hl.space_to_depth",
        "space_to_depth",
        [],
        [("block_size", Form::Same), ("mode", Form::Same)]
    ),
    kind!(
        "hl.feature_shuffle",
        "feature_shuffle",
        [],
        [("groups", Form::Same)]
    ),
    kind!("hl.softmax", "softmax", [], [("axis", Form::Same)]),
    kind!("hl.log_softmax", "log_softmax", [], [("axis", Form::Same)]),
    kind!(
        "hl.argmax",
        "argmax",
        [],
        [("axis", Form::Same), ("keepdims", Form::Same)]
    ),
    kind!(
        "hl.reduce",
        "reduce",
        [],
        [("axes", Form::Same), ("keepdims", Form::Same)]
    ),
    kind!(
        "hl.normalization",
        "normalization",
        [],
        [("mean", Form::Same), ("std", Form::Same)]
    ),
    kind!(
        "hl.pad",
        "external_pad",
        [],
        [
            ("pads", Form::Same),
            ("mode", Form::Same),
            ("value", Form::Same)
        ]
    ),
    kind!(
        "hl.one_hot",
        "one_hot",
        [],
        [
            ("depth", Form::Same),
            ("on_value", Form::Same),
            ("off_value", Form::Same)
        ]
    ),
    kind!(
        "hl.layer_norm",
        "layer_norm",
        GB,
        [("axes", Form::Same), ("epsilon", Form::Same)]
    ),
    kind!(
        "hl.instance_norm",
        "instance_norm",
        GB,
        [("epsilon", Form::Same)]
    ),
    kind!(
        "hl.l2_norm",
        "l2_norm",
        [],
        [("axis", Form::Same), ("epsilon", Form::Same)]
    ),
];

/// `reduce` kinds, each its own HN type `reduce_<kind>`.
pub(crate) const REDUCE_KINDS: [&str; 6] = ["max", "min", "sum", "mean", "sum_square", "l2"];

/// HN type of const operands fed to a layer's data inputs.
pub(crate) const CONST_INPUT: &str = "const_input";

pub(crate) fn by_op(op: &str) -> Option<&'static LayerKind> {
    KINDS.iter().find(|k| k.op == op)
}

/// The table entry for an HN type, and the reduce kind it implies.
pub(crate) fn by_hn_type(ty: &str) -> Option<(&'static LayerKind, Option<&'static str>)> {
    if let Some(kind) = ty
        .strip_prefix("reduce_")
        .and_then(|k| REDUCE_KINDS.iter().find(|r| **r == k))
    {
        return by_op("hl.reduce").map(|k| (k, Some(*kind)));
    }
    KINDS
        .iter()
        .find(|k| k.hn_type == ty && k.op != "hl.reduce")
        .map(|k| (k, None))
}

/// Whether a weight slot may be absent (biases, layer-norm affine parameters).
pub(crate) fn optional_weight(kind: &LayerKind, slot: &str) -> bool {
    slot == "bias" || kind.op == "hl.layer_norm"
}

/// Whether a layer of this HN type reads arrays from the NPZ.
pub(crate) fn needs_weights(hn_type: &str) -> bool {
    hn_type == CONST_INPUT
        || by_hn_type(hn_type)
            .is_some_and(|(k, _)| k.weights.iter().any(|s| !optional_weight(k, s)))
}

/// Every HN type the rebuild understands, for error messages.
pub(crate) fn supported_types() -> String {
    let mut types: Vec<String> = KINDS
        .iter()
        .filter(|k| k.op != "hl.reduce")
        .map(|k| k.hn_type.to_string())
        .collect();
    types.extend(REDUCE_KINDS.iter().map(|k| format!("reduce_{k}")));
    types.push(CONST_INPUT.to_string());
    types.join(", ")
}

/// An attribute as JSON: integers stay integers, floats keep a fraction (`1.0`), and
/// non-finite floats become the strings `inf`, `-inf`, `nan`. Kinds HN cannot hold are
/// written in their IR text form.
pub(crate) fn attr_to_json(a: &Attribute) -> Value {
    match a {
        Attribute::Bool(b) => json!(b),
        Attribute::Int(v, _) => json!(v),
        Attribute::Float(v, _) if v.is_finite() => json!(v),
        Attribute::Float(v, _) => json!(hailo_ir::attrs::format_float(*v, Type::f64())),
        Attribute::Str(s) => json!(s.as_str()),
        Attribute::Array(items) => Value::Array(items.iter().map(attr_to_json).collect()),
        other => json!(other.to_string()),
    }
}

/// The inverse of [`attr_to_json`] for the kinds HN holds.
pub(crate) fn json_to_attr(v: &Value) -> Result<Attribute, String> {
    Ok(match v {
        Value::Bool(b) => Attribute::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => Attribute::i64(i),
            _ => Attribute::f64(
                n.as_f64()
                    .ok_or_else(|| format!("number {n} is out of range"))?,
            ),
        },
        Value::String(s) => match s.as_str() {
            "inf" => Attribute::f64(f64::INFINITY),
            "-inf" => Attribute::f64(f64::NEG_INFINITY),
            "nan" => Attribute::f64(f64::NAN),
            _ => Attribute::str(s),
        },
        Value::Array(items) => {
            Attribute::Array(items.iter().map(json_to_attr).collect::<Result<_, _>>()?)
        }
        Value::Null | Value::Object(_) => {
            return Err(format!("value {v} has no IR attribute form"))
        }
    })
}

/// `[a, b]` → `[1, a, b, 1]`; other values unchanged.
pub(crate) fn to_nhwc(v: Value) -> Value {
    match v.as_array().map(Vec::as_slice) {
        Some([a, b]) => json!([1, a, b, 1]),
        _ => v,
    }
}

/// `[1, a, b, 1]` → `[a, b]`; other values unchanged.
pub(crate) fn from_nhwc(v: &Value) -> Value {
    match v.as_array().map(Vec::as_slice) {
        Some([one, a, b, one2]) if one.as_i64() == Some(1) && one2.as_i64() == Some(1) => {
            json!([a, b])
        }
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_attr_round_trip() {
        let attrs = [
            Attribute::i64(3),
            Attribute::f64(1.0),
            Attribute::f64(-0.5e-7),
            Attribute::f64(f64::INFINITY),
            Attribute::Bool(true),
            Attribute::str("SAME_TENSORFLOW"),
            Attribute::i64_array(&[1, 2]),
            Attribute::Array(vec![Attribute::f64(0.5), Attribute::f64(2.0)]),
        ];
        for a in attrs {
            let text = serde_json::to_string(&attr_to_json(&a)).unwrap();
            let back = json_to_attr(&serde_json::from_str(&text).unwrap()).unwrap();
            assert_eq!(back, a, "through {text}");
        }
        assert!(json_to_attr(&json!({"a": 1})).is_err());
    }

    #[test]
    fn hn_types_are_unique_and_resolve() {
        for k in KINDS.iter().filter(|k| k.op != "hl.reduce") {
            assert_eq!(by_hn_type(k.hn_type).unwrap().0.op, k.op);
        }
        assert_eq!(
            by_hn_type("reduce_sum_square").unwrap().1,
            Some("sum_square")
        );
        assert!(by_hn_type("reduce").is_none());
        assert_eq!(from_nhwc(&to_nhwc(json!([2, 3]))), json!([2, 3]));
    }
}
