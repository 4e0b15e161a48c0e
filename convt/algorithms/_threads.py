"""The worker threads for the memory-bound stages (im2col copies, col2im adds).

NumPy releases the GIL inside its copy and add loops, so plain threads use
both cores for the stages that BLAS does not parallelise. The count is, in
order of precedence: :func:`set_num_threads`, the ``CONVT_NUM_THREADS``
environment variable, the CPUs this process may run on (these two looked up
on first use). It is further capped by the BLAS thread count in force, so
``threadpoolctl.threadpool_limits(1)`` makes convt single-threaded too.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["blas_threads", "chunks", "num_threads", "parallel", "run_tiles", "set_num_threads"]

_setting: int | None = None
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()
_blas: Any = False  # False: not looked up yet; None: none found
_inner: set[int] = set()  # the threads (by ident) that run one of several tiles now


def set_num_threads(n: int | None) -> None:
    """Use at most ``n`` threads for the non-BLAS stages (``None``: back to the default).

    >>> set_num_threads(1); num_threads()
    1
    >>> set_num_threads(None)
    """
    global _setting
    if n is not None and (not isinstance(n, int) or n < 1):
        raise ValueError(f"set_num_threads: n must be a positive int or None, got {n!r}")
    _setting = n


_default_threads: int | None = None  # CONVT_NUM_THREADS, or the CPUs this process may run on: looked up on first use


def _default() -> int:
    global _default_threads
    if _default_threads is None:
        env = os.environ.get("CONVT_NUM_THREADS", "")  # read once: a lookup costs 0.5 us, asked several times a call
        if env.strip().isdigit() and int(env) >= 1:
            _default_threads = int(env)
        else:
            try:
                _default_threads = len(os.sched_getaffinity(0))
            except AttributeError:  # pragma: no cover - non-Linux
                _default_threads = os.cpu_count() or 1
    return _default_threads


def _blas_threads() -> int | None:
    global _blas
    if _blas is False:
        try:
            import threadpoolctl

            libs = [c for c in threadpoolctl.ThreadpoolController().lib_controllers if c.user_api == "blas"]
            _blas = libs[0] if libs else None
        except Exception:  # pragma: no cover - threadpoolctl missing or broken
            _blas = None
    if _blas is None:
        return None
    return int(_blas.get_num_threads())


def num_threads() -> int:
    """The number of threads the memory-bound stages use now (1 inside a tile worker)."""
    if _inner and threading.get_ident() in _inner:
        return 1
    n = _setting if _setting is not None else _default()
    blas = _blas_threads()
    return max(1, min(n, blas) if blas else n)


def chunks(length: int, parts: int) -> list[tuple[int, int]]:
    """Split ``range(length)`` into at most ``parts`` contiguous ``(start, stop)`` pieces.

    >>> chunks(5, 2), chunks(1, 4)
    ([(0, 3), (3, 5)], [(0, 1)])
    """
    parts = max(1, min(parts, length))
    step, extra = divmod(length, parts)
    out, a = [], 0
    for p in range(parts):
        b = a + step + (p < extra)
        out.append((a, b))
        a = b
    return out


def parallel(fn: Callable[[tuple[int, int]], None], pieces: Sequence[tuple[int, int]]) -> None:
    """Run ``fn`` on every piece, on the worker threads when there are several."""
    global _pool, _pool_size
    if len(pieces) <= 1:
        for p in pieces:
            fn(p)
        return
    with _lock:
        if _pool is None or _pool_size < len(pieces):
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool_size = max(len(pieces), 2)
            _pool = ThreadPoolExecutor(_pool_size, thread_name_prefix="convt")
        pool = _pool
    futures = [pool.submit(fn, p) for p in pieces[1:]]
    fn(pieces[0])
    for f in futures:
        f.result()


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run the block with the BLAS library using at most ``n`` threads (restored after)."""
    old = _blas_threads()
    if old is None or old <= n:
        yield
        return
    _blas.set_num_threads(n)
    try:
        yield
    finally:
        _blas.set_num_threads(old)


def run_tiles(fn: Callable[[tuple[int, int]], None], tiles: Sequence[tuple[int, int]], small: bool = False) -> None:
    """Run ``fn`` on every batch tile: with several threads, whole tiles run side by side.

    ``small``: the whole call is little work; its tiles run one after the other on this thread, BLAS too.

    Each worker then does a tile's product and its memory-bound stages on
    one core, with BLAS held to one thread: no BLAS worker spins on the core
    a copy or an add needs, and both cores stay busy through every stage.
    The tiles are handed out one at a time as threads get free, so a thread
    that starts late does fewer.
    """
    if small:
        with blas_threads(1):  # waking BLAS threads costs more than a small product
            for tile in tiles:
                fn(tile)
        return
    t = num_threads()
    if t <= 1 or len(tiles) < 2:
        for tile in tiles:
            fn(tile)
        return
    todo = iter(tiles)  # shared: each thread takes the next tile when it is free (a late thread takes fewer)
    take = threading.Lock()

    def work(piece: tuple[int, int]) -> None:
        me = threading.get_ident()
        _inner.add(me)
        try:
            while True:
                with take:
                    tile = next(todo, None)
                if tile is None:
                    return
                fn(tile)
        finally:
            _inner.discard(me)

    with blas_threads(1):
        parallel(work, [(i, i + 1) for i in range(min(t, len(tiles)))])
