//! Top-level messages: the file (`ProtoHEFHef`), its header and the extension lists.

use super::NetworkGroup;

/// `ProtoHEFHef`: the whole protobuf payload of a HEF.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoHef {
    #[prost(message, optional, tag = "1")]
    pub header: Option<Header>,
    #[prost(message, repeated, tag = "2")]
    pub network_groups: Vec<NetworkGroup>,
    /// DFC debug/profiler blob; HailoRT ignores it.
    #[prost(bytes = "vec", tag = "3")]
    pub mapping: Vec<u8>,
    /// Legacy feature flags, only read by HailoRT when `header.version == 0`.
    #[prost(message, optional, tag = "4")]
    pub included_features: Option<IncludedFeatures>,
    #[prost(message, repeated, tag = "5")]
    pub extensions: Vec<Extension>,
    #[prost(message, repeated, tag = "6")]
    pub optional_extensions: Vec<Extension>,
    #[prost(message, repeated, tag = "7")]
    pub external_resources: Vec<ExternalResource>,
}

/// `ProtoHEFHeader`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Header {
    /// `ProtoHEFHwArch` value (see [`crate::names::hw_arch_name`]).
    #[prost(int32, tag = "1")]
    pub hw_arch: i32,
    /// Creation time; DFC writes milliseconds since the Unix epoch.
    #[prost(uint64, tag = "2")]
    pub timestamp: u64,
    /// SDK (DFC) version string, e.g. "3.29.0".
    #[prost(string, tag = "3")]
    pub sdk_version: String,
    /// Proto-format version; HailoRT rejects 0.
    #[prost(uint64, tag = "4")]
    pub version: u64,
    /// Structured SDK version (HailoRT 5.x only).
    #[prost(message, optional, tag = "5")]
    pub sdk_version_numbers: Option<SdkVersion>,
}

/// `ProtoHEFSdkVersion` (HailoRT 5.x).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SdkVersion {
    #[prost(uint32, tag = "1")]
    pub major: u32,
    #[prost(uint32, tag = "2")]
    pub minor: u32,
    #[prost(uint32, tag = "3")]
    pub revision: u32,
}

/// `ProtoHEFIncludedFeatures` (legacy).
#[derive(Clone, PartialEq, prost::Message)]
pub struct IncludedFeatures {
    #[prost(bool, tag = "1")]
    pub abbale: bool,
    #[prost(bool, tag = "2")]
    pub posted_writes: bool,
    #[prost(bool, tag = "3")]
    pub ddr: bool,
    #[prost(bool, tag = "4")]
    pub is_multi_context: bool,
    #[prost(bool, tag = "5")]
    pub compressed_params: bool,
    #[prost(bool, tag = "6")]
    pub transpose_component: bool,
    #[prost(bool, tag = "7")]
    pub padded_ddr_buffers: bool,
    #[prost(bool, tag = "8")]
    pub sequencer: bool,
}

/// `ProtoHEFExtension` and `ProtoHEFOptionalExtension` (same wire shape).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Extension {
    /// `ProtoHEFExtensionType` value (see [`crate::names::extension_name`]).
    #[prost(uint32, tag = "1")]
    pub type_index: u32,
    /// Display name; HailoRT only uses it in error messages.
    #[prost(string, tag = "2")]
    pub name: String,
}

/// `ProtoHEFExternalResource` (HailoRT 5.x LLM feature).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExternalResource {
    #[prost(uint64, tag = "1")]
    pub offset: u64,
    #[prost(uint64, tag = "2")]
    pub size: u64,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(uint64, tag = "4")]
    pub xxhash: u64,
}
