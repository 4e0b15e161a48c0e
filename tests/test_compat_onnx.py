"""convt.compat.onnx against ONNX Runtime (and onnx.reference where it is valid).

Every frameworks.md section (c) vector that involves ONNX is a named test;
hypothesis draws random ConvTranspose and Conv nodes. Float32 (ONNX Runtime
has no float64 ConvTranspose), so agreement is to float32 rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from _lazy import LazyModule
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import LEDGER, check

import convt
from convt import arithmetic as ar
from convt.compat import layer_spec
from convt.compat import onnx as co

pytestmark = pytest.mark.frameworks

ort = LazyModule("onnxruntime")  # imported by the first test that runs, not at collection
helper = LazyModule("onnx.helper")

RNG = np.random.default_rng(0)


def refused(name):
    """Record a case where the framework and convt both refuse (counted in the summary)."""
    n, worst = LEDGER.get(f"{name} (both refuse)", (0, 0.0))
    LEDGER[f"{name} (both refuse)"] = (n + 1, worst)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _model(op, x, w, b, attrs):
    from onnx import TensorProto

    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape)),
              helper.make_tensor_value_info("W", TensorProto.FLOAT, list(w.shape))]
    names = ["X", "W"]
    if b is not None:
        inputs.append(helper.make_tensor_value_info("B", TensorProto.FLOAT, list(b.shape)))
        names.append("B")
    attrs = {k: v for k, v in attrs.items() if v is not None}
    node = helper.make_node(op, names, ["Y"], **attrs)
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)]), names


def run_ort(op, x, w, b=None, **attrs):
    model, names = _model(op, x, w, b, attrs)
    so = ort.SessionOptions()
    so.log_severity_level = 4
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feeds = dict(zip(names, [a for a in (x, w, b) if a is not None], strict=True))
    return sess.run(None, feeds)[0]


def run_reference(op, x, w, b=None, **attrs):
    from onnx.reference import ReferenceEvaluator

    model, names = _model(op, x, w, b, attrs)
    return ReferenceEvaluator(model).run(None, dict(zip(names, [a for a in (x, w, b) if a is not None],
                                                        strict=True)))[0]


ORT_ERRORS = (Exception,)


def crop_1d(i, k, s=1, d=1, **attrs):
    """Run ORT on one channel; read off (cb, ce) against the core's full result."""
    x, w = rand(1, 1, i), rand(1, 1, k)
    y = run_ort("ConvTranspose", x, w, strides=[s], dilations=[d], **attrs)[0, 0]
    f = ar.full_length(i, k, s, d)
    o = len(y)
    for cb in range(-3, f + 1):
        cand = convt.conv_transpose(x, w, stride=s, dilation=d, padding=[(cb, f - o - cb)])[0, 0]
        if np.allclose(cand, y, rtol=0, atol=1e-5):
            check("compat/onnx", co.conv_transpose(x, w, strides=[s], dilations=[d], **attrs)[0, 0], y)
            return o, (cb, f - o - cb)
    raise AssertionError("no crop matches ONNX Runtime's result")


# ---------------------------------------------------------------------------
# frameworks.md (c) vectors
# ---------------------------------------------------------------------------
def test_vector01_same_upper_end_same_lower_start_output_shape_start():
    assert crop_1d(4, 3, 2, auto_pad="SAME_UPPER") == (8, (0, 1))
    assert crop_1d(4, 3, 2, auto_pad="SAME_LOWER") == (8, (1, 0))
    assert crop_1d(4, 3, 2, output_shape=[8]) == (8, (1, 0))
    with pytest.raises(Exception):  # noqa: B017 - the reference evaluator refuses this node
        run_reference("ConvTranspose", rand(1, 1, 4), rand(1, 1, 3), strides=[2], output_shape=[8])


def test_vector02_even_kernel_everyone_agrees():
    assert crop_1d(4, 4, 2, pads=[1, 1]) == (8, (1, 1))
    assert crop_1d(4, 4, 2, auto_pad="SAME_UPPER") == (8, (1, 1))


