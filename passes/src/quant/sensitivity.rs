//! Weight sensitivity by layer noise analysis (quantization.md §9) and the choice of 4-bit
//! layers for `auto_4bit_weights_ratio` and of 16-bit layers for `auto_16bit_weights_ratio`.
//!
//! A layer's 4-bit SNR is 10·log10(Σy² / Σ(y − y_n)²) at the graph outputs, where y_n is the
//! float model with only layer n's kernel on the 4-bit grid (per-channel MMSE clipping).
//! Layers are taken in order of decreasing SNR (least sensitive first) until the 4-bit share
//! of all weights reaches the ratio: the shortest such prefix. The 16-bit choice scores the
//! 8-bit kernels the same way and takes the lowest SNRs (most sensitive) first.

use super::clipping::WeightClipping;
use super::snr::snr_db;
use super::weight_clipping::{channel_thresholds, kernel_values};
use hailo_dialect_hl::interfaces::{interface, Weights};
use hailo_dialect_quant::scheme::{quantize, symmetric_scale};
use hailo_dialect_quant::Storage;
use hailo_executor::{Executor, Resumed};
use hailo_ir::{Attribute, Blob, Module, OpId, Sym};
use ndarray::ArrayD;

/// Weighted layers (conv, depthwise, dense: the `Weights` interface) of `graph` in block order, with their names.
pub fn weighted_layers(m: &Module, graph: OpId) -> Vec<(OpId, String)> {
    m.walk(graph)
        .into_iter()
        .filter(|&o| interface::<dyn Weights>(m, o).is_some())
        .filter_map(|o| {
            let layer = m.attr(o, "layer").and_then(Attribute::as_str)?;
            Some((o, layer.to_owned()))
        })
        .collect()
}

/// Number of kernel weights of a weighted op.
pub fn weight_count(m: &Module, op: OpId) -> u64 {
    u64::try_from(m.value_type(m.op(op).operands()[1]).num_elements()).unwrap_or(0)
}

/// The result of a 4-bit or 16-bit choice.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// Chosen layers, in the order taken.
    pub chosen: Vec<String>,
    /// Every eligible layer's SNR in dB, in the order layers were taken.
    pub snr: Vec<(String, f64)>,
}

/// Output SNR of `m` with only `op`'s kernel quantized to `storage` (per channel, MMSE), against
/// the float run `reference` (outputs and recording) on `data`: only `op` and what follows it
/// run again.
pub fn single_layer_snr(
    m: &mut Module,
    graph: OpId,
    op: OpId,
    storage: Storage,
    data: &[ArrayD<f32>],
    reference: &Resumed,
) -> Result<f64, String> {
    let kernel = m.op(op).operands()[1];
    let w = kernel_values(m, kernel)?;
    let t = channel_thresholds(m, op, storage, &WeightClipping::Mmse)?;
    let cout = t.len();
    let fq: Vec<f32> = w
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let s = symmetric_scale(t[i % cout], storage);
            (quantize(x, s, 0, storage) as f64 * s) as f32
        })
        .collect();
    let def = m
        .defining_op(kernel)
        .ok_or("the kernel is not a constant")?;
    let old = m.attr(def, "value").cloned();
    let key = format!("__sensitivity_{}", super::layer_of(m, op));
    m.resources.insert(&key, Blob::from_f32(&fq));
    m.set_attr(
        def,
        "value",
        Attribute::DenseResource {
            key: Sym::new(&key),
            ty: m.value_type(kernel),
        },
    );
    let exec = Executor::new(m, graph);
    if let Some(a) = old {
        m.set_attr(def, "value", a);
    }
    m.resources.remove(&key);
    let stale = std::iter::once(op).collect();
    let out = exec
        .and_then(|e| e.run_resumed(data, &reference.recording, &stale))
        .map_err(|e| e.to_string())?;
    Ok(snr_db(&reference.outputs, &out.outputs))
}

/// Which end of the sensitivity order a ratio takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pick {
    /// 4-bit weights: the layers whose 4-bit SNR is highest (least sensitive) first.
    Robust,
    /// 16-bit weights: the layers whose 8-bit SNR is lowest (most sensitive) first.
    Sensitive,
}

/// Chooses the 4-bit layers among `eligible` for weight ratio `ratio` of all weighted layers.
pub fn choose_4bit(
    m: &mut Module,
    graph: OpId,
    eligible: &[(OpId, String)],
    data: &[ArrayD<f32>],
    ratio: f64,
) -> Result<Choice, String> {
    choose(m, graph, eligible, data, ratio, Storage::I4, Pick::Robust)
}

/// Chooses the 16-bit layers (`auto_16bit_weights_ratio`) among `eligible`: the layers
/// whose 8-bit weights cost the most output SNR, until their weights reach `ratio`.
pub fn choose_16bit(
    m: &mut Module,
    graph: OpId,
    eligible: &[(OpId, String)],
    data: &[ArrayD<f32>],
    ratio: f64,
) -> Result<Choice, String> {
    choose(
        m,
        graph,
        eligible,
        data,
        ratio,
        Storage::I8,
        Pick::Sensitive,
    )
}

/// Scores every eligible layer with its kernel alone at `storage`, orders them by `pick`
/// and takes the shortest prefix whose weights reach `ratio` of all weighted layers'.
fn choose(
    m: &mut Module,
    graph: OpId,
    eligible: &[(OpId, String)],
    data: &[ArrayD<f32>],
    ratio: f64,
    storage: Storage,
    pick: Pick,
) -> Result<Choice, String> {
    let total: u64 = weighted_layers(m, graph)
        .iter()
        .map(|(o, _)| weight_count(m, *o))
        .sum();
    let reference = Executor::new(m, graph)
        .and_then(|e| e.run_recorded(data))
        .map_err(|e| e.to_string())?;
    let mut scored = Vec::with_capacity(eligible.len());
    for (op, name) in eligible {
        let snr = single_layer_snr(m, graph, *op, storage, data, &reference)?;
        scored.push((name.clone(), snr, weight_count(m, *op)));
    }
    scored.sort_by(|a, b| {
        let by_snr = match pick {
            Pick::Robust => b.1.total_cmp(&a.1),
            Pick::Sensitive => a.1.total_cmp(&b.1),
        };
        by_snr.then_with(|| a.0.cmp(&b.0))
    });
    let target = ratio.clamp(0.0, 1.0) * total as f64;
    let (mut sum, mut chosen) = (0u64, Vec::new());
    for (name, _, n) in &scored {
        if ratio <= 0.0 || sum as f64 >= target {
            break;
        }
        sum += n;
        chosen.push(name.clone());
    }
    Ok(Choice {
        chosen,
        snr: scored.into_iter().map(|(n, s, _)| (n, s)).collect(),
    })
}
