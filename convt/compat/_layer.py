"""One layer described in any framework's terms, as a canonical :class:`~convt.spec.ConvSpec`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._params import per_axis
from ..errors import ConvError
from ..spec import ConvSpec, conv_spec, conv_transpose_spec
from . import _rules

CONVENTIONS = ("torch", "tensorflow", "keras", "onnx", "jax")
#: ``padding=None``: each framework's default
DEFAULT_PADDING = {"torch": 0, "tensorflow": "SAME", "keras": "valid", "onnx": "NOTSET", "jax": "SAME"}


def _word_or_pairs(convention: str, padding: Any, nd: int, words: dict[str, str], *, func: str) -> Any:
    """A padding word of ``words`` (any case) mapped to convt's word, or pairs per axis (``nd`` > 0)."""
    if isinstance(padding, str) or nd == 0:
        w = padding.upper() if isinstance(padding, str) else None
        if w not in words:
            raise ConvError(
                f"{func}: padding for convention {convention!r} must be one of "
                f"{', '.join(words)}{'' if nd == 0 else ' or one (before, after) pair per axis'}, got {padding!r}"
            )
        return words[w]
    return _rules.pairs("padding", padding, nd, func=func)


def layer_spec(convention: str, *, transposed: bool, input_size: Any, kernel_size: Any, stride: Any = 1,
               padding: Any = None, output_padding: Any = None, dilation: Any = 1, output_size: Any = None,
               use_consistent_padding: bool = False) -> ConvSpec:
    """The canonical spec (1 channel, groups 1) of a layer given in a framework's own terms.

    Parameters
    ----------
    convention : {"torch", "tensorflow", "keras", "onnx", "jax"}
    transposed : bool
        A transposed convolution, or a direct one.
    input_size, kernel_size, stride, dilation : int or sequence of int
        Spatial sizes, one int per axis (or one int for every axis).
    padding
        In the framework's terms (words in any case); ``None`` (the default)
        is the framework's default: 0 for torch, no pads (NOTSET) for onnx,
        "SAME" for tensorflow (``tf.nn.conv*_transpose``'s default) and jax
        (as ``convt explain``), "valid" for keras.

        - torch: an int, one int or ``(lo, hi)`` pair per axis, or a word of
          :func:`convt.conv` / :func:`convt.conv_transpose` (convt's extensions).
        - tensorflow: "SAME", "VALID" or one ``(before, after)`` pair per axis
          (TensorFlow's explicit padding; negative values are refused).
        - keras: "valid" or "same".
        - onnx: an auto_pad word ("NOTSET", "SAME_UPPER", "SAME_LOWER",
          "VALID") or the pads as one ``(begin, end)`` pair per axis (NOTSET).
        - jax: "SAME", "VALID" or one ``(lo, hi)`` pair per axis; for a
          transposed layer pairs mean what ``jax.lax.conv_transpose`` makes
          of them: the padding of the stride-dilated input by default, the
          padding of the forward convolution with ``use_consistent_padding``.
    output_padding : None, int or sequence of int
        torch and onnx: output_padding (None means 0); keras: None or the
        given output_padding (they differ, see Notes); tensorflow and jax
        have none (must be None or 0).
    output_size : sequence of int, optional
        The spatial output size: torch ``output_size``, tensorflow
        ``output_shape``, onnx ``output_shape``. For tensorflow ``None``
        means the size Keras' layer asks for: ``i*s`` for SAME,
        ``(i-1)*s + max(K, s)`` for VALID, the smallest valid size for
        explicit pads.
    use_consistent_padding : bool
        jax only: the flag of ``jax.lax.conv_transpose``.

    Returns
    -------
    ConvSpec
        ``pads`` holds the ``(begin, end)`` crop of the full result
        (transposed) or the ``(lo, hi)`` padding (direct).

    Notes
    -----
    Shape (transposed): ``o = (i - 1)*s + d*(k - 1) + 1 - cb - ce`` with the
    crop ``(cb, ce)`` of each convention, from :mod:`convt.arithmetic`
    (``tf_transpose_crop``, ``keras_transpose_crop``, ``jax_transpose_crop``,
    ``onnx_transpose_crop``). Keras with output_padding None gives ``i*s``
    (same) or ``(i-1)*s + max(K, s)`` (valid).

    Examples
    --------
    The core porting trap (frameworks.md vector 1): k=3, s=2, i=4 to 8.

    >>> layer_spec("tensorflow", transposed=True, input_size=4, kernel_size=3, stride=2,
    ...            padding="SAME").pads
    ((0, 1),)
    >>> layer_spec("torch", transposed=True, input_size=4, kernel_size=3, stride=2,
    ...            padding=1, output_padding=1).pads
    ((1, 0),)
    >>> s = layer_spec("onnx", transposed=True, input_size=(4, 4), kernel_size=3, stride=2,
    ...                padding="SAME_LOWER")
    >>> s.pads, s.output_size
    (((1, 0), (1, 0)), (8, 8))
    >>> layer_spec("jax", transposed=False, input_size=6, kernel_size=3, stride=2, padding="SAME").pads
    ((0, 1),)
    """
    func = "layer_spec"
    if convention not in CONVENTIONS:
        raise ConvError(f"{func}: convention must be one of {', '.join(CONVENTIONS)}, got {convention!r}")
    if not isinstance(transposed, (bool, np.bool_)):
        raise TypeError(f"{func}: transposed must be a bool, got {transposed!r}")
    if padding is None:
        padding = DEFAULT_PADDING[convention]
    i = input_size if isinstance(input_size, (list, tuple)) else [input_size]
    nd = len(i)
    if nd < 1:
        raise ConvError(f"{func}: input_size must have at least one spatial axis, got {input_size!r}")
    i = per_axis("input_size", i, nd, func=func, minimum=1)
    k = per_axis("kernel_size", kernel_size, nd, func=func, minimum=1)
    s = per_axis("stride", stride, nd, func=func, minimum=1)
    d = per_axis("dilation", dilation, nd, func=func, minimum=1)
    shapes = ((1, 1, *i), (1, 1, *k))
    out = None if output_size is None else per_axis("output_size", output_size, nd, func=func, minimum=1)

    def no(name: str, value: Any, ok: Any) -> None:
        if value is not None and value != ok and value != [ok] * nd and value != (ok,) * nd:
            raise ConvError(f"{func}: convention {convention!r} has no {name} here, got {value!r}")

    if convention == "torch":
        if transposed:
            op = 0 if output_padding is None else output_padding
            return conv_transpose_spec(*shapes, stride=s, padding=padding, output_padding=op, dilation=d,
                                       output_size=out, func=func)[0]
        no("output_padding", output_padding, 0)
        no("output_size", output_size, None)
        return conv_spec(*shapes, stride=s, padding=padding, dilation=d, func=func)[0]

    if not transposed:
        no("output_padding", output_padding, 0)
        no("output_size", output_size, None)
        if convention == "onnx":
            words = {"NOTSET": None, "SAME_UPPER": "same", "SAME_LOWER": "same_lower", "VALID": "valid"}
            pad = _word_or_pairs(convention, padding, nd, words, func=func)
            pad = ((0, 0),) * nd if pad is None else pad
            if isinstance(pad, str) and pad.startswith("same") and max(d) > 1:
                raise ConvError(f"{func}: ONNX Runtime does not support a dilation {list(d)} with auto_pad "
                                f"{padding!r} (Conv)")
            if not isinstance(pad, str):
                pad = _rules.pairs("pads", pad, nd, func=func, nonnegative=True)
        elif convention == "keras":
            pad = _word_or_pairs(convention, padding, 0, {"VALID": "valid", "SAME": "same"}, func=func)
        else:
            pad = _word_or_pairs(convention, padding, nd, {"VALID": "valid", "SAME": "same"}, func=func)
            if convention == "tensorflow" and not isinstance(pad, str):  # TF refuses negative explicit paddings
                pad = _rules.pairs("padding", pad, nd, func=func, nonnegative=True)
        return conv_spec(*shapes, stride=s, padding=pad, dilation=d, func=func)[0]

    if convention == "tensorflow":
        no("output_padding", output_padding, 0)
        pad = _word_or_pairs(convention, padding, nd, {"VALID": "valid", "SAME": "same"}, func=func)
        if not isinstance(pad, str):
            pad = _rules.pairs("padding", pad, nd, func=func, nonnegative=True)
        crops = _rules.tf_transpose_crops(i, k, s, d, pad, out, func=func)
    elif convention == "keras":
        no("output_size", output_size, None)
        pad = _word_or_pairs(convention, padding, 0, {"VALID": "valid", "SAME": "same"}, func=func)
        crops = _rules.keras_transpose_crops(i, k, s, d, pad, output_padding, func=func)
    elif convention == "jax":
        no("output_padding", output_padding, 0)
        no("output_size", output_size, None)
        pad = _word_or_pairs(convention, padding, nd, {"VALID": "valid", "SAME": "same"}, func=func)
        crops = _rules.jax_transpose_crops(k, s, d, pad, use_consistent_padding)
    else:  # onnx
        words = {w: w.lower() for w in _rules.ONNX_AUTO_PADS}
        pad = _word_or_pairs(convention, padding, nd, words, func=func)
        auto, pads = (pad, None) if isinstance(pad, str) else ("notset", _rules.pairs(
            "pads", pad, nd, func=func, nonnegative=True))
        op = per_axis("output_padding", 0 if output_padding is None else output_padding, nd, func=func, minimum=0)
        crops = _rules.onnx_transpose_crops(i, k, s, d, auto, pads, op, out, func=func)
    return conv_transpose_spec(*shapes, stride=s, padding=crops, dilation=d, func=func)[0]
