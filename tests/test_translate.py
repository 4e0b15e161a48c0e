"""convt.translate: every printed translation, run by the target framework itself.

For random transposed-convolution layers in each source framework's terms,
the source framework computes ``y`` on random data; the code that
:func:`convt.translate.translate` prints for the target is executed as is
(with ``x`` in the target's layout, the source's weight ``w`` and bias
``b``), by the target framework, and must give the same ``y``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracle import check

import convt
from convt import arithmetic as ar
from convt.translate import translate

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")

RNG = np.random.default_rng(0)
CONVENTIONS = ("torch", "tensorflow", "keras", "onnx", "jax")
FIRST = ("torch", "onnx")  # channels first; the others channels last


def rand(*shape):
    return RNG.standard_normal(shape)


# ---------------------------------------------------------------------------
# Fast tests (no framework): structure, refusals, the command line
# ---------------------------------------------------------------------------
def test_odd_same_total_to_torch_needs_an_end_crop():
    t = translate("tensorflow", "torch", input_size=(4, 5), kernel_size=3, stride=2, padding="SAME")
    assert t.spec.pads == ((0, 1), (0, 1)) and not t.exact
    assert t.extra == ((0, 1), (0, 1)) and t.params["padding"] == (0, 0)
    assert "y = y[:, :, 0:8, 0:10]  # the extra step: crop" in t.code


def test_torch_output_padding_to_tensorflow_2d_uses_explicit_padding():
    t = translate("torch", "tensorflow", input_size=(4, 4), kernel_size=3, stride=2, padding=1, output_padding=1)
    assert t.exact and t.params["padding"] == [[0, 0], [1, 0], [1, 0], [0, 0]]


def test_jax_default_kernel_is_flipped_for_everyone_else():
    t = translate("jax", "torch", input_size=4, kernel_size=3, stride=2, padding="SAME")
    assert t.weight_perm == (1, 2, 0) and t.weight_flip == (2,)
    t = translate("jax", "tensorflow", input_size=4, kernel_size=3, stride=2, padding="SAME", transpose_kernel=True)
    assert t.weight_perm == (0, 1, 2) and t.weight_flip == () and t.exact


def test_refusals():
    with pytest.raises(convt.ConvError, match="groups=2 is translated only between torch and onnx for a transposed"):
        translate("torch", "keras", input_size=4, kernel_size=3, groups=2, in_channels=2, out_channels=2)
    with pytest.raises(convt.ConvError, match="groups=2 with tensorflow in 3-D"):
        translate("torch", "tensorflow", transposed=False, input_size=(4, 4, 4), kernel_size=3, groups=2,
                  in_channels=2, out_channels=2)
    with pytest.raises(convt.ConvError, match="out_channels must be a positive multiple of groups=2, got 3"):
        translate("torch", "keras", transposed=False, input_size=4, kernel_size=3, groups=2, in_channels=2,
                  out_channels=3)
    with pytest.raises(convt.ConvError, match="target must be one of"):
        translate("torch", "caffe", input_size=4, kernel_size=3)
    for groups in (0, -1, True, 1.0):  # once a division by zero for 0
        with pytest.raises(convt.ConvError, match="groups must be a positive int"):
            translate("torch", "onnx", input_size=4, kernel_size=3, groups=groups)
    with pytest.raises(convt.ConvError, match="valid sizes per axis"):
        translate("tensorflow", "torch", input_size=4, kernel_size=3, stride=2, padding="SAME", output_size=[9])


def test_command_line_prints_the_code_and_exits_2_on_bad_values():
    from convt.cli import main

    run = [sys.executable, "-m", "convt", "translate", "--convention", "tensorflow", "--to", "torch",
           "--input", "4", "--kernel", "3", "--stride", "2", "--padding", "SAME"]
    out = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert "torch.nn.ConvTranspose1d(1, 1" in out and "y = y[:, :, 0:8]" in out
    bad = subprocess.run([*run[:-1], "FULL"], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert main(["translate", "--to", "jax", "--input", "4,4", "--kernel", "3", "--stride", "2", "--padding", "1",
                 "--output-padding", "1"]) == 0
    conv = subprocess.run([sys.executable, "-m", "convt", "translate", "--conv", "--convention", "onnx", "--to",
                           "torch", "--input", "5", "--kernel", "3", "--padding", "2:0"],
                          capture_output=True, text=True, check=True).stdout
    assert "torch.nn.Conv1d(1, 1" in conv and "x = torch.nn.functional.pad(x, [2, 0])" in conv


def test_command_line_jax_flags(capsys):
    """--use-consistent-padding reaches the layer's validation (pads (-1, -1) are valid only with it, and
    PyTorch then appends the zeros); the jax flags with another source are refused."""
    from convt.cli import main

    jax = ["translate", "--convention", "jax", "--to", "torch", "--input", "1", "--kernel", "1", "--padding=-1:-1"]
    assert main([*jax, "--use-consistent-padding"]) == 0
    code = capsys.readouterr().out
    assert "padding=(0,)" in code and "torch.nn.functional.pad(y, [1, 1])" in code
    assert main(jax) == 2 and "the output size would be [-1]" in capsys.readouterr().err
    assert main(["translate", "--to", "jax", "--transpose-kernel"]) == 2
    assert "--transpose-kernel is a flag of a jax source" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Every framework runs its own side
# ---------------------------------------------------------------------------
def _layout(conv, x):
    """Canonical (N, C, *spatial) to the convention's layout."""
    return x if conv in FIRST else np.moveaxis(x, 1, -1)


