"""Training recipes: how a model is optimised, apart from how long (``config.TrainCfg``).

A :class:`Recipe` names every part of the optimisation that is not the budget — optimiser,
weight decay, learning-rate schedule and warm-up, label smoothing, on-the-fly augmentation,
class balancing — so that ``train.fit`` applies the same recipe to Keras and torch models
and records it, part by part, in the run's ``fit.json``.

Two families:

* ``"modern"`` — the default of the smoke, quick and real profiles: AdamW, linear warm-up
  then cosine decay, label smoothing 0.1, flips, small shifts/rotations/zooms and
  brightness/contrast jitter. These are the usual choices for training small CNNs from
  scratch (timm's training scripts, the keras-io image-classification examples); the issue
  that introduced them measured overfitting without augmentation on FER2013.
* each paper's own recipe, ``"celik_paper"``, ``"putro_paper"``, ``"hayashi_paper"`` and
  ``"yang_paper"``; :func:`get_recipe` resolves ``"paper"`` to the one of the model's paper.

Augmentation runs on the model inputs, i.e. after masking, so the mask moves with the face.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Augment:
    """Random geometric and photometric jitter of a batch (N, H, W, C) float32 in [0, 1].

    Each image gets its own draw: a horizontal flip with probability 0.5 (``flip``), a shift
    of up to ``translate`` × its size, a rotation of up to ±``rotate`` degrees and a zoom
    of 1 ± ``scale`` (one affine warp, edges repeated), then brightness + b and contrast
    × c around the image mean, b and c uniform in ±``brightness`` and 1 ± ``contrast``.
    """

    flip: bool = True
    translate: float = 0.1
    rotate: float = 10.0
    scale: float = 0.1
    brightness: float = 0.0
    contrast: float = 0.0

    def __call__(self, xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A jittered copy of ``xb``; the input is not modified."""
        import cv2

        n, h, w, c = xb.shape
        out = np.empty_like(xb)
        geometric = self.translate > 0 or self.rotate > 0 or self.scale > 0
        flips = rng.random(n) < 0.5 if self.flip else np.zeros(n, bool)
        angles = rng.uniform(-self.rotate, self.rotate, n)
        zooms = 1.0 + rng.uniform(-self.scale, self.scale, n)
        shifts = rng.uniform(-self.translate, self.translate, (n, 2)) * (w, h)
        centre = ((w - 1) / 2.0, (h - 1) / 2.0)
        for i in range(n):
            img = xb[i, :, ::-1] if flips[i] else xb[i]
            if geometric:
                m = cv2.getRotationMatrix2D(centre, float(angles[i]), float(zooms[i]))
                m[:, 2] += shifts[i]
                img = cv2.warpAffine(
                    np.ascontiguousarray(img),
                    m,
                    (w, h),
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE,
                )
                if img.ndim == 2:
                    img = img[..., None]
            out[i] = img
        if self.brightness > 0 or self.contrast > 0:
            b = rng.uniform(-self.brightness, self.brightness, (n, 1, 1, 1)).astype(np.float32)
            k = 1.0 + rng.uniform(-self.contrast, self.contrast, (n, 1, 1, 1)).astype(np.float32)
            mean = out.mean(axis=(1, 2, 3), keepdims=True)
            out = np.clip((out - mean) * k + mean + b, 0.0, 1.0, out=out)
        return out


SHIFT_FLIP = Augment(flip=True, translate=0.1, rotate=0.0, scale=0.0)
"""Hayashi et al.'s augmentation, "parallel shifts and random horizontal flips"; they give
no range, 10 % is the common Keras ``width_shift_range`` choice."""


