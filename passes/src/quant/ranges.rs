//! `quant-ranges`: each layer's quantization range (`q_range = [lo, hi]`, what `hl-to-quant`
//! turns into a scale and zero point) from the calibration statistics that `quant-calibrate`
//! recorded (`calib.range`). Ops that move codes (reshape, maxpool, …) get no range of their
//! own: they keep their input's type. A concat's inputs share one range, the union of theirs
//! and the concat's, so the concat itself moves codes (quantization.md §9).
//!
//! With `quant-split-activations` and `quant-calibrate` before it, this is everything
//! `hl-to-quant` needs for the default a8_w8 quantization (8-bit activations, 8-bit weights
//! clipped at each channel's max |W|).

use super::calibrate::RANGE;
use super::groups::{moves_codes, source};
use hailo_dialect_hl::interfaces::is_hl;
use hailo_dialect_hl::{Concat, Const};
use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId};
use rustc_hash::FxHashMap;

pub struct Ranges(NoOptions);

impl PassDef for Ranges {
    const NAME: &'static str = "quant-ranges";
    const SUMMARY: &'static str =
        "Set each layer's q_range from its calib.range (concat inputs share one range)";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        Ranges(o)
    }
    fn options(&self) -> &NoOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let ops = layer_ops(m, graph);
        let mut ranges = FxHashMap::default();
        for &op in &ops {
            let results = m.op(op).results().len();
            let range = m.attr(op, RANGE).and_then(Attribute::as_f64_array);
            match range.as_deref() {
                Some(&[lo, hi]) if results == 1 => {
                    ranges.insert(op, (lo, hi));
                }
                // A multi-result op (split) moves codes: its per-result ranges are not a type.
                Some(v) if results > 1 && v.len() == 2 * results => {}
                Some(_) => {
                    let msg = format!(
                        "'{RANGE}' must hold [min, max] for each of the {results} result(s)"
                    );
                    return Err(cx.fail_at(m, op, msg));
                }
                None => {}
            }
        }
        let missing = ops
            .iter()
            .find(|&&op| !moves_codes(m, op) && !ranges.contains_key(&op) && needs_range(m, op));
        if let Some(&op) = missing {
            let msg = format!("layer has no '{RANGE}'; run quant-calibrate first");
            return Err(cx.fail_at(m, op, msg));
        }
        let set = write_ranges(m, &ops, ranges);
        cx.stat("ranges", "Layers given a q_range", set as u64);
        Ok(Preserved::All)
    }
}

/// The `hl` ops of `graph` that are layers (everything but constants), in block order.
pub fn layer_ops(m: &Module, graph: OpId) -> Vec<OpId> {
    m.walk(graph)
        .into_iter()
        .filter(|&o| is_hl(m, o) && Const::cast(m, o).is_none())
        .collect()
}

/// Whether `op` must have a range: it produces a result of its own (not a concat, whose
/// range can come from its inputs alone).
fn needs_range(m: &Module, op: OpId) -> bool {
    Concat::cast(m, op).is_none()
}

/// Writes `q_range` on every op of `ops` that does not move codes, from `ranges` after
/// merging each concat's range with its inputs' (so they share one type); returns how many
/// ops got one.
pub fn write_ranges(
    m: &mut Module,
    ops: &[OpId],
    mut ranges: FxHashMap<OpId, (f64, f64)>,
) -> usize {
    for &op in ops.iter().rev() {
        if Concat::cast(m, op).is_none() {
            continue;
        }
        let producers: Vec<OpId> = (0..m.op(op).operands().len())
            .filter_map(|i| source(m, op, i))
            .collect();
        let mut r = ranges.get(&op).copied().unwrap_or((0.0, 0.0));
        for p in &producers {
            if let Some(pr) = ranges.get(p) {
                r = (r.0.min(pr.0), r.1.max(pr.1));
            }
        }
        for o in producers.iter().chain(std::iter::once(&op)) {
            ranges.insert(*o, r);
        }
    }
    let mut set = 0;
    for &op in ops {
        if moves_codes(m, op) {
            continue;
        }
        if let Some(&(lo, hi)) = ranges.get(&op) {
            m.set_attr(op, "q_range", Attribute::f64_array(&[lo, hi]));
            set += 1;
        }
    }
    set
}
