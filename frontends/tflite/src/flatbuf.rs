//! Minimal, bounds-checked FlatBuffers wire-format reader.
//!
//! TFLite models are FlatBuffers. Rather than depending on generated code, this
//! module implements the handful of wire-format primitives the typed schema
//! layer ([`crate::schema`]) needs: tables located through vtables, scalar
//! fields with defaults, offsets to sub-tables, vectors and strings. Every read
//! is checked against the buffer length, so corrupt or truncated input yields a
//! [`FlatbufferError`] naming the table, the field and the byte offset instead
//! of a panic.

use thiserror::Error;

/// A malformed-flatbuffer error: which table/field was being read, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed TFLite flatbuffer: {table}.{field} at byte offset {offset}: {problem}")]
pub struct FlatbufferError {
    /// Schema table being decoded (e.g. `Tensor`).
    pub table: &'static str,
    /// Field of that table (e.g. `shape`), or `<table>` for the table header.
    pub field: &'static str,
    /// Byte offset in the file where the bad read happened.
    pub offset: usize,
    /// What is wrong.
    pub problem: Problem,
}

/// The kind of wire-format violation found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    /// A read extends past the end of the file.
    #[error("needs {need} bytes but the file is only {len} bytes long (file truncated or offset corrupt)")]
    OutOfBounds {
        /// Number of bytes the read needs starting at the offset.
        need: usize,
        /// File length.
        len: usize,
    },
    /// The vtable referenced by a table is unusable.
    #[error("its vtable at byte offset {vtable} is invalid: {reason}")]
    BadVtable {
        /// Byte offset of the vtable (may be negative-wrapped garbage clipped to 0).
        vtable: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A string field is not UTF-8.
    #[error("string is not valid UTF-8")]
    BadUtf8,
}

/// Result alias for wire-format reads.
pub type FbResult<T> = Result<T, FlatbufferError>;

/// A little-endian scalar that can appear in a table field or vector.
pub trait Scalar: Copy {
    /// Encoded size in bytes.
    const SIZE: usize;
    /// Decodes from exactly `SIZE` bytes; `None` if the slice has another length.
    fn from_le(bytes: &[u8]) -> Option<Self>;
}

macro_rules! impl_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn from_le(bytes: &[u8]) -> Option<Self> {
                bytes.try_into().ok().map(<$t>::from_le_bytes)
            }
        }
    )*};
}
impl_scalar!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

/// Where a read happens, for error messages.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    table: &'static str,
    field: &'static str,
}

impl Ctx {
    fn err(self, offset: usize, problem: Problem) -> FlatbufferError {
        FlatbufferError {
            table: self.table,
            field: self.field,
            offset,
            problem,
        }
    }

    /// Returns `buf[pos..pos + len]` or an out-of-bounds error.
    fn slice(self, buf: &[u8], pos: usize, len: usize) -> FbResult<&[u8]> {
        pos.checked_add(len)
            .and_then(|end| buf.get(pos..end))
            .ok_or_else(|| {
                self.err(
                    pos,
                    Problem::OutOfBounds {
                        need: len,
                        len: buf.len(),
                    },
                )
            })
    }

    fn scalar<T: Scalar>(self, buf: &[u8], pos: usize) -> FbResult<T> {
        let bytes = self.slice(buf, pos, T::SIZE)?;
        T::from_le(bytes).ok_or_else(|| {
            self.err(
                pos,
                Problem::OutOfBounds {
                    need: T::SIZE,
                    len: buf.len(),
                },
            )
        })
    }

    /// Follows the unsigned forward offset stored at `pos`.
    fn follow(self, buf: &[u8], pos: usize) -> FbResult<usize> {
        let rel: u32 = self.scalar(buf, pos)?;
        let target = pos.saturating_add(rel as usize);
        if target >= buf.len() {
            return Err(self.err(
                pos,
                Problem::OutOfBounds {
                    need: target.saturating_sub(pos).saturating_add(1),
                    len: buf.len(),
                },
            ));
        }
        Ok(target)
    }
}

/// A FlatBuffers table: a position in the buffer plus its validated vtable.
#[derive(Debug, Clone, Copy)]
pub struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    vtable_len: usize,
    name: &'static str,
}

impl<'a> Table<'a> {
    /// Opens the root table of a buffer (offset stored in its first 4 bytes).
    pub fn root(buf: &'a [u8], name: &'static str) -> FbResult<Self> {
        let ctx = Ctx {
            table: name,
            field: "<root offset>",
        };
        let pos = ctx.follow(buf, 0)?;
        Self::at(buf, pos, name)
    }

