//! Float evaluation of the remaining `hl` ops: constants, pooling, resize, reductions,
//! argmax and one-hot.

use super::{arg, axes_in, axis_in, rank4};
use crate::attrs::OpReader;
use crate::consts::decode_const;
use crate::error::ExecError;
use crate::evaluate::{one, Domain, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::pool::{
    avg_pool2d, global_avg_pool, global_max_pool, max_pool2d, Pool2dParams,
};
use crate::kernels::reduce::{reduce, ReduceOp};
use crate::kernels::resize::{resize, CoordinateMode, Interpolation, NearestMode, ResizeParams};
use crate::kernels::softmax::argmax;
use crate::kernels::KernelError;
use crate::value::{Arg, BufferPool, Value};
use ndarray::{ArrayD, Axis, IxDyn};

/// `hl.const`: decoded once, whatever element type the model stores, to f32.
pub(crate) struct ConstEval;
pub(crate) const CONST: ConstEval = ConstEval;

impl Evaluate for ConstEval {
    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        Ok(Prepared::Constant(Value::F32(decode_const(r)?)))
    }
}

/// `hl.maxpool` / `hl.avgpool` (`kernel`, `strides`, `dilations`, padding, `ceil_mode`,
/// `count_include_pad`).
pub(crate) struct PoolEval {
    max: bool,
}
pub(crate) const MAX_POOL: PoolEval = PoolEval { max: true };
pub(crate) const AVG_POOL: PoolEval = PoolEval { max: false };

impl Evaluate for PoolEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 1, 1)?;
        let input = sig.spatial(r)?;
        let k = r.usizes("kernel", 2)?;
        let kernel = [k[0], k[1]];
        let stride = r.pair_or("strides", 1)?;
        let dilation = r.pair_or("dilations", 1)?;
        let params = Pool2dParams {
            kernel,
            stride,
            dilation,
            pads: r.padding(input, kernel, stride, dilation)?,
            ceil_mode: r.bool_or("ceil_mode", false)?,
            count_include_pad: r.bool_or("count_include_pad", false)?,
        };
        Prepared::kernel(Pool {
            max: self.max,
            params,
        })
    }
}

#[derive(Debug)]
struct Pool {
    max: bool,
    params: Pool2dParams,
}

impl Kernel for Pool {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let xv = arg(&args, 0, "pool")?;
        let x = rank4("pool", &xv)?;
        let out = if self.max {
            max_pool2d(x, &self.params)?
        } else {
            avg_pool2d(x, &self.params)?
        };
        one(out.into_dyn())
    }
}

/// `hl.global_avgpool` / `hl.global_maxpool`.
pub(crate) struct GlobalPoolEval {
    max: bool,
}
pub(crate) const GLOBAL_AVG_POOL: GlobalPoolEval = GlobalPoolEval { max: false };
pub(crate) const GLOBAL_MAX_POOL: GlobalPoolEval = GlobalPoolEval { max: true };

impl Evaluate for GlobalPoolEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.spatial(r)?;
        Prepared::kernel(GlobalPool { max: self.max })
    }
}

#[derive(Debug)]
struct GlobalPool {
    max: bool,
}

impl Kernel for GlobalPool {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let xv = arg(&args, 0, "global_pool")?;
        let x = rank4("global_pool", &xv)?;
        one(if self.max {
            global_max_pool(x)
        } else {
            global_avg_pool(x)
        }
        .into_dyn())
    }
}

/// `hl.resize` to the result type's spatial size (nearest or bilinear).
pub(crate) struct ResizeEval;
pub(crate) const RESIZE: ResizeEval = ResizeEval;

