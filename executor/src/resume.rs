//! Re-running a graph from the first op that changed. Data-driven passes change a few
//! layers' weights and need the network's outputs again (sensitivity analysis quantizes one
//! kernel at a time; bias correction fixes one layer after another): running everything
//! before the changed layer again recomputes values that cannot have changed.
//!
//! [`Executor::run_recorded`] keeps every value a run computes, keyed by IR value;
//! [`Executor::run_resumed`] takes such a recording of the same graph (the plan may come
//! from a module whose ops differ only in attributes and constants) and the ops that changed,
//! and evaluates only those ops and everything downstream of them, reusing the recorded
//! values for the rest. Runs split into the same sub-batches either way, so a resumed run is
//! bit for bit the full run.

use crate::error::{ExecError, Result};
use crate::plan::Executor;
use crate::value::Value;
use hailo_ir::{OpId, ValueId};
use ndarray::ArrayD;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

/// Every value one run computed, per sub-batch. Values are shared: a resumed run's recording
/// holds the values it reused without copying them.
#[derive(Clone, Debug, Default)]
pub struct Recording {
    chunks: Vec<FxHashMap<ValueId, Arc<Value>>>,
}

impl Recording {
    /// How many sub-batches the recorded run took.
    pub fn sub_batches(&self) -> usize {
        self.chunks.len()
    }

    /// The recorded value of `v` (float values; sub-batches joined), if any.
    pub fn value(&self, v: ValueId) -> Option<ArrayD<f32>> {
        let parts: Option<Vec<_>> = self
            .chunks
            .iter()
            .map(|c| match c.get(&v).map(|x| &**x) {
                Some(Value::F32(a)) => Some(a.view()),
                _ => None,
            })
            .collect();
        ndarray::concatenate(ndarray::Axis(0), &parts?).ok()
    }

    /// Replaces the recorded value of `v` by `value` (all samples; split into the recorded
    /// sub-batches): a resumed run whose stale ops read `v` sees `value` instead, as if the
    /// op defining `v` had computed it (noise analysis quantizes one layer's output this
    /// way). False when `v` is not recorded or `value`'s batch differs.
    pub fn replace(&mut self, v: ValueId, value: &ArrayD<f32>) -> bool {
        let sizes: Option<Vec<usize>> = self
            .chunks
            .iter()
            .map(|c| c.get(&v).map(|x| x.shape().first().copied().unwrap_or(0)))
            .collect();
        let Some(sizes) = sizes else { return false };
        if sizes.iter().sum::<usize>() != value.shape().first().copied().unwrap_or(0) {
            return false;
        }
        let mut start = 0;
        for (c, n) in self.chunks.iter_mut().zip(sizes) {
            let part = value.slice_axis(ndarray::Axis(0), (start..start + n).into());
            c.insert(v, Arc::new(Value::F32(part.to_owned())));
            start += n;
        }
        true
    }

    /// The recorded integer codes of `v` (values of a `q` graph; sub-batches joined), if any.
    pub fn codes(&self, v: ValueId) -> Option<ArrayD<i32>> {
        let parts: Option<Vec<_>> = self
            .chunks
            .iter()
            .map(|c| match c.get(&v).map(|x| &**x) {
                Some(Value::I32(a)) => Some(a.view()),
                _ => None,
            })
            .collect();
        ndarray::concatenate(ndarray::Axis(0), &parts?).ok()
    }
}

/// The outputs of a recorded or resumed run, its recording, and how many ops it evaluated
/// (summed over sub-batches).
#[derive(Debug)]
pub struct Resumed {
    pub outputs: Vec<ArrayD<f32>>,
    pub recording: Recording,
    pub evaluated: usize,
}

/// What one sub-batch's step loop reuses and records.
pub(crate) struct Memo<'a> {
    known: Option<&'a FxHashMap<ValueId, Arc<Value>>>,
    stale: &'a FxHashSet<OpId>,
    /// The op after which the run stops (values after it are not recorded).
    pub(crate) stop: Option<OpId>,
    /// Values recomputed in this run (their readers must be evaluated too).
    fresh: FxHashSet<ValueId>,
    pub(crate) record: FxHashMap<ValueId, Arc<Value>>,
    pub(crate) evaluated: usize,
}

