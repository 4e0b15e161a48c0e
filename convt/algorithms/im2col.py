"""Direct convolution by im2col and one product per batch tile.

The padded input is laid out channel-major (``(G, Cg, nb, *padded)``), each
tap's strided window is copied into the column matrix (the copies split
across threads), and one product ``(G, Mg, T*Cg) @ (G, T*Cg, nb*P)`` gives
the tile's output, written once into place.

:func:`weight_grad` reuses the same column matrix for the weight gradient:
one product ``(G, Mg, nb*P) @ (G, nb*P, T*Cg)`` per tile, summed over tiles,
instead of one thin product per kernel tap.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import _threads
from ._layout import batch_tiles, channel_major, pieces_for, workspace

__all__ = ["DIRECT_GATHER", "conv", "conv_and_weight_grad", "direct_windows", "gathers_directly", "prepare", "weight_grad"]


@functools.lru_cache(maxsize=512)
def prepare(spec: ConvSpec, n: int, itemsize: int, threads: int = 1):
    """Per shape: each tap's window into the padded input, and the batch tiles."""
    windows = [tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                     for t, d, o, s in zip(tap, spec.dilation, spec.output_size, spec.stride))
               for tap in itertools.product(*map(range, spec.kernel_size))]
    per_image = (len(windows) * spec.in_channels + spec.out_channels) * math.prod(spec.output_size) * itemsize
    return windows, batch_tiles(n, per_image, at_least=threads)


@functools.lru_cache(maxsize=512)
def direct_windows(spec: ConvSpec):
    """Per tap: the input window read straight from the unpadded input, where it lands, and the zero strips.

    Entries ``(source, target, strips)``: ``cols[..., *target] = x[..., *source]``
    (spatial slices; ``None`` when the tap reads only padding) and the
    ``strips`` of ``cols[..., :]`` that read padding, to be zeroed
    (:func:`convt.arithmetic.conv_tap_window`).
    """
    out = []
    for tap in itertools.product(*map(range, spec.kernel_size)):
        axes = [(ar.conv_tap_window(i, o, s, d, lo, t), i, o, s, d, lo, t) for i, o, s, d, (lo, _), t in
                zip(spec.input_size, spec.output_size, spec.stride, spec.dilation, spec.pads, tap)]
        if any(q1 <= q0 for (q0, q1), *_ in axes):
            out.append((None, None, ((slice(None),) * spec.nd,)))
            continue
        source = tuple(slice(q0 * s + t * d - lo, (q1 - 1) * s + t * d - lo + 1, s)
                       for (q0, q1), i, o, s, d, lo, t in axes)
        target = tuple(slice(q0, q1) for (q0, q1), *_ in axes)
        strips = []
        for a, ((q0, q1), _, o, *_) in enumerate(axes):
            for piece in (slice(0, q0), slice(q1, o)):
                if piece.stop > piece.start:
                    strips.append((*target[:a], piece, *(slice(None),) * (spec.nd - a - 1)))
        out.append((source, target, tuple(strips)))
    return tuple(out)


