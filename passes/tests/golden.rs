//! Golden tests of the model-modification layers against references computed outside the
//! project by `gen_golden.py` (OpenCV, numpy): the pass tables (`hl-input-conversion`'s
//! kernels, `hl-resize`'s mode mapping) and the detection post-processes (NMS, CenterNet,
//! YOLOv5-seg) run through the interpreter kernels and must match.

use hailo_dialect_hl::ops::color::color_matrix;
use hailo_executor::kernels::color::{color_conversion, format_conversion, FormatConversion};
use hailo_executor::kernels::nms::{nms, nms_postprocess, MetaArch, NmsParams};
use hailo_executor::kernels::postprocess_yolov5_seg::{yolov5_seg_postprocess, SegParams};
use hailo_executor::kernels::resize::{
    resize, CoordinateMode, Interpolation, NearestMode, ResizeParams,
};
use hailo_passes::hl::resize::resize_attrs;
use ndarray::{Array4, ArrayView4};
use serde_json::Value;

fn golden(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

fn shape4(v: &Value) -> (usize, usize, usize, usize) {
    let s: Vec<usize> = v
        .as_array()
        .expect("shape")
        .iter()
        .map(|x| x.as_u64().expect("dim") as usize)
        .collect();
    (s[0], s[1], s[2], s[3])
}

fn convert(fmt: &str, color: &str, x: ArrayView4<f32>) -> Array4<f32> {
    let yuv = match fmt {
        "" => x.to_owned(),
        f => format_conversion(x, FormatConversion::from_name(f).expect("format"))
            .expect("format conversion"),
    };
    let m = color_matrix(color).expect("color conversion");
    let k: Vec<f32> = m.flat_kernel().iter().map(|&v| v as f32).collect();
    let k: [f32; 9] = k.try_into().expect("9 values");
    let b = m.bias.map(|v| v as f32);
    color_conversion(yuv.view(), &k, &b).expect("color conversion")
}

#[test]
fn color_conversions_within_one_lsb_of_opencv() {
    let g = golden("color.json");
    let cases = g["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 11);
    for c in cases {
        let (fmt, color) = (
            c["format"].as_str().unwrap_or(""),
            c["color"].as_str().unwrap_or(""),
        );
        let x = Array4::from_shape_vec(shape4(&c["shape"]), floats(&c["input"])).expect("input");
        let y = convert(fmt, color, x.view());
        let want = floats(&c["expected"]);
        assert_eq!(y.len(), want.len(), "{fmt} {color}");
        let worst = y
            .iter()
            .zip(&want)
            .map(|(a, b)| (a.round().clamp(0.0, 255.0) - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1.0, "{fmt}+{color}: max difference {worst} LSB");
    }
}

fn params(method: &str, pixels: &str, size: [usize; 2]) -> ResizeParams {
    let (mode, coord, nearest) = resize_attrs(method, pixels).expect("resize mode");
    let coordinate_mode = match coord {
        "align_corners" => CoordinateMode::AlignCorners,
        "half_pixel" => CoordinateMode::HalfPixel,
        "asymmetric" => CoordinateMode::Asymmetric,
        "tf_half_pixel_for_nn" => CoordinateMode::TfHalfPixelForNn,
        other => panic!("unexpected coordinate {other}"),
    };
    let interpolation = match (mode, nearest) {
        ("bilinear", _) => Interpolation::Bilinear,
        (_, Some("floor")) => Interpolation::Nearest(NearestMode::Floor),
        (_, Some("round_prefer_ceil")) => Interpolation::Nearest(NearestMode::RoundPreferCeil),
        other => panic!("unexpected mode {other:?}"),
    };
    ResizeParams {
        size,
        scales: None,
        coordinate_mode,
        interpolation,
    }
}

#[test]
fn resize_matches_reference_in_each_mode() {
    let g = golden("resize.json");
    let x = Array4::from_shape_vec(shape4(&g["shape"]), floats(&g["input"])).expect("input");
    let cases = g["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 9);
    for c in cases {
        let size: Vec<usize> = c["size"]
            .as_array()
            .expect("size")
            .iter()
            .map(|v| v.as_u64().expect("dim") as usize)
            .collect();
        let (method, pixels) = (
            c["method"].as_str().unwrap_or(""),
            c["pixels_mode"].as_str().unwrap_or(""),
        );
        let y = resize(x.view(), &params(method, pixels, [size[0], size[1]])).expect("resize");
        let want = floats(&c["expected"]);
        assert_eq!(y.len(), want.len());
        let worst = y
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst < 1e-4,
            "{method}/{pixels} {size:?}: max error {worst}"
        );
    }
}

#[test]
fn nms_matches_opencv_on_synthetic_boxes() {
    let g = golden("nms.json");
    let flat = floats(&g["boxes"]);
    let boxes: Vec<[f32; 4]> = flat.chunks(4).map(|b| [b[0], b[1], b[2], b[3]]).collect();
    let scores = floats(&g["scores"]);
    assert_eq!(boxes.len(), 300);
    for c in g["cases"].as_array().expect("cases") {
        let th = c["iou_threshold"].as_f64().expect("threshold") as f32;
        let want: Vec<usize> = c["keep"]
            .as_array()
            .expect("keep")
            .iter()
            .map(|v| v.as_u64().expect("index") as usize)
            .collect();
        assert!(want.len() > 10 && want.len() < 300, "degenerate case {th}");
        assert_eq!(nms(&boxes, &scores, th), want, "iou threshold {th}");
    }
}

fn max_diff(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().expect("count") as usize
}

fn box_params(arch: MetaArch, g: &Value, classes: usize, strides: Vec<usize>) -> NmsParams {
    let image = usize_of(&g["image"]);
    NmsParams {
        arch,
        classes,
        max_proposals_per_class: 100,
        score_threshold: g["score_th"].as_f64().expect("threshold") as f32,
        iou_threshold: g["iou_th"].as_f64().unwrap_or(1.0) as f32,
        image_dims: [image, image],
        strides,
        anchors: Vec::new(),
        regression_length: 16,
        centers_scale_factor: 10.0,
        bbox_dimensions_scale_factor: 5.0,
        background: None,
        sigmoid_applied: vec![],
    }
}

#[test]
fn centernet_peaks_match_numpy() {
    let g = golden("centernet.json");
    let (n, h, w, c) = shape4(&g["shape"]);
    let heat = Array4::from_shape_vec((n, h, w, c), floats(&g["heatmap"])).expect("heatmap");
    let size = Array4::from_shape_vec((n, h, w, 2), floats(&g["size"])).expect("size");
    let offset = Array4::from_shape_vec((n, h, w, 2), floats(&g["offset"])).expect("offset");
    let mut p = box_params(MetaArch::CenterNet, &g, c, vec![usize_of(&g["stride"])]);
    p.max_proposals_per_class = usize_of(&g["max_proposals"]);
    let out = nms_postprocess(&[heat.view(), size.view(), offset.view()], &p).expect("decodes");
    let want = floats(&g["expected"]);
    let found = want.chunks(p.max_proposals_per_class).skip(4).step_by(5);
    assert!(found.flatten().filter(|&&s| s > 0.0).count() > 3);
    let worst = max_diff(out.as_slice().expect("standard layout"), &want);
    assert!(worst < 1e-6, "max difference {worst}");
}

#[test]
fn yolov5_seg_instances_and_masks_match_numpy_and_opencv() {
    let g = golden("yolov5_seg.json");
    let tensor = |v: &Value| {
        Array4::from_shape_vec(shape4(&v["shape"]), floats(&v["data"])).expect("tensor")
    };
    let heads: Vec<Array4<f32>> = g["heads"]
        .as_array()
        .expect("heads")
        .iter()
        .map(tensor)
        .collect();
    let proto = tensor(&g["proto"]);
    let strides = g["strides"]
        .as_array()
        .expect("strides")
        .iter()
        .map(usize_of)
        .collect();
    let mut boxes = box_params(MetaArch::Yolov5, &g, usize_of(&g["classes"]), strides);
    boxes.anchors = g["anchors"]
        .as_array()
        .expect("anchors")
        .iter()
        .map(|a| floats(a).chunks(2).map(|wh| [wh[1], wh[0]]).collect())
        .collect();
    let p = SegParams {
        boxes,
        max_total_proposals: usize_of(&g["max_total_proposals"]),
        mask_threshold: 0.5,
    };
    let views: Vec<_> = heads.iter().map(|h| h.view()).collect();
    let out = yolov5_seg_postprocess(&views, proto.view(), &p).expect("runs");
    let want = floats(&g["expected"]);
    let row = out.dim().3;
    assert_eq!(out.dim(), (1, 1, p.max_total_proposals, 6 + 32 * 32));
    let got = out.as_slice().expect("standard layout");
    let mut with_mask = 0;
    for (k, (a, b)) in got.chunks(row).zip(want.chunks(row)).enumerate() {
        let worst = max_diff(&a[..6], &b[..6]);
        assert!(
            worst < 1e-5,
            "instance {k}: box/score/class differ by {worst}"
        );
        let masks_differ = a[6..].iter().zip(&b[6..]).filter(|(x, y)| x != y).count();
        assert_eq!(masks_differ, 0, "instance {k}: mask pixels differ");
        with_mask += usize::from(b[6..].contains(&1.0));
    }
    assert!(
        with_mask >= 4,
        "only {with_mask} instances have mask pixels"
    );
}
