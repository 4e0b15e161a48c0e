"""Direct convolution by im2col and one product per batch tile.

The padded input is laid out channel-major (``(G, Cg, nb, *padded)``), each
tap's strided window is copied into the column matrix (the copies split
across threads), and one product ``(G, Mg, T*Cg) @ (G, T*Cg, nb*P)`` gives
the tile's output, written once into place.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from ..spec import ConvSpec
from . import _threads
from ._layout import batch_tiles, channel_major, pieces_for, workspace

__all__ = ["conv", "prepare"]


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
            axis, pieces = pieces_for(ntaps, cg)

            def gather(piece: tuple[int, int], cols=cols, xp=xp, axis=axis) -> None:
                if axis == 0:
                    for u in range(*piece):
                        cols[:, u] = xp[(Ellipsis, *windows[u])]
                else:
                    c = slice(*piece)
                    for u, win in enumerate(windows):
                        cols[:, u, c] = xp[(slice(None), c, slice(None), *win)]

            _threads.parallel(gather, pieces)
        cols = cols.reshape(groups, ntaps * cg, -1)
        res = np.matmul(wm, cols, out=workspace("im2col.res", (groups, mg, cols.shape[2]), out.dtype))
        np.moveaxis(out[n0:n1], 0, 2)[...] = res.reshape(groups, mg, nb, *spec.output_size)
    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    return out.reshape(n, spec.out_channels, *spec.output_size)
