//! Attributes: a closed enum of builtin kinds plus a dialect escape.
//!
//! Small constants live inline as `dense<...>`; weights are
//! `dense_resource<key>`, a key into the module's [`crate::BlobStore`], so the
//! IR text stays small and rewriting an op never copies its weights.

use crate::intern::Sym;
use crate::small_str::SmallStr;
use crate::types::{Type, TypeKind};
use std::fmt;
use std::sync::Arc;

#[derive(Clone, PartialEq, Debug)]
pub enum Attribute {
    Unit,
    Bool(bool),
    Int(i64, Type),
    Float(f64, Type),
    Str(SmallStr),
    Array(Vec<Attribute>),
    Dict(Vec<(Sym, Attribute)>),
    Type(Type),
    SymbolRef(Sym),
    Dense(Arc<DenseAttr>),
    DenseResource {
        key: Sym,
        ty: Type,
    },
    /// `#dialect.body`, kept verbatim for the owning dialect to interpret.
    Dialect {
        dialect: Sym,
        body: String,
    },
}

/// Inline tensor constant: either one splatted value or every element, row-major.
#[derive(Clone, PartialEq, Debug)]
pub struct DenseAttr {
    pub ty: Type,
    pub values: DenseValues,
}

#[derive(Clone, PartialEq, Debug)]
pub enum DenseValues {
    Floats(Vec<f64>),
    Ints(Vec<i64>),
    Bools(Vec<bool>),
}

