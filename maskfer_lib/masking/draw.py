"""Two ways of turning a mask design into an RGBA layer on a face.

* ``fitted_layer`` — a landmark-fitted outline (``geometry.fitted_outline``) filled with a
  procedural fabric, straight in image coordinates (Hayashi's MaskTheFace-style method and
  the template family).
* ``template_rgba`` — a procedurally drawn RGBA mask *image* in normalised face coordinates,
  which Çelik (perspective warp) and AWFM (resize, rotate, offset) place on the face.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from maskfer_lib.masking.base import Layer
from maskfer_lib.masking.geometry import face_frame, fitted_outline, polygon_area, rasterise
from maskfer_lib.masking.textures import fabric

# Template extent in normalised face coordinates (s across, t down the nose-chin axis).
S_RANGE = (-1.1, 1.1)
T_RANGE = (0.1, 1.16)

FRONT_OUTLINE = np.array(
    [
        (-1.03, 0.38),
        (-0.5, 0.23),
        (0.0, 0.16),
        (0.5, 0.23),
        (1.03, 0.38),
        (1.0, 0.68),
        (0.8, 0.92),
        (0.42, 1.07),
        (0.0, 1.12),
        (-0.42, 1.07),
        (-0.8, 0.92),
        (-1.0, 0.68),
    ]
)
"""Front-view mask silhouette (s, t): over the nose bridge, cheeks to jaw, under the chin."""

SIDE_OUTLINE = np.array(
    [
        (-1.03, 0.42),
        (-0.55, 0.29),
        (0.0, 0.17),
        (0.45, 0.23),
        (1.06, 0.44),
        (1.02, 0.62),
        (0.85, 0.84),
        (0.55, 1.07),
        (0.0, 1.13),
        (-0.5, 1.02),
        (-0.9, 0.8),
        (-1.03, 0.62),
    ]
)
"""Side-view silhouette for a face turned towards +s: the far half bulges over the nose
tip and closes along the chin, the near half is flatter."""


def fitted_layer(
    shape,
    lm,
    style: str,
    colour,
    kind: str,
    rng: np.random.Generator,
    second=None,
    mask_type: str = "",
    colour_name: str = "",
) -> Layer:
    """Layer for a landmark-fitted outline filled with ``fabric(kind, colour)``."""
    fr = face_frame(lm)
    poly = fitted_outline(lm, style)
    alpha = rasterise(poly, shape)
    h, w = shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    s, t = fr.to_face(np.stack([xs, ys], axis=-1).astype(np.float64))
    rgb = fabric(s, t, colour, kind, rng, second=second, px=1.0 / fr.h)
    return Layer(rgb, alpha, polygon_area(poly), mask_type or style, colour_name)


def template_rgba(
    colour, kind: str = "plain", side: bool = False, size=(256, 192), seed: int = 0
) -> np.ndarray:
    """A procedurally drawn RGBA mask image (H, W, 4) uint8 spanning S_RANGE × T_RANGE."""
    return _template_rgba(
        tuple(float(c) for c in colour), kind, bool(side), tuple(size), seed
    ).copy()


@lru_cache(maxsize=64)
def _template_rgba(colour, kind, side, size, seed):
    w, h = size
    outline = SIDE_OUTLINE if side else FRONT_OUTLINE
    px = np.column_stack(
        [
            (outline[:, 0] - S_RANGE[0]) / (S_RANGE[1] - S_RANGE[0]) * w,
            (outline[:, 1] - T_RANGE[0]) / (T_RANGE[1] - T_RANGE[0]) * h,
        ]
    )
    alpha = rasterise(px, (h, w))
    ys, xs = np.mgrid[0:h, 0:w]
    s = S_RANGE[0] + (xs + 0.5) / w * (S_RANGE[1] - S_RANGE[0])
    t = T_RANGE[0] + (ys + 0.5) / h * (T_RANGE[1] - T_RANGE[0])
    rgb = fabric(s, t, colour, kind, np.random.default_rng(seed), px=1.0 / h)
    return np.dstack([rgb, alpha * 255]).round().astype(np.uint8)
