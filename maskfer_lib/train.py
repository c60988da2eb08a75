"""One training loop for Keras and torch models: ``fit``, ``predict_proba``, save/load.

Both frameworks run the *same* loop (shuffling, augmentation, learning-rate schedule, early
stopping, best-checkpoint logic and history columns live here, in numpy), and only the
per-batch step differs. That is what makes a Keras CNN and a torch attention network
comparable in one table: same epochs, same batches, same plateau rule, same history.

Conventions
    Inputs are numpy: ``x`` float32 (N, H, W, C) in [0, 1], ``y`` int labels (N,).
    torch models receive NCHW tensors (converted here) and return **logits**; a model with
    several outputs defines ``compute_loss(outputs, y) -> scalar`` and
    ``logits(outputs) -> (N, K)`` and ``fit``/``predict_proba`` use them.
    Keras models end in a softmax (the registry's contract); ``fit`` checks this on a few
    training images and switches to ``from_logits`` losses if a model outputs logits.

Loss: sparse categorical cross-entropy on integer labels. Çelik & Gören used categorical
cross-entropy on one-hot labels; the two are the same function of the same numbers.

Optimiser: Adam with ``epsilon=adam_epsilon`` (1e-7, Keras' default and Putro's value) in both
frameworks, so torch runs do not silently use torch's 1e-8.

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
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

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

PUTRO_REDUCE_LR = {"factor": 0.75, "patience": 20, "monitor": "val_accuracy"}
"""Putro et al.: learning rate x 0.75 after 20 epochs without gain."""

KERAS_REDUCE_LR = {"factor": 0.1, "patience": 10, "monitor": "val_loss", "min_delta": 1e-4}
"""Keras' ``ReduceLROnPlateau`` defaults; Çelik & Gören used that callback without stating
its settings, so ``reduce_lr=True`` means these."""

SHIFT_FLIP_MAX_SHIFT = 0.1
"""Largest shift of ``augment="shift_flip"``, as a fraction of height/width. Hayashi et al.
state "parallel shifts and random horizontal flips" without a range; 10 % is the common
Keras ``width_shift_range`` choice."""

_EPS = 1e-7


# --------------------------------------------------------------------------- framework


def framework_of(model) -> str:
    """``"torch"`` for a ``torch.nn.Module``, ``"keras"`` for a Keras model.

    Looks only at already-imported modules: a torch model cannot exist without torch having
    been imported, so nothing heavy is imported here.
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return "torch"
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(model, keras.Model):
        return "keras"
    raise TypeError(
        f"fit/predict_proba need a torch.nn.Module or a keras.Model, got {type(model).__name__}"
    )


# --------------------------------------------------------------------------- helpers


def _check_xy(x, y, name: str):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"{name} must be (N, H, W, C) float32 in [0, 1]; got shape {x.shape}")
    if x.dtype != np.float32:
        x = x.astype(np.float32)
    if y is None:
        return x, None
    y = np.asarray(y).astype(np.int64).ravel()
    if len(y) != len(x):
        raise ValueError(f"{name}: {len(x)} images but {len(y)} labels")
    return x, y


def shift_flip(xb: np.ndarray, rng: np.random.Generator, max_shift: float = SHIFT_FLIP_MAX_SHIFT):
    """Random translation (edge pixels repeated) and horizontal flip of a batch (N, H, W, C).

    Hayashi et al.'s augmentation ("parallel shifts and random horizontal flips"); returns a
    new array, the input is not modified.
    """
    n, h, w, _ = xb.shape
    mh, mw = int(round(max_shift * h)), int(round(max_shift * w))
    padded = np.pad(xb, ((0, 0), (mh, mh), (mw, mw), (0, 0)), mode="edge")
    dy = rng.integers(-mh, mh + 1, size=n)
    dx = rng.integers(-mw, mw + 1, size=n)
    flip = rng.random(n) < 0.5
    out = np.empty_like(xb)
    for i in range(n):
        crop = padded[i, mh + dy[i] : mh + dy[i] + h, mw + dx[i] : mw + dx[i] + w]
        out[i] = crop[:, ::-1] if flip[i] else crop
    return out


