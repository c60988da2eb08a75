"""A procedural template family: surgical, cloth, N95, KN95 and patterned masks.

Every template is an outline fitted to the landmarks plus a fabric, both drawn in code.
Colours are jittered in hue, saturation and brightness (the randomisation Çelik & Gören
propose as future work against colour bias).
"""

from __future__ import annotations

import numpy as np

from maskfer_lib.masking.base import Layer
from maskfer_lib.masking.draw import fitted_layer
from maskfer_lib.masking.textures import PALETTE, jitter_colour

# mask type -> (outline style, fabric, colour choices)
TEMPLATES = {
    "surgical": ("surgical", "pleats", ("white", "surgical_blue", "light_blue")),
    "cloth": ("cloth", "cloth", ("black", "gray", "navy", "pink", "green", "beige", "red")),
    "n95": ("n95", "plain", ("white", "beige")),
    "kn95": ("kn95", "plain", ("white", "black", "pink")),
    "patterned": (
        "cloth",
        ("stripes", "dots", "checks"),
        ("navy", "red", "green", "pink", "black"),
    ),
}
MASK_TYPES = tuple(TEMPLATES)


def draw(
    shape,
    lm,
    rng: np.random.Generator,
    mask_type: str | None = None,
    colour: str | None = None,
    pattern: str | None = None,
    jitter: bool = True,
    **_,
) -> Layer:
    """Template layer; unset ``mask_type``/``colour``/``pattern`` are drawn from ``rng``."""
    if mask_type is None:
        mask_type = MASK_TYPES[int(rng.integers(len(MASK_TYPES)))]
    if mask_type not in TEMPLATES:
        raise ValueError(f"unknown mask_type {mask_type!r}; choose one of {MASK_TYPES}")
    style, kind, colours = TEMPLATES[mask_type]
    colour = colour or colours[int(rng.integers(len(colours)))]
    if isinstance(kind, tuple):
        kind = pattern or kind[int(rng.integers(len(kind)))]
    rgb = PALETTE[colour]
    if jitter:
        rgb = jitter_colour(rgb, rng)
    second = PALETTE["white"] if colour != "white" else PALETTE["navy"]
    label = f"{mask_type}_{kind}" if mask_type == "patterned" else mask_type
    return fitted_layer(
        shape, lm, style, rgb, kind, rng, second=second, mask_type=label, colour_name=colour
    )