@dataclass(frozen=True)
class Recipe:
    """Everything about optimisation except the budget (epochs, batch size, peak lr).

    Attributes:
        name: how tables and ``fit.json`` name the recipe.
        optimizer: ``"adamw"`` (decoupled weight decay), ``"adam"`` or ``"sgd"`` (momentum
            0.9, Nesterov).
        adam_epsilon: 1e-7 (Keras' default and Putro's value) in both frameworks, so torch
            runs do not silently use torch's 1e-8.
        weight_decay: decoupled for AdamW; neither biases nor normalisation parameters
            (1-D weights) are decayed, in either framework.
        schedule: ``"cosine"`` (linear warm-up over ``warmup_epochs``, then cosine decay to
            ``min_lr_fraction`` × lr, updated every step), ``"plateau"`` (``reduce_lr``,
            checked once per epoch) or ``"constant"``.
        reduce_lr: the plateau rule, ``{"factor", "patience", "monitor", "min_delta",
            "min_lr"}`` (see :data:`KERAS_REDUCE_LR`, :data:`PUTRO_REDUCE_LR`).
        label_smoothing: mass moved uniformly over the classes in the training targets.
        augment: an :class:`Augment`, or ``None``.
        balanced_sampling: draw each epoch's batches with class-balanced probabilities
            (with replacement) instead of a permutation.
        class_weight: ``None``, ``"balanced"`` or ``{class: weight}`` (loss weights).
    """

    name: str
    optimizer: str = "adamw"
    adam_epsilon: float = 1e-7
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    min_lr_fraction: float = 0.0
    reduce_lr: dict | None = None
    label_smoothing: float = 0.0
    augment: Augment | None = None
    balanced_sampling: bool = False
    class_weight: dict | str | None = None
    notes: str = field(default="", compare=False)

    def __post_init__(self):
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise ValueError(f"optimizer must be adam, adamw or sgd; got {self.optimizer!r}")
        if self.schedule not in ("constant", "cosine", "plateau"):
            raise ValueError(f"schedule must be constant, cosine or plateau; got {self.schedule!r}")
        if self.schedule == "plateau" and not self.reduce_lr:
            raise ValueError("schedule='plateau' needs a reduce_lr rule")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1); got {self.label_smoothing}")

    def with_parts(self, **kwargs) -> Recipe:
        """A copy with some parts switched, e.g. ``augment=None`` for an ablation."""
        return replace(self, **kwargs)

    def record(self) -> dict:
        """A JSON-able description of every part (what ``fit.json`` stores)."""
        d = asdict(self)
        d.pop("notes")
        return d

    def lr_at(self, lr: float, step: int, steps_per_epoch: int, epochs: int) -> float:
        """The learning rate of training step ``step`` (0-based) of a ``cosine`` or
        ``constant`` schedule; ``plateau`` starts from ``lr`` and is changed by ``fit``."""
        if self.schedule != "cosine":
            return lr
        total = max(1, steps_per_epoch * epochs)
        warm = int(round(self.warmup_epochs * steps_per_epoch))
        warm = min(warm, total - 1)
        if step < warm:
            return lr * (step + 1) / warm
        t = min(1.0, (step - warm) / max(1, total - warm))
        floor = lr * self.min_lr_fraction
        return floor + (lr - floor) * 0.5 * (1.0 + math.cos(math.pi * t))


KERAS_REDUCE_LR = {"factor": 0.1, "patience": 10, "monitor": "val_loss", "min_delta": 1e-4}
"""Keras' ``ReduceLROnPlateau`` defaults; Çelik & Gören used that callback without stating
its settings, so their recipe uses these."""

PUTRO_REDUCE_LR = {"factor": 0.75, "patience": 20, "monitor": "val_accuracy"}
"""Putro et al.: learning rate × 0.75 when training does not improve for 20 epochs."""

