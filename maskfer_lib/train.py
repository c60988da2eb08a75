"""One training loop for Keras and torch models: ``fit``, ``predict_proba``, save/load.

Both frameworks run the *same* loop (shuffling, augmentation, learning-rate schedule, early
stopping, best-checkpoint logic and history columns live here, in numpy), and only the
per-batch step differs. That is what makes a Keras CNN and a torch attention network
comparable in one table: same epochs, same batches, same plateau rule, same history.

Conventions
    Inputs are numpy: ``x`` float32 (N, H, W, C) in [0, 1], ``y`` int labels (N,).
    ``fit`` checks them before the first step: NaN/inf pixels and inputs clearly outside
    [0, 1] (0-255 images) are refused, slightly outside (by more than 1e-3) warned about;
    labels must be whole numbers in [0, K) for a model with K outputs (float arrays holding
    whole numbers are accepted, 1.5 is refused rather than truncated). A loss or weights
    that turn NaN/inf stop training with ``FloatingPointError``, never saved as best.
    torch models receive NCHW tensors (converted here) and return **logits**; a model with
    several outputs defines ``compute_loss(outputs, y) -> scalar`` and
    ``logits(outputs) -> (N, K)`` and ``fit``/``predict_proba`` use them.
    Keras models end in a softmax (the registry's contract); ``fit`` checks this on a few
    training images and switches to ``from_logits`` losses if a model outputs logits.

Loss: categorical cross-entropy on (optionally label-smoothed) one-hot targets, with
optional per-class weights — the same objective in both frameworks.

Optimiser, schedule, augmentation, label smoothing and class balancing come from a
:class:`~maskfer_lib.recipe.Recipe` (``recipe=``, default ``"modern"``); the recipe is
recorded part by part in ``fit.json`` and in the run's fingerprint.

Throughput: a Keras step is ``train_on_batch``, i.e. Keras' compiled (``tf.function``)
train step called once per batch, so the loop, augmentation and schedule stay shared with
torch. Measured against ``model.fit`` on a prefetched ``tf.data`` pipeline over the same
arrays (2,048 images, batch 64, 3 rounds, medians): Slim at 48 px 836 vs 797 images/s,
Çelik at half width 48 px 285 vs 291 — no gain to buy with a second Keras-only loop.

History columns (both frameworks): epoch, loss, accuracy, val_loss, val_accuracy, lr,
seconds, images_per_s. ``loss``/``accuracy`` are the means over the epoch's training
batches in training mode (dropout on, augmented), as Keras reports them; ``val_*`` are
computed in inference mode after the epoch (NaN without validation data); ``lr`` is the
learning rate used during the epoch; ``seconds`` is the epoch's wall time including
validation; ``images_per_s`` counts training images over training time only.
"""

from __future__ import annotations

import copy
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from maskfer_lib import distributed
from maskfer_lib.models import count_params, framework_of
from maskfer_lib.recipe import Recipe, get_recipe
from maskfer_lib.streaming import is_stream

HISTORY_COLUMNS = [
    "epoch",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "lr",
    "seconds",
    "images_per_s",
]
"""Columns of the history DataFrame returned by :func:`fit` (identical for both frameworks)."""

_EPS = 1e-7


# --------------------------------------------------------------------------- framework


class NonFiniteInputError(ValueError, FloatingPointError):
    """Training images hold NaN or inf values.

    A ``ValueError`` (bad input) and a ``FloatingPointError`` (what a NaN loss raises), so
    code that caught either before keeps working.
    """


class CorruptModelError(ValueError):
    """A model file exists but is not a readable saved model (truncated, overwritten, ...)."""


_RANGE_ERROR_MAX = 1.5
"""Inputs above this (or below ``-0.5``) are refused as not in [0, 1]; a 0-255 image is
far above it, while a resize of [0, 1] images never leaves [0, 1] by more than rounding."""

_RANGE_WARN_TOL = 1e-3


def _check_xy(x, y, name: str):
    if is_stream(x):
        # Read lazily from files: labels from the folders; pixels are checked as decoded.
        if y is not None and not np.array_equal(np.ravel(y), x.labels):
            raise ValueError(f"{name} is an image-folder stream: pass y=None (its labels)")
        return x, x.labels
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"{name} must be (N, H, W, C) float32 in [0, 1]; got shape {x.shape}")
    if x.dtype != np.float32:
        x = x.astype(np.float32)
    if y is None:
        return x, None
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1 and len(y) == len(x):
        raise ValueError(
            f"{_label_name(name)} has shape {y.shape}: one-hot labels; pass class indices "
            "(y.argmax(axis=1))"
        )
    y = y.ravel()
    if len(y) != len(x):
        raise ValueError(f"{name}: {len(x)} images but {len(y)} labels")
    return x, _integer_labels(y, _label_name(name))


def _label_name(x_name: str) -> str:
    return "y" + x_name[1:] if x_name.startswith("x") else f"labels of {x_name}"


def _integer_labels(y: np.ndarray, name: str) -> np.ndarray:
    """``y`` as int64 class indices >= 0; refuses what a cast would silently change.

    Float arrays are accepted when every value is a whole number (labels read from a CSV or
    a pandas column with missing values come as float64); 1.5 or NaN are refused rather
    than truncated to 1 or a garbage index.
    """
    if y.dtype == bool:
        y = y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating):
        whole = np.isfinite(y) & (y == np.round(y))
        if not whole.all():
            bad = np.flatnonzero(~whole)
            raise ValueError(
                f"{name} must be integer class indices; {len(bad)} of {len(y)} are not whole "
                f"numbers (first at index {bad[0]}: {_few(y[bad])}); a float label would be "
                "truncated to the wrong class"
            )
    elif not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{name} must be integer class indices, got dtype {y.dtype} (first values "
            f"{_few(y)}); map class names to indices first (e.g. FaceDataset.labels)"
        )
    y = y.astype(np.int64)
    if len(y) and y.min() < 0:
        raise ValueError(f"{name} must be class indices >= 0; got negative values {_few(y[y < 0])}")
    return y


