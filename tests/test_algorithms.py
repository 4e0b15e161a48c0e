"""The fast algorithms and the planner against the reference (the definition).

Every algorithm, forced explicitly, and "auto" (the planner's choice) agree
with :mod:`convt.algorithms.reference` to 1e-12 in float64 over rank 1-3,
groups, stride 1-4, dilation 1-3, crops and paddings including negative ones,
and output_padding; also with several batch tiles, one or two threads,
integer (exact), complex and float32 inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import check

import convt
from convt import algorithms
from convt import arithmetic as ar
from convt.algorithms import _layout, _threads, fast, gemm, im2col, phase_shift, shuffle, subpixel
from convt.errors import ConvError
from convt.spec import conv_spec, conv_transpose_spec

TRANSPOSED = ("gemm", "subpixel", "phase_shift", "fast")


@st.composite
def layer(draw, transposed: bool):
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    cg, mg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    size = tuple(draw(st.integers(1, 6 if nd < 3 else 3)) for _ in range(nd))
    pads = tuple(draw(st.tuples(st.integers(-3, 4), st.integers(-3, 4))) for _ in range(nd))
    kw = dict(stride=s, padding=pads, dilation=d, groups=groups)
    if transposed:
        kw["output_padding"] = tuple(draw(st.integers(0, max(a, b) - 1)) for a, b in zip(s, d))
    batch = draw(st.integers(1, 3))
    return batch, groups, cg, mg, k, size, kw


def _spec_or_none(make, *args, **kw):
    try:
        return make(*args, **kw)[0]
    except ConvError:
        return None


@settings(max_examples=150, deadline=None)
@given(layer(transposed=True), st.integers(0, 2**16))
def test_every_transposed_algorithm_equals_reference(case, seed):
    batch, g, cg, mg, k, size, kw = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, g * cg, *size))
    w = rng.standard_normal((g * cg, mg, *k))
    spec = _spec_or_none(conv_transpose_spec, x.shape, w.shape, **kw)
    if spec is None:
        return
    ref = algorithms.conv_transpose(x, w, spec, "reference")
    for name in (*TRANSPOSED, "auto"):
        check(f"algorithms {name} vs reference", algorithms.conv_transpose(x, w, spec, name), ref)
    if shuffle.applies(spec):
        check("algorithms shuffle vs reference", shuffle.conv_transpose(x, w, spec), ref)


@settings(max_examples=150, deadline=None)
@given(layer(transposed=False), st.integers(0, 2**16))
def test_every_direct_algorithm_equals_reference(case, seed):
    batch, g, cg, mg, k, size, kw = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, g * cg, *size))
    w = rng.standard_normal((g * mg, cg, *k))
    spec = _spec_or_none(conv_spec, x.shape, w.shape, **kw)
    if spec is None:
        return
    ref = algorithms.conv(x, w, spec, "reference")
    for name in ("im2col", "fast", "auto"):
        check(f"algorithms conv {name} vs reference", algorithms.conv(x, w, spec, name), ref)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**16))
def test_shuffle_equals_reference(nd, groups, k, size, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2 * groups, *(size,) * nd))
    w = rng.standard_normal((2 * groups, 3, *(k,) * nd))
    spec, _ = conv_transpose_spec(x.shape, w.shape, stride=k, groups=groups)
    assert shuffle.applies(spec) and fast.choose_transpose(spec) == "shuffle"
    check("algorithms shuffle vs reference", shuffle.conv_transpose(x, w, spec),
          algorithms.conv_transpose(x, w, spec, "reference"))


def test_shuffle_refuses_other_specs():
    spec, _ = conv_transpose_spec((1, 1, 4), (1, 1, 3), stride=2)
    assert not shuffle.applies(spec)
    with pytest.raises(ValueError, match="kernel == stride"):
        shuffle.conv_transpose(np.ones((1, 1, 4)), np.ones((1, 1, 3)), spec)


@pytest.mark.parametrize("shape, kw, want", [
    ((8, 64, 8, 8), dict(c_out=32, k=2, stride=2, padding=0), "shuffle"),
    ((8, 64, 8, 8), dict(c_out=3, k=4, stride=2, padding=1), "gemm"),
    ((8, 16, 8, 8), dict(c_out=64, k=4, stride=2, padding=1), "subpixel"),
    ((8, 64, 8, 8), dict(c_out=64, k=3, stride=1, padding=1), "subpixel"),
])
def test_planner_choices_and_their_results(shape, kw, want):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((shape[1], kw["c_out"], kw["k"], kw["k"])) / 8
    spec, _ = conv_transpose_spec(x.shape, w.shape, stride=kw["stride"], padding=kw["padding"])
    assert fast.choose_transpose(spec) == want
    check(f"planner {want} vs reference", algorithms.conv_transpose(x, w, spec, "auto"),
          algorithms.conv_transpose(x, w, spec, "reference"))


@pytest.fixture
def small_tiles(monkeypatch):
    """Temporaries of at most 1 KiB: every batch is cut into many tiles."""
    monkeypatch.setattr(_layout, "TILE_BYTES", 1024)
    for f in (gemm.prepare, subpixel.prepare, phase_shift.prepare, im2col.prepare, shuffle._tiles):
        f.cache_clear()
    yield
    for f in (gemm.prepare, subpixel.prepare, phase_shift.prepare, im2col.prepare, shuffle._tiles):
        f.cache_clear()


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_batch_tiles_and_threads_do_not_change_results(small_tiles, threads):
    rng = np.random.default_rng(threads)
    x = rng.standard_normal((7, 6, 5, 4))
    _threads.set_num_threads(threads)
    try:
        for k, s, p in ((3, 2, 1), (2, 2, 0), (4, 3, (2, -1))):
            w = rng.standard_normal((6, 4, k, k))
            spec, _ = conv_transpose_spec(x.shape, w.shape, stride=s, padding=p, groups=2)
            assert len(gemm.prepare(spec, 7, 8)[1]) > 1  # really tiled
            ref = algorithms.conv_transpose(x, w, spec, "reference")
            for name in TRANSPOSED:
                check(f"tiled {name} vs reference", algorithms.conv_transpose(x, w, spec, name), ref)
            if shuffle.applies(spec):
                check("tiled shuffle vs reference", shuffle.conv_transpose(x, w, spec), ref)
            wc = rng.standard_normal((4, 3, k, k))
            cs, _ = conv_spec(x.shape, wc.shape, stride=s, padding=1, groups=2)
            check("tiled im2col vs reference", algorithms.conv(x, wc, cs, "im2col"),
                  algorithms.conv(x, wc, cs, "reference"))
    finally:
        _threads.set_num_threads(None)


def test_thread_settings():
    _threads.set_num_threads(1)
    try:
        assert _threads.num_threads() == 1
    finally:
        _threads.set_num_threads(None)
    with pytest.raises(ValueError, match="positive int"):
        _threads.set_num_threads(0)
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        assert _threads.num_threads() == 1


def test_env_thread_setting(monkeypatch):
    monkeypatch.setenv("CONVT_NUM_THREADS", "1")
    assert _threads.num_threads() == 1


@pytest.mark.parametrize("name", TRANSPOSED)
def test_integer_inputs_are_exact(name):
    rng = np.random.default_rng(1)
    x = rng.integers(-2**20, 2**20, (2, 4, 5, 3))
    w = rng.integers(-2**20, 2**20, (4, 3, 3, 2))
    spec, _ = conv_transpose_spec(x.shape, w.shape, stride=(2, 3), padding=((1, -1), (0, 2)), groups=2)
    got = algorithms.conv_transpose(x, w, spec, name)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, algorithms.conv_transpose(x, w, spec, "reference"))
    wc = rng.integers(-2**20, 2**20, (6, 2, 3, 2))
    cs, _ = conv_spec(x.shape, wc.shape, stride=2, padding=1, groups=2)
    np.testing.assert_array_equal(algorithms.conv(x, wc, cs, "im2col"), algorithms.conv(x, wc, cs, "reference"))


@pytest.mark.parametrize("name", TRANSPOSED)
def test_complex_and_float32(name):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6)) + 1j * rng.standard_normal((2, 3, 6))
    w = rng.standard_normal((3, 2, 4)) + 1j * rng.standard_normal((3, 2, 4))
    spec, _ = conv_transpose_spec(x.shape, w.shape, stride=3, padding=1, dilation=2)
    check(f"complex {name}", algorithms.conv_transpose(x, w, spec, name),
          algorithms.conv_transpose(x, w, spec, "reference"))
    x32, w32 = x.real.astype(np.float32), w.real.astype(np.float32)
    got = algorithms.conv_transpose(x32, w32, spec, name)
    assert got.dtype == np.float32
    check(f"float32 {name}", got, algorithms.conv_transpose(x.real, w.real, spec, "reference"))


def test_public_float16_works_in_float32():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float16)
    w = rng.standard_normal((4, 2, 4, 4)).astype(np.float16)
    got = convt.conv_transpose(x, w, stride=2, padding=1)
    assert got.dtype == np.float16
    spec, _ = conv_transpose_spec(x.shape, w.shape, stride=2, padding=1)
    ref = algorithms.conv_transpose(x.astype(np.float64), w.astype(np.float64), spec, "reference")
    check("float16 public vs reference", got, ref)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 7), st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(-4, 5), st.integers(0, 4))
def test_phase_taps_cover_every_contribution_once(i, k, s, d, cb, extra):
    """Every (input, tap) pair landing inside the output belongs to exactly one phase pair."""
    o = ar.transpose_length(i, k, s, cb, 0, d) + extra
    if o < 1:
        return
    want = sorted((j * s + t * d - cb, t, j) for j in range(i) for t in range(k) if 0 <= j * s + t * d - cb < o)
    got = []
    lo, hi = ar.phase_padding(i, k, s, d, cb, o)
    for r in range(min(s, o)):
        count, pairs = ar.phase_taps(i, k, s, d, cb, o, r)
        for t, off in pairs:
            assert -lo <= off and off + count <= i + hi
            got += [(r + s * m, t, m + off) for m in range(count) if 0 <= m + off < i]
    assert sorted(got) == want


def test_unknown_algorithm_names_the_choices():
    spec, _ = conv_transpose_spec((1, 1, 3), (1, 1, 2))
    with pytest.raises(ValueError, match="gemm"):
        algorithms.conv_transpose(np.ones((1, 1, 3)), np.ones((1, 1, 2)), spec, "nope")
