"""Shape arithmetic of convolution and transposed convolution, in pure integers.

This module is the single source of every size formula in convt: the
operators, the framework adapters, ``explain`` and the drawings all ask it.
Nothing here imports NumPy.

Glossary (per spatial axis)
---------------------------
``i``  input length          ``k``  kernel length        ``s``  stride
``d``  dilation (1 = none)   ``K = d*(k-1) + 1``  the dilated ("effective") kernel
``F = (i-1)*s + K``  the length of the *full* transposed-convolution result
``lo, hi``  padding of a direct convolution (negative: the input is cropped)
``cb, ce``  crop of the full transposed result at its begin and end
            (negative: the result is extended with zeros there)
``op``  output_padding: elements added at the end (``ce -= op``)

A direct convolution gives ``o = (i + lo + hi - K) // s + 1``; a transposed
one gives ``o = F - cb - ce``. A transposed convolution with crop ``(cb, ce)``
is the adjoint of the direct convolution with padding ``(cb, ce)`` that maps
its output size back to its input size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, NamedTuple, overload

from ._params import Padding, parse_padding, per_axis
from .errors import ConvError

__all__ = [
    "EquivalentDirect",
    "conv_input_range",
    "conv_input_sizes",
    "conv_length",
    "conv_matrix_taps",
    "conv_output_size",
    "conv_tap_window",
    "conv_transpose_output_padding",
    "conv_transpose_output_size",
    "drawn_length",
    "effective_kernel",
    "equivalent_direct",
    "full_length",
    "gather_positions",
    "jax_transpose_crop",
    "keras_transpose_crop",
    "onnx_transpose_crop",
    "output_padding_for",
    "overlap_counts",
    "pad_crop_window",
    "phase_overlap",
    "phase_overlap_even",
    "phase_padding",
    "phase_tap_window",
    "phase_taps",
    "resolve_conv_padding",
    "resolve_transpose_crop",
    "same_conv_padding",
    "same_input_range",
    "same_transpose_crop",
    "scatter_positions",
    "seed_case",
    "stretched_cell",
    "stride1_transpose_crop",
    "tapped_phases",
    "tf_transpose_crop",
    "tf_transpose_default_output",
    "tf_transpose_output_range",
    "tile_transform",
    "torch_conv_padding",
    "torch_transpose_crop",
    "transpose_length",
    "transpose_tap_range",
    "window_positions",
]


# --------------------------------------------------------------------------
# The atoms: one axis, plain ints, no validation.
# --------------------------------------------------------------------------
def effective_kernel(k: int, d: int = 1) -> int:
    """Length of a kernel of ``k`` taps with dilation ``d``: ``d*(k-1) + 1``.

    >>> effective_kernel(3, 2)
    5
    """
    return d * (k - 1) + 1


def full_length(i: int, k: int, s: int = 1, d: int = 1) -> int:
    """Length of the uncropped transposed-convolution result: ``(i-1)*s + d*(k-1) + 1``.

    >>> full_length(2, 3, 2)   # the seed's stride-2 example: 2 -> 5
    5
    """
    return (i - 1) * s + effective_kernel(k, d)


def conv_length(i: int, k: int, s: int = 1, lo: int = 0, hi: int = 0, d: int = 1) -> int:
    """Output length of a direct convolution: ``(i + lo + hi - K) // s + 1``.

    May be zero or negative when the padded input is shorter than the kernel;
    callers that need a valid size check it.

    >>> conv_length(6, 3, 2, 0, 1)   # the seed's "p = 0.5" case: 6 -> 3
    3
    """
    return (i + lo + hi - effective_kernel(k, d)) // s + 1


def transpose_length(i: int, k: int, s: int = 1, cb: int = 0, ce: int = 0, d: int = 1) -> int:
    """Output length of a transposed convolution: ``F - cb - ce``.

    >>> transpose_length(2, 3)   # the seed's first example: 2 -> 4
    4
    """
    return full_length(i, k, s, d) - cb - ce


def same_conv_padding(i: int, k: int, s: int = 1, d: int = 1, lower: bool = False) -> tuple[int, int]:
    """``(lo, hi)`` padding of a "same" direct convolution (output ``ceil(i/s)``).

    The total is ``max((o-1)*s + K - i, 0)``; an odd total puts the extra on
    the high side (TensorFlow SAME, ONNX SAME_UPPER) or, with ``lower``, on
    the low side (ONNX SAME_LOWER).

    >>> same_conv_padding(6, 3, 2), same_conv_padding(5, 3, 2)
    ((0, 1), (1, 1))
    >>> same_conv_padding(4, 4, 1, lower=True)
    (2, 1)
    """
    o = -(-i // s)
    total = max((o - 1) * s + effective_kernel(k, d) - i, 0)
    small = total // 2
    return (total - small, small) if lower else (small, total - small)


def same_transpose_crop(i: int, k: int, s: int = 1, d: int = 1, lower: bool = False) -> tuple[int, int]:
    """``(cb, ce)`` crop of a "same" transposed convolution (output ``i*s``).

    The crop total ``F - i*s`` is split with the extra at the end ("same":
    TensorFlow, Keras, JAX, ONNX SAME_UPPER) or at the start (``lower``: ONNX
    SAME_LOWER). A negative total (stride larger than the dilated kernel)
    extends the result with zeros at the end, as TensorFlow does.

    >>> same_transpose_crop(4, 3, 2), same_transpose_crop(4, 3, 2, lower=True)
    ((0, 1), (1, 0))
    >>> same_transpose_crop(3, 1, 2)
    (0, -1)
    """
    total = full_length(i, k, s, d) - i * s
    if total < 0:
        return (0, total)
    small = total // 2
    return (total - small, small) if lower else (small, total - small)


def conv_input_range(o: int, k: int, s: int = 1, lo: int = 0, hi: int = 0, d: int = 1) -> range:
    """Every input length that a direct convolution maps to output length ``o``.

    >>> conv_input_range(3, 3, 2)
    range(7, 9)
    """
    first = (o - 1) * s + effective_kernel(k, d) - lo - hi
    return range(max(first, 1), first + s)


def same_input_range(o: int, s: int = 1) -> range:
    """Every input length that a "same" convolution maps to ``o = ceil(i/s)``.

    >>> same_input_range(3, 2)
    range(5, 7)
    """
    return range((o - 1) * s + 1, o * s + 1)


class EquivalentDirect(NamedTuple):
    """The direct convolution that a transposed one equals (the seed's picture).

    Insert ``s - 1`` zeros between input elements (``stretched`` long), pad
    ``pad_lo`` and ``pad_hi`` (negative: crop), then correlate with the
    spatially flipped kernel at stride 1, dilation ``d``: ``output`` long.
    """

    stretched: int
    pad_lo: int
    pad_hi: int
    output: int


def equivalent_direct(i: int, k: int, s: int = 1, cb: int = 0, ce: int = 0, d: int = 1) -> EquivalentDirect:
    """The zero-insertion picture of a transposed convolution.

    ``pad_lo = d*(k-1) - cb`` and ``pad_hi = d*(k-1) - ce``.

    >>> equivalent_direct(2, 3)          # seed example 1: pad 2, 2 -> 4
    EquivalentDirect(stretched=2, pad_lo=2, pad_hi=2, output=4)
    >>> equivalent_direct(3, 3, 2, 1, 0)  # 3 -> 6, the extra zero at the end
    EquivalentDirect(stretched=5, pad_lo=1, pad_hi=2, output=6)
    """
    stretched = (i - 1) * s + 1
    pad_lo = d * (k - 1) - cb
    pad_hi = d * (k - 1) - ce
    return EquivalentDirect(stretched, pad_lo, pad_hi, transpose_length(i, k, s, cb, ce, d))


def seed_case(s: int, lo: int, hi: int) -> int:
    """Which of the seed's four cases a setting is (the padding of the direct conv).

    1: no zero padding, unit strides; 2: zero padding, unit strides;
    3: no zero padding, non-unit strides; 4: zero padding, non-unit strides.

    >>> seed_case(1, 0, 0), seed_case(1, 1, 1), seed_case(2, 0, 0), seed_case(2, 1, 1)
    (1, 2, 3, 4)
    """
    return 1 + (lo != 0 or hi != 0) + 2 * (s != 1)


def overlap_counts(i: int, k: int, s: int = 1, cb: int = 0, ce: int = 0, d: int = 1) -> tuple[int, ...]:
    """How many (input, tap) pairs reach each output position of a transposed conv.

    Uneven counts mean checkerboard risk (kernel not divisible by stride).

    >>> overlap_counts(4, 3, 2, 1, 0)
    (1, 2, 1, 2, 1, 2, 1, 1)
    >>> overlap_counts(4, 4, 2, 1, 1)
    (1, 2, 2, 2, 2, 2, 2, 1)
    """
    o = transpose_length(i, k, s, cb, ce, d)
    counts = [0] * max(o, 0)
    for j in range(i):
        for t in range(k):
            q = j * s + t * d - cb
            if 0 <= q < o:
                counts[q] += 1
    return tuple(counts)


def conv_matrix_taps(i: int, k: int, s: int = 1, lo: int = 0, hi: int = 0, d: int = 1) -> tuple[tuple[int, ...], ...]:
    """The matrix C of a 1-D direct convolution, as kernel-tap indices.

    Row ``r`` (output position) and column ``c`` (input position) hold the
    tap index ``t`` with ``r*s + t*d - lo == c``, or -1 where C is zero. The
    transposed convolution with the same parameters is ``C^T``.

    >>> conv_matrix_taps(4, 3)
    ((0, 1, 2, -1), (-1, 0, 1, 2))
    """
    o = conv_length(i, k, s, lo, hi, d)
    rows = []
    for r in range(max(o, 0)):
        row = [-1] * i
        for t in range(k):
            c = r * s + t * d - lo
            if 0 <= c < i:
                row[c] = t
        rows.append(tuple(row))
    return tuple(rows)


def transpose_tap_range(i: int, o: int, s: int, d: int, cb: int, t: int) -> tuple[int, int, int] | None:
    """Which inputs tap ``t`` of a transposed convolution sends into the output.

    Input ``j`` lands on output ``q = j*s + t*d - cb``. Returns ``(j0, j1, q0)``:
    inputs ``j0 .. j1`` (inclusive) reach outputs ``q0, q0 + s, ...`` inside
    ``[0, o)``, or ``None`` when this tap misses the output entirely.

    >>> transpose_tap_range(4, 8, 2, 1, 1, 0)   # k=3, s=2, p=1, op=1; tap 0
    (1, 3, 1)
    """
    off = t * d - cb
    j0 = max(0, -(off // s))          # smallest j with j*s + off >= 0
    j1 = min(i - 1, (o - 1 - off) // s)  # largest j with j*s + off <= o - 1
    if j0 > j1:
        return None
    return j0, j1, j0 * s + off


# --------------------------------------------------------------------------
# Pictures (issue 6: explain, draw, explorer): which cell each tap touches.
# --------------------------------------------------------------------------
def stretched_cell(u: int, i: int, s: int = 1) -> int:
    """What sits at position ``u`` of the stretched input of a transposed conv.

    The stretched input has ``s - 1`` zeros between the ``i`` inputs (input
    ``j`` at ``u = j*s``). Returns ``j``, ``-1`` for an inserted zero, or
    ``-2`` for a padding zero (``u`` outside ``[0, (i-1)*s]``).

    >>> [stretched_cell(u, 3, 2) for u in range(-1, 6)]
    [-2, 0, -1, 1, -1, 2, -2]
    """
    if u < 0 or u > (i - 1) * s:
        return -2
    return u // s if u % s == 0 else -1


def gather_positions(q: int, k: int, d: int = 1, pad_lo: int = 0) -> tuple[int, ...]:
    """Stretched-input positions that output ``q`` of a transposed conv reads.

    In the zero-insertion picture (:func:`equivalent_direct`) output ``q``
    correlates the flipped kernel at stride 1: position ``t`` of the window
    (holding ``w[k-1-t]``) sits at ``u = q - pad_lo + t*d``.

    >>> gather_positions(0, 3, 1, 2)   # seed example 1: the window starts in the padding
    (-2, -1, 0)
    """
    return tuple(q - pad_lo + t * d for t in range(k))


def window_positions(r: int, k: int, s: int = 1, d: int = 1, lo: int = 0) -> tuple[int, ...]:
    """Input positions that output ``r`` of a direct convolution reads (tap order).

    Tap ``t`` reads ``c = r*s + t*d - lo`` (negative or past the end: padding).

    >>> window_positions(1, 3, 2, 1, 1)
    (1, 2, 3)
    """
    return tuple(r * s + t * d - lo for t in range(k))


def scatter_positions(j: int, k: int, s: int = 1, d: int = 1, cb: int = 0) -> tuple[int, ...]:
    """Output positions that input ``j`` of a transposed conv paints (tap order).

    Tap ``t`` sends ``x[j] * w[t]`` to ``q = j*s + t*d - cb`` (outside
    ``[0, o)``: cropped away).

    >>> scatter_positions(1, 3, 2, 1, 1)
    (1, 2, 3)
    """
    return tuple(j * s + t * d - cb for t in range(k))


def phase_overlap(k: int, s: int = 1, d: int = 1) -> tuple[int, ...]:
    """Taps landing on each output phase ``q mod s`` away from the edges.

    Equal counts mean even overlap; unequal counts are the checkerboard
    pattern (for ``d = 1``: uneven unless ``k`` is divisible by ``s``).

    >>> phase_overlap(3, 2), phase_overlap(4, 2), phase_overlap(3, 1)
    ((2, 1), (2, 2), (3,))
    """
    counts = [0] * s
    for t in range(k):
        counts[(t * d) % s] += 1
    return tuple(counts)


def drawn_length(i: int, k: int, s: int = 1, lo: int = 0, hi: int = 0, d: int = 1, transposed: bool = False) -> int:
    """Cells per axis of the pictures' input: the padded input, or for a transposed convolution the
    stretched (zero-inserted) and padded input of its equivalent direct convolution (crops shorten it).

    >>> drawn_length(3, 3, 2, 1, 0, transposed=True), drawn_length(5, 3, lo=1, hi=1)
    (8, 7)
    """
    if transposed:
        eq = equivalent_direct(i, k, s, lo, hi, d)
        return eq.stretched + eq.pad_lo + eq.pad_hi
    return i + lo + hi


def phase_overlap_even(k: int, s: int = 1, d: int = 1) -> bool:
    """Whether every output phase gets the same number of taps (:func:`phase_overlap` all equal), in O(k).

    >>> phase_overlap_even(3, 2), phase_overlap_even(4, 2), phase_overlap_even(2, 10**9)
    (False, True, False)
    """
    if k < s:  # fewer taps than phases: some phase gets none
        return False
    counts: dict[int, int] = {}
    for t in range(k):
        counts[(t * d) % s] = counts.get((t * d) % s, 0) + 1
    return len(counts) == s and len(set(counts.values())) == 1


# --------------------------------------------------------------------------
# PyTorch layers (issue 4): a canonical pad/crop as torch's symmetric argument
# plus what is left for F.pad (negative: crop).
# --------------------------------------------------------------------------
def torch_conv_padding(lo: int, hi: int) -> tuple[int, int, int]:
    """Split a direct convolution's ``(lo, hi)`` padding into ``(p, lo - p, hi - p)``.

    ``p = max(min(lo, hi), 0)`` goes to the framework's symmetric padding
    argument; the rest is applied before (negative: a crop).

    >>> torch_conv_padding(1, 2), torch_conv_padding(-1, 2), torch_conv_padding(3, 3)
    ((1, 0, 1), (0, -1, 2), (3, 0, 0))
    """
    p = max(min(lo, hi), 0)
    return p, lo - p, hi - p


def torch_transpose_crop(cb: int, ce: int, s: int = 1, d: int = 1) -> tuple[int, int, int, int]:
    """Split a transposed convolution's crop into PyTorch's arguments and a rest.

    Returns ``(p, op, rb, re)``: PyTorch's ``padding=p`` with
    ``output_padding=op`` (``0 <= op < max(s, d)``) crops ``(p, p - op)`` of
    the full result; the rest ``(rb, re) = (cb - p, ce - p + op)`` is cropped
    afterwards (negative: extended with zeros).

    >>> torch_transpose_crop(1, 0, 2)    # padding=1, output_padding=1
    (1, 1, 0, 0)
    >>> torch_transpose_crop(0, 1, 2)    # "same" of k=3, s=2: crop the end only
    (0, 0, 0, 1)
    >>> torch_transpose_crop(0, -1, 2)   # one zero at the end: output_padding=1
    (0, 1, 0, 0)
    >>> torch_transpose_crop(2, -2, 2)   # crop 2 at the start, extend 2 at the end
    (0, 0, 2, -2)
    """
    m = max(s, d)
    p = max(0, min(cb, ce + m - 1))
    op = p - ce
    if not 0 <= op < m:
        p, op = max(0, min(cb, ce)), 0
    return p, op, cb - p, ce - p + op


# --------------------------------------------------------------------------
# Resolution: padding forms to the canonical (lo, hi) / (cb, ce), validated.
# --------------------------------------------------------------------------
def _too_small(func: str, what: str, sizes: Sequence[int], details: str) -> ConvError:
    return ConvError(
        f"{func}: the {what} would be {list(sizes)}, but every spatial size must be >= 1 "
        f"({details})"
    )


def resolve_conv_padding(
    i: Sequence[int], k: Sequence[int], s: Sequence[int], d: Sequence[int], padding: Padding, *, func: str
) -> tuple[tuple[int, int], ...]:
    """``(lo, hi)`` per axis for a direct convolution; checks the output is >= 1."""
    if padding == "valid":
        pads = tuple((0, 0) for _ in i)
    elif padding in ("same", "same_lower"):
        pads = tuple(same_conv_padding(*a, lower=padding == "same_lower") for a in zip(i, k, s, d))
    else:
        pads = tuple(padding)  # type: ignore[arg-type]
    o = [conv_length(ii, kk, ss, lo, hi, dd) for ii, kk, ss, (lo, hi), dd in zip(i, k, s, pads, d)]
    if min(o) < 1:
        raise _too_small(
            func, "output size", o,
            f"input {list(i)}, kernel {list(k)}, stride {list(s)}, padding {list(pads)}, "
            f"dilation {list(d)}: the padded input must be at least the dilated kernel "
            f"{[effective_kernel(kk, dd) for kk, dd in zip(k, d)]}",
        )
    return pads


def resolve_transpose_crop(
    i: Sequence[int], k: Sequence[int], s: Sequence[int], d: Sequence[int], padding: Padding,
    output_padding: Sequence[int], *, func: str, check_size: bool = True
) -> tuple[tuple[int, int], ...]:
    """``(cb, ce)`` per axis for a transposed convolution, ``output_padding`` included.

    Checks ``0 <= output_padding < max(stride, dilation)`` and (with
    ``check_size``) an output >= 1.
    """
    for a, (op, ss, dd) in enumerate(zip(output_padding, s, d)):
        if not 0 <= op < max(ss, dd):
            raise ConvError(
                f"{func}: output_padding must satisfy 0 <= output_padding < max(stride, "
                f"dilation) on every axis, got {op} on axis {a} (stride {ss}, dilation {dd}); "
                f"valid: 0 to {max(ss, dd) - 1}"
            )
    if padding == "valid":
        crop = tuple((0, 0) for _ in i)
    elif padding in ("same", "same_lower"):
        crop = tuple(same_transpose_crop(*a, lower=padding == "same_lower") for a in zip(i, k, s, d))
    else:
        crop = tuple(padding)  # type: ignore[arg-type]
    crop = tuple((cb, ce - op) for (cb, ce), op in zip(crop, output_padding))
    o = [transpose_length(ii, kk, ss, cb, ce, dd) for ii, kk, ss, (cb, ce), dd in zip(i, k, s, crop, d)]
    if check_size and min(o) < 1:
        raise _too_small(
            func, "output size", o,
            f"input {list(i)}, kernel {list(k)}, stride {list(s)}, dilation {list(d)}: the full "
            f"result {[full_length(*a) for a in zip(i, k, s, d)]} minus the crop "
            f"{list(crop)} (padding at begin, end - output_padding)",
        )
    return crop


def output_padding_for(
    i: Sequence[int], o: Sequence[int], k: Sequence[int], s: Sequence[int], d: Sequence[int],
    crop: Sequence[tuple[int, int]], *, func: str
) -> tuple[int, ...]:
    """The output_padding that makes a transposed convolution ``o`` long.

    The valid sizes per axis run from ``F - cb - ce`` to that plus
    ``max(stride, dilation) - 1``; anything else raises :class:`ConvError`
    naming that range (PyTorch's message, with dilation taken into account).
    """
    lows = [transpose_length(ii, kk, ss, cb, ce, dd) for ii, kk, ss, (cb, ce), dd in zip(i, k, s, crop, d)]
    highs = [lo + max(ss, dd) - 1 for lo, ss, dd in zip(lows, s, d)]
    if any(not lo <= oo <= hi for oo, lo, hi in zip(o, lows, highs)):
        where = (f"for an input of {list(i)}, kernel {list(k)}, stride {list(s)}, dilation {list(d)}, "
                 f"crop {list(crop)}")
        if min(highs) < 1:  # the crop leaves nothing to pad back to a size
            raise ConvError(
                f"{func}: requested an output size of {list(o)}, but no output size is possible: the crop "
                f"removes the whole result on axis {highs.index(min(highs))} (the full result "
                f"{[full_length(*a) for a in zip(i, k, s, d)]} minus the crop, plus at most max(stride, "
                f"dilation) - 1, is {highs}; {where}); a smaller padding would be valid"
            )
        raise ConvError(f"{func}: requested an output size of {list(o)}, but valid sizes range from "
                        f"{[max(lo, 1) for lo in lows]} to {highs} ({where})")
    return tuple(oo - lo for oo, lo in zip(o, lows))


# --------------------------------------------------------------------------
# The public functions (API.md): an int in gives an int out, a sequence a tuple.
# --------------------------------------------------------------------------
def _rank(func: str, name: str, value: Any) -> tuple[int, bool]:
    if isinstance(value, str):
        raise TypeError(f"{func}: {name} must be an int or a sequence of ints, got str {value!r}")
    if isinstance(value, Sequence) or (hasattr(value, "__len__") and getattr(value, "ndim", 1) != 0):  # 0-d: an int
        n = len(value)
        if n == 0:
            raise ConvError(f"{func}: {name} must have at least one spatial axis, got {value!r}")
        return n, False
    return 1, True


def _common(func: str, input_name: str, size: Any, kernel_size: Any, stride: Any, dilation: Any):
    nd, scalar = _rank(func, input_name, size)
    i = per_axis(input_name, size, nd, func=func, minimum=1)
    k = per_axis("kernel_size", kernel_size, nd, func=func, minimum=1)
    s = per_axis("stride", stride, nd, func=func, minimum=1)
    d = per_axis("dilation", dilation, nd, func=func, minimum=1)
    return nd, scalar, i, k, s, d


@overload
def conv_output_size(input_size: int, kernel_size: Any, *, stride: Any = ..., padding: Any = ..., dilation: Any = ...) -> int: ...
@overload
def conv_output_size(input_size: Sequence[int], kernel_size: Any, *, stride: Any = ..., padding: Any = ..., dilation: Any = ...) -> tuple[int, ...]: ...
def conv_output_size(input_size, kernel_size, *, stride=1, padding=0, dilation=1):
    """Spatial output size of a direct convolution.

    Parameters
    ----------
    input_size : int or sequence of int
        Spatial input size ``i`` (one int per axis).
    kernel_size, stride, dilation : int or sequence of int
        Per axis, or one int for every axis.
    padding : int, sequence, or {"valid", "same", "same_lower"}
        Symmetric padding, one int or one ``(lo, hi)`` pair per axis, or a word.

    Returns
    -------
    int or tuple of int
        An int for an int ``input_size``, else a tuple.

    Notes
    -----
    Shape: ``o = floor((i + lo + hi - d*(k-1) - 1) / s) + 1``; "same" gives
    ``ceil(i / s)``.

    Examples
    --------
    >>> conv_output_size(6, 3, stride=2, padding="same")
    3
    >>> conv_output_size((28, 28), 3, stride=2, padding=[(0, 1), 1])
    (14, 14)
    """
    func = "conv_output_size"
    nd, scalar, i, k, s, d = _common(func, "input_size", input_size, kernel_size, stride, dilation)
    pads = resolve_conv_padding(i, k, s, d, parse_padding("padding", padding, nd, func=func), func=func)
    o = tuple(conv_length(*a, lo, hi, dd) for a, (lo, hi), dd in zip(zip(i, k, s), pads, d))
    return o[0] if scalar else o


@overload
def conv_transpose_output_size(input_size: int, kernel_size: Any, *, stride: Any = ..., padding: Any = ..., output_padding: Any = ..., dilation: Any = ...) -> int: ...
@overload
def conv_transpose_output_size(input_size: Sequence[int], kernel_size: Any, *, stride: Any = ..., padding: Any = ..., output_padding: Any = ..., dilation: Any = ...) -> tuple[int, ...]: ...
def conv_transpose_output_size(input_size, kernel_size, *, stride=1, padding=0, output_padding=0, dilation=1):
    """Spatial output size of a transposed convolution.

    Parameters
    ----------
    input_size : int or sequence of int
        Spatial input size ``i``.
    kernel_size, stride, dilation, output_padding : int or sequence of int
        Per axis, or one int for every axis.
    padding : int, sequence, or {"valid", "same", "same_lower"}
        The crop of the full result: symmetric, one int or ``(begin, end)``
        pair per axis (negative extends with zeros), or a word.

    Returns
    -------
    int or tuple of int

    Notes
    -----
    Shape: ``o = (i - 1)*s - lo - hi + d*(k - 1) + output_padding + 1``;
    "same" gives ``i*s``.

    Examples
    --------
    >>> conv_transpose_output_size(2, 3, padding=0)            # seed example 1
    4
    >>> conv_transpose_output_size(3, 3, stride=2, padding=1, output_padding=1)
    6
    >>> conv_transpose_output_size((4, 7), 3, stride=2, padding="same")
    (8, 14)
    """
    func = "conv_transpose_output_size"
    nd, scalar, i, k, s, d = _common(func, "input_size", input_size, kernel_size, stride, dilation)
    op = per_axis("output_padding", output_padding, nd, func=func)
    crop = resolve_transpose_crop(i, k, s, d, parse_padding("padding", padding, nd, func=func), op, func=func)
    o = tuple(transpose_length(*a, cb, ce, dd) for a, (cb, ce), dd in zip(zip(i, k, s), crop, d))
    return o[0] if scalar else o


@overload
def conv_transpose_output_padding(input_size: int, output_size: Any, kernel_size: Any, *, stride: Any = ..., padding: Any = ..., dilation: Any = ...) -> int: ...
@overload
def conv_transpose_output_padding(input_size: Sequence[int], output_size: Any, kernel_size: Any, *, stride: Any = ..., padding: Any = ..., dilation: Any = ...) -> tuple[int, ...]: ...
def conv_transpose_output_padding(input_size, output_size, kernel_size, *, stride=1, padding=0, dilation=1):
    """The output_padding that makes a transposed convolution produce ``output_size``.

    Parameters
    ----------
    input_size, output_size : int or sequence of int
        Spatial sizes of the transposed convolution's input and wanted output.
    kernel_size, stride, dilation : int or sequence of int
    padding : int, sequence, or {"valid", "same", "same_lower"}

    Returns
    -------
    int or tuple of int
        ``op`` per axis, ``0 <= op < max(stride, dilation)``.

    Raises
    ------
    ConvError
        If ``output_size`` is outside the valid range, which the message names.

    Notes
    -----
    Shape: ``op = o - ((i - 1)*s - lo - hi + d*(k - 1) + 1)``.

    Examples
    --------
    >>> conv_transpose_output_padding(3, 6, 3, stride=2, padding=1)   # 3 -> 6, not 5
    1
    >>> conv_transpose_output_padding(3, 7, 3, stride=2, padding=1)
    Traceback (most recent call last):
    ...
    convt.errors.ConvError: conv_transpose_output_padding: requested an output size of [7], but valid sizes range from [5] to [6] (for an input of [3], kernel [3], stride [2], dilation [1], crop [(1, 1)])
    """
    func = "conv_transpose_output_padding"
    nd, scalar, i, k, s, d = _common(func, "input_size", input_size, kernel_size, stride, dilation)
    o = per_axis("output_size", output_size, nd, func=func, minimum=1)
    crop = resolve_transpose_crop(i, k, s, d, parse_padding("padding", padding, nd, func=func), (0,) * nd,
                                  func=func, check_size=False)
    op = output_padding_for(i, o, k, s, d, crop, func=func)
    return op[0] if scalar else op


@overload
def conv_input_sizes(output_size: int, kernel_size: Any, *, stride: Any = ..., padding: Any = ..., dilation: Any = ...) -> range: ...
@overload
def conv_input_sizes(output_size: Sequence[int], kernel_size: Any, *, stride: Any = ..., padding: Any = ..., dilation: Any = ...) -> tuple[range, ...]: ...
def conv_input_sizes(output_size, kernel_size, *, stride=1, padding=0, dilation=1):
    """Every input size that a direct convolution maps to ``output_size``.

    This is the seed's ambiguity: a strided convolution maps up to ``stride``
    input sizes to one output size, so its transpose must be told which one
    to produce (output_padding, output_shape or a padding word).

    Parameters
    ----------
    output_size : int or sequence of int
    kernel_size, stride, dilation : int or sequence of int
    padding : int, sequence, or {"valid", "same", "same_lower"}

    Returns
    -------
    range or tuple of range
        Per axis, the input sizes ``i`` with ``conv_output_size(i) == o``.

    Notes
    -----
    Shape: ``i`` in ``[(o-1)*s + K - lo - hi, (o-1)*s + K - lo - hi + s - 1]``;
    for "same", ``[(o-1)*s + 1, o*s]``.

    Examples
    --------
    >>> conv_input_sizes(3, 3, stride=2, padding="same")   # the seed: 5 or 6 -> 3
    range(5, 7)
    >>> conv_input_sizes((3, 4), 3, stride=2)
    (range(7, 9), range(9, 11))
    """
    func = "conv_input_sizes"
    nd, scalar, o, k, s, d = _common(func, "output_size", output_size, kernel_size, stride, dilation)
    pad = parse_padding("padding", padding, nd, func=func)
    out = []
    for a, (oo, kk, ss, dd) in enumerate(zip(o, k, s, d)):
        if pad in ("same", "same_lower"):
            r = same_input_range(oo, ss)
        elif pad == "valid":
            r = conv_input_range(oo, kk, ss, 0, 0, dd)
        else:
            lo, hi = pad[a]  # type: ignore[index]
            r = conv_input_range(oo, kk, ss, lo, hi, dd)
        if not r:  # (bool, not len: a range may be longer than an index can be)
            raise ConvError(
                f"{func}: no input size gives output size {oo} on axis {a} (kernel {kk}, "
                f"stride {ss}, padding {pad if isinstance(pad, str) else pad[a]}, dilation {dd})"
            )
        out.append(r)
    return out[0] if scalar else tuple(out)


# --------------------------------------------------------------------------
# Framework conventions (issue 3: convt.compat): each framework's rule for
# the (cb, ce) crop of the full transposed result, one axis, plain ints.
# Words are lower case here; the adapters in convt.compat map the
# frameworks' own spellings onto them.
# --------------------------------------------------------------------------
def tf_transpose_output_range(i: int, k: int, s: int = 1, d: int = 1, padding: Any = "same") -> range:
    """The ``output_shape`` sizes TensorFlow accepts for a transposed convolution.

    TensorFlow computes a transposed convolution as the gradient of the
    direct convolution whose input has the requested size ``o``, so it
    accepts exactly the ``o`` that this direct convolution maps back to ``i``
    (``padding`` is "same", "valid" or a ``(before, after)`` pair).

    >>> tf_transpose_output_range(4, 3, 2, 1, "same"), tf_transpose_output_range(4, 3, 2, 1, "valid")
    (range(7, 9), range(9, 11))
    >>> tf_transpose_output_range(4, 3, 2, 1, (1, 1))
    range(7, 9)
    """
    if padding == "same":
        return same_input_range(i, s)
    lo, hi = (0, 0) if padding == "valid" else padding
    return conv_input_range(i, k, s, lo, hi, d)


def tf_transpose_crop(i: int, o: int, k: int, s: int = 1, d: int = 1, padding: Any = "same") -> tuple[int, int]:
    """``(cb, ce)`` of TensorFlow's transposed convolution with ``output_shape`` ``o``.

    The crop at the start is the padding at the start of the direct
    convolution of an ``o``-long input (SAME: ``P // 2`` with
    ``P = max((i-1)*s + K - o, 0)``, the odd extra at the end; VALID: 0;
    explicit: ``before``); the rest of ``F - o`` is cropped at the end
    (negative: zeros appended). ``o`` must lie in
    :func:`tf_transpose_output_range`.

    >>> tf_transpose_crop(4, 8, 3, 2), tf_transpose_crop(4, 7, 3, 2)   # vector 3
    ((0, 1), (1, 1))
    >>> tf_transpose_crop(3, 6, 1, 2), tf_transpose_crop(4, 10, 3, 2, 1, "valid")
    ((0, -1), (0, -1))
    """
    if padding == "same":
        cb = max((i - 1) * s + effective_kernel(k, d) - o, 0) // 2
    elif padding == "valid":
        cb = 0
    else:
        cb = padding[0]
    return cb, full_length(i, k, s, d) - o - cb


def tf_transpose_default_output(i: int, k: int, s: int = 1, d: int = 1, padding: Any = "same") -> int:
    """The ``output_shape`` convt assumes when none is given (``convt explain``).

    What Keras' ``Conv*DTranspose`` (output_padding None) asks TensorFlow
    for: SAME ``i*s``; VALID ``(i-1)*s + max(K, s)``; explicit pads the
    smallest valid size ``F - before - after``.

    >>> tf_transpose_default_output(4, 3, 2), tf_transpose_default_output(3, 1, 2, 1, "valid")
    (8, 6)
    """
    if padding == "same":
        return i * s
    if padding == "valid":
        return (i - 1) * s + max(effective_kernel(k, d), s)
    return full_length(i, k, s, d) - padding[0] - padding[1]


def keras_transpose_crop(i: int, k: int, s: int = 1, d: int = 1, padding: str = "valid",
                         output_padding: int | None = None) -> tuple[int, int]:
    """``(cb, ce)`` of Keras 3's ``Conv*DTranspose`` / ``keras.ops.conv_transpose``.

    Output size: valid ``(i-1)*s + K + op`` with ``op = max(K, s) - K`` when
    output_padding is None; same ``i*s`` when it is None, else
    ``(i-1)*s + K % 2 + op``. Of the crop total ``T = F - o``, ``max(T // 2, 0)``
    goes to the start (Keras' JAX-style padding
    ``left = min(ceil(L/2), K-1)``, ``L = 2K - 2 - T``), the rest to the end.

    >>> keras_transpose_crop(4, 3, 2, 1, "same"), keras_transpose_crop(3, 1, 2, 1, "valid")
    ((0, 1), (0, -1))
    >>> keras_transpose_crop(4, 4, 2, 1, "same", 0)   # vector 7 (the TF backend refuses it)
    (2, 2)
    """
    kk = effective_kernel(k, d)
    if padding == "valid":
        op = max(kk, s) - kk if output_padding is None else output_padding
        o = (i - 1) * s + kk + op
    elif output_padding is None:
        o = i * s
    else:
        o = (i - 1) * s + kk % 2 + output_padding
    total = full_length(i, k, s, d) - o
    cb = max(total // 2, 0) if padding == "same" else 0
    return cb, total - cb


def jax_transpose_crop(k: int, s: int = 1, d: int = 1, padding: Any = "same",
                       use_consistent_padding: bool = False) -> tuple[int, int]:
    """``(cb, ce)`` of ``jax.lax.conv_transpose`` (JAX's ``_conv_transpose_padding``).

    JAX pads the stride-dilated input by ``(a, b)`` and correlates, so
    ``cb = K-1-a`` and ``ce = K-1-b``. SAME: ``L = K+s-2``, ``a = K-1`` if
    ``s > K-1`` else ``ceil(L/2)``; VALID: ``L = K+s-2+max(K-s, 0)``,
    ``a = K-1``; ``b = L - a``. A ``(lo, hi)`` pair is the padding of the
    forward convolution (``cb, ce = lo, hi``) with ``use_consistent_padding``,
    and by default the padding of the dilated input itself (``a, b = lo, hi``).

    >>> jax_transpose_crop(3, 2, 1, "same"), jax_transpose_crop(1, 2, 1, "valid")
    ((0, 1), (0, -1))
    >>> jax_transpose_crop(3, 2, 1, (0, 0)), jax_transpose_crop(3, 2, 1, (1, 0), True)   # vector 9
    ((2, 2), (1, 0))
    """
    kk = effective_kernel(k, d)
    if isinstance(padding, str):
        if padding == "same":
            total = kk + s - 2
            a = kk - 1 if s > kk - 1 else -(-total // 2)
        else:
            total = kk + s - 2 + max(kk - s, 0)
            a = kk - 1
        return kk - 1 - a, kk - 1 - (total - a)
    lo, hi = padding
    if use_consistent_padding:
        return lo, hi
    return kk - 1 - lo, kk - 1 - hi


def onnx_transpose_crop(i: int, k: int, s: int = 1, d: int = 1, auto_pad: str = "notset",
                        pads: tuple[int, int] = (0, 0), output_padding: int = 0,
                        output_shape: int | None = None) -> tuple[int, int]:
    """``(cb, ce)`` of ONNX ``ConvTranspose`` as ONNX Runtime computes it.

    With ``output_shape`` ``o``: ``P = max(F + op - o, 0)``; SAME_UPPER puts
    ``P // 2`` at the start, every other auto_pad (NOTSET, SAME_LOWER,
    VALID) ``P - P // 2`` (ONNX since PR #3440); the output is ``o`` long
    (ORT accepts ``1 <= o <= F + s - 1``; above ``F + op`` zeros are appended).
    Otherwise SAME_UPPER / SAME_LOWER: ``P = max(F + op - i*s, 0)`` split
    with the extra at the end / start; VALID: no crop; NOTSET: ``pads``.
    output_padding is appended at the end: ``ce = pad_end - op``.

    >>> onnx_transpose_crop(4, 3, 2, 1, "same_upper"), onnx_transpose_crop(4, 3, 2, 1, "same_lower")
    ((0, 1), (1, 0))
    >>> onnx_transpose_crop(4, 3, 2, 1, output_shape=8), onnx_transpose_crop(3, 1, 2, 1, "same_upper")
    ((1, 0), (0, 0))
    >>> onnx_transpose_crop(4, 3, 2, 1, "same_upper", output_padding=1)   # vector 5
    (1, 0)
    """
    f = full_length(i, k, s, d) + output_padding
    if output_shape is not None:
        total = max(f - output_shape, 0)
        cb = total // 2 if auto_pad == "same_upper" else total - total // 2
        return cb, f - output_shape - cb - output_padding
    if auto_pad in ("same_upper", "same_lower"):
        total = max(f - i * s, 0)
        cb = total // 2 if auto_pad == "same_upper" else total - total // 2
        return cb, total - cb - output_padding
    if auto_pad == "valid":
        return 0, -output_padding
    return pads[0], pads[1] - output_padding


# --- algorithms: phase decomposition ---
# The sub-pixel (phase) form of a transposed convolution, per axis: output
# q = r + s*m (phase r) receives only the taps t with t*d = r + cb (mod s).
def phase_taps(i: int, k: int, s: int, d: int, cb: int, o: int, r: int) -> tuple[int, tuple[tuple[int, int], ...]]:
    """Output phase ``r`` of a transposed convolution as a dense stride-1 correlation.

    The outputs ``q = r + s*m`` (``0 <= m < count``) are
    ``y[q] = sum over (t, off) of w[t] * x[m + off]``, ``x`` zero outside
    ``[0, i)``. Returns ``(count, pairs)``; taps that read only zeros for
    every ``m`` are left out.

    >>> phase_taps(4, 3, 2, 1, 1, 8, 0)   # k=3, s=2, p=1, op=1: even outputs take tap 1
    (4, ((1, 0),))
    >>> phase_taps(4, 3, 2, 1, 1, 8, 1)   # odd outputs take taps 0 and 2
    (4, ((0, 1), (2, 0)))
    """
    count = max(0, (o - r + s - 1) // s)
    pairs = []
    for t in range(k):
        a = r + cb - t * d
        if a % s:
            continue
        off = a // s
        if off < i and off + count > 0:
            pairs.append((t, off))
    return count, tuple(pairs)


def tapped_phases(i: int, k: int, s: int, d: int, cb: int, o: int) -> tuple[tuple[int, int, tuple[tuple[int, int], ...]], ...]:
    """The output phases some tap reaches, ``(r, count, pairs)`` as :func:`phase_taps`, in increasing ``r``.

    Tap ``t`` can only feed phase ``r = (t*d - cb) mod s``, so this costs
    O(k) whatever the stride; the other phases of ``range(min(s, o))`` are
    zeros (a stride of 10**6 has 10**6 phases, at most ``k`` of them tapped).

    >>> tapped_phases(4, 3, 2, 1, 1, 8)
    ((0, 4, ((1, 0),)), (1, 4, ((0, 1), (2, 0))))
    >>> [r for r, _, _ in tapped_phases(3, 2, 10**9, 1, 0, 2 * 10**9 + 2)]
    [0, 1]
    """
    out = []
    for r in sorted({(t * d - cb) % s for t in range(k)}):
        if r < min(s, o):
            count, pairs = phase_taps(i, k, s, d, cb, o, r)
            if pairs:
                out.append((r, count, pairs))
    return tuple(out)


def phase_padding(i: int, k: int, s: int, d: int, cb: int, o: int) -> tuple[int, int]:
    """Zeros to add before and after the input so that every phase reads inside it.

    >>> phase_padding(4, 3, 2, 1, 1, 8)
    (0, 1)
    >>> phase_padding(3, 4, 2, 1, -2, 12)   # a negative crop reads further out
    (2, 2)
    """
    lo = hi = 0
    for _, count, pairs in tapped_phases(i, k, s, d, cb, o):
        for _, off in pairs:
            lo, hi = max(lo, -off), max(hi, off + count - i)
    return lo, hi


def phase_tap_window(i: int, count: int, off: int) -> tuple[int, int]:
    """The phase positions ``m0 <= m < m1`` whose input ``m + off`` lies in ``[0, i)``.

    >>> phase_tap_window(4, 4, 1)   # inputs 1..3 feed positions 0..2
    (0, 3)
    >>> phase_tap_window(4, 5, -1)
    (1, 5)
    """
    return max(0, -off), max(max(0, -off), min(count, i - off))


def stride1_transpose_crop(k: int, d: int, lo: int, hi: int) -> tuple[int, int]:
    """The crop of the stride-1 transposed convolution (flipped kernel) equal to a stride-1 direct one.

    A direct convolution with padding ``(lo, hi)`` reads ``x[q + t*d - lo]``;
    the transposed one of the flipped kernel reads ``x[q + cb - (k-1-t)*d]``.

    >>> stride1_transpose_crop(3, 1, 1, 1)   # "same" 3-tap convolution
    (1, 1)
    >>> stride1_transpose_crop(3, 2, 0, -1)
    (4, 5)
    """
    return d * (k - 1) - lo, d * (k - 1) - hi


def tile_transform(r: int, halves: bool = True) -> tuple[tuple[tuple[Fraction, ...], ...], ...]:
    """Two outputs of an ``r``-tap correlation from ``r + 1`` inputs: ``y = AT (G g * BT a)``.

    ``y[e] = sum_j g[j] * a[e + j]`` for ``e`` in 0, 1 equals, with the
    elementwise product over the rows (the "coordinates"),
    ``sum_c AT[e][c] * (G[c] . g) * (BT[c] . a)``. Winograd's minimal
    filtering F(2, r) takes ``r + 1`` products where the direct sum takes
    ``2 r``: F(2, 2) (3 for 4, entries 0 and +-1) and F(2, 3) (4 for 6,
    ``G`` has halves; ``halves=False`` refuses it, for integer data). Any
    other ``r`` gets the direct sum in the same form: coordinate ``(e, j)``
    reads ``a[e + j]`` and tap ``j``. ``BT`` and ``AT`` hold only 0 and +-1.

    Returns ``(BT, G, AT)`` of shapes ``(c, r + 1)``, ``(c, r)``, ``(2, c)``.

    >>> bt, g, at = tile_transform(2)
    >>> a, w = (5, 7, 11), (2, 3)
    >>> m = [sum(x * y for x, y in zip(gr, w)) * sum(x * y for x, y in zip(br, a)) for br, gr in zip(bt, g)]
    >>> [sum(c * v for c, v in zip(row, m)) for row in at] == [5*2 + 7*3, 7*2 + 11*3]
    True
    >>> len(tile_transform(3)[0]), len(tile_transform(3, halves=False)[0]), len(tile_transform(4)[0])
    (4, 6, 8)
    """
    f = Fraction
    if r == 2:
        return (((f(1), f(-1), f(0)), (f(0), f(1), f(0)), (f(0), f(-1), f(1))),
                ((f(1), f(0)), (f(1), f(1)), (f(0), f(1))),
                ((f(1), f(1), f(0)), (f(0), f(1), f(1))))
    if r == 3 and halves:
        h = f(1, 2)
        return (((f(1), f(0), f(-1), f(0)), (f(0), f(1), f(1), f(0)), (f(0), f(-1), f(1), f(0)),
                 (f(0), f(1), f(0), f(-1))),
                ((f(1), f(0), f(0)), (h, h, h), (h, -h, h), (f(0), f(0), f(1))),
                ((f(1), f(1), f(1), f(0)), (f(0), f(1), f(-1), f(-1))))
    coords = [(e, j) for e in range(2) for j in range(r)]
    return (tuple(tuple(f(int(i == e + j)) for i in range(r + 1)) for e, j in coords),
            tuple(tuple(f(int(t == j)) for t in range(r)) for _, j in coords),
            tuple(tuple(f(int(e == e2)) for e, _ in coords) for e2 in range(2)))


#: the interpolation points of :func:`cook_toom`, in the order they are taken (then infinity): the small
#: integers first, whose transforms are the best conditioned (Lavin and Gray's F(4, 3))
COOK_TOOM_POINTS = (Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2), Fraction(1, 2), Fraction(-1, 2))


def cook_toom(m: int, r: int, d: int = 1, fractions: bool = True) -> tuple[tuple[tuple[Fraction, ...], ...], ...]:
    """``m`` outputs of an ``r``-tap correlation, dilation ``d``: ``y = AT (G g * BT a)``, exact.

    ``y[e] = sum_j g[j] * a[e + j*d]`` for ``0 <= e < m`` equals, with the
    elementwise product over the rows ("coordinates"), ``sum_c AT[e][c] *
    (G[c] . g) * (BT[c] . a)``. Winograd's minimal filtering F(m, r) (Toom-Cook
    on ``n = m + r - 1`` points, infinity last: ``AT`` and ``G`` evaluate,
    ``BT`` is the transposed interpolation, each row scaled to integers)
    takes ``n`` products where the direct sum takes ``m r``: F(4, 3) 36 for
    144 in 2-D. It needs ``d == 1``, ``r > 1``, ``m > 1``, at most
    ``len(COOK_TOOM_POINTS) + 1`` points, and ``fractions`` (``G`` has them:
    not for integer data); otherwise the direct sum in the same form,
    coordinate ``(e, j)`` reading ``a[e + j*d]`` and tap ``j``, all entries 0
    and 1.

    Returns ``(BT, G, AT)`` of shapes ``(n, m + d*(r - 1))``, ``(n, r)``, ``(m, n)``.

    >>> bt, g, at = cook_toom(4, 3)
    >>> [[int(v) for v in row] for row in at]
    [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
    >>> a, w = (3, 1, 4, 1, 5, 9), (2, 7, 1)
    >>> prods = [sum(x * y for x, y in zip(gr, w)) * sum(x * y for x, y in zip(br, a)) for br, gr in zip(bt, g)]
    >>> [sum(c * v for c, v in zip(row, prods)) for row in at] == [sum(w[j] * a[e + j] for j in range(3))
    ...                                                             for e in range(4)]
    True
    >>> [len(cook_toom(4, 3, fractions=False)[0]), len(cook_toom(2, 3, d=2)[0][0])]   # direct: 8 coordinates, 6 inputs
    [12, 6]
    """
    f = Fraction
    n = m + r - 1
    if d != 1 or r == 1 or m == 1 or not fractions or n > len(COOK_TOOM_POINTS) + 1:
        coords = [(e, j) for e in range(m) for j in range(r)]
        return (tuple(tuple(f(int(i == e + j * d)) for i in range(m + d * (r - 1))) for e, j in coords),
                tuple(tuple(f(int(t == j)) for t in range(r)) for _, j in coords),
                tuple(tuple(f(int(e == e2)) for e, _ in coords) for e2 in range(m)))
    points = COOK_TOOM_POINTS[:n - 1]

    def evaluate(k: int) -> list[list[Fraction]]:  # a polynomial of k coefficients at each point (infinity last)
        return [[p ** e for e in range(k)] for p in points] + [[f(int(e == k - 1)) for e in range(k)]]

    vn = evaluate(n)  # invert it (Gauss-Jordan, exact): its inverse interpolates
    aug = [row + [f(int(i == j)) for j in range(n)] for i, row in enumerate(vn)]
    for c in range(n):
        pivot = next(i for i in range(c, n) if aug[i][c] != 0)
        aug[c], aug[pivot] = aug[pivot], aug[c]
        aug[c] = [v / aug[c][c] for v in aug[c]]
        for i in range(n):
            if i != c and aug[i][c] != 0:
                aug[i] = [v - aug[i][c] * u for v, u in zip(aug[i], aug[c])]
    interp = [row[n:] for row in aug]
    g, bt = evaluate(r), [[interp[j][c] for j in range(n)] for c in range(n)]
    for c in range(n):  # each row of BT to integers, G's row divided to match
        scale = math.lcm(*(v.denominator for v in bt[c]))
        bt[c], g[c] = [v * scale for v in bt[c]], [v / scale for v in g[c]]
    at = [[evaluate(m)[c][e] for c in range(n)] for e in range(m)]
    return tuple(map(tuple, bt)), tuple(map(tuple, g)), tuple(map(tuple, at))


def winograd_axis(i: int, o: int, k: int, d: int, lo: int, m: int) -> tuple[int, int, int]:
    """One axis of a stride-1 transposed convolution as ``m``-output correlation tiles: ``(tiles, length, pad)``.

    The transposed convolution (begin crop ``lo``) reads, for output ``q``,
    ``x[q + lo - t*d]`` with tap ``t``: the correlation of the flipped kernel
    with ``x`` padded by ``pad = d*(k - 1) - lo`` in front (a crop where
    negative). ``tiles`` cover the ``o`` outputs, ``m`` each, and read
    ``length = m*(tiles - 1) + m + d*(k - 1)`` padded inputs (zeros past
    ``x``).

    >>> winograd_axis(32, 32, 3, 1, 1, 4)   # 3 x 3 "same": 8 tiles of 4 read 34 inputs, one zero in front
    (8, 34, 1)
    """
    tiles = -(-o // m)
    return tiles, m * tiles + d * (k - 1), d * (k - 1) - lo


def pad_crop_window(n: int, lo: int, hi: int) -> tuple[int, int, int]:
    """Zero-pad (positive) or crop (negative) an axis of ``n`` by ``(lo, hi)``: what of it is kept, and where.

    Returns ``(start, stop, at)``: ``x[start:stop]`` lands at
    ``out[at:at + stop - start]`` of the ``n + lo + hi`` result, the rest
    being zeros. A crop may reach past the data into the zeros added on the
    other side; then nothing is kept (``start == stop``).

    >>> pad_crop_window(5, 1, -2)    # one zero, then x[0:3]
    (0, 3, 1)
    >>> pad_crop_window(3, 2, -4)    # the crop eats x and one of the zeros: out is one zero
    (0, 0, 1)
    """
    start = min(max(-lo, 0), n)
    stop = max(n - max(-hi, 0), start)
    return start, stop, min(max(lo, 0), max(n + lo + hi, 0))


# --- algorithms: im2col straight from the unpadded input (convt.algorithms.im2col) ---


def reaching_pairs(i: int, o: int, k: int, s: int, d: int, lo: int, transposed: bool) -> int:
    """The (pixel, tap) pairs of one axis that join an input inside ``[0, i)`` to an output inside ``[0, o)``.

    Transposed (``lo`` the crop at the start): input ``j`` and tap ``t`` land on
    ``j*s + t*d - lo`` (:func:`transpose_tap_range`); direct (``lo`` the padding
    at the start): output ``q`` and tap ``t`` read ``q*s + t*d - lo``
    (:func:`conv_tap_window`). The others land in the crop or read padding:
    no result depends on them. A layer and its adjoint have the same pairs.

    >>> reaching_pairs(4, 8, 4, 2, 1, 1, True), reaching_pairs(8, 4, 4, 2, 1, 1, False)   # DCGAN's 4 -> 8
    (14, 14)
    >>> reaching_pairs(3, 7, 3, 2, 1, 0, True)   # no crop: every one of the 3 x 3
    9
    """
    if transposed:
        return sum(r[1] - r[0] + 1 for t in range(k) if (r := transpose_tap_range(i, o, s, d, lo, t)) is not None)
    return sum(q1 - q0 for q0, q1 in (conv_tap_window(i, o, s, d, lo, t) for t in range(k)))


def conv_tap_window(i: int, o: int, s: int, d: int, lo: int, t: int) -> tuple[int, int]:
    """The outputs ``q0 <= q < q1`` whose tap ``t`` reads inside the input: ``0 <= q*s + t*d - lo < i``.

    The others read the zero padding. ``q0 == q1`` when none does.

    >>> conv_tap_window(32, 16, 2, 1, 1, 0)   # k4 s2 p1, tap 0: output 0 reads x[-1]
    (1, 16)
    >>> conv_tap_window(5, 3, 1, 1, 0, 2)
    (0, 3)
    """
    a = t * d - lo
    q0 = min(o, max(0, -(a // s)))       # smallest q with q*s + a >= 0
    q1 = min(o, max(q0, (i - 1 - a) // s + 1)) if i - 1 - a >= 0 else q0
    return q0, q1
