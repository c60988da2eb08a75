"""Splits and sizes: stratified, identity-disjoint and k-fold index splits, carving missing
val/test splits out of train, and capping or subsampling a dataset."""

from __future__ import annotations

import math
import warnings

import numpy as np

from maskfer_lib.data.images import TooFewImagesError
from maskfer_lib.records import FaceDataset


def _labels_of(x) -> np.ndarray:
    return x.labels if isinstance(x, FaceDataset) else np.asarray(x)


def _check_fractions(fractions) -> tuple[float, float, float]:
    f = tuple(float(v) for v in fractions)
    if len(f) != 3 or min(f) < 0 or abs(sum(f) - 1) > 1e-6:
        raise ValueError(f"fractions must be (train, val, test) summing to 1; got {fractions}")
    return f


def images_needed_per_class(fractions=(0.7, 0.15, 0.15)) -> int:
    """Images a class needs so that a stratified split into ``fractions`` (train, val, test)
    can give every split with a positive fraction at least one of them (7 for 70/15/15)."""
    f = [v for v in _check_fractions(fractions) if v > 0]
    return 1 if len(f) < 2 else max(2, math.ceil(1 / min(f) - 1e-9))


def _too_few(y, names, fractions, need: int) -> str:
    counts = np.bincount(y, minlength=len(names) if names is not None else 0)
    label = [str(names[i]) if names is not None else f"label {i}" for i in range(len(counts))]
    low = [f"{label[i]!r} has {c}" for i, c in enumerate(counts) if 0 < c < need]
    fr = "/".join(f"{v:.2f}" for v in fractions)
    every = ", ".join(f"{n} {c}" for n, c in zip(label, counts.tolist(), strict=True))
    return (
        f"a stratified train/val/test split ({fr}) needs at least {need} images per class so "
        f"that every split gets each class; too few: {', '.join(low) or 'none'} "
        f"(images per class: {every})"
    )


def stratified_split(labels_or_ds, fractions=(0.7, 0.15, 0.15), seed: int = 0) -> dict:
    """Indices ``{"train", "val", "test"}`` with class proportions kept in each split.

    Raises :class:`TooFewImagesError` saying how many images per class the split needs and
    which classes have fewer, where scikit-learn cannot stratify.
    """
    from sklearn.model_selection import train_test_split

    y = _labels_of(labels_or_ds)
    names = labels_or_ds.class_names if isinstance(labels_or_ds, FaceDataset) else None
    f_tr, f_va, f_te = _check_fractions(fractions)
    idx = np.arange(len(y))
    counts = np.bincount(y)
    strat = y if counts[counts > 0].min() >= 2 else None  # sklearn needs 2 per class

    def split(part, test_size, stratify):
        try:
            return train_test_split(part, test_size=test_size, stratify=stratify, random_state=seed)
        except ValueError as e:
            need = images_needed_per_class((f_tr, f_va, f_te))
            raise TooFewImagesError(
                f"{_too_few(y, names, (f_tr, f_va, f_te), need)}; scikit-learn: {e}. Add "
                "images to the classes named, or give the dataset its own val/test splits"
            ) from None

    out = {"train": idx, "val": idx[:0], "test": idx[:0]}
    rest = idx
    if f_te > 0:
        out["train"], out["test"] = split(idx, f_te, strat)
        rest = out["train"]
    if f_va > 0:
        ys = y[rest]
        c = np.bincount(ys)
        out["train"], out["val"] = split(
            rest, f_va / (f_tr + f_va), ys if c[c > 0].min() >= 2 else None
        )
    return {k: np.sort(v) for k, v in out.items()}


