//! Interned types: `Type` is a `Copy` handle, equal types share one handle.
//!
//! Builtin kinds cover what a dataflow NN compiler needs: floats, integers
//! of any width and signedness, ranked tensors with static dims, function
//! types (for the generic op form), and an escape for dialect types such as
//! `!q.uniform<u8:f32, 0.02:128>`, which keep their body text and are given
//! meaning by the dialect that owns them: [`Type::dialect_value`] interns the
//! dialect's typed value of a body next to the type, so it is parsed once.

use rustc_hash::FxHashMap;
use std::any::{Any, TypeId};
use std::fmt;
use std::sync::{OnceLock, RwLock};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Signedness {
    Signless,
    Signed,
    Unsigned,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum TypeKind {
    F16,
    BF16,
    F32,
    F64,
    Index,
    Int {
        width: u32,
        signedness: Signedness,
    },
    /// A ranked tensor with static dimensions.
    Tensor {
        shape: Vec<i64>,
        elem: Type,
    },
    Function {
        inputs: Vec<Type>,
        results: Vec<Type>,
    },
    /// `!dialect.body`: the dialect name and the verbatim body after the dot.
    Dialect {
        dialect: String,
        body: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Type(u32);

#[derive(Default)]
struct Table {
    map: FxHashMap<&'static TypeKind, u32>,
    kinds: Vec<&'static TypeKind>,
}

/// Scalar types interned first, in this order, when the table is created,
/// so their constructors return a constant handle without locking.
const PREDEFINED: [TypeKind; 7] = [
    TypeKind::F16,
    TypeKind::BF16,
    TypeKind::F32,
    TypeKind::F64,
    TypeKind::Index,
    TypeKind::Int {
        width: 1,
        signedness: Signedness::Signless,
    },
    TypeKind::Int {
        width: 64,
        signedness: Signedness::Signless,
    },
];

impl Table {
    fn intern(&mut self, kind: TypeKind) -> Type {
        if let Some(&i) = self.map.get(&kind) {
            return Type(i);
        }
        let leaked: &'static TypeKind = Box::leak(Box::new(kind));
        let i = self.kinds.len() as u32;
        self.kinds.push(leaked);
        self.map.insert(leaked, i);
        Type(i)
    }
}

fn table() -> &'static RwLock<Table> {
    static T: OnceLock<RwLock<Table>> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Table::default();
        for kind in PREDEFINED {
            t.intern(kind);
        }
        RwLock::new(t)
    })
}

impl Type {
    pub fn get(kind: TypeKind) -> Type {
        if let Some(&i) = table().read().expect("type table poisoned").map.get(&kind) {
            return Type(i);
        }
        table().write().expect("type table poisoned").intern(kind)
    }

    pub fn kind(self) -> &'static TypeKind {
        table().read().expect("type table poisoned").kinds[self.0 as usize]
    }

    pub fn f16() -> Type {
        Type(0)
    }
    pub fn bf16() -> Type {
        Type(1)
    }
    pub fn f32() -> Type {
        Type(2)
    }
    pub fn f64() -> Type {
        Type(3)
    }
    pub fn index() -> Type {
        Type(4)
    }
    pub fn int(width: u32, signedness: Signedness) -> Type {
        match (width, signedness) {
            (1, Signedness::Signless) => Type::i1(),
            (64, Signedness::Signless) => Type::i64(),
            _ => Type::get(TypeKind::Int { width, signedness }),
        }
    }
    pub fn i1() -> Type {
        Type(5)
    }
    pub fn i64() -> Type {
        Type(6)
    }
    pub fn tensor(shape: &[i64], elem: Type) -> Type {
        Type::get(TypeKind::Tensor {
            shape: shape.to_vec(),
            elem,
        })
    }
    pub fn function(inputs: Vec<Type>, results: Vec<Type>) -> Type {
        Type::get(TypeKind::Function { inputs, results })
    }
    pub fn dialect(dialect: &str, body: &str) -> Type {
        Type::get(TypeKind::Dialect {
            dialect: dialect.to_owned(),
            body: body.to_owned(),
        })
    }

    /// The typed value of a `!dialect.body` type: `parse` reads the body the first time
    /// the (type, `T`) pair is asked for, and the result is kept for the life of the
    /// process, as the interned type is; later calls are a map lookup. `None` when this
    /// is not a type of `dialect` or `parse` rejects it.
    pub fn dialect_value<T: Any + Send + Sync>(
        self,
        dialect: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Option<&'static T> {
        type Values = FxHashMap<(u32, TypeId), Option<&'static (dyn Any + Send + Sync)>>;
        static VALUES: OnceLock<RwLock<Values>> = OnceLock::new();
        let TypeKind::Dialect { dialect: d, body } = self.kind() else {
            return None;
        };
        if d != dialect {
            return None;
        }
        let key = (self.0, TypeId::of::<T>());
        let values = VALUES.get_or_init(Default::default);
        let known = values
            .read()
            .expect("dialect values poisoned")
            .get(&key)
            .copied();
        let value = match known {
            Some(v) => v,
            None => {
                let v = parse(body)
                    .map(|t| &*Box::leak(Box::new(t)) as &'static (dyn Any + Send + Sync));
                *values
                    .write()
                    .expect("dialect values poisoned")
                    .entry(key)
                    .or_insert(v)
            }
        };
        value.and_then(|v| v.downcast_ref::<T>())
    }

    pub fn is_float(self) -> bool {
        matches!(
            self.kind(),
            TypeKind::F16 | TypeKind::BF16 | TypeKind::F32 | TypeKind::F64
        )
    }
    pub fn is_integer(self) -> bool {
        matches!(self.kind(), TypeKind::Int { .. } | TypeKind::Index)
    }

    /// Shape of a tensor type, `None` for scalars and other kinds.
    pub fn shape(self) -> Option<&'static [i64]> {
        match self.kind() {
            TypeKind::Tensor { shape, .. } => Some(shape),
            _ => None,
        }
    }

    /// Element type of a tensor, or the type itself for scalars.
    pub fn element(self) -> Type {
        match self.kind() {
            TypeKind::Tensor { elem, .. } => *elem,
            _ => self,
        }
    }

    /// Number of elements of a tensor type (1 for scalars).
    pub fn num_elements(self) -> i64 {
        self.shape().map_or(1, |s| s.iter().product())
    }

    pub fn function_parts(self) -> Option<(&'static [Type], &'static [Type])> {
        match self.kind() {
            TypeKind::Function { inputs, results } => Some((inputs, results)),
            _ => None,
        }
    }
}

