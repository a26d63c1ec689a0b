//! Named pipelines. Each text is nested under `builtin.module(...)`.

use hailo_ir::pass::PipelineInfo;

pub fn pipelines() -> Vec<PipelineInfo> {
    vec![
        PipelineInfo {
            name: "hailo-cleanup",
            summary: "Canonicalize, CSE and DCE every graph",
            text: "builtin.graph(canonicalize,cse,dce)",
        },
        PipelineInfo {
            name: "hailo-quantize",
            summary: "Quantize every graph as `hailo optimize` does without a model script \
                      (a8_w8; needs --calib-set)",
            text: "builtin.graph(quant-split-activations,quant-calibrate,quant-ranges,\
                   quant-precision,quant-weight-clipping),hl-to-quant",
        },
    ]
}
