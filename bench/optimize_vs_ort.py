#!/usr/bin/env python3
"""Dev-only (issue 19): wall time and peak memory of `hailo optimize` (a8_w8, default script)
against onnxruntime's `quantize_static` (QDQ, MinMax, per-channel int8 weights, uint8
activations) on the same model and the same calibration images, each in its own process,
runs interleaved. Prints a markdown table and the ratios ours / onnxruntime.

    python bench/optimize_vs_ort.py --hailo target/release/hailo --model resnet18 --images 64

Needs numpy, onnx and onnxruntime (a venv: python3 -m venv v && v/bin/pip install onnxruntime
onnx numpy) and GNU time (/usr/bin/time). Not part of any test.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "models")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)

ORT_QUANTIZE = """
import sys, numpy as np
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)
src, calib, dst = sys.argv[1:4]
x = np.load(calib)
class Reader(CalibrationDataReader):
    def __init__(self):
        import onnx
        self.name = onnx.load(src).graph.input[0].name
        self.items = iter(range(len(x)))
    def get_next(self):
        i = next(self.items, None)
        return None if i is None else {self.name: x[i:i + 1]}
quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax)
"""


def timed(cmd):
    """(wall seconds, peak resident MiB) of one run of `cmd` under GNU time."""
    out = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, capture_output=True,
                         text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    line = [l for l in out.stderr.splitlines() if l.startswith("TIME ")][-1]
    _, wall, kib = line.split()
    return float(wall), int(kib) / 1024.0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hailo", default="target/release/hailo")
    p.add_argument("--model", default="resnet18")
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--repeat", type=int, default=2)
    a = p.parse_args()
    imgs = np.load(f"{MODELS}/calib_image_like_224.npz")["images"][: a.images]
    nhwc = ((imgs.astype(np.float32) / 255.0 - MEAN) / STD).astype(np.float32)
    src = os.path.abspath(f"{MODELS}/{a.model}.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/calib_nhwc.npy", nhwc)
        np.save(f"{tmp}/calib_nchw.npy", np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2)))
        subprocess.run([a.hailo, "--quiet", "parser", "onnx", src, "--har-path",
                        f"{tmp}/m.har"], check=True)
        ours = [a.hailo, "--quiet", "optimize", f"{tmp}/m.har", "--calib-set-path",
                f"{tmp}/calib_nhwc.npy", "-o", f"{tmp}/m_q.har"]
        peer = [sys.executable, "-c", ORT_QUANTIZE, src, f"{tmp}/calib_nchw.npy",
                f"{tmp}/m_qdq.onnx"]
        runs = {"ours": [], "ort": []}
        for _ in range(a.repeat):
            runs["ours"].append(timed(ours))
            runs["ort"].append(timed(peer))
    med = {k: (statistics.median(t for t, _ in v), max(m for _, m in v)) for k, v in runs.items()}
    print(f"{a.model}, {a.images} images, {a.repeat} interleaved runs (median wall, max peak RSS)")
    print("| tool | wall (s) | peak RSS (MiB) |")
    print("|---|---|---|")
    print(f"| hailo optimize (a8_w8) | {med['ours'][0]:.2f} | {med['ours'][1]:.0f} |")
    print(f"| onnxruntime quantize_static | {med['ort'][0]:.2f} | {med['ort'][1]:.0f} |")
    print(f"ratios ours/ort: wall {med['ours'][0] / med['ort'][0]:.2f}, "
          f"memory {med['ours'][1] / med['ort'][1]:.2f}")


if __name__ == "__main__":
    main()
