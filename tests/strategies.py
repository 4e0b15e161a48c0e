"""The hypothesis space of the extended API, shared by the tests.

One drawn :class:`Layer` is a convolution or transposed convolution in any
argument form: rank 1-3, groups, per-axis or scalar stride and dilation,
``(lo, hi)`` pairs with negative values, symmetric ints, padding words,
padding modes, output_padding below ``max(stride, dilation)``, batched or not.
Some draws are invalid (an empty output, say): the tests check that convt
refuses those with a ConvError and move on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

MODES = ["zeros", "zeros", "reflect", "replicate", "circular"]


@dataclass(frozen=True)
class Layer:
    transposed: bool
    nd: int
    groups: int
    c_in: int
    c_out: int
    kernel: tuple[int, ...]
    size: tuple[int, ...]
    batch: int | None
    kw: dict[str, Any]

    @property
    def x_shape(self) -> tuple[int, ...]:
        return ((self.batch,) if self.batch is not None else ()) + (self.c_in, *self.size)

    @property
    def w_shape(self) -> tuple[int, ...]:
        if self.transposed:
            return (self.c_in, self.c_out // self.groups, *self.kernel)
        return (self.c_out, self.c_in // self.groups, *self.kernel)


@st.composite
def layers(draw, transposed: bool, batches=(None, 1, 2)) -> Layer:
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 2))
    cg, mg = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = draw(st.one_of(st.integers(1, 3), st.tuples(*[st.integers(1, 3)] * nd)))
    d = draw(st.one_of(st.integers(1, 2), st.tuples(*[st.integers(1, 2)] * nd)))
    size = tuple(draw(st.integers(2, 5 if nd < 3 else 3)) for _ in range(nd))
    mode = draw(st.sampled_from(MODES))
    lo, hi = (-2, 3) if mode == "zeros" else (-1, 2)
    pair = st.tuples(st.integers(lo, hi), st.integers(lo, hi))
    padding = draw(st.one_of(st.lists(pair, min_size=nd, max_size=nd).map(tuple), st.integers(0, 2),
                             st.sampled_from(["valid", "same", "same_lower"])))
    kw: dict[str, Any] = dict(stride=s, padding=padding, dilation=d, groups=groups, padding_mode=mode)
    if transposed:
        ss = (s,) * nd if isinstance(s, int) else s
        dd = (d,) * nd if isinstance(d, int) else d
        kw["output_padding"] = tuple(draw(st.integers(0, max(a, b) - 1)) for a, b in zip(ss, dd))
    batch = draw(st.sampled_from(list(batches)))
    return Layer(transposed, nd, groups, groups * cg, groups * mg, k, size, batch, kw)
