"""convt.compat.jax against ``jax.lax.conv_transpose`` itself (float64, x64 enabled).

Every frameworks.md section (c) vector that involves JAX is a named test;
hypothesis draws random calls over padding forms, both flags, dilation and
dimension_numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
from _lazy import LazyModule
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import LEDGER, check

import convt
from convt import arithmetic as ar
from convt.compat import jax as cj
from convt.compat import layer_spec

pytestmark = pytest.mark.frameworks

jax = LazyModule("jax")  # imported by the first test that runs, not at collection
lax = LazyModule("jax.lax")


@pytest.fixture(autouse=True)
def _x64():
    jax.config.update("jax_enable_x64", True)

RNG = np.random.default_rng(0)


def refused(name):
    """Record a case where the framework and convt both refuse (counted in the summary)."""
    n, worst = LEDGER.get(f"{name} (both refuse)", (0, 0.0))
    LEDGER[f"{name} (both refuse)"] = (n + 1, worst)


def rand(*shape):
    return RNG.standard_normal(shape)


def crop_1d(i, k, s, padding, d=1, **kw):
    """Run JAX on one channel (transpose_kernel=True: no flip); read off (cb, ce)."""
    x, w = rand(1, i, 1), rand(k, 1, 1)
    y = np.asarray(lax.conv_transpose(x, w, (s,), padding, rhs_dilation=(d,), transpose_kernel=True, **kw))
    check("compat/jax", cj.conv_transpose(x, w, (s,), padding, rhs_dilation=(d,), transpose_kernel=True, **kw), y)
    f, o = ar.full_length(i, k, s, d), y.shape[1]
    for cb in range(-3, f + 1):
        cand = convt.conv_transpose(x[:, :, 0], w[:, 0, 0][None, None], stride=s, dilation=d,
                                    padding=[(cb, f - o - cb)])[0]
        if np.allclose(cand, y[:, :, 0], rtol=0, atol=1e-12):
            return o, (cb, f - o - cb)
    raise AssertionError("no crop matches JAX's result")


def test_vector01_odd_same_total_extra_at_the_end():
    assert crop_1d(4, 3, 2, "SAME") == (8, (0, 1))


def test_vector02_even_kernel_everyone_agrees():
    assert crop_1d(4, 4, 2, "SAME") == (8, (1, 1))


def test_vector04_stride_larger_than_kernel_same_extends_with_zeros():
    assert crop_1d(3, 1, 2, "SAME") == (6, (0, -1))
    assert crop_1d(3, 2, 3, "SAME") == (9, (0, -1))


def test_vector09_explicit_padding_meaning_depends_on_the_flag():
    assert crop_1d(4, 3, 2, ((0, 0),)) == (5, (2, 2))
    assert crop_1d(4, 3, 2, ((0, 0),), use_consistent_padding=True) == (9, (0, 0))
    assert crop_1d(4, 3, 2, ((1, 0),), use_consistent_padding=True) == (8, (1, 0))
    assert layer_spec("jax", transposed=True, input_size=4, kernel_size=3, stride=2, padding=[(1, 0)],
                      use_consistent_padding=True).pads == ((1, 0),)


def test_vector10_default_kernel_is_not_flipped():
    """transpose_kernel=False correlates with the kernel as given: the oracle needs it flipped."""
    x, w = rand(1, 5, 2), rand(3, 2, 4)  # HIO, I = input channels
    y = np.asarray(lax.conv_transpose(x, w, (2,), "SAME"))
    check("compat/jax", cj.conv_transpose(x, w, (2,), "SAME"), y)
    oracle = convt.conv_transpose(np.moveaxis(x, -1, 1), np.flip(np.transpose(w, (1, 2, 0)), -1), stride=2,
                                  padding="same")
    check("compat/jax", np.moveaxis(oracle, 1, -1), y)


def test_vector11_dilated_same():
    assert crop_1d(4, 3, 2, "SAME", d=2) == (8, (1, 2))


def test_valid_is_i_times_s_plus_overhang():
    assert crop_1d(4, 3, 2, "VALID") == (9, (0, 0))
    assert crop_1d(3, 1, 2, "VALID") == (6, (0, -1))


def test_dimension_numbers_strings_and_channels_first():
    x, w = rand(2, 3, 4, 5), rand(2, 3, 3, 2)  # NCHW; OIHW with O = 2 outputs, I = 3 inputs
    dn = ("NCHW", "OIHW", "NCHW")
    y = np.asarray(lax.conv_transpose(x, w, (2, 1), "SAME", dimension_numbers=dn))
    check("compat/jax", cj.conv_transpose(x, w, (2, 1), "SAME", dimension_numbers=dn), y)
    dn_obj = lax.conv_dimension_numbers(x.shape, w.shape, dn)
    check("compat/jax", cj.conv_transpose(x, w, (2, 1), "SAME", dimension_numbers=dn_obj), y)


def test_refuses_other_padding_words():
    with pytest.raises(convt.ConvError, match="padding"):
        cj.conv_transpose(rand(1, 4, 1), rand(3, 1, 1), (2,), "same")


LAYOUTS = {1: [("NHC", "HIO", "NHC"), ("NCH", "OIH", "NCH"), ("NHC", "OIH", "NCH")],
           2: [("NHWC", "HWIO", "NHWC"), ("NCHW", "OIHW", "NCHW"), ("NHWC", "IOWH", "NCWH")],
           3: [("NHWDC", "HWDIO", "NHWDC"), ("NCHWD", "OIHWD", "NCHWD")]}


@settings(max_examples=40)
@given(st.sampled_from([1, 2, 3]), st.data())
def test_conv_transpose_random(nd, data):
    i = data.draw(st.lists(st.integers(1, 5), min_size=nd, max_size=nd))
    k = data.draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd))
    s = tuple(data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    d = tuple(data.draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd)))
    consistent = data.draw(st.booleans())
    transpose_kernel = data.draw(st.booleans())
    padding = data.draw(st.sampled_from(["SAME", "VALID", "PAIRS"]))
    if padding == "PAIRS":
        padding = tuple((data.draw(st.integers(-1, 3)), data.draw(st.integers(-1, 3))) for _ in range(nd))
    dn = data.draw(st.sampled_from(LAYOUTS[nd]))
    cin, cout, n = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2))
    sizes = dict(zip("NC", (n, cin), strict=True)) | dict(zip([c for c in dn[1] if c not in "OI"], i, strict=True))
    x = rand(*(sizes[c] for c in dn[0]))
    ksizes = dict(zip([c for c in dn[1] if c not in "OI"], k, strict=True))
    ksizes |= {"O": cin, "I": cout} if transpose_kernel else {"I": cin, "O": cout}
    w = rand(*(ksizes[c] for c in dn[1]))
    kw = dict(rhs_dilation=d, dimension_numbers=dn, transpose_kernel=transpose_kernel,
              use_consistent_padding=consistent)
    crops = [ar.jax_transpose_crop(kk, ss, dd, padding if isinstance(padding, str) else p, consistent)
             for kk, ss, dd, p in zip(k, s, d, padding if not isinstance(padding, str) else k, strict=True)]
    if min(ar.transpose_length(ii, kk, ss, cb, ce, dd) for ii, kk, ss, dd, (cb, ce) in
           zip(i, k, s, d, crops, strict=True)) < 1:
        try:  # JAX raises, or returns an empty array; convt refuses an output size < 1
            assert np.asarray(lax.conv_transpose(x, w, s, padding, **kw)).size == 0
        except ValueError:
            pass
        with pytest.raises(convt.ConvError):
            cj.conv_transpose(x, w, s, padding, **kw)
        refused("compat/jax")
        return
    y = np.asarray(lax.conv_transpose(x, w, s, padding, **kw))
    check("compat/jax", cj.conv_transpose(x, w, s, padding, **kw), y)
