//! `canonicalize`: folds ops and applies every registered canonicalization
//! pattern with the greedy driver until nothing changes, erasing dead pure
//! ops on the way.

use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{apply_patterns_greedily, GreedyConfig, Module, OpId};

hailo_ir::pass_options! {
    pub struct CanonicalizeOptions {
        /// Upper bound on processed worklist items (0: proportional to the op count).
        max_num_rewrites: u64 = 0,
        /// Run op folders (constant folding and identity folds).
        fold: bool = true,
        /// Fail when the rewrite limit is hit before reaching a fixed point.
        test_convergence: bool = false,
    }
}

pub struct Canonicalize(CanonicalizeOptions);

impl PassDef for Canonicalize {
    const NAME: &'static str = "canonicalize";
    const SUMMARY: &'static str = "Fold ops and apply canonicalization patterns to a fixed point";
    const ANCHOR: Option<&'static str> = None;
    type Options = CanonicalizeOptions;

    fn new(o: CanonicalizeOptions) -> Self {
        Canonicalize(o)
    }
    fn options(&self) -> &CanonicalizeOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        op: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let patterns = cx.ctx.canonical_patterns();
        let cfg = GreedyConfig {
            max_rewrites: self.0.max_num_rewrites as usize,
            fold: self.0.fold,
        };
        let s = apply_patterns_greedily(m, cx.ctx, op, &patterns, cfg);
        cx.stat("num-folded", "Number of ops folded", s.folded);
        cx.stat("num-rewritten", "Number of pattern rewrites", s.rewritten);
        cx.stat("num-dead", "Number of dead ops erased", s.erased_dead);
        if self.0.test_convergence && !s.converged {
            let loc = m.op(op).loc.clone();
            return Err(cx.fail(hailo_ir::Diagnostic::error(
                loc,
                "canonicalize did not converge within the rewrite limit",
            )));
        }
        Ok(if s.folded + s.rewritten + s.erased_dead == 0 {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}
