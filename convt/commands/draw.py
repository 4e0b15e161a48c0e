"""``convt draw -o FILE``: pictures of one layer (.png, .svg, .gif, .html)."""

from __future__ import annotations

import argparse

from ._layer import add_layer_args, layer_from_args

HELP = ("draw a (transposed) convolution: gather and scatter views, the matrix C and its transpose, "
        "the overlap map (.png, .svg, animated .gif) or the interactive explorer (.html)")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="file to write; .png, .svg, .gif (animated) or .html (interactive explorer)")
    add_layer_args(p)


def run(args: argparse.Namespace) -> int:
    from ..draw import draw
    from ..draw.explorer import settings_from_args

    layer = layer_from_args(args)
    settings = settings_from_args(args, layer) if args.output.lower().endswith(".html") else None
    path = draw(layer.spec, args.output, convention=layer.convention, settings=settings)
    print(f"wrote {path}")
    return 0
