"""Transposed convolution by one channels-last product and a gather, compiled with Numba where installed.

Per batch tile, one product gives every tap's contribution of every input
pixel with the output channels innermost: ``(G, nb*P, Cg) @ (G, Cg, T*Mg)
-> (G, nb, P, T, Mg)`` (a tap-major weight, :func:`convt.algorithms._layout.tap_major`).
Each output pixel then sums the ``Mg``-long vectors of the (input pixel,
tap) pairs that reach it, listed once per shape in a table
(:func:`table`, from :func:`convt.arithmetic.transpose_tap_range` on each
axis: N-d for free), and writes the sum once into the channels-first
result: no zeroing pass, no per-phase buffers, one call per tile.

That loop is :func:`_gather_loop`, compiled by Numba (``nogil``, so the
tiles run side by side on convt's threads) when the optional ``numba``
package is installed (``pip install convt[fast]``) and ``CONVT_NUMBA`` is not
``0``. Without it the same table drives a NumPy gather and ``add.reduceat``
(exact, slower), and the planner never picks this algorithm. The first
call in a process imports Numba (about 0.5 s), and the very first compiles
the loop for the dtype (about 1 s, then cached on disk).

Best for small calls whose col2im in NumPy is many short adds and whose
output channels fill a vector: the autoencoder's ``Mg = 16`` (docs/perf-notes.md
item 84). With one to three output channels a pixel's sum is a scalar loop,
and NumPy's long adds win.

The direct convolution (:func:`conv`) is the mirror image: the input made
channels-last, each output pixel's taps copied from it as ``Cg``-long rows
by the table of :func:`windows` (the im2col, one compiled loop), one product
``(G, nb*Q, T*Cg) @ (G, T*Cg, Mg)``, and the result moved channels-first;
the weight gradient reads the same columns (:func:`conv_and_weight_grad`,
:func:`weight_grad`; docs/perf-notes.md item 86).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import _compiled, _threads
from ._layout import accumulate, bounded_tiles, channel_major, result, tap_major, untapped_result, workspace

__all__ = ["BLOCK", "BLOCK_MIN_OUT", "TILE_BYTES", "available", "compiled", "conv", "conv_and_weight_grad",
           "conv_transpose", "sums", "table", "weight_grad", "windows"]

#: the temporaries of one batch tile (the channels-last input and the columns), at most; less where the memory
#: bound (:data:`convt.algorithms._layout.PEAK_SHARE`) leaves less room
TILE_BYTES = 4 << 20
#: output pixels summed before their channels are written, from BLOCK_MIN_OUT output channels (docs/perf-notes.md
#: item 84: 5x faster on dcgan-3's 64 channels, 1.4x slower on ae-1's 16)
BLOCK = 32
BLOCK_MIN_OUT = 32
_COMPILED_DTYPES = _compiled.DTYPES


@functools.lru_cache(maxsize=32)
def table(spec: ConvSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which (input pixel, tap) pairs add into each output pixel, as ``(indptr, pixel, tap)``.

    Output pixel ``q`` (flat, C order) sums the pairs ``indptr[q] <=
    e < indptr[q + 1]``: flat input pixel ``pixel[e]`` times flat tap
    ``tap[e]``. Per axis, tap ``t`` sends inputs ``j0..j1`` to outputs
    ``q0, q0 + s, ...`` (:func:`convt.arithmetic.transpose_tap_range`); the
    N-d pairs are every combination of one pair per axis.

    >>> from convt.spec import conv_transpose_spec
    >>> indptr, pixel, tap = table(conv_transpose_spec((1, 1, 4), (1, 1, 3), stride=2, padding=1,
    ...                                                 output_padding=1)[0])
    >>> [list(zip(pixel[a:b].tolist(), tap[a:b].tolist())) for a, b in zip(indptr[:4], indptr[1:5])]
    [[(0, 1)], [(1, 0), (0, 2)], [(1, 1)], [(2, 0), (1, 2)]]
    """
    per_axis = []  # per axis: output, input and tap of each pair, sorted by output
    for i, k, s, d, (cb, _), o in zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation, spec.pads,
                                      spec.output_size):
        qs, js, ts = [], [], []
        for t in range(k):
            reach = ar.transpose_tap_range(i, o, s, d, cb, t)
            if reach is None:
                continue
            j0, j1, q0 = reach
            qs.append(np.arange(j1 - j0 + 1, dtype=np.intp) * s + q0)
            js.append(np.arange(j0, j1 + 1, dtype=np.intp))
            ts.append(np.full(j1 - j0 + 1, t, dtype=np.intp))
        q, j, t = (np.concatenate(a) if a else np.zeros(0, np.intp) for a in (qs, js, ts))
        order = np.argsort(q, kind="stable")
        per_axis.append((q[order], j[order], t[order]))
    picks = [p.ravel() for p in np.meshgrid(*[np.arange(len(q)) for q, _, _ in per_axis], indexing="ij")]

    def flat(column: int, size: tuple[int, ...]) -> np.ndarray:  # one column of every combination, raveled
        return np.ravel_multi_index(tuple(axis[column][p] for axis, p in zip(per_axis, picks)), size)

    q, pixel, tap = flat(0, spec.output_size), flat(1, spec.input_size), flat(2, spec.kernel_size)
    order = np.argsort(q, kind="stable")
    indptr = np.zeros(math.prod(spec.output_size) + 1, dtype=np.intp)
    np.cumsum(np.bincount(q, minlength=len(indptr) - 1), out=indptr[1:])
    pixel, tap = pixel[order], tap[order]
    for a in (indptr, pixel, tap):  # cached per shape: shared by every call
        a.flags.writeable = False
    return indptr, pixel, tap


