"""Vectorised convolution and transposed convolution: one matrix product, tap loops.

No Python loop runs over elements or the batch; loops run over kernel taps.

- Transposed (GEMM + col2im): one batched product gives, for every kernel
  tap, the contribution of every input element; each tap's slab is then
  added into the output at stride ``s``, cropped on the fly (only the inputs
  whose target falls inside the output are read:
  :func:`convt.arithmetic.transpose_tap_range`).
- Direct (im2col): one strided view per tap, one product per tap.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from ._common import pad_or_crop

__all__ = ["conv", "conv_transpose"]


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution by one product and a cropped strided add per tap."""
    n, groups, nd = x.shape[0], spec.groups, spec.nd
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    taps = math.prod(spec.kernel_size)
    # (G, Cg, Mg, T) -> (G, T*Mg, Cg) @ (N, G, Cg, P) -> (N, G, T, Mg, *i)
    wm = w.reshape(groups, cg, mg, taps).transpose(0, 3, 2, 1).reshape(groups, taps * mg, cg)
    cols = np.matmul(wm, x.reshape(n, groups, cg, -1))
    cols = cols.reshape(n, groups, taps, mg, *spec.input_size)
    out = np.zeros((n, groups, mg, *spec.output_size), dtype=cols.dtype)
    for t, tap in enumerate(itertools.product(*map(range, spec.kernel_size))):
        src, dst = [slice(None)] * 3, [slice(None)] * 3
        for i, o, s, d, (cb, _), tt in zip(spec.input_size, spec.output_size, spec.stride, spec.dilation, spec.pads, tap):
            r = ar.transpose_tap_range(i, o, s, d, cb, tt)
            if r is None:
                break
            j0, j1, q0 = r
            src.append(slice(j0, j1 + 1))
            dst.append(slice(q0, q0 + (j1 - j0) * s + 1, s))
        else:
            out[tuple(dst)] += cols[(slice(None), slice(None), t, slice(None), *src[3:])]
    return out.reshape(n, spec.out_channels, *spec.output_size)


def conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Direct convolution by one strided window view and one product per tap."""
    n, groups, nd = x.shape[0], spec.groups, spec.nd
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    xp = pad_or_crop(x, spec.pads).reshape(n, groups, cg, *(i + lo + hi for i, (lo, hi) in zip(spec.input_size, spec.pads)))
    wg = w.reshape(groups, mg, cg, *spec.kernel_size)
    out = np.zeros((n, groups, mg, math.prod(spec.output_size)), dtype=np.result_type(x, w))
    for tap in itertools.product(*map(range, spec.kernel_size)):
        window = tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                       for t, d, o, s in zip(tap, spec.dilation, spec.output_size, spec.stride))
        patch = xp[(Ellipsis, *window)].reshape(n, groups, cg, -1)
        out += np.matmul(wg[(Ellipsis, *tap)], patch)
    return out.reshape(n, spec.out_channels, *spec.output_size)
