"""dlib landmarks: real photos with ground truth, small crops, one interface with SynthFACS."""

import numpy as np
import pytest
import skimage.data

import maskfer_lib  # noqa: F401
from maskfer_lib import landmarks as L
from maskfer_lib.config import SHARED_DATA
from maskfer_lib.records import FaceDataset

DLIB_FACES = SHARED_DATA / "wild" / "dlib_faces"
needs_dlib_faces = pytest.mark.skipif(
    not (DLIB_FACES / "testing_with_face_landmarks.xml").is_file(),
    reason=f"{DLIB_FACES} (dlib's example photos with 68-point ground truth) is absent",
)


def test_predictor_file_located_without_importing_package():
    p = L.predictor_path()
    assert p.name == L.PREDICTOR_NAME and p.stat().st_size > 50e6


def test_astronaut_landmarks_are_anatomical():
    faces = L.detect_landmarks(skimage.data.astronaut())
    assert len(faces) == 1
    box, lm = faces[0]
    assert lm.shape == (68, 2) and lm.dtype == np.float32
    x, y, w, h = box
    assert (lm[:, 0] > x - 0.2 * w).all() and (lm[:, 0] < x + 1.2 * w).all()
    # Anatomy: eyes above nose tip above mouth above chin; image-left eye on the left.
    assert lm[36:48, 1].mean() < lm[30, 1] < lm[48:68, 1].mean() < lm[8, 1]
    assert lm[36:42, 0].mean() < lm[42:48, 0].mean()


def test_landmarks_for_small_crop_match_full_resolution():
    img = skimage.data.astronaut()
    box, lm_full = L.detect_landmarks(img)[0]
    x, y, w, h = box
    crop = img[y : y + h, x : x + w]
    small = np.asarray(__import__("cv2").resize(crop, (48, 48), interpolation=3))
    lm_small = L.landmarks_for_crop(small)  # 48x48 like FER2013, upsampled to 192 inside
    back = lm_small * (w / 48.0) + np.array([x, y])
    err = L.nme(back, lm_full)
    assert err < 0.12, f"crop landmarks differ from full-image landmarks by NME {err:.3f}"


def test_get_landmarks_prefers_ground_truth():
    img = skimage.data.astronaut()[None]
    gt = np.full((1, 68, 2), 5.0, np.float32)
    ds = FaceDataset(img, [0], ("a",), landmarks=gt)
    assert np.array_equal(L.get_landmarks(ds, 0), gt[0])
    ds2 = FaceDataset(img, [0], ("a",))
    lm = L.get_landmarks(ds2, 0)
    assert lm is not None and not np.allclose(lm, 5.0)
    assert L.get_landmarks(np.full((64, 64), 90, np.uint8)) is None  # flat: no face


def test_parse_xml_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        L.parse_dlib_xml(tmp_path / "missing.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<dataset><images>")
    with pytest.raises(ValueError, match="not valid XML"):
        L.parse_dlib_xml(bad)


def test_iou_and_nme_basics():
    assert L.iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert L.iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    gt = np.zeros((68, 2), np.float32)
    gt[36], gt[45] = (0, 0), (10, 0)
    assert L.nme(gt + np.array([1.0, 0.0]), gt) == pytest.approx(0.1)


@needs_dlib_faces
def test_dlib_faces_recall_and_nme():
    """Measured on 43 annotated faces (9 photos): recall 1.00, NME 0.012 (testing) and
    0.024 (training) at upsample=1. The pins leave a margin for library updates."""
    images = L.parse_dlib_xml(DLIB_FACES / "testing_with_face_landmarks.xml") + L.parse_dlib_xml(
        DLIB_FACES / "training_with_face_landmarks.xml"
    )
    assert sum(len(a.boxes) for a in images) == 43
    res = L.evaluate_landmarks(images, upsample=1)
    assert res["recall"] >= 0.95, res
    assert res["nme"] <= 0.04, res
    assert res["nme_gt_box"] <= 0.04, res
