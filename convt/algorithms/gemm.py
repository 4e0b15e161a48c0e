"""Transposed convolution by GEMM + col2im, batch-tiled, the accumulation phase by phase.

One product per batch tile gives, for every kernel tap, every input
element's contribution: ``(G, T*Mg, Cg) @ (G, Cg, nb*P) -> (G, T, Mg, nb, *i)``
(``T`` taps, ``P`` input pixels). The col2im then runs output phase by output
phase (:func:`convt.arithmetic.phase_taps`): the taps that feed a phase are
summed into a small contiguous buffer (contiguous, vectorised adds, each
tap's window from :func:`convt.arithmetic.phase_tap_window`) and the buffer
is written once into the strided phase of the output. The work is split
across threads by output channel (or batch); no tap multiplies an inserted
zero and no output element is read back.

Best when the output has few channels (the col2im moves ``T * C_out``
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
    """Per shape: per phase its output slices, sizes and (tap, source, buffer window) entries; tiles."""
    axes = list(zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation, spec.pads, spec.output_size))
    per_axis = [[(r, *ar.phase_taps(i, k, s, d, cb, o, r)) for r in range(min(s, o))]
                for i, k, s, d, (cb, _), o in axes]
    phases = []
    for combo in itertools.product(*per_axis):
        dst = tuple(slice(r, None, s) for (r, _, _), s in zip(combo, spec.stride))
        counts = tuple(c for _, c, _ in combo)
        entries = []
        for pairs in itertools.product(*[pairs for _, _, pairs in combo]):
            wins = [ar.phase_tap_window(i, c, off) for i, c, (_, off) in zip(spec.input_size, counts, pairs)]
            src = tuple(slice(m0 + off, m1 + off) for (m0, m1), (_, off) in zip(wins, pairs))
            buf = tuple(slice(m0, m1) for m0, m1 in wins)
            full = all(m0 == 0 and m1 == c for (m0, m1), c in zip(wins, counts))
            tap = int(np.ravel_multi_index(tuple(t for t, _ in pairs), spec.kernel_size))
            entries.append((tap, src, buf, full))
        entries.sort(key=lambda e: not e[3])  # a full-window tap first: it initialises the buffer
        phases.append((dst, counts, tuple(entries)))
    cols_per_image = math.prod(spec.kernel_size) * spec.out_channels * math.prod(spec.input_size) * itemsize
    return tuple(phases), batch_tiles(n, cols_per_image)


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution by one product per batch tile and a threaded, phase-wise col2im."""
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    ntaps = math.prod(spec.kernel_size)
    phases, tiles = prepare(spec, n, x.dtype.itemsize)
    dtype = np.result_type(x, w)
    wm = w.reshape(groups, cg, mg, ntaps).transpose(0, 3, 2, 1).reshape(groups, ntaps * mg, cg)
    empty_phase = any(not entries for _, _, entries in phases)
    out = (np.zeros if empty_phase else np.empty)((n, groups, mg, *spec.output_size), dtype=dtype)
    for n0, n1 in tiles:
        nb = n1 - n0
        xm = channel_major(x[n0:n1], groups, ((0, 0),) * spec.nd).reshape(groups, cg, -1)
        cols = np.matmul(wm, xm).reshape(groups, ntaps, mg, nb, *spec.input_size)
        ov = np.moveaxis(out[n0:n1], 0, 2)  # (G, Mg, nb, *o) view
        axis, pieces = pieces_for(mg, nb)

        def col2im(piece: tuple[int, int], cols=cols, ov=ov, axis=axis) -> None:
            part = [slice(None), slice(None)]
            part[axis] = slice(*piece)
            for dst, counts, entries in phases:
                if not entries:
                    continue
                lead = (slice(None), *part)
                sizes = [groups, mg, nb]
                sizes[axis + 1] = piece[1] - piece[0]
                tap, src, buf, full = entries[0]
                if full:
                    acc = cols[(slice(None), tap, *part, *src)].copy()
                    rest = entries[1:]
                else:
                    acc = np.zeros((*sizes, *counts), dtype=cols.dtype)
                    rest = entries
                for tap, src, buf, _ in rest:
                    acc[(Ellipsis, *buf)] += cols[(slice(None), tap, *part, *src)]
                ov[(*lead, *dst)] = acc

        _threads.parallel(col2im, pieces)
    return out.reshape(n, spec.out_channels, *spec.output_size)
