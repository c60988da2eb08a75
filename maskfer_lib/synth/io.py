"""Write SynthFACS (or any FaceDataset) to disk as an ImageFolder plus a metadata CSV."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from maskfer_lib.records import FaceDataset


def metadata_frame(ds: FaceDataset, paths: list[str]) -> pd.DataFrame:
    """One row per face: path, label, class, identity, yaw/pitch/roll, AUs, x0,y0..x67,y67."""
    n = len(ds)
    cols: dict[str, object] = {
        "path": paths,
        "label": ds.labels,
        "class": [ds.class_names[k] for k in ds.labels],
        "identity": ds.identity if ds.identity is not None else np.full(n, -1),
    }
    if "expression" in ds.meta:
        cols["expression"] = ds.meta["expression"]
    pose = ds.pose if ds.pose is not None else np.full((n, 3), np.nan)
    for k, name in enumerate(("yaw", "pitch", "roll")):
        cols[name] = np.round(pose[:, k], 3)
    if "aus" in ds.meta:
        for k, name in enumerate(ds.meta["au_names"]):
            cols[name] = np.round(ds.meta["aus"][:, k], 4)
    if ds.landmarks is not None:
        for i in range(ds.landmarks.shape[1]):
            cols[f"x{i}"] = np.round(ds.landmarks[:, i, 0], 3)
            cols[f"y{i}"] = np.round(ds.landmarks[:, i, 1], 3)
    return pd.DataFrame(cols)


def write_imagefolder(root, ds_or_splits, split: str = "all", overwrite: bool = False) -> Path:
    """Write PNGs to ``root/split/class/NNNNN.png`` and ``root/metadata.csv``.

    ``ds_or_splits`` is one dataset (written under ``split``) or a dict split -> dataset
    (e.g. from :func:`split_by_identity`). ``metadata.csv`` paths are relative to ``root``.
    Refuses to write into a non-empty ``root`` unless ``overwrite`` (never mixes datasets).
    """
    root = Path(root)
    splits = ds_or_splits if isinstance(ds_or_splits, dict) else {split: ds_or_splits}
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise FileExistsError(f"{root} is not empty; choose an empty folder or pass overwrite=True")
    frames = []
    for name, ds in splits.items():
        paths = []
        counters: dict[str, int] = {}
        for i in range(len(ds)):
            cls = ds.class_names[int(ds.labels[i])]
            k = counters.get(cls, 0)
            counters[cls] = k + 1
            rel = Path(name) / cls / f"{k:05d}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            img = ds.images[i]
            img = img[..., 0] if img.shape[-1] == 1 else img[..., ::-1]
            if not cv2.imwrite(str(root / rel), img):
                raise OSError(f"could not write {root / rel}")
            paths.append(rel.as_posix())
        df = metadata_frame(ds, paths)
        df.insert(1, "split", name)
        frames.append(df)
    pd.concat(frames, ignore_index=True).to_csv(root / "metadata.csv", index=False)
    return root
