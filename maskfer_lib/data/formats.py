"""The other sources' loaders: FER2013 (csv and Kaggle folders), KDEF, RAF-DB and LFW-FER."""

from __future__ import annotations

import logging
import re
import zlib
from pathlib import Path

import numpy as np

from maskfer_lib.data.imagefolder import load_imagefolder
from maskfer_lib.data.images import IMAGE_EXTENSIONS, DataFormatError, _load_images
from maskfer_lib.data.layouts import LAYOUTS, SPLIT_ALIASES, need_dir
from maskfer_lib.labels import CLASSES_3, CLASSES_7, SYNONYMS
from maskfer_lib.records import FaceDataset

log = logging.getLogger(__name__)

FER2013_CODES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""FER2013 csv ``emotion`` codes 0..6."""
FER2013_USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
RAFDB_CODES = ("surprise", "fear", "disgust", "happy", "sad", "angry", "neutral")
"""RAF-DB basic labels 1..7 (surprise, fear, disgust, happiness, sadness, anger, neutral)."""
KDEF_ANGLES = {"FL": -90.0, "HL": -45.0, "S": 0.0, "HR": 45.0, "FR": 90.0}
"""KDEF angle codes -> yaw in degrees (full/half left negative, as in SynthFACS' pose bins)."""
_KDEF_RE = re.compile(r"^([AB])([FM])(\d{2})(AF|AN|DI|HA|NE|SA|SU)(FL|HL|S|HR|FR)$", re.IGNORECASE)


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
    need_dir(root, "FER2013 folder", LAYOUTS["fer2013"])
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
    need_dir(root, "KDEF folder", LAYOUTS["kdef"])
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
    need_dir(root, "RAF-DB folder", LAYOUTS["rafdb"])
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
    need_dir(root, "LFW-FER folder", LAYOUTS["lfwfer"])
    subdirs = {p.name.lower(): p.name for p in root.iterdir() if p.is_dir()}
    split_dirs = {SPLIT_ALIASES[k]: v for k, v in subdirs.items() if k in SPLIT_ALIASES}
    kw = dict(grayscale=grayscale, size=size, class_names=CLASSES_3, on_error=on_error)
    if split is not None:
        return load_imagefolder(root, split, **kw)
    if split_dirs:
        return {s: load_imagefolder(root, d, **kw) for s, d in split_dirs.items()}
    return load_imagefolder(root, None, **kw)
