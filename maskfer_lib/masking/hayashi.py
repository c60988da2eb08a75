"""Hayashi et al. (2023): cloth masks in white, black and gray, in equal shares.

They paste masks with the landmark-based method of Anwar & Raychowdhury (MaskTheFace); here
the outline is fitted to the jaw and nose bridge (``geometry.fitted_outline('cloth')``) and
filled with a procedural woven fabric. Equal shares: image ``index`` gets colour
``COLOURS[(index + offset) % 3]`` with a per-dataset random offset, so any n images split
n/3 each (±1).
"""

from __future__ import annotations

import numpy as np

from maskfer_lib.masking.base import Layer
from maskfer_lib.masking.draw import fitted_layer
from maskfer_lib.masking.textures import PALETTE

COLOURS = ("white", "black", "gray")


def draw(
    shape,
    lm,
    rng: np.random.Generator,
    colour: str | None = None,
    index: int = 0,
    offset: int = 0,
    **_,
) -> Layer:
    """Cloth mask layer; ``colour`` overrides the equal-share rotation."""
    colour = colour or COLOURS[(index + offset) % len(COLOURS)]
    # White non-woven vs black/gray woven cloth.
    kind = "plain" if colour == "white" else "cloth"
    return fitted_layer(
        shape, lm, "cloth", PALETTE[colour], kind, rng, mask_type="cloth", colour_name=colour
    )
