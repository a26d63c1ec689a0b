//! The quantization report stored in a quantized HAR: per-layer bits (inputs, weights,
//! bias, output), calibration min/max, quantized range, on-layer ("partial") SNR measured at
//! every layer's output with all layers quantized, output SNR, and the share of weights at
//! 4/8/16 bits (quantization.md §9).

use crate::error::Result;
use crate::optimize::{first_graph, layer_of, Prepared};
use hailo_dialect_hl::interfaces::is_hl;
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::QuantType;
use hailo_executor::{Executor, GraphRef};
use hailo_har::{LayerQuant, QuantReport};
use hailo_ir::{Attribute, Module, OpId, ValueId};
use hailo_passes::quant::snr::snr_db;
use ndarray::{ArrayD, Axis};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Samples the SNRs are measured on (the first of the calibration set).
pub const SNR_SAMPLES: usize = 8;

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn bits(m: &Module, v: ValueId) -> Option<u32> {
    QuantType::parse(m.value_type(v)).map(|t| t.storage().bits())
}

/// Builds the report of `annotated` (an `hl` module after [`crate::prepare`]) and `qm`, the
/// same module lowered to `q`, on `data`.
pub fn build_report(
    annotated: &Module,
    qm: &Module,
    prepared: &Prepared,
    calibset_size: usize,
    batch_size: usize,
    data: &[ArrayD<f32>],
) -> Result<QuantReport> {
    let n = data.first().map_or(0, |d| d.shape()[0]).min(SNR_SAMPLES);
    let sub: Vec<ArrayD<f32>> = data
        .iter()
        .map(|d| d.slice_axis(Axis(0), (0..n).into()).to_owned())
        .collect();
    let graph = first_graph(annotated)?;
    let mut float: FxHashMap<String, ArrayD<f32>> = FxHashMap::default();
    let fout = Executor::new(annotated, graph)?.run_observed(&sub, &mut |o| {
        float.insert(o.layer.to_owned(), o.value.clone());
        Ok(())
    })?;
    let mut quant: FxHashMap<String, ArrayD<f32>> = FxHashMap::default();
    let qout = Executor::new(qm, GraphRef::First)?.run_observed(&sub, &mut |o| {
        quant.insert(o.layer.to_owned(), o.value.clone());
        Ok(())
    })?;
    // The last q op of each layer carries its result type.
    let mut q_ops: FxHashMap<String, OpId> = FxHashMap::default();
    for op in qm.walk(qm.top()) {
        if let Some(l) = layer_of(qm, op) {
            q_ops.insert(l, op);
        }
    }
    let mut layers = Vec::new();
    let mut by_bits: BTreeMap<String, u64> = BTreeMap::new();
    for op in annotated.walk(graph) {
        let (Some(layer), true) = (layer_of(annotated, op), is_hl(annotated, op)) else {
            continue;
        };
        let Some(&qop) = q_ops.get(&layer) else {
            continue;
        };
        let qname = qm.op(qop).name_str();
        let weighted = matches!(qname, q::CONV2D | q::DEPTHWISE_CONV2D | q::DENSE);
        let operands = qm.op(qop).operands();
        let input_bits = if weighted {
            operands
                .first()
                .and_then(|&v| bits(qm, v))
                .into_iter()
                .collect()
        } else {
            operands.iter().filter_map(|&v| bits(qm, v)).collect()
        };
        let (weight_bits, bias_bits, weights) = if weighted {
            let k = operands[1];
            let single = annotated
                .attr(op, "q_bias_mode")
                .and_then(Attribute::as_str)
                == Some("single_scale_decomposition");
            let count = u64::try_from(qm.value_type(k).num_elements()).unwrap_or(0);
            let wb = bits(qm, k);
            if let Some(b) = wb {
                *by_bits.entry(b.to_string()).or_default() += count;
            }
            (wb, Some(if single { 16 } else { 32 }), count)
        } else {
            (None, None, 0)
        };
        let stats = prepared.stats.get(&layer);
        let range = annotated
            .attr(op, "q_range")
            .and_then(Attribute::as_f64_array)
            .and_then(|r| <[f64; 2]>::try_from(r).ok());
        let partial = match (float.get(&layer), quant.get(&layer)) {
            (Some(f), Some(qv)) if f.shape() == qv.shape() => {
                finite(snr_db(std::slice::from_ref(f), std::slice::from_ref(qv)))
            }
            _ => None,
        };
        layers.push(LayerQuant {
            layer: layer.clone(),
            op: annotated.op(op).name_str().to_owned(),
            input_bits,
            output_bits: qm
                .op(qop)
                .results()
                .first()
                .and_then(|&r| bits(qm, r))
                .unwrap_or(32),
            weight_bits,
            bias_bits,
            weights,
            stats_min: stats.map_or(0.0, |s| f64::from(s.min)),
            stats_max: stats.map_or(0.0, |s| f64::from(s.max)),
            range,
            partial_snr_db: partial,
        });
    }
    let total: u64 = by_bits.values().sum();
    let weight_bit_ratios = ["4", "8", "16"]
        .iter()
        .map(|b| {
            let c = by_bits.get(*b).copied().unwrap_or(0);
            (
                b.to_string(),
                if total == 0 {
                    0.0
                } else {
                    c as f64 / total as f64
                },
            )
        })
        .collect();
    Ok(QuantReport {
        calibset_size,
        batch_size,
        snr_samples: n,
        output_snr_db: fout
            .iter()
            .zip(&qout)
            .map(|(f, qv)| finite(snr_db(std::slice::from_ref(f), std::slice::from_ref(qv))))
            .collect(),
        weight_bit_ratios,
        auto_4bit_layers: prepared.auto_4bit.clone(),
        layers,
        noise: None,
    })
}
