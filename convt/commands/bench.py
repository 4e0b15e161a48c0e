"""``convt bench``: the benchmark suite against PyTorch, ONNX Runtime and JAX (see :mod:`convt.bench`)."""

from __future__ import annotations

import argparse

HELP = "time convt against PyTorch, ONNX Runtime and JAX on 12 real layers (interleaved medians)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="only the 6-case subset (marked in --list)")
    p.add_argument("--cases", metavar="NAMES", default=None,
                   help="comma-separated case names (default: all; see --list)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--mode", choices=("conv_transpose", "conv", "grad", "conv_grad"), default="conv_transpose",
                   help="the operator timed: conv_transpose (default), conv (the adjoint direct layers), "
                        "grad (conv_transpose_grad vs PyTorch's backward) or conv_grad (conv_grad, likewise)")
    p.add_argument("--batch", type=int, default=None, metavar="N",
                   help="run every case on a batch of N instead of its own (e.g. 1: single-image inference)")
    p.add_argument("--samples", type=int, default=7, metavar="N", help="timed samples per implementation (default 7)")
    p.add_argument("--peers", default="torch,ort,jax", metavar="NAMES",
                   help="comma-separated peers among torch, ort, jax (default: all installed)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="threads for the peers (default: the CPUs available)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall: wall-clock time, every implementation on all its threads (default); cpu: "
                        "CPU time with every implementation on one thread (stable on a shared machine)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    from convt import bench

    if args.list:
        for c in bench.CASES:
            print(f"{c.name:10s} {c.describe()}{'  (quick)' if c.quick else ''}")
        return 0
    if args.samples < 1:
        raise ValueError(f"--samples must be >= 1, got {args.samples}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    cases = [c for c in bench.CASES if c.quick] if args.quick else list(bench.CASES)
    if args.cases:
        names = [n.strip() for n in args.cases.split(",") if n.strip()]
        known = {c.name: c for c in bench.CASES}
        unknown = [n for n in names if n not in known]
        if not names:
            raise ValueError(f"--cases names no case (got {args.cases!r}); valid: {', '.join(known)}")
        if unknown:
            raise ValueError(f"--cases: unknown case(s) {unknown}; valid: {', '.join(known)}")
        cases = [known[n] for n in names]
    if args.batch is not None:
        if args.batch < 1:
            raise ValueError(f"--batch must be >= 1, got {args.batch}")
        cases = [c.with_batch(args.batch) for c in cases]
    bench.check_memory(cases)
    wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    bad = [p for p in wanted if p not in ("torch", "ort", "jax")]
    if bad:
        raise ValueError(f"--peers: unknown peer(s) {bad}; valid: torch, ort, jax")
    installed = bench.peers_available()
    peers = [p for p in wanted if p in installed]
    results = bench.run_suite(cases, mode=args.mode, samples=args.samples, peers=peers,
                              threads=args.threads, progress=not args.no_progress, clock=args.clock)
    what = "wall-clock" if args.clock == "wall" else "CPU (one thread each)"
    print(f"convt bench --mode {args.mode} --clock {args.clock}: median {what} ms of "
          f"{args.samples} interleaved samples")
    print(bench.environment(args.threads, args.clock))
    if args.mode == "conv":
        print("conv: each layer's adjoint direct convolution (from the layer's output shape back to its input)")
    elif args.mode == "grad":
        print("grad: convt.conv_transpose_grad (input and weight gradients) against PyTorch's backward alone")
    elif args.mode == "conv_grad":
        print("conv_grad: convt.conv_grad of each layer's adjoint direct convolution against PyTorch's backward alone")
    print()
    print(bench.format_table(results))
    return 0
