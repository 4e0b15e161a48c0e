"""Translate a (transposed) convolution layer from one framework's terms to another's.

:func:`translate` takes a layer in the terms of PyTorch, TensorFlow, Keras,
ONNX or JAX (the vocabulary of :func:`convt.compat.layer_spec`), resolves it
to the canonical ``(begin, end)`` crop of the full result, and finds the
target framework's parameters that give the same crop on every axis. Where
the target cannot express that crop (TensorFlow SAME with an odd total in
PyTorch, say), it picks the nearest layer that the target can express and
adds the exact extra step: a crop of the result, or a zero extension that
carries the bias. The weight conversion (axis permutation, and a spatial
flip for JAX's default ``transpose_kernel=False``) comes with it, and the
whole is printed as code ready to paste. Every candidate is checked with
:func:`convt.compat.layer_spec`; no size formula lives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from . import arithmetic as ar
from .compat import CONVENTIONS, DEFAULT_PADDING, layer_spec
from .errors import ConvError
from .spec import ConvSpec, conv_spec

__all__ = ["Translation", "translate"]

Pairs = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Translation:
    """A layer translated to another framework.

    Attributes
    ----------
    source, target : str
        Conventions ("torch", "tensorflow", "keras", "onnx", "jax").
    spec : ConvSpec
        The canonical layer (one channel): ``pads`` is the crop both share.
    params : dict
        The target's arguments (its own names and forms).
    extra : tuple of (int, int) or None
        Transposed: the step after the target's layer, per axis: crop
        ``(begin, end)`` elements (negative: append that many zeros, plus the
        bias). Direct: the padding ``(lo, hi)`` added to the input before the
        target's layer (negative: cropped). None when the target expresses
        the layer exactly.
    weight_perm : tuple of int
        ``np.transpose(w, weight_perm)`` takes the source's weight to the target's layout.
    weight_flip : tuple of int
        Then flip these axes (only to or from JAX's ``transpose_kernel=False``).
    code : str
        The target's code, ready to paste: it reads ``x`` (the input in the
        target's layout), ``w`` (the source's weight, a NumPy array) and ``b``
        (the bias, a NumPy array, or None) and sets ``y``.
    notes : list of str
        What the reader should know (layouts, the extra step).
    """

    source: str
    target: str
    spec: ConvSpec
    params: dict[str, Any]
    extra: Pairs | None
    weight_perm: tuple[int, ...]
    weight_flip: tuple[int, ...]
    code: str
    notes: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Whether the target's layer alone gives the source's result."""
        return self.extra is None

    def __str__(self) -> str:
        return self.code


# ---------------------------------------------------------------------------
# Weight layouts
# ---------------------------------------------------------------------------
def _to_canonical(convention: str, nd: int, transpose_kernel: bool) -> tuple[tuple[int, ...], bool]:
    """(perm, flip): ``np.transpose(w, perm)`` (then a spatial flip) gives ``(C_in, C_out/g, *k)``."""
    spatial = tuple(range(nd))
    if convention in ("torch", "onnx"):
        return (0, 1, *range(2, nd + 2)), False
    if convention == "jax" and not transpose_kernel:  # (*k, I = C_in, O = C_out), a correlation kernel
        return (nd, nd + 1, *spatial), True
    return (nd + 1, nd, *spatial), False  # (*k, C_out, C_in)


def _from_canonical(convention: str, nd: int) -> tuple[int, ...]:
    if convention in ("torch", "onnx"):
        return (0, 1, *range(2, nd + 2))
    return (*range(2, nd + 2), 1, 0)  # (*k, C_out, C_in); JAX with transpose_kernel=True


