"""The canonical form of a convolution call, validated once.

Every way of describing a convolution (PyTorch's arguments, ``(lo, hi)``
pairs, padding words, output_padding, output_size, and every framework
convention in :mod:`convt.compat`) is turned into one :class:`ConvSpec`:
per spatial axis the stride, the dilation and the ``(lo, hi)`` padding of a
direct convolution or the ``(begin, end)`` crop of the full result of a
transposed one, plus groups and the padding mode. The algorithms see only
this form.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from . import arithmetic as ar
from ._params import as_int, parse_mode, parse_padding, per_axis
from .errors import ConvError

__all__ = ["ConvSpec", "conv_spec", "conv_transpose_spec", "memory_limit_bytes", "require_spec"]

Pairs = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ConvSpec:
    """One convolution, direct or transposed, in canonical form.

    Attributes
    ----------
    transposed : bool
        A transposed convolution (``pads`` is the crop of the full result)
        or a direct one (``pads`` is the padding of the input).
    in_channels, out_channels, groups : int
    input_size, kernel_size, stride, dilation, output_size : tuple of int
        One int per spatial axis.
    pads : tuple of (int, int)
        Direct: ``(lo, hi)`` padding (negative crops the input). Transposed:
        ``(begin, end)`` crop of the full result, output_padding included
        (negative extends with zeros).
    padding_mode : str
        "zeros", "reflect", "replicate" or "circular".
    """

    transposed: bool
    in_channels: int
    out_channels: int
    groups: int
    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: Pairs
    output_size: tuple[int, ...]
    padding_mode: str = "zeros"

    def __hash__(self) -> int:
        """The fields' hash, computed once: a spec keys the planners' caches, several lookups a call."""
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash(tuple(getattr(self, f.name) for f in dataclasses.fields(self)))
            object.__setattr__(self, "_hash", h)
        return h

    def __getstate__(self) -> dict:
        """The fields without the remembered hash (string hashes differ between processes)."""
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    @property
    def nd(self) -> int:
        """Number of spatial axes."""
        return len(self.kernel_size)

    @property
    def full_size(self) -> tuple[int, ...]:
        """Transposed: the uncropped result length per axis. Direct: the padded input."""
        if self.transposed:
            return tuple(ar.full_length(*a) for a in zip(self.input_size, self.kernel_size, self.stride, self.dilation))
        return tuple(i + lo + hi for i, (lo, hi) in zip(self.input_size, self.pads))

    def weight_shape(self) -> tuple[int, ...]:
        """The weight shape: ``(C_out, C_in/g, *k)`` direct, ``(C_in, C_out/g, *k)`` transposed."""
        if self.transposed:
            return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def multiply_adds(self, batch: int = 1) -> int:
        """The multiply-adds of ``batch`` images without inserted zeros: the product of a GEMM + col2im.

        Every (input, tap) pair of a transposed convolution, every (output,
        tap) pair of a direct one, times the channels it connects; including
        the pairs that land in the crop or read padding
        (:meth:`reaching_multiply_adds` leaves those out).

        >>> ConvSpec(True, 4, 6, 2, (3,), (2,), (2,), (1,), ((0, 0),), (6,)).multiply_adds(5)   # 5*4*3*(6/2)*2
        360
        """
        pixels = math.prod(self.input_size if self.transposed else self.output_size)
        ends = self.in_channels * self.out_channels // self.groups
        return batch * pixels * ends * math.prod(self.kernel_size)

    def reaching_multiply_adds(self, batch: int = 1) -> int:
        """The multiply-adds of ``batch`` images on which the result depends.

        Only the pairs that join an input inside the input to an output inside
        the output (:func:`convt.arithmetic.reaching_pairs` per axis), times the
        channels they connect: what an implementation that skips the crop and
        the padding must still do.

        >>> from convt.spec import conv_transpose_spec
        >>> spec = conv_transpose_spec((1, 512, 4, 4), (512, 256, 4, 4), stride=2, padding=1)[0]
        >>> spec.reaching_multiply_adds() / spec.multiply_adds()   # (14/16)**2
        0.765625
        """
        pairs = math.prod(ar.reaching_pairs(i, o, k, s, d, lo, self.transposed) for i, o, k, s, d, (lo, _) in
                          zip(self.input_size, self.output_size, self.kernel_size, self.stride, self.dilation,
                              self.pads))
        return batch * pairs * self.in_channels * self.out_channels // self.groups

    def adjoint(self) -> ConvSpec:
        """The spec of the adjoint operator, which takes the same weight array.

        The adjoint of a transposed convolution with crop ``(cb, ce)`` is the
        direct convolution with padding ``(cb, ce)``; the adjoint of a direct
        convolution with padding ``(lo, hi)`` is the transposed one with crop
        ``(lo, hi - r)``, ``r`` the padded elements no window reads.
        """
        if self.transposed:
            pads = self.pads
        else:
            pads = tuple(
                (lo, hi - (i + lo + hi - ar.effective_kernel(k, d)) % s)
                for i, k, s, d, (lo, hi) in zip(self.input_size, self.kernel_size, self.stride, self.dilation, self.pads)
            )
        return replace(
            self, transposed=not self.transposed, in_channels=self.out_channels,
            out_channels=self.in_channels, input_size=self.output_size,
            output_size=self.input_size, pads=pads,
        )

    def with_pads(self, pads: Pairs) -> ConvSpec:
        """The same convolution with other pads (output size recomputed), zeros mode."""
        if self.transposed:
            out = tuple(ar.transpose_length(i, k, s, cb, ce, d) for i, k, s, d, (cb, ce) in
                        zip(self.input_size, self.kernel_size, self.stride, self.dilation, pads))
        else:
            out = tuple(ar.conv_length(i, k, s, lo, hi, d) for i, k, s, d, (lo, hi) in
                        zip(self.input_size, self.kernel_size, self.stride, self.dilation, pads))
        return replace(self, pads=tuple(pads), output_size=out, padding_mode="zeros")


def memory_limit_bytes() -> int:
    """The most bytes one result may take: the machine's physical memory."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 36