@functools.lru_cache(maxsize=32)
def windows(spec: ConvSpec) -> np.ndarray:
    """Per output pixel of a direct convolution, the flat input pixel each tap reads: ``(Q, T)``, -1 for padding.

    Per axis, output ``r`` reads input ``r*s + t*d - lo`` with tap ``t``
    (:func:`convt.arithmetic.window_positions`); a pixel is padding when any
    axis falls outside the input.

    >>> from convt.spec import conv_spec
    >>> windows(conv_spec((1, 1, 4), (1, 1, 3), stride=2, padding=1)[0]).tolist()
    [[-1, 0, 1], [1, 2, 3]]
    """
    nd = spec.nd
    flat = np.zeros((1,) * (2 * nd), np.intp)
    inside = np.ones((1,) * (2 * nd), bool)
    step = 1
    for a in reversed(range(nd)):
        i, k, s, d, (lo, _), o = (spec.input_size[a], spec.kernel_size[a], spec.stride[a], spec.dilation[a],
                                  spec.pads[a], spec.output_size[a])
        shape = [1] * (2 * nd)
        shape[a], shape[nd + a] = o, k
        pos = np.array([ar.window_positions(r, k, s, d, lo) for r in range(o)], np.intp).reshape(shape)
        inside = inside & (pos >= 0) & (pos < i)
        flat = flat + pos * step
        step *= i
    table = np.where(inside, flat, -1).reshape(math.prod(spec.output_size), math.prod(spec.kernel_size))
    table.flags.writeable = False
    return table


def _gather_loop(cols, indptr, pixel, tap, out, block, coef):  # pragma: no cover - run compiled (coverage cannot see it)
    """``out[n, g, m, q] = sum over e of cols[g, n, pixel[e], tap[e], m]``, ``indptr[q] <= e < indptr[q + 1]``,
    each term times ``coef[e]`` where ``coef`` is not None (Winograd's output transform, :mod:`.winograd`).

    The sums of ``block`` output pixels are made channels-last in a small
    buffer, then written channel by channel, ``block`` pixels at a time:
    whole cache lines, where one pixel's channels alone would land a plane
    apart each (with 1024-pixel planes every store of a pixel fell in the
    same cache set). With a few channels :func:`_gather_pixels_loop` writes
    each pixel's sum straight (one loop each: with both paths in one
    function, this one ran 13% slower; docs/perf-notes.md item 110).
    """
    groups, nb, _, _, mg = cols.shape
    count = out.shape[3]
    acc = np.empty((block, mg), cols.dtype)
    for n in range(nb):
        for g in range(groups):
            for q0 in range(0, count, block):
                q1 = min(q0 + block, count)
                for q in range(q0, q1):
                    a = q - q0
                    for m in range(mg):
                        acc[a, m] = 0
                    if coef is None:
                        for e in range(indptr[q], indptr[q + 1]):
                            p, t = pixel[e], tap[e]
                            for m in range(mg):
                                acc[a, m] += cols[g, n, p, t, m]
                    else:
                        for e in range(indptr[q], indptr[q + 1]):
                            p, t, c = pixel[e], tap[e], coef[e]
                            for m in range(mg):
                                acc[a, m] += c * cols[g, n, p, t, m]
                for m in range(mg):
                    for q in range(q0, q1):
                        out[n, g, m, q] = acc[q - q0, m]


