"""PyTorch layers with every meaning of the NumPy operators (needs PyTorch).

Imported only when used (``import convt.torch``); ``import convt`` never
imports PyTorch.

- :func:`conv`, :func:`conv_transpose`: functions on torch tensors, computed
  with PyTorch's own kernels (any device, autograd).
- :class:`Conv1d`, :class:`Conv2d`, :class:`Conv3d`, :class:`ConvTranspose1d`,
  :class:`ConvTranspose2d`, :class:`ConvTranspose3d`: drop-in replacements of
  the ``torch.nn`` modules (same constructor arguments, parameters,
  ``state_dict``, ``repr`` and initialisation) that also accept the extended
  meanings ("same" for strided transposed convolutions, ``(lo, hi)`` pairs,
  padding modes for transposed convolutions).
- :func:`icnr_`: checkerboard-free initialisation of upsampling weights.
"""

try:
    import torch as _torch  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("convt.torch needs PyTorch: pip install 'convt[torch]'") from e

from .functional import conv, conv_transpose
from .init import icnr_
from .modules import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

__all__ = [
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "conv",
    "conv_transpose",
    "icnr_",
]
