"""TensorFlow's ``tf.nn`` convolutions, computed by convt with NumPy.

``conv{1,2,3}d_transpose(input, filters, output_shape, strides, padding="SAME",
data_format=<channels last>, dilations=None)`` and ``conv{1,2,3}d(input,
filters, strides, padding, data_format=<channels last>, dilations=None)``
with TensorFlow's argument names, layouts and refusals: filters are
``[*k, out, in]`` for the transposes and ``[*k, in, out]`` for conv; padding
is "SAME", "VALID" or (for the 2-D ops) TensorFlow's explicit list of one
``[before, after]`` pair per dimension of the input, batch and channels
``[0, 0]``. A transposed convolution crops the full result by
:func:`convt.arithmetic.tf_transpose_crop` and refuses an ``output_shape``
that TensorFlow refuses, naming the valid sizes.

Where this module computes what TensorFlow's CPU kernels refuse
(channels-first layouts and dilation > 1 for the transposes, which TF's
GPU kernels run), see ``docs/conventions.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._params import as_int
from ..errors import ConvError
from . import _rules
from ._common import channels_first, ints, kernel_to_torch, restore, spatial_of

__all__ = ["conv1d", "conv1d_transpose", "conv2d", "conv2d_transpose", "conv3d", "conv3d_transpose"]

_FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}


def _format(data_format: Any, nd: int, func: str) -> bool:
    """True for channels last."""
    last, first = _FORMATS[nd]
    if not isinstance(data_format, str) or data_format not in (last, first):
        raise ConvError(f"{func}: data_format must be {last!r} or {first!r}, got {data_format!r}")
    return data_format == last


def _padding(padding: Any, nd: int, last: bool, func: str) -> Any:
    """'same' / 'valid', or the spatial (before, after) pairs of TF's explicit list."""
    if isinstance(padding, str):
        if padding not in ("SAME", "VALID"):
            raise ConvError(f"{func}: padding must be 'SAME', 'VALID' or an explicit list, got {padding!r}")
        return padding.lower()
    if nd != 2:
        raise TypeError(f"{func}: padding must be 'SAME' or 'VALID' (TensorFlow's {nd}-D op takes no "
                        f"explicit padding), got {padding!r}")
    if hasattr(padding, "tolist"):
        padding = padding.tolist()
    full = _rules.pairs("padding", padding, nd + 2, func=func, nonnegative=True)
    outer = (full[0], full[-1]) if last else (full[0], full[1])
    if any(p != (0, 0) for p in outer):
        raise ConvError(f"{func}: explicit padding on the batch and channel dimensions must be [0, 0], got {padding!r}")
    return full[1:-1] if last else full[2:]


def _prepare(func: str, nd: int, input: Any, filters: Any, strides: Any, padding: Any, data_format: Any,
             dilations: Any) -> tuple[bool, np.ndarray, np.ndarray, tuple[int, ...], Any, tuple[int, ...]]:
    last = _format(data_format, nd, func)
    x = channels_first(input, nd, last, func=func)
    w = kernel_to_torch(filters, nd, func=func, name="filters")
    s = ints("strides", spatial_of("strides", strides, nd, last, func=func), nd, func=func)
    d = ints("dilations", spatial_of("dilations", dilations, nd, last, func=func), nd, func=func)
    return last, x, w, s, _padding(padding, nd, last, func), d


def _transpose(nd: int, input: Any, filters: Any, output_shape: Any, strides: Any, padding: Any,
               data_format: Any, dilations: Any) -> np.ndarray:
    func = f"conv{nd}d_transpose"
    last, x, w, s, pad, d = _prepare(func, nd, input, filters, strides, padding, data_format, dilations)
    if hasattr(output_shape, "tolist"):
        output_shape = output_shape.tolist()
    if not isinstance(output_shape, (list, tuple)) or len(output_shape) not in (nd, nd + 2):
        raise ConvError(f"{func}: output_shape must list {nd + 2} sizes (or the {nd} spatial ones), got {output_shape!r}")
    shape = [as_int("output_shape", v, func=func) for v in output_shape]
    if w.shape[0] != x.shape[1]:
        raise ConvError(f"{func}: filters {np.shape(filters)} ([*k, out, in]) expect {w.shape[0]} input channels, "
                        f"got {x.shape[1]} (TensorFlow has no groups for transposed convolutions)")
    if len(shape) == nd + 2:
        n, c = (shape[0], shape[-1]) if last else (shape[0], shape[1])
        if n != x.shape[0] or c != w.shape[1]:
            raise ConvError(f"{func}: output_shape {shape} must have batch {x.shape[0]} and {w.shape[1]} channels "
                            f"(filters [*k, out, in] = {list(np.shape(filters))})")
        shape = shape[1:-1] if last else shape[2:]
    i, k = x.shape[2:], w.shape[2:]
    crops = _rules.tf_transpose_crops(i, k, s, d, pad, shape, func=func)
    return restore(ops.conv_transpose(x, w, stride=s, padding=crops, dilation=d), last)


