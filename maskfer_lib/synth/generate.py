"""Sampling plans and whole-dataset generation for SynthFACS.

A plan is the list of :class:`~maskfer_lib.synth.render.FaceParams` for a dataset; it is
cheap (no drawing) and deterministic in ``seed``: identity ``k`` is drawn from
``default_rng([seed, 0, k])`` and face ``i`` from ``default_rng([seed, 1, i])``, so
``plan(...)[i]`` re-creates face ``i`` exactly and :func:`render_face` redraws it.
"""

from __future__ import annotations

import math
import time

import numpy as np

from maskfer_lib.labels import CLASSES_3, CLASSES_4, CLASSES_7, MAP_7_TO_3  # noqa: F401
from maskfer_lib.records import FaceDataset
from maskfer_lib.synth.aus import AU_NAMES, EXPRESSIONS_7, sample_aus
from maskfer_lib.synth.pose import YAW_BIN_NAMES, YAW_BINS, sample_pose
from maskfer_lib.synth.render import FaceParams, render_face, sample_scene
from maskfer_lib.synth.shape import sample_identity

# The label sets live in maskfer_lib.labels (shared with the loaders); re-exported here.

EXPANSION = {
    "positive": ("happy", "surprise"),
    "neutral": ("neutral",),
    "negative": ("angry", "disgust", "fear", "sad"),
}
"""Which underlying expressions a 3-class label is rendered from (cycled in turn, so each
3-class label is balanced over its expressions)."""

PER_IDENTITY = 2
"""Faces of each class per identity (every identity shows every class)."""


def _expand(classes) -> list[tuple[str, ...]]:
    classes = tuple(classes)
    valid = set(EXPRESSIONS_7) | set(EXPANSION)
    bad = [c for c in classes if c not in valid]
    if bad:
        raise ValueError(
            f"unknown class name(s) {bad}; valid names: {sorted(EXPRESSIONS_7)} or "
            f"{list(CLASSES_3)} (presets CLASSES_7, CLASSES_4, CLASSES_3)"
        )
    if len(set(classes)) != len(classes):
        raise ValueError(f"class names repeat in {classes}")
    return [EXPANSION.get(c, (c,)) for c in classes]


def plan(
    n_per_class: int,
    classes=CLASSES_7,
    seed: int = 0,
    pose: str = "kdef",
    per_identity: int = PER_IDENTITY,
    noise_p: float = 0.25,
    noise_max: float = 0.25,
) -> list[FaceParams]:
    """The parameters of every face of a dataset, class-major (no drawing).

    Face ``j`` of class ``c`` belongs to identity ``j // per_identity``, so there are
    ``ceil(n_per_class / per_identity)`` identities, each showing every class. KDEF poses
    cycle through the five yaw bins so bins are balanced within every class.
    """
    if not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be an integer >= 1, got {n_per_class!r}")
    if per_identity < 1:
        raise ValueError(f"per_identity must be >= 1, got {per_identity!r}")
    expansions = _expand(classes)
    n_ids = math.ceil(n_per_class / per_identity)
    idents = [sample_identity(k, np.random.default_rng([seed, 0, k])) for k in range(n_ids)]
    out = []
    i = 0
    for c, exprs in enumerate(expansions):
        for j in range(n_per_class):
            rng = np.random.default_rng([seed, 1, i])
            expr = exprs[j % len(exprs)]
            aus = sample_aus(expr, rng, noise_p=noise_p, noise_max=noise_max)
            yaw, pitch, roll, b = sample_pose(pose, rng, (j + c) % len(YAW_BINS))
            out.append(
                FaceParams(
                    identity=idents[j // per_identity],
                    expression=expr,
                    aus=aus,
                    yaw=yaw,
                    pitch=pitch,
                    roll=roll,
                    scene=sample_scene(rng),
                    extra={"label": c, "yaw_bin": b, "index": i},
                )
            )
            i += 1
    return out


def render_plan(
    params: list[FaceParams],
    size: int = 128,
    grayscale: bool = False,
    class_names=CLASSES_7,
    seed: int = 0,
    progress: bool = False,
    n_jobs: int = 1,
) -> FaceDataset:
    """Draw every face of a plan into a :class:`FaceDataset` (``n_jobs`` worker processes)."""
    import cv2

    n = len(params)
    c = 1 if grayscale else 3
    images = np.empty((n, size, size, c), np.uint8)
    landmarks = np.empty((n, 68, 2), np.float32)
    if n_jobs > 1 and n > 64:
        import multiprocessing as mp

        # fork copies the parameters for free; every face depends only on its own params,
        # so the result is identical to the serial loop.
        with mp.get_context("fork").Pool(n_jobs) as pool:
            results = pool.starmap(render_face, [(p, size) for p in params], chunksize=32)
    else:
        it = params
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc="SynthFACS", leave=False)
        results = (render_face(p, size) for p in it)
    for i, (img, lm) in enumerate(results):
        if grayscale:
            images[i, ..., 0] = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        else:
            images[i] = img
        landmarks[i] = lm
    meta = {
        "aus": np.stack([p.aus for p in params]).astype(np.float32),
        "au_names": list(AU_NAMES),
        "yaw_bin": np.array([p.extra["yaw_bin"] for p in params], np.int64),
        "yaw_bin_names": list(YAW_BIN_NAMES),
        "expression": np.array([p.expression for p in params]),
        "index": np.array([p.extra["index"] for p in params], np.int64),
        "seed": seed,
        "source": "synthfacs",
    }
    return FaceDataset(
        images=images,
        labels=np.array([p.extra["label"] for p in params], np.int64),
        class_names=tuple(class_names),
        landmarks=landmarks,
        identity=np.array([p.identity.id for p in params], np.int64),
        pose=np.array([[p.yaw, p.pitch, p.roll] for p in params], np.float32),
        meta=meta,
    )


