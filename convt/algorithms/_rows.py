"""The layers whose kernel equals the stride (U-Net's ``k == s``): each row's taps interleaved by a compiled loop.

With ``k == s`` on every axis, no dilation and no padding, each output
pixel of a transposed convolution is one (input pixel, tap) pair: the layer
is one product and a reshape, and its adjoint (the direct convolution) a
reshape, space to depth, and one product. NumPy's reshape is one strided
copy per tap, ``s`` elements apart on the last axis, and every copy passes
over the whole output: unet-2's 33.5 MB took 7.9 ms on one thread. The
loops here write each output row once, its ``s`` last-axis taps
interleaved from their rows of the product (:func:`interleave`), or read
each input row once into its taps' rows of the columns
(:func:`deinterleave`): 1.8-2.0 ms (docs/perf-notes.md item 95).

The rows are the arrays' rows along the last axis, in C order; per shape a
table gives, for each row on one side, its ``s`` partner rows on the other
(:func:`transpose_rows`, :func:`direct_rows`), so that the rest of the axes
are N-d for free. The loops are compiled by Numba (``nogil``; the rows
split across convt's threads) where :func:`convt.algorithms._compiled.available`;
elsewhere the algorithms keep their NumPy copies.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..spec import ConvSpec
from . import _compiled, _threads

__all__ = ["applies", "deinterleave", "direct_rows", "interleave", "transpose_rows"]


def applies(spec: ConvSpec, dtype: np.dtype) -> bool:
    """Whether the compiled rows run this layer: ``k == s >= 2`` on the last axis, ``k == s`` on every other,
    no dilation or padding, the output exactly ``s`` times the input (transposed), a compiled dtype.

    >>> from convt.spec import conv_transpose_spec
    >>> spec = conv_transpose_spec((8, 64, 32, 32), (64, 32, 2, 2), stride=2)[0]
    >>> applies(spec, np.dtype(np.float32)) == _compiled.available()
    True
    """
    # the loops last: the first call imports Numba and compiles them; a broken install gives None
    return np.dtype(dtype) in _compiled.DTYPES and _fits(spec) and _loops.get("interleave") is not None


@functools.lru_cache(maxsize=1024)
def _fits(spec: ConvSpec) -> bool:
    return (spec.stride[-1] >= 2
            and all(k == s and d == 1 and lo == 0 and hi == 0
                    for k, s, d, (lo, hi) in zip(spec.kernel_size, spec.stride, spec.dilation, spec.pads))
            and (not spec.transposed or all(o == i * s for o, i, s in
                                            zip(spec.output_size, spec.input_size, spec.stride))))


def _row_grid(nb: int, groups: int, channels: int, k: tuple[int, ...], lead: tuple[int, ...],
              by_image: bool) -> np.ndarray:
    """The row numbers of an array ``(nb, G, C, *k, *lead)`` (``by_image``) or ``(G, C, *k, nb, *lead)``, whose
    rows run along one more axis, in the order ``(nb, G, C, n_0, k_0, n_1, k_1, ..., k_last)`` (``n`` the lead
    axes' pixels, ``k`` the taps), as ``(-1, k_last)``: per row of the other side, C order, its ``k_last`` rows.

    >>> _row_grid(1, 1, 1, (2, 2), (2,), True)   # rows (k_0, k_1, n_0) -> (n_0, k_0), k_1
    array([[0, 2],
           [4, 6],
           [1, 3],
           [5, 7]])
    """
    nd = len(k)
    shape = (nb, groups, channels, *k, *lead) if by_image else (groups, channels, *k, nb, *lead)
    taps, pixels = (3, 3 + nd) if by_image else (2, 3 + nd)
    head = [0, 1, 2] if by_image else [2 + nd, 0, 1]
    order = [*head, *(a for j in range(nd - 1) for a in (pixels + j, taps + j)), taps + nd - 1]
    grid = np.arange(math.prod(shape)).reshape(shape).transpose(order)
    return np.ascontiguousarray(grid).reshape(-1, k[-1])


@functools.lru_cache(maxsize=64)
def transpose_rows(spec: ConvSpec, nb: int, by_image: bool) -> np.ndarray:
    """Per output row of a tile (C order over ``(nb, G, Mg, *o_lead)``), the rows of the product that fill it.

    The product's rows (:func:`convt.algorithms.gemm.product_first`):
    ``(nb, G, Mg, T, *i_lead)`` ``by_image``, else ``(G, Mg, T, nb, *i_lead)``,
    with ``T = (*k_lead, k_last)``. Returns ``(rows, k_last)`` indices: output row
    ``r``'s last-axis tap ``b`` is product row ``table[r, b]``.

    >>> from convt.spec import conv_transpose_spec
    >>> transpose_rows(conv_transpose_spec((1, 1, 2, 3), (1, 1, 2, 2), stride=2)[0], 1, True)
    array([[0, 2],
           [4, 6],
           [1, 3],
           [5, 7]])
    """
    return _row_grid(nb, spec.groups, spec.out_channels // spec.groups, spec.kernel_size, spec.input_size[:-1],
                     by_image)


@functools.lru_cache(maxsize=64)
def direct_rows(spec: ConvSpec, nb: int, by_image: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per input row that the direct convolution reads, the column rows it fills: ``(sources, targets)``.

    The input's rows ``(nb, G, Cg, *i_lead)``; the columns'
    (:func:`convt.algorithms.im2col.conv`) ``(nb, G, Cg, T, *o_lead)``
    ``by_image``, else ``(G, Cg, T, nb, *o_lead)``, ``T = (*k_lead, k_last)``.
    Input rows past ``k * o`` on an axis are read by no tap and left out.
    Returns ``sources`` ``(rows,)`` and ``targets`` ``(rows, k_last)``.

    >>> from convt.spec import conv_spec
    >>> src, dst = direct_rows(conv_spec((1, 1, 5, 4), (1, 1, 2, 2), stride=2)[0], 1, True)
    >>> src, dst
    (array([0, 1, 2, 3]), array([[0, 2],
           [4, 6],
           [1, 3],
           [5, 7]]))
    """
    k, o, i = spec.kernel_size, spec.output_size, spec.input_size
    rows = np.arange(nb * spec.in_channels * math.prod(i[:-1])).reshape(nb, spec.in_channels, *i[:-1])
    sources = rows[(Ellipsis, *(slice(0, kk * oo) for kk, oo in zip(k[:-1], o[:-1])))].reshape(-1)
    return sources, _row_grid(nb, spec.groups, spec.in_channels // spec.groups, k, o[:-1], by_image)


def _interleave_loop(dst, src, table, r0, r1):  # pragma: no cover - compiled by Numba
    """``dst[r, j*S + b] = src[table[r, b], j]`` for ``r0 <= r < r1``."""
    taps = table.shape[1]
    width = src.shape[1]
    for r in range(r0, r1):
        row = dst[r]
        if taps == 2:  # both taps in one loop: vector loads, an interleave, contiguous stores
            a = src[table[r, 0]]
            b = src[table[r, 1]]
            for j in range(width):
                row[2 * j] = a[j]
                row[2 * j + 1] = b[j]
        else:
            for t in range(taps):
                a = src[table[r, t]]
                for j in range(width):
                    row[j * taps + t] = a[j]


def _deinterleave_loop(dst, src, sources, targets, r0, r1):  # pragma: no cover - compiled by Numba
    """``dst[targets[r, b], j] = src[sources[r], j*S + b]`` for ``r0 <= r < r1``."""
    taps = targets.shape[1]
    width = dst.shape[1]
    for r in range(r0, r1):
        row = src[sources[r]]
        if taps == 2:
            a = dst[targets[r, 0]]
            b = dst[targets[r, 1]]
            for j in range(width):
                a[j] = row[2 * j]
                b[j] = row[2 * j + 1]
        else:
            for t in range(taps):
                a = dst[targets[r, t]]
                for j in range(width):
                    a[j] = row[j * taps + t]


_loops = _compiled.Loops(interleave=_interleave_loop, deinterleave=_deinterleave_loop)


def interleave(out: np.ndarray, products: np.ndarray, by_image: bool, spec: ConvSpec) -> None:
    """Write a tile's output ``(nb, G, Mg, *o)`` from its product's rows (:func:`transpose_rows`), threaded."""
    table = transpose_rows(spec, out.shape[0], by_image)
    dst, src = out.reshape(-1, spec.output_size[-1]), products.reshape(-1, spec.input_size[-1])
    loop = _loops.get("interleave")
    _threads.parallel(lambda piece: loop(dst, src, table, *piece), _threads.chunks(len(table), _threads.num_threads()))


def deinterleave(cols: np.ndarray, x: np.ndarray, by_image: bool, spec: ConvSpec) -> None:
    """Fill a tile's columns from its input ``(nb, G, Cg, *i)`` rows (:func:`direct_rows`), threaded."""
    sources, targets = direct_rows(spec, x.shape[0], by_image)
    dst, src = cols.reshape(-1, spec.output_size[-1]), x.reshape(-1, spec.input_size[-1])
    loop = _loops.get("deinterleave")
    _threads.parallel(lambda piece: loop(dst, src, sources, targets, *piece),
                      _threads.chunks(len(sources), _threads.num_threads()))
