"""``convt demo``: every worked example of the seed, computed by convt."""

from __future__ import annotations

import argparse

import numpy as np

HELP = "reproduce the seed's worked examples (2x2->4x4, stride 2 -> 5x5, the four cases, 6->3->6)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", default=None,
                   help="folder for the figures (written when the drawing extras are installed)")


def _grid(a: np.ndarray) -> str:
    return "\n".join("    " + " ".join(f"{v:4g}" for v in row) for row in np.atleast_2d(a))


def run(args: argparse.Namespace) -> int:
    import convt
    from convt import arithmetic as ar
    from convt.algorithms import zero_insertion

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
    return 0
