//! `hailo-target`: what a Hailo-8-family chip has, as plain data.
//!
//! Costing a physical layer, placing layers on clusters and splitting a network into contexts all need
//! the same numbers: how many clusters, how many layer controllers (LCUs), subclusters (SCs), APUs and
//! input aligners each cluster holds, how many MACs a subcluster does per cycle, the clock, and the
//! per-layer limits. They live here, once, with no dependency on the IR, so the `phys` dialect, the
//! allocator and a user's own JSON description all read the same structure.
//!
//! The numbers come from `shared/docs/hailo8-resources.md` ("the resources doc"), which derives them
//! from the vendor's allocation dumps, HailoRT and the DFC guide, each with a confidence. What that
//! doc says is unknown (memory sizes, the per-layer MAC efficiency) is a [`Param`]: a named value
//! that may be absent, with its confidence and the evidence behind it, never a constant buried in a
//! formula.
//!
//! [`Target::by_name`] picks a built-in description by the DFC's `--hw-arch` spelling (`hailo8`,
//! `hailo8r`, `hailo8l`); [`Target::from_json`] reads a user's file of the same shape as
//! [`Target::to_json`] writes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How firmly the public evidence pins a number (the resources doc's H/M/L tags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    High,
    Medium,
    Low,
    /// No public evidence for a value at all.
    Unknown,
}

/// A number the evidence pins only partly: its value when one is known (`None` when nothing public
/// gives it), how sure that value is, and where it comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param<T> {
    pub value: Option<T>,
    pub confidence: Confidence,
    pub evidence: String,
}

impl<T> Param<T> {
    fn known(value: T, confidence: Confidence, evidence: &str) -> Param<T> {
        Param {
            value: Some(value),
            confidence,
            evidence: evidence.to_owned(),
        }
    }

    fn unknown(evidence: &str) -> Param<T> {
        Param {
            value: None,
            confidence: Confidence::Unknown,
            evidence: evidence.to_owned(),
        }
    }
}

/// The two ways a subcluster arranges its multipliers (DFC guide, `compilation_param`
/// `use_16x4_sc`, and its Table 7 of the layers that support 16x4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScMode {
    /// 8 output columns × 8 output features per cycle: the default.
    #[serde(rename = "8x8")]
    Mode8x8,
    /// 16 output columns × 4 output features per cycle, for layers with few features.
    #[serde(rename = "16x4")]
    Mode16x4,
}

impl ScMode {
    pub const ALL: [ScMode; 2] = [ScMode::Mode8x8, ScMode::Mode16x4];

    /// The spelling used in the IR and in JSON: `8x8` or `16x4`.
    pub fn name(self) -> &'static str {
        match self {
            ScMode::Mode8x8 => "8x8",
            ScMode::Mode16x4 => "16x4",
        }
    }

    pub fn parse(s: &str) -> Option<ScMode> {
        ScMode::ALL.into_iter().find(|m| m.name() == s)
    }
}

impl fmt::Display for ScMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One arrangement of a subcluster's multipliers: output columns (pixels along W) × output
/// features computed per cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacArray {
    pub columns: u32,
    pub features: u32,
}

impl MacArray {
    pub const fn macs_per_cycle(self) -> u32 {
        self.columns * self.features
    }
}

/// A subcluster's compute (resources doc §0, "MACs per SC per cycle", H): 64 MACs per cycle in
/// either arrangement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subcluster {
    pub mode_8x8: MacArray,
    pub mode_16x4: MacArray,
}

impl Subcluster {
    pub fn array(&self, mode: ScMode) -> MacArray {
        match mode {
            ScMode::Mode8x8 => self.mode_8x8,
            ScMode::Mode16x4 => self.mode_16x4,
        }
    }
}

/// What one cluster holds (resources doc §0 and §3). Each bound holds per (context, cluster).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// Layer controllers: one per physical layer that uses a subcluster (§0, H: 16).
    pub layer_controllers: u32,
    /// Subclusters (§0, H: 64).
    pub subclusters: u32,
    /// Activation/pooling units (§0, M: at least 20 bitmap bits seen; some may be reserved, §10).
    pub apus: u32,
    /// Input aligners (§0, M: a 32-bit bitmap with bit 31 used).
    pub input_aligners: u32,
    /// L3 memory in the DFC's reporting units (§6: a 7-bit cut index and 1/128 steps in the
    /// logs, so 128 units per cluster, M). The size of one unit is [`Memory::l3_unit_bytes`].
    pub l3_units: u32,
}

