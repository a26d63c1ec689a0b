//! Every model script of the real corpus (`/work/shared/corpus`, Hailo model zoo) parses and checks
//! with zero errors, and printing its syntax tree then parsing again gives the same tree.

use hailo_alls::ast::{Arg, Name, Script, Statement, Targets, Value, ValueKind};
use hailo_alls::{check_source, parse, CheckOptions, SourceFile, Span};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

/// The number of `.alls` files in the corpus snapshot (see its SOURCE.md).
const CORPUS_FILES: usize = 606;

fn alls_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            alls_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "alls") {
            out.push(p);
        }
    }
}

fn corpus() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    alls_files(Path::new(CORPUS), &mut files);
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read corpus file");
            let text = String::from_utf8(bytes).expect("corpus is UTF-8");
            (p, text)
        })
        .collect()
}

#[test]
fn every_corpus_script_checks_without_errors() {
    let files = corpus();
    assert_eq!(files.len(), CORPUS_FILES);
    let mut errors = Vec::new();
    let mut unknown_commands: BTreeMap<String, usize> = BTreeMap::new();
    let mut statements = 0;
    for (path, text) in &files {
        let src = SourceFile::new(path.display().to_string(), text.clone());
        let checked = check_source(&src, CheckOptions::default());
        statements += checked.script.commands.len();
        for c in &checked.script.commands {
            if c.typed.is_none() && hailo_alls::spec::command(&c.statement.command.text).is_none() {
                *unknown_commands
                    .entry(c.statement.command.text.clone())
                    .or_default() += 1;
            }
        }
        errors.extend(
            checked
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.render(&src)),
        );
    }
    assert!(
        errors.is_empty(),
        "{} errors:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(statements > 20_000, "only {statements} statements");
    // Commands of the model zoo that the user guide does not document: kept raw, with warnings.
    let names: Vec<_> = unknown_commands.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "bucket",
            "buffer_calc_param",
            "defuse_block",
            "format_conversion",
            "mux_demux",
            "optimize_buffers",
            "resize_input",
            "transpose_concat",
            "yuv_to_rgb"
        ]
    );
}

/// Copies of the tree with every span zeroed, so trees from different texts compare by structure.
fn strip(script: &Script) -> Script {
    fn name(n: &Name) -> Name {
        Name {
            text: n.text.clone(),
            span: Span::default(),
        }
    }
    fn value(v: &Value) -> Value {
        let kind = match &v.kind {
            ValueKind::List(items) => ValueKind::List(items.iter().map(value).collect()),
            k => k.clone(),
        };
        Value {
            kind,
            span: Span::default(),
        }
    }
    let statements = script
        .statements
        .iter()
        .map(|s| Statement {
            targets: s.targets.as_ref().map(|t| match t {
                Targets::Empty(_) => Targets::Empty(Span::default()),
                Targets::Names(ns) => Targets::Names(ns.iter().map(name).collect()),
            }),
            scope: s.scope.as_ref().map(name),
            command: name(&s.command),
            args: s
                .args
                .iter()
                .map(|a| Arg {
                    key: a.key.as_ref().map(name),
                    value: value(&a.value),
                    span: Span::default(),
                })
                .collect(),
            span: Span::default(),
        })
        .collect();
    Script { statements }
}

#[test]
fn printing_and_reparsing_every_corpus_script_gives_the_same_tree() {
    for (path, text) in corpus() {
        let (ast, errors) = parse(&text);
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        let printed = ast.to_string();
        let (again, errors) = parse(&printed);
        assert!(
            errors.is_empty(),
            "{}: reprint does not parse: {errors:?}",
            path.display()
        );
        assert_eq!(strip(&again), strip(&ast), "{}", path.display());
        assert_eq!(
            again.to_string(),
            printed,
            "{}: printing is not stable",
            path.display()
        );
    }
}
