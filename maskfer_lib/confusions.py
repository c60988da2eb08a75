"""Cross-model views of saved runs: the confusion matrices of notebook 06.

Notebooks 02–05 save each trained model's predictions on masked and unmasked test faces
(``predictions_test_masked.csv`` / ``predictions_test_unmasked.csv``, see
:mod:`maskfer_lib.evaluate`). This module gathers them for every run, and reports runs that
lack a split instead of silently leaving them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from maskfer_lib import evaluate as ev
from maskfer_lib.models import get_spec
from maskfer_lib.plots import plot_confusion

SPLITS = ("test_masked", "test_unmasked")


@dataclass
class RunConfusions:
    """Evaluations of every run that has predictions, and what each run was missing."""

    results: dict[str, dict[str, ev.EvalResult]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    other_tasks: dict[str, str] = field(default_factory=dict)
    """Runs left out because they classify something else (e.g. MCN: masked vs unmasked)."""

    def table(self) -> pd.DataFrame:
        """One row per run: accuracy beside the split's majority-class baseline, balanced
        accuracy, macro F1, whether it predicts a single class, and the masked − unmasked
        drop."""
        rows = []
        for name, by_split in self.results.items():
            row = {"run": name}
            for split, res in by_split.items():
                tag = split.removeprefix("test_")
                row[f"accuracy_{tag}"] = res.accuracy
                row[f"majority_{tag}"] = res.majority
                row[f"balanced_accuracy_{tag}"] = res.balanced_accuracy
                row[f"macro_f1_{tag}"] = res.macro_f1
                row[f"n_{tag}"] = res.n
                row[f"one_class_{tag}"] = res.predicts_one_class
            if {"test_masked", "test_unmasked"} <= by_split.keys():
                row["drop_masked_minus_unmasked"] = (
                    by_split["test_masked"].accuracy - by_split["test_unmasked"].accuracy
                )
            rows.append(row)
        return pd.DataFrame(rows)


def collect_confusions(run_dir, splits=SPLITS) -> RunConfusions:
    """Evaluate the saved predictions of every run under ``run_dir`` on each of ``splits``.

    A run with none of the splits is listed in ``missing`` with all of them; a run with some
    is evaluated on those it has and the rest are listed in ``missing``. Runs whose summary
    names another ``task`` (Hayashi's MCN and Yang's stage 1 tell masked from unmasked faces)
    are listed in ``other_tasks`` instead.
    """
    out = RunConfusions()
    for name in ev.list_runs(run_dir):
        task = _task(run_dir, name)
        if task != "expression":
            out.other_tasks[name] = task
            continue
        have, lacking = {}, []
        for split in splits:
            try:
                have[split] = ev.evaluate_saved(run_dir, name, split)
            except FileNotFoundError:
                lacking.append(split)
        if have:
            out.results[name] = have
        if lacking:
            out.missing[name] = lacking
    return out


def _task(run_dir, name: str) -> str:
    """What a run classifies: its summary's ``task`` (default: facial expression)."""
    try:
        return ev.load_run_summary(run_dir, name).get("task", "expression")
    except FileNotFoundError:
        return "expression"


def plot_confusion_panel(
    results: dict[str, ev.EvalResult], normalize: bool = True, ncols: int = 4, suptitle=None
):
    """All models' confusion matrices on one figure, one panel per model (row % by default)."""
    if not results:
        raise ValueError("no results to plot: train models in notebooks 02-05 first")
    names = list(results)
    ncols = min(ncols, len(names))
    nrows = int(np.ceil(len(names) / ncols))
    k = max(len(r.class_names) for r in results.values())
    size = 1.2 + 0.5 * k
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols + 0.5, size * nrows + 0.6), squeeze=False
    )
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names, strict=False):
        res = results[name]
        plot_confusion(
            res.confusion,
            res.class_names,
            normalize=normalize,
            title=f"{name}\nacc {100 * res.accuracy:.1f}%",
            ax=ax,
        )
        # One colour bar per panel is noise at this size; the annotations carry the numbers.
        if ax.collections and ax.collections[0].colorbar is not None:
            ax.collections[0].colorbar.remove()
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def most_confused(res: ev.EvalResult, top: int = 3) -> pd.DataFrame:
    """The ``top`` off-diagonal (true → predicted) pairs with the highest row share."""
    cm = np.asarray(res.confusion_norm, dtype=float).copy()
    np.fill_diagonal(cm, np.nan)
    flat = [
        (res.class_names[i], res.class_names[j], cm[i, j])
        for i in range(cm.shape[0])
        for j in range(cm.shape[1])
        if i != j and np.isfinite(cm[i, j]) and cm[i, j] > 0
    ]
    flat.sort(key=lambda t: -t[2])
    return pd.DataFrame(flat[:top], columns=["true", "predicted", "share_of_true_class"])


def require_runs(run_dir) -> list[str]:
    """The runs under ``run_dir``; a clear error naming the notebooks to run when there are none."""
    runs = ev.list_runs(run_dir)
    if not runs:
        raise FileNotFoundError(
            f"no trained runs in {run_dir}: run notebooks 02-05 first with the same PROFILE and "
            "DATASET (e.g. `make reproduce ONLY=02,03,04,05`)"
        )
    return runs


BUDGET_COLUMNS = [
    "run", "paper", "task", "framework", "params", "width_mult", "input", "epochs",
    "pretrain_epochs", "train_s", "images_per_s", "recipe", "accuracy_masked", "majority_masked",
    "accuracy_unmasked", "majority_unmasked",
]  # fmt: skip


def training_budgets(run_dir) -> pd.DataFrame:
    """What every run under ``run_dir`` was given and measured: epochs, training wall time
    (sum of epoch seconds, as measured when it trained, also after a resumed rerun), median
    training images/s and its test accuracies — one row per run with a ``summary.json``."""
    import json
    from pathlib import Path

    rows = []
    for name in ev.list_runs(run_dir):
        path = Path(run_dir) / name / "summary.json"
        if not path.exists():
            continue
        s = json.loads(path.read_text())
        shape = s.get("input_shape")
        rows.append(
            {
                "run": name,
                "paper": s.get("paper") or _paper_of(s.get("model_name") or name),
                "task": s.get("task", "expression"),
                "framework": s.get("framework"),
                "params": s.get("params"),
                "width_mult": s.get("width_mult"),
                "input": "x".join(str(v) for v in shape) if shape else None,
                "epochs": s.get("epochs"),
                "pretrain_epochs": s.get("pretrain_epochs", 0),
                "train_s": s.get("wall_time_s"),
                "images_per_s": s.get("images_per_s"),
                "recipe": s.get("recipe"),
                "accuracy_masked": s.get("accuracy_masked"),
                "majority_masked": s.get("majority_masked"),
                "accuracy_unmasked": s.get("accuracy_unmasked"),
                "majority_unmasked": s.get("majority_unmasked"),
            }
        )
    return pd.DataFrame(rows, columns=BUDGET_COLUMNS)


def _paper_of(model_name: str) -> str:
    """The paper a registered model belongs to ('' for names the registry does not know)."""
    try:
        return get_spec(model_name).paper
    except (KeyError, ValueError):
        return ""
