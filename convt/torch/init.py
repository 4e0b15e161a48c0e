"""ICNR initialisation (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution")."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .._params import per_axis
from ..errors import ConvError

__all__ = ["icnr_"]


def icnr_(weight: torch.Tensor | torch.nn.Module, scale: Any, *, transposed: bool | None = None,
          init: Callable[[torch.Tensor], Any] = torch.nn.init.kaiming_normal_) -> torch.Tensor:
    """Initialise an upsampling weight so that the layer starts as nearest-neighbour upsampling.

    Two kinds of weight (``d`` spatial axes, ``r`` the scale per axis):

    - sub-pixel (``transposed=False``): the weight ``(C * prod(r), C_in, *k)``
      of a convolution followed by a pixel shuffle. One ``(C, C_in, *k)``
      kernel is drawn with ``init`` and repeated for the ``prod(r)`` phases
      of each output channel, so the shuffle repeats each value over an
      ``r`` block: a convolution followed by nearest-neighbour upsampling.
    - transposed (``transposed=True``): the weight ``(C_in, C_out // groups,
      *k)`` of a transposed convolution with stride ``r``, ``k`` divisible by
      ``r``. One kernel of ``k / r`` taps is drawn and each tap repeated
      ``r`` times per axis, so all ``r`` phases of the kernel are equal and
      every output block of ``r`` elements gets one value.

    Either way no checkerboard pattern exists at initialisation.

    Parameters
    ----------
    weight : torch.Tensor or torch.nn.Module
        The weight, filled in place; or a convolution module, whose weight is
        filled (``transposed`` then follows the module's kind).
    scale : int or sequence of int
        The upsampling factor (one int, or one per spatial axis); for a
        transposed weight, its stride.
    transposed : bool, optional
        The kind of weight; default: the module's kind, or sub-pixel for a
        tensor.
    init : callable
        Fills the small kernel in place (default ``kaiming_normal_``).

    Returns
    -------
    torch.Tensor
        ``weight``.

    Notes
    -----
    Shape: sub-pixel ``(C * prod(r), C_in, *k)``; transposed ``(C_in,
    C_out // groups, *k)`` with ``k % r == 0`` on every axis.

    Examples
    --------
    >>> import torch, convt.torch
    >>> up = convt.torch.ConvTranspose1d(1, 1, 4, stride=2, padding=1, bias=False)
    >>> w = convt.torch.icnr_(up, 2)
    >>> bool((w[..., 0::2] == w[..., 1::2]).all())
    True
    """
    if isinstance(weight, torch.nn.Module):
        if transposed is None:
            transposed = bool(getattr(weight, "transposed", False))
        weight = weight.weight
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"icnr_: weight must be a torch.Tensor or a convolution module, got {type(weight).__name__}")
    if weight.ndim < 3:
        raise ConvError(f"icnr_: weight must have at least 3 dimensions (channels, channels, *kernel), got shape {tuple(weight.shape)}")
    nd = weight.ndim - 2
    r = per_axis("scale", scale, nd, func="icnr_", minimum=1)
    shape = tuple(weight.shape)
    if transposed:
        bad = [a for a in range(nd) if shape[2 + a] % r[a]]
        if bad:
            raise ConvError(
                f"icnr_: a transposed-convolution weight needs a kernel divisible by the stride on "
                f"every axis (then all stride phases can be equal), got kernel {shape[2:]} and "
                f"scale {r}; use a kernel that is a multiple of the stride, e.g. {tuple(k * s for k, s in zip(r, r))}"
            )
        small = torch.empty(shape[:2] + tuple(k // s for k, s in zip(shape[2:], r)),
                            dtype=weight.dtype, device=weight.device)
        init(small)
        for a, s in enumerate(r, start=2):
            small = small.repeat_interleave(s, dim=a)
    else:
        phases = math.prod(r)
        if shape[0] % phases:
            raise ConvError(
                f"icnr_: a sub-pixel weight needs C_out = C * prod(scale) output channels, but "
                f"{shape[0]} (weight shape {shape}) is not a multiple of prod({r}) = {phases}"
            )
        small = torch.empty((shape[0] // phases, *shape[1:]), dtype=weight.dtype, device=weight.device)
        init(small)
        small = small.repeat_interleave(phases, dim=0)
    with torch.no_grad():
        weight.copy_(small)
    return weight
