"""``conv`` and ``conv_transpose`` on torch tensors, with every meaning of the NumPy operators.

They compute with PyTorch's own kernels (``F.conv{1,2,3}d`` and
``F.conv_transpose{1,2,3}d``) plus ``F.pad``, ``index_select`` and
``index_add`` for what PyTorch lacks, so they run on any device and
autograd differentiates them. The arguments are validated by
:mod:`convt.spec` (the errors are the NumPy operators' errors) and every
size comes from :mod:`convt.arithmetic`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .. import arithmetic as ar
from ..algorithms._common import index_map
from ..errors import ConvError
from ..spec import ConvSpec, conv_spec, conv_transpose_spec

__all__ = ["conv", "conv_transpose"]


def _torch_op(name: str, nd: int):
    if nd not in (1, 2, 3):
        raise ConvError(
            f"convt.torch.{name}: PyTorch has kernels for 1, 2 and 3 spatial axes, got {nd} "
            f"(the NumPy operators convt.{name} take any rank)"
        )
    return getattr(F, f"{name}{nd}d")


def _pad_or_crop(t: torch.Tensor, pads) -> torch.Tensor:
    """Zero-pad (positive) or crop (negative) the spatial axes by ``(lo, hi)`` pairs.

    Unlike a negative ``F.pad``, a crop may reach into the zeros added on the
    other side (the kept part of the data is then empty).
    """
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return t
    flat: list[int] = []
    for a, (lo, hi) in enumerate(pads, start=2):
        n = t.shape[a]
        start, stop, left = ar.pad_crop_window(n, lo, hi)
        t = t.narrow(a, start, stop - start)
        flat = [left, n + lo + hi - left - (stop - start), *flat]
    return F.pad(t, flat)


def _check_tensors(func: str, x: Any, weight: Any, bias: Any) -> None:
    for name, t in (("x", x), ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, torch.Tensor):
            raise TypeError(f"convt.torch.{func}: {name} must be a torch.Tensor, got {type(t).__name__}")
        if t is not None and t.dtype == torch.bool:  # as the NumPy operators (PyTorch's kernels have none)
            raise TypeError(f"convt.torch.{func}: {name} has dtype torch.bool; use a floating, complex or integer "
                            "tensor")


def _check_bias(func: str, bias: torch.Tensor | None, spec: ConvSpec) -> None:
    if bias is not None and tuple(bias.shape) != (spec.out_channels,):
        raise ConvError(
            f"{func}: bias must have shape (C_out,) = ({spec.out_channels},), got {tuple(bias.shape)}"
        )


def _add_bias(y: torch.Tensor, bias: torch.Tensor | None, nd: int) -> torch.Tensor:
    return y if bias is None else y + bias.reshape(-1, *(1,) * nd)


def _gather_by_mode(x: torch.Tensor, pads, mode: str) -> torch.Tensor:
    """Pad (negative: crop) the spatial axes reading the border by ``mode`` (an index gather)."""
    for a, (lo, hi) in enumerate(pads, start=2):
        n = x.shape[a]
        idx = torch.tensor([index_map(q, n, mode) for q in range(-lo, n + hi)], device=x.device)
        x = x.index_select(a, idx)
    return x


def _fold_by_mode(full: torch.Tensor, spec: ConvSpec) -> torch.Tensor:
    """Fold the full transposed result onto the output the way ``spec.padding_mode`` reads the border.

    The adjoint of :func:`_gather_by_mode`: full element ``j`` is added onto
    output ``index_map(j - begin)`` (an ``index_add``).
    """
    for a, ((cb, _), n) in enumerate(zip(spec.pads, spec.output_size), start=2):
        idx = torch.tensor([index_map(j - cb, n, spec.padding_mode) for j in range(full.shape[a])],
                           device=full.device)
        shape = list(full.shape)
        shape[a] = n
        full = full.new_zeros(shape).index_add(a, idx, full)
    return full


def conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, *, stride: Any = 1,
         padding: Any = 0, dilation: Any = 1, groups: Any = 1, padding_mode: str = "zeros") -> torch.Tensor:
    """N-d direct convolution of torch tensors with the meanings of :func:`convt.conv`.

    Parameters
    ----------
    x : torch.Tensor
        ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
    weight : torch.Tensor
        ``(C_out, C_in // groups, *kernel)``.
    bias : torch.Tensor, optional
        ``(C_out,)``.
    stride, padding, dilation, groups, padding_mode
        As :func:`convt.conv`: padding also takes ``(lo, hi)`` pairs (negative
        crops) and "same" / "same_lower" with any stride.

    Returns
    -------
    torch.Tensor
        ``(N, C_out, *out)`` (unbatched in, unbatched out).

    Notes
    -----
    Shape: ``out = floor((i + lo + hi - d*(k - 1) - 1) / s) + 1`` per axis.

    Examples
    --------
    >>> import torch, convt.torch
    >>> x = torch.arange(6.0).reshape(1, 1, 6)
    >>> convt.torch.conv(x, torch.ones(1, 1, 3), stride=2, padding="same")
    tensor([[[3., 9., 9.]]])
    """
    _check_tensors("conv", x, weight, bias)
    spec, batched = conv_spec(tuple(x.shape), tuple(weight.shape), stride=stride, padding=padding,
                              dilation=dilation, groups=groups, padding_mode=padding_mode, func="conv")
    _check_bias("conv", bias, spec)
    xb = x if batched else x.unsqueeze(0)
    if spec.padding_mode == "zeros":
        split = [ar.torch_conv_padding(lo, hi) for lo, hi in spec.pads]
        rest = [(rlo, rhi) for _, rlo, rhi in split]
        xb = _pad_or_crop(xb, rest)
        sym = tuple(p for p, _, _ in split)
    else:
        xb = _gather_by_mode(xb, spec.pads, spec.padding_mode)
        sym = (0,) * spec.nd
    y = _torch_op("conv", spec.nd)(xb, weight, bias, spec.stride, sym, spec.dilation, spec.groups)
    return y if batched else y.squeeze(0)


def conv_transpose(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, *,
                   stride: Any = 1, padding: Any = 0, output_padding: Any = 0, dilation: Any = 1,
                   groups: Any = 1, output_size: Any = None, padding_mode: str = "zeros") -> torch.Tensor:
    """N-d transposed convolution of torch tensors with the meanings of :func:`convt.conv_transpose`.

    Parameters
    ----------
    x : torch.Tensor
        ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
    weight : torch.Tensor
        ``(C_in, C_out // groups, *kernel)``.
    bias : torch.Tensor, optional
        ``(C_out,)``.
    stride, padding, output_padding, dilation, groups, output_size, padding_mode
        As :func:`convt.conv_transpose`: padding is the crop of the full
        result (``(begin, end)`` pairs, negative extends), "same" /
        "same_lower" / "valid" with any stride (TensorFlow-exact), and
        ``padding_mode`` makes the result the exact adjoint of :func:`conv`
        with that mode.

    Returns
    -------
    torch.Tensor
        ``(N, C_out, *out)`` (unbatched in, unbatched out).

    Notes
    -----
    Shape: ``out = (i - 1)*s - lo - hi + d*(k - 1) + output_padding + 1``.

    Examples
    --------
    >>> import torch, convt.torch
    >>> x = torch.ones(1, 1, 4)
    >>> convt.torch.conv_transpose(x, torch.ones(1, 1, 3), stride=2, padding="same")
    tensor([[[1., 2., 1., 2., 1., 2., 1., 1.]]])
    """
    _check_tensors("conv_transpose", x, weight, bias)
    spec, batched = conv_transpose_spec(
        tuple(x.shape), tuple(weight.shape), stride=stride, padding=padding,
        output_padding=output_padding, dilation=dilation, groups=groups, output_size=output_size,
        padding_mode=padding_mode, func="conv_transpose")
    _check_bias("conv_transpose", bias, spec)
    xb = x if batched else x.unsqueeze(0)
    op = _torch_op("conv_transpose", spec.nd)
    if spec.padding_mode == "zeros":
        split = [ar.torch_transpose_crop(cb, ce, s, d) for (cb, ce), s, d in zip(spec.pads, spec.stride, spec.dilation)]
        rest = [(-rb, -re) for _, _, rb, re in split]
        extends = any(lo > 0 or hi > 0 for lo, hi in rest)  # the extension holds the bias only
        y = op(xb, weight, None if extends else bias, spec.stride, tuple(p for p, _, _, _ in split),
               tuple(o for _, o, _, _ in split), spec.groups, spec.dilation)
        y = _pad_or_crop(y, rest)
        if extends:
            y = _add_bias(y, bias, spec.nd)
    else:
        full = op(xb, weight, None, spec.stride, 0, 0, spec.groups, spec.dilation)
        y = _add_bias(_fold_by_mode(full, spec), bias, spec.nd)
    return y if batched else y.squeeze(0)
