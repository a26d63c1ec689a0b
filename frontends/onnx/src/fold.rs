//! Constant folding: nodes whose inputs are all constants (and `Shape`/`Size` of tensors whose
//! shape is known) are evaluated at load time. This turns torch-style shape subgraphs
//! (`Shape → Gather → Unsqueeze → Concat → Reshape`) into constant shape inputs, and folds
//! arithmetic/layout ops applied to weights.

use ndarray::{ArrayD, Axis, IxDyn, Slice, Zip};

use crate::shape::{self, slice_plan, Infer, OpCtx};
use crate::tensor::{map_same, DataType, TensorData};

/// Operators evaluated when all their inputs are constant.
const FOLDABLE: &[&str] = &[
    "Identity",
    "Cast",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Concat",
    "Gather",
    "Slice",
    "Transpose",
    "Expand",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Min",
    "Max",
    "Equal",
    "Less",
    "Greater",
    "Where",
    "Neg",
    "ConstantOfShape",
    "Range",
];

/// Evaluates the node if possible; `Ok(None)` leaves it in the graph.
pub(crate) fn try_fold(ctx: &OpCtx) -> Infer<Option<Vec<TensorData>>> {
    let node = ctx.node;
    if !node.domain.is_empty() {
        return Ok(None);
    }
    let op = node.op_type.as_str();
    if op == "Shape" || op == "Size" {
        let Some(Some(s)) = ctx.shapes.first() else {
            return Ok(None);
        };
        let value = if op == "Size" {
            TensorData::I64(
                ndarray::arr0(s.iter().fold(1i64, |acc, &d| acc.saturating_mul(d as i64)))
                    .into_dyn(),
            )
        } else {
            let (start, end) = shape::shape_range(ctx, s.len())?;
            TensorData::from_i64s(s[start..end].iter().map(|&d| d as i64).collect())
        };
        return Ok(Some(vec![value]));
    }
    if !FOLDABLE.contains(&op) {
        return Ok(None);
    }
    let mut inputs = Vec::with_capacity(node.inputs.len());
    for (i, name) in node.inputs.iter().enumerate() {
        if name.is_empty() {
            continue;
        }
        match ctx.consts.get(i).copied().flatten() {
            Some(t) => inputs.push(t),
            None => return Ok(None),
        }
    }
    let needed = match op {
        "Where" | "Range" => 3,
        "Gather" => 2,
        _ => 1,
    };
    if inputs.len() < needed {
        return Err(ctx.invalid(format!(
            "{op} needs {needed} input(s), the node has {}",
            inputs.len()
        )));
    }
    let out_shapes = match shape::infer(ctx) {
        Some(r) => r?,
        None => return Ok(None),
    };
    let Some(out) = out_shapes.first() else {
        return Ok(None);
    };
    let fail = |what: &str| ctx.invalid(format!("cannot fold constant {what}"));
    let value = match op {
        "Identity" => inputs[0].clone(),
        "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => {
            reshaped(inputs[0], out).ok_or_else(|| fail("reshape"))?
        }
        "Cast" => {
            let to = DataType::from_code(ctx.node.attr_int_or("to", 0)? as i32);
            inputs[0]
                .cast(to)
                .ok_or_else(|| ctx.invalid(format!("cannot cast to {to:?}")))?
        }
        "Concat" => {
            let axis = ctx.axis(ctx.node.attr_int_or("axis", 0)?, out.len())?;
            concat(&inputs, axis).ok_or_else(|| fail("concatenation of mixed types"))?
        }
        "Gather" => gather(ctx, inputs[0], inputs[1], out)?,
        "Slice" => {
            let plan = slice_plan(ctx, inputs[0].shape())?;
            map_same!(inputs[0], a => slice_array(a, &plan))
        }
        "Transpose" => {
            let perm = shape::transpose_perm(ctx, inputs[0].shape().len())?;
            map_same!(inputs[0], a => a.view().permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned())
        }
        "Expand" => {
            map_same!(inputs[0], a => a.broadcast(IxDyn(out)).ok_or_else(|| fail("expand"))?.to_owned())
        }
        "Neg" => match inputs[0] {
            TensorData::F32(a) => TensorData::F32(a.mapv(|v| -v)),
            t => TensorData::I64(t.to_i64().mapv(i64::wrapping_neg))
                .cast(t.dtype())
                .ok_or_else(|| fail("negation"))?,
        },
        "Where" => {
            let [cond, x, y] = inputs[..] else {
                return Err(ctx.invalid("Where needs 3 inputs"));
            };
            select(cond, x, y, out).ok_or_else(|| fail("Where"))?
        }
        "ConstantOfShape" => {
            let default = TensorData::F32(ndarray::arr1(&[0.0f32]).into_dyn());
            let value = ctx.node.attr_tensor("value")?.unwrap_or(&default);
            map_same!(value, a => ArrayD::from_elem(IxDyn(out), *a.iter().next().ok_or_else(|| fail("ConstantOfShape with an empty value"))?))
        }
        "Range" => range(inputs[0], inputs[1], inputs[2], out[0]),
        _ => {
            let mut acc = inputs[0].clone();
            for b in &inputs[1..] {
                acc = binary(ctx, op, &acc, b)?;
            }
            acc
        }
    };
    Ok(Some(vec![value]))
}

