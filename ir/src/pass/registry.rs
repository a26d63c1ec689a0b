//! The pass registry: every pass and named pipeline by name.
//!
//! The list is explicit (built in `hailo-passes/src/registry.rs`), sorted by
//! name, so `--list-passes` and name suggestions are stable.

use super::options::{parse_options, OptionInfo, RawValue};
use super::{Pass, PassDef, PassOptions};

/// Builds a pass from its pipeline-text options.
pub type CreateFn = fn(&[(String, RawValue)]) -> Result<Box<dyn Pass>, String>;

#[derive(Clone)]
pub struct PassInfo {
    pub name: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    pub anchor: Option<&'static str>,
    pub options: fn() -> Vec<OptionInfo>,
    pub create: CreateFn,
}

fn create<P: PassDef>(raw: &[(String, RawValue)]) -> Result<Box<dyn Pass>, String> {
    Ok(Box::new(P::new(parse_options::<P::Options>(raw)?)))
}

impl PassInfo {
    pub fn of<P: PassDef>() -> PassInfo {
        PassInfo {
            name: P::NAME,
            summary: P::SUMMARY,
            description: P::DESCRIPTION,
            anchor: P::ANCHOR,
            options: <P::Options as PassOptions>::describe,
            create: create::<P>,
        }
    }
}

/// A named pipeline: a pipeline text nested under `builtin.module`.
#[derive(Clone)]
pub struct PipelineInfo {
    pub name: &'static str,
    pub summary: &'static str,
    pub text: &'static str,
}

#[derive(Clone, Default)]
pub struct PassRegistry {
    passes: Vec<PassInfo>,
    pipelines: Vec<PipelineInfo>,
}

impl PassRegistry {
    /// Builds a registry; panics on duplicate names (a programming error caught by tests).
    pub fn new(mut passes: Vec<PassInfo>, mut pipelines: Vec<PipelineInfo>) -> PassRegistry {
        passes.sort_by_key(|p| p.name);
        pipelines.sort_by_key(|p| p.name);
        let mut names: Vec<&str> = passes
            .iter()
            .map(|p| p.name)
            .chain(pipelines.iter().map(|p| p.name))
            .collect();
        names.sort();
        for w in names.windows(2) {
            assert_ne!(
                w[0], w[1],
                "pass or pipeline '{}' is registered twice",
                w[0]
            );
        }
        PassRegistry { passes, pipelines }
    }

    pub fn passes(&self) -> &[PassInfo] {
        &self.passes
    }
    pub fn pipelines(&self) -> &[PipelineInfo] {
        &self.pipelines
    }
    pub fn pass(&self, name: &str) -> Option<&PassInfo> {
        self.passes.iter().find(|p| p.name == name)
    }
    pub fn pipeline(&self, name: &str) -> Option<&PipelineInfo> {
        self.pipelines.iter().find(|p| p.name == name)
    }

    /// The registered pass or pipeline name closest to `name`.
    pub fn suggest(&self, name: &str) -> Option<&'static str> {
        closest(
            name,
            self.passes
                .iter()
                .map(|p| p.name)
                .chain(self.pipelines.iter().map(|p| p.name)),
        )
    }

    /// `--list-passes` text: name, summary, options with type and default.
    pub fn list_text(&self) -> String {
        let mut out = String::from("Available passes:\n");
        for p in &self.passes {
            out.push_str(&format!("  {}  -  {}\n", p.name, p.summary));
            if let Some(a) = p.anchor {
                out.push_str(&format!("      anchor: {a}\n"));
            }
            for o in (p.options)() {
                out.push_str(&format!(
                    "      --{}=<{}>  (default: {})  {}\n",
                    o.name, o.ty, o.default, o.help
                ));
            }
        }
        out.push_str("Available pipelines:\n");
        for p in &self.pipelines {
            out.push_str(&format!(
                "  {}  -  {}\n      = builtin.module({})\n",
                p.name, p.summary, p.text
            ));
        }
        out
    }
}

/// The candidate nearest to `name` by edit distance, if reasonably close.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 2).max(2))
        .min()
        .map(|(_, c)| c)
}
