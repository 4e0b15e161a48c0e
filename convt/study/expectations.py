"""The study's expectations and decision rule, written before the full run.

This text was committed before any full-study result existed (it was written
at 2026-11-27 22:45 UTC; the full run was started later). The report generator
copies it verbatim into ``study.md`` so that the predictions and the results can
be compared on one page. Do not edit it after seeing results; add a dated note
in the discussion block of ``docs/study.md`` instead.
"""

from __future__ import annotations

__all__ = ["EXPECTATIONS", "WRITTEN"]

#: when the expectations were written (before the full run)
WRITTEN = "2026-11-27 22:45 UTC"

EXPECTATIONS = """\
These expectations and the decision rule were written on {written}, **before the
full run**, from the literature summarised in `research/education.md` (c)
(Odena et al. 2016; Shi et al. 2016; Aitken et al. 2017; SegNet, Table 1).
They are copied verbatim from `convt/study/expectations.py`.

**Checkerboard index at initialisation** (constant input image):

- ConvT k3 s2 (uneven overlap, 1 vs 2 taps per axis) and zero-insertion
  unpooling + conv (the same operator) have the largest index; max-unpooling
  with indices behaves like zero insertion for a constant input (ties put every
  value at the same window position).
- ConvT k4 s2 (even overlap) and sub-pixel with default initialisation are
  clearly non-zero too, because their four phases use independently drawn
  sub-kernels (Aitken et al.); they are below ConvT k3.
- Nearest + conv, bilinear + conv and sub-pixel with ICNR are close to zero
  (only the image border breaks the symmetry).
- Expected order: ConvT k3 ≈ zero-insertion > ConvT k4 ≳ sub-pixel >
  sub-pixel ICNR ≈ nearest ≈ bilinear.

**After training** (test reconstructions of MNIST digits): the index falls for
every learned upsampler, because periodic errors cost MSE; ConvT k3 and
zero insertion keep the largest residual index.

**Reconstruction error** at matched parameter counts:

- Among the upsamplers that see no side information (the six learned or fixed
  resize variants and zero insertion), the differences are small on MNIST,
  possibly within seed noise (a few percent of the MSE). Sub-pixel ICNR ≤
  nearest + conv (Aitken et al.) is expected but may not be resolved with 5 seeds.
- Max-unpooling **with indices** has the lowest MSE of all eight variants by
  a clear margin, because the indices carry about 2 bits per pooled unit
  around the bottleneck, far more than the code itself (SegNet Table 1 shows
  index-based decoders competitive at matched size).
- The control (ConvT k4 that also receives the index bits) closes most of
  that gap; fixed-position unpooling (no indices) loses it. If so, the
  advantage of max-unpooling is information, not upsampling quality.

**Decision rule for the seed's claim** ("transposed convolution upsamples
better than max-unpooling in autoencoders"), fixed in advance: compare ConvT
k4 s2 with max-unpooling + conv on test MSE over the 5 paired seeds.

- *Supported* if ConvT has the lower MSE in at least 4 of 5 seeds and the
  paired t-test gives p < 0.05.
- *Contradicted* if max-unpooling has the lower MSE in at least 4 of 5 seeds
  and p < 0.05.
- *Not resolved* otherwise.

The same rule is applied to ConvT k3 s2 against max-unpooling, and to the
information-matched pair (control vs max-unpooling) and to the
information-free pair (ConvT k4 vs fixed-position unpooling), which separate
upsampling quality from side information.

**My prediction:** *contradicted* for the plain comparison (max-unpooling wins
because of its side information), and *supported* or *not resolved* for
ConvT k4 against fixed-position unpooling.
"""
