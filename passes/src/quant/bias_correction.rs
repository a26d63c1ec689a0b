//! `quant-bias-correction`: iterative bias correction (IBC, Finkelstein 2019; quantization.md
//! §5; the model script's `post_quantization_optimization(bias_correction, policy, layers)`).
//!
//! Quantizing weights and inputs shifts the mean of each output channel of a weighted layer;
//! the shift grows with depth and is worst in depthwise layers with few taps. For each
//! weighted layer l in topological order, with every earlier layer already quantized and
//! corrected, the pass measures on the first `samples` calibration samples
//! ε_c = mean over samples, rows and columns of (ŷ_c − y_c) at the layer's bias-add output
//! (before its activation and output quantization): ŷ = conv(x̂, W̃) (+ the fused add's
//! quantized operand) with x̂ the layer's input in the integer emulation of the lowered graph
//! and W̃ its quantized kernel, y the same in float. The bias then becomes b − ε, so the only
//! mean error left is the bias rounding (half an accumulator step).
//!
//! The correction is recorded on the `hl` op as `q_bias_correction = [ε_0, ...]` (summed if
//! the pass runs again), and `hl-to-quant` subtracts it from the bias before quantizing it.
//! It is an annotation rather than a new bias constant because it is a quantization
//! decision like `q_wclip`: the `hl` graph stays the float model (the fp-optimized context,
//! the float reference of noise analysis and of later passes are unchanged), and the
//! correction can be read, replayed and lit-tested in the IR.
//!
//! "Iterative" (the default `mode`) means the integer emulation is brought up to date after
//! each corrected layer before the next one is measured: the quantized graph (one lowering of
//! a copy) gets the corrected bias codes, and the emulation resumes from the recorded run,
//! evaluating only the corrected layer and what follows it up to the next layer to measure
//! ([`hailo_executor::Executor::run_resumed_until`]). `one-pass` measures every layer on the
//! uncorrected emulation (the comparison the tests make). Per-layer `layers=[l:disabled]`
//! entries and the `default` policy follow the script's per-layer `policy`.

use super::lowered::{const_codes, dequantized, dequantized_kernel, lowered_weighted};
use super::{layer_of, per_layer, progress_in};
use crate::conversion::hl_to_quant::convert_graph;
use hailo_dialect_hl::interfaces::{interface, Weights};
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::scheme::{quantize_bias, BiasMode};
use hailo_dialect_quant::QuantType;
use hailo_executor::dataset::CalibrationSet;
use hailo_executor::kernels::conv::{conv2d, Conv2dParams};
use hailo_executor::kernels::dense::dense;
use hailo_executor::kernels::depthwise::depthwise_conv2d;
use hailo_executor::kernels::Padding;
use hailo_executor::{Executor, GraphRef, Recording};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Blob, Module, OpId};
use ndarray::{ArrayD, Axis, Ix2, Ix4};
use rustc_hash::FxHashSet;

hailo_ir::pass_options! {
    pub struct BiasCorrectionOptions {
        /// Calibration samples the mean errors are measured on.
        samples: i64 = 64,
        /// Policy of layers not listed in `layers`: `enabled` or `disabled`.
        default: String = "enabled".to_owned(),
        /// Per-layer policies, `layer:enabled` or `layer:disabled`.
        layers: Vec<String> = Vec::new(),
        /// `iterative` (re-emulate after each corrected layer) or `one-pass`.
        mode: String = "iterative".to_owned(),
    }
}

/// The attribute holding a layer's bias correction (subtracted from its bias by `hl-to-quant`).
pub const CORRECTION: &str = "q_bias_correction";

pub struct BiasCorrection(BiasCorrectionOptions);

impl PassDef for BiasCorrection {
    const NAME: &'static str = "quant-bias-correction";
    const SUMMARY: &'static str =
        "Correct each weighted layer's per-channel mean quantization error \
         through its bias, layer by layer (q_bias_correction)";
    const DESCRIPTION: &'static str =
        "Runs after the q_* decisions (quant-weight-clipping). Needs \
         the calibration set (hailo-opt --calib-set FILE).";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = BiasCorrectionOptions;

    fn new(o: BiasCorrectionOptions) -> Self {
        BiasCorrection(o)
    }
    fn options(&self) -> &BiasCorrectionOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let targets = self
            .targets(m, graph)
            .map_err(|e| cx.fail_at(m, graph, e))?;
        if targets.is_empty() {
            return Ok(Preserved::All);
        }
        let data = self.samples(cx).map_err(|e| cx.fail_at(m, graph, e))?;
        let iterative = self.0.mode == "iterative";
        let bar = progress_in(cx, "bias correction", targets.len(), "layers");
        let corrected = correct(m, graph, &targets, &data, iterative, &|| bar.inc(1));
        bar.finish_and_clear();
        let corrected = corrected.map_err(|(op, e)| {
            let at = op.unwrap_or(graph);
            cx.fail_at(m, at, e)
        })?;
        cx.stat("layers", "Layers whose bias was corrected", corrected);
        Ok(Preserved::All)
    }
}

