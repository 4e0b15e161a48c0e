"""Transposed convolution by Winograd's minimal filtering on the output phases.

Every output phase is a dense stride-1 correlation of the input with a
sub-kernel of ``r`` taps per axis (:mod:`convt.algorithms.subpixel`). Two
outputs of such a correlation need ``2 r`` products directly and ``r + 1``
by Winograd's F(2, r) (:func:`convt.arithmetic.tile_transform`): DCGAN's
k4 s2 (two taps per phase and axis) multiplies 9 times where the direct
phases multiply 16 times, a 3 x 3 stride-1 kernel 16 times for 36. Taps
that read only zeros are left out, and an axis whose phases have other
tap counts runs the direct sum in the same form, so any layer is exact.

Per batch tile, channels-last:

1. The padded input is transformed axis by axis: on each axis a "kind" is
   one row of the input transform at one offset (``a[2t + o] - a[2t + o + 1]``,
   ...), shared by the phases whose windows make the same row; the kinds of
   all axes together give one matrix ``(tiles, C_in)`` each.
2. Phase by phase, each (phase, coordinate) multiplies its kind's matrix
   by its transformed sub-kernel ``(C_in, C_out)``; the weight is
   transformed once per call, by adds of the taps of a tap-major copy
   (a product ``(coordinates, taps) @ (taps, C_in * C_out)`` ran at a
   third of memory speed).
3. The phase's output transform adds its products axis by axis into a
   channels-last tile of the output, written once, transposed, into the
   result.

The price is memory: the transformed weight is ``(r + 1)**d / r**d`` times
the weight (2.25 in 2-D for r = 2), and the kinds ``(r + 1)**d / 2**d``
times the tile's input, so the planner takes it only where the memory
bound leaves the tiles room (:func:`fits`). Best where the products
dominate: many channels on both sides and not too large a weight (DCGAN's
later layers, vocoders; docs/perf-notes.md item 82).

Where Numba is installed, floating-point data takes the compiled form
instead (:func:`_conv_transpose_compiled`, docs/perf-notes.md item 110):
the same kinds, products and coefficients, flattened once per shape into
three sparse sums (:func:`tables`). The tile's transform is one loop over
its channels-last copy, the products one per (phase, coordinate) into a
buffer with the products innermost, and the output transform the gather's
loop with coefficients (:func:`convt.algorithms.gather.sums`), which writes
each output pixel once into the channels-first result: no axis-by-axis
passes, no output tile, no transposing copy (NumPy's took 40% of dcgan-2's
call). The planner sizes it by :func:`compiled_plan` and
:func:`compiled_fits`.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import _compiled, _threads, gather
from ._layout import (
    PEAK_SHARE,
    WEIGHT_SPLIT_BYTES,
    axis_phases,
    bounded_tiles,
    io_bytes,
    result,
    tap_major,
    untapped_result,
    workspace,
)

__all__ = ["COMPILED_TILE_BYTES", "MIN_ROWS", "MIN_TILE_BYTES", "PEAK_SHARE", "TILE_BYTES", "compiled_plan",
           "conv_transpose", "fits", "prepare", "saving", "tables"]

#: the temporaries of one batch tile: larger than the other algorithms' (4 MiB), since the products have only
#: ``tiles`` rows, a quarter of the tile's input pixels in 2-D (docs/perf-notes.md item 82)
TILE_BYTES = 16 << 20
#: the planner takes this algorithm only where the tiles get at least this many bytes (smaller ones make
#: products too short for BLAS: docs/perf-notes.md item 82)
MIN_TILE_BYTES = 8 << 20
#: the compiled form's batch tiles: at most this many bytes of temporaries each (the memory bound mostly gives
#: less: dcgan-2's tiles hold 8 images, 6 MiB; larger ones forced ran slower, docs/perf-notes.md item 110) ...
COMPILED_TILE_BYTES = 16 << 20
#: ... and the planner takes it only where each product gets at least this many rows (tiles of the batch
#: times tiles of the image), within the memory bound
MIN_ROWS = 64


def _axis(i: int, k: int, s: int, d: int, cb: int, o: int, halves: bool):
    """One axis: its kinds, its phases (residue, coordinates), tiles, padding and padded length.

    A phase's coordinate is ``(kind, G row over the kernel's taps, AT column)``.
    """
    kinds: dict[tuple[tuple[int, int], ...], int] = {}
    phases = []
    tiles = 0
    for r, count, pairs in ar.tapped_phases(i, k, s, d, cb, o):
        offs = [off for _, off in pairs]
        first = min(offs)
        span = max(offs) - first + 1
        bt, g, at = ar.tile_transform(span, halves)
        tap_at = {off - first: t for t, off in pairs}  # window position -> tap
        coords = []
        for c, (brow, grow) in enumerate(zip(bt, g)):
            taps = {tap_at[j]: v for j, v in enumerate(grow) if v and j in tap_at}
            if not taps:  # the coordinate multiplies only taps that read zeros
                continue
            terms = [(first + j, int(v)) for j, v in enumerate(brow) if v]
            sign = terms[0][1]
            key = tuple((pos, v * sign) for pos, v in terms)
            kind = kinds.setdefault(key, len(kinds))
            coords.append((kind, {t: v * sign for t, v in taps.items()}, (int(at[0][c]), int(at[1][c]))))
        phases.append((r, tuple(coords)))
        tiles = max(tiles, -(-count // 2))
    order = list(kinds)
    low = min(pos for key in order for pos, _ in key)
    high = max(pos for key in order for pos, _ in key)
    length = 2 * (tiles - 1) + high - low + 1
    return tuple(order), tuple(phases), tiles, -low, length


@functools.lru_cache(maxsize=512)
def prepare(spec: ConvSpec, n: int, itemsize: int, threads: int = 1, halves: bool = True):
    """Per shape: the axes, the products and their weight transform, the output steps, the tiles.

    Returns ``(axes, kinds, rows, phases, covered, out_tile, tiles)``. ``axes``: per
    axis ``(kinds, tiles, pad_lo, padded_length)``; ``kinds``: per axis each
    kind's ``(offset, +-1)`` terms. ``rows``: per product its transformed
    sub-kernel as ``(flat tap, coefficient)`` terms. ``phases``: per output
    phase its residues and, per coordinate combination, ``(row, kind per
    axis, AT column per axis)``. ``covered``: every output position is in
    some tapped phase (else the output tile starts as zeros). ``out_tile``:
    the spatial size of a tile's channels-last output, every phase's tiles
    in it (at least the output's size).
    """
    per_axis = [_axis(i, k, s, d, cb, o, halves) for i, k, s, d, (cb, _), o in
                zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation, spec.pads, spec.output_size)]
    rows: list[tuple[tuple[int, float], ...]] = []
    phases = []
    for combo in itertools.product(*[ph for _, ph, _, _, _ in per_axis]):
        steps = []
        for cs in itertools.product(*[range(len(coords)) for _, coords in combo]):
            coords = [coords[c] for (_, coords), c in zip(combo, cs)]
            row = []  # the weight transform of this (phase, coordinate): (flat tap, coefficient)
            for taps in itertools.product(*[tap_coefs.items() for _, tap_coefs, _ in coords]):
                flat = int(np.ravel_multi_index(tuple(t for t, _ in taps), spec.kernel_size))
                row.append((flat, float(math.prod(v for _, v in taps))))
            row.sort(key=lambda tc: -tc[1])  # a positive coefficient first where there is one
            steps.append((len(rows), tuple(kind for kind, _, _ in coords), tuple(col for _, _, col in coords)))
            rows.append(tuple(row))
        phases.append((tuple(r for r, _ in combo), tuple(steps)))
    axes = tuple((len(kinds), t, lo, length) for kinds, _, t, lo, length in per_axis)
    kinds = tuple(kinds for kinds, _, _, _, _ in per_axis)
    covered = axis_phases(spec)[1]
    cin, cout = spec.in_channels, spec.out_channels
    t_all = math.prod(t for _, t, _, _ in axes)
    steps_most = max(len(steps) for _, steps in phases)
    out_tile = tuple(max(2 * s * t, o) for s, (_, t, _, _), o in zip(spec.stride, axes, spec.output_size))
    nd = spec.nd
    coords = [max(len(c) for _, c in ph) for _, ph, _, _, _ in per_axis]  # per axis, a phase's most
    stages_in = sum(math.prod(k * t for k, t, _, _ in axes[:a + 1]) * math.prod(p for *_, p in axes[a + 1:])
                    for a in range(nd - 1))  # the input transform's buffers before the last axis
    stages_out = sum(2 ** (a + 1) * math.prod(coords[a + 1:]) for a in range(nd - 1)) * t_all  # the output's
    per_image = itemsize * (
        (math.prod(length for *_, length in axes) + stages_in + math.prod(k for k, *_ in axes) * t_all) * cin
        + (steps_most * t_all + stages_out + math.prod(out_tile)) * cout  # one phase's products, its output stages, the tile
    )
    fixed = itemsize * (len(rows) + math.prod(spec.kernel_size)) * cin * (cout // spec.groups)  # the weights
    out_bytes = itemsize * n * cout * math.prod(spec.output_size)
    tiles = bounded_tiles(n, per_image, TILE_BYTES, io_bytes(spec, n, itemsize), fixed + out_bytes, threads,
                          spec.multiply_adds(n))
    return axes, kinds, tuple(rows), tuple(phases), covered, out_tile, tiles


def saving(spec: ConvSpec) -> float:
    """The direct phases' products / this algorithm's, for one image (> 1: fewer multiply-adds).

    >>> from convt.spec import conv_transpose_spec
    >>> round(saving(conv_transpose_spec((1, 8, 8, 8), (8, 8, 4, 4), stride=2, padding=1)[0]), 2)
    1.78
    """
    axes, _, rows, *_ = prepare(spec, 1, 8)
    products = len(rows) * math.prod(t for _, t, _, _ in axes)
    direct = math.prod(sum(len(pairs) * c for _, c, pairs in per) for per in axis_phases(spec)[0])
    return direct / max(products, 1)


def fits(spec: ConvSpec, n: int, itemsize: int, threads: int) -> bool:
    """Whether the tiles have at least :data:`MIN_TILE_BYTES` each and the call's peak stays within
    :data:`PEAK_SHARE` times its input, weight and result."""
    tiles = prepare(spec, n, itemsize, threads)[-1]
    return tiles.tile_bytes >= MIN_TILE_BYTES and tiles.peak <= PEAK_SHARE * tiles.io


@functools.lru_cache(maxsize=64)
def tables(spec: ConvSpec) -> tuple:
    """Per shape, the compiled form's three transforms as sparse sums (floating-point data: F(2, r) with halves).

    Returns ``(inputs, outputs, weights, kind_of, kinds, tiles)``:

    - ``inputs`` ``(indptr, pixel, coef)``: row ``k * tiles + t`` of the
      transformed input (kind combination ``k``, image tile ``t``) sums
      ``coef[e]`` times the flat input pixel ``pixel[e]`` (pixels in the
      padding left out);
    - ``outputs`` ``(indptr, tile, step, coef)``: flat output pixel ``q``
      sums ``coef[e]`` times product ``step[e]`` at image tile ``tile[e]``
      (none for a pixel no tap reaches);
    - ``weights`` ``(indptr, tap, coef)``: the transformed sub-kernel of
      product ``r`` sums ``coef[e]`` times flat tap ``tap[e]`` of the weight;
    - ``kind_of``: per product, the kind combination whose matrix it multiplies;
      ``kinds`` and ``tiles``: how many of each.

    >>> from convt.spec import conv_transpose_spec
    >>> (indptr, pixel, coef), *_, kinds, tiles = tables(conv_transpose_spec((1, 1, 4), (1, 1, 4), stride=2,
    ...                                                                     padding=1)[0])
    >>> kinds, tiles, [list(zip(pixel[a:b].tolist(), coef[a:b].tolist())) for a, b in zip(indptr[:2], indptr[1:3])]
    (5, 2, [[(0, -1.0)], [(1, 1.0), (2, -1.0)]])
    """
    axes, kinds, rows, phases, *_ = prepare(spec, 1, 8)
    nd = spec.nd
    t_sizes = tuple(t for _, t, _, _ in axes)
    count = math.prod(t_sizes)
    grid = [g.ravel() for g in np.meshgrid(*[np.arange(t) for t in t_sizes], indexing="ij")]  # each tile's position
    flat_tile = np.arange(count)

    def csr(rows_count: int, keys: list, *cols: list) -> tuple[np.ndarray, ...]:
        key = np.concatenate(keys) if keys else np.zeros(0, np.intp)
        order = np.argsort(key, kind="stable")
        indptr = np.zeros(rows_count + 1, np.intp)
        np.cumsum(np.bincount(key, minlength=rows_count), out=indptr[1:])
        out = [indptr] + [(np.concatenate(c) if c else np.zeros(0))[order] for c in cols]
        for a in out:
            a.flags.writeable = False
        return tuple(out)

    windows = []  # per axis: the padded grid's offset of the input and the input's kept range
    for size, (_, _, lo, length) in zip(spec.input_size, axes):
        start, stop, at = ar.pad_crop_window(size, lo, length - size - lo)
        windows.append((lo - at + start, start, stop))
    keys, pixels, coefs = [], [], []
    for k, combo in enumerate(itertools.product(*[range(len(kd)) for kd in kinds])):
        for terms in itertools.product(*[kinds[a][combo[a]] for a in range(nd)]):
            idx = [pos + 2 * grid[a] + windows[a][0] for a, (pos, _) in enumerate(terms)]  # input index per axis
            inside = np.logical_and.reduce([(i >= windows[a][1]) & (i < windows[a][2]) for a, i in enumerate(idx)])
            keys.append(k * count + flat_tile[inside])
            pixels.append(np.ravel_multi_index(tuple(i[inside] for i in idx), spec.input_size))
            coefs.append(np.full(int(inside.sum()), float(math.prod(v for _, v in terms))))
    inputs = csr(math.prod(len(kd) for kd in kinds) * count, keys, pixels, coefs)
    keys, tiles_e, steps, coefs = [], [], [], []
    kind_of = np.zeros(len(rows), np.intp)
    for residues, phase_steps in phases:
        for row, kind, cols in phase_steps:
            kind_of[row] = np.ravel_multi_index(kind, tuple(len(kd) for kd in kinds))
            for es in itertools.product((0, 1), repeat=nd):
                c = math.prod(col[e] for col, e in zip(cols, es))
                if not c:
                    continue
                o = [r + s * e + 2 * s * g for r, s, e, g in zip(residues, spec.stride, es, grid)]  # output per axis
                inside = np.logical_and.reduce([oa < size for oa, size in zip(o, spec.output_size)])
                keys.append(np.ravel_multi_index(tuple(oa[inside] for oa in o), spec.output_size))
                tiles_e.append(flat_tile[inside])
                steps.append(np.full(int(inside.sum()), row))
                coefs.append(np.full(int(inside.sum()), float(c)))
    outputs = csr(math.prod(spec.output_size), keys, tiles_e, steps, coefs)
    weights = csr(len(rows), [np.full(len(terms), r) for r, terms in enumerate(rows)],
                  [np.array([t for t, _ in terms]) for terms in rows], [np.array([c for _, c in terms]) for terms in rows])
    kind_of.flags.writeable = False
    return inputs, outputs, weights, kind_of, math.prod(len(kd) for kd in kinds), count


def _sum_rows_loop(src, indptr, pixel, coef, dst):  # pragma: no cover - run compiled (coverage cannot see it)
    """``dst[k, n, t, :] = sum over e of coef[e] * src[n, pixel[e], :]``, ``indptr[r] <= e < indptr[r + 1]`` for
    ``r = k * T + t``: the input transform of a tile, channels-last."""
    kinds, nb, count, width = dst.shape
    for n in range(nb):
        for k in range(kinds):
            for t in range(count):
                r = k * count + t
                row = dst[k, n, t]
                row[:] = 0
                for e in range(indptr[r], indptr[r + 1]):
                    c = coef[e]
                    s = src[n, pixel[e]]
                    for j in range(width):
                        row[j] += c * s[j]


def _weight_loop(w, indptr, tap, coef, u):  # pragma: no cover - run compiled (coverage cannot see it)
    """``u[r, c, :] = sum over e of coef[e] * w[c, :, tap[e]]``, ``indptr[r] <= e < indptr[r + 1]``: the weight
    transform, each channel's ``(Mg, T)`` block turned tap-major in a small buffer first (no tap-major copy of
    the whole weight)."""
    steps, channels, mg = u.shape
    ntaps = w.shape[2]
    buf = np.empty((ntaps, mg), u.dtype)
    for c in range(channels):
        for m in range(mg):
            for t in range(ntaps):
                buf[t, m] = w[c, m, t]
        for r in range(steps):
            row = u[r, c]
            row[:] = 0
            for e in range(indptr[r], indptr[r + 1]):
                k = coef[e]
                src = buf[tap[e]]
                for m in range(mg):
                    row[m] += k * src[m]


_loops = _compiled.Loops(sum_rows=_sum_rows_loop, weight=_weight_loop)


def _compiled_loops(dtype: np.dtype, mg: int):
    """The compiled input and output transforms for ``dtype`` and ``mg`` output channels per group, or None (no
    Numba, or integer data)."""
    if dtype.kind not in "fc" or dtype not in _compiled.DTYPES or (sum_rows := _loops.get("sum_rows")) is None:
        return None
    return sum_rows, _loops.get("weight"), gather.sums(dtype, mg)


@functools.lru_cache(maxsize=512)
def compiled_plan(spec: ConvSpec, n: int, itemsize: int, threads: int = 1):
    """The compiled form's batch tiles for a batch of ``n`` (:func:`convt.algorithms._layout.bounded_tiles`)."""
    *_, kind_of, kinds, count = tables(spec)
    cin, cout, groups = spec.in_channels, spec.out_channels, spec.groups
    per_image = itemsize * (math.prod(spec.input_size) * cin + kinds * count * cin + len(kind_of) * count * cout)
    weights = itemsize * len(kind_of) * cin * (cout // groups)  # the transformed weight
    out_bytes = itemsize * n * cout * math.prod(spec.output_size)
    return bounded_tiles(n, per_image, COMPILED_TILE_BYTES, io_bytes(spec, n, itemsize), weights + out_bytes, threads,
                         spec.multiply_adds(n))


def compiled_fits(spec: ConvSpec, n: int, itemsize: int, threads: int) -> bool:
    """Whether the compiled form's products get :data:`MIN_ROWS` rows and its peak stays within the memory bound."""
    tiles = compiled_plan(spec, n, itemsize, threads)
    rows = max(b - a for a, b in tiles) * tables(spec)[-1]
    return rows >= MIN_ROWS and tiles.peak <= PEAK_SHARE * tiles.io


def _conv_transpose_compiled(x: np.ndarray, w: np.ndarray, spec: ConvSpec, dtype: np.dtype, loops) -> np.ndarray:
    """:func:`conv_transpose` with the transforms as compiled sparse sums (:func:`tables`), per batch tile:

    the tile channels-last, its transform ``(kinds, nb, tiles, C_in)`` by
    :func:`_sum_rows_loop`, one product per (phase, coordinate) into
    ``(G, nb, tiles, products, Mg)``, and the output transform by the
    gather's loop with coefficients, written once into the channels-first
    result. The weight's transform (:func:`_weight_loop`) reads the weight as it lies.
    """
    sum_rows, weight_loop, gather_loop = loops
    n, groups = x.shape[0], spec.groups
    cin = spec.in_channels
    cg, mg = cin // groups, spec.out_channels // groups
    pixels, outs = math.prod(spec.input_size), math.prod(spec.output_size)
    (ip, ipixel, icoef), (op, otile, ostep, ocoef), (wp, wtap, wcoef), kind_of, kinds, count = tables(spec)
    icoef, ocoef, wcoef = (c.astype(dtype) for c in (icoef, ocoef, wcoef))
    steps = len(kind_of)
    threads = _threads.num_threads()
    wc = np.ascontiguousarray(w).reshape(groups * cg, mg, -1)  # (C_in, Mg, T), as it lies
    u = workspace("winograd.cu", (steps, groups * cg, mg), dtype)  # per product, the transformed sub-kernels

    def transform(piece: tuple[int, int]) -> None:  # the weight transform of a block of products
        r0, r1 = piece
        weight_loop(wc, wp[r0:r1 + 1], wtap, wcoef, u[r0:r1])

    _threads.parallel(transform, _threads.chunks(steps, threads if w.nbytes >= WEIGHT_SPLIT_BYTES else 1))
    u = u.reshape(steps, groups, cg, mg)
    tiles = compiled_plan(spec, n, x.dtype.itemsize, threads)
    out = result((n, groups, mg, outs), dtype)

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        xcl = workspace("winograd.cx", (nb, pixels, cin), x.dtype)
        np.copyto(xcl, x[n0:n1].reshape(nb, cin, pixels).transpose(0, 2, 1))
        v = workspace("winograd.cv", (kinds, nb, count, cin), dtype)
        sum_rows(xcl, ip, ipixel, icoef, v)
        m = workspace("winograd.cm", (groups, nb * count, steps, mg), dtype)
        for g in range(groups):
            for r in range(steps):
                np.matmul(v[kind_of[r]].reshape(nb * count, cin)[:, g * cg:(g + 1) * cg], u[r, g], out=m[g, :, r])
        gather_loop(m.reshape(groups, nb, count, steps, mg), op, otile, ostep, out[n0:n1], ocoef)

    _threads.run_tiles(tile, tiles, small=tiles.small)
    return out.reshape(n, spec.out_channels, *spec.output_size)


def _combine(terms, out: np.ndarray | None) -> np.ndarray:
    """``sum(c * a for c, a in terms)`` into ``out``, the ``c`` all of one magnitude (a Winograd row).

    One term with ``c == 1`` and no ``out``: that term itself, uncopied.
    """
    scale = abs(terms[0][0])
    plus = [a for c, a in terms if c > 0]
    minus = [a for c, a in terms if c < 0]
    if out is None:
        if len(terms) == 1 and terms[0][0] == 1:
            return terms[0][1]
        raise ValueError("a sum needs a buffer")
    if plus:
        rest = [(np.add, a) for a in plus[1:]] + [(np.subtract, a) for a in minus]
        if not rest:
            np.copyto(out, plus[0])
        else:
            rest[0][0](plus[0], rest[0][1], out=out)
            for op, a in rest[1:]:
                op(out, a, out=out)
    else:
        np.add(minus[0], minus[1], out=out) if len(minus) > 1 else np.copyto(out, minus[0])
        for a in minus[2:]:
            np.add(out, a, out=out)
        np.negative(out, out=out)
    if scale != 1:
        np.multiply(out, scale, out=out)
    return out


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution: F(2, r) Winograd tiles on every output phase, batch-tiled, channels-last."""
    n, groups, nd = x.shape[0], spec.groups, spec.nd
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    if (zeros := untapped_result(x, w, spec)) is not None:  # every tap reads only padding
        return zeros
    dtype = np.result_type(x, w)
    if (loops := _compiled_loops(dtype, mg)) is not None:
        return _conv_transpose_compiled(x, w, spec, dtype, loops)
    halves = dtype.kind in "fc"
    threads = _threads.num_threads()
    axes, kinds, rows, phases, covered, out_tile, tiles = prepare(spec, n, x.dtype.itemsize, threads, halves)
    tm = tap_major(w, groups)  # (G, Cg, T, Mg)
    u = workspace("winograd.u", (len(rows), groups, cg, mg), dtype)

    def transform(chans: tuple[int, int]) -> None:  # the weight transform of a block of input channels
        part = slice(*chans)
        for row, terms in zip(u, rows):
            _combine([(c, tm[:, part, t]) for t, c in terms], row[:, part])

    _threads.parallel(transform, _threads.chunks(cg, threads if w.nbytes >= WEIGHT_SPLIT_BYTES else 1))
    out = result((n, groups, mg, *spec.output_size), dtype)
    t_sizes = tuple(t for _, t, _, _ in axes)
    crop = tuple(slice(0, o) for o in spec.output_size)

    def tile(nr: tuple[int, int]) -> None:
        n0, n1 = nr
        nb = n1 - n0
        tiles_n = nb * math.prod(t_sizes)
        # 1. the padded input, channels-last, and the input transform, axis by axis
        xp = workspace("winograd.x", (nb, *(length for *_, length in axes), spec.in_channels), x.dtype)
        src, dst, padded = [slice(None)], [slice(None)], False
        for size, (_, _, lo, length) in zip(spec.input_size, axes):
            start, stop, at = ar.pad_crop_window(size, lo, length - size - lo)
            src.append(slice(start, stop))
            dst.append(slice(at, at + stop - start))
            padded = padded or at > 0 or at + stop - start < length
        if padded:
            xp.fill(0)
        xp[(*dst, slice(None))] = x[n0:n1].transpose(0, *range(2, 2 + nd), 1)[tuple(src)]
        v = workspace("winograd.v", (*(k for k, *_ in axes), nb, *t_sizes, spec.in_channels), x.dtype)
        stage = xp
        for a, ((nk, t, lo, _), keys) in enumerate(zip(axes, kinds)):
            if a == nd - 1:  # the last stage writes the kinds' matrices, as a view in stage order
                order = [nd] + [j for b in range(nd) for j in (b, nd + 1 + b)] + [2 * nd + 1]
                nxt = v.transpose(order)
            else:
                shape = (*stage.shape[:1 + 2 * a], nk, t, *stage.shape[2 + 2 * a:])
                nxt = workspace(f"winograd.in{a}", shape, x.dtype)
            lead = (slice(None),) * (1 + 2 * a)
            for kind, key in enumerate(keys):
                terms = [(c, stage[(*lead, slice(pos + lo, pos + lo + 2 * t - 1, 2))]) for pos, c in key]
                _combine(terms, nxt[(*lead, kind)])
            stage = nxt
        # 2. per output phase, the products of its coordinates (each a kind's matrix times a transformed
        # sub-kernel), and 3. the output transform, axis by axis, the last into the channels-last output tile
        steps_most = max(len(steps) for _, steps in phases)
        prods = workspace("winograd.m", (steps_most, groups, tiles_n, mg), dtype)
        otile = workspace("winograd.o", (nb, *out_tile, groups, mg), dtype)
        if not covered:
            otile.fill(0)
        for residues, steps in phases:
            cur = []  # (outputs chosen on the axes done, AT columns of the axes to do, array)
            for j, (row, kind, cols) in enumerate(steps):
                vk = v[kind].reshape(tiles_n, groups, cg).transpose(1, 0, 2)  # (G, tiles, Cg)
                np.matmul(vk, u[row], out=prods[j])
                cur.append(((), cols, prods[j].transpose(1, 0, 2).reshape(nb, *t_sizes, groups, mg)))
            for a in range(nd):
                parts: dict[tuple, list] = {}
                for es, cols, m in cur:
                    parts.setdefault((es, cols[1:]), []).append((cols[0], m))
                nxt = []
                for j, ((es, rest), terms) in enumerate(parts.items()):
                    for e in range(2):
                        sel = [(col[e], m) for col, m in terms if col[e]]
                        if a == nd - 1:  # into the output tile
                            _combine(sel, otile[(slice(None), *(slice(r + s * q, None, 2 * s) for r, s, q in
                                                                zip(residues, spec.stride, (*es, e))))])
                            continue
                        alone = len(sel) == 1 and sel[0][0] > 0
                        buf = None if alone else workspace(f"winograd.out{a}.{2 * j + e}", m.shape, dtype)
                        nxt.append(((*es, e), rest, _combine(sel, buf)))
                cur = nxt
        ov = out[n0:n1].transpose(0, *range(3, 3 + nd), 1, 2)  # (nb, *o, G, Mg) view
        np.copyto(ov, otile[(slice(None), *crop)])

    _threads.run_tiles(tile, tiles, small=getattr(tiles, "small", False))
    return out.reshape(n, spec.out_channels, *spec.output_size)
