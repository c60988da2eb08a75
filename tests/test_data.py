"""Loaders on tiny fixtures written here (every format, every error), splits, load_dataset
(with a stand-in SynthFACS generator), the package's re-exports and the real FER2013 copy
when present. Class maps are tested in test_labels.py, the npz codec in test_records.py."""

from __future__ import annotations

import ast
import gzip
import importlib
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskfer_lib import config, data
from maskfer_lib.data import CLASSES_3, CLASSES_4, CLASSES_7, images
from maskfer_lib.records import FaceDataset


def write_img(path, h=12, w=10, value=100, color=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((h, w, 3) if color else (h, w), value, np.uint8)
    if color:
        img[..., 0] = 10  # BGR: blue channel low, so RGB order is checkable
    assert cv2.imwrite(str(path), img)
    return path


def make_folder(root, spec, h=12, w=10):
    """spec: {class: count}."""
    for c, n in spec.items():
        for i in range(n):
            write_img(root / c / f"{c}_{i}.png", h, w, value=(20 * (i + 1)) % 256)
    return root


def toy_ds(n_per_class=20, k=7, n_ids=10, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(k), n_per_class)
    return FaceDataset(
        images=rng.integers(0, 255, (len(labels), 8, 8, 3), dtype=np.uint8),
        labels=labels,
        class_names=CLASSES_7[:k],
        identity=rng.integers(0, n_ids, len(labels)),
    )


# --------------------------------------------------------------------------- ImageFolder


def test_imagefolder_loads_classes_labels_and_channels(tmp_path):
    make_folder(tmp_path / "train", {"happy": 3, "angry": 2})
    ds = data.load_imagefolder(tmp_path, "train")
    assert ds.class_names == ("angry", "happy") and len(ds) == 5
    assert ds.class_counts() == {"angry": 2, "happy": 3}
    assert ds.images.shape == (5, 12, 10, 3) and ds.images.dtype == np.uint8
    assert ds.images[0, 0, 0, 2] == 10  # BGR on disk -> RGB in memory
    assert all(p.endswith(".png") for p in ds.paths)
    gray = data.load_imagefolder(tmp_path, "train", grayscale=True, size=(6, 4))
    assert gray.images.shape == (5, 6, 4, 1)
    emo = data.load_imagefolder(
        tmp_path, "train", emotion_names=True, class_names=CLASSES_7, only_classes=["happy"]
    )
    assert emo.class_names == CLASSES_7 and set(emo.labels) == {CLASSES_7.index("happy")}


def test_imagefolder_emotion_synonyms(tmp_path):
    make_folder(tmp_path, {"Happiness": 1, "anger": 1, "normal": 1})
    ds = data.load_imagefolder(tmp_path, emotion_names=True)
    assert ds.class_names == ("angry", "happy", "neutral")
    make_folder(tmp_path / "x", {"banana": 1})
    with pytest.raises(ValueError, match="unknown class name 'banana'"):
        data.load_imagefolder(tmp_path / "x", emotion_names=True)


def test_imagefolder_errors_name_the_path_and_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; check DATA_DIR"):
        data.load_imagefolder(tmp_path / "nope")
    make_folder(tmp_path / "train", {"happy": 1})
    with pytest.raises(FileNotFoundError, match=r"split folder .*test does not exist.*\['train'\]"):
        data.load_imagefolder(tmp_path, "test")
    (tmp_path / "flat").mkdir()
    with pytest.raises(ValueError, match="no class sub-folders"):
        data.load_imagefolder(tmp_path / "flat")
    (tmp_path / "train" / "sad").mkdir()
    with pytest.raises(ValueError, match=r"class folder .*sad holds no images"):
        data.load_imagefolder(tmp_path, "train")
    (tmp_path / "train" / "sad").rmdir()
    with pytest.raises(ValueError, match=r"class folder\(s\) \['happy'\] not in class_names"):
        data.load_imagefolder(tmp_path, "train", class_names=("sad",))
    write_img(tmp_path / "train" / "happy" / "big.png", 20, 20)
    with pytest.raises(data.MixedSizeError, match="big.png.*pass size="):
        data.load_imagefolder(tmp_path, "train")


def test_unreadable_image_raises_or_is_counted(tmp_path):
    make_folder(tmp_path, {"happy": 2})
    bad = tmp_path / "happy" / "broken.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"cannot read image .*broken\.jpg.*on_error='skip'"):
        data.load_imagefolder(tmp_path)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        ds = data.load_imagefolder(tmp_path, on_error="skip")
    assert len(ds) == 2 and ds.meta["skipped"][0][0].endswith("broken.jpg")
    with pytest.raises(ValueError, match="on_error"):
        data.load_imagefolder(tmp_path, on_error="ignore")


# --------------------------------------------------------------------------- FER2013


def fer_csv_text(rows):
    lines = ["emotion,pixels,Usage"]
    for emo, val, usage in rows:
        lines.append(f"{emo}," + " ".join([str(val)] * 2304) + f",{usage}")
    return "\n".join(lines) + "\n"


def test_fer2013_csv_and_gz(tmp_path):
    rows = [(0, 10, "Training"), (4, 20, "Training"), (6, 30, "PublicTest"), (5, 40, "PrivateTest")]
    p = tmp_path / "fer2013.csv"
    p.write_text(fer_csv_text(rows))
    out = data.load_fer2013_csv(p)
    assert set(out) == {"train", "val", "test"}
    tr = out["train"]
    assert tr.images.shape == (2, 48, 48, 1) and tr.class_names == CLASSES_7
    # csv codes 0 angry, 4 sad; 6 neutral; 5 surprise, re-indexed into CLASSES_7
    assert [tr.class_names[i] for i in tr.labels] == ["angry", "sad"]
    assert out["val"][0].class_name == "neutral" and out["test"][0].class_name == "surprise"
    assert tr.images[1].max() == 20
    gz = tmp_path / "f.csv.gz"
    with gzip.open(gz, "wt") as f:
        f.write(fer_csv_text(rows))
    assert len(data.load_fer2013_csv(gz, usage="Training")["train"]) == 2


def test_fer2013_csv_errors(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("label,image\n0,1 2 3\n")
    with pytest.raises(
        ValueError, match=r"x\.csv has columns \['label', 'image'\].*emotion,pixels"
    ):
        data.load_fer2013_csv(p)
    p.write_text("emotion,pixels,Usage\n0,1 2 3,Training\n")
    with pytest.raises(ValueError, match="row 2 has 3 pixel values, expected 2304"):
        data.load_fer2013_csv(p)
    p.write_text(fer_csv_text([(0, 1, "Training"), (9, 1, "Training")]))
    with pytest.raises(ValueError, match="row 3 has emotion .9."):
        data.load_fer2013_csv(p)
    p.write_text(fer_csv_text([(0, 1, "Train")]))
    with pytest.raises(ValueError, match="unknown Usage values"):
        data.load_fer2013_csv(p)
    with pytest.raises(FileNotFoundError):
        data.load_fer2013_csv(tmp_path / "absent.csv")


def test_fer2013_folder_layout(tmp_path):
    make_folder(tmp_path / "train", {"happy": 2, "sad": 1}, 48, 48)
    make_folder(tmp_path / "validation", {"happy": 1}, 48, 48)
    out = data.load_fer2013_folder(tmp_path)
    assert set(out) == {"train", "val"}
    assert out["train"].images.shape == (3, 48, 48, 1)
    assert out["val"].class_names == CLASSES_7 and out["val"][0].class_name == "happy"
    with pytest.raises(FileNotFoundError, match="no train/ folder"):
        data.load_fer2013_folder(tmp_path / "validation")


# --------------------------------------------------------------------------- KDEF


def test_parse_kdef_name():
    r = data.parse_kdef_name("AF01ANFL.JPG")
    assert r == {
        "session": "A",
        "sex": "F",
        "subject": 1,
        "identity": 1,
        "code": "AN",
        "label": "angry",
        "angle": "FL",
        "yaw": -90.0,
    }
    assert data.parse_kdef_name("BM22HAS.JPG")["identity"] == 122
    assert data.parse_kdef_name("bm22sUhr.jpg")["label"] == "surprise"
    with pytest.raises(ValueError, match="not a KDEF file name"):
        data.parse_kdef_name("AF01XXS.JPG")


def test_load_kdef(tmp_path):
    for n in ["AF01AFS", "AF01HAHL", "BF01HAS", "AM02NEFR", "AM02SUS"]:
        write_img(tmp_path / n[:4] / f"{n}.JPG", 40, 30)
    ds = data.load_kdef(tmp_path, size=16)
    assert len(ds) == 5 and ds.images.shape == (5, 16, 16, 3)
    got = {
        p.split("/")[-1][:-4]: (ds[i].class_name, ds[i].identity, float(ds.pose[i, 0]))
        for i, p in enumerate(ds.paths)
    }
    assert got == {
        "AF01AFS": ("fear", 1, 0.0),
        "AF01HAHL": ("happy", 1, -45.0),
        "BF01HAS": ("happy", 1, 0.0),
        "AM02NEFR": ("neutral", 102, 90.0),
        "AM02SUS": ("surprise", 102, 0.0),
    }
    assert len(data.load_kdef(tmp_path, size=16, angles=("S",))) == 3
    write_img(tmp_path / "notes.png")
    with pytest.raises(ValueError, match=r"notes\.png.*not a KDEF file name"):
        data.load_kdef(tmp_path, size=16)
    assert (
        data.load_kdef(tmp_path, size=16, on_error="skip").meta["skipped"][0][1]
        == "not a KDEF file name"
    )


# --------------------------------------------------------------------------- RAF-DB


def make_rafdb(root):
    (root / "EmoLabel").mkdir(parents=True)
    lines = ["train_00001.jpg 1", "train_00002.jpg 4", "test_0001.jpg 7", "test_0002.jpg 6"]
    (root / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    for ln in lines:
        stem = ln.split()[0][:-4]
        write_img(root / "Image" / "aligned" / f"{stem}_aligned.jpg", 20, 20)
    return root


def test_load_rafdb(tmp_path):
    root = make_rafdb(tmp_path)
    out = data.load_rafdb(root)
    assert set(out) == {"train", "test"}
    assert [out["train"][i].class_name for i in range(2)] == ["surprise", "happy"]
    assert [out["test"][i].class_name for i in range(2)] == ["neutral", "angry"]
    assert len(data.load_rafdb(root, split="test")) == 2


def test_rafdb_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="list_patition_label.txt"):
        data.load_rafdb(tmp_path)
    root = make_rafdb(tmp_path / "r")
    (root / "Image" / "aligned" / "test_0002_aligned.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="1 image.* missing.*test_0002"):
        data.load_rafdb(root)
    out = data.load_rafdb(root, on_error="skip")
    assert len(out["test"]) == 1 and out["test"].meta["skipped"][0][1] == "missing file"
    (root / "EmoLabel" / "list_patition_label.txt").write_text("train_00001.jpg 9\n")
    with pytest.raises(ValueError, match=r"list_patition_label.txt:1: .*label 1..7"):
        data.load_rafdb(root)


# --------------------------------------------------------------------------- LFW-FER


def test_load_lfwfer(tmp_path):
    make_folder(tmp_path / "flat", {"positive": 2, "negative": 1})
    ds = data.load_lfwfer(tmp_path / "flat")
    assert ds.class_names == CLASSES_3 and ds.class_counts() == {
        "positive": 2,
        "neutral": 0,
        "negative": 1,
    }
    make_folder(tmp_path / "split" / "train", {"neutral": 1, "positive": 1})
    make_folder(tmp_path / "split" / "test", {"negative": 1})
    out = data.load_lfwfer(tmp_path / "split")
    assert set(out) == {"train", "test"} and out["test"][0].class_name == "negative"
    make_folder(tmp_path / "bad", {"happy": 1})
    with pytest.raises(ValueError, match=r"\['happy'\] not in class_names"):
        data.load_lfwfer(tmp_path / "bad")


# --------------------------------------------------------------------------- splits


def test_stratified_split_keeps_proportions():
    y = np.repeat([0, 1, 2], [100, 60, 40])
    s = data.stratified_split(y, (0.7, 0.15, 0.15), seed=0)
    all_idx = np.concatenate(list(s.values()))
    assert len(all_idx) == 200 and len(np.unique(all_idx)) == 200
    assert abs(len(s["test"]) - 30) <= 1 and abs(len(s["val"]) - 30) <= 1
    for part in s.values():
        frac = np.bincount(y[part], minlength=3) / len(part)
        np.testing.assert_allclose(frac, [0.5, 0.3, 0.2], atol=0.04)
    again = data.stratified_split(y, seed=0)
    assert all(np.array_equal(s[k], again[k]) for k in s)
    with pytest.raises(ValueError, match="summing to 1"):
        data.stratified_split(y, (0.5, 0.2, 0.2))


def test_identity_split_is_identity_disjoint():
    ds = toy_ds(n_per_class=30, n_ids=40)
    s = data.identity_split(ds, seed=1)
    ids = {k: set(ds.identity[v]) for k, v in s.items()}
    assert (
        not (ids["train"] & ids["val"])
        and not (ids["train"] & ids["test"])
        and not (ids["val"] & ids["test"])
    )
    assert sum(len(v) for v in s.values()) == len(ds)
    assert 0.6 < len(s["train"]) / len(ds) < 0.8 and len(s["val"]) > 0 and len(s["test"]) > 0
    no_ids = FaceDataset(images=ds.images, labels=ds.labels, class_names=ds.class_names)
    with pytest.warns(UserWarning, match="no identities"):
        data.identity_split(no_ids)


def test_kfold_indices_ten_stratified_folds():
    y = np.repeat(np.arange(7), 20)
    folds = data.kfold_indices(y, n_splits=10, seed=0)
    assert len(folds) == 10
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests) == list(range(len(y)))  # every image tested exactly once
    for tr, te in folds:
        assert not set(tr) & set(te)
        assert (np.bincount(y[te], minlength=7) == 2).all()
    ds = toy_ds(n_per_class=20, n_ids=30)
    for tr, te in data.kfold_indices(ds, n_splits=5, groups=ds.identity):
        assert not set(ds.identity[tr]) & set(ds.identity[te])


# --------------------------------------------------------------------------- cache + load_dataset


def fake_synth(monkeypatch, calls):
    """Stand-in for maskfer_lib.synth (generate + split_by_identity) with the planned API."""
    try:
        synth = importlib.import_module("maskfer_lib.synth")
    except ImportError:  # pragma: no cover - package not written yet
        synth = types.ModuleType("maskfer_lib.synth")
        monkeypatch.setitem(__import__("sys").modules, "maskfer_lib.synth", synth)
        import maskfer_lib

        monkeypatch.setattr(maskfer_lib, "synth", synth, raising=False)

    def generate(n_per_class, size=128, seed=0, **kw):
        calls.append((n_per_class, size, seed))
        ds = toy_ds(n_per_class=n_per_class, n_ids=12, seed=seed)
        ds.images = np.zeros((len(ds), size, size, 3), np.uint8)
        ds.landmarks = np.zeros((len(ds), 68, 2), np.float32)
        ds.meta = {
            "aus": np.ones((len(ds), 5), np.float32),
            "au_names": ["AU1", "AU2", "AU4", "AU6", "AU12"],
        }
        return ds

    def split_by_identity(ds, seed=0):
        return data.apply_split(ds, data.identity_split(ds, seed=seed))

    monkeypatch.setattr(synth, "generate", generate, raising=False)
    monkeypatch.setattr(synth, "split_by_identity", split_by_identity, raising=False)


def test_load_dataset_synthfacs_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKFER_CACHE", str(tmp_path))
    calls = []
    fake_synth(monkeypatch, calls)
    prof = config.get_profile("smoke")
    a = data.load_dataset("synthfacs", "", prof, seed=3)
    assert calls == [(prof.synth_per_class, prof.image_size, 3)]
    assert set(a) == {"train", "val", "test"}
    assert sum(len(v) for v in a.values()) == 7 * prof.synth_per_class
    b = data.load_dataset("synthfacs", "", "smoke", seed=3)
    assert len(calls) == 1, "second call must come from the cache"
    assert len(list(tmp_path.glob("synthfacs_*.npz"))) == 1
    for k in a:
        np.testing.assert_array_equal(a[k].images, b[k].images)
        np.testing.assert_array_equal(a[k].identity, b[k].identity)
        np.testing.assert_array_equal(a[k].meta["aus"], b[k].meta["aus"])
        assert b[k].meta["au_names"] == a[k].meta["au_names"] and b[k].landmarks is not None
    data.load_dataset("synthfacs", "", "smoke", seed=4)
    assert len(calls) == 2  # another seed is another cache entry


def test_load_dataset_real_formats(tmp_path):
    make_folder(tmp_path / "if" / "train", {"happy": 20, "sad": 20})
    make_folder(tmp_path / "if" / "test", {"happy": 4, "sad": 4})
    out = data.load_dataset("imagefolder", tmp_path / "if", "quick", max_per_class=None)
    assert set(out) == {"train", "val", "test"} and len(out["test"]) == 8
    assert len(out["train"]) + len(out["val"]) == 40 and out["val"].meta["carved_from_train"]
    capped = data.load_dataset("imagefolder", tmp_path / "if", "quick", max_per_class=10)
    assert capped["train"].class_counts() == {"happy": 7, "sad": 7}
    p = tmp_path / "fer" / "fer2013.csv"
    p.parent.mkdir()
    p.write_text(fer_csv_text([(i % 7, i, "Training") for i in range(70)]))
    fer = data.load_dataset("fer2013", p.parent, "paper")
    assert sum(len(v) for v in fer.values()) == 70 and fer["test"].meta["dataset"] == "fer2013"
    mixed = tmp_path / "mixed"
    make_folder(mixed, {"positive": 3})
    write_img(mixed / "neutral" / "a.png", 30, 30)
    write_img(mixed / "negative" / "b.png", 30, 30)
    lfw = data.load_dataset("lfwfer", mixed, "smoke", max_per_class=None)
    assert lfw["train"].image_shape == (64, 64, 3)  # mixed sizes -> profile image size
    with pytest.raises(ValueError, match="needs DATA_DIR"):
        data.load_dataset("kdef", "", "quick")
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load_dataset("affectnet", tmp_path, "quick")
    with pytest.raises(FileNotFoundError, match="neither FER2013"):
        data.load_dataset("fer2013", tmp_path / "if" / "test", "quick")


def test_to_model_input_resizes_and_converts():
    rgb = np.zeros((2, 20, 20, 3), np.uint8)
    rgb[..., 0] = 255  # pure red
    x = data.to_model_input(rgb, (10, 10, 1))
    assert x.shape == (2, 10, 10, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x, 0.299, atol=0.01)  # luma of red
    g = data.to_model_input(
        FaceDataset(images=np.full((1, 8, 8, 1), 51, np.uint8), labels=[0], class_names=["a"]),
        (16, 16, 3),
    )
    assert g.shape == (1, 16, 16, 3) and np.allclose(g, 0.2)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        data.to_model_input(np.zeros((8, 8, 3)), (8, 8, 3))


# --------------------------------------------------------------------------- the package


def test_the_package_reexports_its_api_and_no_submodule_imports_it():
    for name in data.__all__:
        assert hasattr(data, name), f"maskfer_lib.data.{name} is gone"
    assert data.DataFormatError is images.DataFormatError  # one class, whichever path
    for p in sorted(Path(data.__file__).parent.glob("*.py")):
        if p.name == "__init__.py":
            continue
        for n in ast.walk(ast.parse(p.read_text())):
            names = [a.name for a in n.names] if isinstance(n, ast.Import | ast.ImportFrom) else []
            if isinstance(n, ast.ImportFrom):
                names = [f"{n.module}.{a}" for a in names] + [n.module]
            assert "maskfer_lib.data" not in names, f"{p.name} imports the package: a circle"


# --------------------------------------------------------------------------- real FER2013

FER = config.SHARED_DATA / "fer2013"


@pytest.mark.skipif(
    not (FER / "validation").is_dir(), reason=f"real FER2013 folders absent at {FER}"
)
def test_real_fer2013_folders():
    val = data.load_imagefolder(
        FER, "validation", grayscale=True, class_names=CLASSES_7, emotion_names=True
    )
    assert val.class_counts() == {
        "angry": 467,
        "disgust": 56,
        "fear": 496,
        "happy": 895,
        "neutral": 607,
        "sad": 653,
        "surprise": 415,
    }
    assert val.image_shape == (48, 48, 1)
    disgust = data.load_imagefolder(
        FER,
        "train",
        grayscale=True,
        class_names=CLASSES_7,
        emotion_names=True,
        only_classes=["disgust"],
    )
    assert len(disgust) == 436


@pytest.mark.skipif(
    not (FER / "fer2013_head.csv").exists(), reason=f"fer2013_head.csv absent at {FER}"
)
def test_real_fer2013_head_csv():
    out = data.load_fer2013_csv(FER / "fer2013_head.csv")
    assert list(out) == ["train"] and len(out["train"]) == 1167
    first_line = (FER / "fer2013_head.csv").read_text().splitlines()[1].split(",")
    ds = out["train"]
    assert ds[0].class_name == data.FER2013_CODES[int(first_line[0])]
    assert ds.images[0, 0, :3, 0].tolist() == [int(v) for v in first_line[1].split()[:3]]


def test_class_constants_agree_with_synthfacs():
    synth = pytest.importorskip("maskfer_lib.synth", reason="maskfer_lib.synth not importable")
    if not hasattr(synth, "CLASSES_7"):
        pytest.skip("maskfer_lib.synth has no CLASSES_7 yet")
    assert synth.CLASSES_7 == CLASSES_7
    assert synth.CLASSES_3 == CLASSES_3 and synth.CLASSES_4 == CLASSES_4
    if hasattr(synth, "MAP_7_TO_3"):
        assert synth.MAP_7_TO_3 == data.CLASS_MAPS["yang3"]


def test_cap_per_class_keeps_at_most_cap_of_each_class():
    from maskfer_lib.records import FaceDataset

    labels = np.array([0] * 5 + [1] * 2 + [2] * 9)
    ds = FaceDataset(np.zeros((16, 2, 2, 1), np.uint8), labels, ("a", "b", "c"))
    capped = data.cap_per_class(ds, 3, seed=1)
    assert np.bincount(capped.labels).tolist() == [3, 2, 3]
    assert capped.meta["subsampled_from"] == 16
    assert np.array_equal(capped.labels, data.cap_per_class(ds, 3, seed=1).labels)


def test_subsample_keeps_the_class_proportions():
    from maskfer_lib.records import FaceDataset

    labels = np.r_[np.zeros(600, int), np.ones(300, int), np.full(100, 2)]
    ds = FaceDataset(np.zeros((1000, 4, 4, 1), np.uint8), labels, ("a", "b", "c"))
    out = data.subsample(ds, 200, seed=1)
    assert len(out) == 200 and out.meta["subsampled_from"] == 1000
    assert np.bincount(out.labels).tolist() == [120, 60, 20]  # 60 / 30 / 10 %, as in ds
    assert data.subsample(ds, 5000) is ds


def test_list_imagefolder_lists_without_reading_and_reports_other_files(tmp_path, caplog):
    for cls, n in (("happy", 2), ("sad", 1)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            cv2.imwrite(str(tmp_path / cls / f"{i}.png"), np.zeros((8, 8), np.uint8))
    (tmp_path / "sad" / "notes.txt").write_text("not an image")
    (tmp_path / "happy" / "1.png").write_bytes(b"")  # unreadable, but listing reads no pixel
    with caplog.at_level("WARNING"):
        paths, labels, names, ignored = data.list_imagefolder(tmp_path)
    assert list(names) == ["happy", "sad"]
    assert [p.name for p in paths] == ["0.png", "1.png", "0.png"] and labels == [0, 0, 1]
    assert [p.name for p in ignored] == ["notes.txt"]
    assert "ignored 1 file(s)" in caplog.text and "notes.txt" in caplog.text
