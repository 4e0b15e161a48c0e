"""Transposed convolution by sub-pixel (phase) decomposition.

Output position ``q = r + s*m`` on an axis (phase ``r``) receives only the
taps ``t`` with ``t*d = r + cb (mod s)``, each reading input ``m + off``
(:func:`convt.arithmetic.phase_taps`). So every output phase is a dense
stride-1 correlation of the input with its exact sub-kernel: one im2col copy
(split across threads) and one product per phase and batch tile, written
once into the strided phase of the output. No inserted zero is multiplied
and nothing is scattered.

Best when the input has few channels (the copies move ``T * C_in`` values
per input pixel, against GEMM + col2im's ``T * C_out``), and for stride 1,
where it is a plain im2col direct convolution.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import _threads
from ._layout import (
    axis_phases,
    batch_tiles,
    channel_major,
    phase_kernels,
    result,
    tap_major,
    untapped_result,
    workspace,
)
from .im2col import gather_windows

__all__ = ["conv_transpose", "prepare", "waste"]


@functools.lru_cache(maxsize=512)
def prepare(spec: ConvSpec, n: int, itemsize: int, threads: int = 1):
    """Per shape: the padding, and per phase its output slices, sizes, taps and input windows."""
    axes = list(zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation, spec.pads, spec.output_size))
    pads = tuple(ar.phase_padding(i, k, s, d, cb, o) for i, k, s, d, (cb, _), o in axes)
    per_axis, _ = axis_phases(spec)
    phases, biggest = [], 0
    for combo in itertools.product(*per_axis):
        dst = tuple(slice(r, None, s) for (r, _, _), s in zip(combo, spec.stride))
        counts = tuple(c for _, c, _ in combo)
        taps = tuple(int(np.ravel_multi_index(t, spec.kernel_size))  # flat, in the windows' order
                     for t in itertools.product(*[[t for t, _ in pairs] for _, _, pairs in combo]))
        windows = [tuple(slice(lo + off, lo + off + c) for (off, c, (lo, _)) in zip(offs, counts, pads))
                   for offs in itertools.product(*[[off for _, off in pairs] for _, _, pairs in combo])]
        phases.append((dst, counts, taps, windows))
        biggest = max(biggest, len(windows) * math.prod(counts))
    per_image = (biggest * spec.in_channels + spec.out_channels * math.prod(spec.output_size)) * itemsize
    return pads, phases, batch_tiles(n, per_image, at_least=threads, multiply_adds=spec.multiply_adds(n))


def waste(spec: ConvSpec) -> float:
    """The products the phases compute / the ones that add a real input value to the output (>= 1).

    Each phase multiplies all its taps at every one of its output positions,
    also where a tap reads the padding: a 1 x 1 input with a 4 x 4 kernel
    (a generator's first layer) adds one real value in 16 products. Both
    counts are products over the axes.

    >>> from convt.spec import conv_transpose_spec
    >>> waste(conv_transpose_spec((1, 100, 1, 1), (100, 512, 4, 4))[0])
    16.0
    >>> waste(conv_transpose_spec((1, 4, 2), (4, 8, 4), stride=2, padding=1)[0])  # 8 products, 6 real
    1.3333333333333333
    """
    done = useful = 1
    for i, per_phase in zip(spec.input_size, axis_phases(spec)[0]):
        done *= sum(len(pairs) * c for _, c, pairs in per_phase)
        useful *= sum(m1 - m0 for _, c, pairs in per_phase for _, off in pairs
                      for m0, m1 in [ar.phase_tap_window(i, c, off)])
    return done / max(useful, 1)


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution: one im2col and one dense product per output phase."""
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    if (zeros := untapped_result(x, w, spec)) is not None:  # every tap reads only padding
        return zeros
    pads, phases, tiles = prepare(spec, n, x.dtype.itemsize, _threads.num_threads())
    dtype = np.result_type(x, w)
    kernels = phase_kernels(tap_major(w, groups), [taps for _, _, taps, _ in phases], "subpixel.w", taps_outer=True)
    # per phase (G, Mg, T_r*Cg), a transposed view
    subkernels = [k.reshape(groups, -1, mg).transpose(0, 2, 1) for k in kernels]  # every phase has taps
    empty_phase = not axis_phases(spec)[1]  # some output phase has no tap: zeros
    out = result((n, groups, mg, *spec.output_size), dtype, zeros=empty_phase)
    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        xp = channel_major(x[n0:n1], groups, pads, "subpixel.x")
        ov = out[n0:n1].transpose(1, 2, 0, *range(3, 3 + spec.nd))  # (G, Mg, nb, *o) view
        for (dst, counts, _, windows), sub in zip(phases, subkernels):
            cols = workspace("subpixel.cols", (groups, len(windows), cg, nb, *counts), x.dtype)
            gather_windows(xp, windows, cols)
            cols = cols.reshape(groups, len(windows) * cg, -1)
            res = np.matmul(sub, cols, out=workspace("subpixel.res", (groups, mg, cols.shape[2]), dtype))
            ov[(slice(None), slice(None), slice(None), *dst)] = res.reshape(groups, mg, nb, *counts)
    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    return out.reshape(n, spec.out_channels, *spec.output_size)
