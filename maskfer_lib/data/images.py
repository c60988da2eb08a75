"""Reading image files: the loaders' errors, decoding, cropping and resizing, and listing a
folder's image files."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
IMAGE_SIZE_ENV = "MASKFER_IMAGE_SIZE"
"""Environment variable giving :func:`load_dataset` a resize size (``128`` or ``128x96``)
when the caller passes none; how ``make reproduce`` runs on photos of mixed sizes."""


class DataFormatError(ValueError):
    """Input that is not in the format its loader reads; the message names the path and fix."""


class MixedSizeError(DataFormatError):
    """Images of different sizes were loaded without ``size=``."""


class TooFewImagesError(DataFormatError):
    """A class has too few images for a stratified split; the message says how many it needs."""


def read_image(path: Path, grayscale: bool) -> np.ndarray:
    """One image file as uint8 (H, W, 1) or RGB (H, W, 3); a clear ``OSError`` naming the
    problem when it is empty or not a readable image."""
    import cv2

    buf = np.fromfile(str(path), dtype=np.uint8)  # imdecode copes with non-ASCII paths
    if buf.size == 0:
        # imdecode asserts on an empty buffer (a cv2.error, not None): a failed copy or download.
        raise OSError("empty file (0 bytes)")
    try:
        img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR)
    except cv2.error as e:
        raise OSError(f"OpenCV cannot decode it ({str(e).strip().splitlines()[-1]})") from None
    if img is None:
        raise OSError("not a readable image (corrupt or not an image format OpenCV reads)")
    if grayscale:
        return img[..., None]
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _resize(img: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Resize (H, W, C) uint8/float: INTER_AREA to shrink, INTER_LINEAR to enlarge."""
    import cv2

    h, w = hw
    if img.shape[:2] == (h, w):
        return img
    shrink = h * w < img.shape[0] * img.shape[1]
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return out[..., None] if out.ndim == 2 else out


def _center_square(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return img[y : y + s, x : x + s]


def _as_hw(size) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int):
        return (size, size)
    return (int(size[0]), int(size[1]))


def _load_images(paths, grayscale, size, on_error, source, crop=None):
    """Read images; returns (stack, kept index, skipped list)."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r}")
    hw = _as_hw(size)
    imgs, kept, skipped = [], [], []
    first_shape = first_path = None
    for i, p in enumerate(paths):
        try:
            img = read_image(p, grayscale)
        except OSError as e:
            if on_error == "raise":
                raise ValueError(
                    f"cannot read image {p}: {e}. Delete or replace the file, or load with "
                    "on_error='skip' to skip and count unreadable images."
                ) from None
            skipped.append((str(p), str(e)))
            continue
        if crop == "center":
            img = _center_square(img)
        if hw is not None:
            img = _resize(img, hw)
        elif first_shape is None:
            first_shape, first_path = img.shape, p
        elif img.shape != first_shape:
            raise MixedSizeError(
                f"images differ in size: {p} is {img.shape[1]}x{img.shape[0]} but {first_path} "
                f"is {first_shape[1]}x{first_shape[0]} (width x height); pass size=(H, W) to "
                f"resize on load (load_dataset(..., size=128); make reproduce: "
                f"{IMAGE_SIZE_ENV}=128), or resize the images to one size first"
            )
        imgs.append(img)
        kept.append(i)
    if skipped:
        log.warning(
            "%s: skipped %d unreadable image(s) of %d (first: %s — %s)",
            source,
            len(skipped),
            len(paths),
            skipped[0][0],
            skipped[0][1],
        )
        warnings.warn(
            f"{source}: skipped {len(skipped)} unreadable image(s); see ds.meta['skipped']",
            stacklevel=3,
        )
    if not imgs:
        raise ValueError(f"{source}: no readable images ({len(skipped)} unreadable)")
    return np.stack(imgs), np.asarray(kept, dtype=np.int64), skipped


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )


def _other_files(folder: Path) -> list[Path]:
    """Files that are not images (hidden ones such as ``.DS_Store`` aside): read as nothing."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in IMAGE_EXTENSIONS
    )


def _has_image(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() for p in folder.iterdir())
