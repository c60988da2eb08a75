"""Recipes: schedules, augmentation, name resolution, and what fit records of them."""

from __future__ import annotations

import json

import numpy as np
import pytest

import maskfer_lib  # noqa: F401  (import order: before torch / keras)
from maskfer_lib import recipe as R
from maskfer_lib.train import fit


def test_cosine_schedule_warms_up_then_decays_to_the_floor():
    rec = R.Recipe("c", schedule="cosine", warmup_epochs=1.0, min_lr_fraction=0.1)
    lrs = np.array([rec.lr_at(1e-2, s, steps_per_epoch=10, epochs=5) for s in range(50)])
    np.testing.assert_allclose(lrs[:10], 1e-2 * np.arange(1, 11) / 10)  # linear warm-up
    assert np.all(np.diff(lrs[10:]) <= 1e-15)  # then never rises
    assert lrs[10] == pytest.approx(1e-2)
    assert lrs[-1] == pytest.approx(1e-3, rel=0.02)  # ends near 0.1 x peak
    const = R.Recipe("k")
    assert {const.lr_at(3e-4, s, 10, 5) for s in range(50)} == {3e-4}


def test_augment_jitters_a_copy_and_keeps_shape():
    rng = np.random.default_rng(0)
    x = np.zeros((64, 12, 12, 3), np.float32)
    x[:, 5:7, 0:3] = 1.0  # a bar at the left edge
    before = x.copy()
    out = R.MODERN.augment(x, rng)
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_array_equal(x, before)  # input untouched
    assert 0.0 <= out.min() and out.max() <= 1.0
    right = out[:, :, 7:].sum(axis=(1, 2, 3)) > 0.5
    assert 0 < right.sum() < 64  # flipped some, not all
    assert not np.allclose(out, x)
    # no geometric and no photometric part, no flip: the identity
    none = R.Augment(flip=False, translate=0.0, rotate=0.0, scale=0.0)
    np.testing.assert_array_equal(none(x, rng), x)


def test_brightness_and_contrast_change_the_images():
    rng = np.random.default_rng(1)
    x = np.random.default_rng(2).uniform(0.3, 0.7, (32, 8, 8, 1)).astype(np.float32)
    aug = R.Augment(flip=False, translate=0, rotate=0, scale=0, brightness=0.2, contrast=0.2)
    out = aug(x, rng)
    means = out.mean(axis=(1, 2, 3)) - x.mean(axis=(1, 2, 3))
    assert np.abs(means).max() > 0.05
    stds = out.std(axis=(1, 2, 3)) / x.std(axis=(1, 2, 3))
    assert stds.min() < 0.95 and stds.max() > 1.05


def test_get_recipe_resolves_paper_and_rejects_unknown():
    assert R.get_recipe(None) is R.MODERN
    assert R.get_recipe("paper", "putro").name == "putro_paper"
    assert R.get_recipe("paper", "celik").reduce_lr == R.KERAS_REDUCE_LR
    assert R.get_recipe("paper", "hayashi").augment == R.SHIFT_FLIP
    with pytest.raises(ValueError, match="needs the model's paper"):
        R.get_recipe("paper")
    with pytest.raises(ValueError, match="unknown recipe"):
        R.get_recipe("fancy")
    with pytest.raises(ValueError, match="optimizer"):
        R.Recipe("x", optimizer="lion")
    with pytest.raises(ValueError, match="reduce_lr"):
        R.Recipe("x", schedule="plateau")


def test_every_recipe_is_json_recordable():
    for rec in R.RECIPES.values():
        d = json.loads(json.dumps(rec.record()))
        assert d["name"] == rec.name and d["optimizer"] == rec.optimizer


def _toy(n=96, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.uniform(0, 0.3, (n, 9, 9, 1)).astype(np.float32)
    for i, c in enumerate(y):
        x[i, 3 * c : 3 * c + 3] += 0.7
    return np.clip(x, 0, 1), y


def _torch_net():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 7 * 7, 3),
    )


def test_fit_records_the_recipe_and_a_changed_part_retrains(tmp_path):
    x, y = _toy()
    kw = dict(epochs=2, batch_size=32, lr=1e-2, out_dir=tmp_path, progress=False)
    fit(_torch_net(), x, y, x, y, recipe="modern", **kw)
    meta = json.loads((tmp_path / "fit.json").read_text())
    assert meta["recipe"]["name"] == "modern"
    assert meta["recipe"]["label_smoothing"] == 0.1
    assert meta["recipe"]["augment"]["rotate"] == R.MODERN.augment.rotate
    again = fit(_torch_net(), x, y, x, y, recipe="modern", **kw)
    assert again.attrs.get("resumed") is True
    other = fit(_torch_net(), x, y, x, y, recipe=R.MODERN.with_parts(label_smoothing=0.0), **kw)
    assert "resumed" not in other.attrs


def test_torch_weight_decay_skips_biases_and_batchnorm():
    import torch

    from maskfer_lib.train import _TorchBackend

    net = _torch_net()
    b = _TorchBackend(net, 1e-3, R.MODERN)
    assert isinstance(b.opt, torch.optim.AdamW)
    decayed = {id(p) for g in b.opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    for name, p in net.named_parameters():
        assert (id(p) in decayed) == (p.ndim > 1), name


def test_cosine_lr_is_what_the_history_reports():
    x, y = _toy()
    rec = R.Recipe("c", optimizer="adam", schedule="cosine", warmup_epochs=1.0)
    hist = fit(_torch_net(), x, y, x, y, epochs=3, batch_size=32, lr=1e-2, recipe=rec,
               progress=False)  # fmt: skip
    expected = [np.mean([rec.lr_at(1e-2, e * 3 + s, 3, 3) for s in range(3)]) for e in range(3)]
    np.testing.assert_allclose(hist["lr"], expected, rtol=1e-6)
    assert hist["lr"].iloc[0] < hist["lr"].iloc[1]  # warm-up epoch is below the peak


def test_nan_input_stops_training_with_a_clear_error():
    x, y = _toy()
    x = x.copy()
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(FloatingPointError, match="NaN"):
        fit(_torch_net(), x, y, epochs=1, batch_size=96, recipe="plain", progress=False)
