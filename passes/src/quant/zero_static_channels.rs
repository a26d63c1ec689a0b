//! `quant-zero-static-channels`: the guide's `pre_quantization_optimization(zero_static_channels)`
//! (on by default; quantization.md §4). A weighted layer's output channel whose variance over
//! the calibration set is at most `eps` is static: its value is the constant `a` (its mean).
//! The pass zeroes the channel's kernel and sets its bias to `a`, so the channel still outputs
//! `a` while its weights no longer widen the layer's weight range. Dead channels (a ReLU that
//! never lets anything through) are the static channels with `a = 0`.
//!
//! The bias holds `a` before the fused activation, so the pass applies when the activation
//! keeps `a` (`act(a) = a`: linear, ReLU and ReLU6 for `a ≥ 0` in range, leaky for `a ≥ 0`);
//! other static channels are left alone. Layers with a fused add are skipped (their output is
//! not the bias alone).
//!
//! `quant-zero-static-channels{samples=64 batch-size=8 eps=1e-7 policy=enabled
//! layers=[conv1:disabled]}`.

use super::channel_stats::channel_stats;
use super::{layer_of, per_layer};
use crate::hl::fusion::{const_values, set_const};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::interfaces::{interface, FusedActivation, Weights};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Module, OpId};

hailo_ir::pass_options! {
    pub struct ZeroStaticChannelsOptions {
        /// Calibration samples the channel variances are measured on.
        samples: i64 = 64,
        /// Samples per executor run.
        batch_size: i64 = 8,
        /// A channel whose variance is at most this is static (the guide's `eps`).
        eps: f64 = 1e-7,
        /// Policy of layers not listed in `layers`: enabled or disabled.
        policy: String = "enabled".to_owned(),
        /// Per-layer policy, `layer:enabled|disabled|allowed` (allowed: as `policy`).
        layers: Vec<String> = Vec::new(),
    }
}

pub struct ZeroStaticChannels(ZeroStaticChannelsOptions);

impl PassDef for ZeroStaticChannels {
    const NAME: &'static str = "quant-zero-static-channels";
    const SUMMARY: &'static str =
        "Zero the kernel of output channels that are constant on the calibration set (the bias keeps the value)";
    const DESCRIPTION: &'static str = "Needs the calibration set (hailo-opt --calib-set FILE).";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = ZeroStaticChannelsOptions;

    fn new(o: ZeroStaticChannelsOptions) -> Self {
        ZeroStaticChannels(o)
    }
    fn options(&self) -> &ZeroStaticChannelsOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let o = &self.0;
        let policy = |p: &str| match p {
            "enabled" => Ok(Some(true)),
            "disabled" => Ok(Some(false)),
            "allowed" => Ok(None),
            _ => Err(format!(
                "unknown zero-static-channels policy '{p}' (enabled, disabled, allowed)"
            )),
        };
        let settings = policy(&o.policy).and_then(|default| {
            let default = default.ok_or("'policy' must be enabled or disabled")?;
            if o.eps.is_nan() || o.eps < 0.0 {
                return Err(format!("'eps' must be at least 0, got {}", o.eps));
            }
            Ok((default, per_layer(&o.layers, "layers", policy)?))
        });
        let (default, layers) = match settings {
            Ok(s) => s,
            Err(e) => return Err(cx.fail_at(m, graph, e)),
        };
        let candidates: Vec<OpId> = crate::hl::body_ops(m, graph)
            .into_iter()
            .filter(|&op| candidate(m, op))
            .filter(|&op| {
                layers
                    .get(&layer_of(m, op))
                    .copied()
                    .flatten()
                    .unwrap_or(default)
            })
            .collect();
        if candidates.is_empty() {
            return Ok(Preserved::All);
        }
        let stats = channel_stats(m, graph, cx, Self::NAME, (o.samples, o.batch_size))?;
        let mut zeroed = 0;
        for op in candidates {
            let Some(st) = stats.get(&layer_of(m, op)) else {
                continue;
            };
            let act = interface::<dyn FusedActivation>(m, op)
                .and_then(|a| a.activation(m, op).ok())
                .unwrap_or(hl::Activation::Linear);
            let constants: Vec<Option<f32>> = (0..st.max.len())
                .map(|c| {
                    let a = st.mean(c);
                    let kept = (act.eval(a) - a).abs() <= 1e-12 * a.abs().max(1.0);
                    (st.variance(c) <= o.eps && kept).then_some(a as f32)
                })
                .collect();
            zeroed += zero_channels(m, op, &constants);
        }
        cx.stat("channels", "Static channels zeroed", zeroed as u64);
        Ok(if zeroed > 0 {
            Preserved::None
        } else {
            Preserved::All
        })
    }
}

/// A weighted layer with a constant kernel and bias operands only, and one result.
fn candidate(m: &Module, op: OpId) -> bool {
    let Some(w) = interface::<dyn Weights>(m, op) else {
        return false;
    };
    let ops = m.op(op).operands();
    m.op(op).results().len() == 1
        && w.bias().is_some_and(|b| ops.len() <= b + 1)
        && ops
            .get(w.kernel())
            .is_some_and(|&k| const_values(m, k).is_some())
        && ops
            .get(w.bias().unwrap_or(2))
            .is_none_or(|&b| const_values(m, b).is_some())
}

/// Zeroes the kernel of every output channel `c` with `constants[c] = Some(a)` and sets its
/// bias to `a`; returns how many channels changed.
fn zero_channels(m: &mut Module, op: OpId, constants: &[Option<f32>]) -> usize {
    let Some(w) = interface::<dyn Weights>(m, op) else {
        return 0;
    };
    let (k_idx, b_idx) = (w.kernel(), w.bias().unwrap_or(2));
    let k = m.op(op).operands()[k_idx];
    let (Some(mut kernel), Some(shape)) = (const_values(m, k), m.value_type(k).shape()) else {
        return 0;
    };
    let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    let axis = w.output_channel_axis();
    let cout = shape[axis];
    if constants.len() != cout {
        return 0;
    }
    let inner: usize = shape[axis + 1..].iter().product();
    let mut bias = match m.op(op).operands().get(b_idx) {
        Some(&b) => const_values(m, b).unwrap_or_else(|| vec![0.0; cout]),
        None => vec![0.0; cout],
    };
    let mut changed = vec![false; cout];
    for (i, x) in kernel.iter_mut().enumerate() {
        let c = (i / inner) % cout;
        if constants[c].is_some() && *x != 0.0 {
            *x = 0.0;
            changed[c] = true;
        }
    }
    for (c, a) in constants.iter().enumerate() {
        if let Some(a) = *a {
            changed[c] |= bias[c] != a;
            bias[c] = a;
        }
    }
    let n = changed.iter().filter(|&&c| c).count();
    if n > 0 {
        set_const(m, op, k_idx, "kernel", &shape, &kernel);
        set_const(m, op, b_idx, "bias", &[cout], &bias);
    }
    n
}
