"""Figure helpers: they draw what they are given and save PNG + PDF."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from maskfer_lib import plots  # noqa: E402

NAMES = ["angry", "happy", "neutral"]
CM = np.array([[5, 3, 2], [0, 10, 0], [1, 1, 8]])


def test_plot_history_two_panels_with_val_curves(tmp_path):
    h = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "loss": [1.0, 0.8, 0.6],
            "accuracy": [0.4, 0.5, 0.7],
            "val_loss": [1.1, 0.9, 0.8],
            "val_accuracy": [0.3, 0.5, 0.6],
        }
    )
    fig = plots.plot_history(h, title="t")
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 2 and len(acc_ax.lines) == 2
    np.testing.assert_allclose(acc_ax.lines[1].get_ydata(), [0.3, 0.5, 0.6])
    paths = plots.save_figure(fig, tmp_path, "hist", close=True)
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    # without validation data only the train curve is drawn
    fig = plots.plot_history(h.assign(val_loss=np.nan, val_accuracy=np.nan))
    assert len(fig.axes[0].lines) == 1
    plt.close(fig)


@pytest.mark.parametrize("normalize,expected", [(False, "5"), (True, "50%")])
def test_plot_confusion_annotations(normalize, expected):
    fig = plots.plot_confusion(CM, NAMES, normalize=normalize, title="x")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 9 and texts[0] == expected
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == NAMES
    plt.close(fig)


def test_a_long_confusion_title_wraps_to_the_matrix_width():
    long_title = "approach 2 (heat map) (53.6%)"
    fig = plots.plot_confusion(CM, NAMES, normalize=True, title=long_title)
    shown = fig.axes[0].get_title()
    assert "\n" in shown and shown.replace("\n", " ") == long_title
    plt.close(fig)


def test_plot_confusion_pair_shares_scale():
    fig = plots.plot_confusion_pair(
        CM, CM * 3, NAMES, titles=("masked", "unmasked"), normalize=False
    )
    a, b = fig.axes[0], fig.axes[1]
    assert a.get_title() == "masked" and b.get_title() == "unmasked"
    assert a.collections[0].get_clim() == b.collections[0].get_clim() == (0, 30)
    plt.close(fig)


def test_time_to_accuracy_draws_one_line_per_run_and_the_baselines():
    h = pd.DataFrame({"seconds": [30.0, 30.0, 60.0], "val_accuracy": [0.2, 0.5, 0.4]})
    empty = pd.DataFrame({"seconds": [1.0], "val_accuracy": [np.nan]})
    fig = plots.plot_time_to_accuracy({"a": h, "b": h * [1, 0.5], "none": empty},
                                      majority=0.25, chance=1 / 7)  # fmt: skip
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels.count("a") == 1 and labels.count("b") == 1 and "none" not in labels
    assert {"majority class", "chance"} <= set(labels)
    a = next(line for line in ax.get_lines() if line.get_label() == "a")
    np.testing.assert_allclose(a.get_xdata(), [0.5, 1.0, 2.0])  # cumulative minutes
    plt.close(fig)
