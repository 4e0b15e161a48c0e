"""Tests of the upsampling study (`convt study`): harness, models, metrics, report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from convt.cli import main  # noqa: E402
from convt.study.analysis import paired, verdict  # noqa: E402
from convt.study.metrics import checkerboard_index  # noqa: E402
from convt.study.models import (  # noqa: E402
    VARIANT,
    VARIANTS,
    Up,
    build,
    decoder_params,
    index_bits,
    match_widths,
    reference_widths,
    zero_insert,
)

C, B = 16, 4  # the study's sizes (runner.Config defaults)


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    assert main(["study", "--quick", "--out", str(out), "--no-progress"]) == 0
    return out


def test_quick_run_writes_report_figures_and_json(quick):
    results = json.loads((quick / "study" / "results.json").read_text())
    assert results["complete"] is True
    assert results["layers"] == "convt.torch"
    assert set(results["runs"]) == {v.key for v in VARIANTS}
    for key, runs in results["runs"].items():
        assert len(runs) == 1 and len(runs[0]["test_curve"]) == 2  # init + 1 epoch
        r = runs[0]
        assert 0 < r["mse"] < r["init"]["mse"], key  # one epoch of training lowers the test error
        assert r["psnr"] == pytest.approx(10 * np.log10(1 / r["mse"]))
        assert 0 < r["ssim"] < 1 and r["ssim"] > r["init"]["ssim"], key  # training raises the similarity
        for ci in (r["ci_const"], r["ci_data"], r["init"]["ci_const"], r["init"]["ci_data"]):
            assert 0 <= ci <= 1
    # the literature's prediction at initialisation: uneven overlap >> resize-convolution
    ci0 = {k: runs[0]["init"]["ci_const"] for k, runs in results["runs"].items()}
    assert ci0["convt3"] > 5 * ci0["nearest"]
    assert ci0["subpixel"] > 5 * ci0["subpixel_icnr"]
    text = (quick / "study.md").read_text()
    assert "## Expectations (written before the run)" in text
    assert "| variant | test MSE | PSNR (dB) | SSIM | s / epoch |" in text
    assert "Decision rule for the seed's claim" in text
    assert "| ConvT k4 s2 p1 |" in text and "quick" in text
    for name in ("reconstructions", "curves", "checkerboard", "overlap"):
        png = quick / "study" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size < 200_000


def test_report_regenerates_from_json_and_keeps_the_discussion(quick, tmp_path):
    md = quick / "study.md"
    text = md.read_text().replace("_No discussion written for this run yet._", "Hand-written: keep me.")
    md.write_text(text)
    (quick / "study" / "curves.png").unlink()
    assert main(["study", "--report", str(quick / "study" / "results.json"), "--out", str(quick)]) == 0
    again = md.read_text()
    assert "Hand-written: keep me." in again
    assert "No discussion written" not in again
    assert (quick / "study" / "curves.png").exists()


@pytest.mark.parametrize("argv, says", [
    (["study", "--variants", "convt4,nope"], "unknown nope"),
    (["study", "--report", "no/such/results.json"], "no results file"),
    (["study", "--report", "{tmp}/bad.json"], "is not a results file (JSON"),
    (["study", "--report", "{tmp}/empty.json"], "lacks config, runs"),
    (["study", "--report", "{tmp}/list.json"], "lacks config, runs"),
])
def test_bad_values_exit_2_with_one_line(argv, says, capsys, tmp_path):
    (tmp_path / "bad.json").write_text("not json")
    (tmp_path / "empty.json").write_text("{}")
    (tmp_path / "list.json").write_text("[1, 2]")
    assert main([*(a.format(tmp=tmp_path) for a in argv), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err and says in err


@pytest.mark.parametrize("argv", [["study", "--seeds", "1,1"], ["study", "--epochs", "0"], ["study", "--seeds", "a"],
                                  ["study", "--seeds", "-1"], ["study", "--seeds", str(2**64)]])
def test_bad_arguments_exit_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err


# ---------------------------------------------------------------- models


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.widths_of is None], ids=lambda v: v.key)
def test_parameter_counts_matched_within_2_percent(variant):
    ref = decoder_params(VARIANT["maxunpool"], C, B, reference_widths(C))
    model = build(variant, C, B, seed=0)
    n_dec = sum(p.numel() for p in model.decoder.parameters())
    assert n_dec == decoder_params(variant, C, B, match_widths(variant, C, B))
    assert abs(n_dec / ref - 1) <= 0.02
    n_enc = sum(p.numel() for p in model.encoder.parameters())
    ref_model = build("maxunpool", C, B, seed=0)
    assert abs((n_enc + n_dec) / sum(p.numel() for p in ref_model.parameters()) - 1) <= 0.02


def test_same_width_decoders_mirror_the_encoder():
    for v in VARIANTS:
        dec = build(v, C, B, seed=0, same_width=True).decoder
        assert (dec.expand.out_channels, dec.head.in_channels) == (2 * C, C)
    n = {k: sum(p.numel() for p in build(k, C, B, 0, same_width=True).decoder.parameters())
         for k in ("convt4", "convt3", "subpixel")}
    assert n["convt3"] < n["convt4"] < n["subpixel"]  # 9, 16 and 36 taps per channel pair


def test_encoder_is_shared_and_identically_initialised_per_seed():
    a, b = build("convt4", C, B, seed=3), build("maxunpool", C, B, seed=3)
    for (na, pa), (nb, pb) in zip(a.encoder.named_parameters(), b.encoder.named_parameters(), strict=True):
        assert na == nb and torch.equal(pa, pb)
    assert not torch.equal(build("convt4", C, B, seed=4).encoder.conv1.weight, a.encoder.conv1.weight)


@settings(max_examples=15, deadline=None)
@given(cin=st.integers(1, 4), cout=st.integers(1, 4), h=st.integers(1, 6), w=st.integers(1, 6),
       seed=st.integers(0, 2**16))
def test_zero_insertion_unpool_plus_conv_equals_transposed_conv(cin, cout, h, w, seed):
    torch.manual_seed(seed)
    stage = Up("zeros", cin, cout).double()
    x = torch.randn(2, cin, h, w, dtype=torch.float64)
    import convt.torch as ct

    t = ct.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1).double()
    with torch.no_grad():  # matched weights: swap in/out channels and flip the kernel
        t.weight.copy_(stage.conv.weight.transpose(0, 1).flip(-2, -1))
        t.bias.copy_(stage.conv.bias)
    got, want = stage(x), t(x)
    assert got.shape == want.shape == (2, cout, 2 * h, 2 * w)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_max_unpool_with_first_position_indices_is_zero_insertion():
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    # a constant image puts every max at the first window position
    _, idx = torch.nn.functional.max_pool2d(torch.zeros(2, 3, 10, 8), 2, return_indices=True)
    torch.testing.assert_close(torch.nn.functional.max_unpool2d(x, idx, 2), zero_insert(x), rtol=0, atol=0)


def test_index_bits_are_the_argmax_position_in_each_window():
    torch.manual_seed(1)
    x = torch.randn(2, 3, 6, 8)
    pooled, idx = torch.nn.functional.max_pool2d(x, 2, return_indices=True)
    bits = index_bits(idx, 8)
    assert bits.shape == (2, 6, 3, 4)
    row, col = (bits[:, :3] > 0).long(), (bits[:, 3:] > 0).long()
    blocks = x.reshape(2, 3, 3, 2, 4, 2)
    picked = blocks.permute(0, 1, 2, 4, 3, 5)[
        torch.arange(2)[:, None, None, None], torch.arange(3)[None, :, None, None],
        torch.arange(3)[None, None, :, None], torch.arange(4)[None, None, None, :], row, col]
    torch.testing.assert_close(picked, pooled, rtol=0, atol=0)


def test_icnr_subpixel_starts_as_nearest_neighbour_upsampling():
    torch.manual_seed(0)
    stage = Up("subpixel", 3, 2, icnr=True)
    y = stage(torch.randn(1, 3, 5, 5))
    blocks = y.reshape(1, 2, 5, 2, 5, 2)
    torch.testing.assert_close(blocks, blocks[:, :, :, :1, :, :1].expand_as(blocks), rtol=0, atol=0)
    plain = Up("subpixel", 3, 2)(torch.randn(1, 3, 5, 5))
    assert float(checkerboard_index(plain[0].detach().numpy()).mean()) > 0.01


# ---------------------------------------------------------------- metrics


def test_checkerboard_index_constant_is_zero_and_periodic_is_one():
    assert checkerboard_index(np.full((28, 28), 0.7)) == 0.0
    assert checkerboard_index(np.zeros((6, 6))) == 0.0
    periodic = np.tile([[0.2, 0.9], [0.5, 0.1]], (14, 14))
    assert checkerboard_index(periodic) == pytest.approx(1.0)
    rows = np.tile([[1.0], [0.0]], (14, 28))  # (pi, 0) stripes are stride-periodic too
    assert checkerboard_index(rows) == pytest.approx(1.0)
    smooth = np.add.outer(np.arange(28.0), np.arange(28.0))
    assert checkerboard_index(smooth) < 0.01  # a ramp leaks a little into (pi, 0) and (0, pi)
    rippled = smooth + 3 * np.tile([[1, -1], [-1, 1]], (14, 14))
    assert checkerboard_index(rippled) > 10 * checkerboard_index(smooth)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 8), w=st.integers(1, 8), seed=st.integers(0, 2**16), offset=st.floats(-5, 5))
def test_checkerboard_index_equals_the_fft_energy_ratio(h, w, seed, offset):
    y = np.random.default_rng(seed).normal(size=(2 * h, 2 * w))
    F = np.abs(np.fft.fft2(y)) ** 2
    periodic = F[h, 0] + F[0, w] + F[h, w]  # (pi, 0), (0, pi), (pi, pi)
    want = periodic / (F.sum() - F[0, 0])
    assert checkerboard_index(y) == pytest.approx(want, rel=1e-9)
    assert checkerboard_index(y + offset) == pytest.approx(want, rel=1e-6)  # the mean does not count
    assert checkerboard_index(np.stack([y, 3 * y])) == pytest.approx([want, want], rel=1e-9)


# ---------------------------------------------------------------- statistics


def test_paired_comparison_and_verdict():
    runs = {"a": [{"seed": s, "mse": 1.0 + 0.01 * s} for s in range(5)],
            "b": [{"seed": s, "mse": 1.1 + 0.011 * s + 0.001 * (s % 2)} for s in range(5)]}
    p = paired({"runs": runs}, "a", "b")
    assert p["wins"] == 5 and p["t_p"] < 0.05 and p["mean_diff"] < 0
    assert verdict(p) == "a better"
    q = paired({"runs": runs}, "b", "a")
    assert q["wins"] == 0 and verdict(q) == "a better"
    runs["b"] = [{"seed": s, "mse": 1.0 + 0.01 * s + (0.002 if s % 2 else -0.002)} for s in range(5)]
    assert verdict(paired({"runs": runs}, "a", "b")) == "not resolved"


def test_ssim_is_scikit_images():
    """SSIM as scikit-image computes it (Gaussian window 1.5, population statistics), per image pair."""
    from skimage.metrics import structural_similarity

    from convt.study.metrics import ssim

    rng = np.random.default_rng(3)
    a = rng.random((6, 28, 28))
    b = np.clip(a + rng.normal(0, 0.2, a.shape), 0, 1)
    want = [structural_similarity(p, q, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False) for p, q in zip(a, b)]
    np.testing.assert_allclose(ssim(a, b), want, rtol=0, atol=1e-12)
    assert ssim(a[0], a[0]) == 1.0