def _few(values, k: int = 5) -> str:
    values = np.unique(np.asarray(values).ravel())
    shown = ", ".join(repr(v.item()) if hasattr(v, "item") else repr(v) for v in values[:k])
    return f"[{shown}{', ...' if len(values) > k else ''}]"


def _check_labels_fit(y: np.ndarray, name: str, n_classes: int) -> None:
    """Labels must index one of the model's ``n_classes`` outputs (else: a framework
    traceback, or for validation labels one only after a whole epoch)."""
    bad = y >= n_classes
    if bad.any():
        raise ValueError(
            f"{name} holds labels {_few(y[bad])} (first at index {np.flatnonzero(bad)[0]}) "
            f"but the model has {n_classes} outputs, so labels must be in [0, {n_classes}); "
            "build the model with one output per class, or fix the labels"
        )


def _check_pixels(x: np.ndarray, name: str) -> None:
    """Refuse NaN/inf pixels and inputs that are clearly not in [0, 1] (0-255 images)."""
    if not len(x) or is_stream(x):
        return  # a stream decodes uint8 files to [0, 1]: finite and in range by construction
    # min/max propagate NaN, so this one pass also finds non-finite values.
    lo, hi = float(np.min(x)), float(np.max(x))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        bad = []
        for s in range(0, len(x), 1024):  # in chunks: a mask of 30k faces would be ~400 MB
            chunk = x[s : s + 1024].reshape(min(1024, len(x) - s), -1)
            bad.extend(int(i) + s for i in np.flatnonzero(~np.isfinite(chunk).all(axis=1)))
        shown = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        raise NonFiniteInputError(
            f"{name} holds NaN or inf pixels in {len(bad)} of {len(x)} images (indices "
            f"{shown}); one such pixel turns every weight into NaN. Fix or drop those images "
            "before training"
        )
    if hi > _RANGE_ERROR_MAX or lo < -0.5:
        hint = (
            "divide 0-255 pixels by 255 (data.to_model_input does this for uint8 images)"
            if hi > _RANGE_ERROR_MAX and lo >= -0.5
            else "rescale them to [0, 1] (min-max or divide by 255; no mean/std standardising: "
            "the models expect [0, 1])"
        )
        raise ValueError(
            f"{name} ranges over [{lo:g}, {hi:g}] but the models take float32 in [0, 1]: {hint}"
        )
    if hi > 1 + _RANGE_WARN_TOL or lo < -_RANGE_WARN_TOL:
        warnings.warn(
            f"{name} ranges over [{lo:g}, {hi:g}], slightly outside the [0, 1] the models "
            "expect; clip it (np.clip(x, 0, 1)) if that is not intended",
            stacklevel=3,
        )


def _resolve_class_weight(class_weight, y: np.ndarray, k: int) -> np.ndarray | None:
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"class_weight must be a dict, 'balanced' or None; got {class_weight!r}"
            )
        from sklearn.utils.class_weight import compute_class_weight

        present = np.unique(y)
        w = np.ones(k)
        w[present] = compute_class_weight("balanced", classes=present, y=y)
        return w
    w = np.ones(k)
    for c, v in dict(class_weight).items():
        w[int(c)] = float(v)
    return w


def _mode(monitor: str) -> str:
    return "min" if monitor.endswith("loss") else "max"


def _improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if not np.isfinite(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _looks_like_proba(p: np.ndarray) -> bool:
    return bool(np.all(p >= -1e-6) and np.allclose(p.sum(axis=1), 1.0, atol=1e-3))


def _ce_from_proba(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], _EPS, 1.0))))


# --------------------------------------------------------------------------- backends