def _conv(nd: int, input: Any, filters: Any, strides: Any, padding: Any, data_format: Any,
          dilations: Any) -> np.ndarray:
    func = f"conv{nd}d"
    if nd == 3:  # tf.nn.conv3d is the raw op: no int or per-axis shorthand
        for name, v in (("strides", strides), ("dilations", dilations)):
            seq = v.tolist() if hasattr(v, "tolist") else v
            if v is None and name == "dilations":
                continue
            if not isinstance(seq, (list, tuple)):
                raise TypeError(f"{func}: {name} must be a list of 5 ints (TensorFlow's conv3d takes no int), got {v!r}")
            if len(seq) != 5:
                raise ConvError(f"{func}: {name} must list 5 ints, 1 for the batch and channel dimensions (TensorFlow's "
                                f"conv3d takes no shorter form), got {len(seq)}: {v!r}")
    last, x, w, s, pad, d = _prepare(func, nd, input, filters, strides, padding, data_format, dilations)
    if x.shape[1] % w.shape[1]:
        raise ConvError(f"{func}: the input's {x.shape[1]} channels must be a multiple of the filters' input "
                        f"channels {w.shape[1]} (filters [*k, in, out] = {list(np.shape(filters))})")
    groups = x.shape[1] // w.shape[1]
    if nd == 3 and groups != 1:
        raise ConvError(f"{func}: the filters' input channels {w.shape[1]} must match the input's "
                        f"{x.shape[1]} channels (TensorFlow's conv3d has no groups)")
    return restore(ops.conv(x, w, stride=s, padding=pad, dilation=d, groups=groups), last)


def conv1d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any, padding: str = "SAME",
                     data_format: str = "NWC", dilations: Any = None, name: str | None = None) -> np.ndarray:
    """``tf.nn.conv1d_transpose``: filters ``[k, out, in]``, input ``[N, W, C]`` (NWC).

    Parameters
    ----------
    input : array_like
        ``[N, W, C_in]`` ("NWC") or ``[N, C_in, W]`` ("NCW").
    filters : array_like
        ``[k, C_out, C_in]``.
    output_shape : sequence of int
        ``[N, W_out, C_out]`` (or ``[W_out]``); must satisfy TensorFlow's
        rule that the direct convolution of the output gives back the input.
    strides, dilations : int or list of int
        One, one per spatial axis, or one per dimension (1 for batch and channels).
    padding : {"SAME", "VALID"}
    data_format : {"NWC", "NCW"}
    name : str, optional
        Ignored (TensorFlow's op name).

    Returns
    -------
    numpy.ndarray
        ``output_shape``, in ``data_format``.

    Notes
    -----
    Shape: ``o = output_shape``, valid when SAME ``ceil(o/s) == i`` or VALID
    ``(o - K)//s + 1 == i``; crop ``(cb, ce)`` with ``cb = max((i-1)*s + K - o, 0)//2``
    (SAME) or 0 (VALID), ``ce = F - o - cb``.

    Examples
    --------
    >>> import numpy as np
    >>> conv1d_transpose(np.ones((1, 4, 1)), np.ones((3, 1, 1)), [1, 8, 1], 2)[0, :, 0]
    array([1., 2., 1., 2., 1., 2., 1., 1.])
    """
    return _transpose(1, input, filters, output_shape, strides, padding, data_format, dilations)


def conv2d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any, padding: Any = "SAME",
                     data_format: str = "NHWC", dilations: Any = None, name: str | None = None) -> np.ndarray:
    """``tf.nn.conv2d_transpose``: filters ``[kh, kw, out, in]``, input NHWC.

    As :func:`conv1d_transpose`, with ``data_format`` "NHWC" or "NCHW" and
    ``padding`` also TensorFlow's explicit list
    ``[[0, 0], [top, bottom], [left, right], [0, 0]]`` (NHWC; non-negative).

    Notes
    -----
    Shape: per axis as :func:`conv1d_transpose`; explicit pads ``(b, a)``
    accept ``o`` in ``[F - b - a, F - b - a + s - 1]`` and crop ``(b, F - o - b)``.

    Examples
    --------
    >>> import numpy as np
    >>> conv2d_transpose(np.ones((1, 4, 4, 1)), np.ones((3, 3, 2, 1)), [1, 8, 8, 2], 2).shape
    (1, 8, 8, 2)
    """
    return _transpose(2, input, filters, output_shape, strides, padding, data_format, dilations)


