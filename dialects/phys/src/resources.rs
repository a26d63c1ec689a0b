//! The resource model: what each physical layer takes from its cluster and how fast it can go.
//!
//! Allocation (how many subclusters per layer), placement (which cluster) and context splitting all
//! weigh the same two things per layer, so every `phys` op implements [`ResourceModel`] and those
//! passes ask it instead of knowing op kinds.
//!
//! **Resources** (resources doc §4): a physical layer with at least one subcluster takes one layer
//! controller (LCU), its subclusters, one APU and one input aligner (IA); a 16x4 layer takes two IAs
//! and a COMPUTE_LANES part two APUs and two IAs; helpers (concat, splitters, shortcut) take one of
//! each; portals take no LCU and no subcluster but one APU (L3/L4) or one IA (DDR); host-side layers
//! (0 subclusters) take nothing, and so does the second layer of a merge (it shares the first's).
//! Memory is counted in bytes (weights, buffered rows); the size of the
//! L3 unit the DFC reports in is unknown, so [`Resources::l3_units`] answers only for a target that
//! sets it.
//!
//! **Throughput** (§5): the core is a layer pipeline, so a MAC-driven layer runs at most
//! `SC × MACs/cycle × clock × η / MACs per frame` frames per second and the network at the minimum
//! over its layers. Both subcluster modes do 64 MACs per cycle; they differ in how the output is
//! tiled (8 columns × 8 features or 16 × 4, DFC guide `use_16x4_sc`), which [`Work::aligned_macs`]
//! counts by padding the output width and features to the tile, the profiler's `width_align_util`
//! and `feature_align_util`.

use crate::kind::{DefuseKind, LayerKind, PortalMemory};
use crate::ops::LayerParams;
use hailo_dialect_quant::QuantType;
use hailo_ir::{Attribute, Module, OpId, OpTable, Type};
use hailo_target::{ScMode, Target};
use std::sync::LazyLock;

type Result<T> = std::result::Result<T, String>;

/// What one physical layer takes from the cluster it is placed on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub layer_controllers: u32,
    pub subclusters: u32,
    pub apus: u32,
    pub input_aligners: u32,
    /// Kernel and bias bytes held in cluster memory.
    pub weight_bytes: u64,
    /// Bytes of buffered feature-map rows.
    pub buffer_bytes: u64,
}

impl Resources {
    /// One LCU, `subclusters` SCs, one APU, one IA: a layer on the core; nothing when it has no
    /// subcluster (it runs on the host side).
    fn on_core(subclusters: u32) -> Resources {
        let n = u32::from(subclusters > 0);
        Resources {
            layer_controllers: n,
            subclusters,
            apus: n,
            input_aligners: n,
            ..Resources::default()
        }
    }

    /// The memory in the target's L3 units, when the target gives the unit size.
    pub fn l3_units(&self, target: &Target) -> Option<u64> {
        let unit = target.memory.l3_unit_bytes.value.filter(|&u| u > 0)?;
        Some((self.weight_bytes + self.buffer_bytes).div_ceil(unit))
    }
}

/// A MAC-driven layer's work per frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Work {
    pub macs: u64,
    pub mode: ScMode,
    /// The output width and features a conv, deconv or depthwise layer tiles in `mode`; `None` for
    /// dense and matmul, which have no width to tile.
    pub output_width_features: Option<[u64; 2]>,
}

impl Work {
    /// MACs with the output width padded to the mode's columns and the output features to its
    /// features on `target`: what the subclusters actually spend.
    pub fn aligned_macs(&self, target: &Target) -> u64 {
        let Some([w, c]) = self.output_width_features else {
            return self.macs;
        };
        let tile = target.subcluster.array(self.mode);
        let pad = |v: u64, t: u32| v.div_ceil(u64::from(t)) * u64::from(t);
        let padded = u128::from(pad(w, tile.columns)) * u128::from(pad(c, tile.features));
        (u128::from(self.macs) * padded / u128::from((w * c).max(1))) as u64
    }

    /// Frames per second with `subclusters` subclusters on `target` (the MAC bound times η).
    pub fn fps(&self, subclusters: u32, target: &Target) -> f64 {
        rate(self.macs, subclusters, self.mode, target)
    }

    /// The fewest subclusters, up to the target's per-layer limit, with which this work reaches
    /// `fps` (the MAC bound); `None` when even the limit does not.
    pub fn fewest_subclusters(&self, fps: f64, target: &Target) -> Option<u32> {
        (1..=target.limits.max_subclusters).find(|&n| self.fps(n, target) >= fps)
    }

    /// The same bound counting the padded tiles.
    pub fn aligned_fps(&self, subclusters: u32, target: &Target) -> f64 {
        rate(self.aligned_macs(target), subclusters, self.mode, target)
    }
}

