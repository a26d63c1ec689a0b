#!/usr/bin/env python3
"""Exports the ONNX backend node test cases of the operators our ONNX frontend supports.

Dev-only (never a runtime dependency). Run from the repository root:

    .venv/bin/pip install onnx==1.23.2 numpy
    .venv/bin/python tests/conformance/export_onnx_node_tests.py

The `onnx` wheel ships the case generators (`onnx.backend.test.case.node`); this script runs
them in-process and writes, per case whose nodes all use supported operators,
`cases/<case>/model.onnx` plus `cases/<case>/data.npz` (runtime inputs `input_i`, expected
outputs `output_i`, all float32; data set 0 only).

Parameters the Hailo parser needs as constants (weights, shapes, axes, pads, scales, ...) are
graph inputs in many node tests; since the test data are fixed, every non-activation input
(see `runtime_inputs`) is baked into the model as an initializer, so the conversion sees what
an exported network would carry. Cases whose tensors exceed `MAX_ELEMENTS` are skipped to keep
the committed suite small; skipped cases are listed on stdout.
"""

import os
import shutil
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.case import node as node_cases

PINNED_ONNX = "1.23.2"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")
MAX_ELEMENTS = 8000

# frontends/onnx/src/to_hl/supported.rs (SUPPORTED); `Constant` nodes are folded by the loader.
SUPPORTED = {
    "Conv", "ConvTranspose", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool",
    "GlobalMaxPool", "BatchNormalization", "Relu", "LeakyRelu", "Elu", "Sigmoid", "Tanh",
    "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Mish", "Gelu", "Exp", "Log", "Sqrt",
    "Abs", "Neg", "Reciprocal", "Clip", "PRelu", "Add", "Sub", "Mul", "Div", "Max", "Min", "Pow",
    "Equal", "Greater", "Less", "Concat", "Split", "Slice", "Reshape", "Flatten", "Squeeze",
    "Unsqueeze", "Transpose", "Resize", "Upsample", "DepthToSpace", "SpaceToDepth", "Softmax",
    "LogSoftmax", "ArgMax", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceMean",
    "ReduceSumSquare", "ReduceL2", "Pad", "Identity", "Dropout", "LayerNormalization",
    "InstanceNormalization", "LpNormalization", "Gather", "Einsum", "OneHot",
}
IGNORED = {"Constant"}
# Operators whose every float input is an activation (kept as a runtime input).
ALL_ACTIVATIONS = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Equal", "Greater", "Less", "Concat"}


def runtime_inputs(model, inputs):
    """Indices of the graph inputs that stay runtime inputs (the data input 0, and every input
    of element-wise/concat graphs, whatever its dtype); the rest become initializers."""
    ops = {n.op_type for n in model.graph.node}
    keep = []
    for i, x in enumerate(inputs):
        if i == 0 or (ops <= ALL_ACTIVATIONS | IGNORED and np.asarray(x).dtype != bool):
            keep.append(i)
    return keep


def export(case):
    model = case.model
    ops = {n.op_type for n in model.graph.node}
    if not ops - IGNORED or not ops <= SUPPORTED | IGNORED:
        return "unsupported"
    inputs, outputs = case.data_sets[0]
    arrays = [np.asarray(a) for a in list(inputs) + list(outputs)]
    if any(a.dtype == object for a in arrays):
        return "non-tensor data"
    if max((a.size for a in arrays), default=0) > MAX_ELEMENTS:
        return f"tensors over {MAX_ELEMENTS} elements"
    keep = runtime_inputs(model, inputs)
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    all_inputs = list(graph.input)
    del graph.input[:]
    for i, vi in enumerate(all_inputs):
        if i in keep:
            graph.input.append(vi)
        else:
            graph.initializer.append(numpy_helper.from_array(np.asarray(inputs[i]), vi.name))
    data = {f"input_{k}": np.asarray(inputs[i]).astype(np.float32) for k, i in enumerate(keep)}
    for k, o in enumerate(outputs):
        data[f"output_{k}"] = np.asarray(o).astype(np.float32)
    d = os.path.join(OUT, case.name)
    os.makedirs(d)
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    np.savez_compressed(os.path.join(d, "data.npz"), **data)
    return None


def main():
    if onnx.__version__ != PINNED_ONNX:
        sys.exit(f"onnx {onnx.__version__} found; the suite is pinned to onnx=={PINNED_ONNX}")
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    exported, skipped = 0, {}
    # The generators draw random data from numpy's global generator: seed it so a re-export
    # reproduces the committed files byte for byte.
    np.random.seed(0)
    for case in sorted(node_cases.collect_testcases(None), key=lambda c: c.name):
        why = export(case)
        if why is None:
            exported += 1
        elif why != "unsupported":
            skipped.setdefault(why, []).append(case.name)
    print(f"exported {exported} cases to {OUT}")
    for why, names in sorted(skipped.items()):
        print(f"skipped ({why}): {' '.join(names)}")


if __name__ == "__main__":
    main()
