"""``convt demo``: every worked example of the seed, computed by convt."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HELP = "reproduce the seed's worked examples (2x2->4x4, stride 2 -> 5x5, the four cases, 6->3->6)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", default="demo-out",
                   help="folder for the figures (default: demo-out in the current directory); "
                        "`convt demo --out docs/gallery` regenerates the gallery")
    p.add_argument("--no-figures", action="store_true", help="print the examples only, write no files")


def _grid(a: np.ndarray) -> str:
    return "\n".join("    " + " ".join(f"{v:4g}" for v in row) for row in np.atleast_2d(a))


def run(args: argparse.Namespace) -> int:
    import convt
    from convt import arithmetic as ar
    from convt.algorithms import zero_insertion

    if not args.no_figures:  # the folder first: a bad --out fails before the examples are printed
        Path(args.out).mkdir(parents=True, exist_ok=True)
    print("convt demo: the seed's worked examples, computed by convt\n")

    # 1. i' = 2, k' = 3, p' = 2: the transpose of a p = 0, s = 1 convolution
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = np.arange(1.0, 10.0).reshape(3, 3)
    y = convt.conv_transpose(x[None], w[None, None])[0]
    eq = ar.equivalent_direct(2, 3)
    direct = convt.conv(x[None], w[::-1, ::-1][None, None], padding=eq.pad_lo)[0]
    print("1. i'=2, k'=3, p'=2 (the transpose of a p=0, s=1 conv): 2x2 -> "
          f"{y.shape[0]}x{y.shape[1]}")
    print(f"   conv_transpose_output_size(2, 3) = {convt.conv_transpose_output_size(2, 3)}"
          f"  (o' = i' + (k - 1) = 2 + 2)")
    print(_grid(y))
    print(f"   equals the direct conv of the input zero-padded by p' = {eq.pad_lo} on every side with the "
          f"flipped kernel: {np.array_equal(y, direct)}\n")

    # 2. i = 2, k = 3, s = 2: zero insertion, then unit-stride conv -> 5x5
    y2 = convt.conv_transpose(x[None], w[None, None], stride=2)[0]
    st = zero_insertion.stretch(x[None, None], (2, 2))[0, 0]
    print(f"2. i=2, k=3, s=2: insert s-1 = 1 zero between inputs (2x2 -> {st.shape[0]}x{st.shape[1]}), pad 2,"
          f" convolve at s'=1 -> {y2.shape[0]}x{y2.shape[1]}")
    print(_grid(st))
    print("   result:")
    print(_grid(y2))
    print()

    # 3. the four cases
    print("3. The four cases (o' for a transposed conv with k=3; p is the direct conv's padding):")
    cases = [("no zero padding, unit strides", 1, 0, "o' = i' + (k - 1)"),
             ("zero padding, unit strides", 1, 1, "o' = i' + (k - 1) - 2p"),
             ("no zero padding, non-unit strides", 2, 0, "o' = s(i' - 1) + k - 2p"),
             ("zero padding, non-unit strides", 2, 1, "o' = s(i' - 1) + k - 2p")]
    for name, s, p, formula in cases:
        o = convt.conv_transpose_output_size(4, 3, stride=s, padding=p)
        print(f"   case {ar.seed_case(s, p, p)}: {name:34s} i'=4, s={s}, p={p}: {formula:24s} = {o}")
    print()

    # 4. p = 0.5: i = 6, k = 3, s = 2 -> 3, and back
    print("4. 'p = 0.5': i=6, k=3, s=2 with SAME padding gives "
          f"o = {convt.conv_output_size(6, 3, stride=2, padding='same')} "
          f"(padding {ar.same_conv_padding(6, 3, 2)}: the extra zero on the right)")
    print(f"   but so does i=5: every i in {list(convt.conv_input_sizes(3, 3, stride=2, padding='same'))} "
          "maps to 3, so the way back must be told 5 or 6")
    xs = np.array([1.0, 2.0, 3.0])
    k1 = np.array([1.0, 10.0, 100.0])
    tf_crop = ar.same_transpose_crop(3, 3, 2)
    y_tf = convt.conv_transpose(xs[None, None], k1[None, None], stride=2, padding="same")[0, 0]
    y_pt = convt.conv_transpose(xs[None, None], k1[None, None], stride=2, padding=1, output_padding=1)[0, 0]
    y5 = convt.conv_transpose(xs[None, None], k1[None, None], stride=2, padding=1)[0, 0]
    print(f"   back to 5 (PyTorch p=1):                       {y5}")
    print(f"   back to 6, TensorFlow SAME (crop {tf_crop}):       {y_tf}")
    print(f"   back to 6, PyTorch p=1, output_padding=1 (1, 0): {y_pt}")
    print("   TensorFlow keeps the first full element and crops the extra at the end; PyTorch crops the first"
          "\n   element and keeps the end: the same 6 numbers shifted by one (research: the porting bug).")
    print("   The seed says the transposed conv's extra padding is on the left/top of the stretched input:")
    e_tf = ar.equivalent_direct(3, 3, 2, *tf_crop)
    e_pt = ar.equivalent_direct(3, 3, 2, 1, 0)
    print(f"     TensorFlow SAME pads the stretched input ({e_tf.pad_lo}, {e_tf.pad_hi}): extra on the "
          f"{'left' if e_tf.pad_lo > e_tf.pad_hi else 'right'};"
          f" PyTorch output_padding pads ({e_pt.pad_lo}, {e_pt.pad_hi}): extra on the "
          f"{'left' if e_pt.pad_lo > e_pt.pad_hi else 'right'}.")
    if not args.no_figures:
        _figures(Path(args.out))
    return 0


#: (file stem, what it shows, layer): every figure of the seed, as the flags of `convt draw`
FIGURES = [
    ("seed1_2x2_to_4x4", "example 1: 2x2 -> 4x4, k=3, s=1, p=0 (the seed's p'=2 full padding)",
     {"input": (2, 2), "kernel": (3, 3), "stride": 1, "padding": 0}),
    ("seed2_stride2_5x5", "example 2: 2x2 -> 5x5, k=3, s=2: one zero inserted between inputs",
     {"input": (2, 2), "kernel": (3, 3), "stride": 2, "padding": 0}),
    ("case1_no_padding_unit_stride", "case 1: no zero padding, unit strides (3x3 -> 5x5)",
     {"input": (3, 3), "kernel": (3, 3), "stride": 1, "padding": 0}),
    ("case2_padding_unit_stride", "case 2: zero padding p=1, unit strides (3x3 -> 3x3)",
     {"input": (3, 3), "kernel": (3, 3), "stride": 1, "padding": 1}),
    ("case3_no_padding_stride2", "case 3: no zero padding, stride 2 (3x3 -> 7x7)",
     {"input": (3, 3), "kernel": (3, 3), "stride": 2, "padding": 0}),
    ("case4_padding_stride2", "case 4: zero padding p=1, stride 2 (3x3 -> 5x5)",
     {"input": (3, 3), "kernel": (3, 3), "stride": 2, "padding": 1}),
]


def _figures(out: Path) -> None:
    """Write the seed's figures into ``out`` (needs Pillow for PNG and GIF) and list them."""
    from convt.draw import draw, draw_side_by_side
    from convt.draw.explorer import settings_from_spec
    from convt.spec import conv_spec, conv_transpose_spec

    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, str]] = []
    for stem, what, kw in FIGURES:
        spec, _ = conv_transpose_spec((1, 1, *kw["input"]), (1, 1, *kw["kernel"]), stride=kw["stride"],
                                      padding=kw["padding"])
        written.append((draw(spec, out / f"{stem}.png"), what))
        if stem.startswith("seed"):
            written.append((draw(spec, out / f"{stem}.gif"), what + " (animated)"))
    # the p = 0.5 case: 6 -> 3 with SAME padding, and two ways back to 6
    down, _ = conv_spec((1, 1, 6), (1, 1, 3), stride=2, padding="same")
    written.append((draw(down, out / "p05_down_6_to_3.png", convention="tensorflow SAME"),
                    "'p = 0.5': 6 -> 3, k=3, s=2, SAME: the extra zero on the right"))
    tf, _ = conv_transpose_spec((1, 1, 3), (1, 1, 3), stride=2, padding="same")
    pt, _ = conv_transpose_spec((1, 1, 3), (1, 1, 3), stride=2, padding=1, output_padding=1)
    written.append((draw_side_by_side([(tf, "TensorFlow SAME"), (pt, "PyTorch padding=1, output_padding=1")],
                                      out / "p05_back_3_to_6_tf_vs_torch.png", vertical=True),
                    "3 -> 6 back: TensorFlow's alignment (top) and PyTorch's (bottom), one element apart"))
    written.append((draw(pt, out / "p05_back_3_to_6_torch.gif", convention="PyTorch padding=1, output_padding=1"),
                    "3 -> 6 back in PyTorch's alignment (animated)"))
    written.append((draw(pt, out / "explorer.html", settings={**settings_from_spec(pt), "padding": "1",
                                                                   "output_padding": "1"}),
                    "the interactive explorer, opened at 3 -> 6 (PyTorch)"))
    print(f"\nfigures written to {out}/:")
    for path, what in written:
        print(f"  {path.name:36s} {what}")
