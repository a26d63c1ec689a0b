#!/usr/bin/env python3
"""Dev-only generator of the TFLite op-coverage models in tests/data/ops/.

One tiny float32 `.tflite` per supported operator (and per recognised pattern), built from a
`tf.function` with seeded random weights and converted with `tf.lite.TFLiteConverter`, plus
`<name>.npz` with the input(s) `x0, x1, ...` and the TFLite interpreter's outputs `y0, ...`.
`tests/to_hl_ops.rs` converts every model, verifies the `hl` IR and compares the reference
interpreter's outputs with `y*`.

Not needed to build or test the crate. To regenerate (about 1 minute to install):

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0 numpy
    /tmp/tfvenv/bin/python frontends/tflite/tests/gen_op_models.py

The output is deterministic for a given tensorflow version (seeded weights and inputs).
"""

import os
import sys

import numpy as np
import tensorflow as tf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "ops")
RNG = np.random.default_rng(1234)


def w(*shape, scale=0.5):
    return tf.constant(RNG.normal(0.0, scale, size=shape).astype(np.float32))


def spec(*shape):
    return tf.TensorSpec(shape, tf.float32)


MODELS = {}


def model(name, specs, positive=False, ops=None, integer=False):
    """Registers `fn` as model `name` with inputs `specs`; `ops` are the TFLite ops the model
    must contain. Inputs are N(0, 1) samples, made positive (|x| + 0.25) or rounded to
    integers (so comparisons and the delta pattern see exact zeros and ones) on request."""

    def deco(fn):
        MODELS[name] = (fn, specs, positive, ops or [], integer)
        return fn

    return deco


X = (1, 8, 8, 4)

# --- weighted layers -----------------------------------------------------------------------
K33 = w(3, 3, 4, 6)
B6 = w(6)


@model("conv2d_same_relu", [spec(*X)], ops=["CONV_2D"])
def _(x):
    return tf.nn.relu(tf.nn.conv2d(x, K33, 1, "SAME") + B6)


@model("conv2d_valid_stride2_relu6", [spec(*X)], ops=["CONV_2D"])
def _(x):
    return tf.nn.relu6(tf.nn.conv2d(x, K33, 2, "VALID") + B6)


K44 = w(4, 4, 4, 5)


@model("conv2d_same_even_kernel_stride2_dilated", [spec(1, 9, 9, 4)], ops=["CONV_2D"])
def _(x):
    y = tf.nn.conv2d(x, K44, 2, "SAME")
    return tf.nn.conv2d(y, w(3, 3, 5, 3), 1, "SAME", dilations=2)


@model("conv2d_pad_fold", [spec(*X)], ops=["PAD", "CONV_2D"])
def _(x):
    y = tf.pad(x, [[0, 0], [1, 2], [2, 1], [0, 0]])
    return tf.nn.conv2d(y, K33, 2, "VALID") + B6


@model("conv2d_tanh", [spec(*X)], ops=["CONV_2D"])
def _(x):
    return tf.tanh(tf.nn.conv2d(x, K33, 1, "SAME") + B6)


@model("depthwise_conv2d", [spec(*X)], ops=["DEPTHWISE_CONV_2D"])
def _(x):
    return tf.nn.relu(tf.nn.depthwise_conv2d(x, w(3, 3, 4, 1), [1, 1, 1, 1], "SAME") + w(4))


@model("depthwise_conv2d_multiplier2", [spec(*X)], ops=["DEPTHWISE_CONV_2D"])
def _(x):
    return tf.nn.depthwise_conv2d(x, w(3, 3, 4, 2), [1, 2, 2, 1], "SAME") + w(8)


@model("transpose_conv_same", [spec(1, 4, 4, 4)], ops=["TRANSPOSE_CONV"])
def _(x):
    return tf.nn.conv2d_transpose(x, w(3, 3, 5, 4), [1, 8, 8, 5], 2, "SAME")


@model("transpose_conv_valid", [spec(1, 4, 4, 4)], ops=["TRANSPOSE_CONV"])
def _(x):
    return tf.nn.conv2d_transpose(x, w(2, 2, 3, 4), [1, 8, 8, 3], 2, "VALID")


@model("fully_connected", [spec(1, 16)], ops=["FULLY_CONNECTED"])
def _(x):
    return tf.nn.relu(tf.matmul(x, w(16, 10)) + w(10))


