//! Generational arenas: the storage of ops, blocks, regions and values.
//!
//! Nodes live in one `Vec` per kind and are addressed by `(index, generation)`
//! handles, so passes mutate the IR through `&mut Module` without any
//! per-node `RefCell`, and a handle to an erased node is detected instead of
//! silently aliasing the slot's next occupant. Generations are never zero,
//! so `Option<Idx<T>>` is as small as the handle itself.

use std::marker::PhantomData;
use std::num::NonZeroU32;

/// A typed handle into an [`Arena`].
pub struct Idx<T> {
    index: u32,
    generation: NonZeroU32,
    _marker: PhantomData<fn() -> T>,
}

impl<T> Idx<T> {
    /// The slot index: stable while the node is alive, useful as a dense key.
    pub fn index(self) -> usize {
        self.index as usize
    }
}

impl<T> Clone for Idx<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Idx<T> {}
impl<T> PartialEq for Idx<T> {
    fn eq(&self, o: &Self) -> bool {
        self.index == o.index && self.generation == o.generation
    }
}
impl<T> Eq for Idx<T> {}
impl<T> std::hash::Hash for Idx<T> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.index.hash(h);
        self.generation.hash(h);
    }
}
impl<T> PartialOrd for Idx<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Idx<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.index, self.generation).cmp(&(o.index, o.generation))
    }
}
impl<T> std::fmt::Debug for Idx<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

/// Slots and their generations in two vectors (struct of arrays), so a
/// slot costs `size_of::<Option<T>>() + 4` bytes with no padding.
#[derive(Clone)]
pub struct Arena<T> {
    slots: Vec<Option<T>>,
    generations: Vec<NonZeroU32>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena {
            slots: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Arena<T> {
    pub fn with_capacity(n: usize) -> Self {
        Arena {
            slots: Vec::with_capacity(n),
            generations: Vec::with_capacity(n),
            free: Vec::new(),
            len: 0,
        }
    }

    pub fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        self.generations.reserve(additional);
    }

    pub fn alloc(&mut self, value: T) -> Idx<T> {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            self.slots[index as usize] = Some(value);
            return self.id_at(index);
        }
        let index = u32::try_from(self.slots.len()).expect("arena holds at most u32::MAX nodes");
        self.slots.push(Some(value));
        self.generations.push(NonZeroU32::MIN);
        self.id_at(index)
    }

    /// The handle of the node currently in slot `index` (links between live nodes
    /// store bare indices; this turns them back into handles).
    pub(crate) fn id_at(&self, index: u32) -> Idx<T> {
        Idx {
            index,
            generation: self.generations[index as usize],
            _marker: PhantomData,
        }
    }

    fn is_current(&self, id: Idx<T>) -> bool {
        self.generations.get(id.index as usize) == Some(&id.generation)
    }

    pub fn remove(&mut self, id: Idx<T>) -> Option<T> {
        if !self.is_current(id) {
            return None;
        }
        let value = self.slots[id.index as usize].take()?;
        let g = &mut self.generations[id.index as usize];
        *g = g.checked_add(1).unwrap_or(NonZeroU32::MIN);
        self.free.push(id.index);
        self.len -= 1;
        Some(value)
    }

    pub fn get(&self, id: Idx<T>) -> Option<&T> {
        if self.is_current(id) {
            self.slots[id.index as usize].as_ref()
        } else {
            None
        }
    }

    pub fn get_mut(&mut self, id: Idx<T>) -> Option<&mut T> {
        if self.is_current(id) {
            self.slots[id.index as usize].as_mut()
        } else {
            None
        }
    }

    pub fn contains(&self, id: Idx<T>) -> bool {
        self.get(id).is_some()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> std::ops::Index<Idx<T>> for Arena<T> {
    type Output = T;
    fn index(&self, id: Idx<T>) -> &T {
        self.get(id)
            .unwrap_or_else(|| panic!("use of erased IR node {id:?}"))
    }
}

impl<T> std::ops::IndexMut<Idx<T>> for Arena<T> {
    fn index_mut(&mut self, id: Idx<T>) -> &mut T {
        self.get_mut(id)
            .unwrap_or_else(|| panic!("use of erased IR node {id:?}"))
    }
}

/// A handle that refers to nothing in any arena (generation never issued).
pub(crate) fn placeholder<T>() -> Idx<T> {
    Idx {
        index: u32::MAX,
        generation: NonZeroU32::MAX,
        _marker: PhantomData,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_are_rejected() {
        let mut a = Arena::default();
        let x = a.alloc(1);
        assert_eq!(a.remove(x), Some(1));
        let y = a.alloc(2);
        assert_eq!(x.index(), y.index());
        assert!(a.get(x).is_none());
        assert_eq!(a[y], 2);
        assert_eq!(a.len(), 1);
    }
}