def require_spec(func: str, spec: Any, name: str = "spec") -> None:
    """TypeError unless ``spec`` is a :class:`ConvSpec` (what the operators' spec functions and layer_spec make)."""
    if not isinstance(spec, ConvSpec):
        raise TypeError(f"{func}: {name} must be a ConvSpec (from convt.spec.conv_transpose_spec, conv_spec or "
                        f"convt.compat.layer_spec), got {type(spec).__name__}")


def _shapes(func: str, x_shape: Sequence[int], w_shape: Sequence[int]) -> tuple[int, bool]:
    for name, shape in (("input", x_shape), ("weight", w_shape)):
        for a, v in enumerate(shape):
            as_int(f"{name} shape[{a}]", v, func=func)  # a float size (5.0) gave float output sizes
    if len(w_shape) < 3:
        raise ConvError(
            f"{func}: weight must have at least 3 dimensions (channels, channels, *kernel), "
            f"got shape {tuple(w_shape)}"
        )
    nd = len(w_shape) - 2
    if len(x_shape) not in (nd + 1, nd + 2):
        raise ConvError(
            f"{func}: a weight of shape {tuple(w_shape)} has {nd} spatial axes, so the input "
            f"must have {nd + 2} dimensions (N, C, *spatial) or {nd + 1} (C, *spatial), got "
            f"shape {tuple(x_shape)}"
        )
    if min(w_shape) < 1:
        raise ConvError(f"{func}: every weight dimension must be >= 1, got shape {tuple(w_shape)}")
    if min(x_shape[-nd - 1:]) < 1:
        raise ConvError(
            f"{func}: the channel and spatial sizes of the input must be >= 1, got shape {tuple(x_shape)}"
        )
    return nd, len(x_shape) == nd + 2


def _groups(func: str, groups: Any, in_ch: int, out_ch: int, w_shape: Sequence[int], transposed: bool) -> int:
    g = as_int("groups", groups, func=func)
    if g < 1:
        raise ConvError(f"{func}: groups must be a positive int, got {g}")
    for name, n in (("input channels", in_ch), ("output channels", out_ch)):
        if n % g:
            raise ConvError(
                f"{func}: groups={g} must divide the number of {name}, but {g} does not divide {n}"
                f" (weight shape {tuple(w_shape)}, {'(C_in, C_out/groups, *k)' if transposed else '(C_out, C_in/groups, *k)'})"
            )
    return g


