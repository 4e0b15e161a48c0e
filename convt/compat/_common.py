"""Array layout helpers shared by the adapters (no size formulas here)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._params import as_int
from ..errors import ConvError


def channels_first(x: Any, nd: int, last: bool, *, func: str, name: str = "input") -> np.ndarray:
    """``x`` with exactly ``nd + 2`` dimensions, moved to ``(N, C, *spatial)``."""
    arr = np.asarray(x)
    if arr.ndim != nd + 2:
        raise ConvError(f"{func}: {name} must have {nd + 2} dimensions (batch, {nd} spatial, channels), "
                        f"got shape {arr.shape}")
    return np.moveaxis(arr, -1, 1) if last else arr


def restore(y: np.ndarray, last: bool) -> np.ndarray:
    """Undo :func:`channels_first` on a result."""
    return np.ascontiguousarray(np.moveaxis(y, 1, -1)) if last else y


def kernel_to_torch(w: Any, nd: int, *, func: str, name: str, spatial_first: bool = True) -> np.ndarray:
    """``(*k, a, b)`` to ``(b, a, *k)``: TF/Keras filters to PyTorch's layout."""
    arr = np.asarray(w)
    if arr.ndim != nd + 2:
        raise ConvError(f"{func}: {name} must have {nd + 2} dimensions ({nd} spatial, then 2 channel axes), "
                        f"got shape {arr.shape}")
    return np.transpose(arr, (nd + 1, nd, *range(nd)))


def ints(name: str, value: Any, nd: int, *, func: str, default: int = 1, minimum: int = 1) -> tuple[int, ...]:
    """TF's forms of strides/dilations: None, an int, or a list of 1, nd or nd + 2 ints.

    The nd + 2 form must hold 1 at the batch and channel positions (given by
    ``outer``, a pair of indices, via :func:`spatial_of`).
    """
    if value is None:
        return (default,) * nd
    if hasattr(value, "tolist"):
        value = value.tolist()
    vals = [value] if not isinstance(value, (list, tuple)) else list(value)
    vals = [as_int(name, v, func=func) for v in vals]
    if len(vals) == 1:
        vals = vals * nd
    if len(vals) != nd:
        raise ConvError(f"{func}: {name} must be an int or a list of 1, {nd} or {nd + 2} ints, got {value!r}")
    if min(vals) < minimum:
        raise ConvError(f"{func}: {name} must be >= {minimum} on every axis, got {value!r}")
    return tuple(vals)


def spatial_of(name: str, value: Any, nd: int, last: bool, *, func: str) -> Any:
    """Strip the batch and channel entries of an ``nd + 2`` list (they must be 1)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and len(value) == nd + 2:
        outer = (value[0], value[-1]) if last else (value[0], value[1])
        if any(as_int(name, v, func=func) != 1 for v in outer):
            raise ConvError(f"{func}: {name} on the batch and channel dimensions must be 1, got {value!r}")
        return list(value[1:-1]) if last else list(value[2:])
    return value
