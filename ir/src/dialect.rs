//! Dialects and op definitions: what the IR knows about each op name.
//!
//! An [`OpDef`] carries trait flags, a verifier, optional type inference, an
//! optional folder, its textual syntax and its canonicalization patterns. A
//! dialect crate builds a [`Dialect`] and the tool registers it in a
//! [`Context`]; nothing in `ir/` has to change to add an op or a dialect.

use crate::attrs::Attribute;
use crate::diag::Diagnostic;
use crate::interface::InterfaceImpl;
use crate::location::Location;
use crate::module::{Module, OpId, ValueId};
use crate::rewrite::RewritePattern;
use crate::schema::Schema;
use crate::types::Type;
use rustc_hash::FxHashMap;
use std::any::TypeId;
use std::collections::BTreeMap;

/// Op trait flags.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct Traits(u32);

impl Traits {
    pub const NONE: Traits = Traits(0);
    /// No side effects: may be CSE'd and erased when unused.
    pub const PURE: Traits = Traits(1);
    pub const COMMUTATIVE: Traits = Traits(1 << 1);
    pub const ELEMENTWISE: Traits = Traits(1 << 2);
    /// Must be the last op of its block.
    pub const TERMINATOR: Traits = Traits(1 << 3);
    /// Defines a constant from its `value` attribute; folding materializes these.
    pub const CONSTANT_LIKE: Traits = Traits(1 << 4);
    /// Has a `sym_name` attribute.
    pub const SYMBOL: Traits = Traits(1 << 5);
    /// Every operand and result has the same type.
    pub const SAME_OPERANDS_AND_RESULT_TYPE: Traits = Traits(1 << 6);
    /// Regions may not use values defined outside the op.
    pub const ISOLATED_FROM_ABOVE: Traits = Traits(1 << 7);

    pub const fn union(self, o: Traits) -> Traits {
        Traits(self.0 | o.0)
    }
    pub const fn contains(self, o: Traits) -> bool {
        self.0 & o.0 == o.0
    }
}

impl std::ops::BitOr for Traits {
    type Output = Traits;
    fn bitor(self, o: Traits) -> Traits {
        self.union(o)
    }
}

/// What a folder produced for one result.
#[derive(Clone, Debug)]
pub enum FoldResult {
    /// The result equals an existing value.
    Value(ValueId),
    /// The result is a constant; the dialect materializes it.
    Attr(Attribute),
}

pub type VerifyFn = fn(&Module, OpId) -> Result<(), String>;
pub type InferFn = fn(&Module, OpId) -> Result<Vec<Type>, String>;
/// `consts[i]` is the constant value of operand `i` when it is defined by a constant-like op.
pub type FoldFn = fn(&Module, OpId, &[Option<Attribute>]) -> Option<Vec<FoldResult>>;
pub type PatternsFn = fn() -> Vec<Box<dyn RewritePattern>>;
pub type MaterializeFn = fn(&mut Module, &Attribute, Type, Location) -> Option<OpId>;

/// How an op is written in the custom (non-generic) textual form.
#[derive(Clone, Copy)]
pub enum Syntax {
    /// Always printed in the generic form.
    Generic,
    /// `%r = dialect.op %a, %b {attrs} : result-types` (operand types from their definitions).
    Default,
    /// `dialect.op %a, %b {attrs} : operand-types` for result-less ops such as returns.
    OperandTypes,
    /// A hand-written printer and parser.
    Custom(&'static dyn crate::syntax::CustomSyntax),
}

#[derive(Clone, Copy)]
pub struct OpDef {
    pub name: &'static str,
    pub summary: &'static str,
    pub traits: Traits,
    pub verify: Option<VerifyFn>,
    pub infer_types: Option<InferFn>,
    pub fold: Option<FoldFn>,
    pub syntax: Syntax,
    pub patterns: Option<PatternsFn>,
    /// The declared attributes; `None` for ops declared without a schema
    /// (their attributes are not checked).
    pub attrs: Option<Schema>,
    /// The interfaces the op implements (see [`crate::interface`]).
    pub interfaces: &'static [InterfaceImpl],
}

impl OpDef {
    /// A definition with no hooks, printed in the default custom form.
    pub const fn new(name: &'static str, summary: &'static str, traits: Traits) -> OpDef {
        OpDef {
            name,
            summary,
            traits,
            verify: None,
            infer_types: None,
            fold: None,
            syntax: Syntax::Default,
            patterns: None,
            attrs: None,
            interfaces: &[],
        }
    }
    pub const fn verify(mut self, f: VerifyFn) -> OpDef {
        self.verify = Some(f);
        self
    }
    pub const fn infer(mut self, f: InferFn) -> OpDef {
        self.infer_types = Some(f);
        self
    }
    pub const fn fold(mut self, f: FoldFn) -> OpDef {
        self.fold = Some(f);
        self
    }
    pub const fn syntax(mut self, s: Syntax) -> OpDef {
        self.syntax = s;
        self
    }
    pub const fn patterns(mut self, f: PatternsFn) -> OpDef {
        self.patterns = Some(f);
        self
    }
    pub const fn attrs(mut self, schema: Schema) -> OpDef {
        self.attrs = Some(schema);
        self
    }
    pub const fn interfaces(mut self, list: &'static [InterfaceImpl]) -> OpDef {
        self.interfaces = list;
        self
    }

