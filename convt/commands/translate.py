"""``convt translate``: a (transposed) convolution layer in another framework's terms, as code."""

from __future__ import annotations

import argparse

from ._layer import add_layer_args, layer_from_args, parse_ints

HELP = ("translate a (transposed) convolution layer between torch, tensorflow, keras, onnx and jax: "
        "parameters, weight conversion and any extra crop or pad, printed as code")


def configure(p: argparse.ArgumentParser) -> None:
    add_layer_args(p)
    g = p.add_argument_group("the translation")
    g.add_argument("--to", required=True, choices=("torch", "tensorflow", "keras", "onnx", "jax"),
                   help="the target framework (--convention is the source)")
    g.add_argument("--channels", default="1,1", metavar="IN,OUT", help="input and output channels (default 1,1)")
    g.add_argument("--groups", type=int, default=1,
                   help="groups (default 1): a direct convolution in any convention but TensorFlow 3-D; "
                        "a transposed one between torch and onnx only")
    g.add_argument("--padding-mode", default="zeros", choices=("zeros", "reflect", "replicate", "circular"),
                   help="a direct convolution from torch: how the padding reads the border (default zeros); the "
                        "target pads the input that way first (tensorflow, keras: reflect only)")
    g.add_argument("--use-consistent-padding", action="store_true",
                   help="jax source: (lo, hi) pads are the forward convolution's (jax's flag)")
    g.add_argument("--transpose-kernel", action="store_true",
                   help="jax source: the weight is used with transpose_kernel=True ((*k, out, in), no flip)")


def run(args: argparse.Namespace) -> int:
    from ..errors import ConvError
    from ..translate import translate

    channels = parse_ints("--channels", args.channels)
    if len(channels) != 2:
        raise ConvError(f"--channels must be IN,OUT, got {args.channels!r}")
    if args.convention != "jax" and (args.use_consistent_padding or args.transpose_kernel):
        flag = "--use-consistent-padding" if args.use_consistent_padding else "--transpose-kernel"
        raise ConvError(f"{flag} is a flag of a jax source (--convention jax), got --convention {args.convention}")
    layer = layer_from_args(args, use_consistent_padding=args.use_consistent_padding)
    spec = layer.spec
    t = translate(args.convention, args.to, input_size=spec.input_size, kernel_size=spec.kernel_size,
                  stride=spec.stride, dilation=spec.dilation, padding=layer.padding,
                  output_padding=layer.output_padding, output_size=layer.output_size,
                  use_consistent_padding=args.use_consistent_padding, transpose_kernel=args.transpose_kernel,
                  in_channels=channels[0], out_channels=channels[1], groups=args.groups, transposed=not args.conv,
                  padding_mode=args.padding_mode)
    print(t.code, end="")
    return 0
