"""A tiny retained-mode scene (rectangles, lines, text) with SVG and Pillow back ends.

The views in :mod:`convt.draw._views` place shapes; this module only paints
them. SVG is written as text; raster output imports Pillow lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any


@dataclass
class Scene:
    """Shapes in pixel coordinates on a ``width`` x ``height`` canvas."""

    width: int = 0
    height: int = 0
    items: list[tuple[Any, ...]] = field(default_factory=list)

    def rect(self, x: float, y: float, w: float, h: float, fill: str = "none", stroke: str = "none",
             sw: float = 1.0, dash: bool = False) -> None:
        self.items.append(("rect", x, y, w, h, fill, stroke, sw, dash))
        self._grow(x + w, y + h)

    def line(self, x0: float, y0: float, x1: float, y1: float, stroke: str = "#333", sw: float = 1.0) -> None:
        self.items.append(("line", x0, y0, x1, y1, stroke, sw))
        self._grow(max(x0, x1), max(y0, y1))

    def text(self, x: float, y: float, s: str, size: float = 12, fill: str = "#222", anchor: str = "middle",
             bold: bool = False) -> None:
        """Text centred vertically on ``y``; ``anchor`` "middle", "start" or "end" horizontally."""
        self.items.append(("text", x, y, s, size, fill, anchor, bold))
        self._grow(x + (len(s) * size * 0.62 if anchor == "start" else len(s) * size * 0.31), y + size)

    def paste(self, other: Scene, dx: float, dy: float) -> None:
        """Every shape of ``other``, moved by ``(dx, dy)``."""
        for it in other.items:
            if it[0] == "line":
                kind, x0, y0, x1, y1, *rest = it
                self.items.append((kind, x0 + dx, y0 + dy, x1 + dx, y1 + dy, *rest))
            else:
                kind, x, y, *rest = it
                self.items.append((kind, x + dx, y + dy, *rest))
        self._grow(other.width + dx - 8, other.height + dy - 8)

    def _grow(self, x: float, y: float) -> None:
        self.width = max(self.width, int(x) + 8)
        self.height = max(self.height, int(y) + 8)

    # ------------------------------------------------------------------ SVG
    def to_svg(self) -> str:
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
               f'viewBox="0 0 {self.width} {self.height}" font-family="DejaVu Sans, Arial, sans-serif">',
               f'<rect x="0" y="0" width="{self.width}" height="{self.height}" fill="white"/>']
        for it in self.items:
            if it[0] == "rect":
                _, x, y, w, h, fill, stroke, sw, dash = it
                d = ' stroke-dasharray="3,2"' if dash else ""
                out.append(f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="{fill}" '
                           f'stroke="{stroke}" stroke-width="{sw:g}"{d}/>')
            elif it[0] == "line":
                _, x0, y0, x1, y1, stroke, sw = it
                out.append(f'<line x1="{x0:g}" y1="{y0:g}" x2="{x1:g}" y2="{y1:g}" stroke="{stroke}" '
                           f'stroke-width="{sw:g}"/>')
            else:
                _, x, y, s, size, fill, anchor, bold = it
                w = ' font-weight="bold"' if bold else ""
                out.append(f'<text x="{x:g}" y="{y:g}" font-size="{size:g}" fill="{fill}" text-anchor="{anchor}" '
                           f'dominant-baseline="central"{w}>{escape(s)}</text>')
        out.append("</svg>")
        return "\n".join(out)

    # --------------------------------------------------------------- raster
    def to_image(self, width: int | None = None, height: int | None = None):
        """A Pillow RGB image (optionally on a larger canvas, for GIF frames)."""
        from PIL import Image, ImageDraw, ImageFont

        img = Image.new("RGB", (width or self.width, height or self.height), "white")
        dr = ImageDraw.Draw(img)
        fonts: dict[tuple[float, bool], Any] = {}

        def font(size: float, bold: bool):
            key = (size, bold)
            if key not in fonts:
                try:
                    fonts[key] = ImageFont.truetype("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf", int(size))
                except OSError:
                    fonts[key] = ImageFont.load_default(size=int(size))
            return fonts[key]

        for it in self.items:
            if it[0] == "rect":
                _, x, y, w, h, fill, stroke, sw, _dash = it
                box = [round(x), round(y), round(x + w), round(y + h)]
                dr.rectangle(box, fill=None if fill == "none" else fill,
                             outline=None if stroke == "none" else stroke, width=max(1, round(sw)))
            elif it[0] == "line":
                _, x0, y0, x1, y1, stroke, sw = it
                dr.line([x0, y0, x1, y1], fill=stroke, width=max(1, round(sw)))
            else:
                _, x, y, s, size, fill, anchor, bold = it
                dr.text((x, y), s, fill=fill, font=font(size, bold), anchor={"middle": "mm", "end": "rm"}.get(anchor, "lm"))
        return img