impl fmt::Debug for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn write_type_list(f: &mut fmt::Formatter<'_>, types: &[Type]) -> fmt::Result {
    for (i, t) in types.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{t}")?;
    }
    Ok(())
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            TypeKind::F16 => f.write_str("f16"),
            TypeKind::BF16 => f.write_str("bf16"),
            TypeKind::F32 => f.write_str("f32"),
            TypeKind::F64 => f.write_str("f64"),
            TypeKind::Index => f.write_str("index"),
            TypeKind::Int { width, signedness } => match signedness {
                Signedness::Signless => write!(f, "i{width}"),
                Signedness::Signed => write!(f, "si{width}"),
                Signedness::Unsigned => write!(f, "ui{width}"),
            },
            TypeKind::Tensor { shape, elem } => {
                f.write_str("tensor<")?;
                for d in shape {
                    write!(f, "{d}x")?;
                }
                write!(f, "{elem}>")
            }
            TypeKind::Function { inputs, results } => {
                f.write_str("(")?;
                write_type_list(f, inputs)?;
                f.write_str(") -> ")?;
                if results.len() == 1 && !matches!(results[0].kind(), TypeKind::Function { .. }) {
                    write!(f, "{}", results[0])
                } else {
                    f.write_str("(")?;
                    write_type_list(f, results)?;
                    f.write_str(")")
                }
            }
            TypeKind::Dialect { dialect, body } => write!(f, "!{dialect}.{body}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_and_printing() {
        let a = Type::tensor(&[1, 32, 32, 3], Type::f32());
        let b = Type::tensor(&[1, 32, 32, 3], Type::f32());
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "tensor<1x32x32x3xf32>");
        assert_eq!(Type::int(8, Signedness::Unsigned).to_string(), "ui8");
        let f = Type::function(vec![a], vec![Type::f16(), Type::i64()]);
        assert_eq!(f.to_string(), "(tensor<1x32x32x3xf32>) -> (f16, i64)");
        assert_eq!(a.num_elements(), 3072);
    }

    #[test]
    fn predefined_scalars_match_their_kinds() {
        assert_eq!(*Type::f16().kind(), TypeKind::F16);
        assert_eq!(*Type::bf16().kind(), TypeKind::BF16);
        assert_eq!(*Type::f32().kind(), TypeKind::F32);
        assert_eq!(*Type::f64().kind(), TypeKind::F64);
        assert_eq!(*Type::index().kind(), TypeKind::Index);
        assert_eq!(
            Type::get(TypeKind::Int {
                width: 1,
                signedness: Signedness::Signless
            }),
            Type::i1()
        );
        assert_eq!(
            Type::get(TypeKind::Int {
                width: 64,
                signedness: Signedness::Signless
            }),
            Type::i64()
        );
        assert_eq!(Type::i64().to_string(), "i64");
    }

    #[test]
    fn dialect_values_are_parsed_once_per_type() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static PARSES: AtomicUsize = AtomicUsize::new(0);
        fn width(body: &str) -> Option<u32> {
            PARSES.fetch_add(1, Ordering::SeqCst);
            body.strip_prefix("bits<")?.strip_suffix('>')?.parse().ok()
        }
        let t = Type::dialect("valtest", "bits<12>");
        assert_eq!(t.dialect_value("valtest", width), Some(&12));
        assert_eq!(t.dialect_value("valtest", width), Some(&12));
        assert_eq!(
            PARSES.load(Ordering::SeqCst),
            1,
            "the second call is a lookup"
        );
        // Another dialect's name, a rejected body and a builtin type give no value.
        assert_eq!(t.dialect_value("other", width), None);
        let bad = Type::dialect("valtest", "bits<x>");
        assert_eq!(bad.dialect_value("valtest", width), None);
        assert_eq!(bad.dialect_value("valtest", width), None);
        assert_eq!(
            PARSES.load(Ordering::SeqCst),
            2,
            "a rejection is remembered too"
        );
        assert_eq!(Type::f32().dialect_value("valtest", width), None);
        assert_eq!(
            t.to_string(),
            "!valtest.bits<12>",
            "the text form is unchanged"
        );
    }
}
