"""Build a masked copy of an ImageFolder tree (``src/split/class/*.png|jpg``).

The source is only read. The destination gets the same tree with masked images (failures
are left out), ``manifest.csv`` (one row per source file: source, method, mask_type,
colour, success, reason), ``qc_report.csv`` (count of successes and of each failure reason)
and ``qc_failures.png`` (a grid of failed images, when any failed).
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from maskfer_lib.landmarks import estimate_landmarks
from maskfer_lib.masking.base import FAILURE_REASONS, SUCCESS, UNREADABLE_IMAGE
from maskfer_lib.masking.core import get_method, mask_face
from maskfer_lib.masking.dataset import MAX_FAILURE_EXAMPLES, QCReport, _rng

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def list_images(src: str | Path) -> list[Path]:
    """Image files under ``src`` (any depth), sorted; clear errors for missing/empty folders."""
    src = Path(src)
    if not src.exists():
        raise FileNotFoundError(
            f"source folder {src} does not exist; pass an ImageFolder root "
            "(src/split/class/*.png or src/class/*.png)"
        )
    if not src.is_dir():
        raise NotADirectoryError(f"{src} is a file; pass the ImageFolder root folder")
    files = sorted(
        p for p in src.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
    )
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {src}")
    return files


def read_image(path: Path) -> np.ndarray | None:
    """RGB (H, W, 3) or gray (H, W, 1) uint8, or None when the file cannot be decoded."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        return None
    if img.dtype != np.uint8:
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(float(img.max()), 1.0))
    if img.ndim == 2:
        return img[..., None]
    if img.shape[-1] == 4:
        img = img[..., :3]
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def write_image(path: Path, image: np.ndarray) -> None:
    """Write RGB or gray uint8 to ``path`` (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = image[..., 0] if image.shape[-1] == 1 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), out):
        raise OSError(f"could not write {path}")


def build_masked_folder(
    src: str | Path,
    dst: str | Path,
    method: str = "hayashi",
    seed: int = 0,
    limit: int | None = None,
    overwrite: bool = False,
    landmark_mode: bool | None = None,
    progress: bool | None = None,
    **opts,
) -> QCReport:
    """Mask every image of ImageFolder ``src`` into ``dst``; return the QC report.

    ``limit`` masks a seeded random sample of that many files. ``dst`` must not be inside
    ``src`` (the source is never modified) and must be empty unless ``overwrite``.
    ``landmark_mode``: None = detect, falling back to the whole image for small crops;
    True = whole image is the face (tight crops); False = detection only.
    """
    get_method(method)
    src, dst = Path(src).resolve(), Path(dst).resolve()
    files = list_images(src)
    if dst == src or src in dst.parents:
        raise ValueError(
            f"destination {dst} lies inside the source {src}; choose a folder "
            "outside it (the source is never modified)"
        )
    if dst.exists() and any(dst.iterdir()) and not overwrite:
        raise FileExistsError(f"destination {dst} is not empty; pass overwrite=True (--overwrite)")
    if limit is not None and limit < len(files):
        pick = np.sort(np.random.default_rng(seed).choice(len(files), size=limit, replace=False))
        files = [files[i] for i in pick]
    if method == "hayashi" and "offset" not in opts:
        opts["offset"] = int(np.random.default_rng(seed).integers(3))
    rows, failures = [], []
    import time

    t_lm = t_mask = 0.0
    show = progress if progress is not None else len(files) >= 200
    for i, path in enumerate(tqdm(files, desc=f"masking {src.name} ({method})", disable=not show)):
        rel = path.relative_to(src)
        image = read_image(path)
        row = {"source": str(rel), "method": method, "mask_type": "", "colour": ""}
        if image is None:
            log.warning("unreadable image skipped: %s", path)
            rows.append({**row, "success": False, "reason": UNREADABLE_IMAGE})
            continue
        t0 = time.perf_counter()
        lm = estimate_landmarks(image, crop=landmark_mode)
        t1 = time.perf_counter()
        r = mask_face(image, lm, method, _rng(seed, i), index=i, **opts)
        t_mask += time.perf_counter() - t1
        t_lm += t1 - t0
        rows.append(
            {
                **row,
                "mask_type": r.mask_type,
                "colour": r.colour,
                "success": r.success,
                "reason": r.reason,
            }
        )
        if r.success:
            write_image(dst / rel.with_suffix(".png"), r.image)
        else:
            log.info("%s not masked: %s", path, r.reason)
            if len(failures) < MAX_FAILURE_EXAMPLES:
                failures.append((str(rel), image, r.reason))
    dst.mkdir(parents=True, exist_ok=True)
    manifest = pd.DataFrame(
        rows, columns=["source", "method", "mask_type", "colour", "success", "reason"]
    )
    manifest.to_csv(dst / "manifest.csv", index=False)
    report = QCReport(method, manifest.assign(index=range(len(manifest))), failures, t_lm, t_mask)
    counts = report.counts()
    pd.DataFrame({"reason": list(counts), "count": list(counts.values())}).to_csv(
        dst / "qc_report.csv", index=False
    )
    fig = report.failure_grid(title=f"{src.name} → {method}: failed images")
    if fig is not None:
        import matplotlib.pyplot as plt

        fig.savefig(dst / "qc_failures.png")
        plt.close(fig)
    return report


__all__ = [
    "build_masked_folder",
    "list_images",
    "read_image",
    "write_image",
    "FAILURE_REASONS",
    "SUCCESS",
]
