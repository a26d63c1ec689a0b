"""Throughput of onnxruntime vs the hailo-executor interpreter on the same models and settings.

Dev-only (onnxruntime is never a runtime dependency of the project). Setup once:
    /work/main/.venv/bin/pip install onnxruntime==1.31.1 onnx==1.23.2
Run from the repository root:
    /work/main/.venv/bin/python bench/ort_bench.py [--seconds 2] [--models resnet18,...]
For each model it runs `cargo bench -p hailo-executor --bench models` restricted to that model
(the interpreter's numbers, parsed from its RESULT lines), then onnxruntime
(CPUExecutionProvider, intra_op_num_threads 1 and 2, batch 1 and 8 on a copy of the model
whose batch axis is made dynamic), `--repeat` times, keeping each side's best images/s (the
machine is shared, so the best run is the least disturbed one); then prints both and the
ratio interpreter / onnxruntime, and the interpreter's peak memory.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(ROOT, "..", "shared", "models")
MODELS = ["resnet18", "mobilenet_v2", "squeezenet1_1", "digits_cnn_opset13"]


def interp_results(model, seconds):
    """The interpreter's RESULT records for `model` (throughput and memory)."""
    env = dict(os.environ, HAILO_BENCH_MODELS=model, HAILO_BENCH_SECONDS=str(seconds))
    proc = subprocess.run(
        ["cargo", "bench", "-q", "-p", "hailo-executor", "--bench", "models"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit("cargo bench failed")
    return [json.loads(l[len("RESULT "):]) for l in proc.stdout.splitlines() if l.startswith("RESULT ")]


def dynamic_batch(path):
    """The model's bytes with dimension 0 of every graph input and output made symbolic."""
    m = onnx.load(path)
    for v in list(m.graph.input) + list(m.graph.output):
        dims = v.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "N"
    return m.SerializeToString()


def ort_images_per_second(model_bytes, x, threads, seconds):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x}
    sess.run(None, feed)
    runs, start = 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - start < seconds:
        sess.run(None, feed)
        runs += 1
    return runs * x.shape[0] / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=2.0, help="time per setting and side")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--models", default=",".join(MODELS))
    args = p.parse_args()
    best = {}  # (model, threads, batch) -> [interp, ort]
    memory = {}
    for model in args.models.split(","):
        x = np.load(os.path.join(MODELS_DIR, model + "_ref.npz"))["input"]
        model_bytes = dynamic_batch(os.path.join(MODELS_DIR, model + ".onnx"))
        for _ in range(args.repeat):
            for r in interp_results(model, args.seconds):
                if "peak_mib" in r:
                    memory[model] = r
                else:
                    e = best.setdefault((model, r["threads"], r["batch"]), [0.0, 0.0])
                    e[0] = max(e[0], r["images_per_s"])
            for threads in (1, 2):
                for batch in (1, 8):
                    xb = np.concatenate([x[i % len(x)][None] for i in range(batch)]).astype(np.float32)
                    e = best.setdefault((model, threads, batch), [0.0, 0.0])
                    e[1] = max(e[1], ort_images_per_second(model_bytes, xb, threads, args.seconds))
    print(f"onnxruntime {ort.__version__}; best of {args.repeat}; ratio = hailo-executor / onnxruntime images/s")
    print(f"{'model':<20} {'threads':>7} {'batch':>5} {'interp':>9} {'ort':>9} {'ratio':>6}")
    for (model, threads, batch), (h, o) in best.items():
        print(f"{model:<20} {threads:>7} {batch:>5} {h:9.1f} {o:9.1f} {h / o:6.2f}")
    for model, r in memory.items():
        print(f"{model}: peak RSS {r['peak_mib']:.1f} MiB at batch 8 vs weights + two largest activations "
              f"{r['bound_mib']:.1f} MiB (ratio {r['peak_mib'] / r['bound_mib']:.2f}, target <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
