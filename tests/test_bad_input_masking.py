"""The folder builder and its CLI on real photos and bad input: every face masked, every
file accounted for, clear errors, nothing wrong written silently.

Always-run fixtures are built in tmp_path from SynthFACS faces and skimage photos; tests on
the shared real data (FER2013 crops, dlib's group photos) skip when it is absent.
"""

import hashlib
import logging

import cv2
import numpy as np
import pandas as pd
import pytest
import skimage.data

import maskfer_lib  # noqa: F401
from maskfer_lib.config import SHARED_DATA
from maskfer_lib.masking import build_masked_folder, mask_dataset
from maskfer_lib.masking.__main__ import main as cli
from maskfer_lib.records import FaceDataset

FER_HAPPY = SHARED_DATA / "fer2013" / "train" / "happy"
DLIB_FACES = SHARED_DATA / "wild" / "dlib_faces"
GROUP_PHOTO = DLIB_FACES / "2007_007763.jpg"  # dlib's HOG finds 7 faces in it


@pytest.fixture(scope="module")
def faces():
    """Seven frontal SynthFACS faces, 160×160 RGB; the HOG detector finds each."""
    synth = pytest.importorskip("maskfer_lib.synth", reason="SynthFACS generator not available")
    return synth.generate(1, size=160, seed=0, pose="frontal").images


def _save(path, image, *params):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), img, list(params))


def _two_faces(faces):
    """Two faces pasted side by side on a gray 240×400 canvas."""
    canvas = np.full((240, 400, 3), 200, np.uint8)
    canvas[40:200, 40:360] = np.hstack([faces[0], faces[3]])
    return canvas


def _manifest(dst):
    counts = {c: "Int64" for c in ("face", "faces_found", "faces_masked")}
    man = pd.read_csv(dst / "manifest.csv", dtype=counts)
    return man.fillna({c: "" for c in ("output", "box", "detector", "mask_type", "detail")})


