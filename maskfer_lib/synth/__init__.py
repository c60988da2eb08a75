"""SynthFACS: procedural faces with FACS expressions and 68 ground-truth landmarks.

The embedded default dataset of the compendium (design: ``docs/design.md``). Public API::

    generate(n_per_class, size=128, classes=CLASSES_7, seed=0, grayscale=False, pose="kdef")
    split_by_identity(ds, fractions=(0.7, 0.15, 0.15), seed=0)
    write_imagefolder(root, ds_or_splits)
    plan(...) / render_face(params, size)   # re-create any single face
    class_grid(ds), landmark_grid(ds)       # figures
    benchmark(n, size), baseline_accuracy(...)
"""

from maskfer_lib.synth.aus import (
    AU_NAMES,
    AU_TABLE,
    PROTOTYPES,
    apply_aus,
    au_landmarks,
    sample_aus,
)
from maskfer_lib.synth.generate import (
    CLASSES_3,
    CLASSES_4,
    CLASSES_7,
    EXPANSION,
    MAP_7_TO_3,
    benchmark,
    generate,
    plan,
    render_plan,
    split_by_identity,
)
from maskfer_lib.synth.pose import YAW_BIN_NAMES, YAW_BINS
from maskfer_lib.synth.render import FaceParams, render_face
from maskfer_lib.synth.shape import MEAN_SHAPE, REGIONS

__all__ = [
    "AU_NAMES", "AU_TABLE", "PROTOTYPES", "apply_aus", "au_landmarks", "sample_aus",
    "CLASSES_3", "CLASSES_4", "CLASSES_7", "EXPANSION", "MAP_7_TO_3", "benchmark", "generate",
    "plan", "render_plan", "split_by_identity", "YAW_BIN_NAMES", "YAW_BINS", "FaceParams",
    "render_face", "MEAN_SHAPE", "REGIONS", "class_grid", "landmark_grid", "write_imagefolder",
    "baseline_accuracy",
]  # fmt: skip

# Figures, file output and the difficulty baseline pull in matplotlib / scikit-learn, so they
# are imported on first use rather than with the generator.
_LAZY = {
    "class_grid": "figures",
    "landmark_grid": "figures",
    "write_imagefolder": "io",
    "baseline_accuracy": "difficulty",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