def _resolve_augment(augment) -> Callable | None:
    if augment is None:
        return None
    if callable(augment):
        return augment
    if augment == "shift_flip":
        return shift_flip
    raise ValueError(f"augment must be None, 'shift_flip' or a callable(xb, rng); got {augment!r}")


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

    def __init__(self, model, x_probe, lr, optimizer, adam_epsilon, class_weight_vec):
        import keras

        self.keras = keras
        self.model = model
        probe = np.asarray(model.predict_on_batch(x_probe))
        self.outputs_proba = _looks_like_proba(probe)
        if optimizer == "adam":
            opt = keras.optimizers.Adam(learning_rate=lr, epsilon=adam_epsilon)
        elif optimizer == "sgd":
            opt = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
        else:
            raise ValueError(f"optimizer must be 'adam' or 'sgd'; got {optimizer!r}")
        # Recompiling replaces any optimiser state a builder may have set up: every fit()
        # starts the optimiser afresh (pre-train -> fine-tune is two fit() calls).
        model.compile(
            optimizer=opt,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=not self.outputs_proba),
            metrics=["accuracy"],
        )
        self.class_weight = (
            None if class_weight_vec is None else dict(enumerate(class_weight_vec.tolist()))
        )

    def train_batch(self, xb, yb):
        logs = self.model.train_on_batch(xb, yb, class_weight=self.class_weight, return_dict=True)
        return float(logs["loss"]), float(logs.get("accuracy", logs.get("compile_metrics", np.nan)))

    def eval_batches(self, x, y, batch_size):
        """(loss, accuracy) on (x, y) in inference mode."""
        p = _predict_keras(self.model, x, batch_size, self.outputs_proba)
        return _ce_from_proba(p, y), float(np.mean(p.argmax(1) == y))

    def get_lr(self) -> float:
        return float(
            np.asarray(self.keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        )

    def set_lr(self, lr: float) -> None:
        self.model.optimizer.learning_rate = lr

    def get_state(self):
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def set_state(self, state) -> None:
        self.model.set_weights(state)


class _TorchBackend:
    """Per-batch operations of a torch model."""

    name = "torch"
    checkpoint_name = "model.pt"

    def __init__(self, model, x_probe, lr, optimizer, adam_epsilon, class_weight_vec):
        import torch

        self.torch = torch
        self.model = model
        params = list(model.parameters())
        self.device = params[0].device if params else torch.device("cpu")
        if optimizer == "adam":
            self.opt = torch.optim.Adam(params, lr=lr, eps=adam_epsilon)
        elif optimizer == "sgd":
            self.opt = torch.optim.SGD(params, lr=lr, momentum=0.9)
        else:
            raise ValueError(f"optimizer must be 'adam' or 'sgd'; got {optimizer!r}")
        self.has_custom_loss = hasattr(model, "compute_loss")
        self.cw = (
            None
            if class_weight_vec is None
            else torch.tensor(class_weight_vec, dtype=torch.float32, device=self.device)
        )
        if self.cw is not None and self.has_custom_loss:
            raise ValueError(
                f"{type(model).__name__} defines compute_loss(), which takes no class weights; "
                "pass class_weight=None or balance the training set instead"
            )

    def _tensor(self, xb):
        return self.torch.from_numpy(np.ascontiguousarray(xb.transpose(0, 3, 1, 2))).to(self.device)

    def _logits(self, out):
        if hasattr(self.model, "logits"):
            return self.model.logits(out)
        if isinstance(out, (tuple, list)):
            raise TypeError(
                f"{type(self.model).__name__} returns {len(out)} outputs; define "
                "model.logits(outputs) -> (N, K) and model.compute_loss(outputs, y)"
            )
        return out

    def _loss(self, out, yt):
        F = self.torch.nn.functional
        if self.has_custom_loss:
            return self.model.compute_loss(out, yt)
        logits = self._logits(out)
        if self.cw is None:
            return F.cross_entropy(logits, yt)
        # Mean of weighted per-sample losses, as Keras' class_weight does (not torch's
        # weight-normalised mean), so both frameworks optimise the same objective.
        return (F.cross_entropy(logits, yt, reduction="none") * self.cw[yt]).mean()

    def train_batch(self, xb, yb):
        torch = self.torch
        self.model.train()
        xt = self._tensor(xb)
        yt = torch.from_numpy(yb).to(self.device)
        self.opt.zero_grad(set_to_none=True)
        out = self.model(xt)
        loss = self._loss(out, yt)
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            acc = (self._logits(out).argmax(1) == yt).float().mean().item()
        return float(loss.item()), acc

    def eval_batches(self, x, y, batch_size):
        torch = self.torch
        self.model.eval()
        total, correct, n = 0.0, 0, 0
        with torch.no_grad():
            for s in range(0, len(x), batch_size):
                xt = self._tensor(x[s : s + batch_size])
                yt = torch.from_numpy(y[s : s + batch_size]).to(self.device)
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

    def set_state(self, state) -> None:
        self.model.load_state_dict(state)


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
    optimizer: str = "adam",
    adam_epsilon: float = 1e-7,
    reduce_lr: dict | bool | None = None,
    early_stopping_patience: int | None = None,
    augment: str | Callable | None = None,
    class_weight: dict | str | None = None,
    max_steps_per_epoch: int | None = None,
    out_dir: str | Path | None = None,
    monitor: str = "val_accuracy",
    seed: int = 0,
    progress: bool = True,
    live_plot: bool = False,
    verbose: int = 0,
    resume: bool = True,
) -> pd.DataFrame:
    """Train a Keras or torch classifier; return the per-epoch history.

    Args:
        model: a ``keras.Model`` (ending in softmax) or ``torch.nn.Module`` (returning logits,
            or several outputs with ``compute_loss``/``logits`` methods).
        x_train, y_train: float32 (N, H, W, C) in [0, 1] and int labels.
        x_val, y_val: optional validation set (monitoring, plateau rule, early stopping).
        epochs, batch_size, lr: the budget (see ``config.Profile.train_cfg``).
        optimizer: ``"adam"`` (epsilon ``adam_epsilon``) or ``"sgd"`` (momentum 0.9).
        reduce_lr: ``None``; ``True`` for Keras' ReduceLROnPlateau defaults
            (:data:`KERAS_REDUCE_LR`); or a dict with ``factor``, ``patience`` and optional
            ``monitor`` (default: ``monitor``), ``min_delta`` (0), ``min_lr`` (0) — e.g.
            :data:`PUTRO_REDUCE_LR`.
        early_stopping_patience: stop after this many epochs without a better ``monitor``.
        augment: ``None``, ``"shift_flip"`` (Hayashi: shifts + horizontal flips) or a
            callable ``(xb, rng) -> xb`` applied to each training batch.
        class_weight: ``None``, ``"balanced"`` or ``{class: weight}``.
        max_steps_per_epoch: cap on batches per epoch (smoke runs).
        out_dir: if given, ``history.csv`` is rewritten after every epoch and the best model
            so far is saved as ``model.keras`` or ``model.pt`` whenever ``monitor`` improves.
        monitor: ``val_accuracy`` (default), ``val_loss``, ``accuracy`` or ``loss``; falls
            back to the training metric (with a warning) when there is no validation set.
        seed: seeds shuffling, augmentation and the framework's initialisation RNG.
        progress: tqdm bars (epochs, and batches within an epoch).
        live_plot: in a notebook, redraw loss/accuracy curves after each epoch
            (like livelossplot's ``PlotLossesCallback``).
        verbose: 1 prints one line per epoch.
        resume: with ``out_dir``, a run that already finished there with the same data, budget
            and architecture (``fit.json``'s ``fingerprint``) is loaded instead of retrained:
            the best checkpoint's weights go into ``model`` and the saved history (with its
            measured seconds and images/s) is returned. Long real-data runs therefore resume
            model by model; delete the folder (or pass ``resume=False``) to retrain.

    The best weights (by ``monitor``) are restored into ``model`` before returning; the
    history's ``attrs`` hold ``framework``, ``monitor``, ``best_epoch`` and ``best_value``.
    Keras runs call ``keras.utils.set_random_seed(seed)``, which also reseeds Python's and
    numpy's global generators. A trailing batch of a single image is skipped.
    """
    from tqdm.auto import tqdm

    fw = framework_of(model)
    x_train, y_train = _check_xy(x_train, y_train, "x_train")
    has_val = x_val is not None and y_val is not None and len(y_val) > 0
    if has_val:
        x_val, y_val = _check_xy(x_val, y_val, "x_val")
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
    if reduce_lr is True:
        reduce_lr = dict(KERAS_REDUCE_LR)
    if reduce_lr:
        reduce_lr = {"monitor": monitor, "min_delta": 0.0, "min_lr": 0.0, **reduce_lr}
        if reduce_lr["monitor"].startswith("val_") and not has_val:
            reduce_lr["monitor"] = reduce_lr["monitor"][4:]
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1; got {epochs}, {batch_size}")

    n_labels = int(max(y_train.max(), y_val.max() if has_val else 0)) + 1
    if isinstance(class_weight, dict) and class_weight:
        n_labels = max(n_labels, max(int(c) for c in class_weight) + 1)
    cw = _resolve_class_weight(class_weight, y_train, n_labels)
    probe = x_train[: min(8, len(x_train))]
    if fw == "torch":
        import torch

        torch.manual_seed(seed)
        backend = _TorchBackend(model, probe, lr, optimizer, adam_epsilon, cw)
    else:
        import keras

        keras.utils.set_random_seed(seed)
        backend = _KerasBackend(model, probe, lr, optimizer, adam_epsilon, cw)
    aug = _resolve_augment(augment)
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir) if out_dir is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)

    fp = _fingerprint(
        model, fw, x_train, y_train, x_val if has_val else None, y_val if has_val else None,
        epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
        adam_epsilon=adam_epsilon, reduce_lr=reduce_lr, patience=early_stopping_patience,
        augment=augment if isinstance(augment, str | None) else getattr(augment, "__name__", "fn"),
        class_weight=class_weight, max_steps=max_steps_per_epoch, monitor=monitor, seed=seed,
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
            return done

    if out_dir is not None:
        # fit.json marks a finished run; a run interrupted from here on must not look finished.
        (out_dir / "fit.json").unlink(missing_ok=True)

    n = len(x_train)
    steps = int(np.ceil(n / batch_size))
    if max_steps_per_epoch:
        steps = min(steps, int(max_steps_per_epoch))
    mode = _mode(monitor)
    best, best_state, best_epoch, wait = None, None, 0, 0
    plateau_best, plateau_wait = None, 0
    rows: list[dict] = []
    epoch_bar = tqdm(range(1, epochs + 1), desc=f"fit {fw}", disable=not progress, unit="epoch")
    for epoch in epoch_bar:
        t0 = time.perf_counter()
        lr_now = backend.get_lr()
        order = rng.permutation(n)
        loss_sum, acc_sum, seen = 0.0, 0.0, 0
        batch_bar = tqdm(
            range(steps), desc=f"epoch {epoch}", leave=False, disable=not progress, unit="batch"
        )
        for b in batch_bar:
            idx = order[b * batch_size : (b + 1) * batch_size]
            if len(idx) == 1 and seen:
                # A last batch of one image breaks torch BatchNorm in training mode; skip it
                # in both frameworks so they see the same batches.
                continue
            xb, yb = x_train[idx], y_train[idx]
            if aug is not None:
                xb = aug(xb, rng).astype(np.float32, copy=False)
            bl, ba = backend.train_batch(xb, yb)
            loss_sum += bl * len(idx)
            acc_sum += ba * len(idx)
            seen += len(idx)
            batch_bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{acc_sum / seen:.3f}")
        train_s = time.perf_counter() - t0
        val_loss = val_acc = float("nan")
        if has_val:
            val_loss, val_acc = backend.eval_batches(x_val, y_val, max(batch_size, 256))
        row = {
            "epoch": epoch,
            "loss": loss_sum / seen,
            "accuracy": acc_sum / seen,
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "lr": lr_now,
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
                    backend.set_lr(max(lr_now * reduce_lr["factor"], reduce_lr["min_lr"]))
                    plateau_wait = 0
        if out_dir is not None:
            history.to_csv(out_dir / "history.csv", index=False)
        epoch_bar.set_postfix(
            loss=f"{row['loss']:.3f}", acc=f"{row['accuracy']:.3f}", val_acc=f"{val_acc:.3f}"
        )
        if verbose:
            print(
                f"epoch {epoch}/{epochs}  loss {row['loss']:.4f}  acc {row['accuracy']:.4f}  "
                f"val_loss {val_loss:.4f}  val_acc {val_acc:.4f}  lr {lr_now:.2e}  "
                f"{row['seconds']:.1f}s  {row['images_per_s']:.0f} img/s"
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
                    "fingerprint": fp,
                },
                indent=2,
            )
        )
    history.attrs.update(framework=fw, monitor=monitor, best_epoch=best_epoch, best_value=best)
    return history


