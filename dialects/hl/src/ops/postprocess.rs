//! Detection post-process added by the model script's `nms_postprocess` (guide §5.3.3, §9.3):
//! `hl.nms` decodes the boxes of every detection head (its operands, grouped per head in the
//! order [`MetaArch::operands_per_head`] gives), filters by score and suppresses overlaps per
//! class. Output `[N, classes, 5, max_proposals_per_class]` with rows
//! `[y_min, x_min, y_max, x_max, score]` normalized to [0, 1]; with `bbox_decoding_only`,
//! `[N, boxes, 4 + classes]` (every decoded box with its class scores). YOLOv5-seg takes the
//! prototype masks `[N, Hp, Wp, m]` as its last operand and outputs (guide §5.3.3)
//! `[N, 1, max_total_proposals, 6 + H·W]`, rows `[y_min, x_min, y_max, x_max, score, class,
//! mask…]`.
//!
//! `sigmoid_applied` lists the head operands whose values already went through a sigmoid (the
//! model script's `change_output_activation(sigmoid)` before `nms_postprocess`): the guide adds
//! the sigmoid "whenever is needed", so the decoders that apply one to raw logits (YOLOv5,
//! YOLOv5-seg) skip it for these operands instead of applying it twice.

use crate::access::{OpView, Result};
use hailo_ir::{define_op, Module, OpDef, OpId, Type};

define_op! {
    /// Box decoding, score threshold and per-class IoU suppression.
    pub struct Nms = "hl.nms" {
        summary: "Detection post-process: box decoding, score threshold, per-class NMS", traits: [PURE],
        attrs {
            meta_arch: str, engine: str, classes: i64, max_proposals_per_class: i64,
            score_threshold: f64, iou_threshold: f64, image_dims: i64_array,
            strides: i64_array, num_anchors: i64_array, anchors: f64_array,
            regression_length: i64, bbox_decoding_only: bool, background_removal: bool,
            background_removal_index: i64, max_total_proposals: i64, mask_threshold: f64,
            centers_scale_factor: f64, bbox_dimensions_scale_factor: f64,
            sigmoid_applied: i64_array,
            layer: str [required = "the Hailo layer name, a string"]
        }
        attr_groups [super::QUANT_ANNOTATIONS]
        hooks { verify: verify_nms, infer: infer_nms }
    }
}

/// The post-process families whose decoding `hl.nms` implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaArch {
    /// One encoded tensor per head, `[N, H, W, A·(5 + classes)]`, raw logits, or their
    /// sigmoids for the operands in `sigmoid_applied` (`x, y, w, h, objectness, classes…` per
    /// anchor; anchors in pixels).
    Yolov5,
    /// Per head: `reg [N, H, W, 4]` raw, `objectness [N, H, W, 1]`, `cls [N, H, W, classes]` scores.
    Yolox,
    /// Per head: `reg [N, H, W, 4]` (left, top, right, bottom distances in grid cells), `cls` scores.
    Yolov6,
    /// Per head: `reg [N, H, W, 4·regression_length]` (DFL bins), `cls` scores.
    Yolov8,
    /// As `Yolov8` (DAMO-YOLO's GFL head is a DFL head).
    Damoyolo,
    /// Per head: `reg [N, H, W, A·4]` (`ty, tx, th, tw`), `cls [N, H, W, A·classes]` scores;
    /// anchors normalized `(h, w)`.
    Ssd,
    /// Per head: class heatmap `[N, H, W, classes]`, box size `[N, H, W, 2]` `(w, h)` and
    /// center offset `[N, H, W, 2]` `(x, y)` in grid cells (Gluon-CV's `CenterNetDecoder`).
    CenterNet,
    /// As `Yolov5` with `m` mask coefficients after the class logits of each anchor, plus the
    /// prototype masks `[N, Hp, Wp, m]` as the last operand.
    Yolov5Seg,
}

pub const META_ARCHS: &[&str] = &[
    "yolov5",
    "yolox",
    "yolov6",
    "yolov8",
    "damoyolo",
    "ssd",
    "centernet",
    "yolov5_seg",
];
pub const ENGINES: &[&str] = &["nn_core", "cpu", "auto"];

impl MetaArch {
    pub fn parse(s: &str) -> Option<MetaArch> {
        Some(match s {
            "yolov5" => MetaArch::Yolov5,
            "yolox" => MetaArch::Yolox,
            "yolov6" => MetaArch::Yolov6,
            "yolov8" => MetaArch::Yolov8,
            "damoyolo" => MetaArch::Damoyolo,
            "ssd" => MetaArch::Ssd,
            "centernet" => MetaArch::CenterNet,
            "yolov5_seg" => MetaArch::Yolov5Seg,
            _ => return None,
        })
    }