fn reshaped(t: &TensorData, shape: &[usize]) -> Option<TensorData> {
    Some(map_same!(t, a => a.to_shape(IxDyn(shape)).ok()?.into_owned()))
}

fn concat(inputs: &[&TensorData], axis: usize) -> Option<TensorData> {
    macro_rules! cat {
        ($variant:ident) => {{
            let views = inputs
                .iter()
                .map(|t| match t {
                    TensorData::$variant(a) => Some(a.view()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            TensorData::$variant(ndarray::concatenate(Axis(axis), &views).ok()?)
        }};
    }
    Some(match inputs.first()? {
        TensorData::F32(_) => cat!(F32),
        TensorData::I64(_) => cat!(I64),
        TensorData::I32(_) => cat!(I32),
        TensorData::I8(_) => cat!(I8),
        TensorData::U8(_) => cat!(U8),
        TensorData::Bool(_) => cat!(Bool),
    })
}

fn gather(
    ctx: &OpCtx,
    data: &TensorData,
    indices: &TensorData,
    out: &[usize],
) -> Infer<TensorData> {
    let axis = ctx.axis(ctx.node.attr_int_or("axis", 0)?, data.shape().len())?;
    let dim = data.shape()[axis] as i64;
    let idx = indices
        .to_i64_vec()
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + dim } else { i };
            usize::try_from(j)
                .ok()
                .filter(|&j| (j as i64) < dim)
                .ok_or_else(|| {
                    ctx.invalid(format!(
                        "Gather index {i} is out of range for axis size {dim}"
                    ))
                })
        })
        .collect::<Infer<Vec<usize>>>()?;
    Ok(map_same!(data, a => a
        .select(Axis(axis), &idx)
        .to_shape(IxDyn(out))
        .map_err(|e| ctx.invalid(format!("cannot fold Gather: {e}")))?
        .into_owned()))
}

fn slice_array<T: Clone>(a: &ArrayD<T>, plan: &[shape::SliceAxis]) -> ArrayD<T> {
    a.slice_each_axis(|ax| match plan.iter().find(|p| p.axis == ax.axis.index()) {
        None => Slice::from(..),
        Some(p) if p.len() == 0 => Slice::new(0, Some(0), 1),
        Some(p) if p.step > 0 => {
            Slice::new(p.start as isize, Some(p.end as isize), p.step as isize)
        }
        // ndarray walks a negative-step range backwards from its end, ONNX from `start` down.
        Some(p) => Slice::new(
            (p.end + 1) as isize,
            Some((p.start + 1) as isize),
            p.step as isize,
        ),
    })
    .to_owned()
}

fn zip_with<A, B, U>(
    x: &ArrayD<A>,
    y: &ArrayD<B>,
    shape: &[usize],
    f: impl Fn(&A, &B) -> U,
) -> Option<ArrayD<U>> {
    let xv = x.broadcast(IxDyn(shape))?;
    let yv = y.broadcast(IxDyn(shape))?;
    Some(Zip::from(&xv).and(&yv).map_collect(f))
}

