//! `TensorData`: constant tensors (initializers, `Constant` nodes, folded values) as `ndarray`
//! arrays. Floating-point data of any ONNX width becomes `f32` (what the compiler works in);
//! integer and boolean data keep an integer type because it is mostly shape data.

use ndarray::ArrayD;

/// ONNX `TensorProto.DataType` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataType {
    Float,
    Uint8,
    Int8,
    Uint16,
    Int16,
    Int32,
    Int64,
    String,
    Bool,
    Float16,
    Double,
    Uint32,
    Uint64,
    Bfloat16,
    /// Any other code (complex, 8-bit floats, 4-bit ints, ...), kept for error messages.
    Other(i32),
}

impl DataType {
    /// Maps an ONNX data-type code.
    pub fn from_code(code: i32) -> DataType {
        match code {
            1 => DataType::Float,
            2 => DataType::Uint8,
            3 => DataType::Int8,
            4 => DataType::Uint16,
            5 => DataType::Int16,
            6 => DataType::Int32,
            7 => DataType::Int64,
            8 => DataType::String,
            9 => DataType::Bool,
            10 => DataType::Float16,
            11 => DataType::Double,
            12 => DataType::Uint32,
            13 => DataType::Uint64,
            16 => DataType::Bfloat16,
            other => DataType::Other(other),
        }
    }

    /// The ONNX data-type code.
    pub fn code(self) -> i32 {
        match self {
            DataType::Float => 1,
            DataType::Uint8 => 2,
            DataType::Int8 => 3,
            DataType::Uint16 => 4,
            DataType::Int16 => 5,
            DataType::Int32 => 6,
            DataType::Int64 => 7,
            DataType::String => 8,
            DataType::Bool => 9,
            DataType::Float16 => 10,
            DataType::Double => 11,
            DataType::Uint32 => 12,
            DataType::Uint64 => 13,
            DataType::Bfloat16 => 16,
            DataType::Other(c) => c,
        }
    }

    /// Whether values of this type are floating point.
    pub fn is_float(self) -> bool {
        matches!(
            self,
            DataType::Float | DataType::Float16 | DataType::Double | DataType::Bfloat16
        )
    }
}

/// A constant tensor. Float types (float, float16, bfloat16, double) are stored as `F32`;
/// int64/uint32/uint64 as `I64`; int32/int16/uint16 as `I32`.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(ArrayD<f32>),
    I64(ArrayD<i64>),
    I32(ArrayD<i32>),
    I8(ArrayD<i8>),
    U8(ArrayD<u8>),
    Bool(ArrayD<bool>),
}

/// Applies an expression to the array inside a `TensorData` and rewraps the result in the same
/// variant. `$e` evaluates to an `ArrayD<T>` of the same element type.
macro_rules! map_same {
    ($t:expr, $a:ident => $e:expr) => {
        match $t {
            TensorData::F32($a) => TensorData::F32($e),
            TensorData::I64($a) => TensorData::I64($e),
            TensorData::I32($a) => TensorData::I32($e),
            TensorData::I8($a) => TensorData::I8($e),
            TensorData::U8($a) => TensorData::U8($e),
            TensorData::Bool($a) => TensorData::Bool($e),
        }
    };
}
pub(crate) use map_same;

/// Applies an expression to the array inside a `TensorData`, whatever its element type.
macro_rules! with_array {
    ($t:expr, $a:ident => $e:expr) => {
        match $t {
            TensorData::F32($a) => $e,
            TensorData::I64($a) => $e,
            TensorData::I32($a) => $e,
            TensorData::I8($a) => $e,
            TensorData::U8($a) => $e,
            TensorData::Bool($a) => $e,
        }
    };
}

impl TensorData {
    /// The tensor's shape.
    pub fn shape(&self) -> &[usize] {
        with_array!(self, a => a.shape())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_array!(self, a => a.len())
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The storage type, as an ONNX data type.
    pub fn dtype(&self) -> DataType {
        match self {
            TensorData::F32(_) => DataType::Float,
            TensorData::I64(_) => DataType::Int64,
            TensorData::I32(_) => DataType::Int32,
            TensorData::I8(_) => DataType::Int8,
            TensorData::U8(_) => DataType::Uint8,
            TensorData::Bool(_) => DataType::Bool,
        }
    }

    /// The `f32` array, if this is float data.
    pub fn as_f32(&self) -> Option<&ArrayD<f32>> {
        match self {
            TensorData::F32(a) => Some(a),
            _ => None,
        }
    }

    /// All values converted to `f32`.
    pub fn to_f32(&self) -> ArrayD<f32> {
        match self {
            TensorData::F32(a) => a.clone(),
            TensorData::I64(a) => a.mapv(|v| v as f32),
            TensorData::I32(a) => a.mapv(|v| v as f32),
            TensorData::I8(a) => a.mapv(f32::from),
            TensorData::U8(a) => a.mapv(f32::from),
            TensorData::Bool(a) => a.mapv(|v| if v { 1.0 } else { 0.0 }),
        }
    }

    /// All values converted to `i64` (floats truncate toward zero, saturating).
    pub fn to_i64(&self) -> ArrayD<i64> {
        match self {
            TensorData::F32(a) => a.mapv(|v| v as i64),
            TensorData::I64(a) => a.clone(),
            TensorData::I32(a) => a.mapv(i64::from),
            TensorData::I8(a) => a.mapv(i64::from),
            TensorData::U8(a) => a.mapv(i64::from),
            TensorData::Bool(a) => a.mapv(i64::from),
        }
    }

    /// The values as a flat `i64` list in logical (row-major) order; used for shape data.
    pub fn to_i64_vec(&self) -> Vec<i64> {
        self.to_i64().iter().copied().collect()
    }

    /// A 1-D `i64` tensor.
    pub fn from_i64s(values: Vec<i64>) -> TensorData {
        TensorData::I64(ndarray::Array1::from_vec(values).into_dyn())
    }

    /// Converts to the storage type of ONNX type `to` (as `Cast` does).
    pub fn cast(&self, to: DataType) -> Option<TensorData> {
        Some(match to {
            t if t.is_float() => TensorData::F32(self.to_f32()),
            DataType::Int64 | DataType::Uint32 | DataType::Uint64 => TensorData::I64(self.to_i64()),
            DataType::Int32 | DataType::Int16 | DataType::Uint16 => {
                TensorData::I32(self.to_i64().mapv(|v| v as i32))
            }
            DataType::Int8 => TensorData::I8(self.to_i64().mapv(|v| v as i8)),
            DataType::Uint8 => TensorData::U8(self.to_i64().mapv(|v| v as u8)),
            DataType::Bool => TensorData::Bool(self.to_f32().mapv(|v| v != 0.0)),
            _ => return None,
        })
    }
}
