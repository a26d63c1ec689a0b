//! YOLOv5-seg post-process (guide §5.1.5 "YOLOv5 SEG: bbox decoding, score threshold
//! filtering, IoU filtering, segmentation mask per instance"). Each head is a YOLOv5 head whose
//! anchors carry `m` mask coefficients after the class logits
//! (`x, y, w, h, objectness, classes…, coefficients…`); `proto` `[N, Hp, Wp, m]` holds the
//! prototype masks. Boxes are decoded and suppressed per class as YOLOv5's, then all classes'
//! detections are ranked by score and the best `max_total_proposals` kept. An instance's mask is
//! `sigmoid(coefficients · proto)`, resized bilinearly (half pixel) to the image, zeroed
//! outside its box (pixel rows `y_min·H ≤ y < y_max·H`, columns likewise) and binarized at
//! `mask_threshold`.
//!
//! Output (the guide's): `[N, 1, max_total_proposals, 6 + H·W]`, rows
//! `[y_min, x_min, y_max, x_max, score, class, mask…]` (class 0-based, mask row-major),
//! best first, zero padded.

use super::error::{ensure, KernelError};
use super::nms::{class_detections, decode_yolov5_head, sigmoid, Decoded, MetaArch, NmsParams};
use super::resize::{resize, CoordinateMode, Interpolation, ResizeParams};
use ndarray::{Array4, ArrayView4};

const OP: &str = "yolov5_seg";

/// `NmsParams` for the boxes (YOLOv5 arch, anchors, strides, thresholds, image size) and the
/// instance limits.
#[derive(Debug, Clone, PartialEq)]
pub struct SegParams {
    pub boxes: NmsParams,
    pub max_total_proposals: usize,
    pub mask_threshold: f32,
}

/// One kept instance: its decoded box index, class and score.
struct Instance {
    index: usize,
    class: usize,
    score: f32,
}

/// Boxes, scores and mask coefficients of every anchor of image `b`.
fn decode(
    heads: &[ArrayView4<f32>],
    b: usize,
    p: &NmsParams,
    coeffs: usize,
) -> Result<(Decoded, Vec<f32>), KernelError> {
    let per = 5 + p.classes + coeffs;
    let mut d = Decoded::default();
    let mut mask_coeffs = Vec::new();
    for (k, head) in heads.iter().enumerate() {
        let anchors = &p.anchors[k];
        ensure!(
            head.dim().3 == anchors.len() * per,
            OP,
            "head #{k} must have {} channels ({} anchors × (5 + {} classes + {coeffs} mask coefficients)), got {}",
            anchors.len() * per,
            anchors.len(),
            p.classes,
            head.dim().3
        );
        decode_yolov5_head(head, b, k, p, coeffs, &mut d);
        let (_, gh, gw, _) = head.dim();
        for i in 0..gh {
            for j in 0..gw {
                for a in 0..anchors.len() {
                    let base = a * per + 5 + p.classes;
                    mask_coeffs.extend((0..coeffs).map(|m| head[[b, i, j, base + m]]));
                }
            }
        }
    }
    Ok((d, mask_coeffs))
}

/// The per-class detections of all classes, best first (ties: class, then box order).
fn rank(d: &Decoded, p: &SegParams) -> Vec<Instance> {
    let mut all: Vec<Instance> = (0..p.boxes.classes)
        .flat_map(|class| {
            class_detections(d, &p.boxes, class)
                .into_iter()
                .map(move |(index, score)| Instance {
                    index,
                    class,
                    score,
                })
        })
        .collect();
    all.sort_by(|x, y| y.score.total_cmp(&x.score));
    all.truncate(p.max_total_proposals);
    all
}

