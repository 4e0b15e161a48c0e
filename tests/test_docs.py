"""The docs' references to tests are real: every `tests/FILE::name` (or `::name` following
one in the same table cell) that a doc names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


def _references(text: str):
    for cell in re.split(r"\||\n", text):
        current = None
        for m in re.finditer(r"(?:(tests/)?(test_\w+\.py))?::(\w+)", cell):
            if m.group(2):
                current = m.group(2)
            if current:
                yield current, m.group(3)


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_named_tests_exist(doc):
    missing = []
    for file, name in _references(doc.read_text(encoding="utf-8")):
        path = ROOT / "tests" / file
        if not path.exists() or not re.search(rf"def {name}\b", path.read_text(encoding="utf-8")):
            missing.append(f"{file}::{name}")
    assert not missing, f"{doc.name} names tests that do not exist: {missing}"
