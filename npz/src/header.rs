//! The `.npy` header: magic, version, and the Python dict literal describing the array.
//!
//! The dict literal (`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`) is parsed
//! with a small recursive-descent parser rather than string matching, so key order, spacing
//! and trailing commas written by any numpy version are accepted, and errors carry the byte
//! offset of the problem within the file.

use crate::dtype::{ByteOrder, DType};
use crate::error::FormatError;

pub(crate) const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The decoded header of a `.npy` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub dtype: DType,
    pub order: ByteOrder,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    /// Offset of the first data byte.
    pub data_offset: usize,
}

fn need<'a>(
    bytes: &'a [u8],
    what: &'static str,
    offset: usize,
    len: usize,
) -> Result<&'a [u8], FormatError> {
    bytes
        .get(offset..offset + len)
        .ok_or(FormatError::Truncated {
            what,
            offset,
            needed: len,
            available: bytes.len().saturating_sub(offset),
        })
}

/// Parses the preamble and header dict of a `.npy` document.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header, FormatError> {
    if need(bytes, "magic", 0, 6)? != MAGIC {
        return Err(FormatError::BadMagic);
    }
    let version = need(bytes, "version", 6, 2)?;
    let (major, minor) = (version[0], version[1]);
    let (len_size, start) = match (major, minor) {
        (1, 0) => (2, 10),
        (2, 0) | (3, 0) => (4, 12),
        _ => return Err(FormatError::UnsupportedVersion(major, minor)),
    };
    let len_bytes = need(bytes, "header length", 8, len_size)?;
    let header_len = len_bytes
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    let raw = need(bytes, "header", start, header_len)?;
    let text = if major == 3 {
        std::str::from_utf8(raw).map_err(|e| FormatError::BadHeader {
            offset: start + e.valid_up_to(),
            message: "header is not valid UTF-8".into(),
        })?
    } else {
        std::str::from_utf8(raw)
            .ok()
            .filter(|t| t.is_ascii())
            .ok_or_else(|| FormatError::BadHeader {
                offset: start + raw.iter().position(|b| !b.is_ascii()).unwrap_or(0),
                message: "header of a version 1.0/2.0 file must be ASCII".into(),
            })?
    };
    let dict = DictParser {
        text,
        pos: 0,
        base: start,
    }
    .parse()?;
    Ok(Header {
        dtype: dict.dtype,
        order: dict.order,
        fortran_order: dict.fortran_order,
        shape: dict.shape,
        data_offset: start + header_len,
    })
}

/// Serialises a header for little-endian C-order data, padded so the data starts on a
/// 64-byte boundary as numpy does.
pub(crate) fn write_header(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        dtype.descr(),
        shape_text
    );
    let pad_to = |prefix: usize| {
        let unpadded = prefix + dict.len() + 1;
        unpadded.div_ceil(64) * 64 - prefix
    };
    let (version, prefix) = if pad_to(10) <= usize::from(u16::MAX) {
        (1u8, 10)
    } else {
        (2u8, 12)
    };
    let header_len = pad_to(prefix);
    let mut out = Vec::with_capacity(prefix + header_len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(prefix + header_len - 1, b' ');
    out.push(b'\n');
    out
}

/// A Python literal as it can appear in a header dict.
#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    Int(usize),
    Seq(Vec<Value>),
}

struct ParsedDict {
    dtype: DType,
    order: ByteOrder,
    fortran_order: bool,
    shape: Vec<usize>,
}

struct DictParser<'a> {
    text: &'a str,
    pos: usize,
    /// File offset of `text[0]`, for error messages.
    base: usize,
}

