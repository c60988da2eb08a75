"""Face geometry from 68 landmarks: a face frame (nose-to-chin axis), yaw/roll estimates and
landmark-fitted mask outlines.

The face frame has its origin at the top of the nose (landmark 27), ``d`` the unit vector
towards the chin (8) and ``e`` perpendicular to it, pointing to the image right for an
upright face. Mask shapes are written in normalised coordinates (s, t): s in [-1, 1] across
the face (scaled separately by the left and right half-widths, which follow yaw) and t along
the nose-chin axis in units of its length ``h`` (0 = top of nose, 1 = chin), so one outline
fits every face, pose and image size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskfer_lib.masking.base import BAD_GEOMETRY, MaskingError


@dataclass(frozen=True)
class FaceFrame:
    """Nose-chin frame of one face (see module docstring)."""

    origin: np.ndarray
    d: np.ndarray
    e: np.ndarray
    h: float
    wl: float
    wr: float

    def to_image(self, s, t) -> np.ndarray:
        """Normalised (s, t) arrays → image (x, y) points, shape (..., 2)."""
        s, t = np.asarray(s, dtype=np.float64), np.asarray(t, dtype=np.float64)
        u = np.where(s < 0, s * self.wl, s * self.wr)
        return self.origin + u[..., None] * self.e + (t * self.h)[..., None] * self.d

    def to_face(self, xy) -> tuple[np.ndarray, np.ndarray]:
        """Image (x, y) points (..., 2) → normalised (s, t)."""
        rel = np.asarray(xy, dtype=np.float64) - self.origin
        u, v = rel @ self.e, rel @ self.d
        return np.where(u < 0, u / self.wl, u / self.wr), v / self.h

    @property
    def roll_deg(self) -> float:
        """In-plane rotation: angle of the nose-chin line from the image vertical (degrees,
        positive = chin towards the image left, i.e. head tilted clockwise on screen)."""
        return float(np.degrees(np.arctan2(-self.d[0], self.d[1])))

    @property
    def yaw_ratio(self) -> float:
        """(wl - wr) / (wl + wr) in [-1, 1]: 0 frontal, > 0 nose towards the image right."""
        return float((self.wl - self.wr) / (self.wl + self.wr))


def face_frame(lm: np.ndarray) -> FaceFrame:
    """The nose-chin frame of a face; :class:`MaskingError` (bad_geometry) if degenerate."""
    lm = np.asarray(lm, dtype=np.float64)
    origin, chin = lm[27], lm[8]
    axis = chin - origin
    h = float(np.linalg.norm(axis))
    if h < 1e-3:
        raise MaskingError(BAD_GEOMETRY, "nose top and chin coincide")
    d = axis / h
    e = np.array([d[1], -d[0]])
    u = (lm - origin) @ e
    # On strongly turned faces the far jaw line runs behind the nose and mouth: the mask
    # must still reach past them, so the half-widths also cover nose/mouth with a margin.
    inner = 1.2 * u[np.r_[30:36, 48:60]]
    wl = float(max(-u[0:5].min(), -inner.min()))
    wr = float(max(u[12:17].max(), inner.max()))
    if wl <= 0.05 * h or wr <= 0.05 * h:
        raise MaskingError(BAD_GEOMETRY, "jaw line does not straddle the nose-chin axis")
    return FaceFrame(origin, d, e, h, wl, wr)


def estimate_yaw(lm: np.ndarray) -> float:
    """Yaw in degrees from the left/right half-width ratio (0 frontal; > 0 = nose towards
    the image right). A coarse geometric estimate: arcsin of the width asymmetry."""
    return float(np.degrees(np.arcsin(np.clip(face_frame(lm).yaw_ratio, -1, 1))))


def _bezier(p0, p1, p2, n=12) -> np.ndarray:
    """Quadratic curve from p0 to p2 that passes through p1 at its middle."""
    c = 2 * np.asarray(p1) - (np.asarray(p0) + np.asarray(p2)) / 2
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t**2 * p2


def fitted_outline(lm: np.ndarray, style: str = "cloth") -> np.ndarray:
    """Mask outline (K, 2) fitted to the landmarks, MaskTheFace-style.

    The lower edge follows the jaw (landmarks 1-15, pushed slightly outward and below the
    chin); the upper edge rises from the cheeks to the nose bridge between landmarks 28 and
    29. Styles change the silhouette: ``cloth`` (jaw-following), ``surgical`` (boxy, straight
    lower edge under the chin), ``n95`` (an ellipse through the outline: a moulded cup),
    ``kn95`` (folded: pointed at nose bridge and chin).
    """
    lm = np.asarray(lm, dtype=np.float64)
    fr = face_frame(lm)
    centre = lm[30] + 0.3 * (lm[33] - lm[30])
    jaw = lm[1:16].copy()
    out = jaw - centre
    jaw += 0.04 * fr.h * out / np.linalg.norm(out, axis=1, keepdims=True)
    # Pull the chin points down so the mask closes under the chin, as worn.
    jaw += (0.05 * fr.h * np.exp(-(((np.arange(15) - 7) / 3.0) ** 2)))[:, None] * fr.d
    bridge = lm[28] + 0.45 * (lm[29] - lm[28])
    # Points the mask must cover whatever the pose: mouth and lower nose, with a margin.
    mc, nc = lm[48:60].mean(axis=0), lm[33]
    must = np.vstack([mc + 1.3 * (lm[48:60] - mc), nc + 1.4 * (lm[30:36] - nc)])
    if style != "n95":
        outline = _fitted_core(lm, style, fr, jaw, bridge)
        # Keep the upper edge below the lower eyelids (tight crops put landmark 1 at eye
        # level, which would lift the mask's corners over the eyes).
        s, t = fr.to_face(outline)
        t_eye = float(fr.to_face(lm[36:48])[1].max()) + 0.04
        outline = fr.to_image(s, np.maximum(t, t_eye))
        return cv2.convexHull(np.vstack([outline, must]).astype(np.float32))[:, 0, :]
    chin = fr.to_image(np.array([0.0]), np.array([1.08]))[0]
    # A moulded cup: an ellipse from the nose bridge to under the chin, along the
    # nose-chin axis, a little narrower than the jaw and shifted with the nose under yaw.
    centre = (bridge + chin) / 2 + 0.25 * (fr.wr - fr.wl) * fr.e
    a, b = 0.46 * (fr.wl + fr.wr), float(np.linalg.norm(chin - bridge)) / 2
    phi = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    pts = centre + np.outer(a * np.cos(phi), fr.e) + np.outer(b * np.sin(phi), fr.d)
    return pts.astype(np.float32)


def _fitted_core(lm, style, fr, jaw, bridge) -> np.ndarray:
    if style == "surgical":
        bottom = fr.to_image(np.array([0.0]), np.array([1.12]))[0]
        left = jaw[3] + 0.5 * (bottom - jaw[3]) @ fr.d * fr.d
        right = jaw[11] + 0.5 * (bottom - jaw[11]) @ fr.d * fr.d
        low_l = bottom - 0.55 * fr.wl * fr.e
        low_r = bottom + 0.55 * fr.wr * fr.e
        lower = np.vstack([jaw[:3], left, low_l, low_r, right, jaw[12:]])
        top = _bezier(jaw[-1], bridge + 0.02 * fr.h * fr.d, jaw[0], 14)[1:-1]
        return np.vstack([lower, top])
    if style == "kn95":
        chin = fr.to_image(np.array([0.0]), np.array([1.1]))[0]
        peak = bridge
        return np.vstack([jaw[:4], chin, jaw[11:], peak])
    if style == "cloth":
        top = _bezier(jaw[-1], bridge, jaw[0], 14)[1:-1]
        return np.vstack([jaw, top])
    raise ValueError(f"unknown outline style {style!r}; use cloth, surgical, n95 or kn95")


def polygon_area(poly: np.ndarray) -> float:
    """Area of a simple polygon (shoelace formula)."""
    x, y = np.asarray(poly, dtype=np.float64).T
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def rasterise(poly: np.ndarray, shape, supersample: int = 4) -> np.ndarray:
    """Anti-aliased alpha (H, W) float32 in [0, 1] of a polygon in image coordinates."""
    h, w = shape[:2]
    canvas = np.zeros((h, w), dtype=np.uint8)
    pts = np.rint(np.asarray(poly, dtype=np.float64) * (1 << supersample)).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 255, lineType=cv2.LINE_AA, shift=supersample)
    return canvas.astype(np.float32) / 255.0
