"""The reference: convolution and transposed convolution as their definitions.

Slow and obviously correct; every other algorithm, the framework adapters and
the gradients are tested against it.

- Transposed: each input element adds its kernel-weighted patch into the
  full result (``full[n, g*Mg + m, j*s + t*d] += x[n, c, j] * w[c, m, t]``),
  then the full result is cropped by ``(begin, end)`` (negative: extended).
- Direct: each output element is the sum of the kernel times the window of
  the padded input it sees (cross-correlation, as every framework computes).

Both take batched arrays in the working dtype and a zeros-mode
:class:`~convt.spec.ConvSpec`, and add no bias.
"""

from __future__ import annotations

import numpy as np

from ..spec import ConvSpec
from ._common import pad_or_crop

__all__ = ["conv", "conv_transpose"]


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution by scattering every input element (the definition)."""
    n_batch, groups = x.shape[0], spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    full = np.zeros((n_batch, spec.out_channels, *spec.full_size), dtype=np.result_type(x, w))
    for n, c, *j in np.ndindex(*x.shape):
        g = c // cg
        patch = tuple(
            slice(jj * s, jj * s + d * (k - 1) + 1, d)
            for jj, s, d, k in zip(j, spec.stride, spec.dilation, spec.kernel_size)
        )
        full[(n, slice(g * mg, (g + 1) * mg), *patch)] += x[(n, c, *j)] * w[c]
    # crop (begin, end) = pads; a negative crop extends with zeros
    return pad_or_crop(full, [(-cb, -ce) for cb, ce in spec.pads])


def conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Direct convolution (cross-correlation) window by window (the definition)."""
    groups = spec.groups
    cg, mg = spec.in_channels // groups, spec.out_channels // groups
    xp = pad_or_crop(x, spec.pads)
    y = np.zeros((x.shape[0], spec.out_channels, *spec.output_size), dtype=np.result_type(x, w))
    axes = list(range(1, spec.nd + 2))
    for q in np.ndindex(*spec.output_size):
        window = tuple(
            slice(qq * s, qq * s + d * (k - 1) + 1, d)
            for qq, s, d, k in zip(q, spec.stride, spec.dilation, spec.kernel_size)
        )
        for g in range(groups):
            patch = xp[(slice(None), slice(g * cg, (g + 1) * cg), *window)]
            y[(slice(None), slice(g * mg, (g + 1) * mg), *q)] = np.tensordot(
                patch, w[g * mg:(g + 1) * mg], axes=(axes, axes)
            )
    return y
