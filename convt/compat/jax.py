"""``jax.lax.conv_transpose``, computed by convt with NumPy.

JAX's arguments and layouts: ``dimension_numbers`` (default
``('NHC', 'HIO', 'NHC')``-style, channels last), the kernel used as given
(a correlation kernel, **not** flipped) unless ``transpose_kernel=True``
(flip the spatial axes and swap I/O: then it matches TensorFlow, Keras and
PyTorch without a flip), and explicit pads whose meaning depends on
``use_consistent_padding`` (see :func:`convt.arithmetic.jax_transpose_crop`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._params import per_axis
from ..errors import ConvError
from . import _rules

__all__ = ["conv_transpose"]

_DEFAULTS = {3: ("NHC", "HIO", "NHC"), 4: ("NHWC", "HWIO", "NHWC"), 5: ("NHWDC", "HWDIO", "NHWDC")}


def _specs(dimension_numbers: Any, ndim: int, func: str) -> tuple[tuple[int, ...], ...]:
    """(lhs, rhs, out) permutations to (N, C, *spatial), (O, I, *spatial), (N, C, *spatial)."""
    if dimension_numbers is None:
        if ndim not in _DEFAULTS:
            raise ConvError(f"{func}: no default dimension_numbers for {ndim}-dimensional arrays; give them")
        dimension_numbers = _DEFAULTS[ndim]
    if all(hasattr(dimension_numbers, a) for a in ("lhs_spec", "rhs_spec", "out_spec")):
        return tuple(tuple(getattr(dimension_numbers, a)) for a in ("lhs_spec", "rhs_spec", "out_spec"))
    try:
        lhs, rhs, out = dimension_numbers
    except (TypeError, ValueError):
        raise ConvError(f"{func}: dimension_numbers must be three layout strings, got {dimension_numbers!r}") from None
    if not all(isinstance(v, str) and len(v) == ndim and len(set(v)) == ndim for v in (lhs, rhs, out)):
        raise ConvError(f"{func}: dimension_numbers must be three strings of {ndim} distinct letters, "
                        f"got {dimension_numbers!r}")
    spatial = [c for c in rhs if c not in "OI"]
    if not ("O" in rhs and "I" in rhs and all(set(v) == set("NC") | set(spatial) for v in (lhs, out))):
        raise ConvError(f"{func}: dimension_numbers {dimension_numbers!r} must use N and C for lhs and out, "
                        f"O and I for rhs, and the same spatial letters")

    def perm(spec: str, a: str, b: str) -> tuple[int, ...]:
        return (spec.index(a), spec.index(b), *(spec.index(c) for c in spatial))

    return perm(lhs, "N", "C"), perm(rhs, "O", "I"), perm(out, "N", "C")


def conv_transpose(lhs: Any, rhs: Any, strides: Any, padding: Any, rhs_dilation: Any = None,
                   dimension_numbers: Any = None, transpose_kernel: bool = False,
                   use_consistent_padding: bool = False, *, precision: Any = None,
                   preferred_element_type: Any = None) -> np.ndarray:
    """``jax.lax.conv_transpose``.

    Parameters
    ----------
    lhs : array_like
        The input, laid out by ``dimension_numbers[0]`` (default channels last).
    rhs : array_like
        The kernel, laid out by ``dimension_numbers[1]`` (default ``(*k, I, O)``).
        Without ``transpose_kernel`` it is correlated with the stride-dilated
        input as given (I = input channels); with it, it is flipped and I/O
        swapped (O = input channels, as TensorFlow's ``[*k, out, in]``).
    strides : sequence of int
    padding : "SAME", "VALID" or sequence of (int, int)
        Pairs: the padding of the dilated input (default) or of the forward
        convolution (``use_consistent_padding=True``, PyTorch's meaning).
    rhs_dilation : sequence of int, optional
    dimension_numbers : tuple of 3 str, or an object with lhs_spec/rhs_spec/out_spec
    transpose_kernel, use_consistent_padding : bool
    precision : ignored
        convt computes in the input's precision.
    preferred_element_type : dtype, optional
        The result dtype.

    Returns
    -------
    numpy.ndarray

    Notes
    -----
    Shape: ``o = (i-1)*s + K - cb - ce``: SAME ``i*s``; VALID
    ``i*s + max(K - s, 0)``; pairs ``(i-1)*s + 1 + lo + hi - K + 1`` by default.

    Examples
    --------
    >>> import numpy as np
    >>> conv_transpose(np.ones((1, 4, 1)), np.ones((3, 1, 1)), (2,), "SAME")[0, :, 0]
    array([1., 2., 1., 2., 1., 2., 1., 1.])
    """
    func = "jax conv_transpose"
    x0, r0 = np.asarray(lhs), np.asarray(rhs)
    if x0.ndim != r0.ndim or x0.ndim < 3:
        raise ConvError(f"{func}: lhs and rhs must have the same rank >= 3, got {x0.shape} and {r0.shape}")
    nd = x0.ndim - 2
    lp, rp, op = _specs(dimension_numbers, x0.ndim, func)
    x = np.transpose(x0, lp)
    r = np.transpose(r0, rp)  # (O, I, *k)
    s = per_axis("strides", strides, nd, func=func, minimum=1)
    d = per_axis("rhs_dilation", 1 if rhs_dilation is None else rhs_dilation, nd, func=func, minimum=1)
    if isinstance(padding, str):
        if padding not in ("SAME", "VALID"):
            raise ConvError(f"{func}: padding must be 'SAME', 'VALID' or a sequence of (lo, hi) pairs, got {padding!r}")
        pad: Any = padding.lower()
    else:
        pad = _rules.pairs("padding", padding, nd, func=func)
    w = r if transpose_kernel else np.flip(np.swapaxes(r, 0, 1), tuple(range(2, nd + 2)))
    if w.shape[0] != x.shape[1]:
        raise ConvError(f"{func}: rhs {r0.shape} gives {w.shape[0]} input channels "
                        f"({'O' if transpose_kernel else 'I'} dimension), but lhs {x0.shape} has {x.shape[1]}")
    crops = _rules.jax_transpose_crops(w.shape[2:], s, d, pad, use_consistent_padding)
    y = ops.conv_transpose(x, w, stride=s, padding=crops, dilation=d)
    y = np.ascontiguousarray(np.transpose(y, np.argsort(op)))
    return y if preferred_element_type is None else y.astype(preferred_element_type)
