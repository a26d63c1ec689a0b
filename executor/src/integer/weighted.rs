//! Integer evaluation of `q.conv2d`, `q.depthwise_conv2d` and `q.dense`: the accumulator of
//! codes against the signed kernel plus the i32 bias (shifted left by the op's per-channel
//! `bias_shift`, when it has one: the bias then sits on a coarser scale of its own),
//! requantized per output channel.
//! Dense runs as a 1×1 convolution; depthwise as a grouped convolution with one input
//! channel per group. A constant kernel (the usual case) is decoded once, at prepare.
//!
//! A `q.conv2d` with a fourth operand (the convolution & add of guide Table 10) adds its codes
//! less their zero point, rescaled per output channel by `add_multiplier`/`add_shift` to the
//! accumulator scale, before the requantization (accumulator plus bias must stay inside
//! `i32`): the kernel does it in its requantization epilogue, while the block is in cache.

use super::{codes, entry, input_type, requant, result_type};
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one_i32, Domain, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::KernelError;
use crate::qkernels::conv::{conv2d_packed, ConvAdd, QConvGeometry, QConvWeights};
use crate::qkernels::Requant;
use crate::value::{Arg, BufferPool, Value};
use hailo_dialect_quant::ops as q;
use ndarray::{ArrayView4, ArrayViewD};
use ndarray::{Ix4, IxDyn};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Conv,
    Depthwise,
    Dense,
}

pub(crate) struct WeightedEval(Form);
pub(crate) const CONV: WeightedEval = WeightedEval(Form::Conv);
pub(crate) const DEPTHWISE: WeightedEval = WeightedEval(Form::Depthwise);
pub(crate) const DENSE: WeightedEval = WeightedEval(Form::Dense);

impl Evaluate for WeightedEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 2, 4)?;
        let requants = channel_requants(r, sig)?;
        let pair = |key: &str| -> Result<[usize; 2], ExecError> { r.pair_or(key, 1) };
        let p = r.usizes_or("pads", &[0, 0, 0, 0])?;
        let geometry = QConvGeometry {
            strides: if self.0 == Form::Dense {
                [1, 1]
            } else {
                pair("strides")?
            },
            dilations: if self.0 == Form::Dense {
                [1, 1]
            } else {
                pair("dilations")?
            },
            pads: if self.0 == Form::Dense {
                [0; 4]
            } else {
                [p[0], p[1], p[2], p[3]]
            },
            groups: match self.0 {
                Form::Conv => r.usize_or("groups", 1)?,
                Form::Depthwise => *sig.input_shape(r, 0)?.last().unwrap_or(&1),
                Form::Dense => 1,
            },
        };
        let weights = match sig.constant(1) {
            Some(Value::I32(k)) => Some(
                kernel4(self.0, k.view())
                    .and_then(|k4| QConvWeights::pack(k4, geometry.groups))
                    .map_err(|e| r.err(e.message))?,
            ),
            _ => None,
        };
        let add = if sig.inputs.len() == 4 {
            let (mults, shifts) = (r.i64s("add_multiplier")?, r.i64s("add_shift")?);
            if mults.len() != requants.len() || shifts.len() != requants.len() {
                return Err(r.err(format!(
                    "'add_multiplier' and 'add_shift' need {} entries each",
                    requants.len()
                )));
            }
            let rescale = mults
                .iter()
                .zip(&shifts)
                .map(|(&mu, &s)| {
                    let s = u32::try_from(s).map_err(|_| {
                        r.err(format!("'add_shift' must be non-negative, found {s}"))
                    })?;
                    Ok((mu, s))
                })
                .collect::<Result<Vec<_>, ExecError>>()?;
            Some((input_type(r, sig, 3)?.zero_point(), rescale))
        } else {
            None
        };
        let bias_shift = match r.i64s_opt("bias_shift")? {
            None => vec![0; requants.len()],
            Some(v) if v.len() == requants.len() => v
                .into_iter()
                .map(|e| {
                    u32::try_from(e)
                        .ok()
                        .filter(|&e| e <= hailo_dialect_quant::scheme::MAX_BIAS_SHIFT)
                        .ok_or_else(|| r.err(format!("'bias_shift' {e} is outside 0..=31")))
                })
                .collect::<Result<_, _>>()?,
            Some(v) => {
                return Err(r.err(format!(
                    "'bias_shift' needs {} entries, found {}",
                    requants.len(),
                    v.len()
                )))
            }
        };
        Prepared::kernel(Weighted {
            form: self.0,
            bias_shift,
            weights,
            zp_x: input_type(r, sig, 0)?.zero_point(),
            geometry,
            requants,
            add,
        })
    }
}

