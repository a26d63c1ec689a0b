//! `hl-to-quant` for weighted layers: `hl.conv2d`, `hl.depthwise_conv2d`, `hl.deconv2d`
//! (`q.deconv2d`, the same kernel quantization) and `hl.dense` read their float kernel and bias
//! from `hl.const` operands; [`emit`] quantizes any float kernel (per-output-channel symmetric
//! scales, an i32 bias at the accumulator scale S_x·S_w or, in `double_scale_initialization`
//! mode when it does not fit there, at S_x·S_w·2^e with the op's `bias_shift = [e, ...]`;
//! per-channel multiplier/shift to the output scale) and emits the `q` op.
//!
//! A convolution with a fused add (`hl-fuse-conv-add`: fourth operand `ew_add`) becomes a
//! `q.conv2d` with that operand. Integer scheme: the add's codes, less their zero point, are
//! brought to the accumulator scale S_x·S_w[c] of each output channel by
//! `add_multiplier[c]·2^(−add_shift[c])` ≈ S_a / (S_x·S_w[c]) (rounding half up) and added to
//! Σ w·(x − z_x) + bias; the sum then takes the conv's usual output rescale and clamp (which
//! is the fused activation). The accumulator grid is far finer than the add's (S_x·S_w ≪ S_a),
//! so the add loses at most half an accumulator step, and the only rounding that matters is
//! the one to the output grid, as for a plain conv. The conv's calibrated range (`q_range`)
//! is the range of its float result, activation(conv + add), i.e. of the pre-activation sum
//! after the activation, as the vendor's fused layer reports it. The per-pixel
//! affine layers of [`super::lower_affine`] reuse [`emit`] with kernels they compute.

use super::hl_to_quant::{clamp, get, qtype_of, requantize_to, result_type, Res};
use crate::quant::bias_correction::CORRECTION;
use hailo_dialect_hl as hl;
use hailo_dialect_hl::{Activation, ConvParams};
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::scheme::{self, BiasMode};
use hailo_dialect_quant::{QuantType, Storage};
use hailo_ir::{Attribute, Blob, Module, OpId, OpSpec, Type, ValueId};
use rustc_hash::FxHashMap;

/// A float kernel (HWIO for convolutions, [Cin, Cout] for dense; output channels last) with
/// its bias and quantization choices.
pub(super) struct Kernel {
    pub values: Vec<f64>,
    pub shape: Vec<i64>,
    pub bias: Vec<f64>,
    pub storage: Storage,
    /// Per-output-channel clipping thresholds.
    pub clip: Vec<f64>,
    pub bias_mode: BiasMode,
}

impl Kernel {
    /// A kernel with the default clipping (max |W| of each output channel) and bias mode.
    pub fn new(values: Vec<f64>, shape: Vec<i64>, bias: Vec<f64>, storage: Storage) -> Kernel {
        let cout = bias.len().max(1);
        let mut clip = vec![0.0f64; cout];
        for (i, v) in values.iter().enumerate() {
            clip[i % cout] = clip[i % cout].max(v.abs());
        }
        Kernel {
            values,
            shape,
            bias,
            storage,
            clip,
            bias_mode: BiasMode::DoubleScaleInitialization,
        }
    }

    /// Whether every bias fits i32 at the accumulator scale S_x·S_w for input scale `sx`.
    pub fn bias_fits(&self, sx: f64) -> bool {
        self.bias.iter().zip(&self.clip).all(|(&b, &t)| {
            (b / (sx * scheme::symmetric_scale(t, self.storage))).abs() <= f64::from(i32::MAX)
        })
    }
}

/// The f32 values of a constant operand.
pub(super) fn const_values(m: &Module, v: ValueId) -> Res<Vec<f64>> {
    let def = m
        .defining_op(v)
        .filter(|&d| m.op(d).name_str() == hl::Const::NAME)
        .ok_or("weights must come from hl.const")?;
    match m.attr(def, "value") {
        Some(Attribute::Dense(d)) => Ok(d.to_f64_vec()),
        Some(Attribute::DenseResource { key, ty }) => {
            let blob = m
                .resources
                .get(key.as_str())
                .ok_or_else(|| format!("missing weight blob '{}'", key.as_str()))?;
            let vals = blob.to_f32();
            if vals.len() as i64 != ty.num_elements() {
                return Err(format!(
                    "weight blob '{}' has {} values, its type {ty} needs {}",
                    key.as_str(),
                    vals.len(),
                    ty.num_elements()
                ));
            }
            Ok(vals.into_iter().map(f64::from).collect())
        }
        _ => Err("hl.const has no dense value".into()),
    }
}

