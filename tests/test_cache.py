"""Tests for maskfer_lib.cache and its wiring into masking (mask_dataset, attach_landmarks)."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pandas as pd
import pytest

from maskfer_lib import cache
from maskfer_lib.masking import dataset as mdataset
from maskfer_lib.masking.dataset import QCReport
from maskfer_lib.records import FaceDataset

FIELDS = ("images", "labels", "landmarks", "masked", "identity", "pose", "occlusion")


@pytest.fixture(autouse=True)
def _cache_on(monkeypatch, tmp_path):
    # Every test gets an empty cache of its own and the cache switched on.
    monkeypatch.delenv("MASKFER_NO_CACHE", raising=False)
    monkeypatch.setenv("MASKFER_CACHE", str(tmp_path / "cache"))


def cache_files(tmp_path, pattern: str = "*") -> list:
    """Files in the test's cache folder (none when it was never created)."""
    d = tmp_path / "cache"
    return sorted(d.glob(pattern)) if d.is_dir() else []


def full_dataset(n: int = 6, seed: int = 0) -> FaceDataset:
    """A dataset with every optional field and meta of every supported kind."""
    rng = np.random.default_rng(seed)
    lms = rng.uniform(5, 27, (n, 68, 2)).astype(np.float32)
    lms[1] = np.nan
    return FaceDataset(
        images=rng.integers(0, 256, (n, 32, 32, 1), dtype=np.uint8),
        labels=np.arange(n) % 3,
        class_names=("a", "b", "c"),
        landmarks=lms,
        masked=rng.random(n) > 0.5,
        identity=np.arange(n, dtype=np.int64) // 2,
        pose=rng.normal(size=(n, 3)).astype(np.float32),
        occlusion=rng.random((n, 32, 32)) > 0.5,
        paths=[f"/data/img_{i}.jpg" for i in range(n)],
        meta={
            "mask_type": np.array([f"type{i % 2}" for i in range(n)], dtype=object),
            "aus": rng.random((n, 4)),
            "names": ("x", "y"),
            "au_names": ["AU1", "AU2"],
            "source": "/data",
            "seed": 3,
            "nested": {"k": [1, 2.5, None]},
        },
    )


