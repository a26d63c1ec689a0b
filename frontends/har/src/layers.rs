//! The correspondence between `hl` ops and HN layer types, in both directions.
//!
//! Each `hl` op that is an HN layer says so with its `HnExport` interface (its HN `type`,
//! the NPZ names of its constant operands and how its attributes travel in `params`; see
//! `hailo_dialect_hl::hn`); this module indexes those declarations by op and by HN type
//! and converts attribute values to and from JSON.

use hailo_dialect_hl::hn::HnLayer;
use hailo_dialect_hl::interfaces::{implementors, HnExport};
use hailo_ir::{Attribute, Type};
use serde_json::{json, Value};
use std::sync::LazyLock;

pub(crate) use hailo_dialect_hl::hn::HnParam as Form;

/// An `hl` op with its HN layer (the op's `HnExport` interface).
pub(crate) struct LayerKind {
    pub op: &'static str,
    pub hn_type: &'static str,
    /// With `kinds`, the HN type is `<hn_type>_<kind>`.
    pub kinds: &'static [&'static str],
    /// NPZ names of operands 1.. when they are constants.
    pub weights: &'static [&'static str],
    pub attrs: &'static [(&'static str, Form)],
    layer: &'static HnLayer,
}

/// Every op the HAR maps, in the order of the `hl` dialect.
static KINDS: LazyLock<Vec<LayerKind>> = LazyLock::new(|| {
    implementors::<dyn HnExport>()
        .map(|(def, i)| {
            let layer = i.hn();
            LayerKind {
                op: def.name,
                hn_type: layer.hn_type,
                kinds: layer.kinds,
                weights: layer.weights,
                attrs: layer.params,
                layer,
            }
        })
        .collect()
});

/// HN type of const operands fed to a layer's data inputs.
pub(crate) const CONST_INPUT: &str = "const_input";

pub(crate) fn by_op(op: &str) -> Option<&'static LayerKind> {
    KINDS.iter().find(|k| k.op == op)
}

/// The table entry for an HN type, and the `kind` it implies (`reduce_max` → `max`).
pub(crate) fn by_hn_type(ty: &str) -> Option<(&'static LayerKind, Option<&'static str>)> {
    KINDS.iter().find_map(|k| {
        if k.kinds.is_empty() {
            return (k.hn_type == ty).then_some((k, None));
        }
        let kind = ty.strip_prefix(k.hn_type)?.strip_prefix('_')?;
        k.kinds.iter().find(|&&r| r == kind).map(|r| (k, Some(*r)))
    })
}

/// Whether a weight slot may be absent (biases, layer-norm affine parameters).
pub(crate) fn optional_weight(kind: &LayerKind, slot: &str) -> bool {
    kind.layer.optional_weight(slot)
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
        .filter(|k| k.kinds.is_empty())
        .map(|k| k.hn_type.to_string())
        .collect();
    for k in KINDS.iter() {
        types.extend(k.kinds.iter().map(|kind| format!("{}_{kind}", k.hn_type)));
    }
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
        for k in KINDS.iter().filter(|k| k.kinds.is_empty()) {
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
