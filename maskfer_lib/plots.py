"""Figure writers with one consistent style: every figure saved as PNG and PDF."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def use_style() -> None:
    """Apply the compendium's matplotlib style (call once per notebook)."""
    plt.rcParams.update(STYLE)


def save_figure(fig, out_dir: str | Path, name: str, close: bool = False) -> list[Path]:
    """Write ``fig`` as ``out_dir/name.png`` and ``out_dir/name.pdf``; return both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    for p in paths:
        fig.savefig(p)
    if close:
        plt.close(fig)
    return paths


def image_grid(
    images,
    titles=None,
    ncols: int = 8,
    cell: float = 1.4,
    suptitle: str | None = None,
    row_labels=None,
):
    """A grid of images (N, H, W[, C]) with optional per-image titles and row labels.

    Grayscale (C=1 or 2-D) images are shown with a gray colormap. Returns the figure.
    """
    images = list(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + 0.3), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes[i // ncols][i % ncols]
        img = np.asarray(img)
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0 if img.ndim == 2 else None,
                  vmax=255 if img.ndim == 2 and img.dtype == np.uint8 else None)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    if row_labels is not None:
        for r, label in enumerate(row_labels[:nrows]):
            axes[r][0].text(-0.08, 0.5, str(label), transform=axes[r][0].transAxes,
                            ha="right", va="center", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
