"""convt explain: golden numbers for the seed's settings, and properties checked against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convt
from convt import arithmetic as ar
from convt.cli import main
from convt.errors import ConvError
from convt.explain import explain, picture, render_text
from convt.spec import conv_spec, conv_transpose_spec


def _t(i, k, **kw):
    return conv_transpose_spec((1, 1, *i), (1, 1, *k), **kw)[0]


def run_cli(capsys, *argv):
    rc = main(["explain", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


# ---------------------------------------------------------------- golden
def test_seed_p05_back_to_6(capsys):
    rc, out, _ = run_cli(capsys, "--input", "3", "--kernel", "3", "--stride", "2", "--padding", "1",
                         "--output-padding", "1")
    assert rc == 0
    assert "(3 - 1)*2 - 1 - 0 + 1*(3 - 1) + 1 = 6" in out
    assert "seed case 4" in out
    assert "insert 1 zero(s) between inputs (3 -> 5), pad 1 before and 2 after" in out
    assert "FLIPPED kernel" in out
    assert "sizes a direct conv maps back to 3: [5, 6]; this layer gives 6" in out
    assert "output_padding a = o' - 5 (a < max(stride, dilation): 0->5, 1->6)" in out
    assert "kernel overlap per output position: [1, 2, 1, 2, 1, 1]" in out
    assert "UNEVEN" in out and "divisible by the stride" in out
    assert "[·][x][0] x  0  x  ·  ·" in out


def test_seed_example_1_picture(capsys):
    rc, out, _ = run_cli(capsys, "--input", "2,2", "--kernel", "3")
    assert rc == 0
    assert "seed case 1" in out and "= 4" in out
    assert "pad 2 before and 2 after" in out
    assert out.rstrip().endswith("\n".join([
        "[·][·][·] ·  ·  ·", "[·][·][·] ·  ·  ·", "[·][·][x] x  ·  ·", " ·  ·  x  x  ·  ·",
        " ·  ·  ·  ·  ·  ·", " ·  ·  ·  ·  ·  ·"]))


def test_even_overlap_k4_s2(capsys):
    rc, out, _ = run_cli(capsys, "--input", "4", "--kernel", "4", "--stride", "2", "--padding", "1")
    assert rc == 0
    assert "even overlap (taps per output phase mod 2: [2, 2])" in out and "UNEVEN" not in out


def test_direct_same_ambiguity(capsys):
    rc, out, _ = run_cli(capsys, "--conv", "--input", "6", "--kernel", "3", "--stride", "2", "--padding", "same")
    assert rc == 0
    assert "floor((6 + 0 + 1 - 1*(3 - 1) - 1) / 2) + 1 = 3" in out
    assert "inputs that give the same output 3: [5, 6]" in out


def test_3d_prints_arithmetic_only(capsys):
    rc, out, _ = run_cli(capsys, "--input", "2,3,4", "--kernel", "3", "--stride", "2")
    assert rc == 0
    assert "axis 2:" in out and "3-D: the arithmetic above, axis by axis" in out and "[x]" not in out


@pytest.mark.parametrize("argv", [["--input", "a"], ["--input", "3,3", "--kernel", "1,2,3"],
                                  ["--output-padding", "2", "--stride", "2"], ["--conv", "--output-padding", "1"],
                                  ["--padding", "middle"]])
def test_bad_arguments_exit_2_one_line(capsys, argv):
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("convention, pad, output", [("torch", "-1:2", "[6]"), ("jax", "-1:-1", "[1]"),
                                                     ("torch", "0,-1", "[7, 9]")])
def test_negative_padding_values_need_no_equals_sign(capsys, convention, pad, output):
    """``--padding -1:2`` is a value, not an option (argparse alone takes only plain negative numbers)."""
    size = "5,5" if "," in pad else "5"
    rc, out, err = run_cli(capsys, "--input", size, "--kernel", "3", "--padding", pad, "--convention", convention)
    assert rc == 0 and err == "" and f"-> output {output}" in out
    assert "- -" not in out and "+ -" not in out  # negative numbers in the formula are parenthesised


def test_huge_settings_are_explained_briefly(capsys):
    """A stride of 10**9 (an output of 2*10**9): the long lists are shown by their ends and their length,
    the overlap is not listed, and there is no picture; nothing is built element by element."""
    rc, out, err = run_cli(capsys, "--input", "3", "--kernel", "2", "--stride", "1000000000")
    assert rc == 0 and err == "" and max(map(len, out.splitlines())) < 400
    assert "3000000001 (1000000000 values)" in out and "not listed for 2000000002 positions" in out
    assert "UNEVEN overlap" in out and "no picture" in out and "[x]" not in out
    rc, out, _ = run_cli(capsys, "--input", "150", "--kernel", "3", "--conv")  # the picture's own limit
    assert rc == 0 and "no picture: the padded input is 150 cells" in out


def test_picture_refuses_3d():
    with pytest.raises(ValueError, match="1-D and 2-D"):
        picture(_t((2, 2, 2), (2, 2, 2)))


# ---------------------------------------------------------------- properties vs PyTorch
params = st.tuples(st.integers(1, 6), st.integers(1, 4), st.integers(1, 3), st.integers(1, 2), st.integers(0, 3),
                   st.integers(0, 2))


@settings(max_examples=60, deadline=None)
@given(params)
def test_transposed_numbers_match_torch(p):
    i, k, s, d, pad, op = p
    try:
        spec = _t((i,), (k,), stride=s, padding=pad, output_padding=op, dilation=d)
        nominal = _t((i,), (k,), stride=s, padding=pad, dilation=d)
    except ConvError:
        return
    ex = explain(spec, nominal=nominal).axes[0]
    ones = torch.ones(1, 1, i, dtype=torch.float64)
    y = torch.nn.functional.conv_transpose1d(ones, torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=pad,
                                             output_padding=op, dilation=d)
    assert ex.output == y.shape[-1]
    assert list(ex.overlap) == y[0, 0].round().long().tolist()       # overlap = conv_transpose(ones, ones)
    # the equivalent direct conv: stretch, pad (crop if negative), correlate with the flipped kernel
    x = np.arange(1.0, i + 1)
    w = np.arange(1.0, k + 1)
    e = ex.equivalent
    st_ = np.zeros(e.stretched)
    st_[::s] = x
    big = np.pad(st_, (max(e.pad_lo, 0), max(e.pad_hi, 0)))
    big = big[max(-e.pad_lo, 0): len(big) - max(-e.pad_hi, 0)]
    direct = convt.conv(big[None, None], w[::-1].copy()[None, None], dilation=d)[0, 0]
    ref = torch.nn.functional.conv_transpose1d(torch.tensor(x)[None, None], torch.tensor(w)[None, None], stride=s,
                                               padding=pad, output_padding=op, dilation=d)[0, 0].numpy()
    np.testing.assert_array_equal(direct, ref)
    # every listed size is reachable with a valid output_padding and maps back to i
    for o in ex.same_sizes:
        xx = torch.ones(1, 1, o, dtype=torch.float64)
        back = torch.nn.functional.conv1d(xx, torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=pad,
                                          dilation=d)
        assert back.shape[-1] == i


@settings(max_examples=40, deadline=None)
@given(params)
def test_direct_numbers_match_torch(p):
    i, k, s, d, pad, _ = p
    try:
        spec = conv_spec((1, 1, i), (1, 1, k), stride=s, padding=pad, dilation=d)[0]
    except ConvError:
        return
    ex = explain(spec).axes[0]
    y = torch.nn.functional.conv1d(torch.ones(1, 1, i), torch.ones(1, 1, k), stride=s, padding=pad, dilation=d)
    assert ex.output == y.shape[-1]
    for ii in ex.same_sizes:
        assert torch.nn.functional.conv1d(torch.ones(1, 1, ii), torch.ones(1, 1, k), stride=s, padding=pad,
                                          dilation=d).shape[-1] == ex.output
    # windows reading each input = the gradient of the conv of ones
    xg = torch.ones(1, 1, i, requires_grad=True)
    torch.nn.functional.conv1d(xg, torch.ones(1, 1, k), stride=s, padding=pad, dilation=d).sum().backward()
    assert list(ex.overlap) == xg.grad[0, 0].round().long().tolist()
    assert ex.seed_case == ar.seed_case(s, pad, pad)


def test_render_text_2d_mentions_every_axis():
    text = render_text(explain(_t((3, 4), (3, 2), stride=(2, 1), padding=[(1, 0), 0])))
    assert "axis 0:" in text and "axis 1:" in text and "rotated 180 degrees" in text
