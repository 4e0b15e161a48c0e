"""Training and measurement for the study; writes the raw results as JSON.

Every variant gets the same data, the same schedule (Adam, fixed learning
rate, MSE loss, same batch order per seed) and the same encoder
initialisation per seed, so that the seeds pair the variants.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .metrics import checkerboard_index, psnr, ssim

__all__ = ["Config", "run_study"]

#: the grey level of the constant input image used to probe checkerboard artefacts
CONSTANT = 0.5
#: test digits shown in the reconstruction figure (first one of each class 0..7)
N_SAMPLES = 8


@dataclass
class Config:
    """Everything that defines a run of the study (stored in the results)."""

    C: int = 16  # encoder width (C at 14x14, 2C at 7x7)
    B: int = 4  # code channels at 7x7
    epochs: int = 15
    batch: int = 32
    lr: float = 1e-3
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    split_seed: int = 0
    threads: int = 1  # one thread: on a shared 2-core machine two threads slow down up to 10x
    variants: tuple[str, ...] = field(default_factory=tuple)  # empty: all
    same_width: bool = False  # every decoder at the reference widths instead of matched parameter counts

    @classmethod
    def quick(cls) -> Config:
        """One seed, one epoch: the demo and the tests (well under a few minutes)."""
        return cls(epochs=1, seeds=(0,))


def _predict(model: Any, x: Any, batch: int = 500) -> np.ndarray:
    import torch

    model.eval()
    with torch.no_grad():
        out = torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])
    model.train()
    return out.numpy()[:, 0].astype(np.float64)


def _measure(model: Any, test: Any, targets: np.ndarray, const: Any) -> dict[str, Any]:
    out = _predict(model, test)
    mse = float(np.mean((out - targets) ** 2))
    c = _predict(model, const)[0]
    return {
        "mse": mse,
        "psnr": psnr(mse),
        "ssim": float(np.mean(ssim(out, targets))),
        "ci_data": float(np.mean(checkerboard_index(out))),
        "ci_residual": float(np.mean(checkerboard_index(out - targets))),
        "ci_const": float(checkerboard_index(c)),
        "_out": out,
        "_const": c,
    }


def train_one(variant: str, seed: int, cfg: Config, train: np.ndarray, test: np.ndarray,
              sample_idx: np.ndarray, keep_samples: bool, epoch_bar: Callable[..., Any] | None = None
              ) -> dict[str, Any]:
    """Train one variant from one seed; returns its metrics (and samples if asked)."""
    import torch
    import torch.nn.functional as F

    from .models import build

    model = build(variant, cfg.C, cfg.B, seed, cfg.same_width)
    xt = torch.from_numpy(train)
    xs = torch.from_numpy(test)
    targets = test[:, 0].astype(np.float64)
    const = torch.full((1, 1, 28, 28), CONSTANT)
    init = _measure(model, xs, targets, const)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(seed)
    train_curve, test_curve, epoch_s = [], [init["mse"]], []
    epochs = range(cfg.epochs) if epoch_bar is None else epoch_bar(range(cfg.epochs))
    for _ in epochs:
        order = torch.randperm(len(xt), generator=gen)
        t0 = time.perf_counter()
        total = 0.0
        for i in range(0, len(xt), cfg.batch):
            xb = xt[order[i:i + cfg.batch]]
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(model(xb), xb)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(xb)
        epoch_s.append(time.perf_counter() - t0)
        train_curve.append(total / len(xt))
        test_curve.append(float(np.mean((_predict(model, xs) - targets) ** 2)))
    final = _measure(model, xs, targets, const)
    result: dict[str, Any] = {
        "seed": seed,
        **{k: v for k, v in final.items() if not k.startswith("_")},
        "init": {k: v for k, v in init.items() if not k.startswith("_")},
        "train_curve": train_curve,
        "test_curve": test_curve,
        "epoch_s": epoch_s,
    }
    if keep_samples:
        result["samples"] = {
            "recon": np.round(final["_out"][sample_idx] * 255).astype(int).tolist(),
            "const_init": _rounded(init["_const"]),
            "const_trained": _rounded(final["_const"]),
        }
    return result


def _rounded(a: np.ndarray) -> list[Any]:
    return [[float(f"{v:.6g}") for v in row] for row in a]


def describe(cfg: Config) -> dict[str, Any]:
    """Parameter counts, widths, information budget and overlap maps of the configured variants."""
    from convt import arithmetic as ar

    from .models import VARIANT, Encoder, build, decoder_params, reference_widths, widths_for

    ref_dec = decoder_params(VARIANT["maxunpool"], cfg.C, cfg.B, reference_widths(cfg.C))
    enc = sum(p.numel() for p in Encoder(cfg.C, cfg.B).parameters())
    params = {}
    for key in _variants(cfg):
        v = VARIANT[key]
        w = widths_for(v, cfg.C, cfg.B, cfg.same_width)
        dec = decoder_params(v, cfg.C, cfg.B, w)
        model = build(v, cfg.C, cfg.B, 0, cfg.same_width)
        assert sum(p.numel() for p in model.decoder.parameters()) == dec
        params[key] = {"label": v.label, "widths": [w.E, w.D1, w.D2], "decoder": dec, "encoder": enc,
                       "total": enc + dec, "decoder_rel": dec / ref_dec - 1,
                       "total_rel": (enc + dec) / (enc + ref_dec) - 1}
    overlap = {"convt4": ar.overlap_counts(7, 4, 2, 1, 1), "convt3": ar.overlap_counts(7, 3, 2, 1, 0)}
    return {
        "params": params,
        "reference": "maxunpool",
        "information": {
            "code_values": cfg.B * 7 * 7,
            "code_bits_float32": cfg.B * 7 * 7 * 32,
            "index_bits": 2 * (cfg.C * 14 * 14 + 2 * cfg.C * 7 * 7),
        },
        "overlap_1d": {k: list(v) for k, v in overlap.items()},
    }


def _variants(cfg: Config) -> tuple[str, ...]:
    from .models import VARIANTS

    return cfg.variants or tuple(v.key for v in VARIANTS)


def run_study(cfg: Config, out_json: Path, progress: bool = True) -> dict[str, Any]:
    """Run every (seed, variant) pair, seed-major, saving the JSON after each run.

    Returns the results dictionary (also written to ``out_json``).
    """
    import torch
    from tqdm import tqdm

    from .data import mnist_split
    from .layers import backend

    torch.set_num_threads(cfg.threads)
    train, test, labels = mnist_split(cfg.split_seed)
    labels_first = np.array([int(np.flatnonzero(labels == c)[0]) for c in range(N_SAMPLES)])
    keys = _variants(cfg)
    results: dict[str, Any] = {
        "config": asdict(cfg),
        "layers": backend(),
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads: {torch.get_num_threads()}",
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "complete": False,
        **describe(cfg),
        "data": {"n_train": len(train), "n_test": len(test),
                 "ci_targets": float(np.mean(checkerboard_index(test[:, 0])))},
        "samples": {"targets": np.round(test[labels_first, 0] * 255).astype(int).tolist()},
        "runs": {k: [] for k in keys},
    }
    t0 = time.perf_counter()
    out_json.parent.mkdir(parents=True, exist_ok=True)
    runs = [(s, k) for s in cfg.seeds for k in keys]
    bar = tqdm(runs, desc="study", unit="run", disable=not progress)
    for seed, key in bar:
        bar.set_postfix_str(f"seed {seed} {key}")
        epoch_bar = (lambda it, k=key: tqdm(it, desc=f"  {k}", unit="epoch", leave=False)) if progress else None
        r = train_one(key, seed, cfg, train, test, labels_first, seed == cfg.seeds[0], epoch_bar)
        if "samples" in r:
            results["samples"][key] = r.pop("samples")
        results["runs"][key].append(r)
        results["wall_s"] = time.perf_counter() - t0
        _write(out_json, results)
    results["complete"] = True
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    _write(out_json, results)
    return results


def _write(path: Path, results: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, separators=(",", ":")))
    tmp.replace(path)
