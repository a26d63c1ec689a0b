//! `Einsum` in the forms Hailo computes: one `hl.matmul` (a batched matmul contracting one
//! index, `transpose_b` when the second operand holds its contracted index last, as in
//! attention's `bhid,bhjd->bhij`), or a permutation of one operand (`ij->ji`). Operand axis
//! orders are reached through layouts (a transpose only where the data's order differs), and
//! any output order is the result's layout, so `bij,bjk->bki` needs no extra layer here.
//! Traces, diagonals, reductions, outer products, the ellipsis and more than two operands are
//! reported as unsupported with the equation.

use hailo_dialect_hl as hl;

use hailo_ir::{Attribute, ValueId};

use super::error::{node_error, ConvertResult};
use super::layout::transpose_array;
use super::Converter;
use crate::einsum::Equation;
use crate::graph::Node;

/// How an equation is computed.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// The one operand with its axes reordered: output axis `i` is operand axis `perm[i]`.
    Permute(Vec<usize>),
    Matmul(Matmul),
}

/// One `hl.matmul`: the operands' indices in the order the matmul reads them (`a` as
/// `[batch.., m, k]`, `b` as `[batch.., k, n]`, or `[batch.., n, k]` with `transpose_b`),
/// and the indices of its result (`[batch.., m, n]`).
#[derive(Debug, PartialEq, Eq)]
struct Matmul {
    a: Vec<char>,
    b: Vec<char>,
    transpose_b: bool,
    result: Vec<char>,
}

/// Why `node` (an `Einsum`) cannot be converted, if so.
pub(crate) fn unsupported_form(node: &Node) -> Option<String> {
    equation_plan(node).err()
}

/// `node`'s equation and plan; the error names the equation.
fn equation_plan(node: &Node) -> Result<(Equation, Plan), String> {
    let text = node
        .attr_string_or("equation", "")
        .map_err(|e| e.to_string())?;
    Equation::parse(text)
        .and_then(|eq| plan(&eq).map(|p| (eq, p)))
        .map_err(|why| format!("Einsum equation '{text}' is not supported: {why}"))
}

/// The plan of `eq`, or why it is not a matmul or permutation form.
fn plan(eq: &Equation) -> Result<Plan, String> {
    for t in &eq.inputs {
        if let Some(c) = repeated(t) {
            return Err(format!(
                "index '{c}' repeats within an operand (a diagonal or trace)"
            ));
        }
    }
    match &eq.inputs[..] {
        [a] if a.len() == eq.output.len() => Ok(Plan::Permute(
            eq.output.iter().map(|c| position(a, *c)).collect(),
        )),
        [_] => Err("it sums over indices of its one operand (a reduction)".into()),
        [a, b] => matmul(a, b, &eq.output).map(Plan::Matmul),
        _ => Err(format!(
            "it has {} operands; only one or two are supported",
            eq.inputs.len()
        )),
    }
}

/// The matmul reading `a` and `b` into `out`.
fn matmul(a: &[char], b: &[char], out: &[char]) -> Result<Matmul, String> {
    // Every index is kept in the output or contracted between the two operands.
    let kept_or_shared = |c: &&char| out.contains(c) || (a.contains(c) && b.contains(c));
    if let Some(c) = a.iter().chain(b).find(|c| !kept_or_shared(c)) {
        return Err(format!(
            "index '{c}' is summed over within one operand (a reduction)"
        ));
    }
    let contracted: Vec<char> = a
        .iter()
        .copied()
        .filter(|c| b.contains(c) && !out.contains(c))
        .collect();
    let k = match contracted[..] {
        [k] => k,
        [] => return Err("no index is contracted (an outer or elementwise product)".into()),
        _ => return Err("more than one index is contracted".into()),
    };
    let batch: Vec<char> = a
        .iter()
        .copied()
        .filter(|c| b.contains(c) && out.contains(c))
        .collect();
    let only = |x: &[char], y: &[char]| -> Vec<char> {
        x.iter().copied().filter(|c| !y.contains(c)).collect()
    };
    // The row index is the last one of a's own indices, the column index the last of b's;
    // further own indices lead as batch axes the other operand broadcasts over.
    let (a_own, b_own) = (only(a, b), only(b, a));
    let (Some((&m, a_lead)), Some((&n, b_lead))) = (a_own.split_last(), b_own.split_last()) else {
        return Err("an operand has no free index (a matrix-vector or inner product)".into());
    };
    if !a_lead.is_empty() && !b_lead.is_empty() {
        return Err("both operands have batch indices the other lacks".into());
    }
    let lead = [a_lead, b_lead].concat();
    let transpose_b = position(b, n) < position(b, k);
    let b_tail = if transpose_b { [n, k] } else { [k, n] };
    Ok(Matmul {
        a: [a_lead, &batch, &[m, k]].concat(),
        b: [b_lead, &batch, &b_tail].concat(),
        transpose_b,
        result: [&lead, &batch, &[m, n][..]].concat(),
    })
}

