"""The autoencoders of the study: one shared encoder, nine decoders.

Encoder (identical for every variant)::

    x (1, 28, 28) -> conv3x3(1->C) ReLU -> maxpool2 -> conv3x3(C->2C) ReLU -> maxpool2
      -> conv1x1(2C->B) = code (B, 7, 7)       (+ the two pooling index maps)

Decoder (widths ``E, D1, D2`` chosen per variant to match parameter counts)::

    code -> conv1x1(B->E) ReLU -> up(E->D1) ReLU -> up(D1->D2) ReLU -> conv3x3(D2->1) sigmoid

where ``up`` is the variant's 2x upsampling stage (see :data:`VARIANTS`).
Max-unpooling needs the decoder widths to equal the encoder's at each level
(``E = 2C``, ``D1 = C``), so it is the reference the other widths are matched to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .layers import layers

__all__ = [
    "VARIANT",
    "VARIANTS",
    "Autoencoder",
    "Variant",
    "Widths",
    "build",
    "decoder_params",
    "index_bits",
    "match_widths",
    "reference_widths",
    "widths_for",
    "zero_insert",
]


#: initial bias of the output layer: logit of MNIST's mean pixel value (about 0.13)
HEAD_BIAS = -1.9


@dataclass(frozen=True)
class Variant:
    """One decoder variant: its key, label, kind of 2x stage and side inputs."""

    key: str
    label: str
    kind: str  # convt4 | convt3 | nearest | bilinear | subpixel | unpool | zeros
    icnr: bool = False
    index_bits: bool = False  # the control: the decoder also receives the pooling index bits
    uses_indices: bool = False  # max-unpooling: the indices place the values
    widths_of: str | None = None  # not parameter-matched: use this variant's matched widths instead


#: the eight variants of the protocol plus the information control, in report order
VARIANTS: tuple[Variant, ...] = (
    Variant("convt4", "ConvT k4 s2 p1", "convt4"),
    Variant("convt3", "ConvT k3 s2 p1 op1", "convt3"),
    Variant("nearest", "nearest + conv3x3", "nearest"),
    Variant("bilinear", "bilinear + conv3x3", "bilinear"),
    Variant("subpixel", "sub-pixel (conv3x3 + shuffle)", "subpixel"),
    Variant("subpixel_icnr", "sub-pixel, ICNR init", "subpixel", icnr=True),
    Variant("maxunpool", "max-unpool (indices) + conv3x3", "unpool", uses_indices=True),
    Variant("zerounpool", "zero-insertion unpool + conv3x3", "zeros"),
    Variant("control", "control: ConvT k4 + index bits", "convt4", index_bits=True),
    Variant("control_wide", "control, ConvT k4 widths + index bits", "convt4", index_bits=True,
            widths_of="convt4"),
)
VARIANT = {v.key: v for v in VARIANTS}


@dataclass(frozen=True)
class Widths:
    """Decoder widths: after the 1x1 expansion (7x7), after stage 1 (14x14), after stage 2 (28x28)."""

    E: int
    D1: int
    D2: int


def zero_insert(x: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """Fixed-position unpooling: each value to the top-left of its ``stride x stride`` cell, zeros elsewhere.

    Shape: ``(N, C, H, W) -> (N, C, stride*H, stride*W)``.

    >>> zero_insert(torch.tensor([[[[1., 2.]]]]))[0, 0].tolist()
    [[1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, h * stride, w * stride)
    out[..., ::stride, ::stride] = x
    return out


def index_bits(indices: torch.Tensor, in_width: int) -> torch.Tensor:
    """The position of each max inside its 2x2 pooling window, as two +-1 bit planes per channel.

    ``indices`` are ``max_pool2d``'s flat indices into the ``(2H, in_width)``
    input plane. Shape: ``(N, C, H, W) -> (N, 2C, H, W)`` (row bits, then column bits).

    >>> idx = torch.tensor([[[[0, 3], [9, 14]]]])   # input plane 4x4
    >>> index_bits(idx, 4)[0].tolist()
    [[[-1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]]
    """
    row = torch.div(indices, in_width, rounding_mode="floor") % 2
    col = indices % in_width % 2
    return torch.cat([row, col], dim=1).to(torch.float32) * 2 - 1


class Up(nn.Module):
    """A 2x upsampling stage ``cin -> cout`` of one kind; ``forward(x, indices)``."""

    def __init__(self, kind: str, cin: int, cout: int, *, icnr: bool = False) -> None:
        super().__init__()
        L = layers()
        self.kind = kind
        if kind == "convt4":
            self.conv = L.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)
        elif kind == "convt3":
            self.conv = L.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)
        elif kind == "subpixel":
            self.conv = L.Conv2d(cin, 4 * cout, 3, padding=1)
            if icnr:  # ICNR with torch.nn's default scale, so only the tied phases differ from "subpixel"
                L.icnr_(self.conv.weight, 2, init=lambda w: nn.init.kaiming_uniform_(w, a=math.sqrt(5)))
                with torch.no_grad():  # tie the bias too: all four phases of a channel start equal
                    self.conv.bias.copy_(self.conv.bias[::4].repeat_interleave(4))
        elif kind in ("nearest", "bilinear", "unpool", "zeros"):
            self.conv = L.Conv2d(cin, cout, 3, padding=1)
        else:
            raise ValueError(f"kind must be one of convt4, convt3, nearest, bilinear, subpixel, unpool, zeros; "
                             f"got {kind!r}")

    @staticmethod
    def n_params(kind: str, cin: int, cout: int) -> int:
        """Trainable parameters of a stage (weights + bias)."""
        taps = {"convt4": 16, "subpixel": 36}.get(kind, 9)
        return taps * cin * cout + (4 * cout if kind == "subpixel" else cout)

    def forward(self, x: torch.Tensor, indices: torch.Tensor | None = None) -> torch.Tensor:
        k = self.kind
        if k == "nearest":
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        elif k == "bilinear":
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        elif k == "unpool":
            x = F.max_unpool2d(x, indices, 2)
        elif k == "zeros":
            x = zero_insert(x)
        x = self.conv(x)
        return F.pixel_shuffle(x, 2) if k == "subpixel" else x


