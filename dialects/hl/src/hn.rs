//! HN export: the HN layer type of each `hl` op, the NPZ names of its constant operands
//! and how its attributes travel in the layer's `params` (the `HnExport` interface, which
//! the HAR writer and reader use in both directions).
//!
//! Spatial pairs become HN's NHWC 4-vectors (`strides = [1, sh, sw, 1]`); pool windows
//! become `kernel_shape`; `hl.activation`'s `kind` is HN's `activation`. Everything else
//! is carried under its `hl` name, so writing and rebuilding are inverse for every op that
//! declares the interface. The shared parameter lists live here; each op names its own
//! HN layer in its declaration.

use crate::interfaces::HnExport;

/// How an attribute is spelled in HN params.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HnParam {
    /// Same name, same value.
    Same,
    /// `[a, b]` ↔ `[1, a, b, 1]` under the same name.
    Spatial,
    /// `[a, b]` ↔ `[1, a, b, 1]` under another name.
    SpatialAs(&'static str),
    /// Same value under another name.
    Renamed(&'static str),
}

impl HnParam {
    /// The HN name of the attribute `hl_name`.
    pub fn hn_name(self, hl_name: &'static str) -> &'static str {
        match self {
            HnParam::Same | HnParam::Spatial => hl_name,
            HnParam::SpatialAs(n) | HnParam::Renamed(n) => n,
        }
    }
}

/// An op's HN layer.
#[derive(Debug)]
pub struct HnLayer {
    /// HN `type`; with `kinds`, the prefix of `<type>_<kind>`.
    pub hn_type: &'static str,
    /// When non-empty, the op's `kind` attribute is part of the HN type
    /// (`reduce_max`, ...), one HN type per kind listed.
    pub kinds: &'static [&'static str],
    /// NPZ names of operands 1.. when they are constants.
    pub weights: &'static [&'static str],
    /// Whether every weight may be absent (layer norm's affine parameters); biases
    /// are always optional.
    pub optional_weights: bool,
    /// Attributes carried in `params`, with their HN spelling.
    pub params: &'static [(&'static str, HnParam)],
}

impl HnLayer {
    /// A layer type whose weights are required except a bias.
    pub const fn new(
        hn_type: &'static str,
        weights: &'static [&'static str],
        params: &'static [(&'static str, HnParam)],
    ) -> HnLayer {
        HnLayer {
            hn_type,
            kinds: &[],
            weights,
            optional_weights: false,
            params,
        }
    }

    /// Whether the weight `slot` may be absent.
    pub fn optional_weight(&self, slot: &str) -> bool {
        slot == "bias" || self.optional_weights
    }
}

impl HnExport for HnLayer {
    fn hn(&self) -> &HnLayer {
        self
    }
}

use HnParam::{Same, Spatial, SpatialAs};

/// `[$params…, alpha, beta, min, max, threshold, value, exponent]`: a list of params
/// followed by the parameters of the activation kinds.
macro_rules! with_activation_params {
    ($($p:expr),* $(,)?) => {
        [
            $($p,)*
            ("alpha", Same),
            ("beta", Same),
            ("min", Same),
            ("max", Same),
            ("threshold", Same),
            ("value", Same),
            ("exponent", Same),
        ]
    };
}

/// A fused activation and its parameters.
pub const ACT: &[(&str, HnParam)] = &with_activation_params!(("activation", Same));
/// Convolutions: window geometry and a fused activation.
pub const CONV: &[(&str, HnParam)] = &with_activation_params!(
    ("strides", Spatial),
    ("dilations", Spatial),
    ("groups", Same),
    ("padding", Same),
    ("pads", Same),
    ("activation", Same)
);
/// Transposed convolutions: as [`CONV`] plus the output padding.
pub const DECONV: &[(&str, HnParam)] = &with_activation_params!(
    ("strides", Spatial),
    ("dilations", Spatial),
    ("groups", Same),
    ("padding", Same),
    ("pads", Same),
    ("output_padding", Same),
    ("activation", Same)
);
/// Pooling windows.
pub const POOL: &[(&str, HnParam)] = &[
    ("kernel", SpatialAs("kernel_shape")),
    ("strides", Spatial),
    ("padding", Same),
    ("pads", Same),
    ("ceil_mode", Same),
    ("count_include_pad", Same),
];
/// Input and output layers: the framework's tensor name.
pub const IO: &[(&str, HnParam)] = &[("original_name", Same)];
/// A kernel and an optional bias.
pub const KERNEL_BIAS: &[&str] = &["kernel", "bias"];
/// Batch normalization: epsilon and a fused activation.
pub const BATCH_NORM: &[(&str, HnParam)] =
    &with_activation_params!(("epsilon", Same), ("activation", Same));
/// `hl.activation`: its `kind` is HN's `activation`.
pub const ACTIVATION_OP: &[(&str, HnParam)] =
    &with_activation_params!(("kind", HnParam::Renamed("activation")));
