//! The `hl` dialect: Hailo's layer set in float, NHWC tensors with HWIO
//! kernels, as in Hailo's HN. It is the contract between the frontends, the
//! HAR writer, the reference interpreter and the quantizer, specified in
//! `docs/hl-dialect.md`; this crate registers every op of that page with a
//! verifier and shape inference (ONNX semantics converted to NHWC).
//!
//! Modules: [`access`] (checked attribute/operand reading), [`shape`] (pure
//! shape arithmetic), and [`ops`], one module per op family with the typed
//! views other crates use.

pub mod access;
pub mod builder;
pub mod hn;
pub mod interfaces;
pub mod naming;
pub mod ops;
pub mod shape;
#[cfg(test)]
mod tests;

pub use ops::activation::{Activation, ActivationOp, Prelu};
pub use ops::color::{ColorConversion, FormatConversion};
pub use ops::constant::{Const, InputLayer, OutputLayer};
pub use ops::conv::{Conv2d, ConvParams, Deconv2d, Dense, DepthwiseConv2d, MatMul};
pub use ops::elementwise::{EwAdd, EwDiv, EwMax, EwMin, EwMult, EwPow, EwSub};
pub use ops::layout::{FeatureShuffle, Reshape, Transpose};
pub use ops::norm::{BatchNorm, InstanceNorm, L2Norm, LayerNorm, Normalization};
pub use ops::pool::{AvgPool, GlobalAvgPool, GlobalMaxPool, MaxPool, PoolParams};
pub use ops::postprocess::Nms;
pub use ops::reduce::{ArgMax, LogSoftmax, OneHot, Reduce, Softmax};
pub use ops::slicing::{Concat, Pad, Slice, Split};
pub use ops::spatial::{DepthToSpace, Resize, SpaceToDepth};
pub use shape::Padding;

use hailo_ir::{Attribute, Dialect, Location, Module, OpSpec, Type};

/// The `hl` dialect with every op of the spec.
pub fn dialect() -> Dialect {
    Dialect {
        name: "hl",
        summary: "Hailo layers (float, NHWC)",
        ops: ops::defs(),
        materialize_constant: Some(|m: &mut Module, a: &Attribute, ty: Type, loc: Location| {
            matches!(a, Attribute::Dense(_) | Attribute::DenseResource { .. }).then(|| {
                m.create_op(
                    OpSpec::new(Const::NAME)
                        .results(&[ty])
                        .attr("value", a.clone())
                        .loc(loc),
                )
            })
        }),
        verify_regions: Some(naming::verify_unique_layers),
    }
}
