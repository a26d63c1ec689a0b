//! Edge layers: the tensors that cross a context boundary. BOUNDARY ones become the user's
//! input/output streams, with their shapes, formats and quantization.

/// `ProtoHEFEdgeLayer`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EdgeLayer {
    /// 0 host-to-device (input), 1 device-to-host (output).
    #[prost(int32, tag = "1")]
    pub direction: i32,
    /// 0 INFO, 1 MUX, 2 PLANES.
    #[prost(int32, tag = "2")]
    pub edge_layer_type: i32,
    #[prost(oneof = "EdgeKind", tags = "3, 4, 8")]
    pub edge: Option<EdgeKind>,
    #[prost(message, optional, tag = "5")]
    pub context_switch_info: Option<ContextSwitchInfo>,
    #[prost(uint32, tag = "6")]
    pub network_index: u32,
    #[prost(uint32, optional, tag = "7")]
    pub pad_index: Option<u32>,
}

/// The `edge` oneof of `ProtoHEFEdgeLayer` (and `ProtoHefEdge`, with other tags).
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum EdgeKind {
    #[prost(message, tag = "3")]
    LayerInfo(EdgeLayerInfo),
    #[prost(message, tag = "4")]
    LayerMux(EdgeLayerMux),
    #[prost(message, tag = "8")]
    LayerPlanes(EdgeLayerPlanes),
}

/// `ProtoHefEdge`: a predecessor of a mux or a plane of a planes layer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HefEdge {
    #[prost(oneof = "NestedEdge", tags = "1, 2, 3")]
    pub edge: Option<NestedEdge>,
}

/// The `edge` oneof of `ProtoHefEdge`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum NestedEdge {
    #[prost(message, tag = "1")]
    LayerInfo(EdgeLayerInfo),
    #[prost(message, tag = "2")]
    LayerMux(EdgeLayerMux),
    #[prost(message, tag = "3")]
    LayerPlanes(EdgeLayerPlanes),
}

/// `ProtoHEFEdgeLayerInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EdgeLayerInfo {
    /// Stream name, e.g. `arcface_mobilefacenet/input_layer1`.
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub edge_layer_base: Option<EdgeLayerBase>,
    #[prost(message, optional, tag = "3")]
    pub numeric_info: Option<EdgeLayerNumericInfo>,
    #[prost(string, tag = "4")]
    pub hn_output_layer_name: String,
    /// Source-graph (e.g. ONNX) names.
    #[prost(string, repeated, tag = "5")]
    pub original_names: Vec<String>,
    #[prost(bool, tag = "6")]
    pub transposed: bool,
}

/// `ProtoHEFEdgeLayerMux`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EdgeLayerMux {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub edge_layer_base: Option<EdgeLayerBase>,
    #[prost(message, optional, tag = "3")]
    pub mux_data: Option<MuxData>,
    #[prost(string, tag = "4")]
    pub hn_output_layer_name: String,
    #[prost(message, repeated, tag = "5")]
    pub predecessors: Vec<HefEdge>,
    #[prost(string, repeated, tag = "6")]
    pub original_names: Vec<String>,
}

/// `ProtoHEFEdgeLayerMuxData`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MuxData {
    #[prost(uint32, tag = "1")]
    pub number_of_predecessors: u32,
    #[prost(uint32, tag = "2")]
    pub height_gcd: u32,
    #[prost(uint32, tag = "3")]
    pub height_ratios_list_len: u32,
    #[prost(uint32, repeated, tag = "4")]
    pub height_ratios_list: Vec<u32>,
}

/// `ProtoHEFEdgeLayerPlanes`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EdgeLayerPlanes {
    #[prost(string, tag = "1")]
    pub name: String,
    /// 0 NV12, 1 NV21, 2 I420.
    #[prost(int32, tag = "2")]
    pub planes_format: i32,
    #[prost(message, repeated, tag = "3")]
    pub planes: Vec<HefEdge>,
    #[prost(uint32, tag = "4")]
    pub height: u32,
    #[prost(uint32, tag = "5")]
    pub width: u32,
    #[prost(uint32, tag = "6")]
    pub features: u32,
}

/// `ProtoHEFEdgeLayerBase`: shapes, format and stream resources of one layer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EdgeLayerBase {
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
    /// Compiler format-order code (see [`crate::names::format_name`]).
    #[prost(uint32, tag = "7")]
    pub format: u32,
    #[prost(uint32, tag = "8")]
    pub sys_index: u32,
    #[prost(uint32, tag = "9")]
    pub core_bytes_per_buffer: u32,
    #[prost(uint32, tag = "10")]
    pub core_buffers_per_frame: u32,
    #[prost(message, optional, tag = "11")]
    pub additional_info: Option<AdditionalInfo>,
    /// 1 → UINT8, 2 → UINT16.
    #[prost(uint32, tag = "12")]
    pub data_bytes: u32,
    #[prost(message, repeated, tag = "13")]
    pub buffer_indices: Vec<ResourceIndices>,
    #[prost(bool, tag = "14")]
    pub host_argmax: bool,
    #[prost(uint32, tag = "15")]
    pub max_shmifo_size: u32,
    #[prost(uint32, tag = "16")]
    pub engine_id: u32,
}