def _check_mode(func: str, mode: str, n: Sequence[int], pads: Pairs, what: str) -> None:
    """Reflect reads at most n-1 past an edge, circular at most n (PyTorch's rules)."""
    if mode == "zeros":
        return
    limit = {"reflect": lambda m: m - 1, "circular": lambda m: m, "replicate": lambda m: math.inf}[mode]
    for a, (m, (lo, hi)) in enumerate(zip(n, pads)):
        if max(lo, hi) > limit(m):
            raise ConvError(
                f"{func}: padding_mode={mode!r} needs the {what} on each side to be at most "
                f"{'size - 1' if mode == 'reflect' else 'size'} = {limit(m)} on axis {a} "
                f"(size {m}), got {(lo, hi)}"
            )


def _check_memory(func: str, *parts: tuple[Sequence[int], str]) -> None:
    """Refuse arrays that together would need more than the machine's memory (8 bytes an element: float64).

    ``parts``: ``(shape, what)`` of the arrays a call holds at once (the padded input and the output, ...).
    """
    sizes = [(math.prod(shape), tuple(shape), what) for shape, what in parts]
    need = 8 * sum(n for n, _, _ in sizes)
    if need > memory_limit_bytes():
        listed = " and ".join(f"the {what} of shape {shape}" for _, shape, what in sizes)
        raise ConvError(
            f"{func}: {listed} would need {need:.3g} bytes ({need // 8:.3g} elements), more than this machine's "
            f"{memory_limit_bytes():.3g} bytes of memory; use smaller sizes, strides or padding"
        )


class _NotPlain(Exception):
    pass


def _plain(v: Any) -> Any:
    """A hashable key for an argument of exact type int, str, None, or a tuple or list of those.

    Plain ints, strings and None are their own keys (no two of them compare
    equal); a bool, a float or a NumPy integer is not plain. A tuple of ints
    (a shape) is its own key too; other sequences are tagged with their type.
    """
    t = type(v)
    if t is int or t is str or v is None:
        return v
    if t is tuple or t is list:
        if t is tuple and all(type(e) is int for e in v):
            return v
        return t, tuple(map(_plain, v))
    raise _NotPlain


_INTS = frozenset((int,))
_SCALARS = frozenset((int, str, type(None)))
#: most arguments remembered per validating function; the memo is emptied when it is full
MEMO_SIZE = 1024


def _memo(fn: Callable[..., tuple[ConvSpec, bool]]) -> Callable[..., tuple[ConvSpec, bool]]:
    """Remember the spec of each plain (exactly int/str/None/tuple/list) set of arguments.

    A network calls the same layer again and again, and validation costs
    ~8 us (docs/perf-notes.md item 39). Only successful validations are kept;
    any other argument type (a NumPy integer, a bool that must be refused)
    is validated every time.
    """
    memo: dict[Any, tuple[ConvSpec, bool]] = {}

    @functools.wraps(fn)
    def validated(x_shape: Sequence[int], w_shape: Sequence[int], **kwargs: Any) -> tuple[ConvSpec, bool]:
        try:
            if _INTS.issuperset(map(type, x_shape)) and _INTS.issuperset(map(type, w_shape)) and \
                    _SCALARS.issuperset(map(type, kwargs.values())):  # the usual call, at C speed
                key = (tuple(x_shape), tuple(w_shape), *kwargs.items())
            else:
                key = (_plain(tuple(x_shape)), _plain(tuple(w_shape)), *((k, _plain(v)) for k, v in kwargs.items()))
        except (_NotPlain, TypeError):
            return fn(x_shape, w_shape, **kwargs)
        hit = memo.get(key)
        if hit is None:
            hit = fn(x_shape, w_shape, **kwargs)
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[key] = hit
        return hit

    validated.cache_clear = memo.clear  # type: ignore[attr-defined]
    return validated


