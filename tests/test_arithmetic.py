"""Properties of the integer shape arithmetic, checked against brute force."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import convt
from convt import arithmetic as ar
from convt.errors import ConvError
from convt.spec import conv_transpose_spec

small = st.integers(1, 9)


@settings(max_examples=500)
@given(small, st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(0, 4), st.integers(0, 4))
def test_conv_output_size_matches_window_count(i, k, s, d, lo, hi):
    """The formula equals the number of windows that fit, counted one by one."""
    K = ar.effective_kernel(k, d)
    windows = sum(1 for start in range(0, i + lo + hi, s) if start + K <= i + lo + hi)
    if windows == 0:
        return
    assert convt.conv_output_size(i, k, stride=s, padding=[(lo, hi)], dilation=d) == (windows,)[0]


@settings(max_examples=500)
@given(small, st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(-2, 4), st.integers(-2, 4))
def test_transpose_size_is_array_size(i, k, s, d, cb, ce):
    """The formula equals the shape of the reference result."""
    o = ar.transpose_length(i, k, s, cb, ce, d)
    if o < 1:
        return
    y = convt.conv_transpose(np.ones((1, 1, i)), np.ones((1, 1, k)), stride=s, padding=[(cb, ce)], dilation=d)
    assert y.shape[-1] == o == convt.conv_transpose_output_size(i, k, stride=s, padding=[(cb, ce)], dilation=d)


@settings(max_examples=500)
@given(small, st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(0, 3))
def test_every_input_size_round_trips(i, k, s, d, p):
    """conv then conv_transpose with the right output_padding gives back every input size."""
    try:
        o = convt.conv_output_size(i, k, stride=s, padding=p, dilation=d)
    except convt.ConvError:
        return
    assert i in convt.conv_input_sizes(o, k, stride=s, padding=p, dilation=d)
    for other in convt.conv_input_sizes(o, k, stride=s, padding=p, dilation=d):
        assert convt.conv_output_size(other, k, stride=s, padding=p, dilation=d) == o
        op = convt.conv_transpose_output_padding(o, other, k, stride=s, padding=p, dilation=d)
        assert 0 <= op < max(s, d)
        assert convt.conv_transpose_output_size(o, k, stride=s, padding=p, output_padding=op, dilation=d) == other


@settings(max_examples=500)
@given(st.integers(0, 8), st.integers(-12, 12), st.integers(-12, 12))
def test_pad_crop_window_is_the_definition(n, lo, hi):
    """Padding or cropping by ``(lo, hi)``: ``out[j] = x[j - lo]`` where that is inside ``x``, else zero,
    crops that reach past the data into the other side's zeros included."""
    if n + lo + hi < 0:
        return
    start, stop, at = ar.pad_crop_window(n, lo, hi)
    want = [j - lo if 0 <= j - lo < n else None for j in range(n + lo + hi)]
    got = [None] * (n + lo + hi)
    got[at:at + stop - start] = range(start, stop)
    assert got == want and 0 <= start <= stop <= n and 0 <= at <= n + lo + hi


@settings(max_examples=400)
@given(st.integers(1, 6), st.integers(1, 5), st.integers(1, 9), st.integers(1, 3), st.integers(-6, 6),
       st.integers(1, 30))
def test_tapped_phases_are_the_phases_with_taps(i, k, s, d, cb, o):
    """Every phase of ``range(min(s, o))`` that some tap reaches, found in O(k) from the taps' residues; the
    others (at least ``min(s, o) - k`` of them) have no tap."""
    every = [(r, *ar.phase_taps(i, k, s, d, cb, o, r)) for r in range(min(s, o))]
    assert ar.tapped_phases(i, k, s, d, cb, o) == tuple(p for p in every if p[2])
    assert ar.phase_overlap_even(k, s, d) == (len(set(ar.phase_overlap(k, s, d))) == 1)


def test_numpy_ints_are_ints():
    """NumPy integers, 0-d arrays included, are ints (an int in, an int out); 1-d arrays are sequences."""
    for five, three in ((np.int64(5), np.int32(3)), (np.array(5), np.array(3))):
        assert convt.conv_output_size(five, three, stride=2) == 2
        assert convt.conv_transpose_output_size(five, three, stride=2) == 11
        assert convt.conv_transpose_output_padding(five, np.array(12), three, stride=2) == 1
        assert convt.conv_input_sizes(np.array(2), three, stride=2) == range(5, 7)
    assert convt.conv_transpose_output_size(np.array([5, 4]), 3, stride=2) == (11, 9)


