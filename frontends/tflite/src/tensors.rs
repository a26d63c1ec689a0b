//! Validation of tensor definitions and decoding of constant buffers.
//!
//! Turns schema [`TensorDef`]s into neutral [`Tensor`]s: shapes must be
//! non-negative, buffer indices in range, buffer sizes must match the shape,
//! and constant bytes are decoded little-endian (fp16 widened to f32 with
//! `half`). Also detects integer-quantized models, which Hailo rejects.

use half::f16;

use crate::error::{Result, TfliteError};
use crate::graph::{DType, Tensor, TensorData};
use crate::schema::{Buffer, TensorDef};

/// Fails with the guide's explanation if any tensor is integer-quantized.
pub fn reject_quantized(defs: &[TensorDef]) -> Result<()> {
    for def in defs {
        let dtype = DType::from_code(def.dtype);
        let bits = match dtype {
            DType::I8 | DType::U8 => 8,
            DType::I16 => 16,
            _ => continue,
        };
        if def
            .quantization
            .as_ref()
            .is_some_and(|q| !q.scale.is_empty())
        {
            return Err(TfliteError::QuantizedModel {
                tensor: def.name.clone(),
                dtype,
                bits,
            });
        }
    }
    Ok(())
}

/// Converts tensor `index` of subgraph 0.
pub fn convert_tensor(index: usize, def: &TensorDef, buffers: &[Buffer<'_>]) -> Result<Tensor> {
    let context = || format!("tensor {index} '{}'", def.name);
    if def.is_sparse {
        return Err(TfliteError::invalid(
            context(),
            def.offset,
            "sparse tensors are not supported; convert the model without sparsity",
        ));
    }
    let shape = def
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            TfliteError::invalid(
                context(),
                def.offset,
                format!("shape {:?} has a negative dimension", def.shape),
            )
        })?;
    hailo_guard::limits::check_elements(shape.iter().map(|&d| d as u64)).map_err(|e| {
        TfliteError::invalid(context(), def.offset, format!("shape {shape:?} has {e}"))
    })?;
    let dtype = DType::from_code(def.dtype);
    let buffer = buffers
        .get(def.buffer as usize)
        .ok_or_else(|| TfliteError::IndexOutOfRange {
            what: format!("{} buffer", context()),
            index: i64::from(def.buffer),
            count: buffers.len(),
            offset: def.offset,
        })?;
    let data = if buffer.data.is_empty() {
        None
    } else {
        let data = decode(buffer.data, dtype, &shape)
            .map_err(|msg| TfliteError::invalid(context(), def.offset, msg))?;
        if let TensorData::Float(values) = &data {
            if let Some(at) = values.iter().position(|v| !v.is_finite()) {
                return Err(TfliteError::invalid(
                    context(),
                    def.offset,
                    format!(
                        "constant holds {} at flat index {at}; the model's weights are damaged \
                         (re-export the model, or fix the training run)",
                        values[at]
                    ),
                ));
            }
        }
        Some(data)
    };
    Ok(Tensor {
        name: def.name.clone(),
        shape,
        shape_signature: def
            .shape_signature
            .as_ref()
            .map(|s| s.iter().map(|&d| i64::from(d)).collect()),
        dtype,
        data,
    })
}

/// Decodes constant bytes of `dtype` that must fill `shape` exactly.
fn decode(bytes: &[u8], dtype: DType, shape: &[usize]) -> Result<TensorData, String> {
    let size = dtype
        .byte_size()
        .ok_or_else(|| format!("constant tensors of type {dtype:?} are not supported"))?;
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} has too many elements"))?;
    if count.checked_mul(size) != Some(bytes.len()) {
        return Err(format!(
            "constant buffer holds {} bytes but shape {shape:?} of {dtype:?} needs {count} x {size} bytes",
            bytes.len()
        ));
    }
    let chunks = bytes.chunks_exact(size);
    Ok(match dtype {
        DType::F32 => TensorData::Float(chunks.map(|c| f32::from_le_bytes(arr(c))).collect()),
        DType::F16 => TensorData::Float(
            chunks
                .map(|c| f16::from_le_bytes(arr(c)).to_f32())
                .collect(),
        ),
        DType::F64 => {
            TensorData::Float(chunks.map(|c| f64::from_le_bytes(arr(c)) as f32).collect())
        }
        DType::I8 => TensorData::Int(bytes.iter().map(|&b| i64::from(b as i8)).collect()),
        DType::U8 | DType::Bool => TensorData::Int(bytes.iter().map(|&b| i64::from(b)).collect()),
        DType::I16 => TensorData::Int(
            chunks
                .map(|c| i64::from(i16::from_le_bytes(arr(c))))
                .collect(),
        ),
        DType::I32 => TensorData::Int(
            chunks
                .map(|c| i64::from(i32::from_le_bytes(arr(c))))
                .collect(),
        ),
        DType::I64 => TensorData::Int(chunks.map(|c| i64::from_le_bytes(arr(c))).collect()),
        DType::Other(_) => {
            return Err(format!(
                "constant tensors of type {dtype:?} are not supported"
            ))
        }
    })
}

/// Copies a chunk of exactly `N` bytes (guaranteed by `chunks_exact`).
fn arr<const N: usize>(chunk: &[u8]) -> [u8; N] {
    chunk.try_into().unwrap_or([0; N])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fp16_to_f32() {
        let bytes: Vec<u8> = [1.5f32, -2.0, 65504.0]
            .iter()
            .flat_map(|&x| f16::from_f32(x).to_le_bytes())
            .collect();
        let data = decode(&bytes, DType::F16, &[3]).unwrap();
        assert_eq!(data, TensorData::Float(vec![1.5, -2.0, 65504.0]));
    }

    #[test]
    fn size_mismatch_is_explained() {
        let err = decode(&[0; 6], DType::F32, &[2]).unwrap_err();
        assert_eq!(
            err,
            "constant buffer holds 6 bytes but shape [2] of F32 needs 2 x 4 bytes"
        );
    }

    #[test]
    fn decodes_signed_integers() {
        let bytes: Vec<u8> = [-3i32, 7].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(
            decode(&bytes, DType::I32, &[2]).unwrap(),
            TensorData::Int(vec![-3, 7])
        );
        assert_eq!(
            decode(&[0xff], DType::I8, &[1]).unwrap(),
            TensorData::Int(vec![-1])
        );
    }
}
