//! Index-driven operators whose indices are known when compiling: `Gather` with constant
//! indices and `OneHot` with constant depth and values. Hailo has no run-time gather, so a
//! constant `Gather` becomes what it selects: `hl.slice` layers (one per distinct run of
//! consecutive indices) joined by `hl.concat`, then an `hl.reshape` giving the axis the indices' shape
//! (dropping it for a scalar index, as torchvision's ViT does to split a stacked q/k/v tensor
//! and to take the class token). `OneHot` is `hl.one_hot`, whose new axis is the last `hl`
//! axis; any ONNX axis is reached by the output's layout, so no transpose is emitted.

use hailo_dialect_hl as hl;

use hailo_dialect_hl::builder::ints;
use hailo_ir::{Attribute, ValueId};

use super::error::{node_error, ConvertResult};
use super::layout::{hl_axis, norm_axis, permute};
use super::net::Net;
use super::Converter;
use crate::graph::Node;

/// Why `node` (a `Gather` or `OneHot`) cannot be converted whatever its values, if so: the
/// inputs that must be compile-time constants are not.
pub(crate) fn unsupported_form(model: Net<'_>, node: &Node) -> Option<String> {
    let runtime = |i: usize| node.input(i).is_some_and(|t| model.constant(t).is_none());
    match node.op_type.as_str() {
        "Gather" if runtime(1) => Some(
            "Gather with run-time indices is not supported (the indices must be a constant)".into(),
        ),
        "OneHot" if runtime(1) || runtime(2) => Some(
            "OneHot with a run-time depth or values is not supported (both must be constants)"
                .into(),
        ),
        _ => None,
    }
}

/// Maximal runs of consecutive indices: `(first, length)`.
fn runs(indices: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &i in indices {
        match out.last_mut() {
            Some((first, len)) if *first + *len == i => *len += 1,
            _ => out.push((i, 1)),
        }
    }
    out
}

/// The layout of a result whose ONNX axis `axis` (held as `perm`) became `count` axes in
/// its place: a split or removal of one `hl` axis, so the data keep their order.
fn replace_axis(perm: &[usize], axis: usize, count: usize) -> Vec<usize> {
    perm.iter()
        .flat_map(|&a| match a.cmp(&axis) {
            std::cmp::Ordering::Less => vec![a],
            std::cmp::Ordering::Equal => (axis..axis + count).collect(),
            std::cmp::Ordering::Greater => vec![a + count - 1],
        })
        .collect()
}

