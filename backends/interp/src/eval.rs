//! Evaluation of one decoded op on concrete tensors.
//!
//! Operands arrive as [`Arg`]s: an operand whose last use is this op is handed over owned,
//! so element-wise ops (activations, batch norm, fused adds, PReLU) work in place and
//! reshapes move their buffer. Convolution and dense outputs come from a [`BufferPool`]
//! fed by tensors freed after their last use, so a plan reuses memory across layers.

use crate::kernels::activation::{activate, prelu, Activation};
use crate::kernels::color::{color_conversion, format_conversion};
use crate::kernels::conv::{conv2d_act_into, conv2d_output_shape, Conv2dParams};
use crate::kernels::deconv::conv_transpose2d;
use crate::kernels::dense::{dense_into, matmul};
use crate::kernels::elementwise::{binary, binary_inplace, broadcast_shape, BinaryOp};
use crate::kernels::layout::{depth_to_space, space_to_depth, transpose};
use crate::kernels::nms::{bbox_decoding, nms_postprocess};
use crate::kernels::norm::{batch_norm, instance_norm, l2_norm, layer_norm};
use crate::kernels::pool::{avg_pool2d, global_avg_pool, global_max_pool, max_pool2d};
use crate::kernels::postprocess_yolov5_seg::yolov5_seg_postprocess;
use crate::kernels::reduce::reduce;
use crate::kernels::resize::resize;
use crate::kernels::shape::{concat, pad, slice, SliceSpec};
use crate::kernels::softmax::{argmax, log_softmax, softmax};
use crate::kernels::KernelError;
use crate::ops::OpKind;
use ndarray::{Array2, ArrayD, ArrayView4, ArrayViewD, Axis, Ix4, IxDyn};
use std::borrow::Cow;

/// An operand: owned when this op is its last user, else borrowed.
pub(crate) enum Arg<'a> {
    Owned(ArrayD<f32>),
    View(ArrayViewD<'a, f32>),
}

impl Arg<'_> {
    fn view(&self) -> ArrayViewD<'_, f32> {
        match self {
            Arg::Owned(a) => a.view(),
            Arg::View(v) => v.view(),
        }
    }

    fn shape(&self) -> &[usize] {
        match self {
            Arg::Owned(a) => a.shape(),
            Arg::View(v) => v.shape(),
        }
    }

    /// The tensor itself, copied only when borrowed; always in standard layout.
    fn into_owned(self) -> ArrayD<f32> {
        match self {
            Arg::Owned(a) if a.is_standard_layout() => a,
            Arg::Owned(a) => a.as_standard_layout().into_owned(),
            Arg::View(v) => v.as_standard_layout().into_owned(),
        }
    }
}

/// Freed tensor buffers, handed out again for convolution and dense outputs.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: Vec<Vec<f32>>,
    /// im2col scratch of the convolutions.
    pub im2col: Vec<f32>,
}

/// Buffers kept for reuse; more would raise peak memory without saving allocations.
const POOL_CAPACITY: usize = 1;

impl BufferPool {
    /// Returns a freed tensor's buffer to the pool.
    pub fn release(&mut self, a: ArrayD<f32>) {
        let (buf, offset) = a.into_raw_vec_and_offset();
        if offset.unwrap_or(0) != 0 || buf.capacity() == 0 {
            return;
        }
        self.free.push(buf);
        if self.free.len() > POOL_CAPACITY {
            // Keep the largest buffers: they serve every smaller request too.
            self.free.sort_by_key(|b| std::cmp::Reverse(b.capacity()));
            self.free.truncate(POOL_CAPACITY);
        }
    }

    /// A buffer of `len` elements (contents unspecified), reusing the smallest that fits.
    fn take(&mut self, len: usize) -> Vec<f32> {
        let best = (0..self.free.len())
            .filter(|&i| self.free[i].capacity() >= len)
            .min_by_key(|&i| self.free[i].capacity());
        let mut buf = best.map_or_else(|| Vec::with_capacity(len), |i| self.free.swap_remove(i));
        buf.clear();
        buf.resize(len, 0.0);
        buf
    }

    fn zeros(&mut self, shape: &[usize]) -> Result<ArrayD<f32>, KernelError> {
        let buf = self.take(shape.iter().product());
        ArrayD::from_shape_vec(IxDyn(shape), buf)
            .map_err(|e| KernelError::new("alloc", e.to_string()))
    }
}