/// Element-wise binary arithmetic or comparison with broadcasting. Floats compute in `f32`;
/// integers in `i64`, converted back to the left operand's type.
fn binary(ctx: &OpCtx, op: &str, a: &TensorData, b: &TensorData) -> Infer<TensorData> {
    let shape = shape::broadcast(a.shape(), b.shape()).ok_or_else(|| {
        ctx.invalid(format!(
            "shapes {:?} and {:?} do not broadcast",
            a.shape(),
            b.shape()
        ))
    })?;
    let fail = || ctx.invalid("cannot fold: operand shapes do not broadcast");
    let compare = |f: fn(f64, f64) -> bool| -> Infer<TensorData> {
        let (x, y) = (to_f64(a), to_f64(b));
        Ok(TensorData::Bool(
            zip_with(&x, &y, &shape, |&p, &q| f(p, q)).ok_or_else(fail)?,
        ))
    };
    match op {
        "Equal" => return compare(|p, q| p == q),
        "Less" => return compare(|p, q| p < q),
        "Greater" => return compare(|p, q| p > q),
        _ => {}
    }
    if a.dtype().is_float() || b.dtype().is_float() {
        let f: fn(f32, f32) -> f32 = match op {
            "Add" => |p, q| p + q,
            "Sub" => |p, q| p - q,
            "Mul" => |p, q| p * q,
            "Div" => |p, q| p / q,
            "Min" => f32::min,
            _ => f32::max,
        };
        let out = zip_with(&a.to_f32(), &b.to_f32(), &shape, |&p, &q| f(p, q)).ok_or_else(fail)?;
        return Ok(TensorData::F32(out));
    }
    let f: fn(i64, i64) -> Option<i64> = match op {
        "Add" => |p, q| Some(p.wrapping_add(q)),
        "Sub" => |p, q| Some(p.wrapping_sub(q)),
        "Mul" => |p, q| Some(p.wrapping_mul(q)),
        "Div" => i64::checked_div,
        "Min" => |p, q| Some(p.min(q)),
        _ => |p, q| Some(p.max(q)),
    };
    let out = zip_with(&a.to_i64(), &b.to_i64(), &shape, |&p, &q| f(p, q)).ok_or_else(fail)?;
    if out.iter().any(Option::is_none) {
        return Err(ctx.invalid("integer division by zero in a constant expression"));
    }
    let out = TensorData::I64(out.mapv(|v| v.unwrap_or_default()));
    out.cast(a.dtype()).ok_or_else(fail)
}

fn to_f64(t: &TensorData) -> ArrayD<f64> {
    match t {
        TensorData::F32(a) => a.mapv(f64::from),
        other => other.to_i64().mapv(|v| v as f64),
    }
}

fn select(
    cond: &TensorData,
    x: &TensorData,
    y: &TensorData,
    shape: &[usize],
) -> Option<TensorData> {
    let c = cond.cast(DataType::Bool)?;
    let TensorData::Bool(c) = c else { return None };
    let c = c.broadcast(IxDyn(shape))?.to_owned();
    if x.dtype().is_float() || y.dtype().is_float() {
        let picked = zip_with(&x.to_f32(), &y.to_f32(), shape, |&p, &q| (p, q))?;
        return Some(TensorData::F32(
            Zip::from(&c)
                .and(&picked)
                .map_collect(|&k, &(p, q)| if k { p } else { q }),
        ));
    }
    let picked = zip_with(&x.to_i64(), &y.to_i64(), shape, |&p, &q| (p, q))?;
    TensorData::I64(
        Zip::from(&c)
            .and(&picked)
            .map_collect(|&k, &(p, q)| if k { p } else { q }),
    )
    .cast(x.dtype())
}

fn range(start: &TensorData, _limit: &TensorData, delta: &TensorData, n: usize) -> TensorData {
    if start.dtype().is_float() {
        let (s, d) = (first_f32(start), first_f32(delta));
        TensorData::F32(ndarray::Array1::from_iter((0..n).map(|i| s + d * i as f32)).into_dyn())
    } else {
        let (s, d) = (first_i64(start), first_i64(delta));
        let values = TensorData::I64(
            ndarray::Array1::from_iter((0..n as i64).map(|i| s.wrapping_add(d.wrapping_mul(i))))
                .into_dyn(),
        );
        values.cast(start.dtype()).unwrap_or(values)
    }
}

fn first_f32(t: &TensorData) -> f32 {
    t.to_f32().iter().next().copied().unwrap_or_default()
}

fn first_i64(t: &TensorData) -> i64 {
    t.to_i64().iter().next().copied().unwrap_or_default()
}
