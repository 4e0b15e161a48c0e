"""The seed's picture: a transposed convolution as a direct one.

Insert ``s - 1`` zeros between input elements, pad ``d*(k-1) - begin`` at the
start and ``d*(k-1) - end`` at the end (negative: crop), and correlate at
stride 1 with the spatially flipped kernel whose in/out channels are swapped
(per group). The sizes come from :func:`convt.arithmetic.equivalent_direct`.
"""

from __future__ import annotations

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import fast

__all__ = ["conv_transpose", "direct_weight", "stretch"]


def stretch(x: np.ndarray, stride) -> np.ndarray:
    """Insert ``stride - 1`` zeros between the elements of every spatial axis."""
    shape = x.shape[:2] + tuple((n - 1) * s + 1 for n, s in zip(x.shape[2:], stride))
    out = np.zeros(shape, dtype=x.dtype)
    out[(Ellipsis, *(slice(None, None, s) for s in stride))] = x
    return out


def direct_weight(w: np.ndarray, groups: int) -> np.ndarray:
    """``(C_in, C_out/g, *k)`` transposed weight -> ``(C_out, C_in/g, *k)`` flipped direct weight."""
    c_in, mg, *k = w.shape
    wg = w.reshape(groups, c_in // groups, mg, *k).swapaxes(1, 2)
    wg = np.flip(wg, axis=tuple(range(3, 3 + len(k))))
    return wg.reshape(groups * mg, c_in // groups, *k)


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution = zero insertion + padding + flipped-kernel correlation."""
    eq = [ar.equivalent_direct(*a, cb, ce, d) for a, (cb, ce), d in
          zip(zip(spec.input_size, spec.kernel_size, spec.stride), spec.pads, spec.dilation)]
    direct = ConvSpec(
        False, spec.in_channels, spec.out_channels, spec.groups,
        tuple(e.stretched for e in eq), spec.kernel_size, (1,) * spec.nd, spec.dilation,
        tuple((e.pad_lo, e.pad_hi) for e in eq), tuple(e.output for e in eq),
    )
    return fast.conv(stretch(x, spec.stride), direct_weight(w, spec.groups), direct)
