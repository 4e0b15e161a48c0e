"""The interactive explorer in headless Chromium: its sizes are Python's, its controls redraw it."""

from __future__ import annotations

import argparse
import io
import itertools
import re

import pytest
from PIL import Image

from convt.commands._layer import layer_from_args
from convt.draw import AXIS_LIMIT, MATRIX_LIMIT
from convt.draw.explorer import write_explorer
from convt.errors import ConvError

pytestmark = pytest.mark.browser

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

START = {"input": "3,3", "kernel": "3", "stride": "2", "padding": "1", "output_padding": "1", "output_size": "",
         "dilation": "1", "transposed": True, "convention": "torch"}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    path = write_explorer(tmp_path_factory.mktemp("explorer") / "explorer.html", START)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        pg = browser.new_page(viewport={"width": 1300, "height": 900})
        pg.requests, pg.errors = [], []
        pg.on("request", lambda r: pg.requests.append(r.url))
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        pg.goto(path.as_uri())
        yield pg
        browser.close()


# ---------------------------------------------------------------- Python's answer
def _ns(st: dict) -> argparse.Namespace:
    opt = lambda v: v or None
    return argparse.Namespace(input=st["input"], kernel=st["kernel"], stride=st["stride"], dilation=st["dilation"],
                              padding=opt(st["padding"]), output_padding=opt(st["output_padding"]),
                              output_size=opt(st["output_size"]), conv=not st["transposed"],
                              convention=st["convention"])


def python_answer(st: dict):
    """What the CLI's parser and convt.compat.layer_spec make of the same controls."""
    try:
        spec = layer_from_args(_ns(st)).spec
    except ConvError:
        return None
    return list(spec.output_size), [list(p) for p in spec.pads]


def torch_grid():
    for i, k, s, d, pad, op, mode in itertools.product(
            ["1", "4", "3,5"], ["1", "3", "2,3"], ["1", "2", "3,1"], ["1", "2"],
            ["", "0", "1", "2:0", "0:1,1", "same", "valid", "same_lower"], ["", "1"], [True, False]):
        yield {"input": i, "kernel": k, "stride": s, "padding": pad, "output_padding": op if mode else "",
               "output_size": "", "dilation": d, "transposed": mode, "convention": "torch"}
    for i, o in itertools.product(["3", "4"], ["5", "6", "7", "8", "9"]):
        yield {**START, "input": i, "kernel": "3", "padding": "1", "output_padding": "", "output_size": o}


def framework_grid():
    pads = {"tensorflow": ["", "SAME", "VALID", "1:0", "0:2", "1"], "keras": ["", "same", "valid"],
            "onnx": ["", "SAME_UPPER", "SAME_LOWER", "VALID", "1:0", "2:1", "same"],
            "jax": ["", "SAME", "VALID", "1:2", "0:0"]}
    for conv, plist in pads.items():
        for i, k, s, d, pad, op, osz in itertools.product(["1", "4"], ["1", "3", "4"], ["1", "2", "3"], ["1", "2"],
                                                         plist, ["", "0", "1"], ["", "8"]):
            yield {"input": i, "kernel": k, "stride": s, "padding": pad, "output_padding": op, "output_size": osz,
                   "dilation": d, "transposed": True, "convention": conv}


def _compare(page, grid):
    grid = list(grid)
    got = page.evaluate("g => g.map(st => window.convtExplorer.resolve(st))", grid)
    bad = []
    for st, g in zip(grid, got):
        want = python_answer(st)
        have = None if "error" in g else (g["o"], g["pads"])
        if have != (None if want is None else tuple(want)):
            bad.append((st, want, g))
    assert not bad, f"{len(bad)} of {len(grid)} settings differ, e.g. {bad[:3]}"
    return len(grid)


def test_torch_grid_matches_python(page):
    assert _compare(page, torch_grid()) > 800


def test_framework_grid_matches_python(page):
    assert _compare(page, framework_grid()) > 2000


def test_direct_grid_every_convention(page):
    grid = [{**st, "convention": conv, "padding": pad, "output_padding": "", "output_size": "", "transposed": False}
            for st in list(torch_grid())[::9]
            for conv, pad in (("tensorflow", "SAME"), ("tensorflow", "1:0"), ("keras", "same"), ("keras", "valid"),
                              ("onnx", "SAME_LOWER"), ("onnx", ""), ("jax", "VALID"), ("jax", "0:2"))]
    assert _compare(page, grid) > 1000


