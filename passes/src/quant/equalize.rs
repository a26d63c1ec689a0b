//! `quant-equalize`: one-step equalization (Meller et al. 2019, "Same, same but different";
//! quantization.md §3), the guide's `pre_quantization_optimization(equalization)`. It runs on
//! the float graph before calibration and keeps the float function: a weighted layer's output
//! channel `c` is amplified by `s_c ≥ 1` (kernel and bias), the scale passes through ops that
//! commute with channel scaling (the `ChannelScaling` interface: ReLU, leaky, PReLU, pools,
//! channel-keeping reshapes, channel concats), and the consumers' kernels divide input channel
//! `c` by `s_c`.
//!
//! With `R^W` the producer's largest `|weight|` and `r^W_c` channel `c`'s, and, for every
//! tensor between producer and consumers, `[m, M]` its range and `[m_c, M_c]` channel `c`'s
//! over the calibration set: `s_c = min(R^W / r^W_c, M / M_c, m / m_c, max-scale)` (the
//! activation terms for `M_c > 0`, `m_c < 0`), at least 1. Every channel grows until its
//! weights or its activations reach the tensor's range, so no producer's weight range and no
//! activation range grows, and small channels get more of the per-tensor grid.
//!
//! A group is the producers whose outputs meet (through a concat) and their consumers. It is
//! left alone when one of its tensors reaches anything else (a residual add, SiLU, sigmoid,
//! hard-swish, ReLU6 or clip, whose bound is one number for all channels, an output), when
//! a producer has such a fused activation (then only its concat partners are scaled, unless
//! it is the group's start), or when the policy of one of its layers says `disabled`.
//!
//! `quant-equalize{samples=64 batch-size=8 max-scale=16.0 policy=enabled
//! layers=[conv1:disabled] targets=[conv2:weights]}`.

use super::channel_stats::{channel_stats, ChannelStats};
use super::{layer_of, per_layer};
use crate::hl::fusion::{const_values, set_const};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::interfaces::{interface, ChannelScaling, FusedActivation, Weights};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, ValueId};
use rustc_hash::{FxHashMap, FxHashSet};

hailo_ir::pass_options! {
    pub struct EqualizeOptions {
        /// Calibration samples the channel ranges are measured on.
        samples: i64 = 64,
        /// Samples per executor run.
        batch_size: i64 = 8,
        /// The largest factor a channel is amplified by.
        max_scale: f64 = 16.0,
        /// Policy of layers not listed in `layers`: enabled or disabled.
        policy: String = "enabled".to_owned(),
        /// Per-layer policy, `layer:enabled|disabled|allowed` (allowed: as `policy`). A group
        /// is equalized when every layer in it is enabled.
        layers: Vec<String> = Vec::new(),
        /// Per-producer equalization target, `layer:activation|weights` (default: both bounds).
        targets: Vec<String> = Vec::new(),
    }
}

pub struct Equalize(EqualizeOptions);

impl PassDef for Equalize {
    const NAME: &'static str = "quant-equalize";
    const SUMMARY: &'static str =
        "One-step equalization: scale weighted layers' channels up to their tensor's range, keeping the float function";
    const DESCRIPTION: &'static str = "Needs the calibration set (hailo-opt --calib-set FILE). \
        Scales pass through ReLU, leaky, PReLU, pools, channel-keeping reshapes and channel concats; \
        never through residual adds, SiLU, sigmoid, hard-swish, ReLU6 or clip.";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = EqualizeOptions;

    fn new(o: EqualizeOptions) -> Self {
        Equalize(o)
    }
    fn options(&self) -> &EqualizeOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let settings = match self.settings() {
            Ok(s) => s,
            Err(e) => return Err(cx.fail_at(m, graph, e)),
        };
        let groups = find_groups(m, graph);
        let allowed: Vec<Group> = groups
            .into_iter()
            .filter(|g| g.members(m).all(|l| settings.enabled(&l)))
            .collect();
        if allowed.is_empty() {
            return Ok(Preserved::All);
        }
        let stats = channel_stats(
            m,
            graph,
            cx,
            Self::NAME,
            (self.0.samples, self.0.batch_size),
        )?;
        let mut scaled = 0;
        for g in &allowed {
            match g.equalize(m, &stats, &settings) {
                Ok(n) => scaled += n,
                Err(e) => return Err(cx.fail_at(m, g.producers[0], e)),
            }
        }
        cx.stat(
            "groups",
            "Producer/consumer groups equalized",
            allowed.len() as u64,
        );
        cx.stat("channels", "Channels scaled by more than 1", scaled as u64);
        Ok(if scaled > 0 {
            Preserved::None
        } else {
            Preserved::All
        })
    }
}

/// Which bounds limit a producer's scales.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Both,
    Activation,
    Weights,
}