fn rank4<'a>(
    op: &'static str,
    x: &'a ArrayViewD<'a, f32>,
) -> Result<ArrayView4<'a, f32>, KernelError> {
    x.view().into_dimensionality::<Ix4>().map_err(|_| {
        KernelError::new(
            op,
            format!("expects a rank-4 tensor, got shape {:?}", x.shape()),
        )
    })
}

fn vector<'a>(x: &'a ArrayViewD<'a, f32>) -> Cow<'a, [f32]> {
    match x.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(x.iter().copied().collect()),
    }
}

fn with_activation(mut x: ArrayD<f32>, act: Activation) -> ArrayD<f32> {
    activate(act, x.view_mut());
    x
}

fn conv(
    args: &[Arg],
    p: &Conv2dParams,
    act: Activation,
    pool: &mut BufferPool,
) -> Result<ArrayD<f32>, KernelError> {
    let (xv, wv) = (args[0].view(), args[1].view());
    let (x, w) = (rank4("conv2d", &xv)?, rank4("conv2d", &wv)?);
    let bv = args.get(2).map(Arg::view);
    let bias = bv.as_ref().map(vector);
    let shape = conv2d_output_shape(x.dim().into(), w.dim().into(), p)?;
    let out = pool.zeros(&shape)?;
    let mut out = out
        .into_dimensionality::<Ix4>()
        .map_err(|e| KernelError::new("conv2d", e.to_string()))?;
    conv2d_act_into(
        x,
        w,
        bias.as_deref(),
        p,
        act,
        out.view_mut(),
        &mut pool.im2col,
    )?;
    Ok(out.into_dyn())
}

fn dense(args: &[Arg], pool: &mut BufferPool) -> Result<ArrayD<f32>, KernelError> {
    let (xv, wv) = (args[0].view(), args[1].view());
    let n = xv.shape().first().copied().unwrap_or(1);
    let features = xv.len() / n.max(1);
    let xs = xv.as_standard_layout();
    let x = xs
        .view()
        .into_shape_with_order((n, features))
        .map_err(|e| KernelError::new("dense", e.to_string()))?;
    let w = wv.view().into_dimensionality().map_err(|_| {
        KernelError::new(
            "dense",
            format!("kernel must be [cin, cout], got {:?}", wv.shape()),
        )
    })?;
    let bv = args.get(2).map(Arg::view);
    let bias = bv.as_ref().map(vector);
    let cout = wv.shape()[1];
    let buf = pool.take(n * cout);
    let mut out = Array2::from_shape_vec((n, cout), buf)
        .map_err(|e| KernelError::new("dense", e.to_string()))?;
    dense_into(x, w, bias.as_deref(), out.view_mut())?;
    Ok(out.into_dyn())
}

fn binary_op(mut args: Vec<Arg>, op: BinaryOp) -> Result<ArrayD<f32>, KernelError> {
    let shape = broadcast_shape("binary", args[0].shape(), args[1].shape())?;
    let commutes = matches!(
        op,
        BinaryOp::Add | BinaryOp::Mul | BinaryOp::Max | BinaryOp::Min
    );
    let b = args.pop();
    let a = args.pop();
    match (a, b) {
        (Some(Arg::Owned(mut a)), Some(b)) if a.shape() == shape.as_slice() => {
            binary_inplace(op, a.view_mut(), b.view())?;
            Ok(a)
        }
        (Some(a), Some(Arg::Owned(mut b))) if commutes && b.shape() == shape.as_slice() => {
            binary_inplace(op, b.view_mut(), a.view())?;
            Ok(b)
        }
        (Some(a), Some(b)) => binary(op, a.view(), b.view()),
        _ => Err(KernelError::new("binary", "expects two operands")),
    }
}

/// Slices of `x` along `axis` with the given sizes.
fn split(
    x: ArrayViewD<f32>,
    axis: usize,
    sizes: &[usize],
) -> Result<Vec<ArrayD<f32>>, KernelError> {
    let total: usize = sizes.iter().sum();
    if x.shape().get(axis) != Some(&total) {
        return Err(KernelError::new(
            "split",
            format!(
                "sizes {sizes:?} do not add up to axis {axis} of shape {:?}",
                x.shape()
            ),
        ));
    }
    let mut start = 0;
    Ok(sizes
        .iter()
        .map(|&s| {
            let part = x.slice_axis(Axis(axis), ndarray::Slice::from(start..start + s));
            start += s;
            part.as_standard_layout().into_owned()
        })
        .collect())
}

