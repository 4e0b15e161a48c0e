"""convt.conv_grad / convt.conv_transpose_grad: autograd, finite differences, adjoint identity.

Over the whole parameter space (rank 1-3, groups, stride 1-3, dilation 1-2,
(lo, hi) pairs with negative values, padding words, padding modes,
output_padding, batched and unbatched), in float64:

- against PyTorch autograd through convt.torch (PyTorch's kernels plus
  F.pad / index_select / index_add for the extended meanings) to 1e-10;
- against central finite differences along random directions (exact for a
  bilinear function up to rounding);
- the adjoint identity <op(x, w), g> = <grad_x, x> = <grad_w, w>;
- every layer of a small 1-D grid against nn.Conv1d / nn.ConvTranspose1d
  themselves (forward, gradients, and which layers are refused).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import check, record
from strategies import layers

import convt
import convt.torch as ct
from convt import algorithms

torch.set_num_threads(1)
EXAMPLES = 60


def _setup(case, seed, transposed):
    """Arrays, the forward output and a random output gradient; None where the call is invalid."""
    kw = case.kw
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(case.x_shape), rng.standard_normal(case.w_shape)
    op = convt.conv_transpose if transposed else convt.conv
    try:
        y = op(x, w, **kw)
    except convt.ConvError:
        return None
    return rng, x, w, y, rng.standard_normal(y.shape), kw


def _grad(transposed, g, x, w, kw):
    return (convt.conv_transpose_grad if transposed else convt.conv_grad)(g, x, w, **kw)


@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "conv_transpose"])
@settings(max_examples=EXAMPLES)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_grads_equal_torch_autograd(transposed, data, seed):
    case = data.draw(layers(transposed))
    got = _setup(case, seed, transposed)
    if got is None:
        return
    rng, x, w, y, g, kw = got
    b = rng.standard_normal(y.shape[-len(w.shape) + 1])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    op = ct.conv_transpose if transposed else ct.conv
    ty = op(tx, tw, tb, **kw)
    check("torch forward vs numpy (float64)", ty.detach().numpy(), y + b.reshape(-1, *(1,) * (w.ndim - 2)))
    ty.backward(torch.tensor(g))
    gx, gw, gb = _grad(transposed, g, x, w, kw)
    name = "conv_transpose_grad" if transposed else "conv_grad"
    check(f"{name} grad_x vs torch autograd", gx, tx.grad.numpy(), tol=1e-10)
    check(f"{name} grad_weight vs torch autograd", gw, tw.grad.numpy(), tol=1e-10)
    check(f"{name} grad_bias vs torch autograd", gb, tb.grad.numpy(), tol=1e-10)


@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "conv_transpose"])
@settings(max_examples=EXAMPLES)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_grads_equal_finite_differences(transposed, data, seed):
    """Central differences of L = <op(x, w) + b, g> along a random direction (exact: L is bilinear)."""
    case = data.draw(layers(transposed))
    got = _setup(case, seed, transposed)
    if got is None:
        return
    rng, x, w, y, g, kw = got
    op = convt.conv_transpose if transposed else convt.conv
    b = rng.standard_normal(y.shape[-len(w.shape) + 1])
    vx, vw, vb = rng.standard_normal(x.shape), rng.standard_normal(w.shape), rng.standard_normal(b.shape)

    def loss(h):
        return np.vdot(op(x + h * vx, w + h * vw, b + h * vb, **kw), g)

    h = 1e-3
    fd = (loss(h) - loss(-h)) / (2 * h)
    gx, gw, gb = _grad(transposed, g, x, w, kw)
    analytic = np.vdot(gx, vx) + np.vdot(gw, vw) + np.vdot(gb, vb)
    scale = np.vdot(np.abs(gx), np.abs(vx)) + np.vdot(np.abs(gw), np.abs(vw)) + np.vdot(np.abs(gb), np.abs(vb))
    err = abs(fd - analytic) / scale if scale else abs(fd - analytic)
    assert err < 1e-10, f"finite differences off by {err:.2e} (relative to the terms' size)"
    record("grad vs finite differences (err / sum|terms|)", err)


@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "conv_transpose"])
@settings(max_examples=EXAMPLES)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_adjoint_identity(transposed, data, seed):
    """<op(x, w), g> = <grad_x, x> = <grad_w, w>: the gradients are the operator's transposes."""
    case = data.draw(layers(transposed))
    got = _setup(case, seed, transposed)
    if got is None:
        return
    _, x, w, y, g, kw = got
    gx, gw, _ = _grad(transposed, g, x, w, kw)
    lhs, scale = np.vdot(y, g), np.vdot(np.abs(y), np.abs(g))
    for name, rhs in (("x", np.vdot(gx, x)), ("weight", np.vdot(gw, w))):
        err = abs(lhs - rhs) / scale if scale else abs(lhs - rhs)
        assert err < 1e-12, f"<op(x, w), g> != <grad_{name}, {name}>: off by {err:.2e}"
        record(f"grad adjoint identity <y,g> = <grad_{name},{name}>", err)


