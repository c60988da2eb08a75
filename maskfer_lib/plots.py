"""Figure writers with one consistent style: every figure saved as PNG and PDF."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from maskfer_lib.protocol import CELLS

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
    # Titles need their own height per row, or they overlap the row above.
    title_h = 0.3 if titles is not None else 0.0
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(cell * ncols, (cell + title_h) * nrows + 0.3), squeeze=False
    )
    for ax in axes.ravel():
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes[i // ncols][i % ncols]
        img = np.asarray(img)
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        ax.imshow(
            img,
            cmap="gray" if img.ndim == 2 else None,
            vmin=0 if img.ndim == 2 else None,
            vmax=255 if img.ndim == 2 and img.dtype == np.uint8 else None,
        )
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    if row_labels is not None:
        for r, label in enumerate(row_labels[:nrows]):
            axes[r][0].text(
                -0.08,
                0.5,
                str(label),
                transform=axes[r][0].transAxes,
                ha="right",
                va="center",
                fontsize=9,
            )
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def draw_baselines(ax, majority: float | None = None, chance: float | None = None, scale=1.0):
    """Horizontal majority-class and chance lines on an accuracy axis (``scale`` 100 for %)."""
    if majority is not None:
        ax.axhline(scale * majority, color="tab:red", ls="--", lw=1, label="majority class")
    if chance is not None:
        ax.axhline(scale * chance, color="gray", ls=":", lw=1, label="chance")


def plot_history(history, title: str | None = None, majority=None, chance=None):
    """Training curves from a ``train.fit`` history: loss and accuracy, train vs validation.

    Two panels (loss, accuracy) sharing the epoch axis; validation curves are drawn only
    where the history has them; ``majority`` and ``chance`` (fractions, e.g. of the
    validation split) are drawn as lines on the accuracy panel. Returns the figure.
    """
    import pandas as pd

    h = pd.DataFrame(history)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    epochs = h["epoch"] if "epoch" in h else np.arange(1, len(h) + 1)
    marker = "o" if len(h) <= 30 else None
    for ax, metric, label in zip(axes, ("loss", "accuracy"), ("loss", "accuracy"), strict=True):
        ax.plot(epochs, h[metric], marker=marker, ms=3, label="train")
        val = f"val_{metric}"
        if val in h and h[val].notna().any():
            ax.plot(epochs, h[val], marker=marker, ms=3, label="validation")
        if metric == "accuracy":
            draw_baselines(ax, majority, chance)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8)
    axes[1].set_ylim(0, 1.0)
    axes[0].set_title("loss (cross-entropy)")
    axes[1].set_title("accuracy")
    if len(h) and float(h["epoch"].max() if "epoch" in h else len(h)) <= 20:
        for ax in axes:
            ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _confusion_on_ax(
    ax, cm, class_names, normalize: bool, title: str | None, cbar: bool = True, vmax=None
):
    import seaborn as sns

    cm = np.asarray(cm, dtype=float)
    if normalize:
        rows = cm.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            shown = np.where(rows > 0, cm / np.where(rows == 0, 1, rows), np.nan)
        annot = np.array([["" if np.isnan(v) else f"{100 * v:.0f}%" for v in r] for r in shown])
        vmax = 1.0
    else:
        shown = cm
        annot = np.array([[f"{int(v)}" for v in r] for r in shown])
        vmax = vmax or max(1.0, float(np.nanmax(shown)))
    k = len(class_names)
    sns.heatmap(
        shown,
        ax=ax,
        annot=annot,
        fmt="",
        cmap="Blues",
        vmin=0,
        vmax=vmax,
        square=True,
        cbar=cbar,
        linewidths=0.5,
        linecolor="white",
        xticklabels=class_names,
        yticklabels=class_names,
        annot_kws={"fontsize": 9 if k <= 7 else 7},
        cbar_kws={"shrink": 0.8, "label": "row %" if normalize else "count"} if cbar else None,
    )
    if normalize and cbar:
        ax.collections[0].colorbar.set_ticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.collections[0].colorbar.set_ticklabels(["0", "25", "50", "75", "100"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.tick_params(axis="x", rotation=45)
    ax.tick_params(axis="y", rotation=0)
    for t in ax.get_xticklabels():
        t.set_ha("right")
    if title:
        # Wrapped to the matrix's width: a longer title runs over the colour bar's labels.
        title = textwrap.fill(title, width=8 + 6 * k, break_long_words=False)
        ax.set_title(title, pad=14)  # clear of the colour bar's top label
    return ax


def plot_confusion(cm, class_names, normalize: bool = False, title: str | None = None, ax=None):
    """Confusion matrix heatmap (rows = true class, columns = predicted).

    ``normalize=True`` divides each row by its total and annotates percentages (recall on
    the diagonal); otherwise raw counts are annotated. Returns the figure.
    """
    k = len(class_names)
    if ax is None:
        size = 1.6 + 0.62 * k
        fig, ax = plt.subplots(figsize=(size + 1.0, size))
    else:
        fig = ax.figure
    _confusion_on_ax(ax, cm, list(class_names), normalize, title)
    fig.tight_layout()
    return fig


def plot_confusion_pair(
    cm_a,
    cm_b,
    class_names,
    titles=("masked", "unmasked"),
    normalize: bool = True,
    suptitle: str | None = None,
):
    """Two confusion matrices side by side (e.g. masked vs unmasked test faces).

    Both panels share one colour scale; normalised (row %) by default so sets of different
    sizes compare. Returns the figure.
    """
    k = len(class_names)
    size = 1.6 + 0.62 * k
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1.2, size))
    vmax = None if normalize else max(1.0, float(np.max(cm_a)), float(np.max(cm_b)))
    _confusion_on_ax(axes[0], cm_a, list(class_names), normalize, titles[0], cbar=False, vmax=vmax)
    _confusion_on_ax(axes[1], cm_b, list(class_names), normalize, titles[1], cbar=True, vmax=vmax)
    axes[1].set_ylabel("")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_time_to_accuracy(histories: dict, title: str | None = None, majority=None, chance=None):
    """Validation accuracy against cumulative training minutes, one line per run.

    ``histories`` maps a run name to its ``train.fit`` history (``seconds`` and
    ``val_accuracy`` columns). A line ends at its run's last epoch; the best epoch is marked.
    ``majority``/``chance`` (fractions) are drawn as horizontal lines.
    """
    import pandas as pd

    fig, ax = plt.subplots(figsize=(8, 4.6))
    for name, h in histories.items():
        h = pd.DataFrame(h)
        if h.empty or h["val_accuracy"].isna().all():
            continue
        minutes = h["seconds"].cumsum() / 60
        (line,) = ax.plot(minutes, 100 * h["val_accuracy"], marker="o", ms=2.5, lw=1.2,
                          label=name)  # fmt: skip
        best = int(h["val_accuracy"].to_numpy().argmax())
        ax.plot(minutes.iloc[best], 100 * h["val_accuracy"].iloc[best], "*", ms=9,
                color=line.get_color())  # fmt: skip
    draw_baselines(ax, majority, chance, scale=100)
    ax.set_xlim(left=0)
    ax.set_xlabel("cumulative training time (minutes; ★ = best epoch)")
    ax.set_ylabel("validation accuracy (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(frameon=False, fontsize=8, ncol=2, loc="best")
    if title:
        ax.set_title(title, pad=14)  # the confusion matrices' title spacing (no colour bar here)
    fig.tight_layout()
    return fig


def plot_two_by_two(cells, majority=None, chance=None, title: str | None = None):
    """Grouped bars, one group per model, one bar per 2×2 cell (U→U, U→M, M→M, M→U) with
    its 95 % interval; ``cells`` is ``protocol.two_by_two``'s table. Missing cells (a peer has
    no masked training) are left out; majority and chance are drawn as lines."""
    colours = {"U→U": "tab:blue", "U→M": "tab:cyan", "M→M": "tab:red", "M→U": "tab:orange"}
    n = len(cells)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * n + 2), 4.2))
    width = 0.8 / len(CELLS)
    x = np.arange(n)
    for k, c in enumerate(CELLS):
        acc = 100 * cells[c].to_numpy(float)
        err = 100 * np.abs(np.stack([cells[c] - cells[f"{c} lo"], cells[f"{c} hi"] - cells[c]]))
        ax.bar(x + (k - 1.5) * width, acc, width, yerr=np.nan_to_num(err), capsize=2,
               color=colours[c], label=c)  # fmt: skip
    draw_baselines(ax, majority, chance, scale=100)
    ax.set_xticks(x, cells["model"], rotation=20, ha="right")
    ax.set_ylabel("test accuracy (%), 95 % interval")
    ax.set_ylim(0, 100)
    ax.legend(title="train→test", ncol=3, frameon=False, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title, pad=14)  # the confusion matrices' title spacing (no colour bar here)
    fig.tight_layout()
    return fig


def add_heat_colorbar(fig, axes, label: str = "map value (red = high)"):
    """One colour bar beside ``axes`` for maps drawn with ``explain.overlay`` (jet, [0, 1]),
    so a reader can tell a strong map from a weak one."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    bar = fig.colorbar(
        ScalarMappable(Normalize(0, 1), "jet"), ax=np.asarray(axes).ravel().tolist(),
        fraction=0.025, pad=0.02,
    )  # fmt: skip
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return bar
