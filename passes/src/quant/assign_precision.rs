//! `quant-precision`: each layer's bits from the model script's precision modes
//! (`quantization_param(precision_mode=…, bias_mode=…)`): `q_bits` (result activation bits,
//! the highest of its precision group, quantization.md §9), and on weighted layers `q_wbits`,
//! `q_in_bits` (three-part modes) and `q_bias_mode`. An activation that
//! `quant-split-activations` split off a layer (`split_from`) has that layer's precision
//! unless the options name it.
//!
//! Per-layer settings are options, so a dumped pipeline replays the same decisions:
//! `quant-precision{default=a8_w8 layers=[conv1:a16_w16,conv3:a8_w4] bias-modes=[conv1:single_scale_decomposition]}`.
//!
//! The automatic choices of `compression_params` are made here too, by layer noise analysis on
//! the first `samples` samples of the calibration set ([`super::sensitivity`]):
//! `auto-16bit-ratio` (0 < r < 1) puts the most sensitive weighted layers at a16_w16 (never a
//! conv with a fused add, whose 32-bit add 16-bit products would overflow),
//! then `auto-4bit-ratio` (or `compression-level` l, the ratio 0.2·l on large networks) puts
//! the least sensitive at 4-bit weights; layers listed in `layers` are never chosen. Every
//! measured layer records its SNR (`sensitivity.w8_snr`, `sensitivity.w4_snr`, dB) so the
//! choice can be read in the IR.

use super::groups::{moves_codes, precision_groups};
use super::precision::{compression_ratio, Precision};
use super::ranges::layer_ops;
use super::sensitivity::{choose_16bit, choose_4bit, weight_count, weighted_layers, Choice};
use super::{layer_of, per_layer};
use hailo_dialect_hl::interfaces::{interface, Weights};
use hailo_executor::dataset::CalibrationSet;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Diagnostic, Module, OpId};
use ndarray::{ArrayD, Axis};
use rustc_hash::FxHashMap;

hailo_ir::pass_options! {
    pub struct PrecisionOptions {
        /// Precision mode of layers not listed (`a8_w8`, `a8_w4`, `a16_w16`, `a8_w8_a16`, ...).
        default: String = "a8_w8".to_owned(),
        /// Per-layer precision modes, `layer:mode`.
        layers: Vec<String> = Vec::new(),
        /// Per-layer bias modes, `layer:mode` (`single_scale_decomposition`, `double_scale_initialization`).
        bias_modes: Vec<String> = Vec::new(),
        /// `auto_4bit_weights_ratio`: share of all kernel weights to put at 4 bits, least
        /// sensitive layers first (0: none).
        auto_4bit_ratio: f64 = 0.0,
        /// `auto_16bit_weights_ratio` below 1: share of all kernel weights to put at a16_w16,
        /// most sensitive layers first (0: none).
        auto_16bit_ratio: f64 = 0.0,
        /// `compression_level`: the 4-bit ratio 0.2 per level on large networks, when
        /// `auto-4bit-ratio` is 0.
        compression_level: i64 = 0,
        /// The compression level is the guide's default, not the script's: reverting it on a
        /// small network is not reported.
        compression_default: bool = false,
        /// Calibration samples the sensitivity of each layer is measured on.
        samples: i64 = 8,
    }
}

/// The attribute holding a layer's output SNR (dB) with only its kernel at 8 bits.
pub const W8_SNR: &str = "sensitivity.w8_snr";
/// The attribute holding a layer's output SNR (dB) with only its kernel at 4 bits.
pub const W4_SNR: &str = "sensitivity.w4_snr";

/// What the precision of each layer is.
#[derive(Clone, Debug)]
pub struct PrecisionSettings {
    pub default: Precision,
    pub layers: FxHashMap<String, Precision>,
    pub bias_modes: FxHashMap<String, String>,
}

impl PrecisionSettings {
    /// The settings of the options `default`, `layers` and `bias-modes` (`layer:value` lists).
    pub fn parse(
        default: &str,
        layers: &[String],
        bias_modes: &[String],
    ) -> Result<PrecisionSettings, String> {
        let mode =
            |s: &str| Precision::parse(s).ok_or_else(|| format!("unknown precision mode '{s}'"));
        Ok(PrecisionSettings {
            default: mode(default)?,
            layers: per_layer(layers, "layers", mode)?,
            bias_modes: per_layer(bias_modes, "bias-modes", |v| Ok(v.to_owned()))?,
        })
    }

    pub fn of(&self, layer: &str) -> Precision {
        self.layers.get(layer).copied().unwrap_or(self.default)
    }

    /// The precision of `op`'s layer; an activation split off a layer
    /// (`split_from`) that is not listed itself takes that layer's.
    pub fn of_op(&self, m: &Module, op: OpId) -> Precision {
        let layer = layer_of(m, op);
        match m.attr(op, "split_from").and_then(Attribute::as_str) {
            Some(from) if !self.layers.contains_key(&layer) => self.of(from),
            _ => self.of(&layer),
        }
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
        let mut settings = self.settings().map_err(|e| cx.fail_at(m, graph, e))?;
        self.choose_automatically(m, graph, &mut settings, cx)?;
        assign_precision(m, &layer_ops(m, graph), &settings);
        Ok(Preserved::All)
    }
}

