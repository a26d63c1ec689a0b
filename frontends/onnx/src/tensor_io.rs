//! Conversion between `TensorProto` and `TensorData`: inline typed fields, little-endian
//! `raw_data`, and external data files resolved relative to the model's directory.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use hailo_guard::files::{self, FileError};

use bytes::Bytes;
use ndarray::{ArrayD, IxDyn};

use crate::error::{OnnxError, Result};
use crate::proto::{data_location, TensorProto};
use crate::tensor::{DataType, TensorData};

/// Decodes a tensor. `base_dir` is the model file's directory, needed for external data.
pub fn tensor_from_proto(t: &TensorProto, base_dir: Option<&Path>) -> Result<TensorData> {
    let err = |message: String| OnnxError::Tensor {
        tensor: t.name.clone(),
        message,
    };
    if t.segment.is_some() {
        return Err(err(
            "segmented tensors (TensorProto.segment) are not supported; re-save the model with \
             whole tensors"
                .into(),
        ));
    }
    let mut dims = Vec::with_capacity(t.dims.len());
    for &d in &t.dims {
        dims.push(usize::try_from(d).map_err(|_| err(format!("negative dimension {d}")))?);
    }
    let count = hailo_guard::limits::check_elements(dims.iter().map(|&d| d as u64))
        .map_err(|e| err(format!("shape {dims:?} has {e}")))? as usize;
    let raw = if t.data_location == data_location::EXTERNAL {
        Some(read_external(t, base_dir)?)
    } else if !t.raw_data.is_empty() || count == 0 {
        Some(t.raw_data.clone())
    } else {
        None
    };
    let dtype = DataType::from_code(t.data_type);
    let values = match raw {
        Some(bytes) => from_raw(dtype, &bytes, count).map_err(err)?,
        None => from_typed_fields(t, dtype).map_err(err)?,
    };
    if values.len() != count {
        return Err(err(format!(
            "holds {} values but its shape {dims:?} needs {count}",
            values.len()
        )));
    }
    values.into_array(&dims).map_err(err)
}

/// Flat decoded values before they get a shape.
enum Flat {
    F32(Vec<f32>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    Bool(Vec<bool>),
}

impl Flat {
    fn len(&self) -> usize {
        match self {
            Flat::F32(v) => v.len(),
            Flat::I64(v) => v.len(),
            Flat::I32(v) => v.len(),
            Flat::I8(v) => v.len(),
            Flat::U8(v) => v.len(),
            Flat::Bool(v) => v.len(),
        }
    }