def _weight(source: str, target: str, nd: int, transpose_kernel: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    p1, flip = _to_canonical(source, nd, transpose_kernel)
    p2 = _from_canonical(target, nd)
    perm = tuple(p1[j] for j in p2)
    flips = tuple(j for j, c in enumerate(p2) if c >= 2) if flip else ()
    return perm, flips


def _weight_code(perm: tuple[int, ...], flips: tuple[int, ...]) -> str:
    expr = "w" if perm == tuple(range(len(perm))) else f"np.transpose(w, {perm})"
    if flips:
        expr = f"np.flip({expr}, axis={flips})"
    return f"{expr}.copy()" if expr != "w" else "np.ascontiguousarray(w)"


# ---------------------------------------------------------------------------
# Finding the target's parameters
# ---------------------------------------------------------------------------
def _spec(convention: str, spec: ConvSpec, input_size: Sequence[int] | None = None, **kw: Any) -> ConvSpec | None:
    """The target's layer with these parameters (on ``input_size``, default the spec's), or None where the
    target refuses them."""
    try:
        return layer_spec(convention, transposed=spec.transposed,
                          input_size=spec.input_size if input_size is None else tuple(input_size),
                          kernel_size=spec.kernel_size, stride=spec.stride, dilation=spec.dilation, **kw)
    except ConvError:
        return None


def _extra(want: Pairs, have: Pairs) -> Pairs | None:
    d = tuple((wb - hb, we - he) for (wb, we), (hb, he) in zip(want, have, strict=True))
    return None if all(p == (0, 0) for p in d) else d


def _search(target: str, spec: ConvSpec) -> tuple[dict[str, Any], Pairs]:
    """The target's parameters for ``spec.pads``: exact if possible, else the nearest containing layer."""
    want, nd = spec.pads, spec.nd
    s, d = spec.stride, spec.dilation
    cands: list[dict[str, Any]] = []
    if target == "torch":
        if min(cb for cb, _ in want) >= 0:  # PyTorch refuses a negative padding (a zero-extended start)
            cands.append(dict(padding=tuple(cb for cb, _ in want), output_padding=tuple(cb - ce for cb, ce in want)))
        base = tuple(max(min(cb, ce), 0) for cb, ce in want)
        ops = tuple(min(max(p - ce, 0), max(ss, dd) - 1) for p, (_, ce), ss, dd in zip(base, want, s, d, strict=True))
        cands.append(dict(padding=base, output_padding=ops))
    elif target == "tensorflow":
        out = tuple(spec.output_size)
        for pad in ("VALID", "SAME"):
            cands.append(dict(padding=pad, output_size=out))
        if nd == 2:
            for extra in product(*(range(ss) for ss in s)):
                cands.append(dict(padding=tuple((cb, ce - e) for (cb, ce), e in zip(want, extra, strict=True)),
                                  output_size=out))
        cands.append(dict(padding="VALID", output_size=tuple(spec.full_size)))
    elif target == "keras":
        for pad in ("same", "valid"):
            cands.append(dict(padding=pad, output_padding=None))
            for op in product(*(range(ss) for ss in s)):
                cands.append(dict(padding=pad, output_padding=op))
    elif target == "onnx":  # per axis: a crop by pads, zeros at the end by output_padding
        cands.append(dict(padding=tuple((cb, max(ce, 0)) for cb, ce in want),
                          output_padding=tuple(max(-ce, 0) for _, ce in want)))
        for auto in ("SAME_UPPER", "SAME_LOWER", "VALID"):
            cands.append(dict(padding=auto, output_padding=(0,) * nd))
        cands.append(dict(padding=tuple((max(cb, 0), max(ce, 0)) for cb, ce in want), output_padding=(0,) * nd))
    else:  # jax: always exact with use_consistent_padding=True
        for pad in ("SAME", "VALID"):
            cands.append(dict(padding=pad))
        cands.append(dict(padding=tuple(want), use_consistent_padding=True))
    best: tuple[int, dict[str, Any], Pairs] | None = None
    for kw in cands:
        got = _spec(target, spec, **kw)
        if got is None or (target == "keras" and not _keras_runs_on_tf(got, kw["padding"])):
            continue
        if got.pads == want:
            return kw, want
        # a containing layer: the extra step only crops, never pads, when it can; it may append zeros only on a
        # side the layer did not crop (else the values it cropped there are lost)
        diff = _extra(want, got.pads) or ()
        if any(e < 0 < h for pair, have in zip(diff, got.pads, strict=True) for e, h in zip(pair, have, strict=True)):
            continue
        cost = sum((abs(a) + abs(b)) * (1 if min(a, b) >= 0 else 100) for a, b in diff)
        if best is None or cost < best[0]:
            best = (cost, kw, got.pads)
    if best is None:  # pragma: no cover - the last candidate of each target always resolves
        raise ConvError(f"translate: found no {target} layer for crop {list(want)}")
    return best[1], best[2]


def _keras_runs_on_tf(got: ConvSpec, padding: str) -> bool:
    """Keras' TensorFlow backend asks TF for this output size: TF must accept it (vector 7)."""
    return all(o in ar.tf_transpose_output_range(i, k, s, d, padding) for o, i, k, s, d in
               zip(got.output_size, got.input_size, got.kernel_size, got.stride, got.dilation, strict=True))


# ---------------------------------------------------------------------------
# Code
# ---------------------------------------------------------------------------
def _tuple(v: Sequence[Any]) -> str:
    return repr(tuple(v))


def _window(pads: Pairs, sizes: Sequence[int]) -> list[tuple[int, int, int, int]]:
    """An extra step that pads (positive) or crops (negative) by ``(lo, hi)`` per axis, as a crop then zeros:
    ``(start, stop, left, right)`` keeps ``[start:stop]`` of each axis, then adds ``left`` and ``right`` zeros
    (:func:`convt.arithmetic.pad_crop_window`: a crop may reach past the data into the other side's zeros)."""
    out = []
    for (lo, hi), n in zip(pads, sizes, strict=True):
        start, stop, at = ar.pad_crop_window(n, lo, hi)
        out.append((start, stop, at, n + lo + hi - at - (stop - start)))
    return out


def _code(target: str, spec: ConvSpec, kw: dict[str, Any], have: Pairs, extra: Pairs | None,
          wexpr: str, cin: int, cout: int, groups: int) -> tuple[str, dict[str, Any]]:
    nd = spec.nd
    k, s, d = spec.kernel_size, spec.stride, spec.dilation
    sizes = [f - cb - ce for f, (cb, ce) in zip(spec.full_size, have, strict=True)]  # the target layer's output
    win = _window([(-cb, -ce) for cb, ce in extra or [(0, 0)] * nd], sizes)
    crops_needed = any(a > 0 or b < n for (a, b, _, _), n in zip(win, sizes, strict=True))
    pads_needed = any(lo or hi for _, _, lo, hi in win)
    kept = [f"{a}:{b}" for a, b, _, _ in win]
    lines: list[str] = ["import numpy as np"]
    first = target in ("torch", "onnx")
    lay = "(N, C, *spatial)" if first else "(N, *spatial, C)"
    params: dict[str, Any]

    def spatial_index(sl: list[str]) -> str:
        return f"[:, :, {', '.join(sl)}]" if first else f"[:, {', '.join(sl)}, :]"

    def zero_pads() -> list[tuple[int, int]]:
        return [(lo, hi) for _, _, lo, hi in win]

    if target == "torch":
        params = dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=s, padding=kw["padding"],
                      output_padding=kw["output_padding"], dilation=d, groups=groups)
        lines += ["import torch", "",
                  f"# x: torch tensor {lay}; w: the source's weight; b: its bias or None",
                  f"layer = torch.nn.ConvTranspose{nd}d({cin}, {cout}, kernel_size={_tuple(k)}, stride={_tuple(s)}, "
                  f"padding={_tuple(kw['padding'])}, output_padding={_tuple(kw['output_padding'])}, "
                  f"dilation={_tuple(d)}, groups={groups}, bias={'False' if pads_needed else 'b is not None'}, "
                  f"dtype=x.dtype)",
                  "with torch.no_grad():",
                  f"    layer.weight.copy_(torch.from_numpy({wexpr}))"]
        if not pads_needed:
            lines += ["    if b is not None:", "        layer.bias.copy_(torch.from_numpy(b))"]
        lines += ["y = layer(x)"]
        if crops_needed:
            lines += [f"y = y{spatial_index(kept)}  # the extra step: crop"]
        if pads_needed:
            flat = [v for lo_hi in reversed(zero_pads()) for v in lo_hi]
            lines += [f"y = torch.nn.functional.pad(y, {flat})  # the extra step: zeros (then the bias)",
                      "if b is not None:", f"    y = y + torch.from_numpy(b).view(-1{', 1' * nd})"]
    elif target == "tensorflow":
        pad = kw["padding"]
        tf_pad = pad if isinstance(pad, str) else [[0, 0], *[list(p) for p in pad], [0, 0]]
        out = list(kw["output_size"])
        params = dict(output_shape=["N", *out, cout], strides=list(s), padding=tf_pad, dilations=list(d))
        lines += ["import tensorflow as tf", "",
                  f"# x: {lay} (channels last); w: the source's weight; b: its bias or None",
                  f"y = tf.nn.conv{nd}d_transpose(x, {wexpr}, output_shape=[tf.shape(x)[0], "
                  f"{', '.join(map(str, out))}, {cout}], strides={list(s)}, padding={tf_pad!r}, dilations={list(d)})"]
        if crops_needed:
            lines += [f"y = y{spatial_index(kept)}  # the extra step: crop"]
        if pads_needed:
            lines += [f"y = tf.pad(y, {[[0, 0], *map(list, zero_pads()), [0, 0]]})  # the extra step: zeros"]
        lines += ["if b is not None:", "    y = y + b"]
    elif target == "keras":
        op = kw["output_padding"]
        params = dict(filters=cout, kernel_size=k, strides=s, padding=kw["padding"], output_padding=op,
                      dilation_rate=d)
        bias = "False" if pads_needed else "b is not None"
        lines += ["import keras", "",
                  f"# x: {lay} (channels last); w: the source's weight; b: its bias or None",
                  f"layer = keras.layers.Conv{nd}DTranspose({cout}, {_tuple(k)}, strides={_tuple(s)}, "
                  f"padding={kw['padding']!r}, output_padding={None if op is None else _tuple(op)}, "
                  f"dilation_rate={_tuple(d)}, use_bias={bias})",
                  f"layer.build((None, {', '.join(map(str, spec.input_size))}, {cin}))",
                  f"layer.set_weights([{wexpr}]{'' if pads_needed else ' + ([b] if b is not None else [])'})",
                  "y = layer(x)"]
        if crops_needed:
            lines += [f"y = y{spatial_index(kept)}  # the extra step: crop"]
        if pads_needed:
            lines += [f"y = keras.ops.pad(y, {[[0, 0], *map(list, zero_pads()), [0, 0]]})  # the extra step: zeros",
                      "if b is not None:", "    y = y + b"]
    elif target == "onnx":
        pad = kw["padding"]
        attrs: dict[str, Any] = dict(kernel_shape=list(k), strides=list(s), dilations=list(d), group=groups)
        if isinstance(pad, str):
            attrs["auto_pad"] = pad
        else:
            attrs["pads"] = [p[0] for p in pad] + [p[1] for p in pad]
        if any(kw["output_padding"]):
            attrs["output_padding"] = list(kw["output_padding"])
        params = attrs
        args = ", ".join(f"{a}={v!r}" for a, v in attrs.items())
        lines += ["from onnx import helper, numpy_helper", "",
                  f"# the graph's input X: {lay}; w: the source's weight; b: its bias or None",
                  f"initializers = [numpy_helper.from_array({wexpr}, 'W')]",
                  "inputs = ['X', 'W'] + (['B'] if b is not None else [])",
                  "if b is not None:", "    initializers.append(numpy_helper.from_array(b, 'B'))"]
        if not (crops_needed or pads_needed):
            lines += [f"nodes = [helper.make_node('ConvTranspose', inputs, ['Y'], {args})]"]
        else:  # the extra step: a Slice (crop), a Pad (zeros); with zeros, the bias after them
            steps: list[tuple[str, list[str], str]] = []
            if crops_needed:
                starts, ends = [a for a, _, _, _ in win], [b for _, b, _, _ in win]
                steps.append(("Slice", ["S0", "S1", "S2"], "crop"))
                consts = [(f"{starts}", "S0"), (f"{ends}", "S1"), (f"{list(range(2, 2 + nd))}", "S2")]
            else:
                consts = []
            if pads_needed:
                zp = zero_pads()
                steps.append(("Pad", ["P"], "zeros"))
                consts.append((f"{[0, 0, *(p[0] for p in zp), 0, 0, *(p[1] for p in zp)]}", "P"))
            conv_in = "['X', 'W']" if pads_needed else "inputs"
            nodes = [(f"helper.make_node('ConvTranspose', {conv_in}, ['Y0'], {args})", "")]
            for u, (op, extra_in, what) in enumerate(steps):
                last = u == len(steps) - 1
                out = (f"'Y{u + 1}' if b is not None else 'Y'" if pads_needed else "'Y'") if last else f"'Y{u + 1}'"
                nodes.append((f"helper.make_node('{op}', {[f'Y{u}', *extra_in]}, [{out}])",
                              f"  # the extra step: {what}"))
            lines += [("nodes = [" if i == 0 else "         ") + node + ("]" if i == len(nodes) - 1 else ",") + note
                      for i, (node, note) in enumerate(nodes)]
            lines += [f"initializers.append(numpy_helper.from_array(np.array({v}, dtype=np.int64), '{name}'))"
                      for v, name in consts]
            if pads_needed:
                lines += ["if b is not None:  # then the bias",
                          f"    initializers[1] = numpy_helper.from_array(b.reshape(-1{', 1' * nd}), 'B')",
                          f"    nodes.append(helper.make_node('Add', ['Y{len(steps)}', 'B'], ['Y']))"]
    else:  # jax
        pad = kw["padding"]
        jpad = pad if isinstance(pad, str) else tuple(pad)
        params = dict(strides=s, padding=jpad, rhs_dilation=d, transpose_kernel=True,
                      use_consistent_padding=kw.get("use_consistent_padding", False))
        flag = ", use_consistent_padding=True" if kw.get("use_consistent_padding") else ""
        lines += ["from jax import lax", "",
                  f"# x: {lay} (channels last); w: the source's weight; b: its bias or None",
                  f"y = lax.conv_transpose(x, {wexpr}, strides={_tuple(s)}, padding={jpad!r}, "
                  f"rhs_dilation={_tuple(d)}, transpose_kernel=True{flag})"]
        if crops_needed or pads_needed:  # pragma: no cover - JAX expresses every crop
            raise AssertionError("jax needs no extra step")
        lines += ["if b is not None:", "    y = y + b"]
    return "\n".join(lines) + "\n", params


