//! The metadata member of a hailo-rs HAR: the model's state, target and model script, the
//! sha256 of every other member, the blob table, and the module's exact IR text.
//!
//! The IR text is printed without its resources section: the weights travel once, in the
//! NPZ, and the blob table says which NPZ array (and alignment) restores each blob.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Name of the metadata member (the same in every HAR we write).
pub const METADATA_MEMBER: &str = "hailo_rs_metadata.json";
/// Value of the `format` field; other HARs are read through their HN.
pub(crate) const FORMAT: &str = "hailo-rs-har";
pub(crate) const FORMAT_VERSION: u32 = 1;

/// How far along the flow the archived model is (the DFC's runner states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HarState {
    /// Parsed, native float weights.
    HailoModel,
    /// Full-precision optimizations applied.
    FpOptimized,
    /// Quantized.
    Quantized,
    /// Compiled for a device.
    Compiled,
}

impl HarState {
    pub const ALL: [HarState; 4] = [
        HarState::HailoModel,
        HarState::FpOptimized,
        HarState::Quantized,
        HarState::Compiled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HarState::HailoModel => "hailo_model",
            HarState::FpOptimized => "fp_optimized",
            HarState::Quantized => "quantized",
            HarState::Compiled => "compiled",
        }
    }
}

impl fmt::Display for HarState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HarState {
    type Err = String;
    fn from_str(s: &str) -> Result<HarState, String> {
        HarState::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            format!("unknown HAR state '{s}'; expected one of hailo_model, fp_optimized, quantized, compiled")
        })
    }
}

/// What a HAR records besides the network itself.
#[derive(Clone, Debug, PartialEq)]
pub struct HarMetadata {
    pub state: HarState,
    /// Target architecture, e.g. `hailo8`.
    pub hw_arch: String,
    /// The model script (`.alls` text) applied or to apply, if any.
    pub model_script: Option<String>,
    /// Version of the tool that wrote the archive.
    pub tool_version: String,
    /// sha256 (lower-case hex) of each member by name. Filled by `read_har` (empty for an
    /// archive without our metadata); ignored by `write_har`, which computes them.
    pub content_hashes: BTreeMap<String, String>,
    /// Calibration statistics and the quantization report of a quantized model, stored as
    /// the member [`crate::QUANT_MEMBER`].
    pub quantization: Option<crate::QuantReport>,
}

impl HarMetadata {
    /// Metadata for `state` on `hw_arch`, no model script, this crate's version.
    pub fn new(state: HarState, hw_arch: &str) -> HarMetadata {
        HarMetadata {
            state,
            hw_arch: hw_arch.to_string(),
            model_script: None,
            tool_version: format!("hailo-rs {}", env!("CARGO_PKG_VERSION")),
            content_hashes: BTreeMap::new(),
            quantization: None,
        }
    }
}

impl Default for HarMetadata {
    /// A freshly parsed model for `hailo8` (the DFC's default target).
    fn default() -> HarMetadata {
        HarMetadata::new(HarState::HailoModel, "hailo8")
    }
}

/// Where a blob of the module lives in the NPZ.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct ResourceEntry {
    pub key: String,
    pub npz_key: String,
    pub align: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct MemberHash {
    pub sha256: String,
    pub size: u64,
}

/// The metadata member as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetaDoc {
    pub format: String,
    pub format_version: u32,
    pub net_name: String,
    pub state: HarState,
    pub hw_arch: String,
    pub model_script: Option<String>,
    pub tool_version: String,
    pub members: BTreeMap<String, MemberHash>,
    pub resources: Vec<ResourceEntry>,
    pub module_ir: String,
}

impl MetaDoc {
    pub(crate) fn to_metadata(&self) -> HarMetadata {
        HarMetadata {
            state: self.state,
            hw_arch: self.hw_arch.clone(),
            model_script: self.model_script.clone(),
            tool_version: self.tool_version.clone(),
            content_hashes: self
                .members
                .iter()
                .map(|(k, v)| (k.clone(), v.sha256.clone()))
                .collect(),
            quantization: None,
        }
    }
}

/// Lower-case hex sha256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_fips_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn states_parse_and_print() {
        for s in HarState::ALL {
            assert_eq!(s.as_str().parse::<HarState>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!("native"
            .parse::<HarState>()
            .unwrap_err()
            .contains("hailo_model, fp_optimized"));
    }
}
