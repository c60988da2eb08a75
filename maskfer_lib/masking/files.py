"""Files of the folder builder: scanning a source tree, strict decoding, output names and
removing an earlier run's outputs.

Decoding is strict because OpenCV's decoders are not: a JPEG cut short decodes to an image
whose missing rows are grey (libjpeg only prints "Premature end of JPEG file", naming no
file), and such an image would be masked and written as if it were whole.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from maskfer_lib.masking.base import TRUNCATED_IMAGE, UNREADABLE_IMAGE

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
"""File types the builder reads; every other file of the source tree is listed as skipped."""

MANIFEST, QC_REPORT, QC_FAILURES = "manifest.csv", "qc_report.csv", "qc_failures.png"
TOOL_FILES = (MANIFEST, QC_REPORT, QC_FAILURES)
"""Files the builder writes at the destination root besides the masked images."""

_JPEG_MAGIC, _PNG_MAGIC = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"


@dataclass
class Decoded:
    """Outcome of reading one file: ``image`` (RGB (H, W, 3) or gray (H, W, 1) uint8) or
    None with a ``reason`` (``unreadable_image`` / ``truncated_image``) and ``detail``."""

    image: np.ndarray | None
    reason: str = ""
    detail: str = ""


def scan_source(src: Path) -> tuple[list[Path], list[Path]]:
    """(image files, other files) under ``src`` at any depth, sorted; clear errors for a
    missing folder, a file, or a tree without a single image."""
    src = Path(src)
    if not src.exists():
        raise FileNotFoundError(
            f"source folder {src} does not exist; pass an ImageFolder root "
            "(src/split/class/*.png or src/class/*.png)"
        )
    if not src.is_dir():
        raise NotADirectoryError(f"{src} is a file; pass the ImageFolder root folder")
    files = sorted(p for p in src.rglob("*") if p.is_file())
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    others = [p for p in files if p.suffix.lower() not in IMAGE_EXTENSIONS]
    if not images:
        extra = (
            f"; its {len(others)} files (e.g. {others[0].name}) are other types" if others else ""
        )
        raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {src}{extra}")
    return images, others


def decode_file(path: Path) -> Decoded:
    """Read ``path`` strictly: empty, truncated or undecodable files give no image and a
    reason instead of a partly grey picture. 16-bit images are scaled to 8 bits, alpha is
    dropped, gray stays gray (H, W, 1)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        return Decoded(None, UNREADABLE_IMAGE, f"cannot read the file: {e.strerror or e}")
    if not data:
        return Decoded(None, UNREADABLE_IMAGE, "empty file (0 bytes)")
    problem = incomplete(data)
    if problem is not None:
        return Decoded(None, *problem)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        return Decoded(None, UNREADABLE_IMAGE, "OpenCV cannot decode it")
    return Decoded(_to_rgb_uint8(image))


def incomplete(data: bytes) -> tuple[str, str] | None:
    """(reason, detail) when the bytes are not a whole image file, else None.

    JPEG and PNG are checked by their structure (cheap, no decoding): the JPEG marker
    segments up to the first scan, then the end-of-image marker FFD9 after it; the PNG
    chunks up to IEND. Other types are decoded by Pillow, which raises on truncation.
    """
    if data.startswith(_JPEG_MAGIC):
        return _jpeg_problem(data)
    if data.startswith(_PNG_MAGIC):
        return _png_problem(data)
    return _pillow_problem(data)


def _jpeg_problem(data: bytes) -> tuple[str, str] | None:
    # Walk the header segments rather than search for FFD9 at once: an EXIF thumbnail in
    # APP1 carries its own FFD9. After the first SOS, FF is byte-stuffed in entropy-coded
    # data, so the next FFD9 is the real end of the image.
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return UNREADABLE_IMAGE, f"JPEG marker structure broken at byte {i}"
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker == 0xD9:
            return UNREADABLE_IMAGE, "JPEG ends before any image data"
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            i += 2
            continue
        end = i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        if marker == 0xDA:
            if data.find(b"\xff\xd9", end) < 0:
                return TRUNCATED_IMAGE, f"JPEG has no end-of-image marker FFD9 ({n} bytes)"
            return None
        i = end
    return TRUNCATED_IMAGE, f"JPEG ends inside its header ({n} bytes)"


def _png_problem(data: bytes) -> tuple[str, str] | None:
    # Each chunk: 4-byte length, 4-byte type, data, 4-byte CRC; the last one is IEND.
    i, n = len(_PNG_MAGIC), len(data)
    while i + 8 <= n:
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        i += 12 + length
        if i > n:
            break
        if kind == b"IEND":
            return None
    return TRUNCATED_IMAGE, f"PNG ends before its IEND chunk ({n} bytes)"


