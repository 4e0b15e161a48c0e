"""convt: exact N-d convolution and transposed convolution on NumPy.

Operators in PyTorch's conventions, shape arithmetic in pure integers, every
framework's convention (:mod:`convt.compat`), gradients, PyTorch layers
(:mod:`convt.torch`, imported only when used) and pictures.
"""

import importlib as _importlib
from typing import Any as _Any

from .arithmetic import (
    conv_input_sizes,
    conv_output_size,
    conv_transpose_output_padding,
    conv_transpose_output_size,
)
from .errors import ConvError
from .grad import conv_grad, conv_transpose_grad
from .ops import conv, conv_transpose

__version__ = "0.1.0"

__all__ = [
    "ConvError",
    "conv",
    "conv_grad",
    "conv_input_sizes",
    "conv_output_size",
    "conv_transpose",
    "conv_transpose_grad",
    "conv_transpose_output_padding",
    "conv_transpose_output_size",
]


def __getattr__(name: str) -> _Any:
    """``convt.torch`` and ``convt.compat`` load on first use (PyTorch stays optional)."""
    if name in ("torch", "compat"):
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