class _KerasBackend:
    """Per-batch operations of a Keras model (the loop itself is framework-free)."""

    name = "keras"
    checkpoint_name = "model.keras"

    def __init__(self, model, probe_out: np.ndarray, lr: float, recipe: Recipe, num_classes: int):
        import keras

        self.keras = keras
        self.model = model
        self.outputs_proba = _looks_like_proba(probe_out)
        wd = recipe.weight_decay
        if recipe.optimizer == "adam":
            opt = keras.optimizers.Adam(learning_rate=lr, epsilon=recipe.adam_epsilon)
        elif recipe.optimizer == "adamw":
            opt = keras.optimizers.AdamW(
                learning_rate=lr, weight_decay=wd, epsilon=recipe.adam_epsilon
            )
        else:
            opt = keras.optimizers.SGD(
                learning_rate=lr, momentum=0.9, nesterov=True, weight_decay=wd or None
            )
        if wd and recipe.optimizer != "adam":
            # Biases and BatchNorm scales/offsets are not decayed (torch side: same rule).
            opt.exclude_from_weight_decay(
                var_list=[v for v in model.trainable_variables if len(v.shape) <= 1]
            )
        # Recompiling replaces any optimiser state a builder may have set up: every fit()
        # starts the optimiser afresh (pre-train -> fine-tune is two fit() calls).
        model.compile(
            optimizer=opt,
            loss=keras.losses.CategoricalCrossentropy(
                from_logits=not self.outputs_proba, label_smoothing=recipe.label_smoothing
            ),
            metrics=["categorical_accuracy"],
        )
        self._eye = np.eye(num_classes, dtype=np.float32)

    def train_batch(self, xb, yb, sample_weight=None):
        logs = self.model.train_on_batch(
            xb, self._eye[yb], sample_weight=sample_weight, return_dict=True
        )
        acc = next((float(v) for k, v in logs.items() if "accuracy" in k), float("nan"))
        return float(logs["loss"]), acc

    def eval_batches(self, x, y, batch_size):
        """(loss, accuracy) on (x, y) in inference mode (plain cross-entropy)."""
        p = _predict_keras(self.model, x, batch_size, self.outputs_proba)
        return _ce_from_proba(p, y), float(np.mean(p.argmax(1) == y))

    def get_lr(self) -> float:
        return float(
            np.asarray(self.keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        )

    def set_lr(self, lr: float) -> None:
        self.model.optimizer.learning_rate.assign(lr)

    def get_state(self):
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def state_is_finite(self) -> bool:
        """Whether every weight (BatchNorm statistics included) is finite."""
        return all(np.isfinite(w).all() for w in self.model.get_weights())

    def set_state(self, state) -> None:
        self.model.set_weights(state)


class _TorchBackend:
    """Per-batch operations of a torch model."""

    name = "torch"
    checkpoint_name = "model.pt"

    def __init__(self, model, lr: float, recipe: Recipe, amp: bool = False, forward=None):
        import inspect

        self._bind(model)
        self.amp = amp
        # The module the training step calls: DistributedDataParallel around `model` when
        # several ranks train; logits/compute_loss/state stay on the bare model.
        self.forward = forward if forward is not None else model
        torch = self.torch
        self.label_smoothing = recipe.label_smoothing
        params = [p for p in model.parameters() if p.requires_grad]
        wd = recipe.weight_decay
        groups = [
            {"params": [p for p in params if p.ndim > 1], "weight_decay": wd},
            # Biases and BatchNorm scales/offsets are not decayed (Keras side: same rule).
            {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0},
        ]
        groups = [g for g in groups if g["params"]]
        if recipe.optimizer == "adam":
            self.opt = torch.optim.Adam(params, lr=lr, eps=recipe.adam_epsilon)
        elif recipe.optimizer == "adamw":
            self.opt = torch.optim.AdamW(groups, lr=lr, eps=recipe.adam_epsilon)
        else:
            self.opt = torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)
        self.custom_loss = getattr(model, "compute_loss", None)
        if self.custom_loss is not None:
            takes = inspect.signature(self.custom_loss).parameters
            # `reduction` is only passed when class weights make per-sample losses.
            weighted = bool(recipe.class_weight)
            for arg, needed in (("label_smoothing", self.label_smoothing), ("reduction", weighted)):
                if needed and arg not in takes:
                    raise TypeError(
                        f"{type(model).__name__}.compute_loss(outputs, y) takes no {arg!r}; "
                        f"add the argument (see maskfer_lib.models.torch.common)"
                    )

    def _bind(self, model) -> None:
        """Attach ``model`` and its device: all that inference needs (no optimiser)."""
        import torch

        self.torch, self.model, self.amp = torch, model, False
        params = list(model.parameters())
        self.device = params[0].device if params else torch.device("cpu")
        self.pin = self.device.type == "cuda"

    def _autocast(self):
        # bf16 autocast (optional): on a GPU it halves activation memory and speeds matmuls.
        return self.torch.autocast(
            device_type=self.device.type, dtype=self.torch.bfloat16, enabled=self.amp
        )

    @classmethod
    def for_inference(cls, model) -> _TorchBackend:
        """A backend without an optimiser, for predicting and probing."""
        backend = cls.__new__(cls)
        backend._bind(model)
        return backend

    def _tensor(self, xb):
        t = self.torch.from_numpy(np.ascontiguousarray(xb.transpose(0, 3, 1, 2)))
        if self.pin:  # pinned host memory lets the copy to the GPU overlap the step
            return t.pin_memory().to(self.device, non_blocking=True)
        return t.to(self.device)

    def _logits(self, out):
        if hasattr(self.model, "logits"):
            return self.model.logits(out)
        if isinstance(out, (tuple, list)):
            raise TypeError(
                f"{type(self.model).__name__} returns {len(out)} outputs; define "
                "model.logits(outputs) -> (N, K) and model.compute_loss(outputs, y)"
            )
        return out

    def _loss(self, out, yt, sample_weight=None, smoothing: float = 0.0):
        F = self.torch.nn.functional
        if self.custom_loss is not None:
            kw = {"reduction": "none"} if sample_weight is not None else {}
            if smoothing:
                kw["label_smoothing"] = smoothing
            loss = self.custom_loss(out, yt, **kw)
        else:
            loss = F.cross_entropy(
                self._logits(out),
                yt,
                label_smoothing=smoothing,
                reduction="none" if sample_weight is not None else "mean",
            )
        if sample_weight is None:
            return loss
        # Mean of weighted per-sample losses, as Keras' sample weights give (not torch's
        # weight-normalised mean), so both frameworks optimise the same objective.
        return (loss * sample_weight).mean()

    def train_batch(self, xb, yb, sample_weight=None):
        torch = self.torch
        self.model.train()
        xt = self._tensor(xb)
        yt = torch.from_numpy(yb).to(self.device)
        sw = None if sample_weight is None else torch.from_numpy(sample_weight).to(self.device)
        self.opt.zero_grad(set_to_none=True)
        with self._autocast():
            out = self.forward(xt)
            loss = self._loss(out, yt, sw, self.label_smoothing)
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            acc = (self._logits(out).argmax(1) == yt).float().mean().item()
        return float(loss.item()), acc

    def eval_batches(self, x, y, batch_size):
        """(loss, accuracy) on (x, y) in inference mode (plain cross-entropy)."""
        torch = self.torch
        self.model.eval()
        total, correct, n = 0.0, 0, 0
        with torch.no_grad():
            for s in range(0, len(x), batch_size):
                xt = self._tensor(x[s : s + batch_size])
                yt = torch.from_numpy(y[s : s + batch_size]).to(self.device)
                with self._autocast():
                    out = self.model(xt)
                    total += float(self._loss(out, yt).item()) * len(yt)
                correct += int((self._logits(out).argmax(1) == yt).sum().item())
                n += len(yt)
        return total / n, correct / n

    def get_lr(self) -> float:
        return float(self.opt.param_groups[0]["lr"])

    def set_lr(self, lr: float) -> None:
        for g in self.opt.param_groups:
            g["lr"] = lr

    def get_state(self):
        return copy.deepcopy(self.model.state_dict())

    def state_is_finite(self) -> bool:
        """Whether every floating-point parameter and buffer is finite."""
        torch = self.torch
        with torch.no_grad():
            return all(
                bool(torch.isfinite(t).all())
                for t in self.model.state_dict().values()
                if t.is_floating_point()
            )

    def set_state(self, state) -> None:
        self.model.load_state_dict(state)