    fn into_array(self, dims: &[usize]) -> std::result::Result<TensorData, String> {
        fn shaped<T>(dims: &[usize], v: Vec<T>) -> std::result::Result<ArrayD<T>, String> {
            ArrayD::from_shape_vec(IxDyn(dims), v).map_err(|e| e.to_string())
        }
        Ok(match self {
            Flat::F32(v) => TensorData::F32(shaped(dims, v)?),
            Flat::I64(v) => TensorData::I64(shaped(dims, v)?),
            Flat::I32(v) => TensorData::I32(shaped(dims, v)?),
            Flat::I8(v) => TensorData::I8(shaped(dims, v)?),
            Flat::U8(v) => TensorData::U8(shaped(dims, v)?),
            Flat::Bool(v) => TensorData::Bool(shaped(dims, v)?),
        })
    }
}

fn unsupported(dtype: DataType) -> String {
    format!(
        "data type {dtype:?} (code {}) is not supported",
        dtype.code()
    )
}

/// Decodes little-endian values of `N` bytes each with `f`, checking the byte count.
fn decode_le<const N: usize, T>(
    bytes: &[u8],
    count: usize,
    dtype: DataType,
    f: impl Fn([u8; N]) -> T,
) -> std::result::Result<Vec<T>, String> {
    let need = count.saturating_mul(N);
    if bytes.len() != need {
        return Err(format!(
            "raw data has {} bytes but {count} values of {dtype:?} need {need}",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            f(a)
        })
        .collect())
}

fn from_raw(dtype: DataType, b: &[u8], n: usize) -> std::result::Result<Flat, String> {
    Ok(match dtype {
        DataType::Float => Flat::F32(decode_le(b, n, dtype, f32::from_le_bytes)?),
        DataType::Float16 => Flat::F32(decode_le(b, n, dtype, |c| {
            half::f16::from_le_bytes(c).to_f32()
        })?),
        DataType::Bfloat16 => Flat::F32(decode_le(b, n, dtype, |c| {
            half::bf16::from_le_bytes(c).to_f32()
        })?),
        DataType::Double => Flat::F32(decode_le(b, n, dtype, |c| f64::from_le_bytes(c) as f32)?),
        DataType::Int64 => Flat::I64(decode_le(b, n, dtype, i64::from_le_bytes)?),
        DataType::Uint64 => Flat::I64(
            decode_le(b, n, dtype, |c| u64_to_i64(u64::from_le_bytes(c)))?
                .into_iter()
                .collect::<std::result::Result<_, _>>()?,
        ),
        DataType::Uint32 => Flat::I64(decode_le(b, n, dtype, |c| {
            i64::from(u32::from_le_bytes(c))
        })?),
        DataType::Int32 => Flat::I32(decode_le(b, n, dtype, i32::from_le_bytes)?),
        DataType::Int16 => Flat::I32(decode_le(b, n, dtype, |c| {
            i32::from(i16::from_le_bytes(c))
        })?),
        DataType::Uint16 => Flat::I32(decode_le(b, n, dtype, |c| {
            i32::from(u16::from_le_bytes(c))
        })?),
        DataType::Int8 => Flat::I8(decode_le(b, n, dtype, i8::from_le_bytes)?),
        DataType::Uint8 => Flat::U8(decode_le(b, n, dtype, |[c]| c)?),
        DataType::Bool => Flat::Bool(decode_le(b, n, dtype, |[c]| c != 0)?),
        other => return Err(unsupported(other)),
    })
}

fn u64_to_i64(v: u64) -> std::result::Result<i64, String> {
    i64::try_from(v).map_err(|_| format!("uint64 value {v} does not fit in int64"))
}

/// Narrows `int32_data` entries, which hold every type of 16 bits or less.
fn narrow<T: TryFrom<i32>>(v: &[i32], dtype: DataType) -> std::result::Result<Vec<T>, String> {
    v.iter()
        .map(|&x| {
            T::try_from(x)
                .map_err(|_| format!("int32_data value {x} is out of range for {dtype:?}"))
        })
        .collect()
}

fn from_typed_fields(t: &TensorProto, dtype: DataType) -> std::result::Result<Flat, String> {
    Ok(match dtype {
        DataType::Float => Flat::F32(t.float_data.clone()),
        DataType::Double => Flat::F32(t.double_data.iter().map(|&v| v as f32).collect()),
        DataType::Float16 => Flat::F32(
            narrow::<u16>(&t.int32_data, dtype)?
                .into_iter()
                .map(|b| half::f16::from_bits(b).to_f32())
                .collect(),
        ),
        DataType::Bfloat16 => Flat::F32(
            narrow::<u16>(&t.int32_data, dtype)?
                .into_iter()
                .map(|b| half::bf16::from_bits(b).to_f32())
                .collect(),
        ),
        DataType::Int64 => Flat::I64(t.int64_data.clone()),
        DataType::Uint32 | DataType::Uint64 => Flat::I64(
            t.uint64_data
                .iter()
                .map(|&v| u64_to_i64(v))
                .collect::<std::result::Result<_, _>>()?,
        ),
        DataType::Int32 => Flat::I32(t.int32_data.clone()),
        DataType::Int16 => Flat::I32(
            narrow::<i16>(&t.int32_data, dtype)?
                .into_iter()
                .map(i32::from)
                .collect(),
        ),
        DataType::Uint16 => Flat::I32(
            narrow::<u16>(&t.int32_data, dtype)?
                .into_iter()
                .map(i32::from)
                .collect(),
        ),
        DataType::Int8 => Flat::I8(narrow(&t.int32_data, dtype)?),
        DataType::Uint8 => Flat::U8(narrow(&t.int32_data, dtype)?),
        DataType::Bool => Flat::Bool(t.int32_data.iter().map(|&v| v != 0).collect()),
        other => return Err(unsupported(other)),
    })
}

/// Reads the bytes of an externally stored tensor (`location`, `offset`, `length` keys).
fn read_external(t: &TensorProto, base_dir: Option<&Path>) -> Result<Bytes> {
    let err = |message: String| OnnxError::Tensor {
        tensor: t.name.clone(),
        message: format!("external data: {message}"),
    };
    let mut location = None;
    let mut offset = 0u64;
    let mut length = None;
    for entry in &t.external_data {
        match entry.key.as_str() {
            "location" => location = Some(entry.value.as_str()),
            "offset" => {
                offset = entry
                    .value
                    .parse()
                    .map_err(|_| err(format!("bad offset '{}'", entry.value)))?
            }
            "length" => {
                length = Some(
                    entry
                        .value
                        .parse::<u64>()
                        .map_err(|_| err(format!("bad length '{}'", entry.value)))?,
                )
            }
            _ => {}
        }
    }
    let location = location.ok_or_else(|| err("no 'location' key".into()))?;
    let base = base_dir.ok_or_else(|| {
        err(format!(
            "location '{location}' cannot be resolved: the model was not loaded from a file"
        ))
    })?;
    let guarded = |e: FileError| match e {
        FileError::Io { .. } => err(e.to_string()),
        e => err(format!("location {e}")),
    };
    let path = files::resolve_inside(base, Path::new(location)).map_err(guarded)?;
    let io = |source: std::io::Error| OnnxError::Io {
        path: path.clone(),
        source,
    };
    let mut file = files::open_regular(&path).map_err(guarded)?;
    let size = file.metadata().map_err(io)?.len();
    let length = length.unwrap_or(size.saturating_sub(offset));
    if offset.checked_add(length).is_none_or(|end| end > size) {
        return Err(err(format!(
            "'{}' has {size} bytes, but the tensor wants {length} bytes at offset {offset}",
            path.display()
        )));
    }
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let len = usize::try_from(length).map_err(|_| err(format!("length {length} is too large")))?;
    let mut buf = vec![0u8; len];
    file.read_exact(&mut buf).map_err(io)?;
    Ok(Bytes::from(buf))
}

/// Encodes a tensor with `raw_data` (little-endian), as exporters do.
pub fn tensor_to_proto(name: &str, data: &TensorData) -> TensorProto {
    let dims = data.shape().iter().map(|&d| d as i64).collect();
    let raw: Vec<u8> = match data {
        TensorData::F32(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        TensorData::I64(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        TensorData::I32(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        TensorData::I8(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        TensorData::U8(a) => a.iter().copied().collect(),
        TensorData::Bool(a) => a.iter().map(|&v| u8::from(v)).collect(),
    };
    TensorProto {
        name: name.to_string(),
        dims,
        data_type: data.dtype().code(),
        raw_data: Bytes::from(raw),
        ..Default::default()
    }
}
