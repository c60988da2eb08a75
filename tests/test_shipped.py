"""Shipped ONNX weights: export, the JSON card, and maskfer_lib.predict."""

from __future__ import annotations

import json

import numpy as np
import pytest

import maskfer_lib
from maskfer_lib import shipped, train


def _keras_net(shape=(20, 20, 1), k=3):
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(k, activation="softmax"),
        ]
    )


def _torch_net(k=4):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, k),
    )
    return net.eval()


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_export_predict_matches_the_framework_model(framework, tmp_path):
    if framework == "keras":
        model, shape, names = _keras_net(), (20, 20, 1), ("a", "b", "c")
    else:
        model, shape, names = _torch_net(), (24, 24, 3), ("w", "x", "y", "z")
    path = shipped.export_weights(
        model, "tiny", class_names=names, input_shape=shape, trained_on="noise",
        profile="smoke", test_accuracy={"masked": 0.5}, weights_dir=tmp_path,
    )  # fmt: skip
    assert path.exists() and shipped.available(tmp_path) == ["tiny"]
    meta = json.loads((tmp_path / "tiny.json").read_text())
    assert meta["class_names"] == list(names)
    assert meta["input"]["size"] == shape[0] and meta["input"]["channels"] == shape[2]
    assert meta["check"]["max_abs_err_at_export"] <= shipped.CHECK_ATOL
    # crops of another size and channel count go through the card's preprocessing
    crops = np.random.default_rng(1).integers(0, 256, (5, 37, 41, 3), dtype=np.uint8)
    p = shipped.predict(crops, "tiny", tmp_path)
    assert p.shape == (5, len(names))
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    nhwc = {**meta, "input": {**meta["input"], "layout": "NHWC"}}
    want = train.predict_proba(model, shipped.preprocess(crops, nhwc))
    np.testing.assert_allclose(p, want, atol=shipped.CHECK_ATOL)
    assert shipped.verify("tiny", tmp_path) <= shipped.CHECK_ATOL


def test_predict_rejects_bad_input_with_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no shipped model 'nope'"):
        shipped.predict(np.zeros((1, 8, 8, 3), np.uint8), "nope", tmp_path)
    meta = {"input": {"size": 8, "channels": 1, "layout": "NHWC"},
            "preprocessing": {"scale": 1 / 255, "mean": [0.0], "std": [1.0]}}  # fmt: skip
    with pytest.raises(ValueError, match="uint8"):
        shipped.preprocess(np.zeros((1, 8, 8, 3), np.float32), meta)
    with pytest.raises(ValueError, match="face crops"):
        shipped.preprocess(np.zeros((1, 8, 8, 2), np.uint8), meta)


SHIPPED = shipped.available()


@pytest.mark.skipif(not SHIPPED, reason="no weights shipped in maskfer_lib/weights yet")
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_load_and_match_their_cards(name):
    meta = shipped.card(name)
    assert (shipped.WEIGHTS_DIR / f"{name}.onnx").stat().st_size <= shipped.MAX_BYTES
    size, c = meta["input"]["size"], meta["input"]["channels"]
    crops = np.random.default_rng(0).integers(0, 256, (4, size + 7, size + 7, 3), dtype=np.uint8)
    p = maskfer_lib.predict(crops, model=name)
    assert p.shape == (4, len(meta["class_names"])) and c in (1, 3)
    assert shipped.verify(name) <= shipped.CHECK_ATOL
    acc = meta["test_accuracy"]
    for key in ("masked", "unmasked", "majority_masked", "majority_unmasked"):
        assert 0.0 <= acc[key] <= 1.0
    assert acc["masked"] > acc["majority_masked"]  # a shipped model beats the majority class


def test_ship_destination_follows_the_profile(tmp_path):
    from maskfer_lib import config

    real, smoke, quick = (config.get_profile(p) for p in ("real", "smoke", "quick"))
    assert shipped.ship_destination(real, "fer2013", tmp_path) == shipped.WEIGHTS_DIR
    assert shipped.ship_destination(real, "synthfacs", tmp_path) is None  # real data only
    assert shipped.ship_destination(smoke, "synthfacs", tmp_path) == tmp_path / "shipped"
    assert shipped.ship_destination(quick, "synthfacs", tmp_path) is None


def test_yang_approach_2_ships_taking_the_crop_alone(tmp_path):
    # Trained on crops + a precomputed heat-map channel, it must export computing the map
    # inside (stage 1 and the occlusion scan), with a dynamic batch, and agree with torch.
    from maskfer_lib.models import build_model

    stage1 = build_model("yang_stage1", 2, (48, 48, 1), width_mult=0.25)
    model = build_model(
        "yang_attention", 3, (32, 32, 3), width_mult=0.25, stage1=stage1, backbone="small",
        heat_patch=16, heat_stride=16,
    ).eval()  # fmt: skip
    assert model.crop_shape == (32, 32, 3)
    shipped.export_weights(
        model, "yang", class_names=("negative", "neutral", "positive"),
        input_shape=model.crop_shape, trained_on="noise", profile="smoke",
        test_accuracy={"masked": 0.5}, weights_dir=tmp_path,
    )  # fmt: skip
    # 120 crops: more than one eager chunk of the occlusion scan (1024 // 9 positions = 113)
    crops = np.random.default_rng(2).integers(0, 256, (120, 32, 32, 3), dtype=np.uint8)
    want = train.predict_proba(model, crops.astype(np.float32) / 255.0)
    np.testing.assert_allclose(shipped.predict(crops, "yang", tmp_path), want, atol=1e-4)
