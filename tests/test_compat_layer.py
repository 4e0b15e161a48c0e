"""convt.compat.layer_spec, the adapters' refusals, and the PyTorch side of frameworks.md (c).

Fast: no TensorFlow, Keras, JAX or ONNX Runtime here (PyTorch only).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import check

import convt
from convt import arithmetic as ar
from convt.compat import layer_spec
from convt.compat import onnx as co
from convt.compat import tensorflow as ctf

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape)


def test_import_compat_loads_no_framework():
    code = ("import sys, convt.compat, convt.compat.tensorflow, convt.compat.keras, convt.compat.onnx, "
            "convt.compat.jax; print([m for m in ('tensorflow', 'jax', 'onnxruntime', 'onnx', 'keras', 'torch') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def torch_crop(i, k, s, d=1, p=0, op=0, output_size=None):
    x, w = torch.from_numpy(rand(1, 1, i)), torch.from_numpy(rand(1, 1, k))
    if output_size is None:
        y = torch.nn.functional.conv_transpose1d(x, w, stride=s, padding=p, output_padding=op, dilation=d)
    else:
        m = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, dilation=d, bias=False).double()
        m.weight.data = w
        y = m(x, output_size=output_size).detach()
    f, o = ar.full_length(i, k, s, d), y.shape[-1]
    for cb in range(-3, f + 1):
        cand = convt.conv_transpose(x.numpy(), w.numpy(), stride=s, dilation=d, padding=[(cb, f - o - cb)])
        if np.allclose(cand, y.numpy(), rtol=0, atol=1e-12):
            return o, (cb, f - o - cb)
    raise AssertionError("no crop matches PyTorch's result")


@pytest.mark.parametrize("transposed", [True, False])
def test_default_padding_is_each_frameworks_default(transposed, capsys):
    """``padding`` left out means the framework's default (it meant 0, which only PyTorch takes): the same
    spec as that default given, in layer_spec and translate, and what the command line assumes."""
    from convt.cli import main
    from convt.translate import translate

    explicit = {"torch": 0, "tensorflow": "SAME", "keras": "valid", "onnx": ((0, 0),), "jax": "SAME"}
    for conv, pad in explicit.items():
        kw = dict(transposed=transposed, input_size=5, kernel_size=3, stride=2)
        spec = layer_spec(conv, **kw)
        assert spec == layer_spec(conv, padding=pad, **kw), conv
        assert translate(conv, "torch", **kw).spec == spec
        assert main(["explain", "--convention", conv, "--input", "5", "--kernel", "3", "--stride", "2",
                     *([] if transposed else ["--conv"])]) == 0
        assert f"-> output [{spec.output_size[0]}]" in capsys.readouterr().out, conv


def test_tensorflow_explicit_padding_is_never_negative():
    """TensorFlow refuses negative explicit paddings, direct or transposed (the direct case was taken; found
    by comparing the explorer page with layer_spec over random settings, whose rule was already right)."""
    for transposed in (True, False):
        with pytest.raises(convt.ConvError, match="must not contain negative values"):
            layer_spec("tensorflow", transposed=transposed, input_size=6, kernel_size=1, stride=3, padding=[(-1, 0)])
    assert layer_spec("jax", transposed=False, input_size=6, kernel_size=1, stride=3, padding=[(-1, 0)]).pads == ((-1, 0),)


def test_vector01_torch_puts_the_extra_at_the_start():
    assert torch_crop(4, 3, 2, p=1, op=1) == (8, (1, 0))
    assert torch_crop(4, 3, 2, p=1, output_size=[8]) == (8, (1, 0))
    assert layer_spec("torch", transposed=True, input_size=4, kernel_size=3, stride=2, padding=1,
                      output_size=[8]).pads == ((1, 0),)
    assert layer_spec("tensorflow", transposed=True, input_size=4, kernel_size=3, stride=2,
                      padding="SAME").pads == ((0, 1),)


def test_vector02_even_kernel_everyone_agrees():
    assert torch_crop(4, 4, 2, p=1) == (8, (1, 1))
    for conv, pad in [("tensorflow", "SAME"), ("keras", "same"), ("jax", "SAME"), ("onnx", "SAME_UPPER"),
                      ("onnx", "SAME_LOWER")]:
        assert layer_spec(conv, transposed=True, input_size=4, kernel_size=4, stride=2,
                          padding=pad).pads == ((1, 1),), conv


def test_vector06_output_padding_below_dilation_torch_functional():
    assert torch_crop(4, 3, 1, d=2, op=1) == (9, (0, -1))
    assert torch_crop(4, 3, 2, d=3, op=2) == (15, (0, -2))


def test_vector13_torch_padding_larger_than_kernel():
    assert torch_crop(4, 3, 2, p=3) == (3, (3, 3))
    assert torch_crop(4, 3, 2, p=4) == (1, (4, 4))
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv_transpose1d(torch.ones(1, 1, 4), torch.ones(1, 1, 3), stride=2, padding=5)
    with pytest.raises(convt.ConvError, match="must be >= 1"):
        layer_spec("torch", transposed=True, input_size=4, kernel_size=3, stride=2, padding=5)


def test_vector16_torch_positional_trap_groups_before_dilation():
    """F.conv_transpose1d(x, w, None, 1, 0, 0, 2): the 7th positional argument is groups."""
    x, w = torch.from_numpy(rand(1, 2, 5)), torch.from_numpy(rand(2, 1, 3))
    y = torch.nn.functional.conv_transpose1d(x, w, None, 1, 0, 0, 2)
    check("compat/torch", convt.conv_transpose(x.numpy(), w.numpy(), groups=2), y.numpy())


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_vector17_torch_same_forward_conv_even_kernel():
    x, w = torch.from_numpy(rand(1, 1, 6)), torch.from_numpy(rand(1, 1, 4))
    y = torch.nn.functional.conv1d(x, w, padding="same")
    check("compat/torch", convt.conv(x.numpy(), w.numpy(), padding=[(1, 2)]), y.numpy())
    assert layer_spec("torch", transposed=False, input_size=6, kernel_size=4, padding="same").pads == ((1, 2),)
    assert layer_spec("tensorflow", transposed=False, input_size=6, kernel_size=4, padding="SAME").pads == ((1, 2),)


# ---------------------------------------------------------------------------
# layer_spec agrees with the adapters (the same rules, two entry points)
# ---------------------------------------------------------------------------
@settings(max_examples=40)
@given(st.sampled_from(["tensorflow", "keras", "onnx", "jax"]), st.integers(1, 6), st.integers(1, 4),
       st.integers(1, 3), st.data())
def test_layer_spec_matches_adapter_output_shape(convention, i, k, s, data):
    x = rand(1, i, 1)
    w = rand(k, 1, 1)
    if convention == "tensorflow":
        pad = data.draw(st.sampled_from(["SAME", "VALID"]))
        o = data.draw(st.sampled_from(list(ar.tf_transpose_output_range(i, k, s, 1, pad.lower()))))
        spec = layer_spec(convention, transposed=True, input_size=i, kernel_size=k, stride=s, padding=pad,
                          output_size=[o])
        y = ctf.conv1d_transpose(x, w, [1, o, 1], s, pad)
    elif convention == "keras":
        from convt.compat import keras as ck

        pad = data.draw(st.sampled_from(["valid", "same"]))
        op = data.draw(st.one_of(st.none(), st.integers(0, s - 1)))
        try:
            spec = layer_spec(convention, transposed=True, input_size=i, kernel_size=k, stride=s, padding=pad,
                              output_padding=op)
        except convt.ConvError:
            with pytest.raises(convt.ConvError):
                ck.conv_transpose(x, w, strides=s, padding=pad, output_padding=op)
            return
        y = ck.conv_transpose(x, w, strides=s, padding=pad, output_padding=op)
    elif convention == "onnx":
        pad = data.draw(st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
        spec = layer_spec(convention, transposed=True, input_size=i, kernel_size=k, stride=s, padding=pad)
        y = np.moveaxis(co.conv_transpose(np.moveaxis(x, -1, 1), np.moveaxis(w, 0, -1), auto_pad=pad, strides=[s]),
                        1, -1)
    else:
        from convt.compat import jax as cj

        pad = data.draw(st.sampled_from(["SAME", "VALID"]))
        spec = layer_spec(convention, transposed=True, input_size=i, kernel_size=k, stride=s, padding=pad)
        y = cj.conv_transpose(x, w, (s,), pad, transpose_kernel=True)
    assert y.shape[1:-1] == spec.output_size
    ref = convt.conv_transpose(np.moveaxis(x, -1, 1), np.transpose(w, (2, 1, 0)), stride=s, padding=list(spec.pads))
    np.testing.assert_allclose(np.moveaxis(ref, 1, -1), y, rtol=1e-12, atol=1e-12)


def test_layer_spec_tf_default_output_is_what_keras_asks_for():
    assert layer_spec("tensorflow", transposed=True, input_size=3, kernel_size=1, stride=2,
                      padding="VALID").output_size == (6,)
    assert layer_spec("tensorflow", transposed=True, input_size=3, kernel_size=3, stride=2,
                      padding="SAME").output_size == (6,)
    assert layer_spec("tensorflow", transposed=True, input_size=3, kernel_size=3, stride=2,
                      padding=[(1, 1)]).output_size == (5,)


@pytest.mark.parametrize("kwargs, match", [
    (dict(convention="caffe", transposed=True), "convention must be one of"),
    (dict(convention="tensorflow", transposed=True, padding="FULL"), "padding for convention"),
    (dict(convention="tensorflow", transposed=True, padding=[(-1, 0)]), "negative"),
    (dict(convention="tensorflow", transposed=True, padding="SAME", output_size=[9]), r"valid sizes per axis are 7\.\.8"),
    (dict(convention="jax", transposed=True, padding="SAME", output_padding=1), "has no output_padding"),
    (dict(convention="onnx", transposed=True, padding="SAME_UPPER", output_padding=2), "output_padding < stride"),
    (dict(convention="keras", transposed=False, padding="same", output_size=[3]), "has no output_size"),
])
def test_layer_spec_refusals(kwargs, match):
    with pytest.raises(convt.ConvError, match=match):
        layer_spec(input_size=4, kernel_size=3, stride=2, **kwargs)


# ---------------------------------------------------------------------------
# Adapter argument checks (no framework needed: these are the frameworks' documented refusals)
# ---------------------------------------------------------------------------
def test_tensorflow_argument_checks():
    x, w = rand(1, 4, 1), rand(3, 1, 1)
    with pytest.raises(convt.ConvError, match="padding must be 'SAME'"):
        ctf.conv1d_transpose(x, w, [1, 8, 1], 2, "same")
    with pytest.raises(TypeError, match="no explicit padding"):
        ctf.conv1d_transpose(x, w, [1, 8, 1], 2, [[0, 0], [1, 1], [0, 0]])
    with pytest.raises(convt.ConvError, match="batch and channel dimensions must be 1"):
        ctf.conv1d_transpose(x, w, [1, 8, 1], [2, 2, 1])
    with pytest.raises(convt.ConvError, match="must have batch 1 and 1 channels"):
        ctf.conv1d_transpose(x, w, [2, 8, 1], 2)
    with pytest.raises(convt.ConvError, match="data_format"):
        ctf.conv1d_transpose(x, w, [1, 8, 1], 2, data_format="NHWC")
    with pytest.raises(TypeError, match="stride or strides"):
        ctf.conv1d(x, w, 1, "SAME", strides=1)
    assert ctf.conv1d(x, w, strides=2, padding="SAME").shape == (1, 2, 1)


def test_onnx_argument_checks():
    x, w = rand(1, 1, 4), rand(1, 1, 3)
    with pytest.raises(convt.ConvError, match="auto_pad must be one of"):
        co.conv_transpose(x, w, auto_pad="SAME")
    with pytest.raises(convt.ConvError, match="pads must hold 2 values"):
        co.conv_transpose(x, w, pads=[1])
    with pytest.raises(convt.ConvError, match="output_shape must hold the 1 spatial"):
        co.conv_transpose(x, w, output_shape=[1, 1, 6])
    with pytest.raises(convt.ConvError, match="does not support dilations"):
        co.conv(x, w, auto_pad="SAME_UPPER", dilations=[2])


def test_torch_convention_over_a_small_1d_grid_equals_pytorch():
    """Every 1-D layer with input 1-4, kernel 1-3, stride and dilation 1-3, padding 0-4, and every
    output_padding or output_size around the valid range: convt's torch convention accepts exactly what
    PyTorch's ConvTranspose1d accepts and computes the same values, with one documented exception (convt's
    extension, frameworks.md): ``forward(x, output_size)`` in PyTorch refuses output_padding at or above the
    stride even where the dilation allows it; convt takes it, as PyTorch's functional form does."""
    import itertools

    same = extension = both_refuse = 0
    for i, k, s, d in itertools.product((1, 2, 3, 4), (1, 2, 3), (1, 2, 3), (1, 2, 3)):
        lowest = ar.full_length(i, k, s, d)
        forms = [dict(padding=p, output_padding=(op,)) for p in range(5) for op in range(max(s, d) + 1)]
        forms += [dict(padding=p, output_size=(o,)) for p in range(5) for o in range(1, lowest + max(s, d) + 1)]
        for f in forms:
            x, w = rand(1, 1, i), rand(1, 1, k)
            try:
                spec = layer_spec("torch", transposed=True, input_size=i, kernel_size=k, stride=s, dilation=d, **f)
            except convt.ConvError:
                spec = None
            m = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=f["padding"], dilation=d, bias=False,
                                         output_padding=f.get("output_padding", (0,)), dtype=torch.float64)
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(w))
            try:
                got = m(torch.from_numpy(x), output_size=f.get("output_size")).detach().numpy()
            except (RuntimeError, ValueError):
                got = None
            if spec is None and got is None:
                both_refuse += 1
            elif got is None:  # the only disagreement: the module's output_size check ignores the dilation
                op = f["output_size"][0] - (lowest - 2 * f["padding"])
                assert "output_size" in f and s <= op < d, (i, k, s, d, f)
                extension += 1
            else:
                assert spec is not None, (i, k, s, d, f)
                check("torch convention 1-D grid vs nn.ConvTranspose1d", got,
                      convt.conv_transpose(x, w, stride=s, dilation=d, padding=spec.pads))
                same += 1
    assert same > 1000 and extension > 100 and both_refuse > 1000, (same, extension, both_refuse)
