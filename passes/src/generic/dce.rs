//! `dce`: erases pure ops whose results are unused, repeatedly, so whole
//! dead chains disappear in one run.

use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::rewrite::is_trivially_dead;
use hailo_ir::{Context, Module, OpId};

pub struct Dce(NoOptions);

impl PassDef for Dce {
    const NAME: &'static str = "dce";
    const SUMMARY: &'static str = "Erase side-effect-free ops whose results are unused";
    const ANCHOR: Option<&'static str> = None;
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        Dce(o)
    }
    fn options(&self) -> &NoOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let erased = erase_dead(m, cx.ctx, root);
        cx.stat("num-erased", "Number of dead ops erased", erased);
        Ok(if erased == 0 {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}

/// Erases the ops under `root` whose results nothing reads and that have no side effects,
/// until none is left; how many it erased.
pub(crate) fn erase_dead(m: &mut Module, ctx: &Context, root: OpId) -> u64 {
    let mut erased = 0;
    loop {
        let mut changed = false;
        for op in m.walk(root).into_iter().rev() {
            if op != root && m.is_alive(op) && is_trivially_dead(m, ctx, op) {
                m.erase_op(op);
                erased += 1;
                changed = true;
            }
        }
        if !changed {
            return erased;
        }
    }
}