def _pillow_problem(data: bytes) -> tuple[str, str] | None:
    from PIL import Image, ImageFile, UnidentifiedImageError

    ImageFile.LOAD_TRUNCATED_IMAGES = False  # Pillow's default; set it in case a caller did not
    try:
        # Pillow's warnings name no file either; the reason and detail returned here do.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                im.load()
    except UnidentifiedImageError:
        return UNREADABLE_IMAGE, "not an image file Pillow or OpenCV can identify"
    except (OSError, SyntaxError, ValueError) as e:
        if "truncated" in str(e).lower():
            return TRUNCATED_IMAGE, f"file ends early (Pillow: {e})"
        return UNREADABLE_IMAGE, f"cannot decode it (Pillow: {e})"
    return None


def _to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    # What the maskers take: uint8, RGB or single-channel gray; alpha is dropped.
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(image.max()), 1.0))
    if image.ndim == 2:
        return image[..., None]
    if image.shape[-1] == 4:
        image = image[..., :3]
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def output_names(rels: list[Path]) -> dict[Path, Path]:
    """Output path (relative, ``.png``) of each source path (relative).

    A source keeps its stem (``train/happy/a.jpg`` → ``train/happy/a.png``) unless another
    source of the same folder would get the same name (``a.jpg`` and ``a.png``): then each
    of them keeps its suffix in the name (``a_jpg.png``, ``a_png.png``), with ``_2``, ``_3``
    … should even that clash. Names compare case-insensitively, so the outputs stay distinct
    on case-insensitive file systems too; ``qc_failures.png`` at the root is reserved.
    """
    plain = {r: r.with_suffix(".png") for r in rels}
    clashes = pd.Series([_key(p) for p in plain.values()]).value_counts()
    taken = {_key(Path(QC_FAILURES))}
    out = {}
    for rel, name in plain.items():
        if clashes[_key(name)] > 1 or _key(name) in taken:
            name = rel.with_name(f"{rel.stem}_{rel.suffix.lstrip('.')}.png")
        base, k = name, 2
        while _key(name) in taken:
            name = base.with_name(f"{base.stem}_{k}.png")
            k += 1
        taken.add(_key(name))
        out[rel] = name
    return out


def _key(path: Path) -> str:
    return path.as_posix().lower()


def prepare_destination(dst: Path, overwrite: bool) -> None:
    """Check ``dst`` is empty, or with ``overwrite`` remove what an earlier run wrote there:
    the outputs its ``manifest.csv`` lists and the manifest and QC files. Files the builder
    did not write are kept (and named in a warning); without a manifest nothing can be told
    apart, so a non-empty ``dst`` without one is refused."""
    if not dst.exists():
        return
    if not dst.is_dir():
        raise NotADirectoryError(f"destination {dst} is a file; pass a folder (new or empty)")
    if not any(dst.iterdir()):
        return
    if not overwrite:
        raise FileExistsError(
            f"destination {dst} is not empty; pass --overwrite (overwrite=True) to replace the "
            "outputs of an earlier run there, or choose a new folder"
        )
    if not (dst / MANIFEST).is_file():
        raise FileExistsError(
            f"destination {dst} is not empty and holds no {MANIFEST} of an earlier run, so "
            "--overwrite cannot tell its outputs from other files; empty it or choose a new folder"
        )
    removed = remove_previous_outputs(dst)
    left = sorted(p for p in dst.rglob("*") if p.is_file())
    log.info("overwrite: removed %d files of the earlier run in %s", removed, dst)
    if left:
        log.warning(
            "overwrite: kept %d files in %s that the earlier run did not write (e.g. %s)",
            len(left),
            dst,
            left[0].relative_to(dst),
        )


def remove_previous_outputs(dst: Path) -> int:
    """Delete the files an earlier run's ``dst/manifest.csv`` lists, then the manifest and
    QC files and the folders left empty; only paths inside ``dst``. Returns the count."""
    dst = dst.resolve()
    paths = [dst / name for name in _previous_outputs(dst / MANIFEST)]
    paths += [dst / name for name in TOOL_FILES]
    removed, folders = 0, set()
    for p in paths:
        p = Path(os.path.abspath(p))
        if dst in p.parents and p.is_file() and not p.is_symlink():
            p.unlink()
            removed += 1
            folders.update(q for q in p.parents if dst in q.parents)
    # Only folders that held removed outputs, deepest first, and only once they are empty.
    for d in sorted(folders, key=lambda q: -len(q.parts)):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    return removed


def _previous_outputs(manifest: Path) -> list[str]:
    # Manifests before the `output` column held one row per source, outputs being the source
    # path with a .png suffix for rows that succeeded.
    try:
        old = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise FileExistsError(
            f"{manifest} cannot be read ({e}); empty the destination or choose a new folder"
        ) from e
    if "output" in old.columns:
        return sorted({o for o in old["output"] if o})
    if {"source", "success"} <= set(old.columns):
        ok = old["success"].str.lower() == "true"
        return sorted({str(Path(s).with_suffix(".png")) for s in old.loc[ok, "source"]})
    return []


def write_image(path: Path, image: np.ndarray) -> None:
    """Write RGB or gray uint8 to ``path`` (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = image[..., 0] if image.shape[-1] == 1 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), out):
        raise OSError(f"could not write {path}")
