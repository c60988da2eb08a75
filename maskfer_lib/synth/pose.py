"""Head pose: rotation, silhouette "marching" of far-side contour points, projection.

Conventions (degrees): yaw > 0 turns the nose towards the image's right; pitch > 0 lifts
the chin (nose moves up); roll > 0 turns the face counter-clockwise in the image. The
projection is orthographic with a scale in pixels per model unit (faces are small
relative to the camera distance, as in the KDEF and FER crops).

Yaw bins (KDEF-like): full left, half left, straight, half right, full right at
-50, -25, 0, 25, 50 degrees (+-4 deg jitter). KDEF's are -90, -45, 0, 45, 90; SynthFACS
caps the "full" bins at 50 deg because this drawn face model cannot show a true profile
sensibly (the far eye and half the mouth vanish behind a nose drawn as a line); at 50 deg
the far side is already strongly foreshortened and partly hidden by the nose.
"""

from __future__ import annotations

import numpy as np

YAW_BINS = (-50.0, -25.0, 0.0, 25.0, 50.0)
YAW_BIN_NAMES = ("FL", "HL", "S", "HR", "FR")
PIVOT = np.array([0.0, -0.35, 0.0])
"""Rotation centre in model units (roughly the middle of the head)."""


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """3x3 rotation (model -> camera) for yaw, pitch, roll in degrees."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def march(phi: np.ndarray, w: np.ndarray, d: np.ndarray, yaw: float) -> np.ndarray:
    """Clamp contour angles ``phi`` (radians, around the vertical axis) to the visible side.

    A point on a horizontal cross-section ellipse (half-width ``w``, depth ``d``) that the
    yaw turns away from the camera is moved to the silhouette angle of its ellipse, so that
    far-side contour landmarks follow the visible outline.
    """
    t = np.radians(abs(yaw))
    if t < 1e-6:
        return np.clip(phi, -np.pi / 2, np.pi / 2)
    lim = np.arctan2(w * np.cos(t), d * np.sin(t))  # silhouette angle on the far side
    far = np.sign(yaw)  # yaw > 0 turns the nose right, so the far side is image right
    out = phi.copy()
    if far > 0:
        out = np.minimum(out, lim)
        near_lim = -(np.pi - lim)
        out = np.maximum(out, near_lim)
    else:
        out = np.maximum(out, -lim)
        out = np.minimum(out, np.pi - lim)
    return out


def project(points: np.ndarray, rot: np.ndarray, scale: float, centre: np.ndarray) -> np.ndarray:
    """Orthographic projection of (N, 3) model points to (N, 2) pixel (x, y)."""
    cam = (points - PIVOT) @ rot.T
    out = np.empty((len(points), 2))
    out[:, 0] = centre[0] + scale * cam[:, 0]
    out[:, 1] = centre[1] - scale * cam[:, 1]
    return out


def facing(normals: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Camera-facing component (z) of (N, 3) model-space normals after rotation."""
    return normals @ rot[2]


def sample_pose(
    mode: str, rng: np.random.Generator, bin_index: int | None = None
) -> tuple[float, float, float, int]:
    """Draw (yaw, pitch, roll, yaw_bin) for a pose mode.

    ``kdef``: yaw at one of :data:`YAW_BINS` (``bin_index`` or random) +- 4 deg jitter, pitch
    N(0, 5) and roll N(0, 4) clipped to +-12 / +-10; ``frontal``: yaw, pitch, roll within a
    few degrees of 0 (yaw_bin 2); ``random``: yaw uniform in [-50, 50] (bin = nearest).
    """
    pitch = float(np.clip(rng.normal(0, 5), -12, 12))
    roll = float(np.clip(rng.normal(0, 4), -10, 10))
    if mode == "kdef":
        b = int(rng.integers(len(YAW_BINS))) if bin_index is None else int(bin_index)
        yaw = YAW_BINS[b] + float(rng.uniform(-4, 4))
    elif mode == "frontal":
        b, yaw = 2, float(rng.uniform(-3, 3))
        pitch, roll = pitch * 0.5, roll * 0.5
    elif mode == "random":
        yaw = float(rng.uniform(-50, 50))
        b = int(np.argmin(np.abs(np.array(YAW_BINS) - yaw)))
    else:
        raise ValueError(f"unknown pose mode {mode!r}; valid: 'kdef', 'frontal', 'random'")
    return yaw, pitch, roll, b
