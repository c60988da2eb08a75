"""Keras models: parameter counts (vs the papers and vs hand derivations), shapes, errors."""

from __future__ import annotations

import numpy as np
import pytest

import maskfer_lib  # noqa: F401  (import order: before TensorFlow)
from maskfer_lib.models import build_model, count_params, get_spec, list_models
from maskfer_lib.papers import putro

keras = pytest.importorskip("keras")

PUTRO_SLIM_PAPER = putro.TABLE2_PARAMS["putro_slim_rgc"] - putro.RGC_PARAMS_DERIVED  # "376K"


def bn(c):
    """Keras BatchNorm parameters: gamma, beta, moving mean, moving variance."""
    return 4 * c


@pytest.fixture(scope="module")
def paper_models():
    """Every Keras model at its paper input size and 7 classes, built once."""
    return {name: build_model(name) for name in list_models(framework="keras")}


# --- Putro ---------------------------------------------------------------------------------


def test_putro_slim_rgc_within_one_percent_of_table2(paper_models):
    n = count_params(paper_models["putro_slim_rgc"])
    assert abs(n - 756_447) / 756_447 < 0.01, n


def test_putro_slim_within_one_percent_of_376k(paper_models):
    n = count_params(paper_models["putro_slim"])
    assert abs(n - PUTRO_SLIM_PAPER) / PUTRO_SLIM_PAPER < 0.01, n
    assert abs(n - 376_000) / 376_000 < 0.01, n