def test_tapped_phases_of_a_huge_stride():
    phases = ar.tapped_phases(3, 2, 10**12, 1, 0, 2 * 10**12 + 2)
    assert [(r, count) for r, count, _ in phases] == [(0, 3), (1, 3)]
    assert not ar.phase_overlap_even(2, 10**12) and ar.phase_padding(3, 2, 10**12, 1, 0, 2 * 10**12 + 2) == (0, 0)


@settings(max_examples=300)
@given(small, st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.booleans())
def test_same_padding(i, k, s, d, lower):
    word = "same_lower" if lower else "same"
    assert convt.conv_output_size(i, k, stride=s, padding=word, dilation=d) == -(-i // s)
    assert convt.conv_transpose_output_size(i, k, stride=s, padding=word, dilation=d) == i * s
    assert i in convt.conv_input_sizes(-(-i // s), k, stride=s, padding=word, dilation=d)
    lo, hi = ar.same_conv_padding(i, k, s, d, lower)
    assert (lo >= hi if lower else hi >= lo) and abs(lo - hi) <= 1


@settings(max_examples=300)
@given(small, st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(-1, 3), st.integers(-1, 3))
def test_overlap_counts_and_matrix_match_the_operator(i, k, s, d, cb, ce):
    """Overlap counts are conv_transpose of ones with ones; C^T is the operator's matrix."""
    if ar.transpose_length(i, k, s, cb, ce, d) < 1:
        return
    y = convt.conv_transpose(np.ones((1, 1, i), dtype=np.int64), np.ones((1, 1, k), dtype=np.int64),
                             stride=s, padding=[(cb, ce)], dilation=d)[0, 0]
    assert tuple(y) == ar.overlap_counts(i, k, s, cb, ce, d)
    n = ar.transpose_length(i, k, s, cb, ce, d)
    if ar.conv_length(n, k, s, cb, ce, d) != i:
        return
    taps = np.array(ar.conv_matrix_taps(n, k, s, cb, ce, d))          # C: (i, n)
    w = np.arange(1, k + 1, dtype=np.int64)
    C = np.where(taps >= 0, w[np.clip(taps, 0, None)], 0)
    eye = np.eye(i, dtype=np.int64)[:, None, :]
    cols = convt.conv_transpose(eye, w[None, None], stride=s, padding=[(cb, ce)], dilation=d)[:, 0, :]
    np.testing.assert_array_equal(cols, C)      # row j of C is conv_transpose of e_j


@settings(max_examples=300)
@given(small, st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(-2, 3), st.integers(-2, 3))
def test_equivalent_direct_is_the_seed_picture(i, k, s, d, cb, ce):
    eq = ar.equivalent_direct(i, k, s, cb, ce, d)
    if eq.output < 1:
        return
    assert eq.stretched == (i - 1) * s + 1
    # a stride-1 direct conv of the stretched, padded input has the transposed output size
    assert ar.conv_length(eq.stretched, k, 1, eq.pad_lo, eq.pad_hi, d) == eq.output


def test_int_in_int_out_sequence_in_tuple_out():
    assert convt.conv_output_size(7, 3) == 5
    assert convt.conv_output_size([7], 3) == (5,)
    assert convt.conv_output_size(np.array([7, 9]), 3) == (5, 7)
    assert convt.conv_input_sizes(5, 3) == range(7, 8)
    assert convt.conv_input_sizes((5, 5), 3, stride=2) == (range(11, 13), range(11, 13))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 3), small, st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(-2, 4),
       st.integers(-2, 4))
def test_reaching_multiply_adds_count_the_pairs_the_result_depends_on(nd, i, k, s, d, cb, ce):
    """The pairs a transposed layer and its adjoint depend on, counted one by one: an input that lands inside."""
    try:
        spec = conv_transpose_spec((1, 2, *(i,) * nd), (2, 3, *(k,) * nd), stride=s, padding=[(cb, ce)] * nd,
                                   dilation=d)[0]
    except ConvError:
        return
    o = spec.output_size[0]
    per_axis = sum(1 for j in range(i) for t in range(k) if 0 <= j * s + t * d - cb < o)
    assert ar.reaching_pairs(i, o, k, s, d, cb, True) == per_axis
    assert spec.reaching_multiply_adds(3) == 3 * per_axis ** nd * 2 * 3 <= spec.multiply_adds(3)
    assert spec.adjoint().reaching_multiply_adds(3) == spec.reaching_multiply_adds(3)
