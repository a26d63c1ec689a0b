//! Attribute schemas: what attributes a registered op takes, of which kind,
//! which are required and what an absent one means.
//!
//! An op declared with [`crate::define_op!`] carries its schema in its
//! [`crate::OpDef`]; the verifier checks every op against it before the op's
//! own `verify` hook runs, so a hook never has to repeat "is it there, is it
//! an integer". Shared groups (a layer's name and quantizer annotations, a
//! fused activation's parameters) are declared once by the dialect and listed
//! by the ops that take them. Keys with a dot (`test.visited`) are
//! discardable attributes owned by another dialect, as in MLIR, and are not
//! checked.

use crate::attrs::Attribute;
use crate::module::{Module, OpId};

/// The kind of value an attribute holds; each matches exactly the values the
/// typed getters of [`crate::define_op!`] accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrKind {
    I64,
    /// A number: a float, or an integer literal (`alpha = 1`).
    F64,
    Bool,
    Str,
    I64Array,
    /// Floats or integers.
    F64Array,
    /// Any attribute (constants, types, nested structures).
    Any,
}

impl AttrKind {
    pub fn accepts(self, a: &Attribute) -> bool {
        match self {
            AttrKind::I64 => a.as_i64().is_some(),
            AttrKind::F64 => a.as_f64().is_some(),
            AttrKind::Bool => a.as_bool().is_some(),
            AttrKind::Str => a.as_str().is_some(),
            AttrKind::I64Array => array_of(a, AttrKind::I64),
            AttrKind::F64Array => array_of(a, AttrKind::F64),
            AttrKind::Any => true,
        }
    }

    /// How the kind is named in diagnostics.
    pub fn describe(self) -> &'static str {
        match self {
            AttrKind::I64 => "an integer",
            AttrKind::F64 => "a number",
            AttrKind::Bool => "a boolean",
            AttrKind::Str => "a string",
            AttrKind::I64Array => "an array of integers",
            AttrKind::F64Array => "an array of numbers",
            AttrKind::Any => "any attribute",
        }
    }
}

/// Whether `a` is an array whose items are all of kind `item` (no allocation: the
/// verifier runs this on every attribute of every op).
fn array_of(a: &Attribute, item: AttrKind) -> bool {
    matches!(a, Attribute::Array(items) if items.iter().all(|x| item.accepts(x)))
}

/// One declared attribute.
#[derive(Clone, Copy, Debug)]
pub struct AttrSpec {
    pub name: &'static str,
    pub kind: AttrKind,
    pub required: bool,
    /// What an absent attribute means, as written in the IR (`[1, 1]`, `"valid"`).
    pub default: Option<&'static str>,
    /// What the attribute is, for the missing-attribute error (its kind when `None`).
    pub what: Option<&'static str>,
}

/// An op's schema: its own attributes plus the shared groups it takes.
pub type Schema = &'static [&'static [AttrSpec]];

/// Checks the attributes of `op` against `schema`: every required attribute
/// present, every present one declared (or dialect-prefixed) and of its kind.
/// Returns every problem, each as a message for the op's diagnostic.
pub fn check(m: &Module, op: OpId, schema: Schema) -> Vec<String> {
    let o = m.op(op);
    let specs = || schema.iter().flat_map(|g| g.iter());
    let mut errs = Vec::new();
    for spec in specs().filter(|s| s.required) {
        if o.attr(spec.name).is_none() {
            errs.push(format!(
                "requires attribute '{}' ({})",
                spec.name,
                spec.what.unwrap_or(spec.kind.describe())
            ));
        }
    }
    for (key, value) in o.attrs().iter().map(|e| (e.0, &e.1)) {
        let key = key.as_str();
        if key.contains('.') {
            continue;
        }
        match specs().find(|s| s.name == key) {
            Some(spec) if !spec.kind.accepts(value) => errs.push(format!(
                "attribute '{key}' must be {}, got {value}",
                spec.kind.describe()
            )),
            Some(_) => {}
            None => {
                let mut known: Vec<&str> = specs().map(|s| s.name).collect();
                known.sort_unstable();
                known.dedup();
                errs.push(if known.is_empty() {
                    format!("has unknown attribute '{key}' (it takes no attributes)")
                } else {
                    format!(
                        "has unknown attribute '{key}' (it takes: {})",
                        known.join(", ")
                    )
                });
            }
        }
    }
    errs
}
