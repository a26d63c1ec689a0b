#!/usr/bin/env python3
"""Dev-only: writes the golden references of passes/tests/golden.rs from libraries outside the
project (OpenCV for color/format conversions, resize and NMS; numpy formulas where OpenCV has no
equivalent; onnxruntime for the raw outputs of a real detector). Not run by CI; the outputs
(JSON, and a small .npz for the detector) are committed.

Setup (pinned):
    python3 -m venv /tmp/goldenvenv
    /tmp/goldenvenv/bin/pip install numpy==2.2.6 opencv-python-headless==4.11.0.86
    /tmp/goldenvenv/bin/python passes/tests/gen_golden.py color resize nms

The detector reference (`yolo`) was made with the repository's .venv (numpy 2.4.6,
onnxruntime 1.31.1, opencv-python-headless 5.0.0.93):
    .venv/bin/python passes/tests/gen_golden.py yolo
The centernet and yolov5_seg references (numpy and OpenCV only) were made the same way:
    .venv/bin/python passes/tests/gen_golden.py centernet yolov5_seg
With no arguments every reference is regenerated. color, resize and nms draw from one seeded
generator in that order (regenerate them together); centernet and yolov5_seg seed their own.

Resize and NMS references are made with OpenCV/numpy and then checked against torch itself by
check_torch_refs.py (torch.nn.functional.interpolate and torchvision.ops.nms, torch 2.15.0 from
PyPI): bilinear with half pixels and nearest use cv2.resize (INTER_LINEAR / INTER_NEAREST, the
formulas of interpolate with align_corners=False and mode='nearest'), bilinear with align corners
the numpy implementation below; NMS uses cv2.dnn.NMSBoxes, cross-checked against the numpy
greedy NMS below.

`yolo`: /work/shared/models/yolo_like_320.onnx (YOLOv5n-shaped, random weights, three raw heads)
run by onnxruntime on real images of calib_image_like_320.npz; the raw heads decoded in numpy
(float64) with YOLOv5's formulas and the model README's anchors, then cv2.dnn.NMSBoxes per
class. The thresholds are chosen so boxes survive and NMS suppresses some; the script checks
that no score lies near the score threshold and no IoU near the IoU threshold, so the f32
interpreter (which differs from onnxruntime by float rounding) must find the same set.
"""
import json
import os
import sys

import cv2
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
rng = np.random.default_rng(20240611)