def generate(
    n_per_class: int,
    size: int = 128,
    classes=CLASSES_7,
    seed: int = 0,
    grayscale: bool = False,
    pose: str = "kdef",
    per_identity: int = PER_IDENTITY,
    progress: bool = False,
    n_jobs: int = 1,
) -> FaceDataset:
    """Generate a SynthFACS dataset: ``n_per_class`` faces for each name in ``classes``.

    Returns a :class:`FaceDataset` with images (N, size, size, 3 or 1) uint8, labels,
    class_names, landmarks (N, 68, 2) float32 pixel (x, y), identity (N,), pose (N, 3)
    yaw/pitch/roll in degrees, and meta ``aus`` (N, K) float32, ``au_names``, ``yaw_bin``
    (index into ``yaw_bin_names`` FL/HL/S/HR/FR), ``expression`` (underlying 7-class
    expression, differs from the label for CLASSES_3) and ``index`` (face index in the plan).

    ``classes`` may be any subset of the 7 expressions (e.g. :data:`CLASSES_4`) or
    :data:`CLASSES_3`, whose labels are drawn from their expressions per :data:`EXPANSION`.
    ``pose``: "kdef" (five yaw bins), "frontal" (yaw ~ 0) or "random" (yaw in [-50, 50]).
    Bitwise deterministic for a given seed and arguments (whatever ``n_jobs``, the number
    of worker processes; 1 draws in this process).
    """
    if not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an integer >= 16 pixels, got {size!r}")
    params = plan(n_per_class, classes, seed, pose, per_identity)
    return render_plan(params, size, grayscale, tuple(classes), seed, progress, n_jobs)


def split_by_identity(
    ds: FaceDataset, fractions=(0.7, 0.15, 0.15), seed: int = 0
) -> dict[str, FaceDataset]:
    """Identity-disjoint train/val/test split: no person appears in two splits.

    Identities are shuffled with ``seed`` and cut by ``fractions``; each split gets at
    least one identity when there are enough (a 0 fraction gives an empty split).
    """
    if ds.identity is None:
        raise ValueError("split_by_identity needs ds.identity (SynthFACS sets it)")
    fr = np.asarray(fractions, float)
    if len(fr) != 3 or (fr < 0).any() or not np.isclose(fr.sum(), 1.0):
        raise ValueError(f"fractions must be 3 non-negative numbers summing to 1, got {fractions}")
    ids = np.unique(ds.identity)
    if len(ids) < int((fr > 0).sum()):
        raise ValueError(
            f"{len(ids)} identities cannot fill {int((fr > 0).sum())} splits; generate more faces"
        )
    ids = np.random.default_rng(seed).permutation(ids)
    n = len(ids)
    counts = np.floor(fr * n).astype(int)
    counts[(fr > 0) & (counts == 0)] = 1
    while counts.sum() > n:
        counts[np.argmax(counts)] -= 1
    counts[0] += n - counts.sum()
    cuts = np.cumsum(counts)[:-1]
    parts = np.split(ids, cuts)
    return {
        name: ds.subset(np.flatnonzero(np.isin(ds.identity, part)))
        for name, part in zip(("train", "val", "test"), parts, strict=True)
    }


def benchmark(n: int = 500, size: int = 128, seed: int = 0, n_jobs: int = 1) -> float:
    """Faces per second for generating ``n`` faces (plan + draw) with ``n_jobs`` processes."""
    per = max(1, n // len(CLASSES_7))
    generate(1, size=size, seed=seed)  # warm caches (grids, textures) outside the timing
    t0 = time.perf_counter()
    ds = generate(per, size=size, seed=seed, n_jobs=n_jobs)
    dt = time.perf_counter() - t0
    return len(ds) / dt