def _back(conv, y):
    y = np.asarray(y)
    return y if conv in FIRST else np.moveaxis(y, -1, 1)


def _weight_shape(conv, cin, cout, g, k, transpose_kernel):
    if conv in FIRST:
        return (cin, cout // g, *k)
    if conv == "jax" and not transpose_kernel:
        return (*k, cin, cout)
    return (*k, cout, cin)


def run_source(conv, x, w, b, layer):
    """The source framework computes the layer. x canonical; returns canonical."""
    nd = x.ndim - 2
    if conv == "torch":
        import torch

        f = getattr(torch.nn.functional, f"conv_transpose{nd}d")
        if layer.get("output_size") is not None:
            m = getattr(torch.nn, f"ConvTranspose{nd}d")(x.shape[1], w.shape[1] * layer["groups"], w.shape[2:],
                                                         stride=layer["stride"], padding=layer["padding"],
                                                         dilation=layer["dilation"], groups=layer["groups"],
                                                         dtype=torch.float64)
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(w))
                m.bias.copy_(torch.from_numpy(b))
                return m(torch.from_numpy(x), output_size=layer["output_size"]).numpy()
        return f(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=layer["stride"],
                 padding=layer["padding"], output_padding=layer["output_padding"] or 0, groups=layer["groups"],
                 dilation=layer["dilation"]).numpy()
    if conv == "tensorflow":
        import tensorflow as tf

        pad = layer["padding"]
        pad = pad if isinstance(pad, str) else [[0, 0], *map(list, pad), [0, 0]]
        xt = _layout(conv, x)
        y = getattr(tf.nn, f"conv{nd}d_transpose")(xt, w, [x.shape[0], *layer["output_size"], w.shape[-2]],
                                                   layer["stride"], pad)
        return _back(conv, np.asarray(y) + b)
    if conv == "keras":
        import keras

        y = keras.ops.conv_transpose(_layout(conv, x), w, layer["stride"], layer["padding"], layer["output_padding"])
        return _back(conv, np.asarray(y) + b)
    if conv == "onnx":
        return run_onnx_node(x, w, b, layer)
    from jax import lax

    y = lax.conv_transpose(_layout(conv, x), w, layer["stride"], layer["padding"], rhs_dilation=layer["dilation"],
                           transpose_kernel=layer["transpose_kernel"],
                           use_consistent_padding=layer["use_consistent_padding"])
    return _back(conv, np.asarray(y) + b)


def _ort(nodes, initializers, x):
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    so = ort.SessionOptions()
    so.log_severity_level = 4
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, {"X": x.astype(np.float32)})[0].astype(np.float64)


def run_onnx_node(x, w, b, layer):
    from onnx import helper, numpy_helper

    nd = x.ndim - 2
    attrs = dict(strides=list(layer["stride"]), dilations=list(layer["dilation"]), group=layer["groups"])
    pad = layer["padding"]
    if isinstance(pad, str):
        attrs["auto_pad"] = pad
    else:
        attrs["pads"] = [p[0] for p in pad] + [p[1] for p in pad]
    if layer.get("output_padding"):
        attrs["output_padding"] = list(layer["output_padding"])
    if layer.get("output_size"):
        attrs["output_shape"] = list(layer["output_size"])
    node = helper.make_node("ConvTranspose", ["X", "W", "B"], ["Y"], **attrs)
    inits = [numpy_helper.from_array(w.astype(np.float32), "W"), numpy_helper.from_array(b.astype(np.float32), "B")]
    assert nd >= 1
    return _ort([node], inits, x)