def _digest(folder):
    return {
        p.relative_to(folder): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _rgb(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


# 1 ---------------------------------------------------------------- group photos


def test_every_face_of_a_photo_is_masked_with_a_row_each(tmp_path, faces, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    two = _two_faces(faces)
    _save(src / "group/two.png", two)
    _save(src / "group/wall.png", np.tile(np.linspace(0, 255, 200, dtype=np.uint8), (150, 1)))
    assert cli([str(src), str(dst), "--method", "hayashi"]) == 0
    man = _manifest(dst)
    rows = man[man.source == "group/two.png"]
    assert len(rows) == 2 and rows.face.tolist() == [0, 1]
    assert rows.success.all() and (rows.reason == "ok").all()
    assert (rows.faces_found == 2).all() and (rows.faces_masked == 2).all()
    assert (rows.detector == "hog").all() and set(rows.output) == {"group/two.png"}
    assert {"source", "face", "box", "method", "mask_type", "colour", "success", "reason"} <= set(
        man.columns
    )
    boxes = [tuple(int(v) for v in b.split(",")) for b in rows.box]
    assert sorted(x for x, *_ in boxes)[0] < 200 < sorted(x for x, *_ in boxes)[1]
    # One output image with both lower faces changed.
    out = _rgb(dst / "group/two.png").astype(int)
    changed = np.abs(out - two).sum(-1) > 30
    assert changed[120:200, 40:200].mean() > 0.1 and changed[120:200, 200:360].mean() > 0.1
    # The image without a face is one counted no_face row.
    wall = man[man.source == "group/wall.png"]
    assert wall.reason.tolist() == ["no_face"] and wall.faces_found.tolist() == [0]
    assert wall.face.isna().all() and not (dst / "group/wall.png").exists()
    qc = pd.read_csv(dst / "qc_report.csv").set_index("reason")["count"]
    assert qc["ok"] == 2 and qc["no_face"] == 1
    text = capsys.readouterr().out
    assert "faces: 2 masked of 2 found" in text and "no_face: 1" in text

    # max_faces: the best face is masked, the other is an over_max_faces row.
    rep = build_masked_folder(src, tmp_path / "one", max_faces=1, progress=False)
    rows = rep.records[rep.records.source == "group/two.png"]
    assert rows.reason.tolist() == ["ok", "over_max_faces"]
    assert rows.faces_found.tolist() == [2, 2] and rows.faces_masked.tolist() == [1, 1]
    assert rep.counts()["over_max_faces"] == 1


@pytest.mark.skipif(not GROUP_PHOTO.is_file(), reason=f"{GROUP_PHOTO} (dlib's photos) is absent")
def test_real_group_photo_masks_all_seven_faces(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / GROUP_PHOTO.name).write_bytes(GROUP_PHOTO.read_bytes())  # a copy in tmp_path only
    rep = build_masked_folder(src, tmp_path / "dst", "template", progress=False)
    assert rep.n_total == 7 and (rep.records.faces_found == 7).all()
    assert rep.records.face.tolist() == list(range(7))
    assert rep.n_success >= 6, rep.records[["face", "reason", "detail"]]


# 2 ---------------------------------------------------------------- strict decoding


def test_truncated_and_empty_files_are_counted_skips(tmp_path, caplog):
    src, dst = tmp_path / "src", tmp_path / "dst"
    photo = skimage.data.astronaut()
    _save(src / "ok/whole.jpg", photo)
    jpeg = (src / "ok/whole.jpg").read_bytes()
    _save(src / "bad/tmp.png", photo)
    png = (src / "bad/tmp.png").read_bytes()
    (src / "bad/tmp.png").unlink()
    (src / "bad/half.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (src / "bad/half.png").write_bytes(png[: len(png) // 2])
    (src / "bad/empty.jpg").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        rep = build_masked_folder(src, dst, "celik", progress=False)
    reasons = dict(zip(rep.records.source, rep.records.reason, strict=True))
    assert reasons == {
        "bad/empty.jpg": "unreadable_image",
        "bad/half.jpg": "truncated_image",
        "bad/half.png": "truncated_image",
        "ok/whole.jpg": "ok",
    }
    detail = dict(zip(rep.records.source, rep.records.detail, strict=True))
    assert "FFD9" in detail["bad/half.jpg"] and "IEND" in detail["bad/half.png"]
    assert "0 bytes" in detail["bad/empty.jpg"]
    assert not (dst / "bad").exists(), "a damaged file was written as a masked image"
    for name in ("half.jpg", "half.png", "empty.jpg"):
        assert str(src / "bad" / name) in caplog.text, f"the log does not name {name}"
    qc = pd.read_csv(dst / "qc_report.csv").set_index("reason")["count"]
    assert qc["truncated_image"] == 2 and qc["unreadable_image"] == 1 and qc["ok"] == 1


# 3 ---------------------------------------------------------------- small-image fallback


def _non_faces():
    rng = np.random.default_rng(0)
    cat = cv2.cvtColor(skimage.data.chelsea(), cv2.COLOR_RGB2GRAY)[30:250, 120:340]
    return {
        "noise.png": rng.integers(0, 256, (48, 48), dtype=np.uint8),
        "noise_rgb.png": rng.integers(0, 256, (48, 48, 3), dtype=np.uint8),
        "cat.png": cv2.resize(cat, (48, 48), interpolation=cv2.INTER_AREA),
    }


@pytest.mark.parametrize("crop", [False, True])
def test_noise_and_animal_crops_are_no_face(tmp_path, crop):
    src = tmp_path / "src"
    for name, image in _non_faces().items():
        _save(src / "x" / name, image)
    rep = build_masked_folder(src, tmp_path / "dst", landmark_mode=crop or None, progress=False)
    assert rep.records.reason.tolist() == ["no_face"] * 3, rep.records[["source", "detail"]]
    assert rep.n_success == 0 and not list((tmp_path / "dst").rglob("x/*.png"))
    hint = "pass --crop" if not crop else "does not look like a face"
    assert rep.records.detail.str.contains(hint, regex=False).all()


def to3(image):
    return np.repeat(image[..., None], 3, -1) if image.ndim == 2 else image


@pytest.mark.skipif(not FER_HAPPY.is_dir(), reason=f"{FER_HAPPY} (FER2013 crops) is absent")
def test_real_fer_crops_still_pass_as_declared_crops(tmp_path, capsys):
    files = sorted(FER_HAPPY.glob("*.jpg"))[:8]
    src = tmp_path / "src"
    for f in files:  # read in place, copies only in tmp_path
        (src / "happy").mkdir(parents=True, exist_ok=True)
        (src / "happy" / f.name).write_bytes(f.read_bytes())
    for name, image in _non_faces().items():
        _save(src / "happy" / name, image)
    assert cli([str(src), str(tmp_path / "dst"), "--crops", "--no-progress"]) == 0
    man = _manifest(tmp_path / "dst")
    real = man[man.source.str.startswith("happy/Training")]
    assert len(real) == 8 and real.success.all(), real[["source", "detail"]]
    assert (real.detector == "crop").all()
    assert (man[~man.source.str.startswith("happy/Training")].reason == "no_face").all()
    assert "8/11 images masked" in capsys.readouterr().out
    # Without --crop the crops are not taken for faces blindly: detection or no_face + hint.
    rep = build_masked_folder(src, tmp_path / "auto", progress=False)
    missed = rep.records[rep.records.reason == "no_face"]
    assert missed.detail.str.contains("pass --crop").all()
    ds = FaceDataset(np.stack([to3(cv2.imread(str(f), 0)) for f in files]), [0] * 8, ("a",))
    assert mask_dataset(ds, "hayashi")[1].n_success == 8


# 4 ---------------------------------------------------------------- same stem, other suffix


def test_same_stem_different_suffix_gives_two_outputs(tmp_path, faces):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _save(src / "c/a.jpg", faces[0])
    _save(src / "c/a.png", faces[1])
    _save(src / "c/b.jpg", faces[2])
    rep = build_masked_folder(src, dst, "template", progress=False)
    written = sorted(p.name for p in (dst / "c").iterdir())
    assert written == ["a_jpg.png", "a_png.png", "b.png"]
    out = dict(zip(rep.records.source, rep.records.output, strict=True))
    assert out == {"c/a.jpg": "c/a_jpg.png", "c/a.png": "c/a_png.png", "c/b.jpg": "c/b.png"}
    a_jpg, a_png = _rgb(dst / "c/a_jpg.png").astype(int), _rgb(dst / "c/a_png.png").astype(int)
    assert np.abs(a_jpg[:60] - faces[0][:60]).mean() < np.abs(a_png[:60] - faces[0][:60]).mean()


# 5 ---------------------------------------------------------------- --overwrite


def test_overwrite_removes_the_earlier_outputs(tmp_path, faces, caplog):
    first, second, dst = tmp_path / "first", tmp_path / "second", tmp_path / "dst"
    _save(first / "k/x.png", faces[0])
    _save(first / "k/y.png", faces[1])
    _save(first / "gone/z.png", faces[2])
    _save(second / "k/x.png", faces[3])
    before = _digest(second)
    assert cli([str(first), str(dst), "--no-progress"]) == 0
    assert (dst / "k/y.png").is_file() and (dst / "gone/z.png").is_file()
    (dst / "notes.txt").write_text("mine")
    with caplog.at_level(logging.WARNING):
        assert cli([str(second), str(dst), "--overwrite", "--no-progress"]) == 0
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*") if p.is_file()) == [
        "k/x.png",
        "manifest.csv",
        "notes.txt",
        "qc_report.csv",
    ]
    assert not (dst / "gone").exists()
    assert "notes.txt" in caplog.text  # kept, and said so
    assert _manifest(dst).source.tolist() == ["k/x.png"]
    assert _digest(second) == before
    # A manifest written before the `output` column (one row per source) is understood too.
    legacy = tmp_path / "legacy"
    _save(legacy / "k/old.png", faces[0])
    pd.DataFrame(
        {"source": ["k/old.jpg"], "method": ["celik"], "mask_type": ["m"], "colour": ["c"]}
        | {"success": [True], "reason": ["ok"]}
    ).to_csv(legacy / "manifest.csv", index=False)
    build_masked_folder(second, legacy, overwrite=True, progress=False)
    assert not (legacy / "k/old.png").exists() and (legacy / "k/x.png").is_file()


def test_overwrite_refuses_a_folder_it_did_not_write(tmp_path, faces, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _save(src / "x.png", faces[0])
    _save(dst / "holiday.png", faces[1])
    assert cli([str(src), str(dst), "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and str(dst) in err and "manifest.csv" in err
    assert (dst / "holiday.png").is_file()


# 6 ---------------------------------------------------------------- every file listed


def test_every_file_is_processed_or_listed_as_skipped(tmp_path, faces, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    for k, ext in enumerate([".tif", ".tiff", ".bmp", ".webp", ".JPG"]):
        _save(src / "c" / f"f{k}{ext}", faces[k])
    (src / "c/notes.txt").write_text("not an image")
    (src / "c/README").write_text("no extension")
    assert cli([str(src), str(dst), "--method", "awfm", "--no-progress"]) == 0
    man = _manifest(dst)
    assert len(man) == 7
    reasons = dict(zip(man.source, man.reason, strict=True))
    assert reasons.pop("c/notes.txt") == reasons.pop("c/README") == "unsupported_extension"
    assert set(reasons.values()) == {"ok"}, reasons
    assert sorted(p.name for p in (dst / "c").iterdir()) == [f"f{k}.png" for k in range(5)]
    qc = pd.read_csv(dst / "qc_report.csv").set_index("reason")["count"]
    assert qc["unsupported_extension"] == 2 and qc["ok"] == 5
    out = capsys.readouterr().out
    assert "5/5 images masked" in out and "unsupported_extension: 2" in out


# 7 ---------------------------------------------------------------- argument validation


@pytest.mark.parametrize(
    "args", [["--limit", "-1"], ["--limit", "0"], ["--limit", "2.5"], ["--max-faces", "0"]]
)
def test_bad_counts_are_clear_errors(tmp_path, faces, capsys, args):
    src = tmp_path / "src"
    _save(src / "x.png", faces[0])
    with pytest.raises(SystemExit) as e:
        cli([str(src), str(tmp_path / "dst"), *args])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {args[0]}" in err and "positive whole number" in err
    assert not (tmp_path / "dst").exists()
    with pytest.raises(ValueError, match="limit must be a positive whole number"):
        build_masked_folder(src, tmp_path / "dst", limit=-1)
    assert cli([str(src / "x.png"), str(tmp_path / "d2")]) == 1  # a file, not a folder
    err = capsys.readouterr().err
    assert err.startswith("error:") and str(src / "x.png") in err and "ImageFolder root" in err


# 8 ---------------------------------------------------------------- big photos


def test_big_photo_face_found_at_full_resolution(tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    face = cv2.resize(skimage.data.astronaut(), (4000, 4000), interpolation=cv2.INTER_CUBIC)
    photo = np.full((4000, 6000, 3), 90, np.uint8)
    photo[:, 1000:5000] = face
    _save(src / "big/photo.jpg", photo, cv2.IMWRITE_JPEG_QUALITY, 90)
    assert cli([str(src), str(dst), "--method", "celik"]) == 0
    man = _manifest(dst)
    assert man.reason.tolist() == ["ok"] and man.faces_found.tolist() == [1]
    x, y, w, h = (int(v) for v in man.box[0].split(","))
    # The astronaut's face (dlib box ~(x 171-263, y 88-180) in the 512 px original), ×7.8.
    assert 2200 < x < 2600 and 500 < y < 900 and 600 < w < 900
    out = cv2.imread(str(dst / "big/photo.png"))
    assert out.shape == photo.shape
    assert "masking src" in capsys.readouterr().err  # the progress bar is shown
