"""Drop-in ``torch.nn`` convolution modules with every meaning of the NumPy operators.

Each class subclasses its ``torch.nn`` namesake (``isinstance`` checks,
``reset_parameters``, parameter names and shapes, ``state_dict`` keys and
``repr`` are PyTorch's), takes the same constructor arguments, and also
accepts what PyTorch rejects: ``padding="same"`` / ``"same_lower"`` /
``"valid"`` with any stride, one ``(lo, hi)`` pair per axis (negative:
crop), padding modes for transposed convolutions (the exact adjoint of the
direct convolution with that mode) and ``output_padding < max(stride,
dilation)``. The arguments are checked when the module is built; the
computation is :func:`convt.torch.conv` / :func:`convt.torch.conv_transpose`.
"""

from __future__ import annotations

from typing import Any

import torch

from .._params import as_int, parse_mode, parse_padding, per_axis
from ..errors import ConvError
from .functional import conv, conv_transpose

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


def _padding_attr(padding: Any, nd: int, func: str) -> str | tuple:
    """The ``padding`` attribute: a word, one int per axis (as torch.nn), or ``(lo, hi)`` pairs."""
    parsed = parse_padding("padding", padding, nd, func=func)
    if isinstance(parsed, str):
        return parsed
    if all(lo == hi for lo, hi in parsed):
        return tuple(lo for lo, _ in parsed)
    return parsed


def _checked(func: str, nd: int, in_channels: Any, out_channels: Any, kernel_size: Any, stride: Any,
             padding: Any, dilation: Any, groups: Any, padding_mode: Any) -> dict[str, Any]:
    cin = as_int("in_channels", in_channels, func=func)
    cout = as_int("out_channels", out_channels, func=func)
    g = as_int("groups", groups, func=func)
    if g < 1:
        raise ConvError(f"{func}: groups must be a positive int, got {g}")
    for name, n in (("in_channels", cin), ("out_channels", cout)):
        if n < 1 or n % g:
            raise ConvError(f"{func}: {name} must be a positive multiple of groups={g}, got {n}")
    return dict(
        in_channels=cin, out_channels=cout, groups=g,
        kernel_size=per_axis("kernel_size", kernel_size, nd, func=func, minimum=1),
        stride=per_axis("stride", stride, nd, func=func, minimum=1),
        dilation=per_axis("dilation", dilation, nd, func=func, minimum=1),
        padding=_padding_attr(padding, nd, func),
        padding_mode=parse_mode(padding_mode, func=func),
    )


class _Conv:
    """The N-d direct convolution module, written once; see :class:`Conv2d`."""

    _nd: int

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        a = _checked(type(self).__name__, self._nd, in_channels, out_channels, kernel_size, stride,
                     padding, dilation, groups, padding_mode)
        super().__init__(a["in_channels"], a["out_channels"], a["kernel_size"], a["stride"], 0,  # type: ignore[call-arg]
                         a["dilation"], a["groups"], bias, "zeros", device=device, dtype=dtype)
        self.padding = a["padding"]
        self.padding_mode = a["padding_mode"]

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return conv(input, weight, bias, stride=self.stride, padding=self.padding,  # type: ignore[attr-defined]
                    dilation=self.dilation, groups=self.groups, padding_mode=self.padding_mode)  # type: ignore[attr-defined]

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(input, self.weight, self.bias)  # type: ignore[attr-defined]


class _ConvTranspose:
    """The N-d transposed convolution module, written once; see :class:`ConvTranspose2d`."""

    _nd: int

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        func = type(self).__name__
        a = _checked(func, self._nd, in_channels, out_channels, kernel_size, stride, padding, dilation,
                     groups, padding_mode)
        op = per_axis("output_padding", output_padding, self._nd, func=func, minimum=0)
        super().__init__(a["in_channels"], a["out_channels"], a["kernel_size"], a["stride"], 0, 0,  # type: ignore[call-arg]
                         a["groups"], bias, a["dilation"], "zeros", device=device, dtype=dtype)
        self.padding = a["padding"]
        self.output_padding = op
        self.padding_mode = a["padding_mode"]

    def forward(self, input: torch.Tensor, output_size: Any = None) -> torch.Tensor:
        """The transposed convolution; ``output_size`` (spatial or full shape) overrides output_padding."""
        return conv_transpose(
            input, self.weight, self.bias, stride=self.stride, padding=self.padding,  # type: ignore[attr-defined]
            output_padding=self.output_padding if output_size is None else 0,  # type: ignore[attr-defined]
            dilation=self.dilation, groups=self.groups, output_size=output_size,  # type: ignore[attr-defined]
            padding_mode=self.padding_mode)


_CONV_DOC = """{nd}-d convolution, a drop-in :class:`torch.nn.Conv{nd}d` with convt's meanings.

    Same constructor arguments, parameters (``weight`` of shape ``(C_out,
    C_in // groups, *kernel)``, ``bias``), ``state_dict``, ``repr`` and
    initialisation as ``torch.nn.Conv{nd}d``; ``padding`` also takes one
    ``(lo, hi)`` pair per axis (negative crops) and "same" / "same_lower"
    with any stride.

    Shape: ``out = floor((i + lo + hi - d*(k - 1) - 1) / s) + 1`` per axis.

    >>> import torch, convt.torch
    >>> m = convt.torch.Conv{nd}d(2, 4, 3, stride=2, padding="same")
    >>> m(torch.zeros(1, 2, *[5] * {nd})).shape[2:] == (3,) * {nd}
    True
    """

_CONV_TRANSPOSE_DOC = """{nd}-d transposed convolution, a drop-in :class:`torch.nn.ConvTranspose{nd}d` with convt's meanings.

    Same constructor arguments, parameters (``weight`` of shape ``(C_in,
    C_out // groups, *kernel)``, ``bias``), ``state_dict``, ``repr`` and
    initialisation as ``torch.nn.ConvTranspose{nd}d``; ``padding`` (the crop
    of the full result) also takes ``(begin, end)`` pairs (negative extends)
    and "same" / "same_lower" / "valid" with any stride (TensorFlow-exact);
    ``padding_mode`` "reflect", "replicate" or "circular" makes it the exact
    adjoint of the direct convolution with that mode; ``forward(x,
    output_size=None)`` as PyTorch's.

    Shape: ``out = (i - 1)*s - lo - hi + d*(k - 1) + output_padding + 1``.

    >>> import torch, convt.torch
    >>> m = convt.torch.ConvTranspose{nd}d(2, 4, 3, stride=2, padding="same")
    >>> m(torch.zeros(1, 2, *[5] * {nd})).shape[2:] == (10,) * {nd}
    True
    """


class Conv1d(_Conv, torch.nn.Conv1d):
    __doc__ = _CONV_DOC.format(nd=1)
    _nd = 1


class Conv2d(_Conv, torch.nn.Conv2d):
    __doc__ = _CONV_DOC.format(nd=2)
    _nd = 2


class Conv3d(_Conv, torch.nn.Conv3d):
    __doc__ = _CONV_DOC.format(nd=3)
    _nd = 3


class ConvTranspose1d(_ConvTranspose, torch.nn.ConvTranspose1d):
    __doc__ = _CONV_TRANSPOSE_DOC.format(nd=1)
    _nd = 1


class ConvTranspose2d(_ConvTranspose, torch.nn.ConvTranspose2d):
    __doc__ = _CONV_TRANSPOSE_DOC.format(nd=2)
    _nd = 2


class ConvTranspose3d(_ConvTranspose, torch.nn.ConvTranspose3d):
    __doc__ = _CONV_TRANSPOSE_DOC.format(nd=3)
    _nd = 3
