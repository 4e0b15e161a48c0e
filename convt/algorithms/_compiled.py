"""Loops compiled by Numba where it is installed: one lazy, thread-safe compile per set of loops.

Numba is optional (the ``fast`` extra). :func:`available` only asks whether
it is installed and not switched off (``CONVT_NUMBA=0``, read on first use);
nothing is imported until a loop first runs. Each algorithm keeps a NumPy
twin of its loops for where they cannot be compiled.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable

import numpy as np

__all__ = ["DTYPES", "Loops", "available"]

#: the dtypes the compiled loops run (the working dtypes of convt's public functions)
DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128, np.int64))


#: whether loops can be compiled; None until first asked (then from ``CONVT_NUMBA`` and Numba's presence)
_enabled: bool | None = None


def available() -> bool:
    """Whether loops can be compiled: Numba installed and ``CONVT_NUMBA`` not ``0``. Imports nothing.

    The planner asks this several times a call, so the environment is read
    once, on first use (a lookup in ``os.environ`` costs 0.5 us); Numba
    itself (half a second to import) is loaded only when a compiled loop
    first runs.
    """
    global _enabled
    if _enabled is None:
        _enabled = os.environ.get("CONVT_NUMBA", "").strip() != "0" and importlib.util.find_spec("numba") is not None
    return _enabled


class Loops:
    """Python functions to compile together on first use (``nogil``, cached on disk where it can be).

    >>> def double(a):
    ...     for i in range(a.shape[0]):
    ...         a[i] *= 2
    >>> a = np.arange(3.0)
    >>> (Loops(double=double).get("double") or double)(a); a   # compiled, or as it is without Numba
    array([0., 2., 4.])
    """

    def __init__(self, **functions: Callable) -> None:
        self.functions = functions
        self.done: dict[str, Callable] | bool | None = False  # False: not tried yet; None: Numba missing
        self._lock = threading.Lock()

    def get(self, name: str) -> Callable | None:
        """The compiled loop ``name``, or None where not :func:`available`."""
        if not available():
            return None
        if self.done is False:
            with self._lock:
                if self.done is False:
                    self.done = self._compile()
        return None if self.done is None else self.done[name]  # type: ignore[index]

    def _compile(self) -> dict[str, Callable] | None:
        try:
            import numba
        except ImportError:  # pragma: no cover - found but broken
            return None
        try:
            return {k: numba.njit(nogil=True, cache=True)(f) for k, f in self.functions.items()}
        except RuntimeError:  # no writable cache folder (a read-only install): compile in memory
            return {k: numba.njit(nogil=True)(f) for k, f in self.functions.items()}