def random_grid(n: int, seed: int = 0):
    """Random settings over wider ranges than the grids: negative pads, words in the wrong case, per-axis
    values, output_padding and output_size for every convention (found the TensorFlow negative-pads rule)."""
    import random

    r = random.Random(seed)
    pads = {"torch": ["", "0", "1", "3", "-1", "2:0", "0:1", "-1:2", "same", "valid", "same_lower", "1,2"],
            "tensorflow": ["", "SAME", "VALID", "1:0", "0:2", "1", "-1:0", "same"],
            "keras": ["", "same", "valid", "SAME", "1"],
            "onnx": ["", "SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET", "1:0", "2:1", "same", "-1:0"],
            "jax": ["", "SAME", "VALID", "1:2", "0:0", "-1:-1", "-2:3", "SAME_LOWER"]}

    def ints(lo, hi, nd):
        return ",".join(str(r.randint(lo, hi)) for _ in range(nd)) if r.random() < 0.5 else str(r.randint(lo, hi))

    for _ in range(n):
        conv, nd, transposed = r.choice(list(pads)), r.choice([1, 2]), r.random() < 0.7
        yield {"input": ints(1, 7, nd), "kernel": ints(1, 5, nd), "stride": ints(1, 4, nd), "dilation": ints(1, 3, nd),
               "padding": r.choice(pads[conv]), "transposed": transposed, "convention": conv,
               "output_padding": r.choice(["", "", "0", "1", "2", "3", "1,0"] if transposed else ["", "", "1"]),
               "output_size": r.choice(["", "", "", "5", "8", "9", "12", "7,8"] if transposed else ["", "", "5"])}


def test_random_settings_match_python(page):
    assert _compare(page, random_grid(3000)) == 3000


def test_page_shows_python_sizes_through_the_controls(page):
    """Type into the controls and read the size the page displays."""
    for st in list(torch_grid())[::37]:
        page.evaluate("st => window.convtExplorer.set(st)", st)
        want = python_answer(st)
        shown = page.get_attribute("#out-size", "data-size")
        if want is None:
            assert shown == "" and page.inner_text("#error")
        else:
            assert shown == ",".join(map(str, want[0])), st


def test_changing_a_control_redraws(page):
    page.evaluate("st => window.convtExplorer.set(st)", START)
    assert page.inner_text("#out-size") == "6×6"
    before = page.inner_html("#gather")
    page.fill("#input", "5,4")
    assert page.inner_text("#out-size") == "10×8"
    assert page.inner_html("#gather") != before
    before = page.inner_html("#scatter")
    page.eval_on_selector("#step", "e => { e.value = 7; e.dispatchEvent(new Event('input')); }")   # the slider
    assert page.inner_html("#scatter") != before
    page.select_option("#mode", "direct")
    page.fill("#output_padding", "")
    assert page.inner_text("#out-size") == "3×2"          # floor((5 + 2 - 3) / 2) + 1, floor((4 + 2 - 3) / 2) + 1
    assert "torch.nn.Conv2d" in page.inner_text("#calls")
    page.select_option("#mode", "transposed")
    page.select_option("#convention", "tensorflow")
    page.fill("#padding", "SAME")
    assert page.inner_text("#out-size") == "10×8"
    assert "tf.nn.conv2d_transpose" in page.inner_text("#calls")
    page.fill("#kernel", "0")
    assert "kernel must be >= 1" in page.inner_text("#error")


@pytest.mark.parametrize("st, drawn", [({"input": "3", "stride": "1000000"}, False),
                                       ({"input": "40,40", "stride": "2"}, False),
                                       ({"input": "16,16", "stride": "2"}, True),
                                       ({"input": "1", "stride": "1000000000"}, True)])
def test_too_large_to_draw_keeps_the_arithmetic(page, st, drawn):
    """The page draws what `convt draw` draws: a huge setting gets its sizes, formulas and calls at once and
    a note instead of millions of cells, with convt.draw's limits."""
    page.evaluate("st => window.convtExplorer.set(st)", {**START, "output_padding": "", **st})
    spec = python_answer({**START, "output_padding": "", **st})
    assert page.get_attribute("#out-size", "data-size") == ",".join(map(str, spec[0]))
    note = page.inner_text("#draw-note")
    if drawn:
        assert note == "" and page.inner_html("#gather") != ""
        if st["stride"] == "1000000000":  # drawn (3 cells), its phases not listed one by one
            assert "UNEVEN (taps per phase [1000000000 phases])" in page.inner_text("#overlap-note")
    else:
        assert "too large to draw legibly" in note and page.inner_html("#gather") == ""
        assert f"at most {AXIS_LIMIT}" in note and f"at most {MATRIX_LIMIT}" in note


