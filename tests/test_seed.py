"""The seed's worked examples (shared/seed), each a named test."""

from __future__ import annotations

import numpy as np
import pytest

import convt
from convt import arithmetic as ar
from convt.algorithms import zero_insertion

X = np.array([[1.0, 2.0], [3.0, 4.0]])
W = np.arange(1.0, 10.0).reshape(3, 3)


def test_example1_2x2_k3_gives_4x4_and_equals_full_padded_direct_conv():
    """i'=2, k'=3, p'=2 (the transpose of p=0, s=1): pad by 2, convolve, 4x4."""
    y = convt.conv_transpose(X[None, None], W[None, None])[0, 0]
    assert y.shape == (4, 4)
    eq = ar.equivalent_direct(2, 3)
    assert (eq.pad_lo, eq.pad_hi) == (2, 2)          # p' = k - p - 1 = 2
    padded = np.pad(X, 2)
    flipped = W[::-1, ::-1]
    direct = np.array([[np.sum(padded[r:r + 3, c:c + 3] * flipped) for c in range(4)] for r in range(4)])
    np.testing.assert_array_equal(y, direct)


def test_example2_stride2_gives_5x5_via_zero_insertion():
    """i=2, k=3, s=2: insert s-1 zeros between inputs, pad 2, unit-stride conv: 5x5."""
    stretched = zero_insertion.stretch(X[None, None], (2, 2))[0, 0]
    np.testing.assert_array_equal(stretched, [[1, 0, 2], [0, 0, 0], [3, 0, 4]])
    y = convt.conv_transpose(X[None, None], W[None, None], stride=2)[0, 0]
    assert y.shape == (5, 5)
    padded = np.pad(stretched, 2)
    flipped = W[::-1, ::-1]
    direct = np.array([[np.sum(padded[r:r + 3, c:c + 3] * flipped) for c in range(5)] for r in range(5)])
    np.testing.assert_array_equal(y, direct)


@pytest.mark.parametrize("i", [1, 2, 5, 8])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_the_four_cases_formulas(i, k):
    """o' = i' + (k-1); i' + (k-1) - 2p; s(i'-1) + k - 2p (the seed's four cases)."""
    assert convt.conv_transpose_output_size(i, k) == i + (k - 1)                          # case 1
    for p in range(0, k):
        if i + (k - 1) - 2 * p >= 1:
            assert convt.conv_transpose_output_size(i, k, padding=p) == i + (k - 1) - 2 * p   # case 2
    for s in (2, 3):
        assert convt.conv_transpose_output_size(i, k, stride=s) == s * (i - 1) + k         # case 3
        for p in range(0, k):
            if s * (i - 1) + k - 2 * p >= 1:                                               # case 4
                assert convt.conv_transpose_output_size(i, k, stride=s, padding=p) == s * (i - 1) + k - 2 * p
    assert [ar.seed_case(s, p, p) for s, p in [(1, 0), (1, 1), (2, 0), (2, 1)]] == [1, 2, 3, 4]


def test_case2_half_padding_keeps_size():
    """'= i' for half padding': k = 2p + 1, s = 1."""
    for k in (1, 3, 5, 7):
        assert convt.conv_transpose_output_size(9, k, padding=k // 2) == 9


def test_p_half_case_6_to_3_and_back_to_5_or_6():
    """i=6, k=3, s=2 gives 3 ('p = 0.5': a padding total of 1); back to 5 or 6."""
    assert convt.conv_output_size(6, 3, stride=2, padding="same") == 3
    assert ar.same_conv_padding(6, 3, 2) == (0, 1)              # the extra zero on the right
    assert list(convt.conv_input_sizes(3, 3, stride=2, padding="same")) == [5, 6]
    assert convt.conv_transpose_output_size(3, 3, stride=2, padding=1) == 5
    assert convt.conv_transpose_output_padding(3, 6, 3, stride=2, padding=1) == 1
    assert convt.conv_transpose_output_size(3, 3, stride=2, padding="same") == 6


def test_p_half_alignment_tensorflow_left_pytorch_right():
    """The seed: for the transposed conv the extra padding is on the left/top (TF's
    convention); PyTorch's output_padding puts it on the right: a one-pixel shift."""
    x = np.array([[[1.0, 2.0, 3.0]]])
    w = np.array([[[1.0, 10.0, 100.0]]])
    tf_like = convt.conv_transpose(x, w, stride=2, padding="same")[0, 0]
    torch_like = convt.conv_transpose(x, w, stride=2, padding=1, output_padding=1)[0, 0]
    full = convt.conv_transpose(x, w, stride=2)[0, 0]       # 7 long
    np.testing.assert_array_equal(tf_like, full[:6])        # crop (0, 1)
    np.testing.assert_array_equal(torch_like, full[1:])     # crop (1, 0)
    tf_eq = ar.equivalent_direct(3, 3, 2, *ar.same_transpose_crop(3, 3, 2))
    torch_eq = ar.equivalent_direct(3, 3, 2, 1, 0)
    assert tf_eq.pad_lo > tf_eq.pad_hi          # TF: extra zero on the left of the stretched input
    assert torch_eq.pad_lo < torch_eq.pad_hi    # PyTorch: on the right


def test_case2_equals_i_only_for_half_padding():
    """The post writes case 2 as '= i''; that holds only for p = (k - 1) / 2."""
    assert convt.conv_transpose_output_size(5, 3, padding=0) == 7 != 5
    assert convt.conv_transpose_output_size(5, 5, padding=1) == 7 != 5
    assert convt.conv_transpose_output_size(5, 5, padding=2) == 5


def test_case4_formula_misses_the_remainder_and_dilation():
    """o' = s(i'-1) + k - 2p gives the smallest of the sizes; the transpose of a conv whose
    (i + 2p - k) is not a multiple of s needs + a (output_padding), and dilation adds d(k-1)."""
    i, k, s, p = 6, 3, 2, 1
    o = convt.conv_output_size(i, k, stride=s, padding=p)                 # 3
    seed_formula = s * (o - 1) + k - 2 * p                                 # 5, not 6
    assert seed_formula == 5 and (i + 2 * p - k) % s == 1
    assert convt.conv_transpose_output_size(o, k, stride=s, padding=p, output_padding=1) == i
    assert convt.conv_transpose_output_size(3, 3, stride=2, padding=1, dilation=2) == s * (3 - 1) + 2 * (3 - 1) + 1 - 2 * p


def test_kernel_prime_padding_prime_relation():
    """k' = k and p' = k - p - 1 (stride 1); with dilation p' = d(k - 1) - p."""
    for k in range(1, 6):
        for p in range(0, k):
            assert ar.equivalent_direct(4, k, 1, p, p).pad_lo == k - p - 1
            assert ar.equivalent_direct(4, k, 1, p, p, 2).pad_lo == 2 * (k - 1) - p


def test_direct_conv_same_puts_the_extra_right_except_same_lower():
    """'For the direct convolution the extra zero padding goes on the right/bottom':
    TensorFlow / JAX / ONNX SAME_UPPER / PyTorch 'same'; ONNX SAME_LOWER puts it left."""
    assert ar.same_conv_padding(6, 3, 2) == (0, 1)
    assert ar.same_conv_padding(6, 3, 2, lower=True) == (1, 0)
    x = np.arange(1.0, 7.0)[None, None]
    w = np.ones((1, 1, 3))
    np.testing.assert_array_equal(convt.conv(x, w, stride=2, padding="same")[0, 0], [6, 12, 11])
    np.testing.assert_array_equal(convt.conv(x, w, stride=2, padding="same_lower")[0, 0], [3, 9, 15])
