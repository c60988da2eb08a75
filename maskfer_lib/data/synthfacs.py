"""SynthFACS as train/val/test splits, generated once and cached as an npz keyed on its
arguments and the synth package's sources (``cache.code_version``)."""

from __future__ import annotations

import hashlib
import json
import logging

import numpy as np

from maskfer_lib import config, synth
from maskfer_lib.cache import code_version
from maskfer_lib.data.splits import apply_split, identity_split
from maskfer_lib.records import FaceDataset, load_splits, save_splits

log = logging.getLogger(__name__)


def load_synthfacs(
    n_per_class: int, size: int = 128, seed: int = 0, use_cache: bool = True, **gen_kwargs
) -> dict[str, FaceDataset]:
    """SynthFACS split by identity into train/val/test, cached under ``config.cache_dir()``.

    Calls ``maskfer_lib.synth.generate(n_per_class=, size=, seed=, **gen_kwargs)`` and
    ``maskfer_lib.synth.split_by_identity`` (falling back to :func:`identity_split` if the
    synth package has none). The cache key holds every argument and a hash of the synth
    sources.
    """
    key = json.dumps({"n": n_per_class, "size": size, "seed": seed, **gen_kwargs}, sort_keys=True)
    digest = hashlib.sha1((key + code_version("maskfer_lib.synth")).encode()).hexdigest()[:12]
    path = config.cache_dir() / f"synthfacs_{n_per_class}x{size}_seed{seed}_{digest}.npz"
    if use_cache and path.exists():
        try:
            return load_splits(path)
        except Exception as e:  # a half-written or old-format file: regenerate
            log.warning("ignoring unreadable cache %s (%s); regenerating", path, e)
    ds = synth.generate(n_per_class=n_per_class, size=size, seed=seed, **gen_kwargs)
    splitter = getattr(synth, "split_by_identity", None)
    if splitter is not None:
        splits = splitter(ds, seed=seed)
        if isinstance(splits, dict) and all(isinstance(v, np.ndarray) for v in splits.values()):
            splits = apply_split(ds, splits)
    else:
        splits = apply_split(ds, identity_split(ds, seed=seed))
    if not isinstance(splits, dict) or not {"train", "val", "test"} <= set(splits):
        raise TypeError(
            "synth.split_by_identity must return {'train', 'val', 'test'} -> FaceDataset or "
            f"index arrays; got {type(splits).__name__} with keys {list(getattr(splits, 'keys', list)())}"
        )
    splits = {k: splits[k] for k in ("train", "val", "test")}
    if use_cache:
        save_splits(path, splits)
    return splits