def _gather_pixels_loop(cols, indptr, pixel, tap, out, coef):  # pragma: no cover - run compiled
    """:func:`_gather_loop` one output pixel at a time, its sum written straight (a few channels)."""
    groups, nb, _, _, mg = cols.shape
    count = out.shape[3]
    one = np.empty(mg, cols.dtype)
    for n in range(nb):
        for g in range(groups):
            for q in range(count):
                one[:] = 0
                for e in range(indptr[q], indptr[q + 1]):
                    src = cols[g, n, pixel[e], tap[e]]
                    if coef is None:
                        for m in range(mg):
                            one[m] += src[m]
                    else:
                        c = coef[e]
                        for m in range(mg):
                            one[m] += c * src[m]
                for m in range(mg):
                    out[n, g, m, q] = one[m]


def _gather_numpy(cols: np.ndarray, indptr: np.ndarray, pixel: np.ndarray, tap: np.ndarray, out: np.ndarray,
                  coef: np.ndarray | None) -> None:
    """:func:`_gather_loop` in NumPy: the pairs gathered, then summed per output pixel by ``add.reduceat``."""
    groups, nb, _, _, mg = cols.shape
    picked = np.zeros((groups, nb, len(pixel) + 1, mg), cols.dtype)  # a last zero: reduceat may start at the end
    picked[:, :, :-1] = cols[:, :, pixel, tap]
    if coef is not None:
        picked[:, :, :-1] *= coef[:, None]
    sums = np.add.reduceat(picked, indptr[:-1], axis=2)
    sums[:, :, indptr[1:] == indptr[:-1]] = 0  # reduceat gives an element, not zero, for an empty range
    np.copyto(out, sums.transpose(1, 0, 3, 2))


def _im2col_loop(xcl, table, cols):  # pragma: no cover - run compiled (coverage cannot see it)
    """``cols[g, n, q, t] = xcl[n, table[q, t], g]`` (``Cg`` values), zeros where ``table[q, t] < 0``."""
    groups, nb, count, ntaps, cg = cols.shape
    for g in range(groups):
        for n in range(nb):
            for q in range(count):
                for t in range(ntaps):
                    p = table[q, t]
                    dst = cols[g, n, q, t]
                    if p < 0:
                        dst[:] = 0
                    else:
                        src = xcl[n, p, g]
                        for c in range(cg):
                            dst[c] = src[c]


def _im2col_numpy(xcl: np.ndarray, table: np.ndarray, cols: np.ndarray) -> None:
    """:func:`_im2col_loop` in NumPy: one fancy-indexed copy from the input with a zero pixel appended."""
    nb, pixels, groups, cg = xcl.shape
    padded = np.zeros((nb, pixels + 1, groups, cg), xcl.dtype)
    padded[:, :pixels] = xcl
    np.copyto(cols, padded[:, np.where(table < 0, pixels, table)].transpose(3, 0, 1, 2, 4))


_loops = _compiled.Loops(gather=_gather_loop, gather_pixels=_gather_pixels_loop, im2col=_im2col_loop)
available = _compiled.available


def compiled(loop: str = "gather") -> Callable | None:
    """The Numba-compiled :func:`_gather_loop` (``"gather_pixels"``: :func:`_gather_pixels_loop`, ``"im2col"``:
    :func:`_im2col_loop`), or None where not :func:`available`."""
    return _loops.get(loop)


