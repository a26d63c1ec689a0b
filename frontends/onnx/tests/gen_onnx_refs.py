"""Reference outputs for the numeric tests of the ONNX -> hl conversion (to_hl_numerics.rs).

For each model below (the tiny fixtures the Rust ONNX builder writes to
lit-tests/onnx/Inputs/<name>.onnx), draws deterministic inputs, runs onnxruntime (or, for the
models in REFERENCE_EVALUATOR that onnxruntime refuses -- its CPU recurrent kernels reject
layout = 1 -- the ONNX reference evaluator, onnx.reference) and writes
frontends/onnx/tests/data/refs/<name>.npz with

  x0, x1, ...  the graph inputs, in graph order (ONNX layout, float32)
  y0, y1, ...  the graph outputs, in graph order (ONNX layout, float32)
  model_md5    the MD5 of the .onnx bytes (uint8[16]); the Rust test fails when the fixture
               changed after the reference was made

Run from the workspace root after regenerating the lit inputs:

  HAILO_REGEN_LIT_INPUTS=1 cargo test -p hailo-onnx --test to_hl_patterns
  .venv/bin/python frontends/onnx/tests/gen_onnx_refs.py
"""

import hashlib
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parents[3]
INPUTS = ROOT / "lit-tests" / "onnx" / "Inputs"
OUT = pathlib.Path(__file__).resolve().parent / "data" / "refs"

MODELS = [
    "se_conv",
    "se_gemm",
    "lstm",
    "lstm_bidir",
    "gru",
    "gru_lbr",
    "rnn",
    "rnn_batch_first",
    "mha",
    "conv1d",
]

# onnxruntime: "Batchwise recurrent operations (layout == 1) are not supported".
REFERENCE_EVALUATOR = {"rnn_batch_first"}


def shape_of(value_info):
    return [d.dim_value for d in value_info.type.tensor_type.shape.dim]


def main(names):
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names:
        data = (INPUTS / f"{name}.onnx").read_bytes()
        model = onnx.load_from_string(data)
        rng = np.random.default_rng(sum(data) % (2**32))
        feeds = {
            i.name: rng.uniform(-1.0, 1.0, shape_of(i)).astype(np.float32)
            for i in model.graph.input
        }
        out_names = [o.name for o in model.graph.output]
        if name in REFERENCE_EVALUATOR:
            from onnx.reference import ReferenceEvaluator

            outs = ReferenceEvaluator(model).run(out_names, feeds)
        else:
            sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
            outs = sess.run(out_names, feeds)
        arrays = {f"x{k}": feeds[i.name] for k, i in enumerate(model.graph.input)}
        arrays.update({f"y{k}": np.asarray(o, np.float32) for k, o in enumerate(outs)})
        arrays["model_md5"] = np.frombuffer(hashlib.md5(data).digest(), np.uint8)
        np.savez(OUT / f"{name}.npz", **arrays)
        print(f"{name}: {len(feeds)} input(s), {len(outs)} output(s)")


if __name__ == "__main__":
    main(sys.argv[1:] or MODELS)
