//! Compilation commands (guide §5.4.2), plus `context` and `network_group`, which the guide's
//! automatic model scripts use to scope `place` / `resources_param` / `compilation_param`.

use super::types::*;

const LAYER_FROM: ParamSpec = req("layer_from", Ty::Layer, "Source layer");
const LAYER_TO: ParamSpec = req("layer_to", Ty::Layer, "Destination layer");
const LAYERS_TO: ParamSpec = req("layers_to", Ty::Layers, "Destination layer or [list]");

const fn config(name: &'static str, scoped: bool, keywords: &'static [ParamSpec]) -> CommandSpec {
    CommandSpec {
        name,
        stage: Stage::Compilation,
        returns: Returns::Nothing,
        scoped,
        positional: &[],
        keywords,
        features: &[],
        constraints: &[],
    }
}

const fn layer_command(
    name: &'static str,
    returns: Returns,
    positional: &'static [ParamSpec],
) -> CommandSpec {
    CommandSpec {
        name,
        stage: Stage::Compilation,
        returns,
        scoped: true,
        positional,
        keywords: &[],
        features: &[],
        constraints: &[],
    }
}

const UTILIZATION: Ty = float(Bound::Inclusive(0.0), Bound::Inclusive(1.0));

pub const CONTEXT_SWITCH_PARAM: CommandSpec = config(
    "context_switch_param",
    false,
    &[
        opt(
            "mode",
            Ty::OpenEnum(&["enabled", "disabled", "allowed"]),
            Default::Word("allowed"),
            "Context switch mode: enabled splits the model into contexts, allowed lets the compiler decide",
        ),
        opt(
            "allow_auto_merge_in_multicontext",
            Ty::Bool,
            Default::Bool(false),
            "Allow auto-merging of layers in multi-context mode",
        ),
    ],
);

pub const ALLOCATOR_PARAM: CommandSpec = config(
    "allocator_param",
    false,
    &[
        opt(
            "timeout",
            Ty::Duration,
            Default::Described("computed from the model size"),
            "Compilation timeout; seconds, or with an s/m/h suffix",
        ),
        opt(
            "automatic_ddr",
            Ty::Policy,
            Default::Bool(true),
            "Add DDR portals automatically when required",
        ),
        opt(
            "automatic_reshapes",
            Ty::Policy,
            Default::Word("allowed"),
            "Add format conversion layers at the boundary inputs and outputs",
        ),
        opt(
            "merge_min_layer_utilization",
            float(Bound::Inclusive(0.0), Bound::None),
            Default::Unset,
            "Control utilization threshold that starts the layer auto merger",
        ),
        opt(
            "enable_lcu_ecc",
            Ty::Policy,
            Default::Unset,
            "ECC calculation",
        ),
        opt(
            "enable_muxer",
            Ty::Policy,
            Default::Unset,
            "Output muxing (must be disabled for output_encoding_vector)",
        ),
    ],
);

pub const RESOURCES_PARAM: CommandSpec = config(
    "resources_param",
    true,
    &[
        opt(
            "strategy",
            Ty::OpenEnum(&["greedy"]),
            Default::Word("greedy"),
            "Resources calculation strategy",
        ),
        opt(
            "max_control_utilization",
            float(Bound::Inclusive(0.0), Bound::Inclusive(1.2)),
            Default::Float(0.75),
            "Control resources threshold for the greedy strategy",
        ),
        opt(
            "max_compute_utilization",
            UTILIZATION,
            Default::Float(0.75),
            "Compute resources threshold",
        ),
        opt(
            "max_memory_utilization",
            UTILIZATION,
            Default::Float(0.75),
            "Weights-memory threshold",
        ),
        opt(
            "max_utilization",
            Ty::Advisory(&UTILIZATION),
            Default::Unset,
            "Threshold on any resource; overrides the default thresholds, not user-given ones",
        ),
    ],
);

