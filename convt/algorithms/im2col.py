"""Direct convolution by im2col and one product per batch tile.

The padded input is laid out channel-major (``(G, Cg, nb, *padded)``), each
tap's strided window is copied into the column matrix (the copies split
across threads), and one product ``(G, Mg, Cg*T) @ (G, Cg*T, nb*P)`` gives
the tile's output, written once into place. The columns run channel by
channel, tap by tap within a channel: the weight's own order, so the
product reads the weight as it lies (no copy per call). With ``k == s`` and
no padding the columns are the input's space to depth, filled by a compiled
loop that reads each input row once (:mod:`convt.algorithms._rows`); on other
strided layers each input plane is split into its phases and every tap's
column row written once from them, compiled (:func:`convt.algorithms._phases.im2col`).

:func:`weight_grad` reuses the same column matrix for the weight gradient:
one product ``(G, Mg, nb*P) @ (G, nb*P, Cg*T)`` per tile, summed over tiles,
instead of one thin product per kernel tap; it comes out in the weight's
order too.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import cast

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import _compiled, _layout, _phases, _rows, _threads
from ._layout import accumulate, batch_tiles, bounded_tiles, channel_major, io_bytes, pieces_for, result, workspace

__all__ = ["DIRECT_GATHER", "PER_IMAGE_PIXELS", "PER_IMAGE_WEIGHT", "TRANSPOSE_MAX_WEIGHT", "TRANSPOSE_ROWS", "conv",
           "conv_and_weight_grad", "direct_windows", "gathers_directly", "per_image", "prepare", "weight_grad",
           "weight_grad_transposed"]


@functools.lru_cache(maxsize=512)
def prepare(spec: ConvSpec, n: int, itemsize: int, threads: int = 1):
    """Per shape: each tap's window into the padded input, and the batch tiles."""
    windows = [tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                     for t, d, o, s in zip(tap, spec.dilation, spec.output_size, spec.stride))
               for tap in itertools.product(*map(range, spec.kernel_size))]
    pixels = math.prod(spec.output_size)
    if not _phases.im2col_fits(spec):
        per_image_bytes = (len(windows) * spec.in_channels + spec.out_channels) * pixels * itemsize
        return windows, batch_tiles(n, per_image_bytes, at_least=threads, multiply_adds=spec.multiply_adds(n))
    # strided, the columns compiled: T * Cg values per output pixel can outgrow the arrays; the tiles shrink to the
    # memory bound (one image at least), as gemm's channels-first ones (docs/perf-notes.md item 100). The
    # product's result is a temporary only channel-major (by image it is the output).
    written = 0 if per_image(spec, weight_grad=True) else spec.out_channels
    per_image_bytes = (len(windows) * spec.in_channels + written) * pixels * itemsize
    result_bytes = n * spec.out_channels * pixels * itemsize
    return windows, bounded_tiles(n, per_image_bytes, _layout.TILE_BYTES, io_bytes(spec, n, itemsize), result_bytes,
                                  threads, spec.multiply_adds(n))


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


def _gather_direct(xg: np.ndarray, spec: ConvSpec, cols: np.ndarray, lead: int) -> None:
    """im2col straight from the unpadded tile, threaded.

    ``lead`` axes come before the channel axis: ``xg`` ``(G, Cg, nb, *i)`` into
    ``cols`` ``(G, Cg, T, nb, *o)`` (``lead=1``, channel-major), or
    ``(nb, G, Cg, *i)`` into ``(nb, G, Cg, T, *o)`` (``lead=2``, per image).
    """
    taps = direct_windows(spec)
    axis, pieces = pieces_for(len(taps), cols.shape[lead])
    head = (slice(None),) * lead

    def one(u: int, c: slice) -> None:
        source, target, strips = taps[u]
        dst = cols[(*head, c, u)]
        for strip in strips:
            dst[(Ellipsis, *strip)] = 0
        if source is not None:
            dst[(Ellipsis, *target)] = xg[(*head, c, Ellipsis, *source)]

    def gather(piece: tuple[int, int]) -> None:
        if axis == 0:
            for u in range(*piece):
                one(u, slice(None))
        else:
            for u in range(len(taps)):
                one(u, slice(*piece))

    _threads.parallel(gather, pieces)


