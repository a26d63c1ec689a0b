//! Detection post-process of `hl.nms`: box decoding for each meta-architecture, score threshold,
//! and greedy per-class IoU suppression (the semantics of `torchvision.ops.nms`: boxes in
//! descending score order, a box is dropped when its IoU with a kept box exceeds the threshold).
//!
//! CenterNet's decoding lives in [`super::postprocess_centernet`] (peaks instead of IoU
//! suppression); YOLOv5-seg, whose output differs, in [`super::postprocess_yolov5_seg`].
//!
//! Boxes are `[y_min, x_min, y_max, x_max]` normalized to [0, 1] by the image size and clipped.

use super::error::{ensure, KernelError};
use ndarray::{Array3, Array4, ArrayView4};

const OP: &str = "nms";

/// Box decoding family (see `docs/hl-dialect.md`, `hl.nms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaArch {
    /// One encoded head `[N, H, W, A·(5 + classes)]` of raw logits; anchors `(h, w)` in pixels.
    Yolov5,
    /// `reg [N, H, W, 4]` raw `(tx, ty, tw, th)`, objectness and class scores.
    Yolox,
    /// `reg [N, H, W, 4]` distances `(l, t, r, b)` in grid cells, class scores.
    Yolov6,
    /// `reg [N, H, W, 4·bins]` distribution focal loss bins per side `(l, t, r, b)`, class scores
    /// (YOLOv8 and DAMO-YOLO).
    Dfl,
    /// `reg [N, H, W, A·4]` `(ty, tx, th, tw)`, class scores `[N, H, W, A·classes]`;
    /// anchors `(h, w)` normalized.
    Ssd,
    /// Class heatmap `[N, H, W, classes]`, box size `[N, H, W, 2]` `(w, h)` and center offset
    /// `[N, H, W, 2]` `(x, y)` in grid cells; peaks of the heatmap are the detections, without
    /// IoU suppression (see [`super::postprocess_centernet`]).
    CenterNet,
}

impl MetaArch {
    /// Operands per head.
    pub fn operands_per_head(self) -> usize {
        match self {
            MetaArch::Yolov5 => 1,
            MetaArch::Yolox | MetaArch::CenterNet => 3,
            _ => 2,
        }
    }
}

/// Everything `hl.nms` needs besides its inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct NmsParams {
    pub arch: MetaArch,
    pub classes: usize,
    pub max_proposals_per_class: usize,
    pub score_threshold: f32,
    pub iou_threshold: f32,
    /// Image `[height, width]` in pixels.
    pub image_dims: [usize; 2],
    /// Stride of each head (unused by SSD).
    pub strides: Vec<usize>,
    /// `(h, w)` of each anchor, per head (YOLOv5 in pixels, SSD normalized).
    pub anchors: Vec<Vec<[f32; 2]>>,
    /// DFL bins per side.
    pub regression_length: usize,
    /// SSD box coder scales (10 and 5 in the TF object detection API).
    pub centers_scale_factor: f32,
    pub bbox_dimensions_scale_factor: f32,
    /// Class dropped from the output (SSD background).
    pub background: Option<usize>,
    /// Head operands (indices) whose values are sigmoid outputs already: YOLOv5's decoding
    /// does not apply its sigmoid to them again.
    pub sigmoid_applied: Vec<usize>,
}

/// Every decoded box of one image with its class scores (`scores[box * classes + class]`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decoded {
    pub boxes: Vec<[f32; 4]>,
    pub scores: Vec<f32>,
}

pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Decoded {
    pub(crate) fn push(&mut self, center: [f32; 2], size: [f32; 2]) {
        let [cy, cx] = center;
        let [h, w] = size;
        self.push_corners([cy - h / 2.0, cx - w / 2.0, cy + h / 2.0, cx + w / 2.0]);
    }

    pub(crate) fn push_corners(&mut self, corners: [f32; 4]) {
        self.boxes.push(corners.map(|v| v.clamp(0.0, 1.0)));
    }
}

