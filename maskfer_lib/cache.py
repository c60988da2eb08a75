"""A small content-addressed disk cache for slow FaceDataset work (dlib landmarks, masking).

An entry's key is a sha1 over a namespace, the call's parameters, a fingerprint of the input
dataset (image bytes, labels, landmarks) and a code version (a hash of the source files that
compute the result), so changing any of them — or the code — computes afresh; stale entries
are simply never read again. Entries live in :func:`maskfer_lib.config.cache_dir` as
``<namespace>-<key>.npz`` (the dataset, plus a QC report's scalars and failure examples) and,
for results carrying a QC report, ``<namespace>-<key>.qc.csv`` (one row per input face).
Files are written to a temporary name and renamed, so an interrupted run never leaves an entry
that looks complete. ``MASKFER_NO_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from pathlib import Path

import numpy as np

from maskfer_lib.config import cache_dir
from maskfer_lib.records import FaceDataset, decode_dataset, encode_dataset

log = logging.getLogger(__name__)

FORMAT_VERSION = "1"
"""Bumped when the file layout changes, so old entries are ignored rather than misread."""


def cache_enabled() -> bool:
    """False when the environment variable ``MASKFER_NO_CACHE`` is set to 1/true/yes."""
    return os.environ.get("MASKFER_NO_CACHE", "").strip().lower() not in ("1", "true", "yes")


# ----------------------------------------------------------------------------- keys


def code_version(*modules: str) -> str:
    """sha1 of the source files of ``modules`` (dotted names; a package means all its .py).

    Used as the code part of a cache key: editing any of these files invalidates entries.
    """
    h = hashlib.sha1(FORMAT_VERSION.encode())
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ValueError(f"code_version: module {name!r} not found")
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if spec.submodule_search_locations else [origin]
        for p in files:
            h.update(str(p.relative_to(origin.parent.parent)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def fingerprint(ds: FaceDataset) -> str:
    """sha1 of what a computation on ``ds`` reads: images, labels, class names, landmarks."""
    h = hashlib.sha1()
    for name in ("images", "labels", "landmarks"):
        a = getattr(ds, name)
        if a is None:
            h.update(f"{name}:none".encode())
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    h.update(json.dumps(list(ds.class_names)).encode())
    return h.hexdigest()


def cache_key(namespace: str, params: dict, inputs: FaceDataset, version: str) -> str:
    """The entry key: sha1 over namespace, JSON of ``params``, input fingerprint, code version."""
    try:
        p = json.dumps(params, sort_keys=True, default=_json_scalar)
    except TypeError as e:
        raise TypeError(f"cache params must be JSON-like (str, number, list, dict): {e}") from e
    h = hashlib.sha1()
    for part in (namespace, p, fingerprint(inputs), version):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _json_scalar(v):
    # numpy scalars reach params through seeds and options; tuples become lists anyway.
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"{type(v).__name__} {v!r} is not JSON serialisable")


# ----------------------------------------------------------------------------- files


def entry_paths(namespace: str, key: str, root: Path | None = None) -> tuple[Path, Path]:
    """(npz path, QC csv path) of one entry."""
    root = Path(root) if root is not None else cache_dir()
    return root / f"{namespace}-{key}.npz", root / f"{namespace}-{key}.qc.csv"


def _atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``; the tmp file goes on any error."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_entry(npz_path: Path, ds: FaceDataset, extra=None, csv_path: Path | None = None) -> None:
    """Write ``ds`` (and optionally a second, encoded result) as one cache entry, atomically.

    ``extra`` is what a caller's encoder made of its second result (see :func:`cached_call`):
    ``(header, arrays, table)``, a JSON-able dict, named arrays and an optional DataFrame
    written beside the npz as ``csv_path``. The CSV goes first and the npz last: the npz is
    the entry's commit marker.
    """
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    arrays, header = encode_dataset(ds)
    header.update(format=FORMAT_VERSION, report=None)
    if extra is not None:
        extra_header, extra_arrays, table = extra
        extra_header = dict(extra_header)
        if table is not None:
            if csv_path is None:
                raise ValueError("save_entry: a table needs csv_path for its rows")
            _atomic_write(csv_path, lambda p: table.to_csv(p, index=False))
            extra_header["csv"] = csv_path.name
        header["report"] = extra_header
        arrays.update({f"r/{k}": np.asarray(v) for k, v in extra_arrays.items()})
    arrays["header"] = np.array(json.dumps(header))

    def write(p):
        with open(p, "wb") as fh:  # a file handle stops numpy from appending ".npz"
            np.savez_compressed(fh, **arrays)

    _atomic_write(npz_path, write)


def load_entry(npz_path: Path, decode=None):
    """Read an entry written by :func:`save_entry`: a FaceDataset, or ``(FaceDataset,
    decode(header, arrays, csv_path))`` when it holds a second result."""
    with np.load(npz_path, allow_pickle=False) as z:
        header = json.loads(str(z["header"]))
        if header.get("format") != FORMAT_VERSION:
            raise ValueError(f"{npz_path}: cache format {header.get('format')} is not current")
        ds = decode_dataset(z, header)
        rep = header["report"]
        if rep is None:
            return ds
        extra_arrays = {k[2:]: z[k] for k in z.files if k.startswith("r/")}
    if decode is None:
        raise ValueError(f"{npz_path} holds a second result but no decoder was given")
    csv_path = npz_path.with_name(rep["csv"]) if "csv" in rep else None
    return ds, decode(rep, extra_arrays, csv_path)


# ----------------------------------------------------------------------------- entry point


def cached_call(
    namespace: str,
    params: dict,
    inputs: FaceDataset,
    fn,
    *,
    version: str = "",
    min_size: int = 0,
    root: Path | None = None,
    codec=None,
):
    """``fn()`` through the cache: load the entry for these inputs if present, else compute
    and store it.

    ``fn`` must return a FaceDataset or ``(FaceDataset, extra)``; for the latter the caller
    hands ``codec=(encode, decode)``: ``encode(extra) -> (header, arrays, table)`` and
    ``decode(header, arrays, csv_path) -> extra`` (masking's QC report: ``masking.dataset``). ``version`` should be a
    :func:`code_version` of the code ``fn`` runs. Inputs with fewer than ``min_size`` faces,
    or ``MASKFER_NO_CACHE=1``, bypass the cache. An entry that cannot be read is recomputed;
    a result that cannot be stored is returned anyway, with a warning.
    """
    if not cache_enabled() or len(inputs) < min_size:
        return fn()
    key = cache_key(namespace, params, inputs, version)
    npz_path, csv_path = entry_paths(namespace, key, root)
    if npz_path.is_file():
        try:
            out = load_entry(npz_path, None if codec is None else codec[1])
        except (OSError, ValueError, KeyError) as e:
            log.warning("cache entry %s unreadable (%s); recomputing", npz_path, e)
        else:
            log.warning("%s: loaded from cache %s", namespace, npz_path)
            return out
    out = fn()
    ds, extra = (out, None) if isinstance(out, FaceDataset) else out
    if extra is not None and codec is None:
        raise TypeError(f"cached_call({namespace!r}): fn returned a second result; pass codec=")
    try:
        save_entry(npz_path, ds, None if extra is None else codec[0](extra), csv_path)
    except (OSError, TypeError, ValueError) as e:
        log.warning("could not cache %s result (%s); continuing without cache", namespace, e)
    else:
        log.info("%s: cached at %s", namespace, npz_path)
    return out
