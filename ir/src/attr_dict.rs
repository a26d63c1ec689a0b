//! Attribute dictionaries of ops: sorted `(name, value)` entries shared by
//! reference count.
//!
//! A model repeats the same entries on many ops (`strides = [1, 1]`,
//! `padding = "same"`), so an op holds pointers to entries rather than the
//! entries themselves, and an [`AttrUniquer`] (the parser uses one per file)
//! makes equal entries share one allocation, as MLIR uniques attributes.
//! Entries are immutable; setting an attribute swaps the op's pointer.

use crate::attrs::Attribute;
use crate::intern::Sym;
use hashbrown::HashTable;
use smallvec::SmallVec;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

/// One `name = value` entry of a dictionary.
pub type NamedAttr = (Sym, Attribute);

/// The attributes of an op, sorted by name, names unique.
#[derive(Clone, Default, Debug)]
pub struct AttrDict(SmallVec<[Arc<NamedAttr>; 2]>);

impl AttrDict {
    /// A dictionary from entries in any order; a later duplicate name is dropped.
    pub fn from_entries(mut entries: SmallVec<[Arc<NamedAttr>; 2]>) -> AttrDict {
        // Parsed dictionaries are usually sorted already (the printer sorts).
        if !entries.is_sorted_by(|a, b| a.0 < b.0) {
            entries.sort_by_key(|a| a.0);
            entries.dedup_by(|b, a| a.0 == b.0);
        }
        entries.shrink_to_fit();
        AttrDict(entries)
    }

    /// A dictionary from entries known to be sorted by name with unique names.
    pub fn from_sorted_entries(mut entries: SmallVec<[Arc<NamedAttr>; 2]>) -> AttrDict {
        debug_assert!(entries.is_sorted_by(|a, b| a.0 < b.0));
        entries.shrink_to_fit();
        AttrDict(entries)
    }

    /// A dictionary owning fresh (unshared) entries.
    pub fn from_vec(entries: Vec<NamedAttr>) -> AttrDict {
        AttrDict::from_entries(entries.into_iter().map(Arc::new).collect())
    }

    pub fn view(&self) -> Attrs<'_> {
        Attrs(&self.0)
    }

    fn position(&self, key: Sym) -> Result<usize, usize> {
        self.0.binary_search_by(|e| e.0.cmp(&key))
    }

    pub fn get(&self, key: Sym) -> Option<&Attribute> {
        self.0.iter().find(|e| e.0 == key).map(|e| &e.1)
    }

    pub fn set(&mut self, key: Sym, value: Attribute) {
        let entry = Arc::new((key, value));
        match self.position(key) {
            Ok(i) => self.0[i] = entry,
            Err(i) => self.0.insert(i, entry),
        }
    }

    pub fn remove(&mut self, key: Sym) -> Option<Attribute> {
        let i = self.0.iter().position(|e| e.0 == key)?;
        let entry = self.0.remove(i);
        Some(Arc::try_unwrap(entry).map_or_else(|shared| shared.1.clone(), |own| own.1))
    }
}

/// A borrowed view of an op's attributes; iterates as `&(Sym, Attribute)`.
#[derive(Clone, Copy)]
pub struct Attrs<'a>(&'a [Arc<NamedAttr>]);

impl<'a> Attrs<'a> {
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &'a NamedAttr> + ExactSizeIterator {
        self.0.iter().map(|e| &**e)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The value of `key`, if present.
    pub fn get(&self, key: Sym) -> Option<&'a Attribute> {
        self.iter().find(|e| e.0 == key).map(|e| &e.1)
    }
    /// The entries as an owned list (for building a new op from an old one).
    pub fn to_vec(&self) -> Vec<NamedAttr> {
        self.iter().cloned().collect()
    }
}

impl<'a> IntoIterator for Attrs<'a> {
    type Item = &'a NamedAttr;
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, Arc<NamedAttr>>, fn(&Arc<NamedAttr>) -> &NamedAttr>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|e| &**e)
    }
}

impl PartialEq for Attrs<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.0.len() == o.0.len()
            && self
                .0
                .iter()
                .zip(o.0)
                .all(|(a, b)| Arc::ptr_eq(a, b) || a == b)
    }
}

impl std::fmt::Debug for Attrs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Shares equal entries: [`Self::intern`] returns the first entry equal to
/// the one given (compared structurally, floats by value).
///
/// Entries that no second user has shared are forgotten when the table
/// fills up: in a big model they are nearly all unique (`layer = "conv17"`),
/// and remembering one per op would cost more than the duplicate made when
/// such an entry does recur later (it is shared from then on).
pub struct AttrUniquer {
    table: HashTable<Arc<NamedAttr>>,
    /// The size at which single-user entries are dropped; doubles when the
    /// shared entries alone fill half of it.
    limit: usize,
}

