//! CenterNet box decoding for `hl.nms` (guide §5.1.5: "CenterNet: bbox decoding, score
//! threshold filtering", the semantics of Gluon-CV's `CenterNetDecoder`). Instead of IoU
//! suppression, a detection is a peak of the class heatmap: a cell whose score equals the
//! maximum of its 3×3 neighbourhood (cells outside the map do not count). Each cell's box is
//! centered at `(x + offset_x, y + offset_y)` grid cells with size `(w, h)` grid cells, scaled
//! by the head's stride (the config's `input_division_factor`) and normalized by the image.

use super::error::{ensure, KernelError};
use super::nms::{Decoded, NmsParams};
use ndarray::ArrayView4;

const OP: &str = "nms";

/// Whether `heat[b, i, j, c]` is the maximum of its 3×3 neighbourhood (ties count as peaks).
fn is_peak(heat: &ArrayView4<f32>, b: usize, i: usize, j: usize, c: usize) -> bool {
    let (_, h, w, _) = heat.dim();
    let v = heat[[b, i, j, c]];
    (i.saturating_sub(1)..(i + 2).min(h))
        .all(|y| (j.saturating_sub(1)..(j + 2).min(w)).all(|x| heat[[b, y, x, c]] <= v))
}

/// Appends one box per cell of image `b` and its class scores (zero where the cell is not a
/// peak of the class). `head` is `[heatmap, size (w, h), offset (x, y)]`.
pub(crate) fn decode(
    head: &[ArrayView4<f32>],
    b: usize,
    stride: f32,
    p: &NmsParams,
    out: &mut Decoded,
) -> Result<(), KernelError> {
    let [heat, size, offset] = head else {
        return Err(KernelError::new(
            OP,
            format!(
                "centernet takes heatmap, size and offset, got {} input(s)",
                head.len()
            ),
        ));
    };
    let c = p.classes;
    for (t, want, what) in [
        (heat, c, "heatmap"),
        (size, 2, "size"),
        (offset, 2, "offset"),
    ] {
        ensure!(
            t.dim().3 == want,
            OP,
            "centernet {what} must have {want} channels, got {}",
            t.dim().3
        );
    }
    let (_, gh, gw, _) = heat.dim();
    let [img_h, img_w] = p.image_dims.map(|d| d as f32);
    for i in 0..gh {
        for j in 0..gw {
            let cx = (j as f32 + offset[[b, i, j, 0]]) * stride / img_w;
            let cy = (i as f32 + offset[[b, i, j, 1]]) * stride / img_h;
            let w = size[[b, i, j, 0]] * stride / img_w;
            let h = size[[b, i, j, 1]] * stride / img_h;
            out.push([cy, cx], [h, w]);
            out.scores.extend((0..c).map(|cl| {
                if is_peak(heat, b, i, j, cl) {
                    heat[[b, i, j, cl]]
                } else {
                    0.0
                }
            }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::nms::{nms_postprocess, MetaArch, NmsParams};
    use ndarray::Array4;

    fn params() -> NmsParams {
        NmsParams {
            arch: MetaArch::CenterNet,
            classes: 1,
            max_proposals_per_class: 4,
            score_threshold: 0.3,
            iou_threshold: 0.5,
            image_dims: [16, 16],
            strides: vec![4],
            anchors: vec![],
            regression_length: 16,
            centers_scale_factor: 10.0,
            bbox_dimensions_scale_factor: 5.0,
            background: None,
            sigmoid_applied: vec![],
        }
    }

    #[test]
    fn peaks_are_detections_without_suppression() {
        // 4x4 heatmap: peaks 0.9 at (0, 0) and 0.8 at (2, 2); 0.85 at (0, 1) is next to 0.9.
        let mut heat = Array4::<f32>::zeros((1, 4, 4, 1));
        heat[[0, 0, 0, 0]] = 0.9;
        heat[[0, 0, 1, 0]] = 0.85;
        heat[[0, 2, 2, 0]] = 0.8;
        let size = Array4::from_shape_fn((1, 4, 4, 2), |(_, _, _, k)| [2.0, 1.0][k]);
        let offset = Array4::from_shape_fn((1, 4, 4, 2), |(_, _, _, k)| [0.5, 0.25][k]);
        let out = nms_postprocess(&[heat.view(), size.view(), offset.view()], &params())
            .expect("decodes");
        let col = |s: usize| (0..5).map(|r| out[[0, 0, r, s]]).collect::<Vec<f32>>();
        // Box at (2, 2): center (2.5, 2.25) cells → (10, 9) px, size 8 x 4 px, on a 16 px image.
        assert_eq!(col(1), vec![0.4375, 0.375, 0.6875, 0.875, 0.8]);
        // (0, 0): center (2, 1) px, clipped at the image edge.
        assert_eq!(col(0), vec![0.0, 0.0, 0.1875, 0.375, 0.9]);
        assert_eq!(col(2), vec![0.0; 5]);
    }

    #[test]
    fn channel_counts_are_checked() {
        let heat = Array4::<f32>::zeros((1, 2, 2, 1));
        let bad = Array4::<f32>::zeros((1, 2, 2, 3));
        let e = nms_postprocess(&[heat.view(), bad.view(), heat.view()], &params()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "nms: centernet size must have 2 channels, got 3"
        );
    }
}