/// `x` reshaped to `shape` with dimension 0 inferred, so batched runs keep their batch.
fn reshape(x: ArrayD<f32>, shape: &[usize]) -> Result<ArrayD<f32>, KernelError> {
    let inner: usize = shape.iter().skip(1).product();
    let mut target = shape.to_vec();
    if let (Some(first), Some(n)) = (target.first_mut(), x.len().checked_div(inner)) {
        *first = n;
    }
    let from = x.shape().to_vec();
    x.into_shape_with_order(IxDyn(&target))
        .map_err(|_| KernelError::new("reshape", format!("cannot reshape {from:?} to {target:?}")))
}

/// Permutes the channel axis viewed as `[a, b]` into `[b, a]`.
fn swap_channel_blocks(
    x: ArrayD<f32>,
    a: usize,
    b: usize,
    op: &'static str,
) -> Result<ArrayD<f32>, KernelError> {
    let shape = x.shape().to_vec();
    let lead = &shape[..shape.len() - 1];
    let c = shape[shape.len() - 1];
    if a == 0 || b == 0 || a * b != c {
        return Err(KernelError::new(
            op,
            format!("{c} channels do not split into {a}×{b}"),
        ));
    }
    let mut split: Vec<usize> = lead.to_vec();
    split.extend([a, b]);
    let r = split.len();
    let v = x
        .into_shape_with_order(IxDyn(&split))
        .map_err(|e| KernelError::new(op, e.to_string()))?;
    let mut perm: Vec<usize> = (0..r).collect();
    perm.swap(r - 2, r - 1);
    let t = v
        .permuted_axes(IxDyn(&perm))
        .as_standard_layout()
        .into_owned();
    t.into_shape_with_order(IxDyn(&shape))
        .map_err(|e| KernelError::new(op, e.to_string()))
}

/// `[n, h, w, c]` → `[n, h/b, w/b, c·b²]` with the YOLOv5 Focus channel order (column
/// offset outer, row offset inner), from the classic order (row offset outer).
fn space_to_depth_focus(x: ArrayView4<f32>, block: usize) -> Result<ArrayD<f32>, KernelError> {
    let c = x.dim().3;
    let classic = space_to_depth(x, block)?.into_dyn();
    let shape = classic.shape().to_vec();
    let mut split = shape[..3].to_vec();
    split.extend([block, block, c]);
    let v = classic
        .into_shape_with_order(IxDyn(&split))
        .map_err(|e| KernelError::new("space_to_depth", e.to_string()))?;
    let t = v
        .permuted_axes(IxDyn(&[0, 1, 2, 4, 3, 5]))
        .as_standard_layout()
        .into_owned();
    t.into_shape_with_order(IxDyn(&shape))
        .map_err(|e| KernelError::new("space_to_depth", e.to_string()))
}

fn one_hot(x: ArrayViewD<f32>, depth: usize, on: f32, off: f32) -> ArrayD<f32> {
    let mut shape = x.shape().to_vec();
    shape.push(depth);
    let mut out = ArrayD::from_elem(IxDyn(&shape), off);
    for (lane, &v) in out
        .lanes_mut(Axis(shape.len() - 1))
        .into_iter()
        .zip(x.iter())
    {
        let i = v as i64;
        let i = if i < 0 { i + depth as i64 } else { i };
        if let Some(slot) = usize::try_from(i).ok().filter(|&i| i < depth) {
            let mut lane = lane;
            lane[slot] = on;
        }
    }
    out
}

fn per_channel(
    mut x: ArrayD<f32>,
    scale: &[f32],
    shift: &[f32],
) -> Result<ArrayD<f32>, KernelError> {
    let c = x.shape().last().copied().unwrap_or(0);
    if c != scale.len() {
        return Err(KernelError::new(
            "normalization",
            format!("{} mean/std values for {c} channels", scale.len()),
        ));
    }
    let last = Axis(x.ndim() - 1);
    for mut lane in x.lanes_mut(last) {
        lane.iter_mut()
            .zip(scale)
            .zip(shift)
            .for_each(|((v, s), b)| *v = *v * s + b);
    }
    Ok(x)
}

