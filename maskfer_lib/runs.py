"""One train-and-record path for every model, notebook, the benchmark and the demo.

:func:`train_and_record` is the only place that trains a model and writes what it did:
(pre-train →) fit → predict every test set → evaluate → save predictions, history and a
summary in one run folder. :func:`kfold` repeats it over stratified folds.

A run folder (``run_dir`` is ``config.runs_dir(profile, dataset)``)::

    run_dir/<run name>/
      model.keras | model.pt       best checkpoint by validation accuracy (train.fit)
      history.csv                  one row per epoch (train.fit)
      fit.json                     budget, recipe part by part, best epoch, fingerprint
      pretrain/                    the same three files for a pre-training stage, if any
      predictions_test_<set>.csv   one per test set ("test_masked", "test_unmasked", ...),
                                   and predictions_test.csv, a copy of the first
      summary.json                 model, recipe, params, epochs, seconds, images/s, and per
                                   test set: accuracy, balanced accuracy, macro F1 and the
                                   majority-class and chance baselines

``evaluate.load_predictions`` / ``load_run_summaries``, ``compare``, ``realtime`` and the
benchmark read this layout. A finished run is loaded, not retrained, when nothing it depends
on changed (``train.fit``'s fingerprint), so long real-data runs resume model by model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from maskfer_lib import evaluate
from maskfer_lib import train as trainer  # ``train`` names the training data below
from maskfer_lib.config import TrainCfg, seed_everything
from maskfer_lib.data import kfold_indices, stratified_split, to_model_input
from maskfer_lib.models import build_model, count_params, framework_of, get_spec, list_models
from maskfer_lib.recipe import Recipe, get_recipe
from maskfer_lib.records import FaceDataset


@dataclass
class Split:
    """Model inputs (N, H, W, C) float32 in [0, 1] and integer labels of one split."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Run:
    """What one :func:`train_and_record` call produced."""

    name: str
    model_name: str
    params: int
    history: pd.DataFrame
    pretrain_history: pd.DataFrame | None = None
    results: dict[str, evaluate.EvalResult] = field(default_factory=dict)
    proba: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    seconds: float = 0.0
    recipe: str = ""
    out_dir: Path | None = None
    model: object = field(default=None, repr=False)

    @property
    def train_seconds(self) -> float:
        """Seconds of training, pre-training included, from the epochs' own times: the same
        whether this call trained the model or loaded the finished run (``seconds`` is this
        call's wall time, a few seconds when it loaded)."""
        pre = 0.0 if self.pretrain_history is None else self.pretrain_history["seconds"].sum()
        return float(self.history["seconds"].sum() + pre)

    def accuracy(self, test: str) -> float:
        """Accuracy on test set ``test`` (a key of the ``tests`` passed in)."""
        return float(self.results[test].accuracy)

    def row(self) -> dict:
        """One table row: model, recipe, params, epochs, minutes, images/s and, per test
        set, accuracy with its 95 % interval, its majority baseline and balanced accuracy."""
        h = self.history
        out = {
            "run": self.name,
            "model": self.model_name,
            "recipe": self.recipe,
            "params": self.params,
            "epochs": int(len(h)),
            "train_min": self.train_seconds / 60,
            "images_per_s": float(h["images_per_s"].median()),
            "best_val_accuracy": float(h["val_accuracy"].max()),
        }
        for k, r in self.results.items():
            out[f"acc_{k}"] = r.accuracy
            out[f"acc_{k}_95ci"] = evaluate.format_interval(
                r.accuracy, r.accuracy_lo, r.accuracy_hi
            )
            out[f"majority_{k}"] = r.majority
            out[f"balanced_acc_{k}"] = r.balanced_accuracy
        return out


def masked_vs_unmasked_tests(masked_x, unmasked_x) -> dict[str, Split]:
    """The test splits of a masked (1) / unmasked (0) classifier from the same test faces
    with and without masks: each condition alone (one class, so its majority baseline is
    100 %) and ``test_both``, the two together (majority 50 %: the one to read)."""
    masked_x, unmasked_x = np.asarray(masked_x), np.asarray(unmasked_x)
    ones, zeros = np.ones(len(masked_x), int), np.zeros(len(unmasked_x), int)
    return {
        "test_masked": Split(masked_x, ones),
        "test_unmasked": Split(unmasked_x, zeros),
        "test_both": Split(np.concatenate([masked_x, unmasked_x]), np.r_[ones, zeros]),
    }


