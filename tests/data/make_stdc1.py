#!/usr/bin/env python3
"""Writes stdc1.onnx: the layer graph of the model zoo's stdc1 (STDC1-Seg, the STDC813 backbone
with BiSeNet's context path and feature fusion, Cityscapes, 19 classes, 1024x1920 input), with
seeded random weights and BatchNorm folded into the convolutions. It is the network behind the
Hailo-8 allocation `shared/corpus/alls/hailo8/base/stdc1.alls` (rows `v2.18/hailo8/base/stdc1.alls`
of `shared/data/allocation/dumps.csv`); `tests/tests/stdc1_replay.rs` runs it.

    python3 make_stdc1.py OUT.onnx [WIDTH]    # WIDTH (a multiple of 64; default 1920) for quick runs

Needs numpy and onnx. Deterministic. Only the graph's shapes mean anything.

The architecture is read off the dump's layers and edges (the names below are the dump's):
- stem: conv1 3x3/2 (32), conv2 3x3/2 (64);
- three stages of two STDC "cat" blocks (out = 256, 512, 1024); a block's convs are a 1x1
  (out/2), then 3x3s of out/4, out/8, out/8 chained, and the block's output is the concat of the
  four; in a stage's first block the 1x1's output goes through a 3x3/2 depthwise (dw1..3) before
  the first 3x3, and a 3x3/2 average pool of it (avgpool1, 2, 4) is the concat's first input;
- ARM16 (on stage 4's output, concat4): conv19 3x3 (128), global pool avgpool3, fc1 (128) with a
  sigmoid, broadcast to the map (resize2) and multiplied (ew_mult1);
- the global context: avgpool5 of stage 5's output (concat6), fc2 (128) + ReLU, broadcast (resize1);
- ARM32: conv28 3x3 (128), avgpool6, fc3 + sigmoid, resize3, ew_mult2; ew_add1 = ew_mult2 + resize1;
- resize4 (nearest x2), conv_head32 conv29 3x3 (128), ew_add2 = ew_mult1 + conv29, resize5
  (nearest x2), conv_head16 conv30 3x3 (128);
- feature fusion: concat7 = [stage 3's output concat2, conv30], conv31 1x1 (256), avgpool7
  global (its reduction is the script's `global_avgpool_reduction`), fc4 (64) + ReLU, fc5 (256) +
  sigmoid, broadcast (resize6), ew_mult3 = conv31 x it, ew_add3 = conv31 + ew_mult3;
- head: conv32 3x3 (256), conv33 1x1 (19), resize7 bilinear x8 (align corners), argmax1.

The Hailo parser numbers layers breadth-first (`hl-name-layers`), so node order matters only
among a layer's readers: ARM16's conv19 is listed before stage 5's first conv (conv20).
A broadcast is an explicit nearest Resize of the dense layer's output, reshaped to a 1x1 map.
Input `input` is NCHW 1x3x1024x1920 float32; output `classes` is the argmax, 1x1x1024x1920.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

H, W = 1024, int(sys.argv[2]) if len(sys.argv) > 2 else 1920
CLASSES = 19
rng = np.random.default_rng(20261208)
nodes, inits = [], []
counter = {"n": 0}


def name(prefix):
    counter["n"] += 1
    return f"{prefix}_{counter['n']}"


def const(n, a):
    inits.append(numpy_helper.from_array(np.asarray(a), n))
    return n


def node(op, inputs, **attrs):
    n = name(op)
    nodes.append(helper.make_node(op, inputs, [n + "_out"], name=n, **attrs))
    return n + "_out"


def conv(x, cin, cout, k, stride=1, groups=1, act="Relu"):
    w = rng.standard_normal((cout, cin // groups, k, k)) * np.sqrt(2.0 / (cin // groups * k * k)) * 0.7
    n = name("W")
    y = node("Conv", [x, const(n + ".weight", w.astype(np.float32)),
                      const(n + ".bias", (rng.standard_normal(cout) * 0.01).astype(np.float32))],
             kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4, group=groups)
    return node(act, [y]) if act else y


def dense(x, cin, cout, act):
    """A 1x1 conv on a pooled 1x1 map: Flatten, Gemm (the dump's fc), activation."""
    f = node("Flatten", [x], axis=1)
    n = name("Fc")
    w = (rng.standard_normal((cout, cin)) * np.sqrt(1.0 / cin)).astype(np.float32)
    y = node("Gemm", [f, const(n + ".weight", w), const(n + ".bias", np.zeros(cout, np.float32))],
             transB=1)
    return node(act, [y])


def broadcast(v, c, h, w):
    """Dense output [1, c] -> [1, c, 1, 1] -> nearest resize to [1, c, h, w]."""
    m = node("Reshape", [v, const(name("shape"), np.array([1, c, 1, 1], np.int64))])
    sizes = const(name("sizes"), np.array([1, c, h, w], np.int64))
    return node("Resize", [m, "", "", sizes], mode="nearest",
                coordinate_transformation_mode="asymmetric", nearest_mode="floor")


def upsample2(x, c, h, w):
    sizes = const(name("sizes"), np.array([1, c, 2 * h, 2 * w], np.int64))
    return node("Resize", [x, "", "", sizes], mode="nearest",
                coordinate_transformation_mode="asymmetric", nearest_mode="floor")


def gap(x):
    return node("GlobalAveragePool", [x])


def block(x, cin, out, stride):
    """An STDC cat block; returns the concat."""
    x1 = conv(x, cin, out // 2, 1)
    if stride == 2:
        skip = node("AveragePool", [x1], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
        y = conv(x1, out // 2, out // 2, 3, 2, groups=out // 2, act=None)
    else:
        skip, y = x1, x1
    y2 = conv(y, out // 2, out // 4, 3)
    y3 = conv(y2, out // 4, out // 8, 3)
    y4 = conv(y3, out // 8, out // 8, 3)
    return node("Concat", [skip, y2, y3, y4], axis=1)


def arm(x, cin):
    """Attention refinement: conv, global pool, fc + sigmoid (the caller broadcasts and multiplies)."""
    f = conv(x, cin, 128, 3)
    a = dense(gap(f), 128, 128, "Sigmoid")
    return f, a


def build():
    w8, w16, w32 = W // 8, W // 16, W // 32
    x = conv("input", 3, 32, 3, 2)                # 512 x 960
    x = conv(x, 32, 64, 3, 2)                     # 256 x 480
    x = block(x, 64, 256, 2)                      # 128 x 240
    feat8 = block(x, 256, 256, 1)
    x = block(feat8, 256, 512, 2)                 # 64 x 120
    feat16 = block(x, 512, 512, 1)
    # ARM16's conv comes before stage 5 among feat16's readers (conv19 before conv20).
    f16, a16 = arm(feat16, 512)
    x = block(feat16, 512, 1024, 2)               # 32 x 60
    feat32 = block(x, 1024, 1024, 1)
    f32, a32 = arm(feat32, 1024)
    avg = dense(gap(feat32), 1024, 128, "Relu")
    avg_up = broadcast(avg, 128, 32, w32)
    arm32 = node("Mul", [f32, broadcast(a32, 128, 32, w32)])
    s32 = node("Add", [arm32, avg_up])
    up32 = conv(upsample2(s32, 128, 32, w32), 128, 128, 3)
    arm16 = node("Mul", [f16, broadcast(a16, 128, 64, w16)])
    s16 = node("Add", [arm16, up32])
    up16 = conv(upsample2(s16, 128, 64, w16), 128, 128, 3)
    fcat = node("Concat", [feat8, up16], axis=1)
    feat = conv(fcat, 384, 256, 1)
    a = dense(gap(feat), 256, 64, "Relu")
    n = name("Fc")
    w = (rng.standard_normal((256, 64)) * np.sqrt(1.0 / 64)).astype(np.float32)
    a = node("Sigmoid", [node("Gemm", [a, const(n + ".weight", w),
                                       const(n + ".bias", np.zeros(256, np.float32))], transB=1)])
    att = node("Mul", [feat, broadcast(a, 256, 128, w8)])
    out = node("Add", [feat, att])
    y = conv(out, 256, 256, 3)
    y = conv(y, 256, CLASSES, 1, act=None)
    sizes = const(name("sizes"), np.array([1, CLASSES, H, W], np.int64))
    y = node("Resize", [y, "", "", sizes], mode="linear",
             coordinate_transformation_mode="align_corners")
    nodes.append(helper.make_node("ArgMax", [y], ["classes"], name=name("ArgMax"), axis=1,
                                  keepdims=1))
    graph = helper.make_graph(
        nodes, "stdc1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, H, W])],
        [helper.make_tensor_value_info("classes", TensorProto.INT64, [1, 1, H, W])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="make_stdc1")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    assert W % 64 == 0, "WIDTH must be a multiple of 64"
    onnx.save(build(), sys.argv[1])
    print(f"wrote {sys.argv[1]}")
