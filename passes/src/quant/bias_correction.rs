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
//! a copy) gets the corrected bias codes, the emulation's plan (built once) re-prepares that
//! one layer ([`hailo_executor::Executor::reprepare`]), and the emulation resumes from the
//! recorded run, evaluating only the corrected layer and what follows it up to the next layer
//! to measure ([`hailo_executor::Executor::run_resumed_until`]; the first run stops at the
//! first layer). So the whole correction costs one float run and about one integer run of the
//! calibration samples. `one-pass` measures every layer on the
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
use hailo_executor::{Executor, GraphRef, Recording};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Blob, Module, OpId};
use ndarray::{ArrayD, Axis};
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
    let lowered_of = |m: &Module, op: OpId| {
        let layer = layer_of(m, op);
        q_ops.get(&layer).copied().ok_or_else(|| {
            (
                Some(op),
                format!("layer '{layer}' has no lowered weighted op to correct"),
            )
        })
    };
    let mut exec =
        Executor::new(&lowered, GraphRef::Id(graph)).map_err(|e| (None, e.to_string()))?;
    // Iterative: the emulation goes no further than the layer being measured; one-pass: every
    // layer is measured on one full run.
    let first = match (iterative, targets.first()) {
        (true, Some(&op)) => exec.run_recorded_until(data, lowered_of(m, op)?),
        _ => exec.run_recorded(data),
    };
    let mut emulated = first.map_err(|e| (None, e.to_string()))?.recording;
    let mut pending: FxHashSet<OpId> = FxHashSet::default();
    let mut corrected = 0;
    for &op in targets {
        let layer = layer_of(m, op);
        let qop = lowered_of(m, op)?;
        if iterative && !pending.is_empty() {
            emulated = exec
                .run_resumed_until(data, &emulated, &pending, qop)
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
        if iterative {
            exec.reprepare(&lowered, qop)
                .map_err(|e| (Some(op), e.to_string()))?;
        }
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
    let w = super::weight_clipping::kernel_values(m, fo[1])?;
    let cout = *kshape.last().ok_or("kernel of rank 0")?;
    let wq: Vec<f64> = dequantized_kernel(lowered, qo[1])?
        .into_iter()
        .map(f64::from)
        .collect();
    let out = m
        .value_type(m.result(op, 0))
        .shape()
        .unwrap_or(&[])
        .to_vec();
    let g = if lowered.op(qop).name_str() == q::DENSE {
        // A dense layer is a 1×1 convolution of the flattened input.
        Geometry {
            kernel: [1, 1],
            stride: [1, 1],
            dilation: [1, 1],
            pads: [0, 0],
            out: [1, 1],
            groups: 1,
        }
    } else {
        geometry(
            lowered,
            qop,
            &kshape,
            &out,
            x.shape().get(3).copied().unwrap_or(1),
        )?
    };
    let mut eps: Vec<f64> = mean_output(&xq, &wq, &g, cout)?
        .iter()
        .zip(mean_output(&x, &w, &g, cout)?)
        .map(|(a, b)| a - b)
        .collect();
    if let (Some(&fa), Some(&qa)) = (fo.get(3), qo.get(3)) {
        let a = float
            .value(fa)
            .ok_or("the float run did not record the fused add's operand")?;
        let d = dequantized(lowered, emulated, qa)? - a;
        let count = (d.len() / cout.max(1)).max(1) as f64;
        for (i, &v) in d.iter().enumerate() {
            eps[i % cout] += f64::from(v) / count;
        }
    }
    Ok(eps)
}

/// Where a convolution's kernel taps read its input.
struct Geometry {
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    /// Top and left padding.
    pads: [usize; 2],
    /// Output rows and columns.
    out: [usize; 2],
    groups: usize,
}

/// The geometry of the lowered convolution `qop` (kernel shape `k`, `hl` result shape `out`,
/// `cin` input channels).
fn geometry(
    lowered: &Module,
    qop: OpId,
    k: &[usize],
    out: &[i64],
    cin: usize,
) -> Result<Geometry, String> {
    let ints = |key: &str| -> Result<Vec<usize>, String> {
        lowered
            .attr(qop, key)
            .and_then(Attribute::as_i64_array)
            .filter(|v| v.len() >= 2)
            .map(|v| v.iter().map(|&x| x.max(0) as usize).collect())
            .ok_or_else(|| format!("the lowered layer has no '{key}'"))
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
    match (k, out) {
        ([kh, kw, _, _], [_, oh, ow, _]) => Ok(Geometry {
            kernel: [*kh, *kw],
            stride: [s[0], s[1]],
            dilation: [d[0], d[1]],
            pads: [p[0], p[1]],
            out: [*oh as usize, *ow as usize],
            groups,
        }),
        _ => Err(format!("kernel {k:?} or output {out:?} is not rank 4")),
    }
}

/// The mean of each output channel of the convolution of `x` ([n, h, w, cin], or [n, cin]
/// for a dense layer) with the flat HWIO kernel `w`, without the bias. By linearity it is
/// Σ over taps and input channels of the weight times the mean input value that tap reads
/// (zero in the padding), so no convolution runs: one pass over the taps of every output
/// position, far cheaper than the convolution itself.
fn mean_output(x: &ArrayD<f32>, w: &[f64], g: &Geometry, cout: usize) -> Result<Vec<f64>, String> {
    let x = x.as_standard_layout();
    let n = x.shape().first().copied().unwrap_or(1).max(1);
    let (h, wd, cin) = match x.shape() {
        [_, h, w, c] => (*h, *w, *c),
        _ => (1, 1, x.len() / n),
    };
    let data = x.as_slice().ok_or("the layer input is not contiguous")?;
    let [kh, kw] = g.kernel;
    let mut sums = vec![0.0f64; kh * kw * cin];
    for s in 0..n {
        for oy in 0..g.out[0] {
            for ox in 0..g.out[1] {
                for i in 0..kh {
                    let y = (oy * g.stride[0] + i * g.dilation[0]).checked_sub(g.pads[0]);
                    let Some(y) = y.filter(|&y| y < h) else {
                        continue;
                    };
                    for j in 0..kw {
                        let xx = (ox * g.stride[1] + j * g.dilation[1]).checked_sub(g.pads[1]);
                        let Some(xx) = xx.filter(|&v| v < wd) else {
                            continue;
                        };
                        let row = &data[((s * h + y) * wd + xx) * cin..][..cin];
                        let acc = &mut sums[(i * kw + j) * cin..][..cin];
                        for (a, &v) in acc.iter_mut().zip(row) {
                            *a += f64::from(v);
                        }
                    }
                }
            }
        }
    }
    let count = (n * g.out[0] * g.out[1]).max(1) as f64;
    let cin_g = cin / g.groups.max(1);
    let cout_g = (cout / g.groups.max(1)).max(1);
    if w.len() != kh * kw * cin_g * cout {
        return Err(format!(
            "kernel of {} values for {kh}x{kw}x{cin_g}x{cout}",
            w.len()
        ));
    }
    Ok((0..cout)
        .map(|c| {
            let base = (c / cout_g) * cin_g;
            let mut e = 0.0;
            for t in 0..kh * kw {
                for k in 0..cin_g {
                    e += w[(t * cin_g + k) * cout + c] * sums[t * cin + base + k];
                }
            }
            e / count
        })
        .collect())
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
    // The bias type's scale already holds the lowering's `bias_shift`; the corrected bias must
    // fit at that scale.
    let mut bytes = Vec::with_capacity(4 * cout);
    for (c, (b, e)) in bias.iter().zip(correction).enumerate() {
        let q = quantize_bias(b - e, acc.scale_at(c), mode)?;
        let code = i32::try_from(q.accumulator_units()).map_err(|_| {
            format!("the corrected bias of channel {c} does not fit its 32-bit bias scale")
        })?;
        bytes.extend(code.to_le_bytes());
    }
    lowered.resources.insert(&key, Blob::new(4, bytes));
    Ok(())
}