def gather_windows(xp: np.ndarray, windows, cols: np.ndarray, lead: int = 1, channels_outer: bool = False) -> None:
    """Copy each tap's window of the padded tile into the column buffer, threaded (``lead`` as in ``_gather_direct``).

    ``cols`` is ``(..., T, Cg, ...)``, or ``(..., Cg, T, ...)`` with ``channels_outer``.
    """
    head = (slice(None),) * lead
    axis, pieces = pieces_for(len(windows), xp.shape[lead])

    def at(u: int, c: slice) -> tuple:
        return (*head, c, u) if channels_outer else (*head, u, c)

    def gather(piece: tuple[int, int]) -> None:
        if axis == 0:
            for u in range(*piece):
                cols[at(u, slice(None))] = xp[(Ellipsis, *windows[u])]
        else:
            c = slice(*piece)
            for u, win in enumerate(windows):
                cols[at(u, c)] = xp[(*head, c, Ellipsis, *win)]

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
#: with at least this many output pixels per image the columns are laid out image by image and the product
#: writes the output in place; below it, channel-major columns and one product per tile (docs/perf-notes.md)
PER_IMAGE_PIXELS = 128
#: ... or with a weight of at most this many values whose columns come from the compiled phases: the products
#: are small beside the channel-major result's move into place (ae-1's adjoint 1.1x, docs/perf-notes.md item 100)
PER_IMAGE_WEIGHT = 1 << 15


def per_image(spec: ConvSpec, weight_grad: bool = False) -> bool:
    """Whether the columns are laid out image by image ``(nb, G, Cg*T, P)`` (see :data:`PER_IMAGE_PIXELS`).

    With a weight gradient to compute from them, only when an image's
    product ``(Mg, P) @ (P, Cg*T)`` writes at most a quarter of what it reads
    (``4 * Mg <= P``): its result, one weight per image, is summed over the
    tile.

    >>> from convt.spec import conv_spec
    >>> per_image(conv_spec((1, 4, 32, 32), (4, 4, 3, 3), padding=1)[0]), per_image(conv_spec((1, 4, 8, 8), (4, 4, 3, 3))[0])
    (True, False)
    >>> per_image(conv_spec((1, 512, 16, 16), (512, 512, 3, 3), padding=1)[0], weight_grad=True)
    False
    """
    return _per_image(spec, weight_grad, _compiled.available(), PER_IMAGE_PIXELS, PER_IMAGE_WEIGHT)


