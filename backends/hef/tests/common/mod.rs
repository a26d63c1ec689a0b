//! Shared test inputs: the real DFC HEF and a small minimal-HEF description.
#![allow(dead_code)]

use hailo_hef::{MinimalHefDesc, Quantization, TensorDesc, Version};

pub const REAL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/hef/arcface_mobilefacenet.hef"
);

pub fn real_bytes() -> Vec<u8> {
    std::fs::read(REAL).expect("the reference HEF from shared/reference/hef")
}

pub fn tiny(version: Version) -> MinimalHefDesc {
    let quant = Quantization {
        zero_point: 128.0,
        scale: 0.02,
        limvals: (-2.56, 2.54),
    };
    MinimalHefDesc {
        network_name: "tiny".into(),
        hw_arch: 0,
        sdk_version: "0.1.0".into(),
        container: version,
        inputs: vec![TensorDesc {
            name: "input_layer1".into(),
            shape: [8, 8, 3],
            format: 0,
            data_bytes: 1,
            quant,
        }],
        outputs: vec![TensorDesc {
            name: "out".into(),
            shape: [8, 8, 16],
            format: 0,
            data_bytes: 1,
            quant,
        }],
    }
}
