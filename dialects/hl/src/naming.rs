//! Hailo layer naming shared by every frontend: a prefix from the list in
//! `docs/hl-dialect.md` (`conv`, `dw`, `ew_add`, ...) plus a counter per prefix,
//! starting at 1 and advancing in creation (topological) order, so the same
//! network gets the same layer names whichever framework it came from.

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