/// Limits of one physical layer and one edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerLimits {
    /// Subclusters one physical layer may use (§0, H: 8; 715 dump layers at 8, none above).
    pub max_subclusters: u32,
    /// Rows one inter-layer buffer may hold (§0 and §6, M: 71 dump edges at 255, none above).
    pub max_buffer_rows: u32,
}

/// The layer limits shared by every Hailo-8-family chip described here; the `phys` verifier checks
/// them without a target at hand (the Hailo-15L dumps also cap layers at 8 SCs, §0).
pub const HAILO8_LAYER_LIMITS: LayerLimits = LayerLimits {
    max_subclusters: 8,
    max_buffer_rows: 255,
};

/// Memory sizes: none is public (resources doc §6 and §10), so each is a [`Param`] for a user's
/// description file to fill in once calibrated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// L2, one block per subcluster.
    pub l2_bytes_per_subcluster: Param<u64>,
    /// One L3 unit (cut) of [`Cluster::l3_units`].
    pub l3_unit_bytes: Param<u64>,
    /// L4, the device-level memory behind `l4_portal` and `buffer_in_l4`.
    pub l4_bytes: Param<u64>,
    /// All on-chip SRAM.
    pub total_sram_bytes: Param<u64>,
}

/// A complete chip description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The `--hw-arch` spelling.
    pub name: String,
    /// Neural-core clock in Hz (§0, H: `HAILO8_CLOCK_RATE`).
    pub clock_hz: u64,
    /// The ids of the clusters the chip uses (Hailo-8: 0–7; Hailo-8L logs show 0, 1, 4, 5).
    pub cluster_ids: Vec<u32>,
    pub cluster: Cluster,
    pub subcluster: Subcluster,
    pub limits: LayerLimits,
    pub memory: Memory,
    /// η: the fraction of a subcluster's peak MACs a layer achieves (§5 and §10). The MAC model's
    /// layer rate is `SC × MACs/cycle × clock × η / MACs per frame`.
    pub mac_efficiency: Param<f64>,
}

/// Why a target description could not be had.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetError {
    /// No built-in description has this name.
    UnknownName(String),
    /// The JSON text does not parse as a description (serde's message carries line and column).
    Json(String),
    /// The description parses but is not usable: which field and why.
    Invalid(String),
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::UnknownName(n) => write!(
                f,
                "unknown hardware architecture '{n}'; known: {}",
                Target::KNOWN.join(", ")
            ),
            TargetError::Json(e) => write!(f, "target description: {e}"),
            TargetError::Invalid(e) => write!(f, "target description: {e}"),
        }
    }
}

impl std::error::Error for TargetError {}

