"""One call per model for notebook 03: (pre-train →) train → evaluate → save the run.

Putro et al. pre-train on unmasked faces (KDEF) and fine-tune on masked ones (M-KDEF), then
report accuracy (10-fold CV). :func:`train_evaluate` does one such run for any registered
model and writes it where notebooks 06/10 read runs (``evaluate.save_predictions`` /
``save_run_summary``); :func:`kfold_evaluate` repeats it over stratified folds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class RunResult:
    """What one :func:`train_evaluate` call produced."""

    name: str
    params: int
    history: object  # pandas DataFrame of the fine-tuning fit
    pretrain_history: object | None
    results: dict = field(default_factory=dict)  # test-set name -> evaluate.EvalResult
    seconds: float = 0.0
    model: object = field(default=None, repr=False)

    def accuracy(self, test_name: str) -> float:
        """Accuracy on one of the evaluated test sets."""
        return float(self.results[test_name].accuracy)


def train_evaluate(
    name: str,
    train,
    val,
    tests: dict,
    *,
    input_shape,
    epochs: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    width_mult: float = 1.0,
    max_steps_per_epoch: int | None = None,
    pretrain: tuple | None = None,
    pretrain_epochs: int = 0,
    reduce_lr=None,
    run_dir=None,
    run_name: str | None = None,
    seed: int = 0,
    extra_summary: dict | None = None,
    progress: bool = False,
) -> RunResult:
    """Build ``name`` from the registry, optionally pre-train, fine-tune, evaluate, save.

    Args:
        name: registry name. train, val: FaceDatasets to fine-tune on (e.g. masked faces).
        tests: ``{label: FaceDataset}`` evaluated after training, e.g. ``{"masked": ...,
            "unmasked": ...}``; the first one is also saved as split ``"test"``.
        input_shape: model input (H, W, C); images are resized by ``data.to_model_input``.
        epochs, batch_size, lr, width_mult, max_steps_per_epoch: the budget
            (``config.Profile.train_cfg``); ``width_mult`` goes to the builder.
        pretrain: optional ``(train_ds, val_ds)`` of unmasked faces trained on first for
            ``pretrain_epochs`` epochs (Putro: KDEF before M-KDEF).
        reduce_lr: passed to ``train.fit`` (e.g. ``train.PUTRO_REDUCE_LR``).
        run_dir: ``config.runs_dir(...)``; when given, the run is saved as ``run_name``
            (default ``name``): checkpoint + history by ``fit``, predictions per test set
            (``predictions_test_<label>.csv``) and ``summary.json``.
        seed: seeds initialisation and shuffling.
    """
    from maskfer_lib import config, data, evaluate
    from maskfer_lib import train as trainer
    from maskfer_lib.models import build_model, count_params

    if not tests:
        raise ValueError("train_evaluate needs at least one test set in `tests`")
    config.seed_everything(seed)
    t0 = time.perf_counter()
    classes = train.class_names
    model = build_model(name, len(classes), input_shape=tuple(input_shape), width_mult=width_mult)
    fit_kw = dict(
        batch_size=batch_size,
        lr=lr,
        max_steps_per_epoch=max_steps_per_epoch,
        seed=seed,
        progress=progress,
    )
    pre_hist = None
    run_name = run_name or name
    out_dir = None if run_dir is None else f"{run_dir}/{run_name}"
    if pretrain is not None and pretrain_epochs > 0:
        px, pv = pretrain
        pre_hist = trainer.fit(
            model,
            data.to_model_input(px, input_shape),
            px.labels,
            data.to_model_input(pv, input_shape),
            pv.labels,
            epochs=pretrain_epochs,
            out_dir=None if out_dir is None else f"{out_dir}/pretrain",
            **fit_kw,
        )
    hist = trainer.fit(
        model,
        data.to_model_input(train, input_shape),
        train.labels,
        data.to_model_input(val, input_shape),
        val.labels,
        epochs=epochs,
        reduce_lr=reduce_lr,
        out_dir=out_dir,
        **fit_kw,
    )
    results = {}
    for i, (label, ds) in enumerate(tests.items()):
        proba = trainer.predict_proba(model, data.to_model_input(ds, input_shape))
        results[label] = evaluate.evaluate(ds.labels, proba, classes)
        if run_dir is not None:
            extra = {"masked": ds.masked} if ds.masked is not None else None
            evaluate.save_predictions(
                run_dir,
                run_name,
                ds.labels,
                proba,
                classes,
                split=f"test_{label}",
                extra_cols=extra,
            )
            if i == 0:
                evaluate.save_predictions(
                    run_dir, run_name, ds.labels, proba, classes, split="test", extra_cols=extra
                )
    seconds = time.perf_counter() - t0
    params = count_params(model)
    if run_dir is not None:
        acc = {f"accuracy_{k}": r.accuracy for k, r in results.items()}
        evaluate.save_run_summary(
            run_dir,
            run_name,
            model_name=name,
            framework="keras",
            params=params,
            history=hist,
            input_shape=list(input_shape),
            width_mult=width_mult,
            pretrain_epochs=pretrain_epochs if pretrain is not None else 0,
            seconds_total=seconds,
            **acc,
            **(extra_summary or {}),
        )
    return RunResult(
        name=run_name,
        params=params,
        history=hist,
        pretrain_history=pre_hist,
        results=results,
        seconds=seconds,
        model=model,
    )


def kfold_evaluate(name: str, ds, n_splits: int, *, input_shape, seed: int = 0, **kwargs):
    """Stratified (identity-disjoint when identities are known) k-fold of :func:`train_evaluate`.

    Each fold trains on the other folds (validating on the held-out fold, as Putro's
    cross-validation does) and is evaluated on the held-out fold. Returns
    ``(list of RunResult, evaluate.kfold_summary DataFrame)``. ``kwargs`` go to
    :func:`train_evaluate` (``tests`` and ``run_name`` are set per fold).
    """
    import numpy as np

    from maskfer_lib import data, evaluate

    groups = (
        ds.identity if ds.identity is not None and len(np.unique(ds.identity)) >= n_splits else None
    )
    runs = []
    for k, (tr, te) in enumerate(data.kfold_indices(ds, n_splits, seed=seed, groups=groups)):
        held = ds.subset(te)
        runs.append(
            train_evaluate(
                name,
                ds.subset(tr),
                held,
                {"fold": held},
                input_shape=input_shape,
                seed=seed,
                run_name=f"{name}_fold{k}",
                **kwargs,
            )
        )
    return runs, evaluate.kfold_summary([r.results["fold"] for r in runs])