/// Evaluates `kind` on `args`; returns one tensor per result.
pub(crate) fn eval(
    kind: &OpKind,
    mut args: Vec<Arg>,
    pool: &mut BufferPool,
) -> Result<Vec<ArrayD<f32>>, KernelError> {
    let first = || KernelError::new("eval", "missing operand");
    let one = |a: ArrayD<f32>| Ok(vec![a]);
    match kind {
        OpKind::Identity => one(args.swap_remove(0).into_owned()),
        OpKind::Conv { params, act } => one(conv(&args, params, *act, pool)?),
        OpKind::Deconv { params, act } => {
            let (xv, wv) = (args[0].view(), args[1].view());
            let bv = args.get(2).map(Arg::view);
            let bias = bv.as_ref().map(vector);
            let out = conv_transpose2d(
                rank4("deconv2d", &xv)?,
                rank4("deconv2d", &wv)?,
                bias.as_deref(),
                params,
            )?;
            one(with_activation(out.into_dyn(), *act))
        }
        OpKind::Dense { act } => one(with_activation(dense(&args, pool)?, *act)),
        OpKind::Matmul { transpose_b } => {
            let (a, mut b) = (args[0].view(), args[1].view());
            if *transpose_b {
                let r = b.ndim();
                if r < 2 {
                    return Err(KernelError::new(
                        "matmul",
                        "transpose_b needs a rank >= 2 operand",
                    ));
                }
                b.swap_axes(r - 2, r - 1);
            }
            one(matmul(a, b)?)
        }
        OpKind::Pool { max, params } => {
            let xv = args[0].view();
            let x = rank4("pool", &xv)?;
            let out = if *max {
                max_pool2d(x, params)?
            } else {
                avg_pool2d(x, params)?
            };
            one(out.into_dyn())
        }
        OpKind::GlobalPool { max } => {
            let xv = args[0].view();
            let x = rank4("global_pool", &xv)?;
            one(if *max {
                global_max_pool(x)
            } else {
                global_avg_pool(x)
            }
            .into_dyn())
        }
        OpKind::BatchNorm { eps, act } => {
            let mut it = args.into_iter();
            let mut x = it.next().ok_or_else(first)?.into_owned();
            let p: Vec<ArrayD<f32>> = it.map(Arg::into_owned).collect();
            let s = |i: usize| p.get(i).and_then(|a| a.as_slice()).unwrap_or(&[]);
            batch_norm(x.view_mut(), s(0), s(1), s(2), s(3), *eps)?;
            one(with_activation(x, *act))
        }
        OpKind::Activation(act) => one(with_activation(args.swap_remove(0).into_owned(), *act)),
        OpKind::Prelu => {
            let slope = args.pop().ok_or_else(first)?;
            let mut x = args.pop().ok_or_else(first)?.into_owned();
            prelu(x.view_mut(), slope.view())?;
            one(x)
        }
        OpKind::Binary { op, act } => one(with_activation(binary_op(args, *op)?, *act)),
        OpKind::Concat { axis } => {
            let views: Vec<ArrayViewD<f32>> = args.iter().map(Arg::view).collect();
            one(concat(&views, *axis)?)
        }
        OpKind::Split { axis, sizes } => split(args[0].view(), *axis, sizes),
        OpKind::Slice { specs } => {
            let x = args[0].view();
            let specs: Vec<SliceSpec> = specs
                .iter()
                .map(|s| SliceSpec {
                    end: if s.end == i64::MAX {
                        x.shape()[s.axis] as i64
                    } else {
                        s.end
                    },
                    ..*s
                })
                .collect();
            one(slice(x, &specs)?)
        }
        OpKind::Reshape { shape } => one(reshape(args.swap_remove(0).into_owned(), shape)?),
        OpKind::Transpose { perm } => one(transpose(args[0].view(), perm)?),
        OpKind::Resize { params } => {
            let xv = args[0].view();
            one(resize(rank4("resize", &xv)?, params)?.into_dyn())
        }
        OpKind::DepthToSpace { block, mode } => {
            let xv = args[0].view();
            one(depth_to_space(rank4("depth_to_space", &xv)?, *block, *mode)?.into_dyn())
        }
        OpKind::SpaceToDepth { block, focus } => {
            let xv = args[0].view();
            let x = rank4("space_to_depth", &xv)?;
            one(if *focus {
                space_to_depth_focus(x, *block)?
            } else {
                space_to_depth(x, *block)?.into_dyn()
            })
        }
        OpKind::FeatureShuffle { groups } => {
            let x = args.swap_remove(0).into_owned();
            let c = x.shape().last().copied().unwrap_or(0);
            one(swap_channel_blocks(
                x,
                *groups,
                c / (*groups).max(1),
                "feature_shuffle",
            )?)
        }
        OpKind::Softmax { axis, log } => {
            let x = args[0].view();
            one(if *log {
                log_softmax(x, *axis)?
            } else {
                softmax(x, *axis)?
            })
        }
        OpKind::Argmax { axis, keepdims } => {
            one(argmax(args[0].view(), *axis, *keepdims)?.mapv(|i| i as f32))
        }
        OpKind::Reduce { op, axes, keepdims } => one(reduce(args[0].view(), *op, axes, *keepdims)?),
        OpKind::Normalization { scale, shift } => {
            one(per_channel(args.swap_remove(0).into_owned(), scale, shift)?)
        }
        OpKind::Pad { pads, mode } => one(pad(args[0].view(), pads, *mode)?),
        OpKind::OneHot { depth, on, off } => one(one_hot(args[0].view(), *depth, *on, *off)),
        OpKind::LayerNorm { axis, eps } => {
            let (gv, bv) = (args.get(1).map(Arg::view), args.get(2).map(Arg::view));
            let (g, b) = (gv.as_ref().map(vector), bv.as_ref().map(vector));
            one(layer_norm(
                args[0].view(),
                *axis,
                g.as_deref(),
                b.as_deref(),
                *eps,
            )?)
        }
        OpKind::InstanceNorm { eps } => {
            let (xv, gv, bv) = (args[0].view(), args[1].view(), args[2].view());
            let out = instance_norm(
                rank4("instance_norm", &xv)?,
                &vector(&gv),
                &vector(&bv),
                *eps,
            )?;
            one(out.into_dyn())
        }
        OpKind::L2Norm { axis, eps } => one(l2_norm(args[0].view(), *axis, *eps)?),
        OpKind::ColorConversion { kernel, bias } => {
            let xv = args[0].view();
            one(color_conversion(rank4("color_conversion", &xv)?, kernel, bias)?.into_dyn())
        }
        OpKind::FormatConversion { emulate: false, .. } => one(args.swap_remove(0).into_owned()),
        OpKind::FormatConversion {
            kind,
            emulate: true,
        } => {
            let xv = args[0].view();
            one(format_conversion(rank4("format_conversion", &xv)?, *kind)?.into_dyn())
        }
        OpKind::Nms {
            params,
            decoding_only,
        } => {
            let views: Vec<ArrayViewD<f32>> = args.iter().map(Arg::view).collect();
            let heads = views
                .iter()
                .map(|v| rank4("nms", v))
                .collect::<Result<Vec<_>, _>>()?;
            if *decoding_only {
                one(bbox_decoding(&heads, params)?.into_dyn())
            } else {
                one(nms_postprocess(&heads, params)?.into_dyn())
            }
        }
        OpKind::Yolov5Seg { params } => {
            let views: Vec<ArrayViewD<f32>> = args.iter().map(Arg::view).collect();
            let mut inputs = views
                .iter()
                .map(|v| rank4("nms", v))
                .collect::<Result<Vec<_>, _>>()?;
            let proto = inputs.pop().ok_or_else(|| {
                KernelError::new("yolov5_seg", "needs the heads and the prototype masks")
            })?;
            one(yolov5_seg_postprocess(&inputs, proto, params)?.into_dyn())
        }
    }
}

/// Shape check of a rank-4 result against the declared one (batch excluded).
pub(crate) fn same_except_batch(actual: &[usize], declared: &[usize]) -> bool {
    actual.len() == declared.len() && actual.iter().skip(1).eq(declared.iter().skip(1))
}