def _epoch_order(n: int, y: np.ndarray, balanced: bool, rng: np.random.Generator) -> np.ndarray:
    """The training indices of one epoch: a permutation, or n class-balanced draws."""
    if not balanced:
        return rng.permutation(n)
    counts = np.bincount(y)
    p = 1.0 / counts[y]
    return rng.choice(n, size=n, replace=True, p=p / p.sum())


# --------------------------------------------------------------------------- fit


def fit(
    model,
    x_train,
    y_train,
    x_val=None,
    y_val=None,
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    recipe: Recipe | str = "modern",
    early_stopping_patience: int | None = None,
    max_steps_per_epoch: int | None = None,
    out_dir: str | Path | None = None,
    monitor: str = "val_accuracy",
    seed: int = 0,
    progress: bool = True,
    live_plot: bool = False,
    verbose: int = 0,
    resume: bool = True,
    device: str = "auto",
    amp: bool = False,
    workers: int = 2,
) -> pd.DataFrame:
    """Train a Keras or torch classifier; return the per-epoch history.

    Args:
        model: a ``keras.Model`` (ending in softmax) or ``torch.nn.Module`` (returning logits,
            or several outputs with ``compute_loss``/``logits`` methods).
        x_train, y_train: float32 (N, H, W, C) in [0, 1] and int labels in [0, K) for a
            model with K outputs (see the module docstring for what is refused), or a
            ``streaming.ImageFolderStream`` and ``None``: images read from files batch by
            batch (a torch ``DataLoader`` / a ``tf.data`` pipeline), never all in memory.
        x_val, y_val: optional validation set (monitoring, plateau rule, early stopping).
        epochs, batch_size, lr: the budget (see ``config.Profile.train_cfg``); ``lr`` is the
            peak learning rate of the recipe's schedule.
        recipe: a :class:`~maskfer_lib.recipe.Recipe` or its name (``"modern"``,
            ``"plain"``, ``"celik_paper"``, ...): optimiser, weight decay, schedule,
            warm-up, label smoothing, augmentation, class balancing.
        early_stopping_patience: stop after this many epochs without a better ``monitor``.
        max_steps_per_epoch: cap on batches per epoch (smoke runs).
        out_dir: if given, ``history.csv`` is rewritten after every epoch and the best model
            so far is saved as ``model.keras`` or ``model.pt`` whenever ``monitor`` improves;
            ``fit.json`` (the recipe, the best epoch, the fingerprint) marks a finished run.
        monitor: ``val_accuracy`` (default), ``val_loss``, ``accuracy`` or ``loss``; falls
            back to the training metric (with a warning) when there is no validation set.
        seed: seeds shuffling, augmentation and the framework's initialisation RNG.
        progress: tqdm bars (epochs, and batches within an epoch).
        live_plot: in a notebook, redraw loss/accuracy curves after each epoch
            (like livelossplot's ``PlotLossesCallback``).
        verbose: 1 prints one line per epoch.
        resume: with ``out_dir``, a run that already finished there with the same data, budget,
            recipe and architecture (``fit.json``'s ``fingerprint``) is loaded instead of
            retrained: the best checkpoint's weights go into ``model`` and the saved history
            (with its measured seconds and images/s) is returned. Long real-data runs
            therefore resume model by model; delete the folder (or pass ``resume=False``)
            to retrain.
        device: torch models only: ``"auto"`` (the GPU when torch sees one, else the CPU),
            ``"cpu"`` or ``"cuda[:i]"`` (``distributed.resolve_device``). The model is
            returned on the device it came on. Keras places its own ops: TensorFlow uses a
            GPU when it sees one; ``"auto"`` and ``"cpu"`` are accepted. The device used is
            recorded in ``fit.json`` and ``history.attrs["device"]``; it is not part of the
            fingerprint (a run finished on a GPU is resumed on a CPU).
        amp: torch only: bf16 autocast in the forward pass and loss.
        workers: decoding processes of a stream's ``DataLoader`` (0: in this process).

    Under ``torchrun`` (a process group is initialised, ``distributed.init_from_env``) a
    torch model trains data-parallel: ``DistributedDataParallel``, each rank its share of
    every global batch of ``batch_size`` (``distributed.shard``), metrics averaged over
    ranks, files written by rank 0 only.

    The best weights (by ``monitor``) are restored into ``model`` before returning; the
    history's ``attrs`` hold ``framework``, ``monitor``, ``best_epoch``, ``best_value`` and
    ``recipe``. Keras runs call ``keras.utils.set_random_seed(seed)``, which also reseeds
    Python's and numpy's global generators. A trailing batch of a single image is skipped.

    Raises:
        NonFiniteInputError: NaN/inf pixels in ``x_train`` or ``x_val`` (names the split and
            the images).
        ValueError: inputs not in [0, 1], labels that are not whole numbers or not in
            [0, K), one-hot labels, mismatched lengths.
        FloatingPointError: the loss or the weights became NaN/inf during training; the
            best weights so far are restored and the run is not marked finished.
    """
    from tqdm.auto import tqdm

    fw = framework_of(model)
    recipe = get_recipe(recipe)
    x_train, y_train = _check_xy(x_train, y_train, "x_train")
    if not len(x_train):
        raise ValueError("x_train is empty: no images to train on")
    if is_stream(x_val) and y_val is None:
        y_val = x_val.labels
    has_val = x_val is not None and y_val is not None and len(y_val) > 0
    if has_val:
        x_val, y_val = _check_xy(x_val, y_val, "x_val")
    # Before any step: a bad pixel or label otherwise shows up as NaN weights saved as the
    # best model, or as a framework traceback after a whole epoch (validation labels).
    _check_pixels(x_train, "x_train")
    if has_val:
        _check_pixels(x_val, "x_val")
    if monitor not in ("val_accuracy", "val_loss", "accuracy", "loss"):
        raise ValueError(
            f"monitor must be val_accuracy, val_loss, accuracy or loss; got {monitor!r}"
        )
    if monitor.startswith("val_") and not has_val:
        warnings.warn(
            f"monitor={monitor!r} but no validation data: monitoring {monitor[4:]!r} instead",
            stacklevel=2,
        )
        monitor = monitor[4:]
    reduce_lr = None
    if recipe.schedule == "plateau":
        reduce_lr = {"monitor": monitor, "min_delta": 0.0, "min_lr": 0.0, **recipe.reduce_lr}
        if reduce_lr["monitor"].startswith("val_") and not has_val:
            reduce_lr["monitor"] = reduce_lr["monitor"][4:]
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1; got {epochs}, {batch_size}")

    rank, world_size = distributed.world() if fw == "torch" else (0, 1)
    if fw == "torch":
        dev = distributed.resolve_device(device)
        home = next((p.device for p in model.parameters()), None)
        model.to(dev)
    else:
        dev = _keras_device(device)
    probe_out = _probe_outputs(model, fw, x_train[: min(8, len(x_train))])
    n_classes = int(probe_out.shape[-1])
    _check_labels_fit(y_train, "y_train", n_classes)
    if has_val:
        _check_labels_fit(y_val, "y_val", n_classes)
    if isinstance(recipe.class_weight, dict) and recipe.class_weight:
        keys = np.array([int(c) for c in recipe.class_weight])
        if keys.min() < 0 or keys.max() >= n_classes:
            raise ValueError(
                f"recipe {recipe.name!r} weights classes {sorted(keys.tolist())} but the model "
                f"has {n_classes} outputs (classes 0..{n_classes - 1})"
            )
    cw = _resolve_class_weight(recipe.class_weight, y_train, n_classes)
    if fw == "torch":
        import torch

        torch.manual_seed(seed)
        backend = _TorchBackend(model, lr, recipe, amp, distributed.wrap(model, dev))
    else:
        import keras

        keras.utils.set_random_seed(seed)
        backend = _KerasBackend(model, probe_out, lr, recipe, n_classes)
    aug = recipe.augment
    rng = np.random.default_rng(seed)
    # Ranks share `rng` (the same epoch order everywhere) and draw augmentations from their
    # own generator; a single process keeps one generator for both, as before.
    aug_rng = rng if world_size == 1 else np.random.default_rng((seed, rank))
    out_dir = Path(out_dir) if out_dir is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)

    fp = _fingerprint(
        model, fw, x_train, y_train, x_val if has_val else None, y_val if has_val else None,
        epochs=epochs, batch_size=batch_size, lr=lr, recipe=recipe.record(),
        patience=early_stopping_patience, max_steps=max_steps_per_epoch, monitor=monitor,
        seed=seed,
    )  # fmt: skip
    if resume and out_dir is not None:
        done = _load_finished(model, fw, out_dir, fp)
        if done is not None:
            if progress or verbose:
                print(
                    f"fit: loaded the finished run in {out_dir} (best epoch "
                    f"{done.attrs['best_epoch']}, trained in {done['seconds'].sum():.0f} s); "
                    "delete that folder to retrain",
                    flush=True,
                )
            if fw == "torch" and home is not None:
                model.to(home)
            return done

    if rank != 0:
        out_dir = None  # rank 0 writes the run; the others only read a finished one above
    if out_dir is not None:
        # fit.json marks a finished run; a run interrupted from here on must not look finished.
        (out_dir / "fit.json").unlink(missing_ok=True)

    n = len(x_train)
    # Data-parallel: only whole global batches, so every rank takes the same steps.
    steps = int(np.ceil(n / batch_size)) if world_size == 1 else n // batch_size
    if not steps:
        raise ValueError(f"{n} training images make no batch of {batch_size} on {world_size} ranks")
    if max_steps_per_epoch:
        steps = min(steps, int(max_steps_per_epoch))
    mode = _mode(monitor)
    best, best_state, best_epoch, wait = None, None, 0, 0
    plateau_best, plateau_wait = None, 0
    plateau_lr = lr
    step = 0
    rows: list[dict] = []
    epoch_bar = tqdm(range(1, epochs + 1), desc=f"fit {fw}", disable=not progress, unit="epoch")
    for epoch in epoch_bar:
        t0 = time.perf_counter()
        order = _epoch_order(n, y_train, recipe.balanced_sampling, rng)
        local, local_bs = (
            distributed.shard(order, batch_size) if world_size > 1 else (order, batch_size)
        )
        batches = [local[b * local_bs : (b + 1) * local_bs] for b in range(steps)]
        loss_sum, acc_sum, seen, lr_sum = 0.0, 0.0, 0, 0.0
        batch_bar = tqdm(
            zip(batches, _batch_images(x_train, batches, fw, workers, dev), strict=True),
            total=steps, desc=f"epoch {epoch}", leave=False, disable=not progress, unit="batch",
        )  # fmt: skip
        for b, (idx, xb) in enumerate(batch_bar):
            if len(idx) == 1 and seen:
                # A last batch of one image breaks torch BatchNorm in training mode; skip it
                # in both frameworks so they see the same batches.
                continue
            lr_now = recipe.lr_at(lr, step, steps, epochs) if reduce_lr is None else plateau_lr
            backend.set_lr(lr_now)
            yb = y_train[idx]
            if aug is not None:
                xb = aug(xb, aug_rng).astype(np.float32, copy=False)
            sw = None if cw is None else cw[yb].astype(np.float32)
            bl, ba = backend.train_batch(xb, yb, sw)
            if not np.isfinite(bl):
                _diverged(
                    backend, best_state, best_epoch, out_dir,
                    f"the training loss became {bl} at epoch {epoch}, batch {b + 1}",
                    lr_now, aug is not None,
                )  # fmt: skip
            loss_sum += bl * len(idx)
            acc_sum += ba * len(idx)
            lr_sum += lr_now * len(idx)
            seen += len(idx)
            step += 1
            batch_bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{acc_sum / seen:.3f}")
        train_s = time.perf_counter() - t0
        if world_size > 1:
            means = distributed.all_mean(
                {"loss": loss_sum / seen, "accuracy": acc_sum / seen, "lr": lr_sum / seen}, seen
            )
            seen *= world_size
            loss_sum, acc_sum, lr_sum = (means[k] * seen for k in ("loss", "accuracy", "lr"))
        # Keras clips probabilities inside its loss and TensorFlow's ReLU maps NaN to 0, so
        # NaN weights can leave the loss finite: check the weights themselves, once an epoch.
        if not backend.state_is_finite():
            _diverged(
                backend, best_state, best_epoch, out_dir,
                f"the weights became NaN or inf during epoch {epoch} (the training loss, "
                f"{loss_sum / max(seen, 1):.4g}, did not show it)",
                lr_sum / max(seen, 1), aug is not None,
            )  # fmt: skip
        val_loss = val_acc = float("nan")
        if has_val:
            val_loss, val_acc = backend.eval_batches(x_val, y_val, max(batch_size, 256))
        row = {
            "epoch": epoch,
            "loss": loss_sum / seen,
            "accuracy": acc_sum / seen,
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "lr": lr_sum / seen,
            "seconds": time.perf_counter() - t0,
            "images_per_s": seen / train_s if train_s > 0 else float("nan"),
        }
        rows.append(row)
        history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)

        if _improved(row[monitor], best, mode):
            best, best_epoch, wait = row[monitor], epoch, 0
            best_state = backend.get_state()
            if out_dir is not None:
                save_model(model, out_dir / backend.checkpoint_name)
        else:
            wait += 1
        if reduce_lr:
            m = reduce_lr["monitor"]
            if _improved(row[m], plateau_best, _mode(m), reduce_lr["min_delta"]):
                plateau_best, plateau_wait = row[m], 0
            else:
                plateau_wait += 1
                if plateau_wait >= reduce_lr["patience"]:
                    plateau_lr = max(plateau_lr * reduce_lr["factor"], reduce_lr["min_lr"])
                    backend.set_lr(plateau_lr)
                    plateau_wait = 0
        if out_dir is not None:
            history.to_csv(out_dir / "history.csv", index=False)
        epoch_bar.set_postfix(
            loss=f"{row['loss']:.3f}", acc=f"{row['accuracy']:.3f}", val_acc=f"{val_acc:.3f}"
        )
        if verbose:
            print(
                f"epoch {epoch}/{epochs}  loss {row['loss']:.4f}  acc {row['accuracy']:.4f}  "
                f"val_loss {val_loss:.4f}  val_acc {val_acc:.4f}  lr {row['lr']:.2e}  "
                f"{row['seconds']:.1f}s  {row['images_per_s']:.0f} img/s",
                flush=True,
            )
        if live_plot:
            _redraw(history)
        if early_stopping_patience is not None and wait >= early_stopping_patience:
            if verbose:
                print(
                    f"early stopping after epoch {epoch}: best {monitor}={best:.4f} at {best_epoch}"
                )
            break
    if best_state is not None:
        backend.set_state(best_state)
    if out_dir is not None:
        (out_dir / "fit.json").write_text(
            json.dumps(
                {
                    "framework": fw,
                    "monitor": monitor,
                    "best_epoch": best_epoch,
                    "best_value": best,
                    "epochs_run": len(rows),
                    "checkpoint": backend.checkpoint_name,
                    "budget": {"epochs": epochs, "batch_size": batch_size, "lr": lr},
                    "recipe": recipe.record(),
                    "device": dev,
                    "amp": bool(amp),
                    "world_size": world_size,
                    "fingerprint": fp,
                },
                indent=2,
                default=str,
            )
        )
    history.attrs.update(
        framework=fw, monitor=monitor, best_epoch=best_epoch, best_value=best,
        recipe=recipe.name, device=dev, world_size=world_size,
    )  # fmt: skip
    if fw == "torch" and home is not None:
        model.to(home)
    return history


