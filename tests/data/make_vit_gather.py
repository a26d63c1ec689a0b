#!/usr/bin/env python3
"""Writes a small ViT in the structure of torchvision's `vit_b_16` ONNX export, and its
onnxruntime reference outputs, for `tests/tests/vit_gather.rs`.

Dev-only (never a runtime dependency). Run from the repository root:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install onnx==1.23.2 onnxruntime numpy
    /tmp/venv/bin/python tests/data/make_vit_gather.py

Writes `tests/data/vit_gather.onnx` and `tests/data/vit_gather_ref.npz` (`image`, NCHW, and
`logits`). The graph is built with `onnx.helper` (no torch) in the node structure
`torch.onnx.export(vit_b_16, opset 17)` produces, with 2 encoder layers and small sizes:

* patch embedding: `Conv` (kernel = stride = patch), `Reshape` to [N, E, P], `Transpose`;
* the class token `Expand`ed and `Concat`ed in front, the position embedding `Add`ed;
* per layer: `LayerNormalization`; `nn.MultiheadAttention` with batch_first (sequence-first
  `Transpose`, the fused in-projection `MatMul` + `Add`, `Reshape` to [T, N, 3, E],
  `Unsqueeze`/`Transpose`/`Squeeze` to the stacked [3, T, N, E], and q, k, v taken with
  `Gather(indices=0/1/2, axis=0)`); heads split with `Reshape`/`Transpose`; attention as
  `scaled_dot_product_attention` exports it (`MatMul` of the scaled q and transposed k,
  `Softmax`, `MatMul` with v) in layer 0 and as `Einsum` (`bhid,bhjd->bhij`,
  `bhij,bhjd->bhid`) in layer 1; heads merged, out-projection `Gemm`; residual `Add`;
  `LayerNormalization`; MLP `MatMul` + `Add`, GELU as the exporter writes it (`Div`, `Erf`,
  `Add`, `Mul`, `Mul`), `MatMul` + `Add`; residual `Add`;
* the final `LayerNormalization`, the class token `Gather(indices=0, axis=1)` and the head
  `Gemm`.

Weights are fixed random values (seeded), so a re-run reproduces the files.
"""

import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGE, PATCH, CHANNELS = 16, 4, 3
HIDDEN, HEADS, MLP, LAYERS, CLASSES = 16, 2, 32, 2, 10
BATCH = 1
PATCHES = (IMAGE // PATCH) ** 2
TOKENS = PATCHES + 1
HEAD_DIM = HIDDEN // HEADS


class Graph:
    """Nodes and initializers under construction, with fresh tensor names."""

    def __init__(self, rng):
        self.rng = rng
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name, shape, scale=0.2):
        return self.const(name, (self.rng.standard_normal(shape) * scale).astype(np.float32))

    def ints(self, name, values):
        return self.const(name, np.array(values, dtype=np.int64))

    def op(self, op_type, inputs, name, **attrs):
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
        return out


def linear(g, x, prefix, cin, cout):
    """A torch `Linear` on rank-3 data: `MatMul` with Wᵀ, then `Add` of the bias."""
    w = g.weight(f"{prefix}.weight_t", (cin, cout))
    b = g.weight(f"{prefix}.bias", (cout,), 0.05)
    return g.op("Add", [g.op("MatMul", [x, w], f"{prefix}_matmul"), b], f"{prefix}_add")


def layer_norm(g, x, prefix):
    scale = g.const(f"{prefix}.weight", (1 + 0.1 * g.rng.standard_normal(HIDDEN)).astype(np.float32))
    bias = g.weight(f"{prefix}.bias", (HIDDEN,), 0.05)
    return g.op("LayerNormalization", [x, scale, bias], prefix, axis=-1, epsilon=1e-6)


def gelu(g, x, prefix):
    """GELU as torch exports it at opset 17: x * 0.5 * (1 + erf(x / sqrt(2)))."""
    d = g.op("Div", [x, g.const(f"{prefix}.sqrt2", np.float32(np.sqrt(2.0)))], f"{prefix}_div")
    e = g.op("Erf", [d], f"{prefix}_erf")
    a = g.op("Add", [e, g.const(f"{prefix}.one", np.float32(1.0))], f"{prefix}_add")
    m = g.op("Mul", [x, a], f"{prefix}_mul")
    return g.op("Mul", [m, g.const(f"{prefix}.half", np.float32(0.5))], f"{prefix}_mul_half")


def heads_first(g, t, prefix):
    """[T, N, E] -> [N, H, T, D] as `F.multi_head_attention_forward` reshapes q, k and v."""
    r = g.op("Reshape", [t, g.ints(f"{prefix}.shape_thd", [TOKENS, BATCH * HEADS, HEAD_DIM])], f"{prefix}_view")
    tr = g.op("Transpose", [r], f"{prefix}_transpose", perm=[1, 0, 2])
    return g.op("Reshape", [tr, g.ints(f"{prefix}.shape_nhtd", [BATCH, HEADS, TOKENS, HEAD_DIM])], f"{prefix}_heads")


