"""Differential tests: convt.conv / convt.conv_transpose against PyTorch 2.13 (CPU).

Hypothesis draws rank 1-3, groups, stride 1-4, dilation 1-3, every padding form
torch has, output_padding < max(stride, dilation), batched and unbatched
inputs. Both libraries must agree on the values (float64 to 1e-12 relative,
float32 to 1e-5) and on whether the call is valid at all.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import check, record

import convt

torch.set_num_threads(1)


@st.composite
def layer(draw, transposed: bool):
    nd = draw(st.integers(1, 3))
    small = nd == 3
    groups = draw(st.integers(1, 3))
    cg, mg = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    ax = lambda lo, hi: draw(st.one_of(st.integers(lo, hi), st.tuples(*[st.integers(lo, hi)] * nd)))
    k = tuple(draw(st.integers(1, 3 if small else 4)) for _ in range(nd))
    stride, dilation = ax(1, 4), ax(1, 3)
    size = tuple(draw(st.integers(1, 4 if small else 7)) for _ in range(nd))
    words = ["valid"] + (["same"] if not transposed and stride in (1, (1,) * nd) else [])
    padding = draw(st.one_of(st.integers(0, 3), st.tuples(*[st.integers(0, 3)] * nd), st.sampled_from(words)))
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    if transposed:
        if isinstance(padding, str):
            kw["padding"] = 0
        s_ = (stride,) * nd if isinstance(stride, int) else stride
        d_ = (dilation,) * nd if isinstance(dilation, int) else dilation
        kw["output_padding"] = tuple(draw(st.integers(0, max(a, b) - 1)) for a, b in zip(s_, d_))
        wshape = (groups * cg, mg, *k)
    else:
        wshape = (groups * mg, cg, *k)
    batched = draw(st.booleans())
    xshape = ((draw(st.integers(1, 2)),) if batched else ()) + (groups * cg, *size)
    bias = draw(st.booleans())
    return xshape, wshape, bias, kw


def _torch_fn(transposed: bool, nd: int):
    return {(False, 1): F.conv1d, (False, 2): F.conv2d, (False, 3): F.conv3d,
            (True, 1): F.conv_transpose1d, (True, 2): F.conv_transpose2d, (True, 3): F.conv_transpose3d}[transposed, nd]


def _run_both(transposed, case, dtype, seed=0):
    xshape, wshape, has_bias, kw = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xshape).astype(dtype)
    w = rng.standard_normal(wshape).astype(dtype)
    c_out = wshape[1] * kw["groups"] if transposed else wshape[0]
    b = rng.standard_normal(c_out).astype(dtype) if has_bias else None
    ours = theirs = None
    try:
        ours = (convt.conv_transpose if transposed else convt.conv)(x, w, b, **kw)
    except convt.ConvError as e:
        ours = e
    try:
        tb = None if b is None else torch.from_numpy(b)
        theirs = _torch_fn(transposed, len(wshape) - 2)(torch.from_numpy(x), torch.from_numpy(w), tb, **kw).numpy()
    except RuntimeError as e:
        theirs = e
    if isinstance(theirs, np.ndarray) and 0 in theirs.shape[-(len(wshape) - 2):]:
        # torch returns an empty result for a zero output size; convt refuses it (a
        # deliberate difference: an empty spatial axis is always a mistake in a layer)
        theirs = RuntimeError("torch gave an empty spatial axis")
    return ours, theirs


def _compare(name, transposed, case, dtype):
    ours, theirs = _run_both(transposed, case, dtype)
    if isinstance(theirs, Exception) or isinstance(ours, Exception):
        assert isinstance(ours, Exception) and isinstance(theirs, Exception), (
            f"validity differs: convt -> {ours!r}, torch -> {theirs!r} for {case}")
        record(f"{name} (both refuse)", 0.0)
        return
    check(name, ours, theirs)


@settings(max_examples=400)
@given(layer(transposed=True))
def test_conv_transpose_matches_torch_float64(case):
    _compare("torch conv_transpose float64", True, case, np.float64)


@settings(max_examples=400)
@given(layer(transposed=True))
def test_conv_transpose_matches_torch_float32(case):
    _compare("torch conv_transpose float32", True, case, np.float32)


@settings(max_examples=400)
@given(layer(transposed=False))
def test_conv_matches_torch_float64(case):
    _compare("torch conv float64", False, case, np.float64)


@settings(max_examples=400)
@given(layer(transposed=False))
def test_conv_matches_torch_float32(case):
    _compare("torch conv float32", False, case, np.float32)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_output_size_matches_torch_module(nd):
    """``output_size`` picks output_padding exactly as ``nn.ConvTranspose*d.forward``."""
    rng = np.random.default_rng(nd)
    mod = [torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d][nd - 1](
        3, 4, 3, stride=2, padding=1, bias=True).double()
    x = rng.standard_normal((2, 3, *(4,) * nd))
    for extra in (0, 1):
        size = (7 + extra,) * nd
        want = mod(torch.from_numpy(x), output_size=list(size)).detach().numpy()
        got = convt.conv_transpose(x, mod.weight.detach().numpy(), mod.bias.detach().numpy(),
                                   stride=2, padding=1, output_size=size)
        check("torch output_size float64", got, want)
