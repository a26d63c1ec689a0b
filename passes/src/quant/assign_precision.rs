//! `quant-precision`: each layer's bits from the model script's precision modes
//! (`quantization_param(precision_mode=…, bias_mode=…)`): `q_bits` (result activation bits,
//! the highest of its precision group, quantization.md §9), and on weighted layers `q_wbits`,
//! `q_in_bits` (three-part modes) and `q_bias_mode`.
//!
//! Per-layer settings are options, so a dumped pipeline replays the same decisions:
//! `quant-precision{default=a8_w8 layers=[conv1:a16_w16,conv3:a8_w4] bias-modes=[conv1:single_scale_decomposition]}`.

use super::groups::{moves_codes, precision_groups};
use super::precision::Precision;
use super::ranges::layer_ops;
use super::{layer_of, per_layer};
use hailo_dialect_hl::interfaces::{interface, Weights};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId};
use rustc_hash::FxHashMap;

hailo_ir::pass_options! {
    pub struct PrecisionOptions {
        /// Precision mode of layers not listed (`a8_w8`, `a8_w4`, `a16_w16`, `a8_w8_a16`, ...).
        default: String = "a8_w8".to_owned(),
        /// Per-layer precision modes, `layer:mode`.
        layers: Vec<String> = Vec::new(),
        /// Per-layer bias modes, `layer:mode` (`single_scale_decomposition`, `double_scale_initialization`).
        bias_modes: Vec<String> = Vec::new(),
    }
}

/// What the precision of each layer is.
#[derive(Clone, Debug)]
pub struct PrecisionSettings {
    pub default: Precision,
    pub layers: FxHashMap<String, Precision>,
    pub bias_modes: FxHashMap<String, String>,
}

impl PrecisionSettings {
    pub fn of(&self, layer: &str) -> Precision {
        self.layers.get(layer).copied().unwrap_or(self.default)
    }
}

pub struct AssignPrecision(PrecisionOptions);

impl PassDef for AssignPrecision {
    const NAME: &'static str = "quant-precision";
    const SUMMARY: &'static str =
        "Set each layer's activation and weight bits (q_bits, q_wbits, q_in_bits, q_bias_mode)";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = PrecisionOptions;

    fn new(o: PrecisionOptions) -> Self {
        AssignPrecision(o)
    }
    fn options(&self) -> &PrecisionOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let settings = self.settings().map_err(|e| cx.fail_at(m, graph, e))?;
        assign_precision(m, &layer_ops(m, graph), &settings);
        Ok(Preserved::All)
    }
}

impl AssignPrecision {
    fn settings(&self) -> Result<PrecisionSettings, String> {
        let mode =
            |s: &str| Precision::parse(s).ok_or_else(|| format!("unknown precision mode '{s}'"));
        Ok(PrecisionSettings {
            default: mode(&self.0.default)?,
            layers: per_layer(&self.0.layers, "layers", |v| mode(v))?,
            bias_modes: per_layer(&self.0.bias_modes, "bias-modes", |v| Ok(v.to_owned()))?,
        })
    }
}

/// Writes the bits of every op of `ops` (the graph's layers) that does not move codes.
pub fn assign_precision(m: &mut Module, ops: &[OpId], settings: &PrecisionSettings) {
    let mut groups = precision_groups(m, ops);
    let mut group_bits: FxHashMap<OpId, i64> = FxHashMap::default();
    for &op in ops {
        let bits = settings.of(&layer_of(m, op)).bits().0;
        let e = group_bits.entry(groups.find(op)).or_insert(bits);
        *e = (*e).max(bits);
    }
    for &op in ops {
        if moves_codes(m, op) {
            continue;
        }
        let bits = group_bits[&groups.find(op)];
        m.set_attr(op, "q_bits", Attribute::i64(bits));
        if interface::<dyn Weights>(m, op).is_none() {
            continue;
        }
        let layer = layer_of(m, op);
        let precision = settings.of(&layer);
        m.set_attr(op, "q_wbits", Attribute::i64(precision.bits().1));
        if let Some(b) = precision.input {
            m.set_attr(op, "q_in_bits", Attribute::i64(b));
        }
        if let Some(b) = settings.bias_modes.get(&layer) {
            m.set_attr(op, "q_bias_mode", Attribute::str(b));
        }
    }
}
