"""Stride-1 transposed convolution by Winograd's F(4, r) tiles, the transforms compiled with Numba.

A stride-1 transposed convolution is the correlation of the flipped kernel
with the input, padded in front by ``d*(k - 1) - begin``
(:func:`convt.arithmetic.winograd_axis`). Per axis, every 4 outputs of an
``r``-tap correlation come from ``n = r + 3`` products instead of ``4 r``
(:func:`convt.arithmetic.cook_toom`): a 3 x 3 kernel multiplies 36 times
per 4 x 4 outputs where the direct sum multiplies 144. Kernels of 6 and 7
taps take 3 and 2 outputs per tile (8 points at most); axes with dilation,
8 taps or more, and integer data take the direct sum in the same form, so
every stride-1 layer is exact. A layer with a stride of 2 or more runs
:mod:`convt.algorithms.winograd` (F(2, r) on the output phases).

Per batch tile, channels-last, with two scratch buffers used in turn:

1. The input, copied channels-last into its zero-padded tile grid
   (:func:`_to_channels_last_loop`), is transformed axis by axis
   (:func:`_forward_compiled`): each pass turns an axis of padded positions into
   (coordinate, tile), the coordinate in front. After the last pass each
   coordinate combination is one matrix ``(tiles, C_in)``.
2. One product per coordinate and group: that matrix by the transformed
   weight ``(Cg, Mg)`` (``G g G^T`` on every kernel axis, once per call).
3. The output transform, axis by axis from the last (:func:`_backward_compiled`),
   turns each (coordinate, tile) back into 4 positions; the channels-last
   tile is then written, cropped and transposed, into the result, one output
   row at a time (:func:`_to_channels_first_loop`).

The passes are one loop (:func:`_combine_loop`) that writes each output row
once, all of its nonzero terms summed over the innermost axis (channels, or
whole rows of the padded grid), compiled by
Numba (``nogil``: the tiles run side by side on convt's threads) when the
optional ``numba`` package is installed; NumPy twins run them otherwise
(exact, slower; the planner then never picks this algorithm). The price is
the transformed weight, ``(n/r)**d`` times the weight (4x for 3 x 3), and
float32 rounding: the transforms' entries (up to 8 and 1/24) make the
float32 error 20-40x that of a direct sum (about 1e-5 of the largest
output on 3 x 3 layers: 6.4e-6 on 64 channels, up to 1.3e-5 on 128;
docs/perf-notes.md item 90); float64 stays within 1e-13.

:func:`weight_grad` is the stride-1 weight gradient by the same passes:
per axis F(k, 4), the 4 output-gradient values of a tile as the filter,
one product per coordinate summed over every tile (item 91).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import _compiled, _threads, im2col, winograd
from ._layout import PEAK_SHARE, bounded_tiles, io_bytes, result, untapped_result, workspace

__all__ = ["MIN_IMAGES", "MIN_TILE_BYTES", "OUTPUTS", "SPLIT_VALUES", "TILE_BYTES", "conv_transpose", "fits", "grad_applies", "prepare",
           "prepare_grad", "weight_grad"]

#: outputs per tile and axis (F(4, r); smaller where the kernel is long: :func:`_outputs`)
OUTPUTS = 4
#: the temporaries of one batch tile (the two scratch buffers), at most ...
TILE_BYTES = 2 << 20
#: ... unless fewer than this many images fit: a tile takes this many where the memory bound allows (its
#: products, one per coordinate, have a row per output tile; one image's 16-64 rows ran them at half speed on
#: 32-96 channels: docs/perf-notes.md item 101)
MIN_IMAGES = 4
#: the planner takes this algorithm only where the memory bound leaves each tile this much (shorter products
#: lose the saving to BLAS's overhead)
MIN_TILE_BYTES = 1 << 20
#: a pass over at least this many values, in a tile that runs alone, is split across threads
SPLIT_VALUES = 1 << 18


def _combine_loop(src, dst, index, weights, counts, inner, o0, o1, tiles, s_o, s_t, s_k, d_o, d_t,
                  d_c):  # pragma: no cover - run compiled (coverage cannot see it)
    """``dst[d_o*o + d_t*t + d_c*c + i] = sum_k weights[c, k] * src[s_o*o + s_t*t + s_k*index[c, k] + i]`` over
    the ``counts[c]`` nonzero entries of each output row ``c``, for ``o0 <= o < o1``, every tile ``t`` and
    ``i < inner`` (offsets in units of ``inner``; flat arrays).

    Each output row is written once, its terms summed in one loop, four at a time, in the order of the
    matrix's columns (the rounding of a running sum); flat arrays indexed by unsigned offsets so that LLVM
    vectorises over ``i`` (docs/perf-notes.md item 99).
    """
    u = np.uint64
    w = u(inner)
    for o in range(o0, o1):
        for t in range(tiles):
            sb = (s_o * o + s_t * t) * inner
            db = (d_o * o + d_t * t) * inner
            for c in range(counts.shape[0]):
                d = u(db + d_c * c * inner)
                cnt = counts[c]
                if cnt == 0:
                    for i in range(w):
                        dst[d + i] = 0
                k = 0
                while k < cnt:
                    r = min(cnt - k, 4)
                    a0, b0 = u(sb + s_k * index[c, k] * inner), weights[c, k]
                    if r == 1:
                        if k == 0:
                            for i in range(w):
                                dst[d + i] = b0 * src[a0 + i]
                        else:
                            for i in range(w):
                                dst[d + i] += b0 * src[a0 + i]
                    elif r == 2:
                        a1, b1 = u(sb + s_k * index[c, k + 1] * inner), weights[c, k + 1]
                        if k == 0:
                            for i in range(w):
                                dst[d + i] = b0 * src[a0 + i] + b1 * src[a1 + i]
                        else:
                            for i in range(w):
                                dst[d + i] += b0 * src[a0 + i] + b1 * src[a1 + i]
                    elif r == 3:
                        a1, b1 = u(sb + s_k * index[c, k + 1] * inner), weights[c, k + 1]
                        a2, b2 = u(sb + s_k * index[c, k + 2] * inner), weights[c, k + 2]
                        if k == 0:
                            for i in range(w):
                                dst[d + i] = b0 * src[a0 + i] + b1 * src[a1 + i] + b2 * src[a2 + i]
                        else:
                            for i in range(w):
                                dst[d + i] += b0 * src[a0 + i] + b1 * src[a1 + i] + b2 * src[a2 + i]
                    else:
                        a1, b1 = u(sb + s_k * index[c, k + 1] * inner), weights[c, k + 1]
                        a2, b2 = u(sb + s_k * index[c, k + 2] * inner), weights[c, k + 2]
                        a3, b3 = u(sb + s_k * index[c, k + 3] * inner), weights[c, k + 3]
                        if k == 0:
                            for i in range(w):
                                dst[d + i] = b0 * src[a0 + i] + b1 * src[a1 + i] + b2 * src[a2 + i] + b3 * src[a3 + i]
                        else:
                            for i in range(w):
                                dst[d + i] += b0 * src[a0 + i] + b1 * src[a1 + i] + b2 * src[a2 + i] + b3 * src[a3 + i]
                    k += r


def _nonzeros(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_tables` of ``mat``, remembered by its bytes (a pass per tile would otherwise pay ~15 us)."""
    key = (mat.dtype.str, mat.shape, mat.tobytes())
    hit = _TABLES.get(key)
    if hit is None:
        hit = _TABLES[key] = _tables(mat)
    return hit


