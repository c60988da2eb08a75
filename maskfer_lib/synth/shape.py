"""The 3-D face model behind SynthFACS: a hand-built mean iBUG-68 shape and identities.

Coordinates (model units, the face is about 2 units wide):
    x to the image's right for a frontal face (iBUG point 0 sits at x = -1),
    y up (the eye line is y = 0, the chin y ~ -1.55),
    z towards the camera (the head's vertical axis is x = z = 0, the nose tip z ~ 1.3).

Landmark order is the iBUG 300-W 68-point scheme (0-based):
    jaw 0-16 (image left -> right), brows 17-21 and 22-26 (each outer/inner ->, left to right),
    nose bridge 27-30 (top -> tip), nostril base 31-35 (left -> right),
    eyes 36-41 (image-left eye, clockwise from the outer corner) and 42-47 (image-right eye,
    clockwise from the inner corner), outer lips 48-59 (clockwise from the left corner),
    inner lips 60-67 (clockwise from the left corner).

Jaw points are stored with an angle ``JAW_PHI`` around the head's vertical axis so that the
pose code can slide far-side points onto the visible silhouette (the 300W-LP / 3DDFA
"landmark marching" convention: jaw landmarks lie on the visible face contour).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_LANDMARKS = 68
JAW = np.arange(0, 17)
BROW_L, BROW_R = np.arange(17, 22), np.arange(22, 27)
NOSE_BRIDGE, NOSE_BASE = np.arange(27, 31), np.arange(31, 36)
EYE_L, EYE_R = np.arange(36, 42), np.arange(42, 48)
MOUTH_OUTER, MOUTH_INNER = np.arange(48, 60), np.arange(60, 68)
REGIONS = {
    "jaw": JAW,
    "brows": np.arange(17, 27),
    "nose": np.arange(27, 36),
    "eyes": np.arange(36, 48),
    "mouth": np.arange(48, 68),
}
"""Landmark index groups (used for colouring plots and for tests)."""

# Jaw points lie on horizontal cross-section ellipses centred on the head's vertical axis
# (x = 0, z = JAW_ZC): x = w sin(phi), z = JAW_ZC + d cos(phi). The ramus (0-4) sits well
# behind the face so that the ear and the jaw angle look right in three-quarter views.
JAW_ZC = -0.3
JAW_PHI = np.radians([-80, -76, -71, -65, -57, -46, -33, -17, 0, 17, 33, 46, 57, 65, 71, 76, 80])
_JAW_Y = np.array([0.0, -0.27, -0.54, -0.80, -1.04, -1.26, -1.42, -1.51, -1.55])
_JAW_W = np.array([1.00, 1.00, 0.99, 0.97, 0.95, 0.96, 0.93, 0.90, 0.90])
_JAW_D = np.array([1.15, 1.20, 1.20, 1.25, 1.30, 1.30, 1.30, 1.26, 1.26])


def _left_half() -> dict[int, tuple[float, float, float]]:
    """Image-left (x <= 0) landmarks of the mean face; the right half is mirrored."""
    pts = {}
    for j in range(9):
        phi = JAW_PHI[j]
        pts[j] = (_JAW_W[j] * np.sin(phi), _JAW_Y[j], JAW_ZC + _JAW_D[j] * np.cos(phi))
    pts.update(
        {
            17: (-0.80, 0.22, 0.55),
            18: (-0.64, 0.31, 0.72),
            19: (-0.46, 0.345, 0.82),
            20: (-0.29, 0.325, 0.89),
            21: (-0.13, 0.28, 0.93),
            27: (0.0, 0.10, 0.90),
            28: (0.0, -0.10, 1.01),
            29: (0.0, -0.29, 1.13),
            30: (0.0, -0.48, 1.28),
            31: (-0.19, -0.60, 1.00),
            32: (-0.10, -0.64, 1.08),
            33: (0.0, -0.66, 1.12),
            36: (-0.64, 0.0, 0.62),
            37: (-0.52, 0.076, 0.72),
            38: (-0.33, 0.08, 0.78),
            39: (-0.21, 0.0, 0.79),
            40: (-0.33, -0.044, 0.78),
            41: (-0.52, -0.048, 0.72),
            48: (-0.38, -0.99, 0.88),
            49: (-0.25, -0.925, 1.00),
            50: (-0.10, -0.88, 1.07),
            51: (0.0, -0.895, 1.08),
            57: (0.0, -1.145, 1.05),
            58: (-0.11, -1.135, 1.04),
            59: (-0.245, -1.085, 0.99),
            60: (-0.33, -0.99, 0.90),
            61: (-0.11, -0.975, 1.03),
            62: (0.0, -0.98, 1.04),
            66: (0.0, -0.995, 1.04),
            67: (-0.11, -0.995, 1.03),
        }
    )
    return pts


# Mirror pairs (image left <-> right) of the iBUG scheme.
MIRROR = np.array(
    list(range(16, -1, -1))
    + list(range(26, 16, -1))
    + [27, 28, 29, 30, 35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]
    + [64, 63, 62, 61, 60, 67, 66, 65]
)


def _build_mean() -> np.ndarray:
    left = _left_half()
    mean = np.full((N_LANDMARKS, 3), np.nan)
    for i, p in left.items():
        mean[i] = p
        m = MIRROR[i]
        mean[m] = (-p[0], p[1], p[2])
    assert not np.isnan(mean).any(), "mean shape incomplete"
    return mean


MEAN_SHAPE = _build_mean()
"""(68, 3) float64 mean face in model units (see module docstring)."""

SIDE = np.sign(np.round(MEAN_SHAPE[:, 0], 3))
"""-1 for image-left landmarks, +1 for image-right, 0 on the midline (for outward moves)."""

SKIN_PALETTE = np.array(
    [
        (255, 226, 206),
        (244, 203, 178),
        (230, 180, 148),
        (209, 153, 116),
        (178, 122, 86),
        (140, 94, 64),
        (104, 68, 46),
        (74, 48, 34),
    ],
    dtype=np.float32,
)
HAIR_COLOURS = np.array(
    [
        (25, 20, 18),
        (45, 32, 24),
        (78, 52, 34),
        (120, 82, 50),
        (176, 138, 86),
        (200, 170, 112),
        (140, 64, 34),
        (150, 148, 146),
        (212, 210, 205),
    ],
    dtype=np.float32,
)
HAIR_COLOUR_P = np.array([0.24, 0.22, 0.17, 0.1, 0.07, 0.05, 0.05, 0.06, 0.04])
EYE_COLOURS = np.array(
    [(58, 36, 24), (92, 60, 36), (120, 92, 50), (78, 110, 70), (70, 110, 160), (110, 125, 140)],
    dtype=np.float32,
)
EYE_COLOUR_P = np.array([0.35, 0.25, 0.12, 0.08, 0.12, 0.08])
HAIR_STYLES = ("bald", "short", "medium", "long", "fringe", "bob")
HAIR_STYLE_P = np.array([0.08, 0.3, 0.18, 0.18, 0.12, 0.14])


@dataclass
class Identity:
    """One synthetic person: a neutral 3-D shape plus appearance.

    ``shape`` is the (68, 3) neutral landmark set; jaw cross-sections ``jaw_w``/``jaw_d``
    (17,) let the pose code move far-side jaw points onto the silhouette.
    """

    id: int
    shape: np.ndarray
    jaw_w: np.ndarray  # cross-section half-widths of the jaw points
    jaw_d: np.ndarray  # cross-section depths (from JAW_ZC) of the jaw points
    skin: np.ndarray
    lip: np.ndarray
    hair: np.ndarray
    brow: np.ndarray
    iris: np.ndarray
    hair_style: str
    hairline: float
    hair_volume: float
    cranium: np.ndarray  # (a, b, c, y0, z0): semi-axes and centre of the skull ellipsoid
    brow_thick: float
    iris_r: float
    clothes: np.ndarray
    neck_w: float
    ear: float
    stubble: float


def sample_identity(identity_id: int, rng: np.random.Generator) -> Identity:
    """Draw one identity: shape perturbations of the mean face and its appearance."""
    p = MEAN_SHAPE.copy()
    n = rng.normal
    # Whole-face proportions.
    p[:, 0] *= n(1.0, 0.04)
    low = p[:, 1] < 0
    p[low, 1] *= n(1.0, 0.05)
    # Jaw width (strongest at the gonial angle) and chin shape.
    jaw_scale = n(1.0, 0.05)
    wt = np.clip(-p[JAW, 1] / 1.0, 0, 1) * (1 - np.clip(-p[JAW, 1] - 1.3, 0, 1))
    p[JAW, 0] *= 1 + (jaw_scale - 1) * wt
    chin = np.arange(6, 11)
    p[chin, 0] *= n(1.0, 0.08)
    p[7:10, 1] -= n(0.0, 0.03)
    # Eyes: separation, size, openness, canthal tilt.
    sep, esc, eop, tilt = n(0, 0.025), n(1, 0.07), n(1, 0.12), n(0, 0.018)
    for eye, s in ((EYE_L, -1), (EYE_R, 1)):
        c = p[eye].mean(0)
        p[eye, 0] = c[0] + (p[eye, 0] - c[0]) * esc + s * sep
        p[eye, 1] = c[1] + (p[eye, 1] - c[1]) * esc * eop
        outer = eye[0] if s < 0 else eye[3]
        p[outer, 1] += tilt
    # Brows: height, arch.
    p[17:27, 1] += n(0, 0.03)
    arch = n(0, 0.02)
    p[[19, 24], 1] += arch
    p[[18, 25], 1] += arch * 0.6
    # Nose: length, width, prominence.
    nl = n(0, 0.04)
    p[30:36, 1] -= nl
    p[29, 1] -= nl * 0.5
    p[31:36, 0] *= n(1.0, 0.1)
    p[28:31, 2] += n(0, 0.06) * np.array([0.5, 0.8, 1.0])
    # Mouth: width, lip thickness, height.
    p[48:68, 0] *= n(1.0, 0.06)
    up, lo = max(0.55, n(1, 0.18)), max(0.55, n(1, 0.18))
    upper_outer, lower_outer = [49, 50, 51, 52, 53], [55, 56, 57, 58, 59]
    p[upper_outer, 1] = (
        p[[60, 61, 62, 63, 64], 1].mean()
        + (p[upper_outer, 1] - p[[60, 61, 62, 63, 64], 1].mean()) * up
    )
    p[lower_outer, 1] = (
        p[[64, 65, 66, 67, 60], 1].mean()
        + (p[lower_outer, 1] - p[[64, 65, 66, 67, 60], 1].mean()) * lo
    )
    p[48:68, 1] += n(0, 0.03)
    # Small asymmetric jitter, as no face is perfectly symmetric.
    p += rng.normal(0, 0.006, p.shape)
    p[SIDE == 0, 0] = 0.0

    sin, cos = np.abs(np.sin(JAW_PHI)), np.cos(JAW_PHI)
    jaw_w = np.where(sin > 0.05, np.abs(p[JAW, 0]) / np.maximum(sin, 1e-3), 0.9)
    jaw_d = (p[JAW, 2] - JAW_ZC) / cos

    tone = rng.uniform(0, len(SKIN_PALETTE) - 1)
    k = int(tone)
    f = tone - k
    skin = SKIN_PALETTE[k] * (1 - f) + SKIN_PALETTE[min(k + 1, len(SKIN_PALETTE) - 1)] * f
    skin = np.clip(skin * rng.uniform(0.94, 1.04, 3), 0, 255).astype(np.float32)
    lip_tint = np.array([178, 70, 78], np.float32) * (0.55 + 0.45 * skin.mean() / 255)
    lip = (skin * rng.uniform(0.45, 0.62) + lip_tint * rng.uniform(0.25, 0.4)).astype(np.float32)
    hair = HAIR_COLOURS[rng.choice(len(HAIR_COLOURS), p=HAIR_COLOUR_P)] * rng.uniform(0.85, 1.12, 3)
    hair = np.clip(hair, 0, 255).astype(np.float32)
    style = HAIR_STYLES[rng.choice(len(HAIR_STYLES), p=HAIR_STYLE_P)]
    brow = hair * 0.75 if hair.mean() < 150 else np.minimum(hair * 0.6, skin * 0.55)
    if style == "bald":
        brow = np.minimum(skin * 0.35, HAIR_COLOURS[rng.integers(0, 3)])
    iris = EYE_COLOURS[rng.choice(len(EYE_COLOURS), p=EYE_COLOUR_P)] * rng.uniform(0.85, 1.15)
    clothes = rng.uniform(20, 235, 3).astype(np.float32)
    cranium = np.array([n(1.04, 0.03), n(1.36, 0.04), n(1.12, 0.04), n(0.26, 0.03), n(-0.12, 0.03)])
    return Identity(
        id=int(identity_id),
        shape=p,
        jaw_w=jaw_w,
        jaw_d=jaw_d,
        skin=skin,
        lip=lip,
        hair=hair,
        brow=brow.astype(np.float32),
        iris=np.clip(iris, 0, 255).astype(np.float32),
        hair_style=style,
        hairline=float(rng.uniform(1.0, 1.28)),
        hair_volume=float(rng.uniform(1.03, 1.14)),
        cranium=cranium,
        brow_thick=float(rng.uniform(0.75, 1.35)),
        iris_r=float(rng.uniform(0.088, 0.1)),
        clothes=clothes,
        neck_w=float(rng.uniform(0.6, 0.72)),
        ear=float(rng.uniform(0.9, 1.1)),
        stubble=float(rng.uniform(0.15, 0.45)) if rng.random() < 0.15 else 0.0,
    )
