"""Plain-data explanations of a convolution setting (``convt explain``).

:func:`explain` turns a :class:`~convt.spec.ConvSpec` into an
:class:`Explanation`: per axis the output size with its formula and the
numbers put in, the seed's case, the equivalent direct convolution (zeros
inserted, padding on each side, flipped kernel), every size that maps to the
same one and how each framework picks one, and the kernel-overlap counts.
:func:`render_text` prints it, with a Unicode picture for 1-D and 2-D. Every
number comes from :mod:`convt.arithmetic`.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import arithmetic as ar
from .spec import ConvSpec, require_spec

__all__ = ["AxisExplanation", "Explanation", "explain", "picture", "render_text"]

SEED_CASES = {
    1: ("no zero padding, unit strides", "o' = i' + (k - 1)"),
    2: ("zero padding, unit strides", "o' = i' + (k - 1) - 2p"),
    3: ("no zero padding, non-unit strides", "o' = s(i' - 1) + k - 2p"),
    4: ("zero padding, non-unit strides", "o' = s(i' - 1) + k - 2p"),
}


@dataclass(frozen=True)
class AxisExplanation:
    """One spatial axis of an explanation (all plain ints and strings)."""

    input: int
    kernel: int
    stride: int
    dilation: int
    pads: tuple[int, int]
    output: int
    formula: str
    numbers: str
    seed_case: int
    #: transposed: the zero-insertion picture; direct: None
    equivalent: ar.EquivalentDirect | None
    #: the sizes the strided direct convolution maps to one size (the ambiguity)
    same_sizes: range
    #: framework -> how it picks one of ``same_sizes``
    picks: tuple[tuple[str, str], ...]
    #: transposed: (input, tap) pairs per output position; direct: windows per input position (empty above
    #: :data:`OVERLAP_LIMIT` positions)
    overlap: tuple[int, ...]
    #: taps per output phase (mod stride) away from the edges (empty above :data:`OVERLAP_LIMIT` phases)
    phases: tuple[int, ...]

    @property
    def uneven(self) -> bool:
        """Whether the phase overlap is uneven (checkerboard risk)."""
        return not ar.phase_overlap_even(self.kernel, self.stride, self.dilation)


@dataclass(frozen=True)
class Explanation:
    """Everything ``convt explain`` prints, as data."""

    spec: ConvSpec
    convention: str
    axes: tuple[AxisExplanation, ...]

    @property
    def transposed(self) -> bool:
        return self.spec.transposed

    @property
    def uneven(self) -> bool:
        return any(a.uneven for a in self.axes)


#: lists longer than this are shown by their ends and their length
SHOWN = 16
#: the overlap counts are listed for axes of at most this many positions (a huge stride has millions)
OVERLAP_LIMIT = 100_000
#: the text picture is drawn up to this many cells per row and rows
PICTURE_LIMIT = (120, 60)


def _few(values, fmt=str) -> str:
    """``values`` joined by commas; a long list as its ends and its length (a range of ints, in O(1)).

    >>> _few(range(3, 6)), _few(range(10, 10**9))
    ('3, 4, 5', '10, 11, 12, 13, ..., 999999998, 999999999 (999999990 values)')
    """
    if isinstance(values, range):  # its ends by arithmetic (len() stops at sys.maxsize)
        n = max(0, -(-(values.stop - values.start) // values.step))
        at = lambda j: values.start + j * values.step
    else:
        n, at = len(values), values.__getitem__
    if n <= SHOWN:
        return ", ".join(fmt(at(j)) for j in range(n))
    return (", ".join(fmt(at(j)) for j in range(4)) + ", ..., "
            + ", ".join(fmt(at(j)) for j in range(n - 2, n)) + f" ({n} values)")


def _picks(transposed: bool, i: int, k: int, s: int, d: int, nominal: tuple[int, int], same: bool,
           sizes: range) -> tuple[tuple[str, str], ...]:
    lowest = ar.transpose_length(i, k, s, *nominal, d) if transposed else None
    ex = _few(sizes)
    out = []
    if not same and transposed:
        def within(limit: int) -> range:  # the sizes o with 0 <= o - lowest < limit
            return range(max(sizes.start, lowest), min(sizes.stop, lowest + limit))

        ops = _few(within(max(s, d)), lambda o: f"{o - lowest}->{o}")
        module = _few(within(s))
        out.append(("PyTorch", f"output_padding a = o' - {lowest} (a < max(stride, dilation): {ops}), "
                               + ("or forward(x, output_size=[o'])" if d <= s else
                                  f"or forward(x, output_size=[o']) for o' in {module} only (the module's check "
                                  "allows a < stride)")))
    elif transposed:
        out.append(("PyTorch", "no padding word for a transposed conv: give explicit padding plus "
                               "output_padding, or forward(x, output_size=[o'])"))
    out.append(("TensorFlow", f"tf.nn.conv_transpose(..., output_shape=[.., o', ..]) accepts any of {ex} "
                              f"('SAME' gives {ar.tf_transpose_default_output(i, k, s, d, 'same')} by default in "
                              f"Keras, 'VALID' {ar.tf_transpose_default_output(i, k, s, d, 'valid')})"))
    kv = ar.transpose_length(i, k, s, *ar.keras_transpose_crop(i, k, s, d, "valid"), d)
    ks = ar.transpose_length(i, k, s, *ar.keras_transpose_crop(i, k, s, d, "same"), d)
    out.append(("Keras", f"ConvTranspose output_padding picks it; None gives {ks} ('same') or {kv} ('valid')"))
    out.append(("ONNX", "ConvTranspose output_padding (appended at the end) or output_shape"))
    js = ar.transpose_length(i, k, s, *ar.jax_transpose_crop(k, s, d, "same"), d)
    jv = ar.transpose_length(i, k, s, *ar.jax_transpose_crop(k, s, d, "valid"), d)
    out.append(("JAX", f"lax.conv_transpose has no size argument: 'SAME' gives {js}, 'VALID' {jv}, "
                       "explicit (lo, hi) pads pick the others"))
    return tuple(out)


def explain(spec: ConvSpec, *, convention: str = "torch", nominal: ConvSpec | None = None,
            same: bool = False) -> Explanation:
    """Explain a convolution setting, axis by axis.

    Parameters
    ----------
    spec : ConvSpec
        The setting, from :func:`convt.spec.conv_transpose_spec`,
        :func:`convt.spec.conv_spec` or ``convt.compat.layer_spec``.
    convention : str
        The framework whose arguments described it (shown in the heading).
    nominal : ConvSpec, optional
        The same layer without output_padding / output_size (its crop is the
        direct convolution's padding); defaults to ``spec``.
    same : bool
        The padding was a "same" word, so the sizes that map to one are
        ``(o-1)*s + 1 .. o*s`` whatever the kernel.

    Returns
    -------
    Explanation

    Notes
    -----
    Shape: transposed ``o = (i-1)*s - begin - end + d*(k-1) + 1``; direct
    ``o = floor((i + lo + hi - d*(k-1) - 1) / s) + 1``.

    Examples
    --------
    >>> from convt.spec import conv_transpose_spec
    >>> spec, _ = conv_transpose_spec((1, 1, 3), (1, 1, 3), stride=2, padding=1, output_padding=1)
    >>> ax = explain(spec).axes[0]
    >>> ax.output, ax.equivalent, ax.overlap, ax.uneven
    (6, EquivalentDirect(stretched=5, pad_lo=1, pad_hi=2, output=6), (1, 2, 1, 2, 1, 1), True)
    """
    require_spec("explain", spec)
    if nominal is not None:
        require_spec("explain", nominal, "nominal")
    nominal = nominal or spec
    axes = []
    for a in range(spec.nd):
        i, k, s, d = spec.input_size[a], spec.kernel_size[a], spec.stride[a], spec.dilation[a]
        lo, hi = spec.pads[a]
        o = spec.output_size[a]
        nlo, nhi = nominal.pads[a]
        if spec.transposed:
            formula = "o = (i - 1)*s - begin - end + d*(k - 1) + 1"
            numbers = f"({i} - 1)*{s} - {_signed(lo)} - {_signed(hi)} + {d}*({k} - 1) + 1 = {o}"
            eq = ar.equivalent_direct(i, k, s, lo, hi, d)
            sizes = ar.same_input_range(i, s) if same else ar.conv_input_range(i, k, s, nlo, nhi, d)
            overlap = ar.overlap_counts(i, k, s, lo, hi, d) if o <= OVERLAP_LIMIT else ()
            case = ar.seed_case(s, nlo, nhi)
        else:
            formula = "o = floor((i + lo + hi - d*(k - 1) - 1) / s) + 1"
            numbers = f"floor(({i} + {_signed(lo)} + {_signed(hi)} - {d}*({k} - 1) - 1) / {s}) + 1 = {o}"
            eq = None
            sizes = ar.same_input_range(o, s) if same else ar.conv_input_range(o, k, s, lo, hi, d)
            adj = spec.adjoint()
            overlap = ar.overlap_counts(o, k, s, *adj.pads[a], d) if i <= OVERLAP_LIMIT else ()
            case = ar.seed_case(s, lo, hi)
        if spec.transposed:
            picks = _picks(True, i, k, s, d, (nlo, nhi), same, sizes)
        else:
            adj = spec.adjoint()
            picks = _picks(True, o, k, s, d, adj.pads[a], same, sizes)
        axes.append(AxisExplanation(i, k, s, d, (lo, hi), o, formula, numbers, case, eq, sizes, picks,
                                    overlap, ar.phase_overlap(k, s, d) if s <= OVERLAP_LIMIT else ()))
    return Explanation(spec, convention, tuple(axes))


def _signed(v: int) -> str:
    """A number after a ``+`` or ``-`` sign: negative ones in parentheses (``- (-1)``, not ``- -1``)."""
    return f"({v})" if v < 0 else str(v)


# --------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------
_PAD, _ZERO, _IN = "·", "0", "x"


def _cell_1d(spec: ConvSpec, a: int, u: int) -> str:
    """The glyph at position ``u`` of axis ``a`` (stretched coordinates if transposed)."""
    if spec.transposed:
        c = ar.stretched_cell(u, spec.input_size[a], spec.stride[a])
        return _PAD if c == -2 else _ZERO if c == -1 else _IN
    return _IN if 0 <= u < spec.input_size[a] else _PAD


def _picture_cells(spec: ConvSpec) -> tuple[int, ...]:
    """Cells per axis of :func:`picture`."""
    return tuple(ar.drawn_length(*a, transposed=spec.transposed) for a in zip(
        spec.input_size, spec.kernel_size, spec.stride, *zip(*spec.pads), spec.dilation))


def picture(spec: ConvSpec) -> str:
    """A Unicode picture of the (stretched,) padded input with the window of output 0.

    ``x`` input, ``0`` inserted zero, ``·`` padding zero; ``[ ]`` marks the
    cells the kernel window of the first output reads. 1-D and 2-D only.

    >>> from convt.spec import conv_transpose_spec
    >>> print(picture(conv_transpose_spec((1, 1, 2), (1, 1, 3), stride=2)[0]))
    [·][·][x] 0  x  ·  ·
    """
    if spec.nd > 2:
        raise ValueError("picture: only 1-D and 2-D settings are pictured")
    spans, windows = [], []
    for a in range(spec.nd):
        k, s, d = spec.kernel_size[a], spec.stride[a], spec.dilation[a]
        if spec.transposed:
            eq = ar.equivalent_direct(spec.input_size[a], k, s, *spec.pads[a], d)
            spans.append(range(-eq.pad_lo, eq.stretched + eq.pad_hi))
            windows.append(set(ar.gather_positions(0, k, d, eq.pad_lo)))
        else:
            lo, hi = spec.pads[a]
            spans.append(range(-lo, spec.input_size[a] + hi))
            windows.append(set(ar.window_positions(0, k, s, d, lo)))
    rows = spans[0] if spec.nd == 2 else [None]
    lines = []
    for r in rows:
        cells = []
        for u in spans[-1]:
            g = _cell_1d(spec, spec.nd - 1, u)
            inside = u in windows[-1]
            if r is not None:
                gr = _cell_1d(spec, 0, r)
                g = g if gr == _IN else (_PAD if _PAD in (g, gr) else _ZERO)
                inside = inside and r in windows[0]
            cells.append(f"[{g}]" if inside else f" {g} ")
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)


def render_text(ex: Explanation) -> str:
    """The text ``convt explain`` prints."""
    spec = ex.spec
    kind = "transposed convolution" if spec.transposed else "direct convolution"
    out = [f"{spec.nd}-D {kind} ({ex.convention} convention)",
           f"  input {list(spec.input_size)} -> output {list(spec.output_size)}; kernel "
           f"{list(spec.kernel_size)}, stride {list(spec.stride)}, dilation {list(spec.dilation)}, "
           + (f"crop of the full result (begin, end) {list(spec.pads)}" if spec.transposed
              else f"padding (lo, hi) {list(spec.pads)}"),
           ""]
    for a, ax in enumerate(ex.axes):
        head = f"axis {a}:" if spec.nd > 1 else "size:"
        out.append(f"{head} {ax.formula}")
        out.append(f"    = {ax.numbers}")
        name, formula = SEED_CASES[ax.seed_case]
        role = "the direct conv it transposes" if spec.transposed else "this conv"
        out.append(f"  seed case {ax.seed_case}: {name} ({role}; the seed's {formula})")
        if ax.equivalent is not None:
            e = ax.equivalent
            out.append(f"  equivalent direct conv: insert {ax.stride - 1} zero(s) between inputs "
                       f"({ax.input} -> {e.stretched}), pad {e.pad_lo} before and {e.pad_hi} after"
                       + (" (negative: crop)" if min(e.pad_lo, e.pad_hi) < 0 else "")
                       + f", correlate with the FLIPPED kernel at stride 1, dilation {ax.dilation} "
                       f"-> {e.output}")
        what = "outputs" if spec.transposed else "inputs"
        sizes = f"[{_few(ax.same_sizes)}]"
        if spec.transposed:
            out.append(f"  sizes a direct conv maps back to {ax.input}: {sizes}; this layer gives {ax.output}")
        else:
            out.append(f"  {what} that give the same output {ax.output}: {sizes}; its transpose must pick one")
        for fw, how in ax.picks:
            out.append(f"    {fw:10s} {how}")
        label = "per output position" if spec.transposed else "windows reading each input position"
        positions = ax.output if spec.transposed else ax.input
        out.append(f"  kernel overlap {label}: " + (f"[{_few(ax.overlap)}]" if ax.overlap or positions == 0 else
                                                     f"not listed for {positions} positions"))
        per_phase = f"[{_few(ax.phases)}]" if ax.phases else f"not listed for {ax.stride} phases"
        if ax.uneven:
            out.append(f"    UNEVEN overlap (taps per output phase mod {ax.stride}: {per_phase}): "
                       "checkerboard risk; prefer a kernel divisible by the stride (e.g. k=4, s=2) or "
                       "resize + conv")
        else:
            out.append(f"    even overlap (taps per output phase mod {ax.stride}: {per_phase})")
        out.append("")
    if spec.transposed:
        flip = "w[::-1]" if spec.nd == 1 else "w rotated 180 degrees (every spatial axis reversed)"
        out.append(f"The equivalent direct conv correlates with the flipped kernel {flip}.")
    cells = _picture_cells(spec) if spec.nd <= 2 else ()
    if spec.nd <= 2 and cells[-1] <= PICTURE_LIMIT[0] and (spec.nd == 1 or cells[0] <= PICTURE_LIMIT[1]):
        out.append("Picture: x input, 0 inserted zero, · padding zero, [ ] the window of output 0"
                   + (" (stretched, padded input)" if spec.transposed else " (padded input)"))
        out.append(picture(spec))
    elif spec.nd <= 2:
        most = f"{PICTURE_LIMIT[0]} x {PICTURE_LIMIT[1]}" if spec.nd == 2 else f"{PICTURE_LIMIT[0]}"
        out.append(f"(no picture: the {'stretched, ' if spec.transposed else ''}padded input is "
                   f"{' x '.join(map(str, cells))} cells, more than the {most} drawn in text)")
    else:
        out.append(f"({spec.nd}-D: the arithmetic above, axis by axis; `convt draw -o FILE.png` draws each axis)")
    return "\n".join(out)
