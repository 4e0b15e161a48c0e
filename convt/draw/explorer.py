"""The interactive explorer: one self-contained HTML file (inline JS and CSS, no network).

The page (template ``explorer.html``, shipped as package data) re-implements
the rules of :mod:`convt.arithmetic` in JavaScript; ``tests/test_explorer.py``
checks in headless Chromium that it shows the sizes Python computes.
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path
from typing import Any

from ..spec import ConvSpec

__all__ = ["explorer_html", "settings_from_args", "settings_from_spec", "write_explorer"]

_FIELDS = ("input", "kernel", "stride", "padding", "output_padding", "output_size", "dilation")


def _csv(v: tuple[int, ...]) -> str:
    return ",".join(map(str, v))


def settings_from_spec(spec: ConvSpec, convention: str = "torch") -> dict[str, Any]:
    """Explorer controls that reproduce ``spec`` exactly (torch meaning, ``lo:hi`` pads).

    >>> from convt.spec import conv_transpose_spec
    >>> settings_from_spec(conv_transpose_spec((1, 1, 3), (1, 1, 3), stride=2, padding=1, output_padding=1)[0])["padding"]
    '1:0'
    """
    return {
        "input": _csv(spec.input_size), "kernel": _csv(spec.kernel_size), "stride": _csv(spec.stride),
        "padding": ",".join(f"{lo}:{hi}" for lo, hi in spec.pads), "output_padding": "", "output_size": "",
        "dilation": _csv(spec.dilation), "transposed": spec.transposed, "convention": "torch",
    }


def settings_from_args(args: argparse.Namespace, layer: Any = None) -> dict[str, Any]:
    """Explorer controls as the user typed them on the command line."""
    return {
        "input": args.input, "kernel": args.kernel, "stride": args.stride, "padding": args.padding or "",
        "output_padding": args.output_padding or "", "output_size": args.output_size or "",
        "dilation": args.dilation, "transposed": not args.conv, "convention": args.convention,
    }


def explorer_html(settings: dict[str, Any]) -> str:
    """The page, opened at ``settings``."""
    template = resources.files("convt.draw").joinpath("explorer.html").read_text(encoding="utf-8")
    blob = json.dumps({k: settings.get(k, "") for k in (*_FIELDS, "transposed", "convention")})
    return template.replace("__CONVT_SETTINGS__", blob.replace("</", "<\\/"))


def write_explorer(path: str | Path, settings: dict[str, Any]) -> Path:
    """Write the explorer to ``path``."""
    p = Path(path)
    p.write_text(explorer_html(settings), encoding="utf-8")
    return p
