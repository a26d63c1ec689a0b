//! Decoding and encoding single `.npy` documents, in memory and on disk.

use crate::array::{with_array, NpyArray};
use crate::atomic::write_with;
use crate::dtype::{DType, Element};
use crate::error::{FormatError, NpyError};
use crate::header::{parse_header, write_header, Header};
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use std::io::Write;
use std::path::Path;

/// Decodes a complete `.npy` document.
pub fn decode_npy(bytes: &[u8]) -> Result<NpyArray, FormatError> {
    let header = parse_header(bytes)?;
    let data = &bytes[header.data_offset..];
    Ok(match header.dtype {
        DType::Bool => NpyArray::Bool(decode_data(data, &header)?),
        DType::I8 => NpyArray::I8(decode_data(data, &header)?),
        DType::U8 => NpyArray::U8(decode_data(data, &header)?),
        DType::I16 => NpyArray::I16(decode_data(data, &header)?),
        DType::U16 => NpyArray::U16(decode_data(data, &header)?),
        DType::I32 => NpyArray::I32(decode_data(data, &header)?),
        DType::U32 => NpyArray::U32(decode_data(data, &header)?),
        DType::I64 => NpyArray::I64(decode_data(data, &header)?),
        DType::U64 => NpyArray::U64(decode_data(data, &header)?),
        DType::F16 => NpyArray::F16(decode_data(data, &header)?),
        DType::F32 => NpyArray::F32(decode_data(data, &header)?),
        DType::F64 => NpyArray::F64(decode_data(data, &header)?),
    })
}

fn decode_data<T: Element>(data: &[u8], header: &Header) -> Result<ArrayD<T>, FormatError> {
    let shape = &header.shape;
    let size = T::DTYPE.size();
    let expected = shape
        .iter()
        .try_fold(size, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| FormatError::ShapeOverflow {
            shape: shape.clone(),
        })?;
    if data.len() != expected {
        return Err(FormatError::DataSize {
            shape: shape.clone(),
            dtype: T::DTYPE.name(),
            expected,
            actual: data.len(),
        });
    }
    let values: Vec<T> = data
        .chunks_exact(size)
        .map(|chunk| T::decode(chunk, header.order))
        .collect();
    let size_error = |_| FormatError::DataSize {
        shape: shape.clone(),
        dtype: T::DTYPE.name(),
        expected,
        actual: data.len(),
    };
    if header.fortran_order {
        let array = ArrayD::from_shape_vec(IxDyn(shape).f(), values).map_err(size_error)?;
        Ok(array.as_standard_layout().into_owned())
    } else {
        ArrayD::from_shape_vec(IxDyn(shape), values).map_err(size_error)
    }
}

/// Encodes an array as a little-endian, C-order `.npy` document.
pub fn encode_npy(array: &NpyArray) -> Vec<u8> {
    let mut out = write_header(array.dtype(), array.shape());
    with_array!(array, a => {
        out.reserve(a.len() * array.dtype().size());
        a.iter().for_each(|&v| v.encode(&mut out));
    });
    out
}

/// Reads a `.npy` file.
pub fn read_npy(path: impl AsRef<Path>) -> Result<NpyArray, NpyError> {
    let path = path.as_ref();
    let bytes = hailo_guard::files::read_regular(path)?;
    decode_npy(&bytes).map_err(|source| NpyError::Format {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a `.npy` file atomically (temporary file + rename).
pub fn write_npy(path: impl AsRef<Path>, array: &NpyArray) -> Result<(), NpyError> {
    let path = path.as_ref();
    let io_err = |source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    };
    write_with(path, io_err, |w| {
        w.write_all(&encode_npy(array)).map_err(io_err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::MAGIC;

    fn raw_npy(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[3, 0]);
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn decodes_big_endian_fortran_order() {
        // 2x3 int16 in Fortran order: columns (1,4), (2,5), (3,6).
        let data: Vec<u8> = [1i16, 4, 2, 5, 3, 6]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let a = decode_npy(&raw_npy(
            "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }",
            &data,
        ))
        .expect("valid");
        let NpyArray::I16(a) = a else {
            panic!("wrong dtype {a:?}")
        };
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(a.as_slice(), Some(&[1i16, 2, 3, 4, 5, 6][..]));
    }

    #[test]
    fn decodes_f16_and_bool() {
        let h: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        let a = decode_npy(&raw_npy(
            "{'descr': '<f2', 'fortran_order': False, 'shape': (2,)}",
            &h,
        ))
        .expect("valid");
        assert_eq!(a.to_f32().into_raw_vec_and_offset().0, vec![1.5, -2.0]);
        let b = decode_npy(&raw_npy(
            "{'descr': '|b1', 'fortran_order': False, 'shape': (3,)}",
            &[1, 0, 1],
        ))
        .expect("valid");
        assert_eq!(b.dtype(), DType::Bool);
        assert_eq!(b.to_f32().into_raw_vec_and_offset().0, vec![1.0, 0.0, 1.0]);
    }

    #[test]
    fn rejects_wrong_data_size() {
        let err = decode_npy(&raw_npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)}",
            &[0; 12],
        ))
        .expect_err("short data");
        assert_eq!(
            err,
            FormatError::DataSize {
                shape: vec![2, 2],
                dtype: "float32",
                expected: 16,
                actual: 12
            }
        );
        let err = decode_npy(&raw_npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
            &[],
        ))
        .expect_err("overflow");
        assert!(matches!(err, FormatError::ShapeOverflow { .. }));
    }
}
