"""Bad input: the exception type and a fragment of its message, as a table."""

from __future__ import annotations

import numpy as np
import pytest

import convt

x1 = np.ones((1, 2, 5))
w1t = np.ones((2, 3, 3))   # conv_transpose weight (C_in=2, C_out=3)
w1 = np.ones((3, 2, 3))    # conv weight (C_out=3, C_in=2)

ERRORS = [
    # (function, args, kwargs, exception, message fragment)
    (convt.conv_transpose, (x1, w1t), dict(stride=0), convt.ConvError, "stride must be >= 1"),
    (convt.conv_transpose, (x1, w1t), dict(stride=(1, 2)), convt.ConvError, "sequence of 1 ints"),
    (convt.conv_transpose, (x1, w1t), dict(stride=1.5), TypeError, "stride must be an int"),
    (convt.conv_transpose, (x1, w1t), dict(stride=True), TypeError, "bool"),
    (convt.conv_transpose, (x1, w1t), dict(dilation=0), convt.ConvError, "dilation must be >= 1"),
    (convt.conv_transpose, (x1, w1t), dict(output_padding=1), convt.ConvError, "output_padding < max(stride, dilation)"),
    (convt.conv_transpose, (x1, w1t), dict(stride=2, output_padding=2), convt.ConvError, "valid: 0 to 1"),
    (convt.conv_transpose, (x1, w1t), dict(padding="full"), convt.ConvError, "'valid', 'same', 'same_lower'"),
    (convt.conv_transpose, (x1, w1t), dict(padding=(1, 2)), convt.ConvError, "one (lo, hi) pair per spatial axis"),
    (convt.conv_transpose, (x1, w1t), dict(padding=[(1, 2, 3)]), convt.ConvError, "(lo, hi) pair"),
    (convt.conv_transpose, (x1, w1t), dict(padding=5), convt.ConvError, "output size would be [-3]"),
    (convt.conv_transpose, (x1, w1t), dict(stride=2, output_size=[20]), convt.ConvError, "valid sizes range from [11] to [12]"),
    (convt.conv_transpose, (x1, w1t), dict(stride=2, output_size=[12], output_padding=1), convt.ConvError, "not both"),
    (convt.conv_transpose, (x1, w1t), dict(output_size=7), TypeError, "output_size must be a sequence"),
    (convt.conv_transpose, (x1, w1t), dict(output_size=np.array(7)), TypeError, "output_size must be a sequence"),
    (convt.conv_transpose, (None, w1t), {}, TypeError, "x must be an array, got None"),
    (convt.conv, (x1, None), {}, TypeError, "weight must be an array, got None"),
    (convt.conv_transpose_grad, (None, x1, w1t), {}, TypeError, "grad_output must be an array, got None"),
    (convt.conv_transpose, (x1, w1t), dict(groups=0), convt.ConvError, "groups must be a positive int"),
    (convt.conv_transpose, (x1, w1t), dict(groups=3), convt.ConvError, "3 does not divide 2"),
    (convt.conv_transpose, (x1, w1t), dict(padding_mode="mirror"), convt.ConvError, "'zeros', 'reflect'"),
    (convt.conv_transpose, (x1, w1t), dict(padding=3, padding_mode="reflect"), convt.ConvError, "at most size - 1 = 0"),
    (convt.conv_transpose, (x1, w1t, np.ones(2)), {}, convt.ConvError, "bias must have shape (C_out,) = (3,)"),
    (convt.conv_transpose, (np.ones((1, 3, 5)), w1t), {}, convt.ConvError, "expects 2 input channels"),
    (convt.conv_transpose, (np.ones((5,)), w1t), {}, convt.ConvError, "must have 3 dimensions"),
    (convt.conv_transpose, (x1, np.ones((2, 3))), {}, convt.ConvError, "at least 3 dimensions"),
    (convt.conv_transpose, (x1, np.ones((2, 3, 0))), {}, convt.ConvError, "must be >= 1"),
    (convt.conv_transpose, (np.ones((1, 2, 5), bool), w1t), {}, TypeError, "bool and object"),
    (convt.conv_transpose, (np.array([["a"]]), w1t), {}, TypeError, "dtype <U1"),
    (convt.conv, (x1, w1), dict(padding=-3), convt.ConvError, "padded input must be at least the dilated kernel"),
    (convt.conv, (x1, w1), dict(padding="same_upper"), convt.ConvError, "'same'"),
    (convt.conv, (x1, w1), dict(padding=5, padding_mode="reflect"), convt.ConvError, "size - 1 = 4"),
    (convt.conv, (x1, w1), dict(padding=6, padding_mode="circular"), convt.ConvError, "at most size = 5"),
    (convt.conv, (x1, np.ones((3, 1, 3))), {}, convt.ConvError, "expects 1 input channels"),
    (convt.conv, (x1, w1), dict(padding_mode=0), TypeError, "padding_mode must be a str"),
    (convt.conv_output_size, (5, 7), {}, convt.ConvError, "output size would be [-1]"),
    (convt.conv_output_size, ("5", 3), {}, TypeError, "input_size must be an int"),
    (convt.conv_output_size, ((5, 5), (3, 3, 3)), {}, convt.ConvError, "kernel_size must be an int or a sequence of 2 ints"),
    (convt.conv_transpose_output_padding, (3, 9, 3), dict(stride=2, padding=1), convt.ConvError, "valid sizes range from [5] to [6]"),
    (convt.conv_transpose_output_padding, (1, 4, 1), dict(padding=2), convt.ConvError, "no output size is possible"),
    (convt.conv_transpose_output_padding, (1, 4, 2), dict(stride=3, padding=1), convt.ConvError,
     "valid sizes range from [1] to [2]"),
    (convt.conv_input_sizes, (0, 3), {}, convt.ConvError, "output_size must be >= 1"),
]