def test_vector04_stride_larger_than_kernel_ort_does_not_extend():
    """ORT: 5, (0, 0); onnx.reference 6, (-1, 0); TF/JAX/Keras 6, (0, -1). convt follows ORT."""
    assert crop_1d(3, 1, 2, auto_pad="SAME_UPPER") == (5, (0, 0))
    ref = run_reference("ConvTranspose", x := rand(1, 1, 3), w := rand(1, 1, 1), strides=[2], auto_pad="SAME_UPPER")
    assert ref.shape[-1] == 6 and ref[0, 0, 0] == 0
    assert co.conv_transpose(x, w, strides=[2], auto_pad="SAME_UPPER").shape[-1] == 5
    assert crop_1d(3, 2, 3, auto_pad="SAME_LOWER") == (8, (0, 0))


def test_vector05_same_upper_with_output_padding():
    assert crop_1d(4, 3, 2, auto_pad="SAME_UPPER", output_padding=[1]) == (8, (1, 0))
    assert ar.onnx_transpose_crop(4, 3, 2, 1, "same_upper", output_padding=1) == (1, 0)


def test_vector06_output_padding_not_below_stride_is_refused():
    x, w = rand(1, 1, 4), rand(1, 1, 3)
    with pytest.raises(Exception, match="output_padding"):
        run_ort("ConvTranspose", x, w, strides=[1], dilations=[2], output_padding=[1])
    with pytest.raises(convt.ConvError, match="output_padding < stride"):
        co.conv_transpose(x, w, strides=[1], dilations=[2], output_padding=[1])
    with pytest.raises(Exception, match="output_padding"):
        run_ort("ConvTranspose", x, w, strides=[2], dilations=[3], output_padding=[2])
    with pytest.raises(convt.ConvError, match="output_padding < stride"):
        co.conv_transpose(x, w, strides=[2], dilations=[3], output_padding=[2])


