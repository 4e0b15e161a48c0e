"""gemm's channels-first col2im, compiled: each output phase summed in a flat buffer, then written once.

The channels-first product of :mod:`convt.algorithms.gemm` gives, per plane
(one image's output channel), every tap's contribution on the input's grid,
``(T, P)``. Output phase ``r`` (:func:`convt.arithmetic.phase_taps`) sums the
taps that feed it, each read at its offset (``x[m + off]``) over its window
(:func:`convt.arithmetic.phase_tap_window`). NumPy runs that as one strided
add per (phase, tap) whose inner loops are a phase row long: 14 values on
ae-2, whose col2im took 0.05 ms of its 0.12.

Here each plane's phase buffers keep the input's own pitch, so that a tap's
offset is one flat shift and its add one contiguous loop over the whole
plane. The positions that the flat shift wraps around a row's end (or
carries past any axis's window) are left out by a mask of the plane; a tap
whose window spans every axis but the first needs none. Then each
buffer row is written once into its output phase, the two phases of a
stride-2 row interleaved in one loop: ae-2's col2im runs in 0.02 ms
(docs/perf-notes.md item 97).

The direct convolution's im2col on strided layers is the adjoint, by the same
tables (:func:`im2col`, from the plan of :meth:`convt.spec.ConvSpec.adjoint`):
each input plane split once into its phase buffers, then every tap's column
row written once, its phase shifted back where the mask allows and zeros
elsewhere (dcgan-3's columns 0.78 -> 0.24 ms per 8 images; ae-2's conv 0.09
-> 0.06 ms).

The loops index flat arrays by unsigned offsets: with signed indices (Numba's
negative-index wrap-around) or array views made in the loop, LLVM left the
masked adds scalar. They are compiled by Numba (``nogil``; the planes split
across convt's threads) where :func:`convt.algorithms._compiled.available`;
elsewhere gemm keeps its NumPy adds and im2col its strided copies.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import NamedTuple

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import _compiled, _threads
from ._layout import axis_phases, workspace

__all__ = ["MASK_BYTES", "SPLIT_BYTES", "Plan", "applies", "col2im", "im2col", "im2col_applies", "im2col_fits", "plan"]

#: the most bytes of masks one shape keeps (one byte per input pixel per masked tap); above, NumPy's adds run
MASK_BYTES = 4 << 20
#: a tile's im2col splits across threads from this many bytes of columns (below, the hand-off costs more)
SPLIT_BYTES = 16 << 20


class Plan(NamedTuple):
    """A shape's compiled col2im, as integer tables (all offsets in elements).

    ``phases``: per output phase ``(first entry, end entry, zero first, region)``;
    ``entries``: per tap feeding a phase ``(tap, shift, lo, hi, mask, assign)``,
    the buffer positions ``lo <= q < hi`` getting ``products[tap, q + shift]``,
    where mask row ``mask`` (or every position, for ``-1``) is set, assigned
    (``assign``: a first tap whose window is the whole phase) or added;
    ``masks``: the mask rows, flat, ``P`` bytes each; ``pairs``:
    ``(out, buffer, buffer, count)``, two phase rows interleaved into one
    output row (stride 2); ``singles``: ``(out, buffer, count)``, a phase row
    written every ``step`` outputs; ``dead``: the taps that feed no phase (their
    columns are zeros in the adjoint, :func:`im2col`).
    """

    pixels: int
    step: int
    phases: np.ndarray
    entries: np.ndarray
    masks: np.ndarray
    pairs: np.ndarray
    singles: np.ndarray
    dead: np.ndarray


def applies(spec: ConvSpec, dtype: np.dtype) -> bool:
    """Whether the compiled col2im runs this layer: no phase longer than the input on any axis, its masks
    within :data:`MASK_BYTES`, a compiled dtype.

    >>> from convt.spec import conv_transpose_spec
    >>> spec = conv_transpose_spec((64, 16, 14, 14), (16, 1, 3, 3), stride=2, padding=1, output_padding=1)[0]
    >>> applies(spec, np.dtype(np.float32)) == _compiled.available()
    True
    """
    return _compiled.available() and _applies(spec, np.dtype(dtype))


@functools.lru_cache(maxsize=1024)
def _applies(spec: ConvSpec, dtype: np.dtype) -> bool:
    # the loop last: the first call imports Numba and compiles it; a broken install gives None
    return dtype in _compiled.DTYPES and plan(spec) is not None and _loops.get("col2im") is not None


def _phase_list(spec: ConvSpec):
    """Per output phase (C order over the axes' tapped phases): per axis ``(r, count, pairs)``."""
    return list(itertools.product(*axis_phases(spec)[0]))


@functools.lru_cache(maxsize=256)
def plan(spec: ConvSpec) -> Plan | None:
    """The tables of :class:`Plan` for a transposed spec, or None where a phase outgrows the input's grid.

    >>> from convt.spec import conv_transpose_spec
    >>> p = plan(conv_transpose_spec((1, 1, 4), (1, 1, 3), stride=2, padding=1, output_padding=1)[0])
    >>> p.phases.tolist()   # even outputs: tap 1 alone; odd: taps 0 and 2
    [[0, 1, 0, 4], [1, 3, 0, 4]]
    >>> p.entries.tolist()   # tap 0 reads x[m + 1] for m < 3
    [[1, 0, 0, 4, -1, 1], [2, 0, 0, 4, -1, 1], [0, 1, 0, 3, -1, 0]]
    >>> p.pairs.tolist()   # one output row: buffers 0 and 1 (at 4), interleaved, 4 each
    [[0, 0, 4, 4]]
    """
    i, nd = spec.input_size, spec.nd
    phases = _phase_list(spec)
    if any(c > n for combo in phases for (_, c, _), n in zip(combo, i)):
        return None
    pixels = math.prod(i)
    pitch = [math.prod(i[a + 1:]) for a in range(nd)]
    opitch = [math.prod(spec.output_size[a + 1:]) for a in range(nd)]
    grid = np.indices(i, sparse=True)
    heads, entries, masks, rows = [], [], [], []
    for j, combo in enumerate(phases):
        counts = [c for _, c, _ in combo]
        taps = []
        for pairs in itertools.product(*(p for _, _, p in combo)):
            win = [ar.phase_tap_window(n, c, off) for n, c, (_, off) in zip(i, counts, pairs)]
            if all(m1 > m0 for m0, m1 in win):
                taps.append((not all(w == (0, c) for w, c in zip(win, counts)), pairs, win))
        taps.sort(key=lambda e: e[0])  # a full window first: it initialises the buffer
        start = len(entries)
        for k, (partial, pairs, win) in enumerate(taps):
            tap = int(np.ravel_multi_index(tuple(t for t, _ in pairs), spec.kernel_size))
            shift = sum(off * p for (_, off), p in zip(pairs, pitch))
            lo = sum(m0 * p for (m0, _), p in zip(win, pitch))
            hi = sum((m1 - 1) * p for (_, m1), p in zip(win, pitch)) + 1
            mask = -1
            if any(w != (0, c) for w, c in zip(win[1:], counts[1:])):  # not whole rows: the wrapped positions out
                inside = functools.reduce(np.logical_and, [(g >= m0) & (g < m1) for g, (m0, m1) in zip(grid, win)])
                masks.append(np.broadcast_to(inside, i).reshape(-1))
                mask = len(masks) - 1
            entries.append((tap, shift, lo, hi, mask, int(k == 0 and not partial)))
        region = sum((c - 1) * p for c, p in zip(counts, pitch)) + 1
        heads.append((start, len(entries), int(len(entries) == start or not entries[start][5]), region))
        for lead in itertools.product(*(range(c) for c in counts[:-1])):
            dst = sum((r + s * m) * p for (r, _, _), s, m, p in zip(combo, spec.stride, lead, opitch))
            rows.append((dst + combo[-1][0], j * pixels + sum(m * p for m, p in zip(lead, pitch)), counts[-1]))
    if len(masks) * pixels > MASK_BYTES:
        return None
    rows.sort()
    step, pairs, singles, k = spec.stride[-1], [], [], 0
    while k < len(rows):  # stride 2: a row's two phases in one loop
        (d0, b0, c0), nxt = rows[k], rows[k + 1] if k + 1 < len(rows) else None
        if step == 2 and nxt is not None and nxt[0] == d0 + 1 and nxt[2] == c0:
            pairs.append((d0, b0, nxt[1], c0))
            k += 2
        else:
            singles.append((d0, b0, c0))
            k += 1

    def table(rows, width):
        return np.asarray(rows, dtype=np.int64).reshape(-1, width)

    flat = np.concatenate(masks).astype(np.uint8) if masks else np.zeros(1, np.uint8)
    dead = np.setdiff1d(np.arange(math.prod(spec.kernel_size)), [e[0] for e in entries]).astype(np.int64)
    return Plan(pixels, step, table(heads, 4), table(entries, 6), flat, table(pairs, 4), table(singles, 3), dead)


def _col2im_loop(cols, image_stride, plane_stride, tap_stride, per_image, p0, p1, out, size, pixels,
                 phases, entries, masks, pairs, singles, step, buf):  # pragma: no cover - compiled by Numba
    """Planes ``p0 <= p < p1``: the phase sums of :class:`Plan` into ``buf``, then written into ``out``."""
    u = np.uint64
    for plane in range(p0, p1):
        image = plane // per_image
        base = image * image_stride + (plane - image * per_image) * plane_stride
        for j in range(phases.shape[0]):
            b0 = u(j * pixels)
            if phases[j, 2]:
                for q in range(u(phases[j, 3])):
                    buf[b0 + q] = 0
            for e in range(phases[j, 0], phases[j, 1]):
                lo = entries[e, 2]
                count = u(entries[e, 3] - lo)
                src = u(base + entries[e, 0] * tap_stride + lo + entries[e, 1])
                dst = b0 + u(lo)
                if entries[e, 4] >= 0:
                    m = u(entries[e, 4] * pixels + lo)
                    for q in range(count):
                        if masks[m + q]:
                            buf[dst + q] += cols[src + q]
                elif entries[e, 5]:
                    for q in range(count):
                        buf[dst + q] = cols[src + q]
                else:
                    for q in range(count):
                        buf[dst + q] += cols[src + q]
        at = plane * size
        for r in range(pairs.shape[0]):
            o, a, b = u(at + pairs[r, 0]), u(pairs[r, 1]), u(pairs[r, 2])
            for q in range(u(pairs[r, 3])):
                out[o + u(2) * q] = buf[a + q]
                out[o + u(2) * q + u(1)] = buf[b + q]
        for r in range(singles.shape[0]):
            o, a, s = u(at + singles[r, 0]), u(singles[r, 1]), u(step)
            for q in range(u(singles[r, 2])):
                out[o + s * q] = buf[a + q]


def _im2col_loop(x, size, cols, image_stride, plane_stride, tap_stride, per_image, p0, p1, pixels,
                 phases, entries, masks, pairs, singles, step, dead, buf):  # pragma: no cover - compiled by Numba
    """The adjoint of :func:`_col2im_loop`, for planes ``p0 <= p < p1``: each input plane split into its phase
    buffers, then every tap's column row written once, from its phase shifted back or zero."""
    u = np.uint64
    for q in range(u(buf.shape[0])):  # the positions past a phase's count are read as zeros: never written below
        buf[q] = 0
    for plane in range(p0, p1):
        at = plane * size
        for r in range(pairs.shape[0]):
            o, a, b = u(at + pairs[r, 0]), u(pairs[r, 1]), u(pairs[r, 2])
            for q in range(u(pairs[r, 3])):
                buf[a + q] = x[o + u(2) * q]
                buf[b + q] = x[o + u(2) * q + u(1)]
        for r in range(singles.shape[0]):
            o, a, s = u(at + singles[r, 0]), u(singles[r, 1]), u(step)
            for q in range(u(singles[r, 2])):
                buf[a + q] = x[o + s * q]
        image = plane // per_image
        base = image * image_stride + (plane - image * per_image) * plane_stride
        for j in range(phases.shape[0]):
            for e in range(phases[j, 0], phases[j, 1]):
                lo, hi, shift = entries[e, 2], entries[e, 3], entries[e, 1]
                row = u(base + entries[e, 0] * tap_stride)
                for q in range(u(lo + shift)):
                    cols[row + q] = 0
                dst = row + u(lo + shift)
                src = u(j * pixels + lo)
                if entries[e, 4] >= 0:
                    m = u(entries[e, 4] * pixels + lo)
                    for q in range(u(hi - lo)):
                        if masks[m + q]:
                            cols[dst + q] = buf[src + q]
                        else:
                            cols[dst + q] = 0
                else:
                    for q in range(u(hi - lo)):
                        cols[dst + q] = buf[src + q]
                for q in range(u(hi + shift), u(pixels)):
                    cols[row + q] = 0
        for t in range(dead.shape[0]):
            row = u(base + dead[t] * tap_stride)
            for q in range(u(pixels)):
                cols[row + q] = 0


_loops = _compiled.Loops(col2im=_col2im_loop, im2col=_im2col_loop)


def _plane_strides(channels: int, ntaps: int, pixels: int, nb: int, by_image: bool) -> tuple[int, int, int]:
    """Where plane ``(n, c)`` of a tile's products or columns starts, and its taps' distance: ``(per image, per
    channel, per tap)`` in elements, for ``(nb, C, T, P)`` ``by_image``, else ``(C, T, nb, P)``.

    >>> _plane_strides(3, 9, 196, 64, True), _plane_strides(3, 9, 196, 64, False)
    ((5292, 1764, 196), (196, 112896, 12544))
    """
    if by_image:
        return channels * ntaps * pixels, ntaps * pixels, pixels
    return pixels, ntaps * nb * pixels, nb * pixels


def col2im(out: np.ndarray, products: np.ndarray, by_image: bool, spec: ConvSpec, threads: int) -> None:
    """Write a tile's output ``(nb, G, Mg, *o)`` from its channels-first product, on up to ``threads`` threads.

    ``products``: ``(nb, G, Mg*T, P)`` ``by_image``, else ``(G, Mg*T, nb*P)``
    (:func:`convt.algorithms.gemm.product_first`); a plane is one image's
    output channel.
    """
    p = plan(spec)
    nb = out.shape[0]
    planes = nb * spec.out_channels
    strides = _plane_strides(spec.out_channels, math.prod(spec.kernel_size), p.pixels, nb, by_image)
    src, dst = products.reshape(-1), out.reshape(-1)
    loop = _loops.get("col2im")
    size = math.prod(spec.output_size)

    def run(piece: tuple[int, int]) -> None:
        buf = workspace("phases.buf", (len(p.phases) * p.pixels,), products.dtype)
        loop(src, *strides, spec.out_channels, *piece, dst, size, p.pixels, p.phases, p.entries, p.masks, p.pairs,
             p.singles, p.step, buf)

    _threads.parallel(run, _threads.chunks(planes, threads))


def im2col_applies(spec: ConvSpec, dtype: np.dtype) -> bool:
    """Whether :func:`im2col` runs a direct spec: :func:`im2col_fits`, a compiled dtype, and the loop compiles.

    >>> from convt.spec import conv_spec
    >>> spec = conv_spec((64, 1, 28, 28), (16, 1, 3, 3), stride=2, padding=1)[0]
    >>> im2col_applies(spec, np.dtype(np.float32)) == _compiled.available()
    True
    """
    return _compiled.available() and _im2col_applies(spec, np.dtype(dtype))


@functools.lru_cache(maxsize=1024)
def _im2col_applies(spec: ConvSpec, dtype: np.dtype) -> bool:
    return im2col_fits(spec) and _applies(_adjoint(spec), dtype)


@functools.lru_cache(maxsize=1024)
def im2col_fits(spec: ConvSpec) -> bool:
    """Whether a direct spec's im2col can come from the phases: a stride above 1, zero padding, and a
    :func:`plan` for its adjoint (Numba aside).

    >>> from convt.spec import conv_spec
    >>> im2col_fits(conv_spec((1, 1, 8), (1, 1, 3), stride=2, padding=1)[0])
    True
    >>> im2col_fits(conv_spec((1, 1, 8), (1, 1, 3), padding=1)[0])   # stride 1: the planner's other routes
    False
    """
    return any(s > 1 for s in spec.stride) and spec.padding_mode == "zeros" and plan(_adjoint(spec)) is not None


@functools.lru_cache(maxsize=256)
def _adjoint(spec: ConvSpec) -> ConvSpec:
    return spec.adjoint()


def im2col(cols: np.ndarray, x: np.ndarray, by_image: bool, spec: ConvSpec) -> None:
    """Fill a tile's im2col columns from its input ``(nb, G, Cg, *i)``: the adjoint of :func:`col2im`.

    ``cols``: ``(nb, G, Cg, T, *o)`` ``by_image``, else ``(G, Cg, T, nb, *o)``
    (:func:`convt.algorithms.im2col.conv`); a plane is one image's input
    channel. Every column value is written: the input's, or zero where its
    tap reads padding. On convt's threads from :data:`SPLIT_BYTES` of columns.
    """
    p = plan(_adjoint(spec))
    nb = x.shape[0]
    planes = nb * spec.in_channels
    strides = _plane_strides(spec.in_channels, math.prod(spec.kernel_size), p.pixels, nb, by_image)
    src, dst = np.ascontiguousarray(x).reshape(-1), cols.reshape(-1)
    loop = _loops.get("im2col")
    size = math.prod(spec.input_size)

    def run(piece: tuple[int, int]) -> None:
        buf = workspace("phases.buf", (len(p.phases) * p.pixels,), cols.dtype)
        loop(src, size, dst, *strides, spec.in_channels, *piece, p.pixels, p.phases, p.entries, p.masks, p.pairs,
             p.singles, p.step, p.dead, buf)

    threads = _threads.num_threads() if cols.nbytes >= SPLIT_BYTES else 1
    _threads.parallel(run, _threads.chunks(planes, threads))