@pytest.mark.parametrize("func,args,kwargs,exc,fragment", ERRORS,
                         ids=[f"{e[0].__name__}-{e[4][:30]}" for e in ERRORS])
def test_bad_input(func, args, kwargs, exc, fragment):
    with pytest.raises(exc) as info:
        func(*args, **kwargs)
    assert fragment in str(info.value)
    if exc is convt.ConvError:
        assert isinstance(info.value, ValueError)
        assert str(info.value).startswith(func.__name__)


def _compat_errors():
    from convt.compat import keras as ck
    from convt.compat import onnx as co
    from convt.compat import tensorflow as ctf

    x, w = np.ones((1, 1, 5)), np.ones((1, 1, 3))
    xl, wl = np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 2))
    return [  # found by fuzzing the adapters with values of the wrong kind
        (co.conv_transpose, (x, w), dict(pads=1), TypeError, "onnx ConvTranspose: pads must be a list of ints"),
        (co.conv, (x, w), dict(pads=np.array(1)), TypeError, "onnx Conv: pads must be a list of ints"),
        (co.conv_transpose, (x, w), dict(output_shape=7.5), TypeError, "output_shape must be a list of ints"),
        (co.conv_transpose, (x, w), dict(kernel_shape=2), convt.ConvError, "kernel_shape [2] is not compatible"),
        (ctf.conv2d_transpose, (xl, wl, [1, 5, 5, 2], 1), dict(data_format=np.array([1, 2])), convt.ConvError,
         "data_format must be 'NHWC' or 'NCHW'"),
        (ck.conv_transpose, (xl, wl), dict(data_format=["channels_last"]), convt.ConvError, "data_format"),
        # ONNX's own names: B and group (they were reported as bias and groups)
        (co.conv_transpose, (np.ones((1, 2, 5)), np.ones((2, 4, 3)), np.ones(3)), {}, convt.ConvError,
         "onnx ConvTranspose: B must have shape (M,) = (4,)"),
        (co.conv, (np.ones((1, 4, 5)), np.ones((3, 2, 3))), dict(group=2), convt.ConvError,
         "onnx Conv: group=2 must be a positive divisor of the 4 input channels of X and of the 3 filters of W"),
        (co.conv_transpose, (np.ones((1, 2, 5)), np.ones((2, 4, 3))), dict(group=True), TypeError,
         "onnx ConvTranspose: group must be an int"),
    ]


@pytest.mark.parametrize("case", range(9))
def test_bad_input_to_the_adapters(case):
    func, args, kwargs, exc, fragment = _compat_errors()[case]
    with pytest.raises(exc) as info:
        func(*args, **kwargs)
    assert fragment in str(info.value)
