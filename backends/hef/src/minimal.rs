//! The smallest HEF HailoRT 4.23 accepts (format notes §3.4), built from a description of
//! the network's boundary tensors. It has no configuration words, so it parses and passes
//! `check` but cannot run on a device; the compiler backend fills in the program later.

use crate::container::Version;
use crate::error::HefError;
use crate::hef::Hef;
use crate::names::{self, ext};
use crate::proto::{
    Context, ContextMetadata, ContextSwitchInfo, EdgeKind, EdgeLayer, EdgeLayerBase, EdgeLayerInfo,
    EdgeLayerNumericInfo, Extension, Header, NetworkGroup, NetworkGroupMetadata, ProtoHef,
    ResourceIndices, CONNECTION_BOUNDARY, DIRECTION_DEVICE_TO_HOST, DIRECTION_HOST_TO_DEVICE,
};

/// Quantization of a stream: `q = x / scale + zero_point`, inputs clipped to `limvals`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quantization {
    pub zero_point: f32,
    pub scale: f32,
    pub limvals: (f32, f32),
}

/// One boundary tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorDesc {
    /// Layer name; the stream is named `<network>/<name>`.
    pub name: String,
    /// Height, width, features.
    pub shape: [u32; 3],
    /// Compiler format code (0 = NHWC, 2 = NC, see [`names::format_name`]).
    pub format: u32,
    /// 1 (UINT8) or 2 (UINT16).
    pub data_bytes: u32,
    pub quant: Quantization,
}

/// What the minimal HEF contains.
#[derive(Clone, Debug, PartialEq)]
pub struct MinimalHefDesc {
    pub network_name: String,
    /// `ProtoHEFHwArch` (0 HAILO8 or 1 HAILO8P for Hailo-8).
    pub hw_arch: i32,
    pub sdk_version: String,
    pub container: Version,
    pub inputs: Vec<TensorDesc>,
    pub outputs: Vec<TensorDesc>,
}

/// Build the minimal HEF for `desc`; bad descriptions are errors naming the tensor.
pub fn minimal_hef(desc: &MinimalHefDesc) -> Result<Hef, HefError> {
    validate(desc)?;
    let net = &desc.network_name;
    let stream_name = |t: &TensorDesc| format!("{net}/{}", t.name);
    let tensors = desc
        .inputs
        .iter()
        .map(|t| (t, DIRECTION_HOST_TO_DEVICE))
        .chain(desc.outputs.iter().map(|t| (t, DIRECTION_DEVICE_TO_HOST)));
    let edge_layers = tensors
        .enumerate()
        .map(|(i, (t, direction))| edge_layer(stream_name(t), t, direction, i as u32))
        .collect();
    let group = NetworkGroup {
        network_group_metadata: Some(NetworkGroupMetadata {
            network_group_name: net.clone(),
            ..Default::default()
        }),
        contexts: vec![Context {
            metadata: Some(ContextMetadata {
                edge_layers,
                ..Default::default()
            }),
            ..Default::default()
        }],
        sorted_outputs_order: desc.outputs.iter().map(stream_name).collect(),
        ..Default::default()
    };
    let proto = ProtoHef {
        header: Some(Header {
            hw_arch: desc.hw_arch,
            sdk_version: desc.sdk_version.clone(),
            version: 1,
            ..Default::default()
        }),
        network_groups: vec![group],
        extensions: vec![Extension {
            type_index: ext::PERIPH_CALCULATION_IN_HAILORT,
            name: names::extension_name(ext::PERIPH_CALCULATION_IN_HAILORT),
        }],
        ..Default::default()
    };
    Hef::new(desc.container, proto, Vec::new())
}

fn edge_layer(name: String, t: &TensorDesc, direction: i32, sys_index: u32) -> EdgeLayer {
    let [h, w, f] = t.shape;
    let base = EdgeLayerBase {
        height: h,
        padded_height: h,
        width: w,
        padded_width: w,
        features: f,
        padded_features: f,
        format: t.format,
        sys_index,
        core_bytes_per_buffer: w * f * t.data_bytes,
        core_buffers_per_frame: h,
        data_bytes: t.data_bytes,
        buffer_indices: vec![ResourceIndices {
            index: sys_index,
            cluster_index: 0,
        }],
        ..Default::default()
    };
    let numeric = EdgeLayerNumericInfo {
        qp_zp: t.quant.zero_point,
        qp_scale: t.quant.scale,
        limvals_min: t.quant.limvals.0,
        limvals_max: t.quant.limvals.1,
        ..Default::default()
    };
    EdgeLayer {
        direction,
        edge: Some(EdgeKind::LayerInfo(EdgeLayerInfo {
            name,
            edge_layer_base: Some(base),
            numeric_info: Some(numeric),
            ..Default::default()
        })),
        context_switch_info: Some(ContextSwitchInfo {
            edge_connection_type: CONNECTION_BOUNDARY,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn validate(d: &MinimalHefDesc) -> Result<(), HefError> {
    let bad = |m: String| Err(HefError::Description(m));
    let net = &d.network_name;
    if net.is_empty() || 2 * net.len() + 1 >= 128 {
        return bad(format!(
            "network name {net:?} must be 1..=63 bytes (network \"<name>/<name>\" ≤ 127)"
        ));
    }
    if d.inputs.is_empty() || d.outputs.is_empty() {
        return bad("needs at least one input and one output".into());
    }
    let all: Vec<&TensorDesc> = d.inputs.iter().chain(&d.outputs).collect();
    if all.len() > 256 {
        return bad(format!(
            "{} tensors, but sys_index must fit 8 bits",
            all.len()
        ));
    }
    for (i, t) in all.iter().enumerate() {
        let [h, w, f] = t.shape;
        let who = format!("tensor {:?}", t.name);
        if t.name.is_empty()
            || net.len() + 1 + t.name.len() >= 128
            || all[..i].iter().any(|o| o.name == t.name)
        {
            return bad(format!(
                "{who}: names must be non-empty, unique and make a stream name ≤ 127 bytes"
            ));
        }
        if h == 0
            || w == 0
            || f == 0
            || h > 65535
            || u64::from(w) * u64::from(f) * u64::from(t.data_bytes) > 65535
        {
            return bad(format!("{who}: shape {h}x{w}x{f} needs non-zero dims, height ≤ 65535 and a row ≤ 65535 bytes"));
        }
        if names::format_name(t.format).is_none() || names::data_type_name(t.data_bytes).is_none() {
            return bad(format!(
                "{who}: format {} / data_bytes {} not supported by HailoRT",
                t.format, t.data_bytes
            ));
        }
    }
    Ok(())
}
