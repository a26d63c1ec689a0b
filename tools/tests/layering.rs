//! The README's layering table equals the crates' dependencies: for every workspace crate,
//! the workspace crates its `Cargo.toml` lists under `[dependencies]` are exactly the ones its
//! row names, and every crate has a row.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Workspace crate name → the workspace crates under its `[dependencies]`.
fn manifests() -> BTreeMap<String, BTreeSet<String>> {
    let root = std::fs::read_to_string(repo().join("Cargo.toml")).expect("workspace manifest");
    let members = root
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .expect("members list")
        .0;
    members
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|member| {
            let text = std::fs::read_to_string(repo().join(member).join("Cargo.toml"))
                .unwrap_or_else(|e| panic!("{member}/Cargo.toml: {e}"));
            let name = text
                .lines()
                .find_map(|l| l.strip_prefix("name = "))
                .expect("package name")
                .trim_matches('"')
                .to_owned();
            let mut section = "";
            let mut deps = BTreeSet::new();
            for line in text.lines().map(str::trim) {
                if line.starts_with('[') {
                    section = line;
                } else if section == "[dependencies]" && line.starts_with("hailo-") {
                    let dep = line.split(['.', ' ', '=']).next().unwrap_or_default();
                    deps.insert(dep.to_owned());
                }
            }
            (name, deps)
        })
        .collect()
}

/// The README's short name of a crate (`hailo-dialect-hl` → `hl`, `hailo-ir` → `ir`).
fn short(name: &str) -> &str {
    let n = name.strip_prefix("hailo-").unwrap_or(name);
    n.strip_prefix("dialect-").unwrap_or(n)
}

/// Crate → dependencies as the README's table states them.
fn readme_table() -> BTreeMap<String, BTreeSet<String>> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let mut rows = BTreeMap::new();
    let mut above: BTreeSet<String> = BTreeSet::new();
    for line in readme.lines().filter(|l| l.starts_with("| `hailo-")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let crates: Vec<String> = cells[0]
            .split(',')
            .map(|c| c.trim().trim_matches('`').to_owned())
            .collect();
        let deps_cell = cells.last().copied().unwrap_or_default();
        let deps: BTreeSet<String> = match deps_cell {
            "—" => BTreeSet::new(),
            "every crate above" => above.iter().map(|c| short(c).to_owned()).collect(),
            list => list.split(',').map(|d| d.trim().to_owned()).collect(),
        };
        for c in crates {
            rows.insert(c.clone(), deps.clone());
            above.insert(c);
        }
    }
    rows
}

#[test]
fn readme_layering_table_equals_the_crate_dependencies() {
    let actual: BTreeMap<String, BTreeSet<String>> = manifests()
        .into_iter()
        .map(|(name, deps)| (name, deps.iter().map(|d| short(d).to_owned()).collect()))
        .collect();
    assert_eq!(readme_table(), actual);
}