impl BiasCorrection {
    /// The weighted layers to correct, in block (topological) order.
    fn targets(&self, m: &Module, graph: OpId) -> Result<Vec<OpId>, String> {
        let policy = |s: &str| match s {
            "enabled" | "allowed" => Ok(true),
            "disabled" => Ok(false),
            _ => Err(format!(
                "unknown policy '{s}' (enabled, allowed or disabled)"
            )),
        };
        if !matches!(self.0.mode.as_str(), "iterative" | "one-pass") {
            return Err(format!(
                "unknown mode '{}' (iterative or one-pass)",
                self.0.mode
            ));
        }
        let default = policy(&self.0.default)?;
        let layers = per_layer(&self.0.layers, "layers", |v| policy(v))?;
        let weighted: Vec<OpId> = m
            .walk(graph)
            .into_iter()
            .filter(|&o| interface::<dyn Weights>(m, o).is_some())
            .collect();
        if let Some(l) = layers
            .keys()
            .find(|l| !weighted.iter().any(|&o| &layer_of(m, o) == *l))
        {
            return Err(format!("no weighted layer named '{l}'"));
        }
        Ok(weighted
            .into_iter()
            .filter(|&o| *layers.get(&layer_of(m, o)).unwrap_or(&default))
            .collect())
    }

    /// The first `samples` samples of the driver's calibration set.
    fn samples(&self, cx: &PassCx<'_>) -> Result<Vec<ArrayD<f32>>, String> {
        let set = cx.resource::<CalibrationSet>().ok_or(
            "bias correction measures on calibration data; provide it (hailo-opt --calib-set FILE)",
        )?;
        let n = usize::try_from(self.0.samples.max(1)).unwrap_or(1);
        Ok(set
            .0
            .iter()
            .map(|d| {
                let n = n.min(d.shape()[0]);
                d.slice_axis(Axis(0), (0..n).into()).to_owned()
            })
            .collect())
    }
}

type Failure = (Option<OpId>, String);

/// Corrects `targets` (weighted `hl` ops of `graph`, in block order) on `data`; returns how
/// many were corrected. `tick` is called after each layer.
fn correct(
    m: &mut Module,
    graph: OpId,
    targets: &[OpId],
    data: &[ArrayD<f32>],
    iterative: bool,
    tick: &dyn Fn(),
) -> Result<u64, Failure> {
    let float = Executor::new(m, GraphRef::Id(graph))
        .and_then(|e| e.run_recorded(data))
        .map_err(|e| (None, e.to_string()))?
        .recording;
    let mut lowered = m.clone();
    convert_graph(&mut lowered, graph).map_err(|(op, e)| (Some(op), e))?;
    let q_ops = lowered_weighted(&lowered, graph);
    let run = |lowered: &Module| Executor::new(lowered, GraphRef::Id(graph));
    let mut emulated = run(&lowered)
        .and_then(|e| e.run_recorded(data))
        .map_err(|e| (None, e.to_string()))?
        .recording;
    let mut pending: FxHashSet<OpId> = FxHashSet::default();
    let mut corrected = 0;
    for &op in targets {
        let layer = layer_of(m, op);
        let Some(&qop) = q_ops.get(&layer) else {
            return Err((
                Some(op),
                format!("layer '{layer}' has no lowered weighted op to correct"),
            ));
        };
        if iterative && !pending.is_empty() {
            emulated = run(&lowered)
                .and_then(|e| e.run_resumed_until(data, &emulated, &pending, qop))
                .map_err(|e| (Some(op), e.to_string()))?
                .recording;
            pending.clear();
        }
        let eps = mean_error(m, op, &lowered, qop, &float, &emulated)
            .map_err(|e| (Some(op), format!("bias correction of '{layer}': {e}")))?;
        let total: Vec<f64> = match m.attr(op, CORRECTION).and_then(Attribute::as_f64_array) {
            Some(old) if old.len() == eps.len() => {
                old.iter().zip(&eps).map(|(a, b)| a + b).collect()
            }
            _ => eps,
        };
        m.set_attr(op, CORRECTION, Attribute::f64_array(&total));
        set_bias_codes(m, op, &mut lowered, qop, &total).map_err(|e| (Some(op), e))?;
        pending.insert(qop);
        corrected += 1;
        tick();
    }
    Ok(corrected)
}