def test_screenshot_not_blank_and_offline(page):
    page.evaluate("st => window.convtExplorer.set(st)", START)
    img = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    colours = img.getcolors(1 << 20)
    assert colours is not None and len(colours) > 50
    assert max(n for n, _ in colours) < 0.95 * img.width * img.height
    assert all(u.startswith("file://") for u in page.requests), page.requests
    assert page.errors == []


# ---------------------------------------------------------------- the ready-to-paste calls
def _tuple(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in re.findall(r"-?\d+", text))


def _calls_reproduce(st: dict, calls: str) -> None:
    """Every framework call the page prints describes the same layer (read back by convt.compat)."""
    from convt.compat import layer_spec

    spec = layer_from_args(_ns(st)).spec
    nd = spec.nd
    common = {"transposed": True, "input_size": spec.input_size, "kernel_size": spec.kernel_size,
              "stride": spec.stride, "dilation": spec.dilation}

    def same(name: str, got) -> None:
        assert (got.pads, got.output_size) == (spec.pads, spec.output_size), (name, st, calls)

    lines = calls.splitlines()
    line = lambda prefix: next(x for x in lines if x.startswith(prefix))
    torch_line = line(f"torch.nn.ConvTranspose{nd}d") if "# no torch.nn" not in calls else None
    if torch_line:
        m = re.search(r"padding=(\(.*?\)|\d+), output_padding=(\(.*?\)|\d+)", torch_line)
        same("torch", layer_spec("torch", padding=_tuple(m[1]) * (nd if len(_tuple(m[1])) == 1 else 1),
                                 output_padding=_tuple(m[2]) * (nd if len(_tuple(m[2])) == 1 else 1), **common))
    else:  # PyTorch cannot: the begin crop is negative or the end crop is not within output_padding's reach
        assert any(cb < 0 or not 0 <= cb - ce < max(s, d) for (cb, ce), s, d in
                   zip(spec.pads, spec.stride, spec.dilation))
    if "# no tf.nn" not in calls:
        tf_line = line(f"tf.nn.conv{nd}d_transpose")
        shape = _tuple(re.search(r"output_shape=\[N, ([\d, ]+), C_out\]", tf_line)[1])
        word = re.search(r'padding="(\w+)"', tf_line)
        if word:
            pad = word[1]
        else:
            flat = _tuple(re.search(r"padding=\[\[0, 0\], (.*), \[0, 0\]\]", tf_line)[1])
            pad = [flat[2 * a: 2 * a + 2] for a in range(nd)]
        same("tensorflow", layer_spec("tensorflow", padding=pad, output_size=shape, **common))
    if "# no Keras" not in calls:
        k = re.search(r'padding="(\w+)", output_padding=(None|\d+)', line("keras.layers"))
        same("keras", layer_spec("keras", padding=k[1], output_padding=None if k[2] == "None" else int(k[2]), **common))
    if "# no ONNX" not in calls:
        o = re.search(r"pads=\[(.*?)\], output_padding=\[(.*?)\]", line("ConvTranspose("))
        flat = _tuple(o[1])
        same("onnx", layer_spec("onnx", padding=[(flat[a], flat[nd + a]) for a in range(nd)],
                                output_padding=_tuple(o[2]), **common))
    else:
        assert any(cb < 0 or -ce >= s for (cb, ce), s in zip(spec.pads, spec.stride))
    j = _tuple(re.search(r"padding=\[(.*?)\], rhs", line("jax.lax.conv_transpose"))[1])
    same("jax", layer_spec("jax", padding=[j[2 * a: 2 * a + 2] for a in range(nd)], **common))


def _pairs(text: str, nd: int) -> list[tuple[int, int]]:
    v = _tuple(text)
    return [v[2 * a: 2 * a + 2] for a in range(nd)]


