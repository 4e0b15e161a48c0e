"""Array plumbing shared by the algorithms: zero pad/crop and the padding modes.

A padding mode is an index map: padded position ``q`` (``-lo <= q < n + hi``)
reads input element ``index_map(q)``. The direct convolution gathers through
it; the transposed convolution, its adjoint, scatters (folds) through it.
"""

from __future__ import annotations

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec

__all__ = ["fold_by_mode", "index_map", "pad_by_mode", "pad_or_crop"]


def pad_or_crop(x: np.ndarray, pads, axis0: int = 2) -> np.ndarray:
    """Zero-pad (positive) or crop (negative) the axes from ``axis0`` on by ``(lo, hi)`` pairs."""
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    shape = list(x.shape)
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    for a, (lo, hi) in enumerate(pads, start=axis0):
        n = x.shape[a]
        shape[a] = n + lo + hi
        start, stop, at = ar.pad_crop_window(n, lo, hi)
        src[a], dst[a] = slice(start, stop), slice(at, at + stop - start)
    out = np.zeros(shape, dtype=x.dtype)
    out[tuple(dst)] = x[tuple(src)]
    return out


def index_map(q: int, n: int, mode: str) -> int:
    """The input element that padded position ``q`` reads under ``mode`` (n elements).

    >>> [index_map(q, 4, "reflect") for q in (-2, -1, 4, 5)]
    [2, 1, 2, 1]
    >>> [index_map(q, 4, "replicate") for q in (-2, 5)], [index_map(q, 4, "circular") for q in (-1, 4)]
    ([0, 3], [3, 0])
    """
    if 0 <= q < n:
        return q
    if mode == "reflect":
        return -q if q < 0 else 2 * (n - 1) - q
    if mode == "replicate":
        return 0 if q < 0 else n - 1
    if mode == "circular":
        return q % n
    raise ValueError(f"no index map for padding mode {mode!r}")


def pad_by_mode(x: np.ndarray, pads, mode: str) -> np.ndarray:
    """Pad the spatial axes (from axis 2) by ``(lo, hi)`` pairs, reading the border by ``mode``."""
    for a, (lo, hi) in enumerate(pads, start=2):
        n = x.shape[a]
        idx = [index_map(q, n, mode) for q in range(-lo, n + hi)]
        x = np.take(x, idx, axis=a)
    return x


def fold_by_mode(full: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Adjoint of :func:`pad_by_mode`: fold the full transposed result onto the output.

    Element ``j`` of the full result (length F per axis) belongs to output
    position ``index_map(j - begin)``; ``zeros`` drops what falls outside.
    """
    for a, ((cb, ce), n) in enumerate(zip(spec.pads, spec.output_size), start=2):
        moved = np.moveaxis(full, a, 0)
        out = np.zeros((n, *moved.shape[1:]), dtype=full.dtype)
        start, stop, at = ar.pad_crop_window(moved.shape[0], -cb, -ce)  # out[j - cb] = full[j] inside
        out[at:at + stop - start] = moved[start:stop]
        if spec.padding_mode != "zeros":
            for j in (*range(0, start), *range(stop, moved.shape[0])):
                out[index_map(j - cb, n, spec.padding_mode)] += moved[j]
        full = np.moveaxis(out, 0, a)
    return full