struct Settings {
    max_scale: f64,
    enabled_by_default: bool,
    layers: FxHashMap<String, Option<bool>>,
    targets: FxHashMap<String, Target>,
}

impl Settings {
    fn enabled(&self, layer: &str) -> bool {
        self.layers
            .get(layer)
            .copied()
            .flatten()
            .unwrap_or(self.enabled_by_default)
    }
}

/// `enabled`, `disabled` or (per layer) `allowed` (`None`: as the global policy).
pub(super) fn parse_policy(p: &str) -> Result<Option<bool>, String> {
    match p {
        "enabled" => Ok(Some(true)),
        "disabled" => Ok(Some(false)),
        "allowed" => Ok(None),
        _ => Err(format!(
            "unknown equalization policy '{p}' (enabled, disabled, allowed)"
        )),
    }
}

impl Equalize {
    fn settings(&self) -> Result<Settings, String> {
        let o = &self.0;
        if o.max_scale.is_nan() || o.max_scale < 1.0 {
            return Err(format!(
                "'max-scale' must be at least 1, got {}",
                o.max_scale
            ));
        }
        let enabled_by_default = match parse_policy(&o.policy)? {
            Some(e) => e,
            None => return Err("'policy' must be enabled or disabled".into()),
        };
        Ok(Settings {
            max_scale: o.max_scale,
            enabled_by_default,
            layers: per_layer(&o.layers, "layers", parse_policy)?
                .into_iter()
                .collect(),
            targets: per_layer(&o.targets, "targets", |t| match t {
                "activation" => Ok(Target::Activation),
                "weights" => Ok(Target::Weights),
                "default" => Ok(Target::Both),
                _ => Err(format!(
                    "unknown equalization target '{t}' (default, activation, weights)"
                )),
            })?
            .into_iter()
            .collect(),
        })
    }
}

/// How a weighted op's kernel elements map to channels.
#[derive(Clone, Copy)]
enum Kernel {
    /// `hl.conv2d` `[kh, kw, cin/groups, cout]`.
    Conv { groups: usize },
    /// `hl.depthwise_conv2d` `[kh, kw, 1, cin·multiplier]`.
    Depthwise,
    /// `hl.dense` `[cin, cout]`.
    Dense,
}

impl Kernel {
    fn of(m: &Module, op: OpId) -> Option<Kernel> {
        if hl::Conv2d::cast(m, op).is_some() {
            let groups = m
                .attr(op, "groups")
                .and_then(Attribute::as_i64)
                .unwrap_or(1);
            Some(Kernel::Conv {
                groups: usize::try_from(groups).ok()?.max(1),
            })
        } else if hl::DepthwiseConv2d::cast(m, op).is_some() {
            Some(Kernel::Depthwise)
        } else if hl::Dense::cast(m, op).is_some() {
            Some(Kernel::Dense)
        } else {
            None
        }
    }

    /// The input channel kernel element `i` reads, for a kernel of shape `shape` and `cin`
    /// input channels.
    fn input_channel(self, i: usize, shape: &[usize], cin: usize) -> usize {
        let cout = *shape.last().unwrap_or(&1);
        match self {
            Kernel::Conv { groups } => {
                let cin_g = shape[shape.len() - 2];
                let o = i % cout;
                (o / (cout / groups).max(1)) * cin_g + (i / cout) % cin_g
            }
            Kernel::Depthwise => (i % cout) / (cout / cin.max(1)).max(1),
            Kernel::Dense => i / cout,
        }
    }
}

/// A weighted op whose output channels equalization may scale: conv, depthwise or dense with
/// constant weights, one result, no fused add, and a positively homogeneous activation.
pub(super) fn producer(m: &Module, op: OpId) -> bool {
    let Some(w) = interface::<dyn Weights>(m, op) else {
        return false;
    };
    let homogeneous = interface::<dyn FusedActivation>(m, op)
        .and_then(|a| a.activation(m, op).ok())
        .is_some_and(hl::Activation::positively_homogeneous);
    let ops = m.op(op).operands();
    Kernel::of(m, op).is_some()
        && homogeneous
        && m.op(op).results().len() == 1
        && ops.len() <= w.bias().map_or(2, |b| b + 1)
        && ops
            .get(w.kernel())
            .is_some_and(|&k| const_values(m, k).is_some())
}

/// A weighted op that can absorb a scale of its input channels (operand 0).
fn consumer(m: &Module, op: OpId, operand: usize) -> bool {
    operand == 0
        && Kernel::of(m, op).is_some()
        && interface::<dyn Weights>(m, op)
            .and_then(|w| m.op(op).operands().get(w.kernel()))
            .is_some_and(|&k| const_values(m, k).is_some())
}