def identity_split(ds: FaceDataset, fractions=(0.7, 0.15, 0.15), seed: int = 0) -> dict:
    """Indices ``{"train", "val", "test"}`` with no identity in two splits.

    Identities are shuffled and assigned to splits until each split holds its fraction of
    the images. Falls back to :func:`stratified_split` (with a warning) when the dataset has
    no identities.
    """
    f = _check_fractions(fractions)
    if ds.identity is None:
        warnings.warn("dataset has no identities: using a stratified split instead", stacklevel=2)
        return stratified_split(ds, f, seed)
    ids, counts = np.unique(ds.identity, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(ids))
    ids, counts = ids[order], counts[order]
    cum = np.cumsum(counts) / counts.sum()
    # An identity goes to the split its midpoint falls in, so no split is starved.
    mid = cum - counts / counts.sum() / 2
    which = np.where(mid < f[0], 0, np.where(mid < f[0] + f[1], 1, 2))
    out = {}
    for k, name in enumerate(("train", "val", "test")):
        out[name] = np.flatnonzero(np.isin(ds.identity, ids[which == k]))
    return out


def kfold_indices(labels_or_ds, n_splits: int = 10, seed: int = 0, groups=None) -> list:
    """Stratified k-fold (Putro: 10 folds): a list of ``(train_idx, test_idx)``.

    With ``groups`` (e.g. ``ds.identity``) folds are also identity-disjoint
    (``StratifiedGroupKFold``).
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    y = _labels_of(labels_or_ds)
    if groups is None:
        kf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return list(kf.split(np.zeros(len(y)), y))
    kf = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(kf.split(np.zeros(len(y)), y, groups=np.asarray(groups)))


def apply_split(ds: FaceDataset, index: dict) -> dict[str, FaceDataset]:
    """``{split: ds.subset(idx)}`` for a dict of index arrays."""
    return {k: ds.subset(v) for k, v in index.items()}


def cap_per_class(ds: FaceDataset, cap: int, seed: int = 0) -> FaceDataset:
    """At most ``cap`` faces of each class, drawn with ``seed`` (order kept); records the
    original size in ``meta["subsampled_from"]`` when anything was dropped."""
    rng = np.random.default_rng(seed)
    keep = []
    for c in range(ds.num_classes):
        idx = np.flatnonzero(ds.labels == c)
        keep.append(rng.choice(idx, size=min(cap, len(idx)), replace=False) if len(idx) else idx)
    idx = np.sort(np.concatenate(keep))
    out = ds.subset(idx)
    if len(idx) < len(ds):
        out.meta = {**out.meta, "subsampled_from": len(ds)}
    return out


def subsample(ds: FaceDataset, n: int, seed: int = 0) -> FaceDataset:
    """``n`` faces of ``ds`` drawn with ``seed`` in the dataset's own class proportions
    (stratified; order kept), so a smaller training set keeps the class priors the test split
    has. Records the original size in ``meta["subsampled_from"]``; ``ds`` itself when it
    holds at most ``n`` faces."""
    if len(ds) <= n:
        return ds
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(
        np.arange(len(ds)), train_size=int(n), stratify=ds.labels, random_state=seed
    )
    out = ds.subset(np.sort(idx))
    out.meta = {**out.meta, "subsampled_from": len(ds)}
    return out


def _complete_splits(parts: dict, seed: int, val_frac: float = 0.15, test_frac: float = 0.15):
    """Carve missing val/test splits out of train (identity-disjoint where possible).

    A stratified carve (no identities) that cannot give every split each class (3 faces per
    class) raises :class:`TooFewImagesError` naming the folder, the classes with too few
    images and the count needed (:func:`images_needed_per_class`).
    """
    parts = dict(parts)
    missing = [s for s in ("val", "test") if s not in parts]
    if missing:
        tr = parts["train"]
        f_va = val_frac if "val" in missing else 0.0
        f_te = test_frac if "test" in missing else 0.0
        f = (1 - f_va - f_te, f_va, f_te)
        if tr.identity is not None:
            idx = identity_split(tr, f, seed)
        else:
            try:
                idx = stratified_split(tr, f, seed)
            except TooFewImagesError as e:
                source = tr.meta.get("source", "the training split")
                raise TooFewImagesError(
                    f"{source}: cannot carve {' and '.join(missing)} out of the training "
                    f"images: {e}"
                ) from None
        carved = apply_split(tr, idx)
        parts["train"] = carved["train"]
        for s in missing:
            parts[s] = carved[s]
            parts[s].meta = {**parts[s].meta, "carved_from_train": True}
    return {k: parts[k] for k in ("train", "val", "test")}
