"""``convt study``: the autoencoder upsampling study (PyTorch on the CPU)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HELP = ("does transposed convolution upsample better? Train eight decoder variants (+ controls) on MNIST-5k "
        "and write study.md")


#: what a results file must hold for --report
REPORT_KEYS = ("config", "runs", "params", "samples", "information", "overlap_1d")


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be comma-separated ints, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"seeds must be distinct, got {text!r}")
    if any(not 0 <= s < 2**32 for s in seeds):  # NumPy's and PyTorch's seeds alike
        raise argparse.ArgumentTypeError(f"seeds must be ints from 0 to 2**32 - 1, got {text!r}")
    return seeds


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {n}")
    return n


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", default="convt-study",
                   help="where study.md and study/ (figures, results.json) are written (default: ./convt-study; "
                        "the committed report is docs/)")
    p.add_argument("--quick", action="store_true", help="one seed, one epoch: a demo in a minute or two")
    p.add_argument("--seeds", type=_seeds, default=None, metavar="S,S,...", help="seeds (default 0,1,2,3,4)")
    p.add_argument("--epochs", type=_positive, default=None, help="epochs per run (default 15)")
    p.add_argument("--variants", default=None, metavar="K,K,...",
                   help="only these variants (default: all; keys as in the results)")
    p.add_argument("--same-width", action="store_true",
                   help="give every decoder max-unpooling's widths instead of matched parameter counts")
    p.add_argument("--threads", type=_positive, default=None, help="torch threads (default 1)")
    p.add_argument("--report", metavar="JSON", default=None,
                   help="do not train: regenerate study.md and the figures from this results file")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from convt.study.report import write_report

    out = Path(args.out)
    if args.report is not None:
        path = Path(args.report)
        if not path.is_file():
            raise ValueError(f"--report: no results file at {path}")
        try:
            results = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"--report: {path} is not a results file (JSON: {e})") from None
        missing = [k for k in REPORT_KEYS if not isinstance(results, dict) or k not in results]
        if missing:
            raise ValueError(f"--report: {path} is not a study's results file: it lacks {', '.join(missing)} "
                             f"(a results.json that `convt study` wrote has {', '.join(REPORT_KEYS)})")
        md = write_report(results, out)
        print(f"wrote {md} and the figures under {out / 'study'}")
        return 0

    from convt.study.models import VARIANT
    from convt.study.runner import Config, run_study

    cfg = Config.quick() if args.quick else Config()
    if args.seeds is not None:
        cfg.seeds = args.seeds
    if args.epochs is not None:
        cfg.epochs = args.epochs
    cfg.same_width = args.same_width
    if args.threads is not None:
        cfg.threads = args.threads
    if args.variants is not None:
        keys = tuple(k.strip() for k in args.variants.split(","))
        bad = [k for k in keys if k not in VARIANT]
        if bad:
            raise ValueError(f"--variants: unknown {', '.join(bad)}; valid: {', '.join(VARIANT)}")
        cfg.variants = keys
    t0 = time.perf_counter()
    results = run_study(cfg, out / "study" / "results.json", progress=not args.no_progress)
    md = write_report(results, out)
    print(f"wrote {md}, the figures and {out / 'study' / 'results.json'} "
          f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0