def save(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def color():
    h, w = 8, 10
    # Legal video range (Y 16..235, chroma 16..240): OpenCV clamps Y - 16 at 0 for limited-range
    # inputs, which a linear on-chip kernel does not; camera YUV stays within this range.
    yuv = np.stack([rng.integers(16, 236, size=(h, w)), rng.integers(16, 241, size=(h, w)),
                    rng.integers(16, 241, size=(h, w))], -1).astype(np.uint8)
    y, u, v = yuv[..., 0], yuv[..., 1], yuv[..., 2]
    # 4:2:0 planes: chroma of each 2x2 block (taken at its top-left sample).
    u2, v2 = u[::2, ::2], v[::2, ::2]
    uv = np.stack([u2, v2], -1).reshape(h // 2, w)
    vu = np.stack([v2, u2], -1).reshape(h // 2, w)
    nv12 = np.concatenate([y, uv], 0)
    nv21 = np.concatenate([y, vu], 0)
    i420 = np.concatenate([y.reshape(-1), u2.reshape(-1), v2.reshape(-1)]).reshape(h * 3 // 2, w)
    # YUY2: Y0 U Y1 V per pixel pair (chroma of the pair's first pixel).
    yuy2 = np.zeros((h, w, 2), np.uint8)
    yuy2[..., 0] = y
    yuy2[:, 0::2, 1] = u[:, 0::2]
    yuy2[:, 1::2, 1] = v[:, 0::2]
    ycrcb = np.stack([y, v, u], -1)
    bgr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)

    def bt709(img, bgr_out):
        yy, uu, vv = [img[..., k].astype(np.float64) for k in range(3)]
        kr, kb = 0.2126, 0.0722
        ys, cs = 255.0 / 219.0, 255.0 / 224.0
        r = ys * (yy - 16) + cs * 2 * (1 - kr) * (vv - 128)
        b = ys * (yy - 16) + cs * 2 * (1 - kb) * (uu - 128)
        g = (ys * (yy - 16) - cs * 2 * (1 - kb) * kb / (1 - kr - kb) * (uu - 128)
             - cs * 2 * (1 - kr) * kr / (1 - kr - kb) * (vv - 128))
        out = np.stack([b, g, r] if bgr_out else [r, g, b], -1)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    full = np.concatenate([y[..., None], np.repeat(np.repeat(np.stack([u2, v2], -1), 2, 0), 2, 1)], -1)
    cases = [
        # (hl format conversion or "", hl color conversion, source buffer, reference)
        ("nv12_to_hailo_yuv", "yuv_to_rgb", nv12, cv2.cvtColor(nv12, cv2.COLOR_YUV2RGB_NV12)),
        ("nv12_to_hailo_yuv", "yuv601_to_bgr", nv12, cv2.cvtColor(nv12, cv2.COLOR_YUV2BGR_NV12)),
        ("nv21_to_hailo_yuv", "yuv_to_rgb", nv21, cv2.cvtColor(nv21, cv2.COLOR_YUV2RGB_NV21)),
        ("i420_to_hailo_yuv", "yuv_to_rgb", i420, cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)),
        ("yuy2_to_hailo_yuv", "yuv_to_rgb", yuy2, cv2.cvtColor(yuy2, cv2.COLOR_YUV2RGB_YUY2)),
        ("", "yuv_full_range_to_rgb", yuv, cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)),
        ("", "yuv_full_range_to_bgr", yuv, cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)),
        ("", "yuv709_to_rgb", full, bt709(full, False)),
        ("", "yuv709_to_bgr", full, bt709(full, True)),
        ("", "bgr_to_rgb", bgr, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)),
        ("", "rgb_to_bgr", bgr, cv2.cvtColor(bgr, cv2.COLOR_RGB2BGR)),
    ]
    out = []
    for fmt, col, src, ref in cases:
        s = src if src.ndim == 3 else src[..., None]
        out.append({"format": fmt, "color": col, "shape": [1, *s.shape],
                    "input": s.reshape(-1).tolist(), "expected": ref.reshape(-1).tolist()})
    save("color.json", {"cv2": cv2.__version__, "cases": out})


def bilinear_align_corners(x, oh, ow):
    """Independent numpy bilinear with align_corners=True (torch semantics)."""
    n, h, w, c = x.shape
    ys = np.arange(oh) * ((h - 1) / (oh - 1) if oh > 1 else 0.0)
    xs = np.arange(ow) * ((w - 1) / (ow - 1) if ow > 1 else 0.0)
    y0 = np.floor(ys).astype(int); x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, h - 1); x1 = np.minimum(x0 + 1, w - 1)
    wy = (ys - y0)[None, :, None, None]; wx = (xs - x0)[None, None, :, None]
    a = x[:, y0][:, :, x0]; b = x[:, y0][:, :, x1]
    cc = x[:, y1][:, :, x0]; d = x[:, y1][:, :, x1]
    return (a * (1 - wy) * (1 - wx) + b * (1 - wy) * wx + cc * wy * (1 - wx) + d * wy * wx)


def resize():
    x = rng.standard_normal((1, 5, 7, 3)).astype(np.float32)
    cases = []
    for oh, ow in [(9, 11), (3, 4), (10, 14)]:
        img = x[0]
        cases.append({"method": "bilinear", "pixels_mode": "half_pixels", "size": [oh, ow],
                      "expected": cv2.resize(img, (ow, oh), interpolation=cv2.INTER_LINEAR).reshape(-1).tolist()})
        cases.append({"method": "nearest_neighbor", "pixels_mode": "disable", "size": [oh, ow],
                      "expected": cv2.resize(img, (ow, oh), interpolation=cv2.INTER_NEAREST).reshape(-1).tolist()})
        cases.append({"method": "bilinear", "pixels_mode": "align_corners", "size": [oh, ow],
                      "expected": bilinear_align_corners(x.astype(np.float64), oh, ow).reshape(-1).tolist()})
    save("resize.json", {"shape": list(x.shape), "input": x.reshape(-1).tolist(), "cases": cases})


