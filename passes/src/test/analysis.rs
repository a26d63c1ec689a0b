//! `test-analysis`: requests an op-count analysis and reports whether it was
//! computed or served from the cache, to test the AnalysisManager and
//! preserved sets.

use hailo_ir::pass::{Analysis, PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Module, OpId};

/// Number of ops nested in the anchor.
pub struct OpCount(pub usize);

impl Analysis for OpCount {
    fn compute(m: &Module, op: OpId, _: &mut hailo_ir::pass::AnalysisManager) -> Self {
        OpCount(m.walk(op).len())
    }
}

hailo_ir::pass_options! {
    pub struct AnalysisOptions {
        /// Report the analysis as preserved after this pass.
        preserve: bool = false,
    }
}

pub struct TestAnalysis(AnalysisOptions);

impl PassDef for TestAnalysis {
    const NAME: &'static str = "test-analysis";
    const SUMMARY: &'static str = "Test: use a cached analysis and report cache hits";
    const ANCHOR: Option<&'static str> = None;
    type Options = AnalysisOptions;

    fn new(o: AnalysisOptions) -> Self {
        TestAnalysis(o)
    }
    fn options(&self) -> &AnalysisOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let cached = cx.analyses.is_cached::<OpCount>(root);
        let n = cx.analysis::<OpCount>(m, root).0;
        cx.out.push_str(&format!(
            "test-analysis: {n} ops ({})\n",
            if cached { "cached" } else { "computed" }
        ));
        cx.stat(
            "cache-hits",
            "Analyses served from the cache",
            u64::from(cached),
        );
        Ok(if self.0.preserve {
            Preserved::only::<OpCount>()
        } else {
            Preserved::None
        })
    }
}
