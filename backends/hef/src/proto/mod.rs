//! The HEF protobuf payload as hand-written `prost` messages.
//!
//! Field numbers follow the public `hef.proto` of HailoRT 4.23 (plus the few fields HailoRT 5.x
//! added, so a newer file survives a round trip). Enumerated fields are kept as plain integers:
//! a value this crate does not know is then preserved and reported instead of being dropped.
//! Every field the real DFC 3.29 Hailo-8 HEF carries is declared, which is what makes
//! decode → encode byte-identical (prost writes fields in tag order, as protoc does).
//! Two host post-processing payloads that no Hailo-8 legacy-layout file carries (`nms_op`,
//! `logits_op`) are kept as raw bytes: lossless, but not interpreted.

mod context;
mod edge_layer;
mod network_group;
mod top;

pub use context::*;
pub use edge_layer::*;
pub use network_group::*;
pub use top::*;