def greedy_nms(boxes, scores, th):
    order = np.argsort(-scores, kind="stable")
    keep = []
    for i in order:
        ok = True
        for k in keep:
            yy1 = max(boxes[i, 0], boxes[k, 0]); xx1 = max(boxes[i, 1], boxes[k, 1])
            yy2 = min(boxes[i, 2], boxes[k, 2]); xx2 = min(boxes[i, 3], boxes[k, 3])
            inter = max(0.0, yy2 - yy1) * max(0.0, xx2 - xx1)
            area = lambda b: (b[2] - b[0]) * (b[3] - b[1])
            if inter / (area(boxes[i]) + area(boxes[k]) - inter) > th:
                ok = False
                break
        if ok:
            keep.append(int(i))
    return keep


def nms():
    n = 300
    c = rng.uniform(0.05, 0.95, size=(n, 2))
    s = rng.uniform(0.02, 0.3, size=(n, 2))
    boxes = np.concatenate([c - s / 2, c + s / 2], 1).clip(0, 1)  # y0 x0 y1 x1
    scores = rng.permutation(n) / n + 0.5 / n  # distinct
    cases = []
    for th in [0.3, 0.5, 0.7]:
        rects = [[float(b[1]), float(b[0]), float(b[3] - b[1]), float(b[2] - b[0])] for b in boxes]
        cv_keep = [int(i) for i in np.array(cv2.dnn.NMSBoxes(rects, scores.tolist(), 0.0, th)).reshape(-1)]
        np_keep = greedy_nms(boxes, scores, th)
        assert cv_keep == np_keep, (th, len(cv_keep), len(np_keep))
        cases.append({"iou_threshold": th, "keep": cv_keep})
    save("nms.json", {"boxes": boxes.reshape(-1).tolist(), "scores": scores.tolist(), "cases": cases})


MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared/models")
YOLO_IMAGES = [3, 5, 20, 0]  # two with a few detections, one with many, one with none
YOLO_STRIDES = [8, 16, 32]
YOLO_ANCHORS = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]
YOLO_HEADS = ["conv58", "conv59", "conv60"]  # the hl layers of head_s8, head_s16, head_s32
YOLO_SCORE_TH, YOLO_IOU_TH, YOLO_MAX = 0.007, 0.45, 100


def yolo_decode(heads, strides, anchors, size, classes, extra=0):
    """Every box ([y0, x0, y1, x1] normalized, clipped), its class scores and its `extra`
    trailing channels (mask coefficients), heads NHWC in order, anchors (w, h) pixel pairs."""
    sig = lambda t: 1.0 / (1.0 + np.exp(-t.astype(np.float64)))
    boxes, scores, rest = [], [], []
    for head, stride, anch in zip(heads, strides, anchors):
        _, h, w, ch = head.shape
        na = len(anch) // 2
        t = head[0].reshape(h, w, na, ch // na)
        v = sig(t)
        gy, gx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        aw, ah = np.array(anch, np.float64).reshape(na, 2).T
        cx = (v[..., 0] * 2 - 0.5 + gx[..., None]) * stride / size
        cy = (v[..., 1] * 2 - 0.5 + gy[..., None]) * stride / size
        bw = (2 * v[..., 2]) ** 2 * aw / size
        bh = (2 * v[..., 3]) ** 2 * ah / size
        b = np.stack([cy - bh / 2, cx - bw / 2, cy + bh / 2, cx + bw / 2], -1).clip(0, 1)
        boxes.append(b.reshape(-1, 4))
        scores.append((v[..., 4:5] * v[..., 5:5 + classes]).reshape(-1, classes))
        rest.append(t[..., 5 + classes:].astype(np.float64).reshape(h * w * na, extra))
    return np.concatenate(boxes), np.concatenate(scores), np.concatenate(rest)


def class_nms(boxes, scores, iou_th):
    """cv2.dnn.NMSBoxes on [y0, x0, y1, x1] boxes, checked against the numpy greedy NMS."""
    if len(boxes) == 0:
        return []
    rects = [[float(r[1]), float(r[0]), float(r[3] - r[1]), float(r[2] - r[0])] for r in boxes]
    keep = [int(k) for k in np.array(cv2.dnn.NMSBoxes(rects, scores.tolist(), 0.0, iou_th)).reshape(-1)]
    assert keep == greedy_nms(boxes, scores, iou_th)
    return keep


def iou_matrix(b):
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    ih = (np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])).clip(0)
    iw = (np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])).clip(0)
    inter = ih * iw
    return inter / (area[:, None] + area[None, :] - inter)


