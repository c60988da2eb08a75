"""ImageFolder trees, ``root/[split/]<class>/*.png|jpg``: class folders checked against the
known or given class names, listed without reading a pixel, and loaded.

Class folders must carry emotion names (``SYNONYMS``: ``angry``, ``Happiness``, ``normal``
...), unless the caller lists the classes: ``class_names=`` for :func:`load_imagefolder`, or
a ``classes.txt`` (one name a line, in label order) in the dataset folder for
``load_dataset``. An unknown class folder (``happyy``) raises with the closest known name.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from maskfer_lib.data.images import (
    IMAGE_EXTENSIONS,
    DataFormatError,
    _has_image,
    _image_files,
    _load_images,
    _other_files,
)
from maskfer_lib.data.layouts import CLASSES_FILE, LAYOUTS, need_dir
from maskfer_lib.labels import CLASSES_7, SYNONYMS, _did_you_mean, _known_class, canonical_class
from maskfer_lib.records import FaceDataset

log = logging.getLogger(__name__)


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


def _split_folder(root: Path, split: str | None) -> Path:
    """``root`` or ``root/split``, raising naming the path when it is not a folder."""
    need_dir(root, "dataset folder", LAYOUTS["imagefolder"])
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
