"""Tests for SynthFACS (maskfer_lib.synth): determinism, landmarks, AUs, splits, I/O, errors."""

import numpy as np
import pandas as pd
import pytest

import maskfer_lib  # noqa: F401
from maskfer_lib.synth import (
    AU_NAMES,
    CLASSES_3,
    CLASSES_4,
    CLASSES_7,
    MEAN_SHAPE,
    PROTOTYPES,
    apply_aus,
    au_landmarks,
    generate,
    plan,
    render_face,
    split_by_identity,
)
from maskfer_lib.synth.aus import AU_TABLE
from maskfer_lib.synth.io import write_imagefolder


@pytest.fixture(scope="module")
def small():
    return generate(6, size=64, seed=3)


def test_deterministic_for_a_seed(small):
    again = generate(6, size=64, seed=3)
    assert np.array_equal(small.images, again.images)
    assert np.array_equal(small.landmarks, again.landmarks)
    other = generate(6, size=64, seed=4)
    assert not np.array_equal(small.images, other.images)


def test_single_face_regenerates_exactly(small):
    params = plan(6, seed=3)
    img, lm = render_face(params[9], 64)
    assert np.array_equal(img, small.images[9])
    assert np.allclose(lm, small.landmarks[9])


def test_shapes_and_metadata(small):
    n = 6 * 7
    assert small.images.shape == (n, 64, 64, 3) and small.images.dtype == np.uint8
    assert small.class_names == CLASSES_7
    assert small.landmarks.shape == (n, 68, 2) and small.landmarks.dtype == np.float32
    assert small.meta["aus"].shape == (n, len(AU_NAMES))
    assert small.pose.shape == (n, 3)
    assert np.array_equal(np.bincount(small.labels), [6] * 7)


def test_landmarks_in_frame_and_ordered():
    ds = generate(5, size=96, seed=1)
    lm = ds.landmarks
    assert (lm > 0).all() and (lm < 95).all()
    front = generate(3, size=96, seed=2, pose="frontal")
    assert np.abs(front.pose[:, 0]).max() <= 3.0
    f = front.landmarks
    # jaw runs image-left -> right, chin (8) lowest of the jaw; brows above eyes above mouth.
    assert (np.diff(f[:, 0:17, 0], axis=1) > 0).all()
    assert (f[:, 8, 1] >= f[:, 0:17, 1].max(1) - 1e-3).all()
    assert (f[:, 17:27, 1].mean(1) < f[:, 36:48, 1].mean(1)).all()
    assert (f[:, 36:48, 1].mean(1) < f[:, 30, 1]).all()
    assert (f[:, 30, 1] < f[:, 48:68, 1].mean(1)).all()
    # left eye (36-41) is on the image left of the right eye (42-47); 36 outer, 39 inner.
    assert (f[:, 36, 0] < f[:, 39, 0]).all() and (f[:, 42, 0] < f[:, 45, 0]).all()
    assert (f[:, 39, 0] < f[:, 42, 0]).all()


@pytest.mark.parametrize("au", AU_NAMES)
def test_each_au_moves_exactly_its_landmarks(au):
    aus = np.zeros(len(AU_NAMES))
    aus[AU_NAMES.index(au)] = 1.0
    moved = np.flatnonzero(np.abs(apply_aus(MEAN_SHAPE, aus) - MEAN_SHAPE).sum(1) > 1e-9)
    claimed = sorted({i for idx, _ in AU_TABLE[au] for i in idx})
    assert moved.tolist() == claimed
    assert au_landmarks(au).tolist() == claimed


def test_au_directions():
    def moved(au):
        a = np.zeros(len(AU_NAMES))
        a[AU_NAMES.index(au)] = 1.0
        return apply_aus(MEAN_SHAPE, a) - MEAN_SHAPE

    assert moved("AU12")[[48, 54], 1].min() > 0.05  # corners up (y is up in model space)
    assert moved("AU12")[48, 0] < 0 < moved("AU12")[54, 0]  # and outward
    assert np.abs(moved("AU12")[17:27]).max() == 0  # brows untouched
    assert moved("AU15")[[48, 54], 1].max() < 0
    assert moved("AU26")[8, 1] < -0.1 and moved("AU26")[57, 1] < -0.1
    assert moved("AU4")[[21, 22], 1].max() < 0 and moved("AU1")[[21, 22], 1].min() > 0
    assert moved("AU5")[[37, 38, 43, 44], 1].min() > 0


