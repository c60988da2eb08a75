"""Build a masked copy of an ImageFolder tree (``src/split/class/*.png|jpg``) or of a folder
of real photos.

The source is only read. Every file of the source tree gets at least one row in
``dst/manifest.csv``; nothing is dropped silently:

* each face found gets a row (``face`` 0, 1, … best detector score first) with its ``box``
  (``x,y,w,h``), how it was found (``detector``: ``hog`` or ``crop``, the whole image of a
  declared face crop), the mask and ``success``/``reason``/``detail``;
* an image without a face gets one ``no_face`` row (``faces_found`` 0, ``face`` empty);
* a file that is empty, truncated or cannot be decoded gets an ``unreadable_image`` /
  ``truncated_image`` row, and a file of another type an ``unsupported_extension`` row.

``faces_found`` and ``faces_masked`` repeat the per-image counts on each row of the image.

Output: **one image per photo**, with every face that could be masked masked, written when
at least one face was masked (``output`` names it on all rows of that photo, so rows with
``success`` False and an ``output`` are faces left unmasked in a written image). Outputs are
PNG, named after the source (``a.jpg`` → ``a.png``) unless two sources of one folder would
share a name (``a.jpg`` and ``a.png`` → ``a_jpg.png`` and ``a_png.png``; see
``files.output_names``). Also written: ``qc_report.csv`` (count of every reason, zeros
included) and ``qc_failures.png`` (a grid of failed faces, when any failed).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from maskfer_lib.detect import to_gray_uint8
from maskfer_lib.landmarks import DETECT_SIDE, SMALL_SIDE, find_faces, is_flat, whole_image_face
from maskfer_lib.masking.base import (
    FAILURE_REASONS,
    FOLDER_REASONS,
    NO_FACE,
    OVER_MAX_FACES,
    SUCCESS,
    UNSUPPORTED_EXTENSION,
)
from maskfer_lib.masking.core import get_method, mask_face
from maskfer_lib.masking.dataset import MAX_FAILURE_EXAMPLES, QCReport
from maskfer_lib.masking.files import (
    IMAGE_EXTENSIONS,
    MANIFEST,
    QC_FAILURES,
    QC_REPORT,
    decode_file,
    output_names,
    prepare_destination,
    scan_source,
    write_image,
)

log = logging.getLogger(__name__)

COLUMNS = [
    "source",
    "output",
    "face",
    "faces_found",
    "faces_masked",
    "box",
    "detector",
    "method",
    "mask_type",
    "colour",
    "success",
    "reason",
    "detail",
]
"""Columns of ``manifest.csv`` (one row per face, or per file without a face)."""

REGION_MARGIN = 0.5
"""Each face is masked in a window of its landmarks' extent grown by this share per side
(clipped to the image): a mask never reaches that far, and drawing over a face-sized window
instead of a 6000×4000 photo saves seconds and gigabytes per face."""

THUMB_SIDE = 160  # failure-grid examples are shrunk so 32 of them stay small in memory


def list_images(src: str | Path) -> list[Path]:
    """Image files under ``src`` (any depth), sorted; clear errors for missing/empty folders."""
    return scan_source(Path(src))[0]


def read_image(path: Path) -> np.ndarray | None:
    """RGB (H, W, 3) or gray (H, W, 1) uint8, or None when the file is empty, truncated or
    cannot be decoded (see ``files.decode_file`` for the reason)."""
    return decode_file(Path(path)).image


@dataclass
class _Run:
    # Settings and running state of one build (faces counted across files so Hayashi's
    # colours rotate over faces, not photos).
    method: str
    seed: int
    crop: bool
    max_faces: int | None
    detect_side: int
    opts: dict
    faces_seen: int = 0
    failures: list = field(default_factory=list)
    seconds_landmarks: float = 0.0
    seconds_masking: float = 0.0


def build_masked_folder(
    src: str | Path,
    dst: str | Path,
    method: str = "hayashi",
    seed: int = 0,
    limit: int | None = None,
    overwrite: bool = False,
    landmark_mode: bool | None = None,
    progress: bool | None = None,
    max_faces: int | None = None,
    detect_side: int = DETECT_SIDE,
    **opts,
) -> QCReport:
    """Mask every face of every image under ``src`` into ``dst``; return the QC report
    (``records`` = the manifest, one row per face; see the module docstring).

    ``limit`` masks a seeded random sample of that many image files. ``dst`` must not be
    inside ``src`` nor hold it (the source is never modified), and must be empty unless
    ``overwrite``, which first removes what an earlier run wrote there (the files its
    manifest lists and the QC files). ``landmark_mode=True``: the images are declared tight
    face crops (FER2013): the whole image is the face, when it passes the face check
    (``landmarks.whole_image_face``); otherwise (None/False) faces are detected (dlib HOG
    on a copy at most ``detect_side`` px, landmarks at full size), at most ``max_faces``
    per image masked (best scores; the rest are ``over_max_faces`` rows).
    """
    get_method(method)
    limit, max_faces = _positive("limit", limit), _positive("max_faces", max_faces)
    detect_side = _positive("detect_side", detect_side)
    src, dst = _check_paths(src, dst)
    images, others = scan_source(src)
    prepare_destination(dst, overwrite)
    names = output_names([p.relative_to(src) for p in images])
    if method == "hayashi" and "offset" not in opts:
        opts["offset"] = int(np.random.default_rng(seed).integers(3))
    run = _Run(method, seed, bool(landmark_mode), max_faces, detect_side, opts)
    rows = [_unsupported_row(p, p.relative_to(src)) for p in others]
    show = progress if progress is not None else len(images) >= 200
    files = _sample(images, limit, seed)
    try:
        for i, path in enumerate(
            tqdm(files, desc=f"masking {src.name} ({method})", disable=not show)
        ):
            rel = path.relative_to(src)
            rows += _mask_file(run, i, path, rel, names[rel], dst)
    finally:
        # Also after an interruption: the manifest then lists what was written, so a later
        # --overwrite can remove it.
        report = _write_reports(run, rows, dst, title=f"{src.name} → {method}: failed faces")
    return report


def _positive(name: str, value):
    # None means "no limit"; anything else must be a whole number ≥ 1.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


def _check_paths(src, dst) -> tuple[Path, Path]:
    # The source is only read: refuse destinations that are it, lie in it or contain it.
    src, dst = Path(src).resolve(), Path(dst).resolve()
    if dst == src or src in dst.parents:
        raise ValueError(
            f"destination {dst} lies inside the source {src}; choose a folder "
            "outside it (the source is never modified)"
        )
    if dst in src.parents:
        raise ValueError(
            f"destination {dst} contains the source {src}; choose a folder outside it "
            "(the source is never modified)"
        )
    return src, dst


def _sample(files: list[Path], limit: int | None, seed: int) -> list[Path]:
    if limit is None or limit >= len(files):
        return files
    pick = np.sort(np.random.default_rng(seed).choice(len(files), size=limit, replace=False))
    return [files[i] for i in pick]


def _base_row(rel: Path, method: str = "") -> dict:
    return {c: "" for c in COLUMNS} | {
        "source": str(rel),
        "face": pd.NA,
        "faces_found": pd.NA,
        "faces_masked": pd.NA,
        "method": method,
        "success": False,
    }


def _unsupported_row(path: Path, rel: Path) -> dict:
    log.warning("skipped %s: unsupported file type (%s)", path, UNSUPPORTED_EXTENSION)
    detail = f"{rel.suffix or 'no'} extension; images are {', '.join(IMAGE_EXTENSIONS)}"
    return _base_row(rel) | {"reason": UNSUPPORTED_EXTENSION, "detail": detail}


def _mask_file(run: _Run, i: int, path: Path, rel: Path, out_rel: Path, dst: Path) -> list[dict]:
    # All rows of one source file; writes its masked image when a face was masked.
    decoded = decode_file(path)
    row = _base_row(rel, run.method)
    if decoded.image is None:
        log.warning("skipped %s: %s (%s)", path, decoded.reason, decoded.detail)
        return [row | {"reason": decoded.reason, "detail": decoded.detail}]
    image = decoded.image
    t0 = time.perf_counter()
    faces, note = _find(run, image)
    run.seconds_landmarks += time.perf_counter() - t0
    if not faces:
        log.info("%s: no face (%s)", path, note)
        _keep_failure(run, str(rel), image, NO_FACE)
        return [row | {"faces_found": 0, "faces_masked": 0, "reason": NO_FACE, "detail": note}]
    out, rows = image.copy(), []
    for k, face in enumerate(faces):
        rows.append(row | _mask_one(run, i, k, face, out, f"{rel}#{k}"))
    masked = sum(r["success"] for r in rows)
    written = str(out_rel) if masked else ""
    if masked:
        write_image(dst / out_rel, out)
    per_image = {"faces_found": len(faces), "faces_masked": masked, "output": written}
    return [r | per_image for r in rows]


def _find(run: _Run, image: np.ndarray) -> tuple[list, str]:
    # Faces of one image and, when there are none, a note saying why (for the manifest).
    gray = to_gray_uint8(image)
    if is_flat(gray):
        return [], "flat image (no contrast)"
    if run.crop:
        face, note = whole_image_face(gray)
        return ([face] if face else []), note
    faces = find_faces(gray, crop=False, detect_side=run.detect_side)
    h, w = gray.shape
    hint = ""
    if max(h, w) <= SMALL_SIDE:
        hint = f"; a {w}x{h} image: pass --crop (landmark_mode=True) if the images are face crops"
    return faces, "" if faces else f"no face detected{hint}"


def _mask_one(run: _Run, i: int, k: int, face, out: np.ndarray, label: str) -> dict:
    # Mask face k of file i into `out` (in place) and return its manifest fields.
    fields = {"face": k, "box": ",".join(str(int(v)) for v in face.box), "detector": face.source}
    if run.max_faces is not None and k >= run.max_faces:
        return fields | {"reason": OVER_MAX_FACES, "detail": f"max_faces={run.max_faces}"}
    t0 = time.perf_counter()
    x0, y0, x1, y1 = _region(face.landmarks, out.shape)
    window = out[y0:y1, x0:x1]
    lm = face.landmarks - np.array([x0, y0], np.float32)
    rng = np.random.default_rng([run.seed, i, k])
    r = mask_face(window, lm, run.method, rng, index=run.faces_seen, **run.opts)
    run.faces_seen += 1
    run.seconds_masking += time.perf_counter() - t0
    if r.success:
        out[y0:y1, x0:x1] = r.image
    else:
        log.info("%s not masked: %s", label, r.reason)
        _keep_failure(run, label, window, r.reason)
    detail = r.extra.get("detail", "") if not r.success else ""
    return fields | {
        "mask_type": r.mask_type,
        "colour": r.colour,
        "success": r.success,
        "reason": r.reason,
        "detail": detail,
    }


def _region(lm: np.ndarray, shape) -> tuple[int, int, int, int]:
    # The face's landmark extent grown by REGION_MARGIN per side, clipped to the image.
    lo, hi = lm.min(0), lm.max(0)
    grow = REGION_MARGIN * float(max(hi - lo))
    h, w = shape[:2]
    x0, y0 = (max(0, int(np.floor(v - grow))) for v in lo)
    x1, y1 = min(w, int(np.ceil(hi[0] + grow)) + 1), min(h, int(np.ceil(hi[1] + grow)) + 1)
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def _keep_failure(run: _Run, label: str, image: np.ndarray, reason: str) -> None:
    if len(run.failures) >= MAX_FAILURE_EXAMPLES:
        return
    h, w = image.shape[:2]
    scale = min(1.0, THUMB_SIDE / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        image = small[..., None] if small.ndim == 2 else small
    run.failures.append((label, image.copy(), reason))


def _write_reports(run: _Run, rows: list[dict], dst: Path, title: str) -> QCReport:
    # manifest.csv, qc_report.csv (every reason, zeros included) and qc_failures.png.
    dst.mkdir(parents=True, exist_ok=True)
    manifest = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("face", "faces_found", "faces_masked"):
        manifest[c] = manifest[c].astype("Int64")
    manifest["success"] = manifest["success"].astype(bool)
    manifest.to_csv(dst / MANIFEST, index=False)
    report = QCReport(
        run.method,
        manifest.assign(index=range(len(manifest))),
        run.failures,
        run.seconds_landmarks,
        run.seconds_masking,
    )
    counts = {r: 0 for r in (SUCCESS, *FAILURE_REASONS, *FOLDER_REASONS)} | report.counts()
    pd.DataFrame({"reason": list(counts), "count": list(counts.values())}).to_csv(
        dst / QC_REPORT, index=False
    )
    fig = report.failure_grid(title=title)
    if fig is not None:
        import matplotlib.pyplot as plt

        fig.savefig(dst / QC_FAILURES)
        plt.close(fig)
    return report


def summarise(records: pd.DataFrame) -> dict[str, int]:
    """Image-level numbers of a folder run's manifest: ``files`` (every source file),
    ``images`` (image files, decodable or not), ``decoded``, ``written`` (masked images
    written), ``faces`` (found), ``faces_masked``, ``no_face`` (decoded images without a
    face) and ``partly_masked`` (written images that still show an unmasked face)."""
    per_file = records.groupby("source", sort=False).agg(
        reason=("reason", "first"),
        found=("faces_found", "first"),
        masked=("faces_masked", "first"),
        output=("output", "first"),
    )
    images = per_file[per_file["reason"] != UNSUPPORTED_EXTENSION]
    decoded = images[images["found"].notna()]
    written = decoded[decoded["output"].fillna("").astype(str) != ""]
    return {
        "files": len(per_file),
        "images": len(images),
        "decoded": len(decoded),
        "written": len(written),
        "faces": int(decoded["found"].sum()),
        "faces_masked": int(decoded["masked"].sum()),
        "no_face": int((decoded["found"] == 0).sum()),
        "partly_masked": int((written["masked"] < written["found"]).sum()),
    }


__all__ = [
    "COLUMNS",
    "build_masked_folder",
    "list_images",
    "read_image",
    "summarise",
    "write_image",
    "FAILURE_REASONS",
    "SUCCESS",
]
