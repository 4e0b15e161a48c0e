"""Each framework's padding arguments resolved to canonical per-axis pairs.

The adapters in :mod:`convt.compat` and :func:`convt.compat.layer_spec` share
these resolvers: they check a framework's padding argument the way that
framework does and return the ``(cb, ce)`` crop of a transposed convolution
(or the ``(lo, hi)`` padding of a direct one) for every spatial axis. All
size formulas come from :mod:`convt.arithmetic` (its "framework
conventions" section); nothing here computes a size itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import arithmetic as ar
from .._params import as_int, per_axis
from ..errors import ConvError

Pairs = tuple[tuple[int, int], ...]


def pairs(name: str, value: Any, nd: int, *, func: str, nonnegative: bool = False) -> Pairs:
    """One ``(lo, hi)`` pair per spatial axis, from a sequence of pairs."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != nd:
        raise ConvError(f"{func}: {name} must be one (before, after) pair per spatial axis ({nd}), got {value!r}")
    out = []
    for a, p in enumerate(value):
        if isinstance(p, (str, bytes)) or not isinstance(p, Sequence) or len(p) != 2:
            raise ConvError(f"{func}: {name}[{a}] must be a (before, after) pair of ints, got {p!r}")
        lo, hi = (as_int(f"{name}[{a}]", v, func=func) for v in p)
        if nonnegative and min(lo, hi) < 0:
            raise ConvError(f"{func}: {name} must not contain negative values, got {(lo, hi)} on axis {a}")
        out.append((lo, hi))
    return tuple(out)


def tf_transpose_crops(i: Sequence[int], k: Sequence[int], s: Sequence[int], d: Sequence[int],
                       padding: str | Pairs, output: Sequence[int] | None, *, func: str) -> Pairs:
    """TensorFlow: ``padding`` "same", "valid" or pairs; ``output`` the spatial output_shape.

    ``None`` takes :func:`convt.arithmetic.tf_transpose_default_output`. A size
    that TensorFlow refuses raises :class:`ConvError` naming the valid sizes.
    """
    per = [padding] * len(i) if isinstance(padding, str) else list(padding)
    if output is None:
        output = [ar.tf_transpose_default_output(*a, p) for a, p in zip(zip(i, k, s, d, strict=False), per, strict=False)]
    ranges = [ar.tf_transpose_output_range(*a, p) for a, p in zip(zip(i, k, s, d, strict=False), per, strict=False)]
    if any(o not in r for o, r in zip(output, ranges, strict=False)):
        valid = ", ".join(f"{r.start}..{r.stop - 1}" if r else "none" for r in ranges)
        raise ConvError(
            f"{func}: output_shape (spatial) {list(output)} is not valid for an input of {list(i)} "
            f"(kernel {list(k)}, strides {list(s)}, dilations {list(d)}, padding {padding!r}): "
            f"TensorFlow needs the direct convolution of the output to give back the input, so the "
            f"valid sizes per axis are {valid}"
        )
    return tuple(ar.tf_transpose_crop(ii, o, kk, ss, dd, p) for ii, o, kk, ss, dd, p in zip(i, output, k, s, d, per, strict=False))


def keras_transpose_crops(i: Sequence[int], k: Sequence[int], s: Sequence[int], d: Sequence[int],
                          padding: str, output_padding: Any, *, func: str) -> Pairs:
    """Keras 3: ``padding`` "valid" or "same"; ``output_padding`` None, an int or one per axis, below the strides
    (Keras' layers refuse more, and its TensorFlow backend fails on it)."""
    nd = len(i)
    op: Sequence[int | None] = (None,) * nd if output_padding is None else per_axis(
        "output_padding", output_padding, nd, func=func, minimum=0)
    for a, (o, ss) in enumerate(zip(op, s, strict=False)):
        if o is not None and o >= ss:
            raise ConvError(f"{func}: output_padding must be strictly less than strides on every axis, "
                            f"got {o} on axis {a} (strides {ss}); valid: 0 to {ss - 1}")
    return tuple(ar.keras_transpose_crop(*a, padding, o) for a, o in zip(zip(i, k, s, d, strict=False), op, strict=False))


def jax_transpose_crops(k: Sequence[int], s: Sequence[int], d: Sequence[int], padding: str | Pairs,
                        use_consistent_padding: bool) -> Pairs:
    """``jax.lax.conv_transpose``: ``padding`` "same", "valid" or pairs (see the flag)."""
    per = [padding] * len(k) if isinstance(padding, str) else list(padding)
    return tuple(ar.jax_transpose_crop(*a, p, use_consistent_padding) for a, p in zip(zip(k, s, d, strict=False), per, strict=False))


ONNX_AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def onnx_auto_pad(auto_pad: Any, *, func: str) -> str:
    """Check an ONNX ``auto_pad`` word; return it in lower case."""
    if not isinstance(auto_pad, str) or auto_pad not in ONNX_AUTO_PADS:
        raise ConvError(f"{func}: auto_pad must be one of {', '.join(ONNX_AUTO_PADS)}, got {auto_pad!r}")
    return auto_pad.lower()


def onnx_transpose_crops(i: Sequence[int], k: Sequence[int], s: Sequence[int], d: Sequence[int],
                         auto_pad: str, pads: Pairs | None, output_padding: Sequence[int],
                         output_shape: Sequence[int] | None, *, func: str) -> Pairs:
    """ONNX ConvTranspose as ONNX Runtime resolves it (``auto_pad`` in lower case).

    Refuses what ORT refuses: pads together with an auto_pad other than
    NOTSET, ``output_padding >= stride`` and an output_shape above
    ``F + stride - 1`` (ORT's check that the direct convolution of the
    output gives back the input).
    """
    nd = len(i)
    if pads is not None and auto_pad != "notset":
        raise ConvError(f"{func}: the pads attribute cannot be used together with auto_pad={auto_pad.upper()!r}")
    for a, (op, ss, dd) in enumerate(zip(output_padding, s, d, strict=False)):
        if not 0 <= op < ss:
            raise ConvError(
                f"{func}: output_padding must satisfy 0 <= output_padding < stride on every axis "
                f"(ONNX Runtime), got {op} on axis {a} (stride {ss}, dilation {dd}); valid: 0 to {ss - 1}"
            )
    pp = pads if pads is not None else ((0, 0),) * nd
    if output_shape is not None:
        highs = [ar.full_length(*a) + ss - 1 for a, ss in zip(zip(i, k, s, d, strict=False), s, strict=False)]
        if any(not 1 <= o <= h for o, h in zip(output_shape, highs, strict=False)):
            raise ConvError(
                f"{func}: output_shape {list(output_shape)} is not valid for an input of {list(i)} "
                f"(kernel {list(k)}, strides {list(s)}, dilations {list(d)}, output_padding "
                f"{list(output_padding)}): ONNX Runtime accepts 1 to {highs} per axis"
            )
        return tuple(ar.onnx_transpose_crop(*a, auto_pad, p, op, o)
                     for a, p, op, o in zip(zip(i, k, s, d, strict=False), pp, output_padding, output_shape, strict=False))
    return tuple(ar.onnx_transpose_crop(*a, auto_pad, p, op)
                 for a, p, op in zip(zip(i, k, s, d, strict=False), pp, output_padding, strict=False))