class Encoder(nn.Module):
    """The shared encoder; ``forward`` returns the code and the two pooling index maps."""

    def __init__(self, C: int, B: int) -> None:
        super().__init__()
        L = layers()
        self.conv1 = L.Conv2d(1, C, 3, padding=1)
        self.conv2 = L.Conv2d(C, 2 * C, 3, padding=1)
        self.code = L.Conv2d(2 * C, B, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        h, i1 = F.max_pool2d(F.relu(self.conv1(x)), 2, return_indices=True)
        h, i2 = F.max_pool2d(F.relu(self.conv2(h)), 2, return_indices=True)
        return self.code(h), (i1, i2)


def _bits(variant: Variant, C: int) -> tuple[int, int]:
    """Extra input channels of the two stages for the control (2 bit planes per pooled channel)."""
    return (2 * 2 * C, 2 * C) if variant.index_bits else (0, 0)


class Decoder(nn.Module):
    """One variant's decoder; ``forward(code, (i1, i2), widths_in)``."""

    def __init__(self, variant: Variant, C: int, B: int, widths: Widths) -> None:
        super().__init__()
        L = layers()
        b1, b2 = _bits(variant, C)
        self.variant = variant
        self.expand = L.Conv2d(B, widths.E, 1)
        self.up1 = Up(variant.kind, widths.E + b1, widths.D1, icnr=variant.icnr)
        self.up2 = Up(variant.kind, widths.D1 + b2, widths.D2, icnr=variant.icnr)
        self.head = L.Conv2d(widths.D2, 1, 3, padding=1)
        with torch.no_grad():  # start at the mean grey level of MNIST, not at 0.5 (avoids dead decoders)
            self.head.bias.fill_(HEAD_BIAS)

    def forward(self, z: torch.Tensor, indices: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        i1, i2 = indices
        h = F.relu(self.expand(z))
        if self.variant.index_bits:
            h = torch.cat([h, index_bits(i2, 2 * h.shape[-1])], dim=1)
        h = F.relu(self.up1(h, i2))
        if self.variant.index_bits:
            h = torch.cat([h, index_bits(i1, 2 * h.shape[-1])], dim=1)
        h = F.relu(self.up2(h, i1))
        return torch.sigmoid(self.head(h))


class Autoencoder(nn.Module):
    """Encoder + one decoder variant."""

    def __init__(self, encoder: Encoder, decoder: Decoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, idx = self.encoder(x)
        return self.decoder(z, idx)


def decoder_params(variant: Variant, C: int, B: int, widths: Widths) -> int:
    """Trainable parameters of a decoder, in closed form (checked against the modules in the tests).

    >>> decoder_params(VARIANT["maxunpool"], 8, 2, Widths(16, 8, 8))
    1865
    """
    b1, b2 = _bits(variant, C)
    E, D1, D2 = widths.E, widths.D1, widths.D2
    return (B * E + E + Up.n_params(variant.kind, E + b1, D1) + Up.n_params(variant.kind, D1 + b2, D2)
            + 9 * D2 + 1)


def reference_widths(C: int) -> Widths:
    """The widths max-unpooling needs (the decoder mirrors the encoder): ``E = 2C, D1 = D2 = C``."""
    return Widths(2 * C, C, C)


def match_widths(variant: Variant, C: int, B: int, tol: float = 0.01) -> Widths:
    """Decoder widths whose parameter count is closest to the reference's.

    Among the widths within ``tol`` (relative) of the reference decoder's
    count, the one closest in shape to ``(2w, w, w)`` is chosen; if none is
    that close, the closest count wins. Max-unpooling keeps the reference; a
    variant with ``widths_of`` takes that variant's widths (not matched).

    >>> w = match_widths(VARIANT["convt4"], 8, 2)
    >>> ref = decoder_params(VARIANT["maxunpool"], 8, 2, reference_widths(8))
    >>> abs(decoder_params(VARIANT["convt4"], 8, 2, w) / ref - 1) < 0.02
    True
    """
    ref = reference_widths(C)
    target = decoder_params(VARIANT["maxunpool"], C, B, ref)
    if variant.uses_indices:
        return ref
    if variant.widths_of is not None:
        return match_widths(VARIANT[variant.widths_of], C, B, tol)
    best: tuple[float, float, Widths] | None = None
    for d1 in range(1, 2 * C + 1):
        for e in range(max(1, 2 * d1 - 3), 2 * d1 + 4):
            for d2 in range(max(1, d1 - 3), d1 + 4):
                w = Widths(e, d1, d2)
                err = abs(decoder_params(variant, C, B, w) / target - 1)
                shape = abs(math.log(e / (2 * d1))) + abs(math.log(d2 / d1))
                key = (0.0 if err <= tol else err, shape, w)
                if best is None or key[:2] < best[:2]:
                    best = key
    assert best is not None
    return best[2]


def widths_for(variant: Variant, C: int, B: int, same_width: bool = False) -> Widths:
    """The decoder widths of a variant: matched parameter counts, or (``same_width``) the reference widths.

    >>> widths_for(VARIANT["convt4"], 8, 2, same_width=True)
    Widths(E=16, D1=8, D2=8)
    """
    return reference_widths(C) if same_width else match_widths(variant, C, B)


def build(variant: Variant | str, C: int, B: int, seed: int, same_width: bool = False) -> Autoencoder:
    """The autoencoder of a variant, initialised from ``seed``.

    The encoder is drawn first from ``torch.manual_seed(seed)``, so it starts
    identical in every variant for a given seed (paired comparisons); the
    decoder is drawn from ``seed + 10_000``. ``same_width`` gives every
    decoder the reference widths instead of matched parameter counts.
    """
    v = VARIANT[variant] if isinstance(variant, str) else variant
    widths = widths_for(v, C, B, same_width)
    torch.manual_seed(seed)
    enc = Encoder(C, B)
    torch.manual_seed(seed + 10_000)
    return Autoencoder(enc, Decoder(v, C, B, widths))
