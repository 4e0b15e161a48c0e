"""The planner: the fastest exact algorithm for each shape (the default, "auto").

Transposed convolution, per spec (the choice is cached per shape):

1. ``shuffle`` when kernel == stride, dilation 1 and no crop: no overlap,
   so one product and one interleaving copy.
2. Otherwise the cheaper of the two methods that never multiply an inserted
   zero, by the values their memory-bound stage moves per input pixel
   (perf.md): GEMM + col2im scatters ``T * C_out`` values with a read-add-
   write each, sub-pixel copies ``T * C_in``. So ``gemm`` when
   ``C_out * ADD_COST < C_in``, else ``subpixel``.

Direct convolution: ``im2col`` (threaded gather, one product per batch tile).
"""

from __future__ import annotations

import functools

import numpy as np

from ..spec import ConvSpec
from . import gemm, im2col, shuffle, subpixel

__all__ = ["ADD_COST", "choose_transpose", "conv", "conv_transpose"]

#: how many times more a col2im add costs than an im2col copy, per value
ADD_COST = 1.0


@functools.lru_cache(maxsize=1024)
def choose_transpose(spec: ConvSpec) -> str:
    """The algorithm the planner runs for a transposed spec.

    >>> from convt.spec import conv_transpose_spec
    >>> choose_transpose(conv_transpose_spec((8, 64, 32, 32), (64, 32, 2, 2), stride=2)[0])
    'shuffle'
    >>> choose_transpose(conv_transpose_spec((8, 64, 32, 32), (64, 3, 4, 4), stride=2, padding=1)[0])
    'gemm'
    """
    if shuffle.applies(spec):
        return "shuffle"
    cg = spec.in_channels // spec.groups
    mg = spec.out_channels // spec.groups
    return "gemm" if mg * ADD_COST < cg else "subpixel"


_TRANSPOSE = {"shuffle": shuffle.conv_transpose, "gemm": gemm.conv_transpose, "subpixel": subpixel.conv_transpose}


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution by the algorithm :func:`choose_transpose` picks."""
    return _TRANSPOSE[choose_transpose(spec)](x, w, spec)


def conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Direct convolution (im2col, one product per batch tile)."""
    return im2col.conv(x, w, spec)