/// The per-output-channel rescales of a weighted op (`multiplier` per channel, `shift` per
/// channel or one for all) to its result type.
pub(super) fn channel_requants(r: &OpReader, sig: &Signature) -> Result<Vec<Requant>, ExecError> {
    let t = result_type(r, sig)?;
    let shifts = r.i64s("shift")?;
    r.i64s("multiplier")?
        .iter()
        .enumerate()
        .map(|(c, &mu)| {
            let shift = match shifts.get(c) {
                Some(&s) => s,
                None => entry(r, "shift", 0)?,
            };
            requant(r, mu, shift, t)
        })
        .collect()
}

struct Weighted {
    form: Form,
    /// Per output channel: the bias operand is in units of 2^shift accumulator steps.
    bias_shift: Vec<u32>,
    /// The decoded kernel, when it is a constant.
    weights: Option<QConvWeights>,
    zp_x: i64,
    geometry: QConvGeometry,
    requants: Vec<Requant>,
    /// The fused add's zero point and per-channel (multiplier, shift).
    add: Option<(i64, Vec<(i64, u32)>)>,
}

impl std::fmt::Debug for Weighted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Weighted")
            .field("geometry", &self.geometry)
            .finish_non_exhaustive()
    }
}

/// The kernel operand as HWIO `[kh, kw, Cin/groups, Cout]`.
fn kernel4(form: Form, k: ArrayViewD<'_, i32>) -> Result<ArrayView4<'_, i32>, KernelError> {
    let err = |e: ndarray::ShapeError| KernelError::new(q::Conv2d::NAME, e.to_string());
    match form {
        Form::Dense => {
            let &[kin, kout] = k.shape() else {
                return Err(KernelError::new(
                    q::Conv2d::NAME,
                    format!("dense kernel must be [cin, cout], got {:?}", k.shape()),
                ));
            };
            k.into_shape_with_order((1, 1, kin, kout)).map_err(err)
        }
        Form::Conv => k.into_dimensionality::<Ix4>().map_err(err),
        Form::Depthwise => {
            // A grouped convolution with one input channel per group.
            let k4 = k.into_dimensionality::<Ix4>().map_err(err)?;
            let (kh, kw, _, cout) = k4.dim();
            k4.into_shape_with_order((kh, kw, 1, cout)).map_err(err)
        }
    }
}

impl Kernel for Weighted {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = q::Conv2d::NAME;
        let err = |e: ndarray::ShapeError| KernelError::new(OP, e.to_string());
        let x = codes(&args, 0, OP)?;
        let bias: Option<Vec<i64>> = match args.get(2) {
            Some(b) => Some(
                b.i32(OP)?
                    .iter()
                    .zip(&self.bias_shift)
                    .map(|(&v, &e)| i64::from(v) << e)
                    .collect(),
            ),
            None => None,
        };
        let decoded;
        let weights = match &self.weights {
            Some(w) => w,
            None => {
                let k = codes(&args, 1, OP)?;
                let ks = k.as_standard_layout();
                decoded = QConvWeights::pack(kernel4(self.form, ks.view())?, self.geometry.groups)?;
                &decoded
            }
        };
        let xs = x.as_standard_layout();
        let x4 = match self.form {
            // A 1×1 convolution of the flattened sample.
            Form::Dense => {
                let n = x.shape().first().copied().unwrap_or(1);
                let cin = x.len() / n.max(1);
                xs.view()
                    .into_shape_with_order((n, 1, 1, cin))
                    .map_err(err)?
            }
            Form::Conv | Form::Depthwise => xs.view().into_dimensionality::<Ix4>().map_err(err)?,
        };
        let add = match &self.add {
            Some((zero_point, rescale)) => Some(ConvAdd {
                codes: codes(&args, 3, OP)?,
                zero_point: *zero_point,
                rescale,
            }),
            None => None,
        };
        let y = conv2d_packed(
            x4,
            self.zp_x,
            weights,
            bias.as_deref(),
            &self.geometry,
            &self.requants,
            add,
        )?;
        if self.form == Form::Dense {
            let (n, cout) = (y.shape()[0], y.shape()[3]);
            return one_i32(y.into_shape_with_order(IxDyn(&[n, cout])).map_err(err)?);
        }
        one_i32(y.into_dyn())
    }
}
