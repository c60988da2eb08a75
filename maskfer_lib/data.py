"""Dataset loaders, class maps, splits and model inputs — every source becomes a FaceDataset.

Formats (each returns :class:`~maskfer_lib.records.FaceDataset`, or a dict split -> dataset):
    ImageFolder   ``root/[split/]class/*.png|jpg``                     :func:`load_imagefolder`
    FER2013 csv   ``emotion,pixels,Usage`` (also ``.csv.gz``)           :func:`load_fer2013_csv`
    FER2013 dirs  Kaggle ``train/``, ``validation/`` (or ``test/``)     :func:`load_fer2013_folder`
    KDEF          file names such as ``AF01ANFL.JPG``                   :func:`load_kdef`
    RAF-DB basic  ``list_patition_label.txt`` + ``aligned/`` images     :func:`load_rafdb`
    LFW-FER       ``[split/]positive|neutral|negative/*``               :func:`load_lfwfer`

Seven-class sources use one canonical order, :data:`CLASSES_7` (the Kaggle FER2013 folder
order Çelik & Gören trained on), so a model trained on one source can be scored on another.

Bad input never passes silently: a missing or empty folder, a file where a folder belongs
(or the reverse), an empty, header-only or binary csv, a csv with the wrong columns or
unknown ``Usage`` values, an unknown class folder (``happyy``: the closest known name is
suggested), images of mixed sizes without ``size=``, an unreadable or zero-byte image, or
too few images per class to carve a split raises an error naming the file and the fix (a
:class:`DataFormatError`, which is a ValueError, or FileNotFoundError / NotADirectoryError /
IsADirectoryError for paths). With ``on_error="skip"`` unreadable images are skipped, logged
and counted in ``ds.meta["skipped"]`` (list of ``(path, reason)``). A split lacking a class
that the dataset has (e.g. a ``validation/`` folder without ``sad/``) is not an error: it is
logged, warned about and recorded in that split's ``meta["missing_classes"]``.

Class folders must carry emotion names (:data:`SYNONYMS`: ``angry``, ``Happiness``, ``normal``
...), unless the caller lists the classes: ``class_names=`` for :func:`load_imagefolder`, or
a ``classes.txt`` (one name a line, in label order) in the dataset folder for
:func:`load_dataset`. :func:`check_dataset` runs the loaders' checks on folder listings and a
csv's first rows only, decoding no image, so a runner can refuse bad input before any work.

Splits: :func:`stratified_split`, :func:`identity_split` (no person in two splits),
:func:`kfold_indices` (Putro's 10-fold CV). :func:`load_dataset` gives every notebook
``{"train", "val", "test"}`` for a dataset name; :func:`to_model_input` turns a dataset into
the float array a model takes.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import math
import os
import re
import warnings
import zlib
from pathlib import Path

import numpy as np

from maskfer_lib.labels import CLASSES_3, CLASSES_4, CLASSES_7, MAP_7_TO_3  # noqa: F401 - re-exported
from maskfer_lib.records import FaceDataset

log = logging.getLogger(__name__)

SYNONYMS = {
    "anger": "angry",
    "angry": "angry",
    "an": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "di": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "af": "fear",
    "happy": "happy",
    "happiness": "happy",
    "ha": "happy",
    "neutral": "neutral",
    "normal": "neutral",
    "ne": "neutral",
    "sad": "sad",
    "sadness": "sad",
    "sa": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "su": "surprise",
    "positive": "positive",
    "negative": "negative",
}
"""Spellings seen in FER datasets -> canonical name (KDEF's two-letter codes included)."""

CLASS_MAPS = {
    # Yang et al. publish no 7 -> 3 map; see maskfer_lib.labels for the valence grouping
    # used. Pass a dict to map_classes to choose otherwise.
    "yang3": MAP_7_TO_3,
    # Hayashi et al. keep angry, happy, normal (neutral) and surprised and drop the rest
    # (masks hide the mouth that separates fear from surprise).
    "hayashi4": {"angry": "angry", "happy": "happy", "neutral": "neutral", "surprise": "surprise"},
}
"""Named class maps for :func:`map_classes` (classes absent from a map are dropped)."""

CLASS_MAP_ORDER = {"yang3": CLASSES_3, "hayashi4": CLASSES_4}

FER2013_CODES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""FER2013 csv ``emotion`` codes 0..6."""
FER2013_USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
RAFDB_CODES = ("surprise", "fear", "disgust", "happy", "sad", "angry", "neutral")
"""RAF-DB basic labels 1..7 (surprise, fear, disgust, happiness, sadness, anger, neutral)."""
KDEF_ANGLES = {"FL": -90.0, "HL": -45.0, "S": 0.0, "HR": 45.0, "FR": 90.0}
"""KDEF angle codes -> yaw in degrees (full/half left negative, as in SynthFACS' pose bins)."""
_KDEF_RE = re.compile(r"^([AB])([FM])(\d{2})(AF|AN|DI|HA|NE|SA|SU)(FL|HL|S|HR|FR)$", re.IGNORECASE)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
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


CLASSES_FILE = "classes.txt"
"""Optional file in an ImageFolder dataset's root listing its class names, one a line."""
IMAGE_SIZE_ENV = "MASKFER_IMAGE_SIZE"
"""Environment variable giving :func:`load_dataset` a resize size (``128`` or ``128x96``)
when the caller passes none; how ``make reproduce`` runs on photos of mixed sizes."""

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


class DataFormatError(ValueError):
    """Input that is not in the format its loader reads; the message names the path and fix."""


class MixedSizeError(DataFormatError):
    """Images of different sizes were loaded without ``size=``."""


class TooFewImagesError(DataFormatError):
    """A class has too few images for a stratified split; the message says how many it needs."""


# --------------------------------------------------------------------------- names


def canonical_class(name: str) -> str:
    """The canonical spelling of an emotion name (``"Happiness"`` -> ``"happy"``).

    Raises ValueError listing the known names when ``name`` is not one.
    """
    key = str(name).strip().lower()
    if key not in SYNONYMS:
        raise ValueError(
            f"unknown class name {name!r}; known: {sorted(set(SYNONYMS.values()))} "
            f"(and spellings {sorted(SYNONYMS)}). Rename the folder or pass class_names=."
        )
    return SYNONYMS[key]


def map_classes(ds: FaceDataset, mapping: str | dict) -> FaceDataset:
    """Relabel ``ds`` with a class map; images of classes the map leaves out are dropped.

    ``mapping`` is ``"yang3"`` (7 -> positive/neutral/negative), ``"hayashi4"`` (7 -> angry,
    happy, neutral, surprise) or a dict ``{old name: new name}``. Source class names are
    matched through :data:`SYNONYMS`. The result keeps all metadata of the kept images;
    ``meta["class_map"]`` records the map.
    """
    if isinstance(mapping, str):
        if mapping not in CLASS_MAPS:
            raise ValueError(f"unknown class map {mapping!r}; choose one of {sorted(CLASS_MAPS)}")
        order = CLASS_MAP_ORDER[mapping]
        name = mapping
        mapping = CLASS_MAPS[mapping]
    else:
        mapping = {str(k): str(v) for k, v in mapping.items()}
        order = tuple(dict.fromkeys(mapping.values()))
        name = "custom"
    norm = {}
    for k, v in mapping.items():
        try:
            norm[canonical_class(k)] = v
        except ValueError:
            norm[k] = v
    new_label = np.full(ds.num_classes, -1, dtype=np.int64)
    for i, c in enumerate(ds.class_names):
        try:
            key = canonical_class(c)
        except ValueError:
            key = c
        if key in norm:
            new_label[i] = order.index(norm[key])
    if (new_label < 0).all():
        raise ValueError(
            f"class map {name!r} matches none of this dataset's classes {ds.class_names}"
        )
    keep = new_label[ds.labels] >= 0
    out = ds.subset(np.flatnonzero(keep))
    out.labels = new_label[out.labels]
    out.class_names = tuple(order)
    out.meta = {**out.meta, "class_map": name, "dropped_by_class_map": int((~keep).sum())}
    return out


def _closest(name: str, choices) -> str | None:
    """The choice closest to ``name`` (difflib, case-insensitive), or None when none is close."""
    by_lower = {str(c).lower(): str(c) for c in choices}
    hit = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[hit[0]] if hit else None


def _did_you_mean(name: str, choices) -> str:
    hit = _closest(name, choices)
    return f" (did you mean {hit!r}?)" if hit else ""


def _known_class(name: str) -> bool:
    return str(name).strip().lower() in SYNONYMS


def _unknown_class_folders_error(folder: Path, unknown: list[str], known, explicit: bool):
    """The error for class folders that are not known class names, with a suggestion each."""
    listed = ", ".join(f"{folder / u}{_did_you_mean(u, known)}" for u in unknown)
    if explicit:
        fix = "rename or remove the folder(s), or pass the full class list"
        return DataFormatError(
            f"{folder} has class folder(s) {unknown} not in class_names {tuple(known)}: "
            f"{listed}; {fix}"
        )
    names = ", ".join(dict.fromkeys(SYNONYMS.values()))
    return DataFormatError(
        f"unknown class name{'s' if len(unknown) > 1 else ''} "
        f"{', '.join(repr(u) for u in unknown)} in {folder}: {listed}. "
        f"Known class names: {names} (other spellings such as Happiness, anger, normal "
        "are read too: maskfer_lib.data.SYNONYMS). Rename the "
        "folder(s) to a known name, or, for your own classes, pass class_names=[...] "
        f"(load_dataset / make reproduce: list them one a line in <DATA_DIR>/{CLASSES_FILE})"
    )


# --------------------------------------------------------------------------- paths


def _need_dir(path: Path, what: str, layout: str) -> None:
    """Raise naming ``path`` unless it is a folder (missing, or a file where a folder belongs)."""
    if path.is_dir():
        return
    if path.exists():
        raise NotADirectoryError(
            f"{what} {path} is a file, not a folder; point DATA_DIR at the folder ({layout})"
        )
    raise FileNotFoundError(f"{what} {path} does not exist; check DATA_DIR ({layout})")


# --------------------------------------------------------------------------- images


def _read_image(path: Path, grayscale: bool) -> np.ndarray:
    import cv2

    buf = np.fromfile(str(path), dtype=np.uint8)  # imdecode copes with non-ASCII paths
    if buf.size == 0:
        # imdecode asserts on an empty buffer (a cv2.error, not None): a failed copy or download.
        raise OSError("empty file (0 bytes)")
    try:
        img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR)
    except cv2.error as e:
        raise OSError(f"OpenCV cannot decode it ({str(e).strip().splitlines()[-1]})") from None
    if img is None:
        raise OSError("not a readable image (corrupt or not an image format OpenCV reads)")
    if grayscale:
        return img[..., None]
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _resize(img: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Resize (H, W, C) uint8/float: INTER_AREA to shrink, INTER_LINEAR to enlarge."""
    import cv2

    h, w = hw
    if img.shape[:2] == (h, w):
        return img
    shrink = h * w < img.shape[0] * img.shape[1]
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return out[..., None] if out.ndim == 2 else out


def _center_square(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return img[y : y + s, x : x + s]


def _as_hw(size) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int):
        return (size, size)
    return (int(size[0]), int(size[1]))


def _load_images(paths, grayscale, size, on_error, source, crop=None):
    """Read images; returns (stack, kept index, skipped list)."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r}")
    hw = _as_hw(size)
    imgs, kept, skipped = [], [], []
    first_shape = first_path = None
    for i, p in enumerate(paths):
        try:
            img = _read_image(p, grayscale)
        except OSError as e:
            if on_error == "raise":
                raise ValueError(
                    f"cannot read image {p}: {e}. Delete or replace the file, or load with "
                    "on_error='skip' to skip and count unreadable images."
                ) from None
            skipped.append((str(p), str(e)))
            continue
        if crop == "center":
            img = _center_square(img)
        if hw is not None:
            img = _resize(img, hw)
        elif first_shape is None:
            first_shape, first_path = img.shape, p
        elif img.shape != first_shape:
            raise MixedSizeError(
                f"images differ in size: {p} is {img.shape[1]}x{img.shape[0]} but {first_path} "
                f"is {first_shape[1]}x{first_shape[0]} (width x height); pass size=(H, W) to "
                f"resize on load (load_dataset(..., size=128); make reproduce: "
                f"{IMAGE_SIZE_ENV}=128), or resize the images to one size first"
            )
        imgs.append(img)
        kept.append(i)
    if skipped:
        log.warning(
            "%s: skipped %d unreadable image(s) of %d (first: %s — %s)",
            source,
            len(skipped),
            len(paths),
            skipped[0][0],
            skipped[0][1],
        )
        warnings.warn(
            f"{source}: skipped {len(skipped)} unreadable image(s); see ds.meta['skipped']",
            stacklevel=3,
        )
    if not imgs:
        raise ValueError(f"{source}: no readable images ({len(skipped)} unreadable)")
    return np.stack(imgs), np.asarray(kept, dtype=np.int64), skipped


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )


