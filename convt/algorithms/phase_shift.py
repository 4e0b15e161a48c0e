"""Transposed convolution by output phases, one product per tap on a shifted view: no im2col.

The sub-pixel decomposition (:mod:`convt.algorithms.subpixel`) makes each
output phase a dense stride-1 correlation. Here that correlation is computed
without copying windows: the padded input is laid out channel-major and
flattened, ``(G, Cg, nb*Hp*Wp...)``, so that shifting a window by
``(a0, a1, ...)`` is shifting the flat array by ``a0*Hp*Wp... + a1*Wp... + ...``:
a strided view that BLAS reads directly. Each tap of the phase is one
product ``(G, Mg, Cg) @ (G, Cg, L)`` on its shifted view, summed into the
phase result (computed over the padded grid; the positions past the valid
window are discarded when the phase is written, once, into the output).

Best when the padded grid is not much larger than the phase's output (large
images, 1-D signals), few taps per phase and many input channels; a kernel
equal to the stride (U-Net) makes each phase a single product.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import _threads
from ._layout import axis_phases, batch_tiles, flat_padded_tile, result, tap_major, untapped_result, workspace

__all__ = ["conv_transpose", "prepare", "waste"]


@functools.lru_cache(maxsize=512)
def prepare(spec: ConvSpec, n: int, itemsize: int, threads: int = 1):
    """Per shape: the padding, the padded grid, each phase's taps and flat shifts, the tiles."""
    axes = list(zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation, spec.pads, spec.output_size))
    pads = [ar.phase_padding(i, k, s, d, cb, o) for i, k, s, d, (cb, _), o in axes]
    grid = [i + lo + hi for i, (lo, hi) in zip(spec.input_size, pads)]
    strides = [math.prod(grid[a + 1:]) for a in range(spec.nd)]
    per_axis, _ = axis_phases(spec)
    phases, tail = [], 0
    for combo in itertools.product(*per_axis):
        dst = tuple(slice(r, None, s) for (r, _, _), s in zip(combo, spec.stride))
        counts = tuple(c for _, c, _ in combo)
        taps, shifts = [], []
        for pairs in itertools.product(*[pairs for _, _, pairs in combo]):
            taps.append(int(np.ravel_multi_index(tuple(t for t, _ in pairs), spec.kernel_size)))
            shifts.append(sum((lo + off) * st for (_, off), (lo, _), st in zip(pairs, pads, strides)))
        tail = max([tail, *shifts])
        phases.append((dst, counts, tuple(taps), tuple(shifts)))
    per_image = (spec.in_channels + 2 * spec.out_channels) * math.prod(grid) * itemsize
    return tuple(map(tuple, pads)), tuple(grid), tail, phases, batch_tiles(n, per_image, at_least=threads,
                                                                                  multiply_adds=spec.multiply_adds(n))


def waste(spec: ConvSpec) -> float:
    """Products computed over the padded grid / the products the phases need (>= 1)."""
    _, grid, _, phases, _ = prepare(spec, 1, 8)
    need = sum(len(taps) * math.prod(counts) for _, counts, taps, _ in phases)
    done = sum(len(taps) for _, _, taps, _ in phases) * math.prod(grid)
    return done / max(need, 1)


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution: per output phase, one product per tap on a shifted flat view."""
    n, groups = x.shape[0], spec.groups
    mg = spec.out_channels // groups
    if (zeros := untapped_result(x, w, spec)) is not None:  # every tap reads only padding
        return zeros
    pads, grid, tail, phases, tiles = prepare(spec, n, x.dtype.itemsize, _threads.num_threads())
    dtype = np.result_type(x, w)
    wt = tap_major(w, groups).transpose(2, 0, 3, 1)  # (T, G, Mg, Cg): per tap transposed views
    empty_phase = not axis_phases(spec)[1]  # some output phase has no tap: zeros
    out = result((n, groups, mg, *spec.output_size), dtype, zeros=empty_phase)
    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        flat, length = flat_padded_tile(x[n0:n1], groups, pads, grid, tail, "phase_shift.x")
        acc = workspace("phase_shift.acc", (groups, mg, length), dtype)
        tmp = workspace("phase_shift.tmp", (groups, mg, length), dtype)
        ov = out[n0:n1].transpose(1, 2, 0, *range(3, 3 + spec.nd))  # (G, Mg, nb, *o) view
        for dst, counts, taps, shifts in phases:
            for u, (tap, sh) in enumerate(zip(taps, shifts)):
                np.matmul(wt[tap], flat[..., sh:sh + length], out=acc if u == 0 else tmp)
                if u:
                    acc += tmp
            valid = acc.reshape(groups, mg, nb, *grid)[(Ellipsis, *(slice(0, c) for c in counts))]
            ov[(slice(None), slice(None), slice(None), *dst)] = valid
    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    return out.reshape(n, spec.out_channels, *spec.output_size)