fn rate(macs: u64, subclusters: u32, mode: ScMode, target: &Target) -> f64 {
    target.peak_macs_per_second(subclusters, mode) * target.efficiency() / macs.max(1) as f64
}

/// What a `phys` op costs and how fast it can go.
pub trait ResourceModel: Sync {
    fn resources(&self, m: &Module, op: OpId) -> Result<Resources>;

    /// The layer's work per frame when its rate is set by MACs; `None` for layers the MAC model
    /// does not bound (helpers, pooling, elementwise, portals, buffers).
    fn work(&self, _m: &Module, _op: OpId) -> Result<Option<Work>> {
        Ok(None)
    }
}

static OPS: LazyLock<OpTable> = LazyLock::new(|| OpTable::new(crate::ops::defs()));

/// `op`'s resource model when it is a `phys` op.
pub fn resource_model(m: &Module, op: OpId) -> Option<&'static dyn ResourceModel> {
    OPS.interface::<dyn ResourceModel>(m, op)
}

/// The rate `op` can sustain with its own subclusters on `target`, when the MAC model bounds it.
pub fn layer_fps(m: &Module, op: OpId, target: &Target) -> Result<Option<f64>> {
    let Some(model) = resource_model(m, op) else {
        return Err(format!("'{}' is not a phys op", m.op(op).name_str()));
    };
    let sc = model.resources(m, op)?.subclusters;
    Ok(model.work(m, op)?.map(|w| w.fps(sc, target)))
}

fn shape(m: &Module, v: hailo_ir::ValueId) -> &'static [i64] {
    m.value_type(v).shape().unwrap_or(&[])
}

fn nhwc(s: &[i64], what: &str) -> Result<[u64; 4]> {
    match *s {
        [n, h, w, c] if s.iter().all(|&d| d > 0) => Ok([n as u64, h as u64, w as u64, c as u64]),
        _ => Err(format!("{what} must be an NHWC tensor, got shape {s:?}")),
    }
}

fn positive(s: &[i64], what: &str) -> Result<u64> {
    if s.is_empty() || s.iter().any(|&d| d <= 0) {
        return Err(format!(
            "{what} must have a known non-empty shape, got {s:?}"
        ));
    }
    Ok(s.iter().product::<i64>() as u64)
}

/// The multiply-accumulates of one frame of a `phys.layer` (`None` when its kind is not
/// MAC-driven), from its operand and result shapes: conv `N·Ho·Wo·kh·kw·(Cin/groups)·Cout`,
/// depthwise `N·Ho·Wo·kh·kw·Cout`, deconv `N·Hi·Wi·kh·kw·(Cin/groups)·Cout`, dense
/// `N·Cin·Cout`, matmul `|result|·K`.
pub fn macs_per_frame(m: &Module, op: OpId, p: &LayerParams) -> Result<Option<u64>> {
    if !p.kind.mac_driven() {
        return Ok(None);
    }
    let o = m.op(op);
    let x = shape(m, o.operands()[0]);
    let y = shape(m, o.results()[0]);
    let [kh, kw] = p.kernel.map(|k| k as u64);
    let groups = p.groups as u64;
    let macs = match p.kind {
        LayerKind::Conv | LayerKind::Deconv | LayerKind::Depthwise => {
            let [_, hi, wi, cin] = nhwc(x, "the input")?;
            let [n, ho, wo, cout] = nhwc(y, "the result")?;
            if cin % groups != 0 {
                return Err(format!(
                    "input features ({cin}) are not divisible by 'groups' ({groups})"
                ));
            }
            match p.kind {
                LayerKind::Depthwise => n * ho * wo * kh * kw * cout,
                LayerKind::Deconv => n * hi * wi * kh * kw * (cin / groups) * cout,
                _ => n * ho * wo * kh * kw * (cin / groups) * cout,
            }
        }
        LayerKind::Dense => {
            positive(x, "the input")? * positive(&y[y.len().saturating_sub(1)..], "the result")?
        }
        LayerKind::MatMul => {
            positive(y, "the result")?
                * positive(&x[x.len().saturating_sub(1)..], "the first input")?
        }
        _ => unreachable!("mac_driven kinds are handled above"),
    };
    Ok(Some(macs))
}

fn bytes_of(ty: Type) -> u64 {
    let bits = QuantType::parse(ty).map_or(8, |q| u64::from(q.storage().bits()));
    (ty.num_elements().max(0) as u64 * bits).div_ceil(8)
}

/// `phys.layer`: resources from its `subclusters`, `mode` and defuse role; work from its shapes.
pub struct ComputeLayer;