def full_report(ds: FaceDataset) -> QCReport:
    records = pd.DataFrame(
        {
            "index": np.arange(len(ds)),
            "source": ds.paths,
            "method": "celik",
            "mask_type": ["celik", ""] * (len(ds) // 2),
            "colour": ["white", ""] * (len(ds) // 2),
            "success": [True, False] * (len(ds) // 2),
            "reason": ["ok", "no_face"] * (len(ds) // 2),
        }
    )
    failures = [(1, ds.images[1], "no_face"), (3, ds.images[3], "no_face")]
    return QCReport("celik", records, failures, 1.5, 2.25)


def assert_same_dataset(a: FaceDataset, b: FaceDataset) -> None:
    for f in FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        if x is None:
            assert y is None, f
            continue
        assert x.dtype == y.dtype and x.shape == y.shape, f
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f
    assert a.class_names == b.class_names
    assert a.paths == b.paths
    assert a.meta.keys() == b.meta.keys()
    for k, v in a.meta.items():
        if isinstance(v, np.ndarray):
            assert b.meta[k].dtype == v.dtype and np.array_equal(b.meta[k], v), k
        else:
            assert b.meta[k] == v and type(b.meta[k]) is type(v), k


class Counter:
    """A cached function that counts its calls."""

    def __init__(self, result):
        self.calls = 0
        self.result = result

    def __call__(self):
        self.calls += 1
        return self.result


def test_miss_then_hit_round_trips_dataset_and_report(tmp_path, caplog):
    ds = full_dataset()
    fn = Counter((ds, full_report(ds)))
    first = cache.cached_call("t", {"m": "celik"}, ds, fn, codec=mdataset.QC_CODEC)
    assert fn.calls == 1 and first is fn.result
    with caplog.at_level(logging.INFO, logger="maskfer_lib.cache"):
        out, rep = cache.cached_call("t", {"m": "celik"}, ds, fn, codec=mdataset.QC_CODEC)
    assert fn.calls == 1, "second call must load, not recompute"
    npz = list((tmp_path / "cache").glob("t-*.npz"))
    assert len(npz) == 1 and str(npz[0]) in caplog.text
    assert npz[0].with_name(npz[0].name[: -len(".npz")] + ".qc.csv").is_file()
    assert_same_dataset(ds, out)
    ref = fn.result[1]
    pd.testing.assert_frame_equal(rep.records, ref.records, check_dtype=False)
    assert rep.records["success"].dtype == bool
    assert rep.counts() == ref.counts() and rep.method == ref.method
    assert (rep.seconds_landmarks, rep.seconds_masking) == (1.5, 2.25)
    assert [(i, r) for i, _, r in rep.failures] == [(i, r) for i, _, r in ref.failures]
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(rep.failures, ref.failures, strict=True))


def test_round_trip_dataset_without_optional_fields(tmp_path):
    ds = FaceDataset(np.zeros((3, 8, 8, 3), np.uint8), [0, 1, 0], ("a", "b"))
    fn = Counter(ds)
    cache.cached_call("t", {}, ds, fn)
    out = cache.cached_call("t", {}, ds, fn)
    assert fn.calls == 1 and isinstance(out, FaceDataset)
    assert_same_dataset(ds, out)


def test_key_changes_with_params_input_and_code_version():
    ds = full_dataset()
    base = cache.cache_key("t", {"m": "celik", "seed": 0}, ds, "v1")
    assert base == cache.cache_key("t", {"seed": 0, "m": "celik"}, full_dataset(), "v1")
    assert base != cache.cache_key("u", {"m": "celik", "seed": 0}, ds, "v1")
    assert base != cache.cache_key("t", {"m": "celik", "seed": 1}, ds, "v1")
    assert base != cache.cache_key("t", {"m": "celik", "seed": 0}, ds, "v2")
    pixel = full_dataset()
    pixel.images[2, 5, 5, 0] ^= 1
    assert base != cache.cache_key("t", {"m": "celik", "seed": 0}, pixel, "v1")
    label = full_dataset()
    label.labels[0] = (label.labels[0] + 1) % 3
    assert base != cache.cache_key("t", {"m": "celik", "seed": 0}, label, "v1")
    moved = full_dataset()
    moved.landmarks[0, 0, 0] += 0.5
    assert base != cache.cache_key("t", {"m": "celik", "seed": 0}, moved, "v1")
    none = full_dataset()
    none.landmarks = None
    assert base != cache.cache_key("t", {"m": "celik", "seed": 0}, none, "v1")


def test_changed_version_recomputes():
    ds = full_dataset()
    fn = Counter(ds)
    cache.cached_call("t", {}, ds, fn, version="a")
    cache.cached_call("t", {}, ds, fn, version="b")
    cache.cached_call("t", {}, ds, fn, version="a")
    assert fn.calls == 2


def test_code_version_follows_source_edits(tmp_path, monkeypatch):
    pkg = tmp_path / "src" / "cachetestpkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    v1 = cache.code_version("cachetestpkg")
    assert v1 == cache.code_version("cachetestpkg")
    (pkg / "mod.py").write_text("X = 2\n")
    assert cache.code_version("cachetestpkg") != v1
    assert cache.code_version("cachetestpkg.mod") != cache.code_version("cachetestpkg")
    sys.modules.pop("cachetestpkg", None)
    with pytest.raises(ValueError, match="not_a_module_xyz"):
        cache.code_version("not_a_module_xyz")


def test_exception_in_fn_leaves_no_files(tmp_path):
    ds = full_dataset()

    def boom():
        raise RuntimeError("masking failed")

    with pytest.raises(RuntimeError, match="masking failed"):
        cache.cached_call("t", {}, ds, boom)
    assert not cache_files(tmp_path)


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    ds = full_dataset()

    def half_write(fh, **arrays):
        fh.write(b"PK\x03\x04 partial zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", half_write)
    npz, csv = cache.entry_paths("t", "k", tmp_path / "cache")
    with pytest.raises(OSError, match="disk full"):
        cache.save_entry(npz, ds, mdataset.QC_CODEC[0](full_report(ds)), csv)
    assert not npz.exists()
    assert not [p for p in cache_files(tmp_path) if p.suffix != ".csv"]
    # Through cached_call the result still comes back, and nothing half-written remains.
    fn = Counter(ds)
    assert cache.cached_call("t", {}, ds, fn) is ds
    assert not cache_files(tmp_path, "*.npz")
    assert not cache_files(tmp_path, "*tmp*")


def test_corrupt_entry_is_recomputed(tmp_path):
    ds = full_dataset()
    fn = Counter(ds)
    cache.cached_call("t", {}, ds, fn)
    (npz,) = (tmp_path / "cache").glob("t-*.npz")
    npz.write_bytes(b"not a zip")
    out = cache.cached_call("t", {}, ds, fn)
    assert fn.calls == 2
    assert_same_dataset(ds, out)


def test_no_cache_env_and_min_size_bypass(tmp_path, monkeypatch):
    ds = full_dataset()
    fn = Counter(ds)
    cache.cached_call("t", {}, ds, fn, min_size=len(ds) + 1)
    cache.cached_call("t", {}, ds, fn, min_size=len(ds) + 1)
    monkeypatch.setenv("MASKFER_NO_CACHE", "1")
    cache.cached_call("t", {}, ds, fn)
    cache.cached_call("t", {}, ds, fn)
    assert fn.calls == 4
    assert not cache_files(tmp_path)


def test_unstorable_meta_is_returned_uncached(tmp_path):
    ds = full_dataset()
    ds.meta["weird"] = object()
    fn = Counter(ds)
    assert cache.cached_call("t", {}, ds, fn) is ds
    assert cache.cached_call("t", {}, ds, fn) is ds
    assert fn.calls == 2
    with pytest.raises(TypeError, match="JSON"):
        cache.cache_key("t", {"x": object()}, ds, "")


# ----------------------------------------------------------------------------- wiring


@pytest.fixture
def synth_faces():
    from maskfer_lib.synth import generate

    return generate(2, size=64, seed=0)


def test_mask_dataset_second_call_loads_from_cache(synth_faces, monkeypatch):
    monkeypatch.setattr(mdataset, "CACHE_MIN_FACES", 5)
    out, rep = mdataset.mask_dataset(synth_faces, "celik", seed=1)

    def must_not_run(*a, **k):
        raise AssertionError("mask_dataset recomputed instead of loading the cache")

    monkeypatch.setattr(mdataset, "_mask_dataset", must_not_run)
    out2, rep2 = mdataset.mask_dataset(synth_faces, "celik", seed=1)
    assert_same_dataset(out, out2)
    pd.testing.assert_frame_equal(rep.records, rep2.records, check_dtype=False)
    with pytest.raises(AssertionError, match="recomputed"):
        mdataset.mask_dataset(synth_faces, "celik", seed=2)  # other seed: a miss
    with pytest.raises(AssertionError, match="recomputed"):
        mdataset.mask_dataset(synth_faces, "awfm", seed=1)  # other method: a miss


def test_small_datasets_are_not_cached(synth_faces, tmp_path):
    assert len(synth_faces) < mdataset.CACHE_MIN_FACES
    mdataset.mask_dataset(synth_faces, "celik", seed=0)
    assert not cache_files(tmp_path, "*.npz")


def test_attach_landmarks_cached(synth_faces, monkeypatch):
    monkeypatch.setattr(mdataset, "CACHE_MIN_FACES", 5)
    ds = synth_faces.subset(np.arange(6))
    ds.landmarks = None
    calls = []

    def fake_estimate(image, crop=None):
        calls.append(crop)
        return np.full((68, 2), float(image.mean()), np.float32)

    monkeypatch.setattr(mdataset, "estimate_landmarks", fake_estimate)
    a = mdataset.attach_landmarks(ds, crop=True)
    b = mdataset.attach_landmarks(ds, crop=True)
    assert calls == [True] * len(ds)
    assert np.array_equal(a.landmarks, b.landmarks)
    mdataset.attach_landmarks(ds, crop=False)  # other parameters: a miss
    assert len(calls) == 2 * len(ds)


def test_mask_dataset_shares_one_cached_landmark_pass(synth_faces, monkeypatch):
    # Real faces have no landmarks: every masking method (and notebook) must reuse one
    # cached dlib pass instead of running dlib again per method.
    monkeypatch.setattr(mdataset, "CACHE_MIN_FACES", 5)
    ds = synth_faces.subset(np.arange(8))
    true_lm = ds.landmarks.copy()
    ds.landmarks = None
    calls = []

    def fake_estimate(image, crop=None):
        calls.append(crop)
        return true_lm[len(calls) - 1 - len(ds) * (len(calls) > len(ds))]

    monkeypatch.setattr(mdataset, "estimate_landmarks", fake_estimate)
    _, rep_c = mdataset.mask_dataset(ds, "celik", seed=0)
    _, rep_a = mdataset.mask_dataset(ds, "awfm", seed=0)
    assert len(calls) == len(ds)  # one landmark pass for two methods
    assert rep_c.n_total == rep_a.n_total == len(ds)
    assert rep_a.seconds_landmarks > 0  # the landmark time is reported with each method
    assert ds.landmarks is None  # the caller's dataset is left as it was

    # Faces that already carry landmarks (here: masked faces, whose meta came from the
    # landmarked split) cost no dlib time; the split's seconds are not charged to them.
    masked, _ = mdataset.mask_dataset(ds, "celik", seed=0)
    sub = masked.subset(np.arange(6))
    sub.meta = {**sub.meta, "landmark_seconds": 1000.0}  # as inherited from a big split
    _, rep_sub = mdataset.mask_dataset(sub, "awfm", seed=0)
    assert rep_sub.seconds_landmarks < 1.0


def test_a_second_result_needs_a_codec(tmp_path):
    ds = full_dataset()
    with pytest.raises(TypeError, match="pass codec="):
        cache.cached_call("t", {}, ds, Counter((ds, full_report(ds))))


def test_the_cache_module_imports_nothing_of_masking():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(cache.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m and "masking" in m for m in imported), imported
