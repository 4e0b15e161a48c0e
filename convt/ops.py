"""The public operators: :func:`conv` and :func:`conv_transpose` (PyTorch conventions)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import algorithms
from .errors import ConvError
from .spec import ConvSpec, conv_spec, conv_transpose_spec

__all__ = ["conv", "conv_transpose", "prepare_arrays"]


def prepare_arrays(func: str, *arrays: Any) -> tuple[list[np.ndarray | None], np.dtype, np.dtype]:
    """``numpy.asarray`` each array (None stays None); the result and working dtypes.

    Integer inputs give int64 (exact); float16 works in float32; bool and
    object arrays raise ``TypeError``.
    """
    out: list[np.ndarray | None] = []
    for name, a in zip(("x", "weight", "bias", "grad_output"), arrays):
        if a is None:
            if name != "bias":  # the only optional one
                raise TypeError(f"{func}: {name} must be an array, got None")
            out.append(None)
            continue
        arr = np.asarray(a)
        if arr.dtype.kind not in "iufc":
            raise TypeError(
                f"{func}: {name} must hold integers, floats or complex numbers, got dtype "
                f"{arr.dtype} (bool and object arrays are not accepted)"
            )
        out.append(arr)
    present = [a for a in out if a is not None]
    if all(a.dtype.kind in "iu" for a in present):
        result = work = np.dtype(np.int64)
    else:
        result = np.result_type(*present)
        work = np.dtype(np.float32) if result == np.float16 else result
    return out, result, work


def _bias(func: str, bias: np.ndarray | None, spec: ConvSpec) -> None:
    if bias is not None and bias.shape != (spec.out_channels,):
        raise ConvError(
            f"{func}: bias must have shape (C_out,) = ({spec.out_channels},), got {bias.shape}"
        )


def _finish(y: np.ndarray, bias: np.ndarray | None, spec: ConvSpec, batched: bool, result: np.dtype) -> np.ndarray:
    if bias is not None:
        y += bias.astype(y.dtype).reshape(-1, *(1,) * spec.nd)
    y = y.astype(result, copy=False)
    return y if batched else y[0]


def conv(x: Any, weight: Any, bias: Any = None, *, stride: Any = 1, padding: Any = 0,
         dilation: Any = 1, groups: Any = 1, padding_mode: str = "zeros") -> np.ndarray:
    """N-d direct convolution (cross-correlation), as ``torch.nn.functional.conv{1,2,3}d``.

    Parameters
    ----------
    x : array_like
        ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
    weight : array_like
        ``(C_out, C_in // groups, *kernel)``.
    bias : array_like, optional
        ``(C_out,)``.
    stride, dilation : int or sequence of int
        One int, or exactly one per spatial axis.
    padding : int, sequence, or {"valid", "same", "same_lower"}
        Symmetric, one int or one ``(lo, hi)`` pair per axis (negative crops
        the input), or a word. "same" works with any stride (output
        ``ceil(i/s)``, odd extra on the high side); "same_lower" puts it low.
    groups : int
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
        How the padded border is read.

    Returns
    -------
    numpy.ndarray
        ``(N, C_out, *out)``, dtype ``numpy.result_type(x, weight, bias)``
        (int64 for integer inputs).

    Notes
    -----
    Shape: ``out = floor((i + lo + hi - d*(k - 1) - 1) / s) + 1`` per axis.

    Examples
    --------
    >>> import numpy as np, convt
    >>> x = np.arange(6.0).reshape(1, 1, 6)
    >>> convt.conv(x, np.ones((1, 1, 3)), stride=2, padding="same")
    array([[[3., 9., 9.]]])
    """
    (x, w, b), result, work = prepare_arrays("conv", x, weight, bias)
    spec, batched = conv_spec(x.shape, w.shape, stride=stride, padding=padding, dilation=dilation,
                              groups=groups, padding_mode=padding_mode, func="conv")
    _bias("conv", b, spec)
    xb = x if batched else x[None]
    y = algorithms.conv(xb.astype(work, copy=False), w.astype(work, copy=False), spec)
    return _finish(y, b, spec, batched, result)


def conv_transpose(x: Any, weight: Any, bias: Any = None, *, stride: Any = 1, padding: Any = 0,
                   output_padding: Any = 0, dilation: Any = 1, groups: Any = 1,
                   output_size: Any = None, padding_mode: str = "zeros") -> np.ndarray:
    """N-d transposed convolution, as ``torch.nn.functional.conv_transpose{1,2,3}d`` and more.

    Every input element adds its kernel-weighted patch into the full result
    (``(i - 1)*s + d*(k - 1) + 1`` long per axis), which is then cropped.

    Parameters
    ----------
    x : array_like
        ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
    weight : array_like
        ``(C_in, C_out // groups, *kernel)`` (PyTorch's layout).
    bias : array_like, optional
        ``(C_out,)``.
    stride, dilation, output_padding : int or sequence of int
        One int, or exactly one per spatial axis;
        ``0 <= output_padding < max(stride, dilation)``, added at the end.
    padding : int, sequence, or {"valid", "same", "same_lower"}
        Crop of the full result: symmetric, one int or one ``(begin, end)``
        pair per axis (negative extends with zeros), or a word: "same" gives
        ``i*s`` with the odd extra cropped at the end (TensorFlow, Keras,
        JAX, ONNX SAME_UPPER); "same_lower" crops it at the start.
    groups : int
    output_size : sequence of int, optional
        The wanted spatial size (or the full shape); sets output_padding.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
        Makes the result the exact adjoint of :func:`conv` with that mode:
        what falls outside the output is folded back the way the mode reads
        the border.

    Returns
    -------
    numpy.ndarray
        ``(N, C_out, *out)``, dtype ``numpy.result_type(x, weight, bias)``.

    Notes
    -----
    Shape: ``out = (i - 1)*s - lo - hi + d*(k - 1) + output_padding + 1``.

    Examples
    --------
    >>> import numpy as np, convt
    >>> convt.conv_transpose(np.ones((1, 2, 2)), np.ones((1, 1, 3, 3))).shape   # seed: 2x2 -> 4x4
    (1, 4, 4)
    >>> convt.conv_transpose([[1.0, 2.0]], [[[1.0, 1.0, 1.0]]], stride=2)       # 2 -> 5
    array([[1., 1., 3., 2., 2.]])
    """
    (x, w, b), result, work = prepare_arrays("conv_transpose", x, weight, bias)
    spec, batched = conv_transpose_spec(
        x.shape, w.shape, stride=stride, padding=padding, output_padding=output_padding,
        dilation=dilation, groups=groups, output_size=output_size, padding_mode=padding_mode,
        func="conv_transpose")
    _bias("conv_transpose", b, spec)
    xb = x if batched else x[None]
    y = algorithms.conv_transpose(xb.astype(work, copy=False), w.astype(work, copy=False), spec)
    return _finish(y, b, spec, batched, result)
