"""FLOP counting (FLOPs = 2 x MACs) for Keras and torch, and Putro's Table 2 FLOPs."""

from __future__ import annotations

import pytest

import maskfer_lib  # noqa: F401  (import order: before TensorFlow / torch)
from maskfer_lib.models import build_model
from maskfer_lib.speed.flops import count_flops

keras = pytest.importorskip("keras")


def _keras(layer, shape):
    inp = keras.Input(shape)
    return keras.Model(inp, layer(inp))


def test_keras_dense_is_two_in_out():
    assert count_flops(_keras(keras.layers.Dense(5, use_bias=False), (10,))) == 2 * 10 * 5
    # the profiler also counts the bias add: one per output
    assert count_flops(_keras(keras.layers.Dense(5), (10,))) == 2 * 10 * 5 + 5


def test_keras_conv_is_two_macs():
    model = _keras(keras.layers.Conv2D(6, 3, padding="same", use_bias=False), (None, None, 4))
    assert count_flops(model, (8, 8, 4)) == 2 * (3 * 3 * 4 * 6) * (8 * 8)
    assert count_flops(model, (16, 16, 4)) == 2 * (3 * 3 * 4 * 6) * (16 * 16)
    fixed = _keras(keras.layers.Conv2D(6, 3, padding="same", use_bias=False), (8, 8, 4))
    with pytest.raises(ValueError, match="rebuild"):
        count_flops(fixed, (16, 16, 4))


def test_keras_hidden_grouped_conv_warns():
    # Keras 3 runs grouped convs in an XLA function the profiler does not enter.
    model = _keras(keras.layers.Conv2D(6, 1, groups=3, use_bias=False), (8, 8, 6))
    with pytest.warns(UserWarning, match="not counted"):
        count_flops(model)


def test_torch_linear_and_conv():
    torch = pytest.importorskip("torch")
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(10, 5))
    assert count_flops(lin, (1, 10, 1)) == 2 * 10 * 5
    conv = torch.nn.Conv2d(4, 6, 3, padding=1, bias=False)
    assert count_flops(conv, (8, 8, 4)) == 2 * (3 * 3 * 4 * 6) * 64


def test_unknown_model_type_is_a_clear_error():
    with pytest.raises(TypeError, match="framework"):
        count_flops(object(), (8, 8, 3))


@pytest.fixture(scope="module")
def putro_flops():
    out = {}
    for name in ("putro_slim", "putro_slim_rgc"):
        for s in (48, 128):
            out[name, s] = count_flops(build_model(name, 7, input_shape=(s, s, 3)))
    return out


@pytest.mark.parametrize("name,paper", [("putro_slim", 0.016e9), ("putro_slim_rgc", 0.019e9)])
def test_putro_flops_within_5pct_at_48(putro_flops, name, paper):
    assert abs(putro_flops[name, 48] - paper) / paper < 0.05, putro_flops[name, 48]


def test_128_input_does_not_reproduce_table2(putro_flops):
    # Table 2's FLOPs fit 48x48; at 128x128 the same network costs several times more.
    assert putro_flops["putro_slim_rgc", 128] > 4 * 0.019e9


def test_rgc_adds_three_mflops_on_a_2x2_map(putro_flops):
    delta = putro_flops["putro_slim_rgc", 48] - putro_flops["putro_slim", 48]
    convs = 2 * 4 * 379_040  # 2 x MACs per position x 2x2 positions (docs/putro-derivations.md)
    assert convs <= delta < 1.02 * convs