@model("fully_connected_from_nhwc", [spec(1, 2, 2, 4)], ops=["RESHAPE", "FULLY_CONNECTED"])
def _(x):
    return tf.matmul(tf.reshape(x, [1, 16]), w(16, 6))


# --- pooling and reductions ---------------------------------------------------------------
@model("avg_pool_same", [spec(1, 7, 7, 4)], ops=["AVERAGE_POOL_2D"])
def _(x):
    return tf.nn.avg_pool2d(x, 3, 2, "SAME")


@model("max_pool_valid", [spec(*X)], ops=["MAX_POOL_2D"])
def _(x):
    return tf.nn.max_pool2d(x, 2, 2, "VALID")


@model("max_pool_same", [spec(1, 7, 7, 4)], ops=["MAX_POOL_2D"])
def _(x):
    return tf.nn.max_pool2d(x, 3, 2, "SAME")


@model("mean_spatial", [spec(*X)], ops=["MEAN"])
def _(x):
    return tf.reduce_mean(x, [1, 2])


@model("mean_spatial_keepdims", [spec(*X)], ops=["MEAN"])
def _(x):
    return tf.reduce_mean(x, [1, 2], keepdims=True)


@model("mean_channels", [spec(*X)], ops=["MEAN"])
def _(x):
    return tf.reduce_mean(x, [3], keepdims=True)


@model("sum", [spec(*X)], ops=["SUM"])
def _(x):
    return tf.reduce_sum(x, [3], keepdims=True)


@model("reduce_max", [spec(*X)], ops=["REDUCE_MAX"])
def _(x):
    return tf.reduce_max(x, [3], keepdims=True)


@model("reduce_max_spatial", [spec(*X)], ops=["REDUCE_MAX"])
def _(x):
    return tf.reduce_max(x, [1, 2], keepdims=True)


@model("reduce_min", [spec(*X)], ops=["REDUCE_MIN"])
def _(x):
    return tf.reduce_min(x, [-1], keepdims=True)


# --- elementwise --------------------------------------------------------------------------
@model("concatenation", [spec(*X), spec(1, 8, 8, 2)], ops=["CONCATENATION"])
def _(x, y):
    return tf.concat([x, y], -1)


@model("add", [spec(*X), spec(*X)], ops=["ADD"])
def _(x, y):
    return tf.nn.relu(x + y)


@model("add_const_broadcast", [spec(*X)], ops=["ADD"])
def _(x):
    return x + w(4)


@model("sub", [spec(*X), spec(*X)], ops=["SUB"])
def _(x, y):
    return x - y


@model("mul", [spec(*X), spec(*X)], ops=["MUL"])
def _(x, y):
    return x * y


@model("mul_scalar", [spec(*X)], ops=["MUL"])
def _(x):
    return x * 1.75


@model("div", [spec(*X)], positive=True, ops=["DIV"])
def _(x):
    return w(4) / x


@model("neg", [spec(*X)], ops=["NEG"])
def _(x):
    return -x


@model("maximum", [spec(*X), spec(*X)], ops=["MAXIMUM"])
def _(x, y):
    return tf.maximum(x, y)


@model("minimum", [spec(*X), spec(*X)], ops=["MINIMUM"])
def _(x, y):
    return tf.minimum(x, y)


@model("add_n", [spec(*X), spec(*X), spec(*X)], ops=["ADD_N"])
def _(x, y, z):
    return tf.add_n([x, y, z])


@model("pow", [spec(*X)], positive=True, ops=["POW"])
def _(x):
    return tf.pow(x, 3.0)


@model("square", [spec(*X)], ops=["SQUARE"])
def _(x):
    return tf.square(x)


@model("sqrt", [spec(*X)], positive=True, ops=["SQRT"])
def _(x):
    return tf.sqrt(x)


@model("exp", [spec(*X)], ops=["EXP"])
def _(x):
    return tf.exp(x)


@model("log", [spec(*X)], positive=True, ops=["LOG"])
def _(x):
    return tf.math.log(x)


@model("abs", [spec(*X)], ops=["ABS"])
def _(x):
    return tf.abs(x)


@model("logistic", [spec(*X)], ops=["LOGISTIC"])
def _(x):
    return tf.sigmoid(x)


@model("tanh", [spec(*X)], ops=["TANH"])
def _(x):
    return tf.tanh(x)


@model("elu", [spec(*X)], ops=["ELU"])
def _(x):
    return tf.nn.elu(x)


