//! Process-wide string interner for op names, attribute keys and symbols.
//!
//! Interned strings are `Copy` handles compared by integer; the text is
//! leaked once and lives for the process, like rustc's symbols. A global
//! table (behind an `RwLock`) means IR values never need a context to be
//! compared, hashed or printed.

use rustc_hash::FxHashMap;
use std::sync::{OnceLock, RwLock};

/// An interned string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sym(u32);

#[derive(Default)]
struct Table {
    map: FxHashMap<&'static str, u32>,
    strs: Vec<&'static str>,
}

fn table() -> &'static RwLock<Table> {
    static T: OnceLock<RwLock<Table>> = OnceLock::new();
    T.get_or_init(Default::default)
}

impl Sym {
    pub fn new(s: &str) -> Sym {
        if let Some(&i) = table().read().expect("interner poisoned").map.get(s) {
            return Sym(i);
        }
        let mut t = table().write().expect("interner poisoned");
        if let Some(&i) = t.map.get(s) {
            return Sym(i);
        }
        let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
        let i = t.strs.len() as u32;
        t.strs.push(leaked);
        t.map.insert(leaked, i);
        Sym(i)
    }

    pub fn as_str(self) -> &'static str {
        table().read().expect("interner poisoned").strs[self.0 as usize]
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
            std::cmp::Ordering::Equal
        } else {
            self.as_str().cmp(o.as_str())
        }
    }
}

impl From<&str> for Sym {
    fn from(s: &str) -> Sym {
        Sym::new(s)
    }
}
