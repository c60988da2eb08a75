"""The one record type."""

import numpy as np
import pytest

from maskfer_lib.records import FaceDataset, concat, load_splits, save_splits


def _ds(n=6, k=3):
    return FaceDataset(
        images=np.arange(n * 4 * 4 * 1, dtype=np.uint8).reshape(n, 4, 4, 1),
        labels=np.arange(n) % k,
        class_names=[f"c{i}" for i in range(k)],
        landmarks=np.zeros((n, 68, 2), np.float32),
        identity=np.arange(n) // 2,
        meta={"aus": np.arange(n * 2).reshape(n, 2), "au_names": ["AU1", "AU2"]},
    )


def test_record_access_and_defaults():
    ds = _ds()
    assert len(ds) == 6 and ds.num_classes == 3 and ds.image_shape == (4, 4, 1)
    assert ds.masked.dtype == bool and not ds.masked.any()
    rec = ds[4]
    assert rec.label == 1 and rec.class_name == "c1" and rec.identity == 2
    assert ds.class_counts() == {"c0": 2, "c1": 2, "c2": 2}


def test_subset_keeps_fields_aligned():
    ds = _ds()
    sub = ds.subset(ds.labels == 2)
    assert len(sub) == 2
    assert sub.identity.tolist() == [1, 2]
    assert sub.meta["aus"].shape == (2, 2) and sub.meta["au_names"] == ["AU1", "AU2"]


def test_concat_round_trip():
    ds = _ds()
    both = concat([ds.subset([0, 1]), ds.subset([2, 3, 4, 5])])
    assert np.array_equal(both.images, ds.images)
    assert np.array_equal(both.meta["aus"], ds.meta["aus"])


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(labels=[0, 1, 5, 0, 1, 2]), "labels must lie"),
        (dict(identity=np.zeros(3)), "identity has 3 rows"),
        (dict(images=np.zeros((6, 4, 4), np.uint8)), "images must be"),
    ],
)
def test_inconsistent_fields_are_rejected(change, message):
    kw = dict(
        images=np.zeros((6, 4, 4, 1), np.uint8), labels=np.zeros(6), class_names=["a", "b", "c"]
    )
    kw.update(change)
    with pytest.raises(ValueError, match=message):
        FaceDataset(**kw)


def test_save_load_splits_roundtrip(tmp_path):
    ds = _ds()
    ds.landmarks = None
    ds.meta = {"aus": np.arange(len(ds), dtype=float), "note": "x"}
    ds.paths = [f"p{i}" for i in range(len(ds))]
    save_splits(tmp_path / "s.npz", {"train": ds, "test": _ds(4)})
    out = load_splits(tmp_path / "s.npz")
    assert set(out) == {"train", "test"}
    back = out["train"]
    np.testing.assert_array_equal(back.images, ds.images)
    np.testing.assert_array_equal(back.identity, ds.identity)
    np.testing.assert_array_equal(back.meta["aus"], ds.meta["aus"])
    assert back.class_names == ds.class_names and back.paths == ds.paths
    assert back.meta["note"] == "x" and back.landmarks is None
    test = out["test"]
    assert test.landmarks.shape == (4, 68, 2) and test.paths is None
    assert test.meta["au_names"] == ["AU1", "AU2"]
