//! `print-op-stats`: prints how many ops of each name the anchor holds.

use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Module, OpId};
use std::collections::BTreeMap;

pub struct PrintOpStats(NoOptions);

impl PassDef for PrintOpStats {
    const NAME: &'static str = "print-op-stats";
    const SUMMARY: &'static str = "Print the number of ops of each kind";
    const ANCHOR: Option<&'static str> = None;
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        PrintOpStats(o)
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
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for op in m.walk(root) {
            *counts.entry(m.op(op).name_str()).or_default() += 1;
        }
        let width = counts.keys().map(|k| k.len()).max().unwrap_or(0);
        cx.out
            .push_str("Operations encountered:\n-----------------------\n");
        for (name, n) in counts {
            cx.out.push_str(&format!("  {name:<width$} , {n}\n"));
        }
        Ok(Preserved::All)
    }
}
