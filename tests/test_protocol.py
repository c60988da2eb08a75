"""The 2×2 mask protocol: cells, the three differences, verdicts, same faces."""

import numpy as np
import pandas as pd
import pytest

from maskfer_lib import protocol
from maskfer_lib.records import FaceDataset


def _rows(accs, half=0.01, seeds=(0,)):
    rows = []
    for (train, test), acc in accs.items():
        for s in seeds:
            a = acc + 0.01 * s
            rows.append(
                {"model": "m", "train": train, "test": test, "seed": s, "accuracy": a,
                 "accuracy_lo": a - half, "accuracy_hi": a + half}
            )  # fmt: skip
    return pd.DataFrame(rows)


ACCS = {
    ("unmasked", "unmasked"): 0.70,
    ("unmasked", "masked"): 0.40,
    ("masked", "masked"): 0.55,
    ("masked", "unmasked"): 0.50,
}


def test_cells_and_differences_are_defined_once():
    assert protocol.cell("unmasked", "masked") == "U→M"
    with pytest.raises(ValueError, match="not one of"):
        protocol.cell("mask", "masked")
    t = protocol.two_by_two(_rows(ACCS)).set_index("model").loc["m"]
    assert t["U→U"] == pytest.approx(0.70) and t["M→U"] == pytest.approx(0.50)
    assert t["cost_of_mask"] == pytest.approx(0.15)
    assert t["off_the_shelf_loss"] == pytest.approx(0.30)
    assert t["recovered_by_masked_training"] == pytest.approx(0.15)
    assert t["cost_of_mask verdict"] == ">"


def test_overlapping_intervals_are_no_ranking():
    t = protocol.two_by_two(_rows(ACCS, half=0.1)).iloc[0]
    assert t["cost_of_mask verdict"] == "≈" and t["off_the_shelf_loss verdict"] == ">"


def test_seeds_give_mean_and_std_and_missing_cells_stay_empty():
    only_u = {k: v for k, v in ACCS.items() if k[0] == "unmasked"}
    t = protocol.two_by_two(_rows(only_u, seeds=(0, 1, 2))).iloc[0]
    assert t["U→U"] == pytest.approx(0.71) and t["U→U std"] == pytest.approx(0.01)
    assert np.isnan(t["M→M"]) and t["cost_of_mask verdict"] == ""
    text = protocol.readable(protocol.two_by_two(_rows(only_u, seeds=(0, 1, 2))))
    assert text["M→M"][0] == "—" and text["U→U"][0] == "71.0 [70.0, 72.0] ± 1.0"
    assert text["off_the_shelf_loss"][0] == "+30.0 (>)"


def test_two_by_two_names_missing_columns():
    with pytest.raises(ValueError, match="accuracy_lo"):
        protocol.two_by_two(pd.DataFrame({"model": ["m"], "train": ["masked"]}))


def _ds(n):
    return FaceDataset(np.zeros((n, 4, 4, 1), np.uint8), np.arange(n) % 2, ("a", "b"))


def test_same_faces_keeps_the_twins_of_the_masked_faces():
    unmasked = {"test": _ds(5)}
    masked = _ds(3)
    masked.meta["source_index"] = np.array([0, 2, 4])
    both = protocol.same_faces(unmasked, {"test": masked})
    assert len(both["unmasked"]["test"]) == 3
    np.testing.assert_array_equal(both["unmasked"]["test"].labels, [0, 0, 0])
    with pytest.raises(ValueError, match="source_index"):
        protocol.same_faces(unmasked, {"test": _ds(3)})


def test_confusion_shift_finds_the_mistakes_masks_add():
    uu = np.array([[9, 1], [1, 9]])
    mm = np.array([[5, 5], [1, 9]])
    shift = protocol.confusion_shift(uu, mm, ("a", "b"), top=1).iloc[0]
    assert (shift["true"], shift["predicted"]) == ("a", "b")
    assert shift["change"] == pytest.approx(0.4)


def test_findings_fill_numbers_and_verdicts_in():
    (sentence,) = protocol.findings(protocol.two_by_two(_rows(ACCS)))
    assert sentence.startswith("m: masks cost +15.0 points")
    assert "U→M 40.0 %" in sentence and "beyond the 95 % intervals" in sentence
    wide = protocol.findings(protocol.two_by_two(_rows(ACCS, half=0.1)))[0]
    assert "within the 95 % intervals" in wide


def test_confusion_shifts_take_each_models_uu_and_mm_rows():
    rows = pd.DataFrame(
        [
            {"model": "m", "train": "unmasked", "test": "unmasked", "seed": 0,
             "confusion": [[9, 1], [1, 9]]},
            {"model": "m", "train": "masked", "test": "masked", "seed": 0,
             "confusion": [[5, 5], [1, 9]]},
            {"model": "peer", "train": "unmasked", "test": "masked", "seed": 0,
             "confusion": [[1, 0], [0, 1]]},
        ]
    )  # fmt: skip
    table = protocol.confusion_shifts(rows, ("a", "b"), top=1)
    assert table.model.tolist() == ["m"] and table.change.iloc[0] == pytest.approx(0.4)


def test_rows_from_two_runs_fill_all_four_cells():
    from types import SimpleNamespace

    from maskfer_lib.evaluate import evaluate

    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    onehot = np.eye(2)[y]

    def run(acc_m, acc_u):  # a Run-like object: results per test set
        def res(acc):
            p = onehot.copy()
            p[: int(round((1 - acc) * len(y)))] = 1 - p[: int(round((1 - acc) * len(y)))]
            return evaluate(y, p, ("a", "b"))

        return SimpleNamespace(results={"test_masked": res(acc_m), "test_unmasked": res(acc_u)})

    rows = protocol.rows_from_runs("fecn", {"masked": run(0.75, 0.5), "unmasked": run(0.25, 1.0)})
    table = protocol.two_by_two(rows).iloc[0]
    assert (table["M→M"], table["M→U"], table["U→M"], table["U→U"]) == (0.75, 0.5, 0.25, 1.0)
    assert table["cost_of_mask"] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="masked-trained run has no 'test_unmasked' result"):
        protocol.rows_from_runs("x", {"masked": SimpleNamespace(results={})})
