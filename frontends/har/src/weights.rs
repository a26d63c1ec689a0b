//! The `<net>.npz` member: weights as NumPy arrays, built and read in memory.
//!
//! Arrays take the dtype and shape of the constant's tensor type, so a vendor tool sees
//! float32 `[kh, kw, cin, cout]` kernels; their bytes are the blob's bytes unchanged, so
//! reading them back restores every blob exactly. Element types NumPy lacks (bf16,
//! odd widths) are stored as raw `uint8` vectors. The `hailo-npz` crate does the `.npy`
//! encoding; the zip container is assembled here because the archive lives in memory.

use hailo_ir::{Attribute, Blob, DenseValues, Signedness, Type, TypeKind};
use hailo_npz::{decode_npy, encode_npy, NpyArray};
use half::f16;
use ndarray::{ArrayD, IxDyn};
use std::io::{Cursor, Read, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// NPZ contents: arrays by key, in archive order.
pub(crate) type NamedArrays = Vec<(String, NpyArray)>;

/// Builds an array of `ty`'s element type and shape from little-endian `bytes`.
pub(crate) fn array_from_bytes(ty: Type, bytes: &[u8]) -> NpyArray {
    let raw = || {
        NpyArray::U8(
            ArrayD::from_shape_vec(IxDyn(&[bytes.len()]), bytes.to_vec()).expect("1-D shape"),
        )
    };
    let Some(shape) = ty.shape().filter(|s| s.iter().all(|&d| d >= 0)) else {
        return raw();
    };
    let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    macro_rules! typed {
        ($variant:ident, $t:ty, $n:expr, $conv:expr) => {{
            if bytes.len() != shape.iter().product::<usize>() * $n {
                return raw();
            }
            let values: Vec<$t> = bytes
                .chunks_exact($n)
                .map(|c| $conv(c.try_into().expect("chunk size")))
                .collect();
            match ArrayD::from_shape_vec(IxDyn(&shape), values) {
                Ok(a) => NpyArray::$variant(a),
                Err(_) => raw(),
            }
        }};
    }
    match ty.element().kind() {
        TypeKind::F32 => typed!(F32, f32, 4, f32::from_le_bytes),
        TypeKind::F64 => typed!(F64, f64, 8, f64::from_le_bytes),
        TypeKind::F16 => typed!(F16, f16, 2, f16::from_le_bytes),
        TypeKind::Int {
            width: 8,
            signedness: Signedness::Unsigned,
        } => typed!(U8, u8, 1, |b: [u8; 1]| b[0]),
        TypeKind::Int { width: 8, .. } => typed!(I8, i8, 1, i8::from_le_bytes),
        TypeKind::Int {
            width: 16,
            signedness: Signedness::Unsigned,
        } => typed!(U16, u16, 2, u16::from_le_bytes),
        TypeKind::Int { width: 16, .. } => typed!(I16, i16, 2, i16::from_le_bytes),
        TypeKind::Int {
            width: 32,
            signedness: Signedness::Unsigned,
        } => typed!(U32, u32, 4, u32::from_le_bytes),
        TypeKind::Int { width: 32, .. } => typed!(I32, i32, 4, i32::from_le_bytes),
        TypeKind::Int {
            width: 64,
            signedness: Signedness::Unsigned,
        } => typed!(U64, u64, 8, u64::from_le_bytes),
        TypeKind::Int { width: 64, .. } => typed!(I64, i64, 8, i64::from_le_bytes),
        _ => raw(),
    }
}

/// The array's elements as little-endian bytes, in C order.
pub(crate) fn array_bytes(a: &NpyArray) -> Vec<u8> {
    macro_rules! le {
        ($arr:expr, $f:expr) => {
            $arr.iter().flat_map(|v| $f(*v)).collect()
        };
    }
    match a {
        NpyArray::Bool(x) => le!(x, |v: bool| [u8::from(v)]),
        NpyArray::I8(x) => le!(x, i8::to_le_bytes),
        NpyArray::U8(x) => le!(x, u8::to_le_bytes),
        NpyArray::I16(x) => le!(x, i16::to_le_bytes),
        NpyArray::U16(x) => le!(x, u16::to_le_bytes),
        NpyArray::I32(x) => le!(x, i32::to_le_bytes),
        NpyArray::U32(x) => le!(x, u32::to_le_bytes),
        NpyArray::I64(x) => le!(x, i64::to_le_bytes),
        NpyArray::U64(x) => le!(x, u64::to_le_bytes),
        NpyArray::F16(x) => le!(x, f16::to_le_bytes),
        NpyArray::F32(x) => le!(x, f32::to_le_bytes),
        NpyArray::F64(x) => le!(x, f64::to_le_bytes),
    }
}

/// The little-endian bytes of a constant's value: a blob's bytes, or an inline `dense<...>`
/// converted to its element type (a splat expanded). `None` for anything else.
pub(crate) fn const_bytes(
    value: &Attribute,
    blobs: &hailo_ir::BlobStore,
) -> Option<(Type, Vec<u8>)> {
    match value {
        Attribute::DenseResource { key, ty } => {
            Some((*ty, blobs.get(key.as_str())?.bytes.to_vec()))
        }
        Attribute::Dense(d) => {
            let n = usize::try_from(d.ty.num_elements()).ok()?;
            let at = |i: usize| if d.values.len() == 1 { 0 } else { i };
            let elem = d.ty.element();
            let mut out = Vec::new();
            for i in 0..n {
                let (f, int) = match &d.values {
                    DenseValues::Floats(v) => (*v.get(at(i))?, *v.get(at(i))? as i64),
                    DenseValues::Ints(v) => (*v.get(at(i))? as f64, *v.get(at(i))?),
                    DenseValues::Bools(v) => (
                        f64::from(u8::from(*v.get(at(i))?)),
                        i64::from(*v.get(at(i))?),
                    ),
                };
                match elem.kind() {
                    TypeKind::F32 => out.extend((f as f32).to_le_bytes()),
                    TypeKind::F64 => out.extend(f.to_le_bytes()),
                    TypeKind::F16 => out.extend(f16::from_f64(f).to_le_bytes()),
                    TypeKind::Int {
                        width: w @ (1 | 8 | 16 | 32 | 64),
                        ..
                    } => {
                        out.extend(&int.to_le_bytes()[..(*w as usize).div_ceil(8)]);
                    }
                    _ => return None,
                }
            }
            Some((d.ty, out))
        }
        _ => None,
    }
}

/// An uncompressed `.npz` (as `np.savez`) with fixed timestamps: identical arrays, identical bytes.
pub(crate) fn write_npz(arrays: &[(String, NpyArray)]) -> Result<Vec<u8>, String> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, array) in arrays {
        let bytes = encode_npy(array);
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .last_modified_time(DateTime::DEFAULT)
            .unix_permissions(0o644)
            .large_file(bytes.len() >= u32::MAX as usize);
        zip.start_file(format!("{name}.npy"), options)
            .map_err(|e| e.to_string())?;
        zip.write_all(&bytes).map_err(|e| e.to_string())?;
    }
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