def _frameworks(jax_x64: bool = True) -> None:
    """Quiet TensorFlow's logs; JAX in float64 (the comparisons are exact)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if jax_x64:
        import jax

        jax.config.update("jax_enable_x64", True)


def run_target_code(t, x, w, b):
    """Execute the printed code in the target framework; x canonical; returns canonical."""
    ns: dict = {"w": w, "b": b}
    if t.target == "torch":
        import torch

        ns["x"] = torch.from_numpy(x)
        exec(t.code, ns)
        return ns["y"].detach().numpy()
    if t.target == "onnx":
        ns["w"], ns["b"] = w.astype(np.float32), b.astype(np.float32)
        exec(t.code, ns)
        return _ort(ns["nodes"], ns["initializers"], x)
    if t.target == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    ns["x"] = _layout(t.target, x)
    exec(t.code, ns)
    return _back(t.target, ns["y"])


@st.composite
def source_layer(draw, source, target):
    nd = draw(st.sampled_from([1, 2] if "keras" not in (source, target) else [1, 2, 3]))
    tf_involved = {"tensorflow", "keras"} & {source, target}
    i = tuple(draw(st.lists(st.integers(1, 5), min_size=nd, max_size=nd)))
    k = tuple(draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd)))
    s = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    d = (1,) * nd if tf_involved else tuple(draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd)))
    g = draw(st.sampled_from([1, 2])) if nd < 3 or "tensorflow" not in (source, target) else 1
    cin, cout = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    layer = dict(stride=s, dilation=d, groups=g, output_padding=None, output_size=None, transpose_kernel=False,
                 use_consistent_padding=False)
    if source == "torch":
        layer["padding"] = tuple(draw(st.integers(0, dd * (kk - 1))) for kk, dd in zip(k, d, strict=True))
        if draw(st.booleans()):
            layer["output_padding"] = tuple(draw(st.integers(0, max(ss, dd) - 1)) for ss, dd in zip(s, d, strict=True))
    elif source == "tensorflow":
        pad = draw(st.sampled_from(["SAME", "VALID"] + (["EXPLICIT"] if nd == 2 else [])))
        if pad == "EXPLICIT":
            pad = tuple((draw(st.integers(0, kk - 1)), draw(st.integers(0, kk - 1))) for kk in k)
        per = [pad.lower()] * nd if isinstance(pad, str) else list(pad)
        ranges = [ar.tf_transpose_output_range(ii, kk, ss, 1, p) for ii, kk, ss, p in zip(i, k, s, per, strict=True)]
        assume(all(len(r) for r in ranges))
        layer["padding"], layer["output_size"] = pad, tuple(draw(st.sampled_from(list(r))) for r in ranges)
    elif source == "keras":
        layer["padding"] = draw(st.sampled_from(["valid", "same"]))
        if draw(st.booleans()):
            layer["output_padding"] = tuple(draw(st.integers(0, ss - 1)) for ss in s)
        crops = [ar.keras_transpose_crop(ii, kk, ss, 1, layer["padding"], None if layer["output_padding"] is None
                                         else op) for ii, kk, ss, op in
                 zip(i, k, s, layer["output_padding"] or (0,) * nd, strict=True)]
        # only what Keras' TF backend runs (TF must accept the output size it asks for)
        assume(all(ar.transpose_length(ii, kk, ss, cb, ce) in ar.tf_transpose_output_range(ii, kk, ss, 1, layer["padding"])
                   for ii, kk, ss, (cb, ce) in zip(i, k, s, crops, strict=True)))
    elif source == "onnx":
        mode = draw(st.sampled_from(["pads", "SAME_UPPER", "SAME_LOWER", "VALID", "output_shape"]))
        layer["output_padding"] = tuple(draw(st.integers(0, ss - 1)) for ss in s)
        if mode == "pads":
            layer["padding"] = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd))
        elif mode == "output_shape":
            layer["padding"] = draw(st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER"]))
            layer["output_size"] = tuple(draw(st.integers(1, ar.full_length(ii, kk, ss, dd) + ss - 1))
                                         for ii, kk, ss, dd in zip(i, k, s, d, strict=True))
        else:
            layer["padding"] = mode
    else:  # jax
        pad = draw(st.sampled_from(["SAME", "VALID", "PAIRS"]))
        if pad == "PAIRS":
            pad = tuple((draw(st.integers(-1, 3)), draw(st.integers(-1, 3))) for _ in range(nd))
        layer["padding"] = pad
        layer["use_consistent_padding"] = draw(st.booleans())
        layer["transpose_kernel"] = draw(st.booleans())
    return i, k, cin, cout, layer


def _translation(source, target, i, k, cin, cout, layer):
    kw = dict(input_size=i, kernel_size=k, stride=layer["stride"], dilation=layer["dilation"],
              padding=layer["padding"], output_padding=layer["output_padding"], output_size=layer["output_size"],
              in_channels=cin, out_channels=cout, groups=layer["groups"])
    if source == "jax":
        kw.update(use_consistent_padding=layer["use_consistent_padding"], transpose_kernel=layer["transpose_kernel"])
    return translate(source, target, **kw)


PAIRS = [(a, b) for a in CONVENTIONS for b in CONVENTIONS]


@pytest.mark.frameworks
@pytest.mark.parametrize("source, target", PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
@settings(max_examples=8)
@given(data=st.data())
def test_translation_runs_in_the_target_framework(source, target, data):
    _frameworks("jax" in (source, target))
    i, k, cin, cout, layer = data.draw(source_layer(source, target))
    try:
        t = _translation(source, target, i, k, cin, cout, layer)
    except convt.ConvError:  # the layer itself is invalid (an empty output): the source must refuse too
        return
    x = rand(2, cin, *i)
    w = rand(*_weight_shape(source, cin, cout, layer["groups"], k, layer["transpose_kernel"]))
    b = rand(cout)
    want = run_source(source, x, w, b, layer)
    got = run_target_code(t, x, w, b)
    f32 = {"onnx", "keras"} & {source, target}
    check(f"translate/{source}->{target}", got, want, 1e-5 if f32 else 1e-12)


# layers whose crop some targets cannot express in one layer: each extra-step kind, run for real
EXTRA_CASES = {
    # TF SAME, odd total: PyTorch crops the end after the layer (the porting trap)
    "tf-same-odd": ("tensorflow", dict(input_size=(4, 3), kernel_size=(3, 3), stride=(2, 2), padding="SAME",
                                             output_size=(8, 6))),
    # JAX's legacy pads larger than K-1: zeros at the start (a negative begin crop), then the bias
    "jax-legacy-big-pads": ("jax", dict(input_size=(4,), kernel_size=(2,), stride=(2,), padding=((3, 0),))),
    # PyTorch output_padding >= stride (allowed below dilation): ONNX Runtime refuses it, so zeros are appended
    "torch-op-above-stride": ("torch", dict(input_size=(4,), kernel_size=(3,), stride=(2,), dilation=(3,),
                                            padding=0, output_padding=(2,))),
    # a crop (2, -1): past the end of the full result. A target layer that crops that end (Keras "same": (1, 1))
    # loses a value no extra step brings back; only layers that keep the end are used (found by hypothesis)
    "jax-crop-past-the-end": ("jax", dict(input_size=(1,), kernel_size=(3,), stride=(1,), padding=((0, 3),))),
    # ONNX output_shape above F + output_padding (F = 12 here): zeros appended at the end (exact everywhere)
    "onnx-output-shape-above-full": ("onnx", dict(input_size=(4,), kernel_size=(3,), stride=(3,),
                                                  padding="NOTSET", output_size=(14,))),
    # a zero at each end, (-1, -1): convt's torch convention takes padding=-1, PyTorch refuses it, so the layer
    # gets padding=0 and the zeros are appended after it (found by a random hypothesis run)
    "jax-zeros-at-both-ends": ("jax", dict(input_size=(1,), kernel_size=(1,), stride=(1,), padding=((-1, -1),),
                                           use_consistent_padding=True)),
    # ONNX: one axis crops by pads and appends by output_padding, the other crops its end: exact in one ONNX
    # layer only with the two forms mixed per axis (found by a random hypothesis run, onnx -> onnx)
    "onnx-pads-and-op-per-axis": ("onnx", dict(input_size=(1, 1), kernel_size=(1, 2), stride=(2, 1),
                                               padding=((1, 0), (0, 1)), output_padding=(1, 0))),
    # the crop eats the whole full result at the start, then two zeros: ONNX's extra step is a Slice and a Pad
    "jax-crop-then-zeros": ("jax", dict(input_size=(1,), kernel_size=(1,), stride=(1,), padding=((1, -2),),
                                        use_consistent_padding=True)),
    # a crop past the data, (2, -2) of a full result of 1: it eats one of the zeros appended at the end, so the
    # output is one zero (the extra step once cropped to nothing and then appended two; found by the grid)
    "jax-crop-past-the-data": ("jax", dict(input_size=(1,), kernel_size=(1,), stride=(1,), padding=((2, -2),),
                                           use_consistent_padding=True)),
}


# TensorFlow's CPU kernels refuse dilation > 1 for transposed convolutions: those pairs are left out
EXTRA_PAIRS = [(c, t) for c in sorted(EXTRA_CASES) for t in CONVENTIONS
               if not (max(EXTRA_CASES[c][1].get("dilation", (1,))) > 1 and t in ("tensorflow", "keras"))]


@pytest.mark.frameworks
@pytest.mark.parametrize("case, target", EXTRA_PAIRS, ids=[f"{c}-to-{t}" for c, t in EXTRA_PAIRS])
def test_extra_steps_run_in_the_target_framework(case, target):
    source, kw = EXTRA_CASES[case]
    nd = len(kw["input_size"])
    _frameworks()
    t = translate(source, target, **kw, in_channels=2, out_channels=3)
    layer = dict(stride=kw["stride"], dilation=kw.get("dilation", (1,) * nd), groups=1,
                 output_padding=kw.get("output_padding"), output_size=kw.get("output_size"), padding=kw["padding"],
                 transpose_kernel=False, use_consistent_padding=kw.get("use_consistent_padding", False))
    x, b = rand(2, 2, *kw["input_size"]), rand(3)
    w = rand(*_weight_shape(source, 2, 3, 1, kw["kernel_size"], False))
    want = run_source(source, x, w, b, layer)
    got = run_target_code(t, x, w, b)
    check(f"translate/{source}->{target}", got, want, 1e-5 if {"onnx", "keras"} & {source, target} else 1e-12)
    assert t.exact == (target not in NEEDS_EXTRA[case])


NEEDS_EXTRA = {"tf-same-odd": {"torch"}, "jax-legacy-big-pads": {"torch", "tensorflow", "keras", "onnx"},
               "torch-op-above-stride": {"onnx"}, "onnx-output-shape-above-full": set(),
               "jax-crop-past-the-end": {"torch", "tensorflow", "keras", "onnx"},
               "jax-zeros-at-both-ends": {"torch", "tensorflow", "keras", "onnx"},
               "onnx-pads-and-op-per-axis": {"torch", "tensorflow", "keras"},
               "jax-crop-then-zeros": {"torch", "tensorflow", "keras", "onnx"},
               "jax-crop-past-the-data": {"torch", "tensorflow", "keras", "onnx"}}


# ---------------------------------------------------------------------------
# Direct convolutions
# ---------------------------------------------------------------------------
_JAX_DN = {1: ("NHC", "HIO", "NHC"), 2: ("NHWC", "HWIO", "NHWC"), 3: ("NDHWC", "DHWIO", "NDHWC")}


def run_source_direct(conv, x, w, b, layer):
    """The source framework computes the direct convolution. x canonical; returns canonical."""
    nd = x.ndim - 2
    s, d, pad = layer["stride"], layer["dilation"], layer["padding"]
    if conv == "torch":
        import torch

        f = getattr(torch.nn.functional, f"conv{nd}d")
        return f(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=s, padding=pad,
                 dilation=d, groups=layer["groups"]).numpy()
    if conv == "tensorflow":
        import tensorflow as tf

        tf_pad = pad if isinstance(pad, str) else [[0, 0], *map(list, pad), [0, 0]]
        y = getattr(tf.nn, f"conv{nd}d")(_layout(conv, x), w, [1, *s, 1], tf_pad, dilations=[1, *d, 1])
        return _back(conv, np.asarray(y) + b)
    if conv == "keras":
        import keras

        y = keras.layers.Conv1D if nd == 1 else keras.layers.Conv2D if nd == 2 else keras.layers.Conv3D
        layer_ = y(w.shape[-1], w.shape[:-2], strides=s, padding=pad, dilation_rate=d, groups=layer["groups"],
                   use_bias=False, dtype="float64")
        layer_.build((None, *x.shape[2:], x.shape[1]))
        layer_.set_weights([w])
        y = layer_(_layout(conv, x))
        return _back(conv, np.asarray(y) + b)
    if conv == "onnx":
        from onnx import helper, numpy_helper

        attrs = dict(strides=list(s), dilations=list(d), group=layer["groups"])
        if isinstance(pad, str):
            attrs["auto_pad"] = pad
        else:
            attrs["pads"] = [p[0] for p in pad] + [p[1] for p in pad]
        node = helper.make_node("Conv", ["X", "W", "B"], ["Y"], **attrs)
        return _ort([node], [numpy_helper.from_array(w.astype(np.float32), "W"),
                             numpy_helper.from_array(b.astype(np.float32), "B")], x)
    from jax import lax

    y = lax.conv_general_dilated(_layout(conv, x), w, s, pad, rhs_dilation=d, dimension_numbers=_JAX_DN[nd],
                                 feature_group_count=layer["groups"])
    return _back(conv, np.asarray(y) + b)


@st.composite
def source_direct(draw, source, target):
    tf_involved = {"tensorflow", "keras"} & {source, target}
    nd = draw(st.sampled_from([1, 2, 3]))
    i = tuple(draw(st.lists(st.integers(3, 7), min_size=nd, max_size=nd)))
    k = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    s = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    if tf_involved and nd == 3:  # TF 2.21's CPU Conv3D has bugs with strides (test_compat_tensorflow.py:
        s = (1, 1, 1)  # test_tf_conv3d_batched_unequal_strides, test_tf_conv3d_float64_same_stride_above_kernel_quirk)
    if tf_involved and nd == 2:  # and its float32 Conv2D with a batch, unequal strides and one channel (Keras'
        s = (s[0], s[0])  # layers run float32): test_compat_tensorflow.py::test_tf_conv2d_batched_unequal_strides
    d = (1,) * nd if tf_involved or max(s) > 1 else tuple(draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd)))
    g = draw(st.sampled_from([1, 2])) if nd < 3 or "tensorflow" not in (source, target) else 1
    cin, cout = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    if source == "torch":
        pad = draw(st.sampled_from(["valid", "INTS"] + (["same"] if max(s) == 1 else [])))
        if pad == "INTS":
            pad = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    elif source == "tensorflow":
        pad = draw(st.sampled_from(["SAME", "VALID"] + (["EXPLICIT"] if nd == 2 else [])))
        if pad == "EXPLICIT":
            pad = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd))
    elif source == "keras":
        pad = draw(st.sampled_from(["same", "valid"]))
    elif source == "onnx":
        pad = draw(st.sampled_from(["SAME_UPPER", "SAME_LOWER", "VALID", "PADS"] if max(d) == 1 else ["VALID", "PADS"]))
        if pad == "PADS":
            pad = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd))
    else:
        pad = draw(st.sampled_from(["SAME", "VALID", "PAIRS"]))
        if pad == "PAIRS":
            pad = tuple((draw(st.integers(-1, 2)), draw(st.integers(-1, 2))) for _ in range(nd))
    return i, k, cin, cout, dict(stride=s, dilation=d, groups=g, padding=pad)


@pytest.mark.frameworks
@pytest.mark.parametrize("source, target", PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
@settings(max_examples=5)
@given(data=st.data())
def test_direct_translation_runs_in_the_target_framework(source, target, data):
    _frameworks("jax" in (source, target))
    i, k, cin, cout, layer = data.draw(source_direct(source, target))
    try:
        t = translate(source, target, transposed=False, input_size=i, kernel_size=k, stride=layer["stride"],
                      dilation=layer["dilation"], padding=layer["padding"], in_channels=cin, out_channels=cout,
                      groups=layer["groups"])
    except convt.ConvError:  # an empty output
        return
    g = layer["groups"]
    x, b = rand(2, cin, *i), rand(cout)
    w = rand(cout, cin // g, *k) if source in FIRST else rand(*k, cin // g, cout)
    want = run_source_direct(source, x, w, b, layer)
    got = run_target_code(t, x, w, b)
    f32 = {"onnx", "keras"} & {source, target}
    check(f"translate-conv/{source}->{target}", got, want, 1e-5 if f32 else 1e-12)


DIRECT_EXTRA = {
    # TF SAME with a stride and an odd total: PyTorch pads symmetrically only (and refuses "same" with a stride)
    "tf-same-stride-2": ("tensorflow", dict(input_size=(6, 5), kernel_size=(3, 2), stride=(2, 1), padding="SAME")),
    # JAX's negative padding crops the input; where the target's layer would pad that side, it must not
    "jax-negative-pads": ("jax", dict(input_size=(3, 4), kernel_size=(1, 2), stride=(1, 2),
                                      padding=((1, 1), (1, -1)))),
    # ONNX asymmetric pads
    "onnx-asymmetric": ("onnx", dict(input_size=(5,), kernel_size=(3,), padding=((2, 0),))),
    # a "same" layer after an extra step would pad for the padded size, not the source's (found by hypothesis)
    "jax-pads-past-same": ("jax", dict(input_size=(3,), kernel_size=(3,), stride=(2,), padding=((1, 2),))),
    # the input cropped past its data, (-3, 3) of 1 element: one zero is left (found by the grid)
    "jax-crop-past-the-data": ("jax", dict(input_size=(1,), kernel_size=(1,), stride=(1,), padding=((-3, 3),))),
    # an input smaller than the kernel, asymmetric pads: the target layer runs on the padded input (found by the
    # grid: no PyTorch layer was found, the candidates being checked on the unpadded input)
    "onnx-input-below-kernel": ("onnx", dict(input_size=(1,), kernel_size=(3,), padding=((0, 2),))),
}
DIRECT_NEEDS_EXTRA = {"tf-same-stride-2": {"torch"}, "jax-negative-pads": {"torch", "tensorflow", "keras", "onnx"},
                      "onnx-asymmetric": {"torch", "tensorflow", "keras"},
                      "jax-pads-past-same": {"torch", "tensorflow", "keras"},
                      "jax-crop-past-the-data": {"torch", "tensorflow", "keras", "onnx"},
                      "onnx-input-below-kernel": {"torch", "tensorflow", "keras"}}


def test_direct_translation_structure():
    t = translate("tensorflow", "torch", transposed=False, input_size=6, kernel_size=3, stride=2, padding="SAME")
    assert t.spec.pads == ((0, 1),) and t.extra == ((0, 1),) and t.params["padding"] == "valid"
    assert "x = torch.nn.functional.pad(x, [0, 1])  # the extra step: zero-pad the input" in t.code
    t = translate("torch", "onnx", transposed=False, input_size=6, kernel_size=3, padding=1, groups=2,
                  in_channels=2, out_channels=4)
    assert t.exact and t.params["pads"] == [1, 1] and t.params["group"] == 2


@pytest.mark.frameworks
@pytest.mark.parametrize("target", CONVENTIONS)
@pytest.mark.parametrize("case", sorted(DIRECT_EXTRA))
def test_direct_extra_steps_run_in_the_target_framework(case, target):
    source, kw = DIRECT_EXTRA[case]
    _frameworks()
    nd = len(kw["input_size"])
    t = translate(source, target, transposed=False, **kw, in_channels=2, out_channels=3)
    assert t.exact == (target not in DIRECT_NEEDS_EXTRA[case])
    layer = dict(stride=kw.get("stride", (1,) * nd), dilation=(1,) * nd, groups=1, padding=kw["padding"])
    x, b = rand(2, 2, *kw["input_size"]), rand(3)
    w = rand(3, 2, *kw["kernel_size"]) if source in FIRST else rand(*kw["kernel_size"], 2, 3)
    want = run_source_direct(source, x, w, b, layer)
    check(f"translate-conv/{source}->{target}", run_target_code(t, x, w, b), want,
          1e-5 if {"onnx", "keras"} & {source, target} else 1e-12)


@pytest.mark.frameworks
@pytest.mark.parametrize("source, target", PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_grouped_direct_translation_runs_in_the_target_framework(source, target):
    """groups=2 direct convolutions, 1-D to 3-D (TensorFlow's CPU Conv3D refuses grouped filters: 1-D and 2-D)."""
    _frameworks()
    pad = {"torch": "valid", "tensorflow": "SAME", "keras": "same", "onnx": "VALID", "jax": "SAME"}[source]
    for nd in (1, 2) if "tensorflow" in (source, target) else (1, 2, 3):
        i, k, s = (5,) * nd, (3,) * nd, (2,) + (1,) * (nd - 1)
        layer = dict(stride=s, dilation=(1,) * nd, groups=2, padding=pad)
        t = translate(source, target, transposed=False, input_size=i, kernel_size=k, stride=s, padding=pad,
                      in_channels=4, out_channels=6, groups=2)
        assert t.params.get("groups", t.params.get("group", t.params.get("feature_group_count", 2))) == 2
        x, b = rand(2, 4, *i), rand(6)
        w = rand(6, 2, *k) if source in FIRST else rand(*k, 2, 6)
        check(f"translate-conv grouped/{source}->{target}", run_target_code(t, x, w, b),
              run_source_direct(source, x, w, b, layer), 1e-5 if {"onnx", "keras"} & {source, target} else 1e-12)


MODE_CASES = [(mode, target) for mode in ("reflect", "replicate", "circular") for target in CONVENTIONS
              if mode == "reflect" or target in ("torch", "onnx", "jax")]


@pytest.mark.frameworks
@pytest.mark.parametrize("mode, target", MODE_CASES, ids=[f"{m}-to-{t}" for m, t in MODE_CASES])
def test_padding_mode_translation_runs_in_the_target_framework(mode, target):
    """A torch direct convolution with a padding mode, symmetric and asymmetric, 1-D to 3-D, against torch's own
    F.pad(mode) + conv."""
    import torch
    import torch.nn.functional as F

    _frameworks()
    cases = [((7,), (3,), (2,), ((2, 1),)), ((6, 5), (3, 2), (1, 2), ((1, 1), (1, 1))),
             ((5, 6), (3, 3), (2, 1), ((0, 2), (1, 0)))]
    if target != "tensorflow" or mode != "reflect":  # TF's CPU Conv3D: strides 1 only (see source_direct)
        cases.append(((4, 5, 4), (2, 3, 2), (1, 1, 1), ((1, 0), (1, 1), (0, 1))))
    for i, k, s, pads in cases:
        nd = len(i)
        t = translate("torch", target, transposed=False, input_size=i, kernel_size=k, stride=s, padding=pads,
                      in_channels=4, out_channels=6, groups=2, padding_mode=mode)
        assert t.exact == (target == "torch" and all(lo == hi for lo, hi in pads))
        x, b = rand(2, 4, *i), rand(6)
        w = rand(6, 2, *k)
        flat = [v for p in reversed(pads) for v in p]
        want = getattr(F, f"conv{nd}d")(F.pad(torch.from_numpy(x), flat, mode=mode), torch.from_numpy(w),
                                        torch.from_numpy(b), stride=s, groups=2).numpy()
        check(f"translate-conv {mode}/torch->{target}", run_target_code(t, x, w, b), want,
              1e-5 if target in ("onnx", "keras") else 1e-12)


def test_padding_mode_translation_refusals():
    kw = dict(transposed=False, input_size=5, kernel_size=3, padding=1)
    for target in ("tensorflow", "keras"):
        with pytest.raises(convt.ConvError, match=f"{target} has no 'circular' padding"):
            translate("torch", target, padding_mode="circular", **kw)
    with pytest.raises(convt.ConvError, match="from torch only"):
        translate("onnx", "torch", padding_mode="reflect", **kw)
    with pytest.raises(convt.ConvError, match="from torch only"):
        translate("torch", "onnx", padding_mode="reflect", input_size=5, kernel_size=3, padding=1)  # transposed
    with pytest.raises(convt.ConvError, match="negative padding"):
        translate("torch", "jax", padding_mode="reflect", transposed=False, input_size=5, kernel_size=3,
                  padding=((1, -1),))
    with pytest.raises(convt.ConvError, match=r"reflect.*at most size - 1"):
        translate("torch", "jax", padding_mode="reflect", transposed=False, input_size=3, kernel_size=3, padding=3)
    with pytest.raises(convt.ConvError, match="padding_mode must be one of"):
        translate("torch", "jax", padding_mode="mirror", **kw)


# ---------------------------------------------------------------------------
# Every corner of a small 1-D grid, in each source's own padding forms
# ---------------------------------------------------------------------------
def _grid_layers():
    """Every small 1-D transposed layer in each source's terms: (source, kw for translate)."""
    import itertools

    for i, k, s, d in itertools.product((1, 2, 3), (1, 2, 3), (1, 2, 3), (1, 2)):
        base = dict(input_size=(i,), kernel_size=(k,), stride=(s,), dilation=(d,))
        for p, op in itertools.product(range(d * (k - 1) + 1), range(max(s, d))):
            yield "torch", dict(base, padding=p, output_padding=(op,))
        for pads, op in itertools.product(itertools.product(range(3), range(3)), range(s)):
            yield "onnx", dict(base, padding=(pads,), output_padding=(op,))
        for word, op in itertools.product(("SAME_UPPER", "SAME_LOWER", "VALID"), range(s)):
            yield "onnx", dict(base, padding=word, output_padding=(op,))
        for word, o in itertools.product(("NOTSET", "SAME_UPPER", "SAME_LOWER"),
                                         range(1, ar.full_length(i, k, s, d) + s)):
            yield "onnx", dict(base, padding=word, output_size=(o,))
        for pads, consistent in itertools.product(itertools.product(range(-2, 3), range(-2, 3)), (False, True)):
            yield "jax", dict(base, padding=(pads,), use_consistent_padding=consistent)
        for word in ("SAME", "VALID"):
            yield "jax", dict(base, padding=word)
        if d == 1:  # TensorFlow's and Keras' CPU kernels refuse a dilated transposed convolution
            for word in ("SAME", "VALID"):
                for o in ar.tf_transpose_output_range(i, k, s, 1, word.lower()):
                    yield "tensorflow", dict(base, padding=word, output_size=(o,))
            for word, op in itertools.product(("same", "valid"), (None, *range(s))):
                yield "keras", dict(base, padding=word, output_padding=None if op is None else (op,))


def _run_grid(layers, name: str) -> dict[str, int]:
    """Translate every ``(source, kw)`` layer to PyTorch (every one) and ONNX (where an extra step is needed),
    run the printed code, compare with convt on the source's canonical pads; the counts per target."""
    from convt.compat import layer_spec

    counts = {"torch": 0, "onnx": 0}
    for source, kw in layers:
        k = kw["kernel_size"][0]
        try:
            spec = layer_spec(source, **{"transposed": True, **kw})
        except convt.ConvError:
            continue
        w = np.array([1.0, 2.0, 1.0][:k] if k != 2 else [1.0, 1.0]).reshape(1, 1, k)
        x, b = rand(2, 1, *kw["input_size"]), rand(1)
        op = convt.conv_transpose if spec.transposed else convt.conv
        want = op(x, w, b, stride=spec.stride, dilation=spec.dilation, padding=spec.pads)
        for target in ("torch", "onnx"):
            t = translate(source, target, **kw)
            if target == "onnx" and t.exact:
                continue  # one plain layer: the random draws run those
            got = run_target_code(t, x, w.reshape(_weight_shape(source, 1, 1, 1, (k,), False)), b)
            check(f"{name} {source}->{target}", got, want, 1e-5 if target == "onnx" else 1e-12)
            counts[target] += 1
    return counts


@pytest.mark.frameworks
def test_every_corner_of_a_small_1d_grid_runs_in_torch_and_onnx():
    """Every small 1-D layer that each source can express (its own padding words, pairs, output_padding and
    output sizes), translated to PyTorch (every layer) and to ONNX (every layer that needs an extra step), the
    printed code run by the target and compared with convt on the source's canonical crop. One channel and a
    palindromic kernel make every framework's weight layout the same numbers, so no weight conversion is
    involved: the padding, crop and extra-step logic is what is checked (the random draws above check weights)."""
    counts = _run_grid(_grid_layers(), "translate grid")
    assert counts["torch"] > 2000 and counts["onnx"] > 100, counts


def _grid_direct_layers():
    """Every small 1-D direct layer in each source's terms: (source, kw for translate)."""
    import itertools

    for i, k, s, d in itertools.product((1, 2, 3, 4), (1, 2, 3), (1, 2, 3), (1, 2)):
        base = dict(input_size=(i,), kernel_size=(k,), stride=(s,), dilation=(d,), transposed=False)
        for p in (*range(3), "same", "valid"):
            yield "torch", dict(base, padding=p)
        for pads in itertools.product(range(3), range(3)):
            yield "onnx", dict(base, padding=(pads,))
        for word in ("SAME_UPPER", "SAME_LOWER", "VALID"):
            yield "onnx", dict(base, padding=word)
        for pads in itertools.product(range(-3, 3), range(-3, 3)):
            yield "jax", dict(base, padding=(pads,))
        for word in ("SAME", "VALID"):
            yield "jax", dict(base, padding=word)
            yield "tensorflow", dict(base, padding=word)
            yield "keras", dict(base, padding=word.lower())


@pytest.mark.frameworks
def test_every_corner_of_a_small_1d_direct_grid_runs_in_torch_and_onnx():
    """The direct convolutions' grid, as above: the extra step on the input (a crop, zeros, or both, a crop
    reaching past the data included) run by PyTorch (every layer) and ONNX Runtime (where it is needed)."""
    counts = _run_grid(_grid_direct_layers(), "translate direct grid")
    assert counts["torch"] > 1000 and counts["onnx"] > 50, counts
