//! `dce`: erases pure ops whose results are unused, repeatedly, so whole
//! dead chains disappear in one run.

use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::rewrite::is_trivially_dead;
use hailo_ir::{Module, OpId};

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
        let mut erased = 0;
        loop {
            let mut changed = false;
            for op in m.walk(root).into_iter().rev() {
                if op != root && m.is_alive(op) && is_trivially_dead(m, cx.ctx, op) {
                    m.erase_op(op);
                    erased += 1;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        cx.stat("num-erased", "Number of dead ops erased", erased);
        Ok(if erased == 0 {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}
