"""Transposed convolution by one product on the padded grid, then phase sums of flat shifted slices.

The GEMM + col2im of :mod:`convt.algorithms.gemm`, laid out like
:mod:`convt.algorithms.phase_shift`: the input is zero-padded by
:func:`convt.arithmetic.phase_padding` and flattened channel-major, so one
product per output phase ``(G, T_r*Mg, Cg) @ (G, Cg, nb*grid)`` gives its
taps' contributions on the padded grid (the temporaries hold one phase's
taps, not all of them), and a tap's window is a *flat shift* of its slab. Each phase is then a few adds of long contiguous rows
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
from ._layout import (
    axis_phases,
    batch_tiles,
    flat_padded_tile,
    phase_kernels,
    result,
    tap_major,
    untapped_result,
    workspace,
)
from .phase_shift import prepare

__all__ = ["TAPS_PER_PRODUCT", "conv_transpose"]

#: at most this many taps per product: the temporaries hold a phase's running sum and one product's taps
TAPS_PER_PRODUCT = 2


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution: per phase one product on the padded grid, then flat-shift sums."""
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    if (zeros := untapped_result(x, w, spec)) is not None:  # every tap reads only padding
        return zeros
    pads, grid, tail, phases, _ = prepare(spec, n, x.dtype.itemsize)
    most = max(len(taps) for _, _, taps, _ in phases)
    slabs = 1 + min(most, TAPS_PER_PRODUCT)  # the running sum + one product's taps
    per_image = (slabs * spec.out_channels + spec.in_channels) * math.prod(grid) * x.dtype.itemsize
    tiles = batch_tiles(n, per_image, at_least=_threads.num_threads(), multiply_adds=spec.multiply_adds(n))
    dtype = np.result_type(x, w)
    kernels = phase_kernels(tap_major(w, groups), [taps for _, _, taps, _ in phases], "gemm_flat.w", taps_outer=False)
    kernels = [k.reshape(groups, cg, -1).transpose(0, 2, 1) for k in kernels]  # (G, T_r*Mg, Cg): every phase has taps
    empty_phase = not axis_phases(spec)[1]  # some output phase has no tap: zeros
    out = result((n, groups, mg, *spec.output_size), dtype, zeros=empty_phase)

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        flat, length = flat_padded_tile(x[n0:n1], groups, pads, grid, tail, "gemm_flat.x")
        store = workspace("gemm_flat.cols", (groups * slabs * mg * (length + tail),), dtype)
        ov = out[n0:n1].transpose(1, 2, 0, *range(3, 3 + spec.nd))  # (G, Mg, nb, *o) view
        slab = mg * (length + tail)
        for (dst, counts, taps, shifts), k in zip(phases, kernels):
            acc = store[:groups * slab].reshape(groups, mg, -1)[..., :length]  # the running sum, slab 0
            for j0 in range(0, len(taps), TAPS_PER_PRODUCT):  # each product into the slabs after it
                j1 = min(j0 + TAPS_PER_PRODUCT, len(taps))
                cols = store[groups * slab:groups * (1 + j1 - j0) * slab].reshape(groups, (j1 - j0) * mg, -1)
                cols = np.matmul(k[:, j0 * mg:j1 * mg], flat, out=cols).reshape(groups, j1 - j0, mg, -1)
                windows = [cols[:, u, :, shifts[j0 + u]:shifts[j0 + u] + length] for u in range(j1 - j0)]
                if j0 == 0 and len(windows) > 1:
                    np.add(windows[0], windows[1], out=acc)
                    windows = windows[2:]
                elif j0 == 0:
                    np.copyto(acc, windows.pop(0))
                for window in windows:
                    acc += window
            valid = acc.reshape(groups, mg, nb, *grid)[(Ellipsis, *(slice(0, c) for c in counts))]
            ov[(slice(None), slice(None), slice(None), *dst)] = valid

    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    return out.reshape(n, spec.out_channels, *spec.output_size)