def sums(dtype: np.dtype, mg: int) -> Callable:
    """The table's sums into a channels-first result for ``mg`` output channels per group, as
    ``f(cols, indptr, pixel, tap, out, coef)``: :func:`_gather_loop` in blocks of :data:`BLOCK` pixels from
    :data:`BLOCK_MIN_OUT` channels, else :func:`_gather_pixels_loop`; their NumPy twin where not compiled."""
    blocked = mg >= BLOCK_MIN_OUT
    loop = compiled("gather" if blocked else "gather_pixels") if np.dtype(dtype) in _COMPILED_DTYPES else None
    if loop is None:
        return _gather_numpy
    if not blocked:
        return loop
    block = BLOCK
    return lambda cols, indptr, pixel, tap, out, coef: loop(cols, indptr, pixel, tap, out, block, coef)


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution: a channels-last product per batch tile, then the table's gather.

    Shape: ``(N, C_out, *out)``, ``out = (i - 1)*s + d*(k - 1) + 1 - begin - end`` per axis.

    >>> from convt.spec import conv_transpose_spec
    >>> spec, _ = conv_transpose_spec((1, 1, 3), (1, 1, 2), stride=2)
    >>> conv_transpose(np.array([[[1.0, 2.0, 3.0]]]), np.array([[[1.0, 10.0]]]), spec)
    array([[[ 1., 10.,  2., 20.,  3., 30.]]])
    """
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    ntaps, pixels, outs = math.prod(spec.kernel_size), math.prod(spec.input_size), math.prod(spec.output_size)
    if (zeros := untapped_result(x, w, spec)) is not None:  # every tap reads only padding
        return zeros
    dtype = np.result_type(x, w)
    gather = sums(dtype, mg)
    indptr, pixel, tap = table(spec)
    threads = _threads.num_threads()
    per_image = pixels * (spec.in_channels * x.dtype.itemsize + groups * ntaps * mg * dtype.itemsize)
    out_bytes = n * spec.out_channels * outs * dtype.itemsize
    io = x.nbytes + w.nbytes + out_bytes
    tiles = bounded_tiles(n, per_image, TILE_BYTES, io, out_bytes + w.nbytes, threads, spec.multiply_adds(n))
    wm = tap_major(w, groups).reshape(groups, cg, ntaps * mg)  # (G, Cg, T*Mg)
    out = result((n, groups, mg, outs), dtype)

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        xl = workspace("gather.x", (groups, nb, pixels, cg), x.dtype)
        np.copyto(xl, x[n0:n1].reshape(nb, groups, cg, pixels).transpose(1, 0, 3, 2))
        cols = np.matmul(xl.reshape(groups, nb * pixels, cg), wm,
                         out=workspace("gather.cols", (groups, nb * pixels, ntaps * mg), dtype))
        gather(cols.reshape(groups, nb, pixels, ntaps, mg), indptr, pixel, tap, out[n0:n1], None)

    _threads.run_tiles(tile, tiles, small=tiles.small)
    return out.reshape(n, spec.out_channels, *spec.output_size)


def conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Direct convolution: per batch tile a channels-last input, the table's im2col, one product.

    Shape: ``(N, C_out, *out)``, ``out = floor((i + lo + hi - d*(k - 1) - 1) / s) + 1`` per axis.

    >>> from convt.spec import conv_spec
    >>> spec, _ = conv_spec((1, 1, 5), (1, 1, 3), stride=2, padding=1)
    >>> conv(np.arange(5.0).reshape(1, 1, 5), np.ones((1, 1, 3)), spec)   # [0+0+1, 1+2+3, 3+4+0]
    array([[[1., 6., 7.]]])
    """
    return _direct(x, w, None, spec)[0]  # type: ignore[return-value]


def conv_and_weight_grad(x: np.ndarray, w: np.ndarray, g: np.ndarray, spec: ConvSpec) -> tuple[np.ndarray, np.ndarray]:
    """:func:`conv` and the weight gradient at ``x`` for the output gradient ``g``, from the same columns.

    Shape: ``(N, C_out, *out)`` and ``(C_out, C_in // groups, *kernel)``.

    >>> from convt.spec import conv_spec
    >>> spec, _ = conv_spec((1, 1, 4), (1, 1, 2))
    >>> conv_and_weight_grad(np.arange(4.0).reshape(1, 1, 4), np.ones((1, 1, 2)), np.ones((1, 1, 3)), spec)
    (array([[[1., 3., 5.]]]), array([[[3., 6.]]]))
    """
    y, dw = _direct(x, w, g, spec)
    return y, dw  # type: ignore[return-value]