impl Target {
    /// The built-in descriptions, by `--hw-arch` name.
    pub const KNOWN: [&'static str; 3] = ["hailo8", "hailo8l", "hailo8r"];

    /// The built-in description called `name` (as `--hw-arch` spells it).
    pub fn by_name(name: &str) -> Result<Target, TargetError> {
        match name {
            "hailo8" => Ok(Target::hailo8()),
            "hailo8l" => Ok(Target::hailo8l()),
            "hailo8r" => Ok(Target::hailo8r()),
            _ => Err(TargetError::UnknownName(name.to_owned())),
        }
    }

    /// Hailo-8: 8 clusters × (16 LCUs, 64 SCs, 20 APUs, 32 IAs), 400 MHz (resources doc §0).
    pub fn hailo8() -> Target {
        Target {
            name: "hailo8".into(),
            clock_hz: 400_000_000,
            cluster_ids: (0..8).collect(),
            cluster: Cluster {
                layer_controllers: 16,
                subclusters: 64,
                apus: 20,
                input_aligners: 32,
                l3_units: 128,
            },
            subcluster: Subcluster {
                mode_8x8: MacArray {
                    columns: 8,
                    features: 8,
                },
                mode_16x4: MacArray {
                    columns: 16,
                    features: 4,
                },
            },
            limits: HAILO8_LAYER_LIMITS,
            memory: Memory {
                l2_bytes_per_subcluster: Param::unknown(
                    "one L2 block per subcluster (HEF active_l2 bitmap mirrors the SC bitmap); size not public (§0, §10)",
                ),
                l3_unit_bytes: Param::unknown(
                    "≥ 32 KiB only if the HEF's initial L3 offset 32,704 B lies within one cut, which would give 4 MiB per cluster and contradict the 20 MB total (§6, L)",
                ),
                l4_bytes: Param::unknown("device-level memory used by l4_portal / buffer_in_l4; size not public (§0)"),
                total_sram_bytes: Param::known(
                    20_000_000,
                    Confidence::Low,
                    "\"20 MB\" in one forum post (§0)",
                ),
            },
            mac_efficiency: Param::known(
                1.0,
                Confidence::Low,
                "1.0 makes the MAC model an upper bound. Published FPS over that bound on resnet_v1_50: 1372/1771.5 = 0.77 (v2.18, 3x3 convs conv4/conv7 at 8 SCs in 8x8); 1328.83/1771.5 = 0.75 (2022 allocation, 3x3 convs conv3/conv7 at 8 SCs in 16x4; the resources doc's 6-SC `conv4` of that allocation is the 1x1 projection, the 2022 HN numbering the 3x3 conv first); the per-layer factor is not identifiable from the dumps (§5, §10)",
            ),
        }
    }

    /// Hailo-8R: the Hailo-8's resources at a 200 MHz clock (§0, `HAILO8_CLOCK_RATE`).
    pub fn hailo8r() -> Target {
        Target {
            name: "hailo8r".into(),
            clock_hz: 200_000_000,
            ..Target::hailo8()
        }
    }

    /// Hailo-8L: 4 of the Hailo-8's clusters (logs show cluster_0, 1, 4 and 5), 13 TOPS at 400 MHz
    /// (resources doc §0, P/I).
    pub fn hailo8l() -> Target {
        Target {
            name: "hailo8l".into(),
            cluster_ids: vec![0, 1, 4, 5],
            ..Target::hailo8()
        }
    }

    /// Reads a description written like [`Target::to_json`]'s output, and checks it.
    pub fn from_json(text: &str) -> Result<Target, TargetError> {
        let t: Target = serde_json::from_str(text).map_err(|e| TargetError::Json(e.to_string()))?;
        t.validate()?;
        Ok(t)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a target description always serializes")
    }

    /// Checks what arithmetic on the description relies on: nothing zero that is divided by or
    /// multiplied into a capacity, distinct cluster ids, a per-layer limit a cluster can hold, an
    /// efficiency in (0, 1].
    pub fn validate(&self) -> Result<(), TargetError> {
        let bad = |what: String| Err(TargetError::Invalid(what));
        if self.clock_hz == 0 {
            return bad("'clock_hz' must be positive".into());
        }
        if self.cluster_ids.is_empty() {
            return bad("'cluster_ids' must name at least one cluster".into());
        }
        let mut ids = self.cluster_ids.clone();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return bad(format!("'cluster_ids' names cluster {} twice", w[0]));
        }
        let c = &self.cluster;
        for (field, v) in [
            ("cluster.layer_controllers", c.layer_controllers),
            ("cluster.subclusters", c.subclusters),
            ("cluster.apus", c.apus),
            ("cluster.input_aligners", c.input_aligners),
            ("limits.max_subclusters", self.limits.max_subclusters),
            ("limits.max_buffer_rows", self.limits.max_buffer_rows),
        ] {
            if v == 0 {
                return bad(format!("'{field}' must be positive"));
            }
        }
        for mode in ScMode::ALL {
            if self.subcluster.array(mode).macs_per_cycle() == 0 {
                return bad(format!(
                    "the {mode} MAC array must have columns and features"
                ));
            }
        }
        if self.limits.max_subclusters > c.subclusters {
            return bad(format!(
                "'limits.max_subclusters' ({}) exceeds a cluster's {} subclusters",
                self.limits.max_subclusters, c.subclusters
            ));
        }
        if let Some(e) = self.mac_efficiency.value {
            if !(e > 0.0 && e <= 1.0) {
                return bad(format!("'mac_efficiency.value' must be in (0, 1], got {e}"));
            }
        }
        Ok(())
    }

    pub fn clusters(&self) -> u32 {
        self.cluster_ids.len() as u32
    }

    pub fn total_subclusters(&self) -> u32 {
        self.clusters() * self.cluster.subclusters
    }

    pub fn total_layer_controllers(&self) -> u32 {
        self.clusters() * self.cluster.layer_controllers
    }

    /// MACs per second of `subclusters` subclusters in `mode` at the clock, before η.
    pub fn peak_macs_per_second(&self, subclusters: u32, mode: ScMode) -> f64 {
        f64::from(subclusters)
            * f64::from(self.subcluster.array(mode).macs_per_cycle())
            * self.clock_hz as f64
    }

    /// The chip's peak in tera-operations per second (2 operations per MAC), as marketed.
    pub fn peak_tops(&self) -> f64 {
        2.0 * self.peak_macs_per_second(self.total_subclusters(), ScMode::Mode8x8) / 1e12
    }

    /// η, or 1 (the upper bound) when the description leaves it unknown.
    pub fn efficiency(&self) -> f64 {
        self.mac_efficiency.value.unwrap_or(1.0)
    }
}

#[cfg(test)]
mod tests;
