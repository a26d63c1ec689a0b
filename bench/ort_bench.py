"""Throughput of hailo-executor vs onnxruntime, run side by side and interleaved.

Dev-only (onnxruntime is never a runtime dependency of the project). Setup once, in a
private venv:
    python3 -m venv /tmp/venv-bench && /tmp/venv-bench/bin/pip install onnxruntime onnx numpy
Run from the repository root:
    /tmp/venv-bench/bin/python bench/ort_bench.py [--seconds 1] [--repeat 3] \\
        [--float resnet18,mobilenet_v2,yolo_like_320] [--integer resnet18,mobilenet_v2]

Our side is the `emulation` bench of hailo-quantizer in serve mode (built with
`cargo bench --no-run`, or given with --binary): one process that prepares each model
once (float, and quantized a8_w8 on 16 calibration images for integer) and answers one
measurement request at a time. For every repeat and every setting (model, float|integer,
threads 1 and 2, batch 1 and 8) it measures ours and then onnxruntime on the same inputs,
so both see the same machine load; model load and preparation are excluded on both sides.

onnxruntime runs the model with a dynamic batch axis (CPUExecutionProvider,
intra_op_num_threads = threads). Its integer peer is a QDQ model from
`onnxruntime.quantization.quantize_static` (per-channel int8 weights, uint8 activations,
MinMax on the same 16 calibration images), written to --qdq-dir.

Prints, per setting, the best images/s of each side and two ratios ours / onnxruntime:
of the best runs, and the median of the per-repeat ratios (robust to load changes).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort

ort.set_default_logger_severity(3)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(ROOT, "..", "shared", "models")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def dynamic_batch(m):
    """`m` with dimension 0 of every graph input and output made symbolic."""
    for v in list(m.graph.input) + list(m.graph.output):
        dims = v.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "N"
    return m


def calibration_nchw():
    """The 16 normalized calibration images the emulation bench quantizes with, NCHW."""
    x = np.load(os.path.join(MODELS_DIR, "calib_image_like_224.npz"))["images"][:16]
    x = (x.astype(np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def qdq_model(model, qdq_dir):
    """Path of onnxruntime's QDQ int8 model of `model`, made once."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    path = os.path.join(qdq_dir, model + "_qdq.onnx")
    if os.path.exists(path):
        return path
    os.makedirs(qdq_dir, exist_ok=True)
    fp32 = os.path.join(qdq_dir, model + "_dyn.onnx")
    onnx.save(dynamic_batch(onnx.load(os.path.join(MODELS_DIR, model + ".onnx"))), fp32)
    name = onnx.load(fp32).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{name: x[None]} for x in calibration_nchw()])

        def get_next(self):
            return next(self.it, None)

    quantize_static(fp32, path, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return path


class Ours:
    """The emulation bench in serve mode."""

    def __init__(self, binary):
        env = dict(os.environ, HAILO_BENCH_SERVE="1")
        cmd = [binary] if binary else ["cargo", "bench", "-q", "-p", "hailo-quantizer",
                                        "--bench", "emulation"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def images_per_second(self, model, kind, batch, threads, seconds):
        self.proc.stdin.write(f"{model} {kind} {batch} {threads} {seconds}\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])["ips"]
            if line.startswith("ERROR"):
                raise SystemExit(line)
        raise SystemExit("the emulation bench exited")


class Peer:
    """onnxruntime sessions, one per (model, kind, threads)."""

    def __init__(self, qdq_dir):
        self.qdq_dir = qdq_dir
        self.sessions = {}

    def session(self, model, kind, threads):
        key = (model, kind, threads)
        if key not in self.sessions:
            if kind == "integer":
                source = qdq_model(model, self.qdq_dir)
            else:
                source = dynamic_batch(onnx.load(os.path.join(MODELS_DIR, model + ".onnx")))
                source = source.SerializeToString()
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            self.sessions[key] = ort.InferenceSession(source, opts,
                                                      providers=["CPUExecutionProvider"])
        return self.sessions[key]

    def images_per_second(self, model, kind, batch, threads, seconds):
        sess = self.session(model, kind, threads)
        name = sess.get_inputs()[0].name
        x = np.load(os.path.join(MODELS_DIR, model + "_ref.npz"))[name]
        xb = np.ascontiguousarray(np.concatenate([x[i % len(x)][None] for i in range(batch)]),
                                  dtype=np.float32)
        feed = {name: xb}
        sess.run(None, feed)
        runs, start = 0, time.perf_counter()
        while runs < 3 or time.perf_counter() - start < seconds:
            sess.run(None, feed)
            runs += 1
        return runs * batch / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=1.0, help="time per setting and side")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--float", default="resnet18,mobilenet_v2,yolo_like_320")
    p.add_argument("--integer", default="resnet18,mobilenet_v2")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--batches", default="1,8")
    p.add_argument("--binary", help="a built emulation bench (default: cargo bench)")
    p.add_argument("--qdq-dir", default="/tmp/hailo-ort-qdq")
    args = p.parse_args()
    settings = [(m, kind, b, t)
                for kind, models in (("float", args.float), ("integer", args.integer))
                for m in filter(None, models.split(","))
                for t in map(int, args.threads.split(","))
                for b in map(int, args.batches.split(","))]
    ours, peer = Ours(args.binary), Peer(args.qdq_dir)
    samples = {s: ([], []) for s in settings}
    for _ in range(args.repeat):
        for s in settings:
            samples[s][0].append(ours.images_per_second(*s, args.seconds))
            samples[s][1].append(peer.images_per_second(*s, args.seconds))
    print(f"onnxruntime {ort.__version__}; {args.repeat} interleaved repeats of {args.seconds} s; "
          "ratio = hailo-executor / onnxruntime images/s")
    print(f"{'model':<16} {'kind':<8} {'threads':>7} {'batch':>5} {'ours':>9} {'ort':>9} "
          f"{'best':>6} {'median':>6}")
    for (m, kind, b, t), (h, o) in samples.items():
        median = statistics.median(a / c for a, c in zip(h, o))
        print(f"{m:<16} {kind:<8} {t:>7} {b:>5} {max(h):9.1f} {max(o):9.1f} "
              f"{max(h) / max(o):6.2f} {median:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
