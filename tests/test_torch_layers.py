"""convt.torch: the functions and modules against the NumPy operators and torch.nn.

- the functions and modules equal convt.conv / convt.conv_transpose on random
  settings of the whole extended space (float64);
- torch.autograd.gradcheck passes through every extended meaning;
- drop-in: same constructor arguments, parameters, state_dict, repr, init and
  outputs as torch.nn;
- a 50-step float64 training run of a tiny autoencoder follows torch.nn's
  loss curve to 1e-9 where the meanings coincide;
- icnr_: no checkerboard at initialisation.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import check
from strategies import layers

import convt
import convt.torch as ct

torch.set_num_threads(1)

MODULES = {1: (ct.Conv1d, ct.ConvTranspose1d), 2: (ct.Conv2d, ct.ConvTranspose2d), 3: (ct.Conv3d, ct.ConvTranspose3d)}
TORCH_MODULES = {1: (torch.nn.Conv1d, torch.nn.ConvTranspose1d), 2: (torch.nn.Conv2d, torch.nn.ConvTranspose2d),
                 3: (torch.nn.Conv3d, torch.nn.ConvTranspose3d)}


@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "conv_transpose"])
@settings(max_examples=60)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_modules_equal_numpy_operators(transposed, data, seed):
    case = data.draw(layers(transposed, batches=(None, 2)))
    nd, cin, cout, k, size, batch, kw = case.nd, case.c_in, case.c_out, case.kernel, case.size, case.batch, case.kw
    torch.manual_seed(seed)
    module = MODULES[nd][transposed](cin, cout, k, dtype=torch.float64, **kw)
    x = torch.randn(*(() if batch is None else (batch,)), cin, *size, dtype=torch.float64)
    w, b = module.weight.detach().numpy(), module.bias.detach().numpy()
    op = convt.conv_transpose if transposed else convt.conv
    try:
        expected = op(x.numpy(), w, b, **kw)
    except convt.ConvError as e:
        with pytest.raises(convt.ConvError) as got:
            module(x)
        assert str(got.value) == str(e)
        return
    check("convt.torch module vs numpy operator", module(x).detach().numpy(), expected)
    f = ct.conv_transpose if transposed else ct.conv
    check("convt.torch function vs numpy operator", f(x, module.weight, module.bias, **kw).detach().numpy(), expected)


def test_output_size_in_forward():
    torch.manual_seed(0)
    m = ct.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, padding_mode="circular", dtype=torch.float64)
    x = torch.randn(1, 3, 4, 5, dtype=torch.float64)
    for size in ((7, 9), (8, 10), [1, 2, 8, 9]):
        y = m(x, output_size=size)
        assert tuple(y.shape[2:]) == tuple(size[-2:])
        ref = convt.conv_transpose(x.numpy(), m.weight.detach().numpy(), m.bias.detach().numpy(), stride=2,
                                   padding=1, output_size=size, padding_mode="circular")
        check("convt.torch output_size vs numpy", y.detach().numpy(), ref)
    with pytest.raises(convt.ConvError, match=r"valid sizes range from \[7, 9\] to \[8, 10\]"):
        m(x, output_size=(9, 9))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("stride,padding", [(1, 1), (2, [(2, 1), (0, 2)]), (3, [(1, 2), (2, -1)])])
def test_transposed_padding_mode_is_the_adjoint(mode, stride, padding):
    """<conv(x), y> = <x, conv_transpose(y)> with the same weight, padding and mode (torch functions)."""
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 7, 8, dtype=torch.float64, generator=gen)
    w = torch.randn(4, 3, 3, 2, dtype=torch.float64, generator=gen)
    cx = ct.conv(x, w, stride=stride, padding=padding, padding_mode=mode)
    y = torch.randn(cx.shape, dtype=torch.float64, generator=gen)
    cty = ct.conv_transpose(y, w, stride=stride, padding=padding, padding_mode=mode, output_size=x.shape[2:])
    lhs, rhs = (cx * y).sum(), (x * cty).sum()
    assert abs(lhs - rhs) <= 1e-12 * (cx.abs() * y.abs()).sum()


# every extended meaning, through torch.autograd.gradcheck (x, weight and bias)
GRADCHECK = [
    ("conv_transpose", 1, dict(stride=2, padding="same")),
    ("conv_transpose", 2, dict(stride=(2, 3), padding="same_lower", dilation=(1, 2))),
    ("conv_transpose", 1, dict(stride=3, padding="same")),              # extended by zeros (TF)
    ("conv_transpose", 2, dict(stride=2, padding="valid")),
    ("conv_transpose", 2, dict(stride=2, padding=[(2, 0), (0, 1)])),      # asymmetric crop
    ("conv_transpose", 1, dict(stride=2, padding=[(-1, 2)])),             # negative crop
    ("conv_transpose", 1, dict(stride=1, dilation=3, output_padding=2)),  # output_padding < dilation
    ("conv_transpose", 1, dict(stride=2, padding=1, output_size=[8])),
    ("conv_transpose", 2, dict(stride=2, padding=1, padding_mode="reflect")),
    ("conv_transpose", 2, dict(stride=2, padding=[(2, 1), (1, 2)], padding_mode="replicate")),
    ("conv_transpose", 3, dict(stride=2, padding="same", padding_mode="circular")),
    ("conv_transpose", 1, dict(stride=2, padding=1, groups=2, padding_mode="reflect", output_padding=1)),
    ("conv", 1, dict(stride=2, padding="same")),
    ("conv", 2, dict(stride=(3, 2), padding="same_lower", dilation=2)),
    ("conv", 2, dict(padding=[(2, -1), (0, 1)])),
    ("conv", 1, dict(stride=2, padding=[(2, 1)], padding_mode="reflect")),
    ("conv", 3, dict(padding=[(1, 0), (0, 2), (1, 1)], padding_mode="circular", groups=2)),
    ("conv", 2, dict(stride=2, padding="same", padding_mode="replicate")),
]


@pytest.mark.parametrize("name,nd,kw", GRADCHECK, ids=[f"{n}{d}d-{i}" for i, (n, d, _) in enumerate(GRADCHECK)])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_gradcheck_extended_meanings(name, nd, kw, batched):
    g = kw.get("groups", 1)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(*((2,) if batched else ()), 2, *[4] * nd, dtype=torch.float64, generator=gen, requires_grad=True)
    wshape = (2, 2 // g, *[3] * nd) if name == "conv_transpose" else (3 * g, 2 // g, *[3] * nd)
    w = torch.randn(*wshape, dtype=torch.float64, generator=gen, requires_grad=True)
    cout = 2 if name == "conv_transpose" else 3 * g
    b = torch.randn(cout, dtype=torch.float64, generator=gen, requires_grad=True)
    f = getattr(ct, name)
    assert torch.autograd.gradcheck(lambda x, w, b: f(x, w, b, **kw), (x, w, b))
    out = f(x, w, b, **kw).detach().numpy()
    check("convt.torch gradcheck case vs numpy", out, getattr(convt, name)(x.detach().numpy(), w.detach().numpy(), b.detach().numpy(), **kw))


DROP_IN = [
    (1, False, dict(kernel_size=3)),
    (2, False, dict(kernel_size=(3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2, bias=False)),
    (2, False, dict(kernel_size=3, padding="same", padding_mode="reflect")),
    (3, False, dict(kernel_size=2, padding="valid", padding_mode="circular")),
    (2, False, dict(kernel_size=(4, 2), padding="same", dilation=(1, 3), padding_mode="replicate")),
    (1, True, dict(kernel_size=4, stride=2, padding=1)),
    (2, True, dict(kernel_size=3, stride=2, padding=1, output_padding=1, groups=2)),
    (2, True, dict(kernel_size=(3, 3), stride=(1, 2), padding=(0, 1), dilation=(3, 1), output_padding=(2, 1), bias=False)),
    (3, True, dict(kernel_size=3, stride=2)),
]


@pytest.mark.parametrize("nd,transposed,kw", DROP_IN)
def test_drop_in_for_torch_nn(nd, transposed, kw):
    torch.manual_seed(7)
    ours = MODULES[nd][transposed](4, 6, dtype=torch.float64, **kw)
    torch.manual_seed(7)
    theirs = TORCH_MODULES[nd][transposed](4, 6, dtype=torch.float64, **kw)
    assert isinstance(ours, TORCH_MODULES[nd][transposed])
    assert repr(ours) == repr(theirs)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[key], b[key]) for key in a)
    # positional constructor arguments in torch.nn's order
    names = (["in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias", "dilation",
              "padding_mode"] if transposed else
             ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias", "padding_mode"])
    args = [4, 6, *[kw.get(n, getattr(theirs, n) if n != "bias" else theirs.bias is not None) for n in names[2:]]]
    torch.manual_seed(7)
    positional = MODULES[nd][transposed](*args, dtype=torch.float64)
    assert repr(positional) == repr(theirs)
    assert all(torch.equal(positional.state_dict()[key], b[key]) for key in a)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 4, *[5] * nd, dtype=torch.float64)
    assert torch.equal(ours(x), theirs(x))            # the same kernels: bit for bit
    assert torch.equal(ours(x[0]), theirs(x[0]))
    if transposed:
        # output_size overrides the module's output_padding in both
        size = [n - op + (op == 0 and st > 1) for n, op, st in zip(theirs(x).shape[2:], theirs.output_padding, theirs.stride)]
        torch.testing.assert_close(ours(x, output_size=size), theirs(x, output_size=size), rtol=1e-12, atol=1e-12)


def test_extended_repr_and_state_dict():
    m = ct.ConvTranspose2d(2, 3, 3, stride=2, padding="same", padding_mode="reflect")
    x = torch.randn(1, 2, 4, 4)
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert repr(clone) == repr(m) and torch.equal(clone(x), m(x))
    assert repr(m) == "ConvTranspose2d(2, 3, kernel_size=(3, 3), stride=(2, 2), padding=same, padding_mode=reflect)"
    assert list(m.state_dict()) == ["weight", "bias"] and m.weight.shape == (2, 3, 3, 3)
    m = ct.Conv1d(2, 4, 3, padding=[(1, 0)])
    assert m.padding == ((1, 0),) and "padding=((1, 0),)" in repr(m)


@pytest.mark.parametrize("kw,match", [
    (dict(stride=0), "stride must be >= 1"),
    (dict(stride=(1, 2, 3)), "stride must be an int or a sequence of 2 ints"),
    (dict(padding="full"), "padding must be an int, one int or \\(lo, hi\\) pair per axis, or one of"),
    (dict(padding_mode="wrap"), "padding_mode must be one of"),
    (dict(groups=4), "in_channels must be a positive multiple of groups=4"),
    (dict(kernel_size=0), "kernel_size must be >= 1"),
])
def test_constructor_errors(kw, match):
    args = dict(in_channels=2, out_channels=4, kernel_size=3) | kw
    for cls in (ct.Conv2d, ct.ConvTranspose2d):
        with pytest.raises(convt.ConvError, match=match):
            cls(**args)


def test_tensor_scalars_are_ints_and_bool_tensors_are_refused():
    """A 0-d integer tensor is an int, as a NumPy integer is; a bool tensor is refused by name (once an
    AttributeError: a torch dtype has no ``kind``; found by fuzzing the modules)."""
    m = ct.Conv1d(4, 2, 2, groups=torch.tensor(2), padding=torch.tensor(1))
    ref = ct.Conv1d(4, 2, 2, groups=2, padding=1)
    ref.load_state_dict(m.state_dict())
    x = torch.randn(1, 4, 5, dtype=torch.float64)
    assert torch.equal(m.double()(x), ref.double()(x))
    for cls in (ct.Conv2d, ct.ConvTranspose2d):
        with pytest.raises(TypeError, match="padding must be an int, got the bool"):
            cls(2, 2, 3, padding=torch.tensor(True))


def test_forward_errors_are_the_numpy_operators():
    m = ct.ConvTranspose1d(2, 2, 3, stride=2, output_padding=2)
    with pytest.raises(convt.ConvError, match="output_padding must satisfy 0 <= output_padding < max"):
        m(torch.ones(1, 2, 4))
    with pytest.raises(convt.ConvError, match="input channels"):
        ct.Conv1d(2, 2, 3)(torch.ones(1, 3, 4))
    with pytest.raises(convt.ConvError, match="PyTorch has kernels for 1, 2 and 3 spatial axes, got 4"):
        ct.conv_transpose(torch.ones(1, 1, 2, 2, 2, 2), torch.ones(1, 1, 1, 1, 1, 1))
    with pytest.raises(TypeError, match=r"must be a torch\.Tensor"):
        ct.conv(np.ones((1, 2, 4)), torch.ones(2, 2, 3))
    with pytest.raises(TypeError, match=r"x has dtype torch\.bool"):  # as the NumPy operators refuse bool arrays
        ct.conv_transpose(torch.ones(1, 2, 4, dtype=torch.bool), torch.ones(2, 2, 3))


class _AutoEncoder(torch.nn.Module):
    def __init__(self, conv, convt, crop_end=False, **spelling):
        super().__init__()
        self.enc1 = conv(1, 4, 3, stride=2, padding=1)
        self.enc2 = conv(4, 8, 3, stride=2, padding=1)
        self.dec1 = convt(8, 4, 3, stride=2, **spelling)
        self.dec2 = convt(4, 1, 3, stride=2, **spelling)
        self.crop = (lambda y: y[..., :-1, :-1]) if crop_end else (lambda y: y)

    def forward(self, x):
        h = torch.tanh(self.enc2(torch.tanh(self.enc1(x))))
        return self.crop(self.dec2(self.crop(torch.tanh(self.dec1(h)))))


@pytest.mark.parametrize("ours,theirs", [
    (dict(padding=1, output_padding=1), dict(padding=1, output_padding=1)),  # the same arguments
    (dict(padding=[(1, 0), (1, 0)]), dict(padding=1, output_padding=1)),      # (begin, end) crops
    (dict(padding="same"), dict(padding=0, crop_end=True)),                   # TF "same" = crop (0, 1)
], ids=["same-arguments", "crop-pairs", "same-vs-slicing"])
def test_training_follows_torch_nn(ours, theirs):
    """50 Adam steps in float64: the convt.torch model and the torch.nn model share the loss curve."""
    data = torch.randn(8, 1, 12, 12, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    curves = []
    for conv, tconv, kw in ((ct.Conv2d, ct.ConvTranspose2d, ours), (torch.nn.Conv2d, torch.nn.ConvTranspose2d, theirs)):
        torch.manual_seed(11)
        model = _AutoEncoder(conv, tconv, **kw).double()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        losses = []
        for _ in range(50):
            opt.zero_grad()
            loss = F.mse_loss(model(data), data)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        curves.append(np.array(losses))
    mine, reference = curves
    assert reference[-1] < 0.6 * reference[0]            # it did learn
    assert np.abs(mine - reference).max() <= 1e-9, np.abs(mine - reference).max()


def _interior(y: torch.Tensor, margin: int) -> torch.Tensor:
    return y[(Ellipsis, *[slice(margin, -margin)] * (y.ndim - 2))]


def _spread(y: torch.Tensor) -> torch.Tensor:
    """The largest spread of values over the spatial axes, per sample and channel."""
    flat = y.flatten(2)
    return (flat.max(-1).values - flat.min(-1).values).max()


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_icnr_transposed_starts_as_nearest_neighbour(nd):
    torch.manual_seed(0)
    up = MODULES[nd][True]
    m = up(3, 2, 4, stride=2, padding=1, bias=False, dtype=torch.float64)
    ones = torch.ones(1, 3, *[6] * nd, dtype=torch.float64)
    assert _spread(_interior(m(ones), 2)) > 1e-3      # default init: a checkerboard (the test can fail)
    ct.icnr_(m, 2)
    assert _spread(_interior(m(ones), 2)) < 1e-12     # ICNR: a constant input gives a flat output
    # any input: every output block of 2^nd elements holds one value (nearest-neighbour upsampling)
    m2 = up(3, 2, 4, stride=2, bias=False, dtype=torch.float64)
    ct.icnr_(m2.weight, 2, transposed=True)
    y = m2(torch.randn(1, 3, *[5] * nd, dtype=torch.float64))
    for a in range(2, 2 + nd):
        assert y.unfold(a, 2, 2).std(-1).abs().max() < 1e-12


def test_icnr_subpixel():
    torch.manual_seed(0)
    conv = ct.Conv2d(3, 2 * 4, 3, padding=1, bias=False, dtype=torch.float64)
    ones = torch.ones(1, 3, 6, 6, dtype=torch.float64)
    assert _interior(F.pixel_shuffle(conv(ones), 2), 2).std() > 1e-3
    ct.icnr_(conv.weight, 2)
    x = torch.randn(1, 3, 5, 5, dtype=torch.float64)
    y = F.pixel_shuffle(conv(x), 2)
    torch.testing.assert_close(y, F.interpolate(conv(x)[:, ::4], scale_factor=2, mode="nearest"))


def test_icnr_errors():
    with pytest.raises(convt.ConvError, match=r"kernel divisible by the stride.*kernel \(3, 3\) and scale \(2, 2\)"):
        ct.icnr_(ct.ConvTranspose2d(2, 2, 3, stride=2), 2)
    with pytest.raises(convt.ConvError, match=r"C_out = C \* prod\(scale\).*not a multiple of prod\(\(2, 2\)\) = 4"):
        ct.icnr_(torch.empty(6, 2, 3, 3), 2)
    with pytest.raises(TypeError, match=r"torch\.Tensor or a convolution module"):
        ct.icnr_(np.ones((4, 2, 3, 3)), 2)


CUDA_LAYERS = [  # every extended meaning, each on CUDA against the same layer on the CPU
    (ct.ConvTranspose2d, (3, 4, 3), dict(stride=2, padding="same", padding_mode="reflect")),
    (ct.Conv2d, (3, 4, 3), dict(stride=2, padding=[(2, -1), (0, 1)])),
    (ct.ConvTranspose2d, (4, 6, 4), dict(stride=(2, 3), padding=[(1, 2), (-1, 0)], groups=2, bias=False)),
    (ct.ConvTranspose1d, (3, 2, 5), dict(stride=3, padding="same_lower", dilation=2)),
    (ct.Conv1d, (4, 2, 3), dict(stride=2, padding="same", padding_mode="circular", groups=2)),
    (ct.ConvTranspose3d, (2, 3, 2), dict(stride=2, padding=[(0, 1), (1, 0), (0, 0)], padding_mode="replicate")),
    (ct.Conv3d, (2, 3, (2, 3, 1)), dict(stride=(1, 2, 2), padding="same", padding_mode="reflect")),
]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cls, args, kw", CUDA_LAYERS, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CUDA_LAYERS)])
def test_cuda_equals_cpu(cls, args, kw):
    """Forward, output_size and every gradient (input, weight, bias) on CUDA equal the CPU's, float64."""
    torch.manual_seed(0)
    m = cls(*args, **kw, dtype=torch.float64)
    nd = int(cls.__name__[-2])
    x = torch.randn(2, args[0], *(7, 6, 5)[:nd], dtype=torch.float64, requires_grad=True)
    g = m.cuda()
    xg = x.detach().cuda().requires_grad_()
    y_gpu = g(xg)
    assert y_gpu.device.type == "cuda" and all(p.device.type == "cuda" for p in g.parameters())
    m_cpu = copy.deepcopy(g).cpu()
    y_cpu = m_cpu(x)
    torch.testing.assert_close(y_gpu.cpu(), y_cpu, rtol=1e-12, atol=1e-12)
    up = torch.randn_like(y_cpu)
    y_cpu.backward(up)
    y_gpu.backward(up.cuda())
    torch.testing.assert_close(xg.grad.cpu(), x.grad, rtol=1e-12, atol=1e-12)
    for (name, pc), pg in zip(m_cpu.named_parameters(), g.parameters()):
        torch.testing.assert_close(pg.grad.cpu(), pc.grad, rtol=1e-12, atol=1e-12, msg=f"grad of {name}")
    if "Transpose" in cls.__name__:  # output_size picks the output padding on the device too
        want = [s + 1 for s in y_cpu.shape[2:]] if all(st > 1 for st in m.stride) else list(y_cpu.shape[2:])
        torch.testing.assert_close(g(xg, output_size=want).cpu(), m_cpu(x, output_size=want), rtol=1e-12, atol=1e-12)


@pytest.mark.frameworks
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_strided_same_matches_tensorflow(padding):
    """ConvTranspose2d(padding="same") with stride 2 and 3 equals tf.nn.conv2d_transpose (PyTorch issue 80301)."""
    tf = pytest.importorskip("tensorflow")
    torch.manual_seed(0)
    for stride, k, size in ((2, 3, (5, 4)), (3, 2, (4, 3)), (2, 4, (3, 3))):
        m = ct.ConvTranspose2d(3, 2, k, stride=stride, padding=padding.lower(), bias=False, dtype=torch.float64)
        x = torch.randn(2, 3, *size, dtype=torch.float64)
        y = m(x).detach().numpy()
        out_shape = [2, *y.shape[2:], 2]
        ref = tf.nn.conv2d_transpose(x.numpy().transpose(0, 2, 3, 1), m.weight.detach().numpy().transpose(2, 3, 1, 0),
                                     out_shape, stride, padding=padding).numpy().transpose(0, 3, 1, 2)
        check("convt.torch ConvTranspose2d vs tf.nn.conv2d_transpose", y, ref)