def _keras_device(device: str) -> str:
    """The device TensorFlow trains a Keras model on (it places ops itself)."""
    import tensorflow as tf

    gpu = bool(tf.config.list_physical_devices("GPU"))
    if device not in ("auto", "cpu"):
        raise ValueError(
            f"device={device!r}: Keras models take 'auto' or 'cpu'; TensorFlow uses a GPU "
            "whenever it sees one (README, 'Training on a GPU')"
        )
    if device == "cpu" and gpu:
        raise ValueError(
            "device='cpu' but TensorFlow sees a GPU: set CUDA_VISIBLE_DEVICES='' before "
            "TensorFlow is imported to train a Keras model on the CPU"
        )
    return "GPU:0" if gpu else "CPU"


def _batch_images(x, batches, fw: str, workers: int, device: str):
    """The images of each index array in ``batches``, in order: sliced from memory, or read
    from a stream's files (torch ``DataLoader`` / ``tf.data``) ahead of the step."""
    if not is_stream(x):
        return (x[i] for i in batches)
    if fw == "keras":
        return x.tf_batches(batches)
    return x.torch_batches(batches, workers=workers, pin_memory=device.startswith("cuda"))


def _diverged(backend, best_state, best_epoch, out_dir, what, lr_now, augmented) -> None:
    """Stop a run whose loss or weights went non-finite, without saving them as best.

    The best weights so far (if any) go back into the model; ``fit.json`` is not written, so
    the run is not taken for finished.
    """
    if best_state is not None:
        backend.set_state(best_state)
        kept = f"the model holds the best weights so far (epoch {best_epoch})"
        if out_dir is not None:
            kept += f", as does {Path(out_dir) / backend.checkpoint_name}"
    else:
        kept = "no epoch finished, so no checkpoint was saved"
    causes = "a NaN/inf produced by the augmentation, " if augmented else ""
    raise FloatingPointError(
        f"{backend.name} training stopped: {what}. Nothing from this epoch was saved as best; "
        f"{kept}. Likely causes: {causes}a learning rate too high for this model "
        f"(lr {lr_now:.3g}: try 10x lower), or NaN/inf in the inputs"
    )


