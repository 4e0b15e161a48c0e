"""Gradients of :func:`convt.conv` and :func:`convt.conv_transpose`, written as convolutions.

Both operators are bilinear in ``(x, weight)``; with ``y = C_w x`` and a
gradient ``g`` of a loss with respect to ``y`` (JAX's algebra: forward
``[m, j][j, k] -> [m, k]``, LHS transpose ``[m, k][k, j] -> [m, j]``, RHS
transpose ``[j, m][m, k] -> [j, k]``):

- the input gradient is ``C_w^T g``: for a direct convolution the
  transposed convolution with the same weight (:meth:`ConvSpec.adjoint`),
  for a transposed convolution the direct one; padding modes included
  (the gather of a direct convolution and the fold of a transposed one are
  each other's transposes);
- the weight gradient is the correlation of the (padded) input of the
  direct convolution with its output gradient: per kernel tap ``t``,
  ``dW[:, :, t] = sum_{n, q} g[n, :, q] * xp[n, :, q*s + t*d]``, computed by
  :func:`convt.algorithms.conv_weight_grad` (one im2col product per batch tile). A transposed convolution is the adjoint of the direct
  convolution ``C_w`` that maps its output back to its input, so
  ``<conv_transpose(x), g> = <x, conv(g)>``: its weight gradient is the
  direct one with the roles of input and output gradient exchanged;
- the bias gradient is ``g`` summed over the batch and spatial axes.

For complex arrays the results are the transposes (no conjugation: JAX's
VJP convention; PyTorch's gradients are their conjugates for a conjugated
``grad_output``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import algorithms
from .errors import ConvError
from .ops import prepare_arrays
from .spec import ConvSpec, conv_spec, conv_transpose_spec

__all__ = ["conv_grad", "conv_transpose_grad"]

Grads = tuple[np.ndarray, np.ndarray, np.ndarray]


def _check_grad_output(func: str, g: np.ndarray, spec: ConvSpec, batch: int | None) -> None:
    want = (spec.out_channels, *spec.output_size)
    if batch is not None:
        want = (batch, *want)
    if tuple(g.shape) != want:
        raise ConvError(
            f"{func}: grad_output must have the shape of the operator's output, "
            f"{'(N, C_out, *out)' if batch is not None else '(C_out, *out)'} = {want}, got {tuple(g.shape)}"
        )


def _finish(grads: tuple[np.ndarray, ...], result: np.dtype, batched: bool) -> Grads:
    gx, gw, gb = (a.astype(result, copy=False) for a in grads)
    return (gx if batched else gx[0]), gw, gb


def conv_grad(grad_output: Any, x: Any, weight: Any, *, stride: Any = 1, padding: Any = 0,
              dilation: Any = 1, groups: Any = 1, padding_mode: str = "zeros") -> Grads:
    """Gradients of :func:`convt.conv` with respect to its input, weight and bias.

    Parameters
    ----------
    grad_output : array_like
        The gradient with respect to the output, ``(N, C_out, *out)`` (or
        unbatched ``(C_out, *out)`` for an unbatched ``x``).
    x, weight : array_like
        The operator's input ``(N, C_in, *spatial)`` and weight
        ``(C_out, C_in // groups, *kernel)``.
    stride, padding, dilation, groups, padding_mode
        As :func:`convt.conv` (validated identically).

    Returns
    -------
    grad_x, grad_weight, grad_bias : numpy.ndarray
        Shaped as ``x``, ``weight`` and ``(C_out,)``; dtype
        ``numpy.result_type(grad_output, x, weight)`` (int64 for integers).

    Notes
    -----
    Shape: ``grad_output`` is ``(N, C_out, *out)`` with
    ``out = floor((i + lo + hi - d*(k - 1) - 1) / s) + 1``. ``grad_x`` is the
    transposed convolution of ``grad_output`` with the same weight and
    parameters; ``grad_weight[:, :, t] = sum_{n,q} g[n, :, q] xp[n, :, q*s + t*d]``
    (per group), ``xp`` the padded input.

    Examples
    --------
    >>> import numpy as np, convt
    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> gx, gw, gb = convt.conv_grad(np.ones((1, 1, 3)), x, np.ones((1, 1, 3)))
    >>> gx, gw, gb
    (array([[[1., 2., 3., 2., 1.]]]), array([[[3., 6., 9.]]]), array([3.]))
    """
    func = "conv_grad"
    (x, w, _, g), result, work = prepare_arrays(func, x, weight, None, grad_output)
    spec, batched = conv_spec(x.shape, w.shape, stride=stride, padding=padding, dilation=dilation,
                              groups=groups, padding_mode=padding_mode, func=func)
    _check_grad_output(func, g, spec, x.shape[0] if batched else None)
    xb, gb = (x, g) if batched else (x[None], g[None])
    xb, wk, gb = (a.astype(work, copy=False) for a in (xb, w, gb))
    gx = algorithms.conv_transpose(gb, wk, spec.adjoint())
    gw = algorithms.conv_weight_grad(xb, gb, spec)
    return _finish((gx, gw, algorithms.bias_grad(gb)), result, batched)


def conv_transpose_grad(grad_output: Any, x: Any, weight: Any, *, stride: Any = 1, padding: Any = 0,
                        output_padding: Any = 0, dilation: Any = 1, groups: Any = 1,
                        output_size: Any = None, padding_mode: str = "zeros") -> Grads:
    """Gradients of :func:`convt.conv_transpose` with respect to its input, weight and bias.

    Parameters
    ----------
    grad_output : array_like
        The gradient with respect to the output, ``(N, C_out, *out)`` (or
        unbatched ``(C_out, *out)`` for an unbatched ``x``).
    x, weight : array_like
        The operator's input ``(N, C_in, *spatial)`` and weight
        ``(C_in, C_out // groups, *kernel)``.
    stride, padding, output_padding, dilation, groups, output_size, padding_mode
        As :func:`convt.conv_transpose` (validated identically).

    Returns
    -------
    grad_x, grad_weight, grad_bias : numpy.ndarray
        Shaped as ``x``, ``weight`` and ``(C_out,)``; dtype
        ``numpy.result_type(grad_output, x, weight)`` (int64 for integers).

    Notes
    -----
    Shape: ``grad_output`` is ``(N, C_out, *out)`` with
    ``out = (i - 1)*s - lo - hi + d*(k - 1) + output_padding + 1``.
    ``grad_x`` is the direct convolution of ``grad_output`` with the same
    weight and parameters (padding = the crop, same mode); ``grad_weight``
    is the weight gradient of that direct convolution with input
    ``grad_output`` and output gradient ``x``.

    Examples
    --------
    >>> import numpy as np, convt
    >>> gx, gw, gb = convt.conv_transpose_grad(np.ones((1, 5)), [[1.0, 2.0]], [[[1.0, 1.0, 1.0]]], stride=2)
    >>> gx, gw, gb
    (array([[3., 3.]]), array([[[3., 3., 3.]]]), array([5.]))
    """
    func = "conv_transpose_grad"
    (x, w, _, g), result, work = prepare_arrays(func, x, weight, None, grad_output)
    spec, batched = conv_transpose_spec(
        x.shape, w.shape, stride=stride, padding=padding, output_padding=output_padding,
        dilation=dilation, groups=groups, output_size=output_size, padding_mode=padding_mode, func=func)
    _check_grad_output(func, g, spec, x.shape[0] if batched else None)
    xb, gb = (x, g) if batched else (x[None], g[None])
    xb, wk, gb = (a.astype(work, copy=False) for a in (xb, w, gb))
    adj = spec.adjoint()
    gx, gw = algorithms.conv_and_weight_grad(gb, wk, xb, adj)  # one shared im2col of grad_output
    return _finish((gx, gw, algorithms.bias_grad(gb)), result, batched)
