"""Yang, Wu & Hattori AWFM (automatic wearing face mask, MUM 2020).

Steps as the paper describes them (Fig. 1): estimate the face orientation from the
landmarks; choose a front-view or a side-view mask image; resize the mask so its left and
right parts match the face's left and right half-widths; rotate it by the angle of the
nose-jaw line (roll); place it at an offset (o_x, o_y) from the nose. The paper uses white
masks only; ``colour`` can change that.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskfer_lib.masking.base import Layer
from maskfer_lib.masking.draw import FRONT_OUTLINE, S_RANGE, SIDE_OUTLINE, T_RANGE
from maskfer_lib.masking.geometry import face_frame, polygon_area, rasterise
from maskfer_lib.masking.textures import PALETTE, fabric

SIDE_YAW_DEG = 20.0
"""|yaw| above which the side-view mask is used."""


def draw(
    shape,
    lm,
    rng: np.random.Generator,
    colour: str = "white",
    side_yaw_deg: float = SIDE_YAW_DEG,
    **_,
) -> Layer:
    """AWFM layer: front/side choice by yaw, left/right resize, roll rotation, nose offset."""
    fr = face_frame(lm)
    yaw = float(np.degrees(np.arcsin(np.clip(fr.yaw_ratio, -1, 1))))
    side = abs(yaw) > side_yaw_deg
    outline = SIDE_OUTLINE.copy() if side else FRONT_OUTLINE.copy()
    if side and fr.yaw_ratio < 0:
        outline[:, 0] *= -1  # the far side (nose side) is the image left: mirror
    # 1) resize: left part to wl, right part to wr, height to the nose-chin length.
    u0 = -S_RANGE[0] * fr.wl
    cw = int(np.ceil(u0 + S_RANGE[1] * fr.wr)) + 1
    ch = int(np.ceil(T_RANGE[1] * fr.h)) + 1
    u = np.where(outline[:, 0] < 0, outline[:, 0] * fr.wl, outline[:, 0] * fr.wr) + u0
    poly = np.column_stack([u, outline[:, 1] * fr.h])
    alpha = rasterise(poly, (ch, cw))
    ys, xs = np.mgrid[0:ch, 0:cw]
    uu = xs + 0.5 - u0
    s = np.where(uu < 0, uu / fr.wl, uu / fr.wr)
    rgb = fabric(s, (ys + 0.5) / fr.h, PALETTE[colour], "plain", rng)
    canvas = np.dstack([rgb, alpha * 255]).astype(np.float32)
    # 2) rotate by roll about the nose point, 3) offset so the nose lands on landmark 27.
    # Rotation by the roll angle = the matrix whose columns are the face axes (e, d); the
    # offset puts the canvas nose point (u0, 0) on landmark 27, i.e. the mask's top-left
    # sits at (o_x, o_y) = -R @ (u0, 0) from the nose.
    rot = np.column_stack([fr.e, fr.d])
    M = np.hstack([rot, (np.asarray(fr.origin) - rot @ np.array([u0, 0.0]))[:, None]])
    h, w = shape[:2]
    warped = cv2.warpAffine(
        canvas,
        M,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    return Layer(
        warped[..., :3],
        warped[..., 3] / 255.0,
        polygon_area(poly),
        "awfm_side" if side else "awfm_front",
        colour,
    )
