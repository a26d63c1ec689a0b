//! Display names for the integer codes in a HEF (hardware architectures, extensions,
//! format orders, directions, connection types), with HailoRT 4.23's interpretation.

/// `ProtoHEFHwArch` name, or `None` for a value HailoRT does not define.
pub fn hw_arch_name(v: i32) -> Option<&'static str> {
    Some(match v {
        0 => "HAILO8",
        1 => "HAILO8P",
        2 => "HAILO8R",
        3 => "HAILO8L",
        4 => "HAILO15M",
        5 => "HAILO10H",
        6 => "HAILO15L",
        100 => "SAGE_A0",
        101 => "SAGE_B0",
        102 => "PAPRIKA_B0",
        103 => "HAILO15H",
        104 => "GINGER",
        105 => "LAVENDER",
        106 => "PLUTO",
        108 => "MARS",
        _ => return None,
    })
}

/// The device family HailoRT maps a HEF arch to (`parse-hef` prints HAILO8 for 0, 1, 2).
pub fn device_arch(v: i32) -> &'static str {
    match v {
        0 | 1 | 2 | 101 | 102 => "Hailo-8",
        3 => "Hailo-8L",
        100 => "Hailo-8 A0",
        4 => "Hailo-15M",
        5 => "Hailo-10H",
        6 => "Hailo-15L",
        103 | 104 | 105 | 106 | 108 => "Hailo-15H/10H family",
        _ => "unknown",
    }
}

/// Archs whose HEFs must carry partial network groups / core ops (HailoRT crashes otherwise).
pub fn is_multi_layout_arch(v: i32) -> bool {
    v == 3 || v == 4
}

const EXTENSIONS: [&str; 36] = [
    "ABBALE",
    "POSTED_WRITES",
    "DDR",
    "PADDED_DDR_BUFFERS",
    "IS_MULTI_CONTEXTS",
    "COMPRESSED_PARAMS",
    "TRANSPOSE_COMPONENT",
    "TEST_ONE",
    "MULTI_NETWORK_VARIABLE_BATCH_SIZE",
    "IS_NMS_MULTI_CONTEXT",
    "OFFLOAD_ARGMAX",
    "HW_PADDING",
    "KO_RUN_ASAP",
    "HAILO_NET_FLOW",
    "HAILO_NET_FLOW_YOLOV5_NMS",
    "HAILO_NET_FLOW_YOLOX_NMS",
    "HAILO_NET_FLOW_SSD_NMS",
    "HAILO_NET_FLOW_IOU_NMS",
    "WRITE_DATA_BY_TYPE",
    "NMS_OUTPUT_BURST",
    "DUAL_DIRECTION_STREAM_INDEX",
    "HAILO_NET_FLOW_ARGMAX",
    "HAILO_NET_FLOW_SOFTMAX",
    "ALIGNED_FORMAT_TYPE",
    "HAILO_NET_FLOW_YOLOV5_SEG_NMS",
    "OUTPUT_SCALE_PER_FEATURE",
    "PERIPH_CALCULATION_IN_HAILORT",
    "HAILO_NET_FLOW_YOLOV8_NMS",
    "BATCH_REGISTER_CONFIG",
    "HAILO_NET_FLOW_BBOX_DECODING",
    "CCW_PTR_SQUEEZE",
    "EXTERNAL_RESOURCES",
    "SHARED_CONFIG",
    "CSM_CRC",
    "ENABLE_CONFIG_CHANNELS",
    "STRICT_RUNTIME_VERSIONING",
];

/// Extension type codes used by the checks.
pub mod ext {
    pub const MULTI_NETWORK_VARIABLE_BATCH_SIZE: u32 = 8;
    pub const HAILO_NET_FLOW: u32 = 13;
    pub const OUTPUT_SCALE_PER_FEATURE: u32 = 25;
    pub const PERIPH_CALCULATION_IN_HAILORT: u32 = 26;
}

/// `ProtoHEFExtensionType` name (`UNKNOWN(n)` for values no HailoRT defines).
pub fn extension_name(v: u32) -> String {
    EXTENSIONS
        .get(v as usize)
        .map_or_else(|| format!("UNKNOWN({v})"), |s| (*s).to_string())
}

/// Whether HailoRT 4.23 accepts this type in the mandatory `extensions` list.
pub fn extension_supported_by_4_23(v: u32) -> bool {
    matches!(v, 0..=6 | 9..=32)
}

/// HailoRT device format order for a compiler format code, `None` if HailoRT rejects it.
pub fn format_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0 => "NHWC",
        1 => "NHCW",
        2 => "NC",
        3 => "FCR",
        4 => "BAYER_RGB",
        5 => "NHW",
        6 => "HAILO_NMS_ON_CHIP",
        7 => "F8CR",
        8 => "RGB888",
        11 => "YUY2",
        13 => "NHWC",
        14 => "YYUV",
        15 => "YYVU",
        16 => "YYYYUV",
        _ => return None,
    })
}

/// Format code of NMS-on-chip outputs (per-feature qp vectors do not apply to them).
pub const FORMAT_NMS_ON_CHIP: u32 = 6;

/// Stream data type for `data_bytes`, `None` if HailoRT rejects it.
pub fn data_type_name(data_bytes: u32) -> Option<&'static str> {
    match data_bytes {
        1 => Some("UINT8"),
        2 => Some("UINT16"),
        _ => None,
    }
}

/// `edge_connection_type` name, `None` if unknown to HailoRT 4.23.
pub fn connection_type_name(v: i32) -> Option<&'static str> {
    Some(match v {
        0 => "BOUNDARY",
        1 => "INTERMEDIATE",
        2 => "DDR",
        3 => "CACHE",
        _ => return None,
    })
}
