"""The benchmark suite: convt against PyTorch, ONNX Runtime and JAX on the CPU.

Twelve layers from real networks (autoencoder, DCGAN generator, U-Net
decoder, a stride-1 layer, a 1-D vocoder, a 3-D U-Net), float32. Every
implementation of a case first runs for :data:`WARM_UP_S` seconds, then is
timed interleaved with the others in one process: per sample, each
implementation makes one untimed warm-up call and one timed call, in turn.
The medians are reported, with the ratio of the faster peer's time to
convt's (> 1: convt is faster), convt's GFLOP/s and its share of the
``numpy.matmul`` rate for the product the layer amounts to (the "GEMM
floor": that product alone, into a preallocated result, timed after the
interleaved rounds of every case, because OpenBLAS's spinning threads slow
whatever follows it), and the
peak extra memory convt's call allocates (tracemalloc) relative to its input
plus output bytes.

Modes: ``conv_transpose`` (the suite), ``conv`` (each layer's adjoint
direct convolution: output back to input, as in a forward pass of the
encoder), ``grad`` (``convt.conv_transpose_grad``: input and weight
gradients against PyTorch's backward alone, its forward graph built once)
and ``conv_grad`` (``convt.conv_grad`` of the adjoint direct convolution).

PyTorch, ONNX Runtime and JAX are imported only here, only when present.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import math
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CASES", "Case", "Result", "check_memory", "format_table", "peers_available", "run_suite"]


@dataclass(frozen=True)
class Case:
    """One transposed-convolution layer: input ``(N, C_in, *spatial)`` -> ``C_out`` channels."""

    name: str
    x_shape: tuple[int, ...]
    out_channels: int
    kernel: int
    stride: int
    padding: int
    output_padding: int
    quick: bool = False

    @property
    def nd(self) -> int:
        return len(self.x_shape) - 2

    def weight_shape(self) -> tuple[int, ...]:
        return (self.x_shape[1], self.out_channels, *(self.kernel,) * self.nd)

    def kwargs(self) -> dict:
        return {"stride": self.stride, "padding": self.padding, "output_padding": self.output_padding}

    def flops(self) -> int:
        """Multiply-adds x 2 of the product: every input pixel times every tap and channel pair."""
        return 2 * math.prod(self.x_shape) * self.out_channels * self.kernel ** self.nd

    def reaching_flops(self) -> int:
        """Multiply-adds x 2 on which the result depends: the pairs that land in the crop left out.

        >>> round(CASES[2].reaching_flops() / CASES[2].flops(), 3)   # dcgan-1: (14/16)**2
        0.766
        """
        from .spec import conv_transpose_spec

        spec = conv_transpose_spec(self.x_shape, self.weight_shape(), **self.kwargs())[0]
        return 2 * spec.reaching_multiply_adds(self.x_shape[0])

    def with_batch(self, n: int) -> Case:
        """The same layer on a batch of ``n`` (``convt bench --batch``: e.g. 1, single-image inference).

        >>> CASES[2].with_batch(1).describe()
        '1x512x4x4 -> 256, k4 s2 p1 op0'
        """
        return dataclasses.replace(self, x_shape=(n, *self.x_shape[1:]))

    def image_bytes(self) -> tuple[int, int]:
        """float32 bytes of one image's input and output, and of the weight.

        >>> CASES[1].image_bytes()
        (15680, 576)
        """
        from .spec import conv_transpose_spec

        spec, _ = conv_transpose_spec((1, *self.x_shape[1:]), self.weight_shape(), **self.kwargs())
        per_image = math.prod(self.x_shape[1:]) + self.out_channels * math.prod(spec.output_size)
        return 4 * per_image, 4 * math.prod(self.weight_shape())

    def describe(self) -> str:
        sp = "x".join(map(str, self.x_shape))
        return f"{sp} -> {self.out_channels}, k{self.kernel} s{self.stride} p{self.padding} op{self.output_padding}"


CASES: tuple[Case, ...] = (
    Case("ae-1", (64, 32, 7, 7), 16, 3, 2, 1, 1, quick=True),
    Case("ae-2", (64, 16, 14, 14), 1, 3, 2, 1, 1),
    Case("dcgan-1", (64, 512, 4, 4), 256, 4, 2, 1, 0),
    Case("dcgan-2", (64, 256, 8, 8), 128, 4, 2, 1, 0, quick=True),
    Case("dcgan-3", (64, 128, 16, 16), 64, 4, 2, 1, 0),
    Case("dcgan-4", (64, 64, 32, 32), 3, 4, 2, 1, 0, quick=True),
    Case("unet-1", (8, 256, 32, 32), 128, 2, 2, 0, 0),
    Case("unet-2", (8, 128, 64, 64), 64, 2, 2, 0, 0, quick=True),
    Case("stride1", (16, 64, 32, 32), 64, 3, 1, 1, 0, quick=True),
    Case("vocoder-1", (4, 512, 256), 256, 16, 8, 4, 0),
    Case("vocoder-2", (4, 256, 2048), 128, 16, 8, 4, 0, quick=True),
    Case("unet3d", (2, 64, 16, 16, 16), 32, 2, 2, 0, 0),
)

MODES = ("conv_transpose", "conv", "grad", "conv_grad")


def check_memory(cases: Sequence[Case], limit: int | None = None) -> None:
    """Refuse cases whose arrays would take more than ``limit`` bytes (default: an eighth of the machine's memory).

    The bench holds each case's arrays several times over (the gradients' too,
    and each peer's own copies), so a case's input, weight and output must fit
    in an eighth of the memory.
    """
    from .errors import ConvError
    from .spec import memory_limit_bytes

    limit = memory_limit_bytes() // 8 if limit is None else limit
    for c in cases:
        per_image, weight = c.image_bytes()
        if c.x_shape[0] * per_image + weight > limit:
            most = max(0, (limit - weight) // per_image)
            raise ConvError(
                f"case {c.name} on a batch of {c.x_shape[0]} would hold "
                f"{c.x_shape[0] * per_image + weight:.3g} bytes of float32 input, weight and output, over "
                f"{limit:.3g} (an eighth of this machine's memory: the bench keeps several copies); "
                f"valid: a batch of at most {most}")


def peers_available() -> dict[str, str]:
    """The installed peers and their versions (PyTorch, ONNX Runtime, JAX)."""
    found = {}
    for name, mod in (("torch", "torch"), ("ort", "onnxruntime"), ("jax", "jax")):
        try:
            m = __import__(mod)
        except Exception:  # a broken install counts as absent
            continue
        if name == "ort":
            try:
                __import__("onnx")
            except Exception:
                continue
        found[name] = getattr(m, "__version__", "?")
    return found


# ---- the implementations of one case: name -> zero-argument callable ----
def _arrays(case: Case, mode: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(case.weight_shape(), dtype=np.float32)
    x = rng.standard_normal(case.x_shape, dtype=np.float32)
    import convt

    y = convt.conv_transpose(x, w, **case.kwargs())
    if mode == "conv":  # the adjoint direct convolution: from y's shape back to x's
        return y, w
    if mode == "grad":
        return x, w, rng.standard_normal(y.shape, dtype=np.float32)
    if mode == "conv_grad":  # the adjoint's gradients: grad_output has x's shape
        return y, w, rng.standard_normal(x.shape, dtype=np.float32)
    return x, w


def _convt(case: Case, mode: str, arrays) -> Callable[[], object]:
    import convt

    kw = case.kwargs()
    if mode == "conv":
        y, w = arrays
        return lambda: convt.conv(y, w, stride=case.stride, padding=case.padding)
    if mode == "grad":
        x, w, g = arrays
        return lambda: convt.conv_transpose_grad(g, x, w, **kw)[:2]
    if mode == "conv_grad":
        y, w, g = arrays
        return lambda: convt.conv_grad(g, y, w, stride=case.stride, padding=case.padding)[:2]
    x, w = arrays
    return lambda: convt.conv_transpose(x, w, **kw)


def _torch(case: Case, mode: str, arrays, threads: int) -> Callable[[], object]:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    nd = case.nd
    if mode in ("grad", "conv_grad"):  # the backward alone: the forward graph is built once, kept
        a, w, g = (torch.from_numpy(v) for v in arrays)
        aa, ww = a.detach().requires_grad_(), w.detach().requires_grad_()
        if mode == "grad":
            out = getattr(F, f"conv_transpose{nd}d")(aa, ww, **case.kwargs())
        else:
            out = getattr(F, f"conv{nd}d")(aa, ww, stride=case.stride, padding=case.padding)
        return lambda: torch.autograd.grad(out, (aa, ww), g, retain_graph=True)
    if mode == "conv":
        y, w = (torch.from_numpy(a) for a in arrays)
        f = getattr(F, f"conv{nd}d")

        def run():
            with torch.no_grad():
                return f(y, w, stride=case.stride, padding=case.padding)
        return run
    f = getattr(F, f"conv_transpose{nd}d")
    x, w = (torch.from_numpy(a) for a in arrays)

    def run():
        with torch.no_grad():
            return f(x, w, **case.kwargs())
    return run


def _ort(case: Case, mode: str, arrays, threads: int) -> Callable[[], object] | None:
    if mode in ("grad", "conv_grad"):
        return None
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    a, w = arrays
    k, nd = case.kernel, case.nd
    attrs = {"kernel_shape": [k] * nd, "strides": [case.stride] * nd, "pads": [case.padding] * (2 * nd)}
    if mode == "conv":
        op = "Conv"
    else:
        op = "ConvTranspose"
        attrs["output_padding"] = [case.output_padding] * nd
    node = helper.make_node(op, ["X", "W"], ["Y"], **attrs)
    graph = helper.make_graph(
        [node], "bench",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(a.shape)),
         helper.make_tensor_value_info("W", TensorProto.FLOAT, list(w.shape))],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    feed = {"X": a, "W": w}
    del onnx
    return lambda: sess.run(None, feed)


def _jax(case: Case, mode: str, arrays) -> Callable[[], object] | None:
    if mode in ("grad", "conv_grad"):  # the goal for gradients is PyTorch's backward
        return None
    import jax
    import jax.numpy as jnp

    nd, k, s, p, op = case.nd, case.kernel, case.stride, case.padding, case.output_padding
    spatial = "DHW"[-nd:] if nd <= 3 else None
    if spatial is None:
        return None
    dn = ("NC" + spatial, "OI" + spatial, "NC" + spatial)
    if mode == "conv":
        y, w = (jnp.asarray(a) for a in arrays)
        f = jax.jit(lambda a, b: jax.lax.conv_general_dilated(a, b, (s,) * nd, [(p, p)] * nd, dimension_numbers=dn))
        return lambda: f(y, w).block_until_ready()  # w (C_in, C_out, *k) is this conv's (O, I, *k)
    # transposed as the lhs-dilated direct convolution with the flipped, swapped kernel
    pad = [(k - 1 - p, k - 1 - p + op)] * nd
    x, w = jnp.asarray(arrays[0]), jnp.asarray(arrays[1])
    wf = jnp.flip(jnp.swapaxes(w, 0, 1), axis=tuple(range(2, 2 + nd)))

    def fwd(a, b):
        return jax.lax.conv_general_dilated(a, b, (1,) * nd, pad, lhs_dilation=(s,) * nd, dimension_numbers=dn)
    f = jax.jit(fwd)
    return lambda: f(x, wf).block_until_ready()


#: the side of the square float32 product whose numpy.matmul rate is taken as the machine's peak
PEAK_N = 2048


def matmul_peak(timer: Callable[[], float] = time.perf_counter, samples: int = 5) -> float:
    """GFLOP/s of ``numpy.matmul`` on a ``PEAK_N``-square float32 product (best of ``samples``).

    The rate BLAS reaches on the threads it has: the roofline of every case.
    A layer's reaching multiply-adds at this rate (``Result.at_peak``) bound
    from below the time of any implementation that does them (one that does
    fewer, Winograd's, is not among the peers).
    """
    rng = np.random.default_rng(2)
    a = rng.standard_normal((PEAK_N, PEAK_N), dtype=np.float32)
    b = rng.standard_normal((PEAK_N, PEAK_N), dtype=np.float32)
    out = np.empty_like(a)  # the product alone, no fresh result pages (perf-notes item 87)
    np.matmul(a, b, out=out)
    best = math.inf
    for _ in range(samples):
        t0 = timer()
        np.matmul(a, b, out=out)
        best = min(best, timer() - t0)
    return 2 * PEAK_N ** 3 / best / 1e9


def _gemm_floor(case: Case, mode: str) -> Callable[[], object]:
    """The one numpy.matmul the layer amounts to: (C_out*T, C_in) @ (C_in, N*P)."""
    rng = np.random.default_rng(1)
    taps = case.kernel ** case.nd
    n, c = case.x_shape[:2]
    a = rng.standard_normal((case.out_channels * taps, c), dtype=np.float32)
    b = rng.standard_normal((c, n * math.prod(case.x_shape[2:])), dtype=np.float32)
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.float32)  # the product alone: a fresh result's page faults
    # cost up to 5x a small product, depending on what the process allocated before (perf-notes item 87)
    if mode in ("grad", "conv_grad"):  # input and weight gradients: two products of the same size
        return lambda: (np.matmul(a, b, out=out), np.matmul(a, b, out=out))
    return lambda: np.matmul(a, b, out=out)


@dataclass
class Result:
    """The timings (ms, every sample) of one case, per implementation, and convt's memory."""

    case: Case
    mode: str = "conv_transpose"
    times: dict[str, list[float]] = field(default_factory=dict)
    peak_extra: float = float("nan")  # convt's peak allocation / (input + output bytes)
    peak_gflops: float = float("nan")  # the machine's numpy.matmul rate on a large square product

    def at_peak(self) -> float:
        """ms the multiply-adds the result depends on take at :attr:`peak_gflops` (the pairs that land in the
        crop or read padding left out: :meth:`Case.reaching_flops`): no implementation doing them is faster."""
        flops = self.case.reaching_flops() * (2 if self.mode in ("grad", "conv_grad") else 1)
        return flops / self.peak_gflops / 1e6

    def median(self, name: str) -> float:
        return statistics.median(self.times[name]) if self.times.get(name) else float("nan")


def _peak_ratio(fn: Callable[[], object], io_bytes: int) -> float:
    from .algorithms._layout import clear_workspaces

    clear_workspaces()  # count the scratch buffers as a first call allocates them
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del out
    return peak / io_bytes


def run_suite(cases: Sequence[Case], *, mode: str = "conv_transpose", samples: int = 7,
              peers: Sequence[str] = ("torch", "ort", "jax"), threads: int | None = None,
              progress: bool = True, pause: float = 0.002, clock: str = "wall") -> list[Result]:
    """Time every case, every implementation interleaved; return the raw samples.

    ``clock="cpu"``: every implementation on one thread (convt, BLAS, PyTorch,
    ONNX Runtime; JAX, whose threads cannot be capped at run time, is left
    out), timed by the process's CPU time: the comparison that stays stable
    on a machine shared with other work.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if clock not in ("wall", "cpu"):
        raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
    if clock == "cpu":
        import contextlib

        from .algorithms import _threads

        with contextlib.ExitStack() as stack:
            try:
                import threadpoolctl

                stack.enter_context(threadpoolctl.threadpool_limits(1))
            except ImportError:  # pragma: no cover
                pass
            _threads.set_num_threads(1)
            stack.callback(_threads.set_num_threads, None)
            return _run(cases, mode, samples, [p for p in peers if p != "jax"], 1, progress, pause, time.process_time)
    return _run(cases, mode, samples, peers, threads or len(os.sched_getaffinity(0)), progress, pause,
                time.perf_counter)


#: each implementation runs this long (and at least 3 calls) before its first timed sample
WARM_UP_S = 0.5


def _warm_up(f: Callable[[], object]) -> None:
    """Call ``f`` for :data:`WARM_UP_S` seconds (at least 3 times).

    The first calls of a layer with a large result run up to 3x slower (unet-2:
    28 ms for the first 8 calls, then 10 ms; fresh pages for a new large
    array, docs/perf-notes.md item 25) whatever the implementation.
    """
    t_end = time.perf_counter() + WARM_UP_S
    for i in itertools.count():
        f()
        if i >= 2 and time.perf_counter() >= t_end:
            return


#: before each timed sample, the implementation's own untimed calls run this long (and at least once)
SETTLE_S = 0.05


def _settle(f: Callable[[], object]) -> None:
    """Call ``f`` for :data:`SETTLE_S` seconds of wall clock (at least once), untimed.

    ONNX Runtime's worker threads spin for ~34 ms after each run (measured:
    process CPU time during a sleep after a call), on a core the next
    implementation needs; one untimed call of a 10 ms layer did not outlast
    it (docs/perf-notes.md item 28). Every implementation gets the same.
    """
    t_end = time.perf_counter() + SETTLE_S
    f()
    while time.perf_counter() < t_end:
        f()


def _run(cases, mode, samples, peers, threads, progress, pause, timer) -> list[Result]:
    bar = None
    if progress:
        try:
            import sys

            from tqdm import tqdm
            bar = tqdm(total=len(cases) * samples, desc=f"convt bench {mode}", unit="round", file=sys.stderr,
                       leave=False)
        except ImportError:  # pragma: no cover
            bar = None
    results, floors = [], []
    for case in cases:
        arrays = _arrays(case, mode)
        impls: dict[str, Callable[[], object]] = {"convt": _convt(case, mode, arrays)}
        for peer in peers:
            try:
                if peer == "torch":
                    impls["torch"] = _torch(case, mode, arrays, threads)
                elif peer == "ort":
                    f = _ort(case, mode, arrays, threads)
                    if f is not None:
                        impls["ort"] = f
                elif peer == "jax":
                    f = _jax(case, mode, arrays)
                    if f is not None:
                        impls["jax"] = f
            except ImportError:
                continue
        floor = _gemm_floor(case, mode)
        res = Result(case, mode, {name: [] for name in (*impls, "gemm")})
        for f in impls.values():  # compile / first-call costs and the process's memory warm-up out of the way
            _warm_up(f)
        for _ in range(samples):
            for name, f in impls.items():
                _settle(f)  # untimed calls: the previous implementation's spinning threads stop, caches fill
                t0 = timer()
                f()
                res.times[name].append((timer() - t0) * 1e3)
                if pause:
                    time.sleep(pause)
            if bar is not None:
                bar.update(1)
        floors.append((res, floor))
        io = sum(a.nbytes for a in arrays)
        out = impls["convt"]()
        io += sum(o.nbytes for o in (out if isinstance(out, tuple) else (out,)))
        del out
        res.peak_extra = _peak_ratio(impls["convt"], io)
        results.append(res)
    # The floors after every interleaved round of every case: OpenBLAS's worker threads keep spinning
    # after a multi-threaded product and halve the next two-thread call of whatever follows it
    # (docs/perf-notes.md, item 25).
    # Each sample settles like the implementations'.
    for res, floor in floors:
        for _ in range(samples):
            _settle(floor)
            t0 = timer()
            floor()
            res.times["gemm"].append((timer() - t0) * 1e3)
    peak = matmul_peak(timer)
    for res, _ in floors:
        res.peak_gflops = peak
    if bar is not None:
        bar.close()
    return results


def environment(threads: int | None = None, clock: str = "wall") -> str:
    """One paragraph: machine, versions, thread settings, load."""
    import numpy

    peers = peers_available()
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover
        load = float("nan")
    from .algorithms import num_threads

    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "CONVT_NUM_THREADS")}
    env_s = ", ".join(f"{k}={v}" for k, v in env.items() if v is not None) or "no thread or BLAS overrides"
    cpu = platform.processor() or platform.machine()
    return (f"{cpu}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}, " + ", ".join(f"{k} {v}" for k, v in peers.items())
            + (f"; threads: peers {threads or len(os.sched_getaffinity(0))}, convt {num_threads()}; "
               if clock == "wall" else "; threads: 1 for every implementation (BLAS included), CPU time; ")
            + f"{env_s}; load average {load:.2f}")


def _times(ratio: float) -> str:
    """A ratio as ``1.23x``; ``n/a`` without a peer to compare with."""
    return "n/a" if math.isnan(ratio) else f"{ratio:.2f}x"


def format_table(results: Sequence[Result]) -> str:
    """The markdown table: medians (ms), ratio vs the faster peer, GFLOP/s, % of matmul, roofline, memory.

    "GFLOP/s" counts the product's multiply-adds (every input pixel, tap and
    channel pair: :meth:`Case.flops`); "at peak" is those the result depends
    on (:meth:`Case.reaching_flops`) at the machine's matmul peak
    (:func:`matmul_peak`), and "best peer / at peak" the most any
    implementation doing them could be ahead of the faster peer.
    """
    peers = [p for p in ("torch", "ort", "jax") if any(p in r.times for r in results)]
    head = ["case", "shape", "convt", *peers, "best peer / convt", "GFLOP/s", "% matmul", "GEMM floor",
            "at peak", "best peer / at peak", "peak mem / (in+out)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ratios, ceilings = [], []
    for r in results:
        c = r.median("convt")
        fast = [r.median(p) for p in ("torch", "ort") if p in r.times]
        best = min(fast) if fast else float("nan")
        ratio = best / c
        if not math.isnan(ratio):
            ratios.append(ratio)
        g = r.median("gemm")
        flops = r.case.flops() * (2 if r.mode in ("grad", "conv_grad") else 1)
        gf = flops / c / 1e6
        pct = (g / c) * 100
        ceiling = best / r.at_peak()
        if not math.isnan(ceiling):
            ceilings.append(ceiling)
        row = [r.case.name, r.case.describe(), f"{c:.2f}", *(f"{r.median(p):.2f}" for p in peers),
               _times(ratio), f"{gf:.0f}", f"{pct:.0f}%", f"{g:.2f}", f"{r.at_peak():.2f}", _times(ceiling),
               f"{r.peak_extra:.2f}"]
        lines.append("| " + " | ".join(row) + " |")
    if not ratios:
        lines += ["", "no ratios: neither PyTorch nor ONNX Runtime ran (--peers, or none installed)"]
    if ratios:
        gm = math.exp(sum(map(math.log, ratios)) / len(ratios))
        lines.append("")
        names = " and ".join(n for p, n in (("torch", "PyTorch"), ("ort", "ONNX Runtime")) if p in peers)
        who = f"(faster of {names})" if " and " in names else names
        lines.append(f"geometric mean of {who} / convt: {gm:.2f}x over "
                     f"{len(ratios)} cases; convt at least as fast in {sum(x >= 1 for x in ratios)}")
    vs_torch = [r.median("torch") / r.median("convt") for r in results if "torch" in r.times and "ort" in r.times]
    if vs_torch:  # the goal of conv and the gradients is PyTorch's speed
        gm = math.exp(sum(map(math.log, vs_torch)) / len(vs_torch))
        lines.append(f"geometric mean of PyTorch / convt: {gm:.2f}x; convt at least as fast in "
                     f"{sum(x >= 1 for x in vs_torch)}")
    if ceilings:
        gm = math.exp(sum(map(math.log, ceilings)) / len(ceilings))
        peak = next(r.peak_gflops for r in results)
        lines.append(f"roofline: matmul peak {peak:.0f} GFLOP/s ({PEAK_N}-square float32 product); at that rate "
                     f"the reaching multiply-adds alone would be {gm:.2f}x the faster peer in geometric mean, "
                     f"below 1.25x in {sum(x < 1.25 for x in ceilings)} case(s), below 1x in "
                     f"{sum(x < 1 for x in ceilings)}")
    return "\n".join(lines)
