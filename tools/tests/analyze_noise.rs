//! `hailo analyze-noise` on the shared digits CNN: the exact table (single-layer output SNR
//! and partial SNR, 4 test samples), the same numbers as JSON, the result saved in the HAR and
//! shown by `hailo har info`, and a clear error on a HAR that is not quantized.

mod common;

use common::{digits_har, hailo, scratch, MODELS};

const TABLE: &str = "\
layer noise analysis on 4 sample(s): output SNR with only the layer quantized, SNR at the layer's output with all quantized
layer             SNR dB  partial dB
input_layer1       48.86       52.41
conv1              33.91       35.78
conv2              44.18       34.47
conv3              49.33       32.41
avgpool1           53.45       38.26
fc1                43.07       31.40
output_layer1      44.23       31.40
";

#[test]
fn analyze_noise_prints_stores_and_shows_the_table() {
    let dir = scratch("analyze-noise");
    digits_har(&dir);
    let calib = format!("{MODELS}/digits_calib.npz");
    let test = format!("{MODELS}/digits_test.npz");
    let (ok, _, err) = hailo(
        &[
            "--quiet",
            "optimize",
            "digits.har",
            "--calib-set-path",
            &calib,
            "-o",
            "q.har",
        ],
        &dir,
    );
    assert!(ok, "{err}");
    let args = [
        "--quiet",
        "analyze-noise",
        "q.har",
        "--data-path",
        &test,
        "--input-key",
        "x_nhwc",
        "--data-count",
        "4",
    ];
    let (ok, out, err) = hailo(&args, &dir);
    assert!(ok, "{err}");
    assert_eq!(out, TABLE);

    let (ok, info, err) = hailo(&["har", "info", "q.har"], &dir);
    assert!(ok, "{err}");
    assert!(info.ends_with(TABLE), "{info}");

    let (ok, json, err) = hailo(&[&args[..], &["--json"]].concat(), &dir);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["samples"], 4);
    let conv1 = &v["layers"][1];
    assert_eq!(conv1["layer"], "conv1");
    let snr = conv1["snr_db"].as_f64().expect("number");
    assert_eq!(format!("{snr:.2}"), "33.91");

    let (ok, _, err) = hailo(
        &[
            "analyze-noise",
            "digits.har",
            "--data-path",
            &test,
            "--input-key",
            "x_nhwc",
        ],
        &dir,
    );
    assert!(!ok);
    assert_eq!(
        err,
        "error: digits.har: the model is hailo_model, not quantized; run `hailo optimize` first\n"
    );
}
