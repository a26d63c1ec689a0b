//! Optimization commands (guide §5.3.3): `model_optimization_flavor`, `model_optimization_config`,
//! `quantization_param`, `pre_quantization_optimization`, `post_quantization_optimization`.

use super::types::*;

const FEATURE: ParamSpec = req("feature", Ty::Str, "Sub-command name");

/// Precision modes (guide: `matmul_decomposition` lists the full set).
pub const PRECISION_MODES: &[&str] = &[
    "a8_w8",
    "a8_w4",
    "a16_w16",
    "a16_w8",
    "a16_w4",
    "a8_w4_exp",
    "a16_w16_non_zero",
    "native",
    "a8_w8_a8",
    "a8_w8_a16",
    "a8_w4_a8",
    "a8_w4_a16",
    "a16_w16_a8",
    "a16_w16_a16",
    "a16_w8_a8",
    "a16_w8_a16",
    "a16_w4_a16",
    "a16_w4_a8",
];

const GPU_POLICIES: Ty = Ty::Enum(&[
    "auto",
    "data_parallelization",
    "model_parallelization",
    "single",
]);

pub const MODEL_OPTIMIZATION_FLAVOR: CommandSpec = CommandSpec {
    name: "model_optimization_flavor",
    stage: Stage::Optimization,
    returns: Returns::Nothing,
    scoped: false,
    positional: &[],
    keywords: &[
        opt(
            "optimization_level",
            int(Some(-100), Some(4)),
            Default::Described("2 for GPU and 1024 images, 1 for GPU and fewer images, 0 for CPU only"),
            "Optimization level, higher is better but longer, improves accuracy",
        ),
        opt(
            "compression_level",
            int(Some(0), Some(5)),
            Default::Int(1),
            "Compression level, higher is better but increases degradation, improves fps and latency",
        ),
        opt(
            "batch_size",
            POSITIVE_INT,
            Default::Described("each algorithm's default"),
            "Batch size for the algorithms (adarounds, finetune, calibration)",
        ),
    ],
    features: &[],
    constraints: &[],
};