def _other_files(folder: Path) -> list[Path]:
    """Files that are not images (hidden ones such as ``.DS_Store`` aside): read as nothing."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in IMAGE_EXTENSIONS
    )


def _has_image(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() for p in folder.iterdir())


# --------------------------------------------------------------------------- ImageFolder


def _split_folder(root: Path, split: str | None) -> Path:
    """``root`` or ``root/split``, raising naming the path when it is not a folder."""
    _need_dir(root, "dataset folder", LAYOUTS["imagefolder"])
    folder = root / split if split else root
    if not folder.is_dir():
        have = sorted(p.name for p in root.iterdir() if p.is_dir())
        kind = "is a file, not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(
            f"split folder {folder} {kind}; {root} has {have or 'no sub-folders'}"
        )
    return folder


def _class_folders(folder: Path, class_names=None, emotion_names: bool = False):
    """The class folders of ``folder`` checked against the known or given class names.

    Returns ``(class_dirs, {dir: class name}, class_names)``; raises naming the folder on a
    folder without class sub-folders, an unknown class folder or an empty class folder.
    """
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataFormatError(
            f"{folder} has no class sub-folders; expected {folder}/<class>/*.png (ImageFolder)"
        )
    explicit = class_names is not None
    if explicit:
        class_names = tuple(str(c) for c in class_names)
    if emotion_names or not explicit:
        # Without a class list a misspelt folder ("happyy") would silently become a class.
        unknown = [d.name for d in class_dirs if not _known_class(d.name)]
        if unknown:
            raise _unknown_class_folders_error(folder, unknown, SYNONYMS, explicit=False)
    names = {d: (canonical_class(d.name) if emotion_names else d.name) for d in class_dirs}
    if not explicit:
        found = set(names.values())
        # Emotion names follow the canonical 7-class order; anything else sorts by name.
        known = [c for c in CLASSES_7 if c in found] if emotion_names else []
        class_names = tuple(known + sorted(found - set(known)))
    else:
        unknown = sorted({n for n in names.values() if n not in class_names})
        if unknown:
            raise _unknown_class_folders_error(folder, unknown, class_names, explicit=True)
    return class_dirs, names, class_names


def list_imagefolder(folder, class_names=None, emotion_names: bool = False, only_classes=None):
    """``(paths, labels, class_names, ignored)`` of a class-folder tree, without reading a
    pixel: the listing :func:`load_imagefolder` and ``streaming.ImageFolderStream`` share.
    ``ignored`` lists files that are not images (logged as a warning, counted by the caller);
    an empty class folder raises, naming it."""
    folder = Path(folder)
    class_dirs, names, class_names = _class_folders(folder, class_names, emotion_names)
    if only_classes is not None:
        only = {_folder_class(c, emotion_names) for c in only_classes}
        if not only <= set(class_names):
            raise ValueError(f"only_classes {sorted(only - set(class_names))} not in {class_names}")
        class_dirs = [d for d in class_dirs if names[d] in only]
    paths, labels, ignored = [], [], []
    for d in class_dirs:
        files = _image_files(d)
        if not files:
            raise DataFormatError(
                f"class folder {d} holds no images ({', '.join(IMAGE_EXTENSIONS)}); "
                "fill it or remove it"
            )
        paths += files
        labels += [class_names.index(names[d])] * len(files)
        ignored += _other_files(d)
    if ignored:
        log.warning(
            "%s: ignored %d file(s) that are not %s images (first: %s)",
            folder,
            len(ignored),
            "/".join(IMAGE_EXTENSIONS),
            ignored[0],
        )
    return paths, labels, class_names, ignored


def _folder_class(name: str, emotion_names: bool) -> str:
    # A class name as folders match it: canonical (SYNONYMS) when emotion_names.
    return canonical_class(name) if emotion_names else name


def load_imagefolder(
    root,
    split: str | None = None,
    grayscale: bool = False,
    size=None,
    class_names=None,
    emotion_names: bool = False,
    on_error: str = "raise",
    only_classes=None,
) -> FaceDataset:
    """Load ``root/[split/]<class>/*.png|jpg`` into a FaceDataset.

    Args:
        root: dataset folder; ``split`` selects ``root/split`` (e.g. ``"train"``).
        grayscale: load as one channel (else RGB).
        size: ``None`` (all images must share a size, else :class:`MixedSizeError` naming
            two files and their sizes), an int or ``(H, W)`` to resize on load.
        class_names: the classes and their order; folders not listed raise, listed classes
            without a folder have no images (``meta["missing_classes"]``). Default: the
            sorted folder names, which must then be emotion names (:data:`SYNONYMS`), so a
            misspelt folder (``happyy``) raises with the closest known name instead of
            becoming a class of its own.
        emotion_names: map folder names through :data:`SYNONYMS` first (``"Happiness"`` ->
            ``"happy"``), raising on names that are not emotions.
        on_error: ``"raise"`` or ``"skip"`` unreadable images (zero-byte, truncated, not an
            image); skips are logged, warned about and listed in ``meta["skipped"]``.
        only_classes: read only these classes' folders (labels still index ``class_names``),
            e.g. Hayashi's four classes without reading the other three.
    """
    root = Path(root)
    folder = _split_folder(root, split)
    paths, labels, class_names, ignored = list_imagefolder(
        folder, class_names, emotion_names, only_classes
    )
    only = None if only_classes is None else {_folder_class(c, emotion_names) for c in only_classes}
    images, kept, skipped = _load_images(paths, grayscale, size, on_error, str(folder))
    meta = {"source": str(folder), "format": "imagefolder"}
    if skipped:
        meta["skipped"] = skipped
    if ignored:
        meta["ignored_files"] = len(ignored)
    labels = np.asarray(labels)[kept]
    # Classes asked for (all, or only_classes) that ended with no image: no folder, or
    # every image skipped as unreadable.
    present = set(labels.tolist())
    missing = [
        c
        for i, c in enumerate(class_names)
        if i not in present and (only_classes is None or c in only)
    ]
    if missing:
        meta["missing_classes"] = missing
    return FaceDataset(
        images=images,
        labels=labels,
        class_names=class_names,
        paths=[str(paths[i]) for i in kept],
        meta=meta,
    )


# --------------------------------------------------------------------------- FER2013


FER2013_FORMAT = (
    "a FER2013 csv has the header line emotion,pixels,Usage and one row per face: emotion a "
    "code 0..6 (angry, disgust, fear, happy, sad, surprise, neutral), pixels 2304 "
    "space-separated values 0..255 (48x48), Usage Training, PublicTest or PrivateTest "
    "(a csv without the Usage column is read as all Training)"
)
"""The expected csv format, quoted by every error of :func:`load_fer2013_csv`."""
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz", ".7z", ".rar")


def _read_fer2013_table(path: Path, nrows: int | None = None):
    """Read a FER2013 csv (or its first ``nrows`` rows) as a DataFrame with the columns checked.

    Every way a file can fail to be a FER2013 csv (a folder, an archive, zero bytes, a header
    without rows, binary content, missing columns) raises naming the path and the format.
    """
    import pandas as pd

    if path.is_dir():
        raise IsADirectoryError(
            f"FER2013 csv {path} is a folder, not a csv file; point DATA_DIR at fer2013.csv, or "
            "load the folder with load_dataset('fer2013', folder) / load_fer2013_folder when it "
            "holds Kaggle's train/ and validation/ folders"
        )
    if not path.exists():
        raise FileNotFoundError(f"FER2013 csv {path} does not exist; check DATA_DIR")
    if path.name.lower().endswith(_ARCHIVE_SUFFIXES):
        raise DataFormatError(
            f"{path} is an archive, not a csv; extract it and point DATA_DIR at the fer2013.csv "
            "(or the folder with train/ and validation/) inside"
        )
    if path.stat().st_size == 0:
        raise DataFormatError(f"FER2013 csv {path} is empty (0 bytes); {FER2013_FORMAT}")
    try:
        df = pd.read_csv(path, dtype={"pixels": str, "Usage": str}, nrows=nrows)
    except pd.errors.EmptyDataError:
        raise DataFormatError(
            f"FER2013 csv {path} holds no header and no rows; {FER2013_FORMAT}"
        ) from None
    except (UnicodeDecodeError, pd.errors.ParserError, EOFError, OSError, zlib.error) as e:
        # Binary files, a .gz that is not gzip, a truncated .gz: pandas and gzip say so
        # without the path.
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataFormatError(
            f"{path} does not read as a text csv ({type(e).__name__}: {reason[:200]}); it is "
            f"not a FER2013 csv: {FER2013_FORMAT}"
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("emotion", "pixels") if c not in df.columns]
    if missing:
        raise DataFormatError(
            f"{path} has columns {list(df.columns)}, missing {missing}; {FER2013_FORMAT}"
        )
    if df.empty:
        raise DataFormatError(
            f"FER2013 csv {path} has the header {list(df.columns)} but no data rows; "
            f"{FER2013_FORMAT}"
        )
    return df


def _check_fer2013_usage(path: Path, df) -> None:
    usage = df["Usage"].fillna("").astype(str).str.strip()
    bad = usage[~usage.isin(list(FER2013_USAGE))]
    if len(bad):
        # Each unknown value with the row it first appears on; an empty cell shows as ''.
        first = bad.drop_duplicates()
        where = ", ".join(f"{v!r} (row {i + 2})" for i, v in first.items())
        raise DataFormatError(
            f"{path}: unknown Usage values {sorted(first)}: {where}; allowed: "
            f"{', '.join(FER2013_USAGE)} (drop the Usage column to read every row as Training)"
        )
    df["Usage"] = usage


def load_fer2013_csv(path, usage: str | None = None) -> dict[str, FaceDataset]:
    """Load the original ``fer2013.csv`` (``emotion,pixels,Usage``; ``.csv.gz`` too).

    Returns ``{"train", "val", "test"}`` (Training, PublicTest, PrivateTest) for the usages
    present, or only ``usage``'s split when given. Images are 48x48 grayscale (C=1); labels
    are re-indexed into :data:`CLASSES_7`. A file that is not such a csv (empty, header only,
    binary, missing columns, unknown Usage values, bad codes or pixels) raises a
    :class:`DataFormatError` naming the file, the row where it applies, and the format.
    """
    import pandas as pd

    path = Path(path)
    if usage is not None and usage not in FER2013_USAGE and usage not in FER2013_USAGE.values():
        raise ValueError(
            f"usage {usage!r} is not a FER2013 Usage; choose one of {list(FER2013_USAGE)} "
            f"(or a split name {list(FER2013_USAGE.values())})"
        )
    df = _read_fer2013_table(path)
    if "Usage" not in df.columns:
        df["Usage"] = "Training"
    _check_fer2013_usage(path, df)
    codes = pd.to_numeric(df["emotion"], errors="coerce")
    bad = np.flatnonzero(~codes.between(0, 6) | (codes % 1 != 0))
    if len(bad):
        raise DataFormatError(
            f"{path}: row {bad[0] + 2} has emotion {str(df['emotion'].iloc[bad[0]])!r}; "
            "FER2013 codes are 0..6 (angry, disgust, fear, happy, sad, surprise, neutral)"
        )
    pix = df["pixels"].fillna("").str.split()
    lens = pix.str.len().to_numpy()
    wrong = np.flatnonzero(lens != 48 * 48)
    if len(wrong):
        raise DataFormatError(
            f"{path}: row {wrong[0] + 2} has {lens[wrong[0]]} pixel values, expected 2304 "
            "(48x48); the file is truncated or not FER2013"
        )
    try:
        images = np.array(pix.tolist(), dtype=np.int64)
    except ValueError:
        raise DataFormatError(
            f"{path}: non-numeric pixel values; expected space-separated 0..255"
        ) from None
    if images.min() < 0 or images.max() > 255:
        raise DataFormatError(f"{path}: pixel values outside 0..255")
    images = images.astype(np.uint8).reshape(-1, 48, 48, 1)
    remap = np.array([CLASSES_7.index(c) for c in FER2013_CODES])
    labels = remap[codes.to_numpy(np.int64)]
    splits = df["Usage"].map(FER2013_USAGE).to_numpy()
    wanted = [FER2013_USAGE.get(usage, usage)] if usage else list(dict.fromkeys(splits))
    out = {}
    for s in wanted:
        idx = np.flatnonzero(splits == s)
        if not len(idx):
            raise DataFormatError(f"{path} has no rows with Usage for split {s!r}")
        out[s] = FaceDataset(
            images=images[idx],
            labels=labels[idx],
            class_names=CLASSES_7,
            paths=[f"{path}:row{i + 2}" for i in idx],
            meta={"source": str(path), "format": "fer2013_csv"},
        )
    return out


def load_fer2013_folder(root, grayscale: bool = True, size=None, on_error: str = "raise"):
    """Load the Kaggle FER2013 folder layout: ``train/``, ``validation/`` and/or ``test/``.

    Returns ``{"train", "val", "test"}`` for the folders present (``validation`` -> val).
    Folder names are matched through :data:`SYNONYMS` into :data:`CLASSES_7`.
    """
    root = Path(root)
    _need_dir(root, "FER2013 folder", LAYOUTS["fer2013"])
    out = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        key = SPLIT_ALIASES.get(d.name.lower())
        if key is None:
            continue
        out[key] = load_imagefolder(
            root,
            d.name,
            grayscale=grayscale,
            size=size,
            class_names=CLASSES_7,
            emotion_names=True,
            on_error=on_error,
        )
    if "train" not in out:
        raise FileNotFoundError(
            f"{root} has no train/ folder; expected the Kaggle layout train/<class>/*.jpg "
            "(and validation/ or test/)"
        )
    return out


# --------------------------------------------------------------------------- KDEF


def parse_kdef_name(name: str) -> dict:
    """Parse a KDEF file name such as ``AF01ANFL.JPG``.

    Returns ``session`` (A/B), ``sex`` (F/M), ``subject`` (int), ``identity`` (F01 -> 1,
    M01 -> 101: the two sessions of one person share it), ``code`` (AF..SU), ``label``
    (canonical name), ``angle`` (FL/HL/S/HR/FR) and ``yaw`` (degrees).
    """
    stem = Path(name).stem
    m = _KDEF_RE.match(stem)
    if not m:
        raise ValueError(
            f"{name!r} is not a KDEF file name (session A/B, sex F/M, 2-digit id, expression "
            "AF/AN/DI/HA/NE/SA/SU, angle FL/HL/S/HR/FR, e.g. AF01ANFL.JPG)"
        )
    session, sex, sid, code, angle = (g.upper() for g in m.groups())
    return {
        "session": session,
        "sex": sex,
        "subject": int(sid),
        "identity": int(sid) + (100 if sex == "M" else 0),
        "code": code,
        "label": SYNONYMS[code.lower()],
        "angle": angle,
        "yaw": KDEF_ANGLES[angle],
    }


def load_kdef(
    root,
    grayscale: bool = False,
    size=128,
    crop: str | None = "center",
    angles=None,
    on_error: str = "raise",
) -> FaceDataset:
    """Load KDEF (or M-KDEF) images found anywhere under ``root`` by their file names.

    KDEF photos are 562x762 portraits; by default a centred square crop is resized to
    ``size`` (``crop=None`` keeps the whole frame). ``angles`` keeps only some angle codes
    (e.g. ``("S",)`` for frontal). Label, identity and yaw come from the names; files whose
    names do not parse raise (or are skipped and counted with ``on_error="skip"``).
    """
    root = Path(root)
    _need_dir(root, "KDEF folder", LAYOUTS["kdef"])
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not files:
        raise ValueError(f"no images under {root}; expected KDEF files such as AF01ANFL.JPG")
    recs, paths, skipped = [], [], []
    for p in files:
        try:
            r = parse_kdef_name(p.name)
        except ValueError as e:
            if on_error == "raise":
                raise ValueError(f"{p}: {e}; remove it or load with on_error='skip'") from None
            skipped.append((str(p), "not a KDEF file name"))
            continue
        if angles is not None and r["angle"] not in angles:
            continue
        recs.append(r)
        paths.append(p)
    if not recs:
        raise ValueError(f"no KDEF images under {root} match angles={angles}")
    images, kept, unreadable = _load_images(paths, grayscale, size, on_error, str(root), crop=crop)
    recs = [recs[i] for i in kept]
    skipped += unreadable
    if skipped and not unreadable:
        log.warning("%s: skipped %d file(s) with non-KDEF names", root, len(skipped))
    pose = np.zeros((len(recs), 3), np.float32)
    pose[:, 0] = [r["yaw"] for r in recs]
    meta = {
        "source": str(root),
        "format": "kdef",
        "session": np.array([r["session"] for r in recs]),
        "sex": np.array([r["sex"] for r in recs]),
        "angle": np.array([r["angle"] for r in recs]),
    }
    if skipped:
        meta["skipped"] = skipped
    return FaceDataset(
        images=images,
        labels=[CLASSES_7.index(r["label"]) for r in recs],
        class_names=CLASSES_7,
        identity=np.array([r["identity"] for r in recs], dtype=np.int64),
        pose=pose,
        paths=[str(paths[i]) for i in kept],
        meta=meta,
    )


# --------------------------------------------------------------------------- RAF-DB


def _find(root: Path, candidates) -> Path | None:
    for c in candidates:
        if (root / c).exists():
            return root / c
    return None


def load_rafdb(
    root, split: str | None = None, grayscale: bool = False, size=None, on_error: str = "raise"
):
    """Load RAF-DB *basic*: ``list_patition_label.txt`` + the aligned 100x100 images.

    Finds the label list at ``root/`` or ``root/EmoLabel/`` and images in ``root/aligned``
    or ``root/Image/aligned`` (``train_00001.jpg`` is stored as ``train_00001_aligned.jpg``).
    Labels 1..7 (surprise, fear, disgust, happiness, sadness, anger, neutral) are re-indexed
    into :data:`CLASSES_7`. Returns ``{"train", "test"}``, or one dataset when ``split`` is set.
    """
    root = Path(root)
    _need_dir(root, "RAF-DB folder", LAYOUTS["rafdb"])
    lst = _find(root, ["list_patition_label.txt", "EmoLabel/list_patition_label.txt"])
    if lst is None:
        raise FileNotFoundError(
            f"no list_patition_label.txt in {root} or {root / 'EmoLabel'}; point DATA_DIR at "
            "RAF-DB's basic/ folder"
        )
    img_dir = _find(root, ["aligned", "Image/aligned"])
    if img_dir is None:
        raise FileNotFoundError(f"no aligned/ image folder in {root} or {root / 'Image'}")
    names, labels = [], []
    for ln, line in enumerate(lst.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or not 1 <= int(parts[1]) <= 7:
            raise ValueError(
                f"{lst}:{ln}: {line!r} is not '<image name> <label 1..7>' (RAF-DB basic format)"
            )
        names.append(parts[0])
        labels.append(CLASSES_7.index(RAFDB_CODES[int(parts[1]) - 1]))
    splits = np.array([n.split("_")[0] for n in names])
    labels = np.asarray(labels)
    paths = []
    for n in names:
        p = Path(n)
        cand = img_dir / f"{p.stem}_aligned{p.suffix}"
        paths.append(cand if cand.exists() else img_dir / n)
    missing = [p for p in paths if not p.exists()]
    if missing and on_error == "raise":
        raise FileNotFoundError(
            f"{len(missing)} image(s) listed in {lst} are missing from {img_dir}, first "
            f"{missing[0]}; restore them or load with on_error='skip'"
        )
    wanted = [SPLIT_ALIASES.get(split, split)] if split else sorted(set(splits), reverse=True)
    out = {}
    for s in wanted:
        idx = [i for i in np.flatnonzero(splits == s) if paths[i].exists()]
        n_missing = int(np.sum(splits == s)) - len(idx)
        if not idx:
            raise ValueError(f"{lst}: no readable images for split {s!r}")
        images, kept, skipped = _load_images(
            [paths[i] for i in idx], grayscale, size, on_error, str(img_dir)
        )
        skipped = [
            (str(paths[i]), "missing file")
            for i in np.flatnonzero(splits == s)
            if not paths[i].exists()
        ] + skipped
        if n_missing:
            log.warning("%s: %d listed image(s) missing for split %s", img_dir, n_missing, s)
        chosen = [idx[k] for k in kept]
        meta = {"source": str(root), "format": "rafdb"}
        if skipped:
            meta["skipped"] = skipped
        out[s] = FaceDataset(
            images=images,
            labels=labels[chosen],
            class_names=CLASSES_7,
            paths=[str(paths[i]) for i in chosen],
            meta=meta,
        )
    return out[wanted[0]] if split else out


# --------------------------------------------------------------------------- LFW-FER


def load_lfwfer(
    root, split: str | None = None, grayscale: bool = False, size=None, on_error: str = "raise"
):
    """Load the LFW-FER layout: ``root/[split/]{positive,neutral,negative}/*``.

    With split folders present (train/, test/...) and ``split=None`` returns a dict
    split -> dataset; otherwise one dataset with :data:`CLASSES_3`.
    """
    root = Path(root)
    _need_dir(root, "LFW-FER folder", LAYOUTS["lfwfer"])
    subdirs = {p.name.lower(): p.name for p in root.iterdir() if p.is_dir()}
    split_dirs = {SPLIT_ALIASES[k]: v for k, v in subdirs.items() if k in SPLIT_ALIASES}
    kw = dict(grayscale=grayscale, size=size, class_names=CLASSES_3, on_error=on_error)
    if split is not None:
        return load_imagefolder(root, split, **kw)
    if split_dirs:
        return {s: load_imagefolder(root, d, **kw) for s, d in split_dirs.items()}
    return load_imagefolder(root, None, **kw)


# --------------------------------------------------------------------------- splits


def _labels_of(x) -> np.ndarray:
    return x.labels if isinstance(x, FaceDataset) else np.asarray(x)


def _check_fractions(fractions) -> tuple[float, float, float]:
    f = tuple(float(v) for v in fractions)
    if len(f) != 3 or min(f) < 0 or abs(sum(f) - 1) > 1e-6:
        raise ValueError(f"fractions must be (train, val, test) summing to 1; got {fractions}")
    return f


def images_needed_per_class(fractions=(0.7, 0.15, 0.15)) -> int:
    """Images a class needs so that a stratified split into ``fractions`` (train, val, test)
    can give every split with a positive fraction at least one of them (7 for 70/15/15)."""
    f = [v for v in _check_fractions(fractions) if v > 0]
    return 1 if len(f) < 2 else max(2, math.ceil(1 / min(f) - 1e-9))


def _too_few(y, names, fractions, need: int) -> str:
    counts = np.bincount(y, minlength=len(names) if names is not None else 0)
    label = [str(names[i]) if names is not None else f"label {i}" for i in range(len(counts))]
    low = [f"{label[i]!r} has {c}" for i, c in enumerate(counts) if 0 < c < need]
    fr = "/".join(f"{v:.2f}" for v in fractions)
    every = ", ".join(f"{n} {c}" for n, c in zip(label, counts.tolist(), strict=True))
    return (
        f"a stratified train/val/test split ({fr}) needs at least {need} images per class so "
        f"that every split gets each class; too few: {', '.join(low) or 'none'} "
        f"(images per class: {every})"
    )


def stratified_split(labels_or_ds, fractions=(0.7, 0.15, 0.15), seed: int = 0) -> dict:
    """Indices ``{"train", "val", "test"}`` with class proportions kept in each split.

    Raises :class:`TooFewImagesError` saying how many images per class the split needs and
    which classes have fewer, where scikit-learn cannot stratify.
    """
    from sklearn.model_selection import train_test_split

    y = _labels_of(labels_or_ds)
    names = labels_or_ds.class_names if isinstance(labels_or_ds, FaceDataset) else None
    f_tr, f_va, f_te = _check_fractions(fractions)
    idx = np.arange(len(y))
    counts = np.bincount(y)
    strat = y if counts[counts > 0].min() >= 2 else None  # sklearn needs 2 per class

    def split(part, test_size, stratify):
        try:
            return train_test_split(part, test_size=test_size, stratify=stratify, random_state=seed)
        except ValueError as e:
            need = images_needed_per_class((f_tr, f_va, f_te))
            raise TooFewImagesError(
                f"{_too_few(y, names, (f_tr, f_va, f_te), need)}; scikit-learn: {e}. Add "
                "images to the classes named, or give the dataset its own val/test splits"
            ) from None

    out = {"train": idx, "val": idx[:0], "test": idx[:0]}
    rest = idx
    if f_te > 0:
        out["train"], out["test"] = split(idx, f_te, strat)
        rest = out["train"]
    if f_va > 0:
        ys = y[rest]
        c = np.bincount(ys)
        out["train"], out["val"] = split(
            rest, f_va / (f_tr + f_va), ys if c[c > 0].min() >= 2 else None
        )
    return {k: np.sort(v) for k, v in out.items()}


def identity_split(ds: FaceDataset, fractions=(0.7, 0.15, 0.15), seed: int = 0) -> dict:
    """Indices ``{"train", "val", "test"}`` with no identity in two splits.

    Identities are shuffled and assigned to splits until each split holds its fraction of
    the images. Falls back to :func:`stratified_split` (with a warning) when the dataset has
    no identities.
    """
    f = _check_fractions(fractions)
    if ds.identity is None:
        warnings.warn("dataset has no identities: using a stratified split instead", stacklevel=2)
        return stratified_split(ds, f, seed)
    ids, counts = np.unique(ds.identity, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(ids))
    ids, counts = ids[order], counts[order]
    cum = np.cumsum(counts) / counts.sum()
    # An identity goes to the split its midpoint falls in, so no split is starved.
    mid = cum - counts / counts.sum() / 2
    which = np.where(mid < f[0], 0, np.where(mid < f[0] + f[1], 1, 2))
    out = {}
    for k, name in enumerate(("train", "val", "test")):
        out[name] = np.flatnonzero(np.isin(ds.identity, ids[which == k]))
    return out


def kfold_indices(labels_or_ds, n_splits: int = 10, seed: int = 0, groups=None) -> list:
    """Stratified k-fold (Putro: 10 folds): a list of ``(train_idx, test_idx)``.

    With ``groups`` (e.g. ``ds.identity``) folds are also identity-disjoint
    (``StratifiedGroupKFold``).
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    y = _labels_of(labels_or_ds)
    if groups is None:
        kf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return list(kf.split(np.zeros(len(y)), y))
    kf = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(kf.split(np.zeros(len(y)), y, groups=np.asarray(groups)))


def apply_split(ds: FaceDataset, index: dict) -> dict[str, FaceDataset]:
    """``{split: ds.subset(idx)}`` for a dict of index arrays."""
    return {k: ds.subset(v) for k, v in index.items()}


# --------------------------------------------------------------------------- cache


_FIELDS = ("images", "labels", "landmarks", "masked", "identity", "pose", "occlusion")


def save_splits(path, splits: dict[str, FaceDataset]) -> Path:
    """Write ``{split: FaceDataset}`` to one ``.npz`` (atomically: tmp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays, header = {}, {}
    for s, ds in splits.items():
        meta_arrays = {k: v for k, v in ds.meta.items() if isinstance(v, np.ndarray)}
        meta_rest = {k: v for k, v in ds.meta.items() if not isinstance(v, np.ndarray)}
        header[s] = {
            "class_names": list(ds.class_names),
            "paths": ds.paths,
            "meta": meta_rest,
            "meta_arrays": sorted(meta_arrays),
        }
        for f in _FIELDS:
            v = getattr(ds, f)
            if v is not None:
                arrays[f"{s}/{f}"] = v
        for k, v in meta_arrays.items():
            arrays[f"{s}/meta/{k}"] = v
    arrays["__header__"] = np.array(json.dumps(header, default=str))
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return path


def load_splits(path) -> dict[str, FaceDataset]:
    """Read a file written by :func:`save_splits`."""
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(str(z["__header__"]))
        out = {}
        for s, h in header.items():
            kw = {f: (z[f"{s}/{f}"] if f"{s}/{f}" in z.files else None) for f in _FIELDS}
            meta = dict(h["meta"])
            for k in h["meta_arrays"]:
                meta[k] = z[f"{s}/meta/{k}"]
            out[s] = FaceDataset(class_names=h["class_names"], paths=h["paths"], meta=meta, **kw)
    return out


def _synth_code_hash() -> str:
    """Hash of the synth package's sources, so a changed generator never reuses a stale cache."""
    h = hashlib.sha1()
    synth_dir = Path(__file__).resolve().parent / "synth"
    for p in sorted(synth_dir.rglob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


def load_synthfacs(
    n_per_class: int, size: int = 128, seed: int = 0, use_cache: bool = True, **gen_kwargs
) -> dict[str, FaceDataset]:
    """SynthFACS split by identity into train/val/test, cached under ``config.cache_dir()``.

    Calls ``maskfer_lib.synth.generate(n_per_class=, size=, seed=, **gen_kwargs)`` and
    ``maskfer_lib.synth.split_by_identity`` (falling back to :func:`identity_split` if the
    synth package has none). The cache key holds every argument and a hash of the synth
    sources.
    """
    from maskfer_lib import config, synth

    key = json.dumps({"n": n_per_class, "size": size, "seed": seed, **gen_kwargs}, sort_keys=True)
    digest = hashlib.sha1((key + _synth_code_hash()).encode()).hexdigest()[:12]
    path = config.cache_dir() / f"synthfacs_{n_per_class}x{size}_seed{seed}_{digest}.npz"
    if use_cache and path.exists():
        try:
            return load_splits(path)
        except Exception as e:  # a half-written or old-format file: regenerate
            log.warning("ignoring unreadable cache %s (%s); regenerating", path, e)
    ds = synth.generate(n_per_class=n_per_class, size=size, seed=seed, **gen_kwargs)
    splitter = getattr(synth, "split_by_identity", None)
    if splitter is not None:
        splits = splitter(ds, seed=seed)
        if isinstance(splits, dict) and all(isinstance(v, np.ndarray) for v in splits.values()):
            splits = apply_split(ds, splits)
    else:
        splits = apply_split(ds, identity_split(ds, seed=seed))
    if not isinstance(splits, dict) or not {"train", "val", "test"} <= set(splits):
        raise TypeError(
            "synth.split_by_identity must return {'train', 'val', 'test'} -> FaceDataset or "
            f"index arrays; got {type(splits).__name__} with keys {list(getattr(splits, 'keys', list)())}"
        )
    splits = {k: splits[k] for k in ("train", "val", "test")}
    if use_cache:
        save_splits(path, splits)
    return splits


# --------------------------------------------------------------------------- load_dataset

DATASETS = ("synthfacs", "fer2013", "imagefolder", "kdef", "rafdb", "lfwfer")


def cap_per_class(ds: FaceDataset, cap: int, seed: int = 0) -> FaceDataset:
    """At most ``cap`` faces of each class, drawn with ``seed`` (order kept); records the
    original size in ``meta["subsampled_from"]`` when anything was dropped."""
    rng = np.random.default_rng(seed)
    keep = []
    for c in range(ds.num_classes):
        idx = np.flatnonzero(ds.labels == c)
        keep.append(rng.choice(idx, size=min(cap, len(idx)), replace=False) if len(idx) else idx)
    idx = np.sort(np.concatenate(keep))
    out = ds.subset(idx)
    if len(idx) < len(ds):
        out.meta = {**out.meta, "subsampled_from": len(ds)}
    return out


def subsample(ds: FaceDataset, n: int, seed: int = 0) -> FaceDataset:
    """``n`` faces of ``ds`` drawn with ``seed`` in the dataset's own class proportions
    (stratified; order kept), so a smaller training set keeps the class priors the test split
    has. Records the original size in ``meta["subsampled_from"]``; ``ds`` itself when it
    holds at most ``n`` faces."""
    if len(ds) <= n:
        return ds
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(
        np.arange(len(ds)), train_size=int(n), stratify=ds.labels, random_state=seed
    )
    out = ds.subset(np.sort(idx))
    out.meta = {**out.meta, "subsampled_from": len(ds)}
    return out


def _complete_splits(parts: dict, seed: int, val_frac: float = 0.15, test_frac: float = 0.15):
    """Carve missing val/test splits out of train (identity-disjoint where possible).

    A stratified carve (no identities) that cannot give every split each class (3 faces per
    class) raises :class:`TooFewImagesError` naming the folder, the classes with too few
    images and the count needed (:func:`images_needed_per_class`).
    """
    parts = dict(parts)
    missing = [s for s in ("val", "test") if s not in parts]
    if missing:
        tr = parts["train"]
        f_va = val_frac if "val" in missing else 0.0
        f_te = test_frac if "test" in missing else 0.0
        f = (1 - f_va - f_te, f_va, f_te)
        if tr.identity is not None:
            idx = identity_split(tr, f, seed)
        else:
            try:
                idx = stratified_split(tr, f, seed)
            except TooFewImagesError as e:
                source = tr.meta.get("source", "the training split")
                raise TooFewImagesError(
                    f"{source}: cannot carve {' and '.join(missing)} out of the training "
                    f"images: {e}"
                ) from None
        carved = apply_split(tr, idx)
        parts["train"] = carved["train"]
        for s in missing:
            parts[s] = carved[s]
            parts[s].meta = {**parts[s].meta, "carved_from_train": True}
    return {k: parts[k] for k in ("train", "val", "test")}


def _record_missing_classes(splits: dict[str, FaceDataset], name: str) -> None:
    """Warn about, and record in ``meta["missing_classes"]``, classes a split has no image of.

    A class missing from one split (a validation folder without ``sad/``) leaves that split's
    scores without it; that is the data, not an error, but it must not pass unnoticed.
    """
    present = {s: set(_present_classes(ds)) for s, ds in splits.items()}
    listed = list(dict.fromkeys(c for ds in splits.values() for c in ds.class_names))
    nowhere = [c for c in listed if not any(c in p for p in present.values())]
    if nowhere:
        _warn(
            f"{name}: no split has images of class(es) {nowhere}; models get outputs for "
            "them that never train (recorded in meta['missing_classes'])"
        )
    for s, ds in splits.items():
        meta = {k: v for k, v in ds.meta.items() if k != "missing_classes"}
        missing = [c for c in ds.class_names if c not in present[s]]
        if missing:
            meta["missing_classes"] = missing
        here = [c for c in missing if c not in nowhere]
        if here:
            src = ds.meta.get("source", "?")
            if ds.meta.get("carved_from_train"):
                origin, fix = f"carved from {src}", f"add images of them to {src}"
            else:
                origin = f"from {src}"
                fix = f"add images of them to {src}/<class>/, or remove the class everywhere"
            others = [o for o in splits if o != s and present[o] & set(here)]
            _warn(
                f"{name}: split {s!r} {origin} has no images of class(es) {here} (present in "
                f"{', '.join(others)}); its scores leave them out (recorded in "
                f"meta['missing_classes']). To fix, {fix}"
            )
        ds.meta = meta


def _warn(msg: str) -> None:
    log.warning("%s", msg)
    warnings.warn(msg, stacklevel=4)


def _present_classes(ds: FaceDataset) -> list[str]:
    return [ds.class_names[i] for i in np.unique(ds.labels)]


def _image_size(size) -> tuple[int, int] | None:
    """``size`` as (H, W), else the one :data:`IMAGE_SIZE_ENV` gives, else None."""
    if size is not None:
        return _as_hw(size)
    env = os.environ.get(IMAGE_SIZE_ENV, "").strip().lower()
    if not env:
        return None
    m = re.fullmatch(r"(\d+)(?:x(\d+))?", env)
    if not m:
        raise ValueError(f"{IMAGE_SIZE_ENV}={env!r}: give a size such as 128 or 128x96 (HxW)")
    return (int(m[1]), int(m[2] or m[1]))


def _check_name(name: str) -> str:
    key = str(name).strip().lower()
    if key not in DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}{_did_you_mean(key, DATASETS)}; choose one of "
            f"{', '.join(DATASETS)}"
        )
    return key


def _data_path(name: str, data_dir) -> Path:
    """``data_dir`` as a Path, raising when it is missing, absent, or a file/folder mismatch."""
    if not data_dir or not str(data_dir).strip():
        raise ValueError(f"dataset {name!r} needs DATA_DIR (--data-dir): {LAYOUTS[name]}")
    d = Path(data_dir)
    if not d.exists():
        raise FileNotFoundError(f"DATA_DIR {d} does not exist; {name} expects {LAYOUTS[name]}")
    if name != "fer2013" and not d.is_dir():
        raise NotADirectoryError(
            f"DATA_DIR {d} is a file, not a folder; {name} expects {LAYOUTS[name]}"
        )
    return d


def _fer2013_source(d: Path) -> tuple[str, Path]:
    """Which FER2013 form ``d`` holds: ``("csv", file)`` or ``("folder", d)``."""
    if d.is_file():
        return "csv", d
    if (d / "train").is_dir():
        return "folder", d
    csvs = sorted(d.glob("*.csv")) + sorted(d.glob("*.csv.gz"))
    if csvs:
        full = [p for p in csvs if p.name.startswith("fer2013.csv")]
        return "csv", (full or csvs)[0]
    raise FileNotFoundError(
        f"{d} holds neither FER2013's Kaggle folders (train/, validation/) nor a "
        "fer2013.csv; point DATA_DIR at one of them"
    )


def _classes_file(root: Path) -> tuple[str, ...] | None:
    """The class names listed in ``root/classes.txt`` (one a line, ``#`` comments), if any."""
    p = root / CLASSES_FILE
    if not p.is_file():
        return None
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataFormatError(f"{p} is not UTF-8 text; list the class names one a line") from None
    names = [ln.split("#", 1)[0].strip() for ln in lines]
    names = [n for n in names if n]
    if not names or len(set(names)) != len(names):
        raise DataFormatError(
            f"{p} must list each class name once, one a line (got {names or 'nothing'})"
        )
    return tuple(names)


def _imagefolder_layout(root: Path) -> dict[str, str]:
    """``{split: folder name}`` of the split folders (train/, val/ ...) under ``root``."""
    subdirs = {p.name.lower(): p.name for p in root.iterdir() if p.is_dir()}
    split_dirs = {}
    for k, v in sorted(subdirs.items()):
        if k in SPLIT_ALIASES:
            s = SPLIT_ALIASES[k]
            if s in split_dirs:
                raise DataFormatError(
                    f"{root} has two folders for split {s!r}: {split_dirs[s]}/ and {v}/; "
                    "merge or remove one"
                )
            split_dirs[s] = v
    if split_dirs and "train" not in split_dirs:
        raise FileNotFoundError(f"{root} has split folders {sorted(split_dirs)} but no train/")
    others = sorted(v for k, v in subdirs.items() if k not in SPLIT_ALIASES)
    visible = [o for o in others if not o.startswith(".")]
    if split_dirs and visible:
        # A class folder next to train/ would otherwise be ignored without a word.
        raise DataFormatError(
            f"{root} mixes split folders {sorted(split_dirs.values())} with other folders "
            f"{visible}; move class folders into a split folder or remove them "
            f"({LAYOUTS['imagefolder']})"
        )
    return split_dirs


def check_dataset(name: str, data_dir="") -> dict:
    """Check, cheaply, that ``data_dir`` holds dataset ``name`` in the layout its loader reads.

    Reads folder listings and a csv's first rows only, decoding no image, and raises the
    loader's own error (an unknown dataset name, a missing DATA_DIR, a file where a folder
    belongs, a bad csv header, unknown class folders, empty class folders ...). Runners call
    it before any notebook starts. Returns ``{"dataset", "data_dir", "layout", "source"}``;
    what only reading the images can find (unreadable files, mixed sizes, too few images
    for a split) is left to :func:`load_dataset`.
    """
    name = _check_name(name)
    if name == "synthfacs":
        if data_dir and not Path(data_dir).exists():
            raise FileNotFoundError(f"DATA_DIR {data_dir} does not exist")
        return {"dataset": name, "data_dir": str(data_dir or ""), "layout": "generated"}
    d = _data_path(name, data_dir)
    info = {"dataset": name, "data_dir": str(d)}
    if name == "fer2013":
        kind, src = _fer2013_source(d)
        if kind == "csv":
            df = _read_fer2013_table(src, nrows=5)
            if "Usage" in df.columns:
                _check_fer2013_usage(src, df)
        else:
            splits = [p.name for p in d.iterdir() if p.is_dir() and p.name.lower() in SPLIT_ALIASES]
            for s in sorted(splits):
                _check_class_folders(d / s, CLASSES_7, emotion_names=True)
        return {**info, "layout": f"fer2013 {kind}", "source": str(src)}
    if name == "imagefolder":
        classes = _classes_file(d)
        split_dirs = _imagefolder_layout(d)
        found = {
            s: _check_class_folders(_split_folder(d, sub), classes)
            for s, sub in (split_dirs or {"train": None}).items()
        }
        every = set().union(*found.values())
        missing = {s: sorted(every - set(c)) for s, c in found.items() if every - set(c)}
        info = {**info, "layout": "imagefolder", "splits": sorted(found)}
        if classes is not None:
            info["classes_file"] = str(d / CLASSES_FILE)
        return {**info, "missing_classes": missing} if missing else info
    if name == "lfwfer":
        split_dirs = {p.name for p in d.iterdir() if p.is_dir() and p.name.lower() in SPLIT_ALIASES}
        for sub in sorted(split_dirs) or [None]:
            _check_class_folders(_split_folder(d, sub), CLASSES_3)
        return {**info, "layout": "lfwfer"}
    if name == "kdef":
        for p in d.rglob("*"):
            if p.suffix.lower() in IMAGE_EXTENSIONS and _KDEF_RE.match(p.stem) and p.is_file():
                return {**info, "layout": "kdef", "source": str(p.parent)}
        raise DataFormatError(
            f"no KDEF image under {d}; expected file names such as AF01ANFL.JPG ({LAYOUTS[name]})"
        )
    lst = _find(d, ["list_patition_label.txt", "EmoLabel/list_patition_label.txt"])
    if lst is None:
        raise FileNotFoundError(
            f"no list_patition_label.txt in {d} or {d / 'EmoLabel'}; point DATA_DIR at "
            "RAF-DB's basic/ folder"
        )
    if _find(d, ["aligned", "Image/aligned"]) is None:
        raise FileNotFoundError(f"no aligned/ image folder in {d} or {d / 'Image'}")
    return {**info, "layout": "rafdb", "source": str(lst)}


def _check_class_folders(folder: Path, class_names=None, emotion_names: bool = False):
    """:func:`load_imagefolder`'s folder checks without reading an image; the class names."""
    class_dirs, names, _ = _class_folders(folder, class_names, emotion_names)
    for c in class_dirs:
        if not _has_image(c):
            raise DataFormatError(
                f"class folder {c} holds no images ({', '.join(IMAGE_EXTENSIONS)}); "
                "fill it or remove it"
            )
    return [names[c] for c in class_dirs]


def load_dataset(
    name: str,
    data_dir="",
    profile="quick",
    seed: int = 0,
    max_per_class="profile",
    size=None,
) -> dict[str, FaceDataset]:
    """``{"train", "val", "test"}`` FaceDatasets for a dataset name — the notebooks' entry point.

    Args:
        name: one of :data:`DATASETS`.
        data_dir: the dataset's folder (or FER2013 csv); unused for ``"synthfacs"``. See
            :data:`LAYOUTS`; an ImageFolder root may hold a ``classes.txt``.
        profile: a :class:`~maskfer_lib.config.Profile` or its name; SynthFACS uses its
            ``synth_per_class`` and ``image_size``.
        seed: generation and split seed.
        max_per_class: for real datasets, ``"profile"`` caps each split's per-class count
            at the profile's ``real_per_class`` x (0.7 train, 0.15 val/test): in smoke and
            quick a real dataset costs what SynthFACS costs (``meta["subsampled_from"]``
            records it); ``None`` keeps everything; an int caps at that.
        size: resize real images on load (int or ``(H, W)``); default: the
            :data:`IMAGE_SIZE_ENV` environment variable, else none, and an ImageFolder of
            mixed image sizes raises :class:`MixedSizeError` naming two files. KDEF is
            cropped and resized to the profile's size unless given; LFW-FER photos of mixed
            sizes are resized to it (logged, ``meta["resized_to"]``).

    Splits the source lacks are carved from its training set (15 % each, identity-disjoint
    when identities are known; a stratified carve needs 7 images per class); FER2013's
    folder layout has no PrivateTest, so its ``validation/`` (PublicTest) folder becomes
    ``test`` and ``val`` is carved from train. A split without images of some class is
    warned about and recorded in its ``meta["missing_classes"]``.
    """
    from maskfer_lib import config

    prof = config.get_profile(profile) if isinstance(profile, str) else profile
    name = _check_name(name)
    if name == "synthfacs":
        return load_synthfacs(
            prof.synth_per_class, size=prof.image_size, seed=seed, pose=prof.synth_pose
        )
    d = _data_path(name, data_dir)
    hw = _image_size(size)
    if name == "fer2013":
        kind, src = _fer2013_source(d)
        if kind == "csv":
            parts = load_fer2013_csv(src)
            if hw is not None:
                parts = {s: _resized(v, hw) for s, v in parts.items()}
        else:
            parts = load_fer2013_folder(d, size=hw)
            if "val" in parts and "test" not in parts:
                parts["test"] = parts.pop("val")
    elif name == "kdef":
        parts = {"train": load_kdef(d, size=hw or prof.image_size)}
    elif name == "rafdb":
        parts = load_rafdb(d, size=hw)
    elif name == "lfwfer":
        try:
            parts = load_lfwfer(d, size=hw)
        except MixedSizeError as e:
            # LFW-FER's photos come in several sizes; the profile's size is the documented
            # default here, so the resize is logged and recorded rather than refused.
            hw = (prof.image_size, prof.image_size)
            log.warning("%s; resizing every image to %dx%d", e, *hw)
            parts = load_lfwfer(d, size=hw)
            parts = parts if isinstance(parts, dict) else {"train": parts}
            for v in parts.values():
                v.meta = {**v.meta, "resized_to": list(hw)}
        if isinstance(parts, FaceDataset):
            parts = {"train": parts}
    else:
        parts = _imagefolder_splits(d, size=hw, class_names=_classes_file(d))
    splits = _complete_splits(parts, seed)
    _record_missing_classes(splits, f"{name} {d}")
    cap = max_per_class
    if cap == "profile":
        cap = prof.real_per_class
    if cap is not None:
        fr = {"train": 0.7, "val": 0.15, "test": 0.15}
        splits = {
            s: cap_per_class(v, max(1, int(round(cap * fr[s]))), seed) for s, v in splits.items()
        }
    for s, v in splits.items():
        v.meta = {**v.meta, "dataset": name, "split": s}
        if hw is not None and "resized_to" not in v.meta:
            v.meta["resized_to"] = list(hw)
    return splits


def _resized(ds: FaceDataset, hw: tuple[int, int]) -> FaceDataset:
    out = ds.subset(np.arange(len(ds)))
    out.images = np.stack([_resize(img, hw) for img in ds.images])
    return out


def _imagefolder_splits(root, size=None, class_names=None):
    """``{split: FaceDataset}`` of an ImageFolder root, every split on one class list."""
    root = Path(root)
    _need_dir(root, "dataset folder", LAYOUTS["imagefolder"])
    split_dirs = _imagefolder_layout(root)
    if not split_dirs:
        return {"train": load_imagefolder(root, size=size, class_names=class_names)}
    parts = {
        s: load_imagefolder(root, d, size=size, class_names=class_names)
        for s, d in split_dirs.items()
    }
    names = {p.class_names for p in parts.values()}
    if len(names) > 1:
        # A split missing one class folder: re-index all on the union of names (the
        # missing class is then reported by load_dataset).
        union = tuple(sorted(set().union(*names)))
        parts = {
            s: load_imagefolder(root, d, size=size, class_names=union)
            for s, d in split_dirs.items()
        }
    return parts


# --------------------------------------------------------------------------- model input


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