def conv3d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any, padding: str = "SAME",
                     data_format: str = "NDHWC", dilations: Any = None, name: str | None = None) -> np.ndarray:
    """``tf.nn.conv3d_transpose``: filters ``[kd, kh, kw, out, in]``, input NDHWC.

    As :func:`conv1d_transpose`, with ``data_format`` "NDHWC" or "NCDHW".

    Notes
    -----
    Shape: per axis as :func:`conv1d_transpose`.

    Examples
    --------
    >>> import numpy as np
    >>> conv3d_transpose(np.ones((1, 2, 2, 2, 1)), np.ones((2, 2, 2, 1, 1)), [1, 4, 4, 4, 1], 2).sum()
    np.float64(64.0)
    """
    return _transpose(3, input, filters, output_shape, strides, padding, data_format, dilations)


def conv1d(input: Any, filters: Any, stride: Any = None, padding: Any = None, data_format: str = "NWC",
           dilations: Any = None, name: str | None = None, *, strides: Any = None) -> np.ndarray:
    """``tf.nn.conv1d``: filters ``[k, in, out]``, input ``[N, W, C]`` (NWC).

    Parameters
    ----------
    input : array_like
        ``[N, W, C_in]`` ("NWC") or ``[N, C_in, W]`` ("NCW").
    filters : array_like
        ``[k, C_in / groups, C_out]``; groups is ``C_in / filters.shape[-2]``.
    stride : int or list of int
        TensorFlow's name for conv1d; ``strides=`` is accepted too.
    padding : {"SAME", "VALID"}
    data_format : {"NWC", "NCW"}
    dilations : int or list of int, optional

    Returns
    -------
    numpy.ndarray

    Notes
    -----
    Shape: SAME ``ceil(i/s)`` (odd total padding: the extra at the end),
    VALID ``(i - K)//s + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> conv1d(np.arange(6.0).reshape(1, 6, 1), np.ones((3, 1, 1)), 2, "SAME")[0, :, 0]
    array([3., 9., 9.])
    """
    if strides is not None and stride is not None:
        raise TypeError("conv1d: give stride or strides, not both")
    if padding is None:
        raise TypeError("conv1d: missing required argument 'padding'")
    return _conv(1, input, filters, strides if stride is None else stride, padding, data_format, dilations)


def conv2d(input: Any, filters: Any, strides: Any, padding: Any, data_format: str = "NHWC",
           dilations: Any = None, name: str | None = None) -> np.ndarray:
    """``tf.nn.conv2d``: filters ``[kh, kw, in, out]``, input NHWC.

    As :func:`conv1d`; ``padding`` also TensorFlow's explicit list.

    Notes
    -----
    Shape: per axis as :func:`conv1d`; explicit ``(b, a)``: ``(i + b + a - K)//s + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), 2, "SAME")[0, :, :, 0]
    array([[4., 6., 4.],
           [6., 9., 6.],
           [4., 6., 4.]])
    """
    return _conv(2, input, filters, strides, padding, data_format, dilations)


def conv3d(input: Any, filters: Any, strides: Any, padding: str, data_format: str = "NDHWC",
           dilations: Any = None, name: str | None = None) -> np.ndarray:
    """``tf.nn.conv3d``: filters ``[kd, kh, kw, in, out]``, input NDHWC.

    As :func:`conv1d`, except that, as TensorFlow's raw 3-D op, ``strides``
    and ``dilations`` (if given) must be lists of 5 ints, 1 for the batch and
    channel dimensions, and ``padding`` only "SAME" or "VALID".

    Notes
    -----
    Shape: per axis as :func:`conv1d`.

    Examples
    --------
    >>> import numpy as np
    >>> conv3d(np.ones((1, 4, 4, 4, 1)), np.ones((2, 2, 2, 1, 1)), [1, 2, 2, 2, 1], "VALID").shape
    (1, 2, 2, 2, 1)
    """
    return _conv(3, input, filters, strides, padding, data_format, dilations)
