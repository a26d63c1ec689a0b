#!/usr/bin/env python3
"""Dev-only: writes the golden references of passes/tests/golden.rs from libraries outside the
project (OpenCV for color/format conversions, resize and NMS; numpy formulas where OpenCV has no
equivalent). Not run by CI; the JSON outputs are committed.

Setup (pinned):
    python3 -m venv /tmp/goldenvenv
    /tmp/goldenvenv/bin/pip install numpy==2.2.6 opencv-python-headless==4.11.0.86
    /tmp/goldenvenv/bin/python passes/tests/gen_golden.py

torch / torchvision were not installable here (the CPU wheel index is unreachable), so:
- bilinear resize with half pixels and nearest resize use cv2.resize (INTER_LINEAR and
  INTER_NEAREST follow the same formulas as torch interpolate with align_corners=False and
  mode='nearest'); bilinear with align corners uses the numpy implementation below;
- NMS uses cv2.dnn.NMSBoxes, cross-checked against the numpy greedy NMS below.
"""
import json
import os

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


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    color()
    resize()
    nms()