def as_split(data, input_shape=None) -> Split:
    """A :class:`Split` from a Split, an ``(x, y)`` pair, or a FaceDataset resized to
    ``input_shape`` (H, W, C) by ``data.to_model_input``."""
    if isinstance(data, Split):
        return data
    if isinstance(data, FaceDataset):
        if input_shape is None:
            raise ValueError("a FaceDataset needs input_shape=(H, W, C) to become model input")
        return Split(to_model_input(data, input_shape), np.asarray(data.labels))
    if isinstance(data, tuple) and len(data) == 2:
        return Split(np.asarray(data[0], np.float32), np.asarray(data[1]))
    raise TypeError(f"expected a Split, (x, y) or FaceDataset; got {type(data).__name__}")


def _split_file(test: str) -> str:
    return test if test.startswith("test") else f"test_{test}"


def train_and_record(
    run_name: str,
    train,
    val,
    tests: dict,
    *,
    cfg: TrainCfg,
    class_names,
    model=None,
    model_name: str | None = None,
    input_shape=None,
    recipe: Recipe | str | None = None,
    run_dir=None,
    pretrain: tuple | None = None,
    pretrain_epochs: int = 0,
    seed: int = 0,
    progress: bool = True,
    live_plot: bool = False,
    device: str = "auto",
    model_kwargs: dict | None = None,
    **summary_extra,
) -> Run:
    """Train one model, evaluate it on every test set and record the run.

    Args:
        run_name: the run folder's name under ``run_dir`` (e.g. ``"putro_slim_rgc"``).
        train, val: training and validation data (:class:`Split`, ``(x, y)`` or FaceDataset).
        tests: ``{name: data}``, e.g. ``{"masked": ..., "unmasked": ...}``; saved as
            ``predictions_test_<name>.csv``; the first is also saved as ``predictions_test``.
        cfg: the budget, ``config.Profile.train_cfg(model)`` (epochs, batch size, lr, width,
            steps cap, recipe).
        class_names: label names in index order.
        model: a built Keras or torch model; ``None`` builds ``model_name`` from the
            registry at ``input_shape``, ``cfg.width_mult`` and ``cfg.dropout``.
        model_name: registry name (default ``run_name``): its paper resolves
            ``recipe="paper"`` and the summary records it.
        input_shape: (H, W, C) of the model, needed when data are FaceDatasets or when
            ``model`` is ``None``.
        recipe: a :class:`~maskfer_lib.recipe.Recipe`, its name, or ``"paper"``; ``None``
            takes ``cfg.recipe``.
        run_dir: where to write the run; ``None`` keeps everything in memory.
        pretrain: optional ``(train, val)`` trained on first for ``pretrain_epochs`` epochs
            (Putro: unmasked KDEF before masked M-KDEF), saved under ``<run>/pretrain``.
        seed: seeds initialisation, shuffling and augmentation.
        device: where a torch model trains (``train.fit``): ``"auto"`` takes the GPU when
            torch sees one; the summary records the device used.
        model_kwargs: more builder arguments when ``model`` is ``None`` (e.g. FECN's
            ``mcn``, Yang's ``stage1``): the model is built after seeding, so each seed
            starts from its own initialisation.
        summary_extra: stored in ``summary.json`` (e.g. ``dataset``, ``profile``, ``task``).
    """
    if not tests:
        raise ValueError("train_and_record needs at least one test set in `tests`")
    model_name = model_name or run_name
    paper = get_spec(model_name).paper if model_name in list_models() else None
    rec = get_recipe(recipe if recipe is not None else cfg.recipe, paper)
    class_names = tuple(class_names)
    seed_everything(seed)
    if model is None:
        if input_shape is None:
            raise ValueError(f"building {model_name!r} needs input_shape=(H, W, C)")
        extra = {} if cfg.dropout is None else {"dropout": cfg.dropout}
        extra.update(model_kwargs or {})
        model = build_model(
            model_name, len(class_names), input_shape=tuple(input_shape),
            width_mult=cfg.width_mult, **extra,
        )  # fmt: skip
    tr, va = as_split(train, input_shape), as_split(val, input_shape)
    out_dir = None if run_dir is None else evaluate.run_path(run_dir, run_name)
    fit_kw = dict(
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        recipe=rec,
        max_steps_per_epoch=cfg.max_steps_per_epoch,
        seed=seed,
        progress=progress,
        device=device,
    )
    t0 = time.perf_counter()
    pre_hist = None
    if pretrain is not None and pretrain_epochs > 0:
        ptr, pva = (as_split(d, input_shape) for d in pretrain)
        pre_hist = trainer.fit(
            model, ptr.x, ptr.y, pva.x, pva.y, epochs=pretrain_epochs,
            out_dir=None if out_dir is None else out_dir / "pretrain", **fit_kw,
        )  # fmt: skip
    hist = trainer.fit(
        model, tr.x, tr.y, va.x, va.y, epochs=cfg.epochs, out_dir=out_dir, live_plot=live_plot,
        **fit_kw,
    )  # fmt: skip
    results, probas = {}, {}
    for i, (label, data) in enumerate(tests.items()):
        s = as_split(data, input_shape)
        p = trainer.predict_proba(model, s.x)
        probas[label], results[label] = p, evaluate.evaluate(s.y, p, class_names)
        if run_dir is not None:
            extra = None
            if isinstance(data, FaceDataset) and data.masked is not None:
                extra = {"masked": data.masked}
            for split in [_split_file(label)] + (["test"] if i == 0 else []):
                evaluate.save_predictions(
                    run_dir, run_name, s.y, p, class_names, split=split, extra_cols=extra
                )
    seconds = time.perf_counter() - t0
    fw = framework_of(model)
    params = count_params(model)
    if run_dir is not None:
        per_test = {}
        for k, r in results.items():
            key = k.removeprefix("test_")
            per_test.update(
                {
                    f"accuracy_{key}": r.accuracy,
                    f"accuracy_lo_{key}": r.accuracy_lo,
                    f"accuracy_hi_{key}": r.accuracy_hi,
                    f"balanced_accuracy_{key}": r.balanced_accuracy,
                    f"macro_f1_{key}": r.macro_f1,
                    f"majority_{key}": r.majority,
                    f"majority_class_{key}": r.majority_class,
                    f"predicts_one_class_{key}": r.predicts_one_class,
                }
            )
        first = next(iter(results.values()))
        evaluate.save_run_summary(
            run_dir, run_name, model_name=model_name, framework=fw, params=params, history=hist,
            input_shape=list(tr.x.shape[1:]), width_mult=cfg.width_mult, recipe=rec.name,
            recipe_parts=rec.record(), lr=cfg.lr, batch_size=cfg.batch_size,
            pretrain_epochs=len(pre_hist) if pre_hist is not None else 0,
            pretrain_seconds=float(pre_hist["seconds"].sum()) if pre_hist is not None else 0.0,
            seconds_total=seconds, n_train=len(tr), n_val=len(va), seed=seed,
            device=hist.attrs.get("device"),
            class_names=list(class_names),
            macro_f1=first.macro_f1, chance=first.chance,
            **{"accuracy_masked": None, "accuracy_unmasked": None, **per_test, **summary_extra},
        )  # fmt: skip
    return Run(
        name=run_name,
        model_name=model_name,
        params=params,
        history=hist,
        pretrain_history=pre_hist,
        results=results,
        proba=probas,
        seconds=seconds,
        recipe=rec.name,
        out_dir=out_dir,
        model=model,
    )