@_memo
def conv_spec(
    x_shape: Sequence[int], w_shape: Sequence[int], *, stride: Any = 1, padding: Any = 0,
    dilation: Any = 1, groups: Any = 1, padding_mode: Any = "zeros", func: str = "conv",
) -> tuple[ConvSpec, bool]:
    """Validate a direct convolution's arguments; return its spec and whether it is batched.

    >>> spec, batched = conv_spec((1, 2, 6), (4, 2, 3), stride=2, padding="same")
    >>> spec.pads, spec.output_size, batched
    (((0, 1),), (3,), True)
    """
    nd, batched = _shapes(func, x_shape, w_shape)
    in_ch, i = x_shape[-nd - 1], tuple(x_shape[-nd:])
    out_ch, k = w_shape[0], tuple(w_shape[2:])
    g = _groups(func, groups, in_ch, out_ch, w_shape, False)
    if w_shape[1] * g != in_ch:
        raise ConvError(
            f"{func}: weight of shape {tuple(w_shape)} with groups={g} expects "
            f"{w_shape[1] * g} input channels (weight.shape[1] * groups), got {in_ch} "
            f"(input shape {tuple(x_shape)})"
        )
    s = per_axis("stride", stride, nd, func=func, minimum=1)
    d = per_axis("dilation", dilation, nd, func=func, minimum=1)
    mode = parse_mode(padding_mode, func=func)
    pads = ar.resolve_conv_padding(i, k, s, d, parse_padding("padding", padding, nd, func=func), func=func)
    _check_mode(func, mode, i, pads, "padding")
    o = tuple(ar.conv_length(*a, lo, hi, dd) for a, (lo, hi), dd in zip(zip(i, k, s), pads, d))
    batch = x_shape[0] if batched else 1
    _check_memory(func, ((batch, in_ch, *(ii + max(lo, 0) + max(hi, 0) for ii, (lo, hi) in zip(i, pads))), "padded input"),
                  ((batch, out_ch, *o), "output"))
    return ConvSpec(False, in_ch, out_ch, g, i, k, s, d, pads, o, mode), batched


@_memo
def conv_transpose_spec(
    x_shape: Sequence[int], w_shape: Sequence[int], *, stride: Any = 1, padding: Any = 0,
    output_padding: Any = 0, dilation: Any = 1, groups: Any = 1, output_size: Any = None,
    padding_mode: Any = "zeros", func: str = "conv_transpose",
) -> tuple[ConvSpec, bool]:
    """Validate a transposed convolution's arguments; return its spec and whether it is batched.

    >>> spec, _ = conv_transpose_spec((1, 1, 3), (1, 1, 3), stride=2, padding=1, output_size=[6])
    >>> spec.pads, spec.output_size
    (((1, 0),), (6,))
    """
    nd, batched = _shapes(func, x_shape, w_shape)
    in_ch, i = x_shape[-nd - 1], tuple(x_shape[-nd:])
    k = tuple(w_shape[2:])
    if w_shape[0] != in_ch:
        raise ConvError(
            f"{func}: weight of shape {tuple(w_shape)} (C_in, C_out/groups, *k) expects "
            f"{w_shape[0]} input channels, got {in_ch} (input shape {tuple(x_shape)})"
        )
    g0 = as_int("groups", groups, func=func)
    out_ch = w_shape[1] * g0 if g0 >= 1 else w_shape[1]
    g = _groups(func, groups, in_ch, out_ch, w_shape, True)
    s = per_axis("stride", stride, nd, func=func, minimum=1)
    d = per_axis("dilation", dilation, nd, func=func, minimum=1)
    mode = parse_mode(padding_mode, func=func)
    pad = parse_padding("padding", padding, nd, func=func)
    op = per_axis("output_padding", output_padding, nd, func=func)
    if output_size is not None:
        if any(op):
            raise ConvError(
                f"{func}: give output_size or a non-zero output_padding, not both "
                f"(got output_size={output_size!r}, output_padding={op})"
            )
        if (isinstance(output_size, str) or (not isinstance(output_size, Sequence) and not hasattr(output_size, "__len__"))
                or getattr(output_size, "ndim", 1) != 1):  # a 0-d array has __len__ but no length
            raise TypeError(f"{func}: output_size must be a sequence of ints, got {output_size!r}")
        sizes = list(output_size)
        if len(sizes) in (nd + 1, nd + 2):
            sizes = sizes[-nd:]
        want = per_axis("output_size", sizes, nd, func=func, minimum=1)
        crop0 = ar.resolve_transpose_crop(i, k, s, d, pad, (0,) * nd, func=func, check_size=False)
        op = ar.output_padding_for(i, want, k, s, d, crop0, func=func)
    crop = ar.resolve_transpose_crop(i, k, s, d, pad, op, func=func)
    o = tuple(ar.transpose_length(*a, cb, ce, dd) for a, (cb, ce), dd in zip(zip(i, k, s), crop, d))
    _check_mode(func, mode, o, crop, "crop")
    batch = x_shape[0] if batched else 1
    parts = [((batch, out_ch, *o), "output")]
    if mode != "zeros":  # the uncropped result, folded into the output
        parts.append(((batch, out_ch, *(ar.full_length(*a) for a in zip(i, k, s, d))), "full result"))
    _check_memory(func, *parts)
    return ConvSpec(True, in_ch, out_ch, g, i, k, s, d, crop, o, mode), batched