const CONFIG_FEATURES: &[FeatureSpec] = &[
    FeatureSpec {
        name: "compression_params",
        params: &[
            opt(
                "auto_4bit_weights_ratio",
                UNIT_FLOAT,
                Default::Float(0.0),
                "Ratio of the weights reduced to 4bit",
            ),
            opt(
                "auto_16bit_weights_ratio",
                ANY_FLOAT,
                Default::Float(0.0),
                "Ratio of the weights set to 16bit",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "negative_exponent",
        params: &[
            LAYERS,
            opt(
                "split_threshold",
                POSITIVE_INT,
                Default::Int(2),
                "Split the layer at the given negative exponent",
            ),
            opt(
                "rank",
                int(Some(0), Some(1)),
                Default::Int(1),
                "How many new layers should be added to the model",
            ),
            opt(
                "auto_clip",
                ALLOWED_ENABLED_DISABLED,
                Default::Word("disabled"),
                "Clip the range of the accumulator",
            ),
            opt(
                "auto_remove_offset",
                ALLOWED_ENABLED_DISABLED,
                Default::Word("disabled"),
                "Remove offsets that are not reached by the range on calibration",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "globals",
        params: &[
            opt(
                "multiproc_policy",
                ALLOWED_ENABLED_DISABLED,
                Default::Word("allowed"),
                "Multiprocessing policy in the optimization flow",
            ),
            opt(
                "gpu_policy",
                GPU_POLICIES,
                Default::Word("auto"),
                "Multi-GPU distribution strategy",
            ),
            opt(
                "output_encoding_vector",
                Ty::Policy,
                Default::Word("disabled"),
                "Per-feature output scale",
            ),
            opt(
                "max_elementwise_feed_repeat",
                int(Some(1), Some(4)),
                Default::Int(4),
                "Precision of the add input of conv-and-add layers",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "calibration",
        params: &[
            opt(
                "batch_size",
                POSITIVE_INT,
                Default::Int(8),
                "Batch size used during the calibration inference",
            ),
            opt(
                "calibset_size",
                POSITIVE_INT,
                Default::Int(64),
                "Data items used during the calibration inference",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "checker_cfg",
        params: &[
            opt(
                "policy",
                ENABLED_DISABLED,
                Default::Word("enabled"),
                "Enable or disable the checker algorithm",
            ),
            opt(
                "dataset_size",
                POSITIVE_INT,
                Default::Int(16),
                "Number of images used for profiling",
            ),
            opt(
                "batch_size",
                POSITIVE_INT,
                Default::Described("the calibration batch_size"),
                "Images used together in each inference step",
            ),
            opt(
                "analyze_mode",
                Ty::Enum(&["simple", "advanced"]),
                Default::Word("simple"),
                "Analysis mode",
            ),
            opt(
                "batch_norm_checker",
                Ty::Bool,
                Default::Bool(true),
                "Warn on unexpected batch-norm statistics",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
];

pub const MODEL_OPTIMIZATION_CONFIG: CommandSpec = CommandSpec {
    name: "model_optimization_config",
    stage: Stage::Optimization,
    returns: Returns::Nothing,
    scoped: false,
    positional: &[FEATURE],
    keywords: &[],
    features: CONFIG_FEATURES,
    constraints: &[],
};

pub const QUANTIZATION_PARAM: CommandSpec = CommandSpec {
    name: "quantization_param",
    stage: Stage::Optimization,
    returns: Returns::Nothing,
    scoped: false,
    positional: &[req("layers", Ty::Layers, "Layer name, [list] or {glob}")],
    keywords: &[
        opt(
            "bias_mode",
            Ty::Enum(&["single_scale_decomposition", "double_scale_initialization"]),
            Default::Described("per layer type"),
            "Bias representation",
        ),
        opt(
            "precision_mode",
            Ty::Enum(PRECISION_MODES),
            Default::Word("a8_w8"),
            "Activation / weight bits",
        ),
        opt(
            "quantization_groups",
            int(Some(1), Some(4)),
            Default::Int(1),
            "Weight quantization groups",
        ),
        opt(
            "force_range_out",
            Ty::List(&ANY_FLOAT, Some(2)),
            Default::Unset,
            "Forced output range [min, max]",
        ),
        opt(
            "max_elementwise_feed_repeat",
            int(Some(1), Some(4)),
            Default::Int(4),
            "Precision of the add input of conv-and-add layers",
        ),
        opt(
            "max_bias_feed_repeat",
            int(Some(1), Some(32)),
            Default::Int(32),
            "Precision of the biases",
        ),
        opt(
            "null_channels_cutoff_factor",
            float(Bound::Inclusive(0.0), Bound::None),
            Default::Float(1e-4),
            "Dead-channel variance threshold factor",
        ),
        opt(
            "output_encoding_vector",
            Ty::Policy,
            Default::Word("disabled"),
            "Per-feature output scale",
        ),
        opt(
            "gpu_policy",
            GPU_POLICIES,
            Default::Word("auto"),
            "Multi-GPU distribution strategy",
        ),
    ],
    features: &[],
    constraints: &[Constraint::RangeAroundZero("force_range_out")],
};

const fn policy(ty: Ty, default: &'static str, doc: &'static str) -> ParamSpec {
    opt("policy", ty, Default::Word(default), doc)
}

const CLIPPING_VALUES: ParamSpec = opt(
    "clipping_values",
    Ty::List(&ANY_FLOAT, Some(2)),
    Default::Unset,
    "Clip values, required when mode is percentile or manual",
);

const PRE_FEATURES: &[FeatureSpec] = &[
    FeatureSpec {
        name: "dead_channels_removal",
        params: &[policy(
            ENABLED_DISABLED,
            "disabled",
            "Enable or disable the dead channels removal algorithm",
        )],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "zero_static_channels",
        params: &[
            policy(
                ENABLED_DISABLED,
                "enabled",
                "Enable or disable the zero static channels algorithm",
            ),
            opt(
                "eps",
                float(Bound::Inclusive(0.0), Bound::None),
                Default::Float(1e-7),
                "Threshold value to zero channels",
            ),
        ],
        per_layer: Some(&[
            LAYERS,
            policy(
                ALLOWED_ENABLED_DISABLED,
                "allowed",
                "Zero-static behavior of the given layers",
            ),
        ]),
        constraints: &[],
    },
    FeatureSpec {
        name: "se_optimization",
        params: &[
            opt(
                "method",
                Ty::Enum(&["tse"]),
                Default::Word("tse"),
                "Squeeze and Excite optimization algorithm",
            ),
            opt(
                "mode",
                Ty::Enum(&["sequential", "custom", "disabled"]),
                Default::Word("disabled"),
                "How to apply the algorithm on the model",
            ),
            LAYERS,
            opt(
                "count",
                POSITIVE_INT,
                Default::Unset,
                "Required when mode=sequential: how many SE blocks",
            ),
            opt(
                "tile_height",
                Ty::OneOrList(&POSITIVE_INT),
                Default::Int(7),
                "Tile height(s) for TSE",
            ),
        ],
        per_layer: None,
        constraints: &[
            Constraint::RequiredWhen {
                param: "layers",
                when: "mode",
                values: &["custom"],
            },
            Constraint::RequiredWhen {
                param: "count",
                when: "mode",
                values: &["sequential"],
            },
        ],
    },
    FeatureSpec {
        name: "equalization",
        params: &[policy(
            ENABLED_DISABLED,
            "enabled",
            "Enable or disable the equalization algorithm",
        )],
        per_layer: Some(&[
            LAYERS,
            policy(
                ALLOWED_ENABLED_DISABLED,
                "allowed",
                "Equalization behavior of the given layers",
            ),
            opt(
                "equalization_target",
                Ty::Enum(&["default", "activation", "weights"]),
                Default::Word("default"),
                "Equalize activation only or kernel only",
            ),
            opt(
                "force_transparent",
                ALLOWED_ENABLED_DISABLED,
                Default::Word("allowed"),
                "Behave as transparent",
            ),
        ]),
        constraints: &[],
    },
    FeatureSpec {
        name: "dead_layers_removal",
        params: &[
            policy(
                ALLOWED_ENABLED_DISABLED,
                "enabled",
                "Enable or disable the dead layers removal algorithm",
            ),
            opt(
                "validate_change",
                ALLOWED_ENABLED_DISABLED,
                Default::Word("enabled"),
                "Validate the removal",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "weights_clipping",
        params: &[
            LAYERS,
            opt(
                "mode",
                Ty::Enum(&["disabled", "manual", "percentile", "mmse", "mmse_if4b"]),
                Default::Word("mmse_if4b"),
                "Mode of operation",
            ),
            CLIPPING_VALUES,
        ],
        per_layer: None,
        constraints: &[
            Constraint::RequiredWhen {
                param: "clipping_values",
                when: "mode",
                values: &["manual", "percentile"],
            },
            Constraint::Increasing("clipping_values"),
        ],
    },
    FeatureSpec {
        name: "activation_clipping",
        params: &[
            LAYERS,
            opt(
                "mode",
                Ty::OpenEnum(&["disabled", "manual", "percentile"]),
                Default::Word("disabled"),
                "Mode of operation",
            ),
            CLIPPING_VALUES,
            opt(
                "recollect_stats",
                Ty::Bool,
                Default::Bool(false),
                "Collect stats again after clipping",
            ),
        ],
        per_layer: None,
        constraints: &[
            Constraint::RequiredWhen {
                param: "clipping_values",
                when: "mode",
                values: &["manual", "percentile"],
            },
            Constraint::Increasing("clipping_values"),
        ],
    },
    FeatureSpec {
        name: "ew_add_fusing",
        params: &[
            policy(
                ENABLED_DISABLED,
                "enabled",
                "Enable or disable the ew add fusing optimization",
            ),
            opt(
                "infusible_ew_add_type",
                Ty::Enum(&["conv", "ew_add"]),
                Default::Word("ew_add"),
                "Layer created when fusing is not possible",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "layer_decomposition",
        params: &[
            LAYERS,
            policy(
                ALLOWED_ENABLED_DISABLED,
                "allowed",
                "Decompose 16-bit layers into 8-bit layers",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "smart_softmax_stats",
        params: &[
            policy(
                ALLOWED_ENABLED_DISABLED,
                "enabled",
                "Enable, disable or allow the algorithm",
            ),
            opt(
                "dc_channels",
                POSITIVE_INT,
                Default::Int(16),
                "Channels per group to split the dc component to",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "defuse",
        params: &[
            LAYERS,
            opt("num_splits", ANY_INT, Default::Unset, "Number of splits"),
            opt(
                "defuse_type",
                Ty::Enum(&["input_features", "mha"]),
                Default::Unset,
                "Defuse type",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "resolution_reduction",
        params: &[
            opt(
                "shape",
                Ty::List(&POSITIVE_INT, Some(2)),
                Default::Unset,
                "Shape to reduce the model resolution to",
            ),
            opt(
                "interpolation",
                Ty::Enum(&["disabled", "bilinear"]),
                Default::Word("bilinear"),
                "bilinear needs the dataset in the original size, disabled in the reduced size",
            ),
        ],
        per_layer: Some(&[
            LAYERS,
            opt(
                "shape",
                Ty::List(&POSITIVE_INT, Some(2)),
                Default::Unset,
                "Shape to reduce the component to",
            ),
            opt(
                "interpolation",
                Ty::Enum(&["disabled", "bilinear"]),
                Default::Unset,
                "Interpolation",
            ),
        ]),
        constraints: &[],
    },
    FeatureSpec {
        name: "global_avgpool_reduction",
        params: &[
            LAYERS,
            opt(
                "division_factors",
                Ty::List(&POSITIVE_INT, Some(2)),
                Default::Unset,
                "Kernel height and width division",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "add_shortcut_layer",
        params: &[
            LAYERS,
            opt("target", Ty::Layers, Default::Unset, "Target layer(s)"),
            opt(
                "name",
                Ty::Str,
                Default::Described("layer-target"),
                "Name of the added shortcut layer",
            ),
            opt(
                "activation",
                Ty::Enum(super::modification::ACTIVATIONS),
                Default::Word("linear"),
                "Activation",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "layer_norm_decomposition",
        params: &[
            LAYERS,
            opt(
                "eq_consumer",
                Ty::Bool,
                Default::Bool(false),
                "Add a normalization layer as equalization consumer",
            ),
            opt(
                "mode",
                Ty::OpenEnum(&["nn_core"]),
                Default::Unset,
                "Where the decomposition runs (guide example)",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "matmul_correction",
        params: &[
            LAYERS,
            opt(
                "correction_type",
                Ty::Enum(&[
                    "zp_comp_weights",
                    "zp_comp_block",
                    "zp_comp_block_2",
                    "zp_comp_block_3",
                ]),
                Default::Word("zp_comp_weights"),
                "Type of correction",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "matmul_equalization",
        params: &[
            LAYERS,
            policy(
                ALLOWED_ENABLED_DISABLED,
                "allowed",
                "Matmul equalization on the given layers",
            ),
            opt(
                "matmul_bias",
                ALLOWED_ENABLED_DISABLED,
                Default::Word("disabled"),
                "Add an offset to clean the DC",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "matmul_decomposition",
        params: &[
            LAYERS,
            policy(
                ALLOWED_ENABLED_DISABLED,
                "disabled",
                "Decompose 16-bit matmuls into 8-bit layers",
            ),
            opt(
                "precision_mode",
                Ty::Enum(PRECISION_MODES),
                Default::Word("a16_w8"),
                "Decomposition precision",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "switch_concat_with_add",
        params: &[
            LAYERS,
            policy(
                ALLOWED_ENABLED_DISABLED,
                "disabled",
                "Replace concat and conv with 2 convs and add",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "split_ew_mult_by_bit_significance",
        params: &[
            LAYERS,
            opt(
                "num_splits",
                ANY_INT,
                Default::Unset,
                "Number of splits for the ew_mult layer",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "use_prequantized_weights",
        params: &[
            LAYERS,
            opt(
                "mode",
                Ty::Enum(&["limvals", "kernel_vals"]),
                Default::Word("kernel_vals"),
                "Kernel scale computation",
            ),
            policy(
                ALLOWED_ENABLED_DISABLED,
                "allowed",
                "Pre-quantized weights behavior of the given layers",
            ),
            opt(
                "bits",
                Ty::Choice(&[int(Some(4), Some(4)), int(Some(8), Some(8))]),
                Default::Int(4),
                "Weight bits (4 or 8)",
            ),
            opt(
                "groups",
                int(Some(-1), Some(-1)),
                Default::Int(-1),
                "Quantization groups (-1: number of channels)",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "conv_decomposition",
        params: &[
            LAYERS,
            opt(
                "sub_group_size",
                POSITIVE_INT,
                Default::Int(128),
                "Size of the sub group",
            ),
            opt(
                "pm_ew_adds",
                Ty::Enum(PRECISION_MODES),
                Default::Word("a16_w16"),
                "Precision mode for the ew_adds",
            ),
            opt(
                "allow_equlize_block",
                Ty::Bool,
                Default::Bool(false),
                "Allow block equalization",
            ),
            opt(
                "sort_channels_by_stats",
                Ty::Bool,
                Default::Bool(false),
                "Sort input channels",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "split_fused_activation",
        params: &[
            LAYERS,
            policy(
                ALLOWED_ENABLED_DISABLED,
                "enabled",
                "Split fused activation policy",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "quarot",
        params: &[
            policy(
                ALLOWED_ENABLED_DISABLED,
                "disabled",
                "Enable or disable the quarot algorithm",
            ),
            opt(
                "equalize_inputs",
                ALLOWED_ENABLED_DISABLED,
                Default::Word("allowed"),
                "Equalize the inputs",
            ),
            opt(
                "equalize_outputs",
                ALLOWED_ENABLED_DISABLED,
                Default::Word("allowed"),
                "Equalize the outputs",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
    FeatureSpec {
        name: "conv_a16_w4",
        params: &[
            LAYERS,
            policy(
                ALLOWED_ENABLED_DISABLED,
                "disabled",
                "Enable or disable the a16_w4 decomposition",
            ),
            opt(
                "shift_high",
                ALLOWED_ENABLED_DISABLED,
                Default::Word("disabled"),
                "Shift the high part by 1",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
];

pub const PRE_QUANTIZATION_OPTIMIZATION: CommandSpec = CommandSpec {
    name: "pre_quantization_optimization",
    stage: Stage::Optimization,
    returns: Returns::Nothing,
    scoped: false,
    positional: &[FEATURE],
    keywords: &[],
    features: PRE_FEATURES,
    constraints: &[],
};

const LOSS_TYPES: Ty = Ty::OpenEnum(&["ce", "l2", "l2rel", "cosine"]);

/// `train_encoding` and `finetune` share their parameter table; only some defaults differ.
macro_rules! training_params {
    ($epochs:expr, $native_activations:expr, $warmup_strategy:expr, $wraparound:expr) => {
        &[
            policy(ENABLED_DISABLED, "disabled", "Enable or disable training"),
            opt(
                "dataset_size",
                POSITIVE_INT,
                Default::Int(1024),
                "Number of images used for training",
            ),
            opt(
                "batch_size",
                POSITIVE_INT,
                Default::Described("the calibration batch_size"),
                "Images per training step",
            ),
            opt(
                "epochs",
                NON_NEGATIVE_INT,
                Default::Int($epochs),
                "Epochs of training",
            ),
            opt(
                "learning_rate",
                ANY_FLOAT,
                Default::Described("0.0002 / 8 * batch_size"),
                "Base learning rate",
            ),
            opt(
                "def_loss_type",
                LOSS_TYPES,
                Default::Word("l2rel"),
                "Loss type used when loss_types is not given",
            ),
            opt(
                "loss_layer_names",
                Ty::List(&Ty::Layer, None),
                Default::Described("the output nodes"),
                "Layers used for teacher-student losses",
            ),
            opt(
                "loss_types",
                Ty::List(&LOSS_TYPES, None),
                Default::Described("def_loss_type"),
                "Loss per loss layer",
            ),
            opt(
                "loss_factors",
                Ty::List(&ANY_FLOAT, None),
                Default::Described("1 for every loss layer"),
                "Factor per loss layer",
            ),
            opt(
                "native_layers",
                Ty::List(&Ty::Layer, None),
                Default::Unset,
                "Layers not quantized during training",
            ),
            opt(
                "native_activations",
                ALLOWED_ENABLED_DISABLED,
                Default::Word($native_activations),
                "Keep activations native during training",
            ),
            opt(
                "val_images",
                NON_NEGATIVE_INT,
                Default::Int(4096),
                "Validation images between epochs",
            ),
            opt(
                "val_batch_size",
                NON_NEGATIVE_INT,
                Default::Int(128),
                "Batch size for the inter-epoch validation",
            ),
            opt(
                "stop_gradient_at_loss",
                Ty::Bool,
                Default::Bool(false),
                "Stop gradient after each loss layer",
            ),
            opt(
                "force_pruning",
                Ty::Bool,
                Default::Bool(true),
                "Keep zero weights at zero",
            ),
            opt(
                "layers_to_freeze",
                Ty::List(&Ty::Name, None),
                Default::Unset,
                "Freeze layers whose name contains one of these",
            ),
            opt(
                "lr_schedule_type",
                Ty::Enum(&["cosine_restarts", "exponential", "constant"]),
                Default::Word("cosine_restarts"),
                "Learning rate decay form",
            ),
            opt(
                "decay_rate",
                ANY_FLOAT,
                Default::Float(0.5),
                "Decay factor of the learning rate per decay period",
            ),
            opt(
                "decay_epochs",
                NON_NEGATIVE_INT,
                Default::Int(1),
                "Duration of the decay period in epochs",
            ),
            opt(
                "warmup_epochs",
                NON_NEGATIVE_INT,
                Default::Int(1),
                "Duration of the warmup period in epochs",
            ),
            opt(
                "warmup_lr",
                ANY_FLOAT,
                Default::Described("1/4 of the base learning rate"),
                "Learning rate during warmup",
            ),
            opt(
                "optimizer",
                Ty::Enum(&["adam", "sgd", "momentum", "rmsprop"]),
                Default::Word("adam"),
                "Optimizer",
            ),
            opt(
                "bias_only",
                Ty::Bool,
                Default::Bool(false),
                "Train only biases",
            ),
            opt(
                "warmup_strategy",
                Ty::Enum(&["constant", "gradual"]),
                Default::Word($warmup_strategy),
                "Warmup strategy",
            ),
            opt(
                "wraparound_factor",
                float(Bound::Inclusive(0.0), Bound::None),
                Default::Float($wraparound),
                "Factor for wraparound loss",
            ),
            opt(
                "shuffle_buffer_size",
                NON_NEGATIVE_INT,
                Default::Int(1),
                "Shuffle buffer size (0: dataset size)",
            ),
        ]
    };
}

const TRAINING_CONSTRAINTS: &[Constraint] = &[
    Constraint::SameLength("loss_layer_names", "loss_types"),
    Constraint::SameLength("loss_layer_names", "loss_factors"),
];

const POSITIVE_FLOAT: Ty = float(Bound::Exclusive(0.0), Bound::None);
const B_RANGE: Ty = Ty::List(&ANY_FLOAT, Some(2));

const POST_FEATURES: &[FeatureSpec] = &[
    FeatureSpec {
        name: "bias_correction",
        params: &[
            policy(
                ENABLED_DISABLED,
                "disabled",
                "Enable or disable the bias correction algorithm",
            ),
            opt(
                "cache_compression",
                ENABLED_DISABLED,
                Default::Word("disabled"),
                "Compress cached layer results",
            ),
        ],
        per_layer: Some(&[
            LAYERS,
            policy(
                ALLOWED_ENABLED_DISABLED,
                "allowed",
                "Bias correction behavior of the given layers",
            ),
        ]),
        constraints: &[],
    },
    FeatureSpec {
        name: "train_encoding",
        params: training_params!(8, "enabled", "gradual", 0.1),
        per_layer: None,
        constraints: TRAINING_CONSTRAINTS,
    },
    FeatureSpec {
        name: "finetune",
        params: training_params!(4, "disabled", "constant", 0.0),
        per_layer: None,
        constraints: TRAINING_CONSTRAINTS,
    },
    FeatureSpec {
        name: "adaround",
        params: &[
            policy(
                ENABLED_DISABLED,
                "disabled",
                "Enable or disable the adaround algorithm",
            ),
            opt(
                "learning_rate",
                POSITIVE_FLOAT,
                Default::Float(0.001),
                "Learning rate",
            ),
            opt("batch_size", POSITIVE_INT, Default::Int(32), "Batch size"),
            opt(
                "dataset_size",
                POSITIVE_INT,
                Default::Int(1024),
                "Data samples",
            ),
            opt(
                "epochs",
                POSITIVE_INT,
                Default::Int(320),
                "Number of train epochs",
            ),
            opt(
                "warmup",
                UNIT_FLOAT,
                Default::Float(0.2),
                "Ratio of warmup epochs out of epochs",
            ),
            opt(
                "weight",
                POSITIVE_FLOAT,
                Default::Float(0.01),
                "Regularization weight",
            ),
            opt(
                "train_bias",
                Ty::Bool,
                Default::Bool(true),
                "Train the bias as well",
            ),
            opt(
                "bias_correction_count",
                ANY_INT,
                Default::Int(64),
                "Data count for bias correction",
            ),
            opt(
                "mode",
                Ty::Enum(&["train_4bit", "train_all"]),
                Default::Word("train_4bit"),
                "Train behavior",
            ),
            opt(
                "cache_compression",
                ENABLED_DISABLED,
                Default::Word("disabled"),
                "Compress cached layer results",
            ),
            opt(
                "b_range",
                B_RANGE,
                Default::FloatList(&[20.0, 2.0]),
                "Max, min for temperature decay",
            ),
            opt(
                "decay_start",
                UNIT_FLOAT,
                Default::Float(0.0),
                "Ratio of round train without regularization decay",
            ),
        ],
        per_layer: Some(&[
            LAYERS,
            policy(
                ALLOWED_ENABLED_DISABLED,
                "allowed",
                "AdaRound behavior of the given layers",
            ),
            opt(
                "epochs",
                ANY_INT,
                Default::Unset,
                "Train epochs for the layers",
            ),
            opt(
                "weight",
                POSITIVE_FLOAT,
                Default::Unset,
                "Weight of round regularization",
            ),
            opt(
                "b_range",
                B_RANGE,
                Default::Unset,
                "Temperature decay range",
            ),
            opt(
                "decay_start",
                UNIT_FLOAT,
                Default::Unset,
                "Ratio of round train without regularization decay",
            ),
            opt(
                "train_bias",
                Ty::Bool,
                Default::Unset,
                "Toggle bias training",
            ),
            opt(
                "warmup",
                UNIT_FLOAT,
                Default::Unset,
                "Ratio of warmup epochs out of epochs",
            ),
            opt(
                "dataset_size",
                POSITIVE_INT,
                Default::Unset,
                "Data samples for the layers",
            ),
            opt(
                "batch_size",
                POSITIVE_INT,
                Default::Unset,
                "Batch size for the layers",
            ),
        ]),
        constraints: &[],
    },
    FeatureSpec {
        name: "mix_precision_search",
        params: &[
            policy(ENABLED_DISABLED, "disabled", "Enable or disable"),
            opt(
                "dataset_size",
                POSITIVE_INT,
                Default::Int(16),
                "Images used for profiling",
            ),
            opt(
                "batch_size",
                POSITIVE_INT,
                Default::Int(8),
                "Images per inference step",
            ),
            opt(
                "snr_cap",
                POSITIVE_INT,
                Default::Int(140),
                "Maximum SNR considered in the search",
            ),
            opt(
                "compresions_markers",
                Ty::List(&ANY_FLOAT, None),
                Default::FloatList(&[0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2]),
                "Compression markers",
            ),
            opt(
                "optimizer",
                Ty::Enum(&["linear", "pareto"]),
                Default::Word("linear"),
                "Search optimizer",
            ),
            opt(
                "output_regularizer",
                Ty::Enum(&["harmony"]),
                Default::Word("harmony"),
                "Output regularizer",
            ),
            opt(
                "comprecision_metric",
                Ty::Enum(&["macs", "bops", "weighs"]),
                Default::Word("bops"),
                "Compression metric",
            ),
        ],
        per_layer: None,
        constraints: &[],
    },
];

pub const POST_QUANTIZATION_OPTIMIZATION: CommandSpec = CommandSpec {
    name: "post_quantization_optimization",
    stage: Stage::Optimization,
    returns: Returns::Nothing,
    scoped: false,
    positional: &[FEATURE],
    keywords: &[],
    features: POST_FEATURES,
    constraints: &[],
};
