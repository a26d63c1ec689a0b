//! Every optimization command of the model zoo's 600+ scripts (`shared/corpus`) is either
//! applied or reported: each argument it is given takes effect or gets an `accepted but not
//! applied` reason, never neither. The per-command counts are pinned as a snapshot (the table
//! of the issue note); a command that starts to apply changes it on purpose.

use hailo_alls::spec::Stage;
use hailo_alls::{check_source, CheckOptions, SourceFile};
use hailo_quantizer::script::apply_command;
use hailo_quantizer::QuantConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

fn scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            scripts(&p, out);
        } else if p.extension().is_some_and(|e| e == "alls") {
            out.push(p);
        }
    }
}

#[derive(Default)]
struct Row {
    applied: usize,
    partly: usize,
    warned: usize,
    /// Arguments reported, with how often.
    reported: BTreeMap<String, usize>,
}

#[test]
fn no_optimization_command_of_the_corpus_is_silently_dropped() {
    let mut files = Vec::new();
    scripts(&corpus(), &mut files);
    assert!(files.len() >= 600, "{} scripts", files.len());
    let mut table: BTreeMap<String, Row> = BTreeMap::new();
    let layer = ["x".to_owned()];
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        let src = SourceFile::new(f.display().to_string(), &text);
        let checked = check_source(&src, CheckOptions::default());
        for cmd in &checked.script.commands {
            let Some(t) = cmd
                .typed
                .as_ref()
                .filter(|t| t.stage() == Stage::Optimization)
            else {
                continue;
            };
            let mut cfg = QuantConfig::default();
            // A precision mode this version rejects is an error at run time, not a drop.
            let Ok(o) = apply_command(&mut cfg, t, &layer, &layer) else {
                continue;
            };
            for a in t
                .args
                .iter()
                .filter(|a| !["feature", "layers"].contains(&a.param.name))
            {
                let applied = o.applied.contains(&a.param.name);
                let warned = o
                    .warned
                    .iter()
                    .any(|(n, _)| n == a.param.name || n.is_empty());
                assert!(
                    applied ^ warned,
                    "{}: {} argument '{}': applied {applied}, warned {warned}",
                    f.display(),
                    o.command,
                    a.param.name
                );
            }
            let row = table.entry(o.command.clone()).or_default();
            match (o.applied.is_empty(), o.warned.is_empty()) {
                (_, true) => row.applied += 1,
                (false, false) => row.partly += 1,
                (true, false) => row.warned += 1,
            }
            for (arg, _) in &o.warned {
                let key = if arg.is_empty() { "(command)" } else { arg };
                *row.reported.entry(key.to_owned()).or_default() += 1;
            }
        }
    }
    let mut text = format!(
        "{} scripts\n| command | applied | partly applied | not applied | reported arguments |\n|---|---|---|---|---|\n",
        files.len()
    );
    for (cmd, r) in &table {
        let reported: Vec<String> = r
            .reported
            .iter()
            .map(|(a, n)| format!("{a} ×{n}"))
            .collect();
        text.push_str(&format!(
            "| {cmd} | {} | {} | {} | {} |\n",
            r.applied,
            r.partly,
            r.warned,
            reported.join(", ")
        ));
    }
    insta::assert_snapshot!(text);
}