fn position(term: &[char], c: char) -> usize {
    term.iter().position(|&x| x == c).unwrap_or(term.len())
}

fn repeated(term: &[char]) -> Option<char> {
    term.iter()
        .enumerate()
        .find(|(k, c)| term[..*k].contains(c))
        .map(|(_, &c)| c)
}

impl Converter<'_> {
    pub(crate) fn einsum(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let (eq, plan) = equation_plan(node).map_err(|e| node_error(node, e))?;
        match plan {
            Plan::Permute(perm) => {
                let v = self.e.input(node, 0)?;
                let x = self.e.input_in(node, 0, &v.perm)?;
                let layout: Vec<usize> = v.perm.iter().map(|&a| position_of(&perm, a)).collect();
                self.e.bind(&node.outputs[0], x, layout);
                self.converted_or_dropped(i, "absorbed by the layout (no data movement)");
                Ok(())
            }
            Plan::Matmul(mm) => self.einsum_matmul(i, &eq, &mm),
        }
    }

    fn einsum_matmul(&mut self, i: usize, eq: &Equation, mm: &Matmul) -> ConvertResult<()> {
        let node = self.g.node(i);
        let layer = self.e.b.next_name("matmul");
        let a = self.einsum_operand(node, &layer, 0, &eq.inputs[0], &mm.a)?;
        let b = self.einsum_operand(node, &layer, 1, &eq.inputs[1], &mm.b)?;
        let perm: Vec<usize> = mm.result.iter().map(|&c| position(&eq.output, c)).collect();
        let out_shape = self.e.output_shape(node, 0)?;
        let hl_shape = super::layout::permute(&out_shape, &perm);
        let attrs = vec![("transpose_b", Attribute::Bool(mm.transpose_b))];
        self.sole_layer(i, hl::MatMul::NAME, &layer, &[a, b], hl_shape, attrs, perm);
        Ok(())
    }

    /// Operand `k` of `node` (indices `term`) with its axes in the order of `order`: run-time
    /// data relaid out, a constant transposed into an `hl.const` of `layer`.
    fn einsum_operand(
        &mut self,
        node: &Node,
        layer: &str,
        k: usize,
        term: &[char],
        order: &[char],
    ) -> ConvertResult<ValueId> {
        let axes: Vec<usize> = order.iter().map(|&c| position(term, c)).collect();
        let name = node
            .input(k)
            .ok_or_else(|| node_error(node, format!("required input #{k} is missing")))?;
        match self.e.model.constant(name) {
            Some(c) => {
                let data = transpose_array(&c.to_f32(), &axes);
                let param = format!("input{k}");
                Ok(self.e.constant(layer, &param, &data, false, &[&node.name]))
            }
            None => self.e.input_in(node, k, &axes),
        }
    }
}

/// The index of `a` in `perm`.
fn position_of(perm: &[usize], a: usize) -> usize {
    perm.iter().position(|&p| p == a).unwrap_or(a)
}
