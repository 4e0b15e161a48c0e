"""The planner: the fastest exact algorithm for each shape (the default, "auto").

Transposed convolution, per spec (the choice is cached per shape). The
memory-bound stage, not the product, decides (perf.md, docs/perf-notes.md):
GEMM + col2im moves ``T * C_out`` values per input pixel, sub-pixel's im2col
``T * C_in``, the shifted-view phases ``(T_r - 1) * C_out`` adds plus the
products wasted on the padded grid. In order:

0. ``winograd`` first where its transforms can be compiled (Numba installed,
   floating-point data: :func:`convt.algorithms.winograd.tables`), it
   multiplies at most ``1 / WINOGRAD_COMPILED_SAVING`` as often as the
   direct phases (2-D F(2, 2) and F(2, 3); not a 1-D layer's F(2, 2)), with
   ``WINOGRAD_MIN_IN`` and ``WINOGRAD_MIN_OUT`` channels, one group and
   ``WINOGRAD_COMPILED_CHANNELS`` channels in and out together, and its tiles
   give each product :data:`convt.algorithms.winograd.MIN_ROWS` rows within
   the memory bound (:func:`convt.algorithms.winograd.compiled_fits`;
   docs/perf-notes.md item 110: dcgan-2 1.2-1.3x the gather).
1. ``gemm`` when every phase has one tap (kernel <= stride, e.g. U-Net's
   k == s): one product, each phase written straight into the output (with
   k == s each output row once, by a compiled loop where Numba is installed:
   :mod:`convt.algorithms._rows`, docs/perf-notes.md item 95).
2. ``gemm`` when the stride exceeds 1 on some axis, gemm's col2im runs
   channels-first (:func:`convt.algorithms.gemm.channels_last` says no), its
   loop can be compiled (:mod:`convt.algorithms._phases`: each phase summed
   in a flat buffer by masked vector adds, then written once), its tiles
   keep the peak within the memory bound (:func:`convt.algorithms.gemm.fits`:
   they shrink to it, one image at least) and rule 6's
   subpixel does not apply: the col2im, once many short NumPy adds, is then
   cheaper than Winograd's transforms, the gather's tap-major copies and the
   padded grids of ``phase_shift`` and ``gemm_flat`` (docs/perf-notes.md item 97).
3. ``winograd`` (where rule 0's compiled form cannot run) when it multiplies at most
   ``1 / WINOGRAD_SAVING`` as often
   as the direct phases, its products are deep and wide (``WINOGRAD_MIN_IN``
   input and ``WINOGRAD_MIN_OUT`` output channels, one group), and its
   transformed weight, the result and every thread's tile of at least
   :data:`convt.algorithms.winograd.MIN_TILE_BYTES` fit the memory bound
   (:func:`convt.algorithms.winograd.fits`; docs/perf-notes.md item 82).
   Else ``winograd4`` when its transforms can be compiled (Numba installed), the layer is
   2-D with stride 1, dilation 1 and a 3 x 3 kernel (F(4, 3): 36 products per 16 outputs for 144),
   ``W4_MIN_CHANNELS`` to ``W4_MAX_CHANNELS`` channels per group on both sides (to
   ``W4_WIDE_MAX_CHANNELS`` on a batch of ``W4_WIDE_MIN_TILES`` tiles; checked before rule 0,
   whose F(2, 3) it then beats: docs/perf-notes.md item 112), a batch of at least
   ``W4_MIN_BATCH`` images and ``W4_MIN_TILES`` tiles in all (its products have a row per tile), and its
   tiles and transformed weight fit the memory bound (:func:`convt.algorithms.winograd4.fits`;
   docs/perf-notes.md item 90).
4. ``gather`` when its loop can be compiled (Numba installed: :func:`convt.algorithms._compiled.available`),
   the kernel is larger than the stride, and either a phase row is shorter
   than ``SHORT_ROW`` with ``GATHER_MIN_OUT`` to ``GATHER_SMALL_MAX_OUT``
   output channels per group (small images: NumPy's col2im is many short
   adds, and each output pixel's sum fills a vector), or rule 9 would run
   ``gemm`` on a batch of at least ``GATHER_MIN_BATCH`` with
   :data:`convt.algorithms.gather.BLOCK_MIN_OUT` to ``GATHER_MAX_OUT``
   output channels and at most ``GATHER_MAX_PIXELS`` output pixels per
   image (the gather writes each output once, where gemm's col2im adds
   into buffers; docs/perf-notes.md item 84).
5. ``gemm`` when ``4 * C_out <= C_in`` (per group): the col2im is cheap.
6. ``subpixel`` when ``4 * C_in <= C_out``: the im2col is cheap, and the
   stacked taps make a deep product; unless its phases multiply more than
   ``MAX_SUBPIXEL_WASTE`` times the products that read real input (a 1 x 1
   input with a 4 x 4 kernel, a generator's first layer, reads padding in
   15 of 16: :func:`convt.algorithms.subpixel.waste`).
7. ``phase_shift`` when the padded grid wastes at most ``MAX_WASTE`` of the
   products (large images, 1-D signals), or at most ``S1_MAX_WASTE`` on a
   stride-1 layer (one phase: only the halo is wasted, where gemm's col2im
   of ``T`` taps per pixel, 27 in 3-D, takes twice the time and 5-14x the
   memory; docs/perf-notes.md item 92), and the weight has at most
   ``PS_MAX_WEIGHT`` values: no im2col, no col2im. A larger weight (vocoder-1's
   8 MiB) goes to ``gemm``, whose one product reads it as it lies, where
   phase_shift copies it and streams it once per batch tile
   (docs/perf-notes.md items 30, 38, 40 and 58).
8. ``gemm_flat`` when a phase row is shorter than ``SHORT_ROW`` and the
   padded grid wastes at most ``MAX_FLAT_WASTE``: one product on the padded
   grid, then long flat adds instead of adds with a few elements per row;
   ``phase_shift`` instead for a batch of fewer than ``FLAT_MIN_PIXELS``
   input pixels (fewer NumPy calls and no weight copies per phase).
9. ``gemm`` otherwise (its col2im runs channels-last when the output
   channels outnumber a phase row and the batch is large enough to pay for
   the weight's copy: :func:`convt.algorithms.gemm.channels_last`).

Direct convolution: with stride 1, the transposed convolution of the flipped
kernel (crop :func:`convt.arithmetic.stride1_transpose_crop`) whenever rule
0 sends that to ``winograd`` (F(2, 3) on 256 channels: 1.1-1.5x im2col), rule
3 to ``winograd4`` or rule 7 to ``phase_shift``; else ``gather`` where its loop can be
compiled, the output rows are shorter than ``SHORT_ROW``, there are at
least ``GATHER_MIN_IN`` input channels per group and the weight has at most
``GATHER_CONV_MAX_WEIGHT`` values or the product at least ``GATHER_CONV_ROWS``
rows (batch x output pixels) per output channel (the weight is copied to the
columns' order on every call, and pays where the batch is large beside it:
DCGAN-2's adjoint at batch 64; docs/perf-notes.md items 86 and 94); where
im2col's columns of a strided layer are compiled (:mod:`convt.algorithms._phases`,
items 97 and 100) only for a small weight and at most
``GATHER_PHASES_MAX_PIXELS`` output pixels per image; otherwise ``im2col``
(threaded gather, or the compiled phases, then one product per batch tile).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import arithmetic as ar
from ..spec import ConvSpec
from . import _compiled, _phases, _threads, gather, gemm, gemm_flat, im2col, phase_shift, subpixel, winograd, winograd4

__all__ = [
    "FLAT_MIN_PIXELS",
    "GATHER_CONV_MAX_WEIGHT",
    "GATHER_CONV_ROWS",
    "GATHER_MAX_OUT",
    "GATHER_MAX_PIXELS",
    "GATHER_MIN_BATCH",
    "GATHER_MIN_IN",
    "GATHER_MIN_OUT",
    "GATHER_PHASES_MAX_PIXELS",
    "GATHER_SMALL_MAX_OUT",
    "MAX_FLAT_WASTE",
    "MAX_SUBPIXEL_WASTE",
    "MAX_WASTE",
    "PS_MAX_WEIGHT",
    "S1_MAX_WASTE",
    "SHORT_ROW",
    "W4_MAX_CHANNELS",
    "W4_MIN_BATCH",
    "W4_MIN_CHANNELS",
    "W4_MIN_TILES",
    "W4_WIDE_MAX_CHANNELS",
    "W4_WIDE_MIN_TILES",
    "WINOGRAD_COMPILED_CHANNELS",
    "WINOGRAD_COMPILED_SAVING",
    "WINOGRAD_MIN_IN",
    "WINOGRAD_MIN_OUT",
    "WINOGRAD_SAVING",
    "choose_conv",
    "choose_transpose",
    "conv",
    "conv_by_phase_shift",
    "conv_by_transpose",
    "conv_transpose",
    "stride1_transpose_spec",
]

#: Winograd (rule 3) where it saves at least this share of the products ...
WINOGRAD_SAVING = 1.3
#: ... on at least this many input and output channels (thinner products and the transforms' passes eat the
#: saving: docs/perf-notes.md item 82)
WINOGRAD_MIN_IN = 128
WINOGRAD_MIN_OUT = 128
#: with its transforms compiled (Numba), Winograd goes first (before rule 2) where it saves at least this share
#: (F(2, 2) in 2-D saves 1.78, in 1-D only 1.33: vocoders lost 7-15%) ...
WINOGRAD_COMPILED_SAVING = 1.5
#: ... on at least this many channels in and out together (the products grow with C_in * C_out, the transforms
#: with C_in + C_out: 128 and 128 lost up to 22%, 256 and 128 gained 5-45%; docs/perf-notes.md item 110)
WINOGRAD_COMPILED_CHANNELS = 384
#: winograd4 (rule 3) for this many channels per group on both sides (fewer: the transforms cost more than the
#: products save; more: the transformed weight, 4x the weight, streams through every tile) ...
W4_MIN_CHANNELS = 32
W4_MAX_CHANNELS = 128
#: ... or up to this many where the batch has at least ``W4_WIDE_MIN_TILES`` tiles: the transformed weight's
#: reads are then paid over enough rows (against rule 0's F(2, 3) on 128-512 channels: 1.36-1.7x from 1024
#: tiles, 0.57-1.16x at 256-512; docs/perf-notes.md item 112) ...
W4_WIDE_MAX_CHANNELS = 512
W4_WIDE_MIN_TILES = 1024
#: ... on a batch of at least this many images (a single one is a single tile, on one thread) ...
W4_MIN_BATCH = 2
#: ... with at least this many 4 x 4 output tiles in all (its products have one row per tile; docs/perf-notes.md
#: item 90)
W4_MIN_TILES = 256
#: the compiled gather (rule 4) for output channels per group in this range: fewer leave its vectors part-empty,
#: more make the weight's tap-major copy and the products, not the col2im, the cost (docs/perf-notes.md item 84) ...
GATHER_MIN_OUT = 16
GATHER_MAX_OUT = 128
#: ... on small images up to this many ...
GATHER_SMALL_MAX_OUT = 64
#: ... and instead of gemm from this batch (its tiles are whole images: a single one runs on one thread), on
#: outputs of at most this many pixels per image (measured to 32 x 32; the table grows with the output)
GATHER_MIN_BATCH = 4
GATHER_MAX_PIXELS = 4096
#: the direct convolution's compiled gather from this many input channels per group (a vector's worth) ...
GATHER_MIN_IN = 16
#: ... for weights of at most this many values (docs/perf-notes.md item 86)
GATHER_CONV_MAX_WEIGHT = 1 << 17
#: ... or any weight where the product has at least this many rows (batch x output pixels) per output channel
#: (docs/perf-notes.md item 94)
GATHER_CONV_ROWS = 8
#: where im2col's columns of a strided layer are compiled, the gather only up to this many output pixels per
#: image (docs/perf-notes.md item 100: 4 x 4 outputs 1.1x faster than im2col, 7 x 7 and up slower)
GATHER_PHASES_MAX_PIXELS = 16
#: the largest share of products on padding (computed / real) subpixel may compute (docs/perf-notes.md item 60)
MAX_SUBPIXEL_WASTE = 2.0
#: the largest share of extra products (padded grid / needed) phase_shift may compute
MAX_WASTE = 1.15
#: ... or this share on a stride-1 layer (docs/perf-notes.md item 92)
S1_MAX_WASTE = 1.5
#: phase_shift only for weights of at most this many values (4 MiB in float32; docs/perf-notes.md item 58)
PS_MAX_WEIGHT = 1 << 20
#: phase rows shorter than this make gemm's windowed adds slow (short inner loops) ...
SHORT_ROW = 12
#: ... so gemm_flat takes them when its padded grid wastes at most this share ...
MAX_FLAT_WASTE = 1.35
#: ... and the batch has at least this many input pixels (phase_shift below: docs/perf-notes.md item 59)
FLAT_MIN_PIXELS = 4096


@functools.lru_cache(maxsize=1024)
def choose_transpose(spec: ConvSpec, n: int, itemsize: int = 4, threads: int = 1, compiled: bool = False,
                     fractions: bool = True) -> str:
    """The algorithm the planner runs for a transposed spec on a batch of ``n``.

    ``threads``: for the tiles; ``compiled``: whether Numba's loops can be compiled
    (:func:`convt.algorithms._compiled.available`: rules 2 to 4); ``fractions``: floating-point data
    (integers: no ``winograd4``, whose exact form for them saves nothing).

    >>> from convt.spec import conv_transpose_spec
    >>> choose_transpose(conv_transpose_spec((8, 64, 32, 32), (64, 32, 2, 2), stride=2)[0], 8)
    'gemm'
    >>> choose_transpose(conv_transpose_spec((8, 4, 32, 32), (4, 64, 4, 4), stride=2, padding=1)[0], 8)
    'subpixel'
    >>> choose_transpose(conv_transpose_spec((4, 256, 2048), (256, 128, 16), stride=8, padding=4)[0], 4)
    'winograd'
    >>> choose_transpose(conv_transpose_spec((4, 64, 2048), (64, 128, 16), stride=8, padding=4)[0], 4)
    'phase_shift'
    >>> choose_transpose(conv_transpose_spec((4, 512, 256), (512, 256, 16), stride=8, padding=4)[0], 4)
    'gemm'
    >>> choose_transpose(conv_transpose_spec((1, 100, 1, 1), (100, 512, 4, 4))[0], 1)  # 15 in 16 read padding
    'gemm'
    >>> ae1 = conv_transpose_spec((64, 32, 7, 7), (32, 16, 3, 3), stride=2, padding=1, output_padding=1)[0]
    >>> choose_transpose(ae1, 64), choose_transpose(ae1, 256), choose_transpose(ae1, 64, compiled=True)
    ('phase_shift', 'gemm_flat', 'gather')
    >>> same = conv_transpose_spec((16, 64, 32, 32), (64, 64, 3, 3), padding=1)[0]
    >>> choose_transpose(same, 16, compiled=True), choose_transpose(same, 16, compiled=True, fractions=False)
    ('winograd4', 'phase_shift')
    """
    if compiled and fractions and _winograd4_pays(spec, n, itemsize, threads):
        return "winograd4"  # stride 1 only, where rule 2 never applies; ahead of rule 0's F(2, 3) (item 112)
    if compiled and fractions and _winograd_pays(spec, n, itemsize, threads, compiled=True):
        return "winograd"  # compiled transforms: ahead of rule 2 (docs/perf-notes.md item 110)
    if compiled and _compiled_col2im_pays(spec, n, itemsize, threads):
        return "gemm"
    if not (compiled and fractions) and _winograd_pays(spec, n, itemsize, threads):  # one tap per phase saves
        return "winograd"  # nothing: rule 1 stays first
    if compiled and _gather_pays(spec, n):
        return "gather"
    return _every_product(spec, n)


@functools.lru_cache(maxsize=1024)
def _every_product(spec: ConvSpec, n: int) -> str:
    """The choice among the NumPy algorithms that compute every multiply-add (all rules but 2 to 4)."""
    cg = spec.in_channels // spec.groups
    mg = spec.out_channels // spec.groups
    if all(k * d <= s for k, s, d in zip(spec.kernel_size, spec.stride, spec.dilation)):
        return "gemm"
    if 4 * mg <= cg:
        return "gemm"
    if 4 * cg <= mg and subpixel.waste(spec) <= MAX_SUBPIXEL_WASTE:
        return "subpixel"
    if _phase_shift_fits(spec):
        return "phase_shift"
    if gemm.phase_row(spec) < SHORT_ROW and phase_shift.waste(spec) <= MAX_FLAT_WASTE:
        return "gemm_flat" if n * math.prod(spec.input_size) >= FLAT_MIN_PIXELS else "phase_shift"
    return "gemm"


def _compiled_col2im_pays(spec: ConvSpec, n: int, itemsize: int, threads: int) -> bool:
    """Rule 2: a strided layer whose gemm runs channels-first, its col2im compiled (:mod:`convt.algorithms._phases`),
    within the memory bound, unless rule 6 takes it (subpixel's cheap im2col)."""
    cg, mg = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    if all(s == 1 for s in spec.stride) or gemm.channels_last(spec, n):
        return False
    if 4 * cg <= mg and subpixel.waste(spec) <= MAX_SUBPIXEL_WASTE:
        return False
    return _phases.plan(spec) is not None and gemm.fits(spec, n, itemsize, threads)


def _winograd_pays(spec: ConvSpec, n: int, itemsize: int, threads: int, compiled: bool = False) -> bool:
    """Rules 0 and 3: Winograd saves enough products, on products deep and wide enough, within the memory bound
    (rule 0, ``compiled`` transforms: :func:`convt.algorithms.winograd.compiled_fits`; rule 3:
    :func:`~convt.algorithms.winograd.fits`)."""
    cg, mg = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    short = all(d == 1 and k <= 3 * s for k, s, d in zip(spec.kernel_size, spec.stride, spec.dilation))  # F(2, r <= 3)
    if not (spec.groups == 1 and cg >= WINOGRAD_MIN_IN and mg >= WINOGRAD_MIN_OUT and short):
        return False
    if compiled:
        return (cg + mg >= WINOGRAD_COMPILED_CHANNELS and winograd.saving(spec) >= WINOGRAD_COMPILED_SAVING
                and winograd.compiled_fits(spec, n, itemsize, threads))
    return winograd.saving(spec) >= WINOGRAD_SAVING and winograd.fits(spec, n, itemsize, threads)


def _winograd4_pays(spec: ConvSpec, n: int, itemsize: int, threads: int) -> bool:
    """Rule 3's F(4, 3): stride-1 3 x 3 layers in 2-D, a few dozen to a hundred channels, enough tiles, in bounds."""
    cg, mg = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    if spec.nd != 2 or any(k != 3 or s != 1 or d != 1 for k, s, d in zip(spec.kernel_size, spec.stride, spec.dilation)):
        return False
    tiles = n * math.prod(-(-o // winograd4.OUTPUTS) for o in spec.output_size)
    wide = max(cg, mg) <= W4_WIDE_MAX_CHANNELS and tiles >= W4_WIDE_MIN_TILES
    return (W4_MIN_CHANNELS <= min(cg, mg) and (max(cg, mg) <= W4_MAX_CHANNELS or wide) and n >= W4_MIN_BATCH
            and tiles >= W4_MIN_TILES and winograd4.fits(spec, n, itemsize, threads))


def _gather_pays(spec: ConvSpec, n: int) -> bool:
    """Rule 4: small images with a vector's worth of output channels, or gemm's layers with a few dozen."""
    mg = spec.out_channels // spec.groups
    if all(k * d <= s for k, s, d in zip(spec.kernel_size, spec.stride, spec.dilation)):  # rule 1's
        return False
    if GATHER_MIN_OUT <= mg <= GATHER_SMALL_MAX_OUT and gemm.phase_row(spec) < SHORT_ROW:
        return True
    # gemm's layers, as before rule 7 took stride-1 layers with a halo (measured faster there: item 92)
    every = _every_product(spec, n)
    return (gather.BLOCK_MIN_OUT <= mg <= GATHER_MAX_OUT and n >= GATHER_MIN_BATCH
            and math.prod(spec.output_size) <= GATHER_MAX_PIXELS
            and (every == "gemm" or (every == "phase_shift" and phase_shift.waste(spec) > MAX_WASTE)))


def _phase_shift_fits(spec: ConvSpec) -> bool:
    """Rule 7: little waste on the padded grid (more on a stride-1 layer), and a weight small enough to copy and
    stream per tile."""
    weight = spec.in_channels * (spec.out_channels // spec.groups) * math.prod(spec.kernel_size)
    most = S1_MAX_WASTE if all(s == 1 for s in spec.stride) else MAX_WASTE
    return phase_shift.waste(spec) <= most and weight <= PS_MAX_WEIGHT


_TRANSPOSE = {"gather": gather.conv_transpose, "gemm": gemm.conv_transpose, "gemm_flat": gemm_flat.conv_transpose, "subpixel": subpixel.conv_transpose,
              "phase_shift": phase_shift.conv_transpose, "winograd": winograd.conv_transpose,
              "winograd4": winograd4.conv_transpose}


def conv_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Transposed convolution by the algorithm :func:`choose_transpose` picks."""
    fractions = np.result_type(x, w).kind in "fc"
    choice = choose_transpose(spec, x.shape[0], x.dtype.itemsize, _threads.num_threads(), _compiled.available(), fractions)
    return _TRANSPOSE[choice](x, w, spec)


@functools.lru_cache(maxsize=1024)
def stride1_transpose_spec(spec: ConvSpec) -> ConvSpec:
    """A stride-1 direct spec as the transposed spec that, with the flipped kernel, computes it.

    >>> from convt.spec import conv_spec
    >>> stride1_transpose_spec(conv_spec((16, 64, 32, 32), (64, 64, 3, 3), padding=1)[0]).pads
    ((1, 1), (1, 1))
    """
    if any(s != 1 for s in spec.stride):
        raise ValueError(f"stride1_transpose_spec needs stride 1 on every axis, got {spec.stride}")
    pads = tuple(ar.stride1_transpose_crop(k, d, lo, hi)
                 for k, d, (lo, hi) in zip(spec.kernel_size, spec.dilation, spec.pads))
    return ConvSpec(True, spec.in_channels, spec.out_channels, spec.groups, spec.input_size, spec.kernel_size,
                    spec.stride, spec.dilation, pads, spec.output_size)


@functools.lru_cache(maxsize=1024)
def choose_conv(spec: ConvSpec, n: int, compiled: bool = False, itemsize: int = 4, fractions: bool = True,
                threads: int = 1) -> str:
    """The algorithm the planner runs for a direct spec: "winograd", "winograd4", "phase_shift", "gather" or "im2col".

    ``compiled``: whether Numba's loops can be compiled (:func:`convt.algorithms._compiled.available`);
    ``itemsize``, ``fractions`` and ``threads`` as for :func:`choose_transpose`.

    >>> from convt.spec import conv_spec
    >>> same = conv_spec((16, 64, 32, 32), (64, 64, 3, 3), padding=1)[0]
    >>> choose_conv(same, 16), choose_conv(same, 16, compiled=True)
    ('phase_shift', 'winograd4')
    >>> choose_conv(conv_spec((16, 64, 32, 32), (64, 64, 3, 3), stride=2, padding=1)[0], 16)
    'im2col'
    >>> ae1 = conv_spec((64, 16, 14, 14), (32, 16, 3, 3), stride=2, padding=1)[0]   # 7 x 7 outputs
    >>> small = conv_spec((64, 32, 8, 8), (64, 32, 3, 3), stride=2, padding=1)[0]   # 4 x 4 outputs
    >>> choose_conv(ae1, 64), choose_conv(ae1, 64, compiled=True), choose_conv(small, 64, compiled=True)
    ('im2col', 'im2col', 'gather')
    >>> dcgan2 = conv_spec((64, 128, 16, 16), (256, 128, 4, 4), stride=2, padding=1)[0]  # 2**19 weights
    >>> choose_conv(dcgan2, 64, compiled=True), choose_conv(dcgan2, 8, compiled=True)   # strided: compiled phases
    ('im2col', 'im2col')
    """
    if all(s == 1 for s in spec.stride):
        tspec = stride1_transpose_spec(spec)  # rules 0, 3 and 7 only: rule 8's small batches are measured on transposed layers
        if compiled and fractions and _winograd4_pays(tspec, n, itemsize, threads):
            return "winograd4"
        if compiled and fractions and _winograd_pays(tspec, n, itemsize, threads, compiled=True):
            return "winograd"
        halo = phase_shift.waste(tspec) <= MAX_WASTE or spec.nd >= 3  # 2-D: im2col measured faster (item 92)
        if _every_product(tspec, n) == "phase_shift" and _phase_shift_fits(tspec) and halo:
            return "phase_shift"
    weight = spec.out_channels * (spec.in_channels // spec.groups) * math.prod(spec.kernel_size)
    columns = n * math.prod(spec.output_size)  # the product's rows: the weight's copy is paid once for them all
    phases = _phases.im2col_fits(spec)  # im2col's columns compiled (item 97): the gather only on tiny outputs
    if (compiled and spec.in_channels // spec.groups >= GATHER_MIN_IN and spec.output_size[-1] < SHORT_ROW
            and (not phases or math.prod(spec.output_size) <= GATHER_PHASES_MAX_PIXELS)
            and (weight <= GATHER_CONV_MAX_WEIGHT or (columns >= GATHER_CONV_ROWS * spec.out_channels and not phases))):
        return "gather"
    return "im2col"


def conv_by_transpose(x: np.ndarray, w: np.ndarray, spec: ConvSpec, algorithm: str = "phase_shift") -> np.ndarray:
    """A stride-1 direct convolution as a transposed one (``algorithm``) of the flipped, regrouped kernel."""
    g, nd = spec.groups, spec.nd
    mg, cg = spec.out_channels // g, spec.in_channels // g
    flip = (Ellipsis, *(slice(None, None, -1),) * nd)
    wt = w.reshape(g, mg, cg, *spec.kernel_size).swapaxes(1, 2)[flip].reshape(g * cg, mg, *spec.kernel_size)
    return _TRANSPOSE[algorithm](x, wt, stride1_transpose_spec(spec))


def conv_by_phase_shift(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """A stride-1 direct convolution as ``phase_shift`` on the flipped, regrouped kernel."""
    return conv_by_transpose(x, w, spec, "phase_shift")


def conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Direct convolution by the algorithm :func:`choose_conv` picks."""
    choice = choose_conv(spec, x.shape[0], _compiled.available(), x.dtype.itemsize, np.result_type(x, w).kind in "fc",
                         _threads.num_threads())
    if choice in ("phase_shift", "winograd", "winograd4"):
        return conv_by_transpose(x, w, spec, choice)
    return (gather.conv if choice == "gather" else im2col.conv)(x, w, spec)
