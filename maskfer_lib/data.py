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

Bad input never passes silently: a missing or empty folder, a csv with the wrong columns,
an unknown class name or an unreadable image raises an error naming the file and the fix;
with ``on_error="skip"`` unreadable images are skipped, logged and counted in
``ds.meta["skipped"]`` (list of ``(path, reason)``).

Splits: :func:`stratified_split`, :func:`identity_split` (no person in two splits),
:func:`kfold_indices` (Putro's 10-fold CV). :func:`load_dataset` gives every notebook
``{"train", "val", "test"}`` for a dataset name; :func:`to_model_input` turns a dataset into
the float array a model takes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import warnings
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


class MixedSizeError(ValueError):
    """Images of different sizes were loaded without ``size=``."""


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


# --------------------------------------------------------------------------- images


def _read_image(path: Path, grayscale: bool) -> np.ndarray:
    import cv2

    buf = np.fromfile(str(path), dtype=np.uint8)  # imdecode copes with non-ASCII paths
    img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR)
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
                f"is {first_shape[1]}x{first_shape[0]}; pass size=(H, W) to resize on load"
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


# --------------------------------------------------------------------------- ImageFolder


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
        size: ``None`` (all images must share a size), an int or ``(H, W)`` to resize on load.
        class_names: the classes and their order; folders not listed raise, listed classes
            without a folder have no images. Default: sorted folder names.
        emotion_names: map folder names through :data:`SYNONYMS` first (``"Happiness"`` ->
            ``"happy"``), raising on names that are not emotions.
        on_error: ``"raise"`` or ``"skip"`` (count unreadable images in ``meta["skipped"]``).
        only_classes: read only these classes' folders (labels still index ``class_names``),
            e.g. Hayashi's four classes without reading the other three.
    """
    root = Path(root)
    folder = root / split if split else root
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} does not exist; check DATA_DIR")
    if not folder.is_dir():
        have = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise FileNotFoundError(
            f"split folder {folder} does not exist; {root} has {have or 'no sub-folders'}"
        )
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise ValueError(
            f"{folder} has no class sub-folders; expected {folder}/<class>/*.png (ImageFolder)"
        )
    names = {d: (canonical_class(d.name) if emotion_names else d.name) for d in class_dirs}
    if class_names is None:
        found = set(names.values())
        # Emotion names follow the canonical 7-class order; anything else sorts by name.
        known = [c for c in CLASSES_7 if c in found] if emotion_names else []
        class_names = tuple(known + sorted(found - set(known)))
    else:
        class_names = tuple(class_names)
        unknown = sorted({n for n in names.values() if n not in class_names})
        if unknown:
            raise ValueError(
                f"{folder} has class folder(s) {unknown} not in class_names {class_names}; "
                "rename or remove them, or pass the full class list"
            )
    if only_classes is not None:
        only = {canonical_class(c) if emotion_names else c for c in only_classes}
        if not only <= set(class_names):
            raise ValueError(f"only_classes {sorted(only - set(class_names))} not in {class_names}")
        class_dirs = [d for d in class_dirs if names[d] in only]
    paths, labels = [], []
    for d in class_dirs:
        files = _image_files(d)
        if not files:
            raise ValueError(
                f"class folder {d} holds no images ({', '.join(IMAGE_EXTENSIONS)}); "
                "fill it or remove it"
            )
        paths += files
        labels += [class_names.index(names[d])] * len(files)
    images, kept, skipped = _load_images(paths, grayscale, size, on_error, str(folder))
    meta = {"source": str(folder), "format": "imagefolder"}
    if skipped:
        meta["skipped"] = skipped
    return FaceDataset(
        images=images,
        labels=np.asarray(labels)[kept],
        class_names=class_names,
        paths=[str(paths[i]) for i in kept],
        meta=meta,
    )


# --------------------------------------------------------------------------- FER2013


def load_fer2013_csv(path, usage: str | None = None) -> dict[str, FaceDataset]:
    """Load the original ``fer2013.csv`` (``emotion,pixels,Usage``; ``.csv.gz`` too).

    Returns ``{"train", "val", "test"}`` (Training, PublicTest, PrivateTest) for the usages
    present, or only ``usage``'s split when given. Images are 48x48 grayscale (C=1); labels
    are re-indexed into :data:`CLASSES_7`.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"FER2013 csv {path} does not exist; check DATA_DIR")
    df = pd.read_csv(path, dtype={"pixels": str})
    need = {"emotion", "pixels"}
    if not need <= set(df.columns):
        raise ValueError(
            f"{path} has columns {list(df.columns)}; a FER2013 csv needs emotion,pixels[,Usage] "
            "(the original fer2013.csv header)"
        )
    if "Usage" not in df.columns:
        df["Usage"] = "Training"
    bad_usage = sorted(set(df["Usage"]) - set(FER2013_USAGE))
    if bad_usage:
        raise ValueError(
            f"{path}: unknown Usage values {bad_usage}; expected {list(FER2013_USAGE)}"
        )
    codes = pd.to_numeric(df["emotion"], errors="coerce")
    bad = np.flatnonzero(~codes.between(0, 6) | (codes % 1 != 0))
    if len(bad):
        raise ValueError(
            f"{path}: row {bad[0] + 2} has emotion {str(df['emotion'].iloc[bad[0]])!r}; "
            "FER2013 codes are 0..6 (angry, disgust, fear, happy, sad, surprise, neutral)"
        )
    pix = df["pixels"].fillna("").str.split()
    lens = pix.str.len().to_numpy()
    wrong = np.flatnonzero(lens != 48 * 48)
    if len(wrong):
        raise ValueError(
            f"{path}: row {wrong[0] + 2} has {lens[wrong[0]]} pixel values, expected 2304 "
            "(48x48); the file is truncated or not FER2013"
        )
    try:
        images = np.array(pix.tolist(), dtype=np.int64)
    except ValueError:
        raise ValueError(
            f"{path}: non-numeric pixel values; expected space-separated 0..255"
        ) from None
    if images.min() < 0 or images.max() > 255:
        raise ValueError(f"{path}: pixel values outside 0..255")
    images = images.astype(np.uint8).reshape(-1, 48, 48, 1)
    remap = np.array([CLASSES_7.index(c) for c in FER2013_CODES])
    labels = remap[codes.to_numpy(np.int64)]
    splits = df["Usage"].map(FER2013_USAGE).to_numpy()
    wanted = [FER2013_USAGE.get(usage, usage)] if usage else list(dict.fromkeys(splits))
    out = {}
    for s in wanted:
        idx = np.flatnonzero(splits == s)
        if not len(idx):
            raise ValueError(f"{path} has no rows with Usage for split {s!r}")
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
    if not root.is_dir():
        raise FileNotFoundError(f"FER2013 folder {root} does not exist; check DATA_DIR")
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
    if not root.is_dir():
        raise FileNotFoundError(f"KDEF folder {root} does not exist; check DATA_DIR")
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
    if not root.is_dir():
        raise FileNotFoundError(f"RAF-DB folder {root} does not exist; check DATA_DIR")
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
    if not root.is_dir():
        raise FileNotFoundError(f"LFW-FER folder {root} does not exist; check DATA_DIR")
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