fn commutes(m: &Module, op: OpId) -> bool {
    m.op(op).results().len() == 1
        && interface::<dyn ChannelScaling>(m, op).is_some_and(|c| c.commutes(m, op))
}

/// Producers whose output channels are scaled, the consumers absorbing the scales, and the
/// tensors between them.
struct Group {
    producers: Vec<OpId>,
    consumers: Vec<OpId>,
    values: Vec<ValueId>,
}

/// The producer whose (scaled) result reaches `v` through single-input commuting ops.
fn source_producer(m: &Module, mut v: ValueId) -> Option<OpId> {
    loop {
        let d = m.defining_op(v)?;
        if producer(m, d) {
            return Some(d);
        }
        if !commutes(m, d) || m.op(d).operands().len() != 1 {
            return None;
        }
        v = m.op(d).operands()[0];
    }
}

/// Every equalizable group of `graph`, in the order of their first producers.
fn find_groups(m: &Module, graph: OpId) -> Vec<Group> {
    let mut assigned: FxHashSet<OpId> = FxHashSet::default();
    let mut groups = Vec::new();
    for op in crate::hl::body_ops(m, graph) {
        if assigned.contains(&op) || !producer(m, op) {
            continue;
        }
        let mut g = Group {
            producers: vec![op],
            consumers: Vec::new(),
            values: Vec::new(),
        };
        let mut valid = true;
        let mut seen: FxHashSet<ValueId> = FxHashSet::default();
        let mut work = vec![m.result(op, 0)];
        while let Some(v) = work.pop() {
            if !seen.insert(v) {
                continue;
            }
            g.values.push(v);
            for u in m.value(v).uses().to_vec() {
                if consumer(m, u.op, u.index as usize) {
                    if !g.consumers.contains(&u.op) {
                        g.consumers.push(u.op);
                    }
                } else if commutes(m, u.op) && (u.index == 0 || hl::Concat::cast(m, u.op).is_some())
                {
                    work.push(m.result(u.op, 0));
                    if hl::Concat::cast(m, u.op).is_some() {
                        for &w in m.op(u.op).operands() {
                            if let Some(p) = source_producer(m, w) {
                                if !g.producers.contains(&p) && !assigned.contains(&p) {
                                    g.producers.push(p);
                                    work.push(m.result(p, 0));
                                }
                            }
                        }
                    }
                } else {
                    valid = false;
                }
            }
        }
        assigned.extend(g.producers.iter().copied());
        if valid && !g.consumers.is_empty() {
            groups.push(g);
        }
    }
    groups
}

/// Channel `c` of a group tensor comes from channel `.1` of producer `.0` (`None`: from a
/// tensor the group does not scale).
type ChannelMap = Vec<Option<(usize, usize)>>;

fn channels(m: &Module, v: ValueId) -> usize {
    m.value_type(v)
        .shape()
        .and_then(|s| s.last())
        .map_or(1, |&c| c.max(1) as usize)
}

impl Group {
    /// The layers of the group.
    fn members<'a>(&'a self, m: &'a Module) -> impl Iterator<Item = String> + 'a {
        self.producers
            .iter()
            .chain(&self.consumers)
            .map(move |&op| layer_of(m, op))
    }

    /// Where each channel of group tensor `v` comes from.
    fn channel_map(
        &self,
        m: &Module,
        v: ValueId,
        memo: &mut FxHashMap<ValueId, ChannelMap>,
    ) -> ChannelMap {
        if let Some(c) = memo.get(&v) {
            return c.clone();
        }
        let map = match m.defining_op(v) {
            _ if !self.values.contains(&v) => vec![None; channels(m, v)],
            Some(d) if self.producers.contains(&d) => {
                let p = self.producers.iter().position(|&x| x == d).unwrap_or(0);
                (0..channels(m, v)).map(|c| Some((p, c))).collect()
            }
            Some(d) if hl::Concat::cast(m, d).is_some() => m
                .op(d)
                .operands()
                .to_vec()
                .into_iter()
                .flat_map(|w| self.channel_map(m, w, memo))
                .collect(),
            Some(d) => self.channel_map(m, m.op(d).operands()[0], memo),
            None => vec![None; channels(m, v)],
        };
        memo.insert(v, map.clone());
        map
    }