def test_rgc_adds_exactly_the_derived_count(paper_models):
    c = 160  # RGC sits on the last 160-channel map
    gc = (49 * c + 1) + 2 * (9 * c * c // 2 + c // 2) + (9 * c // 2 * c + c)
    rc = (c * c // 2 + c // 2 + bn(c // 2)) + (c // 2 * c + c + bn(c))
    assert gc + rc == putro.RGC_PARAMS_DERIVED
    delta = count_params(paper_models["putro_slim_rgc"]) - count_params(paper_models["putro_slim"])
    assert delta == gc + rc


def test_putro_slim_matches_hand_count(paper_models):
    from maskfer_lib.models.keras import slim_rgc as s

    stem = s.STEM_WIDTH
    total = 27 * stem + stem + bn(stem)
    cin = stem
    for c, t in zip(s.BLOCK_WIDTHS, s.BLOCK_EXPANSIONS, strict=True):
        hid = cin * t
        if t != 1:
            total += cin * hid + hid
        total += 9 * hid + hid + bn(hid) + hid * c + c + bn(c)
        cin = c
    total += 160 * 7 + 7
    assert count_params(paper_models["putro_slim"]) == total


# --- Çelik -----------------------------------------------------------------------------------


def test_celik_matches_hand_count(paper_models):
    convs = [(1, 64, 3), (64, 128, 5), (128, 512, 3), (512, 512, 3)]
    total = sum(k * k * ci * co + co + bn(co) for ci, co, k in convs)
    flat = 3 * 3 * 512  # 48 / 2**4 = 3
    total += flat * 256 + 256 + bn(256) + 256 * 512 + 512 + bn(512) + 512 * 7 + 7
    assert count_params(paper_models["celik_cnn"]) == total == 4_478_727


# --- Table 2 baselines -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2", "vgg16"])
def test_exact_table2_counts(paper_models, name):
    assert count_params(paper_models[name]) == get_spec(name).paper_params


def test_vgg16_matches_hand_count(paper_models):
    widths = [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    total = sum(9 * a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True)) + 512 * 7 + 7
    assert count_params(paper_models["vgg16"]) == total


def test_vgg16_own_layout_equals_keras_applications():
    from maskfer_lib.models.keras.vgg import vgg_features

    inp = keras.Input((48, 48, 3))
    own = keras.Model(inp, vgg_features(inp, width_mult=1.0))
    ref = keras.applications.VGG16(include_top=False, weights=None, input_shape=(48, 48, 3))
    assert own.count_params() == ref.count_params()


def test_resnet18_matches_hand_count(paper_models):
    total = 49 * 3 * 64 + bn(64)
    cin = 64
    for s, w in enumerate((64, 128, 256, 512)):
        for b in range(2):
            total += 9 * cin * w + bn(w) + 9 * w * w + bn(w)
            if s > 0 and b == 0:
                total += cin * w + bn(w)
            cin = w
    total += 512 * 7 + 7
    assert count_params(paper_models["resnet18"]) == total


def test_shufflenet_v1_matches_hand_count(paper_models):
    g = 3
    total = 27 * 24 + bn(24)
    cin = 24
    for s, (out, reps) in enumerate(zip((240, 480, 960), (4, 8, 4), strict=True)):
        for u in range(reps):
            stride2 = u == 0
            g1 = 1 if (s == 0 and u == 0) else g
            mid = out // 4
            branch = out - cin if stride2 else out
            total += cin * mid // g1 + bn(mid) + 9 * mid + bn(mid) + mid * branch // g + bn(branch)
            cin = out
    total += 960 * 7 + 7
    assert count_params(paper_models["shufflenet_v1"]) == total


def test_shufflenet_v2_matches_hand_count(paper_models):
    total = 27 * 24 + bn(24)
    cin = 24
    for out, reps in zip((244, 488, 976), (4, 8, 4), strict=True):
        half = out // 2
        for u in range(reps):
            if u == 0:  # both branches, stride 2
                total += 9 * cin + bn(cin) + cin * half + bn(half)
                total += cin * half + bn(half) + 9 * half + bn(half) + half * half + bn(half)
            else:
                total += half * half + bn(half) + 9 * half + bn(half) + half * half + bn(half)
            cin = out
    total += 976 * 2048 + bn(2048) + 2048 * 7 + 7
    assert count_params(paper_models["shufflenet_v2"]) == total


def test_ghostnet_and_mobilenet_v3_near_what_docstrings_state(paper_models):
    # GhostNet 1.0x is within 0.5 % of Table 2; MobileNetV3-Large with its head is the
    # nearest keras.applications variant (17 % below the printed 5,127,839).
    g = count_params(paper_models["ghostnet"])
    assert abs(g - 3_918_680) / 3_918_680 < 0.005, g
    assert count_params(paper_models["mobilenet_v3"]) == 4_235_399


# --- shapes, width, registry, errors -------------------------------------------------------


@pytest.mark.parametrize(
    "name,shape,classes,width",
    [
        ("celik_cnn", (48, 48, 1), 4, 1.0),
        ("celik_cnn", (64, 64, 3), 3, 0.25),
        ("putro_slim_rgc", (64, 64, 3), 3, 0.5),
        ("putro_slim", (48, 48, 1), 7, 1.0),
        ("mobilenet_v2", (64, 64, 3), 4, 0.35),
        ("mobilenet_v3", (64, 64, 3), 5, 0.75),
        ("shufflenet_v1", (64, 64, 3), 3, 0.5),
        ("shufflenet_v2", (64, 64, 3), 3, 0.25),
        ("vgg16", (64, 64, 3), 2, 0.25),
        ("resnet18", (64, 64, 3), 7, 0.25),
        ("ghostnet", (96, 80, 3), 3, 0.5),
    ],
)
def test_output_is_a_softmax_of_the_right_shape(name, shape, classes, width):
    model = build_model(name, classes, input_shape=shape, width_mult=width)
    x = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    y = np.asarray(model(x, training=False))
    assert y.shape == (2, classes)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", ["putro_slim_rgc", "resnet18", "shufflenet_v1", "ghostnet"])
def test_width_mult_shrinks_the_model(paper_models, name):
    small = build_model(name, width_mult=0.5)
    assert count_params(small) < 0.5 * count_params(paper_models[name])


def test_every_keras_model_builds_by_name_with_paper_defaults(paper_models):
    for name, model in paper_models.items():
        spec = get_spec(name)
        assert tuple(model.inputs[0].shape[1:]) == spec.input_shape, name
        assert model.output.shape[-1] == spec.num_classes, name


def test_bad_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        build_model("putro_slim", 7, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        build_model("putro_slim", 7, input_shape=(128, 128))
    with pytest.raises(TypeError, match="unexpected"):
        build_model("celik_cnn", 7, bogus=1)


def test_param_table_compares_with_the_paper():
    from maskfer_lib.speed.model_cost import param_table

    df = param_table(names=("putro_slim_rgc", "mobilenet_v2"), sizes=(48,))
    assert list(df["model"]) == ["putro_slim_rgc", "mobilenet_v2"]
    row = df.set_index("model").loc["mobilenet_v2"]
    assert row["params"] == row["paper_params"] == 2_266_951
    assert abs(row["gflops_diff_pct_48"]) < 1.0  # Table 2 is reproduced at 48x48
    assert abs(df.set_index("model").loc["putro_slim_rgc", "params_diff_pct"]) < 1.0


def test_registry_sets_keras_batchnorm_momentum():
    import keras

    from maskfer_lib.models import KERAS_BN_MOMENTUM, build_model

    model = build_model(
        "mobilenet_v2", 7, (48, 48, 3), width_mult=0.35
    )  # keras.applications: 0.999
    bns = [
        la
        for la in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(la, keras.layers.BatchNormalization)
    ]
    assert bns and all(la.momentum == KERAS_BN_MOMENTUM for la in bns)