def _gather_direct(x: np.ndarray, spec: ConvSpec, cols: np.ndarray) -> None:
    """im2col straight from the unpadded tile ``(nb, C, *i)``: ``cols`` ``(G, T, Cg, nb, *o)``, threaded."""
    nb, groups = x.shape[0], spec.groups
    xg = np.moveaxis(x.reshape(nb, groups, spec.in_channels // groups, *spec.input_size), 0, 2)  # (G, Cg, nb, *i)
    taps = direct_windows(spec)
    axis, pieces = pieces_for(len(taps), cols.shape[2])

    def one(u: int, c: slice) -> None:
        source, target, strips = taps[u]
        dst = cols[:, u, c]
        for strip in strips:
            dst[(Ellipsis, *strip)] = 0
        if source is not None:
            dst[(Ellipsis, *target)] = xg[(slice(None), c, Ellipsis, *source)]

    def gather(piece: tuple[int, int]) -> None:
        if axis == 0:
            for u in range(*piece):
                one(u, slice(None))
        else:
            for u in range(len(taps)):
                one(u, slice(*piece))

    _threads.parallel(gather, pieces)


def gather_windows(xp: np.ndarray, windows, cols: np.ndarray) -> None:
    """Copy each tap's window of the channel-major padded tile into the column buffer, threaded."""
    cg = xp.shape[1]
    axis, pieces = pieces_for(len(windows), cg)

    def gather(piece: tuple[int, int]) -> None:
        if axis == 0:
            for u in range(*piece):
                cols[:, u] = xp[(Ellipsis, *windows[u])]
        else:
            c = slice(*piece)
            for u, win in enumerate(windows):
                cols[:, u, c] = xp[(slice(None), c, slice(None), *win)]

    _threads.parallel(gather, pieces)


def gathers_directly(spec: ConvSpec) -> bool:
    """Whether the im2col reads the unpadded input (:func:`direct_windows`), else a padded channel-major copy.

    Straight from the input when there is padding or cropping (no padded
    copy, no zero fill); with none, the channel-major copy first
    (faster on U-Net's large unpadded images, docs/perf-notes.md).

    >>> from convt.spec import conv_spec
    >>> gathers_directly(conv_spec((1, 4, 8, 8), (4, 4, 3, 3), padding=1)[0])
    True
    """
    return DIRECT_GATHER == "always" or (DIRECT_GATHER == "padded" and any(lo or hi for lo, hi in spec.pads))


#: "padded" (the default rule of :func:`gathers_directly`), "always" or "never" (the tests force both)
DIRECT_GATHER = "padded"


def _columns(x: np.ndarray, spec: ConvSpec, windows, nb: int) -> np.ndarray:
    """The tile's im2col columns ``(G, T*Cg, nb*P)`` (for a 1x1 stride-1 kernel, the channel-major input)."""
    groups, cg = spec.groups, spec.in_channels // spec.groups
    if gathers_directly(spec):
        cols = workspace("im2col.cols", (groups, len(windows), cg, nb, *spec.output_size), x.dtype)
        _gather_direct(x, spec, cols)
        return cols.reshape(groups, len(windows) * cg, -1)
    xp = channel_major(x, groups, spec.pads, "im2col.x")
    if len(windows) == 1 and xp.shape[3:] == spec.output_size:
        return xp.reshape(groups, cg, -1)  # 1x1 kernel, stride 1, nothing to gather
    cols = workspace("im2col.cols", (groups, len(windows), cg, nb, *spec.output_size), x.dtype)
    gather_windows(xp, windows, cols)
    return cols.reshape(groups, len(windows) * cg, -1)


def conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Direct convolution: one threaded im2col and one product per batch tile."""
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    windows, tiles = prepare(spec, n, x.dtype.itemsize, _threads.num_threads())
    ntaps = len(windows)
    wm = w.reshape(groups, mg, cg, ntaps).transpose(0, 1, 3, 2).reshape(groups, mg, ntaps * cg)
    out = np.empty((n, groups, mg, *spec.output_size), dtype=np.result_type(x, w))

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        cols = _columns(x[n0:n1], spec, windows, nb)
        res = np.matmul(wm, cols, out=workspace("im2col.res", (groups, mg, cols.shape[2]), out.dtype))
        np.moveaxis(out[n0:n1], 0, 2)[...] = res.reshape(groups, mg, nb, *spec.output_size)
    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    return out.reshape(n, spec.out_channels, *spec.output_size)


def weight_grad(x: np.ndarray, g: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The weight gradient of the direct convolution ``spec`` (zeros mode) at input ``x``.

    ``dW[m, c, t] = sum over n, q of g[n, m, q] * xp[n, c, q*s + t*d]`` with
    ``xp`` the input padded (or cropped) by ``spec.pads``: one product per
    batch tile over the im2col columns. ``g`` is the gradient of the output,
    ``(N, C_out, *out)``.

    Shape: ``(C_out, C_in // groups, *kernel)``.

    >>> from convt.spec import conv_spec
    >>> spec, _ = conv_spec((1, 1, 4), (1, 1, 2))
    >>> weight_grad(np.arange(4.0).reshape(1, 1, 4), np.ones((1, 1, 3)), spec)   # [0+1+2, 1+2+3]
    array([[[3., 6.]]])
    """
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    windows, tiles = prepare(spec, n, x.dtype.itemsize, _threads.num_threads())
    ntaps = len(windows)
    dtype = np.result_type(x, g)
    partial: dict[int, np.ndarray] = {}
    lock = threading.Lock()

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        cols = _columns(x[n0:n1], spec, windows, nb)
        gm = channel_major(g[n0:n1], groups, ((0, 0),) * spec.nd, "im2col.g").reshape(groups, mg, -1)
        _accumulate(partial, lock, gm, cols, dtype)

    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    dw = functools.reduce(np.add, partial.values()).astype(dtype, copy=False)
    dw = dw.reshape(groups, mg, ntaps, cg).transpose(0, 1, 3, 2)
    return dw.reshape(spec.out_channels, cg, *spec.kernel_size)


def _accumulate(partial: dict[int, np.ndarray], lock: threading.Lock, gm: np.ndarray, cols: np.ndarray,
                dtype: np.dtype) -> None:
    """Add this tile's ``gm @ cols^T`` to the calling thread's partial weight gradient."""
    key = threading.get_ident()
    with lock:
        acc = partial.get(key)
    if acc is None:
        acc = np.matmul(gm, cols.transpose(0, 2, 1))
        with lock:
            partial[key] = acc
    else:
        acc += np.matmul(gm, cols.transpose(0, 2, 1), out=workspace("im2col.dw", acc.shape, dtype))


def conv_and_weight_grad(x: np.ndarray, w: np.ndarray, g: np.ndarray, spec: ConvSpec) -> tuple[np.ndarray, np.ndarray]:
    """The direct convolution of ``x`` by ``w`` and the weight gradient at ``x`` for the output gradient ``g``.

    The two share their im2col columns: per batch tile, one gather and two
    products (``(G, Mg, T*Cg) @ cols`` and ``g_tile @ cols^T``), tiles side by
    side on the worker threads, one partial weight gradient per thread.
    This is the whole work of :func:`convt.conv_transpose_grad` but its
    bias term: the input gradient of a transposed convolution is the direct
    convolution of the output gradient, whose weight gradient reads the same
    columns.

    Shape: ``(N, C_out, *out)`` and ``(C_out, C_in // groups, *kernel)``.

    >>> from convt.spec import conv_spec
    >>> spec, _ = conv_spec((1, 1, 4), (1, 1, 2))
    >>> y, dw = conv_and_weight_grad(np.arange(4.0).reshape(1, 1, 4), np.ones((1, 1, 2)), np.ones((1, 1, 3)), spec)
    >>> y, dw
    (array([[[1., 3., 5.]]]), array([[[3., 6.]]]))
    """
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    windows, tiles = prepare(spec, n, x.dtype.itemsize, _threads.num_threads())
    ntaps = len(windows)
    wm = w.reshape(groups, mg, cg, ntaps).transpose(0, 1, 3, 2).reshape(groups, mg, ntaps * cg)
    out = np.empty((n, groups, mg, *spec.output_size), dtype=np.result_type(x, w))
    dtype = np.result_type(x, g)
    partial: dict[int, np.ndarray] = {}
    lock = threading.Lock()

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        cols = _columns(x[n0:n1], spec, windows, nb)
        res = np.matmul(wm, cols, out=workspace("im2col.res", (groups, mg, cols.shape[2]), out.dtype))
        np.moveaxis(out[n0:n1], 0, 2)[...] = res.reshape(groups, mg, nb, *spec.output_size)
        gm = channel_major(g[n0:n1], groups, ((0, 0),) * spec.nd, "im2col.g").reshape(groups, mg, -1)
        _accumulate(partial, lock, gm, cols, dtype)

    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    dw = functools.reduce(np.add, partial.values()).astype(dtype, copy=False)
    dw = dw.reshape(groups, mg, ntaps, cg).transpose(0, 1, 3, 2)
    return out.reshape(n, spec.out_channels, *spec.output_size), dw.reshape(spec.out_channels, cg, *spec.kernel_size)