    /// Operands per detection head.
    pub fn operands_per_head(self) -> usize {
        match self {
            MetaArch::Yolov5 | MetaArch::Yolov5Seg => 1,
            MetaArch::Yolox | MetaArch::CenterNet => 3,
            _ => 2,
        }
    }

    /// Whether the heads use anchors (`num_anchors` / `anchors` attributes).
    pub fn anchored(self) -> bool {
        matches!(self, MetaArch::Yolov5 | MetaArch::Yolov5Seg | MetaArch::Ssd)
    }

    /// Operands after the heads (YOLOv5-seg's prototype masks).
    pub fn trailing_operands(self) -> usize {
        usize::from(self == MetaArch::Yolov5Seg)
    }
}

/// The checked attributes of an `hl.nms` op.
#[derive(Clone, Debug, PartialEq)]
pub struct NmsParams {
    pub arch: MetaArch,
    pub classes: i64,
    pub max_proposals_per_class: i64,
    pub score_threshold: f64,
    pub iou_threshold: f64,
    pub image_dims: [i64; 2],
    pub strides: Vec<i64>,
    pub num_anchors: Vec<i64>,
    /// `(h, w)` pairs of every head, heads in order.
    pub anchors: Vec<f64>,
    pub regression_length: i64,
    pub bbox_decoding_only: bool,
    /// The class removed from the output (SSD's background), if any.
    pub background: Option<i64>,
    /// YOLOv5-seg: instances kept over all classes, and the mask binarization threshold.
    pub max_total_proposals: i64,
    pub mask_threshold: f64,
    /// Head operands (indices) whose values are sigmoid outputs already.
    pub sigmoid_applied: Vec<i64>,
}

impl NmsParams {
    /// Classes in the output (the background class removed).
    pub fn output_classes(&self) -> i64 {
        self.classes - i64::from(self.background.is_some())
    }

    pub fn read(v: &OpView<'_>) -> Result<NmsParams> {
        let arch_name = v.choice("meta_arch", META_ARCHS)?;
        let arch = MetaArch::parse(arch_name).ok_or("unreachable meta_arch")?;
        v.opt_choice("engine", ENGINES)?;
        let unit = |key: &str| -> Result<f64> {
            let x = v.f64(key)?;
            if !(0.0..=1.0).contains(&x) {
                return Err(format!("attribute '{key}' must be in [0, 1], got {x}"));
            }
            Ok(x)
        };
        let dims = v.i64s_len("image_dims", 2)?;
        let heads =
            v.num_operands().saturating_sub(arch.trailing_operands()) / arch.operands_per_head();
        let strides = v.opt_i64s("strides")?.unwrap_or_default();
        if arch != MetaArch::Ssd && (strides.len() != heads || strides.iter().any(|&s| s < 1)) {
            return Err(format!(
                "attribute 'strides' must list one positive stride per head ({heads}), got {strides:?}"
            ));
        }
        let num_anchors = v.opt_i64s("num_anchors")?.unwrap_or_default();
        let anchors = match v.attr("anchors") {
            Some(_) => v.f64s("anchors")?,
            None => Vec::new(),
        };
        if arch.anchored() {
            let total: i64 = num_anchors.iter().sum();
            if num_anchors.len() != heads
                || num_anchors.iter().any(|&a| a < 1)
                || anchors.len() as i64 != 2 * total
            {
                return Err(format!(
                    "{arch_name} needs 'num_anchors' (one positive count per head, {heads} heads) and 'anchors' with an (h, w) pair per anchor; got {num_anchors:?} and {} value(s)",
                    anchors.len()
                ));
            }
        }
        let background = match v.opt_bool("background_removal")? {
            Some(true) => Some(v.opt_i64("background_removal_index")?.unwrap_or(0)),
            _ => None,
        };
        let sigmoid_applied = v.opt_i64s("sigmoid_applied")?.unwrap_or_default();
        let head_operands = v.num_operands().saturating_sub(arch.trailing_operands()) as i64;
        if sigmoid_applied.windows(2).any(|w| w[0] >= w[1])
            || sigmoid_applied
                .iter()
                .any(|&i| !(0..head_operands).contains(&i))
        {
            return Err(format!(
                "attribute 'sigmoid_applied' must list head operand indices (0 to {}) in increasing order, got {sigmoid_applied:?}",
                head_operands - 1
            ));
        }
        let p = NmsParams {
            arch,
            classes: v.i64_min("classes", 1)?,
            max_proposals_per_class: v.i64_min("max_proposals_per_class", 1)?,
            score_threshold: unit("score_threshold")?,
            iou_threshold: unit("iou_threshold")?,
            image_dims: [dims[0], dims[1]],
            strides,
            num_anchors,
            anchors,
            regression_length: v.opt_i64("regression_length")?.unwrap_or(16),
            bbox_decoding_only: v.opt_bool("bbox_decoding_only")?.unwrap_or(false),
            background,
            max_total_proposals: v.opt_i64("max_total_proposals")?.unwrap_or(100),
            mask_threshold: v.opt_f64("mask_threshold")?.unwrap_or(0.5),
            sigmoid_applied,
        };
        if p.image_dims.iter().any(|&d| d < 1) || p.regression_length < 1 {
            return Err("'image_dims' and 'regression_length' must be positive".into());
        }
        if p.background.is_some_and(|b| b < 0 || b >= p.classes) {
            return Err("'background_removal_index' must be a class index".into());
        }
        if p.max_total_proposals < 1 || !(0.0..=1.0).contains(&p.mask_threshold) {
            return Err(
                "'max_total_proposals' must be positive and 'mask_threshold' in [0, 1]".into(),
            );
        }
        if arch == MetaArch::Yolov5Seg && p.bbox_decoding_only {
            return Err("yolov5_seg has no bbox_decoding_only output".into());
        }
        Ok(p)
    }

