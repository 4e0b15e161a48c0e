"""The four views of one setting, placed on a :class:`~convt.draw._scene.Scene`.

(a) gather: the (stretched,) padded input with the kernel window of one
output position (flipped for a transposed conv) and the output filling in;
(b) scatter: each input element painting its kernel-weighted patch, on the
same numbers; (c) the matrix C and its transpose; (d) the overlap map.
Every size and position comes from :mod:`convt.arithmetic` or the spec;
every value from :func:`convt.conv` / :func:`convt.conv_transpose`.
1-D settings are drawn as 2-D ones with a trivial first axis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from .. import arithmetic as ar
from ..errors import ConvError
from ..spec import ConvSpec
from ._scene import Scene

IN_FILL, IN_EDGE = "#cfe0f3", "#2f5d8a"
OUT_FILL, OUT_EDGE = "#d4edd4", "#2e7d32"
ZERO_FILL, PAD_FILL = "#eeeeee", "#ffffff"
WIN = "#e8710a"
TAP_COLOURS = ["#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5",
               "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f"]


def _fmt(v: float) -> str:
    return f"{v:g}"


@dataclass(frozen=True)
class Model:
    """One setting as 2-D plain data: the spec, the numbers, the matrix taps per axis."""

    spec: ConvSpec          # two spatial axes
    nd: int                 # the original number of axes (1 or 2)
    convention: str
    x: np.ndarray
    w: np.ndarray
    y: np.ndarray
    taps: tuple[tuple[tuple[int, ...], ...], ...]   # per axis: C as tap indices (rows x cols)

    @property
    def n_in(self) -> int:
        return int(self.x.size)

    @property
    def n_out(self) -> int:
        return int(self.y.size)

    def compute(self, x: np.ndarray) -> np.ndarray:
        """The layer applied to ``x`` (2-D), by the library."""
        import convt

        sp = self.spec
        kw = {"stride": sp.stride, "dilation": sp.dilation, "padding": list(sp.pads)}
        f = convt.conv_transpose if sp.transposed else convt.conv
        return f(x[None, None], self.w[None, None], **kw)[0, 0]

    def targets(self, a: int, c: int) -> list[tuple[int, int]]:
        """``(position, tap)`` pairs that input ``c`` of axis ``a`` reaches in the output."""
        sp = self.spec
        if sp.transposed:
            qs = ar.scatter_positions(c, sp.kernel_size[a], sp.stride[a], sp.dilation[a], sp.pads[a][0])
            return [(q, t) for t, q in enumerate(qs) if 0 <= q < sp.output_size[a]]
        col = [row[c] for row in self.taps[a]]
        return [(r, t) for r, t in enumerate(col) if t >= 0]


def as_2d(spec: ConvSpec) -> ConvSpec:
    """A 1-D spec with a trivial first axis prepended; 2-D unchanged; more raises."""
    if spec.nd == 2:
        return spec
    if spec.nd != 1:
        raise ConvError(f"draw: only 1-D and 2-D settings are drawn as one picture, got {spec.nd} spatial axes "
                        "(a .png or .svg draws them axis by axis; `convt explain` gives the arithmetic)")
    one = (1,)
    return replace(spec, input_size=one + spec.input_size, kernel_size=one + spec.kernel_size,
                   stride=one + spec.stride, dilation=one + spec.dilation, pads=((0, 0), *spec.pads),
                   output_size=one + spec.output_size)


def build_model(spec: ConvSpec, convention: str = "torch") -> Model:
    """Numbers and matrices for drawing ``spec`` (x = 1, 2, ...; w = 1, 2, ...)."""
    sp = as_2d(spec)
    x = np.arange(1, int(np.prod(sp.input_size)) + 1, dtype=np.int64).reshape(sp.input_size)
    w = np.arange(1, int(np.prod(sp.kernel_size)) + 1, dtype=np.int64).reshape(sp.kernel_size)
    taps = []
    for a in range(2):
        k, s, d = sp.kernel_size[a], sp.stride[a], sp.dilation[a]
        if sp.transposed:  # C is the direct conv this layer transposes: o -> i
            taps.append(ar.conv_matrix_taps(sp.output_size[a], k, s, *sp.pads[a], d))
        else:
            taps.append(ar.conv_matrix_taps(sp.input_size[a], k, s, *sp.pads[a], d))
    m = Model(sp, spec.nd, convention, x, w, np.zeros(sp.output_size, dtype=np.int64), tuple(taps))
    return replace(m, y=m.compute(x))


# --------------------------------------------------------------------------
# Grid helper
# --------------------------------------------------------------------------
CellFn = Callable[[int, int], tuple[str, str, str, str, float, str]]


def _cell_size(rows: int, cols: int) -> int:
    n = max(rows, cols)
    return 30 if n <= 10 else 22 if n <= 16 else 16


def _grid(sc: Scene, x0: float, y0: float, rows: list[int], cols: list[int], cell: int, fn: CellFn,
          dash_pad: bool = False) -> tuple[float, float]:
    """Draw cells ``fn(r, c) -> (fill, text, text colour, stroke, stroke width, corner)``."""
    big = []
    for ri, r in enumerate(rows):
        for ci, c in enumerate(cols):
            fill, txt, tc, stroke, sw, corner = fn(r, c)
            x, y = x0 + ci * cell, y0 + ri * cell
            sc.rect(x, y, cell, cell, fill=fill, stroke="#9a9a9a", sw=0.6, dash=dash_pad and fill == PAD_FILL)
            if sw > 1:
                big.append((x, y, stroke, sw))
            if txt:
                sc.text(x + cell / 2, y + cell * (0.36 if corner else 0.5), txt,
                        size=cell * (0.4 if len(txt) < 4 else 0.3), fill=tc)
            if corner:
                sc.text(x + cell - 3, y + cell * 0.75, corner, size=cell * 0.32, fill=WIN, anchor="end", bold=True)
    for x, y, stroke, sw in big:   # thick borders on top
        sc.rect(x + sw / 2, y + sw / 2, cell - sw, cell - sw, stroke=stroke, sw=sw)
    return len(cols) * cell, len(rows) * cell


def _label(sc: Scene, x: float, y: float, title: str, colour: str) -> None:
    sc.text(x, y, title, size=12, fill=colour, anchor="start", bold=True)


def _dims(sizes: tuple[int, ...], nd: int) -> str:
    return "×".join(map(str, sizes[-nd:]))


# --------------------------------------------------------------------------
# (a) gather and (b) scatter
# --------------------------------------------------------------------------
def _unravel(n: int, shape: tuple[int, ...]) -> tuple[int, int]:
    r, c = np.unravel_index(n, shape)
    return int(r), int(c)


def gather_panel(sc: Scene, m: Model, x0: float, y0: float, step: int) -> tuple[float, float]:
    """View (a) for output position ``step`` (row-major); returns the panel size."""
    sp, nd = m.spec, m.nd
    q = _unravel(step, sp.output_size)
    spans, wins = [], []
    for a in range(2):
        k, s, d = sp.kernel_size[a], sp.stride[a], sp.dilation[a]
        if sp.transposed:
            eq = ar.equivalent_direct(sp.input_size[a], k, s, *sp.pads[a], d)
            spans.append(list(range(-eq.pad_lo, eq.stretched + eq.pad_hi)))
            # window position t holds the flipped kernel: w[k-1-t]
            wins.append({u: k - 1 - t for t, u in enumerate(ar.gather_positions(q[a], k, d, eq.pad_lo))})
        else:
            lo, hi = sp.pads[a]
            spans.append(list(range(-lo, sp.input_size[a] + hi)))
            wins.append({c: t for t, c in enumerate(ar.window_positions(q[a], k, s, d, lo))})

    def index(a: int, u: int) -> int:
        if sp.transposed:
            return ar.stretched_cell(u, sp.input_size[a], sp.stride[a])
        return u if 0 <= u < sp.input_size[a] else -2

    def cell(r: int, c: int):
        j0, j1 = index(0, r), index(1, c)
        inside = r in wins[0] and c in wins[1]
        corner = ""
        if inside:
            corner = _fmt(m.w[wins[0][r], wins[1][c]]) if nd == 2 else _fmt(m.w[0, wins[1][c]])
        stroke, sw = (WIN, 2.5) if inside else ("", 0.6)
        if j0 >= 0 and j1 >= 0:
            return IN_FILL, _fmt(m.x[j0, j1]), "#10355a", stroke, sw, corner
        if -2 in (j0, j1):
            return PAD_FILL, "", "#999", stroke, sw, corner
        return ZERO_FILL, "0", "#aaa", stroke, sw, corner

    what = "stretched + padded" if sp.transposed else "padded"
    cs = _cell_size(max(len(spans[0]), sp.output_size[0]) if nd == 2 else 1, max(len(spans[1]), sp.output_size[1]))
    _label(sc, x0, y0 + 8, f"INPUT x ({_dims(sp.input_size, nd)}), {what}", IN_EDGE)
    kern = "flipped kernel" if sp.transposed else "kernel"
    sc.text(x0, y0 + 24, f"orange: the {kern} window of output {list(q[-nd:])}", size=10, fill=WIN,
            anchor="start")
    title = f"INPUT x ({_dims(sp.input_size, nd)}), {what}"
    gw, gh = _grid(sc, x0, y0 + 36, spans[0], spans[1], cs, cell, dash_pad=True)
    ox = x0 + max(gw, len(title) * 7.5) + 30
    sc.text(ox - 15, y0 + 36 + gh / 2, "→", size=18, fill="#555")

    def ocell(r: int, c: int):
        n = int(np.ravel_multi_index((r, c), sp.output_size))
        if n > step:
            return "#fafafa", "", "#000", "", 0.6, ""
        stroke, sw = (WIN, 2.5) if n == step else ("", 0.6)
        return OUT_FILL, _fmt(m.y[r, c]), "#174d1a", stroke, sw, ""

    _label(sc, ox, y0 + 8, f"OUTPUT y ({_dims(sp.output_size, nd)})", OUT_EDGE)
    ow, oh = _grid(sc, ox, y0 + 36, list(range(sp.output_size[0])), list(range(sp.output_size[1])), cs, ocell)
    return ox + ow - x0, 36 + max(gh, oh)


def scatter_panel(sc: Scene, m: Model, x0: float, y0: float, step: int) -> tuple[float, float]:
    """View (b) after input ``step`` (row-major) has painted its patch."""
    sp, nd = m.spec, m.nd
    j = _unravel(step, sp.input_size)
    mask = (np.arange(m.n_in) <= step).reshape(sp.input_size)
    partial = m.compute(m.x * mask)
    hit0 = dict(m.targets(0, j[0]))
    hit1 = dict(m.targets(1, j[1]))
    cs = _cell_size(max(sp.input_size[0], sp.output_size[0]), max(sp.input_size[1], sp.output_size[1]))

    def icell(r: int, c: int):
        n = int(np.ravel_multi_index((r, c), sp.input_size))
        stroke, sw = (IN_EDGE, 2.5) if n == step else ("", 0.6)
        fill = IN_FILL if n <= step else "#f3f7fb"
        return fill, _fmt(m.x[r, c]), "#10355a" if n <= step else "#9bb", stroke, sw, ""

    def ocell(r: int, c: int):
        inside = r in hit0 and c in hit1
        corner = ""
        if inside:
            t = (hit0[r], hit1[c])
            corner = f"+{_fmt(m.x[j] * m.w[t])}"
        stroke, sw = (WIN, 2.5) if inside else ("", 0.6)
        v = partial[r, c]
        return (OUT_FILL if v != 0 or inside else "#fafafa"), _fmt(v), "#174d1a", stroke, sw, corner

    _label(sc, x0, y0 + 8, f"INPUT x ({_dims(sp.input_size, nd)})", IN_EDGE)
    sc.text(x0, y0 + 24, f"x{list(j[-nd:])} = {_fmt(m.x[j])} paints x·w (orange) on the output", size=10,
            fill=WIN, anchor="start")
    iw, ih = _grid(sc, x0, y0 + 36, list(range(sp.input_size[0])), list(range(sp.input_size[1])), cs, icell)
    ox = x0 + max(iw, 150) + 30
    sc.text(ox - 15, y0 + 36 + ih / 2, "→", size=18, fill="#555")
    _label(sc, ox, y0 + 8, f"OUTPUT y ({_dims(sp.output_size, nd)}), sum so far", OUT_EDGE)
    ow, oh = _grid(sc, ox, y0 + 36, list(range(sp.output_size[0])), list(range(sp.output_size[1])), cs, ocell)
    return ox + ow - x0, 36 + max(ih, oh)


# --------------------------------------------------------------------------
# (c) matrix and (d) overlap
# --------------------------------------------------------------------------
def _kron_taps(m: Model) -> tuple[list[list[int]], int]:
    """C for both axes: entry = flat tap index or -1; rows/cols row-major (plain indexing)."""
    t0, t1 = m.taps
    k1 = m.spec.kernel_size[1]
    rows = []
    for r0 in t0:
        for r1 in t1:
            rows.append([a * k1 + b if a >= 0 and b >= 0 else -1 for a in r0 for b in r1])
    return rows, k1


def matrix_panel(sc: Scene, m: Model, x0: float, y0: float) -> tuple[float, float]:
    """View (c): C and Cᵀ, cells coloured (and numbered) by kernel tap."""
    c, _ = _kron_taps(m)
    ct = [list(col) for col in zip(*c)]
    sp = m.spec
    if sp.transposed:
        names = ("C: the direct conv this layer transposes", "Cᵀ: this transposed conv, y = Cᵀx")
    else:
        names = ("C: this conv, y = Cx", "Cᵀ: its transpose (the gradient w.r.t. x)")
    n = max(len(c), len(ct), len(c[0]), 1)
    cs = max(3, min(16, 300 // n))
    x = x0
    h = 0.0
    for name, mat in zip(names, (c, ct)):
        _label(sc, x, y0 + 8, name, "#333")
        sub = f"{len(mat)} rows × {len(mat[0])} columns; number = kernel tap (flat index)"
        sc.text(x, y0 + 24, sub, size=9, fill="#555", anchor="start")
        for ri, row in enumerate(mat):
            for ci, t in enumerate(row):
                fill = TAP_COLOURS[t % len(TAP_COLOURS)] if t >= 0 else "#ffffff"
                sc.rect(x + ci * cs, y0 + 36 + ri * cs, cs, cs, fill=fill, stroke="#ddd" if cs > 5 else "none",
                        sw=0.5)
                if t >= 0 and cs >= 12:
                    sc.text(x + ci * cs + cs / 2, y0 + 36 + ri * cs + cs / 2, str(t), size=cs * 0.6)
        sc.rect(x, y0 + 36, len(mat[0]) * cs, len(mat) * cs, stroke="#555", sw=1)
        h = max(h, 36 + len(mat) * cs)
        x += max(len(mat[0]) * cs, len(name) * 7.5, len(sub) * 5.6) + 30
    return x - x0, h


def overlap_panel(sc: Scene, m: Model, x0: float, y0: float) -> tuple[float, float]:
    """View (d): kernel-overlap count per output (transposed) or per input (direct) position."""
    sp, nd = m.spec, m.nd
    if sp.transposed:
        counts = [ar.overlap_counts(sp.input_size[a], sp.kernel_size[a], sp.stride[a], *sp.pads[a],
                                    sp.dilation[a]) for a in range(2)]
        what = f"OUTPUT ({_dims(sp.output_size, nd)}): (input, tap) pairs per position"
    else:
        adj = sp.adjoint()
        counts = [ar.overlap_counts(sp.output_size[a], sp.kernel_size[a], sp.stride[a], *adj.pads[a],
                                    sp.dilation[a]) for a in range(2)]
        what = f"INPUT ({_dims(sp.input_size, nd)}): windows reading each position"
    grid = np.outer(counts[0], counts[1])
    # taps per output phase, listed up to 16 phases (a stride of 10**9 has 10**9)
    phases = [list(ar.phase_overlap(sp.kernel_size[a], sp.stride[a], sp.dilation[a])) if sp.stride[a] <= 16
              else f"{sp.stride[a]} phases" for a in range(2)]
    uneven = not all(ar.phase_overlap_even(sp.kernel_size[a], sp.stride[a], sp.dilation[a]) for a in range(2))
    top = max(int(grid.max()), 1)
    cs = _cell_size(*grid.shape)
    sc.text(x0, y0 + 24, what, size=9, fill="#555", anchor="start")

    def cell(r: int, c: int):
        v = int(grid[r, c])
        shade = int(255 - 150 * v / top)
        return f"#ff{shade:02x}{max(shade - 60, 0):02x}" if v else "#ffffff", str(v), "#222", "", 0.6, ""

    gw, gh = _grid(sc, x0, y0 + 36, list(range(grid.shape[0])), list(range(grid.shape[1])), cs, cell)
    risk = "checkerboard risk" if sp.transposed else "its transpose (the gradient) has checkerboard risk"
    per_phase = "[" + ", ".join(map(str, phases[-nd:])) + "]"
    msg = (f"UNEVEN (taps per phase {per_phase}): {risk}; use a kernel divisible by the stride" if uneven else
           f"even overlap (taps per phase {per_phase})")
    sc.text(x0, y0 + 36 + gh + 12, msg, size=10, fill="#b00020" if uneven else "#2e7d32", anchor="start")
    return max(gw, len(msg) * 6.2), 36 + gh + 20


# --------------------------------------------------------------------------
# Compositions
# --------------------------------------------------------------------------
def _title(sc: Scene, m: Model) -> float:
    sp, nd = m.spec, m.nd
    kind = "transposed convolution" if sp.transposed else "direct convolution"
    sc.text(10, 14, f"{nd}-D {kind} ({m.convention}): input {_dims(sp.input_size, nd)} → output "
                    f"{_dims(sp.output_size, nd)}", size=14, anchor="start", bold=True)
    pads = list(sp.pads[-nd:])
    desc = (f"kernel {_dims(sp.kernel_size, nd)}, stride {_dims(sp.stride, nd)}, dilation "
            f"{_dims(sp.dilation, nd)}, " + (f"crop (begin, end) {pads}" if sp.transposed else f"padding (lo, hi) {pads}"))
    if sp.transposed:
        eqs = [ar.equivalent_direct(sp.input_size[a], sp.kernel_size[a], sp.stride[a], *sp.pads[a],
                                    sp.dilation[a]) for a in range(2)][-nd:]
        desc += (f"; = insert (stride - 1) zeros between inputs, pad {[(e.pad_lo, e.pad_hi) for e in eqs]}, "
                 "correlate with the flipped kernel")
    sc.text(10, 32, desc, size=10, fill="#444", anchor="start")
    sc.text(10, 46, "x = 1, 2, ... and w = 1, 2, ... (row-major); values computed by convt", size=9,
            fill="#777", anchor="start")
    return 60


def _frame_steps(m: Model, limit: int = 48) -> list[tuple[int, int]]:
    n = max(m.n_out, m.n_in)
    frames = min(n, limit)
    if frames == 1:
        return [(0, 0)]
    return [(round(f * (m.n_out - 1) / (frames - 1)), round(f * (m.n_in - 1) / (frames - 1)))
            for f in range(frames)]


def animated_views(sc: Scene, m: Model, y0: float, g: int, s: int) -> float:
    """(a) and (b) side by side; returns the height used."""
    _label(sc, 10, y0 + 6, "(a) gather: output = window · kernel", "#333")
    gw, gh = gather_panel(sc, m, 10, y0 + 18, g)
    bx = 10 + gw + 50
    _label(sc, bx, y0 + 6, "(b) scatter: each input paints x·w", "#333")
    _, bh = scatter_panel(sc, m, bx, y0 + 18, s)
    return 18 + max(gh, bh)


def axis_specs(spec: ConvSpec) -> list[ConvSpec]:
    """A setting of any rank as its per-axis 1-D settings: the index map of an N-d layer is their product.

    >>> from convt.spec import conv_transpose_spec
    >>> [a.output_size for a in axis_specs(conv_transpose_spec((1, 1, 2, 3, 4), (1, 1, 2, 2, 3), stride=2)[0])]
    [(4,), (6,), (9,)]
    """
    return [ConvSpec(spec.transposed, 1, 1, 1, (i,), (k,), (s,), (d,), (p,), (o,), spec.padding_mode)
            for i, k, s, d, p, o in zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation, spec.pads,
                                        spec.output_size)]


def per_axis_scene(spec: ConvSpec, convention: str = "torch") -> Scene:
    """A 3-D (or higher) setting: one 1-D drawing per axis, stacked, under the whole layer's title."""
    sc = Scene()
    nd = spec.nd
    kind = "transposed convolution" if spec.transposed else "direct convolution"
    sc.text(10, 14, f"{nd}-D {kind} ({convention}): input {_dims(spec.input_size, nd)} → output "
                    f"{_dims(spec.output_size, nd)}", size=14, anchor="start", bold=True)
    sc.text(10, 32, "each axis maps its indices on its own: output (q0, q1, ...) gathers the products of the "
                    "per-axis (input, tap) pairs drawn below", size=10, fill="#444", anchor="start")
    y = 50.0
    for a, one in enumerate(axis_specs(spec)):
        sc.text(10, y + 8, f"axis {a}", size=13, anchor="start", bold=True)
        part = static_scene(build_model(one, convention))
        sc.paste(part, 0, y + 20)
        y += part.height + 36
    return sc


def static_scene(m: Model) -> Scene:
    """All four views at a middle step."""
    sc = Scene()
    y = _title(sc, m)
    steps = _frame_steps(m)
    g, s = steps[len(steps) // 2]
    y += animated_views(sc, m, y, g, s) + 20
    _label(sc, 10, y + 6, "(c) matrix view", "#333")
    mw, _mh = matrix_panel(sc, m, 10, y + 18)
    _label(sc, 10 + mw + 20, y + 6, "(d) overlap / checkerboard", "#333")
    overlap_panel(sc, m, 10 + mw + 20, y + 18)
    return sc


def frames(m: Model) -> Iterator[Scene]:
    """The animation: (a) and (b) one step per frame, then all four views."""
    for g, s in _frame_steps(m):
        sc = Scene()
        y = _title(sc, m)
        animated_views(sc, m, y, g, s)
        yield sc
