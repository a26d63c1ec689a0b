//! `hl-to-quant` for the post-processing the guide runs on the host (`hl.nms`: box decoding,
//! score threshold and NMS, or `bbox_decoding_only`): as HailoRT does, the chip's outputs
//! are dequantized with their stream's scale and zero point and the post-process runs in
//! float on them. The `hl.nms` op stays as it is (the float executor runs it), reading
//! `q.dequantize`d operands, and the output layer after it passes its f32 result through.

use super::hl_to_quant::{get, Lowered};
use hailo_dialect_hl::ops::QUANT_ANNOTATIONS;
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::QuantType;
use hailo_ir::{Module, OpId, OpSpec, Type, ValueId};
use rustc_hash::FxHashMap;

/// Keeps `op` in float: its quantized operands are dequantized first, and its quantizer
/// annotations are dropped (nothing of it is quantized).
pub(super) fn lower(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Lowered {
    let operands = m.op(op).operands().to_vec();
    let mut floats = Vec::with_capacity(operands.len());
    for v in operands {
        let x = get(map, v)?;
        floats.push(dequantized(m, op, x));
    }
    m.set_operands(op, &floats);
    for a in QUANT_ANNOTATIONS {
        m.remove_attr(op, a.name);
    }
    Ok(m.op(op).results().to_vec())
}

/// `x` itself when it is f32 already, else a `q.dequantize` of it (named after `at`).
pub(super) fn dequantized(m: &mut Module, at: OpId, x: ValueId) -> ValueId {
    let ty = m.value_type(x);
    if QuantType::parse(ty).is_none() {
        return x;
    }
    let shape = ty.shape().unwrap_or(&[]).to_vec();
    let mut spec = OpSpec::new(q::DEQUANTIZE)
        .operands(&[x])
        .results(&[Type::tensor(&shape, Type::f32())])
        .loc(m.op(at).loc.clone());
    if let Some(l) = m.attr(at, "layer").cloned() {
        spec = spec.attr("layer", l);
    }
    let d = m.create_op(spec);
    m.insert_before(at, d);
    m.result(d, 0)
}