/// The post-process of `heads` (one encoded tensor per stride) and `proto`.
pub fn yolov5_seg_postprocess(
    heads: &[ArrayView4<f32>],
    proto: ArrayView4<f32>,
    p: &SegParams,
) -> Result<Array4<f32>, KernelError> {
    let nb = &p.boxes;
    ensure!(
        nb.arch == MetaArch::Yolov5,
        OP,
        "boxes are decoded as yolov5, got {:?}",
        nb.arch
    );
    ensure!(
        !heads.is_empty() && nb.strides.len() == heads.len() && nb.anchors.len() == heads.len(),
        OP,
        "{} head(s), {} stride(s) and {} anchor set(s) must agree",
        heads.len(),
        nb.strides.len(),
        nb.anchors.len()
    );
    let (batch, ph, pw, coeffs) = proto.dim();
    ensure!(
        heads.iter().all(|h| h.dim().0 == batch),
        OP,
        "heads and proto must have the same batch size ({batch})"
    );
    let [img_h, img_w] = nb.image_dims;
    let mut out = Array4::zeros((batch, 1, p.max_total_proposals, 6 + img_h * img_w));
    for b in 0..batch {
        let (d, mask_coeffs) = decode(heads, b, nb, coeffs)?;
        let kept = rank(&d, p);
        // Each instance's mask at proto resolution, one channel per instance.
        let mut low = Array4::<f32>::zeros((1, ph, pw, kept.len()));
        for (n, inst) in kept.iter().enumerate() {
            let c = &mask_coeffs[inst.index * coeffs..(inst.index + 1) * coeffs];
            for y in 0..ph {
                for x in 0..pw {
                    let dot: f32 = (0..coeffs).map(|m| c[m] * proto[[b, y, x, m]]).sum();
                    low[[0, y, x, n]] = sigmoid(dot);
                }
            }
        }
        let masks = resize(
            low.view(),
            &ResizeParams {
                size: [img_h, img_w],
                scales: None,
                coordinate_mode: CoordinateMode::HalfPixel,
                interpolation: Interpolation::Bilinear,
            },
        )?;
        for (n, inst) in kept.iter().enumerate() {
            let bx = d.boxes[inst.index];
            let header = [bx[0], bx[1], bx[2], bx[3], inst.score, inst.class as f32];
            for (k, v) in header.into_iter().enumerate() {
                out[[b, 0, n, k]] = v;
            }
            let (y0, y1) = (bx[0] * img_h as f32, bx[2] * img_h as f32);
            let (x0, x1) = (bx[1] * img_w as f32, bx[3] * img_w as f32);
            for y in 0..img_h {
                for x in 0..img_w {
                    let (fy, fx) = (y as f32, x as f32);
                    let inside = fy >= y0 && fy < y1 && fx >= x0 && fx < x1;
                    if inside && masks[[0, y, x, n]] > p.mask_threshold {
                        out[[b, 0, n, 6 + y * img_w + x]] = 1.0;
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> SegParams {
        SegParams {
            boxes: NmsParams {
                arch: MetaArch::Yolov5,
                classes: 1,
                max_proposals_per_class: 10,
                score_threshold: 0.2,
                iou_threshold: 0.5,
                image_dims: [4, 4],
                strides: vec![4],
                anchors: vec![vec![[4.0, 4.0]]],
                regression_length: 16,
                centers_scale_factor: 10.0,
                bbox_dimensions_scale_factor: 5.0,
                background: None,
                sigmoid_applied: vec![],
            },
            max_total_proposals: 2,
            mask_threshold: 0.5,
        }
    }

    #[test]
    fn one_instance_with_its_cropped_mask() {
        // Zero logits: box centered at (2, 2) px of size 4 (the anchor), score 0.25.
        // Mask coefficient 1 on a proto positive on the left half: mask = left half.
        let head = Array4::from_shape_vec((1, 1, 1, 7), vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
            .expect("shape");
        let proto =
            Array4::from_shape_fn((1, 2, 2, 1), |(_, _, x, _)| if x == 0 { 5.0 } else { -5.0 });
        let out = yolov5_seg_postprocess(&[head.view()], proto.view(), &params()).expect("runs");
        assert_eq!(out.dim(), (1, 1, 2, 22));
        let row: Vec<f32> = out.slice(ndarray::s![0, 0, 0, ..]).to_vec();
        assert_eq!(&row[..6], &[0.0, 0.0, 1.0, 1.0, 0.25, 0.0]);
        let mask: Vec<f32> = [1.0, 1.0, 0.0, 0.0].repeat(4);
        assert_eq!(&row[6..], &mask[..]);
        assert!(out
            .slice(ndarray::s![0, 0, 1, ..])
            .iter()
            .all(|&v| v == 0.0));
    }

    #[test]
    fn head_channels_are_checked() {
        let head = Array4::<f32>::zeros((1, 1, 1, 6));
        let proto = Array4::<f32>::zeros((1, 2, 2, 1));
        let e = yolov5_seg_postprocess(&[head.view()], proto.view(), &params()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "yolov5_seg: head #0 must have 7 channels (1 anchors × (5 + 1 classes + 1 mask coefficients)), got 6"
        );
    }
}
