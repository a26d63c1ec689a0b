//! `quant-matmul-equalize`: the guide's `pre_quantization_optimization(matmul_equalization)`
//! (its command reference: `policy` {allowed, enabled, disabled}, default allowed, "Enables
//! matmul Equalization on a given Layer"; the guide runs it after `matmul_correction`, late
//! among the full-precision algorithms). It runs on the float graph before calibration and
//! keeps the float function.
//!
//! A data-driven `hl.matmul` Σ_k A[.., i, k]·B[.., k, j] is unchanged when the contraction
//! index `k` of A is multiplied by `s_k` and the same `k` of B divided by it. When each operand
//! comes from a weighted layer (conv, depthwise or dense with constant weights and a positively
//! homogeneous activation) through reshapes and transposes that nothing else reads, as the
//! query and key projections of attention do, `s_k` goes into those layers' output channels
//! (kernel and bias). A channel of the A-side producer is scaled by
//! `s = sqrt(r^B / r^A)`, its partner channel of the B-side producer by `1/s` (`r` a channel's
//! largest |value| over the calibration set, `s` clamped to `[1/max-scale, max-scale]`): both
//! partners end at the range `sqrt(r^A·r^B)`, so no single channel widens either operand's
//! per-tensor range while the others use a small part of it.
//!
//! Which producer channel reaches which operand position is found by moving a tensor of
//! channel numbers through the reshapes and transposes (batch 1). The matmul is left alone
//! unless every contraction index reads one channel of each producer, and the channels pair
//! one to one.
//!
//! `quant-matmul-equalize{samples=64 batch-size=8 max-scale=16.0 policy=allowed
//! layers=[matmul1:disabled]}`: `allowed` (the guide's default) and `enabled` equalize every
//! matmul where the rule above applies, `disabled` none; per-layer entries override.

use super::channel_stats::{channel_stats, ChannelStats};
use super::equalize::{parse_policy, producer, scale_output_channels};
use super::{layer_of, per_layer};
use hailo_dialect_hl as hl;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, ValueId};
use ndarray::{ArrayD, IxDyn};
use rustc_hash::FxHashMap;

hailo_ir::pass_options! {
    pub struct MatmulEqualizeOptions {
        /// Calibration samples the channel ranges are measured on.
        samples: i64 = 64,
        /// Samples per executor run.
        batch_size: i64 = 8,
        /// The largest factor (and the inverse of the smallest) a channel is scaled by.
        max_scale: f64 = 16.0,
        /// Policy of matmul layers not listed in `layers`: allowed, enabled or disabled.
        policy: String = "allowed".to_owned(),
        /// Per-matmul policy, `layer:enabled|disabled|allowed` (allowed: as `policy`).
        layers: Vec<String> = Vec::new(),
    }
}

pub struct MatmulEqualize(MatmulEqualizeOptions);

impl PassDef for MatmulEqualize {
    const NAME: &'static str = "quant-matmul-equalize";
    const SUMMARY: &'static str =
        "Matmul equalization: balance the contraction channels of a data-driven matmul's two operands in their producers, keeping the float function";
    const DESCRIPTION: &'static str = "Needs the calibration set (hailo-opt --calib-set FILE). \
        Each operand must come from a conv, depthwise or dense layer through reshapes and transposes only.";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = MatmulEqualizeOptions;

    fn new(o: MatmulEqualizeOptions) -> Self {
        MatmulEqualize(o)
    }
    fn options(&self) -> &MatmulEqualizeOptions {
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
        let pairs: Vec<Pairing> = crate::hl::body_ops(m, graph)
            .into_iter()
            .filter(|&op| hl::MatMul::cast(m, op).is_some() && settings.enabled(&layer_of(m, op)))
            .filter_map(|op| pairing(m, op))
            .collect();
        if pairs.is_empty() {
            return Ok(Preserved::All);
        }
        let stats = channel_stats(
            m,
            graph,
            cx,
            Self::NAME,
            (self.0.samples, self.0.batch_size),
        )?;
        let mut scaled = 0u64;
        for p in &pairs {
            match p.equalize(m, &stats, settings.max_scale) {
                Ok(n) => scaled += n,
                Err(e) => return Err(cx.fail_at(m, p.matmul, e)),
            }
        }
        cx.stat("matmuls", "Matmuls equalized", pairs.len() as u64);
        cx.stat("channels", "Channel pairs scaled", scaled);
        Ok(if scaled > 0 {
            Preserved::None
        } else {
            Preserved::All
        })
    }
}

