"""Where the study's convolution layers come from.

The study builds every convolution from :mod:`convt.torch` (PyTorch modules
with convt's meanings). :func:`layers` returns that namespace and
:func:`backend` its name, which the results record.
"""

from __future__ import annotations

from types import ModuleType, SimpleNamespace

__all__ = ["backend", "layers"]


def _torch_nn() -> SimpleNamespace:
    import torch

    def icnr_(weight, scale):  # sub-pixel weight (C*scale**2, Cin, k, k) -> NN resize + conv at init
        with torch.no_grad():
            sub = torch.empty_like(weight[:: scale * scale])
            torch.nn.init.kaiming_uniform_(sub, a=5 ** 0.5)
            weight.copy_(sub.repeat_interleave(scale * scale, dim=0))
        return weight

    return SimpleNamespace(__name__="torch.nn", Conv2d=torch.nn.Conv2d,
                           ConvTranspose2d=torch.nn.ConvTranspose2d, icnr_=icnr_)


def layers() -> ModuleType | SimpleNamespace:
    """The namespace providing ``Conv2d``, ``ConvTranspose2d`` and ``icnr_``.

    Returns
    -------
    module
        :mod:`convt.torch` (imports PyTorch).

    Examples
    --------
    >>> L = layers()
    >>> tuple(L.ConvTranspose2d(2, 3, 4, stride=2, padding=1).weight.shape)
    (2, 3, 4, 4)
    """
    try:
        import convt.torch as ct
    except ImportError:
        return _torch_nn()
    return ct


def backend() -> str:
    """The name of the module :func:`layers` returns (``"convt.torch"``)."""
    return str(layers().__name__)