@model("leaky_relu", [spec(*X)], ops=["LEAKY_RELU"])
def _(x):
    return tf.nn.leaky_relu(x, 0.15)


@model("prelu", [spec(*X)], ops=["PRELU"])
def _(x):
    alpha = tf.abs(w(1, 1, 4))
    return tf.nn.relu(x) + (-alpha) * tf.nn.relu(-x)


@model("hard_swish", [spec(*X)], ops=["HARD_SWISH"])
def _(x):
    return x * tf.nn.relu6(x + 3.0) / 6.0


@model("relu", [spec(*X)], ops=["RELU"])
def _(x):
    return tf.nn.relu(x)


@model("relu6", [spec(*X)], ops=["RELU6"])
def _(x):
    return tf.nn.relu6(x)


@model("relu_n1_to_1", [spec(*X)], ops=["RELU_N1_TO_1"])
def _(x):
    return tf.clip_by_value(x, -1.0, 1.0)


@model("equal", [spec(*X)], ops=["EQUAL"], integer=True)
def _(x):
    return tf.equal(x, 1.0)


@model("greater", [spec(*X)], ops=["GREATER"])
def _(x):
    return tf.greater(x, 0.25)


@model("less", [spec(*X)], ops=["LESS"])
def _(x):
    return tf.less(x, -0.25)


# --- layout -------------------------------------------------------------------------------
@model("pad_external", [spec(*X)], ops=["PAD"])
def _(x):
    return tf.pad(x, [[0, 0], [1, 0], [0, 2], [1, 1]])


@model("padv2_value", [spec(*X)], ops=["PADV2"])
def _(x):
    return tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=0.5)


@model("split", [spec(1, 8, 8, 6)], ops=["SPLIT"])
def _(x):
    a, b, c = tf.split(x, 3, axis=-1)
    return a + 2.0 * b - c


@model("split_spatial", [spec(*X)], ops=["SPLIT"])
def _(x):
    a, b = tf.split(x, 2, axis=1)
    return a * b


@model("slice", [spec(*X)], ops=["SLICE"])
def _(x):
    return tf.slice(x, [0, 1, 2, 1], [1, 5, -1, 2])


@model("strided_slice", [spec(*X)], ops=["STRIDED_SLICE"])
def _(x):
    return x[:, 1:7:2, ::3, 1:]


@model("strided_slice_shrink", [spec(*X)], ops=["STRIDED_SLICE"])
def _(x):
    return x[:, 2, :, :]


@model("gather", [spec(*X)], ops=["GATHER"])
def _(x):
    return tf.gather(x, [1, 3], axis=3)


@model("reshape", [spec(*X)], ops=["RESHAPE"])
def _(x):
    return tf.reshape(x, [1, 4, 16, 4])


@model("spatial_squeeze", [spec(1, 1, 1, 8)], ops=["CONV_2D", "RESHAPE"])
def _(x):
    y = tf.nn.conv2d(x, w(1, 1, 8, 5), 1, "VALID")
    return tf.squeeze(y, [1, 2])


@model("transpose", [spec(*X)], ops=["TRANSPOSE"])
def _(x):
    return tf.transpose(x, [0, 2, 1, 3])


@model("resize_bilinear", [spec(1, 4, 4, 3)], ops=["RESIZE_BILINEAR"])
def _(x):
    return tf.compat.v1.image.resize_bilinear(x, [8, 6])


@model("resize_bilinear_half_pixel", [spec(1, 4, 4, 3)], ops=["RESIZE_BILINEAR"])
def _(x):
    return tf.image.resize(x, [7, 9], "bilinear")


@model("resize_bilinear_align_corners", [spec(1, 4, 4, 3)], ops=["RESIZE_BILINEAR"])
def _(x):
    return tf.compat.v1.image.resize_bilinear(x, [7, 7], align_corners=True)


@model("resize_nearest", [spec(1, 4, 4, 3)], ops=["RESIZE_NEAREST_NEIGHBOR"])
def _(x):
    return tf.compat.v1.image.resize_nearest_neighbor(x, [8, 8])


@model("resize_nearest_half_pixel", [spec(1, 4, 4, 3)], ops=["RESIZE_NEAREST_NEIGHBOR"])
def _(x):
    return tf.image.resize(x, [6, 10], "nearest")