def _direct_calls_reproduce(st: dict, calls: str) -> None:
    """Every direct-convolution call the page prints describes the same layer (read back by convt.compat)."""
    from convt.compat import layer_spec

    spec = layer_from_args(_ns(st)).spec
    nd = spec.nd
    common = {"transposed": False, "input_size": spec.input_size, "kernel_size": spec.kernel_size,
              "stride": spec.stride, "dilation": spec.dilation}

    def same(name: str, padding, convention: str = "torch") -> None:
        got = layer_spec(convention, padding=padding, **common)
        assert (got.pads, got.output_size) == (spec.pads, spec.output_size), (name, st, calls)

    def net(grow, cut):  # zero padding after a crop: the (lo, hi) of convt.conv
        return [(g0 - c0, g1 - c1) for (g0, g1), (c0, c1) in zip(grow, cut)]

    lines = calls.splitlines()
    line = lambda prefix: next(x for x in lines if x.startswith(prefix))
    same("convt", _pairs(re.search(r"padding=\[(.*?)\], dilation", line("convt.conv("))[1], nd))
    torch_line = line(f"torch.nn.Conv{nd}d")
    if "F.pad" in torch_line:  # F.pad lists (lo, hi) from the last axis back
        same("torch", _pairs(re.search(r"F\.pad\(x, \[(.*?)\]\)", torch_line)[1], nd)[::-1])
    else:
        p = _tuple(re.search(r"padding=(\(.*?\)|\d+), dilation", torch_line)[1])
        same("torch", p * (nd if len(p) == 1 else 1))
    refused = any(v > 1 for v in spec.stride) and any(v > 1 for v in spec.dilation)
    assert ("# no tf.nn.convolution" in calls) == refused and ("# no Keras Conv" in calls) == refused
    if not refused:
        tf_line = line("tf.nn.convolution(")
        word = re.search(r'padding="(\w+)"', tf_line)[1]
        if "tf.pad(" in tf_line:
            sl = re.search(r"x\[:, (.*?), :\]", tf_line)
            cut = [(int(a or 0), -int(b or 0)) for a, b in (t.split(":") for t in sl[1].split(", "))] if sl \
                else [(0, 0)] * nd
            grow = _pairs(re.search(r"\[\[0, 0\], (.*), \[0, 0\]\]\)", tf_line)[1], nd)
            assert word == "VALID" and min(min(g) for g in grow) >= 0
            same("tensorflow", net(grow, cut))
        else:
            same("tensorflow", word, "tensorflow")
        keras_line = line("keras.layers.")
        word = re.search(r'padding="(\w+)", dilation_rate', keras_line)[1]
        c = re.search(r"Cropping\dD\(cropping=(.*?)\) ->", keras_line)
        g = re.search(r"ZeroPadding\dD\(padding=(.*?)\) ->", keras_line)
        if c or g:
            assert word == "valid"
            same("keras", net(_pairs(g[1], nd) if g else [(0, 0)] * nd, _pairs(c[1], nd) if c else [(0, 0)] * nd))
        else:
            same("keras", word, "keras")
    onnx_line = next(x for x in lines if "Conv(X, W" in x)
    grow = (lambda v: [(v[a], v[nd + a]) for a in range(nd)])(_tuple(re.search(r"pads=\[(.*?)\]", onnx_line)[1]))
    assert min(min(p) for p in grow) >= 0
    if "Slice(" in onnx_line:
        starts = _tuple(re.search(r"starts=\[(.*?)\]", onnx_line)[1])
        ends = [0 if e == "INT64_MAX" else -int(e) for e in re.search(r"ends=\[(.*?)\]", onnx_line)[1].split(",")]
        same("onnx", net(grow, list(zip(starts, ends))))
    else:
        same("onnx", grow, "onnx")
    same("jax", _pairs(re.search(r"padding=\[(.*?)\], rhs", line("jax.lax.conv_general_dilated"))[1], nd), "jax")


def _check_calls(page, grid, reproduce) -> int:
    """Set each valid setting on the page and check its printed calls; the number checked."""
    checked = 0
    for st in grid:
        if python_answer(st) is None:
            continue
        page.evaluate("st => window.convtExplorer.set(st)", st)
        reproduce(st, page.inner_text("#calls"))
        checked += 1
    return checked


def test_ready_to_paste_calls_describe_the_same_layer(page):
    grid = [st for st in torch_grid() if st["transposed"]][::7] + list(framework_grid())[::23]
    assert _check_calls(page, grid, _calls_reproduce) > 150


def test_ready_to_paste_direct_calls_describe_the_same_layer(page):
    """Direct convolutions: PyTorch, TensorFlow, Keras, ONNX and JAX, negative pads (crops) included."""
    grid = [st for st in torch_grid() if not st["transposed"]][::3]
    grid += [{**START, "transposed": False, "output_padding": "", "input": i, "kernel": k, "stride": s,
              "dilation": d, "padding": p}
             for i, k, s, d, p in itertools.product(["7", "6,5"], ["3"], ["1", "2"], ["1", "2"],
                                                    ["-1:2", "2:-1,0:1", "same", "0", "valid"])]
    assert _check_calls(page, grid, _direct_calls_reproduce) > 100
