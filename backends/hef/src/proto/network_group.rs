//! Network groups in both layouts HailoRT reads: the legacy one (core-op fields directly on
//! the group) and the net-flow one (extension HAILO_NET_FLOW: a graph of ops, one a core op).

use super::{Context, EdgeLayerInfo, EdgeLayerNumericInfo, NmsInfo, PreliminaryConfig};

/// `ProtoHEFNetworkGroup`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NetworkGroup {
    #[prost(message, optional, tag = "1")]
    pub network_group_metadata: Option<NetworkGroupMetadata>,
    #[prost(message, optional, tag = "2")]
    pub preliminary_config: Option<PreliminaryConfig>,
    #[prost(message, repeated, tag = "3")]
    pub contexts: Vec<Context>,
    #[prost(string, repeated, tag = "4")]
    pub sorted_outputs_order: Vec<String>,
    #[prost(message, optional, tag = "5")]
    pub fused_layers_metadata: Option<FusedLayersMetadata>,
    #[prost(string, repeated, tag = "6")]
    pub networks_names: Vec<String>,
    #[prost(message, repeated, tag = "7")]
    pub partial_network_groups: Vec<PartialNetworkGroup>,
    #[prost(message, repeated, tag = "8")]
    pub ops: Vec<Op>,
    #[prost(message, repeated, tag = "9")]
    pub pad_edges: Vec<PadEdge>,
    #[prost(string, tag = "10")]
    pub network_group_name: String,
    #[prost(uint32, tag = "11")]
    pub network_group_index: u32,
}

/// `ProtoHEFNetworkGroupMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NetworkGroupMetadata {
    #[prost(string, tag = "1")]
    pub network_group_name: String,
    #[prost(uint32, tag = "2")]
    pub network_group_index: u32,
    #[prost(bool, tag = "3")]
    pub transposed_net: bool,
    #[prost(double, tag = "4")]
    pub bottleneck_fps: f64,
    /// Number of config channels; 0 means 1.
    #[prost(uint32, tag = "5")]
    pub cfg_channels_count: u32,
    #[prost(double, tag = "6")]
    pub latency: f64,
    #[prost(message, repeated, tag = "7")]
    pub cfg_channels_config: Vec<CfgChannelConfig>,
    /// HailoRT 5.x only.
    #[prost(uint64, tag = "8")]
    pub computational_ops: u64,
}

/// `ProtoHEFCfgChannelConfig`: which DMA engine feeds a config channel.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CfgChannelConfig {
    #[prost(uint32, tag = "1")]
    pub cfg_channel_index: u32,
    #[prost(uint32, tag = "2")]
    pub engine_id: u32,
}

/// `ProtoHEFFusedLayersMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FusedLayersMetadata {
    #[prost(bool, tag = "1")]
    pub network_has_fused_layers: bool,
    #[prost(string, repeated, tag = "2")]
    pub updated_sorted_output_names: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    pub fused_layers: Vec<EdgeLayerFused>,
}

/// `ProtoHEFEdgeLayerFused`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EdgeLayerFused {
    #[prost(message, optional, tag = "1")]
    pub layer_info: Option<EdgeLayerInfo>,
    #[prost(string, repeated, tag = "2")]
    pub defused_layers_names: Vec<String>,
    #[prost(message, optional, tag = "3")]
    pub nms_info: Option<NmsInfo>,
}

/// `ProtoHEFPartialNetworkGroup` (multi-layout archs such as Hailo-8L).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PartialNetworkGroup {
    #[prost(message, optional, tag = "1")]
    pub network_group: Option<NetworkGroup>,
    #[prost(message, optional, tag = "2")]
    pub layout: Option<PhysicalLayout>,
}

/// `ProtoHEFPhysicalLayout`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PhysicalLayout {
    #[prost(uint32, tag = "1")]
    pub partial_clusters_layout_bitmap: u32,
}

/// `ProtoHEFCoreOp`: the legacy group fields 1–6 plus partial core ops.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CoreOp {
    #[prost(message, optional, tag = "1")]
    pub network_group_metadata: Option<NetworkGroupMetadata>,
    #[prost(message, optional, tag = "2")]
    pub preliminary_config: Option<PreliminaryConfig>,
    #[prost(message, repeated, tag = "3")]
    pub contexts: Vec<Context>,
    #[prost(string, repeated, tag = "4")]
    pub sorted_outputs_order: Vec<String>,
    #[prost(message, optional, tag = "5")]
    pub fused_layers_metadata: Option<FusedLayersMetadata>,
    #[prost(string, repeated, tag = "6")]
    pub networks_names: Vec<String>,
    #[prost(message, repeated, tag = "7")]
    pub partial_core_ops: Vec<PartialCoreOp>,
}

/// `ProtoHEFPartialCoreOp`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PartialCoreOp {
    #[prost(message, optional, tag = "1")]
    pub core_op: Option<CoreOp>,
    #[prost(message, optional, tag = "2")]
    pub layout: Option<PhysicalLayout>,
}

/// `ProtoHEFOp`: one node of a net-flow graph.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Op {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, repeated, tag = "2")]
    pub input_pads: Vec<Pad>,
    #[prost(message, repeated, tag = "3")]
    pub output_pads: Vec<Pad>,
    #[prost(oneof = "OpKind", tags = "4, 5, 6")]
    pub op: Option<OpKind>,
}