#: a crop that reaches past the data into the padding on the other side, with a padding mode (the fold of
#: the gradient once sliced with a negative end here); conv_transpose's case is conv's adjoint
PAST_THE_DATA = [
    (False, (1, 1, 2, 2, 2), (1, 1, 1, 1, 1), dict(stride=3, padding=((0, 0), (0, 0), (2, -1)))),
    (False, (2, 1, 2), (1, 1, 1), dict(stride=3, padding=((2, -1),))),
    (True, (2, 1, 1), (1, 1, 1), dict(stride=3, padding=((2, -3),))),
]


@pytest.mark.parametrize("mode", ["replicate", "circular"])
@pytest.mark.parametrize("transposed, x_shape, w_shape, kw", PAST_THE_DATA)
def test_grads_of_crops_past_the_data(transposed, x_shape, w_shape, kw, mode):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    kw = dict(kw, padding_mode=mode)
    op = convt.conv_transpose if transposed else convt.conv
    y = op(x, w, **kw)
    g = rng.standard_normal(y.shape)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = (ct.conv_transpose if transposed else ct.conv)(tx, tw, **kw)
    check("crop past the data: forward vs torch", y, ty.detach().numpy())
    ty.backward(torch.tensor(g))
    gx, gw, _ = _grad(transposed, g, x, w, kw)
    check("crop past the data: grad_x vs torch autograd", gx, tx.grad.numpy(), tol=1e-12)
    check("crop past the data: grad_weight vs torch autograd", gw, tw.grad.numpy(), tol=1e-12)
    assert np.isclose(np.vdot(y, g), np.vdot(gx, x)) and np.isclose(np.vdot(y, g), np.vdot(gw, w))


def _torch_module_grads(cls, args, kw, w, b, x, rng):
    """``cls(*args, **kw)``'s forward and autograd gradients ``(y, g, (grad_x, grad_w, grad_b))``; None where
    PyTorch refuses the layer."""
    try:
        module = cls(*args, **kw, dtype=torch.float64)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(w))
            module.bias.copy_(torch.from_numpy(b))
        tx = torch.tensor(x, requires_grad=True)
        ty = module(tx)
        if ty.numel() == 0:
            return None
        g = rng.standard_normal(tuple(ty.shape))
        ty.backward(torch.from_numpy(g))
    except (RuntimeError, ValueError):
        return None
    return ty.detach().numpy(), g, (tx.grad.numpy(), module.weight.grad.numpy(), module.bias.grad.numpy())


def _grid_layer(transposed, c, i, k, kw, rng):
    """convt's layer and PyTorch's module on the same random arrays: ``(ours, theirs, (x, w, b))``, None
    where that side refuses the layer."""
    x, w, b = rng.standard_normal((2, c, i)), rng.standard_normal((c, 2, k)), rng.standard_normal(c)
    cls, op = (torch.nn.ConvTranspose1d, convt.conv_transpose) if transposed else (torch.nn.Conv1d, convt.conv)
    theirs = _torch_module_grads(cls, (c, c, k), kw, w, b, x, rng)
    try:
        ours = op(x, w, b, **kw)
    except convt.ConvError:
        ours = None
    return ours, theirs, (x, w, b)


def _grid_agrees(tag, ours, theirs, arrays, kw, transposed):
    """Forward and all three gradients equal PyTorch's; returns 1 (a counted agreement)."""
    x, w, _ = arrays
    y, g, grads = theirs
    check(f"{tag} forward vs nn module", ours, y)
    gx, gw, gb = _grad(transposed, g, x, w, kw)
    for name, a, e in zip(("x", "weight", "bias"), (gx, gw, gb), grads):
        check(f"{tag} grad_{name} vs torch autograd", a, e, tol=1e-10)
    return 1


