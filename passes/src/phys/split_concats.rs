//! `phys-split-concats`: chains a concat of more than 4 inputs through partial concats, since a
//! concat layer takes at most 4 (DFC guide §5.5.5; no concat in any vendor dump has more,
//! resources doc §7).
//!
//! While a concat has more than 4 inputs, its first 4 are joined by a partial concat on the same
//! axis, which takes their place (so the order of the features is kept). Partial concats are
//! named as the vendor names its own (`concat_from_conv36_d0-2_to_conv36_dc`): the first input,
//! a dash and the last input's trailing index when both are parts of one layer (else its whole
//! name), `_to_` and the concat they feed. They carry the join's `origin` but no `defuse` role:
//! the vendor's dumps list them as plain concats (`concat_from_conv36_d0-2_to_conv36_dc`, kind
//! `concat`, no defuse type).
//!
//! **Manual** (`partials`, the model script's `name = concat([a, b, c], join)`): `a+b+c:join[:name]`
//! joins inputs `a`, `b`, `c` of the concat `join`, which must read them one after the other, in
//! a partial concat first; the automatic rule then applies to what is left.

use hailo_dialect_phys::ops as phys;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, OpSpec, Type};

/// Inputs one concat layer takes.
const MAX_INPUTS: usize = 4;

hailo_ir::pass_options! {
    pub struct PhysSplitConcatsOptions {
        /// Manual partial concats, `a+b+c:join[:name]` (model script `concat([a, b, c], join)`).
        partials: Vec<String> = Vec::new(),
    }
}

pub struct PhysSplitConcats(PhysSplitConcatsOptions);

impl PassDef for PhysSplitConcats {
    const NAME: &'static str = "phys-split-concats";
    const SUMMARY: &'static str = "Chain concats of more than 4 inputs through partial concats";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = PhysSplitConcatsOptions;

    fn new(o: PhysSplitConcatsOptions) -> Self {
        PhysSplitConcats(o)
    }
    fn options(&self) -> &PhysSplitConcatsOptions {
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
        for text in &self.0.partials {
            manual(m, block, text).map_err(|e| cx.fail_at(m, graph, e))?;
            added += 1;
        }
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

/// A manual partial concat: `a+b+c:join[:name]`.
fn manual(m: &mut Module, block: hailo_ir::BlockId, text: &str) -> Result<(), String> {
    let bad =
        || format!("'partials' entry '{text}' must be a+b+...:join[:name] with at least 2 inputs");
    let f: Vec<&str> = text.split(':').collect();
    let (inputs, join, name) = match f[..] {
        [i, j] => (i, j, None),
        [i, j, n] if !n.is_empty() => (i, j, Some(n)),
        _ => return Err(bad()),
    };
    let inputs: Vec<&str> = inputs.split('+').collect();
    if inputs.len() < 2 || inputs.iter().any(|i| i.is_empty()) {
        return Err(bad());
    }
    let find = |n: &str| {
        m.block_ops(block)
            .into_iter()
            .find(|&op| m.attr(op, "layer").and_then(Attribute::as_str) == Some(n))
            .ok_or_else(|| format!("'partials' names '{n}', which is no layer of this graph"))
    };
    let concat = find(join)?;
    if phys::Concat::cast(m, concat).is_none() {
        return Err(format!("'{join}' is no concat"));
    }
    let values = inputs
        .iter()
        .map(|&n| find(n).map(|op| m.result(op, 0)))
        .collect::<Result<Vec<_>, _>>()?;
    let operands = m.op(concat).operands().to_vec();
    let start = operands
        .windows(values.len())
        .position(|w| w == values.as_slice())
        .ok_or_else(|| {
            format!(
                "'{join}' does not read {} one after the other",
                inputs.join(", ")
            )
        })?;
    let name = name.map_or_else(
        || {
            format!(
                "concat_from_{}_to_{join}",
                super::range_name(inputs[0], inputs[inputs.len() - 1])
            )
        },
        str::to_owned,
    );
    partial(m, concat, start, values.len(), &name)
}

/// Joins the first [`MAX_INPUTS`] inputs of `concat` in a partial concat before it.
fn split_first(m: &mut Module, concat: OpId) -> Result<(), String> {
    let inputs = m.op(concat).operands().to_vec();
    let first = name_of(m, m.defining_op(inputs[0]));
    let last = name_of(m, m.defining_op(inputs[MAX_INPUTS - 1]));
    let join = name_of(m, Some(concat));
    let name = format!("concat_from_{}_to_{join}", super::range_name(&first, &last));
    partial(m, concat, 0, MAX_INPUTS, &name)
}

/// Joins `len` inputs of `concat` from `start` in a partial concat `name` on the same axis,
/// which takes their place.
fn partial(
    m: &mut Module,
    concat: OpId,
    start: usize,
    len: usize,
    name: &str,
) -> Result<(), String> {
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
    let group = &inputs[start..start + len];
    let mut shape = ty.shape().unwrap_or(&[]).to_vec();
    shape[axis_u] = group
        .iter()
        .map(|&v| m.value_type(v).shape().map_or(0, |s| s[axis_u]))
        .sum();
    let mut spec = OpSpec::new(phys::Concat::NAME)
        .operands(group)
        .results(&[Type::tensor(&shape, ty.element())])
        .loc(m.op(concat).loc.clone())
        .attr("layer", Attribute::str(name))
        .attr("axis", Attribute::i64(axis));
    if let Some(a) = m.attr(concat, "origin") {
        spec = spec.attr("origin", a.clone());
    }
    let partial = m.create_op(spec);
    m.insert_before(concat, partial);
    let mut rest = inputs[..start].to_vec();
    rest.push(m.result(partial, 0));
    rest.extend_from_slice(&inputs[start + len..]);
    m.set_operands(concat, &rest);
    Ok(())
}
