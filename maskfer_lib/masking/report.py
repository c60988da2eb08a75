"""Figures and tables for notebook 01: method grids, mask-type grids, real-photo runs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from maskfer_lib.landmarks import detect_landmarks
from maskfer_lib.masking import celik, hayashi, templates
from maskfer_lib.masking.core import mask_face, mask_faces
from maskfer_lib.masking.dataset import mask_dataset
from maskfer_lib.masking.folder import list_images, read_image
from maskfer_lib.plots import image_grid
from maskfer_lib.records import FaceDataset

METHODS = ("celik", "awfm", "hayashi", "template")


def load_folder_sample(root: str | Path, n: int = 300, seed: int = 0) -> FaceDataset:
    """A seeded sample of ``n`` same-sized images from an ImageFolder (class = parent folder),
    e.g. FER2013's ``validation/<class>/*.jpg``. Unreadable files raise with their name."""
    files = list_images(root)
    rng = np.random.default_rng(seed)
    files = [
        files[i] for i in np.sort(rng.choice(len(files), size=min(n, len(files)), replace=False))
    ]
    classes = sorted({f.parent.name for f in files})
    images = []
    for f in files:
        img = read_image(f)
        if img is None:
            raise ValueError(f"cannot decode image {f}")
        images.append(img)
    shapes = {i.shape for i in images}
    if len(shapes) != 1:
        raise ValueError(f"images under {root} differ in size {sorted(shapes)[:3]}; resize first")
    return FaceDataset(
        np.stack(images),
        [classes.index(f.parent.name) for f in files],
        classes,
        paths=[str(f) for f in files],
    )


def method_grid(
    ds: FaceDataset, methods=METHODS, n: int = 8, seed: int = 0, occlusion: bool = True
):
    """Rows: the original faces, then each method's masked faces (and its occlusion region)."""
    idx = np.linspace(0, len(ds) - 1, min(n, len(ds))).astype(int)
    sub = ds.subset(idx)
    images, labels = list(sub.images), ["original"]
    for m in methods:
        out, rep = mask_dataset(sub, m, seed=seed, progress=False)
        masked = dict(zip(out.meta["source_index"].tolist(), range(len(out)), strict=True))
        row = [
            out.images[masked[i]] if i in masked else sub.images[i] // 3 for i in range(len(sub))
        ]
        images += row
        labels.append(m)
        if occlusion:
            occ = [
                out.occlusion[masked[i]].astype(np.uint8) * 255
                if i in masked
                else np.zeros(sub.images.shape[1:3], np.uint8)
                for i in range(len(sub))
            ]
            images += occ
            labels.append(f"{m}\nocclusion")
    return image_grid(images, ncols=len(sub), row_labels=labels, cell=1.3)


def variant_grid(image: np.ndarray, landmarks: np.ndarray, seed: int = 0):
    """One face under every mask type (rows) and colour (columns)."""
    rows = [("celik", "celik", [{"colour": c} for c in celik.COLOURS])]
    rows.append(("awfm", "awfm", [{"colour": c} for c in ("white", "surgical_blue", "black")]))
    rows.append(("hayashi", "hayashi", [{"colour": c} for c in hayashi.COLOURS]))
    for t, (_, kind, colours) in templates.TEMPLATES.items():
        if isinstance(kind, tuple):
            opts = [
                {"mask_type": t, "pattern": k, "colour": colours[j % len(colours)]}
                for j, k in enumerate(kind)
            ]
        else:
            opts = [{"mask_type": t, "colour": c} for c in colours[:3]]
        rows.append((f"template\n{t}", "template", opts))
    ncols = max(len(r[2]) for r in rows)
    images, titles = [], []
    for _, method, opts in rows:
        for j in range(ncols):
            if j < len(opts):
                r = mask_face(image, landmarks, method, np.random.default_rng([seed, j]), **opts[j])
                images.append(r.image)
                titles.append(r.colour if r.success else r.reason)
            else:
                images.append(np.full_like(image, 255))
                titles.append("")
    return image_grid(images, titles=titles, ncols=ncols, row_labels=[r[0] for r in rows], cell=1.5)


def photo_masking(paths, methods=METHODS, seed: int = 0, upsample: int = 1):
    """Mask every detected face in full photos (e.g. dlib_faces) with each method.

    Returns (table, examples): per method the photos, faces detected, faces masked, the
    face-level success rate and reasons; ``examples[method]`` holds the masked photos.
    """
    photos = []
    for p in paths:
        img = read_image(Path(p))
        if img is None:
            raise ValueError(f"cannot decode image {p}")
        photos.append((Path(p).name, img, [lm for _, lm in detect_landmarks(img, upsample)]))
    rows, examples = [], {}
    for m in methods:
        faces = masked = 0
        reasons: dict[str, int] = {}
        examples[m] = []
        t0 = time.perf_counter()
        for k, (_, img, lms) in enumerate(photos):
            r = mask_faces(img, lms, m, np.random.default_rng([seed, k]))
            faces += r.extra.get("faces", 0)
            masked += r.extra.get("masked_faces", 0)
            for reason in r.extra.get("reasons", [r.reason]):
                reasons[reason] = reasons.get(reason, 0) + 1
            examples[m].append(r.image)
        secs = time.perf_counter() - t0
        rows.append(
            {
                "method": m,
                "photos": len(photos),
                "faces_detected": faces,
                "faces_masked": masked,
                "face_success_rate": masked / faces if faces else float("nan"),
                "faces_per_s": faces / secs if secs else float("nan"),
                "reasons": ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items())),
            }
        )
    return pd.DataFrame(rows), examples
