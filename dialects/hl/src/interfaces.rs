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
//! - [`HnExport`]: the op's HN layer type and params (see [`crate::hn`]);
//! - [`ChannelScaling`]: the op commutes with a positive per-channel scaling of its data
//!   inputs (equalization scales channels through it, quantization.md §3).

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

/// An op through which a positive scaling of each channel (last axis) of its data inputs
/// passes unchanged to its result: `f(s ⊙ x) = s ⊙ f(x)` for every `s > 0` (ReLU, leaky and
/// PReLU, pools, a reshape that keeps the channel axis, a concat along it, where `s` is the
/// concatenation of the inputs' scales). Equalization (quantization.md §3) moves scales
/// between weighted layers through such ops only.
pub trait ChannelScaling: Sync {
    /// Whether `op`, with its attributes and types, commutes with channel scaling.
    fn commutes(&self, m: &Module, op: OpId) -> bool;
}

/// Every instance commutes (pools, PReLU).
pub struct AlwaysCommutes;

impl ChannelScaling for AlwaysCommutes {
    fn commutes(&self, _: &Module, _: OpId) -> bool {
        true
    }
}

/// A standalone activation commutes when its kind is positively homogeneous.
pub struct HomogeneousKind;

impl ChannelScaling for HomogeneousKind {
    fn commutes(&self, m: &Module, op: OpId) -> bool {
        Activation::from_attrs(&crate::access::OpView::new(m, op), "kind", false)
            .is_ok_and(Activation::positively_homogeneous)
    }
}

/// A reshape commutes when it keeps the channel (last) axis.
pub struct KeepsChannels;

impl ChannelScaling for KeepsChannels {
    fn commutes(&self, m: &Module, op: OpId) -> bool {
        let last = |v| {
            m.value_type(v)
                .shape()
                .and_then(|s: &[i64]| s.last().copied())
        };
        let (Some(&x), Some(&y)) = (m.op(op).operands().first(), m.op(op).results().first()) else {
            return false;
        };
        last(x).is_some() && last(x) == last(y)
    }
}

/// A concat commutes when it joins along the channel (last) axis.
pub struct JoinsChannels;

impl ChannelScaling for JoinsChannels {
    fn commutes(&self, m: &Module, op: OpId) -> bool {
        let rank = m
            .op(op)
            .results()
            .first()
            .and_then(|&v| m.value_type(v).shape().map(<[i64]>::len));
        let axis = m.attr(op, "axis").and_then(hailo_ir::Attribute::as_i64);
        matches!((rank, axis), (Some(r), Some(a)) if a + 1 == r as i64)
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