/// Per output channel, the mean over everything but the last axis of
/// (quantized − float) at the bias-add output of `op` (lowered as `qop`).
fn mean_error(
    m: &Module,
    op: OpId,
    lowered: &Module,
    qop: OpId,
    float: &Recording,
    emulated: &Recording,
) -> Result<Vec<f64>, String> {
    let (fo, qo) = (m.op(op).operands(), lowered.op(qop).operands());
    let x = float
        .value(fo[0])
        .ok_or("the float run did not record the layer's input")?;
    let xq = dequantized(lowered, emulated, qo[0])?;
    let kshape: Vec<usize> = lowered
        .value_type(qo[1])
        .shape()
        .unwrap_or(&[])
        .iter()
        .map(|&d| d as usize)
        .collect();
    let w: Vec<f32> = super::weight_clipping::kernel_values(m, fo[1])?
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let cout = *kshape.last().ok_or("kernel of rank 0")?;
    let wq = dequantized_kernel(lowered, qo[1])?;
    let w = ArrayD::from_shape_vec(kshape.clone(), w).map_err(|e| e.to_string())?;
    let wq = ArrayD::from_shape_vec(kshape, wq).map_err(|e| e.to_string())?;
    let name = lowered.op(qop).name_str();
    let apply = |x: &ArrayD<f32>, w: &ArrayD<f32>| -> Result<ArrayD<f32>, String> {
        if name == q::DENSE {
            let n = x.shape()[0];
            let x2 = x
                .view()
                .into_shape_with_order((n, x.len() / n.max(1)))
                .map_err(|e| e.to_string())?;
            let w2 = w
                .view()
                .into_dimensionality::<Ix2>()
                .map_err(|e| e.to_string())?;
            return Ok(dense(x2, w2, None).map_err(|e| e.to_string())?.into_dyn());
        }
        let p = conv_params(lowered, qop, x.shape()[3])?;
        let (x4, w4) = (
            x.view()
                .into_dimensionality::<Ix4>()
                .map_err(|e| e.to_string())?,
            w.view()
                .into_dimensionality::<Ix4>()
                .map_err(|e| e.to_string())?,
        );
        let out = if name == q::DEPTHWISE_CONV2D {
            depthwise_conv2d(x4, w4, None, &p)
        } else {
            conv2d(x4, w4, None, &p)
        };
        Ok(out.map_err(|e| e.to_string())?.into_dyn())
    };
    let mut diff = apply(&xq, &wq)? - apply(&x, &w)?;
    if let (Some(&fa), Some(&qa)) = (fo.get(3), qo.get(3)) {
        let a = float
            .value(fa)
            .ok_or("the float run did not record the fused add's operand")?;
        diff = diff + dequantized(lowered, emulated, qa)? - a;
    }
    let mut sums = vec![0.0f64; cout];
    for (i, &d) in diff.iter().enumerate() {
        sums[i % cout] += f64::from(d);
    }
    let count = (diff.len() / cout.max(1)).max(1) as f64;
    Ok(sums.into_iter().map(|s| s / count).collect())
}

/// The convolution geometry of the lowered op `qop` (input channels `cin`).
fn conv_params(lowered: &Module, qop: OpId, cin: usize) -> Result<Conv2dParams, String> {
    let ints = |k: &str| -> Result<Vec<usize>, String> {
        lowered
            .attr(qop, k)
            .and_then(Attribute::as_i64_array)
            .map(|v| v.iter().map(|&x| x.max(0) as usize).collect())
            .ok_or_else(|| format!("the lowered layer has no '{k}'"))
    };
    let (s, d, p) = (ints("strides")?, ints("dilations")?, ints("pads")?);
    let groups = if lowered.op(qop).name_str() == q::DEPTHWISE_CONV2D {
        cin
    } else {
        lowered
            .attr(qop, "groups")
            .and_then(Attribute::as_i64)
            .map_or(1, |g| g.max(1) as usize)
    };
    Ok(Conv2dParams {
        stride: [s[0], s[1]],
        dilation: [d[0], d[1]],
        pads: Padding {
            top: p[0],
            left: p[1],
            bottom: p[2],
            right: p[3],
        },
        groups,
    })
}

/// Re-quantizes the bias of `op` less `correction` into the bias constant of the lowered op
/// `qop`, as `hl-to-quant` does (its accumulator scales and `q_bias_mode`).
fn set_bias_codes(
    m: &Module,
    op: OpId,
    lowered: &mut Module,
    qop: OpId,
    correction: &[f64],
) -> Result<(), String> {
    let cout = correction.len();
    let bias = match m.op(op).operands().get(2) {
        Some(&b) => super::weight_clipping::kernel_values(m, b)?,
        None => vec![0.0; cout],
    };
    let mode = match m.attr(op, "q_bias_mode").and_then(Attribute::as_str) {
        Some(s) => BiasMode::parse(s).ok_or_else(|| format!("unknown bias mode '{s}'"))?,
        None => BiasMode::DoubleScaleInitialization,
    };
    let qb = lowered.op(qop).operands()[2];
    let acc = QuantType::parse(lowered.value_type(qb)).ok_or("the bias is not quantized")?;
    let (_, key) = const_codes(lowered, qb)?;
    let bytes: Vec<u8> = bias
        .iter()
        .zip(correction)
        .enumerate()
        .flat_map(|(c, (b, e))| (quantize_bias(b - e, acc.scale_at(c), mode) as i32).to_le_bytes())
        .collect();
    lowered.resources.insert(&key, Blob::new(4, bytes));
    Ok(())
}
