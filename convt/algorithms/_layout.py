"""Layout plumbing shared by the fast algorithms: batch tiles and the channel-major input.

The products want the batch folded into the long (column) dimension of the
matrix: ``(G, C/G, N*P)``, the "channel-major" layout. :func:`channel_major`
makes that copy of one batch tile, padding (or cropping) the spatial axes in
the same pass.
"""

from __future__ import annotations

import ctypes
import functools
import math
import threading
import weakref

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import _compiled, _threads

__all__ = [
    "PARALLEL_BYTES",
    "PARALLEL_MULTIPLY_ADDS",
    "PEAK_SHARE",
    "RESULT_POOL_BYTES",
    "RESULT_POOL_CAP",
    "TILE_BYTES",
    "WEIGHT_SPLIT_BYTES",
    "WORKSPACE_CAP",
    "Tiles",
    "accumulate",
    "axis_phases",
    "batch_tiles",
    "bounded_tiles",
    "channel_major",
    "clear_workspaces",
    "io_bytes",
    "phase_kernels",
    "pieces_for",
    "result",
    "tap_major",
    "untapped_result",
    "workspace",
]

#: bytes of the largest temporary a batch tile may need (perf.md: ~4 MiB)
TILE_BYTES = 4 << 20
#: below this many bytes of temporaries a call runs on one thread, BLAS included (perf-notes item 27)
PARALLEL_BYTES = 4 << 20
#: ... unless it has at least this many multiply-adds (docs/perf-notes.md item 47)
PARALLEL_MULTIPLY_ADDS = 8_000_000
#: a weight of at least this many bytes is copied to its tap-major layout on every thread
#: (docs/perf-notes.md item 56)
WEIGHT_SPLIT_BYTES = 1 << 20
#: the algorithms whose tiles' temporaries are large beside the arrays (winograd, gather) shrink the tiles so that
#: the result, the weight's copies and every thread's tile stay within this share of the bytes of input, weight
#: and result (the speed goal's memory bound is 2; the estimates run a little low)
PEAK_SHARE = 1.75
#: scratch buffers larger than this are allocated per call, never kept
WORKSPACE_CAP = 64 << 20


_spaces: dict[tuple[int, str], np.ndarray] = {}
_views: dict[tuple[int, str], np.ndarray | None] = {}  # the last view handed out of each buffer


def workspace(name: str, shape, dtype) -> np.ndarray:
    """A scratch array for one stage, reused from call to call (per thread, per ``name``).

    Fresh large allocations cost page faults (perf.md: 4-5 us per page), so the
    temporaries of a tile live in buffers that only grow (a few tiles' worth,
    ~``TILE_BYTES`` each, per thread; none above ``WORKSPACE_CAP``;
    :func:`clear_workspaces` frees them), each starting on a page
    (:func:`aligned`).
    Never returned to a caller: a result is always a new array.

    >>> a = workspace("doc", (2, 3), np.float32); b = workspace("doc", (3,), np.float32)
    >>> np.shares_memory(a, b), a.shape, b.dtype
    (True, (2, 3), dtype('float32'))
    """
    key = (threading.get_ident(), name)
    last = _views.get(key)  # the same shape as last time (every call of a layer): the same view, no new one
    if last is not None and last.shape == shape and last.dtype == dtype:
        return last
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > WORKSPACE_CAP:  # a one-off giant (one huge image): not kept after the call
        return np.empty(shape, dtype=dtype)
    buf = _spaces.get(key)
    if buf is None or buf.nbytes < nbytes:
        _spaces[key] = _views[key] = None  # free the old buffer before allocating its successor
        buf = _spaces[key] = aligned(max(nbytes, 64))
    view = _views[key] = buf[:nbytes].view(dtype).reshape(shape)
    return view


#: where buffers start: a page boundary (``malloc`` gives 16 bytes, and a vector store that straddles two cache lines
#: costs two: unet3d's `conv` ran 1.27x faster aligned, docs/perf-notes.md item 108)
ALIGN = 4096


def aligned(nbytes: int) -> np.ndarray:
    """``nbytes`` uninitialised bytes starting at a multiple of :data:`ALIGN`.

    >>> aligned(100).ctypes.data % ALIGN, aligned(100).nbytes
    (0, 100)
    """
    raw = np.empty(nbytes + ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start:start + nbytes]


