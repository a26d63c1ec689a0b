//! The README stays true: every `$ hailo ...` line of its ```console blocks runs, in order, in a
//! directory laid out like the repository root (`examples/` in it, `../shared` beside it) and
//! succeeds; every line shown under a command is a line of its output, and the `warning:`,
//! `note:` and `error:` lines shown are all of those it prints. Every accuracy in the README's
//! tables is shown as the output of one of these commands.

mod common;

use common::{scratch, MODELS};
use std::path::Path;
use std::process::Command;

const README: &str = include_str!("../../README.md");

/// One `$ command` of a console block and the output lines shown under it.
struct Step {
    command: String,
    shown: Vec<String>,
}

fn console_steps(readme: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        match (in_block, line.trim_end()) {
            (false, "```console") => in_block = true,
            (true, "```") => in_block = false,
            (true, l) => match l.strip_prefix("$ ") {
                Some(command) => steps.push(Step {
                    command: command.to_owned(),
                    shown: Vec::new(),
                }),
                None => steps
                    .last_mut()
                    .expect("a console block starts with a `$ ` command")
                    .shown
                    .push(l.to_owned()),
            },
            (false, _) => {}
        }
    }
    steps
}

/// Runs `step` in `cwd`; panics with the command and its output when it does not do what the
/// README shows.
fn check(step: &Step, cwd: &Path) {
    assert!(
        !step.command.contains(['\'', '"', '\\', '|', '>']),
        "README commands are plain words: {}",
        step.command
    );
    let mut words = step.command.split_whitespace();
    assert_eq!(words.next(), Some("hailo"), "{}", step.command);
    let out = Command::new(env!("CARGO_BIN_EXE_hailo"))
        .args(words)
        .current_dir(cwd)
        .output()
        .expect("hailo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!(
        "$ {}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        step.command
    );
    assert!(out.status.success(), "{context}");
    let printed: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
    for line in &step.shown {
        assert!(
            printed.contains(&line.as_str()),
            "README shows '{line}'\n{context}"
        );
    }
    for prefix in ["warning:", "note:", "error:"] {
        let of = |lines: &mut dyn Iterator<Item = &str>| -> Vec<String> {
            lines
                .filter(|l| l.starts_with(prefix))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(
            of(&mut step.shown.iter().map(String::as_str)),
            of(&mut printed.iter().copied()),
            "the README shows every '{prefix}' line\n{context}"
        );
    }
}

#[test]
fn readme_commands_print_what_the_readme_shows() {
    let steps = console_steps(README);
    assert!(
        steps.len() >= 10,
        "the README's console blocks were not found"
    );
    // root/repo is the working directory: ../shared and examples/ resolve as in a checkout.
    let root = scratch("readme");
    let repo = root.join("repo");
    std::fs::create_dir(&repo).expect("repo dir");
    let shared = Path::new(MODELS).parent().expect("shared dir");
    std::os::unix::fs::symlink(shared, root.join("shared")).expect("symlink ../shared");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    std::os::unix::fs::symlink(examples, repo.join("examples")).expect("symlink examples");
    for step in &steps {
        check(step, &repo);
    }
    std::fs::remove_dir_all(&root).expect("cleanup");
}

#[test]
fn readme_accuracy_tables_match_the_commands() {
    let shown: Vec<String> = console_steps(README)
        .into_iter()
        .flat_map(|s| s.shown)
        .collect();
    let rows: Vec<&str> = README
        .lines()
        .filter(|l| l.starts_with("| `digits"))
        .collect();
    assert!(rows.len() >= 4, "the accuracy table was not found");
    for row in rows {
        // The reference column is the runtime's number (shared/models/README.md); the others
        // are this project's, measured by a console block.
        for cell in row.split('|').map(str::trim).skip(3) {
            if let Some(pct) = cell.strip_suffix('%') {
                let line = format!("top-1 accuracy: {pct}%");
                assert!(
                    shown.iter().any(|s| s.starts_with(&line)),
                    "{row}: no console block shows '{line}'"
                );
            }
        }
    }
}
