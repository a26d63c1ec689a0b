//! Contexts, operations, triggers and actions: the firmware's context-switch program.

use super::EdgeLayer;

/// `ProtoHEFPreliminaryConfig`: operations run once when the group is activated.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PreliminaryConfig {
    #[prost(message, repeated, tag = "1")]
    pub operation: Vec<Operation>,
}

/// `ProtoHEFContext`: one dynamic context.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Context {
    #[prost(uint32, tag = "1")]
    pub context_index: u32,
    #[prost(message, repeated, tag = "2")]
    pub operations: Vec<Operation>,
    #[prost(message, optional, tag = "3")]
    pub metadata: Option<ContextMetadata>,
}

/// `ProtoHEFOperation`: a trigger and the actions it releases.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Operation {
    #[prost(message, optional, tag = "1")]
    pub trigger: Option<Trigger>,
    #[prost(message, repeated, tag = "2")]
    pub actions: Vec<Action>,
}

/// `ProtoHEFTrigger`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Trigger {
    #[prost(uint32, tag = "1")]
    pub unique_id: u32,
    #[prost(oneof = "TriggerKind", tags = "2, 3, 4, 5, 6, 7")]
    pub trigger: Option<TriggerKind>,
}

/// The `trigger` oneof of `ProtoHEFTrigger`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum TriggerKind {
    #[prost(message, tag = "2")]
    Lcu(TriggerLcu),
    #[prost(message, tag = "3")]
    TriggerNone(Empty),
    #[prost(message, tag = "4")]
    AllDataWasSent(ShmifoIndex),
    /// Not implemented by HailoRT: rejected.
    #[prost(message, tag = "5")]
    AllDataWasReceived(ShmifoIndex),
    #[prost(message, tag = "6")]
    Nms(TriggerNms),
    #[prost(message, tag = "7")]
    DmaIdle(ShmifoIndex),
}

/// A message without fields (`ProtoHEFTriggerNone`, `ProtoHEFActionNone`, …).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

/// `ProtoHEFTriggerLcu`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TriggerLcu {
    #[prost(uint32, tag = "1")]
    pub cluster_index: u32,
    #[prost(uint32, tag = "2")]
    pub lcu_index: u32,
}

/// Triggers keyed by a shmifo (all-data-sent, all-data-received, DMA idle).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ShmifoIndex {
    #[prost(uint32, tag = "1")]
    pub shmifo_index: u32,
}

/// `ProtoHEFTriggerNms`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TriggerNms {
    #[prost(uint32, tag = "1")]
    pub aggregator_index: u32,
    #[prost(uint32, tag = "2")]
    pub pred_cluster_ob_index: u32,
    #[prost(uint32, tag = "3")]
    pub pred_cluster_ob_cluster_index: u32,
    #[prost(uint32, tag = "4")]
    pub pred_cluster_ob_interface: u32,
    #[prost(uint32, tag = "5")]
    pub succ_prepost_ob_index: u32,
    #[prost(uint32, tag = "6")]
    pub succ_prepost_ob_interface: u32,
}

/// `ProtoHEFAction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Action {
    #[prost(uint32, tag = "1")]
    pub unique_id: u32,
    #[prost(
        oneof = "ActionKind",
        tags = "2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18"
    )]
    pub action: Option<ActionKind>,
}

/// The `action` oneof of `ProtoHEFAction`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ActionKind {
    #[prost(message, tag = "2")]
    WriteData(AddressData),
    #[prost(message, tag = "3")]
    WriteDataCcw(WriteDataCcw),
    #[prost(message, tag = "4")]
    WriteCompressedData(AddressData),
    #[prost(message, tag = "5")]
    EnableSequencer(EnableSequencer),
    /// `wait_for_seqeuncer` (sic) in the vendor schema.
    #[prost(message, tag = "6")]
    WaitForSequencer(ClusterIndex),
    #[prost(message, tag = "7")]
    DisableLcu(DisableLcu),
    #[prost(message, tag = "8")]
    EnableLcu(EnableLcu),
    #[prost(message, tag = "9")]
    NoAction(Empty),
    #[prost(message, tag = "10")]
    AllowInputDataflow(AllowInputDataflow),
    #[prost(message, tag = "11")]
    WaitForModuleConfigDone(ModuleIndex),
    #[prost(message, tag = "12")]
    Debug(DebugAction),
    #[prost(message, tag = "13")]
    EnableNms(EnableNms),
    #[prost(message, tag = "14")]
    WriteDataByType(WriteDataByType),
    #[prost(message, tag = "15")]
    SwitchLcuBatch(SwitchLcuBatch),
    #[prost(message, tag = "16")]
    WriteDataCcwPtr(WriteDataCcwPtr),
    /// HailoRT 5.x only.
    #[prost(message, tag = "17")]
    AllowConfigChannels(ConfigIndex),
    /// HailoRT 5.x only.
    #[prost(message, tag = "18")]
    DisableDataChannels(Empty),
}

