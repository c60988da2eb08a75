"""Helpers behind notebooks 04 (Yang) and 05 (Hayashi): attention maps and tables.

Training goes through ``maskfer_lib.runs.train_and_record`` like every other model. Kept
here rather than in the notebooks so they are tested (tests/test_models_torch.py):

* :func:`map_stack` — attention/heat maps of a model as numpy (N, H, W) at input size.
* :func:`inside_outside` — mean map value inside vs outside the ground-truth mask region.
* :func:`per_class_accuracy` — Hayashi's Table 3 layout (per-class recall + total, in %).
* :func:`class_mean_maps` — one mean map per expression class (Hayashi's Figure 6).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch


@torch.no_grad()
def map_stack(fn, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """``fn`` (tensor NCHW → (N, 1, h, w) in [0, 1]) applied to faces x (N, H, W, C); (N, H, W).

    Maps smaller than the input are upsampled bilinearly, so they line up with the faces
    and their occlusion masks pixel for pixel.
    """
    x = np.asarray(x, dtype=np.float32)
    out = np.empty(x.shape[:3], dtype=np.float32)
    for s in range(0, len(x), batch_size):
        xt = torch.from_numpy(np.ascontiguousarray(x[s : s + batch_size].transpose(0, 3, 1, 2)))
        m = fn(xt)
        if m.shape[-2:] != xt.shape[-2:]:
            m = torch.nn.functional.interpolate(
                m, size=xt.shape[-2:], mode="bilinear", align_corners=False
            )
        out[s : s + batch_size] = m[:, 0].numpy()
    return out


def inside_outside(maps: np.ndarray, region: np.ndarray) -> dict:
    """Mean map value inside and outside a boolean region, pooled over all faces.

    Args:
        maps: (N, H, W) maps in [0, 1].
        region: (N, H, W) bool (e.g. ``FaceDataset.occlusion`` resized to the maps' size).

    Returns:
        ``{"inside", "outside", "difference", "ratio", "faces"}``; faces with an empty
        region are left out (counted in ``faces`` only when used).
    """
    maps = np.asarray(maps, dtype=np.float64)
    region = np.asarray(region, dtype=bool)
    if maps.shape != region.shape:
        raise ValueError(f"maps {maps.shape} and region {region.shape} must have the same shape")
    use = region.reshape(len(region), -1).any(axis=1) & (~region).reshape(len(region), -1).any(
        axis=1
    )
    if not use.any():
        raise ValueError("no face has both an occluded and a free region; is this the masked set?")
    m, r = maps[use], region[use]
    inside, outside = float(m[r].mean()), float(m[~r].mean())
    return {
        "inside": inside,
        "outside": outside,
        "difference": inside - outside,
        "ratio": inside / outside if outside > 0 else float("inf"),
        "faces": int(use.sum()),
    }


def resize_masks(region: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Boolean masks (N, H, W) resized to ``hw`` (nearest neighbour)."""
    import cv2

    region = np.asarray(region, dtype=np.uint8)
    if region.shape[1:] == tuple(hw):
        return region.astype(bool)
    return np.stack(
        [cv2.resize(r, hw[::-1], interpolation=cv2.INTER_NEAREST) for r in region]
    ).astype(bool)


def per_class_accuracy(results: dict, class_names) -> pd.DataFrame:
    """Hayashi's Table 3: per-class accuracy (recall, %) and total accuracy (%) per model.

    ``results`` maps model name → :class:`~maskfer_lib.evaluate.EvalResult`.
    """
    rows = {}
    for name, r in results.items():
        rows[name] = {c: 100 * float(r.report.loc[c, "recall"]) for c in class_names}
        rows[name]["Total(%)"] = 100 * r.accuracy
    return pd.DataFrame.from_dict(rows, orient="index")


def class_mean_maps(maps: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, H, W): the mean map of each class (NaN maps for classes without faces)."""
    maps = np.asarray(maps, dtype=np.float32)
    out = np.full((n_classes, *maps.shape[1:]), np.nan, dtype=np.float32)
    for k in range(n_classes):
        sel = np.asarray(labels) == k
        if sel.any():
            out[k] = maps[sel].mean(axis=0)
    return out


def overlay_grid(rows: dict, col_titles, cell: float = 1.5, suptitle: str | None = None):
    """A grid of faces with their maps overlaid (``explain.overlay``, jet colours).

    Args:
        rows: row label → ``(images, maps)``; images (K, H, W, C) uint8 or float in [0, 1],
            maps (K, H, W) in [0, 1]; one column per entry.
        col_titles: one title per column (e.g. the class names).
    """
    import matplotlib.pyplot as plt

    from maskfer_lib.explain import overlay

    ncols = len(col_titles)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(cell * ncols + 1.2, cell * len(rows) + 0.4),
                             squeeze=False)  # fmt: skip
    for r, (label, (images, maps)) in enumerate(rows.items()):
        for c in range(ncols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            img = np.asarray(images[c])
            if img.dtype != np.uint8:
                img = (np.clip(img, 0, 1) * 255).round().astype(np.uint8)
            if img.shape[-1] == 1:
                img = np.repeat(img, 3, axis=-1)
            ax.imshow(overlay(img, maps[c]))
            if r == 0:
                ax.set_title(str(col_titles[c]), fontsize=9)
            if c == 0:
                ax.set_ylabel(label, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
