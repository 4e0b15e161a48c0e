"""Pictures of a convolution setting: PNG, SVG, animated GIF, interactive HTML.

:func:`draw` writes the format the file's extension names. The views
(gather, scatter, matrix, overlap) are described in :mod:`convt.draw._views`;
every size comes from :mod:`convt.arithmetic`. Pillow is imported only for
PNG and GIF; SVG and HTML are written as text.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .. import arithmetic as ar
from ..errors import ConvError
from ..spec import ConvSpec, require_spec

__all__ = ["AXIS_LIMIT", "FORMATS", "MATRIX_LIMIT", "draw", "draw_side_by_side"]

FORMATS = (".png", ".svg", ".gif", ".html")


def draw(spec: ConvSpec, path: str | os.PathLike[str], *, convention: str = "torch",
         settings: dict | None = None) -> Path:
    """Draw ``spec`` into ``path``; the extension picks the format.

    Parameters
    ----------
    spec : ConvSpec
        A setting (:func:`convt.spec.conv_transpose_spec`, ...): 1-D or 2-D
        in every format; 3-D and higher in ``.png`` / ``.svg``, axis by axis
        (the layer's index map is the product of its per-axis maps).
    path : str or PathLike
        ``.png`` / ``.svg`` (all four views), ``.gif`` (gather and scatter
        animated, one step per frame), ``.html`` (the interactive explorer,
        opened at ``settings``).
    convention : str
        Named in the title.
    settings : dict, optional
        For ``.html``: the explorer's initial controls (see
        :func:`convt.draw.explorer.settings_from_spec`); derived from ``spec``
        when omitted.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, os
    >>> from convt.spec import conv_transpose_spec
    >>> spec, _ = conv_transpose_spec((1, 1, 3), (1, 1, 3), stride=2, padding=1, output_padding=1)
    >>> out = draw(spec, os.path.join(tempfile.mkdtemp(), "t.svg"))
    >>> out.read_text().startswith("<svg")
    True
    """
    require_spec("draw", spec)
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in FORMATS:
        raise ConvError(f"draw: the file name must end in one of {', '.join(FORMATS)}, got {str(path)!r}")
    if ext == ".html":
        from .explorer import settings_from_spec, write_explorer

        write_explorer(p, settings or settings_from_spec(spec, convention))
        return p
    _check_size(spec)
    from ._views import build_model, frames, per_axis_scene, static_scene

    if spec.nd > 2:  # axis by axis: an N-d layer's index map is the product of its 1-D ones
        if ext == ".gif":
            raise ConvError(f"draw: a {spec.nd}-D setting is drawn axis by axis in a .png or .svg file; "
                            f"the animation (.gif) is for 1-D and 2-D settings, got {str(path)!r}")
        sc = per_axis_scene(spec, convention)
        if ext == ".svg":
            p.write_text(sc.to_svg(), encoding="utf-8")
        else:
            sc.to_image().quantize(colors=128).save(p, optimize=True)
        return p
    m = build_model(spec, convention)
    if ext == ".svg":
        p.write_text(static_scene(m).to_svg(), encoding="utf-8")
    elif ext == ".png":
        static_scene(m).to_image().quantize(colors=128).save(p, optimize=True)
    else:
        scenes = list(frames(m))
        w = max(s.width for s in scenes)
        h = max(s.height for s in scenes)
        imgs = [s.to_image(w, h).quantize(colors=64) for s in scenes]
        imgs[0].save(p, save_all=True, append_images=imgs[1:], duration=700, loop=0, optimize=True)
    return p


#: the most cells a drawn axis may have (its stretched, padded input or its output) ...
AXIS_LIMIT = 256
#: ... and its matrix C (output positions x input positions, of the picture drawn at once)
MATRIX_LIMIT = 300_000


def _check_size(spec: ConvSpec) -> None:
    """Refuse a setting too large to draw legibly (a stride of 10**6 would be millions of cells)."""
    axes = [(ar.drawn_length(i, k, s, lo, hi, d, spec.transposed), o, i) for i, k, s, d, (lo, hi), o in
            zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation, spec.pads, spec.output_size)]
    widest = max(max(p, o) for p, o, _ in axes)
    at_once = axes if spec.nd <= 2 else [max(axes, key=lambda t: t[1] * t[2])]  # N-d: axis by axis
    matrix = math.prod(o * i for _, o, i in at_once)
    if widest > AXIS_LIMIT or matrix > MATRIX_LIMIT:
        raise ConvError(
            f"draw: this setting is too large to draw legibly: an axis of {widest} cells (at most {AXIS_LIMIT}) "
            f"and a matrix C of {matrix} cells (at most {MATRIX_LIMIT}), for input {list(spec.input_size)}, "
            f"output {list(spec.output_size)}, stride {list(spec.stride)}; draw a smaller one with the same "
            "kernel and stride, or use `convt explain` for the arithmetic"
        )


def draw_side_by_side(panels: list[tuple[ConvSpec, str]], path: str | os.PathLike[str], *,
                      vertical: bool = False) -> Path:
    """Several settings' views in one PNG, left to right (or top to bottom), each under its own heading.

    Parameters
    ----------
    panels : list of (ConvSpec, str)
        The settings and the heading (e.g. the convention) of each.
    path : str or PathLike
        A ``.png`` file.
    vertical : bool
        Stack the panels top to bottom (good for 1-D settings, which are wide).

    Returns
    -------
    Path
    """
    from PIL import Image

    from ._views import build_model, static_scene

    p = Path(path)
    if p.suffix.lower() != ".png":
        raise ConvError(f"draw_side_by_side: writes a .png file, got {str(path)!r}")
    for spec, _ in panels:
        require_spec("draw_side_by_side", spec)
    images = [static_scene(build_model(spec, name)).to_image() for spec, name in panels]
    gap = 20 * (len(images) - 1)
    if vertical:
        size = (max(im.width for im in images), sum(im.height for im in images) + gap)
    else:
        size = (sum(im.width for im in images) + gap, max(im.height for im in images))
    out = Image.new("RGB", size, "white")
    at = 0
    for im in images:
        out.paste(im, (0, at) if vertical else (at, 0))
        if vertical:
            out.paste(Image.new("RGB", (size[0], 2), "#888888"), (0, at + im.height + 9))
        at += (im.height if vertical else im.width) + 20
    out.quantize(colors=128).save(p, optimize=True)
    return p