/// The `op` oneof of `ProtoHEFOp`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum OpKind {
    #[prost(message, tag = "4")]
    CoreOp(Box<CoreOp>),
    /// `ProtoHEFNmsOp`, kept as its encoded bytes.
    #[prost(bytes, tag = "5")]
    NmsOp(Vec<u8>),
    /// `ProtoHEFLogitsOp`, kept as its encoded bytes.
    #[prost(bytes, tag = "6")]
    LogitsOp(Vec<u8>),
}

/// `ProtoHEFPad`: an interface between net-flow ops.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Pad {
    #[prost(uint32, tag = "1")]
    pub index: u32,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(int32, tag = "3")]
    pub format_order: i32,
    #[prost(int32, tag = "4")]
    pub data_bytes: i32,
    #[prost(message, optional, tag = "5")]
    pub numeric_info: Option<EdgeLayerNumericInfo>,
    #[prost(oneof = "PadShape", tags = "6, 7")]
    pub shape_info: Option<PadShape>,
    #[prost(int32, tag = "8")]
    pub format_type: i32,
}

/// The `shape_info` oneof of `ProtoHEFPad`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum PadShape {
    #[prost(message, tag = "6")]
    TensorShape(TensorShape),
    #[prost(message, tag = "7")]
    NmsShape(NmsShape),
}

/// `ProtoHEFTensorShape`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShape {
    #[prost(uint32, tag = "1")]
    pub height: u32,
    #[prost(uint32, tag = "2")]
    pub padded_height: u32,
    #[prost(uint32, tag = "3")]
    pub width: u32,
    #[prost(uint32, tag = "4")]
    pub padded_width: u32,
    #[prost(uint32, tag = "5")]
    pub features: u32,
    #[prost(uint32, tag = "6")]
    pub padded_features: u32,
}

/// `ProtoHEFNmsShape`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NmsShape {
    #[prost(uint32, tag = "1")]
    pub number_of_classes: u32,
    #[prost(uint32, tag = "2")]
    pub max_bboxes_per_class: u32,
    #[prost(uint32, tag = "3")]
    pub bbox_size: u32,
    #[prost(uint32, tag = "4")]
    pub division_factor: u32,
}

/// `ProtoHEFPadEdge`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PadEdge {
    #[prost(uint32, tag = "1")]
    pub src: u32,
    #[prost(uint32, tag = "2")]
    pub dst: u32,
}

/// A read-only view of the core op of a network group, whichever layout it uses.
#[derive(Clone, Copy, Debug)]
pub struct CoreOpView<'a> {
    /// Group name from `network_group_metadata` (what HailoRT uses).
    pub name: &'a str,
    pub metadata: Option<&'a NetworkGroupMetadata>,
    pub preliminary_config: Option<&'a PreliminaryConfig>,
    pub contexts: &'a [Context],
    /// Group-level sorted outputs (field 4 of the group in both layouts).
    pub sorted_outputs_order: &'a [String],
    pub fused_layers_metadata: Option<&'a FusedLayersMetadata>,
    pub networks_names: &'a [String],
    /// Number of partial groups / partial core ops (multi-layout archs need ≥ 1).
    pub partial_count: usize,
}

impl NetworkGroup {
    /// Group name as HailoRT reads it (`network_group_metadata.network_group_name`).
    pub fn name(&self) -> &str {
        self.network_group_metadata
            .as_ref()
            .map_or("", |m| m.network_group_name.as_str())
    }

    /// Net-flow layout: the group carries an op graph.
    pub fn is_net_flow(&self) -> bool {
        !self.ops.is_empty()
    }

    /// The first op of the net-flow graph that is a core op.
    pub fn net_flow_core_op(&self) -> Option<(&Op, &CoreOp)> {
        self.ops.iter().find_map(|op| match &op.op {
            Some(OpKind::CoreOp(core)) => Some((op, core.as_ref())),
            _ => None,
        })
    }

    /// The core op (legacy fields, or the net-flow core op); `None` for a net-flow group
    /// without a core op.
    pub fn core_op(&self) -> Option<CoreOpView<'_>> {
        if !self.is_net_flow() {
            return Some(CoreOpView {
                name: self.name(),
                metadata: self.network_group_metadata.as_ref(),
                preliminary_config: self.preliminary_config.as_ref(),
                contexts: &self.contexts,
                sorted_outputs_order: &self.sorted_outputs_order,
                fused_layers_metadata: self.fused_layers_metadata.as_ref(),
                networks_names: &self.networks_names,
                partial_count: self.partial_network_groups.len(),
            });
        }
        let (_, core) = self.net_flow_core_op()?;
        Some(CoreOpView {
            name: self.name(),
            metadata: core.network_group_metadata.as_ref(),
            preliminary_config: core.preliminary_config.as_ref(),
            contexts: &core.contexts,
            sorted_outputs_order: &self.sorted_outputs_order,
            fused_layers_metadata: core.fused_layers_metadata.as_ref(),
            networks_names: &core.networks_names,
            partial_count: core.partial_core_ops.len(),
        })
    }
}