def kfold(
    run_name: str,
    ds: FaceDataset,
    n_splits: int,
    *,
    input_shape,
    seed: int = 0,
    val_fraction: float = 0.1,
    **kwargs,
) -> tuple[list[Run], pd.DataFrame]:
    """Stratified k-fold of :func:`train_and_record` (identity-disjoint when identities are
    known); returns ``(runs, evaluate.kfold_summary table)``.

    Each fold's held-out part is only tested on: the validation set that picks the best
    epoch is a stratified ``val_fraction`` of that fold's training part, so no fold's score
    is selected on its own test faces. ``kwargs`` go to :func:`train_and_record`.
    """
    kwargs.setdefault("model_name", run_name)
    groups = (
        ds.identity if ds.identity is not None and len(np.unique(ds.identity)) >= n_splits else None
    )
    runs = []
    for k, (tr, te) in enumerate(kfold_indices(ds, n_splits, seed=seed, groups=groups)):
        inner = stratified_split(ds.labels[tr], (1 - val_fraction, val_fraction, 0), seed)
        fit_part = ds.subset(tr[inner["train"]])
        val_part = ds.subset(tr[inner["val"]])
        held = ds.subset(te)
        runs.append(
            train_and_record(
                f"{run_name}_fold{k}",
                fit_part,
                val_part,
                {"fold": held},
                input_shape=input_shape,
                seed=seed,
                fold=k,
                **kwargs,
            )  # fmt: skip
        )
    return runs, evaluate.kfold_summary([r.results["fold"] for r in runs])


SEEDS_FOLDER = "seeds"
"""Subfolder of a run folder tree that holds the repeats of a run under other seeds, so that
notebooks 06-11, which read ``run_dir``'s own runs, keep reading one run per model."""


