//! Strings of string attributes, stored inline when short.
//!
//! Nearly every op of an imported model carries a short unique string
//! (`layer = "conv17"`); keeping strings of up to [`SmallStr::INLINE`] bytes
//! inside the attribute saves a heap allocation and about 32 bytes per op.
//! Longer strings live in a boxed `str`. The type is as big as a `String`.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

#[derive(Clone)]
pub struct SmallStr(Repr);

#[derive(Clone)]
enum Repr {
    /// The first `len` bytes of `bytes` are the string's UTF-8 bytes.
    Inline {
        len: u8,
        bytes: [u8; SmallStr::INLINE],
    },
    Heap(Box<str>),
}

impl SmallStr {
    /// The longest string kept inline.
    pub const INLINE: usize = 22;

    pub fn new(s: &str) -> SmallStr {
        if s.len() > Self::INLINE {
            return SmallStr(Repr::Heap(s.into()));
        }
        let mut bytes = [0; Self::INLINE];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        SmallStr(Repr::Inline {
            len: s.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                let b = &bytes[..usize::from(*len)];
                // SAFETY: `new` copied exactly these bytes from a `str`, and
                // inline strings are never modified afterwards.
                unsafe { std::str::from_utf8_unchecked(b) }
            }
            Repr::Heap(s) => s,
        }
    }
}

impl Deref for SmallStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for SmallStr {
    fn from(s: &str) -> SmallStr {
        SmallStr::new(s)
    }
}

impl From<String> for SmallStr {
    fn from(s: String) -> SmallStr {
        if s.len() > Self::INLINE {
            SmallStr(Repr::Heap(s.into_boxed_str()))
        } else {
            SmallStr::new(&s)
        }
    }
}

impl PartialEq for SmallStr {
    fn eq(&self, o: &Self) -> bool {
        self.as_str() == o.as_str()
    }
}

impl Eq for SmallStr {}

impl Hash for SmallStr {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl fmt::Debug for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_strings_round_trip() {
        let long = "x".repeat(SmallStr::INLINE + 1);
        let edge = "é".repeat(SmallStr::INLINE / 2);
        for s in ["", "conv17", edge.as_str(), long.as_str(), "a\u{0}b"] {
            assert_eq!(SmallStr::new(s).as_str(), s);
            assert_eq!(&*SmallStr::from(s.to_owned()), s);
            assert_eq!(SmallStr::new(s), SmallStr::from(s.to_owned()));
        }
        assert!(matches!(SmallStr::new(&edge).0, Repr::Inline { .. }));
        assert!(matches!(SmallStr::new(&long).0, Repr::Heap(_)));
        assert_eq!(format!("{:?}", SmallStr::new("a\"b")), "\"a\\\"b\"");
        assert_eq!(
            std::mem::size_of::<SmallStr>(),
            std::mem::size_of::<String>()
        );
    }
}
