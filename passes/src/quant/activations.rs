//! The calibration set's activations as an analysis: every value of the float graph on every
//! calibration sample (an executor [`Recording`]), and each layer's output range from them.
//!
//! Data-driven passes that change weights layer by layer (bias correction, reconstruction)
//! need the network's activations again after each change. A pass that changed only some
//! ops' values returns `Preserved::Changed(ops)`, and this analysis brings itself up to date
//! by re-running only those ops and what depends on them: the ops before the first changed
//! layer are not run again. It keeps every value of every sample (about 9 MB per 224×224
//! sample on resnet18), so passes that only need ranges run `quant-calibrate` instead.

use hailo_executor::dataset::CalibrationSet;
use hailo_executor::{Executor, GraphRef, Recording};
use hailo_ir::pass::{Analysis, AnalysisManager};
use hailo_ir::{Attribute, Module, OpId};
use ndarray::{ArrayD, Axis};
use rustc_hash::FxHashSet;
use std::collections::BTreeMap;

/// Samples run at once.
const BATCH: usize = 8;

/// See the module documentation.
pub struct CalibrationActivations {
    /// One recording per batch of the calibration set, or why there is none.
    recordings: Result<Vec<Recording>, String>,
    /// Each layer's output range over the calibration set (`layer_<i>` for result i of a
    /// multi-result op).
    pub ranges: BTreeMap<String, (f32, f32)>,
    /// Ops evaluated by the last computation or update (summed over batches).
    pub evaluated: usize,
}

impl CalibrationActivations {
    /// Why the activations could not be computed, if they could not.
    pub fn error(&self) -> Option<&str> {
        self.recordings.as_ref().err().map(String::as_str)
    }

    /// Runs (`previous`: resumes) every batch of the calibration set on `graph`.
    fn run(
        m: &Module,
        graph: OpId,
        deps: &AnalysisManager,
        previous: Option<(&[Recording], &FxHashSet<OpId>)>,
    ) -> Self {
        let mut evaluated = 0;
        let recordings = (|| {
            let set = deps.resource::<CalibrationSet>().ok_or(
                "the calibration activations need the calibration set (hailo-opt --calib-set)",
            )?;
            let exec = Executor::new(m, GraphRef::Id(graph)).map_err(|e| e.to_string())?;
            let n = set.0.first().map_or(0, |d| d.shape()[0]);
            let mut recordings = Vec::new();
            for (i, start) in (0..n).step_by(BATCH).enumerate() {
                let end = (start + BATCH).min(n);
                let batch: Vec<ArrayD<f32>> = set
                    .0
                    .iter()
                    .map(|d| d.slice_axis(Axis(0), (start..end).into()).to_owned())
                    .collect();
                let recording = match previous {
                    Some((known, stale)) => {
                        let known = known.get(i).ok_or("the calibration set changed")?;
                        let r = exec
                            .run_resumed(&batch, known, stale)
                            .map_err(|e| e.to_string())?;
                        evaluated += r.evaluated;
                        r.recording
                    }
                    None => {
                        let r = exec.run_recorded(&batch).map_err(|e| e.to_string())?;
                        evaluated += r.evaluated;
                        r.recording
                    }
                };
                recordings.push(recording);
            }
            Ok::<_, String>(recordings)
        })();
        let ranges = recordings
            .as_ref()
            .map(|r| layer_ranges(m, graph, r))
            .unwrap_or_default();
        CalibrationActivations {
            recordings,
            ranges,
            evaluated,
        }
    }
}

fn is_constant(m: &Module, op: OpId) -> bool {
    m.op(op).operands().is_empty() && m.attr(op, "value").is_some()
}

/// Each layer's output range over all recordings.
fn layer_ranges(m: &Module, graph: OpId, recordings: &[Recording]) -> BTreeMap<String, (f32, f32)> {
    let mut ranges = BTreeMap::new();
    for op in m.walk(graph) {
        let Some(layer) = m.attr(op, "layer").and_then(Attribute::as_str) else {
            continue;
        };
        let results = m.op(op).results();
        for (i, &v) in results.iter().enumerate() {
            let name = if results.len() > 1 {
                format!("{layer}_{i}")
            } else {
                layer.to_owned()
            };
            for r in recordings {
                let Some(x) = r.value(v) else { continue };
                let (lo, hi) = x
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &y| {
                        (lo.min(y), hi.max(y))
                    });
                let e = ranges.entry(name.clone()).or_insert((lo, hi));
                *e = (e.0.min(lo), e.1.max(hi));
            }
        }
    }
    ranges
}

impl Analysis for CalibrationActivations {
    fn compute(m: &Module, graph: OpId, deps: &mut AnalysisManager) -> Self {
        Self::run(m, graph, deps, None)
    }

    fn update(
        &mut self,
        m: &Module,
        graph: OpId,
        changed: &[OpId],
        deps: &mut AnalysisManager,
    ) -> bool {
        let Ok(known) = &self.recordings else {
            return false;
        };
        // A changed constant is decoded into its readers: they are what runs again.
        let mut stale: FxHashSet<OpId> = FxHashSet::default();
        for &op in changed {
            if !m.is_alive(op) {
                return false;
            }
            if is_constant(m, op) {
                for &v in m.op(op).results() {
                    stale.extend(m.value(v).uses().iter().map(|u| u.op));
                }
            } else {
                stale.insert(op);
            }
        }
        let updated = Self::run(m, graph, deps, Some((known, &stale)));
        if updated.recordings.is_err() {
            return false;
        }
        *self = updated;
        true
    }
}
