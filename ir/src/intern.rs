//! Process-wide string interner for op names, attribute keys and symbols.
//!
//! Interned strings are `Copy` handles compared by integer; the text is
//! leaked once (packed into shared chunks) and lives for the process, like
//! rustc's symbols. A global table (behind an `RwLock`) means IR values never
//! need a context to be compared, hashed or printed. Big models intern one
//! name per layer, so the table is compact: a hash index of `u32`s and
//! paged text slices.

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::{OnceLock, RwLock};

/// An interned string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sym(u32);

/// Interned text is copied into leaked chunks of this size (longer strings
/// get their own allocation), so interning costs no allocation per string.
const CHUNK: usize = 64 * 1024;

/// Texts by symbol index, in fixed-size pages: no reallocation, no spare capacity beyond one page.
const PAGE: usize = 4096;

#[derive(Default)]
struct Table {
    /// Symbol indices, hashed by their text.
    index: HashTable<u32>,
    pages: Vec<Vec<&'static str>>,
    len: u32,
    /// The unused tail of the current chunk.
    spare: &'static mut [u8],
}

impl Table {
    fn find(&self, hash: u64, s: &str) -> Option<Sym> {
        self.index
            .find(hash, |&i| self.text(i) == s)
            .map(|&i| Sym(i))
    }

    fn text(&self, i: u32) -> &'static str {
        let i = i as usize;
        self.pages[i / PAGE][i % PAGE]
    }

    fn push(&mut self, text: &'static str) -> u32 {
        if self.pages.last().is_none_or(|p| p.len() == PAGE) {
            self.pages.push(Vec::with_capacity(PAGE));
        }
        self.pages
            .last_mut()
            .expect("a page was just ensured")
            .push(text);
        let i = self.len;
        self.len = i.checked_add(1).expect("at most u32::MAX symbols");
        i
    }

    fn store(&mut self, s: &str) -> &'static str {
        let len = s.len();
        let buf: &'static mut [u8] = if len > CHUNK / 16 {
            Box::leak(vec![0; len].into_boxed_slice())
        } else {
            if self.spare.len() < len {
                self.spare = Box::leak(vec![0; CHUNK].into_boxed_slice());
            }
            let (piece, rest) = std::mem::take(&mut self.spare).split_at_mut(len);
            self.spare = rest;
            piece
        };
        buf.copy_from_slice(s.as_bytes());
        // SAFETY: `buf` holds exactly the bytes of `s`, which is valid UTF-8
        // (validating again cost a fifth of interning a layer name).
        unsafe { std::str::from_utf8_unchecked(buf) }
    }
}

fn table() -> &'static RwLock<Table> {
    static T: OnceLock<RwLock<Table>> = OnceLock::new();
    T.get_or_init(Default::default)
}

fn hash_str(s: &str) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(s)
}

impl Sym {
    pub fn new(s: &str) -> Sym {
        let hash = hash_str(s);
        if let Some(sym) = table().read().expect("interner poisoned").find(hash, s) {
            return sym;
        }
        let mut t = table().write().expect("interner poisoned");
        let Table {
            index, pages, len, ..
        } = &mut *t;
        let text = |j: u32| pages[j as usize / PAGE][j as usize % PAGE];
        // Another thread may have added `s` between the two locks.
        let slot = match index.entry(hash, |&j| text(j) == s, |&j| hash_str(text(j))) {
            Entry::Occupied(found) => return Sym(*found.get()),
            Entry::Vacant(slot) => slot,
        };
        slot.insert(*len);
        let stored = t.store(s);
        Sym(t.push(stored))
    }

    /// The interning index: dense, in first-interned order (a hash key).
    pub fn id(self) -> u32 {
        self.0
    }

    pub fn as_str(self) -> &'static str {
        table().read().expect("interner poisoned").text(self.0)
    }
}

impl std::fmt::Debug for Sym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for Sym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialOrd for Sym {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// Symbols order by their text, so sorted attribute lists print stably.
impl Ord for Sym {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        if self.0 == o.0 {
            return std::cmp::Ordering::Equal;
        }
        let t = table().read().expect("interner poisoned");
        t.text(self.0).cmp(t.text(o.0))
    }
}

impl From<&str> for Sym {
    fn from(s: &str) -> Sym {
        Sym::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_round_trip_across_pages_and_chunks() {
        let long = "x".repeat(CHUNK);
        let names: Vec<String> = (0..PAGE + 10)
            .map(|i| format!("intern_test_{i}"))
            .chain([long, String::new(), "\u{e9}t\u{e9}".to_owned()])
            .collect();
        let syms: Vec<Sym> = names.iter().map(|n| Sym::new(n)).collect();
        for (n, s) in names.iter().zip(&syms) {
            assert_eq!(s.as_str(), n);
            assert_eq!(Sym::new(n), *s);
        }
        assert_ne!(syms[0], syms[1]);
        assert!(Sym::new("intern_test_b") > Sym::new("intern_test_a"));
    }
}