def _probe_outputs(model, fw: str, probe: np.ndarray) -> np.ndarray:
    """The model's output on a few training images in inference mode: Keras' own output
    (probabilities or logits, which the Keras backend tells apart), torch's logits. Its
    width is the number of classes the model scores."""
    if fw == "keras":
        return np.asarray(model.predict_on_batch(probe))
    import torch

    backend = _TorchBackend.for_inference(model)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = backend._logits(model(backend._tensor(probe))).cpu().numpy()
    model.train(was_training)
    return out


def _fingerprint(model, fw, x_train, y_train, x_val, y_val, **budget) -> str:
    """A digest of what a finished run depends on: data, labels, budget, architecture."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for a in (x_train, y_train, x_val, y_val):
        if a is None:
            h.update(b"none")
            continue
        if is_stream(a):
            h.update(a.digest())
            continue
        a = np.ascontiguousarray(a)
        h.update(repr((a.shape, str(a.dtype))).encode())
        # Every image's first row and a strided sample of whole images: cheap on 30k faces,
        # and any change of split, masking or resizing changes it.
        h.update(np.ascontiguousarray(a[:, :1] if a.ndim > 1 else a).tobytes())
        h.update(np.ascontiguousarray(a[:: max(1, len(a) // 64)]).tobytes())
    arch = (fw, type(model).__name__, count_params(model))
    h.update(json.dumps([arch, budget], sort_keys=True, default=str).encode())
    return h.hexdigest()


def _load_finished(model, fw, out_dir: Path, fp: str) -> pd.DataFrame | None:
    """The saved history of a finished run with fingerprint ``fp``, its weights loaded into
    ``model``; ``None`` when ``out_dir`` holds no such run."""
    meta_path = out_dir / "fit.json"
    if not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    ckpt, hist_path = out_dir / str(meta.get("checkpoint", "")), out_dir / "history.csv"
    if meta.get("fingerprint") != fp or not ckpt.is_file() or not hist_path.exists():
        return None
    try:
        saved = load_model(ckpt)
    except CorruptModelError as err:
        warnings.warn(f"{err}; retraining instead of resuming", stacklevel=3)
        return None
    if fw == "keras":
        model.set_weights(saved.get_weights())
    else:
        model.load_state_dict(saved.state_dict())
    history = pd.read_csv(hist_path)
    history.attrs.update(
        framework=fw,
        monitor=meta["monitor"],
        best_epoch=meta["best_epoch"],
        best_value=meta["best_value"],
        device=meta.get("device"),
        world_size=meta.get("world_size", 1),
        resumed=True,
    )
    return history


def _redraw(history: pd.DataFrame) -> None:
    """Replace the notebook cell's output with fresh training curves."""
    try:
        from IPython import get_ipython
        from IPython.display import clear_output, display
    except ImportError:  # pragma: no cover - IPython ships with the notebook stack
        return
    if get_ipython() is None:
        return
    import matplotlib.pyplot as plt

    # matplotlib (plots): loaded only for the live curves under IPython, never by a script.
    from maskfer_lib.plots import plot_history

    fig = plot_history(history)
    clear_output(wait=True)
    display(fig)
    plt.close(fig)


