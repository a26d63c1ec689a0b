//! `test-graph-attr`: a graph-anchored pass that marks each graph it visits,
//! to test nesting (`builtin.module(builtin.graph(...))`) and anchor checks.

use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId};

hailo_ir::pass_options! {
    pub struct GraphAttrOptions {
        /// Value stored in the graph's `test.visited` attribute.
        value: i64 = 1,
    }
}

pub struct TestGraphAttr(GraphAttrOptions);

impl PassDef for TestGraphAttr {
    const NAME: &'static str = "test-graph-attr";
    const SUMMARY: &'static str = "Test: set `test.visited` on every graph";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = GraphAttrOptions;

    fn new(o: GraphAttrOptions) -> Self {
        TestGraphAttr(o)
    }
    fn options(&self) -> &GraphAttrOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        m.set_attr(graph, "test.visited", Attribute::i64(self.0.value));
        cx.stat("graphs", "Graphs visited", 1);
        Ok(Preserved::All)
    }
}