def yolo_detections(nms=None):
    """The reference detections of yolo_like_320 on YOLO_IMAGES: onnxruntime heads, numpy
    decoding, per-class NMS by `nms(boxes, scores, iou_th)` (default: cv2 / numpy)."""
    import onnxruntime as ort
    nms = nms or class_nms
    sess = ort.InferenceSession(os.path.join(MODELS, "yolo_like_320.onnx"),
                                providers=["CPUExecutionProvider"])
    images = np.load(os.path.join(MODELS, "calib_image_like_320.npz"))["images"]
    index, boxes_out, scores_out, candidates = [], [], [], []
    score_margin, iou_margin = 1.0, 1.0
    for b, i in enumerate(YOLO_IMAGES):
        x = (images[i:i + 1].astype(np.float32) / 255).transpose(0, 3, 1, 2)
        heads = [h.transpose(0, 2, 3, 1) for h in sess.run(None, {"images": x})]
        boxes, scores, _ = yolo_decode(heads, YOLO_STRIDES, YOLO_ANCHORS, 320, 80)
        score_margin = min(score_margin, np.abs(scores - YOLO_SCORE_TH).min())
        for c in range(scores.shape[1]):
            idx = np.nonzero(scores[:, c] >= YOLO_SCORE_TH)[0]
            candidates.append(len(idx))
            if len(idx) == 0:
                continue
            cb, cs = boxes[idx], scores[idx, c]
            if len(idx) > 1:
                m = iou_matrix(cb)[np.triu_indices(len(idx), 1)]
                iou_margin = min(iou_margin, np.abs(m - YOLO_IOU_TH).min())
            keep = nms(cb, cs, YOLO_IOU_TH)
            for rank, k in enumerate(keep[:YOLO_MAX]):
                index.append([b, c, rank])
                boxes_out.append(cb[k])
                scores_out.append(cs[k])
    assert score_margin > 1e-5 and iou_margin > 1e-4, (score_margin, iou_margin)
    return {
        "images": np.array(YOLO_IMAGES, np.int64),
        "index": np.array(index, np.int64).reshape(-1, 3),
        "boxes": np.array(boxes_out, np.float32).reshape(-1, 4),
        "scores": np.array(scores_out, np.float32),
        "candidates": np.array(candidates, np.int64).reshape(len(YOLO_IMAGES), -1),
    }, score_margin, iou_margin


