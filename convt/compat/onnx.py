"""ONNX ``ConvTranspose`` and ``Conv`` (opset 22) as ONNX Runtime computes them, with NumPy.

Attributes keep ONNX's names and forms: ``pads`` is the flat list
``[x1_begin, x2_begin, ..., x1_end, x2_end]``, ``output_shape`` the spatial
sizes, W is ``(C, M/group, *k)`` for ConvTranspose and ``(M, C/group, *k)``
for Conv, X is ``(N, C, *spatial)``. Where the ONNX spec, its shape
inference and the runtimes disagree, this module follows ONNX Runtime (see
``docs/conventions.md`` and :func:`convt.arithmetic.onnx_transpose_crop`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._params import as_int, per_axis
from ..errors import ConvError
from . import _rules

__all__ = ["conv", "conv_transpose"]


def _int_list(func: str, name: str, value: Any) -> list:
    """An attribute ONNX defines as a list of ints (``pads``, ``output_shape``), as a list; else TypeError."""
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) == 1:
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{func}: {name} must be a list of ints, got {value!r}")
    return list(value)


def _b_and_group(func: str, x: np.ndarray, w: np.ndarray, B: Any, group: Any, transposed: bool) -> int:
    """ONNX's ``group`` and ``B`` checked in ONNX's names (M output channels, C input channels)."""
    g = as_int("group", group, func=func)
    c = x.shape[1]
    if g < 1 or c % g or (not transposed and w.shape[0] % g):
        raise ConvError(f"{func}: group={g} must be a positive divisor of the {c} input channels of X"
                        + ("" if transposed else f" and of the {w.shape[0]} filters of W") + f" (X {x.shape}, W {w.shape})")
    m = w.shape[1] * g if transposed else w.shape[0]
    if B is not None and np.shape(B) != (m,):
        raise ConvError(f"{func}: B must have shape (M,) = ({m},), one per output channel, got {np.shape(B)}")
    return g


def _common(func: str, X: Any, W: Any, kernel_shape: Any, pads: Any, strides: Any, dilations: Any,
            auto_pad: Any) -> tuple[np.ndarray, np.ndarray, int, tuple, tuple, Any, str]:
    x, w = np.asarray(X), np.asarray(W)
    nd = w.ndim - 2
    if nd < 1 or x.ndim != nd + 2:
        raise ConvError(f"{func}: X must be (N, C, *spatial) and W (*, *, *k) with the same rank, "
                        f"got X {x.shape} and W {w.shape}")
    if kernel_shape is not None and (ks := per_axis("kernel_shape", kernel_shape, nd, func=func)) != w.shape[2:]:
        raise ConvError(f"{func}: kernel_shape {list(ks)} is not compatible with W shape {w.shape}")
    s = per_axis("strides", 1 if strides is None else strides, nd, func=func, minimum=1)
    d = per_axis("dilations", 1 if dilations is None else dilations, nd, func=func, minimum=1)
    auto = _rules.onnx_auto_pad(auto_pad, func=func)
    pp = None
    if pads is not None:
        flat = _int_list(func, "pads", pads)
        if len(flat) != 2 * nd:
            raise ConvError(f"{func}: pads must hold {2 * nd} values (all begins, then all ends), got {flat!r}")
        pp = _rules.pairs("pads", list(zip(flat[:nd], flat[nd:], strict=False)), nd, func=func, nonnegative=True)
        if auto != "notset":
            raise ConvError(f"{func}: the pads attribute cannot be used together with auto_pad={auto_pad!r}")
    return x, w, nd, s, d, pp, auto


def conv_transpose(X: Any, W: Any, B: Any = None, *, auto_pad: str = "NOTSET", dilations: Any = None,
                   group: int = 1, kernel_shape: Any = None, output_padding: Any = None,
                   output_shape: Any = None, pads: Any = None, strides: Any = None) -> np.ndarray:
    """ONNX ``ConvTranspose`` as ONNX Runtime runs it.

    Parameters
    ----------
    X : array_like
        ``(N, C, *spatial)``.
    W : array_like
        ``(C, M/group, *k)``.
    B : array_like, optional
        ``(M,)``.
    auto_pad : {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"}
    dilations, strides, output_padding : sequence of int, optional
    group : int
    kernel_shape : sequence of int, optional
        Must equal ``W.shape[2:]`` when given.
    output_shape : sequence of int, optional
        Spatial output size; pads are then derived (any ``pads`` is ignored).
    pads : sequence of int, optional
        ``[x1_begin, ..., x1_end, ...]``, non-negative; not with auto_pad.

    Returns
    -------
    numpy.ndarray

    Notes
    -----
    Shape: ``o = s*(i-1) + op + K - pb - pe``. With output_shape ``o``,
    ``P = max(F + op - o, 0)`` (``1 <= o <= F + s - 1``) split with the extra at the
    start, except SAME_UPPER (end). SAME_UPPER/LOWER without it:
    ``P = max(F + op - i*s, 0)``, extra at the end / start. ORT needs
    ``output_padding < stride``.

    Examples
    --------
    >>> import numpy as np
    >>> x, w = np.arange(1.0, 5.0).reshape(1, 1, 4), np.ones((1, 1, 3))
    >>> conv_transpose(x, w, strides=[2], output_shape=[8])[0, 0]   # the extra cropped at the start
    array([1., 3., 2., 5., 3., 7., 4., 4.])
    """
    func = "onnx ConvTranspose"
    x, w, nd, s, d, pp, auto = _common(func, X, W, kernel_shape, pads, strides, dilations, auto_pad)
    op = per_axis("output_padding", 0 if output_padding is None else output_padding, nd, func=func, minimum=0)
    out = None
    if output_shape is not None:
        if len(_int_list(func, "output_shape", output_shape)) != nd:
            raise ConvError(f"{func}: output_shape must hold the {nd} spatial sizes, got {list(output_shape)!r}")
        out = per_axis("output_shape", output_shape, nd, func=func)
        pp = None
    crops = _rules.onnx_transpose_crops(x.shape[2:], w.shape[2:], s, d, auto, pp, op, out, func=func)
    group = _b_and_group(func, x, w, B, group, True)
    return ops.conv_transpose(x, w, B, stride=s, padding=crops, dilation=d, groups=group)


def conv(X: Any, W: Any, B: Any = None, *, auto_pad: str = "NOTSET", dilations: Any = None, group: int = 1,
         kernel_shape: Any = None, pads: Any = None, strides: Any = None) -> np.ndarray:
    """ONNX ``Conv`` as ONNX Runtime runs it.

    Parameters
    ----------
    X : array_like
        ``(N, C, *spatial)``.
    W : array_like
        ``(M, C/group, *k)``.
    B : array_like, optional
    auto_pad : {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"}
    dilations, strides, kernel_shape, pads, group
        As in :func:`conv_transpose`.

    Returns
    -------
    numpy.ndarray

    Notes
    -----
    Shape: ``(i + pb + pe - K)//s + 1``; SAME_* ``ceil(i/s)`` with the odd
    extra at the end (UPPER) or the start (LOWER); ORT refuses SAME_* with
    a dilation above 1.

    Examples
    --------
    >>> import numpy as np
    >>> conv(np.ones((1, 1, 4)), np.ones((1, 1, 4)), auto_pad="SAME_LOWER")[0, 0]
    array([3., 4., 3., 2.])
    """
    func = "onnx Conv"
    x, w, _nd, s, d, pp, auto = _common(func, X, W, kernel_shape, pads, strides, dilations, auto_pad)
    if auto.startswith("same") and max(d) > 1:
        raise ConvError(f"{func}: ONNX Runtime does not support dilations {list(d)} with auto_pad={auto_pad!r}; "
                        f"use dilations of 1 or explicit pads")
    pad = {"same_upper": "same", "same_lower": "same_lower", "valid": "valid"}.get(auto, pp or 0)
    group = _b_and_group(func, x, w, B, group, False)
    return ops.conv(x, w, B, stride=s, padding=pad, dilation=d, groups=group)
