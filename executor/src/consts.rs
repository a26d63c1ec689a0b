//! Decoding of `hl.const` values (inline `dense<...>` or `dense_resource<key>` blobs) into
//! f32 arrays, once per plan, whatever element type the model stores.

use crate::attrs::OpReader;
use crate::error::ExecError;
use hailo_ir::{Attribute, Signedness, Type, TypeKind};
use ndarray::{ArrayD, IxDyn};

/// The static shape of a tensor type, or an error naming the layer.
pub(crate) fn static_shape(r: &OpReader, ty: Type) -> Result<Vec<usize>, ExecError> {
    let dims = ty
        .shape()
        .ok_or_else(|| r.err(format!("expected a tensor type, found {ty}")))?;
    dims.iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| r.err(format!("type {ty} has a dynamic or negative dimension")))
        })
        .collect()
}

/// The value of the `hl.const` op read by `r`.
pub(crate) fn decode_const(r: &OpReader) -> Result<ArrayD<f32>, ExecError> {
    let attr =
        r.m.op(r.id)
            .attr("value")
            .ok_or_else(|| r.err("missing 'value' attribute"))?;
    let (ty, data) = match attr {
        Attribute::Dense(d) => (d.ty, d.to_f64_vec().into_iter().map(|v| v as f32).collect()),
        Attribute::DenseResource { key, ty } => {
            let blob = r.m.resources.get(key.as_str()).ok_or_else(|| {
                r.err(format!("resource '{key}' is not in the module's blob store (the weights were not loaded)"))
            })?;
            (*ty, decode_blob(r, key.as_str(), &blob.bytes, *ty)?)
        }
        other => {
            return Err(r.err(format!(
                "'value' must be dense or dense_resource, found {other:?}"
            )))
        }
    };
    let shape = static_shape(r, ty)?;
    let expected: usize = shape.iter().product();
    if data.len() != expected {
        return Err(r.err(format!(
            "constant has {} values but type {ty} needs {expected}",
            data.len()
        )));
    }
    ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|e| r.err(e.to_string()))
}

/// Little-endian blob bytes of element type `ty.element()` converted to f32.
fn decode_blob(r: &OpReader, key: &str, bytes: &[u8], ty: Type) -> Result<Vec<f32>, ExecError> {
    let elem = ty.element();
    let size = match elem.kind() {
        TypeKind::F16 | TypeKind::BF16 => 2,
        TypeKind::F32 => 4,
        TypeKind::F64 => 8,
        TypeKind::Int { width, .. } if matches!(width, 8 | 16 | 32 | 64) => *width as usize / 8,
        _ => {
            return Err(r.err(format!(
                "resource '{key}' has unsupported element type {elem}"
            )))
        }
    };
    let count = usize::try_from(ty.num_elements()).unwrap_or(0);
    if bytes.len() != count * size {
        return Err(r.err(format!(
            "resource '{key}' has {} bytes but type {ty} needs {}",
            bytes.len(),
            count * size
        )));
    }
    let signed = |width: u32, s: Signedness| (width, s != Signedness::Unsigned);
    let chunks = bytes.chunks_exact(size);
    Ok(match elem.kind() {
        TypeKind::F16 => chunks
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        TypeKind::BF16 => chunks
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        TypeKind::F32 => chunks
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        TypeKind::F64 => chunks
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
            .collect(),
        TypeKind::Int { width, signedness } => match signed(*width, *signedness) {
            (8, true) => chunks.map(|c| f32::from(c[0] as i8)).collect(),
            (8, false) => chunks.map(|c| f32::from(c[0])).collect(),
            (16, true) => chunks
                .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])))
                .collect(),
            (16, false) => chunks
                .map(|c| f32::from(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            (32, true) => chunks
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
            (32, false) => chunks
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
            (_, true) => chunks
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
                .collect(),
            (_, false) => chunks
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
                .collect(),
        },
        _ => {
            return Err(r.err(format!(
                "resource '{key}' has unsupported element type {elem}"
            )))
        }
    })
}
