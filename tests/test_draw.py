"""convt draw: the files are valid, every frame is labelled, and the pictures' numbers are PyTorch's."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from convt import arithmetic as ar
from convt.cli import main
from convt.draw import draw, draw_side_by_side
from convt.draw._views import as_2d, build_model, frames, static_scene
from convt.errors import ConvError
from convt.spec import conv_spec, conv_transpose_spec


def _t(i, k, **kw):
    return conv_transpose_spec((1, 1, *i), (1, 1, *k), **kw)[0]


def _c(i, k, **kw):
    return conv_spec((1, 1, *i), (1, 1, *k), **kw)[0]


SETTINGS = {
    "seed_p05": _t((3, 3), (3, 3), stride=2, padding=1, output_padding=1),
    "asym_nonsquare": _t((3, 4), (2, 3), stride=(2, 3), padding=[(1, 0), (0, 2)], dilation=(1, 2)),
    "dilated_1d": _t((4,), (3,), stride=2, padding=1, output_padding=1, dilation=2),
    "negative_crop": _t((3,), (1,), stride=2, padding="same"),
    "direct_same": _c((6, 5), (3, 2), stride=2, padding="same"),
}


def _texts(scene):
    return [it[3] for it in scene.items if it[0] == "text"]


@pytest.mark.parametrize("name", list(SETTINGS))
def test_files_are_valid(tmp_path, name):
    spec = SETTINGS[name]
    png, gif, svg, html = (draw(spec, tmp_path / f"{name}.{e}") for e in ("png", "gif", "svg", "html"))
    with Image.open(png) as im:
        im.load()
        assert im.width > 300 and im.height > 200
        assert len(im.convert("RGB").getcolors(1 << 16)) > 5          # not blank
    with Image.open(gif) as im:
        assert getattr(im, "n_frames", 1) > 1
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    words = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "INPUT" in words and "OUTPUT" in words
    page = html.read_text()
    assert "<script src" not in page and "<link" not in page
    assert "https://" not in page and page.count("http://") == page.count("http://www.w3.org/2000/svg")


@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_frame_labels_input_and_output(name):
    m = build_model(SETTINGS[name])
    fs = list(frames(m))
    assert len(fs) == min(max(m.n_in, m.n_out), 48)
    for f in fs:
        t = " ".join(_texts(f))
        assert t.count("INPUT x") == 2 and t.count("OUTPUT y") == 2       # in (a) and in (b)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_numbers_are_torch(name):
    spec = SETTINGS[name]
    m = build_model(spec)
    x = torch.tensor(m.x, dtype=torch.float64)[None, None]
    w = torch.tensor(m.w, dtype=torch.float64)[None, None]
    sp = m.spec
    if sp.transposed:   # torch needs symmetric padding: crop the full result ourselves
        full = torch.nn.functional.conv_transpose2d(x, w, stride=sp.stride, dilation=sp.dilation)[0, 0].numpy()
        (b0, e0), (b1, e1) = sp.pads
        full = np.pad(full, [(0, max(-e0, 0)), (0, max(-e1, 0))])
        ref = full[b0: b0 + sp.output_size[0], b1: b1 + sp.output_size[1]]
    else:
        (l0, h0), (l1, h1) = sp.pads
        xp = torch.nn.functional.pad(x, (l1, h1, l0, h0))
        ref = torch.nn.functional.conv2d(xp, w, stride=sp.stride, dilation=sp.dilation)[0, 0].numpy()
    np.testing.assert_array_equal(m.y, ref)
    # the last frame shows every output value (and the static picture draws)
    assert static_scene(m).items
    texts = _texts(list(frames(m))[-1])
    for v in m.y.ravel():
        assert f"{v:g}" in texts


shapes = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2),
                   st.integers(0, 2), st.booleans())


@settings(max_examples=40, deadline=None)
@given(shapes, shapes)
def test_gather_and_scatter_pictures_add_up(a0, a1):
    """Summing the cells the drawn window covers (and the drawn patches) gives the output."""
    try:
        if a0[6]:
            spec = _t((a0[0], a1[0]), (a0[1], a1[1]), stride=(a0[2], a1[2]), dilation=(a0[3], a1[3]),
                      padding=[(a0[4], a0[5]), (a1[4], a1[5])])
        else:
            spec = _c((a0[0] + 2, a1[0] + 2), (a0[1], a1[1]), stride=(a0[2], a1[2]), dilation=(a0[3], a1[3]),
                      padding=[(a0[4], a0[5]), (a1[4], a1[5])])
    except ConvError:
        return
    m = build_model(spec)
    sp = m.spec
    gathered = np.zeros_like(m.y)
    for q0 in range(sp.output_size[0]):
        for q1 in range(sp.output_size[1]):
            pos, taps = [], []
            for a, q in ((0, q0), (1, q1)):
                k, s, d = sp.kernel_size[a], sp.stride[a], sp.dilation[a]
                if sp.transposed:
                    e = ar.equivalent_direct(sp.input_size[a], k, s, *sp.pads[a], d)
                    cells = [ar.stretched_cell(u, sp.input_size[a], s) for u in ar.gather_positions(q, k, d, e.pad_lo)]
                    taps.append(list(range(k))[::-1])        # the flipped kernel
                else:
                    cells = [c if 0 <= c < sp.input_size[a] else -2 for c in ar.window_positions(q, k, s, d, sp.pads[a][0])]
                    taps.append(list(range(k)))
                pos.append(cells)
            for t0, c0 in zip(taps[0], pos[0]):
                for t1, c1 in zip(taps[1], pos[1]):
                    if c0 >= 0 and c1 >= 0:
                        gathered[q0, q1] += m.x[c0, c1] * m.w[t0, t1]
    np.testing.assert_array_equal(gathered, m.y)
    scattered = np.zeros_like(m.y)
    for j0 in range(sp.input_size[0]):
        for j1 in range(sp.input_size[1]):
            for q0, t0 in m.targets(0, j0):
                for q1, t1 in m.targets(1, j1):
                    scattered[q0, q1] += m.x[j0, j1] * m.w[t0, t1]
    np.testing.assert_array_equal(scattered, m.y)


def test_1d_is_drawn_as_one_row():
    sp = as_2d(SETTINGS["dilated_1d"])
    assert sp.input_size == (1, 4) and sp.output_size[0] == 1


def test_3d_is_drawn_axis_by_axis_and_bad_extensions_refused(tmp_path):
    spec = _t((3, 2, 4), (2, 3, 3), stride=(2, 1, 2), padding=1)
    svg = draw(spec, tmp_path / "a.svg").read_text()
    assert "3-D transposed convolution (torch): input 3×2×4 → output 4×2×7" in svg
    for a, (i, o) in enumerate(zip(spec.input_size, spec.output_size)):  # each axis: its own 1-D picture, sizes
        assert f"axis {a}" in svg and f"1-D transposed convolution (torch): input {i} → output {o}" in svg
    with Image.open(draw(spec, tmp_path / "a.png")) as im:
        assert im.height > 3 * 250 and len(set(im.convert("L").getdata())) > 10
    with pytest.raises(ConvError, match=r"3-D setting is drawn axis by axis in a \.png or \.svg"):
        draw(spec, tmp_path / "a.gif")
    with pytest.raises(ConvError, match="1-D and 2-D settings are drawn as one picture"):
        as_2d(spec)
    with pytest.raises(ConvError, match=r"\.png, \.svg, \.gif, \.html"):
        draw(SETTINGS["seed_p05"], tmp_path / "a.jpg")


def test_side_by_side(tmp_path):
    p = draw_side_by_side([(SETTINGS["seed_p05"], "a"), (SETTINGS["dilated_1d"], "b")], tmp_path / "s.png",
                          vertical=True)
    with Image.open(p) as im:
        assert im.height > 400


def test_cli_draw(tmp_path, capsys):
    out = tmp_path / "x.svg"
    assert main(["draw", "-o", str(out), "--input", "3,4", "--kernel", "3", "--stride", "2,1", "--padding",
                 "0:1,1", "--dilation", "1,2"]) == 0
    assert "input 3×4 → output" in out.read_text()
    assert main(["draw", "-o", str(tmp_path / "y.png"), "--input", "2,2,2"]) == 0  # axis by axis
    assert main(["draw", "-o", str(tmp_path / "y.gif"), "--input", "2,2,2"]) == 2
    assert "drawn axis by axis in a .png or .svg" in capsys.readouterr().err


@pytest.mark.parametrize("argv, cells", [(["--input", "3", "--kernel", "2", "--stride", "1000000"], "2000003 cells"),
                                         (["--input", "40,40", "--kernel", "3", "--stride", "2"], "10497600 cells"),
                                         (["--input", "300", "--conv"], "300 cells")])
def test_too_large_to_draw_is_refused_at_once(tmp_path, capsys, argv, cells):
    """A setting of millions of cells (a huge stride) is refused before anything is drawn, with its size."""
    for ext in ("png", "svg", "gif"):
        assert main(["draw", "-o", str(tmp_path / f"big.{ext}"), *argv]) == 2
        err = capsys.readouterr().err
        assert "too large to draw legibly" in err and cells in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / f"big.{ext}").exists()
    assert main(["draw", "-o", str(tmp_path / "big.html"), *argv]) == 0  # the explorer page is settings only


def test_a_spec_is_required(tmp_path):
    """draw, draw_side_by_side and explain take a ConvSpec; anything else is a TypeError naming it."""
    from convt.explain import explain

    for call in (lambda: draw((1, 2), tmp_path / "a.png"), lambda: draw_side_by_side([(None, "a")], tmp_path / "b.png"),
                 lambda: explain((1, 2))):
        with pytest.raises(TypeError, match="must be a ConvSpec"):
            call()


def test_a_huge_stride_with_a_small_picture_is_drawn(tmp_path, capsys):
    """One input element and a stride of 10**9: three output cells, drawn; the overlap note names the phases
    instead of listing 10**9 of them (once an OverflowError in phase_overlap)."""
    for ext in ("svg", "png", "gif"):
        assert main(["draw", "-o", str(tmp_path / f"a.{ext}"), "--input", "1", "--kernel", "3", "--stride",
                     "1000000000"]) == 0
    assert "taps per phase [1000000000 phases]" in (tmp_path / "a.svg").read_text()


@pytest.mark.parametrize(("convention", "padding"), [("torch", "1"), ("tensorflow", "SAME"), ("keras", "same"),
                                                     ("onnx", "SAME_LOWER"), ("jax", "VALID")])
def test_every_convention_is_drawn(tmp_path, convention, padding):
    from convt.compat import layer_spec

    out = tmp_path / f"{convention}.svg"
    assert main(["draw", "-o", str(out), "--convention", convention, "--input", "3,2", "--kernel", "3,2",
                 "--stride", "2", "--padding", padding]) == 0
    spec = layer_spec(convention, transposed=True, input_size=(3, 2), kernel_size=(3, 2), stride=2,
                      padding=(1, 1) if padding == "1" else padding)
    text = out.read_text()
    assert f"({convention})" in text
    assert f"output {spec.output_size[0]}×{spec.output_size[1]}" in text
    assert f"crop (begin, end) {list(spec.pads)}" in text
