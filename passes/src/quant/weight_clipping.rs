//! `quant-weight-clipping`: each weighted layer's per-output-channel clipping thresholds
//! (`q_wclip`) for its weight bits (`q_wbits`, default 8), by the model script's weight
//! clipping mode (quantization.md §2: min-max, manual, percentile, MMSE; the DFC default
//! MMSE for 4-bit layers only) and `quantization_groups` (channels sorted and pooled into
//! n groups sharing a scale).
//!
//! `quant-weight-clipping{mode=mmse-if-4b layers=[conv1:mmse,conv2:manual:0.5] groups=[conv3:2]}`.

use super::clipping::{group_thresholds, threshold, WeightClipping};
use super::ranges::layer_ops;
use super::{layer_of, per_layer};
use hailo_dialect_hl::interfaces::{interface, Weights};
use hailo_dialect_hl::DepthwiseConv2d;
use hailo_dialect_quant::Storage;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, ValueId};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

hailo_ir::pass_options! {
    pub struct WeightClippingOptions {
        /// Mode of layers not listed: min-max, mmse, mmse-if-4b, manual:<c>, percentile:<p>.
        mode: String = "mmse-if-4b".to_owned(),
        /// Per-layer modes, `layer:mode`.
        layers: Vec<String> = Vec::new(),
        /// Per-layer quantization groups (1 to 4, conv and dense only), `layer:n`.
        groups: Vec<String> = Vec::new(),
    }
}

/// How each weighted layer's thresholds are chosen.
#[derive(Clone, Debug)]
pub struct ClipSettings {
    pub default: WeightClipping,
    pub layers: FxHashMap<String, WeightClipping>,
    pub groups: FxHashMap<String, usize>,
}

pub struct WeightClippingPass(WeightClippingOptions);

impl PassDef for WeightClippingPass {
    const NAME: &'static str = "quant-weight-clipping";
    const SUMMARY: &'static str =
        "Set each weighted layer's per-channel weight clipping thresholds (q_wclip)";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = WeightClippingOptions;

    fn new(o: WeightClippingOptions) -> Self {
        WeightClippingPass(o)
    }
    fn options(&self) -> &WeightClippingOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let result = self
            .settings()
            .and_then(|s| clip_weights(m, &layer_ops(m, graph), &s));
        match result {
            Ok(()) => Ok(Preserved::All),
            Err(e) => Err(cx.fail_at(m, graph, e)),
        }
    }
}

/// `min-max`, `mmse`, `mmse-if-4b`, `manual:<c>` or `percentile:<p>`.
fn parse_mode(s: &str) -> Result<WeightClipping, String> {
    let value = |v: &str| {
        v.parse::<f64>()
            .map_err(|_| format!("weight clipping '{s}' needs a number after ':'"))
    };
    Ok(match s.split_once(':') {
        None if s == "min-max" => WeightClipping::MinMax,
        None if s == "mmse" => WeightClipping::Mmse,
        None if s == "mmse-if-4b" => WeightClipping::MmseIf4b,
        Some(("manual", v)) => WeightClipping::Manual(value(v)?),
        Some(("percentile", v)) => WeightClipping::Percentile(value(v)?),
        _ => {
            return Err(format!(
            "unknown weight clipping '{s}' (min-max, mmse, mmse-if-4b, manual:<c>, percentile:<p>)"
        ))
        }
    })
}

impl WeightClippingPass {
    fn settings(&self) -> Result<ClipSettings, String> {
        Ok(ClipSettings {
            default: parse_mode(&self.0.mode)?,
            layers: per_layer(&self.0.layers, "layers", parse_mode)?,
            groups: per_layer(&self.0.groups, "groups", |v| {
                v.parse::<usize>()
                    .map_err(|_| format!("quantization groups '{v}' is not a count"))
            })?,
        })
    }
}

/// Writes `q_wclip` on every weighted op of `ops`.
pub fn clip_weights(m: &mut Module, ops: &[OpId], settings: &ClipSettings) -> Result<(), String> {
    for &op in ops {
        if interface::<dyn Weights>(m, op).is_none() {
            continue;
        }
        let layer = layer_of(m, op);
        let wbits = m
            .attr(op, "q_wbits")
            .and_then(Attribute::as_i64)
            .unwrap_or(8);
        let storage = Storage::signed_of(wbits as u32).unwrap_or(Storage::I8);
        let mode = settings.layers.get(&layer).unwrap_or(&settings.default);
        let mut t = channel_thresholds(m, op, storage, mode)?;
        if let Some(&n) = settings.groups.get(&layer) {
            // One group (one scale for the layer, the guide's default) fits every layer.
            if (DepthwiseConv2d::cast(m, op).is_some() && n != 1) || !(1..=4).contains(&n) {
                return Err(format!(
                    "layer '{layer}': quantization_groups={n} needs a conv or dense layer and 1 <= n <= 4 (guide §5.3: not depthwise)"
                ));
            }
            let w = kernel_values(m, m.op(op).operands()[1])?;
            t = group_thresholds(&w, &t, n, storage, mode);
        }
        m.set_attr(op, "q_wclip", Attribute::f64_array(&t));
    }
    Ok(())
}

/// Per-output-channel clipping thresholds of a weighted op's kernel.
pub fn channel_thresholds(
    m: &Module,
    op: OpId,
    storage: Storage,
    mode: &WeightClipping,
) -> Result<Vec<f64>, String> {
    let kernel = *m.op(op).operands().get(1).ok_or("has no kernel operand")?;
    let w = kernel_values(m, kernel)?;
    let cout = (*m
        .value_type(kernel)
        .shape()
        .and_then(|s| s.last())
        .unwrap_or(&1))
    .max(1) as usize;
    // Channels are independent (MMSE searches each one's threshold): one task each.
    Ok((0..cout)
        .into_par_iter()
        .map(|c| {
            let ch: Vec<f64> = w.iter().skip(c).step_by(cout).copied().collect();
            threshold(&ch, storage, mode)
        })
        .collect())
}

/// The float values of a kernel defined by `hl.const`.
pub fn kernel_values(m: &Module, v: ValueId) -> Result<Vec<f64>, String> {
    let def = m.defining_op(v).ok_or("kernel is not a constant")?;
    match m.attr(def, "value") {
        Some(Attribute::Dense(d)) => Ok(d.to_f64_vec()),
        Some(Attribute::DenseResource { key, .. }) => m
            .resources
            .get(key.as_str())
            .map(|b| b.to_f32().into_iter().map(f64::from).collect())
            .ok_or_else(|| format!("missing weight blob '{}'", key.as_str())),
        _ => Err("kernel constant has no dense value".into()),
    }
}
