//! `hl-to-quant` for the per-pixel affine layers, lowered the way the Hailo hardware runs
//! them: as 1×1 convolutions whose float kernel is computed here and quantized by
//! [`super::lower_weighted::emit`].
//! - `hl.normalization` (`(x − mean[c]) / std[c]`) and a standalone `hl.batch_norm`
//!   (`(x − mean) / sqrt(var + ε) · γ + β`, fused ReLU/ReLU6 as the clamp) become
//!   `q.depthwise_conv2d` with kernel `[1, 1, 1, C]` = a[c] and bias b[c] (y = a·x + b);
//! - `hl.color_conversion` (`y[c] = Σ_k x[k]·kernel[k][c] + bias[c]`) becomes a 1×1
//!   `q.conv2d` with the 3×3 matrix as its HWIO kernel `[1, 1, 3, 3]`.
//!
//! Their kernels get 16-bit weights: a depthwise channel has a single weight, which its
//! symmetric scale then represents exactly, and the bias (at S_x·|a|/32767) lands within
//! about 1/32767 of an output step, so the only error left is the final rounding. When a
//! bias is too large for i32 at that scale (an offset far outside the input range), the
//! weights drop to 8 bits (a 258× coarser accumulator scale).

use super::hl_to_quant::{get, qtype_of, result_type, Res};
use super::lower_weighted::{const_values, conv_attrs, emit, Kernel};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::Activation;
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::Storage;
use hailo_ir::{Attribute, Module, OpId, ValueId};
use rustc_hash::FxHashMap;

/// Lowers `hl.normalization`, `hl.batch_norm` and `hl.color_conversion`.
pub(super) fn lower(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let name = m.op(op).name_str();
    let operands = m.op(op).operands().to_vec();
    let x = get(map, operands[0])?;
    let f64s = |k: &str| {
        m.attr(op, k)
            .and_then(Attribute::as_f64_array)
            .ok_or_else(|| format!("missing '{k}' (array of numbers)"))
    };
    let (mut kernel, act, qname, groups) = match name {
        hl::Normalization::NAME => {
            let (mean, std) = (f64s("mean")?, f64s("std")?);
            if mean.len() != std.len() {
                return Err(format!(
                    "'mean' has {} values but 'std' has {}",
                    mean.len(),
                    std.len()
                ));
            }
            let a: Vec<f64> = std.iter().map(|s| 1.0 / s).collect();
            let b = mean.iter().zip(&a).map(|(mu, a)| -mu * a).collect();
            (
                depthwise(a, b)?,
                Activation::Linear,
                q::DEPTHWISE_CONV2D,
                None,
            )
        }
        hl::BatchNorm::NAME => {
            let p: Vec<Vec<f64>> = operands[1..]
                .iter()
                .map(|&v| const_values(m, v))
                .collect::<Res<_>>()?;
            let [mean, var, gamma, beta] = &p[..] else {
                return Err("expects mean, var, gamma and beta operands".into());
            };
            let eps = m
                .attr(op, "epsilon")
                .and_then(Attribute::as_f64)
                .unwrap_or(1e-5);
            let a: Vec<f64> = var
                .iter()
                .zip(gamma)
                .map(|(v, g)| g / (v + eps).sqrt())
                .collect();
            let b = beta
                .iter()
                .zip(mean)
                .zip(&a)
                .map(|((be, mu), a)| be - mu * a)
                .collect();
            let act = Activation::fused(m, op)?;
            (depthwise(a, b)?, act, q::DEPTHWISE_CONV2D, None)
        }
        hl::ColorConversion::NAME => {
            let (k, b) = (f64s("kernel")?, f64s("bias")?);
            if k.len() != 9 || b.len() != 3 {
                return Err(format!(
                    "'kernel' must hold 9 values and 'bias' 3, got {} and {}",
                    k.len(),
                    b.len()
                ));
            }
            let kernel = Kernel::new(k, vec![1, 1, 3, 3], b, Storage::I16);
            (kernel, Activation::Linear, q::CONV2D, Some(1))
        }
        other => return Err(format!("'{other}' is not a per-pixel affine layer")),
    };
    let mut geometry = conv_attrs([1, 1], [1, 1], [0; 4]);
    if let Some(g) = groups {
        geometry.push(("groups", Attribute::i64(g)));
    }
    if !kernel.bias_fits(qtype_of(m, x)?.scale_at(0)) {
        kernel.storage = Storage::I8;
    }
    let tout = result_type(m, op)?;
    emit(m, op, x, None, &tout, &kernel, act, qname, geometry)
}

/// The depthwise kernel of y[c] = a[c]·x[c] + b[c].
fn depthwise(a: Vec<f64>, b: Vec<f64>) -> Res<Kernel> {
    if let Some(c) = a.iter().position(|v| !v.is_finite() || *v == 0.0) {
        return Err(format!(
            "channel {c} has scale {} (it must be finite and non-zero)",
            a[c]
        ));
    }
    if let Some(c) = b.iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "channel {c} has offset {} (it must be finite)",
            b[c]
        ));
    }
    let n = a.len() as i64;
    Ok(Kernel::new(a, vec![1, 1, 1, n], b, Storage::I16))
}
