"""Layout plumbing shared by the fast algorithms: batch tiles and the channel-major input.

The products want the batch folded into the long (column) dimension of the
matrix: ``(G, C/G, N*P)``, the "channel-major" layout. :func:`channel_major`
makes that copy of one batch tile, padding (or cropping) the spatial axes in
the same pass.
"""

from __future__ import annotations

import math

import numpy as np

from . import _threads

__all__ = ["TILE_BYTES", "batch_tiles", "channel_major", "pieces_for"]

#: bytes of the largest temporary a batch tile may need (perf.md: ~4 MiB)
TILE_BYTES = 4 << 20


def batch_tiles(n: int, per_image_bytes: int, budget: int | None = None) -> list[tuple[int, int]]:
    """Split the batch into tiles whose temporaries stay near ``budget`` bytes.

    >>> batch_tiles(10, 1 << 20, 4 << 20)
    [(0, 4), (4, 8), (8, 10)]
    """
    budget = TILE_BYTES if budget is None else budget
    nb = max(1, min(n, budget // max(per_image_bytes, 1)))
    tiles = math.ceil(n / nb)
    nb = math.ceil(n / tiles)  # even tiles
    return [(a, min(a + nb, n)) for a in range(0, n, nb)]


def pieces_for(*sizes: int) -> tuple[int, list[tuple[int, int]]]:
    """Pick the axis (index into ``sizes``) to split across threads, and its pieces."""
    axis = max(range(len(sizes)), key=lambda a: sizes[a])
    return axis, _threads.chunks(sizes[axis], _threads.num_threads())


def channel_major(x: np.ndarray, groups: int, pads) -> np.ndarray:
    """``(nb, C, *i)`` -> ``(G, C/G, nb, *padded)``, zero-padded (negative: cropped) by ``pads``."""
    nb, c = x.shape[:2]
    sp = x.shape[2:]
    xt = x.reshape(nb, groups, c // groups, *sp)
    xt = np.moveaxis(xt, 0, 2)
    src = [slice(None)] * 3
    dst = [slice(None)] * 3
    shape = [groups, c // groups, nb]
    padded = False
    for n, (lo, hi) in zip(sp, pads):
        shape.append(n + lo + hi)
        src.append(slice(max(-lo, 0), n - max(-hi, 0)))
        dst.append(slice(max(lo, 0), max(lo, 0) + max(n - max(-lo, 0) - max(-hi, 0), 0)))
        padded = padded or lo > 0 or hi > 0
    out = (np.zeros if padded else np.empty)(shape, dtype=x.dtype)
    out[tuple(dst)] = xt[tuple(src)]
    return out
