"""Procedural mask fabrics: colours, shading and patterns drawn from face coordinates.

Everything is generated from (s, t) face coordinates (see ``geometry``), so pleats run along
the mask and patterns turn with the head. No image files are used.
"""

from __future__ import annotations

import colorsys

import numpy as np

PALETTE = {
    "white": (236, 236, 232),
    "black": (34, 34, 38),
    "gray": (128, 128, 132),
    "surgical_blue": (118, 170, 214),
    "light_blue": (170, 205, 235),
    "navy": (40, 52, 92),
    "pink": (230, 165, 185),
    "green": (90, 150, 110),
    "beige": (215, 195, 165),
    "red": (175, 45, 50),
}

FABRICS = ("plain", "cloth", "pleats", "stripes", "dots", "checks")


def jitter_colour(
    rgb,
    rng: np.random.Generator,
    hue: float = 0.02,
    sat: tuple[float, float] = (0.7, 1.3),
    val: tuple[float, float] = (0.8, 1.12),
) -> tuple[float, float, float]:
    """Randomise hue (± ``hue`` turns), saturation and brightness (multipliers) of a colour —
    Çelik & Gören's proposed 'saturation randomisation' against colour bias."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    h = (h + rng.uniform(-hue, hue)) % 1.0
    s = float(np.clip(s * rng.uniform(*sat), 0, 1))
    v = float(np.clip(v * rng.uniform(*val), 0.05, 1))
    return tuple(255.0 * c for c in colorsys.hsv_to_rgb(h, s, v))


def fabric(
    s: np.ndarray,
    t: np.ndarray,
    colour,
    kind: str = "plain",
    rng: np.random.Generator | None = None,
    second=None,
    px: float = 1.0,
) -> np.ndarray:
    """RGB float (…, 3) fabric at face coordinates (s, t).

    ``kind`` is one of :data:`FABRICS`; ``second`` is the pattern's second colour; ``px`` the
    size of one pixel in t-units (so fine textures do not alias on small images).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    base = np.asarray(colour, dtype=np.float32)
    other = np.asarray(second if second is not None else PALETTE["white"], dtype=np.float32)
    weight = np.zeros(s.shape, dtype=np.float32)
    if kind == "stripes":
        weight = (np.sin(2 * np.pi * t * 7) > 0.3).astype(np.float32)
    elif kind == "dots":
        fs, ft = (s * 4.5) % 1 - 0.5, (t * 7) % 1 - 0.5
        weight = ((fs**2 + ft**2) < 0.06).astype(np.float32)
    elif kind == "checks":
        weight = ((np.floor(s * 4) + np.floor(t * 6)) % 2).astype(np.float32)
    rgb = base * (1 - weight[..., None]) + other * weight[..., None]
    # Rounded surface: darker towards the sides and the lower edge.
    shade = 1.0 - 0.22 * np.clip(s, -1.2, 1.2) ** 2 - 0.08 * np.clip(t - 0.6, 0, 1)
    if kind == "pleats":
        # Three horizontal folds between the nose and the chin.
        shade = shade - 0.12 * np.clip(np.sin(2 * np.pi * (t - 0.3) * 3.3), 0, 1) ** 4 * (
            (t > 0.3) & (t < 0.95)
        )
    rgb = rgb * shade[..., None]
    if kind == "cloth":
        # Weave grain: per-pixel noise scaled so it stays visible but small.
        rgb = rgb + rng.normal(0, 7.0, size=s.shape)[..., None]
        rgb = rgb * (1 - 0.05 * (np.sin(2 * np.pi * t / max(px, 1e-3) / 3) > 0))[..., None]
    return np.clip(rgb, 0, 255).astype(np.float32)
