//! Float evaluation of the ops that move values without arithmetic: the input/output
//! layers, concat, split, slice, reshape, transpose, depth/space rearrangements, feature
//! shuffle and padding. Reshapes and the identity move an operand that dies here.

use super::{arg, axis_in, rank4, take_first};
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::layout::{depth_to_space, space_to_depth, transpose, DepthToSpaceMode};
use crate::kernels::shape::{concat, pad, slice, PadMode, SliceSpec};
use crate::kernels::KernelError;
use crate::value::{Arg, BufferPool, Value};
use ndarray::{ArrayD, ArrayView4, ArrayViewD, Axis, IxDyn};

/// `hl.input_layer` / `hl.output_layer`: passes the operand through.
pub(crate) struct IdentityEval;
pub(crate) const IDENTITY: IdentityEval = IdentityEval;

impl Evaluate for IdentityEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 1, 1)?;
        Prepared::kernel(Identity)
    }
}

#[derive(Debug)]
pub(crate) struct Identity;

impl Kernel for Identity {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        one(take_first(args, "identity")?)
    }
}

/// `hl.concat` along `axis`.
pub(crate) struct ConcatEval;
pub(crate) const CONCAT: ConcatEval = ConcatEval;

impl Evaluate for ConcatEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Concat(axis_in(r, "axis", sig.input_rank(r)?)?))
    }
}

#[derive(Debug)]
struct Concat(usize);

impl Kernel for Concat {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let views = args
            .iter()
            .map(|a| a.f32("concat"))
            .collect::<Result<Vec<_>, _>>()?;
        one(concat(&views, self.0)?)
    }
}

/// `hl.split` into parts of `sizes` along `axis` (one result per part).
pub(crate) struct SplitEval;
pub(crate) const SPLIT: SplitEval = SplitEval;

impl Evaluate for SplitEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        let axis = axis_in(r, "axis", sig.input_rank(r)?)?;
        let sizes = r.usizes("sizes", sig.results.len())?;
        Prepared::kernel(Split { axis, sizes })
    }
}

#[derive(Debug)]
struct Split {
    axis: usize,
    sizes: Vec<usize>,
}

impl Kernel for Split {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = arg(&args, 0, "split")?;
        let (axis, sizes) = (self.axis, &self.sizes);
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
                Value::F32(part.as_standard_layout().into_owned())
            })
            .collect())
    }
}

/// `hl.slice` (`starts`, `ends`, optional `steps`, one entry per axis).
pub(crate) struct SliceEval;
pub(crate) const SLICE: SliceEval = SliceEval;

impl Evaluate for SliceEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 1, 1)?;
        let rank = sig.input_rank(r)?;
        let (starts, ends) = (r.i64s("starts")?, r.i64s("ends")?);
        let steps = r.i64s_opt("steps")?.unwrap_or_else(|| vec![1; rank]);
        if starts.len() != rank || ends.len() != rank || steps.len() != rank {
            return Err(r.err(format!("starts/ends/steps need one entry per axis ({rank}), found {starts:?} {ends:?} {steps:?}")));
        }
        if steps.iter().any(|&s| s <= 0) {
            return Err(r.err(format!("steps must be positive, found {steps:?}")));
        }
        let batch = sig.input_shape(r, 0)?.first().copied().unwrap_or(0) as i64;
        // A slice keeping the whole batch axis keeps it whatever the run's batch size.
        let end = |axis: usize| {
            let whole = axis == 0 && starts[0] == 0 && steps[0] == 1 && ends[0] >= batch;
            if whole {
                i64::MAX
            } else {
                ends[axis]
            }
        };
        let specs = (0..rank)
            .map(|axis| SliceSpec {
                axis,
                start: starts[axis],
                end: end(axis),
                step: steps[axis],
            })
            .collect();
        Prepared::kernel(Slice(specs))
    }
}

/// `i64::MAX` as an end stands for the run's batch size.
#[derive(Debug)]
struct Slice(Vec<SliceSpec>);

impl Kernel for Slice {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = arg(&args, 0, "slice")?;
        let specs: Vec<SliceSpec> = self
            .0
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
}

/// `hl.reshape` to the result type's shape (dimension 0 scales with the run's batch).
pub(crate) struct ReshapeEval;
pub(crate) const RESHAPE: ReshapeEval = ReshapeEval;

impl Evaluate for ReshapeEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Reshape(sig.result_shape(r)?))
    }
}

#[derive(Debug)]
struct Reshape(Vec<usize>);

/// A reshape's result shape for an input of `len` elements: the batch (first) axis takes
/// whatever the other axes leave, so a reshape that folds the batch into rows (`[1, T, C]`
/// to `[T, C]`) runs on any batch.
pub(crate) fn batched_shape(result: &[usize], len: usize) -> Vec<usize> {
    let inner: usize = result.iter().skip(1).product();
    let mut target = result.to_vec();
    if let (Some(first), Some(n)) = (target.first_mut(), len.checked_div(inner)) {
        *first = n;
    }
    target
}

impl Kernel for Reshape {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = take_first(args, "reshape")?;
        let target = batched_shape(&self.0, x.len());
        let from = x.shape().to_vec();
        one(x.into_shape_with_order(IxDyn(&target)).map_err(|_| {
            KernelError::new("reshape", format!("cannot reshape {from:?} to {target:?}"))
        })?)
    }
}

