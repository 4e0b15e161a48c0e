"""The fast algorithms and the planner against the reference (the definition).

Every algorithm, forced explicitly, and "auto" (the planner's choice) agree
with :mod:`convt.algorithms.reference` to 1e-12 in float64 over rank 1-3,
groups, stride 1-4, dilation 1-3, crops and paddings including negative ones,
and output_padding; also with several batch tiles, one or two threads,
integer (exact), complex and float32 inputs.
"""

from __future__ import annotations

import itertools
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from oracle import check

import convt
from convt import algorithms
from convt import arithmetic as ar
from convt.algorithms import (
    _compiled,
    _layout,
    _phases,
    _rows,
    _threads,
    fast,
    gather,
    gemm,
    gemm_flat,
    im2col,
    phase_shift,
    subpixel,
    winograd,
    winograd4,
)
from convt.errors import ConvError
from convt.spec import conv_spec, conv_transpose_spec

TRANSPOSED = ("gather", "gemm", "gemm_flat", "subpixel", "phase_shift", "winograd", "winograd4", "fast")
DIRECT = ("gather", "im2col", "fast")


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


def _draw(case, seed, transposed: bool):
    """Random x and w for a drawn layer, and its spec (None where convt refuses the layer)."""
    batch, g, cg, mg, k, size, kw = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, g * cg, *size))
    w = rng.standard_normal((g * cg, mg, *k) if transposed else (g * mg, cg, *k))
    return rng, x, w, _spec_or_none(conv_transpose_spec if transposed else conv_spec, x.shape, w.shape, **kw)


#: crops that reach past the data into the zeros added on the other side (the reference's pad/crop once failed
#: on these: a negative slice end)
OVER_CROP_T = (1, 1, 1, 1, (1, 1, 1), (1, 2, 1), dict(stride=(1, 2, 1), padding=((0, 0), (-2, 4), (0, 0)),
                                                     dilation=(1, 1, 1), groups=1, output_padding=(0, 0, 0)))
OVER_CROP = (2, 1, 2, 1, (2,), (3,), dict(stride=(1,), padding=((3, -4),), dilation=(1,), groups=1))


@settings(max_examples=150, deadline=None)
@given(layer(transposed=True), st.integers(0, 2**16))
@example(OVER_CROP_T, 0)
def test_every_transposed_algorithm_equals_reference(case, seed):
    _rng, x, w, spec = _draw(case, seed, transposed=True)
    if spec is None:
        return
    ref = algorithms.conv_transpose(x, w, spec, "reference")
    for name in (*TRANSPOSED, "auto"):
        check(f"algorithms {name} vs reference", algorithms.conv_transpose(x, w, spec, name), ref)
    for layout in ("channels_first", "channels_last"):
        check(f"algorithms gemm {layout} vs reference", gemm.conv_transpose(x, w, spec, layout), ref)


def _poisoned(workspace):
    """``workspace`` whose floating-point buffers come filled with NaN: a read of a value never written shows."""
    def fresh(name, shape, dtype):
        a = workspace(name, shape, dtype)
        if np.dtype(dtype).kind in "fc":
            a.fill(np.nan)
        return a
    return fresh


#: per scratch-reading algorithm: its module (whose workspaces get poisoned) and the call
_POISONED = {"gemm channels-last": (gemm, lambda x, w, spec: gemm.conv_transpose(x, w, spec, "channels_last")),
             "compiled winograd": (winograd, lambda x, w, spec: algorithms.conv_transpose(x, w, spec, "winograd"))}


@pytest.mark.parametrize("name", sorted(_POISONED))
@settings(max_examples=50, deadline=None)
@given(case=layer(transposed=True), seed=st.integers(0, 2**16))
@example(case=(2, 1, 2, 2, (4, 4), (4, 4), dict(stride=(2, 2), padding=((1, 1), (1, 1)), dilation=(1, 1), groups=1,
                                                 output_padding=(0, 0))), seed=0)
def test_scratch_reads_only_what_was_written(name, case, seed):
    """On NaN-filled scratch buffers: gemm's channels-last products skip the first-axis rows a tap sends into the
    crop, and nothing reads them; compiled Winograd's tables point only at rows and products it wrote (with
    Numba; NumPy's form otherwise)."""
    _rng, x, w, spec = _draw(case, seed, transposed=True)
    if spec is None:
        return
    module, call = _POISONED[name]
    old, module.workspace = module.workspace, _poisoned(module.workspace)
    try:
        got = call(x, w, spec)
    finally:
        module.workspace = old
    check(f"{name} on NaN-filled buffers vs reference", got, algorithms.conv_transpose(x, w, spec, "reference"))


@settings(max_examples=60, deadline=None)
@given(layer(transposed=True), st.integers(0, 2**16), st.sampled_from([0, 10**9]))
def test_gemm_products_per_image_or_on_a_copy(case, seed, threshold):
    """gemm's channels-first product, image by image on x as it lies (threshold 0) or on a channel-major copy."""
    _rng, x, w, spec = _draw(case, seed, transposed=True)
    if spec is None:
        return
    old, gemm.BATCH_PIXELS = gemm.BATCH_PIXELS, threshold
    try:
        got = gemm.conv_transpose(x, w, spec, "channels_first")
    finally:
        gemm.BATCH_PIXELS = old
    check(f"gemm per-image product (threshold {threshold}) vs reference", got,
          algorithms.conv_transpose(x, w, spec, "reference"))


@settings(max_examples=80, deadline=None)
@given(layer(transposed=False), st.integers(0, 2**16), st.sampled_from(["always", "never"]),
       st.sampled_from([1, 10**9]))
@example(OVER_CROP, 0, "never", 10**9)
def test_im2col_gathers_from_the_input_or_a_padded_copy(case, seed, how, per_image):
    """Both im2col gathers (straight from the unpadded input, or from a padded copy) and both column
    layouts (image by image, or channel-major) in conv and the gradients."""
    rng, x, w, spec = _draw(case, seed, transposed=False)
    if spec is None:
        return
    gy = rng.standard_normal((x.shape[0], spec.out_channels, *spec.output_size))
    want_dw = im2col.weight_grad(x, gy, spec)
    old = im2col.DIRECT_GATHER, im2col.PER_IMAGE_PIXELS, im2col.PER_IMAGE_WEIGHT
    im2col.DIRECT_GATHER, im2col.PER_IMAGE_PIXELS, im2col.PER_IMAGE_WEIGHT = how, per_image, -1  # the pixels decide
    try:
        got, (y, dw), dw2 = im2col.conv(x, w, spec), im2col.conv_and_weight_grad(x, w, gy, spec), \
            im2col.weight_grad(x, gy, spec)
    finally:
        im2col.DIRECT_GATHER, im2col.PER_IMAGE_PIXELS, im2col.PER_IMAGE_WEIGHT = old
    ref = algorithms.conv(x, w, spec, "reference")
    layout = "by image" if per_image == 1 else "channel-major"
    check(f"im2col gather {how}, {layout} vs reference", got, ref)
    check(f"im2col fused gather {how}, {layout} vs reference", y, ref)
    check(f"im2col weight grad gather {how}, {layout} vs fused", dw, dw2)
    check(f"im2col weight grad gather {how}, {layout} vs default", dw2, want_dw)


@pytest.mark.parametrize("layout", ["fortran", "reversed", "transposed"])
def test_inputs_in_any_memory_layout(layout):
    """Arrays that are not C-contiguous (Fortran order, reversed, transposed views) give the results of
    their contiguous copies, through every layout copy and gather of the fast algorithms."""
    make = {"fortran": np.asfortranarray, "reversed": lambda a: a[..., ::-1].copy()[..., ::-1],
            "transposed": lambda a: np.ascontiguousarray(a.swapaxes(-1, -2)).swapaxes(-1, -2)}[layout]
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((3, 4, 9, 8)), rng.standard_normal((6, 2, 3, 3))
    g = rng.standard_normal((3, 6, 5, 4))
    for args in ((x, w), (make(x), make(w))):
        assert args[0].flags.c_contiguous == (args[0] is x)
    want = convt.conv(x, w, stride=2, padding=1, groups=2), convt.conv_grad(g, x, w, stride=2, padding=1, groups=2)
    got = (convt.conv(make(x), make(w), stride=2, padding=1, groups=2),
           convt.conv_grad(make(g), make(x), make(w), stride=2, padding=1, groups=2))
    np.testing.assert_array_equal(got[0], want[0])
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    xt, wt = rng.standard_normal((3, 6, 5, 4)), rng.standard_normal((6, 2, 3, 3))
    np.testing.assert_array_equal(convt.conv_transpose(make(xt), make(wt), stride=2, groups=2),
                                  convt.conv_transpose(xt, wt, stride=2, groups=2))


@settings(max_examples=150, deadline=None)
@given(layer(transposed=False), st.integers(0, 2**16))
@example(OVER_CROP, 0)
def test_every_direct_algorithm_equals_reference(case, seed):
    _rng, x, w, spec = _draw(case, seed, transposed=False)
    if spec is None:
        return
    ref = algorithms.conv(x, w, spec, "reference")
    for name in (*DIRECT, "auto"):
        check(f"algorithms conv {name} vs reference", algorithms.conv(x, w, spec, name), ref)
    if all(s == 1 for s in spec.stride):
        check("algorithms conv phase_shift vs reference", fast.conv_by_phase_shift(x, w, spec), ref)
        check("algorithms conv winograd4 vs reference", fast.conv_by_transpose(x, w, spec, "winograd4"), ref)


