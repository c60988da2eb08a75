"""Masking methods, QC accounting, folder builder/CLI and the MU dataset."""

import hashlib

import cv2
import numpy as np
import pandas as pd
import pytest
import skimage.data

import maskfer_lib  # noqa: F401
from maskfer_lib.landmarks import EYES, MOUTH, detect_landmarks
from maskfer_lib.masking import FAILURE_REASONS, make_mu_dataset, mask_dataset, mask_face
from maskfer_lib.masking.__main__ import main as cli
from maskfer_lib.masking.base import covered
from maskfer_lib.masking.templates import MASK_TYPES
from maskfer_lib.records import FaceDataset

METHODS = ["celik", "awfm", "hayashi", "template"]


@pytest.fixture(scope="module")
def face():
    """A 128x128 RGB crop of the astronaut photo and its dlib landmarks."""
    img = skimage.data.astronaut()
    (x, y, w, h), _ = detect_landmarks(img)[0]
    m = int(0.4 * w)
    crop = cv2.resize(
        img[y - m : y + h + m, x - m : x + w + m], (128, 128), interpolation=cv2.INTER_AREA
    )
    box, lm = detect_landmarks(crop, upsample=1)[0]
    return crop, lm


@pytest.fixture(scope="module")
def standin(face):
    """Tiny FaceDataset: the face, its mirror, and a gray copy's RGB, with landmarks."""
    img, lm = face
    flip = img[:, ::-1].copy()
    lm_flip = lm.copy()
    lm_flip[:, 0] = 127 - lm[:, 0]
    perm = np.r_[
        16:-1:-1,
        26:16:-1,
        27:31,
        35:30:-1,
        45:41:-1,
        47:45:-1,
        39:35:-1,
        41:39:-1,
        54:47:-1,
        59:54:-1,
        64:59:-1,
        67:64:-1,
    ]
    images = np.stack([img, flip, np.roll(img, 3, axis=1)])
    lms = np.stack([lm, lm_flip[perm], lm + np.array([3, 0], np.float32)])
    return FaceDataset(images, [0, 1, 2], ("angry", "happy", "neutral"), landmarks=lms)


@pytest.mark.parametrize("method", METHODS)
def test_method_covers_mouth_not_eyes(face, method):
    img, lm = face
    before = img.copy()
    r = mask_face(img, lm, method, np.random.default_rng(0))
    assert r.success, r.reason
    assert np.array_equal(img, before), "source image modified"
    assert r.image.shape == img.shape and r.image.dtype == np.uint8
    assert r.occlusion.shape == img.shape[:2] and r.occlusion.dtype == bool
    assert covered(r.occlusion, lm[MOUTH]).all()
    assert not covered(r.occlusion, lm[EYES]).any()
    # Occlusion is where pixels changed (a mask, not a tint elsewhere); the anti-aliased rim
    # of the mask, within 2 px of the region, is allowed to differ.
    changed = np.abs(r.image.astype(int) - img).sum(-1) > 0
    near = cv2.dilate(r.occlusion.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert changed[~near].mean() < 0.002
    assert 0.1 < r.occlusion.mean() < 0.5
    again = mask_face(img, lm, method, np.random.default_rng(0))
    assert np.array_equal(again.image, r.image)


@pytest.mark.parametrize("method", METHODS)
def test_gray_images_stay_gray(face, method):
    img, lm = face
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None]
    r = mask_face(gray, lm, method, np.random.default_rng(1))
    assert r.success and r.image.shape == gray.shape


def test_template_family_and_bad_type(face):
    img, lm = face
    outs = {
        t: mask_face(img, lm, "template", np.random.default_rng(0), mask_type=t) for t in MASK_TYPES
    }
    assert all(r.success for r in outs.values()), {t: r.reason for t, r in outs.items()}
    # Different shapes, not one outline recoloured.
    areas = {t: r.occlusion.sum() for t, r in outs.items()}
    assert len(set(areas.values())) >= 4
    with pytest.raises(ValueError, match="unknown mask_type"):
        mask_face(img, lm, "template", mask_type="visor")
    with pytest.raises(ValueError, match="unknown masking method"):
        mask_face(img, lm, "banana")


def test_failures_are_named(face):
    img, lm = face
    assert mask_face(img, None, "celik").reason == "no_face"
    assert mask_face(img, lm + np.float32([0, 90]), "hayashi").reason == "landmarks_out_of_frame"
    assert mask_face(img, lm * 0.05, "awfm").reason == "face_too_small"
    # A face 2.5x larger with its lower lip on the bottom row: most of the mask falls below.
    big = lm[33] + 2.5 * (lm - lm[33])
    big[:, 1] += 127 - big[57, 1]
    for method in METHODS:
        assert mask_face(img, big, method).reason == "mask_off_image", method
    assert "mask_off_image" in FAILURE_REASONS


@pytest.mark.parametrize("method", METHODS)
def test_mask_dataset_deterministic_and_untouched(standin, method):
    src = standin.images.copy()
    out1, rep1 = mask_dataset(standin, method, seed=3)
    out2, _ = mask_dataset(standin, method, seed=3)
    assert np.array_equal(standin.images, src)
    assert rep1.n_success == len(out1) == 3, rep1.counts()
    assert out1.masked.all() and out1.occlusion.shape == (3, 128, 128)
    assert np.array_equal(out1.images, out2.images)
    assert list(out1.labels) == [0, 1, 2]