    /// Opens the table starting at byte `pos`, validating its vtable.
    fn at(buf: &'a [u8], pos: usize, name: &'static str) -> FbResult<Self> {
        let ctx = Ctx {
            table: name,
            field: "<table>",
        };
        let soffset: i32 = ctx.scalar(buf, pos)?;
        let vtable = i64::try_from(pos).unwrap_or(i64::MAX) - i64::from(soffset);
        let bad = |reason| {
            ctx.err(
                pos,
                Problem::BadVtable {
                    vtable: usize::try_from(vtable).unwrap_or(0),
                    reason,
                },
            )
        };
        let vtable = usize::try_from(vtable).map_err(|_| bad("it lies before the file start"))?;
        let vtable_len = usize::from(ctx.scalar::<u16>(buf, vtable)?);
        let table_len = usize::from(ctx.scalar::<u16>(buf, vtable + 2)?);
        if vtable_len < 4 || vtable_len % 2 != 0 {
            return Err(bad("its length is not an even number >= 4"));
        }
        ctx.slice(buf, vtable, vtable_len)?;
        if table_len < 4 {
            return Err(bad(
                "its table size is smaller than the 4-byte vtable offset",
            ));
        }
        ctx.slice(buf, pos, table_len)?;
        Ok(Self {
            buf,
            pos,
            vtable,
            vtable_len,
            name,
        })
    }

    /// Byte offset of this table in the file.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Schema name of this table.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn ctx(&self, field: &'static str) -> Ctx {
        Ctx {
            table: self.name,
            field,
        }
    }

    /// Absolute position of field `id`, or `None` when the field is absent.
    fn field_pos(&self, id: u16, field: &'static str) -> FbResult<Option<usize>> {
        let slot = 4 + 2 * usize::from(id);
        if slot + 2 > self.vtable_len {
            return Ok(None);
        }
        let voffset: u16 = self.ctx(field).scalar(self.buf, self.vtable + slot)?;
        Ok((voffset != 0).then(|| self.pos + usize::from(voffset)))
    }

    /// Reads scalar field `id`, returning `default` when absent.
    pub fn scalar<T: Scalar>(&self, id: u16, field: &'static str, default: T) -> FbResult<T> {
        match self.field_pos(id, field)? {
            Some(pos) => self.ctx(field).scalar(self.buf, pos),
            None => Ok(default),
        }
    }

    /// Reads a boolean field (`false` when absent unless `default` says otherwise).
    pub fn boolean(&self, id: u16, field: &'static str, default: bool) -> FbResult<bool> {
        Ok(self.scalar::<u8>(id, field, u8::from(default))? != 0)
    }

    /// Byte offset where field `id` is stored (for error messages), or the table offset.
    pub fn field_offset(&self, id: u16, field: &'static str) -> usize {
        self.field_pos(id, field).ok().flatten().unwrap_or(self.pos)
    }

    /// Follows field `id` to a sub-table named `name`.
    pub fn table(
        &self,
        id: u16,
        field: &'static str,
        name: &'static str,
    ) -> FbResult<Option<Table<'a>>> {
        match self.field_pos(id, field)? {
            Some(pos) => {
                let target = self.ctx(field).follow(self.buf, pos)?;
                Table::at(self.buf, target, name).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Follows field `id` to a vector whose elements are `elem_size` bytes.
    pub fn vector(
        &self,
        id: u16,
        field: &'static str,
        elem_size: usize,
    ) -> FbResult<Option<Vector<'a>>> {
        let Some(pos) = self.field_pos(id, field)? else {
            return Ok(None);
        };
        let ctx = self.ctx(field);
        let start = ctx.follow(self.buf, pos)?;
        let len = ctx.scalar::<u32>(self.buf, start)? as usize;
        let bytes = len.saturating_mul(elem_size);
        ctx.slice(self.buf, start + 4, bytes)?;
        Ok(Some(Vector {
            buf: self.buf,
            start: start + 4,
            len,
            elem_size,
            ctx,
        }))
    }

    /// Reads a string field.
    pub fn string(&self, id: u16, field: &'static str) -> FbResult<Option<&'a str>> {
        match self.vector(id, field, 1)? {
            Some(v) => {
                let bytes = v.bytes();
                std::str::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| v.ctx.err(v.start, Problem::BadUtf8))
            }
            None => Ok(None),
        }
    }

    /// Reads a vector of scalars into a `Vec` (empty when absent).
    pub fn scalars<T: Scalar>(&self, id: u16, field: &'static str) -> FbResult<Vec<T>> {
        match self.vector(id, field, T::SIZE)? {
            Some(v) => v.scalars(),
            None => Ok(Vec::new()),
        }
    }

    /// Reads a vector of tables (empty when absent).
    pub fn tables(
        &self,
        id: u16,
        field: &'static str,
        name: &'static str,
    ) -> FbResult<Vec<Table<'a>>> {
        match self.vector(id, field, 4)? {
            Some(v) => (0..v.len).map(|i| v.table(i, name)).collect(),
            None => Ok(Vec::new()),
        }
    }
}