/// Checks the heads against the parameters; returns the batch size.
fn check_heads(heads: &[ArrayView4<f32>], p: &NmsParams) -> Result<usize, KernelError> {
    let per = p.arch.operands_per_head();
    ensure!(
        !heads.is_empty() && heads.len().is_multiple_of(per),
        OP,
        "{:?} takes {per} input(s) per head, got {}",
        p.arch,
        heads.len()
    );
    let n_heads = heads.len() / per;
    ensure!(
        p.arch == MetaArch::Ssd || p.strides.len() == n_heads,
        OP,
        "{} stride(s) for {n_heads} head(s)",
        p.strides.len()
    );
    ensure!(
        !matches!(p.arch, MetaArch::Yolov5 | MetaArch::Ssd) || p.anchors.len() == n_heads,
        OP,
        "{} anchor set(s) for {n_heads} head(s)",
        p.anchors.len()
    );
    let batch = heads[0].dim().0;
    for (i, h) in heads.iter().enumerate() {
        let (n, hh, ww, _) = h.dim();
        let first = heads[i - i % per].dim();
        ensure!(
            n == batch && hh == first.1 && ww == first.2,
            OP,
            "input #{i} has shape {:?}; inputs of a head share N, H and W ({:?})",
            h.dim(),
            first
        );
    }
    Ok(batch)
}

fn expect_channels(h: &ArrayView4<f32>, want: usize, what: &str) -> Result<(), KernelError> {
    ensure!(
        h.dim().3 == want,
        OP,
        "{what} must have {want} channels, got {}",
        h.dim().3
    );
    Ok(())
}