def yolo():
    det, score_margin, iou_margin = yolo_detections()
    config = {
        "nms_scores_th": YOLO_SCORE_TH, "nms_iou_th": YOLO_IOU_TH, "image_dims": [320, 320],
        "max_proposals_per_class": YOLO_MAX, "classes": 80, "background_removal": False,
        "bbox_decoders": [
            {"name": f"bbox_decoder_{s}", "w": a[0::2], "h": a[1::2], "stride": s, "encoded_layer": l}
            for s, a, l in zip(YOLO_STRIDES, YOLO_ANCHORS, YOLO_HEADS)],
    }
    with open(os.path.join(OUT, "yolo_like_320_nms.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    np.savez_compressed(os.path.join(OUT, "yolo_like_320_nms.npz"), **det)
    print(f"yolo: {int(det['candidates'].sum())} boxes above {YOLO_SCORE_TH}, {len(det['index'])} kept; "
          f"margins: score {score_margin:.2e}, IoU {iou_margin:.2e}")


def centernet():
    """Gluon-CV CenterNetDecoder semantics per class: 3x3 peaks of the heatmap, score threshold,
    best first; boxes (x + off_x -+ w/2, y + off_y -+ h/2) * stride, normalized and clipped."""
    n, h, w, c, stride, size, th, top = 1, 8, 8, 3, 4, 32, 0.3, 5
    rng = np.random.default_rng(5)
    heat = rng.uniform(0, 1, size=(n, h, w, c)).astype(np.float32) ** 2
    wh = rng.uniform(0.5, 4, size=(n, h, w, 2)).astype(np.float32)
    off = rng.uniform(0, 1, size=(n, h, w, 2)).astype(np.float32)
    pad = np.pad(heat.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    hmax = np.max([pad[:, dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], 0)
    peaks = np.where(hmax == heat, heat, 0.0)
    gy, gx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    cx = (gx + off[0, ..., 0].astype(np.float64)) * stride / size
    cy = (gy + off[0, ..., 1].astype(np.float64)) * stride / size
    bw = wh[0, ..., 0].astype(np.float64) * stride / size
    bh = wh[0, ..., 1].astype(np.float64) * stride / size
    boxes = np.stack([cy - bh / 2, cx - bw / 2, cy + bh / 2, cx + bw / 2], -1).reshape(-1, 4).clip(0, 1)
    out = np.zeros((n, c, 5, top))
    for k in range(c):
        s = peaks[0, ..., k].reshape(-1)
        idx = [i for i in np.argsort(-s, kind="stable") if s[i] >= th][:top]
        for slot, i in enumerate(idx):
            out[0, k, :, slot] = [*boxes[i], s[i]]
    assert (out[:, :, 4] > 0).sum() > 3 and np.abs(heat - th).min() > 1e-6
    save("centernet.json", {"shape": [n, h, w, c], "stride": stride, "image": size, "score_th": th,
                            "max_proposals": top, "heatmap": heat.reshape(-1).tolist(),
                            "size": wh.reshape(-1).tolist(), "offset": off.reshape(-1).tolist(),
                            "expected": out.reshape(-1).tolist()})


def yolov5_seg():
    """YOLOv5 boxes with 4 mask coefficients per anchor, per-class cv2 NMS, the best instances
    over all classes; masks sigmoid(coeffs . proto) resized by cv2 (bilinear, half pixel) to
    the image, zeroed outside the box, thresholded at 0.5."""
    size, classes, m, th, iou_th, top = 32, 2, 4, 0.3, 0.45, 6
    rng = np.random.default_rng(55)
    strides = [8, 16]
    anchors = [[4, 6, 8, 10, 12, 8], [16, 12, 20, 24, 28, 20]]
    per = 5 + classes + m
    heads = []
    for s in strides:
        t = rng.normal(0, 1.5, size=(1, size // s, size // s, 3, per))
        t[..., :4] *= 0.3  # boxes near their cells: none clipped to nothing at the border
        t[..., 4] += 1.0  # objectness: some confident cells
        heads.append(t.reshape(1, size // s, size // s, 3 * per).astype(np.float32))
    proto = rng.normal(0, 1.5, size=(1, 8, 8, m)).astype(np.float32)
    boxes, scores, coeffs = yolo_decode(heads, strides, anchors, size, classes, m)
    inst = []
    for c in range(classes):
        idx = np.nonzero(scores[:, c] >= th)[0]
        assert np.abs(scores[:, c] - th).min() > 1e-5
        inst += [(scores[idx[k], c], c, idx[k]) for k in class_nms(boxes[idx], scores[idx, c], iou_th)]
    inst.sort(key=lambda r: -r[0])  # stable: ties keep class, then box order
    inst = inst[:top]
    out = np.zeros((1, 1, top, 6 + size * size))
    margin = 1.0
    for n, (score, c, i) in enumerate(inst):
        low = 1 / (1 + np.exp(-(proto[0].astype(np.float64) @ coeffs[i])))
        up = cv2.resize(low.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
        y0, x0, y1, x1 = boxes[i] * size
        ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        inside = (ys >= y0) & (ys < y1) & (xs >= x0) & (xs < x1)
        margin = min(margin, np.abs(up[inside] - 0.5).min(initial=1.0))
        out[0, 0, n, :6] = [*boxes[i], score, c]
        out[0, 0, n, 6:] = (inside & (up > 0.5)).reshape(-1)
    assert len(inst) == top and margin > 1e-4, (len(inst), margin)
    save("yolov5_seg.json", {"image": size, "classes": classes, "strides": strides,
                             "anchors": anchors, "score_th": th, "iou_th": iou_th,
                             "max_total_proposals": top,
                             "heads": [{"shape": list(h.shape), "data": h.reshape(-1).tolist()} for h in heads],
                             "proto": {"shape": list(proto.shape), "data": proto.reshape(-1).tolist()},
                             "expected": out.reshape(-1).tolist()})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    jobs = {"color": color, "resize": resize, "nms": nms, "yolo": yolo, "centernet": centernet,
            "yolov5_seg": yolov5_seg}
    for name in sys.argv[1:] or list(jobs):
        jobs[name]()
