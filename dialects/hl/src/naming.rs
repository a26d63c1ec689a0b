//! Hailo layer naming shared by every frontend: a prefix from the list in
//! `docs/hl-dialect.md` (`conv`, `dw`, `ew_add`, ...) plus a counter per prefix,
//! starting at 1 and advancing in creation (topological) order, so the same
//! network gets the same layer names whichever framework it came from. Layer names are
//! what model scripts, HN JSON keys and per-layer reports refer to, so the verifier
//! rejects a graph in which two `hl` layers share one.

use hailo_ir::{Attribute, Diagnostic, Module, OpId};
use std::collections::BTreeMap;

/// Hands out `conv1`, `conv2`, `dw1`, ... one counter per prefix.
#[derive(Debug, Clone, Default)]
pub struct LayerNamer {
    counters: BTreeMap<String, usize>,
}

impl LayerNamer {
    /// A namer with every counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next name with `prefix` (`conv` gives `conv1`, then `conv2`, ...).
    pub fn next(&mut self, prefix: &str) -> String {
        let c = self.counters.entry(prefix.to_string()).or_insert(0);
        *c += 1;
        format!("{prefix}{c}")
    }
}

/// The `hl` dialect's region check: within the ops directly inside `op`'s regions, no two
/// `hl` ops have the same `layer` name.
pub fn verify_unique_layers(m: &Module, op: OpId) -> Vec<Diagnostic> {
    let mut seen: BTreeMap<&str, OpId> = BTreeMap::new();
    let mut errs = Vec::new();
    for &region in m.op(op).regions() {
        for &block in m.region(region).blocks() {
            for inner in m.block_ops(block) {
                let o = m.op(inner);
                if !o.name_str().starts_with("hl.") {
                    continue;
                }
                let Some(layer) = m.attr(inner, "layer").and_then(Attribute::as_str) else {
                    continue;
                };
                if let Some(&first) = seen.get(layer) {
                    errs.push(
                        Diagnostic::error(
                            o.loc.clone(),
                            format!(
                                "'{}' op layer name '{layer}' is already used in this graph; \
                                 layer names must be unique (rename one of them)",
                                o.name_str()
                            ),
                        )
                        .with_note(m.op(first).loc.clone(), "first used here"),
                    );
                } else {
                    seen.insert(layer, inner);
                }
            }
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::LayerNamer;

    #[test]
    fn counters_are_per_prefix() {
        let mut n = LayerNamer::new();
        let got: Vec<String> = ["conv", "conv", "dw", "conv", "ew_add"]
            .iter()
            .map(|p| n.next(p))
            .collect();
        assert_eq!(got, ["conv1", "conv2", "dw1", "conv3", "ew_add1"]);
    }
}
