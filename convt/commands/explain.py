"""``convt explain``: the arithmetic of one layer, in words and numbers."""

from __future__ import annotations

import argparse

from ._layer import add_layer_args, layer_from_args

HELP = ("explain a (transposed) convolution: output size with the formula, the seed's case, the "
        "equivalent direct conv, the ambiguous sizes, kernel overlap, a picture")


def configure(p: argparse.ArgumentParser) -> None:
    add_layer_args(p)


def run(args: argparse.Namespace) -> int:
    from ..explain import explain, render_text

    layer = layer_from_args(args)
    print(render_text(explain(layer.spec, convention=layer.convention, nominal=layer.nominal, same=layer.same)))
    return 0
