//! `test-fail`: always fails with a located error on the first `test.effect`
//! op (or the anchor), to test failure handling, `--print-ir-after-failure`
//! and crash reproducers.

use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Diagnostic, Module, OpId};

hailo_ir::pass_options! {
    pub struct FailOptions {
        /// The error message.
        message: String = "test-fail pass failed".to_owned(),
    }
}

pub struct TestFail(FailOptions);

impl PassDef for TestFail {
    const NAME: &'static str = "test-fail";
    const SUMMARY: &'static str = "Test: fail with an error on the first test.effect op";
    const ANCHOR: Option<&'static str> = None;
    type Options = FailOptions;

    fn new(o: FailOptions) -> Self {
        TestFail(o)
    }
    fn options(&self) -> &FailOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let at = m
            .walk(root)
            .into_iter()
            .find(|&o| m.op(o).name_str() == "test.effect")
            .unwrap_or(root);
        // Mutate first, so `--print-ir-after-failure` has something to show.
        m.set_attr(at, "test.failed_here", hailo_ir::Attribute::Unit);
        Err(cx.fail(Diagnostic::error(
            m.op(at).loc.clone(),
            self.0.message.clone(),
        )))
    }
}