@pytest.mark.parametrize("c, m", [(2, 4), (4, 2)])
def test_vector12_groups(c, m):
    x, w, b = rand(2, c, 3, 4), rand(c, m // 2, 3, 2), rand(m)
    y = run_ort("ConvTranspose", x, w, b, group=2, strides=[2, 1], pads=[1, 0, 0, 1])
    check("compat/onnx", co.conv_transpose(x, w, b, group=2, strides=[2, 1], pads=[1, 0, 0, 1]), y)


def test_vector17_same_lower_forward_conv():
    x, w = rand(1, 1, 6), rand(1, 1, 4)
    y = run_ort("Conv", x, w, auto_pad="SAME_LOWER")
    check("compat/onnx", co.conv(x, w, auto_pad="SAME_LOWER"), y)
    assert ar.same_conv_padding(6, 4, lower=True) == (2, 1)


def test_output_shape_ignores_pads_and_refuses_sizes_above_full_plus_stride():
    x, w = rand(1, 1, 4), rand(1, 1, 3)
    y = run_ort("ConvTranspose", x, w, strides=[2], output_shape=[8], pads=[0, 3])
    check("compat/onnx", co.conv_transpose(x, w, strides=[2], output_shape=[8], pads=[0, 3]), y)
    assert crop_1d(4, 3, 2, output_shape=[10]) == (10, (0, -1))  # F + s - 1: a zero appended
    with pytest.raises(Exception, match="output_shape"):
        run_ort("ConvTranspose", x, w, strides=[2], output_shape=[11])
    with pytest.raises(convt.ConvError, match="accepts 1 to"):
        co.conv_transpose(x, w, strides=[2], output_shape=[11])
    assert crop_1d(4, 3, 2, output_shape=[1]) == (1, (4, 4))
    assert crop_1d(4, 3, 2, output_shape=[8], auto_pad="VALID") == (8, (1, 0))


def test_refusals_negative_pads_and_pads_with_auto_pad():
    x, w = rand(1, 1, 4), rand(1, 1, 3)
    for attrs in (dict(pads=[-1, 0]), dict(pads=[1, 1], auto_pad="SAME_UPPER"), dict(kernel_shape=[2]),
                  dict(pads=[5, 5], strides=[2])):
        with pytest.raises(Exception):  # noqa: B017 - ORT's own error types
            run_ort("ConvTranspose", x, w, **attrs)
        with pytest.raises(convt.ConvError):
            co.conv_transpose(x, w, **attrs)
        refused("compat/onnx")


def test_layer_spec_matches_the_adapter():
    spec = layer_spec("onnx", transposed=True, input_size=(4, 3), kernel_size=(3, 2), stride=(2, 3),
                      padding="SAME_UPPER", output_padding=(1, 0))
    y = run_ort("ConvTranspose", rand(1, 1, 4, 3), rand(1, 1, 3, 2), strides=[2, 3], auto_pad="SAME_UPPER",
                output_padding=[1, 0])
    assert spec.output_size == y.shape[2:]


# ---------------------------------------------------------------------------
# Random nodes (hypothesis)
# ---------------------------------------------------------------------------
@st.composite
def transpose_node(draw):
    nd = draw(st.sampled_from([1, 2, 3]))
    i = draw(st.lists(st.integers(1, 5), min_size=nd, max_size=nd))
    k = draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd))
    s = draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd))
    d = draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd))
    op = [draw(st.integers(0, max(ss, dd) - 1)) for ss, dd in zip(s, d, strict=True)]
    attrs = dict(strides=s, dilations=d, output_padding=op)
    mode = draw(st.sampled_from(["pads", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "output_shape"]))
    if mode == "pads":
        attrs["pads"] = [draw(st.integers(0, 3)) for _ in range(2 * nd)]
    elif mode == "output_shape":
        attrs["output_shape"] = [draw(st.integers(1, ar.full_length(*a) + a[2]))
                                 for a in zip(i, k, s, d, strict=True)]
        attrs["auto_pad"] = draw(st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    else:
        attrs["auto_pad"] = mode
    g = draw(st.integers(1, 2))
    c, m = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    return i, k, c, m, g, draw(st.booleans()), attrs


@settings(max_examples=40)
@given(transpose_node())
def test_conv_transpose_random(node):
    i, k, c, m, g, with_bias, attrs = node
    x, w = rand(2, c, *i), rand(c, m // g, *k)
    b = rand(m) if with_bias else None
    try:
        y = run_ort("ConvTranspose", x, w, b, group=g, **attrs)
    except Exception:  # ORT refuses: so must convt
        with pytest.raises(convt.ConvError):
            co.conv_transpose(x, w, b, group=g, **attrs)
        refused("compat/onnx")
        return
    got = co.conv_transpose(x, w, b, group=g, **attrs)
    check("compat/onnx", got, y)
    if g == 1 and "pads" in attrs:  # explicit pads: onnx.reference agrees (it crashes on groups, vector 12)
        check("compat/onnx[reference]", got, run_reference("ConvTranspose", x, w, b, **attrs), 1e-5)


@settings(max_examples=30)
@given(st.sampled_from([1, 2, 3]), st.data())
def test_conv_random(nd, data):
    i = data.draw(st.lists(st.integers(1, 7), min_size=nd, max_size=nd))
    k = data.draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd))
    s = data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd))
    d = data.draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd))
    attrs = dict(strides=s, dilations=d)
    mode = data.draw(st.sampled_from(["pads", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    if mode == "pads":
        attrs["pads"] = [data.draw(st.integers(0, 3)) for _ in range(2 * nd)]
    else:
        attrs["auto_pad"] = mode
    g = data.draw(st.integers(1, 2))
    c, m = g * data.draw(st.integers(1, 2)), g * data.draw(st.integers(1, 2))
    x, w, b = rand(1, c, *i), rand(m, c // g, *k), rand(m)
    try:
        y = run_ort("Conv", x, w, b, group=g, **attrs)
    except Exception:
        with pytest.raises(convt.ConvError):
            co.conv(x, w, b, group=g, **attrs)
        refused("compat/onnx")
        return
    got = co.conv(x, w, b, group=g, **attrs)
    check("compat/onnx", got, y)
    check("compat/onnx[reference]", got, run_reference("Conv", x, w, b, group=g, **attrs), 1e-5)
