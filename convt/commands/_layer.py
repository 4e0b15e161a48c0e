"""The layer flags shared by ``convt explain`` and ``convt draw`` (text parsing only).

``--input``, ``--kernel``, ``--stride``, ``--dilation``, ``--output-padding``
and ``--output-size`` take an int or comma-separated ints (one per axis);
``--padding`` also takes ``lo:hi`` pairs and the padding words. The number
of spatial axes is the longest list given. No arithmetic lives here: the
parsed values go to :func:`convt.compat.layer_spec` (every convention) or,
for the default ``torch`` convention, to :mod:`convt.spec`.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from typing import Any

from ..errors import ConvError
from ..spec import ConvSpec, conv_spec, conv_transpose_spec

__all__ = ["CONVENTIONS", "Layer", "add_layer_args", "layer_from_args", "parse_ints", "parse_padding_text"]

CONVENTIONS = ("torch", "tensorflow", "keras", "onnx", "jax")
#: --padding when none is given: PyTorch's and ONNX's 0, the layers' default words elsewhere
DEFAULT_PADDING = {"torch": "0", "onnx": "0", "tensorflow": "SAME", "keras": "valid", "jax": "SAME"}


@dataclass(frozen=True)
class Layer:
    """What the user asked for: the parsed flags and the spec they resolve to."""

    spec: ConvSpec
    convention: str
    padding: Any
    output_padding: tuple[int, ...] | None
    output_size: tuple[int, ...] | None
    #: the same layer without output_padding / output_size (its crop is the direct conv's padding)
    nominal: ConvSpec

    @property
    def same(self) -> bool:
        """Whether the padding is a "same" word (any convention's spelling)."""
        return isinstance(self.padding, str) and self.padding.lower().startswith("same")


def add_layer_args(p: argparse.ArgumentParser) -> None:
    """Add the layer flags to a subcommand's parser."""
    g = p.add_argument_group("the layer (an int, or comma-separated ints, one per spatial axis)")
    g.add_argument("--input", default="4", metavar="I", help="input size (default 4)")
    g.add_argument("--kernel", default="3", metavar="K", help="kernel size (default 3)")
    g.add_argument("--stride", default="1", metavar="S", help="stride (default 1)")
    g.add_argument("--padding", default=None, metavar="P",
                   help="int, per-axis ints, lo:hi pairs (e.g. 0:1,1), or a padding word "
                        "(torch: valid, same, same_lower; tensorflow, jax: SAME, VALID; keras: same, valid; "
                        "onnx: NOTSET, SAME_UPPER, SAME_LOWER, VALID); default 0 (torch, onnx), SAME "
                        "(tensorflow, jax), valid (keras)")
    g.add_argument("--output-padding", default=None, metavar="A",
                   help="output_padding of a transposed convolution (default 0)")
    g.add_argument("--output-size", default=None, metavar="O",
                   help="wanted output size of a transposed convolution (sets output_padding / "
                        "output_shape)")
    g.add_argument("--dilation", default="1", metavar="D", help="dilation (default 1)")
    g.add_argument("--conv", action="store_true", help="a direct convolution (default: transposed)")
    g.add_argument("--convention", default="torch", choices=CONVENTIONS,
                   help="whose argument meanings to use (default torch)")


def parse_ints(name: str, text: str) -> tuple[int, ...]:
    """``"3"`` -> ``(3,)``; ``"3,5"`` -> ``(3, 5)``; anything else names the flag.

    >>> parse_ints("--stride", "2, 1")
    (2, 1)
    """
    try:
        return tuple(int(t) for t in text.split(","))
    except ValueError:
        raise ConvError(f"{name} must be an int or comma-separated ints (one per axis), got {text!r}") from None


def parse_padding_text(text: str) -> Any:
    """A ``--padding`` value: a word, or a tuple of ints and ``(lo, hi)`` pairs.

    >>> parse_padding_text("0:1,2"), parse_padding_text("same"), parse_padding_text("1")
    (((0, 1), 2), 'same', (1,))
    """
    if any(c.isalpha() for c in text):
        return text.strip()
    items: list[Any] = []
    for part in text.split(","):
        if ":" in part:
            lo, _, hi = part.partition(":")
            items.append(tuple(parse_ints("--padding", f"{lo},{hi}")))
        else:
            items.append(parse_ints("--padding", part)[0])
    return tuple(items)


def _axes(values: dict[str, tuple[Any, ...] | None]) -> int:
    return max(len(v) for v in values.values() if v is not None)


def _fit(name: str, value: tuple[Any, ...] | None, nd: int) -> Any:
    """One value for every axis, or exactly one per axis (never silently cut)."""
    if value is None or len(value) == nd:
        return value
    if len(value) == 1:
        return value * nd
    raise ConvError(f"{name} has {len(value)} values but the layer has {nd} spatial axes; give 1 or {nd}")


def layer_from_args(args: argparse.Namespace, use_consistent_padding: bool = False) -> Layer:
    """Resolve the layer flags to a :class:`Layer` (raises ConvError on a bad value).

    ``use_consistent_padding``: jax's flag of a transposed layer (``convt translate``).
    """
    raw: dict[str, tuple[Any, ...] | None] = {
        "--input": parse_ints("--input", args.input),
        "--kernel": parse_ints("--kernel", args.kernel),
        "--stride": parse_ints("--stride", args.stride),
        "--dilation": parse_ints("--dilation", args.dilation),
        "--output-padding": None if args.output_padding is None else parse_ints("--output-padding", args.output_padding),
        "--output-size": None if args.output_size is None else parse_ints("--output-size", args.output_size),
    }
    text = DEFAULT_PADDING[args.convention] if args.padding is None else args.padding
    padding = parse_padding_text(text)
    if isinstance(padding, tuple):
        if args.convention != "torch":   # the frameworks take (before, after) pairs: n means n:n
            padding = tuple(p if isinstance(p, tuple) else (p, p) for p in padding)
        raw["--padding"] = padding
    nd = _axes(raw)
    fit = {k: _fit(k, v, nd) for k, v in raw.items()}
    if isinstance(padding, tuple):
        padding = fit["--padding"]
    transposed = not args.conv
    if args.conv and (fit["--output-padding"] is not None or fit["--output-size"] is not None):
        raise ConvError("--output-padding and --output-size belong to a transposed convolution; drop --conv")
    kw: dict[str, Any] = {
        "transposed": transposed, "input_size": fit["--input"], "kernel_size": fit["--kernel"],
        "stride": fit["--stride"], "dilation": fit["--dilation"],
    }
    kw["padding"] = padding
    if transposed:
        kw["output_padding"] = fit["--output-padding"]
        kw["output_size"] = fit["--output-size"]
    if use_consistent_padding:
        kw["use_consistent_padding"] = True
    spec = _spec(args.convention, kw)
    nominal = spec
    if transposed and (kw["output_padding"] is not None or kw["output_size"] is not None):
        try:
            nominal = _spec(args.convention, {**kw, "output_padding": None, "output_size": None})
        except ConvError:   # e.g. the output would be empty without output_padding
            nominal = spec
    return Layer(spec, args.convention, padding, fit["--output-padding"], fit["--output-size"], nominal)


def _spec(convention: str, kw: dict[str, Any]) -> ConvSpec:
    try:
        compat = importlib.import_module("convt.compat")
        layer_spec = compat.layer_spec
    except (ImportError, AttributeError):
        layer_spec = None
    if layer_spec is not None:
        return layer_spec(convention, **kw)
    if convention != "torch":
        raise ConvError(f"--convention {convention} needs convt.compat.layer_spec, which this installation "
                        "lacks; use --convention torch")
    nd = len(kw["kernel_size"])
    x_shape, w_shape = (1, 1, *kw["input_size"]), (1, 1, *kw["kernel_size"])
    common = {"stride": kw["stride"], "dilation": kw["dilation"], "padding": kw.get("padding", 0)}
    if kw["transposed"]:
        op = kw["output_padding"] or (0,) * nd
        return conv_transpose_spec(x_shape, w_shape, output_padding=op, output_size=kw["output_size"],
                                   func="convt", **common)[0]
    return conv_spec(x_shape, w_shape, func="convt", **common)[0]