def test_every_small_1d_layer_and_its_grads_equal_torch_nn():
    """Every 1-D layer of a small grid, through nn.Conv1d (every padding mode, padding 0-3, "same",
    "valid") and nn.ConvTranspose1d (padding 0-3, output_padding 0-2), groups 1-2: convt accepts exactly
    the layers PyTorch accepts, with equal forward values and gradients, except its documented extension
    (``"same"`` with a stride, which PyTorch refuses). 2 892 layers, about 2 s."""
    import itertools

    rng = np.random.default_rng(0)
    same = extension = both_refuse = 0
    for i, k, s, d, p, g, mode in itertools.product((1, 2, 3, 5), (1, 2, 3), (1, 2), (1, 2), (0, 1, 3, "same", "valid"),
                                                    (1, 2), ("zeros", "reflect", "replicate", "circular")):
        kw = dict(stride=s, padding=p, dilation=d, groups=g, padding_mode=mode)
        ours, theirs, arrays = _grid_layer(False, 2 * g, i, k, kw, rng)
        if ours is None and theirs is None:
            both_refuse += 1
        elif theirs is None:  # the only disagreement: convt's "same" also takes a stride (as TensorFlow's)
            assert p == "same" and s > 1, kw
            extension += 1
        else:
            assert ours is not None, kw
            same += _grid_agrees("conv 1-D grid", ours, theirs, arrays, kw, False)
    for i, k, s, d, p, op, g in itertools.product((1, 2, 4), (1, 2, 3), (1, 2, 3), (1, 2), (0, 1, 3), (0, 1, 2), (1, 2)):
        kw = dict(stride=s, padding=p, output_padding=op, dilation=d, groups=g)
        ours, theirs, arrays = _grid_layer(True, 2 * g, i, k, kw, rng)
        if ours is None or theirs is None:
            assert ours is None and theirs is None, kw
            both_refuse += 1
        else:
            same += _grid_agrees("conv_transpose 1-D grid", ours, theirs, arrays, kw, True)
    assert same > 1700 and extension > 150 and both_refuse > 800, (same, extension, both_refuse)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.complex64, np.complex128])
