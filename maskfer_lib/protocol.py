"""The 2×2 mask protocol: train on unmasked or masked faces, test on unmasked or masked.

The four cells, on one split with the same faces and the same masks:

* ``U→U`` trained and tested on unmasked faces — the ordinary FER task;
* ``U→M`` trained on unmasked, tested on masked faces — an off-the-shelf model meeting masks;
* ``M→M`` trained and tested on masked faces — what the four papers do;
* ``M→U`` trained on masked, tested on unmasked faces.

Three differences, defined here once (percentage points when printed):

* cost of the mask = U→U − M→M: what masks cost when a model may train on them;
* off-the-shelf loss = U→U − U→M: what masks cost a model that never saw one;
* recovered by masked training = M→M − U→M: what training on masks wins back.

A difference is read as a difference only when the two cells' 95 % intervals do not overlap
(``evaluate.order_by_interval``); otherwise the table says ``≈``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from maskfer_lib.evaluate import format_interval, order_by_interval, over_seeds
from maskfer_lib.records import FaceDataset

CONDITIONS = ("unmasked", "masked")
_SHORT = {"unmasked": "U", "masked": "M"}
CELLS = ("U→U", "U→M", "M→M", "M→U")
"""The four train→test cells, in reading order."""

DIFFERENCES = {
    "cost_of_mask": ("U→U", "M→M"),
    "off_the_shelf_loss": ("U→U", "U→M"),
    "recovered_by_masked_training": ("M→M", "U→M"),
}
"""Each derived quantity as (minuend cell, subtrahend cell)."""


def cell(train: str, test: str) -> str:
    """``cell("unmasked", "masked") == "U→M"``."""
    for c in (train, test):
        if c not in _SHORT:
            raise ValueError(f"condition {c!r} is not one of {CONDITIONS}")
    return f"{_SHORT[train]}→{_SHORT[test]}"


def same_faces(
    unmasked: dict[str, FaceDataset], masked: dict[str, FaceDataset]
) -> dict[str, dict[str, FaceDataset]]:
    """Both conditions on the same faces: each unmasked split cut to the faces whose masked
    twin exists (``masked[split].meta["source_index"]``, written by ``masking.mask_dataset``;
    faces that could not be masked drop out of both). Returns ``{"unmasked": ..., "masked":
    ...}``, the form ``crosspaper.run_benchmark`` takes."""
    out = {}
    for split, ds in masked.items():
        if split not in unmasked:
            raise ValueError(f"the masked splits hold {split!r}, the unmasked ones do not")
        src = ds.meta.get("source_index")
        if src is None:
            raise ValueError(
                f"masked split {split!r} has no meta['source_index']; make it with "
                "masking.mask_dataset so each masked face names its unmasked twin"
            )
        out[split] = unmasked[split].subset(np.asarray(src))
    return {"unmasked": out, "masked": dict(masked)}


def two_by_two(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per model: each cell's accuracy (mean over seeds, its std, and the 95 %
    bootstrap interval averaged over seeds), then the three :data:`DIFFERENCES`, each with a
    verdict from the cells' intervals (``>``, ``<`` or ``≈``).

    ``rows`` has one row per (model, train, test, seed) with columns model, train, test,
    seed, accuracy, accuracy_lo, accuracy_hi (as :func:`crosspaper.run_benchmark` returns).
    Cells a model lacks (a peer trained only on unmasked faces) are NaN.
    """
    need = {"model", "train", "test", "seed", "accuracy", "accuracy_lo", "accuracy_hi"}
    missing = need - set(rows.columns)
    if missing:
        raise ValueError(f"rows lack the columns {sorted(missing)}")
    rows = rows.assign(cell=[cell(a, b) for a, b in zip(rows.train, rows.test, strict=True)])
    out = []
    for model, g in rows.groupby("model", sort=False):
        row: dict = {"model": model}
        for c in CELLS:
            h = g[g.cell == c]
            s = over_seeds(h.accuracy, h.accuracy_lo, h.accuracy_hi)
            row[c], row[f"{c} std"], row[f"{c} lo"], row[f"{c} hi"] = (
                s["mean"], s["std"], s["lo"], s["hi"]
            )  # fmt: skip
            row[f"{c} seeds"] = s["n"]
        for name, (a, b) in DIFFERENCES.items():
            row[name] = row[a] - row[b]
            known = np.isfinite([row[a], row[b]]).all()
            row[f"{name} verdict"] = (
                order_by_interval(
                    (row[f"{a} lo"], row[f"{a} hi"]), (row[f"{b} lo"], row[f"{b} hi"])
                )
                if known
                else ""
            )
        out.append(row)
    return pd.DataFrame(out)


