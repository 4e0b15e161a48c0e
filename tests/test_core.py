"""The core operators beyond PyTorch: extended padding forms, padding modes, dtypes.

Every algorithm agrees with the reference (the definition) to 1e-12 in float64,
and conv_transpose is the exact adjoint of conv for every parameter set,
padding modes included.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import check, record
from strategies import layers

import convt
from convt import algorithms
from convt.spec import conv_spec, conv_transpose_spec


def _arrays(rng, shape_x, shape_w, dtype=np.float64):
    return rng.standard_normal(shape_x).astype(dtype), rng.standard_normal(shape_w).astype(dtype)


@settings(max_examples=200)
@given(layers(transposed=True, batches=(2,)), st.integers(0, 2**16))
def test_transpose_algorithms_equal_reference(case, seed):
    kw = case.kw
    x, w = _arrays(np.random.default_rng(seed), case.x_shape, case.w_shape)
    try:
        spec, _ = conv_transpose_spec(x.shape, w.shape, **kw)
    except convt.ConvError:
        return
    ref = algorithms.conv_transpose(x, w, spec, "reference")
    for name in algorithms.TRANSPOSE_ALGORITHMS:
        check(f"conv_transpose {name} vs reference", algorithms.conv_transpose(x, w, spec, name), ref)
    check("conv_transpose public vs reference", convt.conv_transpose(x, w, **kw), ref)


@settings(max_examples=200)
@given(layers(transposed=False, batches=(2,)), st.integers(0, 2**16))
def test_conv_algorithms_equal_reference(case, seed):
    kw = case.kw
    x, w = _arrays(np.random.default_rng(seed), case.x_shape, case.w_shape)
    try:
        spec, _ = conv_spec(x.shape, w.shape, **kw)
    except convt.ConvError:
        return
    ref = algorithms.conv(x, w, spec, "reference")
    for name in algorithms.CONV_ALGORITHMS:
        check(f"conv {name} vs reference", algorithms.conv(x, w, spec, name), ref)


@settings(max_examples=300)
@given(layers(transposed=False), st.integers(0, 2**16))
def test_conv_transpose_is_adjoint_of_conv(case, seed):
    """<conv(x), y> == <x, conv_transpose(y)> through the public API, modes included."""
    kw, size = case.kw, case.size
    rng = np.random.default_rng(seed)
    x, w = _arrays(rng, case.x_shape, case.w_shape)
    try:
        cx = convt.conv(x, w, **kw)
    except convt.ConvError:
        return
    y = rng.standard_normal(cx.shape)
    # the transposed call takes the conv's resolved (lo, hi) padding ("same" means i*s there)
    pads = conv_spec(x.shape, w.shape, **kw)[0].pads
    kt = dict(kw, padding=pads, output_size=size)
    cty = convt.conv_transpose(y, w, **kt)
    assert cty.shape == x.shape
    lhs, rhs = np.vdot(cx, y), np.vdot(x, cty)
    scale = np.vdot(np.abs(cx), np.abs(y))  # the size of the terms summed: rounding is relative to it
    err = abs(lhs - rhs) / scale if scale else abs(lhs - rhs)
    assert err < 1e-13, f"adjoint identity off by {err:.2e}"
    record("adjoint identity (error / sum|terms|)", err)


def test_negative_crop_extends_with_bias_only():
    x = np.ones((1, 1, 2))
    w = np.ones((1, 1, 3))
    y = convt.conv_transpose(x, w, np.array([5.0]), padding=[(-2, -1)])
    np.testing.assert_array_equal(y[0, 0], [5, 5, 6, 7, 7, 6, 5])


@pytest.mark.parametrize("mode,expected", [
    # full result of x=[1,2,3] with w=[1,1,1], crop (1, 1): full = [1,3,6,5,3]
    ("zeros", [3, 6, 5]),
    ("circular", [3 + 3, 6, 5 + 1]),    # the end wraps to the start, the start to the end
    ("replicate", [3 + 1, 6, 5 + 3]),   # the overhang adds onto the edge element
    ("reflect", [3, 6 + 1 + 3, 5]),     # mirrored about the edge element
])
def test_padding_mode_fold_by_hand(mode, expected):
    y = convt.conv_transpose([[[1.0, 2.0, 3.0]]], [[[1.0, 1.0, 1.0]]], padding=1, padding_mode=mode)
    np.testing.assert_array_equal(y[0, 0], expected)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("op", ["conv", "conv_transpose"])
def test_float_and_complex_dtypes(dtype, op):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 5, 4))
    w = rng.standard_normal((2, 3, 3, 2) if op == "conv_transpose" else (3, 2, 3, 2))
    b = rng.standard_normal(3)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(x.shape)
        w = w + 1j * rng.standard_normal(w.shape)
    xt, wt, bt = x.astype(dtype), w.astype(dtype), b.astype(dtype)
    f = getattr(convt, op)
    kw = dict(stride=2, padding=1)
    got = f(xt, wt, bt, **kw)
    assert got.dtype == np.result_type(xt, wt, bt)
    # float16 accumulates in float32: compare with the float32 computation of the same inputs
    want = f(xt.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64),
             wt.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64),
             bt.astype(np.float64), **kw)
    check(f"{op} {np.dtype(dtype).name} vs float64", got, want.astype(got.dtype),
          tol={np.float16: 2e-3, np.float32: 1e-5, np.complex64: 1e-5}.get(dtype, 1e-12))


def test_float16_accumulates_in_float32():
    # 4096 products of 1: a float16 accumulator would stop at 2048
    x = np.ones((1, 4096, 1), dtype=np.float16)
    w = np.ones((4096, 1, 1), dtype=np.float16)
    y = convt.conv_transpose(x, w)
    assert y.dtype == np.float16 and y[0, 0, 0] == 4096


@pytest.mark.parametrize("op", ["conv", "conv_transpose"])
def test_integers_are_exact(op):
    rng = np.random.default_rng(2)
    x = rng.integers(-1000, 1000, (2, 2, 6, 5)).astype(np.int32)
    w = rng.integers(-1000, 1000, (2, 2, 3, 3)).astype(np.int16)
    b = np.array([3, -4], dtype=np.int8)
    y = getattr(convt, op)(x, w, b, stride=2, padding=1)
    assert y.dtype == np.int64
    spec = (conv_transpose_spec if op == "conv_transpose" else conv_spec)(x.shape, w.shape, stride=2, padding=1)[0]
    ref = getattr(algorithms, op)(x.astype(object), w.astype(object), spec, "reference") + b.reshape(-1, 1, 1)
    assert np.array_equal(y, ref.astype(np.int64))


@pytest.mark.parametrize("dtype", [bool, object])
def test_bool_and_object_raise_typeerror(dtype):
    with pytest.raises(TypeError, match="bool and object"):
        convt.conv_transpose(np.ones((1, 1, 3), dtype=dtype), np.ones((1, 1, 2)))


@pytest.mark.parametrize("op", ["conv", "conv_transpose"])
def test_unbatched_equals_batched(op):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((3, 5, 6)), rng.standard_normal((3, 3, 2, 2))
    f = getattr(convt, op)
    np.testing.assert_array_equal(f(x, w, stride=2), f(x[None], w, stride=2)[0])


def test_huge_stride_fails_fast():
    t = time.perf_counter()
    with pytest.raises(convt.ConvError, match="more than this machine's"):
        convt.conv_transpose(np.ones((1, 1, 4)), np.ones((1, 1, 3)), stride=10**15)
    with pytest.raises(convt.ConvError, match="more than this machine's"):
        convt.conv(np.ones((1, 1, 4)), np.ones((1, 1, 3)), padding=10**15)
    assert time.perf_counter() - t < 0.5


def test_memory_check_counts_what_a_call_holds_together():
    """The padded input and the output of a direct convolution (the output and the full result of a
    transposed one with a padding mode) each fit in memory but not together: refused at validation."""
    from convt.spec import memory_limit_bytes

    m = memory_limit_bytes() // 8  # float64 elements that fit
    conv_spec((1, 1, 3), (1, 1, 1), padding=[(m // 3, 0)])  # padded input and output: 2/3 together, accepted
    with pytest.raises(convt.ConvError, match=r"the padded input of shape .* and the output of shape"):
        conv_spec((1, 1, 3), (1, 1, 1), padding=[(m * 3 // 5, 0)])  # 3/5 each
    s = m * 3 // 5  # a full result of 3/5 folded into an output of 3/5: refused; without the mode, accepted
    with pytest.raises(convt.ConvError, match=r"the output of shape .* and the full result"):
        conv_transpose_spec((1, 1, 2), (1, 1, 1), stride=s, padding=[(1, 0)], padding_mode="circular")
    conv_transpose_spec((1, 1, 2), (1, 1, 1), stride=s, padding=[(1, 0)])


def test_spec_shapes_are_ints():
    """The spec functions take shapes of ints (a float size once gave float output sizes)."""
    with pytest.raises(TypeError, match=r"input shape\[2\] must be an int, got float 5.0"):
        conv_transpose_spec((1, 2, 5.0), (2, 2, 3))
    with pytest.raises(TypeError, match=r"weight shape\[2\] must be an int, got float 3.5"):
        conv_spec((1, 2, 5), (2, 2, 3.5))
    assert conv_spec((np.int64(1), 2, 5), [2, 2, 3])[0].output_size == (3,)


def test_spec_memo_keeps_validation_exact():
    """The memo of validated arguments returns the same spec, and never skips a refusal."""
    a = conv_transpose_spec((2, 3, 5, 5), (3, 4, 3, 3), stride=2, padding=1, output_padding=1)
    assert conv_transpose_spec((2, 3, 5, 5), (3, 4, 3, 3), stride=2, padding=1, output_padding=1) is a
    # a NumPy integer is validated afresh and gives an equal spec; a bool is refused after an int passed
    assert conv_transpose_spec((2, 3, 5, 5), (3, 4, 3, 3), stride=np.int64(2), padding=1, output_padding=1) == a
    conv_spec((1, 2, 6), (4, 2, 3), stride=1)
    with pytest.raises(TypeError, match="stride"):
        conv_spec((1, 2, 6), (4, 2, 3), stride=True)
    # a list and a tuple of the same ints are the same layer; a refusal is raised every time
    assert conv_spec((1, 2, 6, 6), (4, 2, 3, 3), padding=[1, 2]) == conv_spec((1, 2, 6, 6), (4, 2, 3, 3), padding=(1, 2))
    for _ in range(2):
        with pytest.raises(convt.ConvError, match="output_padding"):
            conv_transpose_spec((1, 1, 3), (1, 1, 3), stride=2, output_padding=2)