    /// Scales the group's channels (see the module documentation); returns how many channels
    /// changed.
    fn equalize(
        &self,
        m: &mut Module,
        stats: &FxHashMap<String, ChannelStats>,
        s: &Settings,
    ) -> Result<usize, String> {
        // Weight bounds, per producer channel.
        let mut scales: Vec<Vec<f64>> = Vec::new();
        for &p in &self.producers {
            let (kernel, shape) = weights(m, p)?;
            let cout = *shape.last().unwrap_or(&1);
            let mut r = vec![0.0f64; cout];
            for (i, w) in kernel.iter().enumerate() {
                r[i % cout] = r[i % cout].max(f64::from(w.abs()));
            }
            let big = r.iter().copied().fold(0.0, f64::max);
            let by_weights = s
                .targets
                .get(&layer_of(m, p))
                .copied()
                .unwrap_or(Target::Both)
                != Target::Activation;
            scales.push(
                r.iter()
                    .map(|&rc| {
                        if by_weights && rc > 0.0 {
                            (big / rc).min(s.max_scale)
                        } else {
                            s.max_scale
                        }
                    })
                    .collect(),
            );
        }
        // Activation bounds, from every tensor of the group.
        let mut memo = FxHashMap::default();
        for &v in &self.values {
            let Some(d) = m.defining_op(v) else { continue };
            let Some(st) = stats.get(&layer_of(m, d)) else {
                continue;
            };
            let map = self.channel_map(m, v, &mut memo);
            if st.max.len() != map.len() {
                continue;
            }
            let hi = st.max.iter().copied().fold(0.0f32, f32::max);
            let lo = st.min.iter().copied().fold(0.0f32, f32::min);
            for (c, src) in map.iter().enumerate() {
                let Some((p, k)) = *src else { continue };
                if s.targets.get(&layer_of(m, self.producers[p])) == Some(&Target::Weights) {
                    continue;
                }
                let bound = &mut scales[p][k];
                if st.max[c] > 0.0 {
                    *bound = bound.min(f64::from(hi) / f64::from(st.max[c]));
                }
                if st.min[c] < 0.0 {
                    *bound = bound.min(f64::from(lo) / f64::from(st.min[c]));
                }
            }
        }
        for row in &mut scales {
            for x in row.iter_mut() {
                *x = x.max(1.0);
            }
        }
        // Producers: output channel c times s_c (kernel and bias).
        for (p, &op) in self.producers.iter().enumerate() {
            scale_output_channels(m, op, &scales[p])?;
        }
        // Consumers: input channel c divided by s_c.
        for &op in &self.consumers {
            let input = m.op(op).operands()[0];
            let map = self.channel_map(m, input, &mut memo);
            let kind = Kernel::of(m, op).ok_or("is not a conv, depthwise or dense layer")?;
            let (mut kernel, shape) = weights(m, op)?;
            for (i, w) in kernel.iter_mut().enumerate() {
                let c = kind.input_channel(i, &shape, map.len());
                if let Some(Some((p, k))) = map.get(c) {
                    *w = (f64::from(*w) / scales[*p][*k]) as f32;
                }
            }
            let k_idx = interface::<dyn Weights>(m, op)
                .ok_or("has no weights")?
                .kernel();
            set_const(m, op, k_idx, "kernel", &shape, &kernel);
        }
        Ok(scales.iter().flatten().filter(|&&x| x > 1.0).count())
    }
}

/// Multiplies output channel `c` of weighted `op` (its kernel and bias) by `scales[c]`.
pub(super) fn scale_output_channels(
    m: &mut Module,
    op: OpId,
    scales: &[f64],
) -> Result<(), String> {
    let (mut kernel, shape) = weights(m, op)?;
    let cout = *shape.last().unwrap_or(&1);
    if scales.len() != cout {
        return Err(format!(
            "{} scales for {cout} output channels",
            scales.len()
        ));
    }
    for (i, w) in kernel.iter_mut().enumerate() {
        *w = (f64::from(*w) * scales[i % cout]) as f32;
    }
    let w = interface::<dyn Weights>(m, op).ok_or("has no weights")?;
    let (k_idx, b_idx) = (w.kernel(), w.bias());
    set_const(m, op, k_idx, "kernel", &shape, &kernel);
    if let Some(b) = b_idx.and_then(|b| m.op(op).operands().get(b).copied()) {
        let mut bias = const_values(m, b).ok_or("its bias is not a constant")?;
        for (c, x) in bias.iter_mut().enumerate() {
            *x = (f64::from(*x) * scales[c % cout]) as f32;
        }
        set_const(m, op, b_idx.unwrap_or(2), "bias", &[bias.len()], &bias);
    }
    Ok(())
}

/// The kernel values and shape of weighted `op`.
fn weights(m: &Module, op: OpId) -> Result<(Vec<f32>, Vec<usize>), String> {
    let w = interface::<dyn Weights>(m, op).ok_or("has no weights")?;
    let k = *m.op(op).operands().get(w.kernel()).ok_or("has no kernel")?;
    let values = const_values(m, k).ok_or("its kernel is not a constant")?;
    let shape: Vec<usize> = m
        .value_type(k)
        .shape()
        .ok_or("its kernel has no static shape")?
        .iter()
        .map(|&d| d as usize)
        .collect();
    Ok((values, shape))
}