# --------------------------------------------------------------------------- predict


def _predict_keras(model, x, batch_size, outputs_proba: bool | None = None) -> np.ndarray:
    parts = [
        np.asarray(model.predict_on_batch(x[s : s + batch_size]))
        for s in range(0, len(x), batch_size)
    ]
    out = np.concatenate(parts).astype(np.float64)
    if outputs_proba is None:
        outputs_proba = _looks_like_proba(out)
    return out if outputs_proba else _softmax(out)


def predict_proba(model, x, batch_size: int = 256) -> np.ndarray:
    """Class probabilities (N, K) float64 for images x (N, H, W, C) float32 in [0, 1].

    torch: inference mode, logits (``model.logits(outputs)`` when defined) -> softmax.
    Keras: the model's softmax output (softmax applied if it outputs logits).
    """
    x, _ = _check_xy(x, None, "x")
    if len(x) == 0:
        raise ValueError("predict_proba got an empty array")
    if framework_of(model) == "keras":
        return _predict_keras(model, x, batch_size)
    import torch

    backend = _TorchBackend.for_inference(model)
    model.eval()
    parts = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            logits = backend._logits(model(backend._tensor(x[s : s + batch_size])))
            parts.append(torch.softmax(logits.double(), dim=1).cpu().numpy())
    return np.concatenate(parts)


