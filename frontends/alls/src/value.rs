//! Typed values: an AST [`Value`] checked against a parameter type [`Ty`].
//!
//! Conversion accepts what the guide and the model zoo write (integers where floats are expected,
//! `True`/`False` for policies, enum words in any case) and stores a canonical form, so consumers
//! see `Enum("enabled")` whether the script said `enabled` or `True`.

use crate::ast::{Value, ValueKind};
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::selector::{Glob, LayerRef, LayerSelector};
use crate::spec::{Bound, Ty};

#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    /// `None` given for a parameter whose default is "not set".
    None,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An enum or policy value in the table's spelling, or an open-enum word as written.
    Word(String),
    Str(String),
    Seconds(u64),
    Layers(LayerSelector),
    List(Vec<TypedValue>),
}

impl TypedValue {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            TypedValue::Int(i) => Some(*i as f64),
            TypedValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_word(&self) -> Option<&str> {
        match self {
            TypedValue::Word(w) | TypedValue::Str(w) => Some(w),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[TypedValue]> {
        match self {
            TypedValue::List(items) => Some(items),
            _ => None,
        }
    }
}

/// What a type accepts, for "expected ..." labels.
pub fn describe(ty: &Ty) -> String {
    match ty {
        Ty::Int { min, max } => match (min, max) {
            (Some(a), Some(b)) if a == b => format!("the integer {a}"),
            (Some(a), Some(b)) => format!("an integer with {a} <= x <= {b}"),
            (Some(a), None) => format!("an integer with x >= {a}"),
            (None, Some(b)) => format!("an integer with x <= {b}"),
            (None, None) => "an integer".into(),
        },
        Ty::Float { min, max } => {
            let lo = match min {
                Bound::None => String::new(),
                Bound::Inclusive(a) => format!("{a} <= "),
                Bound::Exclusive(a) => format!("{a} < "),
            };
            let hi = match max {
                Bound::None => String::new(),
                Bound::Inclusive(b) => format!(" <= {b}"),
                Bound::Exclusive(b) => format!(" < {b}"),
            };
            if lo.is_empty() && hi.is_empty() {
                "a number".into()
            } else {
                format!("a number with {lo}x{hi}")
            }
        }
        Ty::Bool => "`True` or `False`".into(),
        Ty::Policy => "`enabled`, `disabled`, `allowed`, `True` or `False`".into(),
        Ty::Enum(words) | Ty::OpenEnum(words) => one_of(words),
        Ty::Str => "a string".into(),
        Ty::Duration => "a duration such as `3600`, `25m` or `5h`".into(),
        Ty::Layer => "a layer name".into(),
        Ty::Layers => "a layer name, a [list] of names or a {glob}".into(),
        Ty::Name => "a name".into(),
        Ty::List(item, Some(n)) => format!("a list of {n} items, each {}", describe(item)),
        Ty::List(item, None) => format!("a list, each item {}", describe(item)),
        Ty::OneOrList(item) => format!("{} or a list of them", describe(item)),
        Ty::Choice(alts) => alts.iter().map(describe).collect::<Vec<_>>().join(" or "),
        Ty::Advisory(inner) => describe(inner),
    }
}

fn one_of(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    format!("one of {}", quoted.join(", "))
}

/// Converts `value` to `ty`. Open-enum words outside the table and advisory-range violations are
/// accepted and reported in `warnings` (the caller decides whether they count).
pub fn convert(
    ty: &Ty,
    value: &Value,
    param: &str,
    warnings: &mut Vec<Diagnostic>,
) -> Result<TypedValue, Diagnostic> {
    let mismatch = || {
        Diagnostic::error(
            value.span,
            format!("invalid value {} for `{param}`", value.kind.describe()),
            format!("expected {}", describe(ty)),
        )
    };
    let out_of_range = || {
        Diagnostic::error(
            value.span,
            format!(
                "value {} for `{param}` is out of range",
                value.kind.describe()
            ),
            format!("expected {}", describe(ty)),
        )
    };
    let word = match &value.kind {
        ValueKind::Word(w) => Some(w.as_str()),
        _ => None,
    };
    match ty {
        Ty::Int { min, max } => match value.kind {
            ValueKind::Int(i) => {
                if min.is_some_and(|m| i < m) || max.is_some_and(|m| i > m) {
                    Err(out_of_range())
                } else {
                    Ok(TypedValue::Int(i))
                }
            }
            _ => Err(mismatch()),
        },
        Ty::Float { min, max } => {
            let x = match value.kind {
                ValueKind::Int(i) => i as f64,
                ValueKind::Float(f) => f,
                _ => return Err(mismatch()),
            };
            let below = match *min {
                Bound::None => false,
                Bound::Inclusive(m) => x < m,
                Bound::Exclusive(m) => x <= m,
            };
            let above = match *max {
                Bound::None => false,
                Bound::Inclusive(m) => x > m,
                Bound::Exclusive(m) => x >= m,
            };
            if below || above {
                return Err(out_of_range());
            }
            Ok(TypedValue::Float(x))
        }
        Ty::Bool => match value.kind {
            ValueKind::Bool(b) => Ok(TypedValue::Bool(b)),
            _ => Err(mismatch()),
        },
        Ty::Policy => match (&value.kind, word) {
            (ValueKind::Bool(b), _) => Ok(TypedValue::Word(
                if *b { "enabled" } else { "disabled" }.into(),
            )),
            (_, Some(w)) => enum_word(&["enabled", "disabled", "allowed"], w)
                .map(|w| TypedValue::Word(w.into()))
                .ok_or_else(|| with_hint(mismatch(), w, &["enabled", "disabled", "allowed"])),
            _ => Err(mismatch()),
        },
        Ty::Enum(words) | Ty::OpenEnum(words) => {
            let Some(w) = word else {
                return Err(mismatch());
            };
            if let Some(canonical) = enum_word(words, w) {
                return Ok(TypedValue::Word(canonical.into()));
            }
            if matches!(ty, Ty::OpenEnum(_)) {
                warnings.push(Diagnostic::warning(
                    value.span,
                    format!("unknown value `{w}` for `{param}`"),
                    format!("the user guide lists {}", one_of(words)),
                ));
                return Ok(TypedValue::Word(w.into()));
            }
            Err(with_hint(mismatch(), w, words))
        }
        Ty::Str | Ty::Name => match &value.kind {
            ValueKind::Str(s, _) => Ok(TypedValue::Str(s.clone())),
            ValueKind::Word(w) => Ok(TypedValue::Word(w.clone())),
            _ => Err(mismatch()),
        },
        Ty::Duration => match value.kind {
            ValueKind::Int(i) if i >= 0 => Ok(TypedValue::Seconds(i as u64)),
            ValueKind::Duration(n, unit) => n
                .checked_mul(unit.seconds())
                .map(TypedValue::Seconds)
                .ok_or_else(out_of_range),
            _ => Err(mismatch()),
        },
        Ty::Layer => layer_ref(value)
            .map(|r| TypedValue::Layers(LayerSelector::Name(r)))
            .ok_or_else(mismatch),
        Ty::Layers => match &value.kind {
            ValueKind::Glob(p) => Ok(TypedValue::Layers(LayerSelector::Glob(Glob::parse(
                p, value.span,
            )?))),
            ValueKind::List(items) => layer_list(items, param).map(TypedValue::Layers),
            _ => layer_ref(value)
                .map(|r| TypedValue::Layers(LayerSelector::Name(r)))
                .ok_or_else(mismatch),
        },
        Ty::List(item, len) => {
            let ValueKind::List(items) = &value.kind else {
                return Err(mismatch());
            };
            if let Some(n) = len {
                if items.len() != *n {
                    return Err(Diagnostic::error(
                        value.span,
                        format!("`{param}` has {} item(s), expected {n}", items.len()),
                        format!("expected {}", describe(ty)),
                    ));
                }
            }
            if **item == Ty::Layer {
                return layer_list(items, param).map(TypedValue::Layers);
            }
            items
                .iter()
                .map(|v| convert(item, v, param, warnings))
                .collect::<Result<_, _>>()
                .map(TypedValue::List)
        }
        Ty::OneOrList(item) => match &value.kind {
            ValueKind::List(items) => items
                .iter()
                .map(|v| convert(item, v, param, warnings))
                .collect::<Result<_, _>>()
                .map(TypedValue::List),
            _ => convert(item, value, param, warnings),
        },
        Ty::Choice(alts) => alts
            .iter()
            .find_map(|alt| convert(alt, value, param, warnings).ok())
            .ok_or_else(mismatch),
        Ty::Advisory(inner) => convert(inner, value, param, warnings).or_else(|e| {
            let relaxed = match inner {
                Ty::Int { .. } => Ty::Int {
                    min: None,
                    max: None,
                },
                Ty::Float { .. } => Ty::Float {
                    min: Bound::None,
                    max: Bound::None,
                },
                _ => return Err(e),
            };
            let v = convert(&relaxed, value, param, warnings).map_err(|_| e.clone())?;
            warnings.push(Diagnostic::warning(
                e.span,
                format!(
                    "value {} for `{param}` is outside the guide's range",
                    value.kind.describe()
                ),
                e.label,
            ));
            Ok(v)
        }),
    }
}

fn enum_word(words: &[&'static str], w: &str) -> Option<&'static str> {
    words.iter().copied().find(|c| c.eq_ignore_ascii_case(w))
}

fn with_hint(mut d: Diagnostic, w: &str, words: &[&str]) -> Diagnostic {
    d.label.push_str(&did_you_mean(w, words.iter().copied()));
    d
}

/// A layer name: a bare word or a quoted string.
fn layer_ref(value: &Value) -> Option<LayerRef> {
    match &value.kind {
        ValueKind::Word(w) | ValueKind::Str(w, _) => Some(LayerRef {
            name: w.clone(),
            span: value.span,
        }),
        _ => None,
    }
}

fn layer_list(items: &[Value], param: &str) -> Result<LayerSelector, Diagnostic> {
    items
        .iter()
        .map(|v| {
            layer_ref(v).ok_or_else(|| {
                Diagnostic::error(
                    v.span,
                    format!("invalid layer {} in `{param}`", v.kind.describe()),
                    "expected a layer name",
                )
            })
        })
        .collect::<Result<_, _>>()
        .map(LayerSelector::List)
}