def _fingerprint(model, fw, x_train, y_train, x_val, y_val, **budget) -> str:
    """A digest of what a finished run depends on: data, labels, budget, architecture."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for a in (x_train, y_train, x_val, y_val):
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(repr((a.shape, str(a.dtype))).encode())
        # Every image's first row and a strided sample of whole images: cheap on 30k faces,
        # and any change of split, masking or resizing changes it.
        h.update(np.ascontiguousarray(a[:, :1] if a.ndim > 1 else a).tobytes())
        h.update(np.ascontiguousarray(a[:: max(1, len(a) // 64)]).tobytes())
    from maskfer_lib.models import count_params

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
    saved = load_model(ckpt)
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

    backend = _TorchBackend.__new__(_TorchBackend)
    backend.torch, backend.model = torch, model
    params = list(model.parameters())
    backend.device = params[0].device if params else torch.device("cpu")
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
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved model at {path}; train it first (fit(..., out_dir=...))")
    if path.suffix == ".keras":
        import keras

        return keras.saving.load_model(path, compile=False)
    if path.suffix in (".pt", ".pth"):
        import torch

        model = torch.load(path, map_location=map_location, weights_only=False)
        if not isinstance(model, torch.nn.Module):
            raise TypeError(
                f"{path} holds a {type(model).__name__}, not a torch module; "
                "save whole models with maskfer_lib.train.save_model"
            )
        return model.eval()
    raise ValueError(f"unknown model file type {path.suffix!r} for {path}; expected .keras or .pt")