    /// The op's implementation of interface `I` (`def.interface::<dyn Weights>()`).
    pub fn interface<I: ?Sized + 'static>(&self) -> Option<&'static I> {
        self.interfaces.iter().find_map(InterfaceImpl::get::<I>)
    }
}

pub struct Dialect {
    pub name: &'static str,
    pub summary: &'static str,
    pub ops: Vec<OpDef>,
    /// Creates a constant op for a folded attribute.
    pub materialize_constant: Option<MaterializeFn>,
    /// Checks that span the ops directly inside one region-holding op (e.g. names that
    /// must be unique per graph); the verifier runs it on every op that has regions.
    pub verify_regions: Option<RegionVerifyFn>,
}

/// A dialect's check over the ops nested directly in `op`'s regions.
pub type RegionVerifyFn = fn(m: &Module, op: OpId) -> Vec<Diagnostic>;

/// The registered dialects and the flags that govern parsing and verification.
#[derive(Default)]
pub struct Context {
    dialects: BTreeMap<&'static str, Dialect>,
    ops: FxHashMap<&'static str, OpDef>,
    /// Interfaces attached to registered ops from outside their dialect.
    external: FxHashMap<(&'static str, TypeId), InterfaceImpl>,
    pub allow_unregistered: bool,
}

impl Context {
    /// A context with the builtin dialect registered.
    pub fn new() -> Context {
        let mut c = Context::default();
        c.register(crate::builtin::dialect());
        c
    }

    pub fn register(&mut self, d: Dialect) {
        for op in &d.ops {
            self.ops.insert(op.name, *op);
        }
        self.dialects.insert(d.name, d);
    }

    pub fn op_def(&self, name: &str) -> Option<&OpDef> {
        self.ops.get(name)
    }

    pub fn dialect(&self, name: &str) -> Option<&Dialect> {
        self.dialects.get(name)
    }

    pub fn dialects(&self) -> impl Iterator<Item = &Dialect> {
        self.dialects.values()
    }

    /// Dialect-qualified op name split at the first dot.
    pub fn dialect_of(op_name: &str) -> &str {
        op_name.split_once('.').map_or(op_name, |(d, _)| d)
    }

    /// Attaches an implementation of an interface to the registered op
    /// `name` from outside its dialect (MLIR's external models).
    pub fn attach_interface(&mut self, name: &'static str, imp: InterfaceImpl) {
        self.external.insert((name, (imp.id)()), imp);
    }

    /// The implementation of interface `I` for op `name`: declared with the
    /// op, or attached with [`Context::attach_interface`].
    pub fn interface<I: ?Sized + 'static>(&self, name: &str) -> Option<&'static I> {
        let def = self.op_def(name)?;
        def.interface::<I>().or_else(|| {
            self.external
                .get(&(def.name, TypeId::of::<I>()))
                .and_then(InterfaceImpl::get::<I>)
        })
    }

    pub fn has_trait(&self, name: &str, t: Traits) -> bool {
        self.op_def(name).is_some_and(|d| d.traits.contains(t))
    }

