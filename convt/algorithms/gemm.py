"""Transposed convolution by GEMM + col2im, batch-tiled, the accumulation phase by phase.

One product per batch tile gives, for every kernel tap, every input
element's contribution: ``(G, Mg*T, Cg) @ (G, Cg, nb*P) -> (G, Mg, T, nb, *i)``
(``T`` taps, ``P`` input pixels; the weight read as it lies, each tap's
block a strided view of whole rows). The col2im then runs output phase by output
phase (:func:`convt.arithmetic.phase_taps`): the taps that feed a phase are
summed into a small contiguous buffer (contiguous, vectorised adds, each
tap's window from :func:`convt.arithmetic.phase_tap_window`) and the buffer
is written once into the strided phase of the output. The work is split
across threads by output channel (or batch); no tap multiplies an inserted
zero and no output element is read back. With ``k == s`` and no padding
(U-Net's layers: one tap per output pixel) a compiled loop writes each
output row once from its taps' product rows instead (:mod:`convt.algorithms._rows`,
where Numba is installed; docs/perf-notes.md item 95); on the other layers
the phases are summed by a compiled loop over flat buffers of the input's
pitch, each written once (:mod:`convt.algorithms._phases`, item 97).

Channels-last (:func:`channels_last`: small images, many output channels)
the product is ``(G, nb*P, Cg) @ (G, Cg, T*Mg)`` on a tap-major weight, cut
by the first kernel axis: one product per first-axis tap, whose columns
are added into the phases they feed before the next product overwrites
them. Each of those products runs only on the input rows its tap sends
into the output (:func:`first_axis_rows`; the tile's copy has its first
axis outermost so that they are one block): DCGAN's 4 x 4 inputs with k4
s2 p1 drop an eighth of the multiply-adds (docs/perf-notes.md item 93).
The columns of a tile stay a few hundred KiB to a few MiB, near the
core's cache, and the tiles grow to more rows per product (faster in
OpenBLAS) within the same budget (docs/perf-notes.md item 74).

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
from . import _layout, _phases, _rows, _threads
from ._layout import (
    PEAK_SHARE,
    axis_phases,
    batch_tiles,
    bounded_tiles,
    channel_major,
    io_bytes,
    pieces_for,
    result,
    tap_major,
    untapped_result,
    workspace,
)

__all__ = ["BATCH_PIXELS", "CL_COLUMNS", "SPLIT_COLUMNS_BYTES", "channels_last", "conv_transpose",
           "first_axis_rows", "fits", "phase_row", "prepare", "product_first"]

#: with at least this many input pixels per image, the channels-first product runs image by image on the
#: input as it lies (no channel-major copy); below it, one product on a channel-major copy of the tile
BATCH_PIXELS = 128
#: a call that is one batch tile splits its col2im across threads only from this many bytes of columns: below,
#: the hand-off and OpenBLAS's threads, still spinning after the product, cost more (docs/perf-notes.md item 63)
SPLIT_COLUMNS_BYTES = 16 << 20
#: channels-last pays its weight copy when ``CL_COLUMNS * n * P >= Cg * phase_row`` (:func:`channels_last`)
CL_COLUMNS = 5


@functools.lru_cache(maxsize=512)
def prepare(spec: ConvSpec, n: int, itemsize: int, threads: int = 1, last: bool | None = None):
    """Per shape: the phases, the products and what each adds where, and the batch tiles.

    Returns ``(phases, block, plan, tiles)``. ``phases``: per output phase
    its output slices, sizes and ``(tap, source, buffer window, full)``
    entries. ``block``: the taps per product, all of them channels-first;
    channels-last (``last``, default :func:`channels_last`), the taps of one
    index on the first kernel axis (docs/perf-notes.md item 74). ``plan``:
    ``(blocks, steps, slots, at, region)`` per group of phases that read the
    same products (the phases of one first-axis phase, channels-last: a
    first-axis tap feeds only one of them); ``steps``: per block
    ``(phase, entries, first, last)`` for every phase it feeds,
    ``first``/``last`` whether it is the phase's first or last block; the
    running sums of a piece of the tile, in positions of a phase: ``slots``
    ``(phase, offset)`` where each phase fed by several blocks keeps its own,
    the others sharing one from ``at``, ``region`` in all.
    """
    if last is None:
        last = channels_last(spec, n)
    per_axis, _ = axis_phases(spec)
    ntaps = math.prod(spec.kernel_size)
    block = ntaps // spec.kernel_size[0] if last else ntaps
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
    members: dict[int, list[int]] = {}
    for j, (dst, _, _) in enumerate(phases):  # channels-first: one group
        members.setdefault(dst[0].start if last else 0, []).append(j)
    plan = []
    for group in members.values():
        feeds = {(b, j): tuple(e for e in phases[j][2] if e[0] // block == b)
                 for j in group for b in {e[0] // block for e in phases[j][2]}}
        # blocks with full-window taps first: they initialise their phases' buffers without a fill
        fulls = {b: 0 for b, _ in feeds}
        for (b, _), es in feeds.items():
            fulls[b] += sum(e[3] for e in es)
        blocks = sorted(fulls, key=lambda b: (-fulls[b], b))
        order = {b: k for k, b in enumerate(blocks)}
        span = {j: [order[b] for b, i in feeds if i == j] for j in group}
        steps = [tuple((j, feeds[b, j], order[b] == min(span[j]), order[b] == max(span[j]))
                       for j in group if (b, j) in feeds) for b in blocks]
        # each piece's running sums, in positions of a phase: its own for a phase fed by several products
        # (from 0 on), one shared by the others (after them)
        slots, at, shared = {}, 0, 0
        for j in group:
            if len(span[j]) > 1:
                slots[j], at = at, at + math.prod(phases[j][1])
            else:
                shared = max(shared, math.prod(phases[j][1]))
        plan.append((tuple(blocks), tuple(steps), tuple(slots.items()), at, at + shared))
    pixels = math.prod(spec.input_size)
    per_image = block * spec.out_channels * pixels * itemsize  # the columns of a product
    if last:  # and the tile's channels-last copy, and the running sums of a group's phases
        sums = max(sum(math.prod(phases[j][1]) for j in group) for group in members.values())
        per_image += (spec.in_channels * pixels + spec.out_channels * sums) * itemsize
    if last:
        tiles = batch_tiles(n, per_image, at_least=threads, multiply_adds=spec.multiply_adds(n))
    else:  # the columns, T * Mg values per input pixel, can outgrow the arrays: the tiles shrink to the memory bound
        result_bytes = n * spec.out_channels * math.prod(spec.output_size) * itemsize
        tiles = bounded_tiles(n, per_image, _layout.TILE_BYTES, io_bytes(spec, n, itemsize), result_bytes, threads,
                              spec.multiply_adds(n))
    return tuple(phases), block, tuple(plan), tiles


def fits(spec: ConvSpec, n: int, itemsize: int, threads: int) -> bool:
    """Whether the channels-first tiles, one image or more each, keep the call's peak within
    :data:`convt.algorithms._layout.PEAK_SHARE` times its input, weight and result.

    >>> from convt.spec import conv_transpose_spec
    >>> fits(conv_transpose_spec((8, 128, 16, 16), (128, 64, 4, 4), stride=2, padding=1)[0], 8, 4, 2)
    True
    """
    tiles = prepare(spec, n, itemsize, threads, False)[-1]
    return tiles.peak <= PEAK_SHARE * tiles.io


@functools.lru_cache(maxsize=1024)
def channels_last(spec: ConvSpec, n: int) -> bool:
    """Whether the col2im of a batch of ``n`` runs with output channels innermost.

    Channels-last makes the adds run along the output channels instead of a
    phase row, when those are at least twice as long. With one tap per phase
    (kernel <= stride) the phases are copied straight and the output's own
    order (channels first) is kept; so it is with at least
    :data:`BATCH_PIXELS` input pixels per image, where the channels-first
    product reads the input as it lies (no copy) and wins. Channels-last
    also copies the weight tap-major (the channels-first product reads it as
    it lies), which pays only when the columns outweigh the weight enough:
    ``CL_COLUMNS * n * P >= Cg * phase_row`` (``n * P * T * Mg`` column
    values against ``Cg * T * Mg`` weights; the shorter the phase row, the
    more the channels-first adds cost per value; docs/perf-notes.md item 56).

    >>> from convt.spec import conv_transpose_spec
    >>> spec = conv_transpose_spec((64, 512, 4, 4), (512, 256, 4, 4), stride=2, padding=1)[0]
    >>> channels_last(spec, 64), channels_last(spec, 1)
    (True, False)
    """
    if all(k * d <= s for k, s, d in zip(spec.kernel_size, spec.stride, spec.dilation)):
        return False  # one tap per phase: written straight, the spatial order is the output's
    pixels = math.prod(spec.input_size)
    if pixels >= BATCH_PIXELS:
        return False
    row = phase_row(spec)
    return spec.out_channels // spec.groups >= 2 * row and CL_COLUMNS * n * pixels >= spec.in_channels // spec.groups * row


def phase_row(spec: ConvSpec) -> int:
    """The length of a phase's row (its innermost axis): the inner loop of a channels-first add.

    >>> from convt.spec import conv_transpose_spec
    >>> phase_row(conv_transpose_spec((1, 1, 7, 7), (1, 1, 3, 3), stride=2, padding=1, output_padding=1)[0])
    7
    """
    i, k, s, d, (cb, _), o = (spec.input_size[-1], spec.kernel_size[-1], spec.stride[-1], spec.dilation[-1],
                              spec.pads[-1], spec.output_size[-1])
    return ar.phase_taps(i, k, s, d, cb, o, 0)[0]


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec, layout: str | None = None) -> np.ndarray:
    """Transposed convolution by products per batch tile and a threaded, phase-wise col2im.

    ``layout`` ("channels_first" or "channels_last", default: :func:`channels_last`
    decides) is the order of the column buffer the col2im reads: spatial axes
    innermost (one product per tile), or output channels innermost (one
    product per first-axis tap, each added into the phases it feeds before
    the next: :func:`prepare`).
    """
    n, groups, nd = x.shape[0], spec.groups, spec.nd
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    ntaps, pixels = math.prod(spec.kernel_size), math.prod(spec.input_size)
    if (zeros := untapped_result(x, w, spec)) is not None:  # every tap reads only padding
        return zeros
    last = channels_last(spec, n) if layout is None else layout == "channels_last"
    phases, block, plan, tiles = prepare(spec, n, x.dtype.itemsize, _threads.num_threads(), last)
    dtype = np.result_type(x, w)
    # k == s: each output row written once, its taps interleaved by a compiled loop (docs/perf-notes.md item 95)
    straight = not last and _rows.applies(spec, dtype)
    # otherwise, channels-first: the phases summed by a compiled loop in flat buffers (docs/perf-notes.md item 97)
    compiled = not last and not straight and _phases.applies(spec, dtype)
    if last:  # the columns tap-major, so that each tap's block has the output channels innermost
        wm = tap_major(w, groups).reshape(groups, cg, ntaps * mg)  # (G, Cg, T*Mg)
    else:  # the weight as it lies: rows (Mg, T), each tap's block a strided view of whole rows
        wm = w.reshape(groups, cg, mg * ntaps).transpose(0, 2, 1)  # (G, Mg*T, Cg), a transposed view
    small = getattr(tiles, "small", False)
    empty_phase = not axis_phases(spec)[1]  # some output phase has no tap: zeros
    out = result((n, groups, mg, *spec.output_size), dtype, zeros=empty_phase)

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        if straight:
            _rows.interleave(out[n0:n1], *product_first(x[n0:n1], wm, spec, dtype), spec)
            return
        if compiled:
            cols, by_image = product_first(x[n0:n1], wm, spec, dtype)
            alone = small or (len(tiles) == 1 and cols.nbytes < SPLIT_COLUMNS_BYTES)
            _phases.col2im(out[n0:n1], cols, by_image, spec, 1 if alone else _threads.num_threads())
            return
        if last:  # the tile's channels-last copy, first axis outermost, (G, i0, nb * rest, Cg), for every block
            i0, rest = spec.input_size[0], pixels // spec.input_size[0]
            xl = workspace("gemm.x", (groups, i0, nb, rest, cg), x.dtype)
            np.copyto(xl, x[n0:n1].reshape(nb, groups, cg, i0, rest).transpose(1, 3, 0, 4, 2))
            columns = functools.partial(_columns_last, xl.reshape(groups, i0, nb * rest, cg), wm, spec, block, dtype)
        else:  # one product of every tap: the only block
            every = _columns_first(x[n0:n1], wm, spec, dtype)

            def columns(b: int, every=every) -> np.ndarray:
                return every
        ov = out[n0:n1].transpose(1, 2, 0, *range(3, 3 + spec.nd))  # (G, Mg, nb, *o) view
        # a small call, or one tile whose product's columns are under SPLIT_COLUMNS_BYTES: the col2im on this
        # thread alone
        alone = small or (len(tiles) == 1 and groups * block * mg * nb * pixels * dtype.itemsize < SPLIT_COLUMNS_BYTES)
        axis, pieces = (1, [(0, nb)]) if alone else pieces_for(mg, nb)
        widest = max(b - a for a, b in pieces)
        cell = groups * widest * (nb if axis == 0 else mg)  # a piece's share of one position of a phase
        for blocks, steps, slots, at, size in plan:
            offsets = {j: cell * k for j, k in slots}  # in a piece's region; the other phases share cell * at
            shared, region = cell * at, cell * size
            store = workspace("gemm.acc", (len(pieces) * region,), dtype)
            for b, step in zip(blocks, steps):
                cols = columns(b)  # (G, block, Mg, nb, *i)

                def col2im(piece: tuple[int, int], cols=cols, step=step, offsets=offsets, shared=shared,
                           region=region, store=store) -> None:
                    part = [slice(None), slice(None)]
                    part[axis] = slice(*piece)
                    lead = (slice(None), *part)
                    sizes = [groups, mg, nb]
                    sizes[axis + 1] = piece[1] - piece[0]
                    base = pieces.index(piece) * region
                    for j, entries, first, final in step:
                        dst, counts, _ = phases[j]
                        srcs = [(cols[(slice(None), tap % block, *part, *src)], buf, full)
                                for tap, src, buf, full in entries]
                        if first and final and len(srcs) == 1 and srcs[0][2]:  # one tap feeds the whole phase
                            ov[(*lead, *dst)] = srcs[0][0]  # written straight
                            continue
                        start = base + offsets.get(j, shared)
                        mem = store[start:start + math.prod(sizes) * math.prod(counts)]
                        if last:  # the buffer in the same order as the columns: (G, counts[0], nb, *rest, Mg)
                            acc = mem.reshape(sizes[0], counts[0], sizes[2], *counts[1:], sizes[1]).transpose(
                                0, nd + 2, 2, 1, *range(3, nd + 2))
                        else:
                            acc = mem.reshape(*sizes, *counts)
                        rest = srcs
                        if first and len(srcs) > 1 and srcs[0][2] and srcs[1][2]:
                            np.add(srcs[0][0], srcs[1][0], out=acc)
                            rest = srcs[2:]
                        elif first and srcs[0][2]:
                            np.copyto(acc, srcs[0][0])
                            rest = srcs[1:]
                        elif first:
                            acc.fill(0)
                        for src, buf, _ in rest:
                            acc[(Ellipsis, *buf)] += src
                        if final:
                            ov[(*lead, *dst)] = acc

                _threads.parallel(col2im, pieces)
    _threads.run_tiles(tile, tiles, small=small)
    return out.reshape(n, spec.out_channels, *spec.output_size)


def _columns_last(xl: np.ndarray, wm: np.ndarray, spec: ConvSpec, block: int, dtype: np.dtype,
                  b: int) -> np.ndarray:
    """Block ``b`` of a channels-last tile's products, viewed ``(G, block, Mg, nb, *i)``.

    ``(G, rows, Cg) @ (G, Cg, block*Mg) -> (G, i0, nb, *rest, block, Mg)``:
    the taps ``b*block ... (b+1)*block - 1`` of the tap-major weight
    (first-axis tap ``b``), a column slice that BLAS reads as it lies, on
    the rows of the inputs ``j0 <= i0 < j1`` that this tap sends into the
    output only (:func:`first_axis_rows`); the other rows are left as they
    are, since no phase reads them. ``xl`` is the tile's input with its
    first axis outermost, ``(G, i0, nb * rest, Cg)``, so that those rows are
    one block.
    """
    groups, i0, inner, cg = xl.shape
    mg, nd = spec.out_channels // groups, spec.nd
    cols = workspace("gemm.cols", (groups, i0, inner, block * mg), dtype)
    j0, j1 = first_axis_rows(spec)[b]
    np.matmul(xl[:, j0:j1].reshape(groups, -1, cg), wm[:, :, b * block * mg:(b + 1) * block * mg],
              out=cols[:, j0:j1].reshape(groups, -1, block * mg))
    nb = inner * i0 // math.prod(spec.input_size)
    cols = cols.reshape(groups, i0, nb, *spec.input_size[1:], block, mg)
    return cols.transpose(0, nd + 2, nd + 3, 2, 1, *range(3, nd + 2))


@functools.lru_cache(maxsize=512)
def first_axis_rows(spec: ConvSpec) -> tuple[tuple[int, int], ...]:
    """Per first-axis tap, the inputs ``j0 <= j < j1`` on the first axis that it sends into the output
    (:func:`convt.arithmetic.transpose_tap_range`; ``(0, 0)`` for none).

    The channels-last products compute only these rows: the others would
    land in the crop. DCGAN's 4 x 4 input, k4 s2 p1, drops 2 of its 16 (tap,
    row) pairs, an eighth of its multiply-adds (docs/perf-notes.md item 93).

    >>> from convt.spec import conv_transpose_spec
    >>> first_axis_rows(conv_transpose_spec((1, 1, 4, 4), (1, 1, 4, 4), stride=2, padding=1)[0])
    ((1, 4), (0, 4), (0, 4), (0, 3))
    """
    i, k, s, d, (cb, _), o = (spec.input_size[0], spec.kernel_size[0], spec.stride[0], spec.dilation[0],
                              spec.pads[0], spec.output_size[0])
    reach = [ar.transpose_tap_range(i, o, s, d, cb, t) for t in range(k)]
    return tuple((0, 0) if r is None else (r[0], r[1] + 1) for r in reach)


def _columns_first(x: np.ndarray, wm: np.ndarray, spec: ConvSpec, dtype: np.dtype) -> np.ndarray:
    """A tile's one channels-first product, every tap, viewed ``(G, T, Mg, nb, *i)``."""
    nb, nd = x.shape[0], spec.nd
    mg = spec.out_channels // spec.groups
    cols, by_image = product_first(x, wm, spec, dtype)
    if by_image:  # (nb, G, Mg*T, P)
        return cols.reshape(nb, spec.groups, mg, -1, *spec.input_size).transpose(1, 3, 2, 0, *range(4, 4 + nd))
    return cols.reshape(spec.groups, mg, -1, nb, *spec.input_size).swapaxes(1, 2)


