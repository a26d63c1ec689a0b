//! Integer evaluation of the spatial `q` ops: max and average pooling (the window sum
//! rescaled and divided by the window size), global average pooling and resize (nearest
//! moves codes; bilinear blends them with fixed-point tap weights).

use super::{codes, input_type, single_requant};
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one_i32, Domain, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::resize::{CoordinateMode, NearestMode};
use crate::kernels::KernelError;
use crate::qkernels::pool::{avg_pool, global_avg_pool, max_pool, QPoolGeometry};
use crate::qkernels::spatial::{coordinate_mode, nearest_mode, resize_bilinear, resize_nearest};
use crate::qkernels::Requant;
use crate::value::{Arg, BufferPool, Value};
use hailo_dialect_quant::ops as q;
use ndarray::{ArrayView4, Ix4};

fn rank4<'a>(args: &'a [Arg], op: &'static str) -> Result<ArrayView4<'a, i32>, KernelError> {
    codes(args, 0, op)?
        .into_dimensionality::<Ix4>()
        .map_err(|e| KernelError::new(op, e.to_string()))
}

/// `q.maxpool` / `q.avgpool` (`kernel`, `strides`, `pads`, `ceil_mode`, `count_include_pad`).
pub(crate) struct PoolEval {
    max: bool,
}
pub(crate) const MAX_POOL: PoolEval = PoolEval { max: true };
pub(crate) const AVG_POOL: PoolEval = PoolEval { max: false };

impl Evaluate for PoolEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        let k = r.usizes("kernel", 2)?;
        let p = r.usizes_or("pads", &[0, 0, 0, 0])?;
        let geometry = QPoolGeometry {
            kernel: [k[0], k[1]],
            strides: r.pair_or("strides", 1)?,
            pads: [p[0], p[1], p[2], p[3]],
            count_include_pad: r.bool_or("count_include_pad", false)?,
            ceil_mode: r.bool_or("ceil_mode", false)?,
        };
        let average = if self.max {
            None
        } else {
            Some((input_type(r, sig, 0)?.zero_point(), single_requant(r, sig)?))
        };
        Prepared::kernel(Pool { geometry, average })
    }
}

#[derive(Debug)]
struct Pool {
    geometry: QPoolGeometry,
    /// The input zero point and the rescale of an average pool; `None` for max.
    average: Option<(i64, Requant)>,
}

impl Kernel for Pool {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let op = match self.average {
            None => q::MaxPool::NAME,
            Some(_) => q::AvgPool::NAME,
        };
        let x = rank4(&args, op)?;
        let y = match &self.average {
            None => max_pool(x, &self.geometry)?,
            Some((zp, r)) => avg_pool(x, *zp, &self.geometry, r)?,
        };
        one_i32(y.into_dyn())
    }
}

/// `q.global_avgpool`.
pub(crate) struct GlobalAvgPoolEval;
pub(crate) const GLOBAL_AVG_POOL: GlobalAvgPoolEval = GlobalAvgPoolEval;

impl Evaluate for GlobalAvgPoolEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(GlobalAvgPool {
            zp_in: input_type(r, sig, 0)?.zero_point(),
            out: single_requant(r, sig)?,
        })
    }
}

#[derive(Debug)]
struct GlobalAvgPool {
    zp_in: i64,
    out: Requant,
}

impl Kernel for GlobalAvgPool {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = rank4(&args, q::GlobalAvgPool::NAME)?;
        one_i32(global_avg_pool(x, self.zp_in, &self.out).into_dyn())
    }
}

/// `q.resize` to the result type's spatial size.
pub(crate) struct ResizeEval;
pub(crate) const RESIZE: ResizeEval = ResizeEval;

impl Evaluate for ResizeEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        let out = sig.result_shape(r)?;
        let size = [
            out.get(1).copied().unwrap_or(1),
            out.get(2).copied().unwrap_or(1),
        ];
        let c = r.str_or("coordinate", "half_pixel")?;
        let coordinate =
            coordinate_mode(c).ok_or_else(|| r.err(format!("unknown coordinate mode '{c}'")))?;
        let mode = if r.str_or("mode", "nearest")? == "bilinear" {
            let f = r.i64_opt("frac_bits")?.unwrap_or(0);
            Mode::Bilinear(
                u32::try_from(f).map_err(|_| r.err(format!("'frac_bits' = {f} is negative")))?,
            )
        } else {
            let n = r.str_or("nearest_mode", "round_prefer_floor")?;
            Mode::Nearest(
                nearest_mode(n).ok_or_else(|| r.err(format!("unknown nearest_mode '{n}'")))?,
            )
        };
        Prepared::kernel(Resize {
            size,
            coordinate,
            mode,
        })
    }
}

#[derive(Debug)]
enum Mode {
    Nearest(NearestMode),
    /// Fractional bits of the tap weights.
    Bilinear(u32),
}

#[derive(Debug)]
struct Resize {
    size: [usize; 2],
    coordinate: CoordinateMode,
    mode: Mode,
}

impl Kernel for Resize {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = rank4(&args, q::Resize::NAME)?;
        let y = match self.mode {
            Mode::Bilinear(f) => resize_bilinear(x, self.size, self.coordinate, f)?,
            Mode::Nearest(n) => resize_nearest(x, self.size, self.coordinate, n)?,
        };
        one_i32(y.into_dyn())
    }
}
