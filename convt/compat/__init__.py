"""Every framework's convolution conventions, computed by convt with NumPy.

- :mod:`convt.compat.tensorflow`: ``tf.nn.conv{1,2,3}d_transpose`` and ``tf.nn.conv{1,2,3}d``.
- :mod:`convt.compat.keras`: ``keras.ops.conv_transpose`` (Keras 3's ``Conv*DTranspose``).
- :mod:`convt.compat.onnx`: ONNX ``ConvTranspose`` and ``Conv`` as ONNX Runtime computes them.
- :mod:`convt.compat.jax`: ``jax.lax.conv_transpose``.
- :func:`layer_spec`: one layer in any framework's terms as a canonical
  :class:`~convt.spec.ConvSpec`.

The frameworks themselves are never imported; the submodules load on first use.
See ``docs/conventions.md`` for every convention's rules side by side.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._layer import CONVENTIONS, DEFAULT_PADDING, layer_spec

__all__ = ["CONVENTIONS", "DEFAULT_PADDING", "jax", "keras", "layer_spec", "onnx", "tensorflow"]

_SUBMODULES = ("tensorflow", "keras", "onnx", "jax")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
