//! Integer evaluation of `q.conv2d`, `q.depthwise_conv2d` and `q.dense`: the accumulator of
//! codes against the signed kernel plus the i32 bias, requantized per output channel.
//! Dense runs as a 1×1 convolution; depthwise as a grouped convolution with one input
//! channel per group. A `q.conv2d` with a fourth operand adds it (codes less their zero
//! point, rescaled by `add_multiplier`/`add_shift` to the accumulator scale) before the
//! requantization.

use super::{codes, entry, input_type, requant, result_type};
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one_i32, Domain, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::KernelError;
use crate::qkernels::conv::{conv2d, Addend, QConvGeometry};
use crate::qkernels::Requant;
use crate::value::{Arg, BufferPool, Value};
use hailo_dialect_quant::ops as q;
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
        sig.arity(r, 2, if self.0 == Form::Conv { 4 } else { 3 })?;
        let t = result_type(r, sig)?;
        let multipliers = r.i64s("multiplier")?;
        let shifts = r.i64s("shift")?;
        let requants = multipliers
            .iter()
            .enumerate()
            .map(|(c, &mu)| {
                let shift = match shifts.get(c) {
                    Some(&s) => s,
                    None => entry(r, "shift", 0)?,
                };
                requant(r, mu, shift, t)
            })
            .collect::<Result<Vec<_>, _>>()?;
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
        Prepared::kernel(Weighted {
            form: self.0,
            zp_x: input_type(r, sig, 0)?.zero_point(),
            geometry,
            requants,
            add,
        })
    }
}

struct Weighted {
    form: Form,
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

impl Kernel for Weighted {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = q::Conv2d::NAME;
        let err = |e: ndarray::ShapeError| KernelError::new(OP, e.to_string());
        let x = codes(&args, 0, OP)?;
        let k = codes(&args, 1, OP)?;
        let bias: Option<Vec<i64>> = match args.get(2) {
            Some(b) => Some(b.i32(OP)?.iter().map(|&v| v as i64).collect()),
            None => None,
        };
        let (xs, ks) = (x.as_standard_layout(), k.as_standard_layout());
        let (x4, k4) = match self.form {
            Form::Dense => {
                // A 1×1 convolution of the flattened sample.
                let n = x.shape().first().copied().unwrap_or(1);
                let cin = x.len() / n.max(1);
                let &[kin, kout] = k.shape() else {
                    return Err(KernelError::new(
                        OP,
                        format!("dense kernel must be [cin, cout], got {:?}", k.shape()),
                    ));
                };
                (
                    xs.view()
                        .into_shape_with_order((n, 1, 1, cin))
                        .map_err(err)?,
                    ks.view()
                        .into_shape_with_order((1, 1, kin, kout))
                        .map_err(err)?,
                )
            }
            Form::Conv => (
                xs.view().into_dimensionality::<Ix4>().map_err(err)?,
                ks.view().into_dimensionality::<Ix4>().map_err(err)?,
            ),
            Form::Depthwise => {
                // A grouped convolution with one input channel per group.
                let k4 = ks.view().into_dimensionality::<Ix4>().map_err(err)?;
                let (kh, kw, _, cout) = k4.dim();
                (
                    xs.view().into_dimensionality::<Ix4>().map_err(err)?,
                    k4.into_shape_with_order((kh, kw, 1, cout)).map_err(err)?,
                )
            }
        };
        let addend = match &self.add {
            Some((zero_point, rescale)) => Some(Addend {
                codes: codes(&args, 3, OP)?
                    .into_dimensionality::<Ix4>()
                    .map_err(err)?,
                zero_point: *zero_point,
                rescale,
            }),
            None => None,
        };
        let y = conv2d(
            x4,
            self.zp_x,
            k4,
            bias.as_deref(),
            addend,
            &self.geometry,
            &self.requants,
        )?;
        if self.form == Form::Dense {
            let (n, cout) = (y.shape()[0], y.shape()[3]);
            return one_i32(y.into_shape_with_order(IxDyn(&[n, cout])).map_err(err)?);
        }
        one_i32(y.into_dyn())
    }
}
