#!/usr/bin/env python3
"""Dev-only: onnxruntime's static quantization on the same data as our
`cargo run --release -p hailo-quantizer --example snr_per_model`.

For every ONNX model in shared/models: quantize_static (QDQ, MinMax calibration) per-channel
and per-tensor on the first <=64 calibration samples, run the float and quantized models on
the evaluation set (digits_test for the digits models, the *_ref.npz inputs otherwise), and
print output SNR = 10*log10(sum y^2 / sum (y - yq)^2) over all outputs, as a markdown table.
With --issue16: issue 16's protocol sample counts instead (the first 32 calibration images,
or the 256 digits samples), as `snr_per_model` uses. With --a16w8: 16-bit activations (QUInt16) and 8-bit weights instead, to compare with
`snr_per_model --mode=a16_w8`.

Needs numpy, onnx, onnxruntime (e.g. /work/main/.venv). Not part of any test.
"""
import os
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "models")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
NAMES = ["digits_cnn_opset13", "digits_mbv2", "mobilenet_v2", "resnet18", "squeezenet1_1",
         "yolo_like_320"]


def data(name):
    """(calibration NCHW, evaluation NCHW), matching the Rust example."""
    if name.startswith("digits"):
        return (np.load(f"{MODELS}/digits_calib.npz")["x_nchw"],
                np.load(f"{MODELS}/digits_test.npz")["x_nchw"])
    yolo = name == "yolo_like_320"
    imgs = np.load(f"{MODELS}/calib_image_like_{320 if yolo else 224}.npz")["images"]
    x = imgs.astype(np.float32) / 255.0
    if not yolo:
        x = (x - MEAN) / STD
    ref = np.load(f"{MODELS}/{name}_ref.npz")
    return (x.transpose(0, 3, 1, 2).astype(np.float32),
            ref["images" if yolo else "input"].astype(np.float32))


class Reader(CalibrationDataReader):
    def __init__(self, input_name, x):
        self.items = iter([{input_name: x[i:i + 1]} for i in range(len(x))])

    def get_next(self):
        return next(self.items, None)


def run(path, input_name, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    outs = [sess.run(None, {input_name: x[i:i + 1]}) for i in range(len(x))]
    return [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]


def snr(ref, approx):
    sig = sum(float(np.sum(r.astype(np.float64) ** 2)) for r in ref)
    noise = sum(float(np.sum((r.astype(np.float64) - a) ** 2)) for r, a in zip(ref, approx))
    return float("inf") if noise == 0 else 10 * np.log10(sig / noise)


def main():
    args = sys.argv[1:]
    a16 = "--a16w8" in args
    issue16 = "--issue16" in args
    names = [a for a in args if not a.startswith("--")] or NAMES
    act = QuantType.QUInt16 if a16 else QuantType.QUInt8
    bits = "a16w8 " if a16 else ""
    print(f"| model | calib | eval | ORT {bits}per-channel MinMax (dB) | ORT {bits}per-tensor MinMax (dB) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            src = f"{MODELS}/{name}.onnx"
            calib, ev = data(name)
            calib = calib[:(256 if name.startswith("digits") else 32) if issue16 else 64]
            pre = f"{tmp}/{name}_pre.onnx"
            quant_pre_process(src, pre, skip_symbolic_shape=True)
            input_name = ort.InferenceSession(src).get_inputs()[0].name
            ref = run(src, input_name, ev)
            row = []
            for per_channel in (True, False):
                q = f"{tmp}/{name}_{per_channel}.onnx"
                quantize_static(pre, q, Reader(input_name, calib), quant_format=QuantFormat.QDQ,
                                per_channel=per_channel, activation_type=act,
                                weight_type=QuantType.QInt8,
                                calibrate_method=CalibrationMethod.MinMax,
                                # 16-bit Q/DQ needs opset 21 or the com.microsoft ops.
                                extra_options={"UseQDQContribOps": a16})
                row.append(snr(ref, run(q, input_name, ev)))
            print(f"| {name} | {len(calib)} | {len(ev)} | {row[0]:.2f} | {row[1]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
