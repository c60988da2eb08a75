"""Dataset names -> splits: :func:`check_dataset` and :func:`load_dataset` find the format in
``DATA_DIR``, call its loader and complete, cap and check the train/val/test splits."""

from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path

import numpy as np

from maskfer_lib import config
from maskfer_lib.data.formats import (
    _KDEF_RE,
    _check_fer2013_usage,
    _find,
    _read_fer2013_table,
    load_fer2013_csv,
    load_fer2013_folder,
    load_kdef,
    load_lfwfer,
    load_rafdb,
)
from maskfer_lib.data.imagefolder import _check_class_folders, _split_folder, load_imagefolder
from maskfer_lib.data.images import (
    IMAGE_EXTENSIONS,
    IMAGE_SIZE_ENV,
    DataFormatError,
    MixedSizeError,
    _as_hw,
    _resize,
)
from maskfer_lib.data.layouts import CLASSES_FILE, LAYOUTS, SPLIT_ALIASES, need_dir
from maskfer_lib.data.splits import _complete_splits, cap_per_class
from maskfer_lib.data.synthfacs import load_synthfacs
from maskfer_lib.labels import CLASSES_3, CLASSES_7, _did_you_mean
from maskfer_lib.records import FaceDataset

log = logging.getLogger(__name__)

DATASETS = ("synthfacs", "fer2013", "imagefolder", "kdef", "rafdb", "lfwfer")


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
    need_dir(root, "dataset folder", LAYOUTS["imagefolder"])
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