def test_qc_counts_no_face_and_keeps_the_rest():
    cat = skimage.data.chelsea()  # 300x451 cat photo: no human face for dlib
    img = skimage.data.astronaut()[:300, 30:481].copy()  # same size as the cat, face inside
    flat = np.full_like(img, 127)
    # No landmarks in the dataset: dlib runs. Images > 128 px get no whole-image fallback.
    ds = FaceDataset(np.stack([img, flat, cat]), [0, 0, 1], ("a", "b"))
    out, rep = mask_dataset(ds, "hayashi", seed=0)
    counts = rep.counts()
    assert rep.n_total == 3 and counts["ok"] == 1 and len(out) == 1
    assert counts["no_face"] == 2
    assert rep.records["reason"].tolist() == ["ok", "no_face", "no_face"]
    assert len(rep.failures) == 2 and rep.failure_grid() is not None
    assert sum(counts.values()) == 3
    assert out.meta["source_index"].tolist() == [0]
    table = rep.to_frame()
    assert table.loc[0, "success_rate"] == pytest.approx(1 / 3)


def test_hayashi_equal_shares(standin):
    ds = FaceDataset(
        np.repeat(standin.images[:1], 9, 0),
        np.zeros(9),
        ("a",),
        landmarks=np.repeat(standin.landmarks[:1], 9, 0),
    )
    out, _ = mask_dataset(ds, "hayashi", seed=0)
    assert sorted(pd.Series(out.meta["mask_colour"]).value_counts().tolist()) == [3, 3, 3]


def test_mu_dataset_pairs(standin):
    mu, rep = make_mu_dataset(standin, "hayashi", seed=0)
    assert mu.class_names == ("unmasked", "masked")
    assert len(mu) == 2 * rep.n_success == 6
    un, ma = mu.labels == 0, mu.labels == 1
    assert np.array_equal(mu.meta["pair"][un], mu.meta["pair"][ma])
    assert np.array_equal(mu.meta["expression"][un], standin.labels)
    assert np.array_equal(mu.images[un], standin.images)
    assert not mu.occlusion[un].any() and mu.occlusion[ma].any(axis=(1, 2)).all()
    assert mu.masked[ma].all() and not mu.masked[un].any()


def _digest(folder):
    return {
        p.relative_to(folder): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_cli_round_trip(tmp_path, face, capsys):
    img, _ = face
    src = tmp_path / "src"
    for split, cls in [("train", "happy"), ("train", "sad"), ("validation", "happy")]:
        (src / split / cls).mkdir(parents=True)
    cv2.imwrite(str(src / "train/happy/a.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(src / "train/sad/b.jpg"), cv2.cvtColor(img[:, ::-1], cv2.COLOR_RGB2GRAY))
    cv2.imwrite(str(src / "validation/happy/flat.png"), np.full((64, 64), 120, np.uint8))
    (src / "validation/happy/broken.jpg").write_bytes(b"not a jpeg")
    before = _digest(src)
    dst = tmp_path / "dst"
    assert cli([str(src), str(dst), "--method", "celik", "--seed", "1"]) == 0
    assert _digest(src) == before, "source folder modified"
    man = pd.read_csv(dst / "manifest.csv")
    assert set(man.columns) >= {"source", "method", "mask_type", "colour", "success", "reason"}
    assert len(man) == 4
    reasons = dict(zip(man.source, man.reason, strict=True))
    assert reasons["validation/happy/broken.jpg"] == "unreadable_image"
    assert reasons["validation/happy/flat.png"] == "no_face"
    assert reasons["train/happy/a.png"] == "ok" and reasons["train/sad/b.jpg"] == "ok"
    assert (dst / "train/happy/a.png").is_file() and (dst / "train/sad/b.png").is_file()
    assert cv2.imread(str(dst / "train/sad/b.png"), cv2.IMREAD_UNCHANGED).ndim == 2  # stays gray
    qc = pd.read_csv(dst / "qc_report.csv").set_index("reason")["count"]
    assert qc["ok"] == 2 and qc["unreadable_image"] == 1 and qc["no_face"] == 1
    assert (dst / "qc_failures.png").is_file()
    out = capsys.readouterr().out
    assert "2/4 images masked" in out
    # Bad input: clear errors, exit code 1.
    assert cli([str(tmp_path / "nowhere"), str(tmp_path / "x")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli([str(tmp_path / "empty"), str(tmp_path / "y")]) == 1
    assert "no images" in capsys.readouterr().err
    assert cli([str(src), str(src / "out")]) == 1
    assert cli([str(src), str(dst)]) == 1  # not empty without --overwrite
    assert _digest(src) == before


def test_synthfacs_all_methods():
    synth = pytest.importorskip("maskfer_lib.synth", reason="SynthFACS generator not available")
    ds = synth.generate(2, size=96, seed=0)
    for m in METHODS:
        out, rep = mask_dataset(ds, m, seed=0)
        assert rep.success_rate >= 0.85, (m, rep.counts())
        ok = out.occlusion
        for i in range(len(out)):
            assert covered(ok[i], out.landmarks[i][MOUTH]).mean() >= 0.9
