//! Analyses computed on demand and cached per (op, analysis type).
//!
//! After a pass runs, cached results survive only if the pass said it
//! preserved them; anything else is recomputed on next request. An analysis
//! may build on others (it asks the manager it is given while computing);
//! the manager records that, so dropping an analysis also drops every
//! analysis computed from it, even one the pass listed as preserved.

use crate::module::{Module, OpId};
use rustc_hash::{FxHashMap, FxHashSet};
use std::any::{Any, TypeId};

pub trait Analysis: Any {
    /// Computes the analysis of `op`; analyses it builds on come from `deps`.
    fn compute(m: &Module, op: OpId, deps: &mut AnalysisManager) -> Self;
}

/// What a pass leaves valid.
#[derive(Clone, Debug, PartialEq)]
pub enum Preserved {
    /// The pass changed nothing analyses depend on.
    All,
    /// Drop every cached analysis.
    None,
    /// Keep only these analyses (and only while what they were computed from is kept).
    Only(Vec<TypeId>),
}

impl Preserved {
    pub fn only<A: Analysis>() -> Preserved {
        Preserved::Only(vec![TypeId::of::<A>()])
    }
}

type Key = (OpId, TypeId);

#[derive(Default)]
pub struct AnalysisManager {
    cache: FxHashMap<Key, Box<dyn Any>>,
    /// Analysis → the analyses computed from it.
    dependents: FxHashMap<Key, Vec<Key>>,
    /// The analyses being computed, innermost last.
    computing: Vec<Key>,
    computed: u64,
}

impl AnalysisManager {
    pub fn get<A: Analysis>(&mut self, m: &Module, op: OpId) -> &A {
        let key = (op, TypeId::of::<A>());
        if let Some(&parent) = self.computing.last() {
            self.dependents.entry(key).or_default().push(parent);
        }
        if !self.cache.contains_key(&key) {
            self.computed += 1;
            self.computing.push(key);
            let value = A::compute(m, op, self);
            self.computing.pop();
            self.cache.insert(key, Box::new(value));
        }
        self.cache[&key]
            .downcast_ref::<A>()
            .expect("analysis cache holds the keyed type")
    }

    pub fn is_cached<A: Analysis>(&self, op: OpId) -> bool {
        self.cache.contains_key(&(op, TypeId::of::<A>()))
    }

    /// How many analyses were computed (not served from cache) so far.
    pub fn computed(&self) -> u64 {
        self.computed
    }

    pub fn invalidate(&mut self, preserved: &Preserved) {
        let keep = match preserved {
            Preserved::All => return,
            Preserved::None => {
                self.cache.clear();
                self.dependents.clear();
                return;
            }
            Preserved::Only(keep) => keep,
        };
        let mut dropped: Vec<Key> = self
            .cache
            .keys()
            .filter(|(_, t)| !keep.contains(t))
            .copied()
            .collect();
        let mut seen: FxHashSet<Key> = dropped.iter().copied().collect();
        while let Some(key) = dropped.pop() {
            self.cache.remove(&key);
            for dependent in self.dependents.remove(&key).unwrap_or_default() {
                if seen.insert(dependent) {
                    dropped.push(dependent);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Base(usize);
    impl Analysis for Base {
        fn compute(m: &Module, op: OpId, _: &mut AnalysisManager) -> Self {
            Base(m.walk(op).len())
        }
    }

    struct Derived(usize);
    impl Analysis for Derived {
        fn compute(m: &Module, op: OpId, deps: &mut AnalysisManager) -> Self {
            Derived(deps.get::<Base>(m, op).0 * 2)
        }
    }

    #[test]
    fn dropping_an_analysis_drops_what_was_computed_from_it() {
        let m = Module::new(None);
        let top = m.top();
        let mut am = AnalysisManager::default();
        assert_eq!(am.get::<Derived>(&m, top).0, 2);
        assert_eq!(am.computed(), 2);
        // Keeping both keeps both.
        am.invalidate(&Preserved::Only(vec![
            TypeId::of::<Base>(),
            TypeId::of::<Derived>(),
        ]));
        assert!(am.is_cached::<Derived>(top) && am.is_cached::<Base>(top));
        // Keeping only the derived one cannot keep it: what it was computed from is gone.
        am.invalidate(&Preserved::only::<Derived>());
        assert!(!am.is_cached::<Base>(top));
        assert!(!am.is_cached::<Derived>(top));
        // Keeping only the base one keeps it.
        am.get::<Derived>(&m, top);
        am.invalidate(&Preserved::only::<Base>());
        assert!(am.is_cached::<Base>(top));
        assert!(!am.is_cached::<Derived>(top));
    }
}
