//! `hailo hef info`: a structured summary of a HEF (container, arch, extensions, groups,
//! streams, contexts, CCWs), serializable to JSON and printable as text.

mod text;

use crate::ccw::CcwSection;
use crate::hef::Hef;
use crate::names;
use crate::proto::{ActionKind, Context, EdgeKind, EdgeLayer, Extension, Operation, TriggerKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything `hailo hef info` shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HefInfo {
    pub container: ContainerInfo,
    pub hw_arch: HwArchInfo,
    pub sdk_version: String,
    pub proto_version: u64,
    pub timestamp: u64,
    pub extensions: Vec<ExtensionInfo>,
    pub optional_extensions: Vec<ExtensionInfo>,
    pub network_groups: Vec<GroupInfo>,
    pub ccw: CcwInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContainerInfo {
    pub version: u32,
    pub header_size: usize,
    pub proto_size: usize,
    pub padding_size: usize,
    pub ccw_section_size: usize,
    pub additional_info_size: usize,
    pub file_size: usize,
    pub checksum_kind: &'static str,
    pub checksum: String,
    pub checksum_ok: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HwArchInfo {
    pub value: i32,
    pub name: Option<&'static str>,
    /// Device family HailoRT maps it to.
    pub device: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExtensionInfo {
    pub type_index: u32,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupInfo {
    pub name: String,
    pub layout: &'static str,
    pub networks: Vec<String>,
    /// "Single Context" or "Multi Context - Number of contexts: N" (as `parse-hef`).
    pub context_mode: String,
    pub cfg_channels: u32,
    pub sorted_outputs: Vec<String>,
    pub streams: Vec<StreamInfo>,
    pub preliminary: Option<ContextInfo>,
    pub contexts: Vec<ContextInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamInfo {
    pub name: String,
    pub direction: &'static str,
    pub context: usize,
    pub kind: &'static str,
    /// [height, width, features].
    pub shape: [u32; 3],
    pub padded_shape: Option<[u32; 3]>,
    pub format: Option<u32>,
    pub format_order: Option<&'static str>,
    pub data_bytes: Option<u32>,
    pub data_type: Option<&'static str>,
    pub sys_index: Option<u32>,
    pub engine_id: Option<u32>,
    pub qp_zp: Option<f32>,
    pub qp_scale: Option<f32>,
    /// [min, max].
    pub limvals: Option<[f32; 2]>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub qp_zps: Vec<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub qp_scales: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContextInfo {
    pub name: String,
    pub operations: Vec<OperationInfo>,
    /// Action counts by type over all operations.
    pub action_counts: BTreeMap<&'static str, usize>,
    pub edge_layers: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OperationInfo {
    pub trigger: String,
    pub actions: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CcwInfo {
    pub words: usize,
    pub bytes: usize,
    pub ccw_ptr_actions: usize,
    pub per_channel: Vec<ChannelInfo>,
    /// Why the section or an action's range does not decode (not a HailoRT rejection).
    pub problems: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelInfo {
    pub cfg_channel_index: u32,
    pub words: usize,
    pub bytes: u64,
}

impl HefInfo {
    /// Summarize `hef`.
    pub fn new(hef: &Hef) -> HefInfo {
        let c = &hef.container;
        let header = hef.proto.header.clone().unwrap_or_default();
        let file_size = c.version.header_size()
            + c.proto.len()
            + c.padding.len()
            + c.ccws.len()
            + c.additional_info.len();
        HefInfo {
            container: ContainerInfo {
                version: c.version.number(),
                header_size: c.version.header_size(),
                proto_size: c.proto.len(),
                padding_size: c.padding.len(),
                ccw_section_size: c.ccws.len(),
                additional_info_size: c.additional_info.len(),
                file_size,
                checksum_kind: c.version.checksum_kind(),
                checksum: c.stored_checksum.to_string(),
                checksum_ok: c.checksum_ok(),
            },
            hw_arch: HwArchInfo {
                value: header.hw_arch,
                name: names::hw_arch_name(header.hw_arch),
                device: names::device_arch(header.hw_arch),
            },
            sdk_version: header.sdk_version,
            proto_version: header.version,
            timestamp: header.timestamp,
            extensions: extension_infos(&hef.proto.extensions),
            optional_extensions: extension_infos(&hef.proto.optional_extensions),
            network_groups: hef
                .proto
                .network_groups
                .iter()
                .map(|g| group_info(g, &hef.proto.optional_extensions))
                .collect(),
            ccw: ccw_info(hef),
        }
    }

    /// Human-readable multi-line report.
    pub fn to_text(&self) -> String {
        text::render(self)
    }
}

fn extension_infos(list: &[Extension]) -> Vec<ExtensionInfo> {
    list.iter()
        .map(|e| ExtensionInfo {
            type_index: e.type_index,
            name: names::extension_name(e.type_index),
        })
        .collect()
}

fn group_info(g: &crate::proto::NetworkGroup, optional: &[Extension]) -> GroupInfo {
    let name = g.name().to_string();
    let layout = if g.is_net_flow() {
        "net-flow"
    } else {
        "legacy"
    };
    let Some(core) = g.core_op() else {
        let context_mode = "no core op".to_string();
        let (sorted_outputs, streams, contexts) =
            (g.sorted_outputs_order.clone(), Vec::new(), Vec::new());
        return GroupInfo {
            name,
            layout,
            networks: Vec::new(),
            context_mode,
            cfg_channels: 0,
            sorted_outputs,
            streams,
            preliminary: None,
            contexts,
        };
    };
    let multi = optional
        .iter()
        .any(|e| e.type_index == names::ext::MULTI_NETWORK_VARIABLE_BATCH_SIZE);
    let networks = if multi && !core.networks_names.is_empty() {
        core.networks_names
            .iter()
            .map(|n| format!("{}/{n}", core.name))
            .collect()
    } else {
        vec![format!("{name}/{name}")]
    };
    let context_mode = match core.contexts.len() {
        1 => "Single Context".to_string(),
        n => format!("Multi Context - Number of contexts: {n}"),
    };
    let streams = core
        .contexts
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.metadata.iter().flat_map(move |m| {
                m.edge_layers
                    .iter()
                    .filter(|l| l.is_boundary())
                    .map(move |l| stream_info(l, i))
            })
        })
        .collect();
    GroupInfo {
        name,
        layout,
        networks,
        context_mode,
        cfg_channels: core.metadata.map_or(1, |m| m.cfg_channels_count.max(1)),
        sorted_outputs: core.sorted_outputs_order.to_vec(),
        streams,
        preliminary: core
            .preliminary_config
            .map(|p| context_info("preliminary".into(), &p.operation, 0)),
        contexts: core
            .contexts
            .iter()
            .enumerate()
            .map(|(i, c)| dynamic_context_info(i, c))
            .collect(),
    }
}

fn dynamic_context_info(i: usize, c: &Context) -> ContextInfo {
    let meta = c.metadata.as_ref();
    let name = meta
        .map(|m| m.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("context {i}"));
    context_info(name, &c.operations, meta.map_or(0, |m| m.edge_layers.len()))
}

fn context_info(name: String, ops: &[Operation], edge_layers: usize) -> ContextInfo {
    let mut action_counts = BTreeMap::new();
    for a in ops.iter().flat_map(|o| &o.actions) {
        *action_counts
            .entry(action_name(a.action.as_ref()))
            .or_insert(0) += 1;
    }
    let operations = ops
        .iter()
        .map(|o| OperationInfo {
            trigger: trigger_name(o.trigger.as_ref().and_then(|t| t.trigger.as_ref())),
            actions: o.actions.len(),
        })
        .collect();
    ContextInfo {
        name,
        operations,
        action_counts,
        edge_layers,
    }
}

fn trigger_name(t: Option<&TriggerKind>) -> String {
    match t {
        None => "unset".into(),
        Some(TriggerKind::Lcu(l)) => {
            format!("lcu(cluster {}, lcu {})", l.cluster_index, l.lcu_index)
        }
        Some(TriggerKind::TriggerNone(_)) => "none".into(),
        Some(TriggerKind::AllDataWasSent(s)) => {
            format!("all_data_was_sent(shmifo {})", s.shmifo_index)
        }
        Some(TriggerKind::AllDataWasReceived(s)) => {
            format!("all_data_was_received(shmifo {})", s.shmifo_index)
        }
        Some(TriggerKind::Nms(n)) => format!("nms(aggregator {})", n.aggregator_index),
        Some(TriggerKind::DmaIdle(s)) => format!("dma_idle(shmifo {})", s.shmifo_index),
    }
}

/// Schema name of an action type.
pub fn action_name(a: Option<&ActionKind>) -> &'static str {
    match a {
        None => "unset",
        Some(ActionKind::WriteData(_)) => "write_data",
        Some(ActionKind::WriteDataCcw(_)) => "write_data_ccw",
        Some(ActionKind::WriteCompressedData(_)) => "write_compressed_data",
        Some(ActionKind::EnableSequencer(_)) => "enable_sequencer",
        Some(ActionKind::WaitForSequencer(_)) => "wait_for_sequencer",
        Some(ActionKind::DisableLcu(_)) => "disable_lcu",
        Some(ActionKind::EnableLcu(_)) => "enable_lcu",
        Some(ActionKind::NoAction(_)) => "none",
        Some(ActionKind::AllowInputDataflow(_)) => "allow_input_dataflow",
        Some(ActionKind::WaitForModuleConfigDone(_)) => "wait_for_module_config_done",
        Some(ActionKind::Debug(_)) => "debug",
        Some(ActionKind::EnableNms(_)) => "enable_nms",
        Some(ActionKind::WriteDataByType(_)) => "write_data_by_type",
        Some(ActionKind::SwitchLcuBatch(_)) => "switch_lcu_batch",
        Some(ActionKind::WriteDataCcwPtr(_)) => "write_data_ccw_ptr",
        Some(ActionKind::AllowConfigChannels(_)) => "allow_config_channels",
        Some(ActionKind::DisableDataChannels(_)) => "disable_data_channels",
    }
}

fn stream_info(l: &EdgeLayer, context: usize) -> StreamInfo {
    let direction = if l.is_input() { "input" } else { "output" };
    let (kind, numeric, planes_shape) = match &l.edge {
        Some(EdgeKind::LayerInfo(i)) => ("info", i.numeric_info.as_ref(), None),
        Some(EdgeKind::LayerMux(_)) => ("mux", None, None),
        Some(EdgeKind::LayerPlanes(p)) => ("planes", None, Some([p.height, p.width, p.features])),
        None => ("unset", None, None),
    };
    let base = l.base();
    let shape = base
        .map(|b| [b.height, b.width, b.features])
        .or(planes_shape)
        .unwrap_or_default();
    let numeric = numeric.cloned().unwrap_or_default();
    let has_numeric = matches!(&l.edge, Some(EdgeKind::LayerInfo(i)) if i.numeric_info.is_some());
    StreamInfo {
        name: l.name().to_string(),
        direction,
        context,
        kind,
        shape,
        padded_shape: base.map(|b| [b.padded_height, b.padded_width, b.padded_features]),
        format: base.map(|b| b.format),
        format_order: base.and_then(|b| names::format_name(b.format)),
        data_bytes: base.map(|b| b.data_bytes),
        data_type: base.and_then(|b| names::data_type_name(b.data_bytes)),
        sys_index: base.map(|b| b.sys_index),
        engine_id: base.map(|b| b.engine_id),
        qp_zp: has_numeric.then_some(numeric.qp_zp),
        qp_scale: has_numeric.then_some(numeric.qp_scale),
        limvals: has_numeric.then_some([numeric.limvals_min, numeric.limvals_max]),
        qp_zps: numeric.qp_zps,
        qp_scales: numeric.qp_scales,
    }
}

fn ccw_info(hef: &Hef) -> CcwInfo {
    let bytes = hef.container.ccws.len();
    match CcwSection::decode(&hef.container.ccws, &hef.proto) {
        Ok(section) => ccw_summary(&section, bytes),
        Err(e) => CcwInfo {
            words: 0,
            bytes,
            ccw_ptr_actions: 0,
            per_channel: Vec::new(),
            problems: vec![e.to_string()],
        },
    }
}

fn ccw_summary(s: &CcwSection, bytes: usize) -> CcwInfo {
    let problems = s
        .links
        .iter()
        .filter_map(|l| l.words.as_ref().err().map(|e| format!("{}: {e}", l.path)))
        .collect();
    let per_channel = s
        .per_channel()
        .into_iter()
        .map(|(cfg_channel_index, words, bytes)| ChannelInfo {
            cfg_channel_index,
            words,
            bytes,
        })
        .collect();
    CcwInfo {
        words: s.words.len(),
        bytes,
        ccw_ptr_actions: s.links.len(),
        per_channel,
        problems,
    }
}
