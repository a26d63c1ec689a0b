"""Writes onnxruntime's predicted labels on digits_test.npz for the digits models.

Dev-only (never a runtime dependency): run with a venv holding onnxruntime, e.g.
    /work/main/.venv/bin/pip install onnxruntime==1.31.1
    /work/main/.venv/bin/python tests/data/ort_digits_predictions.py
Output: tests/data/<model>_ort_pred.npy (int64 labels, one per test sample), compared by
tests/tests/digits_accuracy.rs with the interpreter's predictions.
"""
import os
import sys

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "..", "shared", "models")


def main():
    data = np.load(os.path.join(MODELS, "digits_test.npz"))
    x, y = data["x_nchw"], data["y"]
    for name in ["digits_cnn_opset13", "digits_cnn_opset17", "digits_mbv2"]:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(os.path.join(MODELS, name + ".onnx"), opts, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0].name
        pred = np.array([int(np.argmax(sess.run(None, {inp: x[i : i + 1]})[0])) for i in range(len(x))], dtype=np.int64)
        np.save(os.path.join(HERE, name + "_ort_pred.npy"), pred)
        print(f"{name}: accuracy {100.0 * np.mean(pred == y):.2f}% on {len(y)} samples (onnxruntime {ort.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