@pytest.mark.parametrize("shape, kw, want", [
    ((2, 64, 8, 8), dict(c_out=32, k=2, stride=2, padding=0), "gemm"),     # k == s: straight writes
    ((2, 64, 8, 8), dict(c_out=3, k=4, stride=2, padding=1), "gemm"),      # few output channels
    ((2, 8, 8, 8), dict(c_out=64, k=4, stride=2, padding=1), "subpixel"),  # few input channels
    ((2, 8, 1, 1), dict(c_out=64, k=4, stride=1, padding=0), "gemm"),  # ... but a 1 x 1 input: taps on padding
    ((2, 16, 32, 32), dict(c_out=16, k=3, stride=1, padding=1), "phase_shift"),  # large image
    ((2, 64, 4, 4), dict(c_out=32, k=4, stride=2, padding=1), "gemm"),     # small image: grid waste
    ((128, 32, 7, 7), dict(c_out=16, k=3, stride=2, padding=1), "gemm_flat"),  # short rows, little waste
    ((2, 32, 7, 7), dict(c_out=16, k=3, stride=2, padding=1), "phase_shift"),  # ... in a small batch
    ((2, 1024, 32), dict(c_out=512, k=4, stride=2, padding=1), "gemm"),  # a large weight: read as it lies
    ((2, 256, 32), dict(c_out=256, k=4, stride=2, padding=1), "phase_shift"),  # narrow per-tap products too
    ((2, 64, 256), dict(c_out=32, k=4, stride=2, padding=1), "phase_shift"),  # 1-D, wide products
])
def test_planner_choices_and_their_results(shape, kw, want):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((shape[1], kw["c_out"], *(kw["k"],) * (len(shape) - 2))) / 8
    spec, _ = conv_transpose_spec(x.shape, w.shape, stride=kw["stride"], padding=kw["padding"])
    assert fast.choose_transpose(spec, shape[0]) == want
    check(f"planner {want} vs reference", algorithms.conv_transpose(x, w, spec, "auto"),
          algorithms.conv_transpose(x, w, spec, "reference"))


def _peak(call) -> tuple[int, np.ndarray]:
    """``call()`` once, then again with fresh scratch buffers under tracemalloc: the bytes it allocates at its
    peak, and the two results (for the caller to compare)."""
    y = call()
    _layout.clear_workspaces()
    tracemalloc.start()
    try:
        y2 = call()
        return tracemalloc.get_traced_memory()[1], (y, y2)
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("x_shape, c_out", [((2, 16, 16, 16, 16), 16), ((2, 32, 24, 24), 32)])
def test_planner_takes_phase_shift_on_stride1_layers_with_a_halo(x_shape, c_out):
    """Stride-1 3 x 3 (x 3) layers whose padded grid wastes up to 1.5x (a 16^3 volume: 1.42x) go to phase_shift,
    not gemm, whose col2im of 27 taps per pixel took twice the time and 5-14x the memory (docs/perf-notes.md
    item 92; since item 97 gemm's channels-first tiles shrink toward the memory bound, and phase_shift's peak
    stays below theirs); the direct 2-D layer stays with im2col, measured faster there."""
    rng = np.random.default_rng(10)
    nd = len(x_shape) - 2
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((x_shape[1], c_out, *(3,) * nd))
    spec, _ = conv_transpose_spec(x.shape, w.shape, padding=1)
    assert 1.15 < phase_shift.waste(spec) <= fast.S1_MAX_WASTE
    assert fast.choose_transpose(spec, x_shape[0], 8, 1, True) == "phase_shift"
    ours, theirs = (_peak(lambda a=a: fast._TRANSPOSE[a](x, w, spec))[0] for a in ("phase_shift", "gemm"))
    arrays = x.nbytes + w.nbytes + x.nbytes * c_out // x_shape[1]
    assert ours < theirs and ours < 3 * arrays, f"peak {ours / arrays:.2f}x the arrays (gemm {theirs / arrays:.2f}x)"
    check("stride-1 phase_shift vs reference", algorithms.conv_transpose(x, w, spec, "auto"),
          algorithms.conv_transpose(x, w, spec, "reference"))
    direct, _ = conv_spec(x.shape, (c_out, x_shape[1], *(3,) * nd), padding=1)
    assert fast.choose_conv(direct, x_shape[0], True) == ("phase_shift" if nd == 3 else "im2col")


def _within_the_memory_bound(call, threads: int, arrays: int) -> np.ndarray:
    """``call()`` on ``threads`` threads, then again with fresh scratch buffers under tracemalloc: its peak within
    2x its arrays (``arrays`` bytes of input and weight, and the result's), the same result both times."""
    _threads.set_num_threads(threads)
    try:
        with _threads.blas_threads(threads):
            peak, (y, y2) = _peak(call)
    finally:
        _threads.set_num_threads(None)
    arrays += y.nbytes
    assert peak <= 2 * arrays, f"peak {peak / arrays:.2f}x the arrays"
    np.testing.assert_array_equal(y, y2)
    return y


@pytest.mark.parametrize("threads, x_shape, c_out, kw", [
    (1, (64, 256, 8, 8), 128, dict(stride=2, padding=1)),  # dcgan-2: on one thread
    (2, (4, 256, 2048), 128, dict(stride=8, padding=4)),  # vocoder-2: on two
])
def test_planner_takes_winograd_within_the_memory_bound(threads, x_shape, c_out, kw):
    """Winograd where it fits, its peak memory within 2x its arrays; never for dcgan-1, whose transformed
    weight alone would break that bound."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    k = 4 if len(x_shape) == 4 else 16
    w = rng.standard_normal((x_shape[1], c_out, *(k,) * (len(x_shape) - 2)), dtype=np.float32)
    spec, _ = conv_transpose_spec(x.shape, w.shape, **kw)
    assert fast.choose_transpose(spec, x_shape[0], 4, threads) == "winograd"
    big, _ = conv_transpose_spec((64, 512, 4, 4), (512, 256, 4, 4), stride=2, padding=1)
    assert fast.choose_transpose(big, 64, 4, threads) == "gemm"
    y = _within_the_memory_bound(lambda: convt.conv_transpose(x, w, **kw), threads, x.nbytes + w.nbytes)
    ref = algorithms.conv_transpose(x[:1].astype(np.float64), w.astype(np.float64), spec, "reference")
    check("winograd float32 vs float64 reference", y[:1], ref, tol=1e-5)


def test_planner_keeps_winograd_off_where_one_image_overflows_the_bound():
    """vocoder-2 on a batch of one: a single image's tile would take the peak to ~2.5x its arrays."""
    one, _ = conv_transpose_spec((1, 256, 2048), (256, 128, 16), stride=8, padding=4)
    assert not winograd.fits(one, 1, 4, 1)
    assert fast.choose_transpose(one, 1, 4, 1) == "phase_shift"
    four, _ = conv_transpose_spec((4, 256, 2048), (256, 128, 16), stride=8, padding=4)
    assert winograd.fits(four, 4, 4, 1) and fast.choose_transpose(four, 4, 4, 1) == "winograd"


@pytest.mark.parametrize("threads", [1, 2])
def test_planner_takes_compiled_winograd_on_deep_layers(threads):
    """With Numba, Winograd goes first for dcgan-2 (256 -> 128 channels), within the memory bound; not for 128
    -> 128 channels, a 1-D vocoder (F(2, 2) saves only a third) or a batch whose tiles give short products."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((64, 256, 8, 8), dtype=np.float32)
    w = rng.standard_normal((256, 128, 4, 4), dtype=np.float32)
    kw = dict(stride=2, padding=1)
    spec, _ = conv_transpose_spec(x.shape, w.shape, **kw)
    assert fast.choose_transpose(spec, 64, 4, threads, compiled=True) == "winograd"
    assert winograd.compiled_fits(spec, 64, 4, threads)
    thin, _ = conv_transpose_spec((64, 128, 8, 8), (128, 128, 4, 4), **kw)
    vocoder, _ = conv_transpose_spec((4, 256, 2048), (256, 128, 16), stride=8, padding=4)
    assert fast.choose_transpose(thin, 64, 4, threads, compiled=True) != "winograd"
    assert fast.choose_transpose(vocoder, 4, 4, threads, compiled=True) != "winograd"
    short, _ = conv_transpose_spec((32, 256, 8, 8), (256, 128, 4, 4), **kw)  # 16 tiles an image, 2 images a tile
    assert winograd.compiled_fits(short, 32, 4, 1) and not winograd.compiled_fits(short, 32, 4, 2)
    y = _within_the_memory_bound(lambda: convt.conv_transpose(x, w, **kw), threads, x.nbytes + w.nbytes)
    ref = algorithms.conv_transpose(x[:2].astype(np.float64), w.astype(np.float64), spec, "reference")
    check("compiled winograd float32 vs float64 reference", y[:2], ref, tol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
def test_planner_takes_winograd4_on_wide_layers_with_many_tiles(threads):
    """Stride-1 3 x 3 layers of 128-512 channels: F(4, 3) from 1024 output tiles in the batch (its 4x weight read
    over enough rows), rule 0's F(2, 3) below; direct convolutions alike."""
    def picks(n, c_in, size, c_out):
        spec, _ = conv_transpose_spec((n, c_in, size, size), (c_in, c_out, 3, 3), padding=1)
        direct, _ = conv_spec((n, c_out, size, size), (c_in, c_out, 3, 3), padding=1)
        return fast.choose_transpose(spec, n, 4, threads, True), fast.choose_conv(direct, n, True, 4, True, threads)
    assert picks(16, 256, 32, 256) == ("winograd4", "winograd4")  # 16 x 64 tiles
    assert picks(64, 192, 16, 384) == ("winograd4", "winograd4")  # 64 x 16
    assert picks(32, 256, 16, 256) == ("winograd", "winograd")  # 32 x 16: F(2, 3)
    assert picks(64, 512, 8, 256) == ("winograd", "winograd")  # 64 x 4
    assert picks(16, 64, 32, 64) == ("winograd4", "winograd4")  # within W4_MAX_CHANNELS, as before


@pytest.mark.parametrize("threads", [1, 2])
def test_planner_runs_deep_stride1_convolutions_by_compiled_winograd(threads, monkeypatch):
    """A 3 x 3 stride-1 direct convolution on 256 channels: the transposed convolution of the flipped kernel by
    Winograd's compiled F(2, 3), exact in float64; without Numba the NumPy rules, the same result."""
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((32, 256, 8, 8)), rng.standard_normal((256, 256, 3, 3))
    spec, _ = conv_spec(x.shape, w.shape, padding=1)
    assert fast.choose_conv(spec, 32, True, 8, True, threads) == "winograd"  # float64, as run below
    assert fast.choose_conv(spec, 32, False, 8, True, threads) != "winograd"
    ref = algorithms.conv(x, w, spec, "reference")
    _threads.set_num_threads(threads)
    try:
        check("conv, stride 1, by compiled winograd vs reference", algorithms.conv(x, w, spec, "auto"), ref)
        monkeypatch.setattr(_compiled, "_enabled", False)
        check("conv, stride 1, without Numba vs reference", algorithms.conv(x, w, spec, "auto"), ref)
    finally:
        _threads.set_num_threads(None)