# ---------------------------------------------------------------------------
# Direct convolutions: the extra step pads (or crops) the input before the layer
# ---------------------------------------------------------------------------
_JAX_DN = {1: ("NHC", "HIO", "NHC"), 2: ("NHWC", "HWIO", "NHWC"), 3: ("NDHWC", "DHWIO", "NDHWC")}


def _search_direct(target: str, spec: ConvSpec, prefer_words: bool) -> tuple[dict[str, Any], Pairs]:
    """The target's padding for ``spec.pads`` (``(lo, hi)`` of the input), or the nearest plus a pre-pad.

    A padding word ("same") is tried first only when the source used one: explicit pads keep
    meaning the same thing when the input size changes, a word does not.
    """
    want, nd = spec.pads, spec.nd
    words = {"torch": ("valid", "same"), "tensorflow": ("VALID", "SAME"), "keras": ("valid", "same"),
             "onnx": ("VALID", "SAME_UPPER", "SAME_LOWER"), "jax": ("VALID", "SAME")}[target]
    cands: list[Any] = list(words)
    if target == "torch":
        if max(spec.stride) > 1:  # PyTorch refuses padding="same" with a stride
            cands.remove("same")
        if min(lo for lo, _ in want) >= 0:
            cands.append(tuple(lo for lo, _ in want))  # symmetric only
        cands.append(tuple(max(min(lo, hi), 0) for lo, hi in want))
    elif target == "onnx" or (target == "tensorflow" and nd == 2):
        cands.append(tuple((max(lo, 0), max(hi, 0)) for lo, hi in want))
    elif target == "jax":
        cands.append(tuple(want))
    cands.append("VALID" if target in ("tensorflow", "onnx", "jax") else "valid")
    if not prefer_words:
        cands = [c for c in cands if not isinstance(c, str)] + [c for c in cands if isinstance(c, str)]
    best: tuple[int, Any, Pairs] | None = None
    for pad in cands:
        if isinstance(pad, str) and pad.lower() != "valid":
            got = _spec(target, spec, padding=pad)  # pads by the input size, which the extra step changes:
            if got is not None and got.pads == want:  # exact only
                return {"padding": pad}, want
            continue
        have = ((0, 0),) * nd if isinstance(pad, str) else tuple(p if isinstance(p, tuple) else (p, p) for p in pad)
        diff = _extra(want, have) or ((0, 0),) * nd
        sizes = [n + lo + hi for (lo, hi), n in zip(diff, spec.input_size, strict=True)]
        if min(sizes) < 1:
            continue  # the extra step would leave the layer no input
        got = _spec(target, spec, input_size=sizes, padding=pad)  # the layer runs on the input after the step
        if got is None:
            continue
        if got.pads == want:
            return {"padding": pad}, want
        if any(e < 0 < h for de, hp in zip(diff, got.pads, strict=True) for e, h in zip(de, hp, strict=True)):
            continue  # cropping the input where the layer then pads would crop the wrong elements
        # prefer padding the input to cropping it
        cost = sum(abs(a) + abs(b) + 100 * (min(a, b) < 0) for a, b in _extra(want, got.pads) or ())
        if best is None or cost < best[0]:
            best = (cost, pad, got.pads)
    if best is None:  # pragma: no cover - "valid" always resolves for a valid layer
        raise ConvError(f"translate: found no {target} layer for padding {list(want)}")
    return {"padding": best[1]}, best[2]


