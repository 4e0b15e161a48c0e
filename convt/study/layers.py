"""Where the study's convolution layers come from.

Every convolution of the study is a :mod:`convt.torch` module (a drop-in
``torch.nn`` module computed by convt's operators). :func:`layers` is the one
place that names that module; :func:`backend` gives its name for the results.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["backend", "layers"]


def layers() -> ModuleType:
    """The module providing ``Conv2d``, ``ConvTranspose2d`` and ``icnr_`` (imports PyTorch).

    Returns
    -------
    module
        :mod:`convt.torch`.

    Examples
    --------
    >>> L = layers()
    >>> tuple(L.ConvTranspose2d(2, 3, 4, stride=2, padding=1).weight.shape)
    (2, 3, 4, 4)
    """
    import convt.torch as ct

    return ct


def backend() -> str:
    """The name of the module :func:`layers` returns.

    >>> backend()
    'convt.torch'
    """
    return layers().__name__
