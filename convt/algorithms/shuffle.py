"""Transposed convolution with kernel == stride, no dilation and no crop: one product + reshape.

Each input pixel owns its own ``k``-block of the output (no overlap, no gap),
so the whole operator is one product ``(G, Mg*T, Cg) @ (G, Cg, nb*P)`` and
one interleaving copy (the pixel shuffle) into the output, split across
threads. U-Net's 2x2 stride-2 upsampling is this case.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..spec import ConvSpec
from . import _threads
from ._layout import batch_tiles, channel_major, pieces_for

__all__ = ["applies", "conv_transpose"]


def applies(spec: ConvSpec) -> bool:
    """Whether the spec is a pure pixel shuffle (k == s, d == 1, zero crop on both ends)."""
    return (spec.kernel_size == spec.stride and all(d == 1 for d in spec.dilation)
            and all(p == (0, 0) for p in spec.pads))


@functools.lru_cache(maxsize=512)
def _tiles(spec: ConvSpec, n: int, itemsize: int) -> list[tuple[int, int]]:
    return batch_tiles(n, spec.out_channels * math.prod(spec.output_size) * itemsize)


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution for k == s without crop: one product per tile, one shuffle."""
    if not applies(spec):
        raise ValueError(f"the shuffle algorithm needs kernel == stride, dilation 1 and no crop, got {spec}")
    n, groups, nd = x.shape[0], spec.groups, spec.nd
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    k, i = spec.kernel_size, spec.input_size
    wm = w.reshape(groups, cg, mg * math.prod(k)).transpose(0, 2, 1)
    out = np.empty((n, groups, mg, *spec.output_size), dtype=np.result_type(x, w))
    # result axes (G, Mg, *k, nb, *i) -> output axes (nb, G, Mg, i0, k0, i1, k1, ...)
    perm = [2 + nd, 0, 1]
    for a in range(nd):
        perm += [3 + nd + a, 2 + a]
    for n0, n1 in _tiles(spec, n, x.dtype.itemsize):
        nb = n1 - n0
        xm = channel_major(x[n0:n1], groups, ((0, 0),) * nd).reshape(groups, cg, -1)
        res = np.matmul(wm, xm).reshape(groups, mg, *k, nb, *i).transpose(perm)
        ov = out[n0:n1].reshape(nb, groups, mg, *(v for ii, kk in zip(i, k) for v in (ii, kk)))
        axis, pieces = pieces_for(nb, mg)

        def copy(piece: tuple[int, int], res=res, ov=ov, axis=axis) -> None:
            part = [slice(None)] * 3
            part[0 if axis == 0 else 2] = slice(*piece)
            ov[tuple(part)] = res[tuple(part)]

        _threads.parallel(copy, pieces)
    return out.reshape(n, spec.out_channels, *spec.output_size)
