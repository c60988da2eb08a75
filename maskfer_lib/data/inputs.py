"""Model input: a dataset's images as the float array a model takes."""

from __future__ import annotations

import numpy as np

from maskfer_lib.data.images import _resize
from maskfer_lib.records import FaceDataset


def to_model_input(ds_or_images, input_shape) -> np.ndarray:
    """Float32 (N, H, W, C) in [0, 1] at a model's ``input_shape`` (H, W, C).

    Resizes with INTER_AREA when shrinking (INTER_LINEAR when enlarging) and converts
    RGB -> gray (ITU-R 601 luma, as ``cv2.COLOR_RGB2GRAY``) or gray -> RGB (channel copy)
    as the model needs. Accepts a FaceDataset or a uint8 image array.
    """
    import cv2

    images = (
        ds_or_images.images if isinstance(ds_or_images, FaceDataset) else np.asarray(ds_or_images)
    )
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C); got {images.shape}")
    h, w, c = (int(v) for v in input_shape)
    if c not in (1, 3) or images.shape[-1] not in (1, 3):
        raise ValueError(
            f"only 1 or 3 channels are supported; got images {images.shape}, model {input_shape}"
        )
    out = np.empty((len(images), h, w, c), np.float32)
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    for i, img in enumerate(images):
        if img.shape[-1] == 3 and c == 1:
            img = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)[..., None]
        img = _resize(np.ascontiguousarray(img), (h, w))
        if img.shape[-1] == 1 and c == 3:
            img = np.repeat(img, 3, axis=-1)
        out[i] = img
    out /= scale
    return out
