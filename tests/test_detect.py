"""Face detectors: boxes on a real photo, clear errors, crop helper."""

import numpy as np
import pytest
import skimage.data

import maskfer_lib  # noqa: F401
from maskfer_lib.detect import DlibHOGDetector, HaarDetector, crop_face, detect_faces, get_detector
from maskfer_lib.landmarks import iou

ASTRONAUT_FACE = (175, 76, 91, 91)  # dlib HOG box, checked by eye: Eileen Collins' face


def test_hog_finds_the_astronaut_face():
    dets = detect_faces(skimage.data.astronaut(), "hog")
    assert len(dets) == 1
    assert iou(dets[0].box, ASTRONAUT_FACE) > 0.8


def test_hog_upsample_finds_small_face():
    img = skimage.data.astronaut()[::4, ::4]  # 128x128: the face is ~23 px wide
    assert DlibHOGDetector(upsample=0)(img) == []
    found = DlibHOGDetector(upsample=2)(img)
    assert len(found) == 1 and iou(np.array(found[0].box) * 4, ASTRONAUT_FACE) > 0.5


def test_haar_detects_or_names_the_fix():
    """OpenCV 5 has no CascadeClassifier: the error must say what to install."""
    try:
        det = HaarDetector()
    except ImportError as e:
        assert "opencv-python-headless 4" in str(e)
        return
    dets = det(skimage.data.astronaut())
    assert dets and max(iou(d.box, ASTRONAUT_FACE) for d in dets) > 0.5


def test_haar_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.xml"
    with pytest.raises((FileNotFoundError, ImportError), match="nope.xml|opencv"):
        HaarDetector(cascade_file=missing)


def test_no_face_in_flat_image_and_unknown_detector():
    assert detect_faces(np.full((200, 200, 3), 127, np.uint8), "hog") == []
    with pytest.raises(ValueError, match="unknown face detector"):
        get_detector("yolo")


def test_crop_face_pads_and_resizes():
    img = np.arange(100 * 80, dtype=np.uint8).reshape(100, 80)[..., None]
    crop = crop_face(img, (0, 0, 40, 40), size=32, margin=0.25)
    assert crop.shape == (32, 32, 1)
    raw = crop_face(img, (10, 20, 30, 40))
    assert np.array_equal(raw, img[20:60, 10:40])
    with pytest.raises(ValueError):
        crop_face(img, (0, 0, 0, 5))
