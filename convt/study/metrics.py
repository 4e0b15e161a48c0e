"""Metrics of the study (NumPy): MSE, PSNR, SSIM and the checkerboard index."""

from __future__ import annotations

import numpy as np

__all__ = ["checkerboard_index", "phase_means", "psnr", "ssim"]


def phase_means(y: np.ndarray, stride: int = 2) -> np.ndarray:
    """Mean of each of the ``stride**2`` phases ``(row mod stride, col mod stride)``.

    Shape: ``(..., H, W) -> (..., stride, stride)``; ``H`` and ``W`` must be multiples of ``stride``.

    >>> phase_means(np.array([[1., 2.], [3., 4.]]))
    array([[1., 2.],
           [3., 4.]])
    """
    y = np.asarray(y, dtype=np.float64)
    h, w = y.shape[-2:]
    if h % stride or w % stride:
        raise ValueError(f"phase_means: the image size {h}x{w} must be a multiple of stride={stride}")
    blocks = y.reshape(*y.shape[:-2], h // stride, stride, w // stride, stride)
    return blocks.mean(axis=(-4, -2))


def checkerboard_index(y: np.ndarray, stride: int = 2) -> np.ndarray:
    """Share of an image's variation that is periodic with the stride.

    The energy at the stride-periodic frequencies ``(2 pi a / s, 2 pi b / s)``,
    ``(a, b) != (0, 0)`` (for s = 2: ``(pi, 0), (0, pi), (pi, pi)``) relative to
    the total energy without the mean (DC) term. By Parseval this is the
    variance of the ``s**2`` phase means divided by the variance of the pixels,
    so it lies in [0, 1]: 0 for a constant image (defined as 0) and for any
    image whose phases have equal means, 1 for an image that is exactly
    stride-periodic.

    Shape: ``(..., H, W) -> (...)``.

    Examples
    --------
    >>> checkerboard_index(np.full((4, 4), 0.3))
    0.0
    >>> float(checkerboard_index(np.tile([[0., 1.], [1., 0.]], (3, 3))))
    1.0
    """
    y = np.asarray(y, dtype=np.float64)
    total = y.var(axis=(-2, -1))
    periodic = phase_means(y, stride).var(axis=(-2, -1))
    scale = np.maximum(np.abs(y).max(axis=(-2, -1), initial=0.0), 1e-300) ** 2
    flat = total <= 1e-24 * scale  # constant up to rounding
    out = np.where(flat, 0.0, periodic / np.where(flat, 1.0, total))
    return out if out.ndim else float(out)


def psnr(mse: float | np.ndarray, data_range: float = 1.0) -> np.ndarray | float:
    """Peak signal-to-noise ratio in dB: ``10 log10(range**2 / mse)``.

    >>> round(psnr(0.01), 6)
    20.0
    """
    out = 10.0 * np.log10(data_range ** 2 / np.asarray(mse, dtype=np.float64))
    return float(out) if np.ndim(out) == 0 else out


def _gaussian_valid(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``a`` ``(..., H, W)`` filtered by the separable window ``g`` on both axes, only where it fits."""
    n = len(g)
    rows = np.lib.stride_tricks.sliding_window_view(a, n, axis=-2) @ g
    return np.lib.stride_tricks.sliding_window_view(rows, n, axis=-1) @ g


def ssim(x: np.ndarray, y: np.ndarray, data_range: float = 1.0, sigma: float = 1.5) -> np.ndarray | float:
    """Structural similarity (Wang et al. 2004) of each image pair, Gaussian-weighted.

    The window is a Gaussian of ``sigma`` cut at ``3.5 * sigma`` (11 taps for
    1.5); local means, variances (population) and covariance; ``K1 = 0.01``,
    ``K2 = 0.03``; the mean of the SSIM map where the whole window fits, as
    scikit-image's ``structural_similarity(..., gaussian_weights=True,
    use_sample_covariance=False)`` computes it (tested against it).

    Shape: ``(..., H, W), (..., H, W) -> (...)``.

    >>> a = np.random.default_rng(0).random((28, 28))
    >>> ssim(a, a), round(ssim(a, np.zeros_like(a)), 4)
    (1.0, 0.0)
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    radius = int(3.5 * sigma + 0.5)
    t = np.arange(-radius, radius + 1)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = _gaussian_valid(x, g), _gaussian_valid(y, g)
    vx = _gaussian_valid(x * x, g) - mx * mx
    vy = _gaussian_valid(y * y, g) - my * my
    cxy = _gaussian_valid(x * y, g) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    out = s.mean(axis=(-2, -1))
    return float(out) if np.ndim(out) == 0 else out