@functools.lru_cache(maxsize=1024)
def _per_image(spec: ConvSpec, weight_grad: bool, compiled: bool, min_pixels: int, max_weight: int) -> bool:
    pixels = math.prod(spec.output_size)
    weight = spec.out_channels * (spec.in_channels // spec.groups) * math.prod(spec.kernel_size)
    small = weight <= max_weight and compiled and _phases.im2col_fits(spec)
    return (pixels >= min_pixels or small) and (not weight_grad or 4 * (spec.out_channels // spec.groups) <= pixels)


def _columns(x: np.ndarray, spec: ConvSpec, windows, nb: int, by_image: bool = False) -> np.ndarray:
    """The tile's im2col columns: ``(G, Cg*T, nb*P)``, or ``(nb, G, Cg*T, P)`` ``by_image``.

    For a 1x1 stride-1 kernel without padding the input itself (a view by
    image, the channel-major copy otherwise).
    """
    groups, cg = spec.groups, spec.in_channels // spec.groups
    shape = (nb, groups, cg, len(windows), *spec.output_size) if by_image else \
        (groups, cg, len(windows), nb, *spec.output_size)
    pixels = math.prod(spec.output_size)  # not -1: an empty batch has no size to infer it from
    flat = (nb, groups, len(windows) * cg, pixels) if by_image else (groups, len(windows) * cg, nb * pixels)
    # by image there is no padded copy: a padded or cropped input is always read straight
    direct = gathers_directly(spec) or (by_image and any(lo or hi for lo, hi in spec.pads))
    if not direct and _rows.applies(spec, x.dtype):  # k == s: each input row read once into its taps' columns
        cols = workspace("im2col.cols", shape, x.dtype)
        _rows.deinterleave(cols, x, by_image, spec)
        return cols.reshape(flat)
    if _phases.im2col_applies(spec, x.dtype):  # strided: the phases, compiled
        cols = workspace("im2col.cols", shape, x.dtype)
        _phases.im2col(cols, x, by_image, spec)
        return cols.reshape(flat)
    if by_image:
        xp = x.reshape(nb, groups, cg, *spec.input_size)  # no padding to add, or read straight: no copy
        if len(windows) == 1 and not direct and xp.shape[3:] == spec.output_size:
            return xp.reshape(nb, groups, cg, math.prod(xp.shape[3:]))
    elif direct:
        xp = np.moveaxis(x.reshape(nb, groups, cg, *spec.input_size), 0, 2)  # (G, Cg, nb, *i)
    else:
        xp = channel_major(x, groups, spec.pads, "im2col.x")
        if len(windows) == 1 and xp.shape[3:] == spec.output_size:
            return xp.reshape(groups, cg, -1)  # 1x1 kernel, stride 1, nothing to gather
    cols = workspace("im2col.cols", shape, x.dtype)
    if direct:
        _gather_direct(xp, spec, cols, 2 if by_image else 1)
    else:
        gather_windows(xp, windows, cols, 2 if by_image else 1, channels_outer=True)
    return cols.reshape(flat)


def conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Direct convolution: one threaded im2col and one product per batch tile (image by image: :func:`per_image`)."""
    n, groups = x.shape[0], spec.groups
    mg = spec.out_channels // groups
    windows, tiles = prepare(spec, n, x.dtype.itemsize, _threads.num_threads())
    wm = _weight_matrix(w, spec, len(windows))
    out = result((n, groups, mg, *spec.output_size), np.result_type(x, w))
    by_image = per_image(spec)

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        cols = _columns(x[n0:n1], spec, windows, nb, by_image)
        _product(wm, cols, out[n0:n1], by_image)
    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    return out.reshape(n, spec.out_channels, *spec.output_size)


def _weight_matrix(w: np.ndarray, spec: ConvSpec, ntaps: int) -> np.ndarray:
    """``(C_out, Cg, *k)`` as ``(G, Mg, Cg*T)``: the columns' order, the weight as it lies."""
    groups = spec.groups
    return w.reshape(groups, spec.out_channels // groups, spec.in_channels // groups * ntaps)


def _product(wm: np.ndarray, cols: np.ndarray, out: np.ndarray, by_image: bool) -> None:
    """The tile's output ``(nb, G, Mg, *o)``: written by the product itself by image, else moved into place."""
    nb, groups, mg = out.shape[:3]
    if by_image:
        np.matmul(wm, cols, out=out.reshape(nb, groups, mg, math.prod(out.shape[3:])))
        return
    res = np.matmul(wm, cols, out=workspace("im2col.res", (groups, mg, cols.shape[2]), out.dtype))
    np.moveaxis(out, 0, 2)[...] = res.reshape(groups, mg, nb, *out.shape[3:])


def _grad_operand(g: np.ndarray, groups: int, by_image: bool) -> np.ndarray:
    """The output gradient of a tile as the weight gradient's left operand (a view by image)."""
    nb, m = g.shape[:2]
    if by_image:
        return g.reshape(nb, groups, m // groups, math.prod(g.shape[2:]))
    return channel_major(g, groups, ((0, 0),) * (g.ndim - 2), "im2col.g").reshape(groups, m // groups, -1)


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
    return _with_weight_grad(x, None, g, spec)[1]


def weight_grad_transposed(spec: ConvSpec) -> bool:
    """Whether the weight gradient is multiplied the other way round, ``cols @ g^T`` (``(K, Mg)``, then transposed).

    OpenBLAS runs the product faster with the longer of ``K = C_in/G * T``
    and ``Mg`` as its rows: ``cols @ g^T`` when ``K > Mg``, for weights of at
    most ``TRANSPOSE_MAX_WEIGHT`` values (dcgan-1's 2**21 lost 10% that way;
    docs/perf-notes.md item 73). The partial sums stay ``(K, Mg)`` and are
    transposed once.

    >>> from convt.spec import conv_spec
    >>> wide, thin = conv_spec((1, 64, 8, 8), (64, 64, 3, 3))[0], conv_spec((1, 3, 8, 8), (64, 3, 4, 4))[0]
    >>> weight_grad_transposed(wide), weight_grad_transposed(thin)
    (True, False)
    """
    k, mg = spec.in_channels // spec.groups * math.prod(spec.kernel_size), spec.out_channels // spec.groups
    return mg < k and k * mg <= TRANSPOSE_MAX_WEIGHT


#: the largest weight gradient (values per group) multiplied as ``cols @ g^T`` (perf-notes item 73)
TRANSPOSE_MAX_WEIGHT = 1 << 20


#: rows of the ``(K, Mg)`` weight gradient transposed per call (a block stays in cache; perf-notes item 73)
TRANSPOSE_ROWS = 32


def _transposed(a: np.ndarray) -> np.ndarray:
    """A new C-contiguous array: ``a`` with its last two axes swapped, copied in blocks of rows.

    One strided copy of a large matrix misses the cache on every element
    (5.4 ms for 4096 x 512 float32 values); blocks of ``TRANSPOSE_ROWS``
    rows take 1.0 ms.

    >>> _transposed(np.arange(6).reshape(1, 3, 2))
    array([[[0, 2, 4],
            [1, 3, 5]]])
    """
    out = np.empty((*a.shape[:-2], a.shape[-1], a.shape[-2]), dtype=a.dtype)
    for r in range(0, a.shape[-2], TRANSPOSE_ROWS):
        out[..., r:r + TRANSPOSE_ROWS] = a[..., r:r + TRANSPOSE_ROWS, :].swapaxes(-1, -2)
    return out


def conv_and_weight_grad(x: np.ndarray, w: np.ndarray, g: np.ndarray, spec: ConvSpec) -> tuple[np.ndarray, np.ndarray]:
    """The direct convolution of ``x`` by ``w`` and the weight gradient at ``x`` for the output gradient ``g``.

    The two share their im2col columns: per batch tile, one gather and two
    products (``(G, Mg, Cg*T) @ cols`` and ``g_tile @ cols^T``), tiles side by
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
    y, dw = _with_weight_grad(x, w, g, spec)
    return cast(np.ndarray, y), dw


def _with_weight_grad(x: np.ndarray, w: np.ndarray | None, g: np.ndarray,
                      spec: ConvSpec) -> tuple[np.ndarray | None, np.ndarray]:
    """The weight gradient at ``x`` for ``g``, and the convolution of ``x`` by ``w`` from the same columns (if ``w``)."""
    n, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    windows, tiles = prepare(spec, n, x.dtype.itemsize, _threads.num_threads())
    ntaps = len(windows)
    wm = None if w is None else _weight_matrix(w, spec, ntaps)
    out = None if w is None else result((n, groups, mg, *spec.output_size), np.result_type(x, w))
    dtype = np.result_type(x, g)
    partial: dict[int, np.ndarray] = {}
    by_image = per_image(spec, weight_grad=True)
    flip = weight_grad_transposed(spec)

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        cols = _columns(x[n0:n1], spec, windows, nb, by_image)
        if wm is not None and out is not None:
            _product(wm, cols, out[n0:n1], by_image)
        accumulate(partial, _grad_operand(g[n0:n1], groups, by_image), cols, dtype, flip, "im2col.dw")

    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    dw, *rest = partial.values()  # each thread's partial sum, made by its own first tile
    for part in rest:
        dw += part
    if flip:  # (G, Cg*T, Mg) -> (G, Mg, Cg*T)
        dw = _transposed(dw)
    dw = dw.reshape(spec.out_channels, cg, *spec.kernel_size)  # the columns' (Cg, T) order is the weight's
    return None if out is None else out.reshape(n, spec.out_channels, *spec.output_size), dw
