"""Mask one image: validate landmarks, draw the method's layer, composite, check quality."""

from __future__ import annotations

import numpy as np

from maskfer_lib.masking import awfm, celik, hayashi, templates
from maskfer_lib.masking.base import (
    NO_FACE,
    SUCCESS,
    MaskingError,
    MaskResult,
    check_face,
    check_result,
    composite,
)

METHODS = {"celik": celik, "awfm": awfm, "hayashi": hayashi, "template": templates}
"""Masking methods by name; each module has ``draw(shape, lm, rng, **opts) -> Layer``."""


def get_method(name: str):
    """The method module for ``name`` with an error listing the valid names."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(
            f"unknown masking method {name!r}; choose one of {sorted(METHODS)}"
        ) from None


def mask_face(
    image: np.ndarray,
    landmarks: np.ndarray | None,
    method: str = "hayashi",
    rng: np.random.Generator | None = None,
    **opts,
) -> MaskResult:
    """Put a mask on the face with ``landmarks`` (68, 2); never raises for a bad face.

    On failure ``success`` is False, ``reason`` names why (see ``base.FAILURE_REASONS``),
    and the image is returned unchanged (a copy) with an empty occlusion.
    """
    module = get_method(method)
    rng = rng if rng is not None else np.random.default_rng(0)
    image = np.asarray(image)
    empty = np.zeros(image.shape[:2], dtype=bool)
    try:
        lm = check_face(landmarks, image.shape)
        layer = module.draw(image.shape, lm, rng, **opts)
        out, occ = composite(image, layer)
        check_result(occ, lm, layer.expected_area)
    except MaskingError as e:
        return MaskResult(
            image.copy(), empty, False, e.reason, landmarks=landmarks, extra={"detail": str(e)}
        )
    return MaskResult(out, occ, True, SUCCESS, layer.mask_type, layer.colour, lm)


def mask_faces(
    image: np.ndarray,
    landmarks_list: list,
    method: str = "hayashi",
    rng: np.random.Generator | None = None,
    **opts,
) -> MaskResult:
    """Mask every face in a photo (group shots); success when at least one face is masked.

    ``extra`` records ``faces`` and ``masked_faces`` and the per-face reasons.
    """
    if not landmarks_list:
        return mask_face(image, None, method, rng, **opts)
    out = np.asarray(image).copy()
    occ = np.zeros(out.shape[:2], dtype=bool)
    results = []
    for lm in landmarks_list:
        r = mask_face(out, lm, method, rng, **opts)
        if r.success:
            out, occ = r.image, occ | r.occlusion
        results.append(r)
    good = [r for r in results if r.success]
    first = good[0] if good else results[0]
    reason = SUCCESS if good else first.reason
    return MaskResult(
        out,
        occ,
        bool(good),
        reason or NO_FACE,
        first.mask_type,
        first.colour,
        extra={
            "faces": len(results),
            "masked_faces": len(good),
            "reasons": [r.reason for r in results],
        },
    )
