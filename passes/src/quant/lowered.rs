//! Reading the quantized graph that `hl-to-quant` makes of an annotated `hl` graph: the
//! lowered weighted op of each layer, its constants' codes and dequantized values, and
//! recorded activations dequantized. Data-driven passes that compare the quantized network
//! with the float one (bias correction, noise analysis) lower a copy once and read it here,
//! so the values they use are exactly the integer emulation's.

use super::layer_of;
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::QuantType;
use hailo_executor::Recording;
use hailo_ir::{Attribute, Module, OpId, ValueId};
use ndarray::ArrayD;
use rustc_hash::FxHashMap;

/// The lowered weighted op of every layer of `lowered`'s graph.
pub fn lowered_weighted(lowered: &Module, graph: OpId) -> FxHashMap<String, OpId> {
    lowered
        .walk(graph)
        .into_iter()
        .filter(|&o| {
            matches!(
                lowered.op(o).name_str(),
                q::CONV2D | q::DEPTHWISE_CONV2D | q::DENSE
            )
        })
        .map(|o| (layer_of(lowered, o), o))
        .collect()
}

/// The recorded value of `v` of the lowered graph, dequantized.
pub fn dequantized(lowered: &Module, rec: &Recording, v: ValueId) -> Result<ArrayD<f32>, String> {
    let t = QuantType::parse(lowered.value_type(v))
        .ok_or("an operand of the lowered layer is not quantized")?;
    let codes = rec
        .codes(v)
        .ok_or("the emulation did not record the layer's input")?;
    let (s, z) = (t.scale_at(0), t.zero_point());
    Ok(codes.mapv(|c| ((i64::from(c) - z) as f64 * s) as f32))
}

/// The i32 codes of a `q.const` operand, with the constant's blob key.
pub fn const_codes(lowered: &Module, v: ValueId) -> Result<(Vec<i32>, String), String> {
    let def = lowered.defining_op(v).ok_or("not a constant")?;
    match lowered.attr(def, "value") {
        Some(Attribute::DenseResource { key, .. }) => {
            let blob = lowered
                .resources
                .get(key.as_str())
                .ok_or_else(|| format!("missing blob '{}'", key.as_str()))?;
            let codes = blob
                .bytes
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Ok((codes, key.as_str().to_owned()))
        }
        _ => Err("a lowered constant is not a blob".into()),
    }
}

/// The kernel operand `v` (a per-output-channel quantized `q.const`, channels last) as
/// floats: codes times their channel's scale.
pub fn dequantized_kernel(lowered: &Module, v: ValueId) -> Result<Vec<f32>, String> {
    let t = QuantType::parse(lowered.value_type(v)).ok_or("the kernel is not quantized")?;
    let cout = lowered
        .value_type(v)
        .shape()
        .and_then(|s| s.last().copied())
        .ok_or("kernel of rank 0")? as usize;
    Ok(const_codes(lowered, v)?
        .0
        .iter()
        .enumerate()
        .map(|(i, &c)| (f64::from(c) * t.scale_at(i % cout.max(1))) as f32)
        .collect())
}

/// The bias operand `v` (i32 at the accumulator scale of each channel) as floats.
pub fn dequantized_bias(lowered: &Module, v: ValueId) -> Result<Vec<f32>, String> {
    let t = QuantType::parse(lowered.value_type(v)).ok_or("the bias is not quantized")?;
    Ok(const_codes(lowered, v)?
        .0
        .iter()
        .enumerate()
        .map(|(c, &b)| (f64::from(b) * t.scale_at(c)) as f32)
        .collect())
}
