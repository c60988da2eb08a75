"""What each dataset's folder holds: the layouts quoted by errors, split folder names, and
the check that a folder is there."""

from __future__ import annotations

from pathlib import Path

SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "publictest": "val",
    "test": "test",
    "privatetest": "test",
}
"""Split folder names (lower case) -> split."""

CLASSES_FILE = "classes.txt"
"""Optional file in an ImageFolder dataset's root listing its class names, one a line."""

LAYOUTS = {
    "synthfacs": "nothing: SynthFACS is generated in code (DATA_DIR is not needed)",
    "fer2013": (
        "a folder with Kaggle's train/<class>/*.jpg and validation/<class>/*.jpg (or test/), "
        "or the original fer2013.csv (columns emotion,pixels,Usage; .csv.gz works too)"
    ),
    "imagefolder": (
        "a folder root/<class>/*.png|jpg, or root/<split>/<class>/*.png|jpg with split "
        "folders train/ and optionally val/ (validation/) and test/; class folders carry "
        f"emotion names, or are listed one a line in root/{CLASSES_FILE}"
    ),
    "kdef": "a folder holding KDEF images named like AF01ANFL.JPG (any sub-folders)",
    "rafdb": "RAF-DB basic's folder: list_patition_label.txt (or EmoLabel/) and aligned/",
    "lfwfer": "a folder root/[split/]positive|neutral|negative/*.png|jpg",
}
"""What each dataset name of :func:`load_dataset` expects under ``DATA_DIR``."""


def need_dir(path: Path, what: str, layout: str) -> None:
    """Raise naming ``path`` unless it is a folder (missing, or a file where a folder belongs)."""
    if path.is_dir():
        return
    if path.exists():
        raise NotADirectoryError(
            f"{what} {path} is a file, not a folder; point DATA_DIR at the folder ({layout})"
        )
    raise FileNotFoundError(f"{what} {path} does not exist; check DATA_DIR ({layout})")
