//! [`NpyArray`]: an n-dimensional array of any supported element type.

use crate::dtype::DType;
use half::f16;
use ndarray::ArrayD;

/// An array read from or to be written to a `.npy` file, in standard (C) layout.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyArray {
    Bool(ArrayD<bool>),
    I8(ArrayD<i8>),
    U8(ArrayD<u8>),
    I16(ArrayD<i16>),
    U16(ArrayD<u16>),
    I32(ArrayD<i32>),
    U32(ArrayD<u32>),
    I64(ArrayD<i64>),
    U64(ArrayD<u64>),
    F16(ArrayD<f16>),
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

/// Runs `$body` with `$a` bound to the inner array of whichever variant `$value` holds.
macro_rules! with_array {
    ($value:expr, $a:ident => $body:expr) => {
        match $value {
            NpyArray::Bool($a) => $body,
            NpyArray::I8($a) => $body,
            NpyArray::U8($a) => $body,
            NpyArray::I16($a) => $body,
            NpyArray::U16($a) => $body,
            NpyArray::I32($a) => $body,
            NpyArray::U32($a) => $body,
            NpyArray::I64($a) => $body,
            NpyArray::U64($a) => $body,
            NpyArray::F16($a) => $body,
            NpyArray::F32($a) => $body,
            NpyArray::F64($a) => $body,
        }
    };
}
pub(crate) use with_array;

/// Lossy conversion of one element to `f32`, as numpy's `astype(np.float32)`.
trait ToF32: Copy {
    fn to_f32(self) -> f32;
}

macro_rules! as_f32 {
    ($($ty:ty),*) => {$(
        impl ToF32 for $ty {
            fn to_f32(self) -> f32 {
                self as f32
            }
        }
    )*};
}
as_f32!(i8, u8, i16, u16, i32, u32, i64, u64, f32, f64);

impl ToF32 for bool {
    fn to_f32(self) -> f32 {
        f32::from(u8::from(self))
    }
}

impl ToF32 for f16 {
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
}

impl NpyArray {
    /// Element type of the array.
    pub fn dtype(&self) -> DType {
        match self {
            NpyArray::Bool(_) => DType::Bool,
            NpyArray::I8(_) => DType::I8,
            NpyArray::U8(_) => DType::U8,
            NpyArray::I16(_) => DType::I16,
            NpyArray::U16(_) => DType::U16,
            NpyArray::I32(_) => DType::I32,
            NpyArray::U32(_) => DType::U32,
            NpyArray::I64(_) => DType::I64,
            NpyArray::U64(_) => DType::U64,
            NpyArray::F16(_) => DType::F16,
            NpyArray::F32(_) => DType::F32,
            NpyArray::F64(_) => DType::F64,
        }
    }

    /// Shape of the array.
    pub fn shape(&self) -> &[usize] {
        with_array!(self, a => a.shape())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_array!(self, a => a.len())
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts to `f32` like numpy's `astype(np.float32)`: integers and `f64` round to the
    /// nearest `f32`, `bool` becomes 0.0/1.0.
    pub fn to_f32(&self) -> ArrayD<f32> {
        with_array!(self, a => a.mapv(ToF32::to_f32))
    }

    /// Borrows the data when the array already is `f32`.
    pub fn as_f32(&self) -> Option<&ArrayD<f32>> {
        match self {
            NpyArray::F32(a) => Some(a),
            _ => None,
        }
    }
}

macro_rules! from_array {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl From<ArrayD<$ty>> for NpyArray {
            fn from(a: ArrayD<$ty>) -> Self {
                NpyArray::$variant(a)
            }
        }
    )*};
}
from_array!(
    bool => Bool, i8 => I8, u8 => U8, i16 => I16, u16 => U16, i32 => I32, u32 => U32,
    i64 => I64, u64 => U64, f16 => F16, f32 => F32, f64 => F64,
);

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    #[test]
    fn to_f32_converts_like_numpy_astype() {
        let b =
            NpyArray::from(ArrayD::from_shape_vec(IxDyn(&[2]), vec![true, false]).expect("shape"));
        assert_eq!(b.to_f32().into_raw_vec_and_offset().0, vec![1.0, 0.0]);
        let i = NpyArray::from(
            ArrayD::from_shape_vec(IxDyn(&[3]), vec![-3i64, 0, 16_777_217]).expect("shape"),
        );
        assert_eq!(
            i.to_f32().into_raw_vec_and_offset().0,
            vec![-3.0, 0.0, 16_777_216.0]
        );
        let h = NpyArray::from(
            ArrayD::from_shape_vec(IxDyn(&[1]), vec![f16::from_f32(0.5)]).expect("shape"),
        );
        assert_eq!(h.to_f32().into_raw_vec_and_offset().0, vec![0.5]);
        assert_eq!(h.dtype(), DType::F16);
        assert_eq!(h.shape(), &[1]);
    }
}
