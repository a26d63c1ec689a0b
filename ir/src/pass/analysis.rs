//! Analyses computed on demand and cached per (op, analysis type).
//!
//! After a pass runs, cached results survive only if the pass said it
//! preserved them; anything else is recomputed on next request. An analysis
//! may build on others (it asks the manager it is given while computing);
//! the manager records that, so dropping an analysis also drops every
//! analysis computed from it, even one the pass listed as preserved.
//!
//! A pass that only changed some ops' values (weights, attributes; not the graph's
//! structure) says which ([`Preserved::Changed`]): an analysis that can bring itself up
//! to date from those ops on ([`Analysis::update`]) does, instead of being recomputed,
//! the way calibration statistics are re-collected from the first changed layer only.
//! Analyses read the driver's resources (the calibration set) from the manager.

use super::resources::Resources;
use crate::module::{Module, OpId};
use rustc_hash::{FxHashMap, FxHashSet};
use std::any::{Any, TypeId};

pub trait Analysis: Any {
    /// Computes the analysis of `op`; analyses it builds on and the driver's resources come
    /// from `deps`.
    fn compute(m: &Module, op: OpId, deps: &mut AnalysisManager) -> Self;

    /// Brings this result (of `op`) up to date after a pass changed the values of `changed`
    /// ops, not the structure; `false` when it cannot, and is then recomputed on demand.
    fn update(
        &mut self,
        _m: &Module,
        _op: OpId,
        _changed: &[OpId],
        _deps: &mut AnalysisManager,
    ) -> bool {
        false
    }
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
    /// The pass changed the values (weights, attributes) of these ops only, not which ops
    /// exist or how they connect: analyses update themselves or are dropped.
    Changed(Vec<OpId>),
}

impl Preserved {
    pub fn only<A: Analysis>() -> Preserved {
        Preserved::Only(vec![TypeId::of::<A>()])
    }
}

type Key = (OpId, TypeId);

/// [`Analysis::update`] of a cached value whose type is erased.
type Updater = fn(&mut dyn Any, &Module, OpId, &[OpId], &mut AnalysisManager) -> bool;

fn update_erased<A: Analysis>(
    value: &mut dyn Any,
    m: &Module,
    op: OpId,
    changed: &[OpId],
    am: &mut AnalysisManager,
) -> bool {
    value
        .downcast_mut::<A>()
        .is_some_and(|a| a.update(m, op, changed, am))
}

#[derive(Default)]
pub struct AnalysisManager {
    cache: FxHashMap<Key, (Box<dyn Any>, Updater)>,
    /// Cached keys in the order they were computed (an analysis after those it builds on).
    order: Vec<Key>,
    /// Analysis → the analyses computed from it.
    dependents: FxHashMap<Key, Vec<Key>>,
    /// The analyses being computed, innermost last.
    computing: Vec<Key>,
    computed: u64,
    resources: Resources,
}

impl AnalysisManager {
    /// A manager whose analyses can read `resources`.
    pub fn with_resources(resources: Resources) -> AnalysisManager {
        AnalysisManager {
            resources,
            ..AnalysisManager::default()
        }
    }

    /// The driver's resource of type `T`, if it provided one.
    pub fn resource<T: Any>(&self) -> Option<&T> {
        self.resources.get::<T>()
    }

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
            self.cache
                .insert(key, (Box::new(value), update_erased::<A>));
            self.order.push(key);
        }
        self.cache[&key]
            .0
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

    /// Drops (or, for [`Preserved::Changed`], updates) what a pass did not preserve.
    pub fn invalidate(&mut self, m: &Module, preserved: &Preserved) {
        let dropped: Vec<Key> = match preserved {
            Preserved::All => return,
            Preserved::None => {
                self.cache.clear();
                self.order.clear();
                self.dependents.clear();
                return;
            }
            Preserved::Only(keep) => self
                .cache
                .keys()
                .filter(|(_, t)| !keep.contains(t))
                .copied()
                .collect(),
            Preserved::Changed(changed) => return self.update_all(m, changed),
        };
        self.drop_with_dependents(dropped);
    }

    /// Updates every cached analysis in the order they were computed (so one updates after
    /// those it builds on); one that cannot is dropped with everything computed from it.
    fn update_all(&mut self, m: &Module, changed: &[OpId]) {
        for key in self.order.clone() {
            let Some((mut value, updater)) = self.cache.remove(&key) else {
                continue;
            };
            self.computing.push(key);
            let ok = updater(value.as_mut(), m, key.0, changed, self);
            self.computing.pop();
            self.cache.insert(key, (value, updater));
            if !ok {
                self.drop_with_dependents(vec![key]);
            }
        }
    }

    fn drop_with_dependents(&mut self, mut dropped: Vec<Key>) {
        let mut seen: FxHashSet<Key> = dropped.iter().copied().collect();
        while let Some(key) = dropped.pop() {
            self.cache.remove(&key);
            self.order.retain(|k| *k != key);
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
        am.invalidate(
            &m,
            &Preserved::Only(vec![TypeId::of::<Base>(), TypeId::of::<Derived>()]),
        );
        assert!(am.is_cached::<Derived>(top) && am.is_cached::<Base>(top));
        // Keeping only the derived one cannot keep it: what it was computed from is gone.
        am.invalidate(&m, &Preserved::only::<Derived>());
        assert!(!am.is_cached::<Base>(top));
        assert!(!am.is_cached::<Derived>(top));
        // Keeping only the base one keeps it.
        am.get::<Derived>(&m, top);
        am.invalidate(&m, &Preserved::only::<Base>());
        assert!(am.is_cached::<Base>(top));
        assert!(!am.is_cached::<Derived>(top));
    }

    /// Can bring itself up to date: counts the changes it was told about.
    struct Updating(usize);
    impl Analysis for Updating {
        fn compute(_: &Module, _: OpId, _: &mut AnalysisManager) -> Self {
            Updating(0)
        }
        fn update(&mut self, _: &Module, _: OpId, c: &[OpId], _: &mut AnalysisManager) -> bool {
            self.0 += c.len();
            true
        }
    }

    /// Could update itself, but is built on `Base`, which cannot.
    struct OnBase;
    impl Analysis for OnBase {
        fn compute(m: &Module, op: OpId, deps: &mut AnalysisManager) -> Self {
            deps.get::<Base>(m, op);
            OnBase
        }
        fn update(&mut self, _: &Module, _: OpId, _: &[OpId], _: &mut AnalysisManager) -> bool {
            true
        }
    }

    #[test]
    fn changed_ops_update_what_can_update_and_drop_the_rest() {
        let m = Module::new(None);
        let top = m.top();
        let mut am = AnalysisManager::with_resources(Resources::new());
        am.get::<Updating>(&m, top);
        am.get::<OnBase>(&m, top);
        assert_eq!(am.computed(), 3);
        am.invalidate(&m, &Preserved::Changed(vec![top, top]));
        assert!(am.is_cached::<Updating>(top));
        assert!(!am.is_cached::<Base>(top) && !am.is_cached::<OnBase>(top));
        // Served from the cache, updated rather than recomputed.
        assert_eq!(am.get::<Updating>(&m, top).0, 2);
        assert_eq!(am.computed(), 3);
    }
}
