//! Named pipelines. Each text is nested under `builtin.module(...)`.

use hailo_ir::pass::PipelineInfo;

/// What `hailo parser` runs on a frontend's faithful import: the parse-time folds and fusions
/// of the DFC parser (pad, bias, batch norm, activation), then Hailo's layer numbering.
pub const HAILO_PARSE: &str =
    "builtin.graph(hl-fold-pad,hl-fold-bias,hl-fold-batchnorm,hl-fuse-activation,hl-name-layers)";

/// The float graph rewrites `hailo optimize` runs before calibrating when the model script
/// leaves the guide's `pre_quantization_optimization` defaults on.
macro_rules! fp_optimize {
    () => {
        "quant-zero-static-channels,hl-dead-layers-removal,quant-matmul-equalize,hl-fuse-conv-add"
    };
}

pub fn pipelines() -> Vec<PipelineInfo> {
    vec![
        PipelineInfo {
            name: "hailo-cleanup",
            summary: "Canonicalize, CSE and DCE every graph",
            text: "builtin.graph(canonicalize,cse,dce)",
        },
        PipelineInfo {
            name: "hailo-parse",
            summary: "The parser's folds and fusions, then Hailo layer numbering",
            text: HAILO_PARSE,
        },
        PipelineInfo {
            name: "hailo-fp-optimize",
            summary: "The default full-precision optimizations of `hailo optimize` \
                      (zero_static_channels, dead_layers_removal, matmul_equalization, ew_add_fusing; needs --calib-set)",
            text: concat!("builtin.graph(", fp_optimize!(), ")"),
        },
        PipelineInfo {
            name: "hailo-quantize",
            summary: "Quantize every graph as `hailo optimize` does without a model script \
                      (zero-static channels, dead layers, matmul equalization, conv+add fusion, a8_w8; needs --calib-set)",
            text: concat!(
                "builtin.graph(",
                fp_optimize!(),
                ",quant-split-activations,quant-calibrate,quant-ranges,\
                 quant-precision,quant-weight-clipping),hl-to-quant"
            ),
        },
    ]
}
