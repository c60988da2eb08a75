"""Figures of SynthFACS: a class x identity/pose grid, and the same with landmarks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from maskfer_lib.records import FaceDataset
from maskfer_lib.synth.shape import REGIONS

REGION_COLOURS = {
    "jaw": "#e6194b",
    "brows": "#f58231",
    "nose": "#ffe119",
    "eyes": "#3cb44b",
    "mouth": "#42d4f4",
}


def _pick(ds: FaceDataset, per_class: int, seed: int) -> list[list[int]]:
    """Per class, up to ``per_class`` faces of different identities, spread over yaw bins."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(ds.num_classes):
        idx = np.flatnonzero(ds.labels == c)
        idx = idx[rng.permutation(len(idx))]
        chosen, seen = [], set()
        for i in idx:
            ident = None if ds.identity is None else int(ds.identity[i])
            if ident in seen:
                continue
            seen.add(ident)
            chosen.append(int(i))
            if len(chosen) == per_class:
                break
        if ds.pose is not None:
            chosen.sort(key=lambda i: ds.pose[i, 0])
        rows.append(chosen)
    return rows


def _grid(ds, rows, per_class, cell, landmarks: bool):
    n_rows = len(rows)
    fig, axes = plt.subplots(
        n_rows, per_class, figsize=(cell * per_class, cell * n_rows + 0.2), squeeze=False
    )
    for r, chosen in enumerate(rows):
        for c in range(per_class):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            for sp in ax.spines.values():
                sp.set_visible(False)
            if c >= len(chosen):
                continue
            i = chosen[c]
            img = ds.images[i]
            if img.shape[-1] == 1:
                ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=255)
            else:
                ax.imshow(img)
            if landmarks and ds.landmarks is not None:
                for region, idx in REGIONS.items():
                    p = ds.landmarks[i, idx]
                    ax.scatter(p[:, 0], p[:, 1], s=3, c=REGION_COLOURS[region], linewidths=0)
            if ds.pose is not None:
                ax.set_title(f"yaw {ds.pose[i, 0]:+.0f}°", fontsize=7, pad=2)
            if c == 0:
                ax.set_ylabel(ds.class_names[r], fontsize=9)
    if landmarks:
        handles = [
            plt.Line2D([], [], marker="o", ls="", color=col, label=name)
            for name, col in REGION_COLOURS.items()
        ]
        fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.03 if landmarks else 0, 1, 1))
    return fig


def class_grid(ds: FaceDataset, per_class: int = 6, cell: float = 1.3, seed: int = 0):
    """Every class (rows) x ``per_class`` different identities, sorted by yaw. Returns the figure."""
    return _grid(ds, _pick(ds, per_class, seed), per_class, cell, landmarks=False)


def landmark_grid(ds: FaceDataset, per_class: int = 6, cell: float = 1.3, seed: int = 0):
    """The same faces as :func:`class_grid` with the 68 landmarks overlaid, coloured by region."""
    return _grid(ds, _pick(ds, per_class, seed), per_class, cell, landmarks=True)
