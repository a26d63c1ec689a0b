//! `hl-transpose`: the model script's `transpose(input_layers)`. The connected component of
//! the chosen input layers runs with height and width swapped (HailoRT transposes the data on
//! the host): every `[N, H, W, C]` tensor becomes `[N, W, H, C]`, spatial attributes swap their
//! H and W entries, axes 1 and 2 trade places, and convolution kernels swap `kh` and `kw`.
//! Depth-to-space and space-to-depth are not supported, as the guide says.

use super::{fail_at, graphs, layer_name, reshaped, select_inputs, shape_of, Res};
use hailo_dialect_hl as hl;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Blob, DenseAttr, DenseValues, Module, OpId, ValueId};
use std::sync::Arc;

hailo_ir::pass_options! {
    pub struct TransposeOptions {
        /// Input layers whose connected components are transposed; all when empty.
        input_layers: Vec<String> = Vec::new(),
    }
}

pub struct Transpose(TransposeOptions);

impl PassDef for Transpose {
    const NAME: &'static str = "hl-transpose";
    const SUMMARY: &'static str = "Swap height and width of the input layers' connected components";
    const ANCHOR: Option<&'static str> = None;
    type Options = TransposeOptions;

    fn new(o: TransposeOptions) -> Self {
        Transpose(o)
    }
    fn options(&self) -> &TransposeOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        for g in graphs(m, root) {
            if let Err(e) = apply(m, g, &self.0) {
                return Err(fail_at(cx, m, g, Self::NAME, e));
            }
        }
        Ok(Preserved::None)
    }
}

/// Ops reachable from `inputs` through uses, plus the constants they read.
fn component(m: &Module, g: OpId, inputs: &[OpId]) -> Vec<OpId> {
    let mut seen: Vec<OpId> = inputs.to_vec();
    let mut i = 0;
    while i < seen.len() {
        let op = seen[i];
        i += 1;
        let mut next: Vec<OpId> = Vec::new();
        for &r in m.op(op).results() {
            next.extend(m.value(r).uses().iter().map(|u| u.op));
        }
        for &v in m.op(op).operands() {
            next.extend(
                m.defining_op(v)
                    .filter(|&d| m.op(d).name_str() == hl::Const::NAME),
            );
        }
        for n in next {
            if !seen.contains(&n)
                && m.parent_op(n) == Some(g)
                && m.op(n).name_str() != "builtin.return"
            {
                seen.push(n);
            }
        }
    }
    seen
}

fn swap_axis(a: i64) -> i64 {
    match a {
        1 => 2,
        2 => 1,
        x => x,
    }
}

/// Swaps entries `i` and `j` of the integer array `key` when it has `len` entries.
fn swap_pair(m: &mut Module, op: OpId, key: &str, len: usize, (i, j): (usize, usize)) {
    if let Some(mut v) = m.attr(op, key).and_then(Attribute::as_i64_array) {
        if v.len() == len {
            v.swap(i, j);
            m.set_attr(op, key, Attribute::i64_array(&v));
        }
    }
}

/// Swaps the first two dims of an HWIO kernel constant.
fn transpose_kernel(m: &mut Module, c: OpId) -> Res<()> {
    let Some(value) = m.attr(c, "value").cloned() else {
        return Ok(());
    };
    let ty = m.value_type(m.result(c, 0));
    let s = shape_of(m, m.result(c, 0));
    let [kh, kw, i, o] = s[..] else {
        return Err(format!("kernel constant of type '{ty}' is not HWIO"));
    };
    let inner = (i * o) as usize;
    let perm = |src: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; src.len()];
        for y in 0..kh as usize {
            for x in 0..kw as usize {
                let from = (y * kw as usize + x) * inner;
                let to = (x * kh as usize + y) * inner;
                out[to..to + inner].copy_from_slice(&src[from..from + inner]);
            }
        }
        out
    };
    let new_ty = reshaped(ty, &[kw, kh, i, o]);
    let new = match value {
        Attribute::Dense(d) if d.is_splat() => Attribute::Dense(Arc::new(DenseAttr {
            ty: new_ty,
            values: d.values.clone(),
        })),
        Attribute::Dense(d) => Attribute::Dense(Arc::new(DenseAttr {
            ty: new_ty,
            values: DenseValues::Floats(perm(&d.to_f64_vec())),
        })),
        Attribute::DenseResource { key, .. } => {
            let blob = m
                .resources
                .get(key.as_str())
                .ok_or_else(|| format!("missing weights '{key}'"))?;
            let src: Vec<f64> = blob.to_f32().into_iter().map(f64::from).collect();
            if src.len() as i64 != kh * kw * i * o {
                return Err(format!("weights '{key}' do not match their type '{ty}'"));
            }
            let data: Vec<f32> = perm(&src).into_iter().map(|v| v as f32).collect();
            m.resources.insert(key.as_str(), Blob::from_f32(&data));
            Attribute::DenseResource { key, ty: new_ty }
        }
        other => return Err(format!("unsupported kernel constant {other}")),
    };
    m.set_attr(c, "value", new);
    m.set_value_type(m.result(c, 0), new_ty);
    Ok(())
}

