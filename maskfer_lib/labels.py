"""The papers' label sets, class-name spellings and class maps (7 -> 3, 7 -> 4): defined
once, used by SynthFACS and the loaders."""

from __future__ import annotations

import difflib

import numpy as np

from maskfer_lib.records import FaceDataset

CLASSES_7 = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
"""Canonical 7-class order (Kaggle FER2013 folders, alphabetical): Çelik and Putro."""

CLASSES_3 = ("positive", "neutral", "negative")
"""Yang et al.'s three classes, in their order."""

CLASSES_4 = ("angry", "happy", "neutral", "surprise")
"""Hayashi et al.'s four classes (their "normal" is neutral)."""

MAP_7_TO_3 = {
    "happy": "positive",
    "surprise": "positive",
    "neutral": "neutral",
    "angry": "negative",
    "disgust": "negative",
    "fear": "negative",
    "sad": "negative",
}
"""7 -> 3 map. Yang et al. annotate positive/neutral/negative directly and publish no map;
this follows valence: the four unpleasant emotions are negative and surprise (valence-
ambiguous) is counted as positive, as in valence-grouped FER work."""

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

MASK_CLASSES = ("unmasked", "masked")
"""The classes of the masked-vs-unmasked detectors (Hayashi's MCN, Yang's stage 1)."""

CLASS_MAPS = {
    # Yang et al. publish no 7 -> 3 map; see MAP_7_TO_3 above for the valence grouping
    # used. Pass a dict to map_classes to choose otherwise.
    "yang3": MAP_7_TO_3,
    # Hayashi et al. keep angry, happy, normal (neutral) and surprised and drop the rest
    # (masks hide the mouth that separates fear from surprise).
    "hayashi4": {"angry": "angry", "happy": "happy", "neutral": "neutral", "surprise": "surprise"},
}
"""Named class maps for :func:`map_classes` (classes absent from a map are dropped)."""

CLASS_MAP_ORDER = {"yang3": CLASSES_3, "hayashi4": CLASSES_4}


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


def _canonical_or_own(name: str) -> str:
    """``canonical_class(name)``, or ``name`` itself when it is no emotion name."""
    try:
        return canonical_class(name)
    except ValueError:
        return str(name)


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
    norm = {_canonical_or_own(k): v for k, v in mapping.items()}
    new_label = np.full(ds.num_classes, -1, dtype=np.int64)
    for i, c in enumerate(ds.class_names):
        key = _canonical_or_own(c)
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


def class_map_between(source, target) -> str | dict | None:
    """The class map that turns classes ``source`` into ``target``, for :func:`map_classes`.

    ``None`` when they are the same classes in the same order (any spelling); an identity
    dict when only the order differs; the name of the :data:`CLASS_MAPS` entry whose classes
    are ``target`` otherwise (e.g. 7-class faces shown to a model of Yang's 3 classes).
    Raises ValueError naming both class lists when no map relates them.
    """
    source_keys = tuple(_canonical_or_own(n) for n in source)
    target_keys = tuple(_canonical_or_own(n) for n in target)
    if source_keys == target_keys:
        return None
    if set(source_keys) == set(target_keys):
        return dict(zip(target, target, strict=True))
    for name, order in CLASS_MAP_ORDER.items():
        if order == target_keys and set(CLASS_MAPS[name]) & set(source_keys):
            return name
    raise ValueError(
        f"no class map turns classes {tuple(source)} into {tuple(target)}; the named maps "
        f"are {sorted(CLASS_MAPS)}: pass faces labelled with the model's classes"
    )


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