@pytest.mark.parametrize("mg", [40, 4])  # the blocked loop (from BLOCK_MIN_OUT channels) and the per-pixel one
def test_gather_sums_with_coefficients_equal_their_numpy_twin(mg):
    """The gather's loops with a coefficient per term (Winograd's output transform) against NumPy's twin, and
    without coefficients against the plain sums."""
    rng = np.random.default_rng(10)
    spec, _ = conv_transpose_spec((2, 3, 5, 5), (3, mg, 3, 3), stride=2, padding=1)
    indptr, pixel, tap = gather.table(spec)
    cols = rng.standard_normal((1, 2, 25, 9, mg))
    coef = rng.standard_normal(len(pixel))
    outs = math.prod(spec.output_size)
    got, want = np.empty((2, 1, mg, outs)), np.empty((2, 1, mg, outs))
    assert gather.sums(np.float64, mg) is not gather._gather_numpy  # Numba is installed by the test setup
    for c in (coef, None):
        gather.sums(np.float64, mg)(cols, indptr, pixel, tap, got, c)
        gather._gather_numpy(cols, indptr, pixel, tap, want, c)
        check(f"gather sums {'with' if c is not None else 'without'} coefficients vs NumPy's twin", got, want)


def test_gather_is_compiled_where_numba_is_installed(monkeypatch):
    """The test setup installs Numba (the ``fast`` extra): the loop compiles; ``CONVT_NUMBA=0`` switches it off."""
    import numba  # noqa: F401  (installed by the test extra: a missing one must fail here, not skip)

    assert gather.available() and gather.compiled() is not None
    monkeypatch.setenv("CONVT_NUMBA", "0")
    monkeypatch.setattr(_compiled, "_enabled", None)  # read again, as on first use
    assert not gather.available() and gather.compiled() is None


def test_gather_compiles_in_memory_where_no_cache_folder_is_writable(monkeypatch):
    """Numba refuses ``cache=True`` where no cache folder is writable (a read-only install): the loops compile
    in memory instead, and give the same results."""
    import numba

    real = numba.njit

    def njit(*args, **kwargs):
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function '_gather_loop': no locator available for file 'gather.py'")
        return real(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", njit)
    monkeypatch.setattr(gather._loops, "done", False)  # compile afresh (restored after the test)
    assert gather.compiled() is not None
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((3, 2, 3, 3))
    spec, _ = conv_transpose_spec(x.shape, w.shape, stride=2, padding=1)
    check("gather compiled in memory vs reference", gather.conv_transpose(x, w, spec),
          algorithms.conv_transpose(x, w, spec, "reference"))


@settings(max_examples=60, deadline=None)
@given(layer(transposed=True), st.integers(0, 2**16), st.sampled_from(["0", "1"]))
def test_gather_in_blocks_and_without_numba_equals_reference(case, seed, numba):
    """The compiled loop writing 3 pixels at a time (as it does from 32 channels), and its NumPy twin (Numba
    missing or switched off), on the same table."""
    _rng, x, w, spec = _draw(case, seed, transposed=True)
    if spec is None:
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_compiled, "_enabled", numba == "1")
        mp.setattr(gather, "BLOCK", 3)
        mp.setattr(gather, "BLOCK_MIN_OUT", 1)
        got = algorithms.conv_transpose(x, w, spec, "gather")
        xi, wi = np.round(x * 8).astype(np.int64), np.round(w * 8).astype(np.int64)
        got_int = algorithms.conv_transpose(xi, wi, spec, "gather")
    check(f"gather (CONVT_NUMBA={numba}) in blocks vs reference", got, algorithms.conv_transpose(x, w, spec, "reference"))
    np.testing.assert_array_equal(got_int, algorithms.conv_transpose(xi, wi, spec, "reference"))


def _check_three_dtypes(name: str, call, reference, x: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> None:
    """``call`` against ``reference`` on float64 ``x, w``, on complex ones made from them, and on integer ones
    (x 8, rounded: exactly)."""
    xc, wc = x + 1j * rng.standard_normal(x.shape), w - 2j * rng.standard_normal(w.shape)
    xi, wi = np.round(x * 8).astype(np.int64), np.round(w * 8).astype(np.int64)
    check(f"{name} vs reference", call(x, w), reference(x, w))
    check(f"{name} complex vs reference", call(xc, wc), reference(xc, wc))
    np.testing.assert_array_equal(call(xi, wi), reference(xi, wi))


@pytest.mark.parametrize("name, transposed", [("gather", False), ("winograd", True)])
@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**16), numba=st.sampled_from(["0", "1"]))
def test_compiled_loops_and_numpy_twins_equal_reference(name, transposed, data, seed, numba):
    """The direct convolution's im2col by the gather's compiled loop, and Winograd's transforms as compiled sparse
    sums (``winograd.tables``), each against its NumPy twin and the reference, complex and integers too (Winograd
    on integers is always NumPy's exact form)."""
    rng, x, w, spec = _draw(data.draw(layer(transposed=transposed)), seed, transposed=transposed)
    if spec is None:
        return
    run = algorithms.conv_transpose if transposed else algorithms.conv
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_compiled, "_enabled", numba == "1")
        _check_three_dtypes(f"{name} {'transposed' if transposed else 'direct'} (CONVT_NUMBA={numba})",
                            lambda a, b: run(a, b, spec, name), lambda a, b: run(a, b, spec, "reference"), x, w, rng)


@st.composite
def stride_kernel_layer(draw, transposed: bool):
    """Layers whose kernel equals the stride on every axis, no padding (U-Net's k == s; ``_rows``' domain), on
    images large and small beside the per-image thresholds (which the test sets to 0 or 10**9)."""
    nd = draw(st.integers(1, 3))
    k = (*(draw(st.integers(1, 3)) for _ in range(nd - 1)), draw(st.integers(2, 4)))
    size = tuple(draw(st.integers(1, 5 if nd < 3 else 3)) for _ in range(nd))
    if not transposed:  # direct: the input k * o plus a remainder that no tap reads
        size = tuple(kk * o + draw(st.integers(0, kk - 1)) for kk, o in zip(k, size))
    kw = dict(stride=k, padding=((0, 0),) * nd, dilation=(1,) * nd, groups=draw(st.integers(1, 2)))
    if transposed:
        kw["output_padding"] = (0,) * nd
    return draw(st.integers(1, 3)), kw["groups"], draw(st.integers(1, 3)), draw(st.integers(1, 3)), k, size, kw


def _counted_or_off(mp: pytest.MonkeyPatch, module, loop: str, compiled: bool, gate: str = "applies") -> list[int]:
    """``module.<loop>`` counting its calls into the list returned, or (not ``compiled``) the module switched off
    (its ``gate``, ``applies(spec, dtype)``, saying no)."""
    calls: list[int] = []
    if compiled:
        real = getattr(module, loop)
        mp.setattr(module, loop, lambda *a: calls.append(1) or real(*a))
    else:
        mp.setattr(module, gate, lambda spec, dtype: False)
    return calls


@settings(max_examples=80, deadline=None)
@given(stride_kernel_layer(transposed=True), st.integers(0, 2**16), st.sampled_from([0, 10**9]), st.booleans())
def test_k_equals_s_rows_interleaved_compiled_or_by_numpy(case, seed, threshold, compiled):
    """gemm on k == s writes each output row once from its taps' product rows (``_rows``, compiled) or phase by
    phase (NumPy); per image or on a channel-major copy; float64, complex and integers."""
    rng, x, w, spec = _draw(case, seed, transposed=True)
    assert _rows.applies(spec, np.dtype(np.float64)) == _compiled.available()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gemm, "BATCH_PIXELS", threshold)
        calls = _counted_or_off(mp, _rows, "interleave", compiled)
        _check_three_dtypes(f"gemm k == s (compiled {compiled}, threshold {threshold})",
                            lambda a, b: gemm.conv_transpose(a, b, spec),
                            lambda a, b: algorithms.conv_transpose(a, b, spec, "reference"), x, w, rng)
    assert bool(calls) == (compiled and _compiled.available())


@settings(max_examples=80, deadline=None)
@given(stride_kernel_layer(transposed=False), st.integers(0, 2**16), st.sampled_from([0, 10**9]), st.booleans())
def test_k_equals_s_rows_deinterleaved_compiled_or_by_numpy(case, seed, threshold, compiled):
    """im2col on k == s reads each input row once into its taps' columns (``_rows``, compiled) or tap by tap
    (NumPy), columns per image or channel-major; the convolution and its weight gradient from them."""
    rng, x, w, spec = _draw(case, seed, transposed=False)
    g = rng.standard_normal((x.shape[0], spec.out_channels, *spec.output_size))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(im2col, "PER_IMAGE_PIXELS", threshold)
        mp.setattr(im2col, "PER_IMAGE_WEIGHT", -1)  # the pixels alone decide the layout
        calls = _counted_or_off(mp, _rows, "deinterleave", compiled)
        _check_three_dtypes(f"im2col k == s (compiled {compiled}, threshold {threshold})",
                            lambda a, b: im2col.conv(a, b, spec),
                            lambda a, b: algorithms.conv(a, b, spec, "reference"), x, w, rng)
        y, dw = im2col.conv_and_weight_grad(x, w, g, spec)
    check("im2col k == s convolution beside its weight gradient", y, algorithms.conv(x, w, spec, "reference"))
    check("im2col k == s weight gradient vs its definition", dw, _k_equals_s_weight_grad(x, g, spec))
    assert bool(calls) == (compiled and _compiled.available())