/// `write_data` / `write_compressed_data`: raw bytes for an address.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AddressData {
    #[prost(uint64, tag = "1")]
    pub address: u64,
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
}

/// `ProtoHEFActionWriteDataCcw`: inline configuration words (container v0 only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteDataCcw {
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
    #[prost(uint32, tag = "2")]
    pub cfg_channel_index: u32,
}

/// `ProtoHEFActionWriteDataCcwPtr`: configuration words in the CCW section (v1–v3).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteDataCcwPtr {
    /// Offset from the start of the CCW section.
    #[prost(uint64, tag = "1")]
    pub offset: u64,
    #[prost(uint32, tag = "2")]
    pub size: u32,
    #[prost(uint32, tag = "3")]
    pub cfg_channel_index: u32,
}

/// `InitialL3`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InitialL3 {
    #[prost(uint32, tag = "1")]
    pub initial_l3_index: u32,
    #[prost(uint32, tag = "2")]
    pub initial_l3_offset: u32,
    #[prost(bool, tag = "3")]
    pub includes_initial_l3_info: bool,
}

/// `ProtoHEFActionEnableSequencer`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EnableSequencer {
    #[prost(uint32, tag = "1")]
    pub cluster_index: u32,
    #[prost(uint32, tag = "2")]
    pub initial_l3_legacy: u32,
    #[prost(uint32, tag = "3")]
    pub active_apu_bitmap: u32,
    #[prost(uint64, tag = "4")]
    pub active_sc_bitmap: u64,
    #[prost(uint64, tag = "5")]
    pub active_l2_bitmap: u64,
    #[prost(uint32, tag = "6")]
    pub active_ia_bitmap: u32,
    #[prost(uint32, tag = "7")]
    pub l2_write_0: u32,
    #[prost(uint32, tag = "8")]
    pub l2_write_1: u32,
    #[prost(uint32, tag = "9")]
    pub l2_write_2: u32,
    #[prost(uint32, tag = "10")]
    pub l2_write_3: u32,
    #[prost(message, optional, tag = "11")]
    pub initial_l3_info: Option<InitialL3>,
}

/// Actions that only name a cluster (`wait_for_seqeuncer`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClusterIndex {
    #[prost(uint32, tag = "1")]
    pub cluster_index: u32,
}

/// `ProtoHEFActionDisableLcu`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DisableLcu {
    #[prost(uint32, tag = "1")]
    pub lcu_index: u32,
    #[prost(uint32, tag = "2")]
    pub cluster_index: u32,
    #[prost(uint32, tag = "5")]
    pub lcu_enable_address: u32,
}

/// `ProtoHEFActionEnableLcu`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EnableLcu {
    #[prost(uint32, tag = "1")]
    pub lcu_index: u32,
    #[prost(uint32, tag = "2")]
    pub cluster_index: u32,
    #[prost(uint32, tag = "3")]
    pub lcu_kernel_done_address: u32,
    #[prost(uint32, tag = "4")]
    pub lcu_kernel_done_count: u32,
    #[prost(uint32, tag = "5")]
    pub lcu_enable_address: u32,
    #[prost(uint32, tag = "6")]
    pub network_index: u32,
}

/// `ProtoHEFActionSwitchLcuBatch`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SwitchLcuBatch {
    #[prost(uint32, tag = "1")]
    pub lcu_index: u32,
    #[prost(uint32, tag = "2")]
    pub cluster_index: u32,
    #[prost(uint32, tag = "6")]
    pub network_index: u32,
}

