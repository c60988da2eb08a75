"""How hard SynthFACS is: a HOG + linear classifier baseline, unmasked and lower-half hidden.

The papers' premise is that a mask hides the mouth AUs; :func:`occlude_lower_half` zeroes
every row below the nose base (landmark 33, per face) as a crude mask, and the baseline's
accuracy should fall clearly.
"""

from __future__ import annotations

import numpy as np

from maskfer_lib.records import FaceDataset
from maskfer_lib.synth.generate import generate, split_by_identity


def occlude_lower_half(ds: FaceDataset) -> np.ndarray:
    """Images with every row below landmark 33 (nose base) set to 0 (a copy)."""
    if ds.landmarks is None:
        raise ValueError("occlude_lower_half needs landmarks (SynthFACS provides them)")
    out = ds.images.copy()
    h = out.shape[1]
    for i in range(len(out)):
        y = int(np.clip(np.ceil(ds.landmarks[i, 33, 1]), 0, h))
        out[i, y:] = 0
    return out


def hog_features(images: np.ndarray, size: int = 64) -> np.ndarray:
    """HOG descriptors (skimage) of grey versions of ``images`` resized to ``size``."""
    import cv2
    from skimage.feature import hog

    feats = []
    for img in images:
        g = img[..., 0] if img.shape[-1] == 1 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        if g.shape[0] != size:
            g = cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA)
        feats.append(
            hog(
                g,
                orientations=9,
                pixels_per_cell=(8, 8),
                cells_per_block=(2, 2),
                feature_vector=True,
            )
        )
    return np.asarray(feats, np.float32)


def baseline_accuracy(
    n_per_class: int = 300,
    size: int = 64,
    seed: int = 0,
    pose: str = "kdef",
    ds: FaceDataset | None = None,
) -> dict[str, float]:
    """Test accuracy of HOG + LinearSVC on an identity-disjoint 70/15/15 split.

    Returns ``{"unmasked": acc, "lower_half_occluded": acc, "chance": 1/K, "n_train": ..,
    "n_test": ..}``; the occluded model is trained and tested on occluded faces.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if ds is None:
        ds = generate(n_per_class, size=size, seed=seed, pose=pose)
    parts = split_by_identity(ds, seed=seed)
    tr, te = parts["train"], parts["test"]
    out = {"chance": 1.0 / ds.num_classes, "n_train": float(len(tr)), "n_test": float(len(te))}
    for name, get in (
        ("unmasked", lambda d: d.images),
        ("lower_half_occluded", occlude_lower_half),
    ):
        clf = make_pipeline(StandardScaler(), LinearSVC(C=0.01, max_iter=5000))
        clf.fit(hog_features(get(tr), size), tr.labels)
        out[name] = float((clf.predict(hog_features(get(te), size)) == te.labels).mean())
    return out