impl DenseValues {
    pub fn len(&self) -> usize {
        match self {
            DenseValues::Floats(v) => v.len(),
            DenseValues::Ints(v) => v.len(),
            DenseValues::Bools(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl DenseAttr {
    pub fn is_splat(&self) -> bool {
        self.values.len() == 1 && self.ty.num_elements() != 1
    }

    /// Element `i` as f64, expanding splats.
    pub fn f64_at(&self, i: usize) -> f64 {
        let i = if self.values.len() == 1 { 0 } else { i };
        match &self.values {
            DenseValues::Floats(v) => v[i],
            DenseValues::Ints(v) => v[i] as f64,
            DenseValues::Bools(v) => f64::from(u8::from(v[i])),
        }
    }

    /// All elements as f64 (splats expanded).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        (0..self.ty.num_elements() as usize)
            .map(|i| self.f64_at(i))
            .collect()
    }

    /// All elements as i64 (splats expanded; floats truncated).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        let n = self.ty.num_elements() as usize;
        match &self.values {
            DenseValues::Ints(v) if v.len() == n => v.clone(),
            _ => (0..n).map(|i| self.f64_at(i) as i64).collect(),
        }
    }
}

impl Attribute {
    pub fn i64(v: i64) -> Attribute {
        Attribute::Int(v, Type::i64())
    }
    pub fn f64(v: f64) -> Attribute {
        Attribute::Float(v, Type::f64())
    }
    pub fn str(s: &str) -> Attribute {
        Attribute::Str(s.into())
    }
    pub fn i64_array(v: &[i64]) -> Attribute {
        Attribute::Array(v.iter().map(|&x| Attribute::i64(x)).collect())
    }
    pub fn f64_array(v: &[f64]) -> Attribute {
        Attribute::Array(v.iter().map(|&x| Attribute::f64(x)).collect())
    }
    pub fn dense(ty: Type, values: DenseValues) -> Attribute {
        Attribute::Dense(Arc::new(DenseAttr { ty, values }))
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Attribute::Int(v, _) => Some(*v),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Attribute::Float(v, _) => Some(*v),
            Attribute::Int(v, _) => Some(*v as f64),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Attribute::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Attribute::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_type(&self) -> Option<Type> {
        match self {
            Attribute::Type(t) => Some(*t),
            _ => None,
        }
    }
    pub fn as_symbol(&self) -> Option<Sym> {
        match self {
            Attribute::SymbolRef(s) => Some(*s),
            _ => None,
        }
    }
    /// An array of integers, as Hailo ops use for strides, dilations and pads.
    pub fn as_i64_array(&self) -> Option<Vec<i64>> {
        match self {
            Attribute::Array(items) => items.iter().map(Attribute::as_i64).collect(),
            _ => None,
        }
    }
    pub fn as_f64_array(&self) -> Option<Vec<f64>> {
        match self {
            Attribute::Array(items) => items.iter().map(Attribute::as_f64).collect(),
            _ => None,
        }
    }

    /// A structural hash key (floats by bit pattern) for CSE.
    pub fn hash_into<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        std::mem::discriminant(self).hash(h);
        match self {
            Attribute::Unit => {}
            Attribute::Bool(b) => b.hash(h),
            Attribute::Int(v, t) => (v, t).hash(h),
            Attribute::Float(v, t) => (v.to_bits(), t).hash(h),
            Attribute::Str(s) => s.hash(h),
            Attribute::Array(a) => a.iter().for_each(|x| x.hash_into(h)),
            Attribute::Dict(d) => d.iter().for_each(|(k, v)| {
                k.hash(h);
                v.hash_into(h)
            }),
            Attribute::Type(t) => t.hash(h),
            Attribute::SymbolRef(s) => s.hash(h),
            Attribute::Dense(d) => {
                d.ty.hash(h);
                (0..d.values.len()).for_each(|i| d.f64_at(i).to_bits().hash(h))
            }
            Attribute::DenseResource { key, ty } => (key, ty).hash(h),
            Attribute::Dialect { dialect, body } => (dialect, body).hash(h),
        }
    }
}

/// Formats a float so it re-parses to the same value: shortest round-trip
/// digits at the element's own precision, always with a `.` or exponent.
pub fn format_float(v: f64, ty: Type) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = match ty.kind() {
        TypeKind::F32 | TypeKind::F16 | TypeKind::BF16 => format!("{:?}", v as f32),
        _ => format!("{v:?}"),
    };
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

fn write_dense_elements(
    f: &mut impl fmt::Write,
    d: &DenseAttr,
    dims: &[i64],
    offset: &mut usize,
) -> fmt::Result {
    if dims.is_empty() {
        let i = *offset;
        *offset += 1;
        return match &d.values {
            DenseValues::Floats(v) => f.write_str(&format_float(v[i], d.ty.element())),
            DenseValues::Ints(v) => write!(f, "{}", v[i]),
            DenseValues::Bools(v) => write!(f, "{}", v[i]),
        };
    }
    f.write_str("[")?;
    for k in 0..dims[0] {
        if k > 0 {
            f.write_str(", ")?;
        }
        write_dense_elements(f, d, &dims[1..], offset)?;
    }
    f.write_str("]")
}

impl Attribute {
    /// Writes the textual form (what `Display` shows); the printer calls it
    /// on its output `String` directly, with integers formatted by hand.
    pub fn write_to(&self, f: &mut impl fmt::Write) -> fmt::Result {
        match self {
            Attribute::Unit => f.write_str("unit"),
            Attribute::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            Attribute::Int(v, t) => {
                crate::printer::write_i64(f, *v)?;
                if *t != Type::i64() {
                    write!(f, " : {t}")?;
                }
                Ok(())
            }
            Attribute::Float(v, t) => {
                let s = format_float(*v, *t);
                if *t == Type::f64() {
                    f.write_str(&s)
                } else {
                    write!(f, "{s} : {t}")
                }
            }
            Attribute::Str(s) => crate::printer::write_quoted(f, s),
            Attribute::Array(items) => {
                f.write_str("[")?;
                for (i, a) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    a.write_to(f)?;
                }
                f.write_str("]")
            }
            Attribute::Dict(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    crate::printer::write_attr_entry(f, *k, v)?;
                }
                f.write_str("}")
            }
            Attribute::Type(t) => write!(f, "{t}"),
            Attribute::SymbolRef(s) => write!(f, "@{}", crate::printer::symbol_text(s.as_str())),
            Attribute::Dense(d) => {
                f.write_str("dense<")?;
                if d.is_splat() || d.ty.shape().is_none_or(|s| s.is_empty()) {
                    write_dense_elements(f, d, &[], &mut 0)?;
                } else {
                    write_dense_elements(f, d, d.ty.shape().unwrap_or(&[]), &mut 0)?;
                }
                write!(f, "> : {}", d.ty)
            }
            Attribute::DenseResource { key, ty } => {
                write!(
                    f,
                    "dense_resource<{}> : {ty}",
                    crate::printer::resource_key_text(key.as_str())
                )
            }
            Attribute::Dialect { dialect, body } => write!(f, "#{dialect}.{body}"),
        }
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}
