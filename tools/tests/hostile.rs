//! The `hailo` binary on hostile inputs and environments: a closed stdout, FIFOs in a
//! calibration directory, oversized resizes, and archives of many members.

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const MODEL: &str = r#"builtin.module @tiny {
  builtin.graph @main(%arg0: tensor<1x8x8x3xf32>) -> tensor<1x8x8x4xf32> {
    %0 = hl.input_layer %arg0 {layer = "input_layer1"} : tensor<1x8x8x3xf32>
    %1 = hl.const dense<1.0> : tensor<1x1x3x4xf32>
    %2 = hl.conv2d %0, %1 {layer = "conv1"} : tensor<1x8x8x4xf32>
    %3 = hl.output_layer %2 {layer = "output_layer1"} : tensor<1x8x8x4xf32>
    builtin.return %3 : tensor<1x8x8x4xf32>
  }
}
"#;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hailo-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn tiny_har(dir: &Path) -> PathBuf {
    let ctx = hailo_tools::context::full_context(false);
    let m = hailo_ir::parse_module(&ctx, "tiny.hir", MODEL).expect("model parses");
    let har = dir.join("tiny.har");
    let meta = hailo_har::HarMetadata::new(hailo_har::HarState::HailoModel, "hailo8");
    hailo_har::write_har(&m, &ctx, &meta, &har, false).expect("HAR written");
    har
}

fn hailo(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hailo"))
        .args(args)
        .output()
        .expect("hailo runs")
}

/// The write end of a pipe whose read end is already closed.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and are owned here.
    unsafe {
        libc::close(fds[0]);
        Stdio::from(OwnedFd::from_raw_fd(fds[1]))
    }
}