def rows_from_runs(model: str, runs_by_condition: dict, seed: int = 0) -> pd.DataFrame:
    """The :func:`two_by_two` rows of one model trained once per condition.

    ``runs_by_condition`` maps ``"unmasked"``/``"masked"`` (the training faces) to a
    ``runs.Run`` scored on ``test_unmasked`` and ``test_masked`` (the same faces), as the
    multi-stage models of notebooks 04 and 05 are trained; notebook 10's single networks
    come from ``crosspaper.run_benchmark`` instead.
    """
    rows = []
    for train, run in runs_by_condition.items():
        for test in CONDITIONS:
            key = f"test_{test}"
            if key not in run.results:
                raise ValueError(f"{model}'s {train}-trained run has no {key!r} result")
            r = run.results[key]
            rows.append({"model": model, "train": train, "test": test, "seed": seed,
                         "accuracy": r.accuracy, "accuracy_lo": r.accuracy_lo,
                         "accuracy_hi": r.accuracy_hi})  # fmt: skip
    return pd.DataFrame(rows)


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`two_by_two`'s table for a reader: each cell as ``"acc [lo, hi]"`` in percent
    (``± std`` over seeds where there are several), each difference in points with its
    verdict."""
    out = pd.DataFrame({"model": table["model"]})
    for c in CELLS:
        vals = []
        for _, r in table.iterrows():
            if not np.isfinite(r[c]):
                vals.append("—")
                continue
            text = format_interval(r[c], r[f"{c} lo"], r[f"{c} hi"])
            if r[f"{c} seeds"] > 1:
                text += f" ± {100 * r[f'{c} std']:.1f}"
            vals.append(text)
        out[c] = vals
    for name in DIFFERENCES:
        out[name] = [
            f"{100 * v:+.1f} ({verdict})" if np.isfinite(v) else "—"
            for v, verdict in zip(table[name], table[f"{name} verdict"], strict=True)
        ]
    return out


def confusion_shift(
    confusion_uu: np.ndarray, confusion_mm: np.ndarray, class_names, top: int = 5
) -> pd.DataFrame:
    """The off-diagonal confusions whose rate (share of the true class) differs most between
    U→U and M→M: which mistakes masks add and which they remove, for one model.

    Both matrices are counts, rows = true class. Returns columns true, predicted, rate_UU,
    rate_MM and change (M→M − U→U), the ``top`` largest changes by size.
    """
    rates = []
    for cm in (confusion_uu, confusion_mm):
        cm = np.asarray(cm, float)
        rows = cm.sum(axis=1, keepdims=True)
        rates.append(np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0))
    change = rates[1] - rates[0]
    np.fill_diagonal(change, 0.0)
    order = np.argsort(-np.abs(change), axis=None)[:top]
    i, j = np.unravel_index(order, change.shape)
    return pd.DataFrame(
        {
            "true": [class_names[a] for a in i],
            "predicted": [class_names[b] for b in j],
            "rate_UU": rates[0][i, j],
            "rate_MM": rates[1][i, j],
            "change": change[i, j],
        }
    )


def confusion_shifts(rows: pd.DataFrame, class_names, top: int = 3) -> pd.DataFrame:
    """:func:`confusion_shift` for every model that has both a U→U and an M→M row with a
    ``confusion`` column (counts as nested lists; the first seed of each), one block of
    ``top`` rows per model."""
    out = []
    for model, g in rows.groupby("model", sort=False):
        first = g[g.seed == g.seed.min()]
        uu = first[(first.train == "unmasked") & (first.test == "unmasked")]
        mm = first[(first.train == "masked") & (first.test == "masked")]
        if uu.empty or mm.empty:
            continue
        shift = confusion_shift(
            np.asarray(uu.confusion.iloc[0]), np.asarray(mm.confusion.iloc[0]), class_names, top
        )
        out.append(shift.assign(model=model))
    if not out:
        return pd.DataFrame(columns=["model", "true", "predicted", "rate_UU", "rate_MM", "change"])
    table = pd.concat(out, ignore_index=True)
    return table[["model", "true", "predicted", "rate_UU", "rate_MM", "change"]]


def findings(table: pd.DataFrame) -> list[str]:
    """One sentence per model of :func:`two_by_two`'s table, numbers and verdicts filled in
    by code, so a notebook's conclusions hold on whatever dataset it ran."""
    words = {
        ">": "beyond the 95 % intervals",
        "<": "beyond the 95 % intervals",
        "≈": "within the 95 % intervals",
    }
    out = []
    for _, r in table.iterrows():
        parts = []
        if np.isfinite(r["cost_of_mask"]):
            parts.append(
                f"masks cost {100 * r['cost_of_mask']:+.1f} points when it trains on them "
                f"(U→U {100 * r['U→U']:.1f} %, M→M {100 * r['M→M']:.1f} %; "
                f"{words[r['cost_of_mask verdict']]})"
            )
        if np.isfinite(r["off_the_shelf_loss"]):
            parts.append(
                f"trained without masks it loses {100 * r['off_the_shelf_loss']:+.1f} points on "
                f"masked faces (U→M {100 * r['U→M']:.1f} %; {words[r['off_the_shelf_loss verdict']]})"
            )
        if np.isfinite(r["recovered_by_masked_training"]):
            parts.append(
                f"masked training wins back {100 * r['recovered_by_masked_training']:+.1f} "
                f"({words[r['recovered_by_masked_training verdict']]})"
            )
        if parts:
            out.append(f"{r['model']}: " + "; ".join(parts) + ".")
    return out