pub const PERFORMANCE_PARAM: CommandSpec = config(
    "performance_param",
    false,
    &[
        opt(
            "compiler_optimization_level",
            Ty::Choice(&[int(Some(0), Some(2)), Ty::Enum(&["max"])]),
            Default::Int(1),
            "0: first feasible solution, 1: best under default utilization, 2 or max: exhaustive",
        ),
        opt(
            "optimize_for_batch",
            POSITIVE_INT,
            Default::Unset,
            "Optimize for this batch size",
        ),
    ],
);

pub const PLATFORM_PARAM: CommandSpec = config(
    "platform_param",
    false,
    &[
        opt(
            "targets",
            Ty::OneOrList(&Ty::Enum(&["ethernet"])),
            Default::Unset,
            "Hosting target restrictions",
        ),
        opt(
            "hints",
            Ty::OneOrList(&Ty::Enum(&["low_pcie_bandwidth"])),
            Default::Unset,
            "Hints about the hosting platform",
        ),
    ],
);

pub const HEF_PARAM: CommandSpec = config(
    "hef_param",
    false,
    &[
        opt(
            "should_use_sequencer",
            Ty::Policy,
            Default::Bool(true),
            "Use the Sequencer for fast configuration load",
        ),
        opt(
            "params_load_time_compression",
            Ty::Policy,
            Default::Bool(true),
            "Compress layer parameters in the HEF",
        ),
        opt(
            "strip_mapping_info",
            Ty::Policy,
            Default::Bool(false),
            "Remove mapping information from the HEF",
        ),
    ],
);

pub const COMPILATION_PARAM: CommandSpec = CommandSpec {
    name: "compilation_param",
    stage: Stage::Compilation,
    returns: Returns::Nothing,
    scoped: true,
    positional: &[opt(
        "layers",
        Ty::Layers,
        Default::Described("the whole context when scoped"),
        "Layer name, [list] or {glob}",
    )],
    keywords: &[
        opt(
            "resources_allocation_strategy",
            Ty::OpenEnum(&["automatic_scs_selection", "manual_scs_selection", "min_scs_match_fps"]),
            Default::Word("automatic_scs_selection"),
            "How the number of subclusters is chosen",
        ),
        opt("use_16x4_sc", Ty::Policy, Default::Unset, "16 pixels by 4 features per subcluster"),
        opt("no_contexts", Ty::Policy, Default::Unset, "Accumulate all inputs of an output row in L3"),
        opt("balance_output_multisplit", Ty::Policy, Default::Bool(true), "Balanced output buffers"),
        opt(
            "number_of_subclusters",
            NON_NEGATIVE_INT,
            Default::Unset,
            "Subclusters to use with manual_scs_selection (0, written by automatic scripts: compiler's choice)",
        ),
        opt(
            "fps",
            float(Bound::Inclusive(0.0), Bound::None),
            Default::Unset,
            "Throughput forced on the layer (0: not forced)",
        ),
        opt(
            "hw_layer_type_list",
            Ty::List(&Ty::OpenEnum(&["lcu", "ppu"]), None),
            Default::Unset,
            "Units the layer runs on (not in the guide; written by automatic scripts: [ppu] for a resize off the subclusters)",
        ),
    ],
    features: &[],
    constraints: &[Constraint::RequiredUnlessScoped("layers")],
};

pub const PLACE: CommandSpec = layer_command(
    "place",
    Returns::Nothing,
    &[
        req(
            "cluster_number",
            NON_NEGATIVE_INT,
            "Cluster to place the layers in",
        ),
        req("layers", Ty::Layers, "Layers to place"),
    ],
);

pub const SHORTCUT: CommandSpec = layer_command("shortcut", Returns::One, &[LAYER_FROM, LAYERS_TO]);
pub const PORTAL: CommandSpec = layer_command("portal", Returns::One, &[LAYER_FROM, LAYER_TO]);
pub const L4_PORTAL: CommandSpec = layer_command(
    "l4_portal",
    Returns::One,
    &[
        LAYER_FROM,
        req(
            "layer_to",
            Ty::Layers,
            "Destination layer (a [list] in the model zoo's scripts)",
        ),
    ],
);
pub const DDR: CommandSpec = layer_command("ddr", Returns::One, &[LAYER_FROM, LAYER_TO]);
pub const CONCAT: CommandSpec = layer_command(
    "concat",
    Returns::One,
    &[
        req("layers_from", Ty::List(&Ty::Layer, None), "Input layers"),
        LAYER_TO,
    ],
);