impl Default for AttrUniquer {
    fn default() -> Self {
        AttrUniquer {
            table: HashTable::new(),
            limit: 4096,
        }
    }
}

fn entry_hash(e: &NamedAttr) -> u64 {
    let mut h = rustc_hash::FxBuildHasher.build_hasher();
    h.write_u32(e.0.id());
    e.1.hash_into(&mut h);
    h.finish()
}

impl AttrUniquer {
    pub fn intern(&mut self, entry: NamedAttr) -> Arc<NamedAttr> {
        self.find_or_insert(entry).0
    }

    /// [`Self::intern`], also telling whether an equal entry was already there.
    pub fn find_or_insert(&mut self, entry: NamedAttr) -> (Arc<NamedAttr>, bool) {
        let hash = entry_hash(&entry);
        if let Some(found) = self.table.find(hash, |e| **e == entry) {
            return (found.clone(), true);
        }
        if self.table.len() >= self.limit {
            // One count is the table's own: 2 means a single user.
            self.table.retain(|e| Arc::strong_count(e) > 2);
            if self.table.len() >= self.limit / 2 {
                self.limit *= 2;
            }
        }
        let shared = Arc::new(entry);
        self.table
            .insert_unique(hash, shared.clone(), |e| entry_hash(e));
        (shared, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(k: &str, v: Attribute) -> NamedAttr {
        (Sym::new(k), v)
    }

    #[test]
    fn uniquer_shares_equal_entries_only() {
        let mut u = AttrUniquer::default();
        let a = u.intern(entry("strides", Attribute::i64_array(&[1, 1])));
        let b = u.intern(entry("strides", Attribute::i64_array(&[1, 1])));
        let c = u.intern(entry("strides", Attribute::i64_array(&[2, 2])));
        let d = u.intern(entry("dilations", Attribute::i64_array(&[1, 1])));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(!Arc::ptr_eq(&a, &d));
        assert_eq!(c.1.as_i64_array(), Some(vec![2, 2]));
    }

    #[test]
    fn full_uniquer_forgets_unshared_entries_only() {
        let mut u = AttrUniquer::default();
        let limit = u.limit;
        let kept = u.intern(entry("strides", Attribute::i64_array(&[1, 1])));
        let user = u.intern(entry("strides", Attribute::i64_array(&[1, 1])));
        let first = u.intern(entry("layer", Attribute::str("conv0")));
        let _users: Vec<_> = (1..limit - 1)
            .map(|i| u.intern(entry("layer", Attribute::str(&format!("conv{i}")))))
            .collect();
        assert_eq!(u.table.len(), limit);
        // The next entry finds the table full: only the shared entry survives.
        let last = u.intern(entry("layer", Attribute::str("last")));
        assert_eq!(u.table.len(), 2);
        assert_eq!(u.limit, limit);
        assert!(Arc::ptr_eq(
            &kept,
            &u.intern(entry("strides", Attribute::i64_array(&[1, 1])))
        ));
        assert!(Arc::ptr_eq(
            &last,
            &u.intern(entry("layer", Attribute::str("last")))
        ));
        let again = u.intern(entry("layer", Attribute::str("conv0")));
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(first, again);
        drop(user);
    }

    #[test]
    fn dictionaries_are_sorted_and_keep_the_first_duplicate() {
        let d = AttrDict::from_vec(vec![
            entry("b", Attribute::i64(1)),
            entry("a", Attribute::str("x")),
            entry("b", Attribute::i64(2)),
        ]);
        let keys: Vec<&str> = d.view().iter().map(|e| e.0.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(d.get(Sym::new("b")), Some(&Attribute::i64(1)));
    }

    #[test]
    fn set_and_remove_do_not_touch_shared_entries() {
        let mut u = AttrUniquer::default();
        let shared = u.intern(entry("k", Attribute::i64(7)));
        let mut d = AttrDict::from_entries(smallvec::smallvec![shared.clone()]);
        let other = AttrDict::from_entries(smallvec::smallvec![shared.clone()]);
        assert_eq!(d.view(), other.view());
        d.set(Sym::new("k"), Attribute::i64(8));
        d.set(Sym::new("a"), Attribute::Unit);
        assert_eq!(shared.1, Attribute::i64(7));
        assert_ne!(d.view(), other.view());
        assert_eq!(d.remove(Sym::new("k")), Some(Attribute::i64(8)));
        assert_eq!(d.view().to_vec(), vec![entry("a", Attribute::Unit)]);
        let mut s = other.clone();
        assert_eq!(s.remove(Sym::new("k")), Some(Attribute::i64(7)));
        assert!(s.view().is_empty());
        assert_eq!(other.view().len(), 1);
    }
}