    /// Channels head operand `k` (0-based within its head) must have, for head `head`;
    /// `coeffs` is YOLOv5-seg's mask coefficients per anchor.
    fn channels(&self, head: usize, k: usize, coeffs: i64) -> i64 {
        let a = self.num_anchors.get(head).copied().unwrap_or(1);
        match (self.arch, k) {
            (MetaArch::Yolov5, _) => a * (5 + self.classes),
            (MetaArch::Yolov5Seg, _) => a * (5 + self.classes + coeffs),
            (MetaArch::CenterNet, 0) => self.classes,
            (MetaArch::CenterNet, _) => 2,
            (MetaArch::Yolox, 0) | (MetaArch::Yolov6, 0) => 4,
            (MetaArch::Yolox, 1) => 1,
            (MetaArch::Yolov8 | MetaArch::Damoyolo, 0) => 4 * self.regression_length,
            (MetaArch::Ssd, 0) => 4 * a,
            (MetaArch::Ssd, _) => a * self.classes,
            _ => self.classes,
        }
    }
}

fn infer_nms(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    v.layer()?;
    v.expect_results(1)?;
    let p = NmsParams::read(&v)?;
    let per = p.arch.operands_per_head();
    let trailing = p.arch.trailing_operands();
    let n = v.num_operands().saturating_sub(trailing);
    if n == 0 || !n.is_multiple_of(per) {
        return Err(format!(
            "{:?} takes {per} operand(s) per detection head{}, got {}",
            p.arch,
            if trailing > 0 {
                " and the prototype masks last"
            } else {
                ""
            },
            v.num_operands()
        ));
    }
    let proto = match trailing {
        0 => None,
        _ => Some(v.shape_rank(n, "prototype masks", 4)?),
    };
    let coeffs = proto.as_ref().map_or(0, |s| s[3]);
    let mut batch = None;
    let mut boxes = 0;
    for i in 0..n {
        let (head, k) = (i / per, i % per);
        let s = v.shape_rank(i, "head input", 4)?;
        let want = p.channels(head, k, coeffs);
        if s[3] != want {
            return Err(format!(
                "operand #{i} (head {head}) must have {want} channels, got {}",
                s[3]
            ));
        }
        if batch.is_some_and(|b| b != s[0]) {
            return Err("every head input must have the same batch size".into());
        }
        batch = Some(s[0]);
        if k == 0 {
            boxes += s[1] * s[2] * p.num_anchors.get(head).copied().unwrap_or(1);
        }
    }
    let batch = batch.unwrap_or(1);
    if proto.as_ref().is_some_and(|s| s[0] != batch) {
        return Err("the prototype masks must have the heads' batch size".into());
    }
    let [h, w] = p.image_dims;
    let shape = if proto.is_some() {
        vec![batch, 1, p.max_total_proposals, 6 + h * w]
    } else if p.bbox_decoding_only {
        vec![batch, boxes, 4 + p.output_classes()]
    } else {
        vec![batch, p.output_classes(), 5, p.max_proposals_per_class]
    };
    Ok(vec![Type::tensor(&shape, v.elem(0, "head input")?)])
}

fn verify_nms(m: &Module, op: OpId) -> Result<()> {
    OpView::new(m, op).layer().map(|_| ())
}

pub fn defs() -> Vec<OpDef> {
    vec![Nms::def()]
}
