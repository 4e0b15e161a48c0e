"""Direct convolution by im2col and one product per batch tile.

The padded input is laid out channel-major (``(G, Cg, nb, *padded)``), each
tap's strided window is copied into the column matrix (the copies split
across threads), and one product ``(G, Mg, T*Cg) @ (G, T*Cg, nb*P)`` gives
the tile's output, written once into place.

:func:`weight_grad` reuses the same column matrix for the weight gradient:
one product ``(G, Mg, nb*P) @ (G, nb*P, T*Cg)`` per tile, summed over tiles,
instead of one thin product per kernel tap.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from ..spec import ConvSpec
from . import _threads
from ._layout import batch_tiles, channel_major, pieces_for, workspace

__all__ = ["conv", "prepare", "weight_grad"]


@functools.lru_cache(maxsize=512)
def prepare(spec: ConvSpec, n: int, itemsize: int, threads: int = 1):
    """Per shape: each tap's window into the padded input, and the batch tiles."""
    windows = [tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                     for t, d, o, s in zip(tap, spec.dilation, spec.output_size, spec.stride))
               for tap in itertools.product(*map(range, spec.kernel_size))]
    per_image = (len(windows) * spec.in_channels + spec.out_channels) * math.prod(spec.output_size) * itemsize
    return windows, batch_tiles(n, per_image, at_least=threads)


def conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Direct convolution: one threaded im2col and one product per batch tile."""
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    windows, tiles = prepare(spec, n, x.dtype.itemsize, _threads.num_threads())
    ntaps = len(windows)
    wm = w.reshape(groups, mg, cg, ntaps).transpose(0, 1, 3, 2).reshape(groups, mg, ntaps * cg)
    out = np.empty((n, groups, mg, *spec.output_size), dtype=np.result_type(x, w))

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        xp = channel_major(x[n0:n1], groups, spec.pads, "im2col.x")
        if ntaps == 1 and xp.shape[3:] == spec.output_size:
            cols = xp  # 1x1 kernel, stride 1, nothing to gather
        else:
            cols = workspace("im2col.cols", (groups, ntaps, cg, nb, *spec.output_size), x.dtype)
            _gather(xp, windows, cols)
        cols = cols.reshape(groups, ntaps * cg, -1)
        res = np.matmul(wm, cols, out=workspace("im2col.res", (groups, mg, cols.shape[2]), out.dtype))
        np.moveaxis(out[n0:n1], 0, 2)[...] = res.reshape(groups, mg, nb, *spec.output_size)
    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    return out.reshape(n, spec.out_channels, *spec.output_size)


def _gather(xp: np.ndarray, windows, cols: np.ndarray) -> None:
    """Copy each tap's window of the padded tile into the column buffer, threaded."""
    cg = xp.shape[1]
    axis, pieces = pieces_for(len(windows), cg)

    def gather(piece: tuple[int, int]) -> None:
        if axis == 0:
            for u in range(*piece):
                cols[:, u] = xp[(Ellipsis, *windows[u])]
        else:
            c = slice(*piece)
            for u, win in enumerate(windows):
                cols[:, u, c] = xp[(slice(None), c, slice(None), *win)]

    _threads.parallel(gather, pieces)


def weight_grad(x: np.ndarray, g: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The weight gradient of the direct convolution ``spec`` (zeros mode) at input ``x``.

    ``dW[m, c, t] = sum over n, q of g[n, m, q] * xp[n, c, q*s + t*d]`` with
    ``xp`` the input padded (or cropped) by ``spec.pads``: one product per
    batch tile over the im2col columns. ``g`` is the gradient of the output,
    ``(N, C_out, *out)``.

    Shape: ``(C_out, C_in // groups, *kernel)``.

    >>> from convt.spec import conv_spec
    >>> spec, _ = conv_spec((1, 1, 4), (1, 1, 2))
    >>> weight_grad(np.arange(4.0).reshape(1, 1, 4), np.ones((1, 1, 3)), spec)   # [0+1+2, 1+2+3]
    array([[[3., 6.]]])
    """
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    windows, tiles = prepare(spec, n, x.dtype.itemsize, 1)
    ntaps = len(windows)
    dtype = np.result_type(x, g)
    dw = np.zeros((groups, mg, ntaps * cg), dtype=dtype)
    for n0, n1 in tiles:
        nb = n1 - n0
        xp = channel_major(x[n0:n1], groups, spec.pads, "im2col.x")
        cols = workspace("im2col.cols", (groups, ntaps, cg, nb, *spec.output_size), x.dtype)
        _gather(xp, windows, cols)
        gm = channel_major(g[n0:n1], groups, ((0, 0),) * spec.nd, "im2col.g").reshape(groups, mg, -1)
        dw += np.matmul(gm, cols.reshape(groups, ntaps * cg, -1).transpose(0, 2, 1))
    dw = dw.reshape(groups, mg, ntaps, cg).transpose(0, 1, 3, 2)
    return dw.reshape(spec.out_channels, cg, *spec.kernel_size)