#: each framework's name for a padding mode of the input (None: it has none)
_MODE_NAMES = {"reflect": {"torch": "reflect", "tensorflow": "REFLECT", "keras": "reflect", "onnx": "reflect",
                           "jax": "reflect"},
               "replicate": {"torch": "replicate", "tensorflow": None, "keras": None, "onnx": "edge", "jax": "edge"},
               "circular": {"torch": "circular", "tensorflow": None, "keras": None, "onnx": "wrap", "jax": "wrap"}}


def _code_direct(target: str, spec: ConvSpec, kw: dict[str, Any], pre: Pairs | None, wexpr: str, cin: int,
                 cout: int, groups: int, mode: str = "zeros") -> tuple[str, dict[str, Any]]:
    nd = spec.nd
    mode_name = None if mode == "zeros" else _MODE_NAMES[mode][target]
    k, s, d, pad = spec.kernel_size, spec.stride, spec.dilation, kw["padding"]
    first = target in ("torch", "onnx")
    lay = "(N, C, *spatial)" if first else "(N, *spatial, C)"
    lines = ["import numpy as np"]
    win = _window(pre or [(0, 0)] * nd, spec.input_size)
    zpad = [(lo, hi) for _, _, lo, hi in win]
    crop_needed = any(a > 0 or b < n for (a, b, _, _), n in zip(win, spec.input_size, strict=True))
    pad_needed = any(a or b for a, b in zpad)
    kept = ", ".join(f"{a}:{b}" for a, b, _, _ in win)

    def pre_lines(pad_call: str) -> list[str]:
        out = []
        if crop_needed:
            out.append(f"x = x[:, {kept}, :]  # the extra step: crop the input")
        if pad_needed and mode_name:
            out.append(f"x = {pad_call}(x, {[[0, 0], *map(list, zpad), [0, 0]]}, mode={mode_name!r})"
                       f"  # the extra step: pad the input ({mode})")
        elif pad_needed:
            out.append(f"x = {pad_call}(x, {[[0, 0], *map(list, zpad), [0, 0]]})  # the extra step: zero-pad the input")
        return out

    if target == "torch":
        params = dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=s, padding=pad, dilation=d,
                      groups=groups)
        layer_mode = ""
        if mode_name and not pre:  # the layer pads with the mode itself
            params["padding_mode"] = mode_name
            layer_mode = f", padding_mode={mode_name!r}"
        lines += ["import torch", "", f"# x: torch tensor {lay}; w: the source's weight; b: its bias or None",
                  f"layer = torch.nn.Conv{nd}d({cin}, {cout}, kernel_size={_tuple(k)}, stride={_tuple(s)}, "
                  f"padding={pad!r}, dilation={_tuple(d)}, groups={groups}, bias=b is not None{layer_mode}, "
                  f"dtype=x.dtype)",
                  "with torch.no_grad():", f"    layer.weight.copy_(torch.from_numpy({wexpr}))",
                  "    if b is not None:", "        layer.bias.copy_(torch.from_numpy(b))"]
        if crop_needed:
            lines.append(f"x = x[:, :, {kept}]  # the extra step: crop the input")
        if pad_needed:
            flat = [v for lo_hi in reversed(zpad) for v in lo_hi]
            lines.append(f"x = torch.nn.functional.pad(x, {flat}, mode={mode_name!r})  # the extra step: pad the "
                         f"input ({mode})" if mode_name else
                         f"x = torch.nn.functional.pad(x, {flat})  # the extra step: zero-pad the input")
        lines += ["y = layer(x)"]
    elif target == "tensorflow":
        tf_pad = pad if isinstance(pad, str) else [[0, 0], *map(list, pad), [0, 0]]
        params = dict(strides=[1, *s, 1], padding=tf_pad, dilations=[1, *d, 1])
        lines += ["import tensorflow as tf", "", f"# x: {lay} (channels last); w: the source's weight; b: its bias or None",
                  *pre_lines("tf.pad"),
                  f"y = tf.nn.conv{nd}d(x, {wexpr}, {[1, *s, 1]}, {tf_pad!r}, dilations={[1, *d, 1]})",
                  "if b is not None:", "    y = y + b"]
    elif target == "keras":
        params = dict(filters=cout, kernel_size=k, strides=s, padding=pad, dilation_rate=d, groups=groups)
        shape = [n + lo + hi for n, (lo, hi) in zip(spec.input_size, pre or [(0, 0)] * nd, strict=True)]
        lines += ["import keras", "", f"# x: {lay} (channels last); w: the source's weight; b: its bias or None",
                  f"layer = keras.layers.Conv{nd}D({cout}, {_tuple(k)}, strides={_tuple(s)}, padding={pad!r}, "
                  f"dilation_rate={_tuple(d)}, groups={groups}, use_bias=b is not None)",
                  f"layer.build((None, {', '.join(map(str, shape))}, {cin}))",
                  f"layer.set_weights([{wexpr}] + ([b] if b is not None else []))",
                  *pre_lines("keras.ops.pad"), "y = layer(x)"]
    elif target == "onnx":
        attrs: dict[str, Any] = dict(kernel_shape=list(k), strides=list(s), dilations=list(d), group=groups)
        if isinstance(pad, str):
            attrs["auto_pad"] = pad
        else:
            attrs["pads"] = [p[0] for p in pad] + [p[1] for p in pad]
        params = attrs
        args = ", ".join(f"{a}={v!r}" for a, v in attrs.items())
        lines += ["from onnx import helper, numpy_helper", "",
                  f"# the graph's input X: {lay}; w: the source's weight; b: its bias or None",
                  f"initializers = [numpy_helper.from_array({wexpr}, 'W')]",
                  "if b is not None:", "    initializers.append(numpy_helper.from_array(b, 'B'))",
                  f"inputs = [{'X0' if pre else 'X'!r}, 'W'] + (['B'] if b is not None else [])",
                  f"nodes = [helper.make_node('Conv', inputs, ['Y'], {args})]"]
        if pre:
            # a crop only of the data, then zeros: a crop past the data eats into the other side's zeros instead
            eff = [(lo - a, hi - (n - b)) for (a, b, lo, hi), n in zip(win, spec.input_size, strict=True)]
            pads_t = [0, 0, *(p[0] for p in eff), 0, 0, *(p[1] for p in eff)]
            how = f", mode={mode_name!r}" if mode_name else ""
            lines += [f"initializers.append(numpy_helper.from_array(np.array({pads_t}, dtype=np.int64), 'P'))",
                      f"nodes.insert(0, helper.make_node('Pad', ['X', 'P'], ['X0']{how}))"
                      f"  # the extra step: pad the input ({mode if mode_name else 'negative crops'})"]
    else:  # jax
        jpad = pad if isinstance(pad, str) else tuple(pad)
        params = dict(window_strides=s, padding=jpad, rhs_dilation=d, dimension_numbers=_JAX_DN[nd],
                      feature_group_count=groups)
        lines += ["from jax import lax", "", f"# x: {lay} (channels last); w: the source's weight; b: its bias or None"]
        if pre:  # only a padding mode: JAX's zero padding expresses every (lo, hi)
            lines = ["import jax.numpy as jnp", *lines,
                     f"x = jnp.pad(x, {[(0, 0), *zpad, (0, 0)]}, mode={mode_name!r})  # the extra step: pad the input "
                     f"({mode})"]
        lines += [f"y = lax.conv_general_dilated(x, {wexpr}, window_strides={_tuple(s)}, padding={jpad!r}, "
                  f"rhs_dilation={_tuple(d)}, dimension_numbers={_JAX_DN[nd]!r}, feature_group_count={groups})",
                  "if b is not None:", "    y = y + b"]
    return "\n".join(lines) + "\n", params


