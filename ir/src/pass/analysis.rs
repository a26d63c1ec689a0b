//! Analyses computed on demand and cached per (op, analysis type).
//!
//! After a pass runs, cached results survive only if the pass said it
//! preserved them; anything else is recomputed on next request.

use crate::module::{Module, OpId};
use rustc_hash::FxHashMap;
use std::any::{Any, TypeId};

pub trait Analysis: Any {
    fn compute(m: &Module, op: OpId) -> Self;
}

/// What a pass leaves valid.
#[derive(Clone, Debug, PartialEq)]
pub enum Preserved {
    /// The pass changed nothing analyses depend on.
    All,
    /// Drop every cached analysis.
    None,
    /// Keep only these analyses.
    Only(Vec<TypeId>),
}

impl Preserved {
    pub fn only<A: Analysis>() -> Preserved {
        Preserved::Only(vec![TypeId::of::<A>()])
    }
}

#[derive(Default)]
pub struct AnalysisManager {
    cache: FxHashMap<(OpId, TypeId), Box<dyn Any>>,
    computed: u64,
}

impl AnalysisManager {
    pub fn get<A: Analysis>(&mut self, m: &Module, op: OpId) -> &A {
        let key = (op, TypeId::of::<A>());
        if !self.cache.contains_key(&key) {
            self.computed += 1;
            self.cache.insert(key, Box::new(A::compute(m, op)));
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
        match preserved {
            Preserved::All => {}
            Preserved::None => self.cache.clear(),
            Preserved::Only(keep) => self.cache.retain(|(_, t), _| keep.contains(t)),
        }
    }
}