def clear_workspaces() -> int:
    """Free every scratch buffer and every pooled result buffer; returns the bytes released."""
    freed = sum(b.nbytes for b in _spaces.values() if b is not None)
    _spaces.clear()
    _views.clear()
    with _pool_lock:
        freed += sum(b.nbytes for bufs in _free.values() for b in bufs)
        _free.clear()
    return freed


#: results at least this large reuse the memory of results nobody holds any more: glibc maps each such
#: allocation afresh, and the kernel's zeroed pages cost ~0.6-8 ms per 32 MiB (docs/perf-notes.md item 48)
RESULT_POOL_BYTES = 32 << 20
#: results at least this large start on a page boundary (below, numpy.empty: alignment costs a microsecond)
ALIGNED_RESULT_BYTES = 1 << 20
#: the most bytes of free result buffers kept for reuse
RESULT_POOL_CAP = 256 << 20
_pool_lock = threading.Lock()
_free: dict[int, list[np.ndarray]] = {}


def result(shape, dtype, zeros: bool = False) -> np.ndarray:
    """A new result array (``numpy.empty``, or ``numpy.zeros``), of pooled memory when large.

    Below :data:`RESULT_POOL_BYTES` it is new memory (page-aligned from
    :data:`ALIGNED_RESULT_BYTES`, :func:`aligned`). Above, the memory
    is that of an earlier result of the same size whose every view has been
    dropped (a finalizer puts it back when the last view dies), else new:
    the caller owns it alone either way.

    >>> a = result((2, 3), np.float32, zeros=True); a.shape, a.dtype, a.sum()
    ((2, 3), dtype('float32'), np.float32(0.0))
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < RESULT_POOL_BYTES:
        if nbytes < ALIGNED_RESULT_BYTES:
            return (np.zeros if zeros else np.empty)(shape, dtype=dtype)
        out = aligned(nbytes).view(dtype).reshape(shape)
        if zeros:
            out.fill(0)
        return out
    with _pool_lock:
        bufs = _free.get(nbytes)
        buf = bufs.pop() if bufs else None
    if buf is None:
        buf = aligned(nbytes)
    holder = (ctypes.c_char * nbytes).from_buffer(buf)  # every view of the result keeps it alive
    weakref.finalize(holder, _release, buf).atexit = False
    out = np.frombuffer(holder, dtype=dtype).reshape(shape)
    if zeros:
        out.fill(0)
    return out


def _release(buf: np.ndarray) -> None:
    """The last view of a pooled result is gone: keep its memory for the next one (up to the cap)."""
    with _pool_lock:
        held = sum(b.nbytes for bufs in _free.values() for b in bufs)
        if held + buf.nbytes <= RESULT_POOL_CAP:
            _free.setdefault(buf.nbytes, []).append(buf)


def _tap_major_loop(src, dst, c0, c1, mg, ntaps):  # pragma: no cover - run compiled
    """``dst[c, t, m] = src[c, m, t]`` for input channels ``c0 <= c < c1`` (flat arrays)."""
    u = np.uint64
    for c in range(c0, c1):
        base = u(c * mg * ntaps)
        for t in range(ntaps):
            d, s = base + u(t * mg), base + u(t)
            for m in range(u(mg)):
                dst[d + m] = src[s + m * u(ntaps)]


_loops = _compiled.Loops(tap_major=_tap_major_loop)


def tap_major(w: np.ndarray, groups: int, name: str = "weight") -> np.ndarray:
    """A transposed convolution's weight ``(C_in, Mg, *k)`` as ``(G, Cg, T, Mg)`` in a :func:`workspace`.

    The only weight layout the fast algorithms copy to: it swaps the two
    trailing axes of ``(C_in, Mg, T)`` (short blocks, 0.6 ms for 8 MiB)
    where ``(T, Mg, C_in)`` reverses all three (4.2 ms: every read a
    cache line apart; docs/perf-notes.md item 38); by a compiled loop
    where it can be (dcgan-1's 8 MiB 0.32 -> 0.24 ms, item 105). The
    products read its ``(T*Mg, Cg)`` or per-tap ``(Mg, Cg)`` matrices as
    transposed views, which BLAS takes as they lie.

    >>> w = np.arange(12.0).reshape(2, 3, 2)            # C_in 2, Mg 3, two taps
    >>> tap_major(w, 1)[0, :, 1]                        # tap 1: (Cg, Mg)
    array([[ 1.,  3.,  5.],
           [ 7.,  9., 11.]])
    """
    cin, mg = w.shape[:2]
    ntaps = math.prod(w.shape[2:])
    buf = workspace(name, (groups, cin // groups, ntaps, mg), w.dtype)
    threads = _threads.num_threads() if w.nbytes >= WEIGHT_SPLIT_BYTES else 1
    loop = _loops.get("tap_major") if w.dtype in _compiled.DTYPES and w.flags.c_contiguous else None
    if loop is not None:
        flat_w, flat_out = w.reshape(-1), buf.reshape(-1)

        def copy(rows: tuple[int, int]) -> None:  # a block of input channels
            loop(flat_w, flat_out, rows[0], rows[1], mg, ntaps)
    else:
        src = w.reshape(groups, cin // groups, mg, ntaps).transpose(0, 1, 3, 2)
        flat_buf, flat_src = buf.reshape(cin, ntaps, mg), src.reshape(cin, ntaps, mg)

        def copy(rows: tuple[int, int]) -> None:  # a block of input channels
            np.copyto(flat_buf[rows[0]:rows[1]], flat_src[rows[0]:rows[1]])

    if threads == 1:
        copy((0, cin))
    else:
        _threads.parallel(copy, _threads.chunks(cin, threads))
    return buf


def phase_kernels(tm: np.ndarray, phase_taps, name: str, taps_outer: bool) -> list[np.ndarray | None]:
    """Each phase's taps of a :func:`tap_major` weight, gathered into one :func:`workspace`.

    ``phase_taps``: per phase, its flat tap indices (empty: no tap). Per
    phase ``(G, T_r, Cg, Mg)`` if ``taps_outer`` (sub-pixel's products
    ``(Mg, T_r*Cg)``) else ``(G, Cg, T_r, Mg)`` (one product per phase,
    ``(T_r*Mg, Cg)``); contiguous rows of ``Mg`` copied, at most the
    weight's size in all.

    >>> tm = tap_major(np.arange(12.0).reshape(2, 3, 2), 1)
    >>> phase_kernels(tm, [(1,), ()], "doc", taps_outer=False)[0][0, :, 0]
    array([[ 1.,  3.,  5.],
           [ 7.,  9., 11.]])
    """
    groups, cg, _, mg = tm.shape
    store = workspace(name, (sum(map(len, phase_taps)) * groups * cg * mg,), tm.dtype)
    out: list[np.ndarray | None] = []
    at = 0
    for taps in phase_taps:
        if not taps:
            out.append(None)
            continue
        k = store[at:at + len(taps) * groups * cg * mg]
        at += k.size
        if taps_outer:
            k = k.reshape(groups, len(taps), cg, mg)
            for j, t in enumerate(taps):
                k[:, j] = tm[:, :, t]
        else:
            k = k.reshape(groups, cg, len(taps), mg)
            np.take(tm, taps, axis=2, out=k)
        out.append(k)
    return out


@functools.lru_cache(maxsize=512)
def axis_phases(spec: ConvSpec) -> tuple[tuple[tuple[int, int, tuple[tuple[int, int], ...]], ...], bool]:
    """Per axis the output phases some tap reaches (:func:`convt.arithmetic.tapped_phases`), and whether
    they cover every output position (if not, the result starts as zeros).

    >>> from convt.spec import conv_transpose_spec
    >>> per_axis, covered = axis_phases(conv_transpose_spec((1, 1, 3), (1, 1, 2), stride=5)[0])
    >>> [r for r, _, _ in per_axis[0]], covered
    ([0, 1], False)
    """
    per_axis = tuple(ar.tapped_phases(i, k, s, d, cb, o) for i, k, s, d, (cb, _), o in
                     zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation, spec.pads, spec.output_size))
    covered = all(len(ph) == min(s, o) for ph, s, o in zip(per_axis, spec.stride, spec.output_size))
    return per_axis, covered


def untapped_result(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray | None:
    """The all-zero result when no tap reaches the output (every tap reads only padding), else None."""
    if all(axis_phases(spec)[0]):
        return None
    return result((x.shape[0], spec.out_channels, *spec.output_size), np.result_type(x, w), zeros=True)


class Tiles(list):
    """The ``(start, stop)`` batch tiles of a call; ``small``: too little work to share.

    From :func:`bounded_tiles` also ``tile_bytes`` (the largest tile's temporaries), ``peak`` (the call's
    estimated peak beside its arrays) and ``io`` (the bytes of input, weight and result).
    """

    small = False
    tile_bytes = 0
    peak = 0
    io = 0


def batch_tiles(n: int, per_image_bytes: int, budget: int | None = None, at_least: int = 1,
                multiply_adds: int = 0) -> Tiles:
    """Split the batch into tiles whose temporaries stay near ``budget`` bytes, for ``at_least`` threads.

    There are at least ``at_least`` tiles, and their number is a multiple of
    it where the batch allows, so that threads taking whole tiles finish
    together: five tiles on two threads take three tiles' time, six tiles
    of the same batch two and a half of those (docs/perf-notes.md item 68).
    Tile sizes differ by at most one image.

    A call with under ``PARALLEL_BYTES`` of temporaries and under
    ``PARALLEL_MULTIPLY_ADDS`` multiply-adds runs on one thread (``small``):
    handing work to a second thread costs more than it saves. It is one
    tile unless a ``budget`` below ``PARALLEL_BYTES`` asks for more.

    >>> batch_tiles(10, 1 << 20, 4 << 20)
    [(0, 4), (4, 7), (7, 10)]
    >>> batch_tiles(10, 1 << 20, 4 << 20, at_least=2)
    [(0, 3), (3, 6), (6, 8), (8, 10)]
    >>> batch_tiles(3, 4 << 20, at_least=2)
    [(0, 1), (1, 2), (2, 3)]
    >>> batch_tiles(10, 1 << 10, 4 << 10, at_least=2).small   # little work: its 3 tiles all on one thread
    True
    """
    budget = TILE_BYTES if budget is None else budget
    nb = max(1, min(n, budget // max(per_image_bytes, 1)))
    if n * per_image_bytes < PARALLEL_BYTES and multiply_adds < PARALLEL_MULTIPLY_ADDS:  # one thread
        tiles = Tiles(_threads.chunks(n, math.ceil(n / nb)))
        tiles.small = True
        return tiles
    count = max(math.ceil(n / nb), min(at_least, n))
    count = min(n, -(-count // at_least) * at_least) if at_least > 1 else count  # a multiple of the threads
    return Tiles(_threads.chunks(n, count))


def pieces_for(*sizes: int) -> tuple[int, list[tuple[int, int]]]:
    """Pick the axis (index into ``sizes``) to split across threads, and its pieces."""
    axis = max(range(len(sizes)), key=lambda a: sizes[a])
    return axis, _threads.chunks(sizes[axis], _threads.num_threads())


def channel_major(x: np.ndarray, groups: int, pads, name: str | None = None,
                  out: np.ndarray | None = None) -> np.ndarray:
    """``(nb, C, *i)`` -> ``(G, C/G, nb, *padded)``, zero-padded (negative: cropped) by ``pads``.

    With ``name`` the result lives in that :func:`workspace`; with ``out``
    (a view of that shape, e.g. into a larger flat buffer) it is written there.
    """
    shape, src, dst, padded = _channel_major_plan(x.shape, groups, tuple(map(tuple, pads)))
    nb, c = x.shape[:2]
    xt = x.reshape(nb, groups, c // groups, *x.shape[2:])
    xt = xt.transpose(1, 2, 0, *range(3, x.ndim + 1))  # (G, C/G, nb, *i)
    if out is None:
        out = np.empty(shape, dtype=x.dtype) if name is None else workspace(name, shape, x.dtype)
    if padded:
        out.fill(0)
    out[dst] = xt[src]
    return out


@functools.lru_cache(maxsize=1024)
def _channel_major_plan(xshape: tuple[int, ...], groups: int, pads: tuple[tuple[int, int], ...]):
    """:func:`channel_major`'s result shape, source and target slices, and whether it pads (per shape)."""
    nb, c = xshape[:2]
    src: list[slice] = [slice(None)] * 3
    dst: list[slice] = [slice(None)] * 3
    shape = [groups, c // groups, nb]
    padded = False
    for n, (lo, hi) in zip(xshape[2:], pads):
        shape.append(n + lo + hi)
        start, stop, at = ar.pad_crop_window(n, lo, hi)
        src.append(slice(start, stop))
        dst.append(slice(at, at + stop - start))
        padded = padded or lo > 0 or hi > 0
    return tuple(shape), tuple(src), tuple(dst), padded


def flat_padded_tile(x: np.ndarray, groups: int, pads, grid, tail: int, name: str) -> tuple[np.ndarray, int]:
    """A batch tile as one flat channel-major padded buffer ``(G, Cg, nb*prod(grid) + tail)``.

    The padded images lie back to back, followed by ``tail`` zeros so that
    every shifted view stays in bounds; returns the buffer and the length
    of its image part.
    """
    nb, cg = x.shape[0], x.shape[1] // groups
    length = nb * math.prod(grid)
    flat = workspace(name, (groups, cg, length + tail), x.dtype)
    flat[..., length:] = 0
    channel_major(x, groups, pads, out=flat[..., :length].reshape(groups, cg, nb, *grid))
    return flat, length


def bounded_tiles(n: int, per_image_bytes: int, most: int, io: int, beside: int, threads: int,
                  multiply_adds: int) -> Tiles:
    """:func:`batch_tiles` of at most ``most`` bytes each, fewer where the memory bound leaves less room: every
    thread's tile and ``beside`` bytes (the result, the weight's copies) within :data:`PEAK_SHARE` times ``io``
    (the bytes of input, weight and result). A tile holds at least one image.

    >>> bounded_tiles(8, 1 << 20, 4 << 20, io=8 << 20, beside=6 << 20, threads=2, multiply_adds=10**9)
    [(0, 4), (4, 8)]
    >>> bounded_tiles(8, 1 << 20, 4 << 20, io=8 << 20, beside=10 << 20, threads=2, multiply_adds=10**9)
    [(0, 2), (2, 4), (4, 6), (6, 8)]
    """
    return _bounded_tiles(n, per_image_bytes, most, io, beside, threads, multiply_adds,
                          (PEAK_SHARE, PARALLEL_BYTES, PARALLEL_MULTIPLY_ADDS))


@functools.lru_cache(maxsize=1024)
def _bounded_tiles(n: int, per_image_bytes: int, most: int, io: int, beside: int, threads: int, multiply_adds: int,
                   constants: tuple) -> Tiles:
    """:func:`bounded_tiles`, once per shape (``constants``: the tuning constants it reads, for the tests)."""
    room = (PEAK_SHARE * io - beside) // max(threads, 1)
    budget = int(max(min(most, room), per_image_bytes))
    tiles = batch_tiles(n, per_image_bytes, budget, at_least=threads, multiply_adds=multiply_adds)
    tiles.tile_bytes = max((b - a for a, b in tiles), default=0) * per_image_bytes
    tiles.peak = beside + (1 if tiles.small else min(threads, len(tiles))) * tiles.tile_bytes
    tiles.io = io
    return tiles


def io_bytes(spec, n: int, itemsize: int) -> int:
    """The bytes of a call's input, weight and result: what the memory bound is a share of.

    >>> from convt.spec import conv_transpose_spec
    >>> io_bytes(conv_transpose_spec((2, 3, 4), (3, 5, 2), stride=2)[0], 2, 4)   # 24 + 80 values, 30 weights
    536
    """
    cin, cout = spec.in_channels, spec.out_channels
    return itemsize * (n * (cin * math.prod(spec.input_size) + cout * math.prod(spec.output_size))
                       + cin * (cout // spec.groups) * math.prod(spec.kernel_size))


def accumulate(partial: dict[int, np.ndarray], gm: np.ndarray, cols: np.ndarray, dtype: np.dtype,
               flip: bool, name: str) -> None:
    """Add this tile's ``gm @ cols^T`` (``flip``: ``cols @ gm^T``), summed over its images, to this thread's sum.

    The weight gradient's products (``name``: the scratch buffer's).

    A thread's first tile makes its partial sum (a new array, no copy);
    ``partial`` is keyed by thread, so no two threads touch one entry.
    """
    key = threading.get_ident()
    acc = partial.get(key)
    a, b = (cols, gm.swapaxes(-1, -2)) if flip else (gm, cols.swapaxes(-1, -2))
    shape = (*a.shape[:-1], b.shape[-1])
    if a.ndim == 4:  # by image: (nb, G, rows, cols), summed over the tile's images
        prod = np.matmul(a, b, out=workspace(name, shape, dtype))
        if acc is None:
            partial[key] = prod.sum(axis=0)
        else:
            acc += prod.sum(axis=0)
    elif acc is None:
        partial[key] = np.matmul(a, b, out=result(shape, dtype))
    else:
        acc += np.matmul(a, b, out=workspace(name, shape, dtype))
