//! `phys-split-concats`: chains a concat of more than 4 inputs through partial concats, since a
//! concat layer takes at most 4 (DFC guide §5.5.5; no concat in any vendor dump has more,
//! resources doc §7).
//!
//! While a concat has more than 4 inputs, its first 4 are joined by a partial concat on the same
//! axis, which takes their place (so the order of the features is kept). Partial concats are
//! named as the vendor names its own (`concat_from_conv36_d0-2_to_conv36_dc`): the first input,
//! a dash and the last input's trailing index when both are parts of one layer (else its whole
//! name), `_to_` and the concat they feed. They carry the join's `origin` and `defuse`.

use hailo_dialect_phys::ops as phys;
use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, OpSpec, Type};

/// Inputs one concat layer takes.
const MAX_INPUTS: usize = 4;

pub struct PhysSplitConcats(NoOptions);

impl PassDef for PhysSplitConcats {
    const NAME: &'static str = "phys-split-concats";
    const SUMMARY: &'static str = "Chain concats of more than 4 inputs through partial concats";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        PhysSplitConcats(o)
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
        let block = m.region(m.op(graph).regions()[0]).blocks()[0];
        let mut added = 0;
        for op in m.block_ops(block) {
            if phys::Concat::cast(m, op).is_none() {
                continue;
            }
            while m.op(op).operands().len() > MAX_INPUTS {
                split_first(m, op).map_err(|e| cx.fail_at(m, op, e))?;
                added += 1;
            }
        }
        cx.stat("partial-concats", "partial concats added", added);
        Ok(if added == 0 {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}

fn name_of(m: &Module, op: Option<OpId>) -> String {
    op.and_then(|o| m.attr(o, "layer").and_then(Attribute::as_str))
        .unwrap_or("input")
        .to_owned()
}

/// Joins the first [`MAX_INPUTS`] inputs of `concat` in a partial concat before it.
fn split_first(m: &mut Module, concat: OpId) -> Result<(), String> {
    let inputs = m.op(concat).operands().to_vec();
    let axis = m
        .attr(concat, "axis")
        .and_then(Attribute::as_i64)
        .unwrap_or(3);
    let ty = m.value_type(m.result(concat, 0));
    let rank = ty.shape().map_or(0, <[i64]>::len);
    let axis_u = usize::try_from(axis)
        .ok()
        .filter(|&a| a < rank)
        .ok_or_else(|| format!("axis {axis} is outside the rank-{rank} result"))?;
    let group = &inputs[..MAX_INPUTS];
    let mut shape = ty.shape().unwrap_or(&[]).to_vec();
    shape[axis_u] = group
        .iter()
        .map(|&v| m.value_type(v).shape().map_or(0, |s| s[axis_u]))
        .sum();
    let first = name_of(m, m.defining_op(group[0]));
    let last = name_of(m, m.defining_op(group[MAX_INPUTS - 1]));
    let join = name_of(m, Some(concat));
    let mut spec = OpSpec::new(phys::Concat::NAME)
        .operands(group)
        .results(&[Type::tensor(&shape, ty.element())])
        .loc(m.op(concat).loc.clone())
        .attr(
            "layer",
            Attribute::str(&format!(
                "concat_from_{}_to_{join}",
                super::range_name(&first, &last)
            )),
        )
        .attr("axis", Attribute::i64(axis));
    for key in ["origin", "defuse"] {
        if let Some(a) = m.attr(concat, key) {
            spec = spec.attr(key, a.clone());
        }
    }
    let partial = m.create_op(spec);
    m.insert_before(concat, partial);
    let mut rest = vec![m.result(partial, 0)];
    rest.extend_from_slice(&inputs[MAX_INPUTS..]);
    m.set_operands(concat, &rest);
    Ok(())
}
