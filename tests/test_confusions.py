"""Cross-model confusion views (notebook 06) on runs written the way notebooks 02-05 write them."""

import matplotlib
import numpy as np
import pytest

from maskfer_lib import confusions
from maskfer_lib import evaluate as ev

matplotlib.use("Agg")
CLASSES = ("a", "b", "c")


def _save(run_dir, name, split, y, pred):
    proba = np.eye(3)[pred]
    ev.save_predictions(run_dir, name, y, proba, CLASSES, split=split)


@pytest.fixture
def runs(tmp_path):
    y = np.array([0, 0, 1, 1, 2, 2])
    _save(tmp_path, "m1", "test_masked", y, np.array([0, 1, 1, 1, 2, 0]))  # 4/6
    _save(tmp_path, "m1", "test_unmasked", y, y)  # 6/6
    _save(tmp_path, "m2", "test_masked", y, np.array([1, 1, 1, 1, 1, 1]))  # only masked
    _save(tmp_path, "mcn", "test_masked", y, y)
    ev.save_run_summary(
        tmp_path, "mcn", model_name="mcn", framework="torch", task="masked_vs_unmasked"
    )
    return tmp_path


def test_collect_and_table(runs):
    got = confusions.collect_confusions(runs)
    assert set(got.results) == {"m1", "m2"}
    assert got.missing == {"m2": ["test_unmasked"]}
    assert got.other_tasks == {"mcn": "masked_vs_unmasked"}
    table = got.table().set_index("run")
    assert table.loc["m1", "accuracy_masked"] == pytest.approx(4 / 6)
    assert table.loc["m1", "drop_masked_minus_unmasked"] == pytest.approx(4 / 6 - 1)
    assert np.isnan(table.loc["m2", "drop_masked_minus_unmasked"])


def test_most_confused_ranks_off_diagonal_shares(runs):
    res = confusions.collect_confusions(runs).results["m1"]["test_masked"]
    top = confusions.most_confused(res, top=5)
    assert list(zip(top.true, top.predicted, strict=True)) == [("a", "b"), ("c", "a")]
    assert top.share_of_true_class.tolist() == [0.5, 0.5]


def test_panel_has_one_axis_per_model(runs):
    results = {n: r["test_masked"] for n, r in confusions.collect_confusions(runs).results.items()}
    fig = confusions.plot_confusion_panel(results, ncols=4)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == 2 and "m1" in titled[0].get_title()


def test_no_runs_names_the_notebooks_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="notebooks 02-05"):
        confusions.require_runs(tmp_path)
    with pytest.raises(ValueError, match="no results"):
        confusions.plot_confusion_panel({})


def test_training_budgets_one_row_per_summarised_run(runs):
    import pandas as pd

    hist = pd.DataFrame(
        {"seconds": [10.0, 12.0], "images_per_s": [100.0, 120.0], "val_accuracy": [0.5, 0.6]}
    )
    ev.save_run_summary(runs, "m1", model_name="m1", framework="keras", history=hist,
                        input_shape=[48, 48, 1], accuracy_masked=4 / 6)  # fmt: skip
    table = confusions.training_budgets(runs).set_index("run")
    assert list(table.index) == ["m1", "mcn"]  # m2 has no summary: not a budget row
    assert table.loc["m1", "epochs"] == 2 and table.loc["m1", "train_s"] == pytest.approx(22.0)
    assert table.loc["m1", "images_per_s"] == pytest.approx(110.0)
    assert table.loc["m1", "input"] == "48x48x1"
    assert table.loc["mcn", "task"] == "masked_vs_unmasked"


def test_training_budgets_names_the_paper_from_the_registry(tmp_path):
    ev.save_run_summary(tmp_path, "putro_slim", model_name="putro_slim", framework="keras")
    ev.save_run_summary(tmp_path, "mystery", model_name="mystery", framework="keras")
    table = confusions.training_budgets(tmp_path).set_index("run")
    assert table.loc["putro_slim", "paper"] == "putro" and table.loc["mystery", "paper"] == ""
