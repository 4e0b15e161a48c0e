"""Keras 3's transposed convolution, computed by convt with NumPy.

:func:`conv_transpose` is the computation of ``keras.layers.Conv{1,2,3}DTranspose``
and ``keras.ops.conv_transpose``: kernel ``(*k, out, in)``, padding "valid"
or "same", ``output_padding`` None or given (they give different sizes, see
:func:`convt.arithmetic.keras_transpose_crop`), channels last by default.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._params import per_axis
from ..errors import ConvError
from . import _rules
from ._common import channels_first, kernel_to_torch, restore

__all__ = ["conv_transpose"]


def conv_transpose(inputs: Any, kernel: Any, bias: Any = None, strides: Any = 1, padding: str = "valid",
                   output_padding: Any = None, data_format: str | None = "channels_last",
                   dilation_rate: Any = 1) -> np.ndarray:
    """Keras 3's ``Conv*DTranspose`` computation.

    Parameters
    ----------
    inputs : array_like
        ``(N, *spatial, C_in)`` ("channels_last") or ``(N, C_in, *spatial)``.
    kernel : array_like
        ``(*k, C_out, C_in)`` (the layer's ``kernel``; Keras has no groups here).
    bias : array_like, optional
        ``(C_out,)``.
    strides, dilation_rate : int or sequence of int
    padding : {"valid", "same"}
        Any case.
    output_padding : None, int or sequence of int
        None picks the size (see Notes); given, ``0 <= output_padding < strides``
        (the layers' rule).
    data_format : {"channels_last", "channels_first"} or None
        None means channels_last (Keras' default configuration).

    Returns
    -------
    numpy.ndarray

    Notes
    -----
    Shape: valid ``(i-1)*s + K + op`` (op None: ``(i-1)*s + max(K, s)``);
    same ``i*s`` (op None) or ``(i-1)*s + K % 2 + op``; ``K = d*(k-1) + 1``.
    Of the crop ``T = F - o`` the start gets ``max(T//2, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> conv_transpose(np.ones((1, 4, 1)), np.ones((3, 1, 1)), strides=2, padding="same")[0, :, 0]
    array([1., 2., 1., 2., 1., 2., 1., 1.])
    """
    func = "keras conv_transpose"
    if data_format is None:
        data_format = "channels_last"
    if not isinstance(data_format, str) or data_format not in ("channels_last", "channels_first"):
        raise ConvError(f"{func}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    last = data_format == "channels_last"
    nd = np.ndim(inputs) - 2
    if nd < 1:
        raise ConvError(f"{func}: inputs must have a batch, a channel and at least one spatial axis, "
                        f"got shape {np.shape(inputs)}")
    x = channels_first(inputs, nd, last, func=func, name="inputs")
    w = kernel_to_torch(kernel, nd, func=func, name="kernel")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ConvError(f"{func}: padding must be 'valid' or 'same', got {padding!r}")
    s = per_axis("strides", strides, nd, func=func, minimum=1)
    d = per_axis("dilation_rate", dilation_rate, nd, func=func, minimum=1)
    if w.shape[0] != x.shape[1]:
        raise ConvError(f"{func}: kernel {np.shape(kernel)} ((*k, out, in)) expects {w.shape[0]} input "
                        f"channels, got {x.shape[1]}")
    crops = _rules.keras_transpose_crops(x.shape[2:], w.shape[2:], s, d, padding.lower(), output_padding,
                                         func=func)
    return restore(ops.conv_transpose(x, w, bias, stride=s, padding=crops, dilation=d), last)
