//! The op families of the `hl` dialect, one module each: typed views
//! (`define_op!`), verifiers, shape inference and the few folds and
//! canonical patterns. [`defs`] lists every op definition for the dialect.

pub mod activation;
pub mod color;
pub mod constant;
pub mod conv;
pub mod elementwise;
pub mod layout;
pub mod norm;
pub mod pool;
pub mod postprocess;
pub mod reduce;
pub mod slicing;
pub mod spatial;
pub mod window;

use crate::access::{OpView, Result};
use activation::Activation;
use hailo_ir::{AttrKind, AttrSpec, Module, OpDef, OpId};

const fn optional(name: &'static str, kind: AttrKind) -> AttrSpec {
    AttrSpec {
        name,
        kind,
        required: false,
        default: None,
        what: None,
    }
}

/// The annotations the quantizer writes on any layer and `hl-to-quant` reads:
/// the calibrated output range, the chosen activation, weight and input bit
/// widths, the bias mode, the weight clipping range and the bias correction.
pub const QUANT_ANNOTATIONS: &[AttrSpec] = &[
    optional("q_range", AttrKind::F64Array),
    optional("q_bits", AttrKind::I64),
    optional("q_wbits", AttrKind::I64),
    optional("q_in_bits", AttrKind::I64),
    optional("q_bias_mode", AttrKind::Str),
    optional("q_wclip", AttrKind::F64Array),
    optional("q_bias_correction", AttrKind::F64Array),
];

/// The parameters of the activation kinds that take them (see [`activation::KINDS`]), on
/// `hl.activation` and on the layers that fuse an activation.
pub const ACTIVATION_PARAMS: &[AttrSpec] = &[
    optional("alpha", AttrKind::F64),
    optional("beta", AttrKind::F64),
    optional("exponent", AttrKind::F64),
    optional("threshold", AttrKind::F64),
    optional("value", AttrKind::F64),
    optional("min", AttrKind::F64),
    optional("max", AttrKind::F64),
];

/// Every op definition of the dialect.
pub fn defs() -> Vec<OpDef> {
    [
        constant::defs(),
        conv::defs(),
        pool::defs(),
        activation::defs(),
        elementwise::defs(),
        norm::defs(),
        layout::defs(),
        slicing::defs(),
        spatial::defs(),
        reduce::defs(),
        color::defs(),
        postprocess::defs(),
    ]
    .concat()
}

/// The checks every layer op shares: a `layer` name, `min..=max` operands
/// (described by `what`), one result, and a valid fused activation when the
/// op takes one.
pub(crate) fn check_layer<'a>(
    m: &'a Module,
    op: OpId,
    (min, max): (usize, usize),
    what: &str,
    fused_activation: bool,
) -> Result<OpView<'a>> {
    let v = OpView::new(m, op);
    v.layer()?;
    v.expect_operands(min, max, what)?;
    v.expect_results(1)?;
    if fused_activation {
        Activation::fused(m, op)?.check()?;
    }
    Ok(v)
}

/// The verifier of layer ops with exactly one input and no fused activation
/// (their attributes are checked by shape inference).
pub(crate) fn verify_unary(m: &Module, op: OpId) -> Result<()> {
    check_layer(m, op, (1, 1), "one input", false).map(|_| ())
}
