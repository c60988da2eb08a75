"""Metrics against a hand-computed example; k-fold aggregation; runs on disk."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from maskfer_lib import evaluate as ev
from maskfer_lib.evaluate import (
    celik_printed_precision,
    evaluate,
    evaluate_saved,
    kfold_summary,
    list_runs,
    load_predictions,
    load_run_summaries,
    load_run_summary,
    save_predictions,
    save_run_summary,
)

NAMES = ("a", "b", "c")
Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 1, 2, 2])
# By hand: confusion [[2,1,0],[0,1,1],[0,0,1]]; precision a=2/2, b=1/2, c=1/2;
# recall a=2/3, b=1/2, c=1/1; F1 a=0.8, b=0.5, c=2/3.


def test_evaluate_matches_hand_computed_example():
    r = evaluate(Y_TRUE, Y_PRED, NAMES)
    assert r.accuracy == pytest.approx(4 / 6)
    np.testing.assert_array_equal(r.confusion, [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    np.testing.assert_allclose(r.confusion_norm, [[2 / 3, 1 / 3, 0], [0, 0.5, 0.5], [0, 0, 1]])
    np.testing.assert_allclose(r.report.loc[list(NAMES), "precision"], [1.0, 0.5, 0.5])
    np.testing.assert_allclose(r.report.loc[list(NAMES), "recall"], [2 / 3, 0.5, 1.0])
    np.testing.assert_allclose(r.report.loc[list(NAMES), "f1"], [0.8, 0.5, 2 / 3])
    assert list(r.report.loc[list(NAMES), "support"]) == [3, 2, 1]
    assert r.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert r.report.loc["weighted avg", "f1"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 2 / 3) / 6)
    assert r.n == 6


def test_evaluate_takes_probabilities_and_absent_classes():
    proba = np.eye(3)[Y_PRED] * 0.7 + 0.1
    assert evaluate(Y_TRUE, proba, NAMES).accuracy == pytest.approx(4 / 6)
    # class "c" never occurs in y_true: its normalised row is NaN, its recall 0
    r = evaluate([0, 1, 1], [0, 1, 2], NAMES)
    assert np.isnan(r.confusion_norm[2]).all()
    assert r.confusion.shape == (3, 3)


def test_evaluate_rejects_bad_input():
    with pytest.raises(ValueError, match="3 classes"):
        evaluate(Y_TRUE, np.zeros((6, 2)), NAMES)
    with pytest.raises(ValueError, match="6 true labels but 5"):
        evaluate(Y_TRUE, Y_PRED[:5], NAMES)
    with pytest.raises(ValueError, match="outside 0..2"):
        evaluate([0, 3], [0, 0], NAMES)


def test_celik_printed_precision_is_one_vs_rest_accuracy():
    cm = evaluate(Y_TRUE, Y_PRED, NAMES).confusion
    # a: TP2 TN3 of 6; b: TP1 TN3; c: TP1 TN4
    np.testing.assert_allclose(celik_printed_precision(cm), [5 / 6, 4 / 6, 5 / 6])
    # A class never predicted correctly still scores high under the printed formula.
    cm7 = np.diag([10] * 7)
    cm7[0] = [0, 10, 0, 0, 0, 0, 0]
    assert celik_printed_precision(cm7)[0] > 0.85


def test_kfold_summary_mean_and_std():
    folds = [evaluate(Y_TRUE, Y_PRED, NAMES), evaluate(Y_TRUE, Y_TRUE, NAMES)]
    s = kfold_summary(folds)
    assert s.loc["accuracy", "mean"] == pytest.approx((4 / 6 + 1) / 2)
    assert s.loc["accuracy", "std"] == pytest.approx(np.std([4 / 6, 1.0], ddof=1))
    assert s.loc["accuracy", "n"] == 2
    assert s.loc["accuracy", "mean ± std"] == "83.3 ± 23.6"
    assert "f1_a" in s.index
    plain = kfold_summary([{"accuracy": 0.5}, {"accuracy": 0.7}, {"accuracy": 0.9}])
    assert plain.loc["accuracy", "std"] == pytest.approx(0.2)
    with pytest.raises(ValueError):
        kfold_summary([])


def test_predictions_and_summaries_roundtrip(tmp_path):
    proba = np.eye(3)[Y_PRED] * 0.7 + 0.1
    path = save_predictions(
        tmp_path, "m1", Y_TRUE, proba, NAMES, split="test_masked", extra_cols={"masked": [True] * 6}
    )
    assert path == tmp_path / "m1" / "predictions_test_masked.csv"
    df, y, p, names = load_predictions(tmp_path, "m1", "test_masked")
    assert names == NAMES
    np.testing.assert_array_equal(y, Y_TRUE)
    np.testing.assert_allclose(p, proba)
    assert df["masked"].all() and list(df["pred_name"]) == ["a", "a", "b", "b", "c", "c"]
    assert evaluate_saved(tmp_path, "m1", "test_masked").accuracy == pytest.approx(4 / 6)
    with pytest.raises(FileNotFoundError, match="predictions_test_masked.csv"):
        load_predictions(tmp_path, "m1", "test")

    hist = pd.DataFrame(
        {
            "epoch": [1, 2],
            "seconds": [2.0, 3.0],
            "images_per_s": [10.0, 30.0],
            "val_accuracy": [0.5, 0.6],
        }
    )
    save_run_summary(
        tmp_path,
        "m1",
        model_name="celik_cnn",
        framework="keras",
        params=np.int64(10),
        accuracy_masked=np.float64(0.5),
        history=hist,
        seed=0,
        masked_only=np.bool_(True),
    )
    save_run_summary(
        tmp_path, "m2", model_name="abn", framework="torch", accuracy_unmasked=float("nan")
    )
    s = load_run_summary(tmp_path, "m1")
    assert s["epochs"] == 2 and s["wall_time_s"] == 5.0 and s["images_per_s"] == 20.0
    assert s["params"] == 10 and s["seed"] == 0 and s["masked_only"] is True
    assert json.loads((tmp_path / "m2" / "summary.json").read_text())["accuracy_unmasked"] is None
    (tmp_path / "empty").mkdir()
    assert list_runs(tmp_path) == ["m1", "m2"]
    table = load_run_summaries(tmp_path)
    assert list(table.index) == ["m1", "m2"] and table.loc["m2", "framework"] == "torch"
    with pytest.raises(FileNotFoundError, match="runs here"):
        load_run_summary(tmp_path, "nope")
    with pytest.raises(ValueError, match="plain folder name"):
        save_predictions(tmp_path, "../x", Y_TRUE, proba, NAMES)
    with pytest.raises(ValueError, match=r"proba must be \(N, K\)"):
        save_predictions(tmp_path, "m3", Y_TRUE, proba[:, :2], NAMES)


def test_baselines_majority_chance_and_balanced_accuracy():
    from maskfer_lib.evaluate import baselines, evaluate

    y = [0, 0, 0, 1, 2, 2]
    assert baselines(y, 4) == {"majority": 0.5, "chance": 0.25}
    with pytest.raises(ValueError, match="no labels"):
        baselines([], 3)
    res = evaluate(y, [0, 0, 0, 0, 0, 0], ("a", "b", "c"))  # always the majority class
    assert res.accuracy == res.majority == 0.5
    assert res.balanced_accuracy == pytest.approx(1 / 3)
    assert res.predicts_one_class and res.majority_class == "a"
    assert not evaluate(y, [0, 1, 2, 0, 1, 2], ("a", "b", "c")).predicts_one_class


def test_accuracy_interval_matches_the_normal_approximation():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, 2000)
    pred = np.where(rng.random(2000) < 0.6, y, (y + 1) % 7)
    res = ev.evaluate(y, pred, [str(i) for i in range(7)])
    half = 1.96 * np.sqrt(res.accuracy * (1 - res.accuracy) / 2000)
    assert res.accuracy_lo < res.accuracy < res.accuracy_hi
    assert abs((res.accuracy_hi - res.accuracy_lo) / 2 - half) < 0.004
    assert res.summary()["accuracy_lo"] == res.accuracy_lo
    assert ev.accuracy_interval(y, y) == (1.0, 1.0)


def test_a_ranking_needs_disjoint_intervals():
    assert ev.order_by_interval((0.50, 0.52), (0.47, 0.49)) == ">"
    assert ev.order_by_interval((0.47, 0.49), (0.50, 0.52)) == "<"
    assert ev.order_by_interval((0.48, 0.51), (0.50, 0.52)) == "≈"
    assert ev.format_interval(0.497, 0.481, 0.513) == "49.7 [48.1, 51.3]"


def test_over_seeds_gives_mean_sample_std_and_the_mean_interval():
    s = ev.over_seeds([0.5, 0.6, 0.7], [0.45, 0.55, 0.65], [0.55, 0.65, 0.75])
    assert s["n"] == 3 and s["mean"] == pytest.approx(0.6) and s["std"] == pytest.approx(0.1)
    assert (s["lo"], s["hi"]) == (pytest.approx(0.55), pytest.approx(0.65))
    one = ev.over_seeds([0.5], [0.4], [0.6])
    assert np.isnan(one["std"]) and ev.format_mean_std(one["mean"], one["std"]) == "50.0"
    assert ev.format_mean_std(s["mean"], s["std"]) == "60.0 ± 10.0"
    assert ev.over_seeds([], [], [])["n"] == 0


def test_results_over_seeds_reads_each_results_accuracy_and_interval():
    y = np.array([0, 0, 1, 1])
    results = [ev.evaluate(y, np.eye(2)[p], ("a", "b")) for p in ([0, 0, 1, 1], [0, 0, 1, 0])]
    s = ev.results_over_seeds(results)
    assert s["n"] == 2 and s["mean"] == pytest.approx(0.875)
    assert s["lo"] == pytest.approx(np.mean([r.accuracy_lo for r in results]))
    assert s["hi"] == pytest.approx(np.mean([r.accuracy_hi for r in results]))
