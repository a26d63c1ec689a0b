//! insta snapshots of structured `hailo-opt` output: the pass list, and the
//! IR of the bundled example after the cleanup pipeline with statistics.

use clap::Parser;
use hailo_tools::opt::{run, OptArgs};

fn opt(args: &[&str]) -> hailo_tools::opt::OptOutcome {
    let mut argv = vec!["hailo-opt"];
    argv.extend_from_slice(args);
    let parsed = OptArgs::try_parse_from(argv).expect("valid arguments");
    run(parsed, &hailo_passes::registry(), |p| {
        std::fs::read_to_string(p)
    })
}

#[test]
fn list_passes() {
    let out = opt(&["--list-passes"]);
    assert_eq!(out.code, 0);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn example_after_cleanup_pipeline() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/tiny.hir");
    let out = opt(&[
        example,
        "--pass-pipeline=builtin.module(hailo-cleanup)",
        "--pass-statistics",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("tiny_ir", out.stdout);
    insta::assert_snapshot!("tiny_stats", out.stderr);
}
