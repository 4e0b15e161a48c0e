"""Normalise user arguments into per-axis integer tuples (types and lengths only).

No size formula lives here: this module checks that an argument is an int or
one int per axis (or one ``(lo, hi)`` pair per axis, or a padding word) and
turns it into a tuple. The arithmetic lives in :mod:`convt.arithmetic`.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from .errors import ConvError

__all__ = [
    "PADDING_MODES",
    "PADDING_WORDS",
    "Padding",
    "as_int",
    "parse_padding",
    "per_axis",
]

PADDING_WORDS = ("valid", "same", "same_lower")
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

#: A parsed padding: a padding word, or one ``(lo, hi)`` pair per axis.
Padding = str | tuple[tuple[int, int], ...]


def as_int(name: str, value: Any, *, func: str) -> int:
    """Return ``value`` as a Python int; bools, floats and others raise TypeError."""
    dtype = getattr(value, "dtype", None)  # NumPy's or PyTorch's
    if isinstance(value, bool) or (dtype is not None and (getattr(dtype, "kind", None) == "b" or str(dtype) == "torch.bool")):
        raise TypeError(f"{func}: {name} must be an int, got the bool {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"{func}: {name} must be an int, got {type(value).__name__} {value!r}"
        ) from None


def _is_seq(value: Any) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, (str, bytes))) or (
        hasattr(value, "ndim") and getattr(value, "ndim", 0) == 1
    )


def per_axis(
    name: str, value: Any, nd: int, *, func: str, minimum: int | None = None
) -> tuple[int, ...]:
    """An int, or exactly one int per spatial axis, as a tuple of ``nd`` ints.

    >>> per_axis("stride", 2, 3, func="f")
    (2, 2, 2)
    >>> per_axis("stride", (1, 2), 2, func="f")
    (1, 2)
    """
    if _is_seq(value):
        items = list(value)
        if len(items) != nd:
            raise ConvError(
                f"{func}: {name} must be an int or a sequence of {nd} ints (one per "
                f"spatial axis), got {len(items)} values {tuple(items)!r}"
            )
        out = tuple(as_int(f"{name}[{a}]", v, func=func) for a, v in enumerate(items))
    else:
        out = (as_int(name, value, func=func),) * nd
    if minimum is not None:
        for a, v in enumerate(out):
            if v < minimum:
                raise ConvError(
                    f"{func}: {name} must be >= {minimum} on every axis, got {v} (axis {a})"
                )
    return out


def parse_padding(
    name: str, value: Any, nd: int, *, func: str, words: Sequence[str] = PADDING_WORDS
) -> Padding:
    """A padding argument as a word or one ``(lo, hi)`` pair per axis.

    Accepted: an int (same on both sides of every axis), one int per axis
    (symmetric), one ``(lo, hi)`` pair per axis, or one of ``words``.

    >>> parse_padding("padding", 1, 2, func="f")
    ((1, 1), (1, 1))
    >>> parse_padding("padding", [(0, 1), 2], 2, func="f")
    ((0, 1), (2, 2))
    >>> parse_padding("padding", "same", 1, func="f")
    'same'
    """
    if isinstance(value, str):
        if value not in words:
            raise ConvError(
                f"{func}: {name} must be an int, one int or (lo, hi) pair per axis, or one "
                f"of {', '.join(map(repr, words))}; got {value!r}"
            )
        return value
    if not _is_seq(value):
        n = as_int(name, value, func=func)
        return ((n, n),) * nd
    items = list(value)
    if len(items) != nd:
        raise ConvError(
            f"{func}: {name} must be an int, or one int or one (lo, hi) pair per spatial "
            f"axis ({nd} entries), got {len(items)} entries {tuple(items)!r}"
        )
    pairs = []
    for a, item in enumerate(items):
        if _is_seq(item):
            pair = list(item)
            if len(pair) != 2:
                raise ConvError(
                    f"{func}: {name}[{a}] must be an int or a (lo, hi) pair, got "
                    f"{len(pair)} values {tuple(pair)!r}"
                )
            lo = as_int(f"{name}[{a}][0]", pair[0], func=func)
            hi = as_int(f"{name}[{a}][1]", pair[1], func=func)
            pairs.append((lo, hi))
        else:
            n = as_int(f"{name}[{a}]", item, func=func)
            pairs.append((n, n))
    return tuple(pairs)


def parse_mode(value: Any, *, func: str) -> str:
    """Check a ``padding_mode`` argument."""
    if not isinstance(value, str):
        raise TypeError(f"{func}: padding_mode must be a str, got {type(value).__name__}")
    if value not in PADDING_MODES:
        raise ConvError(
            f"{func}: padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}, "
            f"got {value!r}"
        )
    return value