def predict(model, x, batch_size: int = 256) -> np.ndarray:
    """Predicted class indices (N,) — the argmax of :func:`predict_proba`."""
    return predict_proba(model, x, batch_size).argmax(axis=1)


# --------------------------------------------------------------------------- save / load


def save_model(model, path: str | Path) -> Path:
    """Save a whole model: Keras to ``.keras``, torch to ``.pt`` (pickled module).

    A path without a suffix gets the framework's. Keras models with custom layers need
    those layers registered (``keras.saving.register_keras_serializable``) to load back.
    """
    path = Path(path)
    fw = framework_of(model)
    if path.suffix == "":
        path = path.with_suffix(".keras" if fw == "keras" else ".pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fw == "keras":
        if path.suffix != ".keras":
            raise ValueError(f"Keras models are saved as .keras files; got {path}")
        model.save(path)
    else:
        import torch

        # Whole-module pickle: reloading needs no builder arguments, only the class's
        # module importable (maskfer_lib's models are).
        torch.save(model, path)
    return path


def load_model(path: str | Path, map_location: str = "cpu"):
    """Load a model written by :func:`save_model` (or by ``fit(out_dir=...)``).

    ``.keras`` -> Keras (uncompiled; ``fit`` compiles), ``.pt``/``.pth`` -> torch module in
    eval mode on ``map_location``. Only load files you wrote: ``.pt`` files are pickles.

    Raises ``FileNotFoundError`` (naming the path) when nothing is there, and
    :class:`CorruptModelError` (a ``ValueError`` naming the file) when the file is not a
    readable saved model: truncated by an interrupted copy, overwritten, or another format.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"model file not found: {path}; train it first (fit(..., out_dir=...))"
        )
    if path.is_dir():
        raise CorruptModelError(
            f"{path} is a folder, not a saved model file (.keras or .pt); pass the file inside"
        )
    fix = (
        "retrain it (delete its run folder and rerun the training) or re-export it with "
        "maskfer_lib.train.save_model"
    )
    if path.suffix == ".keras":
        return _load_keras(path, fix)
    if path.suffix in (".pt", ".pth"):
        return _load_torch(path, map_location, fix)
    raise ValueError(f"unknown model file type {path.suffix!r} for {path}; expected .keras or .pt")


def _load_keras(path: Path, fix: str):
    import zipfile

    # Keras reports any unreadable archive as "File not found", which sends people looking
    # for a path that is right there: tell a damaged file apart first.
    size = path.stat().st_size
    if not zipfile.is_zipfile(path):
        raise CorruptModelError(
            f"{path} ({size:,} bytes) is corrupt or not a saved Keras model: a .keras file is "
            f"a zip archive and this one is not (truncated or overwritten?); {fix}"
        )
    with zipfile.ZipFile(path) as zf:
        if "config.json" not in zf.namelist():
            raise CorruptModelError(
                f"{path} is a zip archive but not a saved Keras model (no config.json); {fix}"
            )
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except (TypeError, ImportError) as err:  # a custom layer not registered / not importable
        raise _with_message(err, f"{path}: {err}") from err
    except Exception as err:
        raise CorruptModelError(
            f"{path} could not be loaded as a Keras model ({type(err).__name__}: {err}); the "
            f"file may be corrupt or written by an incompatible Keras version; {fix}"
        ) from err


def _load_torch(path: Path, map_location: str, fix: str):
    import pickle
    import zipfile

    import torch

    try:
        model = torch.load(path, map_location=map_location, weights_only=False)
    except (ModuleNotFoundError, AttributeError) as err:
        # The pickle is fine, the class it names is not importable here.
        raise _with_message(
            err,
            f"{path} holds a model whose class cannot be imported now ({err}); import the "
            f"module that defines it first, or {fix}",
        ) from err
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, zipfile.BadZipFile) as err:
        raise CorruptModelError(
            f"{path} ({path.stat().st_size:,} bytes) is corrupt or not a saved torch model "
            f"({type(err).__name__}: {err}); {fix}"
        ) from err
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"{path} holds a {type(model).__name__}, not a torch module (a state_dict?); "
            "save whole models with maskfer_lib.train.save_model"
        )
    return model.eval()


def _with_message(err: Exception, message: str) -> Exception:
    """``err``'s type with ``message`` (the path added), or ``err`` with it as a note when
    that type cannot be built from a message alone."""
    try:
        return type(err)(message)
    except Exception:
        err.add_note(message)
        return err
