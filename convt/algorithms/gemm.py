"""Transposed convolution by GEMM + col2im, batch-tiled, the adds on both cores.

One product per batch tile gives, for every kernel tap, every input
element's contribution: ``(G, T*Mg, Cg) @ (G, Cg, nb*P) -> (G, T, Mg, nb, *i)``
(``T`` taps, ``P`` input pixels). Each tap's slab is then added into the
output at stride ``s``, cropped on the fly (only the inputs whose target
falls inside the output are read: :func:`convt.arithmetic.transpose_tap_range`).
The adds are split across threads by output channel (or batch) so both cores
stream memory; no tap ever multiplies an inserted zero.

Best when the output has few channels (the scatter moves ``T * C_out``
values per input pixel, against sub-pixel's ``T * C_in``).
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import _threads
from ._layout import batch_tiles, channel_major, pieces_for

__all__ = ["conv_transpose", "prepare"]


@functools.lru_cache(maxsize=512)
def prepare(spec: ConvSpec, n: int, itemsize: int):
    """The per-shape plan: each useful tap's (index, source, destination) slices, the tiles."""
    taps = []
    for t, tap in enumerate(itertools.product(*map(range, spec.kernel_size))):
        src, dst = [], []
        for i, o, s, d, (cb, _), tt in zip(spec.input_size, spec.output_size, spec.stride, spec.dilation, spec.pads, tap):
            r = ar.transpose_tap_range(i, o, s, d, cb, tt)
            if r is None:
                break
            j0, j1, q0 = r
            src.append(slice(j0, j1 + 1))
            dst.append(slice(q0, q0 + (j1 - j0) * s + 1, s))
        else:
            taps.append((t, tuple(src), tuple(dst)))
    cols_per_image = math.prod(spec.kernel_size) * spec.out_channels * math.prod(spec.input_size) * itemsize
    return taps, batch_tiles(n, cols_per_image)


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution by one product per batch tile and a threaded col2im."""
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    ntaps = math.prod(spec.kernel_size)
    taps, tiles = prepare(spec, n, x.dtype.itemsize)
    dtype = np.result_type(x, w)
    wm = w.reshape(groups, cg, mg, ntaps).transpose(0, 3, 2, 1).reshape(groups, ntaps * mg, cg)
    out = np.zeros((n, groups, mg, *spec.output_size), dtype=dtype)
    for n0, n1 in tiles:
        nb = n1 - n0
        xm = channel_major(x[n0:n1], groups, ((0, 0),) * spec.nd).reshape(groups, cg, -1)
        cols = np.matmul(wm, xm).reshape(groups, ntaps, mg, nb, *spec.input_size)
        ov = np.moveaxis(out[n0:n1], 0, 2)  # (G, Mg, nb, *o) view
        axis, pieces = pieces_for(mg, nb)

        def add(piece: tuple[int, int], cols=cols, ov=ov, axis=axis) -> None:
            part = [slice(None), slice(None)]
            part[axis] = slice(*piece)
            for t, src, dst in taps:
                ov[(slice(None), *part, *dst)] += cols[(slice(None), t, *part, *src)]

        _threads.parallel(add, pieces)
    return out.reshape(n, spec.out_channels, *spec.output_size)
