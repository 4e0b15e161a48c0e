"""The one oracle helper: compare convt with a reference result, and keep a ledger.

``check(name, actual, expected)`` asserts the relative error (max |a - e| over
max |e|) is within the tolerance of the result's dtype and records the count
and worst error per ``name`` for the end-of-run summary.
"""

from __future__ import annotations

import numpy as np

LEDGER: dict[str, tuple[int, float]] = {}

TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.complex128): 1e-12,
       np.dtype(np.float32): 1e-5, np.dtype(np.complex64): 1e-5, np.dtype(np.float16): 2e-3}


def rel_err(actual, expected) -> float:
    a = np.asarray(actual, dtype=np.complex128 if np.iscomplexobj(actual) else np.float64)
    e = np.asarray(expected, dtype=a.dtype)
    scale = max(np.abs(e).max(initial=0.0), 1e-300)
    return float(np.abs(a - e).max(initial=0.0) / scale)


def record(name: str, err: float) -> None:
    """Count one case under ``name`` and keep the worst error."""
    n, worst = LEDGER.get(name, (0, 0.0))
    LEDGER[name] = (n + 1, max(worst, err))


def check(name: str, actual, expected, tol: float | None = None) -> float:
    """Assert shape and dtype match and values agree to the dtype's tolerance; record."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    tol = TOL.get(actual.dtype, 0.0) if tol is None else tol
    if actual.dtype.kind in "iu":
        assert np.array_equal(actual, expected), f"{name}: integer results differ"
        err = 0.0
    else:
        err = rel_err(actual, expected)
        assert err <= tol, f"{name}: relative error {err:.3e} > {tol:.1e}"
    record(name, err)
    return err
