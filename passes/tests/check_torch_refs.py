#!/usr/bin/env python3
"""Dev-only: checks the committed resize and NMS goldens of passes/tests/golden against PyTorch
(`torch.nn.functional.interpolate`) and torchvision (`torchvision.ops.nms`), so the Rust golden
tests (golden.rs, yolo_nms.rs) compare our passes and interpreter with torch's results. Not run
by CI (torch is a 500 MB wheel plus its CUDA libraries); exits non-zero on any mismatch.

Setup (pinned; PyPI has only CUDA builds of torch for Linux, which run on the CPU here):
    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.15.0 torchvision==0.29.2 numpy==2.4.6 \
        opencv-python-headless==5.0.0.93 onnxruntime==1.31.1
    /tmp/torchenv/bin/python passes/tests/check_torch_refs.py

- resize.json: every case (bilinear with half pixels = align_corners=False, bilinear with
  align corners, nearest = mode='nearest') equals interpolate's output within 1e-5;
- nms.json: the kept indices equal torchvision.ops.nms at each IoU threshold;
- yolo_like_320_nms.npz: the detections of the real detector, recomputed with
  torchvision.ops.nms as the per-class NMS, equal the committed ones (same boxes, scores,
  classes and ranks).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_golden as g  # noqa: E402

GOLDEN = g.OUT


def load(name):
    with open(os.path.join(GOLDEN, name)) as f:
        return json.load(f)


def check_resize():
    r = load("resize.json")
    x = torch.tensor(r["input"], dtype=torch.float32).reshape(r["shape"]).permute(0, 3, 1, 2)
    worst = 0.0
    for case in r["cases"]:
        size = tuple(case["size"])
        if case["method"] == "nearest_neighbor":
            y = F.interpolate(x, size=size, mode="nearest")
        else:
            y = F.interpolate(x, size=size, mode="bilinear",
                              align_corners=case["pixels_mode"] == "align_corners")
        got = y.permute(0, 2, 3, 1).reshape(-1).numpy()
        diff = float(np.abs(got - np.array(case["expected"], np.float32)).max())
        worst = max(worst, diff)
        assert diff <= 1e-5, (case["method"], case["pixels_mode"], size, diff)
    print(f"resize: {len(r['cases'])} cases equal torch interpolate (max abs diff {worst:.1e})")


def torch_nms(boxes, scores, iou_th):
    """torchvision.ops.nms on [y0, x0, y1, x1] boxes (it takes [x0, y0, x1, y1])."""
    b = torch.tensor(np.asarray(boxes)[:, [1, 0, 3, 2]], dtype=torch.float64)
    return torchvision.ops.nms(b, torch.tensor(np.asarray(scores), dtype=torch.float64), iou_th).tolist()


def check_nms():
    n = load("nms.json")
    boxes = np.array(n["boxes"]).reshape(-1, 4)
    for case in n["cases"]:
        keep = torch_nms(boxes, n["scores"], case["iou_threshold"])
        assert keep == case["keep"], case["iou_threshold"]
    print(f"nms: {len(n['cases'])} thresholds keep exactly torchvision.ops.nms's boxes")


def check_yolo():
    committed = np.load(os.path.join(GOLDEN, "yolo_like_320_nms.npz"))
    det, _, _ = g.yolo_detections(torch_nms)
    for key in ["images", "index", "candidates"]:
        assert np.array_equal(det[key], committed[key]), key
    for key in ["boxes", "scores"]:
        assert np.abs(det[key] - committed[key]).max() <= 1e-6, key
    print(f"yolo_like_320: {len(det['index'])} detections equal torchvision.ops.nms's")


if __name__ == "__main__":
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    check_resize()
    check_nms()
    check_yolo()
