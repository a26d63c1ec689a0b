//! `hailo optimize` as a new user meets it: a calibration set smaller than calibset_size is
//! used whole with one warning, and the data layout flag has the same name as on `hailo infer`
//! (`--input-layout`; the old `--calib-layout` still works).

mod common;

use common::{digits_har, hailo, scratch, MODELS};
use ndarray::{Axis, Slice};
use std::path::Path;

/// The first 32 samples of the shared digits calibration set, NCHW, as `dir/calib32.npz`.
fn calib32_nchw(dir: &Path) -> String {
    let x = hailo_npz::read_npz(format!("{MODELS}/digits_calib.npz"))
        .expect("digits_calib.npz reads")
        .into_iter()
        .find(|(k, _)| k.trim_end_matches(".npy") == "x_nchw")
        .expect("x_nchw present")
        .1
        .to_f32();
    let x = x.slice_axis(Axis(0), Slice::from(0..32)).to_owned();
    let path = dir.join("calib32.npz");
    hailo_npz::write_npz(&path, &[("images", hailo_npz::NpyArray::F32(x))]).expect("npz written");
    path.display().to_string()
}

fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect()
}

#[test]
fn thirty_two_calibration_samples_and_no_script_give_one_warning() {
    let dir = scratch("optimize-32");
    digits_har(&dir);
    let calib = calib32_nchw(&dir);
    let (ok, _, err) = hailo(
        &[
            "optimize",
            "digits.har",
            "--calib-set-path",
            &calib,
            "--input-layout",
            "nchw",
            "-o",
            "digits_q.har",
        ],
        &dir,
    );
    assert!(ok, "{err}");
    assert_eq!(
        warnings(&err),
        [
            "warning: the calibration set has 32 samples, fewer than calibset_size (64): \
          calibrating on all 32; the DFC guide recommends at least 1024 calibration samples \
          (optimization levels 2 and 4 require 1024, level 3 requires 256)"
        ],
        "{err}"
    );
    let (ok, info, err) = hailo(&["har", "info", "digits_q.har"], &dir);
    assert!(ok, "{err}");
    assert!(
        info.contains("quantization: calibset_size 32 (batch 8)"),
        "{info}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn the_layout_flag_is_input_layout_with_calib_layout_as_alias() {
    let dir = scratch("optimize-layout");
    digits_har(&dir);
    let calib = calib32_nchw(&dir);
    let optimize = |extra: &[&str]| {
        let mut args = vec![
            "--quiet",
            "optimize",
            "digits.har",
            "--calib-set-path",
            &calib,
        ];
        args.extend_from_slice(extra);
        hailo(&args, &dir)
    };
    for flag in ["--input-layout", "--calib-layout"] {
        let (ok, _, err) = optimize(&[flag, "nchw", "-o", "q.har"]);
        assert!(ok, "{flag}: {err}");
    }
    // Without the flag the NCHW data does not fit, and the error names the one flag.
    let (ok, _, err) = optimize(&["-o", "bad.har"]);
    assert!(!ok);
    assert!(
        err.contains("0 array(s) of a fitting shape")
            && err.contains("(or pass --input-layout nchw for NCHW data)"),
        "{err}"
    );
    let (ok, help, _) = hailo(&["optimize", "--help"], &dir);
    assert!(
        ok && help.contains("--input-layout") && !help.contains("--calib-layout"),
        "{help}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