MODERN = Recipe(
    name="modern",
    optimizer="adamw",
    weight_decay=0.05,
    schedule="cosine",
    warmup_epochs=1.0,
    min_lr_fraction=0.01,
    label_smoothing=0.1,
    augment=Augment(
        flip=True, translate=0.05, rotate=5.0, scale=0.05, brightness=0.1, contrast=0.1
    ),
    notes="AdamW + warm-up/cosine, label smoothing 0.1, light flip/shift/rotate/zoom/"
    "brightness/contrast jitter applied after masking",
)
"""The default recipe. The jitter is light because it was measured: Slim at 48 px on the
quick profile's SynthFACS faces, 12 epochs, reached 74.7 % validation accuracy with it,
48.7 % with twice its ranges (±10 % shift and zoom, ±10°, ±0.2 brightness/contrast: still
underfitting) and 65.9 % without augmentation (training accuracy 100 %: overfitting)."""

MODERN_BALANCED = MODERN.with_parts(
    name="modern_balanced",
    balanced_sampling=True,
    notes="the modern recipe with class-balanced sampling, for imbalanced label sets",
)
"""``modern`` drawing each epoch's batches class-balanced, for imbalanced label sets. On
the quick profile's masked 3-class SynthFACS task (57 % "negative") it lowered accuracy
below the majority class without lifting VGG19 off it (measured, see ``config.py``), so no
profile uses it by default. On masked FER2013 (real profile, Yang's approach 2, 5,000 faces,
6 epochs, seed 0) it made the model predict "neutral", which ``modern`` never does, and
raised validation balanced accuracy from 41.1 to 45.1 %, but validation accuracy fell from
52.7 to 45.3 %, below the 46.6 % majority class: so ``modern`` stays."""

PLAIN = Recipe(
    name="plain",
    optimizer="adam",
    notes="Adam at a constant learning rate, nothing else: the recipe before 'modern'",
)

PAPER_RECIPES: dict[str, Recipe] = {
    "celik": Recipe(
        name="celik_paper",
        optimizer="adam",
        schedule="plateau",
        reduce_lr=KERAS_REDUCE_LR,
        notes="Çelik & Gören: Adam, ReduceLROnPlateau (settings not given: Keras defaults), "
        "no augmentation",
    ),
    "putro": Recipe(
        name="putro_paper",
        optimizer="adam",
        schedule="plateau",
        reduce_lr=PUTRO_REDUCE_LR,
        augment=Augment(
            flip=True, translate=0.0, rotate=10.0, scale=0.0, brightness=0.2, contrast=0.2
        ),
        notes="Putro et al.: Adam (eps 1e-7), lr x0.75 after 20 flat epochs; lighting and "
        "colour distortion, rotation and horizontal flips (ranges not given: ±10°, ±0.2)",
    ),
    "hayashi": Recipe(
        name="hayashi_paper",
        optimizer="adam",
        augment=SHIFT_FLIP,
        notes="Hayashi et al.: parallel shifts and horizontal flips; optimiser not given "
        "(Adam at a constant rate)",
    ),
    "yang": Recipe(
        name="yang_paper",
        optimizer="adam",
        notes="Yang et al. give no optimiser or augmentation: Adam at a constant rate",
    ),
}

RECIPES: dict[str, Recipe] = {
    MODERN.name: MODERN,
    MODERN_BALANCED.name: MODERN_BALANCED,
    PLAIN.name: PLAIN,
    **{r.name: r for r in PAPER_RECIPES.values()},
}
"""Every named recipe: ``"modern"``, ``"plain"`` and ``"<paper>_paper"``."""


def get_recipe(recipe: str | Recipe | None, paper: str | None = None) -> Recipe:
    """Resolve a recipe name (``"paper"`` needs the model's ``paper``); a Recipe passes through.

    ``None`` means ``"modern"``.
    """
    if isinstance(recipe, Recipe):
        return recipe
    name = recipe or "modern"
    if name == "paper":
        if paper not in PAPER_RECIPES:
            raise ValueError(
                f"recipe='paper' needs the model's paper, one of {sorted(PAPER_RECIPES)}; "
                f"got {paper!r}"
            )
        return PAPER_RECIPES[paper]
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose 'paper' or one of {sorted(RECIPES)}")
    return RECIPES[name]
