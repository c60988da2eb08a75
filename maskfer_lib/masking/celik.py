"""Çelik & Gören (2023): a mask image warped onto four landmark-derived pivot points.

The paper maps the corners of a mask image to four pivot points computed from the landmarks
and face ratios with ``cv2.getPerspectiveTransform`` / ``cv2.warpPerspective`` and alpha-
composites the result. Its masks are black or white. Here the pivots are the corners of the
mask's box in the nose-chin face frame (so the mask follows roll); the face ratio — the
left vs right half-width, which changes with yaw — shortens the far edge of the quad, so the
homography foreshortens the far half like a turned head (their Fig. 4b). The mask image is
drawn procedurally (``draw.template_rgba``) and carries a real alpha channel (the paper
derives alpha from the RGB sum, which would make a black mask transparent).
"""

from __future__ import annotations

import cv2
import numpy as np

from maskfer_lib.masking.base import BAD_GEOMETRY, Layer, MaskingError
from maskfer_lib.masking.draw import S_RANGE, T_RANGE, template_rgba
from maskfer_lib.masking.geometry import face_frame, polygon_area
from maskfer_lib.masking.textures import PALETTE

COLOURS = ("white", "black")
MASK_TYPE = "surgical"


def pivots(lm: np.ndarray, perspective: float = 0.5) -> np.ndarray:
    """The four destination pivots (TL, TR, BR, BL) for the mask image's corners.

    ``perspective`` is the exponent on the half-width ratio that shrinks the far edge
    (0 = affine, 1 = full planar foreshortening); clipped so the far edge keeps ≥ 70 %.
    """
    fr = face_frame(lm)
    ratio = float(np.clip((min(fr.wl, fr.wr) / max(fr.wl, fr.wr)) ** perspective, 0.7, 1.0))
    hl = 1.0 if fr.wl >= fr.wr else ratio
    hr = 1.0 if fr.wr > fr.wl else ratio
    mid, half = (T_RANGE[0] + T_RANGE[1]) / 2, (T_RANGE[1] - T_RANGE[0]) / 2
    s0, s1 = S_RANGE
    quad = fr.to_image(
        np.array([s0, s1, s1, s0]),
        np.array([mid - half * hl, mid - half * hr, mid + half * hr, mid + half * hl]),
    )
    return quad.astype(np.float32)


def draw(
    shape, lm, rng: np.random.Generator, colour: str | None = None, perspective: float = 0.5, **_
) -> Layer:
    """Çelik-style layer: template warped by the homography corners → pivots."""
    colour = colour or COLOURS[int(rng.integers(len(COLOURS)))]
    rgba = template_rgba(PALETTE[colour], "plain")
    th, tw = rgba.shape[:2]
    src = np.float32([[0, 0], [tw, 0], [tw, th], [0, th]])
    dst = pivots(lm, perspective)
    hull = cv2.convexHull(dst)
    if len(hull) != 4:
        raise MaskingError(BAD_GEOMETRY, "pivot quad is not convex")
    M = cv2.getPerspectiveTransform(src, dst)
    h, w = shape[:2]
    warped = cv2.warpPerspective(
        rgba,
        M,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    alpha = warped[..., 3].astype(np.float32) / 255.0
    fill = float(rgba[..., 3].mean()) / 255.0
    return Layer(
        warped[..., :3].astype(np.float32), alpha, polygon_area(dst) * fill, MASK_TYPE, colour
    )
