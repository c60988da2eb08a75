"""fit/predict_proba/save/load on tiny Keras and torch models with a separable toy problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import maskfer_lib  # noqa: F401  (import order: before torch / keras)
from maskfer_lib.recipe import SHIFT_FLIP, Recipe
from maskfer_lib.train import HISTORY_COLUMNS, fit, load_model, predict_proba, save_model


def toy(n=192, size=8, k=3, seed=0):
    """Class c lights up horizontal band c of the image: linearly separable."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.uniform(0, 0.3, size=(n, size, size, 1)).astype(np.float32)
    band = size // k
    for i, c in enumerate(y):
        x[i, c * band : (c + 1) * band] += 0.7
    return np.clip(x, 0, 1), y


@pytest.fixture(scope="module")
def data():
    xtr, ytr = toy(192, seed=0)
    xva, yva = toy(60, seed=1)
    return xtr, ytr, xva, yva


def keras_model(k=3, size=8):
    import keras

    return keras.Sequential(
        [
            keras.Input((size, size, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(k, activation="softmax"),
        ]
    )


def torch_model(k=3, size=8):
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(size * size, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, k),
    )


def _plateau(rule):
    return Recipe("plateau", optimizer="adam", schedule="plateau", reduce_lr=rule)


class TwoHead:
    """Factory for an ABN-like torch model: (attention logits, perception logits)."""

    @staticmethod
    def build(k=3, size=8):
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.body = torch.nn.Sequential(
                    torch.nn.Flatten(), torch.nn.Linear(size * size, 16), torch.nn.ReLU()
                )
                self.att = torch.nn.Linear(16, k)
                self.per = torch.nn.Linear(16, k)
                self.loss_calls = 0

            def forward(self, x):
                h = self.body(x)
                return self.att(h), self.per(h)

            def compute_loss(self, outputs, y, label_smoothing=0.0, reduction="mean"):
                self.loss_calls += 1
                f = torch.nn.functional.cross_entropy
                kw = {"label_smoothing": label_smoothing, "reduction": reduction}
                return f(outputs[0], y, **kw) + f(outputs[1], y, **kw)

            def logits(self, outputs):
                return outputs[1]

        torch.manual_seed(0)
        return Net()


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_learns_toy_problem_and_checkpoint_reloads(framework, data, tmp_path):
    xtr, ytr, xva, yva = data
    model = keras_model() if framework == "keras" else torch_model()
    hist = fit(
        model,
        xtr,
        ytr,
        xva,
        yva,
        epochs=8,
        batch_size=32,
        lr=1e-2,
        out_dir=tmp_path,
        progress=False,
    )
    assert list(hist.columns) == HISTORY_COLUMNS
    assert len(hist) == 8
    assert hist["val_accuracy"].max() >= 0.9
    assert hist["loss"].iloc[-1] < hist["loss"].iloc[0]
    assert (hist["images_per_s"] > 0).all() and (hist["seconds"] > 0).all()
    assert hist.attrs["framework"] == framework

    # Best weights are restored and written: reloading gives identical predictions.
    ckpt = tmp_path / ("model.keras" if framework == "keras" else "model.pt")
    assert ckpt.exists()
    on_disk = pd.read_csv(tmp_path / "history.csv")
    assert list(on_disk.columns) == HISTORY_COLUMNS and len(on_disk) == 8
    p = predict_proba(model, xva)
    assert p.shape == (60, 3)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    best = hist["val_accuracy"].max()
    assert np.mean(p.argmax(1) == yva) == pytest.approx(best)
    p2 = predict_proba(load_model(ckpt), xva)
    np.testing.assert_allclose(p2, p, atol=1e-5)


def test_multi_output_torch_uses_compute_loss_and_logits(data):
    xtr, ytr, xva, yva = data
    model = TwoHead.build()
    hist = fit(model, xtr, ytr, xva, yva, epochs=6, batch_size=32, lr=1e-2, progress=False)
    assert model.loss_calls > 0
    assert hist["val_accuracy"].max() >= 0.9
    p = predict_proba(model, xva)
    assert p.shape == (60, 3)


def test_multi_output_without_logits_method_gives_clear_error(data):
    import torch

    class Bare(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(64, 3)

        def forward(self, x):
            z = self.lin(x.flatten(1))
            return z, z

    with pytest.raises(TypeError, match="define model.logits"):
        predict_proba(Bare(), data[2])


def test_reduce_lr_and_early_stopping_torch(data):
    xtr, ytr, xva, yva = data
    # min_delta=10: only the first epoch counts as a gain for the plateau rule, so with
    # patience 2 the lr halves after epochs 3 and 5 (Keras' ReduceLROnPlateau does the same).
    hist = fit(
        torch_model(),
        xtr,
        ytr,
        xva,
        yva,
        epochs=5,
        batch_size=32,
        lr=1e-2,
        recipe=_plateau({"factor": 0.5, "patience": 2, "monitor": "val_loss", "min_delta": 10.0}),
        progress=False,
    )
    np.testing.assert_allclose(hist["lr"], [1e-2, 1e-2, 1e-2, 5e-3, 5e-3])
    # Early stopping: training ends `patience` epochs after the best val_accuracy.
    hist = fit(
        torch_model(),
        xtr,
        ytr,
        xva,
        yva,
        epochs=30,
        batch_size=32,
        lr=1e-2,
        early_stopping_patience=2,
        progress=False,
    )
    best_epoch = hist.attrs["best_epoch"]
    assert len(hist) == best_epoch + 2 < 30
    assert hist["val_accuracy"].iloc[best_epoch - 1] == hist["val_accuracy"].max()


def test_reduce_lr_keras_changes_optimizer_lr(data):
    xtr, ytr, xva, yva = data
    model = keras_model()
    hist = fit(
        model,
        xtr,
        ytr,
        xva,
        yva,
        epochs=4,
        batch_size=64,
        lr=1e-2,
        recipe=_plateau({"factor": 0.5, "patience": 1, "monitor": "loss", "min_delta": 10.0}),
        progress=False,
    )
    # min_delta=10: only the first epoch counts as a gain; then lr halves every epoch.
    np.testing.assert_allclose(hist["lr"], [1e-2, 1e-2, 5e-3, 2.5e-3], rtol=1e-6)


def test_no_validation_falls_back_to_training_metric(data):
    xtr, ytr, _, _ = data
    with pytest.warns(UserWarning, match="no validation data"):
        hist = fit(
            torch_model(), xtr, ytr, epochs=2, max_steps_per_epoch=2, batch_size=16, progress=False
        )
    assert hist["val_accuracy"].isna().all()
    assert hist.attrs["monitor"] == "accuracy"


def test_max_steps_class_weight_and_augment(data):
    xtr, ytr, xva, yva = data
    hist = fit(
        torch_model(),
        xtr,
        ytr,
        xva,
        yva,
        epochs=1,
        batch_size=16,
        max_steps_per_epoch=3,
        recipe=Recipe("t", class_weight="balanced", augment=SHIFT_FLIP, balanced_sampling=True),
        progress=False,
    )
    # 3 batches of 16 images were seen: throughput is computed on 48 images
    assert len(hist) == 1
    hist_k = fit(
        keras_model(),
        xtr,
        ytr,
        xva,
        yva,
        epochs=1,
        batch_size=16,
        max_steps_per_epoch=3,
        recipe=Recipe("t", class_weight={0: 1.0, 1: 2.0, 2: 1.0}, augment=SHIFT_FLIP),
        progress=False,
    )
    assert list(hist_k.columns) == list(hist.columns)


def test_shift_flip_keeps_shape_and_moves_pixels():
    rng = np.random.default_rng(0)
    x = np.zeros((32, 10, 10, 1), np.float32)
    x[:, 4:6, 0:3] = 1.0  # a bar at the left edge: a flip moves it to the right
    out = SHIFT_FLIP(x, rng)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert np.array_equal(x[:, 4:6, 0:3], np.ones((32, 2, 3, 1)))  # input untouched
    right = out[:, :, 5:].sum(axis=(1, 2, 3)) > 0
    assert 0 < right.sum() < 32  # some, not all, images were flipped


def test_bad_inputs_have_clear_errors(data):
    xtr, ytr, _, _ = data
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        fit(torch_model(), xtr[..., 0], ytr, epochs=1, progress=False)
    with pytest.raises(ValueError, match="labels"):
        fit(torch_model(), xtr, ytr[:-1], epochs=1, progress=False)
    with pytest.raises(TypeError, match="torch.nn.Module or a keras.Model"):
        fit(object(), xtr, ytr, epochs=1, progress=False)
    with pytest.raises(ValueError, match="monitor"):
        fit(torch_model(), xtr, ytr, epochs=1, monitor="f1", progress=False)


def test_save_load_roundtrip_and_missing_file(data, tmp_path):
    _, _, xva, _ = data
    m = torch_model()
    path = save_model(m, tmp_path / "m")
    assert path.suffix == ".pt"
    np.testing.assert_allclose(
        predict_proba(load_model(path), xva), predict_proba(m, xva), atol=1e-6
    )
    km = keras_model()
    kpath = save_model(km, tmp_path / "k")
    assert kpath.suffix == ".keras"
    np.testing.assert_allclose(
        predict_proba(load_model(kpath), xva), predict_proba(km, xva), atol=1e-6
    )
    with pytest.raises(FileNotFoundError, match="train it first"):
        load_model(tmp_path / "absent.pt")


def test_keras_logits_model_gets_softmax(data):
    import keras

    _, _, xva, _ = data
    m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    p = predict_proba(m, xva)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-6)
    assert (p >= 0).all()


def test_trailing_batch_of_one_is_skipped_for_batchnorm(data):
    import torch

    xtr, ytr, _, _ = data
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 3)
    )
    # 33 images in batches of 16: the 33rd would be a batch of one, which BatchNorm rejects.
    hist = fit(m, xtr[:33], ytr[:33], epochs=1, batch_size=16, monitor="loss", progress=False)
    assert len(hist) == 1 and np.isfinite(hist["loss"].iloc[0])


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_finished_run_is_loaded_not_retrained(framework, data, tmp_path):
    xtr, ytr, xva, yva = data
    build = keras_model if framework == "keras" else torch_model
    kw = dict(epochs=3, batch_size=32, lr=1e-2, out_dir=tmp_path, progress=False)
    first = fit(build(), xtr, ytr, xva, yva, **kw)
    p_first = predict_proba(
        load_model(tmp_path / ("model.keras" if framework == "keras" else "model.pt")), xva
    )

    # A fresh, untrained model of the same architecture: resuming loads the finished run.
    fresh = build()
    again = fit(fresh, xtr, ytr, xva, yva, **kw)
    assert again.attrs.get("resumed") is True
    pd.testing.assert_frame_equal(again.reset_index(drop=True), first.reset_index(drop=True))
    np.testing.assert_allclose(predict_proba(fresh, xva), p_first, atol=1e-5)

    # A different budget or different data is a different run: trained, not loaded.
    other = fit(build(), xtr, ytr, xva, yva, **{**kw, "epochs": 2})
    assert "resumed" not in other.attrs and len(other) == 2
    changed = fit(build(), xtr[::-1].copy(), ytr[::-1].copy(), xva, yva, **{**kw, "epochs": 2})
    assert "resumed" not in changed.attrs
    # resume=False retrains even when the run matches.
    forced = fit(build(), xtr[::-1].copy(), ytr[::-1].copy(), xva, yva, **{**kw, "epochs": 2},
                 resume=False)  # fmt: skip
    assert "resumed" not in forced.attrs