/// A FlatBuffers vector whose whole extent has been bounds-checked.
#[derive(Debug, Clone, Copy)]
pub struct Vector<'a> {
    buf: &'a [u8],
    start: usize,
    len: usize,
    elem_size: usize,
    ctx: Ctx,
}

impl<'a> Vector<'a> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the vector has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Byte offset of the first element.
    pub fn offset(&self) -> usize {
        self.start
    }

    /// The raw element bytes (checked at construction).
    pub fn bytes(&self) -> &'a [u8] {
        let end = self.start + self.len * self.elem_size;
        self.buf.get(self.start..end).unwrap_or_default()
    }

    fn scalars<T: Scalar>(&self) -> FbResult<Vec<T>> {
        (0..self.len)
            .map(|i| self.ctx.scalar(self.buf, self.start + i * T::SIZE))
            .collect()
    }

    fn table(&self, index: usize, name: &'static str) -> FbResult<Table<'a>> {
        let target = self.ctx.follow(self.buf, self.start + index * 4)?;
        Table::at(self.buf, target, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-assembled buffer: root table with an i32 field (id 0 = 7),
    /// field id 1 absent, and a string field (id 2 = "hi").
    fn sample() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&16u32.to_le_bytes()); // root offset -> table at 16
                                                   // vtable at 4: len 10 (3 fields), table len 12, offsets
        b.extend_from_slice(&10u16.to_le_bytes());
        b.extend_from_slice(&12u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes()); // field 0 at +4
        b.extend_from_slice(&0u16.to_le_bytes()); // field 1 absent
        b.extend_from_slice(&8u16.to_le_bytes()); // field 2 at +8
        b.extend_from_slice(&[0, 0]); // pad to 16
        b.extend_from_slice(&12i32.to_le_bytes()); // soffset: 16 - 12 = 4
        b.extend_from_slice(&7i32.to_le_bytes()); // field 0
        b.extend_from_slice(&4u32.to_le_bytes()); // field 2 -> 24 + 4 = 28
        b.extend_from_slice(&2u32.to_le_bytes()); // string len
        b.extend_from_slice(b"hi\0\0");
        b
    }

    #[test]
    fn reads_fields_defaults_and_strings() {
        let buf = sample();
        let t = Table::root(&buf, "T").unwrap();
        assert_eq!(t.scalar::<i32>(0, "a", 0).unwrap(), 7);
        assert_eq!(t.scalar::<i32>(1, "b", 42).unwrap(), 42);
        assert_eq!(t.string(2, "c").unwrap(), Some("hi"));
        assert_eq!(t.scalar::<i32>(9, "beyond vtable", -1).unwrap(), -1);
    }

    #[test]
    fn truncated_string_reports_offset() {
        let mut buf = sample();
        buf.truncate(33);
        let t = Table::root(&buf, "T").unwrap();
        let err = t.string(2, "c").unwrap_err();
        assert_eq!(err.field, "c");
        assert_eq!(err.offset, 32);
        assert_eq!(err.problem, Problem::OutOfBounds { need: 2, len: 33 });
    }

    #[test]
    fn vtable_before_file_start_is_rejected() {
        let mut buf = sample();
        buf[16..20].copy_from_slice(&100i32.to_le_bytes());
        let err = Table::root(&buf, "T").unwrap_err();
        assert_eq!(err.offset, 16);
        assert!(matches!(err.problem, Problem::BadVtable { .. }), "{err}");
    }

    #[test]
    fn huge_vector_length_is_rejected_without_allocating() {
        let mut buf = sample();
        buf[28..32].copy_from_slice(&u32::MAX.to_le_bytes());
        let t = Table::root(&buf, "T").unwrap();
        let err = t.string(2, "c").unwrap_err();
        assert!(matches!(err.problem, Problem::OutOfBounds { .. }), "{err}");
    }
}