#[test]
fn printing_to_a_closed_pipe_ends_quietly() {
    let dir = scratch("pipe");
    let har = tiny_har(&dir);
    for bin in [env!("CARGO_BIN_EXE_hailo"), env!("CARGO_BIN_EXE_hailo-opt")] {
        let mut cmd = Command::new(bin);
        if bin.ends_with("hailo-opt") {
            let hir = dir.join("tiny.hir");
            std::fs::write(&hir, MODEL).expect("write IR");
            cmd.arg(hir);
        } else {
            cmd.args(["har".as_ref(), "info".as_ref(), har.as_os_str()]);
        }
        let out = cmd
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr, "", "{bin}");
        assert!(
            out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
            "{bin}: {:?}",
            out.status
        );
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_fifo_in_the_calibration_directory_is_refused_not_waited_on() {
    let dir = scratch("fifo");
    let har = tiny_har(&dir);
    let calib = dir.join("calib");
    std::fs::create_dir(&calib).expect("calib dir");
    let fifo = std::ffi::CString::new(calib.join("a.npy").into_os_string().into_encoded_bytes())
        .expect("path");
    // SAFETY: `fifo` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let out = hailo(&[
        "optimize".as_ref(),
        har.as_os_str(),
        "--calib-set-path".as_ref(),
        calib.as_os_str(),
        "-o".as_ref(),
        dir.join("q.har").as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "a.npy' is a FIFO (named pipe), not a regular file; only regular files are read"
        ),
        "{stderr}"
    );
    assert!(!dir.join("q.har").exists());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn an_oversized_resize_is_refused_before_optimizing() {
    let dir = scratch("resize");
    let har = tiny_har(&dir);
    let script = dir.join("s.alls");
    std::fs::write(&script, "resize(resize_shapes=[1000000, 1000000])\n").expect("script");
    let out = hailo(&[
        "optimize".as_ref(),
        har.as_os_str(),
        "--full-precision-only".as_ref(),
        "--model-script".as_ref(),
        script.as_os_str(),
        "-o".as_ref(),
        dir.join("fp.har").as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`resize_shapes` is too large: 1000000000000 elements, over the budget"),
        "{stderr}"
    );
    assert!(!dir.join("fp.har").exists());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn extracting_many_members_leaves_exactly_the_members() {
    let dir = scratch("extract");
    let har = dir.join("many.har");
    let members: Vec<(String, Vec<u8>)> = hailo_har::read_members(&tiny_har(&dir))
        .expect("members")
        .into_iter()
        .chain((0..3000).map(|i| (format!("extra/m{i}"), Vec::new())))
        .collect();
    hailo_har::write_members(&har, &members, false).expect("archive");
    let out_dir = dir.join("out");
    let out = hailo(&[
        "har".as_ref(),
        "extract".as_ref(),
        har.as_os_str(),
        "-o".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut top: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    let mut expected: Vec<String> = members
        .iter()
        .map(|(n, _)| n.split('/').next().unwrap_or_default().to_string())
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(top, expected, "no temporary left behind");
    assert_eq!(
        std::fs::read_dir(out_dir.join("extra"))
            .expect("extra")
            .count(),
        3000
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

fn shared_model(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/models")
        .join(name)
}

#[test]
fn a_flipped_tflite_byte_is_a_located_user_error() {
    let dir = scratch("tflite_flip");
    let mut bytes = std::fs::read(shared_model("digits_cnn.tflite")).expect("model");
    // One bit of the Pad's paddings: the batch axis gets padded, so the Pad's declared output
    // shape no longer fits (this used to say "internal error ... please report this").
    bytes[544] ^= 1;
    let model = dir.join("flipped.tflite");
    std::fs::write(&model, bytes).expect("write model");
    let har = dir.join("out.har");
    let out = hailo(&[
        "parser".as_ref(),
        "tf".as_ref(),
        model.as_os_str(),
        "--har-path".as_ref(),
        har.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: {}: the model is inconsistent; the converted network does not verify:\n  \
             \"digits_cnn_1/pad1_1/Pad\": 'hl.pad' op inferred type(s)",
            model.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert!(!har.exists());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn onnx_errors_name_the_file_and_the_node() {
    use hailo_onnx::builder::ModelBuilder;
    let dir = scratch("onnx_file");
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3])
        .node("Add", "empty_add", &[], &["s"], &[])
        .node("Add", "a", &["x", "s"], &["y"], &[])
        .output("y", &[1, 3]);
    let model = dir.join("bad.onnx");
    std::fs::write(&model, b.encode()).expect("write model");
    let out = hailo(&[
        "parser".as_ref(),
        "onnx".as_ref(),
        model.as_os_str(),
        "--har-path".as_ref(),
        dir.join("out.har").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: {}: node 'empty_add' (Add): Add needs 1 input(s), the node has 0\n",
            model.display()
        )
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn nms_config_paths_are_the_scripts_and_must_be_regular_files() {
    let dir = scratch("nms_paths");
    let har = tiny_har(&dir);
    let scripts = dir.join("scripts/net");
    std::fs::create_dir_all(&scripts).expect("script dir");
    let optimize = |script: &str| {
        let path = scripts.join("s.alls");
        std::fs::write(&path, script).expect("script");
        let _ = std::fs::remove_file(dir.join("fp.har"));
        let out = hailo(&[
            "optimize".as_ref(),
            har.as_os_str(),
            "--full-precision-only".as_ref(),
            "--model-script".as_ref(),
            path.as_os_str(),
            "-o".as_ref(),
            dir.join("fp.har").as_os_str(),
        ]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A model-zoo style path up and out of the script's directory is read from there: here
    // the file is not JSON, which the error shows came from that file.
    std::fs::create_dir_all(dir.join("postprocess_config")).expect("config dir");
    std::fs::write(dir.join("postprocess_config/net.json"), "not json").expect("config");
    let (code, stderr) = optimize(
        "nms_postprocess('../../postprocess_config/net.json', meta_arch=yolox, engine=cpu)\n",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("postprocess_config/net.json:1:2: invalid JSON"),
        "{stderr}"
    );
    // A FIFO is refused instead of blocking the run.
    let fifo = scripts.join("fifo.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let (code, stderr) = optimize("nms_postprocess('fifo.json', meta_arch=yolox, engine=cpu)\n");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("FIFO"), "{stderr}");
    assert!(!dir.join("fp.har").exists());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn the_element_budget_is_set_by_flag_or_environment() {
    use hailo_onnx::builder::ModelBuilder;
    let dir = scratch("budget");
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 64])
        .node("Relu", "r", &["x"], &["y"], &[])
        .output("y", &[1, 64]);
    let model = dir.join("small.onnx");
    std::fs::write(&model, b.encode()).expect("write model");
    let expected = format!(
        "error: {}: graph input 'x': shape [1, 64] has 64 elements, over the budget of 10 \
         elements per tensor; if the model really needs it, raise the budget with \
         HAILO_MAX_TENSOR_ELEMENTS=N\n",
        model.display()
    );
    let har = dir.join("out.har");
    let parse = [
        "parser".as_ref(),
        "onnx".as_ref(),
        model.as_os_str(),
        "--har-path".as_ref(),
        har.as_os_str(),
    ];
    let by_flag = Command::new(env!("CARGO_BIN_EXE_hailo"))
        .args(["--max-tensor-elements", "10"])
        .args(parse)
        .output()
        .expect("hailo runs");
    assert_eq!(String::from_utf8_lossy(&by_flag.stderr), expected);
    let by_env = Command::new(env!("CARGO_BIN_EXE_hailo"))
        .env("HAILO_MAX_TENSOR_ELEMENTS", "10")
        .args(parse)
        .output()
        .expect("hailo runs");
    assert_eq!(String::from_utf8_lossy(&by_env.stderr), expected);
    assert!(hailo(&parse).status.success(), "the default budget fits");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