impl<'a> Memo<'a> {
    /// Whether an op can reuse its recorded results when the values `fresh` were recomputed:
    /// it is not stale, reads no fresh value, and every result is recorded.
    pub(crate) fn reusable(
        &self,
        op: OpId,
        operands: &[ValueId],
        results: &[ValueId],
        fresh: &FxHashSet<ValueId>,
    ) -> bool {
        self.known.is_some_and(|known| {
            !self.stale.contains(&op)
                && !operands.iter().any(|v| fresh.contains(v))
                && results.iter().all(|v| known.contains_key(v))
        })
    }

    /// The recorded results of an op that needs no evaluation (see [`Memo::reusable`]),
    /// recorded again (shared, not copied).
    pub(crate) fn reuse(
        &mut self,
        op: OpId,
        operands: &[ValueId],
        results: &[ValueId],
    ) -> Option<Vec<Arc<Value>>> {
        if !self.reusable(op, operands, results, &self.fresh) {
            return None;
        }
        let known = self.known?;
        let shared: Vec<Arc<Value>> = results.iter().map(|v| known[v].clone()).collect();
        for (v, x) in results.iter().zip(&shared) {
            self.record.insert(*v, x.clone());
        }
        Some(shared)
    }

    /// Records the results of an op that ran (its results are fresh).
    pub(crate) fn keep(&mut self, results: &[ValueId], values: &[Value]) {
        self.evaluated += 1;
        self.fresh.extend(results.iter().copied());
        for (v, x) in results.iter().zip(values) {
            self.record.insert(*v, Arc::new(x.clone()));
        }
    }
}

impl Executor {
    /// [`Executor::run`], keeping every value it computes.
    pub fn run_recorded(&self, inputs: &[ArrayD<f32>]) -> Result<Resumed> {
        self.resume(inputs, None, &FxHashSet::default(), None)
    }

    /// [`Executor::run_recorded`] that stops after op `stop`, as
    /// [`Executor::run_resumed_until`] does: a pass that works through the graph layer by
    /// layer (bias correction) records only what precedes its first layer.
    pub fn run_recorded_until(&self, inputs: &[ArrayD<f32>], stop: OpId) -> Result<Resumed> {
        self.resume(inputs, None, &FxHashSet::default(), Some(stop))
    }

    /// [`Executor::run`] after the ops `stale` changed, given the recording of a run of the
    /// same graph on the same `inputs`: evaluates `stale` and what depends on them only.
    /// Constants are decoded into the plan, not evaluated: when one changes, its readers are
    /// the stale ops.
    pub fn run_resumed(
        &self,
        inputs: &[ArrayD<f32>],
        recording: &Recording,
        stale: &FxHashSet<OpId>,
    ) -> Result<Resumed> {
        self.resume(inputs, Some(recording), stale, None)
    }

    /// [`Executor::run_resumed`] that stops after op `stop`: a pass that needs one layer's
    /// input after a change (bias correction) does not run the rest of the graph. The run has
    /// no outputs, and its recording lacks the values after `stop`, so a later resumed run
    /// from it evaluates those ops (and what depends on them) again.
    pub fn run_resumed_until(
        &self,
        inputs: &[ArrayD<f32>],
        recording: &Recording,
        stale: &FxHashSet<OpId>,
        stop: OpId,
    ) -> Result<Resumed> {
        self.resume(inputs, Some(recording), stale, Some(stop))
    }

    fn resume(
        &self,
        inputs: &[ArrayD<f32>],
        recording: Option<&Recording>,
        stale: &FxHashSet<OpId>,
        stop: Option<OpId>,
    ) -> Result<Resumed> {
        let run = |i: usize, sub: &[ArrayD<f32>]| {
            let known = match recording {
                Some(r) => Some(r.chunks.get(i).ok_or_else(|| {
                    ExecError::Graph(format!(
                        "the recording has {} sub-batch(es); this run needs more: \
                         resume on the inputs that were recorded",
                        r.chunks.len()
                    ))
                })?),
                None => None,
            };
            let mut memo = Memo {
                known,
                stale,
                stop,
                fresh: FxHashSet::default(),
                record: FxHashMap::default(),
                evaluated: 0,
            };
            let out = self.execute_memo(sub, &mut memo)?;
            Ok((out, (memo.record, memo.evaluated)))
        };
        let (outputs, extras) = self.run_chunks(inputs, &run)?;
        let evaluated = extras.iter().map(|(_, n)| n).sum();
        let chunks = extras.into_iter().map(|(r, _)| r).collect();
        Ok(Resumed {
            outputs,
            recording: Recording { chunks },
            evaluated,
        })
    }
}
