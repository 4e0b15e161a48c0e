"""A module imported on first attribute access (keeps deselected framework tests cheap to collect)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """``LazyModule("tensorflow").nn`` imports TensorFlow at that moment, not at test collection."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):  # introspection (doctest collection) must not import the module
            raise AttributeError(attr)
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)
