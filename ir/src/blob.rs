//! The blob store behind `dense_resource<key>` attributes.
//!
//! Weights are reference-counted byte buffers: cloning a module or
//! rewriting an op that points at a blob shares it, never copies it. In the
//! text form blobs appear in a trailing `{-# dialect_resources: ... #-}`
//! section as MLIR does: a hex string whose first four bytes give the
//! alignment (little-endian), followed by the raw little-endian data.

use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub struct Blob {
    pub align: u32,
    pub bytes: Arc<[u8]>,
}

impl Blob {
    pub fn new(align: u32, bytes: Vec<u8>) -> Blob {
        Blob {
            align,
            bytes: bytes.into(),
        }
    }

    pub fn from_f32(values: &[f32]) -> Blob {
        // Sized once: weights are large and a doubling Vec would briefly hold up to 2x.
        let mut bytes = Vec::with_capacity(values.len() * 4);
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        Blob::new(4, bytes)
    }

    /// The bytes read as little-endian f32 (trailing partial elements ignored).
    pub fn to_f32(&self) -> Vec<f32> {
        self.bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    /// MLIR's hex encoding: `0x` + alignment (u32 LE) + data.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut s = String::with_capacity(2 + 2 * (4 + self.bytes.len()));
        s.push_str("0x");
        for b in self.align.to_le_bytes().iter().chain(self.bytes.iter()) {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 15) as usize] as char);
        }
        s
    }

    pub fn from_hex(text: &str) -> Result<Blob, String> {
        let digits = text
            .strip_prefix("0x")
            .ok_or("resource blob must start with `0x`")?;
        if digits.len() % 2 != 0 {
            return Err("resource blob has an odd number of hex digits".into());
        }
        let nibble = |c: u8| -> Result<u8, String> {
            (c as char)
                .to_digit(16)
                .map(|d| d as u8)
                .ok_or_else(|| format!("invalid hex digit `{}`", c as char))
        };
        let raw = digits.as_bytes();
        let mut bytes = Vec::with_capacity(raw.len() / 2);
        for pair in raw.chunks_exact(2) {
            bytes.push(nibble(pair[0])? << 4 | nibble(pair[1])?);
        }
        if bytes.len() < 4 {
            return Err("resource blob is missing its 4-byte alignment prefix".into());
        }
        let align = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        Ok(Blob {
            align,
            bytes: bytes[4..].to_vec().into(),
        })
    }
}

/// Blobs by key, sorted so printing is deterministic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BlobStore {
    blobs: BTreeMap<String, Blob>,
}

impl BlobStore {
    pub fn insert(&mut self, key: &str, blob: Blob) {
        self.blobs.insert(key.to_owned(), blob);
    }
    pub fn get(&self, key: &str) -> Option<&Blob> {
        self.blobs.get(key)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Blob)> {
        self.blobs.iter().map(|(k, v)| (k.as_str(), v))
    }
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }
    pub fn len(&self) -> usize {
        self.blobs.len()
    }
    pub fn remove(&mut self, key: &str) -> Option<Blob> {
        self.blobs.remove(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let b = Blob::from_f32(&[1.0, -2.5]);
        let h = b.to_hex();
        assert!(h.starts_with("0x04000000"));
        assert_eq!(Blob::from_hex(&h).unwrap(), b);
        assert!(Blob::from_hex("0x0400").is_err());
        assert!(Blob::from_hex("0x04000000ZZ").is_err());
    }
}