impl Converter<'_> {
    /// `Gather(data, indices)` with constant `indices`.
    pub(crate) fn gather(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let in_shape = self.e.input_shape(node, 0)?;
        let axis = norm_axis(node.attr_int_or("axis", 0)?, in_shape.len())
            .ok_or_else(|| node_error(node, "axis out of range"))?;
        let (indices, index_rank) = self.gather_indices(node, axis, in_shape[axis])?;
        let v = self.e.input(node, 0)?;
        let x = self.e.input_in(node, 0, &v.perm.clone())?;
        let picked = self.select_runs(node, x, &in_shape, &v.perm, axis, &runs(&indices));
        let out_shape = self.e.output_shape(node, 0)?;
        let perm = replace_axis(&v.perm, axis, index_rank);
        let y = self.reshaped(node, picked, permute(&out_shape, &perm));
        self.e.bind(&node.outputs[0], y, perm);
        self.converted_or_dropped(i, "selects every element in order; the data are unchanged");
        Ok(())
    }

    /// The constant indices of `node` into `axis` (of size `dim`) normalised into `0..dim`,
    /// flattened, and their rank.
    fn gather_indices(
        &self,
        node: &Node,
        axis: usize,
        dim: usize,
    ) -> ConvertResult<(Vec<usize>, usize)> {
        let name = node
            .input(1)
            .ok_or_else(|| node_error(node, "required input #1 is missing"))?;
        let t = self
            .e
            .model
            .constant(name)
            .ok_or_else(|| node_error(node, "the indices must be a constant"))?;
        if t.is_empty() {
            return Err(node_error(node, "the indices are empty"));
        }
        let indices = t
            .to_i64_vec()
            .into_iter()
            .map(|k| {
                norm_axis(k, dim).ok_or_else(|| {
                    node_error(
                        node,
                        format!("index {k} is out of range for axis {axis} of size {dim}"),
                    )
                })
            })
            .collect::<ConvertResult<Vec<_>>>()?;
        Ok((indices, t.shape().len()))
    }

    /// `x` (ONNX shape `shape` held as `perm`) restricted along ONNX `axis` to `runs`, in
    /// order: one `hl.slice` per distinct run (none for a run covering the axis),
    /// concatenated when there are several runs.
    fn select_runs(
        &mut self,
        node: &Node,
        x: ValueId,
        shape: &[usize],
        perm: &[usize],
        axis: usize,
        runs: &[(usize, usize)],
    ) -> ValueId {
        let h = hl_axis(perm, axis);
        let hl_shape = permute(shape, perm);
        let mut sliced: Vec<((usize, usize), ValueId)> = Vec::new();
        let mut parts = Vec::with_capacity(runs.len());
        for &run in runs {
            let part = match sliced.iter().find(|(r, _)| *r == run) {
                Some(&(_, v)) => v,
                None if run.1 == hl_shape[h] => x,
                None => {
                    let v = self.slice_run(node, x, &hl_shape, h, run);
                    sliced.push((run, v));
                    v
                }
            };
            parts.push(part);
        }
        if let [one] = parts[..] {
            return one;
        }
        let mut out = hl_shape;
        out[h] = runs.iter().map(|r| r.1).sum();
        let attrs = vec![("axis", Attribute::i64(h as i64))];
        self.node_layer(node, (hl::Concat::NAME, "concat"), &parts, out, attrs)
    }

    /// An `hl.slice` of `x` (`hl_shape`) keeping `len` elements from `first` on `hl` axis `h`.
    fn slice_run(
        &mut self,
        node: &Node,
        x: ValueId,
        hl_shape: &[usize],
        h: usize,
        (first, len): (usize, usize),
    ) -> ValueId {
        let (mut starts, mut ends) = (vec![0; hl_shape.len()], hl_shape.to_vec());
        (starts[h], ends[h]) = (first, first + len);
        let mut out = hl_shape.to_vec();
        out[h] = len;
        let attrs = vec![
            ("starts", ints(&starts)),
            ("ends", ints(&ends)),
            ("steps", ints(&vec![1; hl_shape.len()])),
        ];
        self.node_layer(node, (hl::Slice::NAME, "slice"), &[x], out, attrs)
    }

    /// `x` as `hl_shape` (an `hl.reshape`, or `x` itself when the shape is already that).
    fn reshaped(&mut self, node: &Node, x: ValueId, hl_shape: Vec<usize>) -> ValueId {
        let same = self
            .e
            .b
            .value_type(x)
            .shape()
            .is_some_and(|s| s.iter().map(|&d| d as usize).eq(hl_shape.iter().copied()));
        if same {
            return x;
        }
        self.node_layer(node, (hl::Reshape::NAME, "reshape"), &[x], hl_shape, vec![])
    }

    /// One single-result layer computing part of `node`, recorded in its report entry.
    fn node_layer(
        &mut self,
        node: &Node,
        (op, prefix): (&str, &str),
        operands: &[ValueId],
        shape: Vec<usize>,
        attrs: Vec<(&str, Attribute)>,
    ) -> ValueId {
        let layer = self.e.b.next_name(prefix);
        self.e.report.add_layer(&node.name, &node.op_type, &layer);
        self.e
            .b
            .layer(op, &layer, operands, &[shape], attrs, &[&node.name])[0]
    }

    /// `OneHot(indices, depth, values)` with constant `depth` and `values = [off, on]`.
    pub(crate) fn one_hot(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let (depth, off, on) = self.one_hot_params(node)?;
        let v = self.e.input(node, 0)?;
        let x = self.e.input_in(node, 0, &v.perm.clone())?;
        let rank = v.perm.len() + 1;
        let axis = norm_axis(node.attr_int_or("axis", -1)?, rank)
            .ok_or_else(|| node_error(node, format!("axis out of range for rank {rank}")))?;
        // hl appends the depth axis; the other axes keep their order.
        let mut perm: Vec<usize> = v.perm.iter().map(|&a| a + usize::from(a >= axis)).collect();
        perm.push(axis);
        let mut shape = permute(&self.e.input_shape(node, 0)?, &v.perm);
        shape.push(depth);
        let layer = self.e.b.next_name("one_hot");
        let attrs = vec![
            ("depth", Attribute::i64(depth as i64)),
            ("on_value", Attribute::f64(on)),
            ("off_value", Attribute::f64(off)),
        ];
        self.sole_layer(i, hl::OneHot::NAME, &layer, &[x], shape, attrs, perm);
        Ok(())
    }

    /// OneHot's depth (cast to an integer, as ONNX does) and its off and on values.
    fn one_hot_params(&self, node: &Node) -> ConvertResult<(usize, f64, f64)> {
        let depth = self.const_input(node, 1)?;
        let depth = match depth.iter().copied().collect::<Vec<f32>>()[..] {
            [d] if d >= 1.0 => d as usize,
            _ => {
                return Err(node_error(
                    node,
                    format!("depth must be one value of at least 1, got {depth}"),
                ))
            }
        };
        let values = self.const_input(node, 2)?;
        match values.iter().copied().collect::<Vec<f32>>()[..] {
            [off, on] => Ok((depth, f64::from(off), f64::from(on))),
            _ => Err(node_error(
                node,
                format!("values must be [off_value, on_value], got {values}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_consecutive_indices() {
        assert_eq!(runs(&[0, 1, 3]), [(0, 2), (3, 1)]);
        assert_eq!(runs(&[2, 1, 2, 3]), [(2, 1), (1, 3)]);
        assert_eq!(runs(&[4]), [(4, 1)]);
    }

    #[test]
    fn replaced_axes_keep_the_data_order() {
        // A scalar index drops the axis: NHWC [0, 2, 3, 1] without ONNX axis 2 (H).
        assert_eq!(replace_axis(&[0, 2, 3, 1], 2, 0), [0, 2, 1]);
        // A [2, 3] index block splits ONNX axis 1 (C, last in hl) in two.
        assert_eq!(replace_axis(&[0, 2, 3, 1], 1, 2), [0, 3, 4, 1, 2]);
        assert_eq!(replace_axis(&[0, 1, 2], 1, 1), [0, 1, 2]);
    }
}