    /// All canonicalization patterns of all registered ops, in a stable order.
    pub fn canonical_patterns(&self) -> Vec<Box<dyn RewritePattern>> {
        let mut names: Vec<&&'static str> = self.ops.keys().collect();
        names.sort();
        names
            .into_iter()
            .filter_map(|n| self.ops[*n].patterns)
            .flat_map(|f| f())
            .collect()
    }
}

/// Declares an op once: its typed view (a `Copy` newtype around [`OpId`]
/// with `NAME`, `cast`, named operand accessors and typed attribute getters)
/// and, when a `summary` is given, its registered definition `def()`
/// carrying the traits, the attribute schema, the interfaces and the hooks
/// (`verify`, `infer`, `fold`, `syntax`, `patterns`: any [`OpDef`] builder
/// method). Views add no storage; the op stays generic data.
///
/// ```ignore
/// define_op! {
///     /// A 2-D convolution.
///     pub struct Conv2d = "hl.conv2d" {
///         summary: "2-D convolution", traits: [PURE],
///         operands { input: 0, kernel: 1 }
///         attrs { strides: i64_array [default = "[1, 1]"], layer: str [required] }
///         attr_groups [FUSED_ACTIVATION]
///         interfaces { Weights => CONV_WEIGHTS }
///         hooks { verify: verify_conv, infer: infer_conv }
///     }
/// }
/// ```
///
/// Attribute kinds: `i64`, `f64`, `bool`, `str`, `i64_array`, `f64_array`,
/// `attr` (any). An attribute is optional unless marked `[required]` (or
/// `[required = "what it is"]`, which the missing-attribute error shows);
/// `[default = "text"]` documents what an absent one means.
#[macro_export]
macro_rules! define_op {
    (
        $(#[$meta:meta])*
        $vis:vis struct $ty:ident = $name:literal {
            summary: $summary:literal, traits: [$($tr:ident),* $(,)?] $(,)?
            $(operands { $($opnd:ident : $idx:literal),* $(,)? })?
            $(attrs { $($attr:ident : $kind:ident $([$($modifier:tt)*])?),* $(,)? })?
            $(attr_groups [$($group:path),* $(,)?])?
            $(interfaces { $($iface:path => $imp:expr),* $(,)? })?
            $(hooks { $($hook:ident : $hval:expr),* $(,)? })?
        }
    ) => {
        $crate::define_op! {
            $(#[$meta])*
            $vis struct $ty = $name {
                $(operands { $($opnd : $idx),* })?
                $(attrs { $($attr : $kind),* })?
            }
        }

        impl $ty {
            /// The attributes declared by this op itself.
            pub const OWN_ATTRS: &'static [$crate::AttrSpec] = &[$($(
                $crate::AttrSpec {
                    name: stringify!($attr),
                    kind: $crate::define_op!(@kind $kind),
                    required: $crate::define_op!(@required $($($modifier)*)?),
                    default: $crate::define_op!(@default $($($modifier)*)?),
                    what: $crate::define_op!(@what $($($modifier)*)?),
                },
            )*)?];

            /// The full attribute schema: own attributes and shared groups.
            pub const SCHEMA: $crate::Schema = &[Self::OWN_ATTRS, $($($group),*)?];

            /// The interfaces this op implements.
            pub const INTERFACES: &'static [$crate::InterfaceImpl] =
                &[$($($crate::interface_impl!($iface => $imp)),*)?];

            /// The registered definition of this op.
            pub fn def() -> $crate::OpDef {
                $crate::OpDef::new(
                    $name,
                    $summary,
                    $crate::Traits::NONE$(.union($crate::Traits::$tr))*,
                )
                .attrs(Self::SCHEMA)
                .interfaces(Self::INTERFACES)
                $($(.$hook($hval))*)?
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $ty:ident = $name:literal {
            $(operands { $($opnd:ident : $idx:literal),* $(,)? })?
            $(attrs { $($attr:ident : $kind:ident),* $(,)? })?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis struct $ty(pub $crate::OpId);

        impl $crate::OpType for $ty {
            const NAME: &'static str = $name;
        }

        impl $ty {
            pub const NAME: &'static str = $name;

            /// The view of `op` if it is a `
            #[doc = $name]
            /// ` op.
            pub fn cast(m: &$crate::Module, op: $crate::OpId) -> Option<Self> {
                (m.op(op).name_str() == $name).then_some($ty(op))
            }

            pub fn id(self) -> $crate::OpId {
                self.0
            }

            pub fn result(self, m: &$crate::Module) -> $crate::ValueId {
                m.result(self.0, 0)
            }

            $($(
                pub fn $opnd(self, m: &$crate::Module) -> Option<$crate::ValueId> {
                    m.op(self.0).operands().get($idx).copied()
                }
            )*)?

            $($(
                pub fn $attr(self, m: &$crate::Module) -> $crate::define_op!(@ret $kind) {
                    $crate::define_op!(@get $kind, m.attr(self.0, stringify!($attr)))
                }
            )*)?
        }
    };
    (@required) => { false };
    (@required required $(= $w:literal)?) => { true };
    (@required default = $d:literal) => { false };
    (@default $($m:tt)*) => { $crate::define_op!(@default_of $($m)*) };
    (@default_of default = $d:literal) => { Some($d) };
    (@default_of $($m:tt)*) => { None };
    (@what required = $w:literal) => { Some($w) };
    (@what $($m:tt)*) => { None };
    (@kind i64) => { $crate::AttrKind::I64 };
    (@kind f64) => { $crate::AttrKind::F64 };
    (@kind bool) => { $crate::AttrKind::Bool };
    (@kind str) => { $crate::AttrKind::Str };
    (@kind i64_array) => { $crate::AttrKind::I64Array };
    (@kind f64_array) => { $crate::AttrKind::F64Array };
    (@kind attr) => { $crate::AttrKind::Any };
    (@ret i64) => { Option<i64> };
    (@ret f64) => { Option<f64> };
    (@ret bool) => { Option<bool> };
    (@ret str) => { Option<String> };
    (@ret i64_array) => { Option<Vec<i64>> };
    (@ret f64_array) => { Option<Vec<f64>> };
    (@ret attr) => { Option<$crate::Attribute> };
    (@get i64, $a:expr) => { $a.and_then($crate::Attribute::as_i64) };
    (@get f64, $a:expr) => { $a.and_then($crate::Attribute::as_f64) };
    (@get bool, $a:expr) => { $a.and_then($crate::Attribute::as_bool) };
    (@get str, $a:expr) => { $a.and_then($crate::Attribute::as_str).map(str::to_owned) };
    (@get i64_array, $a:expr) => { $a.and_then($crate::Attribute::as_i64_array) };
    (@get f64_array, $a:expr) => { $a.and_then($crate::Attribute::as_f64_array) };
    (@get attr, $a:expr) => { $a.cloned() };
}
