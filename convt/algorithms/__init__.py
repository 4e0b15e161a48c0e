"""The algorithms behind :func:`convt.conv` and :func:`convt.conv_transpose`.

Each algorithm module offers ``conv(x, w, spec)`` and/or
``conv_transpose(x, w, spec)`` on batched arrays in the working dtype, for a
zeros-mode :class:`~convt.spec.ConvSpec`, without bias. The two functions
here add the padding modes around any of them (a gather through the mode's
index map before a direct convolution, a fold after a transposed one) and
pick the algorithm.

- ``reference``: the definitions, the oracle.
- ``zero_insertion``: the seed's picture (transposed only).
- ``fast``: the planner, the default ("auto"): picks one of the below per shape.
- ``gemm``: GEMM + col2im (transposed), batch-tiled, phase by phase, threaded; with a
  kernel no larger than the stride one product, each phase written straight (U-Net's k == s: each output row
  once, its taps interleaved by a compiled loop, ``_rows``); elsewhere each phase summed in a flat buffer of
  the input's pitch by a compiled loop, then written once (``_phases``).
- ``gemm_flat``: one product on the padded grid, each phase a few long flat-shifted adds.
- ``subpixel``: phase decomposition, one dense product per output phase (transposed).
- ``phase_shift``: the phases again, one product per tap on a shifted flat view, no im2col.
- ``gather``: one channels-last product, then each output pixel sums its taps' vectors from a table
  (a loop compiled by Numba when installed: small images, 16+ output channels); for the direct
  convolution, an im2col from a table by the same means, then one product.
- ``winograd``: the phases again, two outputs per axis at a time by Winograd's F(2, r): fewer products
  (its transforms compiled by Numba when installed).
- ``winograd4``: stride-1 layers by Winograd's F(4, r), four outputs per axis at a time, the transforms
  compiled by Numba when installed (others run ``winograd``).
- ``im2col``: im2col + one product per batch tile (direct); on strided layers the columns from the
  input's phase buffers by the compiled adjoint of gemm's col2im (``_phases``).

:func:`set_num_threads` sets how many threads the memory-bound stages use.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ..spec import ConvSpec
from . import (
    _compiled,
    fast,
    gather,
    gemm,
    gemm_flat,
    im2col,
    phase_shift,
    reference,
    subpixel,
    winograd,
    winograd4,
    zero_insertion,
)
from ._common import fold_by_mode, pad_by_mode
from ._threads import blas_threads, num_threads, set_num_threads

__all__ = [
    "CONV_ALGORITHMS", "TRANSPOSE_ALGORITHMS", "bias_grad", "conv", "conv_and_weight_grad", "conv_transpose",
    "conv_weight_grad",
    "num_threads",
    "set_num_threads",
]

CONV_ALGORITHMS: dict[str, ModuleType] = {"fast": fast, "gather": gather, "im2col": im2col, "reference": reference}
TRANSPOSE_ALGORITHMS: dict[str, ModuleType] = {
    "fast": fast, "gather": gather, "gemm": gemm, "gemm_flat": gemm_flat, "subpixel": subpixel, "phase_shift": phase_shift,
    "reference": reference, "winograd": winograd, "winograd4": winograd4, "zero_insertion": zero_insertion,
}


def _pick(table: dict[str, ModuleType], algorithm: str) -> ModuleType:
    if algorithm == "auto":
        algorithm = "fast"
    try:
        return table[algorithm]
    except KeyError:
        raise ValueError(f"unknown algorithm {algorithm!r}; one of {sorted(table)} or 'auto'") from None


def conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec, algorithm: str = "auto") -> np.ndarray:
    """Direct convolution of a batched array, padding mode applied, no bias."""
    if spec.transposed:
        raise ValueError("conv needs a direct-convolution spec")
    x, spec = _zeros_mode(x, spec)
    return _pick(CONV_ALGORITHMS, algorithm).conv(x, w, spec)


def _zeros_mode(x: np.ndarray, spec: ConvSpec) -> tuple[np.ndarray, ConvSpec]:
    """A direct spec with a padding mode as the padded input and a zeros-mode spec (crops only)."""
    if spec.padding_mode == "zeros":
        return x, spec
    x = pad_by_mode(x, [(max(lo, 0), max(hi, 0)) for lo, hi in spec.pads], spec.padding_mode)
    rest = tuple((min(lo, 0), min(hi, 0)) for lo, hi in spec.pads)
    return x, ConvSpec(False, spec.in_channels, spec.out_channels, spec.groups, x.shape[2:],
                       spec.kernel_size, spec.stride, spec.dilation, rest, spec.output_size)


def bias_grad(g: np.ndarray) -> np.ndarray:
    """``g`` summed over the batch and spatial axes, shape ``(C,)``: the bias gradient.

    Floats and complex numbers: one matrix-vector product with ones (BLAS
    runs it at memory speed, several times NumPy's pairwise ``sum`` over
    these axes; docs/perf-notes.md item 71). Integers and strided arrays:
    NumPy's sum.

    >>> bias_grad(np.arange(12.0).reshape(2, 3, 2))
    array([14., 22., 30.])
    """
    n, c = g.shape[:2]
    if g.dtype.kind not in "fc" or not g.flags.c_contiguous or g.size == 0:
        return g.sum(axis=(0, *range(2, g.ndim)))
    pixels = g.size // (n * c)
    with blas_threads(1):  # OpenBLAS's threads would spin on after it, in the cores' way
        rows = g.reshape(n * c, pixels) @ np.ones(pixels, g.dtype)
    return rows.reshape(n, c).sum(axis=0)


def conv_weight_grad(x: np.ndarray, g: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The weight gradient of the direct convolution ``spec`` (padding mode applied) at ``x``.

    ``g`` is the output gradient ``(N, C_out, *out)``; the result has the
    weight's shape ``(C_out, C_in // groups, *kernel)``. One im2col product per
    batch tile (:func:`convt.algorithms.im2col.weight_grad`, or compiled
    where the planner's convolution is: :func:`convt.algorithms.gather.weight_grad`),
    or Winograd's F(3, 4) where the planner's convolution is F(4, 3)
    (:func:`convt.algorithms.winograd4.weight_grad`). The weight
    gradient of a transposed convolution is this one for its adjoint
    (``spec.adjoint()``) with ``x`` and ``g`` exchanged.
    """
    if spec.transposed:
        raise ValueError("conv_weight_grad needs a direct-convolution spec")
    if x.shape[0] == 0:  # an empty batch: a zero gradient (no tile to sum)
        return np.zeros((spec.out_channels, spec.in_channels // spec.groups, *spec.kernel_size), np.result_type(x, g))
    x, spec = _zeros_mode(x, spec)
    if _winograds(spec, x.shape[0], np.result_type(x, g)):
        return winograd4.weight_grad(x, g, spec)
    return (gather if _gathers(spec, x.shape[0]) else im2col).weight_grad(x, g, spec)


def _winograds(spec: ConvSpec, n: int, dtype: np.dtype) -> bool:
    """Whether the gradients run Winograd's F(4, 3) (:mod:`convt.algorithms.winograd4`): where the planner's
    direct convolution does (stride-1 3 x 3 layers of 32-128 channels; docs/perf-notes.md item 91)."""
    return fast.choose_conv(spec, n, _compiled.available(), dtype.itemsize, dtype.kind in "fc",
                            num_threads()) == "winograd4"


def _gathers(spec: ConvSpec, n: int) -> bool:
    """Whether the gradients' im2col runs compiled (:mod:`convt.algorithms.gather`): where the planner's
    direct convolution would."""
    return fast.choose_conv(spec, n, gather.available(), threads=num_threads()) == "gather"


def conv_and_weight_grad(x: np.ndarray, w: np.ndarray, g: np.ndarray,
                         spec: ConvSpec) -> tuple[np.ndarray, np.ndarray]:
    """``(conv(x, w, spec), conv_weight_grad(x, g, spec))`` computed together (padding mode applied).

    The two share one gather of ``x`` per batch tile
    (:func:`convt.algorithms.im2col.conv_and_weight_grad`, or compiled where the
    planner's convolution is: :func:`convt.algorithms.gather.conv_and_weight_grad`), faster than the
    two apart on every benchmark layer, stride 1 included, where the
    planner's gather-free ``phase_shift`` convolution plus a separate weight
    gradient is slower (docs/perf-notes.md); but where the planner's
    convolution is Winograd's (``winograd4``), it and the Winograd weight
    gradient, apart (docs/perf-notes.md item 91).
    """
    if spec.transposed:
        raise ValueError("conv_and_weight_grad needs a direct-convolution spec")
    if x.shape[0] == 0:  # an empty batch: an empty result, a zero gradient
        return conv(x, w, spec), conv_weight_grad(x, g, spec)
    x, spec = _zeros_mode(x, spec)
    if _winograds(spec, x.shape[0], np.result_type(x, w, g)):  # two Winograd passes beat the shared im2col
        return fast.conv_by_transpose(x, w, spec, "winograd4"), winograd4.weight_grad(x, g, spec)
    return (gather if _gathers(spec, x.shape[0]) else im2col).conv_and_weight_grad(x, w, g, spec)


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec, algorithm: str = "auto") -> np.ndarray:
    """Transposed convolution of a batched array, padding mode applied, no bias."""
    if not spec.transposed:
        raise ValueError("conv_transpose needs a transposed-convolution spec")
    impl = _pick(TRANSPOSE_ALGORITHMS, algorithm)
    if x.shape[0] == 0:  # an empty batch: no tile to run (some algorithms' views cannot reshape one)
        return np.zeros((0, spec.out_channels, *spec.output_size), np.result_type(x, w))
    if spec.padding_mode != "zeros":
        full = impl.conv_transpose(x, w, spec.with_pads(((0, 0),) * spec.nd))
        return fold_by_mode(full, spec)
    return impl.conv_transpose(x, w, spec)