impl AssignPrecision {
    /// The 16-bit, then the 4-bit automatic choice, added to `settings.layers`.
    fn choose_automatically(
        &self,
        m: &mut Module,
        graph: OpId,
        settings: &mut PrecisionSettings,
        cx: &mut PassCx<'_>,
    ) -> Result<(), PassFailed> {
        let o = &self.0;
        let auto_16 = o.auto_16bit_ratio > 0.0 && o.auto_16bit_ratio < 1.0;
        let mut ratio_4 = o.auto_4bit_ratio;
        if ratio_4 <= 0.0 && o.compression_level > 0 {
            let total = weighted_layers(m, graph)
                .iter()
                .map(|(op, _)| weight_count(m, *op))
                .sum();
            let level = u8::try_from(o.compression_level.min(5)).unwrap_or(5);
            ratio_4 = compression_ratio(level, total).unwrap_or_else(|note| {
                if !o.compression_default {
                    let loc = m.op(graph).loc.clone();
                    cx.diags.emit(Diagnostic::warning(loc, note));
                }
                0.0
            });
        }
        if !auto_16 && ratio_4 <= 0.0 {
            return Ok(());
        }
        let data = self
            .sensitivity_samples(cx)
            .map_err(|e| cx.fail_at(m, graph, e))?;
        let eligible = |m: &Module, settings: &PrecisionSettings| -> Vec<(OpId, String)> {
            weighted_layers(m, graph)
                .into_iter()
                .filter(|(_, l)| !settings.layers.contains_key(l))
                .collect()
        };
        if auto_16 {
            // A conv holding a fused add adds the other operand at the accumulator scale in
            // 32 bits, which 16×16-bit products overflow (`hl-fuse-conv-add` never fuses a
            // 16-bit layer): such a layer stays out of the 16-bit choice.
            let e: Vec<(OpId, String)> = eligible(m, settings)
                .into_iter()
                .filter(|&(op, _)| !has_fused_add(m, op))
                .collect();
            let choice = choose_16bit(m, graph, &e, &data, o.auto_16bit_ratio)
                .map_err(|e| cx.fail_at(m, graph, e))?;
            record(m, &e, &choice, W8_SNR);
            for l in choice.chosen {
                settings.layers.insert(l, Precision::A16W16);
            }
        }
        if ratio_4 > 0.0 {
            let e = eligible(m, settings);
            let choice =
                choose_4bit(m, graph, &e, &data, ratio_4).map_err(|e| cx.fail_at(m, graph, e))?;
            record(m, &e, &choice, W4_SNR);
            for l in choice.chosen {
                let p = if settings.of(&l).bits().0 == 16 {
                    Precision::A16W8
                } else {
                    Precision::A8W4
                };
                settings.layers.insert(l, p);
            }
        }
        Ok(())
    }

    /// The first `samples` samples of the driver's calibration set.
    fn sensitivity_samples(&self, cx: &PassCx<'_>) -> Result<Vec<ArrayD<f32>>, String> {
        let set = cx.resource::<CalibrationSet>().ok_or(
            "the automatic 4/16-bit choice measures sensitivity on calibration data; \
             provide it (hailo-opt --calib-set FILE)",
        )?;
        let n = usize::try_from(self.0.samples.max(1)).unwrap_or(1);
        Ok(set
            .0
            .iter()
            .map(|d| {
                let n = n.min(d.shape()[0]);
                d.slice_axis(Axis(0), (0..n).into()).to_owned()
            })
            .collect())
    }

    fn settings(&self) -> Result<PrecisionSettings, String> {
        PrecisionSettings::parse(&self.0.default, &self.0.layers, &self.0.bias_modes)
    }
}

/// Writes each measured layer's SNR as `attr` on its op.
fn record(m: &mut Module, eligible: &[(OpId, String)], choice: &Choice, attr: &str) {
    for (op, layer) in eligible {
        if let Some((_, snr)) = choice.snr.iter().find(|(l, _)| l == layer) {
            m.set_attr(*op, attr, Attribute::f64(*snr));
        }
    }
}

/// Writes the bits of every op of `ops` (the graph's layers) that does not move codes.
pub fn assign_precision(m: &mut Module, ops: &[OpId], settings: &PrecisionSettings) {
    let mut groups = precision_groups(m, ops);
    let mut group_bits: FxHashMap<OpId, i64> = FxHashMap::default();
    for &op in ops {
        let bits = settings.of_op(m, op).bits().0;
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

/// Whether a weighted op has an operand after its kernel and bias: a fused add.
fn has_fused_add(m: &Module, op: OpId) -> bool {
    interface::<dyn Weights>(m, op)
        .is_some_and(|w| m.op(op).operands().len() > w.bias().map_or(w.kernel() + 1, |b| b + 1))
}
