"""Shared test setup: hypothesis profile and the cross-framework error ledger."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "convt", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("CONVT_TEST_RANDOM") is None,
)
settings.load_profile("convt")


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # pragma: no cover - reporting
    from oracle import LEDGER

    if not LEDGER:
        return
    terminalreporter.section("convt: differential cases (count, largest relative error)")
    for key in sorted(LEDGER):
        n, worst = LEDGER[key]
        terminalreporter.write_line(f"{key:40s} {n:6d} cases   max rel err {worst:.3e}")