@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "conv_transpose"])
def test_dtypes(dtype, transposed):
    """Result dtype as the operators; complex gradients are the (unconjugated) transposes."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 5, 4)).astype(dtype)
    w = rng.standard_normal((2, 3, 3, 2) if transposed else (3, 2, 3, 2)).astype(dtype)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(x.shape).astype(dtype)
        w = w + 1j * rng.standard_normal(w.shape).astype(dtype)
    kw = dict(stride=2, padding="same", padding_mode="reflect")
    op = convt.conv_transpose if transposed else convt.conv
    y = op(x, w, **kw)
    g = rng.standard_normal(y.shape).astype(dtype)
    gx, gw, gb = _grad(transposed, g, x, w, kw)
    assert gx.dtype == gw.dtype == gb.dtype == np.dtype(dtype)
    ref = _grad(transposed, g.astype(np.complex128), x.astype(np.complex128), w.astype(np.complex128), kw)
    tol = {np.float16: 5e-3, np.float32: 1e-5, np.complex64: 1e-5, np.complex128: 1e-12}[dtype]
    for a, r in zip((gx, gw, gb), ref):
        check(f"grad dtype {np.dtype(dtype)}", a, r.astype(a.dtype), tol=tol)
    lhs = np.sum(y.astype(np.complex128) * g)
    assert abs(lhs - np.sum(ref[0] * x)) <= 1e-2 * np.sum(np.abs(y) * np.abs(g))


@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "conv_transpose"])
def test_integers_exact(transposed):
    rng = np.random.default_rng(1)
    x, w = rng.integers(-5, 5, (2, 2, 6)), rng.integers(-5, 5, (2, 2, 3))
    kw = dict(stride=2, padding=[(1, 0)])
    y = (convt.conv_transpose if transposed else convt.conv)(x, w, **kw)
    g = rng.integers(-5, 5, y.shape)
    got = _grad(transposed, g, x, w, kw)
    ref = _grad(transposed, g.astype(float), x.astype(float), w.astype(float), kw)
    for a, r in zip(got, ref):
        assert a.dtype == np.int64 and np.array_equal(a, r.astype(np.int64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.int64])
def test_bias_gradient_is_the_sum_over_batch_and_space(dtype):
    """The bias gradient's matrix-vector route equals NumPy's sum, strided or contiguous, every rank."""
    rng = np.random.default_rng(3)
    for shape in ((3, 4, 7), (2, 5, 6, 3), (2, 3, 2, 4, 5), (1, 2, 9)):
        g = (rng.standard_normal(shape) * 10).astype(dtype)
        if np.dtype(dtype).kind == "c":
            g = g + 1j * rng.standard_normal(shape).astype(dtype)
        for arr in (g, g[..., ::2]):  # contiguous, then a strided view
            want = arr.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64).sum(
                axis=(0, *range(2, arr.ndim)))
            got = algorithms.bias_grad(arr)
            assert got.dtype == np.dtype(dtype) and got.shape == (shape[1],)
            tol = {np.float32: 1e-6, np.complex64: 1e-6, np.float64: 1e-14, np.int64: 0.0}[dtype]
            check(f"bias gradient {np.dtype(dtype)} {arr.shape}", got, want.astype(got.dtype), tol=tol)


@pytest.mark.parametrize("transposed, x_shape, w_shape, kw", [
    (False, (0, 1, 1, 1, 1), (1, 1, 1, 1, 1), dict(padding=((0, 3), (0, 3), (2, 5)), dilation=(1, 1, 2))),
    (False, (0, 3, 9, 9), (4, 3, 3, 3), dict(padding=1)),
    (False, (0, 4, 6), (2, 2, 3), dict(stride=2, groups=2)),
    (True, (0, 3, 5, 5), (3, 2, 3, 3), dict(stride=2, padding=1)),
    (True, (0, 64, 32, 32), (64, 64, 3, 3), dict(padding=1)),
])
def test_an_empty_batch_has_zero_gradients(transposed, x_shape, w_shape, kw):
    """A batch of no images: empty input and output gradients, a zero weight gradient (the im2col's per-image
    view once failed to reshape an empty tile)."""
    x, w = np.zeros(x_shape), np.ones(w_shape)
    y = (convt.conv_transpose if transposed else convt.conv)(x, w, **kw)
    gx, gw, gb = _grad(transposed, np.zeros(y.shape), x, w, kw)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (y.shape[1],)
    assert not gw.any() and not gb.any()


def test_output_size_and_unbatched():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 2, 3, 3))
    kw = dict(stride=2, padding=1, output_size=(8, 10))
    y = convt.conv_transpose(x, w, **kw)
    g = rng.standard_normal(y.shape)
    gx, gw, gb = convt.conv_transpose_grad(g, x, w, **kw)
    bx, bw, bb = convt.conv_transpose_grad(g[None], x[None], w, **kw)
    assert gx.shape == x.shape
    check("grad unbatched vs batched", gx, bx[0])
    check("grad unbatched vs batched", gw, bw)
    check("grad unbatched vs batched", gb, bb)


def test_errors_are_the_operators():
    x, w = np.ones((1, 2, 5)), np.ones((2, 2, 3))
    for kw in (dict(stride=0), dict(padding="full"), dict(groups=3), dict(padding_mode="wrap"), dict(dilation=(1, 1))):
        with pytest.raises((convt.ConvError, TypeError)) as op_err:
            convt.conv(x, w, **kw)
        with pytest.raises(type(op_err.value)) as grad_err:
            convt.conv_grad(np.ones((1, 2, 3)), x, w, **kw)
        assert str(grad_err.value).replace("conv_grad", "conv") == str(op_err.value)
    with pytest.raises(convt.ConvError, match=r"valid sizes range from \[11\] to \[12\]"):
        convt.conv_transpose_grad(np.ones((1, 2, 13)), x, w, stride=2, output_size=[13])
    with pytest.raises(convt.ConvError, match=r"grad_output must have the shape.*\(1, 2, 3\), got \(1, 2, 4\)"):
        convt.conv_grad(np.ones((1, 2, 4)), x, w)
    with pytest.raises(TypeError, match="bool and object"):
        convt.conv_grad(np.ones((1, 2, 3), dtype=bool), x, w)