def product_first(x: np.ndarray, wm: np.ndarray, spec: ConvSpec, dtype: np.dtype) -> tuple[np.ndarray, bool]:
    """A tile's one channels-first product, every tap, and whether it runs image by image.

    ``(G, Mg*T, Cg) @ (nb, G, Cg, P) -> (nb, G, Mg*T, P)``, one product per
    image on the input as it lies, from :data:`BATCH_PIXELS` input pixels per
    image; below, ``(G, Mg*T, Cg) @ (G, Cg, nb*P) -> (G, Mg*T, nb*P)`` on a
    channel-major copy of the tile. ``wm`` is the weight ``(G, Mg*T, Cg)``.
    """
    nb, groups, nd = x.shape[0], spec.groups, spec.nd
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    ntaps = math.prod(spec.kernel_size)
    if math.prod(spec.input_size) >= BATCH_PIXELS:
        xb = x.reshape(nb, groups, cg, -1)
        return np.matmul(wm, xb, out=workspace("gemm.cols", (nb, groups, ntaps * mg, xb.shape[3]), dtype)), True
    xm = channel_major(x, groups, ((0, 0),) * nd, "gemm.x").reshape(groups, cg, -1)
    return np.matmul(wm, xm, out=workspace("gemm.cols", (groups, ntaps * mg, xm.shape[2]), dtype)), False