def test_interrupted_run_is_not_taken_for_finished(data, tmp_path):
    xtr, ytr, xva, yva = data
    kw = dict(epochs=2, batch_size=32, lr=1e-2, out_dir=tmp_path, progress=False)
    fit(torch_model(), xtr, ytr, xva, yva, **kw)
    assert (tmp_path / "fit.json").exists()

    class Stop(Exception):
        pass

    def boom(xb, rng):  # a run that dies in its first batch
        raise Stop

    with pytest.raises(Stop):
        fit(torch_model(), xtr, ytr, xva, yva, **{**kw, "recipe": Recipe("t", augment=boom)})
    assert not (tmp_path / "fit.json").exists()


def test_custom_loss_needs_reduction_only_with_class_weights(data):
    """A two-output model whose compute_loss takes no ``reduction`` trains unweighted and
    is refused, naming the argument, when the recipe weights classes."""
    import torch

    from maskfer_lib.recipe import PLAIN

    xtr, ytr, xva, yva = data

    class NoReduction(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))

        def forward(self, x):
            return self.net(x), self.net(x)

        def compute_loss(self, outputs, y):
            return torch.nn.functional.cross_entropy(outputs[1], y)

        def logits(self, outputs):
            return outputs[1]

    hist = fit(NoReduction(), xtr, ytr, xva, yva, epochs=2, batch_size=32, recipe=PLAIN,
               progress=False)  # fmt: skip
    assert len(hist) == 2
    weighted = PLAIN.with_parts(name="plain_weighted", class_weight="balanced")
    with pytest.raises(TypeError, match="reduction"):
        fit(NoReduction(), xtr, ytr, xva, yva, epochs=1, recipe=weighted, progress=False)
