//! Named pipelines. Each text is nested under `builtin.module(...)`.

use hailo_ir::pass::PipelineInfo;

pub fn pipelines() -> Vec<PipelineInfo> {
    vec![PipelineInfo {
        name: "hailo-cleanup",
        summary: "Canonicalize, CSE and DCE every graph",
        text: "builtin.graph(canonicalize,cse,dce)",
    }]
}
