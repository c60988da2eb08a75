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

from maskfer_lib.explain import overlay
from maskfer_lib.plots import add_heat_colorbar


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


def eye_region(
    landmarks: np.ndarray, image_hw: tuple[int, int], hw: tuple[int, int], pad: float = 3.0
):
    """(N, *hw) bool: the box around both eyes and brows' lower edge (iBUG points 37–48,
    0-based 36–47, padded by ``pad`` source pixels), from (N, 68, 2) landmarks of faces of
    size ``image_hw``, scaled to ``hw`` — the region Hayashi's Fig. 6 shows the MCN attending."""
    sy, sx = hw[0] / image_hw[0], hw[1] / image_hw[1]
    out = np.zeros((len(landmarks), *hw), bool)
    for i, pts in enumerate(np.asarray(landmarks, float)):
        eyes = pts[36:48]
        x0, y0 = (eyes.min(axis=0) - pad) * (sx, sy)
        x1, y1 = (eyes.max(axis=0) + pad) * (sx, sy)
        out[i, max(0, int(y0)) : int(np.ceil(y1)) + 1, max(0, int(x0)) : int(np.ceil(x1)) + 1] = (
            True
        )
    return out


def map_diagnostics(attention_fn, x_masked, x_unmasked, occlusion, eyes) -> pd.DataFrame:
    """What an attention map follows, in numbers: per condition the mean map inside and
    outside the mask region and on the eye region, the spread of the map across faces, and
    the correlation of the mean map with the map of a uniform grey input (near 1: the
    pattern comes from the network, e.g. its padding, not from the face).

    ``attention_fn``: tensor NCHW → (N, 1, h, w); ``x_*``: (N, H, W, C) in [0, 1];
    ``occlusion``, ``eyes``: (N, H, W) bool for the masked faces (the twins share them).
    """
    import torch

    h, w, c = np.shape(x_masked)[1:]
    with torch.no_grad():
        blank = attention_fn(torch.full((1, c, h, w), 0.5))
        blank = torch.nn.functional.interpolate(blank, size=(h, w), mode="bilinear").numpy()[0, 0]
    rows = []
    for cond, x in (("masked", x_masked), ("unmasked", x_unmasked)):
        maps = map_stack(attention_fn, x)
        mean_map = maps.mean(axis=0)
        rows.append(
            {
                "faces": cond,
                "inside_mask": float(maps[occlusion].mean()),
                "outside_mask": float(maps[~occlusion].mean()),
                "eye_region": float(maps[eyes].mean()),
                "whole_face": float(maps.mean()),
                "std_across_faces": float(maps.std(axis=0).mean()),
                "corr_with_grey_input_map": float(
                    np.corrcoef(blank.ravel(), mean_map.ravel())[0, 1]
                ),
            }
        )
    return pd.DataFrame(rows)


def map_findings(diag: pd.DataFrame, positional: float = 0.8) -> list[str]:
    """Sentences read off :func:`map_diagnostics`' table, so the notebook's reading of the
    maps holds on whatever data it ran: whether masks raise the map, whether the eye region
    stands out, and whether the pattern is the network's own (correlation with the grey
    image's map above ``positional``)."""
    d = diag.set_index("faces")
    m, u = d.loc["masked"], d.loc["unmasked"]
    out = [
        f"Masked faces raise the whole map from {u.whole_face:.2f} to {m.whole_face:.2f}"
        if m.whole_face > u.whole_face
        else f"Masks do not raise the map ({m.whole_face:.2f} masked vs {u.whole_face:.2f} unmasked)",
        f"On masked faces the eye region ({m.eye_region:.2f}) is "
        + ("above" if m.eye_region > m.whole_face else "not above")
        + f" the face's mean ({m.whole_face:.2f}), "
        + (
            "as Hayashi's Fig. 6 shows."
            if m.eye_region > m.whole_face
            else "unlike Hayashi's Fig. 6."
        ),
    ]
    for name, r in (("masked", m), ("unmasked", u)):
        corr = float(r.corr_with_grey_input_map)
        out.append(
            f"On {name} faces the spatial pattern is mostly the network's own: a grey image "
            f"gives a map correlated {corr:.2f} with the mean map."
            if corr > positional
            else f"On {name} faces the pattern follows the face (correlation with a grey "
            f"image's map {corr:.2f})."
        )
    return out


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
    add_heat_colorbar(fig, axes)
    return fig