/// `ProtoHEFActionAllowInputDataflow`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AllowInputDataflow {
    #[prost(uint32, tag = "1")]
    pub sys_index: u32,
    /// `ProtoHEFEdgeConnectionType` value.
    #[prost(int32, tag = "2")]
    pub connection_type: i32,
}

/// `ProtoHEFActionWaitForModuleConfigDone`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModuleIndex {
    #[prost(uint32, tag = "1")]
    pub index: u32,
}

/// `ProtoHEFActionDebug`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DebugAction {
    /// 0 sleep, 1 halt.
    #[prost(int32, tag = "1")]
    pub debug_type: i32,
    #[prost(oneof = "DebugKind", tags = "2, 3")]
    pub action: Option<DebugKind>,
}

/// The oneof of `ProtoHEFActionDebug`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DebugKind {
    #[prost(message, tag = "2")]
    Sleep(DebugSleep),
    #[prost(message, tag = "3")]
    Halt(Empty),
}

/// `ProtoHEFActionDebugSleep`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DebugSleep {
    #[prost(uint64, tag = "1")]
    pub duration_in_usec: u64,
}

/// `ProtoHEFActionEnableNMS`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EnableNms {
    #[prost(uint32, tag = "1")]
    pub nms_unit_index: u32,
    #[prost(uint32, tag = "2")]
    pub network_index: u32,
    #[prost(uint32, tag = "3")]
    pub number_of_classes: u32,
    #[prost(uint32, tag = "4")]
    pub burst_size: u32,
    #[prost(uint32, tag = "5")]
    pub division_factor: u32,
}

/// `ProtoHEFActionWriteDataByType`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteDataByType {
    #[prost(uint64, tag = "1")]
    pub address: u64,
    /// 0 data from the action, 1 batch size.
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    #[prost(bytes = "vec", tag = "3")]
    pub data: Vec<u8>,
    #[prost(uint32, tag = "4")]
    pub mask: u32,
    #[prost(uint32, tag = "5")]
    pub network_index: u32,
    #[prost(uint32, tag = "6")]
    pub shift: u32,
}

/// `ProtoHEFActionAllowConfigChannel` (HailoRT 5.x).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigIndex {
    #[prost(uint32, tag = "1")]
    pub config_index: u32,
}

/// `ProtoHEFContextMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContextMetadata {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, repeated, tag = "2")]
    pub edge_layers: Vec<EdgeLayer>,
    #[prost(message, repeated, tag = "3")]
    pub cluster_end_guarantee: Vec<ClusterEndGuarantee>,
    #[prost(message, repeated, tag = "4")]
    pub trigger_order: Vec<OrderedTrigger>,
    #[prost(string, repeated, tag = "5")]
    pub sorted_outputs_order: Vec<String>,
    #[prost(message, optional, tag = "6")]
    pub hw_package_info: Option<HwPackageInfo>,
    #[prost(message, optional, tag = "7")]
    pub shmiglue_info: Option<ShmiglueInfo>,
}

/// `ProtoHEFClusterEndGuarantee`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClusterEndGuarantee {
    #[prost(uint32, tag = "1")]
    pub cluster_index: u32,
    #[prost(message, optional, tag = "2")]
    pub trigger: Option<Trigger>,
}

/// `ProtoHEFOrderedTrigger`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderedTrigger {
    #[prost(message, optional, tag = "1")]
    pub triggers: Option<Trigger>,
    #[prost(uint64, tag = "2")]
    pub estimated_time_from_previous_ns: u64,
}

/// `ProtoHEFHwPackageInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HwPackageInfo {
    #[prost(uint32, tag = "1")]
    pub dense_alignment_size: u32,
    #[prost(uint32, tag = "2")]
    pub axi_width: u32,
    #[prost(uint32, tag = "3")]
    pub memory_width: u32,
}

/// `ProtoHEFShmiglueInfo` (deprecated).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ShmiglueInfo {
    #[prost(bool, tag = "1")]
    pub should_use_shmiglue: bool,
    #[prost(uint32, tag = "2")]
    pub shmiglue_index: u32,
}