def _k_equals_s_weight_grad(x: np.ndarray, g: np.ndarray, spec) -> np.ndarray:
    """``dW[m, c, t] = sum over n, q of g[n, m, q] * x[n, c, k*q + t]`` (kernel k = stride, no padding), by einsum."""
    n, nd, groups = x.shape[0], spec.nd, spec.groups
    k, o = spec.kernel_size, spec.output_size
    xs = x[(Ellipsis, *(slice(0, kk * oo) for kk, oo in zip(k, o)))]
    xs = xs.reshape(n, groups, spec.in_channels // groups, *(v for oo, kk in zip(o, k) for v in (oo, kk)))
    gs = g.reshape(n, groups, spec.out_channels // groups, *o)
    qs, ts = "opq"[:nd], "uvw"[:nd]
    rule = f"ngc{''.join(q + t for q, t in zip(qs, ts))},ngm{qs}->gmc{ts}"
    return np.einsum(rule, xs, gs).reshape(spec.out_channels, spec.in_channels // groups, *k)


@settings(max_examples=100, deadline=None)
@given(layer(transposed=True), st.integers(0, 2**16), st.sampled_from([0, 10**9]), st.booleans())
@example((2, 1, 2, 1, (3, 3), (5, 4), dict(stride=(2, 2), padding=((1, 1), (1, 1)), dilation=(1, 1), groups=1,
                                            output_padding=(1, 1))), 0, 0, True)  # ae-2's masked taps
@example((1, 2, 2, 2, (3, 2, 3), (3, 3, 4), dict(stride=(2, 1, 2), padding=((1, 1), (1, 0), (1, 1)),
                                               dilation=(1, 1, 1), groups=2, output_padding=(1, 0, 1))), 1, 10**9, True)
def test_gemm_phases_summed_compiled_or_by_numpy(case, seed, threshold, compiled):
    """gemm's channels-first col2im sums each phase in a flat buffer by a compiled loop (``_phases``; its masks
    keep out the positions the flat shift wraps around) or by NumPy's strided adds; per image or on a
    channel-major copy; on NaN-filled buffers (a read of a value never written shows); float64, complex, integers."""
    rng, x, w, spec = _draw(case, seed, transposed=True)
    if spec is None:
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gemm, "BATCH_PIXELS", threshold)
        mp.setattr(_phases, "workspace", _poisoned(_phases.workspace))
        mp.setattr(gemm, "workspace", _poisoned(gemm.workspace))
        calls = _counted_or_off(mp, _phases, "col2im", compiled)
        _check_three_dtypes(f"gemm phases (compiled {compiled}, threshold {threshold})",
                            lambda a, b: gemm.conv_transpose(a, b, spec, "channels_first"),
                            lambda a, b: algorithms.conv_transpose(a, b, spec, "reference"), x, w, rng)
    # the compiled loop runs wherever it can: every tapped layer whose phases fit the input's grid, not k == s
    expect = (compiled and _compiled.available() and _phases.plan(spec) is not None and all(_layout.axis_phases(spec)[0])
              and not _rows.applies(spec, np.dtype(np.float64)))
    assert bool(calls) == expect


@st.composite
def stride1_layer(draw):
    """Stride-1 layers (winograd4's own domain; others go to winograd): kernels 1-7, so F(4, r) for r <= 5 and
    fewer outputs per tile beyond, dilation (the exact form), crops and paddings."""
    nd = draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 7 if nd == 1 else 4)) for _ in range(nd))
    d = tuple(draw(st.sampled_from([1, 1, 2, 3])) for _ in range(nd))
    size = tuple(draw(st.integers(1, 11 if nd < 3 else 5)) for _ in range(nd))
    pads = tuple(draw(st.tuples(st.integers(-3, 5), st.integers(-3, 5))) for _ in range(nd))
    return (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4)), k,
            size, dict(stride=(1,) * nd, padding=pads, dilation=d, groups=1, output_padding=(0,) * nd))


@settings(max_examples=120, deadline=None)
@given(stride1_layer(), st.integers(0, 2**16), st.sampled_from(["0", "1"]))
@example((2, 2, 3, 2, (3, 3), (9, 7), dict(stride=(1, 1), padding=((1, 1), (1, 1)), dilation=(1, 1), groups=2,
                                             output_padding=(0, 0))), 0, "1")
def test_winograd4_with_and_without_numba_equals_reference(case, seed, numba):
    """F(4, r) on stride-1 layers, compiled and by the NumPy twins: float64 to 1e-12, complex, integers exactly
    (their exact form), float32 within 3e-5 of the largest output (the transforms' rounding, docs/perf-notes.md
    item 90); and the direct convolution through it."""
    batch, g, cg, mg, k, size, kw = case
    case = (batch, g, cg, mg, k, size, {**kw, "groups": g})
    rng, x, w, spec = _draw(case, seed, transposed=True)
    if spec is None:
        return
    ref = algorithms.conv_transpose(x, w, spec, "reference")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_compiled, "_enabled", numba == "1")
        _check_three_dtypes(f"winograd4 stride 1 (CONVT_NUMBA={numba})",
                            lambda a, b: algorithms.conv_transpose(a, b, spec, "winograd4"),
                            lambda a, b: algorithms.conv_transpose(a, b, spec, "reference"), x, w, rng)
        got32 = algorithms.conv_transpose(x.astype(np.float32), w.astype(np.float32), spec, "winograd4")
    check(f"winograd4 stride 1 float32 (CONVT_NUMBA={numba}) vs float64 reference", got32, ref, tol=3e-5)
    dspec = _spec_or_none(conv_spec, x.shape, (spec.out_channels, spec.in_channels // g, *k), padding=kw["padding"],
                          dilation=kw["dilation"], groups=g)
    if dspec is not None:
        wd = rng.standard_normal((spec.out_channels, spec.in_channels // g, *k))
        check("conv by winograd4 vs reference", fast.conv_by_transpose(x, wd, dspec, "winograd4"),
              algorithms.conv(x, wd, dspec, "reference"))


@settings(max_examples=80, deadline=None)
@given(stride1_layer(), st.integers(0, 2**16), st.sampled_from(["0", "1"]))
# every tap reads only padding: the gradient is exactly zero, not the transforms' rounding (found by a random run)
@example((1, 1, 1, 1, (3, 1), (1, 1), dict(stride=(1, 1), padding=((4, -1), (0, 0)), dilation=(1, 1), groups=1,
                                            output_padding=(0, 0))), 0, "0")
def test_winograd4_weight_grad_with_and_without_numba_equals_im2col(case, seed, numba):
    """The weight gradient by F(k, 4) on stride-1 direct layers (others fall back to im2col), compiled and by the
    NumPy twins: float64 to 1e-12, integers exactly, float32 within 3e-5."""
    batch, g, cg, mg, k, size, kw = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, g * cg, *size))
    spec = _spec_or_none(conv_spec, x.shape, (g * mg, cg, *k), padding=kw["padding"], dilation=kw["dilation"],
                         groups=g)
    if spec is None:
        return
    gy = rng.standard_normal((batch, spec.out_channels, *spec.output_size))
    xi, gi = np.round(x * 8).astype(np.int64), np.round(gy * 8).astype(np.int64)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_compiled, "_enabled", numba == "1")
        got, got_int = winograd4.weight_grad(x, gy, spec), winograd4.weight_grad(xi, gi, spec)
        got32 = winograd4.weight_grad(x.astype(np.float32), gy.astype(np.float32), spec)
    want = im2col.weight_grad(x, gy, spec)
    check(f"winograd4 weight grad (CONVT_NUMBA={numba}) vs im2col", got, want)
    none = winograd4.weight_grad(x[:0], gy[:0], spec)  # an empty batch: zeros
    assert none.shape == want.shape and not none.any()
    np.testing.assert_array_equal(got_int, im2col.weight_grad(xi, gi, spec))
    check(f"winograd4 weight grad float32 (CONVT_NUMBA={numba}) vs float64", got32, want, tol=3e-5)


