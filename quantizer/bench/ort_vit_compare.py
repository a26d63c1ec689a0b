#!/usr/bin/env python3
"""Dev-only: digits_vit quantized by this project (`hailo optimize`, a8_w8 default) against
onnxruntime's `quantize_static`, on the same calibration data, in the same run.

Calibration: the first 64 samples of digits_calib.npz for both. Reported per configuration:
output SNR = 10*log10(sum y^2 / sum (y - yq)^2) on the 4 reference inputs of digits_vit_ref.npz
(y = the reference outputs), the same SNR over the logits of all 359 samples of digits_test.npz
(y = onnxruntime's float logits; four inputs are a noisy measure), and top-1 accuracy on
digits_test.npz. onnxruntime runs in
several configurations (QDQ, u8 activations / s8 weights, per-channel and per-tensor, MinMax /
Entropy / Percentile calibration); the best of them is the bar.

Usage: HAILO=/path/to/release/hailo python quantizer/bench/ort_vit_compare.py
Needs numpy, onnx, onnxruntime (a private venv, e.g. /work/venv-vit). Not part of any test.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

MODELS = os.environ.get("HAILO_MODELS",
                        os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "models"))
NAME = "digits_vit"
CALIB = 64


class Reader(CalibrationDataReader):
    def __init__(self, input_name, x):
        self.items = iter([{input_name: x[i:i + 1]} for i in range(len(x))])

    def get_next(self):
        return next(self.items, None)


def run(path, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


def snr(ref, approx):
    ref = ref.astype(np.float64)
    noise = float(np.sum((ref - approx.astype(np.float64)) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(ref ** 2)) / noise)


def accuracy(logits, labels):
    return 100.0 * float(np.mean(np.argmax(logits, axis=-1) == labels))


def ours(tmp, ref_x, test):
    """(SNR, accuracy) of `hailo optimize` + quantized emulation."""
    hailo = os.environ.get("HAILO", "hailo")
    har, qhar = f"{tmp}/vit.har", f"{tmp}/vit_q.har"
    calib = f"{tmp}/calib.npz"
    np.savez(calib, x_nhwc=np.load(f"{MODELS}/digits_calib.npz")["x_nhwc"][:CALIB])
    sh = lambda *a: subprocess.run([hailo, "--quiet", *a], check=True, capture_output=True)
    sh("parser", "onnx", f"{MODELS}/{NAME}.onnx", "--har-path", har)
    sh("optimize", har, "--calib-set-path", calib, "-o", qhar)
    outs = []
    for key, x, layout in (("input", ref_x, "nchw"), ("x_nchw", test, "nchw")):
        src, dst = f"{tmp}/in.npz", f"{tmp}/out.npz"
        np.savez(src, **{key: x})
        sh("infer", qhar, "--context", "quantized", "--input", src, "--input-key", key,
           "--input-layout", layout, "-o", dst)
        outs.append(np.load(dst)["logits"])
    return outs


def main():
    ref = np.load(f"{MODELS}/{NAME}_ref.npz")
    ref_x, ref_y = ref["input"].astype(np.float32), ref["logits"]
    t = np.load(f"{MODELS}/digits_test.npz")
    test, labels = t["x_nchw"].astype(np.float32), t["y"]
    calib = np.load(f"{MODELS}/digits_calib.npz")["x_nchw"][:CALIB].astype(np.float32)
    src = f"{MODELS}/{NAME}.onnx"
    float_test = run(src, test)
    print(f"float (onnxruntime): accuracy {accuracy(float_test, labels):.2f}%")
    print("| configuration | SNR on digits_vit_ref (dB) | test-logits SNR (dB) | digits_test accuracy |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        q_ref, q_test = ours(tmp, ref_x, test)
        print(f"| hailo optimize a8_w8 (this project) | {snr(ref_y, q_ref):.2f} | "
              f"{snr(float_test, q_test):.2f} | {accuracy(q_test, labels):.2f}% |", flush=True)
        pre = f"{tmp}/pre.onnx"
        quant_pre_process(src, pre, skip_symbolic_shape=True)
        input_name = ort.InferenceSession(src).get_inputs()[0].name
        best, best_test = -np.inf, -np.inf
        for method in (CalibrationMethod.MinMax, CalibrationMethod.Entropy,
                       CalibrationMethod.Percentile):
            for per_channel in (True, False):
                q = f"{tmp}/q_{method.name}_{per_channel}.onnx"
                quantize_static(pre, q, Reader(input_name, calib), quant_format=QuantFormat.QDQ,
                                per_channel=per_channel, activation_type=QuantType.QUInt8,
                                weight_type=QuantType.QInt8, calibrate_method=method)
                s = snr(ref_y, run(q, ref_x))
                best = max(best, s)
                q_test_ort = run(q, test)
                best_test = max(best_test, snr(float_test, q_test_ort))
                acc = accuracy(q_test_ort, labels)
                kind = "per-channel" if per_channel else "per-tensor"
                print(f"| onnxruntime quantize_static QDQ u8/s8 {kind} {method.name} | {s:.2f} | "
                      f"{snr(float_test, q_test_ort):.2f} | {acc:.2f}% |", flush=True)
        print(f"best onnxruntime SNR: {best:.2f} dB (test logits {best_test:.2f} dB); "
              f"this project: {snr(ref_y, q_ref):.2f} dB (test logits {snr(float_test, q_test):.2f} dB)")


if __name__ == "__main__":
    sys.exit(main())
