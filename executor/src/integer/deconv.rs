//! Integer evaluation of `q.deconv2d`: the kernel and bias are decoded once at prepare (they
//! are constants after `hl-to-quant`), the transposed convolution runs in
//! [`crate::qkernels::deconv`].

use super::weighted::channel_requants;
use super::{codes, input_type};
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{Domain, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::KernelError;
use crate::qkernels::deconv::{deconv2d, QDeconvGeometry};
use crate::qkernels::Requant;
use crate::value::{Arg, BufferPool, Value};
use hailo_dialect_quant::ops as q;
use ndarray::{Array4, Ix4};

pub(crate) struct DeconvEval;
pub(crate) const DECONV: DeconvEval = DeconvEval;

impl Evaluate for DeconvEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 2, 3)?;
        let kernel = match sig.constant(1) {
            Some(Value::I32(k)) => k
                .clone()
                .into_dimensionality::<Ix4>()
                .map_err(|_| r.err("the kernel must have rank 4"))?,
            _ => return Err(r.err("the kernel must be a q.const")),
        };
        let cout = kernel.dim().3;
        let bias: Vec<i64> = match sig.constant(2) {
            Some(Value::I32(b)) => b.iter().map(|&v| v as i64).collect(),
            Some(_) => return Err(r.err("the bias must be an i32 q.const")),
            None => vec![0; cout],
        };
        let p = r.usizes_or("pads", &[0, 0, 0, 0])?;
        if p.len() != 4 {
            return Err(r.err(format!("'pads' must have 4 entries, found {}", p.len())));
        }
        Prepared::kernel(Deconv {
            kernel,
            bias,
            zp: input_type(r, sig, 0)?.zero_point(),
            geometry: QDeconvGeometry {
                strides: r.pair_or("strides", 1)?,
                dilations: r.pair_or("dilations", 1)?,
                pads: [p[0], p[1], p[2], p[3]],
                output_padding: r.pair_or("output_padding", 0)?,
                groups: r.usize_or("groups", 1)?,
            },
            requants: channel_requants(r, sig)?,
        })
    }
}

#[derive(Debug)]
struct Deconv {
    kernel: Array4<i32>,
    bias: Vec<i64>,
    zp: i64,
    geometry: QDeconvGeometry,
    requants: Vec<Requant>,
}

impl Kernel for Deconv {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = q::Deconv2d::NAME;
        let x = codes(&args, 0, OP)?
            .into_dimensionality::<Ix4>()
            .map_err(|_| KernelError::new(OP, "expects a rank-4 NHWC input"))?;
        let y = deconv2d(
            x,
            self.zp,
            self.kernel.view(),
            &self.bias,
            &self.geometry,
            &self.requants,
        )?;
        Ok(vec![Value::I32(y.into_dyn())])
    }
}