@pytest.mark.parametrize("func", ["conv_grad", "conv_transpose_grad"])
def test_gradients_take_winograd4_where_the_convolution_does(func, monkeypatch):
    """stride1's gradients: the input gradient and the weight gradient by Winograd (not the shared im2col), as
    the float64 result to float32's rounding, at a peak within 2x the arrays; without Numba, im2col."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((8, 48, 32, 32), dtype=np.float32)
    w = rng.standard_normal((48, 48, 3, 3), dtype=np.float32) / 8
    g = rng.standard_normal((8, 48, 32, 32), dtype=np.float32)
    spec, _ = conv_spec(x.shape, w.shape, padding=1)
    assert algorithms._winograds(spec, 8, np.dtype(np.float32))
    calls = []
    monkeypatch.setattr(winograd4, "weight_grad", lambda *a, real=winograd4.weight_grad: calls.append(1) or real(*a))
    fn = getattr(convt, func)
    # the peak of the whole call (grad_weight and grad_bias made and dropped within it), against grad_output, x,
    # the weight, grad_weight and grad_x
    _within_the_memory_bound(lambda: fn(g, x, w, padding=1)[0], 2, g.nbytes + x.nbytes + 2 * w.nbytes)
    got = fn(g, x, w, padding=1)
    assert calls
    want = fn(g.astype(np.float64), x.astype(np.float64), w.astype(np.float64), padding=1)
    for name, a, b in zip(("grad_x", "grad_weight"), got, want):
        check(f"{func} {name} by winograd4 float32 vs float64", a, b, tol=3e-5)
    monkeypatch.setattr(_compiled, "_enabled", False)
    assert not algorithms._winograds(spec, 8, np.dtype(np.float32))


@pytest.mark.skipif(not _compiled.available(), reason="needs Numba")
@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.int64])
def test_winograd4_compiled_passes_equal_their_numpy_twins(dtype):
    """The compiled passes (one loop writing each output row once, its terms four at a time) against the NumPy
    twins, on a matrix with a zero row and rows of 1 to 8 nonzeros, and (float) an infinite input: zero entries
    never multiply, so it reaches only the rows whose entry for it is nonzero."""
    rng = np.random.default_rng(11)
    mat = rng.integers(1, 4, (9, 8)) * rng.choice([-1, 1], (9, 8))
    for r, count in enumerate(range(1, 9)):
        mat[r, count:] = 0  # row r has r + 1 nonzeros; row 8 all 8
    mat[2] = 0  # a zero row: written as zeros
    mat = mat.astype(dtype)
    loops = winograd4._pick_loops(np.dtype(dtype))
    src = rng.integers(-9, 10, (3, 4 * 2 + 8, 5)).astype(dtype)  # (O, L, I) for 3 tiles of step 4
    if np.dtype(dtype).kind == "f":
        src[0, 7, 1] = np.inf
    got, want = (np.full((9, 3, 3, 5), 7, dtype) for _ in range(2))
    loops["forward"](src, got, mat, 4, 0, 3)
    winograd4._TWINS["forward"](src, want, mat, 4, 0, 3)
    np.testing.assert_array_equal(got, want)
    at = mat.T.copy()  # (8 positions, 9 coordinates)
    back_got, back_want = (np.full((3, 8 * 3, 5), 7, dtype) for _ in range(2))
    finite = np.where(np.isfinite(want), want, 0)
    loops["backward"](finite, back_got, at, 0, 3)
    winograd4._TWINS["backward"](finite, back_want, at, 0, 3)
    np.testing.assert_array_equal(back_got, back_want)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.int64, np.float16])
def test_tap_major_compiled_or_by_numpy(dtype, monkeypatch):
    """The weight's tap-major copy, compiled where it can be, equals NumPy's transposing copy: groups, 1-d to
    3-d kernels, every value of the workspace written; a non-contiguous weight takes NumPy's copy."""
    from convt.algorithms import _layout
    rng = np.random.default_rng(13)
    for shape, groups in [((8, 5, 4, 4), 1), ((6, 3, 3, 2, 2), 2), ((4, 5, 7), 4)]:
        w = (rng.standard_normal(shape) * 50).astype(dtype)
        want = np.ascontiguousarray(w.reshape(groups, shape[0] // groups, shape[1], -1).swapaxes(2, 3))
        _layout.workspace("test.tap", want.shape, w.dtype).fill(7)
        np.testing.assert_array_equal(_layout.tap_major(w, groups, "test.tap"), want)
        strided = np.asfortranarray(w)
        np.testing.assert_array_equal(_layout.tap_major(strided, groups, "test.tap"), want)
    monkeypatch.setattr(_compiled, "_enabled", False)  # NumPy's copy
    np.testing.assert_array_equal(_layout.tap_major(w, groups, "test.tap"), want)


@pytest.mark.skipif(not _compiled.available(), reason="needs Numba")
@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.int64])
def test_winograd4_compiled_write_out_equals_its_numpy_twin(dtype):
    """The last stage, channels-last tiles cropped into the channels-first result: the compiled loop against
    NumPy's transposing copy, on a 3-d grid cropped on every axis with 2 groups, every value written."""
    rng = np.random.default_rng(12)
    sizes, full = (5, 3, 6), (8, 4, 8)
    rows = winograd4._result_rows(sizes, full)
    src = rng.integers(-99, 100, (2, 3, full[0] * full[1], full[2], 4)).astype(dtype)  # (G, nb, rows, width, Mg)
    got, want = (np.full((3, 2, 4, sizes[0] * sizes[1], sizes[2]), 7, dtype) for _ in range(2))
    winograd4._pick_loops(np.dtype(dtype))["to_channels_first"](src, rows, got)
    winograd4._TWINS["to_channels_first"](src, rows, want)
    np.testing.assert_array_equal(got, want)
    grid = src.reshape(2, 3, *full, 4)[:, :, :5, :3, :6].transpose(1, 0, 5, 2, 3, 4)  # (nb, G, Mg, *sizes)
    np.testing.assert_array_equal(got.reshape(grid.shape), grid)


def test_winograd4_float32_error_on_a_3x3_layer():
    """F(4, 3) rounds more than a direct sum in float32 (entries up to 8 and 1/24), within 1e-5 of the largest
    output on the stride1 layer; float64 stays within 1e-13."""
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 64, 32, 32)), rng.standard_normal((64, 64, 3, 3))
    spec, _ = conv_transpose_spec(x.shape, w.shape, padding=1)
    ref = algorithms.conv_transpose(x, w, spec, "reference")
    y32 = winograd4.conv_transpose(x.astype(np.float32), w.astype(np.float32), spec)
    direct32 = phase_shift.conv_transpose(x.astype(np.float32), w.astype(np.float32), spec)
    err, direct = check("winograd4 F(4, 3) float32", y32, ref), check("phase_shift float32", direct32, ref)
    assert err < 1e-5 and err > direct  # more rounding than the direct sum, within the bound
    check("winograd4 F(4, 3) float64", winograd4.conv_transpose(x, w, spec), ref, tol=1e-13)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("transposed", [True, False])