def test_class_conditional_aus():
    ds = generate(30, size=32, seed=5, pose="frontal")
    aus = ds.meta["aus"]
    for c, name in enumerate(ds.class_names):
        mean = aus[ds.labels == c].mean(0)
        for au in PROTOTYPES[name]:
            k = AU_NAMES.index(au)
            others = aus[ds.labels != c, k].mean()
            assert mean[k] > 0.3 and mean[k] > others, (name, au)
    neutral = aus[ds.labels == ds.class_names.index("neutral")]
    assert neutral.max() <= 0.25 + 1e-6  # only low non-prototype activity


def test_rendered_pixels_follow_aus():
    """Happy and surprise faces differ from neutral mostly in the lower face (mouth AUs)."""
    p = plan(1, seed=0, pose="frontal")
    base = {q.expression: q for q in p}
    import dataclasses

    neutral = dataclasses.replace(base["neutral"], aus=np.zeros(len(AU_NAMES), np.float32))
    img0, lm0 = render_face(neutral, 96)
    for au in ("AU12", "AU26"):
        a = np.zeros(len(AU_NAMES), np.float32)
        a[AU_NAMES.index(au)] = 1.0
        img1, lm1 = render_face(dataclasses.replace(neutral, aus=a), 96)
        diff = np.abs(img1.astype(int) - img0.astype(int)).sum(-1)
        y_nose = int(lm0[33, 1])
        assert diff[y_nose:].sum() > 3 * diff[: int(lm0[19, 1])].sum()
        assert np.abs(lm1[48:68] - lm0[48:68]).max() > 1.0
        assert np.abs(lm1[17:27] - lm0[17:27]).max() < 1e-4


def test_identity_split_is_disjoint():
    ds = generate(10, size=32, seed=0)
    parts = split_by_identity(ds, seed=1)
    ids = [set(parts[k].identity.tolist()) for k in ("train", "val", "test")]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert sum(len(parts[k]) for k in parts) == len(ds)
    assert all(len(parts[k]) > 0 for k in parts)
    # every identity shows several expressions
    per_id = [len(set(ds.labels[ds.identity == i].tolist())) for i in np.unique(ds.identity)]
    assert min(per_id) == 7


def test_label_set_presets():
    ds3 = generate(8, size=32, classes=CLASSES_3, seed=0)
    assert ds3.class_names == CLASSES_3
    expr = ds3.meta["expression"]
    assert set(expr[ds3.labels == 0]) == {"happy", "surprise"}
    assert set(expr[ds3.labels == 2]) == {"angry", "disgust", "fear", "sad"}
    ds4 = generate(2, size=32, classes=CLASSES_4, seed=0)
    assert ds4.class_names == CLASSES_4 and list(ds4.meta["expression"][::2]) == list(CLASSES_4)


def test_grayscale_shape():
    ds = generate(1, size=48, seed=0, grayscale=True)
    assert ds.images.shape == (7, 48, 48, 1)


def test_write_imagefolder_round_trip(tmp_path, small):
    import cv2

    parts = split_by_identity(small, seed=0)
    root = write_imagefolder(tmp_path / "sf", parts)
    df = pd.read_csv(root / "metadata.csv")
    assert len(df) == len(small)
    for col in (
        "path",
        "split",
        "label",
        "class",
        "identity",
        "yaw",
        "pitch",
        "roll",
        "AU12",
        "x0",
        "y67",
    ):
        assert col in df.columns, col
    assert df.filter(regex=r"^[xy]\d+$").shape[1] == 136
    row = df.iloc[0]
    assert (root / row["path"]).exists() and row["path"].startswith(
        f"{row['split']}/{row['class']}/"
    )
    img = cv2.imread(str(root / row["path"]))[..., ::-1]
    ds = parts[row["split"]]
    assert np.array_equal(img, ds.images[0])
    assert np.allclose([row["x33"], row["y33"]], ds.landmarks[0, 33], atol=1e-3)
    with pytest.raises(FileExistsError):
        write_imagefolder(root, parts)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="happy"):
        generate(2, classes=("happy", "joy"))
    with pytest.raises(ValueError, match="n_per_class"):
        generate(0)
    with pytest.raises(ValueError, match="pose"):
        generate(1, pose="sideways")


def test_parallel_equals_serial():
    a = generate(12, size=32, seed=7)
    b = generate(12, size=32, seed=7, n_jobs=2)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.landmarks, b.landmarks)