pub const DEFUSE: CommandSpec = CommandSpec {
    name: "defuse",
    stage: Stage::Compilation,
    returns: Returns::Many,
    scoped: true,
    positional: &[
        req("layer", Ty::Layer, "Layer to defuse"),
        req("defuse_number", POSITIVE_INT, "Number of physical layers"),
    ],
    keywords: &[opt(
        "defuse_type",
        Ty::OpenEnum(&["SPATIAL", "INPUT_FEATURES"]),
        Default::Described("feature defuse"),
        "Defuse by output columns (SPATIAL) or input features; omitted for feature defuse",
    )],
    features: &[],
    constraints: &[],
};

pub const MERGE: CommandSpec = layer_command(
    "merge",
    Returns::One,
    &[
        req("layer1", Ty::Layer, "First layer"),
        req("layer2", Ty::Layer, "Second layer"),
    ],
);

pub const OUTPUT_MUX: CommandSpec = layer_command(
    "output_mux",
    Returns::One,
    &[req(
        "layers",
        Ty::List(&Ty::Layer, None),
        "Outputs to multiplex",
    )],
);

pub const FROM_TF: CommandSpec = CommandSpec {
    name: "from_tf",
    stage: Stage::Compilation,
    returns: Returns::One,
    scoped: false,
    positional: &[req(
        "original_name",
        Ty::Str,
        "Original (TF/ONNX) layer name",
    )],
    keywords: &[],
    features: &[],
    constraints: &[],
};

const ROWS: Ty = NON_NEGATIVE_INT;

pub const BUFFERS: CommandSpec = layer_command(
    "buffers",
    Returns::Nothing,
    &[
        LAYER_FROM,
        LAYER_TO,
        req(
            "number_of_rows",
            ROWS,
            "Rows of layer_from's output to buffer (before a cluster transition)",
        ),
        opt(
            "number_of_rows_cluster_b",
            ROWS,
            Default::Unset,
            "Rows to buffer after a cluster transition",
        ),
        opt(
            "row_mode",
            Ty::OpenEnum(&["FULL_ROW", "PARTIAL_ROW"]),
            Default::Unset,
            "Buffer granularity (not in the guide; written by automatic model scripts)",
        ),
    ],
);

pub const FEATURE_SPLITTER: CommandSpec = layer_command(
    "feature_splitter",
    Returns::One,
    &[
        LAYER_FROM,
        req("layers_to", Ty::List(&Ty::Layer, None), "Outputs"),
    ],
);

pub const SHAPE_SPLITTER: CommandSpec = layer_command(
    "shape_splitter",
    Returns::One,
    &[
        req(
            "split_type",
            Ty::Enum(&["SPLIT_HEIGHT", "SPLIT_WIDTH", "SPLIT_FEATURES"]),
            "Split by height, width or features",
        ),
        LAYER_FROM,
        req("layers_to", Ty::List(&Ty::Layer, None), "Outputs"),
    ],
);

pub const REMOVE_NODE: CommandSpec = layer_command(
    "remove_node",
    Returns::Nothing,
    &[req("layer_name", Ty::Layer, "Layer to remove")],
);

pub const CONTEXT: CommandSpec = CommandSpec {
    scoped: false,
    ..layer_command(
        "context",
        Returns::One,
        &[req(
            "layers",
            Ty::List(&Ty::Layer, None),
            "Layers that make up the context",
        )],
    )
};

pub const NETWORK_GROUP: CommandSpec = CommandSpec {
    scoped: false,
    ..layer_command(
        "network_group",
        Returns::One,
        &[req(
            "networks",
            Ty::List(&Ty::Name, None),
            "Networks compiled together",
        )],
    )
};
