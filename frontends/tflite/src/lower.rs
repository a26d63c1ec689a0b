//! Lowering of a decoded [`Model`] to the neutral [`TfliteGraph`].
//!
//! Validates subgraph 0 (tensor, buffer, operator-code and I/O indices),
//! rejects integer-quantized models, folds `DEQUANTIZE` of fp16 constants
//! into f32 constants, and maps every other operator through [`crate::ops`].

use crate::error::{Result, TfliteError};
use crate::graph::{DType, Op, OpKind, Tensor, TensorData, TensorId, TfliteGraph};
use crate::ops::{map_op, MapError, OpCtx};
use crate::schema::{Model, Operator};
use crate::tensors::{convert_tensor, reject_quantized};

/// Builds the neutral graph of subgraph 0.
pub fn lower(model: &Model<'_>) -> Result<TfliteGraph> {
    let sg = model
        .subgraphs
        .first()
        .ok_or_else(|| TfliteError::invalid("Model.subgraphs", 0, "the model has no subgraph"))?;
    reject_quantized(&sg.tensors)?;
    let mut tensors = sg
        .tensors
        .iter()
        .enumerate()
        .map(|(i, def)| convert_tensor(i, def, &model.buffers))
        .collect::<Result<Vec<_>>>()?;
    let count = tensors.len();
    let io = |list: &[i32], what: &str| -> Result<Vec<TensorId>> {
        list.iter()
            .enumerate()
            .map(|(k, &i)| tensor_index(i, count, || format!("subgraph 0 {what} {k}"), sg.offset))
            .collect()
    };
    let inputs = io(&sg.inputs, "input")?;
    let outputs = io(&sg.outputs, "output")?;
    let mut ops = Vec::with_capacity(sg.operators.len());
    for (index, op) in sg.operators.iter().enumerate() {
        if let Some(new) = lower_op(model, index, op, &mut tensors)? {
            ops.push(new);
        }
    }
    Ok(TfliteGraph {
        tensors,
        ops,
        inputs,
        outputs,
    })
}

/// Converts a stored tensor index, range-checked; -1 yields `None`.
fn optional_index(
    i: i32,
    count: usize,
    what: impl Fn() -> String,
    offset: usize,
) -> Result<Option<TensorId>> {
    if i == -1 {
        return Ok(None);
    }
    tensor_index(i, count, what, offset).map(Some)
}

fn tensor_index(
    i: i32,
    count: usize,
    what: impl Fn() -> String,
    offset: usize,
) -> Result<TensorId> {
    usize::try_from(i)
        .ok()
        .filter(|&u| u < count)
        .ok_or_else(|| TfliteError::IndexOutOfRange {
            what: format!("{} tensor", what()),
            index: i64::from(i),
            count,
            offset,
        })
}

/// Lowers operator `index`; `None` when it was folded away.
fn lower_op(
    model: &Model<'_>,
    index: usize,
    op: &Operator<'_>,
    tensors: &mut [Tensor],
) -> Result<Option<Op>> {
    let code = model
        .operator_codes
        .get(op.opcode_index as usize)
        .ok_or_else(|| TfliteError::IndexOutOfRange {
            what: format!("operator {index} opcode_index"),
            index: i64::from(op.opcode_index),
            count: model.operator_codes.len(),
            offset: op.offset,
        })?;
    let name = code.name();
    let count = tensors.len();
    let inputs = op
        .inputs
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            optional_index(
                i,
                count,
                || format!("operator {index} ({name}) input {k}"),
                op.offset,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let outputs = op
        .outputs
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            tensor_index(
                i,
                count,
                || format!("operator {index} ({name}) output {k}"),
                op.offset,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    if name == "DEQUANTIZE" && fold_dequantize(&inputs, &outputs, tensors) {
        return Ok(None);
    }
    let ctx = OpCtx {
        index,
        name,
        op,
        inputs,
        outputs,
        tensors,
    };
    let (kind, dataflow) = match (ctx.name.as_str(), map_op(&ctx)) {
        (_, Ok(mapped)) => mapped,
        (_, Err(MapError::Fatal(e))) => return Err(e),
        (op_name, Err(MapError::Unsupported(reason))) => {
            let kind = OpKind::Unsupported {
                op_name: op_name.to_string(),
                reason,
            };
            (kind, ctx.inputs.iter().flatten().copied().collect())
        }
    };
    let name_hint = ctx
        .outputs
        .first()
        .map_or_else(|| format!("op{index}"), |&t| tensors[t].name.clone());
    Ok(Some(Op {
        kind,
        inputs: dataflow,
        outputs: ctx.outputs,
        tflite_index: index,
        name_hint,
    }))
}

/// Folds `DEQUANTIZE(fp16 constant)` into an f32 constant on its output.
/// Returns false (nothing changed) for any other DEQUANTIZE.
fn fold_dequantize(
    inputs: &[Option<TensorId>],
    outputs: &[TensorId],
    tensors: &mut [Tensor],
) -> bool {
    let ([Some(src)], [dst]) = (inputs, outputs) else {
        return false;
    };
    let source = &tensors[*src];
    let Some(TensorData::Float(values)) = &source.data else {
        return false;
    };
    if source.dtype != DType::F16 || source.shape != tensors[*dst].shape {
        return false;
    }
    let data = Some(TensorData::Float(values.clone()));
    let target = &mut tensors[*dst];
    target.data = data;
    target.dtype = DType::F32;
    true
}
