"""Cross-model confusion views (notebook 06) on runs written the way notebooks 02-05 write them."""

import matplotlib
import numpy as np
import pytest

from maskfer_lib import compare
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
    got = compare.collect_confusions(runs)
    assert set(got.results) == {"m1", "m2"}
    assert got.missing == {"m2": ["test_unmasked"]}
    assert got.other_tasks == {"mcn": "masked_vs_unmasked"}
    table = got.table().set_index("run")
    assert table.loc["m1", "accuracy_masked"] == pytest.approx(4 / 6)
    assert table.loc["m1", "drop_masked_minus_unmasked"] == pytest.approx(4 / 6 - 1)
    assert np.isnan(table.loc["m2", "drop_masked_minus_unmasked"])


def test_most_confused_ranks_off_diagonal_shares(runs):
    res = compare.collect_confusions(runs).results["m1"]["test_masked"]
    top = compare.most_confused(res, top=5)
    assert list(zip(top.true, top.predicted, strict=True)) == [("a", "b"), ("c", "a")]
    assert top.share_of_true_class.tolist() == [0.5, 0.5]


def test_panel_has_one_axis_per_model(runs):
    results = {n: r["test_masked"] for n, r in compare.collect_confusions(runs).results.items()}
    fig = compare.plot_confusion_panel(results, ncols=4)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == 2 and "m1" in titled[0].get_title()


def test_no_runs_names_the_notebooks_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="notebooks 02-05"):
        compare.require_runs(tmp_path)
    with pytest.raises(ValueError, match="no results"):
        compare.plot_confusion_panel({})