def train_seeds(
    run_name: str, train, val, tests: dict, *, seeds, run_dir=None, **kwargs
) -> list[Run]:
    """:func:`train_and_record` once per seed in ``seeds``, the model built anew for each
    (``model=None``: pass ``input_shape`` and, for multi-stage models, ``model_kwargs``).

    Each run is saved as ``<run_dir>/seeds/<run_name>_seed<k>``, away from the notebooks'
    main runs. Returns the runs in seed order; ``kwargs`` go to :func:`train_and_record`
    (a ``seed`` among them, e.g. from a notebook's shared arguments, gives way to ``seeds``).
    """
    if kwargs.get("model") is not None:
        raise ValueError("train_seeds builds a new model per seed: pass model_kwargs, not model")
    kwargs.setdefault("model_name", run_name)
    kwargs.pop("seed", None)
    seed_dir = None if run_dir is None else Path(run_dir) / SEEDS_FOLDER
    return [
        train_and_record(
            f"{run_name}_seed{seed}", train, val, tests, run_dir=seed_dir, seed=seed, **kwargs
        )
        for seed in seeds
    ]


def seed_table(runs_by_model: dict[str, list[Run]], test: str) -> pd.DataFrame:
    """One row per model: accuracy on ``test`` over its seeds (mean ± std, min, max), the
    mean 95 % bootstrap interval, the majority baseline and balanced accuracy (mean).

    The std measures how much the training seed moves the number; the interval, how much
    the test faces do. Two models are ranked only where their intervals do not overlap
    (``evaluate.order_by_interval``)."""
    rows = {}
    for name, model_runs in runs_by_model.items():
        results = [r.results[test] for r in model_runs]
        acc = [r.accuracy for r in results]
        seeds = evaluate.results_over_seeds(results)
        rows[name] = {
            "seeds": seeds["n"],
            "accuracy (%)": evaluate.format_mean_std(seeds["mean"], seeds["std"]),
            "min (%)": 100 * min(acc),
            "max (%)": 100 * max(acc),
            "mean 95 % interval": evaluate.format_interval(seeds["mean"], seeds["lo"], seeds["hi"]),
            "majority class (%)": 100 * results[0].majority,
            "balanced accuracy (%)": 100 * np.mean([r.balanced_accuracy for r in results]),
        }
    columns = ["seeds", "accuracy (%)", "min (%)", "max (%)", "mean 95 % interval"]
    columns += ["majority class (%)", "balanced accuracy (%)"]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    table.index.name = "model"
    return table


def results_table(runs) -> pd.DataFrame:
    """One row per :class:`Run` (:meth:`Run.row`), every accuracy beside its baselines."""
    return pd.DataFrame([r.row() for r in runs])


def load_histories(run_dir, names=None) -> dict[str, pd.DataFrame]:
    """``{run name: history}`` read from ``history.csv`` of the runs under ``run_dir``
    (all runs with one, or just ``names``); pre-training epochs, when a run has them, come
    first, so ``seconds`` sums to the run's whole training time."""
    run_dir = Path(run_dir)
    out = {}
    for name in names or evaluate.list_runs(run_dir):
        folder = evaluate.run_path(run_dir, name)
        if not (folder / "history.csv").exists():
            continue
        h = pd.read_csv(folder / "history.csv")
        pre = folder / "pretrain" / "history.csv"
        if pre.exists():
            h = pd.concat([pd.read_csv(pre), h], ignore_index=True)
            h["epoch"] = np.arange(1, len(h) + 1)
        out[name] = h
    return out


def ranked_runs(run_dir, names) -> list[Path]:
    """The finished run folders among ``names``, best validation accuracy first.

    Ranked by validation (``summary.json``'s ``best_val_accuracy``), never by a test split,
    so that a chosen model's test accuracy stays an unbiased estimate. Runs that are not
    finished (no ``summary.json``) are left out; none finished is an error naming them.
    """
    run_dir = Path(run_dir)
    scored = [
        (evaluate.load_run_summary(run_dir, name).get("best_val_accuracy", -1.0), name)
        for name in names
        if (evaluate.run_path(run_dir, name) / "summary.json").exists()
    ]
    if not scored:
        raise FileNotFoundError(
            f"none of {list(names)} has a finished run in {run_dir}: train them first "
            "(their notebooks, or make reproduce)"
        )
    return [run_dir / name for _, name in sorted(scored, reverse=True)]


def best_run(run_dir, names) -> Path:
    """The finished run among ``names`` with the best validation accuracy (:func:`ranked_runs`)."""
    return ranked_runs(run_dir, names)[0]