/// Lowers `hl.conv2d`, `hl.depthwise_conv2d`, `hl.deconv2d` and `hl.dense`.
pub(super) fn lower(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let name = m.op(op).name_str();
    let operands = m.op(op).operands().to_vec();
    if operands.len() > 3 && name != hl::Conv2d::NAME {
        return Err("only hl.conv2d takes a fused elementwise add".into());
    }
    let add = operands.get(3).map(|&a| get(map, a)).transpose()?;
    let mut x = get(map, operands[0])?;
    if let Some(bits) = m.attr(op, "q_in_bits").and_then(Attribute::as_i64) {
        let st = Storage::unsigned(bits as u32)
            .ok_or_else(|| format!("'q_in_bits' must be 8 or 16, got {bits}"))?;
        let tx = qtype_of(m, x)?;
        if st != tx.storage() {
            // A precision change: the same float range on the requested grid.
            let (lo, hi) = tx.float_range();
            x = requantize_to(m, op, x, &scheme::activation_type(lo, hi, st))?;
        }
    }
    let kshape = m.value_type(operands[1]).shape().unwrap_or(&[]).to_vec();
    let cout = *kshape.last().ok_or("kernel has rank 0")? as usize;
    let w = const_values(m, operands[1])?;
    let mut bias = match operands.get(2) {
        Some(&b) => const_values(m, b)?,
        None => vec![0.0; cout],
    };
    if let Some(c) = m.attr(op, CORRECTION).and_then(Attribute::as_f64_array) {
        if c.len() != cout {
            return Err(format!(
                "'{CORRECTION}' has {} values for {cout} output channels",
                c.len()
            ));
        }
        for (b, e) in bias.iter_mut().zip(c) {
            *b -= e;
        }
    }
    let wbits = m
        .attr(op, "q_wbits")
        .and_then(Attribute::as_i64)
        .unwrap_or(8);
    let wst = match wbits {
        4 | 8 | 16 => Storage::signed_of(wbits as u32).ok_or("bad weight bits")?,
        _ => return Err(format!("'q_wbits' must be 4, 8 or 16, got {wbits}")),
    };
    let mut k = Kernel::new(w, kshape, bias, wst);
    match m.attr(op, "q_wclip").and_then(Attribute::as_f64_array) {
        Some(c) if c.len() == cout => k.clip = c,
        Some(c) => {
            return Err(format!(
                "'q_wclip' has {} thresholds for {cout} output channels",
                c.len()
            ))
        }
        None => {}
    }
    if let Some(s) = m.attr(op, "q_bias_mode").and_then(Attribute::as_str) {
        k.bias_mode = BiasMode::parse(s).ok_or_else(|| format!("unknown bias mode '{s}'"))?;
    }
    let (qname, geometry) = match name {
        hl::Dense::NAME => (q::DENSE, vec![]),
        hl::Deconv2d::NAME => {
            // The transposed convolution keeps hl.deconv2d's geometry as written.
            let keys = ["strides", "dilations", "groups", "pads", "output_padding"];
            let g = keys
                .into_iter()
                .filter_map(|k| m.attr(op, k).cloned().map(|a| (k, a)))
                .collect();
            (q::DECONV2D, g)
        }
        _ => {
            let p = ConvParams::of(m, op)?;
            let mut g = conv_attrs(p.strides, p.dilations, p.pads);
            if name == hl::Conv2d::NAME {
                g.push(("groups", Attribute::i64(p.groups)));
                (q::CONV2D, g)
            } else {
                (q::DEPTHWISE_CONV2D, g)
            }
        }
    };
    let tout = result_type(m, op)?;
    let act = Activation::fused(m, op)?;
    emit(m, op, x, add, &tout, &k, act, qname, geometry)
}

/// `strides`, `dilations` and `pads` attributes of a q convolution.
pub(super) fn conv_attrs(
    strides: [i64; 2],
    dilations: [i64; 2],
    pads: [i64; 4],
) -> Vec<(&'static str, Attribute)> {
    vec![
        ("strides", Attribute::i64_array(&strides)),
        ("dilations", Attribute::i64_array(&dilations)),
        ("pads", Attribute::i64_array(&pads)),
    ]
}