_TABLES: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _tables(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of a transform matrix its nonzero columns, their entries and their count (``_combine_loop``'s
    tables: a zero entry is never multiplied, so an infinite input stays out of the rows it does not feed).

    >>> idx, val, cnt = _tables(np.array([[4.0, 0.0, -5.0], [0.0, 1.0, 0.0]]))
    >>> idx.tolist(), val.tolist(), cnt.tolist()
    ([[0, 2, 0], [1, 0, 0]], [[4.0, -5.0, 0.0], [1.0, 0.0, 0.0]], [2, 1])
    """
    rows, width = mat.shape
    index = np.zeros((rows, max(width, 1)), np.int64)
    weights = np.zeros((rows, max(width, 1)), mat.dtype)
    counts = np.zeros(rows, np.int64)
    for c, row in enumerate(mat):
        nz = np.flatnonzero(row)
        counts[c] = nz.size
        index[c, :nz.size], weights[c, :nz.size] = nz, row[nz]
    return index, weights, counts


def _forward_compiled(combine, src, dst, bt, step, o0, o1):
    """:func:`_forward_numpy`'s pass by the compiled :func:`_combine_loop`: ``src`` ``(O, L, I)`` to ``dst``
    ``(n, O, T, I)``."""
    _, big_o, tiles, inner = dst.shape
    combine(src.reshape(-1), dst.reshape(-1), *_nonzeros(bt), inner, o0, o1, tiles,
            src.shape[1], step, 1, tiles, 1, big_o * tiles)


def _backward_compiled(combine, src, dst, at, o0, o1):
    """:func:`_backward_numpy`'s pass by the compiled :func:`_combine_loop`: ``src`` ``(n, O, T, I)`` to ``dst``
    ``(O, m*T, I)``."""
    _, big_o, tiles, inner = src.shape
    m = at.shape[0]
    combine(src.reshape(-1), dst.reshape(-1), *_nonzeros(at), inner, o0, o1, tiles,
            tiles, 1, big_o * tiles, m * tiles, m, 1)


def _to_channels_last_loop(x, rows, start, stop, at, xp):  # pragma: no cover - run compiled
    """``xp[n, rows[r], at + j - start, :] = x[n, :, r, j]`` for ``start <= j < stop`` and ``rows[r] >= 0``.

    ``x`` ``(nb, C, R, W)`` (the input's rows), ``xp`` ``(nb, RP, WP, C)``
    (the padded grid's rows). The reads run through each channel's plane in
    order (a stream the prefetcher follows); the writes land a channel's
    width apart within the image's padded grid, which stays in the cache.
    """
    nb, channels, count, _ = x.shape
    for n in range(nb):
        for c in range(channels):
            for r in range(count):
                p = rows[r]
                if p < 0:
                    continue
                src = x[n, c, r]
                dst = xp[n, p]
                for j in range(start, stop):
                    dst[at + j - start, c] = src[j]


def _to_channels_first_loop(src, rows, dst):  # pragma: no cover - run compiled
    """``dst[n, g, m, r, j] = src[g, n, rows[r], j, m]``: the last backward pass's channels-last tiles, cropped,
    into the result.

    ``src`` ``(G, nb, RF, WF, Mg)`` (the full grid's rows), ``dst`` ``(nb, G, Mg, R, W)``. One output row at a
    time: its ``W x Mg`` block of the source stays in the cache while each channel's row gathers from it, and
    every write runs along a row of the result (NumPy's transposing copy took 2.3x as long on stride1,
    docs/perf-notes.md item 102).
    """
    groups, nb, _, wf, mg = src.shape
    count, width = dst.shape[3], dst.shape[4]
    u = np.uint64
    s, d = src.reshape(-1), dst.reshape(-1)
    for g in range(groups):
        for n in range(nb):
            for r in range(count):
                sb = u(((g * nb + n) * src.shape[2] + rows[r]) * wf * mg)
                for m in range(mg):
                    db = u((((n * groups + g) * mg + m) * count + r) * width)
                    a = sb + u(m)
                    for j in range(u(width)):
                        d[db + j] = s[a + j * u(mg)]


def _forward_numpy(src, dst, bt, step, o0, o1):
    """:func:`_forward_compiled` in NumPy: one strided slice per nonzero entry."""
    tiles = dst.shape[2]
    for c, row in enumerate(bt):
        d = dst[c, o0:o1]
        d.fill(0)
        for j, b in enumerate(row):
            if b:
                d += b * src[o0:o1, j:j + step * (tiles - 1) + 1:step]


def _backward_numpy(src, dst, at, o0, o1):
    """:func:`_backward_compiled` in NumPy."""
    m = at.shape[0]
    view = dst[o0:o1].reshape(o1 - o0, -1, m, dst.shape[2])
    for e, row in enumerate(at):
        d = view[:, :, e]
        d.fill(0)
        for c, a in enumerate(row):
            if a:
                d += a * src[c, o0:o1]


def _to_channels_last_numpy(x, rows, start, stop, at, xp):
    """:func:`_to_channels_last_loop` in NumPy."""
    keep = rows >= 0
    xp[:, rows[keep], at:at + stop - start] = x[:, :, keep, start:stop].transpose(0, 2, 3, 1)


def _to_channels_first_numpy(src, rows, dst):
    """:func:`_to_channels_first_loop` in NumPy."""
    np.copyto(dst, src[:, :, rows, :dst.shape[4]].transpose(1, 0, 4, 2, 3))


_loops = _compiled.Loops(combine=_combine_loop, to_channels_last=_to_channels_last_loop,
                         to_channels_first=_to_channels_first_loop)
_TWINS = {"forward": _forward_numpy, "backward": _backward_numpy, "to_channels_last": _to_channels_last_numpy,
          "to_channels_first": _to_channels_first_numpy}


def _pick_loops(dtype: np.dtype) -> dict[str, Callable]:
    """The compiled passes where Numba can compile them for ``dtype``, else the NumPy twins."""
    combine = _loops.get("combine") if dtype in _compiled.DTYPES else None
    if combine is None:
        return dict(_TWINS)
    return {"forward": functools.partial(_forward_compiled, combine),
            "backward": functools.partial(_backward_compiled, combine),
            "to_channels_last": _loops.get("to_channels_last"), "to_channels_first": _loops.get("to_channels_first")}


def _outputs(k: int) -> int:
    """Outputs per tile on an axis of ``k`` taps: F(4, k) on at most 8 points (7 finite and infinity: ``k <= 5``),
    then fewer outputs, F(1, k) (the direct sum) from 8 taps.

    >>> [_outputs(k) for k in (2, 3, 5, 6, 7, 8, 11)]
    [4, 4, 4, 3, 2, 1, 1]
    """
    return max(1, min(OUTPUTS, len(ar.COOK_TOOM_POINTS) + 2 - k))


@functools.lru_cache(maxsize=256)
def prepare(spec: ConvSpec, n: int, itemsize: int, threads: int = 1, fractions: bool = True):
    """Per shape: each axis's transforms and tiling, the copy's rows, the scratch sizes and the batch tiles.

    Returns ``(axes, rows, blank, window, sizes, tiles)``. ``axes``: per axis
    ``(bt, at, m, tiles, length, g)`` (``bt`` ``(n, m + d*(k - 1))`` and
    ``at`` ``(m, n)`` as float64 arrays; ``g``, exact, applied to the
    weight by :func:`_weight`). ``rows``: for each row of the input (every axis but
    the last), its row in the padded grid, or -1 where cropped away;
    ``blank``: the padded grid's rows that no input row fills; ``window``: the last axis's ``(start, stop, at)``
    (:func:`convt.arithmetic.pad_crop_window`). ``sizes``: the two scratch
    buffers' values per image.
    """
    axes, pads = [], []
    for i, k, d, (lo, _), o in zip(spec.input_size, spec.kernel_size, spec.dilation, spec.pads, spec.output_size):
        m = _outputs(k)
        bt, g, at = ar.cook_toom(m, k, d, fractions)
        tiles, length, pad = ar.winograd_axis(i, o, k, d, lo, m)
        axes.append((np.array(bt, dtype=float), np.array(at, dtype=float), m, tiles, length, g))
        pads.append(ar.pad_crop_window(i, pad, length - i - pad))
    rows, blank = _grid_rows(spec.input_size, pads, [length for _, _, _, _, length, _ in axes])
    cin, cout = spec.in_channels, spec.out_channels
    coords = [len(bt) for bt, *_ in axes]
    lengths = [length for _, _, _, _, length, _ in axes]
    tiles_per = [t for _, _, _, t, _, _ in axes]
    ms = [m for _, _, m, _, _, _ in axes]
    # the stages, in turn in the two buffers: the padded input, each forward pass, the products, each backward pass
    stages = [math.prod(lengths) * cin]
    for a in range(spec.nd):
        stages.append(math.prod(coords[:a + 1]) * math.prod(tiles_per[:a + 1]) * math.prod(lengths[a + 1:]) * cin)
    stages.append(math.prod(coords) * math.prod(tiles_per) * cout)
    for a in reversed(range(spec.nd)):
        stages.append(math.prod(coords[:a]) * math.prod(tiles_per) * math.prod(ms[a:]) * cout)
    sizes = (max(stages[0::2]), max(stages[1::2]))
    per_image = sum(sizes) * itemsize
    weight = math.prod(coords) * cin * (cout // spec.groups) * itemsize  # the transformed weight
    out_bytes = n * cout * math.prod(spec.output_size) * itemsize
    tiles = bounded_tiles(n, per_image, max(TILE_BYTES, MIN_IMAGES * per_image), io_bytes(spec, n, itemsize),
                          weight + out_bytes, threads, spec.multiply_adds(n))
    return tuple(axes), rows, blank, pads[-1], sizes, tiles


def _grid_rows(sizes, windows, lengths) -> tuple[np.ndarray, np.ndarray]:
    """Each row of an array of spatial ``sizes`` (every axis but the last) in its padded grid of ``lengths``
    (-1 where cropped away), and the grid's rows no row fills; ``windows`` per axis from
    :func:`convt.arithmetic.pad_crop_window`.

    >>> _grid_rows((2, 5), [(0, 2, 1), (0, 5, 1)], [4, 7])   # one zero row and column in front, one row after
    (array([1, 2]), array([0, 3]))
    """
    lead = [np.full(i, -1, dtype=np.intp) for i in sizes[:-1]]
    for a, (start, stop, at) in enumerate(windows[:-1]):
        lead[a][start:stop] = np.arange(at, at + stop - start)
    rows = np.zeros(1, dtype=np.intp)
    for pos, length in zip(lead, lengths):  # flat padded row of each row, -1 if any axis crops it
        rows = np.where((rows[:, None] < 0) | (pos[None, :] < 0), -1, rows[:, None] * length + pos[None, :]).ravel()
    blank = np.setdiff1d(np.arange(math.prod(lengths[:-1])), rows)
    for a in (rows, blank):  # cached per shape: shared by every call
        a.flags.writeable = False
    return rows, blank


@functools.lru_cache(maxsize=256)
def _result_rows(sizes: tuple[int, ...], full: tuple[int, ...]) -> np.ndarray:
    """Each row of the result (``sizes``, every axis but the last) in the backward passes' full grid of ``full``.

    >>> _result_rows((3, 5), (4, 8))   # the grid's last row and its columns past 5 are cropped away
    array([0, 1, 2])
    """
    return _grid_rows(sizes, [(0, o, 0) for o in sizes], list(full))[0]


def fits(spec: ConvSpec, n: int, itemsize: int, threads: int) -> bool:
    """Whether the tiles get at least :data:`MIN_TILE_BYTES` (or the whole batch) and the call's peak stays
    within :data:`convt.algorithms._layout.PEAK_SHARE` times its input, weight and result."""
    tiles = prepare(spec, n, itemsize, threads)[-1]
    whole = len(tiles) <= max(threads, 1) and tiles.tile_bytes * len(tiles) < MIN_TILE_BYTES * max(threads, 1)
    return (tiles.tile_bytes >= MIN_TILE_BYTES or whole) and tiles.peak <= PEAK_SHARE * tiles.io


@functools.lru_cache(maxsize=64)
def _weight_transform(spec: ConvSpec, fractions: bool) -> np.ndarray:
    """``G`` of every axis as one matrix ``(coordinates, taps)``: the coordinates last axis first (the order of
    the forward passes' output), the taps in the flipped kernel's C order, so that it multiplies the weight as
    it lies (float64; int64 for integer data, where the transforms are the direct sums).

    >>> from convt.spec import conv_transpose_spec
    >>> spec = conv_transpose_spec((1, 1, 4), (1, 1, 2))[0]   # F(4, 2): 5 coordinates, the 2 taps reversed
    >>> (6 * _weight_transform(spec, True)).astype(int).tolist(), _weight_transform(spec, False).tolist()[:3]
    ([[0, 3], [3, 3], [-1, 1], [2, 1], [6, 0]], [[0, 1], [1, 0], [0, 1]])
    """
    gs = [np.array(ar.cook_toom(_outputs(k), k, d, fractions)[1], dtype=float if fractions else np.int64)[:, ::-1]
          for k, d in zip(spec.kernel_size, spec.dilation)]  # each axis's taps reversed: the flip
    return _axes_kron(gs, reverse_rows=True)


def _axes_kron(mats: list[np.ndarray], reverse_rows: bool) -> np.ndarray:
    """The Kronecker product of one matrix per axis, its rows (``reverse_rows``) or its columns indexed by the
    axes in reverse order, the last axis first.

    >>> a, b = np.array([[1], [2]]), np.array([[1], [10]])   # np.kron(a, b): 1, 10, 2, 20 (a's index first)
    >>> _axes_kron([a, b], True).ravel().tolist(), _axes_kron([a.T, b.T], False).ravel().tolist()
    ([1, 2, 10, 20], [1, 2, 10, 20])
    """
    kron = np.ones((1, 1), mats[0].dtype)
    for m in mats:  # rows (r_0, ..., r_a), columns (c_0, ..., c_a)
        kron = np.kron(kron, m)
    rows, cols = [m.shape[0] for m in mats], [m.shape[1] for m in mats]
    nd = len(mats)
    full = kron.reshape(*rows, *cols)
    order = [*range(nd - 1, -1, -1), *range(nd, 2 * nd)] if reverse_rows else [*range(nd), *range(2 * nd - 1, nd - 1, -1)]
    return np.ascontiguousarray(full.transpose(order).reshape(math.prod(rows), math.prod(cols)))


def _weight(w: np.ndarray, spec: ConvSpec, dtype: np.dtype, fractions: bool) -> np.ndarray:
    """``G g G^T`` on every axis of the flipped kernel, as ``(coordinates, G, Cg, Mg)``, coordinates last axis
    first (the order of the forward passes' output): one product by :func:`_weight_transform`, in float64
    (int64 for integer data) and rounded once (axis by axis, ``tensordot``'s copies took 0.36 ms of
    stride1's 2.5: docs/perf-notes.md item 104)."""
    groups = spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    kron = _weight_transform(spec, fractions)
    flat = w.reshape(groups * cg * mg, kron.shape[1]).astype(np.result_type(dtype, kron))
    u = workspace("winograd4.weight", (kron.shape[0], groups, cg, mg), dtype)  # reused: no fresh pages per call
    with _threads.blas_threads(1):  # BLAS's workers, once woken, spin on the cores the tiles then need (item 104)
        np.matmul(kron, flat.T, out=u.reshape(kron.shape[0], -1), casting="same_kind")  # wide, rounded once
    return u


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution: F(4, r) Winograd tiles where the stride is 1, else :mod:`winograd`'s F(2, r).

    Shape: ``(N, C_out, *out)``, ``out = i + d*(k - 1) - begin - end`` per axis (stride 1).

    >>> from convt.spec import conv_transpose_spec
    >>> spec, _ = conv_transpose_spec((1, 1, 6), (1, 1, 3), padding=1)
    >>> conv_transpose(np.arange(6.0).reshape(1, 1, 6), np.ones((1, 1, 3)), spec)   # 3-sums, zero-padded
    array([[[ 1.,  3.,  6.,  9., 12.,  9.]]])
    """
    if any(s != 1 for s in spec.stride):
        return winograd.conv_transpose(x, w, spec)
    n, groups, nd = x.shape[0], spec.groups, spec.nd
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    if (zeros := untapped_result(x, w, spec)) is not None:  # every tap reads only padding
        return zeros
    dtype = np.result_type(x, w)
    fractions = dtype.kind in "fc"
    threads = _threads.num_threads()
    axes, rows, blank, window, sizes, tiles = prepare(spec, n, x.dtype.itemsize, threads, fractions)
    loops = _pick_loops(dtype)
    mats = [(bt.astype(dtype), at_.astype(dtype)) for bt, at_, *_ in axes]
    u = _weight(w, spec, dtype, fractions)  # (coordinates, G, Cg, Mg)
    coords = [len(bt) for bt, *_ in axes]
    ms = [m for _, _, m, _, _, _ in axes]
    tiles_per = [t for _, _, _, t, _, _ in axes]
    lengths = [length for _, _, _, _, length, _ in axes]
    out = result((n, groups, mg, *spec.output_size), dtype)
    out_rows = _result_rows(spec.output_size, tuple(m * t for m, t in zip(ms, tiles_per)))
    full_rows = math.prod(m * t for m, t in zip(ms[:-1], tiles_per[:-1]))

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        bufs = [workspace(f"winograd4.{j}", (nb * size,), dtype) for j, size in enumerate(sizes)]
        xp = _padded(loops, x[n0:n1], rows, blank, window, lengths, bufs[0], dtype)
        src, turn = _transform(loops, xp, [bt for bt, _ in mats], ms, coords, tiles_per, lengths, bufs, 1)
        # now (n_{d-1} ... n_0, nb, T_0 ... T_{d-1}, C): one (tiles, C) matrix per coordinate combination
        count, ntiles = math.prod(coords), nb * math.prod(tiles_per)
        v = src.reshape(count, ntiles, groups, cg).transpose(0, 2, 1, 3)  # (coords, G, tiles, Cg)
        prods = bufs[turn][:count * groups * ntiles * mg].reshape(count, groups, ntiles, mg)
        np.matmul(v, u, out=prods)
        src, turn = prods, 1 - turn
        # the backward passes, last axis first: (n_a, lead, T_a, rest) -> (lead, m_a*T_a, rest)
        rest = mg
        for a in reversed(range(nd)):
            lead = math.prod(coords[:a]) * groups * nb * math.prod(tiles_per[:a])
            dst = bufs[turn][:lead * ms[a] * tiles_per[a] * rest].reshape(lead, ms[a] * tiles_per[a], rest)
            view = src.reshape(coords[a], lead, tiles_per[a], rest)
            _split(functools.partial(loops["backward"], view, dst, mats[a][1]), lead, view.size)
            rest *= ms[a] * tiles_per[a]
            src, turn = dst, 1 - turn
        full = src.reshape(groups, nb, full_rows, ms[-1] * tiles_per[-1], mg)  # (G, nb, full rows, full width, Mg)
        rows_out = out[n0:n1].reshape(nb, groups, mg, len(out_rows), spec.output_size[-1])
        loops["to_channels_first"](full, out_rows, rows_out)

    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    return out.reshape(n, spec.out_channels, *spec.output_size)


def grad_applies(spec: ConvSpec) -> bool:
    """Whether :func:`weight_grad` runs Winograd on this direct spec: stride 1 and dilation 1 on every axis."""
    return not spec.transposed and all(s == 1 and d == 1 for s, d in zip(spec.stride, spec.dilation))


@functools.lru_cache(maxsize=64)
def prepare_grad(spec: ConvSpec, n: int, itemsize: int, threads: int = 1, fractions: bool = True):
    """Per shape, for :func:`weight_grad`: per axis ``(bt, g, at, tiles, length)`` (F(k, 4): every tap's sum
    over 4 output positions at a time), the input's and the output gradient's grid rows and windows, the
    scratch sizes and the batch tiles."""
    axes, xwin, gwin = [], [], []
    for i, k, (lo, _), o in zip(spec.input_size, spec.kernel_size, spec.pads, spec.output_size):
        bt, g, at = (np.array(a, dtype=float) for a in ar.cook_toom(k, OUTPUTS, 1, fractions))
        tiles = -(-o // OUTPUTS)
        length = OUTPUTS * tiles + k - 1
        axes.append((bt, g, at, tiles, length))
        xwin.append(ar.pad_crop_window(i, lo, length - i - lo))
        gwin.append((0, o, 0))
    lengths = [length for *_, length in axes]
    glengths = [OUTPUTS * t for _, _, _, t, _ in axes]
    xrows, grows = _grid_rows(spec.input_size, xwin, lengths), _grid_rows(spec.output_size, gwin, glengths)
    cin, cout, nd = spec.in_channels, spec.out_channels, spec.nd
    coords = [len(bt) for bt, *_ in axes]
    tiles_per = [t for _, _, _, t, _ in axes]

    def stages(c: int, grid: list[int]) -> tuple[int, int]:  # the padded grid, then each pass, in turn
        sizes = [math.prod(grid) * c] + [math.prod(coords[:a + 1]) * math.prod(tiles_per[:a + 1])
                                         * math.prod(grid[a + 1:]) * c for a in range(nd)]
        return max(sizes[0::2]), max(sizes[1::2])

    sizes = (*stages(cin, lengths), *stages(cout, glengths))
    per_image = sum(sizes) * itemsize
    grad = math.prod(coords) * cin * (cout // spec.groups) * itemsize  # each thread's transformed sums
    tiles = bounded_tiles(n, per_image, TILE_BYTES, io_bytes(spec, n, itemsize), grad * (1 + threads), threads,
                          spec.multiply_adds(n))
    return tuple(axes), (xrows, xwin[-1]), (grows, gwin[-1]), sizes, tiles


@functools.lru_cache(maxsize=64)
def _grad_transform(spec: ConvSpec, fractions: bool) -> np.ndarray:
    """:func:`weight_grad`'s ``AT`` of every axis (F(k, 4)) as one matrix ``(taps, coordinates)``: the taps in
    the kernel's C order, the coordinates last axis first (the order of the forward passes' output).

    >>> from convt.spec import conv_spec
    >>> _grad_transform(conv_spec((1, 1, 6), (1, 1, 2))[0], True).astype(int).tolist()   # F(2, 4): 5 points
    [[1, 1, 1, 1, 0], [0, 1, -1, 2, 1]]
    """
    return _axes_kron([np.array(ar.cook_toom(k, OUTPUTS, 1, fractions)[2], dtype=float) for k in spec.kernel_size],
                      reverse_rows=False)


def weight_grad(x: np.ndarray, g: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The weight gradient of the direct stride-1 convolution ``spec`` at ``x`` for the output gradient ``g``.

    ``dW[m, c, t] = sum over n, q of g[n, m, q] * xp[n, c, q + t]``: per
    axis, the ``k`` taps of 4 output positions at a time by F(k, 4)
    (:func:`convt.arithmetic.cook_toom`; the 4 gradient values are the
    filter): both transformed by the forward passes, one product per
    coordinate ``(Cg, tiles) @ (tiles, Mg)`` summed over the tiles, then
    ``AT`` on every axis. Other strides or dilations:
    :func:`convt.algorithms.im2col.weight_grad`.

    Shape: ``(C_out, C_in // groups, *kernel)``.

    >>> from convt.spec import conv_spec
    >>> spec, _ = conv_spec((1, 1, 4), (1, 1, 2))
    >>> weight_grad(np.arange(4.0).reshape(1, 1, 4), np.ones((1, 1, 3)), spec)   # [0+1+2, 1+2+3]
    array([[[3., 6.]]])
    """
    n, groups, nd = x.shape[0], spec.groups, spec.nd
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    dtype = np.result_type(x, g)
    if n == 0:  # no image: no tile, a zero gradient
        return np.zeros((spec.out_channels, cg, *spec.kernel_size), dtype)
    if not grad_applies(spec):
        return im2col.weight_grad(x, g, spec)
    fractions = dtype.kind in "fc"
    threads = _threads.num_threads()
    axes, (xrows, xwin), (grows, gwin), sizes, tiles = prepare_grad(spec, n, x.dtype.itemsize, threads, fractions)
    loops = _pick_loops(dtype)
    coords = [len(bt) for bt, *_ in axes]
    tiles_per = [t for _, _, _, t, _ in axes]
    lengths = [length for *_, length in axes]
    glengths = [OUTPUTS * t for t in tiles_per]
    steps = [OUTPUTS] * nd
    bts, gs = [bt.astype(dtype) for bt, *_ in axes], [gm.astype(dtype) for _, gm, *_ in axes]
    partial: dict[int, np.ndarray] = {}

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        # the forward's two buffers, then two more: one call's scratch is the next's (a gradient's two calls)
        bufs = [workspace(f"winograd4.{j}", (nb * size,), dtype) for j, size in enumerate(sizes)]
        xp = _padded(loops, x[n0:n1], *xrows, xwin, lengths, bufs[0], dtype)
        xv, _ = _transform(loops, xp, bts, steps, coords, tiles_per, lengths, bufs[:2], 1)
        gp = _padded(loops, g[n0:n1], *grows, gwin, glengths, bufs[2], dtype)
        gv, _ = _transform(loops, gp, gs, steps, coords, tiles_per, glengths, bufs[2:], 1)
        count, ntiles = math.prod(coords), nb * math.prod(tiles_per)
        xm = xv.reshape(count, ntiles, groups, cg).transpose(0, 2, 3, 1)  # (coords, G, Cg, tiles)
        gm = gv.reshape(count, ntiles, groups, mg).transpose(0, 2, 1, 3)  # (coords, G, tiles, Mg)
        key = threading.get_ident()
        if key in partial:
            partial[key] += np.matmul(xm, gm, out=workspace("winograd4.dw", (count, groups, cg, mg), dtype))
        else:
            partial[key] = np.matmul(xm, gm)

    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    acc, *rest = partial.values()
    for part in rest:
        acc += part
    at = _grad_transform(spec, fractions).astype(dtype, copy=False)  # (taps, coordinates last axis first)
    with _threads.blas_threads(1):  # no BLAS worker left spinning into the next call's tiles (item 104)
        taps = np.matmul(at, acc.reshape(len(at[0]), -1))  # (T, G*Cg*Mg)
    # (T, G, Cg, Mg) -> (G, Mg, Cg, T)
    dw = np.ascontiguousarray(taps.reshape(-1, groups, cg, mg).transpose(1, 3, 2, 0)).reshape(
        spec.out_channels, cg, *spec.kernel_size)
    for a, (i, o, k, d, (lo, _)) in enumerate(zip(spec.input_size, spec.output_size, spec.kernel_size, spec.dilation,
                                                    spec.pads)):
        for t in range(k):  # a tap that reads only padding: exactly zero, not the transforms' rounding
            q0, q1 = ar.conv_tap_window(i, o, 1, d, lo, t)
            if q0 == q1:
                dw[(slice(None), slice(None), *(slice(None),) * a, t)] = 0
    return dw


def _padded(loops: dict, x: np.ndarray, rows: np.ndarray, blank: np.ndarray, window: tuple[int, int, int],
            lengths: list[int], buf: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``x`` ``(nb, C, *i)`` channels-last in its zero-padded grid ``(nb, *lengths, C)``, in ``buf``."""
    nb, channels = x.shape[:2]
    start, stop, at = window
    xp = buf[:nb * math.prod(lengths) * channels].reshape(nb, math.prod(lengths[:-1]), lengths[-1], channels)
    xp[:, blank] = 0  # the padding only: the copy fills the rest
    xp[:, :, :at] = 0
    xp[:, :, at + stop - start:] = 0
    loops["to_channels_last"](np.asarray(x, dtype=dtype).reshape(nb, channels, -1, x.shape[-1]), rows, start, stop,
                              at, xp)
    return xp.reshape(nb, *lengths, channels)


def _transform(loops: dict, src: np.ndarray, mats: list[np.ndarray], steps: list[int], coords: list[int],
               tiles: list[int], lengths: list[int], bufs: list[np.ndarray], turn: int) -> tuple[np.ndarray, int]:
    """The forward passes, axis by axis, on a padded channels-last grid ``(nb, *lengths, C)``, in the
    buffers ``bufs[turn]``, ``bufs[1 - turn]``, ... Returns the last pass's ``(n_{d-1}, ..., n_0, nb, T_0, ...,
    T_{d-1}, C)`` result and the buffer the next stage takes."""
    lead, channels = src.shape[0], src.shape[-1]
    for a, bt in enumerate(mats):  # (lead, L_a, rest) -> (n_a, lead, T_a, rest)
        rest = math.prod(lengths[a + 1:]) * channels
        dst = bufs[turn][:coords[a] * lead * tiles[a] * rest].reshape(coords[a], lead, tiles[a], rest)
        view = src.reshape(lead, lengths[a], rest)
        _split(functools.partial(loops["forward"], view, dst, bt, steps[a]), lead, dst.size)
        lead, turn, src = lead * coords[a] * tiles[a], 1 - turn, dst
    return src, turn


def _split(pass_: Callable[[int, int], None], count: int, values: int) -> None:
    """One pass over ``count`` leading rows of ``values`` values in all, across threads where it is large."""
    pieces = _threads.chunks(count, _threads.num_threads()) if values >= SPLIT_VALUES else [(0, count)]
    _threads.parallel(lambda p: pass_(*p), pieces)
