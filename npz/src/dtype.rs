//! Element types of `.npy` data and their on-disk encodings.
//!
//! Exists to map numpy `descr` strings (`'<f4'`, `'|b1'`, ...) to Rust element types and to
//! decode/encode the raw bytes of each element in either byte order.

use crate::error::FormatError;

/// Element type of an array, named like numpy's dtypes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    Bool,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F16,
    F32,
    F64,
}

/// Byte order of the data section of a `.npy` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    Little,
    Big,
}

impl DType {
    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 | DType::F16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }

    /// numpy's name for the type (`"float32"`, `"bool"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::U8 => "uint8",
            DType::I16 => "int16",
            DType::U16 => "uint16",
            DType::I32 => "int32",
            DType::U32 => "uint32",
            DType::I64 => "int64",
            DType::U64 => "uint64",
            DType::F16 => "float16",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Kind letter and size of the numpy type string, e.g. `('f', 4)`.
    fn kind_and_size(self) -> (char, usize) {
        let kind = match self {
            DType::Bool => 'b',
            DType::I8 | DType::I16 | DType::I32 | DType::I64 => 'i',
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => 'u',
            DType::F16 | DType::F32 | DType::F64 => 'f',
        };
        (kind, self.size())
    }

    /// The little-endian `descr` string written by [`crate::encode_npy`].
    pub(crate) fn descr(self) -> String {
        let (kind, size) = self.kind_and_size();
        let order = if size == 1 { '|' } else { '<' };
        format!("{order}{kind}{size}")
    }

    /// Parses a numpy `descr` string such as `'<f4'`, `'>i8'`, `'|u1'` or `'?'`.
    pub(crate) fn parse_descr(descr: &str) -> Result<(DType, ByteOrder), FormatError> {
        let unsupported = || FormatError::UnsupportedDtype(descr.to_string());
        let (order, rest) = match descr.chars().next() {
            Some('<') | Some('=') => (Some(ByteOrder::Little), &descr[1..]),
            Some('>') => (Some(ByteOrder::Big), &descr[1..]),
            Some('|') => (None, &descr[1..]),
            _ => (None, descr),
        };
        let dtype = match rest {
            "?" | "b1" => DType::Bool,
            "i1" | "b" => DType::I8,
            "u1" | "B" => DType::U8,
            "i2" => DType::I16,
            "u2" => DType::U16,
            "i4" => DType::I32,
            "u4" => DType::U32,
            "i8" => DType::I64,
            "u8" => DType::U64,
            "f2" | "e" => DType::F16,
            "f4" => DType::F32,
            "f8" => DType::F64,
            _ => return Err(unsupported()),
        };
        // A multi-byte type without a byte-order mark is ambiguous; numpy never writes one.
        let order = match order {
            Some(order) => order,
            None if dtype.size() == 1 => ByteOrder::Little,
            None => return Err(unsupported()),
        };
        Ok((dtype, order))
    }
}

/// An element type that can be stored in a `.npy` file.
pub(crate) trait Element: Copy {
    const DTYPE: DType;
    /// Decodes one element from exactly `DTYPE.size()` bytes.
    fn decode(bytes: &[u8], order: ByteOrder) -> Self;
    /// Appends the little-endian encoding of the element.
    fn encode(self, out: &mut Vec<u8>);
}

macro_rules! numeric_element {
    ($($ty:ty => $dtype:ident),* $(,)?) => {$(
        impl Element for $ty {
            const DTYPE: DType = DType::$dtype;
            fn decode(bytes: &[u8], order: ByteOrder) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$ty>()];
                raw.copy_from_slice(bytes);
                match order {
                    ByteOrder::Little => <$ty>::from_le_bytes(raw),
                    ByteOrder::Big => <$ty>::from_be_bytes(raw),
                }
            }
            fn encode(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

numeric_element!(
    i8 => I8, u8 => U8, i16 => I16, u16 => U16, i32 => I32, u32 => U32,
    i64 => I64, u64 => U64, half::f16 => F16, f32 => F32, f64 => F64,
);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn decode(bytes: &[u8], _order: ByteOrder) -> Self {
        bytes[0] != 0
    }
    fn encode(self, out: &mut Vec<u8>) {
        out.push(u8::from(self));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descr_round_trips_for_every_dtype() {
        for dtype in [
            DType::Bool,
            DType::I8,
            DType::U8,
            DType::I16,
            DType::U16,
            DType::I32,
            DType::U32,
            DType::I64,
            DType::U64,
            DType::F16,
            DType::F32,
            DType::F64,
        ] {
            let (parsed, order) = DType::parse_descr(&dtype.descr()).expect("own descr parses");
            assert_eq!((parsed, order), (dtype, ByteOrder::Little));
        }
    }

    #[test]
    fn descr_rejects_unknown_and_unmarked_multibyte() {
        assert!(DType::parse_descr("<c8").is_err());
        assert!(DType::parse_descr("f4").is_err());
        assert_eq!(
            DType::parse_descr(">f2").expect("valid"),
            (DType::F16, ByteOrder::Big)
        );
    }
}
