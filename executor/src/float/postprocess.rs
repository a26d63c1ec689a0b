//! Float evaluation of `hl.nms`: box decoding, then score threshold and IoU suppression
//! (unless decoding only), and YOLOv5-seg instances with masks. It runs on dequantized
//! values in every context, as HailoRT runs it on the host.

use super::arg;
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::nms::{bbox_decoding, nms_postprocess, MetaArch as K, NmsParams};
use crate::kernels::postprocess_yolov5_seg::{yolov5_seg_postprocess, SegParams};
use crate::kernels::KernelError;
use crate::value::{Arg, BufferPool, Value};
use hailo_dialect_hl::access::OpView;
use hailo_dialect_hl::ops::postprocess::{MetaArch as D, NmsParams as Checked};
use ndarray::{ArrayView4, ArrayViewD, Ix4};

pub(crate) struct NmsEval;
pub(crate) const NMS: NmsEval = NmsEval;

impl Evaluate for NmsEval {
    /// The kernel's NMS parameters from the dialect's checked view of the op.
    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        let p = Checked::read(&OpView::new(r.m, r.id)).map_err(|e| r.err(e))?;
        let arch = match p.arch {
            D::Yolov5 | D::Yolov5Seg => K::Yolov5,
            D::CenterNet => K::CenterNet,
            D::Yolox => K::Yolox,
            D::Yolov6 => K::Yolov6,
            D::Yolov8 | D::Damoyolo => K::Dfl,
            D::Ssd => K::Ssd,
        };
        let mut anchors = Vec::with_capacity(p.num_anchors.len());
        let mut flat = p
            .anchors
            .chunks_exact(2)
            .map(|hw| [hw[0] as f32, hw[1] as f32]);
        for &count in &p.num_anchors {
            anchors.push(flat.by_ref().take(count as usize).collect());
        }
        let params = NmsParams {
            arch,
            classes: p.classes as usize,
            max_proposals_per_class: p.max_proposals_per_class as usize,
            score_threshold: p.score_threshold as f32,
            iou_threshold: p.iou_threshold as f32,
            image_dims: [p.image_dims[0] as usize, p.image_dims[1] as usize],
            strides: p.strides.iter().map(|&s| s as usize).collect(),
            anchors,
            regression_length: p.regression_length as usize,
            centers_scale_factor: r.f32_or("centers_scale_factor", 10.0)?,
            bbox_dimensions_scale_factor: r.f32_or("bbox_dimensions_scale_factor", 5.0)?,
            background: p.background.map(|b| b as usize),
            sigmoid_applied: p.sigmoid_applied.iter().map(|&i| i as usize).collect(),
        };
        if p.arch == D::Yolov5Seg {
            return Prepared::kernel(Yolov5Seg(SegParams {
                boxes: params,
                max_total_proposals: p.max_total_proposals as usize,
                mask_threshold: p.mask_threshold as f32,
            }));
        }
        Prepared::kernel(Nms {
            params,
            decoding_only: p.bbox_decoding_only,
        })
    }
}

/// Every operand as a rank-4 view.
fn heads<'a>(views: &'a [ArrayViewD<'a, f32>]) -> Result<Vec<ArrayView4<'a, f32>>, KernelError> {
    views
        .iter()
        .map(|v| {
            v.view().into_dimensionality::<Ix4>().map_err(|_| {
                KernelError::new(
                    "nms",
                    format!("expects a rank-4 tensor, got shape {:?}", v.shape()),
                )
            })
        })
        .collect()
}

fn views<'a>(args: &'a [Arg]) -> Result<Vec<ArrayViewD<'a, f32>>, KernelError> {
    (0..args.len()).map(|i| arg(args, i, "nms")).collect()
}

#[derive(Debug)]
struct Nms {
    params: NmsParams,
    decoding_only: bool,
}

impl Kernel for Nms {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let views = views(&args)?;
        let heads = heads(&views)?;
        if self.decoding_only {
            one(bbox_decoding(&heads, &self.params)?.into_dyn())
        } else {
            one(nms_postprocess(&heads, &self.params)?.into_dyn())
        }
    }
}

/// The last operand is the prototype masks.
#[derive(Debug)]
struct Yolov5Seg(SegParams);

impl Kernel for Yolov5Seg {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let views = views(&args)?;
        let mut inputs = heads(&views)?;
        let proto = inputs.pop().ok_or_else(|| {
            KernelError::new("yolov5_seg", "needs the heads and the prototype masks")
        })?;
        one(yolov5_seg_postprocess(&inputs, proto, &self.0)?.into_dyn())
    }
}
