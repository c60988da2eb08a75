"""Çelik & Gören's printed tables (papers.celik) and our side-by-side versions."""

import numpy as np
import pandas as pd
import pytest

from maskfer_lib.papers import celik


def test_paper_confusions_are_rows_true_and_sum_to_one():
    # Printed columns (true classes) sum to 100 % in Table 4; Table 5 as printed has an
    # all-zero disgust column, sad summing to 116.7 % and surprise to 75 %.
    np.testing.assert_allclose(celik.paper_confusion(4).sum(axis=1), 1.0, atol=0.003)
    sums5 = celik.paper_confusion(5).sum(axis=1)
    np.testing.assert_allclose(sums5, [1.0, 1.0, 1.0, 1.0, 1.0, 1.167, 0.75], atol=0.003)
    assert celik.paper_confusion(4)[3, 3] == pytest.approx(0.778)  # happy, on the diagonal
    with pytest.raises(ValueError, match="Tables 4 and 5"):
        celik.paper_confusion(3)


def test_table2_from_a_history():
    hist = pd.DataFrame(
        {
            "accuracy": [0.3, 0.5, 0.4],
            "val_accuracy": [0.2, 0.45, 0.4],
            "loss": [2.0, 1.5, 1.6],
            "val_loss": [2.1, 1.7, 1.8],
        }
    )
    side = celik.table2_side_by_side(hist)
    ours = side["ours (3 epochs)"]
    assert ours.loc["max accuracy (%)", "validation"] == pytest.approx(45.0)
    assert ours.loc["current accuracy (%)", "training"] == pytest.approx(40.0)
    assert ours.loc["min loss", "validation"] == pytest.approx(1.7)
    assert side["paper (250 epochs)"].loc["max accuracy (%)", "validation"] == 70.8


def test_table3_side_by_side_in_percent_and_checks_columns():
    per_class = pd.DataFrame(
        {"one-vs-rest accuracy": 0.9, "precision": 0.5, "recall": 0.25},
        index=list(celik.CLASSES),
    )
    t = celik.table3_side_by_side(per_class)
    assert t.loc["fear", ("ours", "recall")] == 25.0
    assert t.loc["disgust", ("paper", "precision (printed)")] == 100.0
    with pytest.raises(ValueError, match="lacks"):
        celik.table3_side_by_side(per_class.drop(columns="recall"))


def test_row_percent_and_the_four_panel_figure():
    cm = np.array([[3, 1], [0, 0]])
    np.testing.assert_allclose(celik.row_percent(cm), [[75, 25], [0, 0]])
    counts = np.eye(7, dtype=int) * 5 + 1
    fig = celik.plot_confusions_vs_paper(counts, counts)
    assert len(fig.axes) == 4
    assert fig.axes[0].get_title().startswith("paper, Table 4")
    # The paper's happy diagonal (77.8 %) is annotated as printed, rounded.
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "78" in texts
