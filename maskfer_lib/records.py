"""The one record type every loader, generator and masking method returns, and its npz codec.

A :class:`FaceDataset` is column-oriented (one numpy array per field) because models train
on whole arrays; ``ds[i]`` gives a :class:`FaceRecord` for one face. :func:`save_splits`
writes ``{split: FaceDataset}`` to one ``.npz`` and :func:`load_splits` reads it back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np


@dataclass
class FaceRecord:
    """One face: image, label and whatever metadata the source knows."""

    image: np.ndarray
    label: int
    class_name: str
    landmarks: np.ndarray | None = None
    masked: bool = False
    identity: int | None = None
    pose: np.ndarray | None = None
    occlusion: np.ndarray | None = None
    path: str | None = None


@dataclass
class FaceDataset:
    """A set of faces with aligned per-face metadata.

    Fields (N faces):
        images: (N, H, W, C) uint8, RGB (C=3) or grayscale (C=1).
        labels: (N,) int64 indices into ``class_names``.
        class_names: the label names, index order.
        landmarks: (N, 68, 2) float32 iBUG-68 points in pixel (x, y), or None.
        masked: (N,) bool, True where the face wears a (synthetic) mask.
        identity: (N,) int64 person id, or None when the source has none.
        pose: (N, 3) float32 yaw, pitch, roll in degrees, or None.
        occlusion: (N, H, W) bool, True where a mask covers the image, or None.
        paths: source file per face, or None for generated data.
        meta: free-form extras (e.g. ``{"aus": (N, K) array, "au_names": [...]}``).
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    landmarks: np.ndarray | None = None
    masked: np.ndarray | None = None
    identity: np.ndarray | None = None
    pose: np.ndarray | None = None
    occlusion: np.ndarray | None = None
    paths: list[str] | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.class_names = tuple(self.class_names)
        n = len(self.labels)
        if self.images.ndim != 4 or len(self.images) != n:
            raise ValueError(
                f"images must be (N, H, W, C) with N={n} matching labels; got {self.images.shape}"
            )
        if self.masked is None:
            self.masked = np.zeros(n, dtype=bool)
        for name in ("landmarks", "masked", "identity", "pose", "occlusion"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"{name} has {len(value)} rows but there are {n} labels")
        if self.paths is not None and len(self.paths) != n:
            raise ValueError(f"paths has {len(self.paths)} entries but there are {n} labels")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ValueError(
                f"labels must lie in 0..{len(self.class_names) - 1} for classes {self.class_names}"
            )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        """How many classes the label set has."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of every image."""
        return tuple(self.images.shape[1:])

    def __getitem__(self, i: int) -> FaceRecord:
        def pick(a):
            return None if a is None else a[i]

        return FaceRecord(
            image=self.images[i],
            label=int(self.labels[i]),
            class_name=self.class_names[int(self.labels[i])],
            landmarks=pick(self.landmarks),
            masked=bool(self.masked[i]),
            identity=None if self.identity is None else int(self.identity[i]),
            pose=pick(self.pose),
            occlusion=pick(self.occlusion),
            path=pick(self.paths),
        )

    def subset(self, index) -> FaceDataset:
        """A new dataset holding the faces at ``index`` (int array or bool mask)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)

        def take(a):
            return None if a is None else a[index]

        meta = {
            k: (v[index] if isinstance(v, np.ndarray) and len(v) == len(self) else v)
            for k, v in self.meta.items()
        }
        return replace(
            self,
            images=self.images[index],
            labels=self.labels[index],
            landmarks=take(self.landmarks),
            masked=take(self.masked),
            identity=take(self.identity),
            pose=take(self.pose),
            occlusion=take(self.occlusion),
            paths=None if self.paths is None else [self.paths[i] for i in index],
            meta=meta,
        )

    def class_counts(self) -> dict[str, int]:
        """Number of faces per class name."""
        counts = np.bincount(self.labels, minlength=self.num_classes)
        return dict(zip(self.class_names, counts.tolist(), strict=True))


def concat(datasets: list[FaceDataset]) -> FaceDataset:
    """Stack datasets that share class names and image shape into one."""
    if not datasets:
        raise ValueError("concat needs at least one dataset")
    first = datasets[0]
    for d in datasets[1:]:
        if d.class_names != first.class_names:
            raise ValueError(f"class names differ: {first.class_names} vs {d.class_names}")

    def cat(name):
        parts = [getattr(d, name) for d in datasets]
        return None if any(p is None for p in parts) else np.concatenate(parts)

    paths = None
    if all(d.paths is not None for d in datasets):
        paths = [p for d in datasets for p in d.paths]
    meta = {}
    for k, v in first.meta.items():
        if isinstance(v, np.ndarray) and all(
            isinstance(d.meta.get(k), np.ndarray) for d in datasets
        ):
            meta[k] = np.concatenate([d.meta[k] for d in datasets])
        else:
            meta[k] = v
    kw = {
        f.name: cat(f.name)
        for f in fields(FaceDataset)
        if f.name not in ("class_names", "paths", "meta")
    }
    return FaceDataset(class_names=first.class_names, paths=paths, meta=meta, **kw)


# --------------------------------------------------------------------------- npz codec


ARRAY_FIELDS = ("images", "labels", "landmarks", "masked", "identity", "pose", "occlusion")
"""FaceDataset fields stored as arrays (None fields are left out of the file)."""


def _encode_value(v):
    """JSON-able form of a non-array meta value, tagging tuples so they come back as tuples."""
    if isinstance(v, tuple):
        return {"__tuple__": [_encode_value(x) for x in v]}
    if isinstance(v, list):
        return [_encode_value(x) for x in v]
    if isinstance(v, dict):
        if not all(isinstance(k, str) for k in v):
            raise TypeError(f"meta dict keys must be str, got {list(v)[:3]}")
        return {k: _encode_value(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    if v is None or isinstance(v, str | int | float | bool):
        return v
    raise TypeError(f"cannot store meta value of type {type(v).__name__} in an npz file")


def _decode_value(v):
    if isinstance(v, dict):
        if set(v) == {"__tuple__"}:
            return tuple(_decode_value(x) for x in v["__tuple__"])
        return {k: _decode_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_decode_value(x) for x in v]
    return v


def _to_storable(a: np.ndarray) -> tuple[np.ndarray, bool]:
    """(array without objects, was_object): object arrays of str become unicode arrays."""
    if a.dtype != object:
        return a, False
    if not all(isinstance(x, str) for x in a.ravel()):
        raise TypeError("cannot store an object array holding non-str values in an npz file")
    return a.astype(str), True


def encode_dataset(ds: FaceDataset, prefix: str = "") -> tuple[dict[str, np.ndarray], dict]:
    """``(arrays, header)``: ``ds`` as npz arrays named ``<prefix>f/<field>`` and
    ``<prefix>meta/<key>``, and a JSON-able header (class names, paths, the other meta).
    :func:`decode_dataset` reverses it; the cache and :func:`save_splits` both use it."""
    arrays = {
        f"{prefix}f/{name}": np.asarray(getattr(ds, name))
        for name in ARRAY_FIELDS
        if getattr(ds, name) is not None
    }
    object_meta, meta_arrays, meta_rest = [], [], {}
    for k, v in ds.meta.items():
        if isinstance(v, np.ndarray):
            arrays[f"{prefix}meta/{k}"], was_object = _to_storable(v)
            meta_arrays.append(k)
            if was_object:
                object_meta.append(k)
        else:
            meta_rest[k] = _encode_value(v)
    header = {
        "class_names": list(ds.class_names),
        "paths": ds.paths,
        "meta": meta_rest,
        "meta_arrays": meta_arrays,
        "object_meta": object_meta,
    }
    return arrays, header


def decode_dataset(z, header: dict, prefix: str = "") -> FaceDataset:
    """The FaceDataset that :func:`encode_dataset` wrote into the open npz file ``z``."""
    kw = {n: (z[f"{prefix}f/{n}"] if f"{prefix}f/{n}" in z.files else None) for n in ARRAY_FIELDS}
    meta = {k: _decode_value(v) for k, v in header["meta"].items()}
    for k in header["meta_arrays"]:
        a = z[f"{prefix}meta/{k}"]
        meta[k] = a.astype(object) if k in header["object_meta"] else a
    return FaceDataset(class_names=header["class_names"], paths=header["paths"], meta=meta, **kw)


def save_splits(path, splits: dict[str, FaceDataset]) -> Path:
    """Write ``{split: FaceDataset}`` to one ``.npz`` (atomically: tmp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays, header = {}, {}
    for split, ds in splits.items():
        split_arrays, header[split] = encode_dataset(ds, f"{split}/")
        arrays.update(split_arrays)
    arrays["__header__"] = np.array(json.dumps(header))
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return path


def load_splits(path) -> dict[str, FaceDataset]:
    """Read a file written by :func:`save_splits`."""
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(str(z["__header__"]))
        return {split: decode_dataset(z, h, f"{split}/") for split, h in header.items()}
