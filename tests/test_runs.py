"""runs.train_and_record and runs.kfold: one path that trains, evaluates and records."""

from __future__ import annotations

import json

import numpy as np
import pytest

import maskfer_lib  # noqa: F401  (import order: before torch / keras)
from maskfer_lib import evaluate, runs
from maskfer_lib.config import TrainCfg
from maskfer_lib.records import FaceDataset


def blobs(n=150, k=3, size=16, seed=0):
    """k classes; class c is a bright square in quadrant c, at a jittered place."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.uniform(0, 0.25, (n, size, size, 3)).astype(np.float32)
    h = size // 2
    for i, c in enumerate(y):
        r0, c0 = (c // 2) * h + rng.integers(0, 3), (c % 2) * h + rng.integers(0, 3)
        x[i, r0 : r0 + h - 3, c0 : c0 + h - 3] += 0.7
    return runs.Split(np.clip(x, 0, 1), y)


def keras_cnn(k=3, size=16):
    import keras

    return keras.Sequential(
        [
            keras.Input((size, size, 3)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(8, 3, padding="same"),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(k, activation="softmax"),
        ]
    )


def torch_cnn(k=3):
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, k),
    )


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_modern_recipe_learns_a_small_separable_set(framework, tmp_path):
    train, val, test = blobs(240, seed=0), blobs(60, seed=1), blobs(60, seed=2)
    model = keras_cnn() if framework == "keras" else torch_cnn()
    cfg = TrainCfg(epochs=12, batch_size=32, lr=1e-2, recipe="modern")
    run = runs.train_and_record(
        "tiny", train, val, {"masked": test}, cfg=cfg, class_names=("a", "b", "c"),
        model=model, run_dir=tmp_path, progress=False,
    )  # fmt: skip
    h = run.history
    assert h["loss"].iloc[-3:].mean() < h["loss"].iloc[:3].mean()  # the loss falls
    res = run.results["masked"]
    assert res.accuracy > res.chance + 0.25  # far above 1/3
    assert res.accuracy > res.majority + 0.25
    assert not res.predicts_one_class
    assert run.recipe == "modern"


def test_run_folder_layout_and_summary_baselines(tmp_path):
    train, val = blobs(90, seed=0), blobs(30, seed=1)
    test_m, test_u = blobs(30, seed=2), blobs(36, seed=3)
    test_u = runs.Split(test_u.x, np.where(np.arange(36) < 24, 0, test_u.y))  # skewed labels
    cfg = TrainCfg(epochs=1, batch_size=32, recipe="plain")
    run = runs.train_and_record(
        "t", train, val, {"masked": test_m, "unmasked": test_u}, cfg=cfg,
        class_names=("a", "b", "c"), model=torch_cnn(), run_dir=tmp_path, progress=False,
        task="demo",
    )  # fmt: skip
    folder = tmp_path / "t"
    for f in ("model.pt", "history.csv", "fit.json", "summary.json", "predictions_test.csv",
              "predictions_test_masked.csv", "predictions_test_unmasked.csv"):  # fmt: skip
        assert (folder / f).exists(), f
    s = evaluate.load_run_summary(tmp_path, "t")
    assert s["task"] == "demo" and s["recipe"] == "plain"
    assert s["accuracy_masked"] == pytest.approx(run.accuracy("masked"))
    assert s["majority_unmasked"] == pytest.approx(np.bincount(test_u.y).max() / 36)
    assert s["majority_class_unmasked"] == "a"
    assert s["chance"] == pytest.approx(1 / 3)
    assert "balanced_accuracy_masked" in s
    fit_meta = json.loads((folder / "fit.json").read_text())
    assert fit_meta["recipe"]["name"] == "plain" and fit_meta["budget"]["epochs"] == 1
    row = run.row()
    assert row["majority_unmasked"] == pytest.approx(s["majority_unmasked"])
    # predictions_test is a copy of the first test set
    _, y0, p0, _ = evaluate.load_predictions(tmp_path, "t", "test")
    _, y1, p1, _ = evaluate.load_predictions(tmp_path, "t", "test_masked")
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_allclose(p0, p1)


def test_rerun_loads_the_finished_run(tmp_path):
    train, val = blobs(60, seed=0), blobs(30, seed=1)
    kw = dict(cfg=TrainCfg(epochs=1, batch_size=32), class_names=("a", "b", "c"),
              run_dir=tmp_path, progress=False)  # fmt: skip
    first = runs.train_and_record("t", train, val, {"v": val}, model=torch_cnn(), **kw)
    again = runs.train_and_record("t", train, val, {"v": val}, model=torch_cnn(), **kw)
    assert again.history.attrs.get("resumed") is True
    np.testing.assert_allclose(again.proba["v"], first.proba["v"], atol=1e-6)


def test_facedataset_needs_an_input_shape():
    ds = FaceDataset(
        images=np.zeros((4, 8, 8, 1), np.uint8),
        labels=np.array([0, 1, 0, 1]),
        class_names=("a", "b"),
    )
    with pytest.raises(ValueError, match="input_shape"):
        runs.as_split(ds)
    s = runs.as_split(ds, (16, 16, 3))
    assert s.x.shape == (4, 16, 16, 3) and s.x.dtype == np.float32


def test_kfold_never_selects_on_the_held_out_fold(tmp_path, monkeypatch):
    n = 60
    ds = FaceDataset(
        images=(np.random.default_rng(0).random((n, 16, 16, 3)) * 255).astype(np.uint8),
        labels=np.arange(n) % 3,
        class_names=("a", "b", "c"),
    )
    ds.images[:, 0, 0, 0] = np.arange(n)  # a pixel that names each face
    seen = []

    def spy(run_name, train, val, tests, **kw):
        ids = lambda s: set(s.images[:, 0, 0, 0].tolist())  # noqa: E731
        seen.append((ids(train), ids(val), ids(tests["fold"])))
        return real(run_name, train, val, tests, **kw)

    real = runs.train_and_record
    models = iter([torch_cnn() for _ in range(3)])

    def spy_with_model(run_name, train, val, tests, **kw):
        return spy(run_name, train, val, tests, **{**kw, "model": next(models)})

    monkeypatch.setattr(runs, "train_and_record", spy_with_model)
    fold_runs, table = runs.kfold(
        "m", ds, 3, input_shape=(16, 16, 3), cfg=TrainCfg(epochs=1, batch_size=16),
        class_names=ds.class_names, run_dir=tmp_path, progress=False,
    )  # fmt: skip
    assert len(fold_runs) == 3 and len(seen) == 3
    held_all = set()
    for tr, va, held in seen:
        assert not (va & held) and not (tr & held) and not (tr & va)
        assert len(tr | va | held) == n
        held_all |= held
    assert held_all == set(range(n))  # every face is held out once
    assert "mean ± std" in table.columns


def test_load_histories_puts_pretraining_first(tmp_path):
    import pandas as pd

    run = tmp_path / "m"
    (run / "pretrain").mkdir(parents=True)
    pd.DataFrame({"epoch": [1], "seconds": [5.0], "val_accuracy": [0.3]}).to_csv(
        run / "pretrain" / "history.csv", index=False
    )
    pd.DataFrame({"epoch": [1, 2], "seconds": [2.0, 3.0], "val_accuracy": [0.4, 0.5]}).to_csv(
        run / "history.csv", index=False
    )
    (run / "summary.json").write_text("{}")
    h = runs.load_histories(tmp_path)["m"]
    assert h["epoch"].tolist() == [1, 2, 3]
    assert h["seconds"].sum() == 10.0 and h["val_accuracy"].iloc[0] == 0.3


def test_best_run_is_chosen_by_validation_and_exports_as_shipped_weights(tmp_path, monkeypatch):
    from maskfer_lib import shipped

    train, val, test = blobs(150, seed=0), blobs(45, seed=1), blobs(45, seed=2)
    kw = dict(class_names=("a", "b", "c"), run_dir=tmp_path / "runs", progress=False)
    for name, epochs, lr in (("weak", 1, 1e-5), ("strong", 6, 1e-2)):
        runs.train_and_record(
            name, train, val, {"masked": test, "unmasked": test}, model=torch_cnn(),
            cfg=TrainCfg(epochs=epochs, batch_size=32, lr=lr), **kw,
        )  # fmt: skip
    summaries = {
        n: json.loads((tmp_path / "runs" / n / "summary.json").read_text())
        for n in ("weak", "strong")
    }
    assert summaries["strong"]["best_val_accuracy"] > summaries["weak"]["best_val_accuracy"]
    best = runs.best_run(tmp_path / "runs", ["weak", "strong", "never_trained"])
    assert best.name == "strong"
    with pytest.raises(FileNotFoundError, match="never_trained"):
        runs.best_run(tmp_path / "runs", ["never_trained"])

    out = tmp_path / "weights"
    shipped.export_run(best, "blobs_3class", trained_on="blobs", weights_dir=out)
    meta = shipped.card("blobs_3class", out)
    assert meta["class_names"] == ["a", "b", "c"] and meta["run"] == "strong"
    assert meta["test_accuracy"]["masked"] == pytest.approx(summaries["strong"]["accuracy_masked"])
    assert meta["test_accuracy"]["majority_masked"] == pytest.approx(1 / 3)
    crops = (test.x[:6] * 255).astype(np.uint8)
    p = shipped.predict(crops, "blobs_3class", out)
    assert p.shape == (6, 3)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        shipped.export_run(tmp_path / "runs" / "never_trained", "x", trained_on="", weights_dir=out)

    # ship_best: one file per task from its best run; a task with no run, and a run over
    # the size limit, are reported in the table, not skipped silently.
    monkeypatch.setattr(shipped, "TASKS", {"3class": ("weak", "strong"), "9class": ("absent",)})
    rows = {r["model"]: r for r in shipped.ship_best(tmp_path / "runs", "blobs", out)}
    assert rows["blobs_3class"]["shipped"] and rows["blobs_3class"]["run"] == "strong"
    assert not rows["blobs_9class"]["shipped"] and "absent" in rows["blobs_9class"]["note"]
    monkeypatch.setattr(shipped, "MAX_BYTES", 100)
    rows = shipped.ship_best(tmp_path / "runs", "tiny", tmp_path / "w2")
    assert not rows[0]["shipped"] and rows[0]["note"].count("MiB limit") == 2
    assert not list((tmp_path / "w2").glob("*.onnx"))


def test_masked_vs_unmasked_tests_have_a_two_class_split():
    masked, plain = np.ones((3, 4, 4, 1), np.float32), np.zeros((3, 4, 4, 1), np.float32)
    tests = runs.masked_vs_unmasked_tests(masked, plain)
    assert set(tests["test_masked"].y) == {1} and set(tests["test_unmasked"].y) == {0}
    both = tests["test_both"]
    assert len(both) == 6 and both.y.mean() == 0.5  # majority 50 %, not 100 %
    assert (both.x[both.y == 1] == 1).all() and (both.x[both.y == 0] == 0).all()


def test_train_seeds_builds_a_model_per_seed_beside_the_main_runs(tmp_path):
    data = blobs(n=48, k=3, size=32)
    cfg = TrainCfg(epochs=1, batch_size=16, max_steps_per_epoch=2, width_mult=0.125)
    common = dict(cfg=cfg, class_names=("a", "b", "c"), input_shape=(32, 32, 3), progress=False)
    seeded = runs.train_seeds(
        "vgg11", data, data, {"test_masked": data}, seeds=(1, 2), run_dir=tmp_path, seed=0, **common
    )
    assert [r.name for r in seeded] == ["vgg11_seed1", "vgg11_seed2"]
    # Notebooks 06-11 list run_dir's own runs: the repeats must not appear there.
    assert evaluate.list_runs(tmp_path) == []
    seed_dir = tmp_path / runs.SEEDS_FOLDER
    assert [
        json.loads((seed_dir / r.name / "summary.json").read_text())["seed"] for r in seeded
    ] == [1, 2]
    first, second = (next(r.model.parameters()).detach().numpy() for r in seeded)
    assert not np.allclose(first, second), "each seed must start from its own initialisation"
    with pytest.raises(ValueError, match="model_kwargs"):
        runs.train_seeds("vgg11", data, data, {"t": data}, seeds=(0,), model=object(), **common)


def test_seed_table_gives_the_spread_over_seeds_beside_the_majority_class():
    y = np.array([0, 0, 0, 1])
    outcomes = {"good": [y, np.array([0, 0, 0, 0])], "bad": [np.array([1, 1, 1, 1])] * 2}
    by_model = {
        name: [
            runs.Run(
                name, name, 0, None, results={"t": evaluate.evaluate(y, np.eye(2)[p], ("a", "b"))}
            )
            for p in preds
        ]
        for name, preds in outcomes.items()
    }
    table = runs.seed_table(by_model, "t")
    assert table.loc["good", "seeds"] == 2
    assert table.loc["good", "max (%)"] == 100 and table.loc["good", "min (%)"] == 75
    assert table.loc["good", "accuracy (%)"].startswith("87.5 ± ")
    assert table.loc["bad", "accuracy (%)"] == "25.0 ± 0.0"
    assert table.loc["bad", "majority class (%)"] == 75
    assert table.index.name == "model"  # the saved table's first column says what it lists


def test_seed_table_of_no_seeded_model_is_an_empty_table_with_its_columns(tmp_path):
    from maskfer_lib import tables

    table = runs.seed_table({}, "test_masked")
    assert table.empty and "accuracy (%)" in table.columns
    tables.save_table(table, tmp_path, "seeds")
    assert (tmp_path / "seeds.md").read_text().strip()


def test_train_seconds_counts_the_epochs_not_the_call(tmp_path):
    data = blobs(n=60)
    cfg = TrainCfg(epochs=2, batch_size=16, max_steps_per_epoch=2)
    common = dict(model_name="t", cfg=cfg, class_names=("a", "b", "c"), run_dir=tmp_path)
    first = runs.train_and_record("t", data, data, {"x": data}, model=torch_cnn(), **common)
    again = runs.train_and_record("t", data, data, {"x": data}, model=torch_cnn(), **common)
    # The second call loads the finished run: its wall time is not a training time.
    assert again.train_seconds == pytest.approx(first.train_seconds)
    assert first.train_seconds == pytest.approx(float(first.history["seconds"].sum()))
    assert again.row()["train_min"] == pytest.approx(first.train_seconds / 60)