/// Quantizes `k` for input `x` (and the fused add `add`, if any) and result type `tout`
/// and emits `qname` (with the extra `geometry` attributes) in place of `op`.
#[allow(clippy::too_many_arguments)]
pub(super) fn emit(
    m: &mut Module,
    op: OpId,
    x: ValueId,
    add: Option<ValueId>,
    tout: &QuantType,
    k: &Kernel,
    act: Activation,
    qname: &str,
    geometry: Vec<(&'static str, Attribute)>,
) -> Res<ValueId> {
    let tx = qtype_of(m, x)?;
    let cout = k.bias.len();
    if cout == 0 || k.clip.len() != cout || !k.values.len().is_multiple_of(cout) {
        return Err(format!(
            "kernel of {} values, {} bias values and {} clipping thresholds do not agree",
            k.values.len(),
            cout,
            k.clip.len()
        ));
    }
    let scales: Vec<f64> = k
        .clip
        .iter()
        .map(|&t| scheme::symmetric_scale(t, k.storage))
        .collect();
    let codes: Vec<i32> = k
        .values
        .iter()
        .enumerate()
        .map(|(i, &v)| scheme::quantize(v, scales[i % cout], 0, k.storage) as i32)
        .collect();
    let acc: Vec<f64> = scales.iter().map(|s| s * tx.scale_at(0)).collect();
    let mut bq = Vec::with_capacity(cout);
    let mut bias_shift = Vec::with_capacity(cout);
    for (c, (&b, &a)) in k.bias.iter().zip(&acc).enumerate() {
        let q = scheme::quantize_bias(b, a, k.bias_mode)
            .map_err(|e| format!("output channel {c}: {e}"))?;
        bq.push(q.value as i32);
        bias_shift.push(i64::from(q.shift));
    }
    let mut mult = Vec::with_capacity(cout);
    let mut shift = Vec::with_capacity(cout);
    for a in &acc {
        let r = scheme::decompose_rescale(a / tout.scale_at(0))?;
        mult.push(r.multiplier);
        shift.push(r.shift as i64);
    }
    let lname = m
        .attr(op, "layer")
        .and_then(Attribute::as_str)
        .unwrap_or("?")
        .to_owned();
    let mut add_rescale = (Vec::new(), Vec::new());
    if let Some(a) = add {
        let ta = qtype_of(m, a)?;
        for s in &acc {
            let r = scheme::decompose_rescale(ta.scale_at(0) / s)
                .map_err(|e| format!("fused add: {e}"))?;
            add_rescale.0.push(r.multiplier);
            add_rescale.1.push(r.shift as i64);
        }
    }
    let wt = QuantType::PerAxis {
        storage: k.storage,
        axis: k.shape.len() - 1,
        scales,
    };
    let kv = int_const(
        m,
        op,
        &format!("{lname}.kernel_q"),
        &codes,
        wt.tensor(&k.shape),
    );
    // The bias's own scale: the accumulator's, times 2^shift where it needs one.
    let bt = QuantType::PerAxis {
        storage: Storage::I32,
        axis: 0,
        scales: acc
            .iter()
            .zip(&bias_shift)
            .map(|(a, &e)| a * (1u64 << e) as f64)
            .collect(),
    };
    let bv = int_const(
        m,
        op,
        &format!("{lname}.bias_q"),
        &bq,
        bt.tensor(&[cout as i64]),
    );
    let mut attrs = vec![
        ("multiplier", Attribute::i64_array(&mult)),
        ("shift", Attribute::i64_array(&shift)),
        ("clamp", clamp(tout, act)?),
    ];
    if bias_shift.iter().any(|&e| e > 0) {
        attrs.push(("bias_shift", Attribute::i64_array(&bias_shift)));
    }
    if add.is_some() {
        attrs.push(("add_multiplier", Attribute::i64_array(&add_rescale.0)));
        attrs.push(("add_shift", Attribute::i64_array(&add_rescale.1)));
    }
    attrs.extend(geometry);
    let out_shape = m
        .value_type(m.result(op, 0))
        .shape()
        .unwrap_or(&[])
        .to_vec();
    Ok(super::hl_to_quant::emit(
        m,
        op,
        qname,
        &[&[x, kv, bv][..], add.as_slice()].concat(),
        tout.tensor(&out_shape),
        attrs,
    ))
}

/// A `q.const` holding `codes` as little-endian i32 in blob `key`.
pub(super) fn int_const(m: &mut Module, at: OpId, key: &str, codes: &[i32], ty: Type) -> ValueId {
    m.resources.insert(
        key,
        Blob::new(4, codes.iter().flat_map(|c| c.to_le_bytes()).collect()),
    );
    let spec = OpSpec::new(q::CONST)
        .results(&[ty])
        .attr(
            "value",
            Attribute::DenseResource {
                key: hailo_ir::Sym::new(key),
                ty,
            },
        )
        .loc(m.op(at).loc.clone());
    let op = m.create_op(spec);
    m.insert_before(at, op);
    m.result(op, 0)
}
