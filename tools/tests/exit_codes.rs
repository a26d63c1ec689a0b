//! Exit codes of `hailo-opt` and `hailo`: 0 success, 1 diagnostics or a
//! failed pass, 2 usage errors; malformed input never panics.

use std::io::Write;
use std::process::{Command, Stdio};

fn hailo_opt(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hailo-opt"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hailo-opt starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("hailo-opt runs");
    (
        out.status.code().expect("exited normally (no signal)"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const VALID: &str = "builtin.graph @g(%x: i64) -> i64 {\n  builtin.return %x : i64\n}\n";

#[test]
fn success_is_zero() {
    let (code, out, _) = hailo_opt(&["-"], VALID.as_bytes());
    assert_eq!(code, 0);
    assert!(out.contains("builtin.graph @g(%arg0: i64) -> i64"));
}

#[test]
fn usage_errors_are_two() {
    assert_eq!(hailo_opt(&["--no-such-flag"], b"").0, 2);
    assert_eq!(hailo_opt(&["--verify-each=maybe"], b"").0, 2);
}

#[test]
fn diagnostics_and_failed_passes_are_one() {
    let (code, _, err) = hailo_opt(
        &["-"],
        b"builtin.graph @g(%x: i64) -> i64 {\n  builtin.return %y : i64\n}\n",
    );
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "<stdin>:2:18: error: use of undefined value '%y'\n  builtin.return %y : i64\n                 ^\n"
    );
    let (code, _, err) = hailo_opt(
        &[
            "-",
            "--pass-pipeline=builtin.module(builtin.graph(test-fail))",
        ],
        VALID.as_bytes(),
    );
    assert_eq!(code, 1);
    assert!(err.contains("error: test-fail pass failed"), "{err}");
    let (code, _, err) = hailo_opt(
        &["--pass-pipeline=builtin.module(no-such-pass)", "-"],
        VALID.as_bytes(),
    );
    assert_eq!(code, 1);
    assert!(err.starts_with("<pass-pipeline>:1:16: error:"), "{err}");
}

#[test]
fn malformed_input_never_panics() {
    let cases: Vec<Vec<u8>> = vec![
        b"builtin.graph @g(%x: i64) -> i64 {".to_vec(),
        b"builtin.graph @g(%x: i64) -> i64 {\n  builtin.return %x : i64\n}\n}\n}".to_vec(),
        b"builtin.graph @g(%x: tensor<4x".to_vec(),
        vec![0xff, 0xfe, b'b', b'u'],
        b"\"foo.bar\"(%0) : (tensor<1xf32>) -> tensor<1xf32>".to_vec(),
        b"%0 = hl.const dense<[1.0, [2.0]]> : tensor<2xf32>".to_vec(),
        b"builtin.graph @g() -> i64 { %0 = test.constant {value = 99999999999999999999} : i64 }"
            .to_vec(),
        b"{-# dialect_resources: { builtin: { k: \"0x0\" } } #-}".to_vec(),
        b"builtin.module { builtin.graph @g(%x: i64) -> f32 { builtin.return %x : i64 } }".to_vec(),
    ];
    for (i, case) in cases.iter().enumerate() {
        let (code, _, err) = hailo_opt(&["-", "--allow-unregistered-dialect"], case);
        assert_eq!(code, 1, "case {i} should be rejected: {err}");
        assert!(err.contains("error:"), "case {i}: {err}");
        assert!(!err.contains("panicked"), "case {i} panicked: {err}");
    }
    // Every prefix of a valid file is rejected or accepted, never a crash.
    let text = include_str!("../../lit-tests/parser/round-trip.hir");
    for cut in (0..text.len())
        .step_by(7)
        .filter(|&c| text.is_char_boundary(c))
    {
        let (code, _, err) = hailo_opt(&["-"], &text.as_bytes()[..cut]);
        assert!(code == 0 || code == 1, "prefix {cut}: exit {code}: {err}");
    }
}

#[test]
fn failed_run_leaves_no_output_file() {
    let dir = std::env::temp_dir().join(format!("hailo-opt-exit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("out.hir");
    let out_s = out.to_str().expect("utf-8 path");
    let (code, _, _) = hailo_opt(
        &[
            "-",
            "-o",
            out_s,
            "--pass-pipeline=builtin.module(builtin.graph(test-fail))",
        ],
        VALID.as_bytes(),
    );
    assert_eq!(code, 1);
    assert!(!out.exists());
    let (code, _, _) = hailo_opt(&["-", "-o", out_s], VALID.as_bytes());
    assert_eq!(code, 0);
    assert!(out.exists());
    assert_eq!(
        std::fs::read_dir(&dir).expect("dir").count(),
        1,
        "no temp files left behind"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn hailo_cli_help_version_and_unimplemented() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hailo"))
            .args(args)
            .output()
            .expect("hailo runs")
    };
    let v = run(&["--version"]);
    assert!(v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("hailo "));
    let h = run(&["--help"]);
    let help = String::from_utf8_lossy(&h.stdout).into_owned();
    for sub in [
        "parser",
        "optimize",
        "compiler",
        "profiler",
        "har",
        "infer",
        "model-script",
        "analyze-noise",
        "visualizer",
    ] {
        assert!(help.contains(sub), "--help lists {sub}");
    }
    let c = run(&["profiler", "m.har"]);
    assert_eq!(c.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&c.stderr).contains("`hailo profiler` is not implemented yet"));
    // The compiler goes as far as the physical IR; past it, it says so.
    let c = run(&["compiler", "m.har"]);
    assert_eq!(c.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&c.stderr),
        "error: `hailo compiler` is not built yet past the physical IR (allocation, contexts, HEF); use --stop-after=phys --hir-path FILE\n"
    );
    let c = run(&["compiler", "m.har", "--stop-after=hef"]);
    assert_eq!(
        c.status.code(),
        Some(2),
        "an unknown stage is a usage error"
    );
}
