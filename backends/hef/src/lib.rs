//! Hailo Executable Format (HEF): container, protobuf schema, CCW section, HailoRT-4.23
//! validation, an inspection report and a writer for the smallest valid file.
pub mod ccw;
pub mod check;
pub mod container;
pub mod error;
pub mod hef;
pub mod info;
pub mod minimal;
pub mod names;
pub mod proto;

pub use ccw::{CcwSection, ConfigWord};
pub use check::{check_bytes, check_hef, Rule, Violation};
pub use container::{Checksum, Container, Version};
pub use error::HefError;
pub use hef::Hef;
pub use info::HefInfo;
pub use minimal::{minimal_hef, MinimalHefDesc, Quantization, TensorDesc};
