"""Pieces every masking method shares: the result type, failure reasons, compositing, QC.

A method draws an RGBA *layer* the size of the image (colour + alpha in [0, 1]); ``composite``
alpha-blends it and thresholds alpha at 0.5 into the binary occlusion region. ``check_face``
and ``check_result`` turn geometric trouble into named failure reasons, so a dataset builder
can count and log every skipped face instead of dropping it silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from maskfer_lib.landmarks import EYES, MOUTH

SUCCESS = "ok"
NO_FACE = "no_face"
"""No face detected (or a blank image)."""
LANDMARKS_OUT_OF_FRAME = "landmarks_out_of_frame"
"""Nose or mouth landmarks outside the image: the mask would be placed blind."""
FACE_TOO_SMALL = "face_too_small"
"""Inter-ocular distance under ``MIN_IOD`` pixels."""
BAD_GEOMETRY = "bad_geometry"
"""Landmarks too distorted for the method's geometry (e.g. non-convex pivot quad)."""
MASK_OFF_IMAGE = "mask_off_image"
"""Less than ``MIN_INSIDE`` of the mask lands inside the image."""
MOUTH_NOT_COVERED = "mouth_not_covered"
"""The drawn mask leaves mouth landmarks visible."""
EYES_COVERED = "eyes_covered"
"""The drawn mask covers eye landmarks."""
UNREADABLE_IMAGE = "unreadable_image"
"""The file could not be decoded, or is empty (folder builder only)."""
TRUNCATED_IMAGE = "truncated_image"
"""The file ends early (a JPEG without its EOI marker, a PNG without IEND, a TIFF/BMP/WebP
short of its pixel data): decoding it would grey out the missing part (folder builder only)."""
UNSUPPORTED_EXTENSION = "unsupported_extension"
"""A file of the source tree that is not an image type the builder reads (folder builder only)."""
OVER_MAX_FACES = "over_max_faces"
"""A detected face beyond ``max_faces``; it stays unmasked in the photo (folder builder only)."""

FAILURE_REASONS = (
    NO_FACE,
    LANDMARKS_OUT_OF_FRAME,
    FACE_TOO_SMALL,
    BAD_GEOMETRY,
    MASK_OFF_IMAGE,
    MOUTH_NOT_COVERED,
    EYES_COVERED,
    UNREADABLE_IMAGE,
)

FOLDER_REASONS = (TRUNCATED_IMAGE, UNSUPPORTED_EXTENSION, OVER_MAX_FACES)
"""Reasons only the folder builder records (files rather than faces); kept out of
``FAILURE_REASONS`` so dataset QC tables do not grow columns that are always zero."""

MIN_IOD = 6.0
MIN_INSIDE = 0.6
MIN_MOUTH_COVER = 0.9


class MaskingError(Exception):
    """A face cannot be masked; ``reason`` is one of :data:`FAILURE_REASONS`."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class MaskResult:
    """Outcome of masking one image.

    ``image`` is the masked image (the untouched input on failure), ``occlusion`` the (H, W)
    bool region the mask covers (all False on failure).
    """

    image: np.ndarray
    occlusion: np.ndarray
    success: bool
    reason: str = SUCCESS
    mask_type: str = ""
    colour: str = ""
    landmarks: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Layer:
    """An RGBA mask layer: ``rgb`` (H, W, 3) float 0..255 and ``alpha`` (H, W) float 0..1.

    ``expected_area`` is the mask area in pixels had the image been unbounded, so the share
    landing inside the image can be checked.
    """

    rgb: np.ndarray
    alpha: np.ndarray
    expected_area: float
    mask_type: str
    colour: str


def as_rgb(image: np.ndarray) -> tuple[np.ndarray, bool]:
    """(H, W, 3) view of an image and whether it was gray (C=1 or 2-D)."""
    image = np.asarray(image)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=-1), True
    if image.ndim == 3 and image.shape[-1] == 1:
        return np.repeat(image, 3, axis=-1), True
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        return image[..., :3], False
    raise ValueError(f"expected an (H, W), (H, W, 1) or (H, W, 3) image, got {image.shape}")


def composite(image: np.ndarray, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """Alpha-blend ``layer`` over ``image`` (a new array; the input is never modified).

    Gray images get the layer's luminance (ITU-R 601 weights, as OpenCV's RGB→gray), so a
    gray dataset stays gray. Returns (masked image, occlusion = alpha ≥ 0.5).
    """
    rgb, gray = as_rgb(image)
    a = layer.alpha[..., None].astype(np.float32)
    out = rgb.astype(np.float32) * (1 - a) + layer.rgb.astype(np.float32) * a
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if gray:
        lum = out @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        out = np.clip(np.rint(lum), 0, 255).astype(np.uint8)
        out = out if np.asarray(image).ndim == 2 else out[..., None]
    return out, layer.alpha >= 0.5


def check_face(lm: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """Validate landmarks before drawing; raise :class:`MaskingError` with the reason."""
    if lm is None:
        raise MaskingError(NO_FACE)
    lm = np.asarray(lm, dtype=np.float32)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise MaskingError(BAD_GEOMETRY, f"landmarks must be finite (68, 2), got {lm.shape}")
    h, w = shape[:2]
    iod = float(np.linalg.norm(lm[36] - lm[45]))
    if iod < MIN_IOD:
        raise MaskingError(FACE_TOO_SMALL, f"inter-ocular distance {iod:.1f} px")
    key = lm[np.r_[27:36, 48:68]]
    tol = 1.0
    if (
        (key[:, 0] < -tol).any()
        or (key[:, 0] > w - 1 + tol).any()
        or (key[:, 1] < -tol).any()
        or (key[:, 1] > h - 1 + tol).any()
    ):
        raise MaskingError(LANDMARKS_OUT_OF_FRAME, "nose or mouth landmarks outside the image")
    return lm


def _inside(points: np.ndarray, shape) -> np.ndarray:
    h, w = shape[:2]
    return (
        (points[:, 0] >= 0)
        & (points[:, 0] <= w - 1)
        & (points[:, 1] >= 0)
        & (points[:, 1] <= h - 1)
    )


def covered(occlusion: np.ndarray, points: np.ndarray) -> np.ndarray:
    """For each in-image point, whether the occlusion covers its pixel."""
    pts = points[_inside(points, occlusion.shape)]
    xi = np.clip(np.rint(pts[:, 0]).astype(int), 0, occlusion.shape[1] - 1)
    yi = np.clip(np.rint(pts[:, 1]).astype(int), 0, occlusion.shape[0] - 1)
    return occlusion[yi, xi]


def check_result(occlusion: np.ndarray, lm: np.ndarray, expected_area: float) -> None:
    """Quality checks after drawing: mask inside the image, mouth covered, eyes free."""
    inside = float(occlusion.sum()) / max(expected_area, 1.0)
    if inside < MIN_INSIDE:
        raise MaskingError(MASK_OFF_IMAGE, f"only {inside:.0%} of the mask inside the image")
    mouth = covered(occlusion, lm[MOUTH])
    if mouth.size and mouth.mean() < MIN_MOUTH_COVER:
        raise MaskingError(MOUTH_NOT_COVERED, f"{mouth.mean():.0%} of mouth points covered")
    if covered(occlusion, lm[EYES]).any():
        raise MaskingError(EYES_COVERED)