/// `hl.transpose` (`perm`, numpy order).
pub(crate) struct TransposeEval;
pub(crate) const TRANSPOSE: TransposeEval = TransposeEval;

impl Evaluate for TransposeEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Transpose(r.usizes("perm", sig.input_rank(r)?)?))
    }
}

#[derive(Debug)]
struct Transpose(Vec<usize>);

impl Kernel for Transpose {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        one(transpose(arg(&args, 0, "transpose")?, &self.0)?)
    }
}

/// `hl.depth_to_space` (`block_size`, mode DCR or CRD).
pub(crate) struct DepthToSpaceEval;
pub(crate) const DEPTH_TO_SPACE: DepthToSpaceEval = DepthToSpaceEval;

impl Evaluate for DepthToSpaceEval {
    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        let mode = match r.str_or("mode", "DCR")? {
            "DCR" => DepthToSpaceMode::Dcr,
            "CRD" => DepthToSpaceMode::Crd,
            other => return Err(r.err(format!("unknown depth_to_space mode '{other}'"))),
        };
        Prepared::kernel(DepthToSpace {
            block: r.usize("block_size")?,
            mode,
        })
    }
}

#[derive(Debug)]
struct DepthToSpace {
    block: usize,
    mode: DepthToSpaceMode,
}

impl Kernel for DepthToSpace {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let xv = arg(&args, 0, "depth_to_space")?;
        let x = rank4("depth_to_space", &xv)?;
        one(depth_to_space(x, self.block, self.mode)?.into_dyn())
    }
}

/// `hl.space_to_depth` (`block_size`, mode classic or YOLOv5's focus).
pub(crate) struct SpaceToDepthEval;
pub(crate) const SPACE_TO_DEPTH: SpaceToDepthEval = SpaceToDepthEval;

impl Evaluate for SpaceToDepthEval {
    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        let focus = match r.str_or("mode", "classic")? {
            "classic" => false,
            "focus" => true,
            other => return Err(r.err(format!("unknown space_to_depth mode '{other}'"))),
        };
        Prepared::kernel(SpaceToDepth {
            block: r.usize("block_size")?,
            focus,
        })
    }
}

#[derive(Debug)]
struct SpaceToDepth {
    block: usize,
    focus: bool,
}

impl Kernel for SpaceToDepth {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let xv = arg(&args, 0, "space_to_depth")?;
        let x = rank4("space_to_depth", &xv)?;
        one(if self.focus {
            space_to_depth_focus(x, self.block)?
        } else {
            space_to_depth(x, self.block)?.into_dyn()
        })
    }
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

/// `hl.feature_shuffle` (`groups`): the channel axis viewed as `[groups, c/groups]` is
/// transposed.
pub(crate) struct FeatureShuffleEval;
pub(crate) const FEATURE_SHUFFLE: FeatureShuffleEval = FeatureShuffleEval;

impl Evaluate for FeatureShuffleEval {
    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(FeatureShuffle(r.usize("groups")?))
    }
}

#[derive(Debug)]
struct FeatureShuffle(usize);

impl Kernel for FeatureShuffle {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = "feature_shuffle";
        let x = take_first(args, OP)?;
        let shape = x.shape().to_vec();
        let (lead, c) = shape.split_at(shape.len().saturating_sub(1));
        let c = c.first().copied().unwrap_or(0);
        let (a, b) = (self.0, c / self.0.max(1));
        if a == 0 || b == 0 || a * b != c {
            return Err(KernelError::new(
                OP,
                format!("{c} channels do not split into {a}×{b}"),
            ));
        }
        let mut split: Vec<usize> = lead.to_vec();
        split.extend([a, b]);
        let r = split.len();
        let v = x
            .into_shape_with_order(IxDyn(&split))
            .map_err(|e| KernelError::new(OP, e.to_string()))?;
        let mut perm: Vec<usize> = (0..r).collect();
        perm.swap(r - 2, r - 1);
        let t = v
            .permuted_axes(IxDyn(&perm))
            .as_standard_layout()
            .into_owned();
        one(t
            .into_shape_with_order(IxDyn(&shape))
            .map_err(|e| KernelError::new(OP, e.to_string()))?)
    }
}

/// `hl.pad` (`pads` = all befores then all afters; mode constant/reflect/edge/wrap).
pub(crate) struct PadEval;
pub(crate) const PAD: PadEval = PadEval;

impl Evaluate for PadEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        let rank = sig.input_rank(r)?;
        let p = r.usizes("pads", 2 * rank)?;
        let pads = (0..rank).map(|i| (p[i], p[i + rank])).collect();
        let mode = match r.str_or("mode", "constant")? {
            "constant" => PadMode::Constant(r.f32_or("value", 0.0)?),
            "reflect" => PadMode::Reflect,
            "edge" => PadMode::Edge,
            "wrap" => PadMode::Wrap,
            other => return Err(r.err(format!("unknown pad mode '{other}'"))),
        };
        Prepared::kernel(Pad { pads, mode })
    }
}

#[derive(Debug)]
struct Pad {
    pads: Vec<(usize, usize)>,
    mode: PadMode,
}

impl Kernel for Pad {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x: ArrayViewD<f32> = arg(&args, 0, "pad")?;
        one(pad(x, &self.pads, self.mode)?)
    }
}
