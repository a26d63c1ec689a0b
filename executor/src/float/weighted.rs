//! Float evaluation of the weighted layers: convolution (grouped and depthwise), transposed
//! convolution, dense and matmul. Convolution and dense outputs are written into pooled
//! buffers with the fused activation applied in the same pass.

use super::{arg, optional, rank4, vector, with_activation};
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::activation::{activate, Activation};
use crate::kernels::conv::{conv2d_act_into, conv2d_output_shape, Conv2dParams};
use crate::kernels::deconv::{conv_transpose2d, ConvTranspose2dParams};
use crate::kernels::dense::{dense_into, matmul};
use crate::kernels::elementwise::{binary_inplace, BinaryOp};
use crate::kernels::KernelError;
use crate::value::{Arg, BufferPool, Value};
use ndarray::{Array2, Ix4};

/// `hl.conv2d` (x, kernel HWIO, bias?, ew_add?) and `hl.depthwise_conv2d` (x, kernel, bias?).
/// A conv with a fused elementwise add computes the convolution, adds the fourth operand and
/// then applies the activation: the same float operations, in the same order, as a conv
/// followed by an `hl.ew_add` carrying the activation, so fusing changes no result.
pub(crate) struct ConvEval {
    depthwise: bool,
}

pub(crate) const CONV: ConvEval = ConvEval { depthwise: false };
pub(crate) const DEPTHWISE: ConvEval = ConvEval { depthwise: true };

impl Evaluate for ConvEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 2, if self.depthwise { 3 } else { 4 })?;
        let input = sig.spatial(r)?;
        let k = sig.input_shape(r, 1)?;
        if k.len() != 4 {
            return Err(r.err(format!("kernel must be rank 4 (HWIO), found {k:?}")));
        }
        let stride = r.pair_or("strides", 1)?;
        let dilation = r.pair_or("dilations", 1)?;
        let groups = if self.depthwise {
            sig.input_shape(r, 0)?[3]
        } else {
            r.usize_or("groups", 1)?
        };
        let pads = r.padding(input, [k[0], k[1]], stride, dilation)?;
        Prepared::kernel(Conv {
            params: Conv2dParams {
                stride,
                dilation,
                pads,
                groups,
            },
            act: r.fused_activation()?,
        })
    }
}

#[derive(Debug)]
struct Conv {
    params: Conv2dParams,
    act: Activation,
}

impl Kernel for Conv {
    fn run(&self, args: Vec<Arg>, pool: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let (xv, wv) = (arg(&args, 0, "conv2d")?, arg(&args, 1, "conv2d")?);
        let (x, w) = (rank4("conv2d", &xv)?, rank4("conv2d", &wv)?);
        let bv = optional(&args, 2, "conv2d")?;
        let bias = bv.as_ref().map(vector);
        let added = optional(&args, 3, "conv2d")?;
        let shape = conv2d_output_shape(x.dim().into(), w.dim().into(), &self.params)?;
        let mut out = pool
            .zeros(&shape)?
            .into_dimensionality::<Ix4>()
            .map_err(|e| KernelError::new("conv2d", e.to_string()))?;
        let conv_act = if added.is_some() {
            Activation::Linear
        } else {
            self.act
        };
        conv2d_act_into(
            x,
            w,
            bias.as_deref(),
            &self.params,
            conv_act,
            out.view_mut(),
            &mut pool.im2col,
        )?;
        let mut out = out.into_dyn();
        if let Some(b) = added {
            binary_inplace(BinaryOp::Add, out.view_mut(), b)?;
            activate(self.act, out.view_mut());
        }
        one(out)
    }
}

/// `hl.deconv2d` (x, kernel, bias?).
pub(crate) struct DeconvEval;
pub(crate) const DECONV: DeconvEval = DeconvEval;

impl Evaluate for DeconvEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 2, 3)?;
        sig.spatial(r)?;
        Prepared::kernel(Deconv {
            params: ConvTranspose2dParams {
                stride: r.pair_or("strides", 1)?,
                dilation: r.pair_or("dilations", 1)?,
                pads: r.explicit_pads()?,
                output_padding: r.pair_or("output_padding", 0)?,
                groups: r.usize_or("groups", 1)?,
            },
            act: r.fused_activation()?,
        })
    }
}

#[derive(Debug)]
struct Deconv {
    params: ConvTranspose2dParams,
    act: Activation,
}

impl Kernel for Deconv {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let (xv, wv) = (arg(&args, 0, "deconv2d")?, arg(&args, 1, "deconv2d")?);
        let bv = optional(&args, 2, "deconv2d")?;
        let bias = bv.as_ref().map(vector);
        let out = conv_transpose2d(
            rank4("deconv2d", &xv)?,
            rank4("deconv2d", &wv)?,
            bias.as_deref(),
            &self.params,
        )?;
        one(with_activation(out.into_dyn(), self.act))
    }
}

/// `hl.dense` (x, kernel [cin, cout], bias?): the input is flattened per sample.
pub(crate) struct DenseEval;
pub(crate) const DENSE: DenseEval = DenseEval;

impl Evaluate for DenseEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 2, 3)?;
        Prepared::kernel(Dense {
            act: r.fused_activation()?,
        })
    }
}

#[derive(Debug)]
struct Dense {
    act: Activation,
}

impl Kernel for Dense {
    fn run(&self, args: Vec<Arg>, pool: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let (xv, wv) = (arg(&args, 0, "dense")?, arg(&args, 1, "dense")?);
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
        let bv = optional(&args, 2, "dense")?;
        let bias = bv.as_ref().map(vector);
        let cout = wv.shape()[1];
        let buf = pool.take(n * cout);
        let mut out = Array2::from_shape_vec((n, cout), buf)
            .map_err(|e| KernelError::new("dense", e.to_string()))?;
        dense_into(x, w, bias.as_deref(), out.view_mut())?;
        one(with_activation(out.into_dyn(), self.act))
    }
}

/// `hl.matmul` (a, b): batched matrix product of two activations.
pub(crate) struct MatmulEval;
pub(crate) const MATMUL: MatmulEval = MatmulEval;

impl Evaluate for MatmulEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 2, 2)?;
        Prepared::kernel(Matmul {
            transpose_b: r.bool_or("transpose_b", false)?,
        })
    }
}

#[derive(Debug)]
struct Matmul {
    transpose_b: bool,
}

impl Kernel for Matmul {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let (a, mut b) = (arg(&args, 0, "matmul")?, arg(&args, 1, "matmul")?);
        if self.transpose_b {
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
}
