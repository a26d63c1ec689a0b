//! Op interfaces: behaviour that code outside a dialect needs, attached to
//! op definitions and looked up by the interface's type (MLIR's op
//! interfaces).
//!
//! An interface is a trait (with `Sync` as a supertrait, since definitions
//! are shared process-wide). An op declares its implementations in its
//! [`crate::define_op!`] block (`interfaces { Weights => CONV_WEIGHTS }`);
//! a later crate can attach more to an already registered op with
//! [`crate::Context::attach_interface`] (MLIR's external models), which is how
//! a lower layer stays ignorant of behaviour defined above it. Callers ask
//! `def.interface::<dyn Weights>()` and never compare op names.

use crate::dialect::OpDef;
use crate::intern::Sym;
use crate::module::{Module, OpId};
use rustc_hash::FxHashMap;
use std::any::{Any, TypeId};

/// One implementation of one interface: the interface's type id and a
/// `&'static &'static dyn Interface` behind `Any`.
#[derive(Clone, Copy)]
pub struct InterfaceImpl {
    pub id: fn() -> TypeId,
    pub imp: &'static (dyn Any + Send + Sync),
}

impl InterfaceImpl {
    /// The implementation of `I` this entry holds, if it is for `I`.
    pub fn get<I: ?Sized + 'static>(&self) -> Option<&'static I> {
        if (self.id)() != TypeId::of::<I>() {
            return None;
        }
        self.imp.downcast_ref::<&'static I>().copied()
    }
}

impl std::fmt::Debug for InterfaceImpl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InterfaceImpl({:?})", (self.id)())
    }
}

/// Builds an [`InterfaceImpl`] in a constant: `interface_impl!(Weights => CONV_WEIGHTS)`.
#[macro_export]
macro_rules! interface_impl {
    ($iface:path => $imp:expr) => {
        $crate::InterfaceImpl {
            id: ::std::any::TypeId::of::<dyn $iface>,
            imp: &(&$imp as &'static dyn $iface),
        }
    };
}

/// The op definitions of one or more dialects keyed by interned name, for
/// code that holds a [`Module`] but no [`crate::Context`] (the interpreter,
/// the quantizer): each dialect crate keeps one table of its own ops.
#[derive(Default)]
pub struct OpTable {
    /// In declaration order.
    defs: Vec<OpDef>,
    by_name: FxHashMap<Sym, usize>,
}

impl OpTable {
    pub fn new(defs: impl IntoIterator<Item = OpDef>) -> OpTable {
        let defs: Vec<OpDef> = defs.into_iter().collect();
        let by_name = defs
            .iter()
            .enumerate()
            .map(|(i, d)| (Sym::new(d.name), i))
            .collect();
        OpTable { defs, by_name }
    }

    /// Every definition, in declaration order.
    pub fn defs(&self) -> &[OpDef] {
        &self.defs
    }

    /// The definition of `op`, if this table has it.
    pub fn def(&self, m: &Module, op: OpId) -> Option<&OpDef> {
        self.by_name.get(&m.op(op).name).map(|&i| &self.defs[i])
    }

    /// `op`'s implementation of interface `I`, if its definition has one.
    pub fn interface<I: ?Sized + 'static>(&self, m: &Module, op: OpId) -> Option<&'static I> {
        self.def(m, op)?.interface::<I>()
    }
}

/// An op type declared with [`crate::define_op!`]: what code outside its
/// dialect names it by, instead of a string.
pub trait OpType {
    const NAME: &'static str;
}

/// Implementations of one interface `I` attached to ops from a crate above
/// their dialect (MLIR's external models): the executor attaches evaluation
/// to `hl` and `q` ops, the conversion passes attach lowering. Built once per
/// process (in a `LazyLock`) and consulted by op, never by comparing names.
pub struct ExternalModels<I: ?Sized + 'static> {
    by_op: FxHashMap<Sym, &'static I>,
    /// Op names in attachment order, for "supported ops" messages.
    names: Vec<&'static str>,
}

impl<I: ?Sized + 'static> Default for ExternalModels<I> {
    fn default() -> Self {
        ExternalModels {
            by_op: FxHashMap::default(),
            names: Vec::new(),
        }
    }
}

impl<I: ?Sized + 'static> ExternalModels<I> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Attaches `imp` to op type `O` (a later attachment replaces an earlier one).
    pub fn attach<O: OpType>(mut self, imp: &'static I) -> Self {
        if self.by_op.insert(Sym::new(O::NAME), imp).is_none() {
            self.names.push(O::NAME);
        }
        self
    }

    /// `op`'s implementation, if one is attached to its type.
    pub fn get(&self, m: &Module, op: OpId) -> Option<&'static I> {
        self.by_op.get(&m.op(op).name).copied()
    }

    /// The ops with an implementation, in attachment order.
    pub fn op_names(&self) -> &[&'static str] {
        &self.names
    }
}