@model("softmax", [spec(1, 10)], ops=["SOFTMAX"])
def _(x):
    return tf.nn.softmax(x)


@model("arg_max", [spec(*X)], ops=["ARG_MAX"])
def _(x):
    return tf.argmax(x, axis=-1)


@model("depth_to_space", [spec(1, 4, 4, 8)], ops=["DEPTH_TO_SPACE"])
def _(x):
    return tf.nn.depth_to_space(x, 2)


@model("space_to_depth", [spec(*X)], ops=["SPACE_TO_DEPTH"])
def _(x):
    return tf.nn.space_to_depth(x, 2)


@model("l2_normalization", [spec(*X)], ops=["L2_NORMALIZATION"])
def _(x):
    return tf.math.l2_normalize(x, axis=-1)


# --- patterns -----------------------------------------------------------------------------
@model("pattern_swish", [spec(*X)], ops=["LOGISTIC", "MUL"])
def _(x):
    return x * tf.sigmoid(x)


@model("pattern_mish", [spec(*X)])
def _(x):
    return x * tf.tanh(tf.math.log(tf.exp(x) + 1.0))


@model("pattern_hardsigmoid", [spec(*X)], ops=["MINIMUM"])
def _(x):
    return tf.minimum(tf.maximum(x * 0.2 + 0.5, 0.0), 1.0)


@model("pattern_delta", [spec(*X)], ops=["ABS", "SIGN", "MUL"], integer=True)
def _(x):
    return tf.sign(tf.abs(x)) * 2.5


@model("pattern_conv_swish", [spec(*X)], ops=["CONV_2D", "LOGISTIC", "MUL"])
def _(x):
    y = tf.nn.conv2d(x, K33, 1, "SAME") + B6
    return y * tf.sigmoid(y)


# --- error cases (written to tests/data/, not converted by the op sweep) ---------------------
ERROR_MODELS = {}


def unsupported_mid(x):
    y = tf.nn.relu(tf.nn.conv2d(x, K33, 1, "SAME") + B6)
    z = tf.math.sin(y)
    return tf.nn.conv2d(z, w(1, 1, 6, 2), 1, "SAME") + tf.math.floor(y[:, :, :, :2])


ERROR_MODELS["unsupported_mid"] = (unsupported_mid, [spec(*X)])


def op_names(interp):
    return sorted({d["op_name"] for d in interp._get_ops_details()})


def main():
    os.makedirs(OUT, exist_ok=True)
    tf.random.set_seed(0)
    problems = []
    for name, (fn, specs, positive, want_ops, integer) in MODELS.items():
        conc = tf.function(fn, input_signature=specs).get_concrete_function()
        conv = tf.lite.TFLiteConverter.from_concrete_functions([conc], fn)
        flat = conv.convert()
        interp = tf.lite.Executor(model_content=flat)
        interp.allocate_tensors()
        arrays = {}
        for k, d in enumerate(interp.get_input_details()):
            x = RNG.normal(0.0, 1.0, size=d["shape"]).astype(np.float32)
            if positive:
                x = np.abs(x) + 0.25
            if integer:
                x = np.round(x)
            interp.set_tensor(d["index"], x)
            arrays[f"x{k}"] = x
        interp.invoke()
        for k, d in enumerate(interp.get_output_details()):
            arrays[f"y{k}"] = interp.get_tensor(d["index"])
        ops = op_names(interp)
        missing = [o for o in want_ops if o not in ops]
        if missing:
            problems.append(f"{name}: expected ops {missing} missing from {ops}")
        with open(os.path.join(OUT, f"{name}.tflite"), "wb") as f:
            f.write(flat)
        np.savez(os.path.join(OUT, f"{name}.npz"), **arrays)
        print(f"{name}: {len(flat)} bytes, ops {ops}")
    for name, (fn, specs) in ERROR_MODELS.items():
        conc = tf.function(fn, input_signature=specs).get_concrete_function()
        flat = tf.lite.TFLiteConverter.from_concrete_functions([conc], fn).convert()
        with open(os.path.join(OUT, "..", f"{name}.tflite"), "wb") as f:
            f.write(flat)
        interp = tf.lite.Executor(model_content=flat)
        print(f"{name}: {len(flat)} bytes, ops {op_names(interp)}")
    for p in problems:
        print("WARNING", p, file=sys.stderr)
    print(f"{len(MODELS)} models written to {OUT}")


if __name__ == "__main__":
    main()