def attention(g, x, prefix, einsum):
    """`nn.MultiheadAttention(batch_first=True)(x, x, x, need_weights=False)` on [N, T, E]."""
    seq = g.op("Transpose", [x], f"{prefix}_seq_first", perm=[1, 0, 2])
    proj = linear(g, seq, f"{prefix}.in_proj", HIDDEN, 3 * HIDDEN)
    r = g.op("Reshape", [proj, g.ints(f"{prefix}.shape_unflatten", [TOKENS, BATCH, 3, HIDDEN])], f"{prefix}_unflatten")
    u = g.op("Unsqueeze", [r, g.ints(f"{prefix}.axes0", [0])], f"{prefix}_unsqueeze")
    t = g.op("Transpose", [u], f"{prefix}_stack_transpose", perm=[3, 1, 2, 0, 4])
    stacked = g.op("Squeeze", [t, g.ints(f"{prefix}.axes_m2", [-2])], f"{prefix}_squeeze")
    q, k, v = (
        g.op("Gather", [stacked, g.ints(f"{prefix}.index{i}", i)], f"{prefix}_gather_{n}", axis=0)
        for i, n in enumerate("qkv")
    )
    q, k, v = (heads_first(g, t, f"{prefix}_{n}") for t, n in zip((q, k, v), "qkv"))
    if einsum:
        qs = g.op("Mul", [q, g.const(f"{prefix}.scale", np.float32(HEAD_DIM**-0.5))], f"{prefix}_q_scaled")
        scores = g.op("Einsum", [qs, k], f"{prefix}_scores", equation="bhid,bhjd->bhij")
        p = g.op("Softmax", [scores], f"{prefix}_softmax", axis=-1)
        o = g.op("Einsum", [p, v], f"{prefix}_weighted", equation="bhij,bhjd->bhid")
    else:
        root = g.const(f"{prefix}.sqrt_scale", np.float32(HEAD_DIM**-0.25))
        kt = g.op("Transpose", [k], f"{prefix}_kt", perm=[0, 1, 3, 2])
        qs = g.op("Mul", [q, root], f"{prefix}_q_scaled")
        ks = g.op("Mul", [kt, root], f"{prefix}_k_scaled")
        scores = g.op("MatMul", [qs, ks], f"{prefix}_scores")
        p = g.op("Softmax", [scores], f"{prefix}_softmax", axis=-1)
        o = g.op("MatMul", [p, v], f"{prefix}_weighted")
    merged = g.op("Transpose", [o], f"{prefix}_merge_transpose", perm=[2, 0, 1, 3])
    flat = g.op("Reshape", [merged, g.ints(f"{prefix}.shape_flat", [TOKENS * BATCH, HIDDEN])], f"{prefix}_merge_view")
    w_out = g.weight(f"{prefix}.out_proj.weight", (HIDDEN, HIDDEN))
    b_out = g.weight(f"{prefix}.out_proj.bias", (HIDDEN,), 0.05)
    out = g.op("Gemm", [flat, w_out, b_out], f"{prefix}_out_proj", transB=1)
    out = g.op("Reshape", [out, g.ints(f"{prefix}.shape_tne", [TOKENS, BATCH, HIDDEN])], f"{prefix}_out_view")
    return g.op("Transpose", [out], f"{prefix}_batch_first", perm=[1, 0, 2])


def encoder_block(g, x, i):
    prefix = f"encoder.layers.{i}"
    h = layer_norm(g, x, f"{prefix}.ln_1")
    h = attention(g, h, f"{prefix}.self_attention", einsum=i == 1)
    x = g.op("Add", [x, h], f"{prefix}_residual_1")
    h = layer_norm(g, x, f"{prefix}.ln_2")
    h = linear(g, h, f"{prefix}.mlp.0", HIDDEN, MLP)
    h = gelu(g, h, f"{prefix}.mlp.1")
    h = linear(g, h, f"{prefix}.mlp.3", MLP, HIDDEN)
    return g.op("Add", [x, h], f"{prefix}_residual_2")


def build(rng):
    g = Graph(rng)
    w = g.weight("conv_proj.weight", (HIDDEN, CHANNELS, PATCH, PATCH))
    b = g.weight("conv_proj.bias", (HIDDEN,), 0.05)
    x = g.op("Conv", ["image", w, b], "conv_proj", kernel_shape=[PATCH, PATCH], strides=[PATCH, PATCH])
    x = g.op("Reshape", [x, g.ints("patches.shape", [BATCH, HIDDEN, PATCHES])], "patches_reshape")
    x = g.op("Transpose", [x], "patches_transpose", perm=[0, 2, 1])
    token = g.weight("class_token", (1, 1, HIDDEN))
    token = g.op("Expand", [token, g.ints("class_token.shape", [BATCH, 1, HIDDEN])], "class_token_expand")
    x = g.op("Concat", [token, x], "class_token_concat", axis=1)
    x = g.op("Add", [x, g.weight("encoder.pos_embedding", (1, TOKENS, HIDDEN))], "pos_embedding_add")
    for i in range(LAYERS):
        x = encoder_block(g, x, i)
    x = layer_norm(g, x, "encoder.ln")
    x = g.op("Gather", [x, g.ints("class_token.index", 0)], "class_token_gather", axis=1)
    w_head = g.weight("heads.head.weight", (CLASSES, HIDDEN))
    b_head = g.weight("heads.head.bias", (CLASSES,), 0.05)
    g.nodes.append(helper.make_node("Gemm", [x, w_head, b_head], ["logits"], name="heads_head", transB=1))
    graph = helper.make_graph(
        g.nodes,
        "vit_gather",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [BATCH, CHANNELS, IMAGE, IMAGE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [BATCH, CLASSES])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_vit_gather.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    rng = np.random.default_rng(13)
    model = build(rng)
    path = os.path.join(HERE, "vit_gather.onnx")
    onnx.save(model, path)
    image = rng.standard_normal((BATCH, CHANNELS, IMAGE, IMAGE)).astype(np.float32)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"image": image})
    np.savez(os.path.join(HERE, "vit_gather_ref.npz"), image=image, logits=logits)
    print(f"wrote {path} ({len(model.graph.node)} nodes); logits {logits.ravel()[:4]} ...")


if __name__ == "__main__":
    main()
