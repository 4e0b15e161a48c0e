"""The public contract of shared/API.md: names, argument names, defaults, result types."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import numpy as np
import pytest

import convt

# (module, function, the parameters API.md names, in order, with their defaults; ... = required)
CONTRACT = [
    ("convt", "conv", [("x", ...), ("weight", ...), ("bias", None), ("stride", 1), ("padding", 0), ("dilation", 1),
                       ("groups", 1), ("padding_mode", "zeros")]),
    ("convt", "conv_transpose", [("x", ...), ("weight", ...), ("bias", None), ("stride", 1), ("padding", 0),
                                 ("output_padding", 0), ("dilation", 1), ("groups", 1), ("output_size", None),
                                 ("padding_mode", "zeros")]),
    ("convt", "conv_grad", [("grad_output", ...), ("x", ...), ("weight", ...), ("stride", 1), ("padding", 0),
                            ("dilation", 1), ("groups", 1), ("padding_mode", "zeros")]),
    ("convt", "conv_transpose_grad", [("grad_output", ...), ("x", ...), ("weight", ...), ("stride", 1), ("padding", 0),
                                      ("output_padding", 0), ("dilation", 1), ("groups", 1), ("output_size", None),
                                      ("padding_mode", "zeros")]),
    ("convt", "conv_output_size", [("input_size", ...), ("kernel_size", ...), ("stride", 1), ("padding", 0), ("dilation", 1)]),
    ("convt", "conv_transpose_output_size", [("input_size", ...), ("kernel_size", ...), ("stride", 1), ("padding", 0),
                                             ("output_padding", 0), ("dilation", 1)]),
    ("convt", "conv_transpose_output_padding", [("input_size", ...), ("output_size", ...), ("kernel_size", ...),
                                                ("stride", 1), ("padding", 0), ("dilation", 1)]),
    ("convt", "conv_input_sizes", [("output_size", ...), ("kernel_size", ...), ("stride", 1), ("padding", 0), ("dilation", 1)]),
    *[("convt.compat.tensorflow", f"conv{n}d_transpose", [("input", ...), ("filters", ...), ("output_shape", ...),
                                                         ("strides", ...), ("padding", "SAME"), ("data_format", fmt),
                                                         ("dilations", None)])
      for n, fmt in ((1, "NWC"), (2, "NHWC"), (3, "NDHWC"))],
    *[("convt.compat.tensorflow", f"conv{n}d", [("input", ...), ("filters", ...), ("data_format", fmt), ("dilations", None)])
      for n, fmt in ((1, "NWC"), (2, "NHWC"), (3, "NDHWC"))],
    ("convt.compat.keras", "conv_transpose", [("inputs", ...), ("kernel", ...), ("bias", None), ("strides", 1),
                                              ("padding", "valid"), ("output_padding", None),
                                              ("data_format", "channels_last"), ("dilation_rate", 1)]),
    ("convt.compat.onnx", "conv_transpose", [("X", ...), ("W", ...), ("B", None), ("auto_pad", "NOTSET"), ("dilations", None),
                                             ("group", 1), ("kernel_shape", None), ("output_padding", None),
                                             ("output_shape", None), ("pads", None), ("strides", None)]),
    ("convt.compat.onnx", "conv", [("X", ...), ("W", ...), ("B", None), ("auto_pad", "NOTSET"), ("dilations", None),
                                   ("group", 1), ("kernel_shape", None), ("pads", None), ("strides", None)]),
    ("convt.compat.jax", "conv_transpose", [("lhs", ...), ("rhs", ...), ("strides", ...), ("padding", ...),
                                            ("rhs_dilation", None), ("dimension_numbers", None),
                                            ("transpose_kernel", False), ("use_consistent_padding", False)]),
]


@pytest.mark.parametrize("module,name,params", CONTRACT, ids=[f"{m}.{n}" for m, n, _ in CONTRACT])
def test_signature_matches_api_md(module, name, params):
    sig = inspect.signature(getattr(importlib.import_module(module), name))
    for pname, default in params:
        assert pname in sig.parameters, f"{module}.{name} lacks argument {pname!r}"
        got = sig.parameters[pname].default
        if default is ...:
            assert got is inspect.Parameter.empty, f"{pname} should be required"
        else:
            assert got == default, f"{module}.{name}({pname}=...) defaults to {got!r}, API.md says {default!r}"


def test_torch_layer_names_and_forward():
    ct = importlib.import_module("convt.torch")
    for name in ("conv", "conv_transpose", "icnr_", "Conv1d", "Conv2d", "Conv3d",
                 "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"):
        assert hasattr(ct, name), name
    assert list(inspect.signature(ct.ConvTranspose2d.forward).parameters)[1:] == ["input", "output_size"]
    assert list(inspect.signature(ct.icnr_).parameters)[:2] == ["weight", "scale"]


def test_convt_error_is_a_valueerror():
    assert issubclass(convt.ConvError, ValueError)


def test_results_are_ndarrays_from_lists():
    y = convt.conv_transpose([[[1.0, 2.0]]], [[[1.0, 1.0]]])
    assert type(y) is np.ndarray and y.shape == (1, 1, 3)


def test_import_convt_is_light():
    """The core needs only NumPy: importing convt (and convt.compat) loads no heavy framework."""
    code = ("import sys, convt, convt.compat, convt.compat.tensorflow, convt.compat.onnx, convt.compat.jax; "
            "heavy = {'torch', 'tensorflow', 'jax', 'onnxruntime', 'matplotlib', 'PIL', 'keras'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("command", ["explain", "draw", "translate", "bench", "study", "demo"])
def test_every_subcommand_has_help(command):
    from convt.cli import main

    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0


def test_bad_cli_argument_exits_2_with_one_line():
    r = subprocess.run([sys.executable, "-m", "convt", "explain", "--input", "4", "--kernel", "3", "--stride", "0"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "convt", "nosuchcommand"], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_torch_and_compat_load_on_first_use():
    code = ("import sys, convt; assert 'torch' not in sys.modules; "
            "m = convt.torch.ConvTranspose2d(2, 3, 4, stride=2, padding='same'); "
            "assert 'torch' in sys.modules and convt.compat.keras.__name__ == 'convt.compat.keras'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "ok"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        convt.nothing  # noqa: B018
