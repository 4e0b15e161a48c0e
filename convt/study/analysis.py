"""Summaries, paired comparisons and the pre-registered verdict, from the results JSON."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["COMPARISONS", "paired", "summary", "verdict"]

#: the paired comparisons reported (a, b): "does a have a lower test MSE than b?"
COMPARISONS: tuple[tuple[str, str, str], ...] = (
    ("convt4", "maxunpool", "the seed's claim: ConvT k4 vs max-unpooling"),
    ("convt3", "maxunpool", "the seed's claim: ConvT k3 vs max-unpooling"),
    ("convt4", "zerounpool", "no side information: ConvT k4 vs fixed-position unpooling"),
    ("control", "maxunpool", "same information: ConvT k4 + index bits vs max-unpooling"),
    ("control_wide", "maxunpool", "same information, wider (not matched) vs max-unpooling"),
    ("maxunpool", "zerounpool", "value of the indices: max-unpooling vs fixed positions"),
    ("convt4", "convt3", "even vs uneven overlap"),
    ("subpixel_icnr", "subpixel", "ICNR vs default initialisation"),
    ("subpixel_icnr", "nearest", "sub-pixel ICNR vs nearest + conv (Aitken et al.)"),
    ("nearest", "convt4", "nearest + conv vs ConvT k4 (Odena et al.)"),
    ("bilinear", "nearest", "bilinear vs nearest resize"),
)


def _values(runs: list[dict[str, Any]], metric: str) -> dict[int, float]:
    out = {}
    for r in runs:
        v: Any = r
        for part in metric.split("."):
            v = v[part]
        out[int(r["seed"])] = float(v)
    return out


def summary(results: dict[str, Any], metric: str) -> dict[str, tuple[float, float, int]]:
    """``variant -> (mean, std, n)`` of a per-run metric (``"mse"``, ``"init.ci_const"``, ...), std with ddof=1.

    >>> summary({"runs": {"a": [{"seed": 0, "mse": 1.0}, {"seed": 1, "mse": 3.0}]}}, "mse")
    {'a': (2.0, 1.4142135623730951, 2)}
    """
    out = {}
    for key, runs in results["runs"].items():
        v = np.array(list(_values(runs, metric).values()))
        if len(v):
            out[key] = (float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan"), len(v))
    return out


def paired(results: dict[str, Any], a: str, b: str, metric: str = "mse") -> dict[str, Any] | None:
    """Paired comparison of variants ``a`` and ``b`` over their common seeds.

    Returns the mean per-seed difference ``a - b``, its std, how many seeds
    have ``a < b``, the paired t-test p-value and the two-sided sign-test
    p-value (both ``nan`` with fewer than two seeds), or ``None`` if the
    variants share no seed.

    >>> res = {"runs": {"a": [{"seed": s, "mse": 1.0 + 0.1 * s} for s in range(5)],
    ...                 "b": [{"seed": s, "mse": 2.0 + 0.2 * s} for s in range(5)]}}
    >>> p = paired(res, "a", "b")
    >>> p["wins"], p["n"], round(p["sign_p"], 4)
    (5, 5, 0.0625)
    """
    from scipy import stats

    if a not in results["runs"] or b not in results["runs"]:
        return None
    va, vb = _values(results["runs"][a], metric), _values(results["runs"][b], metric)
    seeds = sorted(set(va) & set(vb))
    if not seeds:
        return None
    d = np.array([va[s] - vb[s] for s in seeds])
    wins = int((d < 0).sum())
    losses = int((d > 0).sum())
    n = len(seeds)
    t_p = float(stats.ttest_rel([va[s] for s in seeds], [vb[s] for s in seeds]).pvalue) if n > 1 else float("nan")
    sign_p = float(stats.binomtest(wins, wins + losses).pvalue) if n > 1 and wins + losses else float("nan")
    return {"a": a, "b": b, "n": n, "mean_diff": float(d.mean()), "std_diff": float(d.std(ddof=1)) if n > 1 else 0.0,
            "rel_diff": float(d.mean() / np.mean([vb[s] for s in seeds])), "wins": wins, "t_p": t_p,
            "sign_p": sign_p}


def verdict(p: dict[str, Any] | None) -> str:
    """The pre-registered rule: "a better", "b better" or "not resolved".

    ``a`` is better if it wins in at least 4 of 5 seeds (4/5 of the seeds in
    general) and the paired t-test gives p < 0.05; symmetrically for ``b``.

    >>> verdict({"n": 5, "wins": 5, "t_p": 0.001, "a": "x", "b": "y"})
    'x better'
    >>> verdict({"n": 5, "wins": 3, "t_p": 0.001, "a": "x", "b": "y"})
    'not resolved'
    """
    if p is None or p["n"] < 2 or not p["t_p"] < 0.05:
        return "not resolved"
    need = int(np.ceil(0.8 * p["n"]))
    if p["wins"] >= need:
        return f"{p['a']} better"
    if p["n"] - p["wins"] >= need:
        return f"{p['b']} better"
    return "not resolved"
