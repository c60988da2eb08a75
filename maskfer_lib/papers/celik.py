"""Çelik & Gören's printed tables (Tables 2–5), as printed, and ours in the same layout.

Notebook 02 puts each of their tables next to the same quantity measured here, so a reader
sees the reproduction gap instead of two numbers in different places. Their numbers are
copied from the paper (Çelik & Gören, Tables 2–5) as printed; nothing else in the library
types them in (``claims`` reads Table 2's validation accuracy from here).

Reading the paper's tables:

* Table 2 summarises the training curves over 250 epochs (training and validation accuracy
  and loss: max, last ("current") and min).
* Tables 4 and 5 are confusion matrices in percent whose *columns* sum to 100: columns are
  the true class, rows the predicted one. :func:`paper_confusion` transposes them so that,
  as everywhere in this compendium, rows are the true class. Table 5 as printed is not
  consistent: its sad column sums to 116.7 % and its surprise column to 75 %.
* Table 3's "accuracy" is one-vs-rest accuracy per class; its "precision" column is printed
  from Eq. 2, which the paper writes as (TP + TN) / (P + N) — the same formula as accuracy —
  while the numbers printed are neither; we report true precision (TP / (TP + FP)) beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
"""Their seven classes, in FER2013's (and our) order."""

TABLE2_EPOCHS = 250
"""Epochs behind Table 2, as printed ("current accuracy at epoch 250")."""

TABLE2 = pd.DataFrame(
    {
        "training": [79.1, 79.0, 69.1, 0.821, 0.572, 0.596],
        "validation": [70.8, 70.8, 64.7, 1.131, 1.220, 1.094],
    },
    index=[
        "max accuracy (%)",
        "current accuracy (%)",
        "min accuracy (%)",
        "max loss",
        "current loss",
        "min loss",
    ],
)
"""Table 2 as printed (:data:`TABLE2_EPOCHS` epochs). Their "min loss" of training (0.596) is
above the "current" one (0.572) — printed that way."""

TABLE3 = pd.DataFrame(
    {
        "accuracy": [89.4, 89.4, 83.0, 85.7, 76.6, 84.0, 91.5],
        "precision (printed)": [50.0, 100.0, 40.0, 58.3, 45.5, 33.3, 25.0],
        "recall": [60.0, 16.7, 66.7, 77.8, 50.0, 33.3, 50.0],
    },
    index=list(CLASSES),
)
"""Table 3 (percent) as printed; computed from Table 4's subjects."""

# Tables 4 (masked) and 5 (unmasked) as printed: rows predicted, columns true (percent of column).
_TABLE4 = [
    [50.0, 0.0, 16.7, 11.1, 0.0, 0.0, 0.0],
    [0.0, 16.7, 0.0, 0.0, 0.0, 0.0, 0.0],
    [16.7, 33.3, 66.7, 0.0, 20.0, 16.7, 0.0],
    [16.7, 16.7, 0.0, 77.8, 20.0, 0.0, 25.0],
    [0.0, 0.0, 0.0, 11.1, 50.0, 50.0, 50.0],
    [16.7, 33.3, 0.0, 0.0, 10.0, 33.3, 0.0],
    [0.0, 0.0, 16.7, 0.0, 0.0, 0.0, 25.0],
]
_TABLE5 = [
    [50.0, 0.0, 16.7, 11.1, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [16.7, 40.0, 66.7, 0.0, 20.0, 16.7, 0.0],
    [16.7, 20.0, 0.0, 77.8, 20.0, 16.7, 0.0],
    [0.0, 0.0, 0.0, 11.1, 50.0, 50.0, 50.0],
    [16.7, 40.0, 0.0, 0.0, 10.0, 33.3, 0.0],
    [0.0, 0.0, 16.7, 0.0, 0.0, 0.0, 25.0],
]


def paper_confusion(table: int) -> np.ndarray:
    """Their Table 4 (masked) or 5 (unmasked) as a fraction matrix, rows = true class."""
    if table not in (4, 5):
        raise ValueError(f"Çelik & Gören print confusion matrices in Tables 4 and 5, not {table}")
    m = np.asarray(_TABLE4 if table == 4 else _TABLE5, dtype=float) / 100.0
    return m.T


def table2_ours(history: pd.DataFrame) -> pd.DataFrame:
    """Table 2's rows computed from one of our training histories (``train.fit``)."""
    out = {}
    for col, acc, loss in (("training", "accuracy", "loss"), ("validation", "val_accuracy", "val_loss")):  # fmt: skip
        a, lo = 100 * history[acc], history[loss]
        out[col] = [a.max(), a.iloc[-1], a.min(), lo.max(), lo.iloc[-1], lo.min()]
    return pd.DataFrame(out, index=TABLE2.index)


def table2_side_by_side(history: pd.DataFrame, epochs_paper: int = TABLE2_EPOCHS) -> pd.DataFrame:
    """Their Table 2 and ours in one frame, with the epochs each side trained."""
    ours = table2_ours(history)
    table = pd.concat(
        {f"paper ({epochs_paper} epochs)": TABLE2, f"ours ({len(history)} epochs)": ours}, axis=1
    )
    return table.rename_axis("quantity").round(3)


def table3_side_by_side(per_class: pd.DataFrame) -> pd.DataFrame:
    """Their Table 3 next to ours; ``per_class`` is notebook 02's per-class table
    (index: class; columns include ``one-vs-rest accuracy``, ``precision``, ``recall``),
    fractions. Returns percent."""
    missing = {"one-vs-rest accuracy", "precision", "recall"} - set(per_class.columns)
    if missing:
        raise ValueError(f"per_class lacks columns {sorted(missing)}")
    ours = 100 * per_class.loc[list(CLASSES), ["one-vs-rest accuracy", "precision", "recall"]]
    ours.columns = ["accuracy", "precision", "recall"]
    return pd.concat({"paper": TABLE3, "ours": ours}, axis=1).rename_axis("class").round(1)


def row_percent(cm) -> np.ndarray:
    """A count matrix as percent of each row (true class); empty rows stay 0."""
    cm = np.asarray(cm, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    return 100 * cm / np.where(rows == 0, 1, rows)


def plot_confusions_vs_paper(cm_masked, cm_unmasked, class_names=CLASSES, note: str = ""):
    """Their Tables 4 and 5 above our masked and unmasked confusion matrices.

    All four panels are percent of the true class (rows); the paper's are shown as printed
    (transposed to rows = true), so Table 5's inconsistent rows keep their printed sums.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    panels = [
        ("paper, Table 4 (masked)", 100 * paper_confusion(4)),
        ("paper, Table 5 (unmasked)", 100 * paper_confusion(5)),
        (f"ours, masked test{note}", row_percent(cm_masked)),
        (f"ours, unmasked test{note}", row_percent(cm_unmasked)),
    ]
    names = [c[:4] for c in class_names]
    fig, axes = plt.subplots(2, 2, figsize=(11, 10))
    for ax, (title, m) in zip(axes.ravel(), panels, strict=True):
        sns.heatmap(
            m, ax=ax, annot=np.vectorize(lambda v: f"{v:.0f}")(m), fmt="", cmap="Blues",
            vmin=0, vmax=100, square=True, cbar=False, linewidths=0.5, linecolor="white",
            xticklabels=names, yticklabels=names,
        )  # fmt: skip
        ax.set_title(title)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
    fig.suptitle("Çelik CNN: the paper's confusion matrices and ours (percent of each true class)")
    fig.tight_layout()
    return fig