/// `ProtoHEFResourceIndices`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceIndices {
    #[prost(uint32, tag = "1")]
    pub index: u32,
    #[prost(uint32, tag = "2")]
    pub cluster_index: u32,
}

/// `ProtoHEFAdditionalInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AdditionalInfo {
    #[prost(message, optional, tag = "1")]
    pub nms_info: Option<NmsInfo>,
}

/// `ProtoHEFNmsInfo`: parameters of an NMS-on-chip output.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NmsInfo {
    #[prost(uint32, tag = "1")]
    pub type_index: u32,
    #[prost(uint64, tag = "2")]
    pub number_of_classes: u64,
    #[prost(uint64, tag = "3")]
    pub max_output_size: u64,
    #[prost(uint64, tag = "4")]
    pub bbox_size: u64,
    #[prost(bool, tag = "5")]
    pub is_defused: bool,
    #[prost(message, optional, tag = "6")]
    pub defuse_info: Option<NmsDefuseInfo>,
    #[prost(uint64, tag = "7")]
    pub input_division_factor: u64,
    #[prost(uint32, tag = "8")]
    pub burst_size: u32,
    #[prost(int32, tag = "9")]
    pub burst_type: i32,
}

/// `ProtoHEFNmsDefuseInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NmsDefuseInfo {
    #[prost(uint64, tag = "1")]
    pub class_group_index: u64,
    #[prost(string, tag = "3")]
    pub original_name: String,
}

/// `ProtoHEFEdgeLayerNumericInfo`: quantization of a stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EdgeLayerNumericInfo {
    #[prost(float, tag = "1")]
    pub qp_zp: f32,
    #[prost(float, tag = "2")]
    pub qp_scale: f32,
    #[prost(float, tag = "3")]
    pub limvals_min: f32,
    #[prost(float, tag = "4")]
    pub limvals_max: f32,
    /// Per-feature zero points.
    #[prost(double, repeated, tag = "5")]
    pub qp_zps: Vec<f64>,
    /// Per-feature scales.
    #[prost(double, repeated, tag = "6")]
    pub qp_scales: Vec<f64>,
}

/// `ProtoHEFContextSwitchInformation`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContextSwitchInfo {
    #[prost(uint32, tag = "1")]
    pub context_index: u32,
    #[prost(string, tag = "2")]
    pub context_name: String,
    /// 0 BOUNDARY, 1 INTERMEDIATE, 2 DDR, 3 CACHE.
    #[prost(int32, tag = "3")]
    pub edge_connection_type: i32,
    #[prost(uint32, tag = "4")]
    pub connected_context_index: u32,
    #[prost(string, tag = "5")]
    pub connected_context_name: String,
    #[prost(uint32, tag = "6")]
    pub buffers: u32,
    #[prost(uint32, tag = "7")]
    pub connected_sys_index: u32,
    #[prost(message, repeated, tag = "8")]
    pub connected_contexts: Vec<ConnectedContextInfo>,
    /// DFC writes −1.
    #[prost(int32, tag = "9")]
    pub cache_id: i32,
}

/// `ProtoHEFConnectedContextInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConnectedContextInfo {
    #[prost(uint32, tag = "1")]
    pub index: u32,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(uint32, tag = "3")]
    pub sys_index: u32,
    #[prost(uint32, tag = "4")]
    pub engine_id: u32,
}

/// Edge-layer direction values.
pub const DIRECTION_HOST_TO_DEVICE: i32 = 0;
/// Edge-layer direction values.
pub const DIRECTION_DEVICE_TO_HOST: i32 = 1;
/// `edge_connection_type` values.
pub const CONNECTION_BOUNDARY: i32 = 0;
/// `edge_connection_type` values.
pub const CONNECTION_DDR: i32 = 2;

impl EdgeLayer {
    /// Name of the layer whatever its kind.
    pub fn name(&self) -> &str {
        match &self.edge {
            Some(EdgeKind::LayerInfo(i)) => &i.name,
            Some(EdgeKind::LayerMux(m)) => &m.name,
            Some(EdgeKind::LayerPlanes(p)) => &p.name,
            None => "",
        }
    }

    /// The edge-layer base (INFO and MUX kinds have one).
    pub fn base(&self) -> Option<&EdgeLayerBase> {
        match &self.edge {
            Some(EdgeKind::LayerInfo(i)) => i.edge_layer_base.as_ref(),
            Some(EdgeKind::LayerMux(m)) => m.edge_layer_base.as_ref(),
            _ => None,
        }
    }

    /// `edge_connection_type` (BOUNDARY when unset, as proto3 defaults).
    pub fn connection_type(&self) -> i32 {
        self.context_switch_info
            .as_ref()
            .map_or(CONNECTION_BOUNDARY, |c| c.edge_connection_type)
    }

    /// A user-visible (BOUNDARY) stream.
    pub fn is_boundary(&self) -> bool {
        self.connection_type() == CONNECTION_BOUNDARY
    }

    /// Host-to-device.
    pub fn is_input(&self) -> bool {
        self.direction == DIRECTION_HOST_TO_DEVICE
    }
}
