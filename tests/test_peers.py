"""The two off-the-shelf peers load from their wheels, map classes by name, and recognise
real FER2013 faces above the majority class."""

import numpy as np
import pytest

import maskfer_lib  # noqa: F401  (TensorFlow + torch import order)
from maskfer_lib import peers
from maskfer_lib.config import SHARED_DATA
from maskfer_lib.labels import CLASSES_7

FER_VAL = SHARED_DATA / "fer2013" / "validation"


def test_both_peers_are_installed_by_make_venv():
    assert peers.available() == list(peers.PEERS)


def test_missing_package_names_the_fix(monkeypatch):
    monkeypatch.setattr(peers.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(peers.PeerNotInstalled, match="make venv"):
        peers.load_peer("fer")
    assert peers.available() == []


def test_unknown_peer_lists_the_names():
    with pytest.raises(ValueError, match="fer_pytorch"):
        peers.load_peer("ferr")


def test_peer_input_is_gray_in_minus_one_one():
    rgb = np.zeros((2, 100, 80, 3), np.uint8)
    rgb[1] = 255
    x = peers.to_peer_input(rgb, 48)
    assert x.shape == (2, 48, 48)
    assert x[0].max() == -1.0 and x[1].min() == 1.0
    with pytest.raises(ValueError, match="uint8"):
        peers.to_peer_input(rgb.astype(np.float32), 48)


@pytest.mark.parametrize("name", list(peers.PEERS))
def test_columns_follow_the_class_names_given(name):
    peer = peers.load_peer(name)
    faces = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 1), dtype=np.uint8)
    ours = peer.predict_proba(faces, CLASSES_7)
    theirs = peer.predict_proba(faces, peers.PEER_CLASSES)
    assert ours.shape == (4, 7)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, rtol=1e-5)
    for i, c in enumerate(CLASSES_7):
        np.testing.assert_allclose(ours[:, i], theirs[:, peers.PEER_CLASSES.index(c)], rtol=1e-5)
    with pytest.raises(ValueError, match="positive"):
        peer.predict_proba(faces, ("positive", "neutral", "negative"))


@pytest.mark.skipif(not FER_VAL.is_dir(), reason=f"needs FER2013 at {FER_VAL} (../shared/data)")
@pytest.mark.parametrize("name", list(peers.PEERS))
def test_peers_beat_the_majority_on_real_fer2013(name):
    import cv2

    rng = np.random.default_rng(0)
    images, labels = [], []
    for k, c in enumerate(CLASSES_7):
        files = sorted((FER_VAL / c).glob("*.jpg"))
        for f in rng.choice(files, size=min(40, len(files)), replace=False):
            images.append(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)[..., None])
            labels.append(k)
    y = np.array(labels)
    pred = peers.load_peer(name).predict_proba(np.stack(images), CLASSES_7).argmax(axis=1)
    majority = np.bincount(y).max() / len(y)
    assert (pred == y).mean() > majority + 0.15
    assert len(np.unique(pred)) >= 5
