"""Transposed convolution by one product on the padded grid, then phase sums of flat shifted slices.

The GEMM + col2im of :mod:`convt.algorithms.gemm`, laid out like
:mod:`convt.algorithms.phase_shift`: the input is zero-padded by
:func:`convt.arithmetic.phase_padding` and flattened channel-major, so one
product ``(G, T*Mg, Cg) @ (G, Cg, nb*grid)`` gives every tap's contribution
on the padded grid, and a tap's window for an output phase is a *flat
shift* of its slab. Each phase is then a few adds of long contiguous rows
(no short inner loops, whatever the image size) and one strided write of
the valid part into the output. The products on the padding border are
wasted (:func:`convt.algorithms.phase_shift.waste`).

Best for small images with few output channels (autoencoders, a last RGB
layer), where the windowed adds of ``gemm`` run inner loops of a few elements.
"""

from __future__ import annotations

import math

import numpy as np

from ..spec import ConvSpec
from . import _threads
from ._layout import batch_tiles, flat_padded_tile, pieces_for, tap_major, workspace
from .phase_shift import prepare

__all__ = ["conv_transpose"]


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution: one product per tile on the padded grid, flat-shift phase sums."""
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    ntaps = math.prod(spec.kernel_size)
    pads, grid, tail, phases, _ = prepare(spec, n, x.dtype.itemsize)
    per_image = (ntaps * spec.out_channels + spec.in_channels) * math.prod(grid) * x.dtype.itemsize
    tiles = batch_tiles(n, per_image, at_least=_threads.num_threads())
    dtype = np.result_type(x, w)
    wm = tap_major(w, groups).reshape(groups, cg, ntaps * mg).transpose(0, 2, 1)  # (G, T*Mg, Cg) view
    small = getattr(tiles, "small", False)
    empty_phase = any(not taps for _, _, taps, _ in phases)
    out = (np.zeros if empty_phase else np.empty)((n, groups, mg, *spec.output_size), dtype=dtype)

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        flat, length = flat_padded_tile(x[n0:n1], groups, pads, grid, tail, "gemm_flat.x")
        cols = np.matmul(wm, flat, out=workspace("gemm_flat.cols", (groups, ntaps * mg, length + tail), dtype))
        cols = cols.reshape(groups, ntaps, mg, length + tail)
        ov = out[n0:n1].transpose(1, 2, 0, *range(3, 3 + spec.nd))  # (G, Mg, nb, *o) view
        pieces = [(0, mg)] if small else pieces_for(mg)[1]  # a small call: no thread hand-off

        def phase_sums(piece: tuple[int, int]) -> None:
            m = slice(*piece)
            acc = workspace("gemm_flat.acc", (groups, piece[1] - piece[0], length), dtype)
            for dst, counts, taps, shifts in phases:
                if not taps:
                    continue
                if len(taps) == 1:
                    np.copyto(acc, cols[:, taps[0], m, shifts[0]:shifts[0] + length])
                else:
                    np.add(cols[:, taps[0], m, shifts[0]:shifts[0] + length],
                           cols[:, taps[1], m, shifts[1]:shifts[1] + length], out=acc)
                for tap, sh in zip(taps[2:], shifts[2:]):
                    acc += cols[:, tap, m, sh:sh + length]
                valid = acc.reshape(groups, piece[1] - piece[0], nb, *grid)[(Ellipsis, *(slice(0, c) for c in counts))]
                ov[(slice(None), m, slice(None), *dst)] = valid

        _threads.parallel(phase_sums, pieces)

    _threads.run_tiles(tile, tiles, small=small)
    return out.reshape(n, spec.out_channels, *spec.output_size)