def translate(source: str, target: str, *, input_size: Any, kernel_size: Any, stride: Any = 1, padding: Any = None,
              output_padding: Any = None, dilation: Any = 1, output_size: Any = None,
              use_consistent_padding: bool = False, transpose_kernel: bool = False, in_channels: int = 1,
              out_channels: int = 1, groups: int = 1, transposed: bool = True,
              padding_mode: str = "zeros") -> Translation:
    """A (transposed) convolution layer of ``source`` as the equivalent ``target`` code.

    Parameters
    ----------
    source, target : {"torch", "tensorflow", "keras", "onnx", "jax"}
    input_size, kernel_size, stride, padding, output_padding, dilation, output_size, use_consistent_padding
        The layer in ``source``'s terms, as :func:`convt.compat.layer_spec` takes them.
    transpose_kernel : bool
        source "jax" only: the weight's meaning (False, JAX's default, is a
        correlation kernel ``(*k, C_in, C_out)`` that must be flipped).
    in_channels, out_channels, groups : int
        Channels of the layer. groups > 1: a direct convolution in any
        convention (TensorFlow only in 1-D and 2-D: its CPU Conv3D refuses
        grouped filters), a transposed one only between torch and onnx.
    transposed : bool
        A transposed convolution (the default) or a direct one.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
        A direct convolution of source "torch" only: how its padding reads
        the border. The target pads the input that way first (TensorFlow and
        Keras: "reflect" only; ONNX ``Pad`` "reflect", "edge", "wrap";
        ``jnp.pad``), then convolves without padding; a torch target keeps
        its ``padding_mode`` where the padding is symmetric. A direct
        convolution's weight is ``(C_out, C_in/g, *k)`` (torch, onnx) or
        ``(*k, C_in/g, C_out)`` (tensorflow, keras, jax with HIO layouts); where
        the target cannot express the padding, the extra step pads (or crops)
        the input before the layer.

    Returns
    -------
    Translation
        ``str()`` of it is the target's code.

    Notes
    -----
    Shape: the target's output equals the source's,
    ``o = (i-1)*s + d*(k-1) + 1 - cb - ce`` per axis, with the source's crop
    ``(cb, ce)``; the target's layer gives a crop ``(tb, te)``, and the
    extra step crops ``(cb - tb, ce - te)`` more (negative: zeros appended).

    Examples
    --------
    TensorFlow's SAME with an odd crop total has no PyTorch layer: PyTorch
    crops ``padding`` at both ends and appends ``output_padding`` at the end.

    >>> t = translate("tensorflow", "torch", input_size=4, kernel_size=3, stride=2, padding="SAME")
    >>> t.spec.pads, t.params["padding"], t.params["output_padding"], t.extra
    (((0, 1),), (0,), (0,), ((0, 1),))
    >>> print(t.code.splitlines()[-1])
    y = y[:, :, 0:8]  # the extra step: crop
    >>> translate("torch", "onnx", input_size=4, kernel_size=3, stride=2, padding=1, output_padding=1).params["pads"]
    [1, 0]
    """
    func = "translate"
    for name, conv in (("source", source), ("target", target)):
        if conv not in CONVENTIONS:
            raise ConvError(f"{func}: {name} must be one of {', '.join(CONVENTIONS)}, got {conv!r}")
    if padding is None:
        padding = DEFAULT_PADDING[source]
    if not (isinstance(transposed, bool) or type(transposed).__name__ == "bool_"):  # NumPy's bool too
        raise TypeError(f"{func}: transposed must be a bool, got {transposed!r}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ConvError(f"{func}: groups must be a positive int, got {groups!r}")
    if groups != 1 and transposed and not {source, target} <= {"torch", "onnx"}:
        raise ConvError(f"{func}: groups={groups} is translated only between torch and onnx for a transposed "
                        f"convolution (TensorFlow, Keras and jax.lax.conv_transpose have no groups for it)")
    for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
        if not isinstance(n, int) or n < 1 or n % groups:
            raise ConvError(f"{func}: {name} must be a positive multiple of groups={groups}, got {n!r}")
    if padding_mode != "zeros":
        if transposed or source != "torch":
            raise ConvError(f"{func}: padding_mode={padding_mode!r} is translated for a direct convolution from torch "
                            f"only (the other conventions have no padding modes; a transposed convolution has them "
                            f"only in convt.torch)")
        if padding_mode not in _MODE_NAMES:
            raise ConvError(f"{func}: padding_mode must be one of zeros, {', '.join(_MODE_NAMES)}, got {padding_mode!r}")
        if _MODE_NAMES[padding_mode][target] is None:
            raise ConvError(f"{func}: {target} has no {padding_mode!r} padding (tf.pad modes: CONSTANT, REFLECT, "
                            f"SYMMETRIC); translate to torch, onnx or jax")
    if not transposed:
        return _translate_direct(source, target, input_size, kernel_size, stride, padding, dilation,
                                 in_channels, out_channels, groups, output_padding, output_size, padding_mode)
    extra_kw = {"use_consistent_padding": use_consistent_padding} if source == "jax" else {}
    spec = layer_spec(source, transposed=True, input_size=input_size, kernel_size=kernel_size, stride=stride,
                      padding=padding, output_padding=output_padding, dilation=dilation, output_size=output_size,
                      **extra_kw)
    kw, have = _search(target, spec)
    extra = _extra(spec.pads, have)
    perm, flips = _weight(source, target, spec.nd, transpose_kernel and source == "jax")
    code, params = _code(target, spec, kw, have, extra, _weight_code(perm, flips), in_channels, out_channels, groups)
    notes = [f"crop of the full result (begin, end) per axis: {list(spec.pads)}; output {list(spec.output_size)}"]
    if extra is not None:
        neg = " (negative: zeros appended, then the bias)" if any(min(a, b) < 0 for a, b in extra) else ""
        notes.append(f"{target} cannot express this crop in one layer: its layer crops {list(have)}, then the "
                     f"extra step crops {list(extra)}{neg}")
    if target in ("tensorflow", "keras") and max(spec.dilation) > 1:
        notes.append("TensorFlow's CPU kernels refuse dilation > 1 for transposed convolutions (GPU only)")
    header = "".join(f"# {n}\n" for n in [f"{source} -> {target}: transposed convolution", *notes])
    return Translation(source, target, spec, params, extra, perm, flips, header + code, notes)


def _translate_direct(source: str, target: str, input_size: Any, kernel_size: Any, stride: Any, padding: Any,
                      dilation: Any, cin: int, cout: int, groups: int, output_padding: Any,
                      output_size: Any, mode: str = "zeros") -> Translation:
    spec = layer_spec(source, transposed=False, input_size=input_size, kernel_size=kernel_size, stride=stride,
                      padding=padding, dilation=dilation, output_padding=output_padding, output_size=output_size)
    if mode != "zeros":
        return _translate_mode(source, target, spec, cin, cout, groups, mode)
    if groups != 1 and "tensorflow" in (source, target) and spec.nd == 3:
        raise ConvError(f"translate: groups={groups} with tensorflow in 3-D: TensorFlow's CPU Conv3D refuses grouped "
                        f"filters (its 1-D and 2-D convolutions and Keras' Conv3D accept them)")
    kw, have = _search_direct(target, spec, isinstance(padding, str))
    pre = _extra(spec.pads, have)
    perm, flips = _weight(source, target, spec.nd, True)  # (*k, a, b) <-> (b, a, *k); no flip for a direct conv
    code, params = _code_direct(target, spec, kw, pre, _weight_code(perm, flips), cin, cout, groups)
    notes = [f"padding of the input (lo, hi) per axis: {list(spec.pads)}; output {list(spec.output_size)}"]
    if pre is not None:
        notes.append(f"{target} cannot express this padding in one layer: its layer pads {list(have)}, so the "
                     f"input is first padded by {list(pre)} (negative: cropped)")
    header = "".join(f"# {n}\n" for n in [f"{source} -> {target}: direct convolution", *notes])
    return Translation(source, target, spec, params, pre, perm, flips, header + code, notes)


def _translate_mode(source: str, target: str, spec: ConvSpec, cin: int, cout: int, groups: int,
                    mode: str) -> Translation:
    """A direct convolution whose padding reads the border by ``mode``: the target pads that way, then convolves."""
    if min(min(p) for p in spec.pads) < 0:
        raise ConvError(f"translate: padding_mode={mode!r} with a negative padding {list(spec.pads)} (a crop) is not "
                        f"translated; crop the input first")
    conv_spec((1, cin, *spec.input_size), (cout, cin // groups, *spec.kernel_size), stride=spec.stride,
              padding=list(spec.pads), dilation=spec.dilation, groups=groups, padding_mode=mode,
              func="translate")  # the mode's limits (reflect: at most size - 1 per side)
    nd = spec.nd
    symmetric = all(lo == hi for lo, hi in spec.pads)
    if target == "torch" and symmetric:
        kw, pre = {"padding": tuple(lo for lo, _ in spec.pads)}, None
    else:
        kw = {"padding": "VALID" if target in ("tensorflow", "onnx", "jax") else "valid"}
        pre = spec.pads
    perm, flips = _weight(source, target, nd, True)
    code, params = _code_direct(target, spec, kw, pre, _weight_code(perm, flips), cin, cout, groups, mode)
    notes = [f"padding of the input (lo, hi) per axis: {list(spec.pads)}, read by padding_mode={mode!r}; "
             f"output {list(spec.output_size)}"]
    if pre is not None:
        notes.append(f"{target}'s convolution pads with zeros only: the input is first padded by {list(pre)} "
                     f"({mode}), then the layer pads nothing")
    header = "".join(f"# {n}\n" for n in [f"{source} -> {target}: direct convolution", *notes])
    return Translation(source, target, spec, params, pre, perm, flips, header + code, notes)
