//! Declarative tables of every model script command in the user guide.
//!
//! One [`CommandSpec`] per command: positional and keyword parameters with the guide's types,
//! ranges, enums and defaults, sub-command ("feature") tables, and cross-parameter constraints.
//! The checker in [`crate::typed`] is generic over these tables.

pub mod compilation;
pub mod modification;
pub mod optimization;
mod types;

pub use types::*;

/// Every command the checker knows, in guide order.
pub static COMMANDS: &[&CommandSpec] = &[
    &modification::INPUT_CONVERSION,
    &modification::TRANSPOSE,
    &modification::NORMALIZATION,
    &modification::NMS_POSTPROCESS,
    &modification::CHANGE_OUTPUT_ACTIVATION,
    &modification::LOGITS_LAYER,
    &modification::SET_SEED,
    &modification::RESIZE,
    &optimization::MODEL_OPTIMIZATION_FLAVOR,
    &optimization::MODEL_OPTIMIZATION_CONFIG,
    &optimization::QUANTIZATION_PARAM,
    &optimization::PRE_QUANTIZATION_OPTIMIZATION,
    &optimization::POST_QUANTIZATION_OPTIMIZATION,
    &compilation::CONTEXT_SWITCH_PARAM,
    &compilation::ALLOCATOR_PARAM,
    &compilation::RESOURCES_PARAM,
    &compilation::PERFORMANCE_PARAM,
    &compilation::PLATFORM_PARAM,
    &compilation::HEF_PARAM,
    &compilation::COMPILATION_PARAM,
    &compilation::PLACE,
    &compilation::CONTEXT,
    &compilation::SHORTCUT,
    &compilation::PORTAL,
    &compilation::L4_PORTAL,
    &compilation::DDR,
    &compilation::CONCAT,
    &compilation::DEFUSE,
    &compilation::MERGE,
    &compilation::BUFFERS,
    &compilation::FEATURE_SPLITTER,
    &compilation::SHAPE_SPLITTER,
    &compilation::OUTPUT_MUX,
    &compilation::NETWORK_GROUP,
    &compilation::REMOVE_NODE,
    &compilation::FROM_TF,
];

/// The table of a command, by name.
pub fn command(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().copied().find(|c| c.name == name)
}

impl CommandSpec {
    /// The sub-command table of a feature, by name.
    pub fn feature(&self, name: &str) -> Option<&'static FeatureSpec> {
        self.features.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Names must be unique within each table, or lookups would silently pick the first.
    #[test]
    fn names_are_unique_per_table() {
        let mut commands = BTreeSet::new();
        for c in COMMANDS {
            assert!(commands.insert(c.name), "duplicate command {}", c.name);
            let mut params = BTreeSet::new();
            for p in c.positional.iter().chain(c.keywords) {
                assert!(params.insert(p.name), "{}: duplicate {}", c.name, p.name);
            }
            let mut features = BTreeSet::new();
            for f in c.features {
                assert!(
                    features.insert(f.name),
                    "{}: duplicate feature {}",
                    c.name,
                    f.name
                );
                for table in [Some(f.params), f.per_layer].into_iter().flatten() {
                    let mut params = BTreeSet::new();
                    for p in table {
                        assert!(
                            params.insert(p.name),
                            "{}.{}: duplicate {}",
                            c.name,
                            f.name,
                            p.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_guide_command_has_a_table() {
        let guide = [
            "input_conversion",
            "transpose",
            "normalization",
            "nms_postprocess",
            "change_output_activation",
            "logits_layer",
            "set_seed",
            "resize",
            "model_optimization_flavor",
            "model_optimization_config",
            "quantization_param",
            "pre_quantization_optimization",
            "post_quantization_optimization",
            "context_switch_param",
            "allocator_param",
            "resources_param",
            "performance_param",
            "platform_param",
            "hef_param",
            "compilation_param",
            "place",
            "context",
            "shortcut",
            "portal",
            "l4_portal",
            "ddr",
            "concat",
            "defuse",
            "merge",
            "buffers",
            "feature_splitter",
            "shape_splitter",
            "output_mux",
            "network_group",
            "remove_node",
            "from_tf",
        ];
        for name in guide {
            assert!(command(name).is_some(), "{name}");
        }
        assert_eq!(COMMANDS.len(), guide.len());
        let pre = command("pre_quantization_optimization").map(|c| c.features.len());
        let post = command("post_quantization_optimization").map(|c| c.features.len());
        let config = command("model_optimization_config").map(|c| c.features.len());
        assert_eq!((pre, post, config), (Some(25), Some(5), Some(5)));
    }
}