impl DictParser<'_> {
    fn error(&self, message: impl Into<String>) -> FormatError {
        FormatError::BadHeader {
            offset: self.base + self.pos,
            message: message.into(),
        }
    }

    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.text[self.pos..].chars().next()
    }

    fn expect(&mut self, c: char) -> Result<(), FormatError> {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.error(format!("expected '{c}'")))
        }
    }

    fn parse(mut self) -> Result<ParsedDict, FormatError> {
        self.expect('{')?;
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        while self.peek() != Some('}') {
            let key_pos = self.pos;
            let key = match self.value()? {
                Value::Str(key) => key,
                _ => return Err(self.error("dict keys must be strings")),
            };
            self.expect(':')?;
            self.skip_ws();
            let value_pos = self.pos;
            let value = self.value()?;
            let slot = match key.as_str() {
                "descr" => &mut descr,
                "fortran_order" => &mut fortran,
                "shape" => &mut shape,
                _ => {
                    self.pos = key_pos;
                    return Err(self.error(format!("unexpected key '{key}'")));
                }
            };
            if slot.replace((value, value_pos)).is_some() {
                self.pos = key_pos;
                return Err(self.error(format!("key '{key}' appears twice")));
            }
            if self.peek() == Some(',') {
                self.pos += 1;
            } else if self.peek() != Some('}') {
                return Err(self.error("expected ',' or '}'"));
            }
        }
        self.pos += 1;
        if self.peek().is_some() {
            return Err(self.error("unexpected text after the header dict"));
        }
        let missing = |key: &str| self.error(format!("missing key '{key}'"));
        let (descr, _) = descr.ok_or_else(|| missing("descr"))?;
        let (fortran, fortran_pos) = fortran.ok_or_else(|| missing("fortran_order"))?;
        let (shape, shape_pos) = shape.ok_or_else(|| missing("shape"))?;
        let (dtype, order) = match descr {
            Value::Str(s) => DType::parse_descr(&s)?,
            other => return Err(FormatError::UnsupportedDtype(format!("{other:?}"))),
        };
        let fortran_order = match fortran {
            Value::Bool(b) => b,
            _ => {
                self.pos = fortran_pos;
                return Err(self.error("'fortran_order' must be True or False"));
            }
        };
        let shape = match shape {
            Value::Seq(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::Int(n) => Some(n),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>(),
            _ => None,
        };
        let shape = shape.ok_or_else(|| {
            self.pos = shape_pos;
            self.error("'shape' must be a tuple of non-negative integers")
        })?;
        Ok(ParsedDict {
            dtype,
            order,
            fortran_order,
            shape,
        })
    }

    fn value(&mut self) -> Result<Value, FormatError> {
        match self.peek() {
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                let rest = &self.text[self.pos..];
                let end = rest
                    .find(q)
                    .ok_or_else(|| self.error("unterminated string"))?;
                self.pos += end + 1;
                Ok(Value::Str(rest[..end].to_string()))
            }
            Some(open @ ('(' | '[')) => {
                let close = if open == '(' { ')' } else { ']' };
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek() != Some(close) {
                    items.push(self.value()?);
                    if self.peek() == Some(',') {
                        self.pos += 1;
                    } else if self.peek() != Some(close) {
                        return Err(self.error(format!("expected ',' or '{close}'")));
                    }
                }
                self.pos += 1;
                Ok(Value::Seq(items))
            }
            Some(c) if c.is_ascii_digit() => {
                let rest = &self.text[self.pos..];
                let len = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                let n = rest[..len]
                    .parse()
                    .map_err(|_| self.error("integer out of range"))?;
                self.pos += len;
                // Python 2 wrote long integers with an `L` suffix.
                if self.text[self.pos..].starts_with('L') {
                    self.pos += 1;
                }
                Ok(Value::Int(n))
            }
            _ => {
                for (word, value) in [("True", true), ("False", false)] {
                    if self.text[self.pos..].starts_with(word) {
                        self.pos += word.len();
                        return Ok(Value::Bool(value));
                    }
                }
                Err(self.error("expected a string, tuple, integer, True or False"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy_v1(dict: &str) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out
    }

    #[test]
    fn parses_numpy_style_header() {
        let dict = "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }   \n";
        let h = parse_header(&npy_v1(dict)).expect("valid header");
        assert_eq!(h.dtype, DType::I16);
        assert_eq!(h.order, ByteOrder::Big);
        assert!(h.fortran_order);
        assert_eq!(h.shape, vec![2, 3]);
        assert_eq!(h.data_offset, 10 + dict.len());
    }

    #[test]
    fn accepts_any_key_order_scalars_and_long_suffix() {
        let h = parse_header(&npy_v1(
            "{\"shape\": (), \"fortran_order\": False, \"descr\": \"|u1\"}",
        ))
        .expect("valid");
        assert_eq!(h.shape, Vec::<usize>::new());
        let h = parse_header(&npy_v1(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,)}",
        ))
        .expect("valid");
        assert_eq!(h.shape, vec![3]);
    }

    #[test]
    fn reports_offsets_of_errors() {
        let err = parse_header(&npy_v1("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}"))
            .expect_err("bad bool");
        assert_eq!(
            err,
            FormatError::BadHeader {
                offset: 10 + 34,
                message: "'fortran_order' must be True or False".into()
            }
        );
        let err = parse_header(&npy_v1("{'descr': '<f4', 'shape': ()}")).expect_err("missing");
        assert!(
            matches!(err, FormatError::BadHeader { ref message, .. } if message == "missing key 'fortran_order'")
        );
        let err = parse_header(&npy_v1(
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}",
        ))
        .expect_err("structured");
        assert!(matches!(err, FormatError::UnsupportedDtype(_)));
    }

    #[test]
    fn rejects_bad_magic_version_and_truncation() {
        assert_eq!(
            parse_header(b"PK\x03\x04abcdef"),
            Err(FormatError::BadMagic)
        );
        let mut v4 = npy_v1("{}");
        v4[6] = 4;
        assert_eq!(
            parse_header(&v4),
            Err(FormatError::UnsupportedVersion(4, 0))
        );
        let mut short = npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': ()}");
        short.truncate(20);
        assert!(matches!(
            parse_header(&short),
            Err(FormatError::Truncated {
                what: "header",
                offset: 10,
                ..
            })
        ));
    }

    #[test]
    fn written_header_is_aligned_and_parses_back() {
        for shape in [vec![], vec![7], vec![2, 3, 4]] {
            let bytes = write_header(DType::F32, &shape);
            assert_eq!(bytes.len() % 64, 0);
            assert_eq!(bytes.last(), Some(&b'\n'));
            let h = parse_header(&bytes).expect("own header parses");
            assert_eq!(
                (h.dtype, h.shape, h.data_offset),
                (DType::F32, shape, bytes.len())
            );
        }
        let huge: Vec<usize> = vec![1; 30_000];
        let bytes = write_header(DType::U8, &huge);
        assert_eq!(bytes[6], 2, "header over 64 KiB switches to version 2.0");
        assert_eq!(parse_header(&bytes).expect("v2 parses").shape, huge);
    }
}