def test_planner_takes_winograd4_within_the_memory_bound(threads, transposed, monkeypatch):
    """stride1's 3 x 3 layer, transposed and direct, goes to winograd4 at a peak within 2x the arrays; without
    Numba, or for integer data, the planner keeps to phase_shift."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((16, 64, 32, 32), dtype=np.float32)
    w = rng.standard_normal((64, 64, 3, 3), dtype=np.float32) / 8
    make = conv_transpose_spec if transposed else conv_spec
    spec, _ = make(x.shape, w.shape, padding=1)
    choose = (fast.choose_transpose(spec, 16, 4, threads, True) if transposed
              else fast.choose_conv(spec, 16, True, threads=threads))
    assert choose == "winograd4"
    call = (lambda: convt.conv_transpose(x, w, padding=1)) if transposed else (lambda: convt.conv(x, w, padding=1))
    y = _within_the_memory_bound(call, threads, x.nbytes + w.nbytes)
    ref = algorithms.conv_transpose if transposed else algorithms.conv
    check("planner winograd4 float32 vs float64 reference", y[:2],
          ref(x[:2].astype(np.float64), w.astype(np.float64), make(x[:2].shape, w.shape, padding=1)[0], "reference"))
    monkeypatch.setattr(_compiled, "_enabled", False)
    assert fast.choose_transpose(spec, 16, 4, threads, False) != "winograd4"
    assert fast.choose_transpose(spec, 16, 4, threads, True, fractions=False) != "winograd4"
    assert fast.choose_conv(spec if not transposed else conv_spec(x.shape, w.shape, padding=1)[0], 16) != "winograd4"


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("x_shape, c_out, k", [
    ((64, 32, 7, 7), 16, 3),  # ae-1
    ((16, 64, 4, 4), 32, 4),  # a small generator layer
    ((8, 32, 4, 4, 4), 16, 3),  # 3-D
])
def test_planner_takes_the_compiled_gather_within_the_memory_bound(threads, x_shape, c_out, k, monkeypatch):
    """Small images with 16-64 output channels go to the compiled gather, at a peak within 2x the arrays; without
    Numba the planner keeps to the NumPy algorithms."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal((x_shape[1], c_out, *(k,) * (len(x_shape) - 2)), dtype=np.float32)
    kw = dict(stride=2, padding=1, output_padding=k % 2)
    spec, _ = conv_transpose_spec(x.shape, w.shape, **kw)
    assert fast.choose_transpose(spec, x_shape[0], 4, threads, compiled=True) == "gather"
    assert fast.choose_transpose(spec, x_shape[0], 4, threads, compiled=False) != "gather"
    y = _within_the_memory_bound(lambda: convt.conv_transpose(x, w, **kw), threads, x.nbytes + w.nbytes)
    ref = algorithms.conv_transpose(x[:2].astype(np.float64), w.astype(np.float64), spec, "reference")
    check("gather float32 vs float64 reference", y[:2], ref, tol=1e-5)
    monkeypatch.setattr(_compiled, "_enabled", False)
    check("planner without Numba vs reference", convt.conv_transpose(x[:2], w, **kw), ref, tol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("x_shape, c_out, k, s, p, without", [
    ((64, 16, 14, 14), 1, 3, 2, 1, "gemm"),  # ae-2: one output channel, rows of 14
    ((8, 128, 16, 16), 64, 4, 2, 1, "gemm"),  # dcgan-3 on a smaller batch (the gather before, with Numba)
    ((16, 32, 14, 14), 32, 3, 2, 1, "phase_shift"),
    ((4, 256, 2048), 128, 16, 8, 4, "winograd"),  # vocoder-2
])
def test_planner_takes_gemm_with_the_compiled_col2im(threads, x_shape, c_out, k, s, p, without, monkeypatch):
    """Strided layers whose gemm runs channels-first go to gemm, its phases summed by the compiled loop
    (``_phases``), at a peak within 2x the arrays; without Numba, to the rules for NumPy's col2im."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal((x_shape[1], c_out, *(k,) * (len(x_shape) - 2)), dtype=np.float32)
    kw = dict(stride=s, padding=p, output_padding=(k + s) % 2)
    spec, _ = conv_transpose_spec(x.shape, w.shape, **kw)
    assert fast.choose_transpose(spec, x_shape[0], 4, threads, compiled=True) == "gemm"
    assert fast.choose_transpose(spec, x_shape[0], 4, threads, compiled=False) == without
    calls: list[int] = []
    real = _phases.col2im
    monkeypatch.setattr(_phases, "col2im", lambda *a: calls.append(1) or real(*a))
    y = _within_the_memory_bound(lambda: convt.conv_transpose(x, w, **kw), threads, x.nbytes + w.nbytes)
    assert bool(calls) == _compiled.available()
    ref = algorithms.conv_transpose(x[:2].astype(np.float64), w.astype(np.float64), spec, "reference")
    check("gemm, compiled col2im, float32 vs float64 reference", y[:2], ref, tol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("x_shape, c_out, stride", [
    ((64, 32, 8, 8), 64, 2),  # 4 x 4 outputs
    ((16, 64, 10, 10), 64, 1),  # stride 1 on a small image
    ((8, 16, 4, 4, 4), 32, 2),  # 3-D, 2 x 2 x 2 outputs
])
def test_direct_planner_takes_the_compiled_gather_within_the_memory_bound(threads, x_shape, c_out, stride,
                                                                            monkeypatch):
    """Short output rows, 16+ input channels and a small weight: the direct convolution's compiled gather, at
    a peak within 2x the arrays, where im2col's columns are not compiled (stride 1) or the output has at most
    16 pixels per image; never for a large weight (copied on every call; on a large batch, strided, the
    compiled phases of im2col win) nor without Numba."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal((c_out, x_shape[1], *(3,) * (len(x_shape) - 2)), dtype=np.float32)
    spec, _ = conv_spec(x.shape, w.shape, stride=stride, padding=1)
    assert fast.choose_conv(spec, x_shape[0], compiled=True) == "gather"
    assert fast.choose_conv(spec, x_shape[0], compiled=False) == "im2col"
    big, _ = conv_spec((64, 256, 8, 8), (512, 256, 4, 4), stride=2, padding=1)  # dcgan-1's adjoint: 2**21 values
    assert fast.choose_conv(big, 64, compiled=True) == "im2col"
    assert fast.choose_conv(big, 256, compiled=True) == "im2col"  # 8 rows per output channel, but strided: item 97
    y = _within_the_memory_bound(lambda: convt.conv(x, w, stride=stride, padding=1), threads, x.nbytes + w.nbytes)
    ref = algorithms.conv(x[:2].astype(np.float64), w.astype(np.float64), spec, "reference")
    check("gather conv float32 vs float64 reference", y[:2], ref, tol=1e-5)
    # the transposed layer whose input gradient is this convolution: its fused gradients take the compiled im2col
    z = rng.standard_normal(y.shape).astype(np.float32)  # the transposed layer's input; x is its output gradient
    assert algorithms._gathers(spec, x_shape[0])
    gx, gw, _ = convt.conv_transpose_grad(x, z, w, stride=stride, padding=1, output_size=x.shape[2:])
    gx64, gw64, _ = convt.conv_transpose_grad(x.astype(np.float64), z.astype(np.float64), w.astype(np.float64),
                                              stride=stride, padding=1, output_size=x.shape[2:])
    check("gather conv_transpose_grad input gradient vs float64", gx, gx64, tol=1e-5)
    check("gather conv_transpose_grad weight gradient vs float64", gw, gw64, tol=1e-4)
    monkeypatch.setattr(_compiled, "_enabled", False)
    check("direct planner without Numba vs reference", convt.conv(x[:2], w, stride=stride, padding=1), ref, tol=1e-5)



@settings(max_examples=100, deadline=None)
@given(layer(transposed=False), st.integers(0, 2**16), st.sampled_from([1, 10**9]), st.booleans())
@example((2, 1, 2, 3, (3, 3), (6, 5), dict(stride=(2, 2), padding=((1, 1), (1, 0)), dilation=(1, 1), groups=1)),
         0, 1, True)  # masked taps
@example((1, 2, 2, 2, (3, 2, 3), (6, 3, 7), dict(stride=(2, 1, 2), padding=((1, 1), (1, 0), (1, 1)),
                                               dilation=(1, 1, 1), groups=2)), 1, 10**9, True)
def test_im2col_phases_compiled_or_by_numpy(case, seed, per_image, compiled):
    """im2col's columns of a strided layer from the compiled phases (``_phases.im2col``: the input split into
    its phase buffers, each tap's row shifted back or zero) or by NumPy's strided copies; image by image or
    channel-major; on NaN-filled buffers; the convolution and its weight gradient; float64, complex, integers."""
    rng, x, w, spec = _draw(case, seed, transposed=False)
    if spec is None:
        return
    g = rng.standard_normal((x.shape[0], spec.out_channels, *spec.output_size))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(im2col, "PER_IMAGE_PIXELS", per_image)
        mp.setattr(im2col, "PER_IMAGE_WEIGHT", -1)  # the pixels alone decide the layout
        mp.setattr(_phases, "workspace", _poisoned(_phases.workspace))
        mp.setattr(im2col, "workspace", _poisoned(im2col.workspace))
        calls = _counted_or_off(mp, _phases, "im2col", compiled, gate="im2col_applies")
        _check_three_dtypes(f"im2col phases (compiled {compiled}, per image from {per_image})",
                            lambda a, b: im2col.conv(a, b, spec),
                            lambda a, b: algorithms.conv(a, b, spec, "reference"), x, w, rng)
        y, dw = im2col.conv_and_weight_grad(x, w, g, spec)
    check("im2col phases convolution beside its weight gradient", y, algorithms.conv(x, w, spec, "reference"))
    check("im2col phases weight gradient vs per-image sums", dw,
          sum(im2col.weight_grad(x[i:i + 1], g[i:i + 1], spec) for i in range(x.shape[0])))
    expect = (compiled and _compiled.available() and any(s > 1 for s in spec.stride)
              and _phases.plan(spec.adjoint()) is not None and not _rows.applies(spec, np.dtype(np.float64)))
    assert bool(calls) == expect


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("x_shape, c_out, k, by_image", [
    ((32, 128, 16, 16), 256, 3, False),  # a large weight (2**18 values) on a batch 8x its output channels in rows
    ((64, 1, 28, 28), 16, 3, True),  # ae-2's adjoint: one input channel
    ((64, 16, 14, 14), 32, 3, True),  # ae-1's adjoint: 7 x 7 outputs, a small weight: columns by image
    ((8, 16, 8, 8, 8), 32, 3, True),  # 3-D
])
def test_direct_planner_takes_the_compiled_phases_for_strided_layers(threads, x_shape, c_out, k, by_image,
                                                                      monkeypatch):
    """Strided layers go to im2col, its columns from the compiled phases (before items 97 and 100, all but the
    second took the compiled gather), image by image for a small weight, at a peak within 2x the arrays."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal((c_out, x_shape[1], *(k,) * (len(x_shape) - 2)), dtype=np.float32)
    spec, _ = conv_spec(x.shape, w.shape, stride=2, padding=1)
    assert fast.choose_conv(spec, x_shape[0], compiled=True, threads=threads) == "im2col"
    large = np.prod(spec.output_size) >= im2col.PER_IMAGE_PIXELS  # by image with or without Numba
    assert im2col.per_image(spec) == (by_image and (large or _compiled.available()))
    calls: list[int] = []
    real = _phases.im2col
    monkeypatch.setattr(_phases, "im2col", lambda *a: calls.append(1) or real(*a))
    y = _within_the_memory_bound(lambda: convt.conv(x, w, stride=2, padding=1), threads, x.nbytes + w.nbytes)
    assert bool(calls) == _compiled.available()
    ref = algorithms.conv(x[:2].astype(np.float64), w.astype(np.float64), spec, "reference")
    check("im2col, compiled phases, float32 vs float64 reference", y[:2], ref, tol=1e-5)

def test_direct_planner_uses_phase_shift_for_large_stride1_images():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 8, 48, 48))
    w = rng.standard_normal((8, 4, 3, 3))
    spec, _ = conv_spec(x.shape, w.shape, padding=((1, 2), (0, 1)), dilation=(1, 2), groups=2)
    assert fast.choose_conv(spec, 2) == "phase_shift"
    check("planner conv phase_shift vs reference", algorithms.conv(x, w, spec, "auto"),
          algorithms.conv(x, w, spec, "reference"))
    strided, _ = conv_spec(x.shape, w.shape, stride=2, groups=2)
    assert fast.choose_conv(strided, 2) == "im2col"
    with pytest.raises(ValueError, match="stride 1"):
        fast.stride1_transpose_spec(strided)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 300), st.integers(1, 1 << 24), st.integers(1, 1 << 24), st.integers(1, 4))
def test_batch_tiles_cover_the_batch_evenly_for_the_threads(n, per_image, budget, threads):
    tiles = _layout.batch_tiles(n, per_image, budget, at_least=threads, multiply_adds=10**9)
    assert [a for a, _ in tiles] == [0, *(b for _, b in tiles[:-1])] and tiles[-1][1] == n  # contiguous, all
    sizes = [b - a for a, b in tiles]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1  # even
    fit = max(1, budget // per_image)  # images whose temporaries fit the budget
    assert max(sizes) <= fit or len(tiles) == n  # within the budget, unless one image alone exceeds it
    # as many tiles as the threads at least, and a multiple of them unless that would need more tiles than images
    assert len(tiles) >= min(threads, n)
    assert len(tiles) % threads == 0 or len(tiles) == n
    # no more tiles than the budget and the threads need: one thread-round fewer would break the budget
    assert len(tiles) <= threads or len(tiles) - threads < -(-n // fit)


@pytest.fixture
def small_tiles(monkeypatch):
    """Temporaries of at most 1 KiB: every batch is cut into many tiles."""
    monkeypatch.setattr(_layout, "TILE_BYTES", 1024)
    monkeypatch.setattr(gather, "TILE_BYTES", 1024)
    monkeypatch.setattr(_layout, "PARALLEL_BYTES", 0)
    for f in (gemm.prepare, subpixel.prepare, phase_shift.prepare, im2col.prepare):
        f.cache_clear()
    yield
    for f in (gemm.prepare, subpixel.prepare, phase_shift.prepare, im2col.prepare):
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
            assert len(gemm.prepare(spec, 7, 8, threads)[-1]) > 1  # really tiled
            ref = algorithms.conv_transpose(x, w, spec, "reference")
            for name in TRANSPOSED:
                check(f"tiled {name} vs reference", algorithms.conv_transpose(x, w, spec, name), ref)
            check("tiled gemm channels_last vs reference", gemm.conv_transpose(x, w, spec, "channels_last"), ref)
            for split in (0, 1 << 40):  # one image is one tile: its col2im split across the threads, or not
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(gemm, "SPLIT_COLUMNS_BYTES", split)
                    for layout in ("channels_first", "channels_last"):
                        check(f"one-tile gemm {layout}, split from {split} bytes, vs reference",
                              gemm.conv_transpose(x[:1], w, spec, layout), ref[:1])
            for taps in (1, 3):  # gemm_flat's products of at most this many taps (the default, 2, runs above)
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(gemm_flat, "TAPS_PER_PRODUCT", taps)
                    check(f"tiled gemm_flat, {taps} taps per product, vs reference",
                          gemm_flat.conv_transpose(x, w, spec), ref)
            for threshold in (0, 10**9):
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(gemm, "BATCH_PIXELS", threshold)
                    check(f"tiled gemm per-image product ({threshold}) vs reference",
                          gemm.conv_transpose(x, w, spec, "channels_first"), ref)
            wc = rng.standard_normal((4, 3, k, k))
            cs, _ = conv_spec(x.shape, wc.shape, stride=s, padding=1, groups=2)
            check("tiled im2col vs reference", algorithms.conv(x, wc, cs, "im2col"),
                  algorithms.conv(x, wc, cs, "reference"))
            g = rng.standard_normal((7, 4, *cs.output_size))
            check("tiled weight_grad vs per-image sum", im2col.weight_grad(x, g, cs),
                  sum(im2col.weight_grad(x[i:i + 1], g[i:i + 1], cs) for i in range(7)))
            for pixels in (1, 10**9):  # columns image by image, or channel-major
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(im2col, "PER_IMAGE_PIXELS", pixels)
                    mp.setattr(im2col, "PER_IMAGE_WEIGHT", -1)  # the pixels alone decide the layout
                    y, dw = im2col.conv_and_weight_grad(x, wc, g, cs)
                    check("tiled fused conv vs reference", y, algorithms.conv(x, wc, cs, "reference"))
                    check("tiled fused weight grad vs per-image sum", dw,
                          sum(im2col.weight_grad(x[i:i + 1], g[i:i + 1], cs) for i in range(7)))
    finally:
        _threads.set_num_threads(None)


def test_calls_from_several_user_threads_at_once(small_tiles):
    """Scratch buffers are per calling thread: concurrent calls (tiled, on the shared pool) agree with serial ones."""
    import concurrent.futures

    rng = np.random.default_rng(11)
    jobs = []
    for k, s, p, transposed in ((3, 2, 1, True), (4, 2, 1, True), (2, 2, 0, True), (3, 1, 1, False), (3, 2, 1, False)):
        x = rng.standard_normal((5, 6, 6, 5))
        w = rng.standard_normal((6, 4, k, k))
        f = convt.conv_transpose if transposed else convt.conv
        jobs.append((f, x, w if transposed else w.swapaxes(0, 1).copy(), s, p))
    serial = [f(x, w, stride=s, padding=p) for f, x, w, s, p in jobs]
    order = [i % len(jobs) for i in range(40)]

    def run(i: int) -> tuple[int, np.ndarray]:
        f, x, w, s, p = jobs[i]
        return i, f(x, w, stride=s, padding=p)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, order))
    for i, y in results:
        check("concurrent call vs the same call alone", y, serial[i])


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
    monkeypatch.setattr(_threads, "_default_threads", None)  # read again, as on first use
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
    for direct in DIRECT:
        np.testing.assert_array_equal(algorithms.conv(x, wc, cs, direct), algorithms.conv(x, wc, cs, "reference"))


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


def test_bench_lists_the_twelve_cases(capsys):
    from convt.cli import main

    assert main(["bench", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 12 and lines[0].startswith("ae-1") and sum("(quick)" in line for line in lines) == 6


@pytest.mark.parametrize("argv, word", [
    (["bench", "--cases", "nope"], "unknown case"),
    (["bench", "--cases", ","], "names no case"),
    (["bench", "--peers", "mxnet"], "unknown peer"),
    (["bench", "--samples", "0"], "--samples"),
    (["bench", "--batch", "0"], "--batch"),
    (["bench", "--batch", "100000000", "--cases", "ae-2"], "valid: a batch of at most"),  # refused before allocating
])
def test_bench_bad_arguments_exit_2(argv, word, capsys):
    from convt.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert word in err and len(err.strip().splitlines()) == 1


def test_bench_suite_times_convt_and_the_floor(monkeypatch):
    from convt import bench

    monkeypatch.setattr(bench, "WARM_UP_S", 0.0)
    monkeypatch.setattr(bench, "SETTLE_S", 0.0)

    case = next(c for c in bench.CASES if c.name == "ae-2")
    (res,) = bench.run_suite([case], samples=2, peers=(), progress=False, pause=0)
    assert set(res.times) == {"convt", "gemm"} and all(len(v) == 2 and min(v) > 0 for v in res.times.values())
    assert 0 < res.peak_extra < 10 and res.peak_gflops > 0 and 0 < res.at_peak() < res.median("gemm")
    table = bench.format_table([res])
    assert "| ae-2 |" in table and "GFLOP/s" in table and "at peak" in table
    assert "nan" not in table and "| n/a |" in table and "no ratios: neither PyTorch nor ONNX Runtime" in table
    for mode in ("conv", "grad", "conv_grad"):
        (r,) = bench.run_suite([case], mode=mode, samples=1, peers=(), progress=False, pause=0, clock="cpu")
        assert r.mode == mode and r.median("convt") > 0


def test_bench_batch_runs_each_case_on_that_batch(monkeypatch, capsys):
    """``convt bench --batch 1`` times the same layers on one image (the table says so)."""
    from convt import bench
    from convt.cli import main

    monkeypatch.setattr(bench, "WARM_UP_S", 0.0)
    monkeypatch.setattr(bench, "SETTLE_S", 0.0)
    one = next(c for c in bench.CASES if c.name == "dcgan-1").with_batch(1)
    assert one.x_shape == (1, 512, 4, 4) and one.flops() * 64 == next(c for c in bench.CASES if c.name == "dcgan-1").flops()
    assert main(["bench", "--cases", "ae-2", "--batch", "3", "--samples", "1", "--peers", "", "--no-progress"]) == 0
    assert "| ae-2 | 3x16x14x14 -> 1," in capsys.readouterr().out


def test_bench_settles_each_sample_for_settle_s(monkeypatch):
    """Before a timed sample an implementation runs untimed for SETTLE_S (at least once)."""
    import time

    from convt import bench

    calls = []
    monkeypatch.setattr(bench, "SETTLE_S", 0.0)
    bench._settle(lambda: calls.append(1))
    assert len(calls) == 1
    monkeypatch.setattr(bench, "SETTLE_S", 0.02)
    t0 = time.perf_counter()
    bench._settle(lambda: calls.append(time.sleep(0.002)))
    assert time.perf_counter() - t0 >= 0.02 and len(calls) >= 1 + 2  # several calls, not one


@settings(max_examples=80, deadline=None)
@given(layer(transposed=False), st.integers(0, 2**16))
def test_weight_grad_is_the_definition(case, seed):
    """<conv(x, W), g> is linear in W: its gradient, entry by entry, from the reference."""
    batch, g_, cg, mg, k, size, kw = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, g_ * cg, *size))
    w_shape = (g_ * mg, cg, *k)
    spec = _spec_or_none(conv_spec, x.shape, w_shape, **kw)
    if spec is None or np.prod(w_shape) > 120:
        return
    g = rng.standard_normal((batch, spec.out_channels, *spec.output_size))
    want = np.empty(w_shape)
    for idx in np.ndindex(*w_shape):
        e = np.zeros(w_shape)
        e[idx] = 1.0
        want[idx] = np.sum(algorithms.conv(x, e, spec, "reference") * g)
    check("im2col weight_grad vs reference", im2col.weight_grad(x, g, spec), want)
    check("gather weight_grad vs reference", gather.weight_grad(x, g, spec), want)
    for limit in (0, 1 << 40):  # both orientations of the product, whatever the rule picks; blocks of 2 rows
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(im2col, "TRANSPOSE_MAX_WEIGHT", limit)
            mp.setattr(im2col, "TRANSPOSE_ROWS", 2)
            flipped = im2col.weight_grad_transposed(spec)
            check(f"im2col weight_grad {'cols @ g^T' if flipped else 'g @ cols^T'} vs reference",
                  im2col.weight_grad(x, g, spec), want)


@settings(max_examples=80, deadline=None)
@given(layer(transposed=False), st.integers(0, 2**16))
def test_conv_and_weight_grad_equal_the_two_apart(case, seed):
    """The fused pass (one shared im2col) gives the reference convolution and the tested weight gradient."""
    rng, x, w, spec = _draw(case, seed, transposed=False)
    if spec is None:
        return
    g = rng.standard_normal((x.shape[0], spec.out_channels, *spec.output_size))
    y, dw = algorithms.conv_and_weight_grad(x, w, g, spec)
    check("fused conv vs reference", y, algorithms.conv(x, w, spec, "reference"))
    check("fused weight grad vs im2col weight_grad", dw, im2col.weight_grad(x, g, spec))
    for numba in ("0", "1"):  # the compiled im2col's fused pass and its NumPy twin
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_compiled, "_enabled", numba == "1")
            y, dw = gather.conv_and_weight_grad(x, w, g, spec)
        check(f"gather fused conv (CONVT_NUMBA={numba}) vs reference", y, algorithms.conv(x, w, spec, "reference"))
        check(f"gather fused weight grad (CONVT_NUMBA={numba}) vs im2col weight_grad", dw,
              im2col.weight_grad(x, g, spec))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv_weight_grad_with_padding_modes_matches_the_reference(mode):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 5, 6))
    w_shape = (2, 2, 2, 3)
    spec, _ = conv_spec(x.shape, w_shape, stride=(2, 1), padding=((1, 2), (2, 0)), groups=2, padding_mode=mode)
    g = rng.standard_normal((2, 2, *spec.output_size))
    want = np.empty(w_shape)
    for idx in np.ndindex(*w_shape):
        e = np.zeros(w_shape)
        e[idx] = 1.0
        want[idx] = np.sum(algorithms.conv(x, e, spec, "reference") * g)
    check(f"conv_weight_grad {mode} vs reference", algorithms.conv_weight_grad(x, g, spec), want)
    w = rng.standard_normal(w_shape)
    y, dw = algorithms.conv_and_weight_grad(x, w, g, spec)
    check(f"conv_and_weight_grad {mode}: conv vs reference", y, algorithms.conv(x, w, spec, "reference"))
    check(f"conv_and_weight_grad {mode}: weight grad vs reference", dw, want)
    with pytest.raises(ValueError, match="direct"):
        algorithms.conv_and_weight_grad(x, w, g, spec.adjoint())
    with pytest.raises(ValueError, match="direct"):
        algorithms.conv_weight_grad(x, g, spec.adjoint())


def test_workspaces_are_reused_and_capped(monkeypatch):
    a = _layout.workspace("test", (4, 5), np.float64)
    b = _layout.workspace("test", (3,), np.float32)
    assert np.shares_memory(a, b)
    monkeypatch.setattr(_layout, "WORKSPACE_CAP", 64)
    big = _layout.workspace("test", (100,), np.float64)
    assert not np.shares_memory(big, a) and big.shape == (100,)
    assert _layout.clear_workspaces() >= a.nbytes



@pytest.fixture
def small_pool(monkeypatch):
    """Every result of at least 1 KiB comes from the result pool; the pool starts empty."""
    monkeypatch.setattr(_layout, "RESULT_POOL_BYTES", 1024)
    _layout.clear_workspaces()
    yield
    _layout.clear_workspaces()


def test_result_pool_hands_out_only_memory_nobody_holds(small_pool, monkeypatch):
    import gc

    a = _layout.result((16, 16), np.float64)
    a[:] = 1
    view = a[3:5]
    b = _layout.result((16, 16), np.float64, zeros=True)
    assert not np.shares_memory(a, b) and b.sum() == 0
    del a
    gc.collect()
    assert not _layout._free.get(2048)  # a view is alive: the memory stays the caller's
    c = _layout.result((16, 16), np.float64)
    assert not np.shares_memory(c, view)
    del view
    gc.collect()
    assert len(_layout._free[2048]) == 1  # the last view died: back to the pool
    d = _layout.result((32, 8), np.float64, zeros=True)  # same size, another shape, zeroed
    assert not _layout._free[2048] and d.sum() == 0 and d.flags.writeable
    monkeypatch.setattr(_layout, "RESULT_POOL_CAP", 2048)  # room for one free buffer
    del b, c, d
    gc.collect()
    assert len(_layout._free[2048]) == 1


@pytest.mark.parametrize("algorithm", TRANSPOSED)
def test_pooled_results_survive_the_next_call(small_pool, algorithm):
    """A result the caller holds is never the memory of a later call's result."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((2, 3, 4, 5, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    spec, _ = conv_transpose_spec(x1.shape, w.shape, stride=2, padding=1)
    y1 = algorithms.conv_transpose(x1, w, spec, algorithm)
    keep = y1.copy()
    y2 = algorithms.conv_transpose(x2, w, spec, algorithm)
    assert not np.shares_memory(y1, y2)
    check(f"pooled {algorithm}: first result kept", y1, keep)
    check(f"pooled {algorithm}: second result", y2, algorithms.conv_transpose(x2, w, spec, "reference"))
    del y1
    check(f"pooled {algorithm}: reused memory", algorithms.conv_transpose(x1, w, spec, algorithm), keep)


def test_pooled_direct_results_survive_the_next_call(small_pool):
    rng = np.random.default_rng(1)
    x1, x2 = rng.standard_normal((2, 3, 4, 9, 8))
    w, g = rng.standard_normal((5, 4, 3, 3)), rng.standard_normal((3, 5, 9, 8))
    spec, _ = conv_spec(x1.shape, w.shape, padding=1)
    y1, _ = im2col.conv_and_weight_grad(x1, w, g, spec)
    keep = y1.copy()
    y2 = im2col.conv(x2, w, spec)
    assert not np.shares_memory(y1, y2)
    check("pooled im2col: first result kept", y1, keep)
    check("pooled im2col: second result", y2, algorithms.conv(x2, w, spec, "reference"))


@pytest.mark.parametrize("limit", [0, 1 << 40])  # the product as g @ cols^T (its sum returned as it is), or flipped
@pytest.mark.parametrize("size", [(4, 5), (12, 12)])  # by image (12 x 12 output pixels) or channel-major
def test_weight_gradients_survive_the_next_call(small_tiles, monkeypatch, size, limit):
    """Each thread's first tile makes its partial weight gradient: never a scratch buffer a later call reuses."""
    monkeypatch.setattr(im2col, "TRANSPOSE_MAX_WEIGHT", limit)
    rng = np.random.default_rng(2)
    x1, x2 = rng.standard_normal((2, 6, 4, *size))
    w, g1, g2 = rng.standard_normal((5, 4, 3, 3)), *rng.standard_normal((2, 6, 5, *size))
    spec, _ = conv_spec(x1.shape, w.shape, padding=1)
    assert len(im2col.prepare(spec, 6, 8, _threads.num_threads())[1]) > 1  # tiled
    assert im2col.per_image(spec, weight_grad=True) == (size == (12, 12))
    _threads.set_num_threads(2)
    try:
        dw1 = im2col.weight_grad(x1, g1, spec)
        keep = dw1.copy()
        _, dw2 = im2col.conv_and_weight_grad(x2, w, g2, spec)
    finally:
        _threads.set_num_threads(None)
    assert not np.shares_memory(dw1, dw2)
    check("first weight gradient kept", dw1, keep)
    check("second weight gradient", dw2, sum(im2col.weight_grad(x2[i:i + 1], g2[i:i + 1], spec) for i in range(6)))


@pytest.mark.parametrize("name", TRANSPOSED)
def test_huge_strides_cost_what_their_taps_do(name):
    """A stride far above the kernel: all but ``k`` of the ``s`` output phases per axis are zeros and are
    never visited (a stride of 10**6 once meant 10**6 phases in Python, 1000 x 1000 in 2-D)."""
    rng = np.random.default_rng(0)
    for x_shape, w_shape, s in (((2, 2, 3), (2, 3, 2), (10**5,)), ((1, 2, 2, 3), (2, 1, 2, 2), (1000, 7))):
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        spec = conv_transpose_spec(x.shape, w.shape, stride=s, padding=1)[0]
        got = algorithms.conv_transpose(x, w, spec, name)
        full = np.zeros((x.shape[0], w.shape[1], *((i - 1) * st + k for i, st, k in zip(x.shape[2:], s, w.shape[2:]))))
        for idx in np.ndindex(*x.shape[2:]):  # each input element's kernel patch, far from every other one
            at = tuple(slice(j * st, j * st + k) for j, st, k in zip(idx, s, w.shape[2:]))
            full[(Ellipsis, *at)] += np.einsum("nc,cm...->nm...", x[(Ellipsis, *idx)], w)
        check(f"{name}: huge stride vs the patches", got, full[(Ellipsis, *(slice(1, -1),) * len(s))])


def test_every_corner_of_a_small_1d_grid():
    """Every 1-D layer with input 1-3, kernel 1-3, stride and dilation 1-2, pads (lo, hi) in -4..4 and every
    padding mode, exhaustively (the random draws reach the corners only by chance; crops past the data into
    the other side's zeros once failed here): every algorithm equals the reference, and the public operators
    and their gradients satisfy the adjoint identity."""
    rng = np.random.default_rng(0)
    counts = {True: 0, False: 0}
    for transposed, size, k, s, d, lo, hi, mode in itertools.product(
            (False, True), (1, 2, 3), (1, 2, 3), (1, 2), (1, 2), range(-4, 5), range(-4, 5),
            ("zeros", "reflect", "replicate", "circular")):
        x, w = rng.standard_normal((1, 2, size)), rng.standard_normal((2, 1, k) if transposed else (1, 2, k))
        kw = dict(stride=s, dilation=d, padding=((lo, hi),), padding_mode=mode)
        try:
            spec = (conv_transpose_spec if transposed else conv_spec)(x.shape, w.shape, **kw)[0]
        except ConvError:
            continue
        counts[transposed] += 1
        op = algorithms.conv_transpose if transposed else algorithms.conv
        ref = op(x, w, spec, "reference")
        for name in ((*TRANSPOSED, "zero_insertion") if transposed else DIRECT):
            check(f"1-D grid {name} vs reference", op(x, w, spec, name), ref)
        y = (convt.conv_transpose if transposed else convt.conv)(x, w, **kw)
        check("1-D grid public operator vs reference", y, ref)
        g = rng.standard_normal(y.shape)
        gx, gw, _ = (convt.conv_transpose_grad if transposed else convt.conv_grad)(g, x, w, **kw)
        scale = np.vdot(np.abs(y), np.abs(g)) or 1.0
        assert abs(np.vdot(y, g) - np.vdot(gx, x)) <= 1e-12 * scale, (transposed, size, k, s, d, lo, hi, mode)
        assert abs(np.vdot(y, g) - np.vdot(gw, w)) <= 1e-12 * scale, (transposed, size, k, s, d, lo, hi, mode)
    assert min(counts.values()) > 500, counts


def test_scratch_buffers_and_large_results_start_on_a_page():
    """A vector store that straddles two cache lines costs two: the buffers convt allocates are page-aligned."""
    _layout.clear_workspaces()
    for shape in ((3,), (1000, 17), (64, 64, 64)):
        assert _layout.workspace("test.align", shape, np.float32).ctypes.data % _layout.ALIGN == 0
    big = _layout.result((_layout.ALIGNED_RESULT_BYTES // 4 + 3,), np.float32)
    assert big.ctypes.data % _layout.ALIGN == 0 and big.flags.c_contiguous and big.flags.writeable
    zeros = _layout.result((_layout.ALIGNED_RESULT_BYTES // 8 + 1,), np.float64, zeros=True)
    assert zeros.ctypes.data % _layout.ALIGN == 0 and not zeros.any()
    x = np.random.default_rng(0).standard_normal((2, 64, 16, 16, 16)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((64, 32, 2, 2, 2)).astype(np.float32)
    y = convt.conv_transpose(x, w, stride=2)   # 2 MiB: an aligned result, returned as the caller's own array
    assert y.ctypes.data % _layout.ALIGN == 0 and y.flags.writeable
    check("aligned unet3d conv_transpose vs reference", y[:1],
          algorithms.conv_transpose(x[:1].astype(np.float64), w.astype(np.float64),
                                    conv_transpose_spec(x[:1].shape, w.shape, stride=2)[0], "reference"), tol=1e-4)
    _layout.clear_workspaces()