def weight_grad(x: np.ndarray, g: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The weight gradient of the direct convolution ``spec`` at ``x`` for the output gradient ``g``.

    Shape: ``(C_out, C_in // groups, *kernel)``.

    >>> from convt.spec import conv_spec
    >>> spec, _ = conv_spec((1, 1, 4), (1, 1, 2))
    >>> weight_grad(np.arange(4.0).reshape(1, 1, 4), np.ones((1, 1, 3)), spec)   # [0+1+2, 1+2+3]
    array([[[3., 6.]]])
    """
    return _direct(x, None, g, spec)[1]  # type: ignore[return-value]


def _direct(x: np.ndarray, w: np.ndarray | None, g: np.ndarray | None,
            spec: ConvSpec) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The convolution by ``w`` and the weight gradient for ``g`` (either may be None), per tile from one im2col.

    Per tile: ``cols = im2col(x)`` as ``(G, nb*Q, T*Cg)``, then ``cols @ W``
    (the weight in the columns' (tap, channel) order, copied once per call)
    and ``g_tile @ cols`` summed into one partial gradient per thread,
    ``(G, Mg, T*Cg)``, put back into the weight's (channel, tap) order at
    the end.
    """
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    ntaps, pixels, outs = math.prod(spec.kernel_size), math.prod(spec.input_size), math.prod(spec.output_size)
    dtype = np.result_type(x, *(a for a in (w, g) if a is not None))
    loop = compiled("im2col") if x.dtype in _COMPILED_DTYPES else None
    im2col = loop if loop is not None else _im2col_numpy
    table = windows(spec)
    threads = _threads.num_threads()
    per_image = (x.dtype.itemsize * (pixels * spec.in_channels + groups * outs * ntaps * cg)
                 + dtype.itemsize * outs * spec.out_channels)
    out_bytes = n * spec.out_channels * outs * dtype.itemsize if w is not None else 0
    weight_bytes = spec.out_channels * cg * ntaps * dtype.itemsize  # the weight's copy, or each thread's gradient
    io = x.nbytes + weight_bytes + n * spec.out_channels * outs * dtype.itemsize
    tiles = bounded_tiles(n, per_image, TILE_BYTES, io, out_bytes + weight_bytes * (1 + (g is not None) * threads),
                          threads, spec.multiply_adds(n))
    wt = None
    if w is not None:
        wt = workspace("gather.weight", (groups, ntaps, cg, mg), w.dtype)  # rows in the columns' (tap, channel) order
        np.copyto(wt, w.reshape(groups, mg, cg, ntaps).transpose(0, 3, 2, 1))
    out = None if w is None else result((n, groups, mg, outs), dtype)
    partial: dict[int, np.ndarray] = {}

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        xcl = workspace("gather.x", (nb, pixels, groups, cg), x.dtype)
        np.copyto(xcl, x[n0:n1].reshape(nb, groups, cg, pixels).transpose(0, 3, 1, 2))
        cols = workspace("gather.cols", (groups, nb, outs, ntaps, cg), x.dtype)
        im2col(xcl, table, cols)
        cols = cols.reshape(groups, nb * outs, ntaps * cg)
        if wt is not None and out is not None:
            y = np.matmul(cols, wt.reshape(groups, ntaps * cg, mg), out=workspace("gather.y", (groups, nb * outs, mg),
                                                                                 dtype))
            np.copyto(out[n0:n1], y.reshape(groups, nb, outs, mg).transpose(1, 0, 3, 2))
        if g is not None:
            gm = channel_major(g[n0:n1], groups, ((0, 0),) * spec.nd, "gather.g").reshape(groups, mg, nb * outs)
            accumulate(partial, gm, cols.swapaxes(1, 2), dtype, False, "gather.dw")  # gm @ cols: (G, Mg, T*Cg)

    _threads.run_tiles(tile, tiles, small=tiles.small)
    dw = None
    if g is not None:
        acc, *rest = partial.values()
        for part in rest:
            acc += part
        dw = np.ascontiguousarray(acc.reshape(groups, mg, ntaps, cg).transpose(0, 1, 3, 2)).reshape(
            spec.out_channels, cg, *spec.kernel_size)
    return None if out is None else out.reshape(n, spec.out_channels, *spec.output_size), dw
