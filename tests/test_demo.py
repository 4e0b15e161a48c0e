"""convt demo: the seed's worked examples, printed and drawn."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from convt.cli import main

FILES = ["seed1_2x2_to_4x4.png", "seed1_2x2_to_4x4.gif", "seed2_stride2_5x5.png", "seed2_stride2_5x5.gif",
         "case1_no_padding_unit_stride.png", "case2_padding_unit_stride.png", "case3_no_padding_stride2.png",
         "case4_padding_stride2.png", "p05_down_6_to_3.png", "p05_back_3_to_6_tf_vs_torch.png",
         "p05_back_3_to_6_torch.gif", "explorer.html"]


def test_demo_prints_and_draws(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2x2 -> 4x4" in out and "-> 5x5" in out
    for line in ("o' = i' + (k - 1)        = 6", "o' = i' + (k - 1) - 2p   = 4", "o' = s(i' - 1) + k - 2p  = 9",
                 "o' = s(i' - 1) + k - 2p  = 7"):
        assert line in out
    assert "every i in [5, 6] maps to 3" in out
    assert "TensorFlow SAME pads the stretched input (2, 1): extra on the left" in out
    assert "PyTorch output_padding pads (1, 2): extra on the right" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    for name in FILES:
        assert name in out
        p = tmp_path / name
        if name.endswith(".png"):
            with Image.open(p) as im:
                im.load()
                assert im.width > 300
        elif name.endswith(".gif"):
            with Image.open(p) as im:
                assert im.n_frames > 1
        else:
            page = p.read_text()
            assert '"output_padding": "1"' in page and "https://" not in page
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) < 1_500_000
    # the committed gallery is this command's output: the same files, and the explorer page
    # (no rendering library involved) byte for byte
    gallery = Path(__file__).resolve().parent.parent / "docs" / "gallery"
    assert sorted(p.name for p in gallery.iterdir()) == sorted(FILES)
    assert (gallery / "explorer.html").read_bytes() == (tmp_path / "explorer.html").read_bytes(), (
        "docs/gallery is stale: regenerate it with `convt demo --out docs/gallery`")


def test_file_system_errors_are_one_line(tmp_path, capsys):
    """A folder that cannot be made or a file that cannot be written: exit 2 and one line naming it, before
    any work (the demo's examples are not printed first)."""
    (tmp_path / "a-file").write_text("")
    assert main(["demo", "--out", str(tmp_path / "a-file")]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.strip() == f"convt demo: error: File exists: {tmp_path / 'a-file'}"
    assert main(["draw", "-o", str(tmp_path / "no" / "such" / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("convt draw: error: No such file or directory") and len(err.strip().splitlines()) == 1


def test_demo_without_figures(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--no-figures"]) == 0
    assert "figures written" not in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
