//! The interfaces of `hl` ops: what code outside the dialect asks of an op
//! instead of matching its name. Each op declares the ones it implements in
//! its `define_op!` block; [`interface`] finds them from a bare module.
//!
//! - [`Weights`]: which operands are trained constants and which kernel axis
//!   holds the output channels (the quantizer's per-channel scales, weight
//!   counts, sensitivity analysis);
//! - [`PrecisionGroup`]: how the op takes part in precision groups
//!   (quantization.md §9): ops that only move codes and ops that join their
//!   inputs' precisions;
//! - [`FusedActivation`]: the op applies an activation to its result
//!   (attribute `activation` and its parameters);
//! - [`HnExport`]: the op's HN layer type and params (see [`crate::hn`]).

use crate::access::Result;
use crate::hn::HnLayer;
use crate::ops::activation::Activation;
use hailo_ir::{Module, OpDef, OpId, OpTable};
use std::sync::LazyLock;

/// An op with trained constant operands.
pub trait Weights: Sync {
    /// The operand index of the kernel.
    fn kernel(&self) -> usize;
    /// The operand index of the optional bias.
    fn bias(&self) -> Option<usize>;
    /// The kernel axis of the output channels.
    fn output_channel_axis(&self) -> usize;
}

/// Weights as plain data: the layouts the `hl` ops use.
pub struct WeightLayout {
    pub kernel: usize,
    pub bias: Option<usize>,
    pub output_channel_axis: usize,
}

impl Weights for WeightLayout {
    fn kernel(&self) -> usize {
        self.kernel
    }
    fn bias(&self) -> Option<usize> {
        self.bias
    }
    fn output_channel_axis(&self) -> usize {
        self.output_channel_axis
    }
}

/// An HWIO kernel `[kh, kw, cin, cout]` (operand 1) and a `[cout]` bias (operand 2).
pub const HWIO: WeightLayout = WeightLayout {
    kernel: 1,
    bias: Some(2),
    output_channel_axis: 3,
};

/// A dense kernel `[cin, cout]` (operand 1) and a `[cout]` bias (operand 2).
pub const DENSE: WeightLayout = WeightLayout {
    kernel: 1,
    bias: Some(2),
    output_channel_axis: 1,
};

/// The part an op plays in precision groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupRole {
    /// The result carries the input's codes unchanged (same quantized type).
    MovesCodes,
    /// The inputs share the result's precision (concat, shortcuts, output layers).
    JoinsInputs,
}

pub trait PrecisionGroup: Sync {
    fn role(&self) -> GroupRole;
}

impl PrecisionGroup for GroupRole {
    fn role(&self) -> GroupRole {
        *self
    }
}

/// An op that applies an activation to its result.
pub trait FusedActivation: Sync {
    /// The fused activation of `op` (linear when the attribute is absent).
    fn activation(&self, m: &Module, op: OpId) -> Result<Activation>;
}

/// The `activation` attribute with its parameters.
pub struct ActivationAttr;

impl FusedActivation for ActivationAttr {
    fn activation(&self, m: &Module, op: OpId) -> Result<Activation> {
        Activation::fused(m, op)
    }
}

/// An op that is an HN layer.
pub trait HnExport: Sync {
    fn hn(&self) -> &HnLayer;
}

static OPS: LazyLock<OpTable> = LazyLock::new(|| OpTable::new(crate::ops::defs()));

/// `op`'s implementation of interface `I` when `op` is an `hl` op that has one:
/// `interface::<dyn Weights>(m, op)`.
pub fn interface<I: ?Sized + 'static>(m: &Module, op: OpId) -> Option<&'static I> {
    OPS.interface::<I>(m, op)
}

/// Every op of the dialect that implements `I`, in the dialect's order, with its
/// implementation.
pub fn implementors<I: ?Sized + 'static>() -> impl Iterator<Item = (&'static OpDef, &'static I)> {
    OPS.defs()
        .iter()
        .filter_map(|d| d.interface::<I>().map(|i| (d, i)))
}

/// Whether `op` is an `hl` op.
pub fn is_hl(m: &Module, op: OpId) -> bool {
    OPS.def(m, op).is_some()
}