struct Settings {
    max_scale: f64,
    /// The policy of matmuls not listed (`allowed` runs as `enabled`).
    enabled_by_default: bool,
    layers: FxHashMap<String, Option<bool>>,
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

impl MatmulEqualize {
    fn settings(&self) -> Result<Settings, String> {
        let o = &self.0;
        if o.max_scale.is_nan() || o.max_scale < 1.0 {
            return Err(format!(
                "'max-scale' must be at least 1, got {}",
                o.max_scale
            ));
        }
        Ok(Settings {
            max_scale: o.max_scale,
            enabled_by_default: parse_policy(&o.policy)?.unwrap_or(true),
            layers: per_layer(&o.layers, "layers", parse_policy)?,
        })
    }
}

/// A matmul whose operands' producers can absorb the scales: `a_to_b[c]` is the B-side
/// producer channel paired with A-side producer channel `c`.
struct Pairing {
    matmul: OpId,
    a: OpId,
    b: OpId,
    a_to_b: Vec<usize>,
}

/// The weighted producer of `v` and the reshapes/transposes from it to `v` (in order), when
/// every value on the way has one reader.
fn trace(m: &Module, mut v: ValueId) -> Option<(OpId, Vec<OpId>)> {
    let mut chain = Vec::new();
    loop {
        if m.value(v).uses().len() != 1 {
            return None;
        }
        let d = m.defining_op(v)?;
        if producer(m, d) {
            chain.reverse();
            return Some((d, chain));
        }
        if hl::Reshape::cast(m, d).is_none() && hl::Transpose::cast(m, d).is_none() {
            return None;
        }
        chain.push(d);
        v = m.op(d).operands()[0];
    }
}

/// `v`'s shape with batch 1: one unknown (negative) dimension is what makes `total` elements
/// (`None` for more than one, or when it does not divide).
fn concrete(m: &Module, v: ValueId, total: Option<usize>) -> Option<Vec<usize>> {
    let shape = m.value_type(v).shape()?;
    let known: usize = shape
        .iter()
        .filter(|&&d| d >= 0)
        .map(|&d| d as usize)
        .product();
    let unknown = shape.iter().filter(|&&d| d < 0).count();
    let fill = match (unknown, total) {
        (0, _) => 1,
        (1, None) => 1,
        (1, Some(t)) if known > 0 && t % known == 0 => t / known,
        _ => return None,
    };
    Some(
        shape
            .iter()
            .map(|&d| if d < 0 { fill } else { d as usize })
            .collect(),
    )
}

/// Producer channel numbers at every element of the value `chain` ends in (batch 1).
fn channel_numbers(
    m: &Module,
    producer: OpId,
    chain: &[OpId],
    total: usize,
) -> Option<ArrayD<usize>> {
    let shape = concrete(m, m.result(producer, 0), Some(total))?;
    let cout = *shape.last()?;
    let last = shape.len() - 1;
    let mut ids = ArrayD::from_shape_fn(IxDyn(&shape), |ix| ix[last]);
    debug_assert_eq!(ids.len(), total);
    for &op in chain {
        let out = concrete(m, m.result(op, 0), Some(total))?;
        ids = if hl::Transpose::cast(m, op).is_some() {
            let perm: Vec<usize> = m
                .attr(op, "perm")
                .and_then(Attribute::as_i64_array)?
                .iter()
                .map(|&p| usize::try_from(p).ok())
                .collect::<Option<_>>()?;
            if perm.len() != ids.ndim() {
                return None;
            }
            ids.permuted_axes(IxDyn(&perm))
                .as_standard_layout()
                .to_owned()
        } else {
            let flat: Vec<usize> = ids.iter().copied().collect();
            ArrayD::from_shape_vec(IxDyn(&out), flat).ok()?
        };
        if ids.shape() != out.as_slice() {
            return None;
        }
    }
    (cout > 0).then_some(ids)
}

/// The one channel each (batch position, contraction index) of an operand reads, with the
/// contraction along `axis` (of the last two) and the other of the last two summed over.
fn per_contraction(ids: &ArrayD<usize>, axis: usize) -> Option<Vec<usize>> {
    let r = ids.ndim();
    if r < 2 || axis < r - 2 {
        return None;
    }
    // Move the contraction axis last, the free axis just before it.
    let mut perm: Vec<usize> = (0..r - 2).collect();
    perm.push(if axis == r - 1 { r - 2 } else { r - 1 });
    perm.push(axis);
    let t = ids.view().permuted_axes(IxDyn(&perm));
    let (free, k) = (t.shape()[r - 2], t.shape()[r - 1]);
    if free == 0 || k == 0 {
        return None;
    }
    let flat: Vec<usize> = t.iter().copied().collect();
    let mut out = Vec::with_capacity(flat.len() / free.max(1));
    for block in flat.chunks(free * k) {
        for kk in 0..k {
            let c = block[kk];
            if (0..free).any(|i| block[i * k + kk] != c) {
                return None;
            }
            out.push(c);
        }
    }
    Some(out)
}

/// The pairing of `matmul`'s operand producers, when the rule of the module documentation
/// applies.
fn pairing(m: &Module, matmul: OpId) -> Option<Pairing> {
    let ops = m.op(matmul).operands().to_vec();
    let (&va, &vb) = (ops.first()?, ops.get(1)?);
    let (a, chain_a) = trace(m, va)?;
    let (b, chain_b) = trace(m, vb)?;
    if a == b {
        return None;
    }
    let sa = concrete(m, va, None)?;
    let sb = concrete(m, vb, None)?;
    if sa.len() != sb.len() || sa[..sa.len() - 2] != sb[..sb.len() - 2] {
        return None;
    }
    let transpose_b = m
        .attr(matmul, "transpose_b")
        .and_then(Attribute::as_bool)
        .unwrap_or(false);
    let ids_a = channel_numbers(m, a, &chain_a, sa.iter().product())?;
    let ids_b = channel_numbers(m, b, &chain_b, sb.iter().product())?;
    let r = sa.len();
    let ka = per_contraction(&ids_a, r - 1)?;
    let kb = per_contraction(&ids_b, if transpose_b { r - 1 } else { r - 2 })?;
    let cout = |op: OpId| concrete(m, m.result(op, 0), None).and_then(|s| s.last().copied());
    let (ca, cb) = (cout(a)?, cout(b)?);
    if ka.len() != kb.len() || ca != cb || ka.len() != ca {
        return None;
    }
    // One to one: every channel of each side exactly once.
    let mut a_to_b = vec![usize::MAX; ca];
    let mut b_seen = vec![false; cb];
    for (&x, &y) in ka.iter().zip(&kb) {
        if a_to_b[x] != usize::MAX || b_seen[y] {
            return None;
        }
        a_to_b[x] = y;
        b_seen[y] = true;
    }
    Some(Pairing {
        matmul,
        a,
        b,
        a_to_b,
    })
}

/// A channel's largest |value|.
fn absmax(s: &ChannelStats, c: usize) -> f64 {
    f64::from(s.max[c].abs().max(s.min[c].abs()))
}

impl Pairing {
    /// Scales the two producers (module documentation); returns how many pairs changed.
    fn equalize(
        &self,
        m: &mut Module,
        stats: &FxHashMap<String, ChannelStats>,
        max_scale: f64,
    ) -> Result<u64, String> {
        let (la, lb) = (layer_of(m, self.a), layer_of(m, self.b));
        let (Some(sa), Some(sb)) = (stats.get(&la), stats.get(&lb)) else {
            return Err(format!(
                "no channel statistics for its producers '{la}' and '{lb}'"
            ));
        };
        let n = self.a_to_b.len();
        if sa.max.len() != n || sb.max.len() != n {
            return Err(format!(
                "its producers '{la}' and '{lb}' have {} and {} channels, the matmul pairs {n}",
                sa.max.len(),
                sb.max.len()
            ));
        }
        let mut scale_a = vec![1.0; n];
        let mut scale_b = vec![1.0; n];
        let mut changed = 0;
        for (c, &d) in self.a_to_b.iter().enumerate() {
            let (ra, rb) = (absmax(sa, c), absmax(sb, d));
            if ra > 0.0 && rb > 0.0 {
                let s = (rb / ra).sqrt().clamp(1.0 / max_scale, max_scale);
                scale_a[c] = s;
                scale_b[d] = 1.0 / s;
                changed += u64::from(s != 1.0);
            }
        }
        scale_output_channels(m, self.a, &scale_a).map_err(|e| format!("'{la}': {e}"))?;
        scale_output_channels(m, self.b, &scale_b).map_err(|e| format!("'{lb}': {e}"))?;
        Ok(changed)
    }
}