def stratified_split(labels_or_ds, fractions=(0.7, 0.15, 0.15), seed: int = 0) -> dict:
    """Indices ``{"train", "val", "test"}`` with class proportions kept in each split."""
    from sklearn.model_selection import train_test_split

    y = _labels_of(labels_or_ds)
    f_tr, f_va, f_te = _check_fractions(fractions)
    idx = np.arange(len(y))
    counts = np.bincount(y)
    strat = y if counts[counts > 0].min() >= 2 else None  # sklearn needs 2 per class
    out = {"train": idx, "val": idx[:0], "test": idx[:0]}
    rest = idx
    if f_te > 0:
        out["train"], out["test"] = train_test_split(
            idx, test_size=f_te, stratify=strat, random_state=seed
        )
        rest = out["train"]
    if f_va > 0:
        ys = y[rest]
        c = np.bincount(ys)
        out["train"], out["val"] = train_test_split(
            rest,
            test_size=f_va / (f_tr + f_va),
            random_state=seed,
            stratify=ys if c[c > 0].min() >= 2 else None,
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


def _complete_splits(parts: dict, seed: int, val_frac: float = 0.15, test_frac: float = 0.15):
    """Carve missing val/test splits out of train (identity-disjoint where possible)."""
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
            idx = stratified_split(tr, f, seed)
        carved = apply_split(tr, idx)
        parts["train"] = carved["train"]
        for s in missing:
            parts[s] = carved[s]
            parts[s].meta = {**parts[s].meta, "carved_from_train": True}
    return {k: parts[k] for k in ("train", "val", "test")}


def load_dataset(
    name: str, data_dir="", profile="quick", seed: int = 0, max_per_class="profile"
) -> dict[str, FaceDataset]:
    """``{"train", "val", "test"}`` FaceDatasets for a dataset name — the notebooks' entry point.

    Args:
        name: one of :data:`DATASETS`.
        data_dir: the dataset's folder (or FER2013 csv); unused for ``"synthfacs"``.
        profile: a :class:`~maskfer_lib.config.Profile` or its name; SynthFACS uses its
            ``synth_per_class`` and ``image_size``.
        seed: generation and split seed.
        max_per_class: for real datasets, ``"profile"`` caps each split's per-class count
            in smoke/quick at ``synth_per_class`` x (0.7 train, 0.15 val/test), so a real
            dataset costs what SynthFACS costs (``meta["subsampled_from"]`` records it);
            ``None``, the paper or the real profile keeps everything; an int caps at that.

    Splits the source lacks are carved from its training set (15 % each, identity-disjoint
    when identities are known); FER2013's folder layout has no PrivateTest, so its
    ``validation/`` (PublicTest) folder becomes ``test`` and ``val`` is carved from train.
    """
    from maskfer_lib import config

    prof = config.get_profile(profile) if isinstance(profile, str) else profile
    name = name.lower()
    if name == "synthfacs":
        return load_synthfacs(
            prof.synth_per_class, size=prof.image_size, seed=seed, pose=prof.synth_pose
        )
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")
    if not data_dir:
        raise ValueError(f"dataset {name!r} needs DATA_DIR: the folder (or csv) holding it")
    d = Path(data_dir)
    if not d.exists():
        raise FileNotFoundError(f"DATA_DIR {d} does not exist")
    if name == "fer2013":
        csvs = sorted(d.glob("*.csv")) + sorted(d.glob("*.csv.gz")) if d.is_dir() else []
        if d.is_file():
            parts = load_fer2013_csv(d)
        elif (d / "train").is_dir():
            parts = load_fer2013_folder(d)
            if "val" in parts and "test" not in parts:
                parts["test"] = parts.pop("val")
        elif csvs:
            full = [p for p in csvs if p.name.startswith("fer2013.csv")]
            parts = load_fer2013_csv((full or csvs)[0])
        else:
            raise FileNotFoundError(
                f"{d} holds neither FER2013's Kaggle folders (train/, validation/) nor a "
                "fer2013.csv; point DATA_DIR at one of them"
            )
    elif name == "kdef":
        parts = {"train": load_kdef(d, size=prof.image_size)}
    elif name == "rafdb":
        parts = load_rafdb(d)
    else:
        loader = load_lfwfer if name == "lfwfer" else _imagefolder_splits
        try:
            parts = loader(d)
        except MixedSizeError:
            parts = loader(d, size=prof.image_size)
        if isinstance(parts, FaceDataset):
            parts = {"train": parts}
    splits = _complete_splits(parts, seed)
    cap = max_per_class
    if cap == "profile":
        cap = None if prof.name in ("paper", "real") else prof.synth_per_class
    if cap is not None:
        fr = {"train": 0.7, "val": 0.15, "test": 0.15}
        splits = {
            s: cap_per_class(v, max(1, int(round(cap * fr[s]))), seed) for s, v in splits.items()
        }
    for s, v in splits.items():
        v.meta = {**v.meta, "dataset": name, "split": s}
    return splits


def _imagefolder_splits(root, size=None):
    root = Path(root)
    subdirs = (
        {p.name.lower(): p.name for p in root.iterdir() if p.is_dir()} if root.is_dir() else {}
    )
    split_dirs = {SPLIT_ALIASES[k]: v for k, v in subdirs.items() if k in SPLIT_ALIASES}
    if split_dirs:
        parts = {s: load_imagefolder(root, d, size=size) for s, d in split_dirs.items()}
        names = {p.class_names for p in parts.values()}
        if len(names) > 1:
            # A split missing one class folder: re-index all on the union of names.
            union = tuple(sorted(set().union(*names)))
            parts = {
                s: load_imagefolder(root, d, size=size, class_names=union)
                for s, d in split_dirs.items()
            }
        if "train" not in parts:
            raise FileNotFoundError(f"{root} has split folders {sorted(split_dirs)} but no train/")
        return parts
    return {"train": load_imagefolder(root, size=size)}


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