/// Every array of an `.npz` held in memory, keys without the `.npy` suffix, in archive order.
pub(crate) fn read_npz(bytes: &[u8]) -> Result<NamedArrays, String> {
    let mut archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a valid npz (zip) archive: {e}"))?;
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("zip entry {i}: {e}"))?;
        let name = entry
            .name()
            .map_err(|e| format!("zip entry {i}: {e}"))?
            .to_string();
        let key = name
            .strip_suffix(".npy")
            .ok_or_else(|| format!("entry '{name}' is not a .npy array"))?
            .to_string();
        let mut data = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 28));
        entry
            .read_to_end(&mut data)
            .map_err(|e| format!("array '{key}': {e}"))?;
        let array = decode_npy(&data).map_err(|e| format!("array '{key}': {e}"))?;
        out.push((key, array));
    }
    Ok(out)
}

/// A float32 blob from any numeric array (vendor NPZs may hold float64).
pub(crate) fn f32_blob(a: &NpyArray) -> Blob {
    Blob::from_f32(&a.to_f32().iter().copied().collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_arrays_keep_bytes() {
        let ty = Type::tensor(&[2, 2], Type::f32());
        let bytes: Vec<u8> = [1.0f32, -2.0, 3.5, 0.25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = array_from_bytes(ty, &bytes);
        assert_eq!(a.shape(), &[2, 2]);
        assert!(matches!(a, NpyArray::F32(_)));
        assert_eq!(array_bytes(&a), bytes);
        // Size mismatch falls back to raw bytes, still exact.
        let odd = array_from_bytes(ty, &bytes[..12]);
        assert_eq!(
            (odd.shape(), array_bytes(&odd)),
            (&[12usize][..], bytes[..12].to_vec())
        );
    }

    #[test]
    fn npz_round_trip_is_deterministic() {
        let a = NpyArray::F32(ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0, 2.0, 3.0]).unwrap());
        let arrays = vec![("net/conv1/kernel:0".to_string(), a.clone())];
        let bytes = write_npz(&arrays).unwrap();
        assert_eq!(bytes, write_npz(&arrays).unwrap());
        let back = read_npz(&bytes).unwrap();
        assert_eq!(back, arrays);
        assert!(read_npz(b"PK garbage")
            .unwrap_err()
            .starts_with("not a valid npz"));
    }
}