impl ResourceModel for ComputeLayer {
    fn resources(&self, m: &Module, op: OpId) -> Result<Resources> {
        let p = LayerParams::of(m, op)?;
        // The second layer of a merge runs on its partner's controller and subclusters.
        let shares = m
            .attr(op, "merge_index")
            .and_then(Attribute::as_i64)
            .is_some_and(|i| i > 0);
        let mut r = Resources::on_core(if shares { 0 } else { p.subclusters });
        if r.layer_controllers > 0 {
            let lanes = matches!(p.defuse, Some((DefuseKind::ComputeLanes, _)));
            if lanes {
                r.apus = 2;
            }
            if lanes || p.mode == ScMode::Mode16x4 {
                r.input_aligners = 2;
            }
        }
        // A features or input-features part holds its slice of the kernel's and bias's last
        // (output feature) axis.
        let slice = match p.defuse {
            Some((DefuseKind::Features | DefuseKind::InputFeatures, _)) => m
                .attr(op, "slice")
                .and_then(Attribute::as_i64_array)
                .filter(|s| s.len() == 2 && s[0] < s[1]),
            _ => None,
        };
        r.weight_bytes = m.op(op).operands()[p.inputs..]
            .iter()
            .map(|&v| {
                let ty = m.value_type(v);
                let last = ty.shape().and_then(|s| s.last().copied()).unwrap_or(0);
                match &slice {
                    Some(s) if last >= s[1] => bytes_of(ty) * (s[1] - s[0]) as u64 / last as u64,
                    _ => bytes_of(ty),
                }
            })
            .sum();
        Ok(r)
    }

    fn work(&self, m: &Module, op: OpId) -> Result<Option<Work>> {
        let p = LayerParams::of(m, op)?;
        let tiled = matches!(
            p.kind,
            LayerKind::Conv | LayerKind::Deconv | LayerKind::Depthwise
        );
        let y = shape(m, m.result(op, 0));
        Ok(macs_per_frame(m, op, &p)?.map(|macs| Work {
            macs,
            mode: p.mode,
            output_width_features: (tiled && y.len() == 4).then(|| [y[2] as u64, y[3] as u64]),
        }))
    }
}

/// Concat, splitters, shortcut, output mux: one LCU, SC, APU and IA each (resources doc §4, every
/// such layer in the dumps; the output mux is not in the dumps and is costed alike [I]).
pub struct Helper;
pub const HELPER: Helper = Helper;

impl ResourceModel for Helper {
    fn resources(&self, _m: &Module, _op: OpId) -> Result<Resources> {
        Ok(Resources::on_core(1))
    }
}

/// `phys.portal`: no LCU, no SC; one IA for a DDR portal (8 of the dumps' 10), one APU for an L3/L4
/// portal (12 of 17) (resources doc §2, `dumps.csv`).
pub struct PortalCost;

impl ResourceModel for PortalCost {
    fn resources(&self, m: &Module, op: OpId) -> Result<Resources> {
        let mem = m
            .attr(op, "memory")
            .and_then(Attribute::as_str)
            .unwrap_or("");
        let ddr = match PortalMemory::parse(mem) {
            Some(PortalMemory::Ddr) => true,
            Some(PortalMemory::L3 | PortalMemory::L4) => false,
            None => return Err(format!("unknown portal memory \"{mem}\"")),
        };
        Ok(Resources {
            apus: u32::from(!ddr),
            input_aligners: u32::from(ddr),
            ..Resources::default()
        })
    }
}

/// `phys.format_conversion`: nothing on the host side (0 subclusters, 18 in the dumps), else a
/// layer on the core (38 with 1 SC, 1 with 2).
pub struct FormatConversionCost;

impl ResourceModel for FormatConversionCost {
    fn resources(&self, m: &Module, op: OpId) -> Result<Resources> {
        let sc = m
            .attr(op, "subclusters")
            .and_then(Attribute::as_i64)
            .unwrap_or(0);
        Ok(Resources::on_core(sc.clamp(0, i64::from(u32::MAX)) as u32))
    }
}

/// `phys.buffer`: no layer resources; `rows + rows_after` rows of its NHWC input (a dense output
/// `[N, C]` is one row) in memory (the two sizes sit in the source and destination clusters of
/// a cross-cluster edge).
pub struct BufferCost;

impl ResourceModel for BufferCost {
    fn resources(&self, m: &Module, op: OpId) -> Result<Resources> {
        let ty = m.value_type(m.result(op, 0));
        let h = match ty.shape().unwrap_or(&[]) {
            [n, c] if *n > 0 && *c > 0 => 1,
            s => nhwc(s, "a buffered feature map")?[1],
        };
        let rows = ["rows", "rows_after"]
            .iter()
            .filter_map(|k| m.attr(op, k).and_then(Attribute::as_i64))
            .sum::<i64>()
            .max(0) as u64;
        Ok(Resources {
            buffer_bytes: bytes_of(ty) / h * rows,
            ..Resources::default()
        })
    }
}