impl Evaluate for ResizeEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 1, 1)?;
        sig.spatial(r)?;
        let out = sig.result_shape(r)?;
        if out.len() != 4 {
            return Err(r.err(format!("result must be rank 4, found {out:?}")));
        }
        let coordinate_mode = match r.str_or("coordinate", "half_pixel")? {
            "half_pixel" => CoordinateMode::HalfPixel,
            "pytorch_half_pixel" => CoordinateMode::PytorchHalfPixel,
            "align_corners" => CoordinateMode::AlignCorners,
            "asymmetric" => CoordinateMode::Asymmetric,
            "tf_half_pixel_for_nn" => CoordinateMode::TfHalfPixelForNn,
            other => return Err(r.err(format!("unknown coordinate mode '{other}'"))),
        };
        let interpolation = match r.str_or("mode", "nearest")? {
            "bilinear" => Interpolation::Bilinear,
            "nearest" => {
                Interpolation::Nearest(match r.str_or("nearest_mode", "round_prefer_floor")? {
                    "round_prefer_floor" => NearestMode::RoundPreferFloor,
                    "round_prefer_ceil" => NearestMode::RoundPreferCeil,
                    "floor" => NearestMode::Floor,
                    "ceil" => NearestMode::Ceil,
                    other => return Err(r.err(format!("unknown nearest_mode '{other}'"))),
                })
            }
            other => {
                return Err(r.err(format!(
                    "unknown resize mode '{other}' (expected nearest or bilinear)"
                )))
            }
        };
        Prepared::kernel(Resize(ResizeParams {
            size: [out[1], out[2]],
            scales: None,
            coordinate_mode,
            interpolation,
        }))
    }
}

#[derive(Debug)]
struct Resize(ResizeParams);

impl Kernel for Resize {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let xv = arg(&args, 0, "resize")?;
        one(resize(rank4("resize", &xv)?, &self.0)?.into_dyn())
    }
}

/// `hl.argmax` along `axis`: float in, indices out (held as f32 whether the result type is
/// float or integer).
pub(crate) struct ArgmaxEval;
pub(crate) const ARGMAX: ArgmaxEval = ArgmaxEval;

impl Evaluate for ArgmaxEval {
    fn domain(&self) -> Domain {
        Domain::FloatToIndex
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Argmax {
            axis: axis_in(r, "axis", sig.input_rank(r)?)?,
            keepdims: r.bool_or("keepdims", true)?,
        })
    }
}

#[derive(Debug)]
struct Argmax {
    axis: usize,
    keepdims: bool,
}

impl Kernel for Argmax {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = arg(&args, 0, "argmax")?;
        one(argmax(x, self.axis, self.keepdims)?.mapv(|i| i as f32))
    }
}

/// `hl.reduce` (`kind`, `axes`, `keepdims`).
pub(crate) struct ReduceEval;
pub(crate) const REDUCE: ReduceEval = ReduceEval;

impl Evaluate for ReduceEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        let op = match r.str_or("kind", "")? {
            "max" => ReduceOp::Max,
            "min" => ReduceOp::Min,
            "sum" => ReduceOp::Sum,
            "mean" => ReduceOp::Mean,
            "sum_square" => ReduceOp::SumSquare,
            "l2" => ReduceOp::L2,
            other => return Err(r.err(format!("unknown reduce kind '{other}'"))),
        };
        Prepared::kernel(Reduce {
            op,
            axes: axes_in(r, "axes", sig.input_rank(r)?)?,
            keepdims: r.bool_or("keepdims", true)?,
        })
    }
}

#[derive(Debug)]
struct Reduce {
    op: ReduceOp,
    axes: Vec<usize>,
    keepdims: bool,
}

impl Kernel for Reduce {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = arg(&args, 0, "reduce")?;
        one(reduce(x, self.op, &self.axes, self.keepdims)?)
    }
}

/// `hl.one_hot` (`depth`, `on_value`, `off_value`): a new trailing axis.
pub(crate) struct OneHotEval;
pub(crate) const ONE_HOT: OneHotEval = OneHotEval;

impl Evaluate for OneHotEval {
    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(OneHot {
            depth: r.usize("depth")?,
            on: r.f32_or("on_value", 1.0)?,
            off: r.f32_or("off_value", 0.0)?,
        })
    }
}

#[derive(Debug)]
struct OneHot {
    depth: usize,
    on: f32,
    off: f32,
}

impl Kernel for OneHot {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = arg(&args, 0, "one_hot")?;
        let depth = self.depth;
        let mut shape = x.shape().to_vec();
        shape.push(depth);
        let mut out = ArrayD::from_elem(IxDyn(&shape), self.off);
        for (mut lane, &v) in out
            .lanes_mut(Axis(shape.len() - 1))
            .into_iter()
            .zip(x.iter())
        {
            let i = v as i64;
            let i = if i < 0 { i + depth as i64 } else { i };
            if let Some(slot) = usize::try_from(i).ok().filter(|&i| i < depth) {
                lane[slot] = self.on;
            }
        }
        one(out)
    }
}