/// Decodes every box of image `b`.
pub fn decode_boxes(
    heads: &[ArrayView4<f32>],
    p: &NmsParams,
    b: usize,
) -> Result<Decoded, KernelError> {
    check_heads(heads, p)?;
    let per = p.arch.operands_per_head();
    let c = p.classes;
    let [img_h, img_w] = p.image_dims.map(|d| d as f32);
    let mut out = Decoded::default();
    for (k, group) in heads.chunks(per).enumerate() {
        let (_, gh, gw, _) = group[0].dim();
        let stride = p.strides.get(k).copied().unwrap_or(1) as f32;
        match p.arch {
            MetaArch::Yolov5 => {
                expect_channels(&group[0], p.anchors[k].len() * (5 + c), "yolov5 head")?;
                decode_yolov5_head(&group[0], b, k, p, 0, &mut out);
            }
            MetaArch::Yolox => {
                expect_channels(&group[0], 4, "yolox reg")?;
                expect_channels(&group[1], 1, "yolox objectness")?;
                expect_channels(&group[2], c, "yolox cls")?;
                for i in 0..gh {
                    for j in 0..gw {
                        let r = |ch: usize| group[0][[b, i, j, ch]];
                        let cx = (r(0) + j as f32) * stride / img_w;
                        let cy = (r(1) + i as f32) * stride / img_h;
                        let w = r(2).exp() * stride / img_w;
                        let h = r(3).exp() * stride / img_h;
                        out.push([cy, cx], [h, w]);
                        let obj = group[1][[b, i, j, 0]];
                        out.scores
                            .extend((0..c).map(|cl| obj * group[2][[b, i, j, cl]]));
                    }
                }
            }
            MetaArch::Yolov6 | MetaArch::Dfl => {
                let bins = if p.arch == MetaArch::Dfl {
                    p.regression_length
                } else {
                    1
                };
                expect_channels(&group[0], 4 * bins, "reg")?;
                expect_channels(&group[1], c, "cls")?;
                for i in 0..gh {
                    for j in 0..gw {
                        let side = |s: usize| -> f32 {
                            let ch = |bin: usize| group[0][[b, i, j, s * bins + bin]];
                            if bins == 1 {
                                return ch(0);
                            }
                            let max = (0..bins).map(ch).fold(f32::NEG_INFINITY, f32::max);
                            let (num, den) = (0..bins).fold((0.0, 0.0), |(n, d), bin| {
                                let e = (ch(bin) - max).exp();
                                (n + e * bin as f32, d + e)
                            });
                            num / den
                        };
                        let (ax, ay) = (j as f32 + 0.5, i as f32 + 0.5);
                        out.push_corners([
                            (ay - side(1)) * stride / img_h,
                            (ax - side(0)) * stride / img_w,
                            (ay + side(3)) * stride / img_h,
                            (ax + side(2)) * stride / img_w,
                        ]);
                        out.scores.extend((0..c).map(|cl| group[1][[b, i, j, cl]]));
                    }
                }
            }
            MetaArch::CenterNet => {
                super::postprocess_centernet::decode(group, b, stride, p, &mut out)?
            }
            MetaArch::Ssd => {
                let anchors = &p.anchors[k];
                expect_channels(&group[0], 4 * anchors.len(), "ssd reg")?;
                expect_channels(&group[1], c * anchors.len(), "ssd cls")?;
                for i in 0..gh {
                    for j in 0..gw {
                        let (acy, acx) =
                            ((i as f32 + 0.5) / gh as f32, (j as f32 + 0.5) / gw as f32);
                        for (a, &[ah, aw]) in anchors.iter().enumerate() {
                            let r = |ch: usize| group[0][[b, i, j, a * 4 + ch]];
                            let cy = r(0) / p.centers_scale_factor * ah + acy;
                            let cx = r(1) / p.centers_scale_factor * aw + acx;
                            let h = (r(2) / p.bbox_dimensions_scale_factor).exp() * ah;
                            let w = (r(3) / p.bbox_dimensions_scale_factor).exp() * aw;
                            out.push([cy, cx], [h, w]);
                            out.scores
                                .extend((0..c).map(|cl| group[1][[b, i, j, a * c + cl]]));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Decodes YOLOv5 head `head` (operand and head `k`) of image `b` (anchors `(h, w)` in pixels):
/// per cell and anchor, `5 + classes + extra` channels `x, y, w, h, objectness, classes…,
/// extra…` of raw logits, or of their sigmoids when `k` is in `p.sigmoid_applied`. Appends the
/// boxes and `objectness · class` scores; the caller checked the channel count.
pub(crate) fn decode_yolov5_head(
    head: &ArrayView4<f32>,
    b: usize,
    k: usize,
    p: &NmsParams,
    extra: usize,
    out: &mut Decoded,
) {
    let (_, gh, gw, _) = head.dim();
    let (anchors, stride) = (&p.anchors[k], p.strides[k] as f32);
    let activate: fn(f32) -> f32 = if p.sigmoid_applied.contains(&k) {
        |x| x
    } else {
        sigmoid
    };
    let c = p.classes;
    let per = 5 + c + extra;
    let [img_h, img_w] = p.image_dims.map(|d| d as f32);
    for i in 0..gh {
        for j in 0..gw {
            for (a, &[ah, aw]) in anchors.iter().enumerate() {
                let v = |ch: usize| activate(head[[b, i, j, a * per + ch]]);
                let cx = (2.0 * v(0) - 0.5 + j as f32) * stride / img_w;
                let cy = (2.0 * v(1) - 0.5 + i as f32) * stride / img_h;
                let w = (2.0 * v(2)).powi(2) * aw / img_w;
                let h = (2.0 * v(3)).powi(2) * ah / img_h;
                out.push([cy, cx], [h, w]);
                let obj = v(4);
                out.scores.extend((0..c).map(|cl| obj * v(5 + cl)));
            }
        }
    }
}

/// Intersection over union of two `[y_min, x_min, y_max, x_max]` boxes (0 when both are empty).
pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let ih = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iw = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ih * iw;
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Greedy NMS: indices of the kept boxes in descending score order (ties by index). A box is
/// dropped when its IoU with an already kept box is greater than `iou_threshold`.
pub fn nms(boxes: &[[f32; 4]], scores: &[f32], iou_threshold: f32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..boxes.len().min(scores.len())).collect();
    order.sort_by(|&x, &y| scores[y].total_cmp(&scores[x]).then(x.cmp(&y)));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if kept
            .iter()
            .all(|&k| iou(&boxes[k], &boxes[i]) <= iou_threshold)
        {
            kept.push(i);
        }
    }
    kept
}

/// The output classes: every class but the background.
fn output_classes(p: &NmsParams) -> Vec<usize> {
    (0..p.classes)
        .filter(|&c| Some(c) != p.background)
        .collect()
}

/// Full post-process: `[N, classes, 5, max_proposals_per_class]`, rows
/// `[y_min, x_min, y_max, x_max, score]` per proposal, best first, zero padded.
pub fn nms_postprocess(
    heads: &[ArrayView4<f32>],
    p: &NmsParams,
) -> Result<Array4<f32>, KernelError> {
    let batch = check_heads(heads, p)?;
    let classes = output_classes(p);
    let mut out = Array4::zeros((batch, classes.len(), 5, p.max_proposals_per_class));
    for b in 0..batch {
        let d = decode_boxes(heads, p, b)?;
        for (oc, &cl) in classes.iter().enumerate() {
            let kept = class_detections(&d, p, cl);
            for (slot, &(k, score)) in kept.iter().take(p.max_proposals_per_class).enumerate() {
                for (row, v) in d.boxes[k].iter().chain([&score]).enumerate() {
                    out[[b, oc, row, slot]] = *v;
                }
            }
        }
    }
    Ok(out)
}

/// The detections of class `cl`: `(box index, score)` of the boxes scoring at least the
/// threshold, best first, after IoU suppression (none for CenterNet, whose peaks are the
/// detections).
pub(crate) fn class_detections(d: &Decoded, p: &NmsParams, cl: usize) -> Vec<(usize, f32)> {
    let (idx, scores): (Vec<usize>, Vec<f32>) = (0..d.boxes.len())
        .map(|i| (i, d.scores[i * p.classes + cl]))
        .filter(|&(_, s)| s >= p.score_threshold)
        .unzip();
    let kept = if p.arch == MetaArch::CenterNet {
        let mut order: Vec<usize> = (0..idx.len()).collect();
        order.sort_by(|&x, &y| scores[y].total_cmp(&scores[x]).then(x.cmp(&y)));
        order
    } else {
        let boxes: Vec<[f32; 4]> = idx.iter().map(|&i| d.boxes[i]).collect();
        nms(&boxes, &scores, p.iou_threshold)
    };
    kept.into_iter().map(|k| (idx[k], scores[k])).collect()
}

/// `bbox_decoding_only`: `[N, boxes, 4 + classes]`, every decoded box and its class scores.
pub fn bbox_decoding(heads: &[ArrayView4<f32>], p: &NmsParams) -> Result<Array3<f32>, KernelError> {
    let batch = check_heads(heads, p)?;
    let classes = output_classes(p);
    let mut decoded = Vec::with_capacity(batch);
    for b in 0..batch {
        decoded.push(decode_boxes(heads, p, b)?);
    }
    let n_boxes = decoded.first().map_or(0, |d| d.boxes.len());
    Ok(Array3::from_shape_fn(
        (batch, n_boxes, 4 + classes.len()),
        |(b, i, k)| match k {
            0..=3 => decoded[b].boxes[i][k],
            _ => decoded[b].scores[i * p.classes + classes[k - 4]],
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    fn params(arch: MetaArch) -> NmsParams {
        NmsParams {
            arch,
            classes: 2,
            max_proposals_per_class: 3,
            score_threshold: 0.3,
            iou_threshold: 0.5,
            image_dims: [8, 8],
            strides: vec![4],
            anchors: vec![],
            regression_length: 4,
            centers_scale_factor: 10.0,
            bbox_dimensions_scale_factor: 5.0,
            background: None,
            sigmoid_applied: vec![],
        }
    }

    #[test]
    fn iou_of_known_boxes() {
        let a = [0.0, 0.0, 2.0, 2.0];
        assert_eq!(iou(&a, &[1.0, 1.0, 3.0, 3.0]), 1.0 / 7.0);
        assert_eq!(iou(&a, &a), 1.0);
        assert_eq!(iou(&a, &[5.0, 5.0, 6.0, 6.0]), 0.0);
        assert_eq!(iou(&[0.0; 4], &[0.0; 4]), 0.0);
    }

    #[test]
    fn nms_keeps_best_and_drops_overlaps_above_threshold() {
        let boxes = [
            [0.0, 0.0, 1.0, 1.0],
            [0.0, 0.0, 1.0, 0.9], // IoU 0.9 with #0
            [0.0, 0.5, 1.0, 1.5], // IoU 1/3 with #0
            [2.0, 2.0, 3.0, 3.0],
        ];
        assert_eq!(nms(&boxes, &[0.9, 0.95, 0.8, 0.1], 0.5), vec![1, 2, 3]);
        assert_eq!(nms(&boxes, &[0.9, 0.95, 0.8, 0.1], 0.95), vec![1, 0, 2, 3]);
    }

    #[test]
    fn yolov6_decodes_distances_around_cell_centers() {
        // 1×1 grid, stride 4 → anchor point (2, 2) px; l,t,r,b = 0.5,0.25,0.5,0.25 cells.
        let reg = Array4::from_shape_vec((1, 1, 1, 4), vec![0.5, 0.25, 0.5, 0.25]).unwrap();
        let cls = Array4::from_shape_vec((1, 1, 1, 2), vec![0.2, 0.7]).unwrap();
        let p = params(MetaArch::Yolov6);
        let d = decode_boxes(&[reg.view(), cls.view()], &p, 0).unwrap();
        assert_eq!(d.boxes, vec![[0.125, 0.0, 0.375, 0.5]]);
        let out = nms_postprocess(&[reg.view(), cls.view()], &p).unwrap();
        assert_eq!(out.dim(), (1, 2, 5, 3));
        // Class 0 is below the threshold, class 1 keeps its box.
        assert!(out
            .slice(ndarray::s![0, 0, .., ..])
            .iter()
            .all(|&v| v == 0.0));
        let col: Vec<f32> = (0..5).map(|r| out[[0, 1, r, 0]]).collect();
        assert_eq!(col, vec![0.125, 0.0, 0.375, 0.5, 0.7]);
    }

    #[test]
    fn dfl_expectation_and_yolov5_logits() {
        // DFL: bins logits making a one-hot at bin 2 → distance 2 cells on each side.
        let mut reg = vec![-1e4f32; 16];
        for s in 0..4 {
            reg[s * 4 + 2] = 0.0;
        }
        let reg = Array4::from_shape_vec((1, 1, 1, 16), reg).unwrap();
        let cls = Array4::from_shape_vec((1, 1, 1, 2), vec![0.9, 0.1]).unwrap();
        let d = decode_boxes(&[reg.view(), cls.view()], &params(MetaArch::Dfl), 0).unwrap();
        assert_eq!(d.boxes, vec![[0.0, 0.0, 1.0, 1.0]]);
        // YOLOv5: zero logits → σ = 0.5: center = (0.5 + j)·s, size = anchor, score 0.25.
        let mut p = params(MetaArch::Yolov5);
        p.anchors = vec![vec![[2.0, 4.0]]];
        let enc = Array4::<f32>::zeros((1, 1, 1, 7));
        let d = decode_boxes(&[enc.view()], &p, 0).unwrap();
        assert_eq!(d.boxes, vec![[0.125, 0.0, 0.375, 0.5]]);
        assert_eq!(d.scores, vec![0.25, 0.25]);
        // The same head with its sigmoid applied already (every channel 0.5) decodes the same.
        p.sigmoid_applied = vec![0];
        let activated = Array4::<f32>::from_elem((1, 1, 1, 7), 0.5);
        assert_eq!(decode_boxes(&[activated.view()], &p, 0).unwrap(), d);
    }

    #[test]
    fn ssd_background_removed_and_shapes_checked() {
        let mut p = params(MetaArch::Ssd);
        p.anchors = vec![vec![[0.5, 0.5]]];
        p.background = Some(0);
        let reg = Array4::<f32>::zeros((1, 1, 1, 4));
        let cls = Array4::from_shape_vec((1, 1, 1, 2), vec![0.99, 0.6]).unwrap();
        let out = nms_postprocess(&[reg.view(), cls.view()], &p).unwrap();
        assert_eq!(out.dim(), (1, 1, 5, 3));
        let col: Vec<f32> = (0..5).map(|r| out[[0, 0, r, 0]]).collect();
        assert_eq!(col, vec![0.25, 0.25, 0.75, 0.75, 0.6]);
        let dec = bbox_decoding(&[reg.view(), cls.view()], &p).unwrap();
        assert_eq!(dec.as_slice().unwrap(), &[0.25, 0.25, 0.75, 0.75, 0.6]);
        let bad = Array4::<f32>::zeros((1, 1, 1, 3));
        let e = nms_postprocess(&[bad.view(), cls.view()], &p).unwrap_err();
        assert_eq!(e.to_string(), "nms: ssd reg must have 4 channels, got 3");
    }
}