fn apply(m: &mut Module, g: OpId, o: &TransposeOptions) -> Res<()> {
    let mut inputs = Vec::new();
    if o.input_layers.is_empty() {
        inputs = select_inputs(m, g, "")?;
    }
    for l in &o.input_layers {
        inputs.extend(select_inputs(m, g, l)?);
    }
    let ops = component(m, g, &inputs);
    let mut kernels: Vec<OpId> = Vec::new();
    for &op in &ops {
        let name = m.op(op).name_str();
        let layer = layer_name(m, op).unwrap_or("?").to_owned();
        match name {
            hl::DepthToSpace::NAME | hl::SpaceToDepth::NAME => {
                return Err(format!("layer '{layer}' ({name}) cannot be transposed (guide: not supported with depth-to-space / space-to-depth)"))
            }
            hl::Reshape::NAME | hl::Dense::NAME | hl::MatMul::NAME => {
                let s = shape_of(m, m.operand(op, 0));
                if s.len() == 4 && (s[1] != 1 || s[2] != 1) {
                    return Err(format!("layer '{layer}' ({name}) reads a {s:?} tensor whose layout changes when transposed"));
                }
            }
            hl::Conv2d::NAME | hl::DepthwiseConv2d::NAME | hl::Deconv2d::NAME => {
                kernels.extend(m.op(op).operands().get(1).and_then(|&k| m.defining_op(k)));
            }
            _ => {}
        }
        for key in ["strides", "dilations", "kernel", "output_padding"] {
            swap_pair(m, op, key, 2, (0, 1));
        }
        if name == hl::Pad::NAME {
            swap_pair(m, op, "pads", 8, (1, 2));
            swap_pair(m, op, "pads", 8, (5, 6));
        } else {
            swap_pair(m, op, "pads", 4, (0, 1));
            swap_pair(m, op, "pads", 4, (2, 3));
        }
        for key in ["starts", "ends", "steps"] {
            swap_pair(m, op, key, 4, (1, 2));
        }
        if let Some(a) = m.attr(op, "axis").and_then(Attribute::as_i64) {
            m.set_attr(op, "axis", Attribute::i64(swap_axis(a)));
        }
        if let Some(mut axes) = m.attr(op, "axes").and_then(Attribute::as_i64_array) {
            axes.iter_mut().for_each(|a| *a = swap_axis(*a));
            axes.sort_unstable();
            m.set_attr(op, "axes", Attribute::i64_array(&axes));
        }
        if let Some(perm) = m.attr(op, "perm").and_then(Attribute::as_i64_array) {
            let p: Vec<i64> = [0usize, 2, 1, 3]
                .iter()
                .map(|&i| swap_axis(perm.get(i).copied().unwrap_or(i as i64)))
                .collect();
            if perm.len() == 4 {
                m.set_attr(op, "perm", Attribute::i64_array(&p));
            }
        }
    }
    for k in kernels {
        transpose_kernel(m, k)?;
    }
    let mut values: Vec<ValueId> = inputs.iter().map(|&i| m.operand(i, 0)).collect();
    for &op in &ops {
        if m.op(op).name_str() != hl::Const::NAME {
            values.extend(m.op(op).results().iter().copied());
        }
    }
    for v in values {
        let s = shape_of(m, v);
        if s.len() == 4 {
            let ty = m.value_type(v);
            m.set_value_type(v, reshaped(ty, &[s[0], s[2], s[1], s[3]]));
        }
    }
    super::sync_signature(m, g);
    Ok(())
}
