"""Mask a whole FaceDataset, with a QC report, and build Hayashi's masked/unmasked set."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from maskfer_lib.cache import cached_call, code_version
from maskfer_lib.landmarks import estimate_landmarks
from maskfer_lib.masking.base import FAILURE_REASONS, FOLDER_REASONS, SUCCESS
from maskfer_lib.masking.core import get_method, mask_face
from maskfer_lib.records import FaceDataset, concat

MAX_FAILURE_EXAMPLES = 32


@dataclass
class QCReport:
    """What happened to every face of one masking run.

    ``records`` has one row per input face: index, source, method, mask_type, colour, success,
    reason. ``failures`` keeps up to 32 (index, image, reason) examples for a grid.
    ``seconds_landmarks`` / ``seconds_masking`` split the time between dlib and drawing.
    """

    method: str
    records: pd.DataFrame
    failures: list = field(default_factory=list)
    seconds_landmarks: float = 0.0
    seconds_masking: float = 0.0

    @property
    def n_total(self) -> int:
        """Faces attempted."""
        return len(self.records)

    @property
    def n_success(self) -> int:
        """Faces masked."""
        return int(self.records["success"].sum()) if len(self.records) else 0

    @property
    def success_rate(self) -> float:
        """Share of faces masked (NaN for an empty run)."""
        return self.n_success / self.n_total if self.n_total else float("nan")

    def counts(self) -> dict[str, int]:
        """Successes and each failure reason (all of ``FAILURE_REASONS`` listed, zeros
        included), then any other reason the records hold (the folder builder's file-level
        ones such as ``truncated_image``), so no row goes uncounted."""
        vc = self.records["reason"].value_counts() if len(self.records) else pd.Series(dtype=int)
        keys = [SUCCESS, *FAILURE_REASONS]
        keys += [r for r in FOLDER_REASONS if r in vc.index]
        keys += sorted(str(r) for r in vc.index if r not in keys)
        return {r: int(vc.get(r, 0)) for r in keys}

    def to_frame(self) -> pd.DataFrame:
        """One-row table: method, total, success rate and a column per reason."""
        row = {"method": self.method, "total": self.n_total, "success_rate": self.success_rate}
        row.update(self.counts())
        n = max(self.n_success, 1)
        row["images_per_s"] = n / self.seconds_masking if self.seconds_masking else float("nan")
        return pd.DataFrame([row])

    def failure_grid(self, ncols: int = 8, title: str | None = None):
        """A figure of failed images titled with their reasons (None when nothing failed)."""
        if not self.failures:
            return None
        # matplotlib (plots): only this QC figure needs it, not the masking package or its CLI.
        from maskfer_lib.plots import image_grid

        return image_grid(
            [f[1] for f in self.failures],
            titles=[f"#{f[0]}\n{f[2]}" for f in self.failures],
            ncols=ncols,
            suptitle=title or f"{self.method}: failed faces",
        )


def _rng(seed: int, index: int) -> np.random.Generator:
    # Per-face generator: a face's mask does not depend on which other faces are processed.
    return np.random.default_rng([seed, index])


CACHE_MIN_FACES = 500
"""Datasets this large are masked / landmarked through :mod:`maskfer_lib.cache`; smaller ones
(tests, figure samples) recompute, which is cheaper than hashing and writing them."""


def mask_dataset(
    ds: FaceDataset,
    method: str = "hayashi",
    seed: int = 0,
    progress: bool | None = None,
    landmark_mode: bool | None = None,
    **opts,
) -> tuple[FaceDataset, QCReport]:
    """Mask every face of ``ds``; return the masked faces and the QC report.

    Results for datasets of at least :data:`CACHE_MIN_FACES` faces are cached on disk (keyed
    on method, seed, options, the input faces and the masking code; see :mod:`maskfer_lib.cache`),
    so a second call with the same arguments loads instead of recomputing.

    Landmarks come from ``ds.landmarks`` when present (SynthFACS ground truth), otherwise dlib
    runs (``landmark_mode`` is passed as ``crop`` to ``landmarks.estimate_landmarks``).
    Faces that cannot be masked are left out of the output and counted, by reason, in the
    report. The output has ``masked`` all True, ``occlusion`` (N, H, W) and meta
    ``source_index``, ``mask_type``, ``mask_colour``; the source is never modified.
    Deterministic for a given ``seed``.
    """
    get_method(method)  # fail fast on a bad name, before any cache lookup
    landmark_s = 0.0
    if ds.landmarks is None and len(ds) >= CACHE_MIN_FACES:
        # One cached dlib pass per dataset, shared by every masking method and notebook
        # (the slow part: ~200 faces/s against ~1,000 faces/s for drawing a mask). Its
        # seconds, as measured when it ran, are reported with each method that uses it.
        ds = attach_landmarks(ds, crop=landmark_mode, progress=progress)
        landmark_s = float(ds.meta.get("landmark_seconds", 0.0))
    params = {"method": method, "seed": seed, "landmark_mode": landmark_mode, **opts}
    out, report = cached_call(
        "mask",
        params,
        ds,
        lambda: _mask_dataset(ds, method, seed, progress, landmark_mode, **opts),
        version=code_version("maskfer_lib.masking", "maskfer_lib.landmarks", "maskfer_lib.detect"),
        min_size=CACHE_MIN_FACES,
        codec=QC_CODEC,
    )
    report.seconds_landmarks += landmark_s
    return out, report


def _mask_dataset(ds, method, seed, progress, landmark_mode, **opts):
    # The uncached work of mask_dataset (same arguments).
    n = len(ds)
    show = progress if progress is not None else n >= 200
    if method == "hayashi" and "offset" not in opts:
        opts["offset"] = int(np.random.default_rng(seed).integers(3))
    images, occs, keep, lms, rows, failures = [], [], [], [], [], []
    t_lm = t_mask = 0.0
    for i in tqdm(range(n), desc=f"masking ({method})", disable=not show):
        image = ds.images[i]
        t0 = time.perf_counter()
        if ds.landmarks is not None:
            lm = ds.landmarks[i]
            lm = None if np.isnan(lm).all() else lm  # NaN rows: attach_landmarks found no face
        else:
            lm = estimate_landmarks(image, crop=landmark_mode)
        t1 = time.perf_counter()
        r = mask_face(image, lm, method, _rng(seed, i), index=i, **opts)
        t_mask += time.perf_counter() - t1
        t_lm += t1 - t0
        rows.append(
            {
                "index": i,
                "source": ds.paths[i] if ds.paths else "",
                "method": method,
                "mask_type": r.mask_type,
                "colour": r.colour,
                "success": r.success,
                "reason": r.reason,
            }
        )
        if r.success:
            keep.append(i)
            images.append(r.image)
            occs.append(r.occlusion)
            lms.append(r.landmarks)
        elif len(failures) < MAX_FAILURE_EXAMPLES:
            failures.append((i, image, r.reason))
    records = pd.DataFrame(
        rows, columns=["index", "source", "method", "mask_type", "colour", "success", "reason"]
    )
    report = QCReport(method, records, failures, t_lm, t_mask)
    out = ds.subset(np.asarray(keep, dtype=np.int64))
    ok = records[records["success"]]
    h, w = ds.images.shape[1:3]
    out = replace(
        out,
        images=np.stack(images) if images else ds.images[:0].copy(),
        masked=np.ones(len(keep), dtype=bool),
        occlusion=np.stack(occs) if occs else np.zeros((0, h, w), dtype=bool),
        landmarks=np.stack(lms).astype(np.float32) if lms else out.landmarks,
        meta={
            **out.meta,
            "source_index": np.asarray(keep, dtype=np.int64),
            "mask_type": ok["mask_type"].to_numpy(dtype=object),
            "mask_colour": ok["colour"].to_numpy(dtype=object),
            "mask_method": method,
        },
    )
    return out, report


def _encode_report(report: QCReport):
    # The cache's (header, arrays, table) form of a QC report; see maskfer_lib.cache.
    header = {
        "method": report.method,
        "seconds_landmarks": float(report.seconds_landmarks),
        "seconds_masking": float(report.seconds_masking),
        "failure_reasons": [str(f[2]) for f in report.failures],
    }
    arrays = {}
    if report.failures:
        arrays["failure_index"] = np.array([int(f[0]) for f in report.failures])
        arrays["failure_images"] = np.stack([np.asarray(f[1]) for f in report.failures])
    return header, arrays, report.records


def _decode_report(header: dict, arrays: dict, csv_path) -> QCReport:
    records = pd.read_csv(csv_path, keep_default_na=False, dtype={"source": str})
    records["success"] = records["success"].astype(bool)
    idx = arrays.get("failure_index", np.zeros(0, int))
    imgs = arrays.get("failure_images", [])
    failures = [
        (int(i), img, r) for i, img, r in zip(idx, imgs, header["failure_reasons"], strict=True)
    ]
    return QCReport(
        header["method"], records, failures, header["seconds_landmarks"], header["seconds_masking"]
    )


QC_CODEC = (_encode_report, _decode_report)
"""How a QC report travels through :func:`maskfer_lib.cache.cached_call`."""


def attach_landmarks(
    ds: FaceDataset, crop: bool | None = None, progress: bool | None = None
) -> FaceDataset:
    """A copy of ``ds`` with dlib landmarks (NaN rows where no face was found), so several
    masking methods can share one landmark pass. Datasets with landmarks come back as is;
    datasets of at least :data:`CACHE_MIN_FACES` faces are cached on disk."""
    if ds.landmarks is not None:
        return ds
    return cached_call(
        "landmarks",
        {"crop": crop},
        ds,
        lambda: _attach_landmarks(ds, crop, progress),
        version=code_version("maskfer_lib.landmarks", "maskfer_lib.detect"),
        min_size=CACHE_MIN_FACES,
    )


def _attach_landmarks(ds: FaceDataset, crop, progress) -> FaceDataset:
    # The uncached work of attach_landmarks.
    show = progress if progress is not None else len(ds) >= 200
    lms = np.full((len(ds), 68, 2), np.nan, dtype=np.float32)
    t0 = time.perf_counter()
    for i in tqdm(range(len(ds)), desc="landmarks (dlib)", disable=not show):
        lm = estimate_landmarks(ds.images[i], crop=crop)
        if lm is not None:
            lms[i] = lm
    meta = {**ds.meta, "landmark_seconds": time.perf_counter() - t0}
    return replace(ds, landmarks=lms, meta=meta)


def make_mu_dataset(
    ds: FaceDataset, method: str = "hayashi", seed: int = 0, **opts
) -> tuple[FaceDataset, QCReport]:
    """Masked/unmasked pairs of the same faces (Hayashi's MU-dataset; Yang's stage 1).

    Only faces that could be masked appear, each twice: unmasked (label 0) and masked
    (label 1). ``meta["expression"]`` keeps the expression labels, ``meta["expression_names"]``
    their names and ``meta["pair"]`` the source index shared by both copies; occlusion is
    all False for unmasked faces.
    """
    masked, report = mask_dataset(ds, method, seed, **opts)
    src = masked.meta["source_index"]
    plain = ds.subset(src)
    plain = replace(
        plain,
        masked=np.zeros(len(src), dtype=bool),
        occlusion=np.zeros_like(masked.occlusion),
        landmarks=masked.landmarks if plain.landmarks is None else plain.landmarks,
    )

    def relabel(d: FaceDataset, label: int) -> FaceDataset:
        meta = {
            k: v for k, v in d.meta.items() if not (isinstance(v, np.ndarray) and len(v) == len(d))
        }
        meta.update(
            expression=d.labels.copy(),
            expression_names=ds.class_names,
            pair=src.copy(),
            mask_method=method,
        )
        return replace(
            d, labels=np.full(len(d), label), class_names=("unmasked", "masked"), meta=meta
        )

    return concat([relabel(plain, 0), relabel(masked, 1)]), report


def measure_speed(
    ds: FaceDataset, methods=("celik", "awfm", "hayashi", "template"), seed: int = 0, **opts
) -> pd.DataFrame:
    """Masking throughput per method on ``ds`` (landmarks from ``ds`` or dlib, timed apart).

    Columns: method, faces, success_rate, mask_images_per_s (drawing + compositing + QC
    only), landmark_images_per_s (dlib; NaN when the dataset carries landmarks).
    """
    rows = []
    for m in methods:
        _, rep = mask_dataset(ds, m, seed, progress=False, **opts)
        rows.append(
            {
                "method": m,
                "faces": rep.n_total,
                "success_rate": rep.success_rate,
                "mask_images_per_s": rep.n_total / rep.seconds_masking
                if rep.seconds_masking
                else np.nan,
                "landmark_images_per_s": (
                    rep.n_total / rep.seconds_landmarks
                    if ds.landmarks is None and rep.seconds_landmarks
                    else np.nan
                ),
            }
        )
    return pd.DataFrame(rows)
