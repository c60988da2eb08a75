"""Metrics (scikit-learn), k-fold aggregation, and the on-disk record of every training run.

Metrics: :func:`evaluate` turns labels and probabilities (or predicted labels) into an
:class:`EvalResult` — accuracy, macro F1, the per-class precision/recall/F1/support table and
the raw and row-normalised confusion matrices (rows = true class, columns = predicted).

On-disk layout of runs (``run_dir`` is ``config.runs_dir(profile, dataset)``)::

    run_dir/
      <name>/                       one trained model, e.g. "celik_cnn" or "putro_slim_rgc_fold3"
        history.csv                 fit() history (epoch, loss, accuracy, val_loss, ...)
        fit.json                    monitor, best epoch, checkpoint file name (written by fit)
        model.keras | model.pt      best checkpoint (written by fit / train.save_model)
        predictions_<split>.csv     one row per image: y_true, y_pred, true_name, pred_name,
                                    p_<class> for every class, then any extra columns
                                    (e.g. masked, identity); split is "test", "test_masked",
                                    "test_unmasked", "val", ...
        summary.json                model name, framework, params, epochs, wall time,
                                    images/s, accuracy (masked / unmasked) and extras

Notebooks 02–05 write runs with :func:`save_predictions` and :func:`save_run_summary`;
notebooks 06 and 10 read them back with :func:`list_runs`, :func:`load_predictions`,
:func:`load_run_summary` and :func:`load_run_summaries`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------- metrics


@dataclass
class EvalResult:
    """Metrics of one classifier on one labelled set.

    Attributes:
        accuracy: fraction correct.
        macro_f1: unweighted mean of the per-class F1 scores.
        report: DataFrame indexed by class name (+ "macro avg", "weighted avg") with
            precision, recall, f1, support — scikit-learn's definitions.
        confusion: (K, K) int counts, rows = true class, columns = predicted.
        confusion_norm: ``confusion`` divided by row sums (recall on the diagonal); rows of
            classes absent from ``y_true`` are NaN.
        class_names: label names, index order.
        y_true, y_pred: the labels the numbers came from.
        balanced_accuracy: mean per-class recall (scikit-learn's ``balanced_accuracy_score``
            over the classes present in ``y_true``).
        majority: accuracy of always predicting the most frequent class of ``y_true`` —
            the baseline a trained model must beat.
        chance: 1 / K, the accuracy of uniform guessing.
        accuracy_lo, accuracy_hi: 95 % bootstrap interval of ``accuracy`` over the
            evaluated faces (:func:`accuracy_interval`).
    """

    accuracy: float
    macro_f1: float
    report: pd.DataFrame
    confusion: np.ndarray
    confusion_norm: np.ndarray
    class_names: tuple[str, ...]
    y_true: np.ndarray = field(repr=False)
    y_pred: np.ndarray = field(repr=False)
    balanced_accuracy: float = float("nan")
    majority: float = float("nan")
    chance: float = float("nan")
    accuracy_lo: float = float("nan")
    accuracy_hi: float = float("nan")

    @property
    def majority_class(self) -> str:
        """Name of the most frequent class of ``y_true``."""
        return self.class_names[
            int(np.bincount(self.y_true, minlength=len(self.class_names)).argmax())
        ]

    @property
    def predicts_one_class(self) -> bool:
        """True when every prediction is the same class (a collapsed model)."""
        return len(np.unique(self.y_pred)) == 1

    @property
    def n(self) -> int:
        """Number of evaluated images."""
        return len(self.y_true)

    def summary(self) -> dict:
        """Flat dict: accuracy with its 95 % interval, the baselines, macro_f1 and per-class
        F1 (``f1_<class>``)."""
        out = {
            "accuracy": self.accuracy,
            "accuracy_lo": self.accuracy_lo,
            "accuracy_hi": self.accuracy_hi,
            "balanced_accuracy": self.balanced_accuracy,
            "majority": self.majority,
            "chance": self.chance,
            "macro_f1": self.macro_f1,
        }
        for c in self.class_names:
            out[f"f1_{c}"] = float(self.report.loc[c, "f1"])
        return out


def evaluate(y_true, proba_or_pred, class_names) -> EvalResult:
    """Accuracy, per-class precision/recall/F1 and confusion matrices.

    ``proba_or_pred`` is either (N, K) probabilities/scores (argmax taken) or (N,) predicted
    labels. Classes with no predictions get precision 0 (scikit-learn's ``zero_division=0``).
    """
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    class_names = tuple(class_names)
    k = len(class_names)
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    p = np.asarray(proba_or_pred)
    if p.ndim == 2:
        if p.shape[1] != k:
            raise ValueError(f"probabilities have {p.shape[1]} columns but there are {k} classes")
        y_pred = p.argmax(axis=1)
    elif p.ndim == 1:
        y_pred = p.astype(np.int64)
    else:
        raise ValueError(f"proba_or_pred must be (N, K) or (N,); got shape {p.shape}")
    if len(y_pred) != len(y_true):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if len(y_true) == 0:
        raise ValueError("evaluate() got no samples")
    for name, y in (("y_true", y_true), ("predictions", y_pred)):
        if y.min() < 0 or y.max() >= k:
            raise ValueError(f"{name} hold labels outside 0..{k - 1} for classes {class_names}")
    labels = list(range(k))
    prec, rec, f1, sup = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    report = pd.DataFrame(
        {"precision": prec, "recall": rec, "f1": f1, "support": sup}, index=list(class_names)
    )
    for avg in ("macro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=avg, zero_division=0
        )
        report.loc[f"{avg} avg"] = [ap, ar, af, sup.sum()]
    report["support"] = report["support"].astype(int)
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    rows = cm.sum(axis=1, keepdims=True).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        cm_norm = np.where(rows > 0, cm / np.where(rows == 0, 1, rows), np.nan)
    return EvalResult(
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(report.loc["macro avg", "f1"]),
        report=report,
        confusion=cm,
        confusion_norm=cm_norm,
        class_names=class_names,
        y_true=y_true,
        y_pred=y_pred,
        balanced_accuracy=float(balanced_accuracy_score(y_true, y_pred)),
        **baselines(y_true, k),
        **dict(zip(("accuracy_lo", "accuracy_hi"), accuracy_interval(y_true, y_pred), strict=True)),
    )


def accuracy_interval(
    y_true, y_pred, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the accuracy (``scipy.stats.bootstrap``, faces
    resampled with replacement, seeded). It measures how much the test faces alone move the
    number; the spread over training seeds is reported separately (mean ± std)."""
    from scipy.stats import bootstrap

    correct = (np.asarray(y_true).ravel() == np.asarray(y_pred).ravel()).astype(np.float64)
    if len(correct) == 0:
        raise ValueError("accuracy_interval() got no samples")
    if correct.min() == correct.max():  # every resample gives the same accuracy
        return float(correct[0]), float(correct[0])
    res = bootstrap(
        (correct,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def order_by_interval(a: tuple[float, float], b: tuple[float, float]) -> str:
    """``">"`` when interval ``a`` lies wholly above ``b``, ``"<"`` when below, ``"≈"`` when
    they overlap: the only case in which this project calls one result better than another."""
    if a[0] > b[1]:
        return ">"
    if a[1] < b[0]:
        return "<"
    return "≈"


def over_seeds(accuracy, lo, hi) -> dict:
    """One model's accuracy over training seeds: ``{"mean", "std", "lo", "hi", "n"}``.

    ``accuracy``, ``lo`` and ``hi`` hold one value per seed (a run's accuracy and its 95 %
    bootstrap interval). ``std`` is the sample standard deviation (NaN for fewer than two
    seeds); ``lo``/``hi`` are the intervals' means, so the std says how much the seed moves
    the number and the interval how much the test faces do. Every seed-averaged table
    (``protocol.two_by_two``, ``runs.seed_table``, ``claims``) reads its numbers here."""
    acc = np.asarray(accuracy, dtype=float)
    n = len(acc)
    if n == 0:
        return {"mean": np.nan, "std": np.nan, "lo": np.nan, "hi": np.nan, "n": 0}
    return {
        "mean": float(acc.mean()),
        "std": float(acc.std(ddof=1)) if n > 1 else np.nan,
        "lo": float(np.mean(lo)),
        "hi": float(np.mean(hi)),
        "n": n,
    }


def results_over_seeds(results) -> dict:
    """:func:`over_seeds` of one model's :class:`EvalResult` per seed."""
    return over_seeds(
        [r.accuracy for r in results],
        [r.accuracy_lo for r in results],
        [r.accuracy_hi for r in results],
    )


def format_mean_std(mean: float, std: float) -> str:
    """``"49.7 ± 0.8"`` in percent; just ``"49.7"`` when ``std`` is NaN (one seed)."""
    return f"{100 * mean:.1f} ± {100 * std:.1f}" if np.isfinite(std) else f"{100 * mean:.1f}"


def format_interval(value: float, lo: float, hi: float) -> str:
    """``"49.7 [48.1, 51.3]"``: a fraction and its interval, in percent."""
    return f"{100 * value:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def baselines(y_true, num_classes: int) -> dict:
    """``{"majority", "chance"}``: accuracy of always predicting the most frequent class of
    ``y_true``, and of uniform guessing (1 / ``num_classes``)."""
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    if len(y_true) == 0:
        raise ValueError("baselines() got no labels")
    counts = np.bincount(y_true, minlength=num_classes)
    return {"majority": float(counts.max() / counts.sum()), "chance": 1.0 / num_classes}


def kfold_summary(results, ddof: int = 1) -> pd.DataFrame:
    """Mean ± std over folds (or seeds) of accuracy, macro F1 and per-class F1.

    ``results`` holds :class:`EvalResult` objects or plain dicts of metrics. Returns a
    DataFrame indexed by metric with columns mean, std, n and "mean ± std" (percent, one
    decimal). ``std`` is the sample standard deviation (``ddof=1``), NaN for one result.
    """
    rows = [r.summary() if isinstance(r, EvalResult) else dict(r) for r in results]
    if not rows:
        raise ValueError("kfold_summary needs at least one result")
    df = pd.DataFrame(rows)
    out = pd.DataFrame(
        {
            "mean": df.mean(),
            "std": df.std(ddof=ddof),
            "n": df.count(),
        }
    )
    out["mean ± std"] = [
        format_mean_std(m, s) for m, s in zip(out["mean"], out["std"], strict=True)
    ]
    return out


def one_vs_rest_accuracy(cm) -> np.ndarray:
    """Per-class accuracy of the one-vs-rest problem: (TP + TN) / (P + N) for each class.

    ``cm`` rows = true class, columns = predicted (counts).
    """
    cm = np.asarray(cm, dtype=float)
    total = cm.sum()
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    tn = total - tp - fp - fn
    return (tp + tn) / total


def celik_printed_precision(cm) -> np.ndarray:
    """What Çelik & Gören's printed precision formula gives, per class.

    Their Eq. (2) reads ``Precision = (TP + TN) / (P + N)`` — the same expression as their
    Eq. (1) for accuracy, i.e. the one-vs-rest accuracy of each class. Precision is
    ``TP / (TP + FP)`` (what :func:`evaluate` reports, via scikit-learn). The printed formula
    rewards every correctly rejected image of the other classes, so for 7 classes it stays
    high (≈ 0.86+) even for a class the model never gets right. (Their Table 3's
    "precision" row does not follow Eq. (2) either — it differs from their accuracy row.)

    ``cm`` rows = true class, columns = predicted (counts). Returns (K,) floats.
    """
    return one_vs_rest_accuracy(cm)


# --------------------------------------------------------------------------- runs on disk


def run_path(run_dir, name: str) -> Path:
    """The folder of run ``name`` under ``run_dir`` (a plain folder name, checked)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"run name must be a plain folder name; got {name!r}")
    return Path(run_dir) / name


def save_predictions(
    run_dir,
    name: str,
    y_true,
    proba,
    class_names,
    split: str = "test",
    extra_cols: dict | pd.DataFrame | None = None,
) -> Path:
    """Write ``run_dir/name/predictions_<split>.csv`` (see the module docstring for columns).

    ``extra_cols`` (dict of equal-length arrays or a DataFrame) adds per-image columns such
    as ``masked`` or ``identity``. Returns the CSV path.
    """
    class_names = tuple(class_names)
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape != (len(y_true), len(class_names)):
        raise ValueError(
            f"proba must be (N, K) = ({len(y_true)}, {len(class_names)}); got {proba.shape}"
        )
    y_pred = proba.argmax(axis=1)
    df = pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": y_pred,
            "true_name": [class_names[i] for i in y_true],
            "pred_name": [class_names[i] for i in y_pred],
        }
    )
    for j, c in enumerate(class_names):
        df[f"p_{c}"] = proba[:, j]
    if extra_cols is not None:
        extra = pd.DataFrame(extra_cols)
        if len(extra) != len(df):
            raise ValueError(f"extra_cols have {len(extra)} rows but there are {len(df)} images")
        clash = set(extra.columns) & set(df.columns)
        if clash:
            raise ValueError(f"extra_cols reuse reserved column names {sorted(clash)}")
        df = pd.concat([df, extra.reset_index(drop=True)], axis=1)
    path = run_path(run_dir, name) / f"predictions_{split}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


def load_predictions(run_dir, name: str, split: str = "test"):
    """Read predictions back: ``(DataFrame, y_true, proba, class_names)``.

    Class names and their order come from the ``p_<class>`` columns.
    """
    path = run_path(run_dir, name) / f"predictions_{split}.csv"
    if not path.exists():
        have = (
            sorted(p.name for p in path.parent.glob("predictions_*.csv"))
            if path.parent.exists()
            else []
        )
        raise FileNotFoundError(
            f"no predictions at {path} (this run has {have or 'none'}); run the notebook that "
            "trains this model first"
        )
    df = pd.read_csv(path)
    pcols = [c for c in df.columns if c.startswith("p_")]
    class_names = tuple(c[2:] for c in pcols)
    return df, df["y_true"].to_numpy(np.int64), df[pcols].to_numpy(float), class_names


def evaluate_saved(run_dir, name: str, split: str = "test") -> EvalResult:
    """:func:`evaluate` on saved predictions."""
    _, y, proba, names = load_predictions(run_dir, name, split)
    return evaluate(y, proba, names)


def list_runs(run_dir) -> list[str]:
    """Names of the runs under ``run_dir`` (folders with a summary or predictions), sorted."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        return []
    return sorted(
        p.name
        for p in run_dir.iterdir()
        if p.is_dir() and ((p / "summary.json").exists() or any(p.glob("predictions_*.csv")))
    )


def _jsonable(v):
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def save_run_summary(
    run_dir,
    name: str,
    *,
    model_name: str,
    framework: str,
    params: int | None = None,
    epochs: int | None = None,
    wall_time_s: float | None = None,
    images_per_s: float | None = None,
    accuracy_masked: float | None = None,
    accuracy_unmasked: float | None = None,
    history: pd.DataFrame | None = None,
    **extra,
) -> Path:
    """Write ``run_dir/name/summary.json``; return its path.

    ``history`` (from :func:`maskfer_lib.train.fit`) fills ``epochs``, ``wall_time_s`` (sum
    of epoch seconds) and ``images_per_s`` (median over epochs) where those are not given.
    ``extra`` keyword arguments (e.g. ``dataset``, ``profile``, ``seed``, ``macro_f1``,
    ``fold``) are stored as they are.
    """
    if history is not None and len(history):
        epochs = int(len(history)) if epochs is None else epochs
        wall_time_s = float(history["seconds"].sum()) if wall_time_s is None else wall_time_s
        if images_per_s is None:
            images_per_s = float(history["images_per_s"].median())
        extra.setdefault("best_val_accuracy", float(history["val_accuracy"].max()))
    summary = {
        "name": name,
        "model_name": model_name,
        "framework": framework,
        "params": params,
        "epochs": epochs,
        "wall_time_s": wall_time_s,
        "images_per_s": images_per_s,
        "accuracy_masked": accuracy_masked,
        "accuracy_unmasked": accuracy_unmasked,
        "written": time.strftime("%Y-%m-%dT%H:%M:%S"),
        **extra,
    }
    path = run_path(run_dir, name) / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(summary), indent=2, default=str))
    return path


def load_run_summary(run_dir, name: str) -> dict:
    """Read ``run_dir/name/summary.json``."""
    path = run_path(run_dir, name) / "summary.json"
    if not path.exists():
        raise FileNotFoundError(
            f"no run summary at {path}; runs here: {list_runs(run_dir) or 'none'}"
        )
    return json.loads(path.read_text())


def load_run_summaries(run_dir) -> pd.DataFrame:
    """One row per run that has a summary.json, indexed by run name (empty when none)."""
    rows = []
    for name in list_runs(run_dir):
        if (Path(run_dir) / name / "summary.json").exists():
            rows.append(load_run_summary(run_dir, name))
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).set_index("name")
