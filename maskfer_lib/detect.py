"""Offline face detectors behind one interface: boxes (x, y, w, h) plus a score.

Two classic detectors that ship with pip packages (no downloads):

* ``"haar"`` — OpenCV's Viola–Jones cascade (the detector Çelik & Gören use live),
  file ``haarcascade_frontalface_default.xml`` from ``cv2.data.haarcascades``.
* ``"hog"`` — dlib's HOG + linear SVM frontal face detector.

``get_detector(name)`` returns a callable ``detector(image) -> list[Detection]`` so the
masking code and the real-time timing helper can swap detectors without caring which.

For speed and recall measurements: :class:`ScaledDetector` / :func:`make_detector` run a
detector on a downscaled gray copy of a frame (boxes back in frame pixels),
:func:`make_frames` pastes faces on cluttered 640×480 backgrounds with their true boxes, and
:func:`detector_recall` / :func:`photo_recall` count the faces found on those frames and on
annotated photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

HAAR_FILE = "haarcascade_frontalface_default.xml"


@dataclass(frozen=True)
class Detection:
    """One detected face: box (x, y, w, h) in pixels and a detector score (higher = surer)."""

    box: tuple[int, int, int, int]
    score: float


def to_gray_uint8(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1) or RGB (H, W, 3) image as 2-D uint8 gray (what both detectors use)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[-1] == 1:
        return image[..., 0]
    if image.ndim == 3:
        return cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
    if image.ndim == 2:
        return image
    raise ValueError(f"expected an (H, W[, C]) image, got shape {image.shape}")


def find_haar_cascade(name: str = HAAR_FILE) -> Path:
    """Where the cascade file lives: ``cv2.data.haarcascades`` first, then Debian's
    ``opencv-data`` folders. Returns the first candidate (even if missing) for the error."""
    candidates = [
        Path(getattr(cv2.data, "haarcascades", "")) / name,
        Path("/usr/share/opencv4/haarcascades") / name,
        Path("/usr/share/opencv/haarcascades") / name,
    ]
    return next((c for c in candidates if c.is_file()), candidates[0])


class HaarDetector:
    """OpenCV Haar cascade frontal face detector.

    ``score`` is the number of merged neighbour detections (OpenCV's level weight is not
    comparable across images), so only its order matters.
    """

    def __init__(
        self,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 20,
        cascade_file: str | Path | None = None,
    ):
        if not hasattr(cv2, "CascadeClassifier"):
            raise ImportError(
                f"OpenCV {cv2.__version__} has no cv2.CascadeClassifier (OpenCV 5 moved the Haar "
                "cascades out of the main package). Install opencv-python-headless 4.x "
                "(e.g. ==4.14.0.94, which also ships the cascade files) or "
                "opencv-contrib-python-headless, or use the 'hog' detector."
            )
        path = Path(cascade_file) if cascade_file else find_haar_cascade()
        if not path.is_file():
            raise FileNotFoundError(
                f"Haar cascade file not found: {path}. It ships with opencv-python-headless 4.x "
                "in cv2.data.haarcascades (or Debian's opencv-data in /usr/share/opencv4/"
                "haarcascades); pass cascade_file=... or use the 'hog' detector."
            )
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise OSError(f"OpenCV could not load the Haar cascade {path}; the file is corrupt.")
        self.scale_factor, self.min_neighbors, self.min_size = scale_factor, min_neighbors, min_size

    def __call__(self, image: np.ndarray) -> list[Detection]:
        """Detect faces in an RGB or gray image."""
        gray = to_gray_uint8(image)
        boxes, _, weights = self.cascade.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        dets = [
            Detection(tuple(int(v) for v in b), float(w))
            for b, w in zip(np.reshape(boxes, (-1, 4)), np.ravel(weights), strict=True)
        ]
        return sorted(dets, key=lambda d: -d.score)


class DlibHOGDetector:
    """dlib's HOG frontal face detector; ``upsample`` doubles the image that many times first
    (finds faces down to ~40 px per upsample level, at ~4x the cost each)."""

    def __init__(self, upsample: int = 1, threshold: float = 0.0):
        import dlib

        self.detector = dlib.get_frontal_face_detector()
        self.upsample, self.threshold = int(upsample), float(threshold)

    def __call__(self, image: np.ndarray) -> list[Detection]:
        """Detect faces in an RGB or gray image."""
        gray = to_gray_uint8(image)
        rects, scores, _ = self.detector.run(gray, self.upsample, self.threshold)
        h, w = gray.shape
        dets = []
        for r, s in zip(rects, scores, strict=True):
            # dlib boxes may poke outside the image; clip so crops stay valid.
            x0, y0 = max(0, r.left()), max(0, r.top())
            x1, y1 = min(w, r.right() + 1), min(h, r.bottom() + 1)
            if x1 > x0 and y1 > y0:
                dets.append(Detection((x0, y0, x1 - x0, y1 - y0), float(s)))
        return sorted(dets, key=lambda d: -d.score)


DETECTORS = {"haar": HaarDetector, "hog": DlibHOGDetector}


@lru_cache(maxsize=8)
def get_detector(name: str = "hog", **kwargs):
    """A cached detector by name (``"haar"`` or ``"hog"``); kwargs go to its constructor."""
    try:
        cls = DETECTORS[name]
    except KeyError:
        raise ValueError(
            f"unknown face detector {name!r}; choose one of {sorted(DETECTORS)}"
        ) from None
    return cls(**kwargs)


def detect_faces(image: np.ndarray, method: str = "hog", **kwargs) -> list[Detection]:
    """Detect faces with the named detector; best first."""
    return get_detector(method, **kwargs)(image)


def detect_resized(
    image: np.ndarray, max_side: int | None, method: str = "hog", **kwargs
) -> list[Detection]:
    """Detect faces on a copy shrunk to ``max_side`` pixels (longest side) and map the boxes
    back to ``image``; best first. Images already that small are searched as they are.

    Both detectors cost time and memory in proportion to the pixels searched (dlib's HOG
    upsampling a 6000×4000 photo takes ~1 minute and 3 GB), while a face stays findable at
    a few dozen pixels, so big photos are searched at a reduced size.
    """
    gray = to_gray_uint8(image)
    h, w = gray.shape
    scale = 1.0 if max_side is None else min(1.0, max_side / max(h, w))
    if scale == 1.0:
        return detect_faces(gray, method, **kwargs)
    small = cv2.resize(
        gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    return [
        Detection(_scale_box(d.box, w / small.shape[1], h / small.shape[0], (h, w)), d.score)
        for d in detect_faces(small, method, **kwargs)
    ]


def _scale_box(box, sx: float, sy: float, shape) -> tuple[int, int, int, int]:
    # Scale a box to the full-size grid, clipped to the image like the detectors' own boxes.
    x, y, w, h = box
    x0, y0 = max(0, round(x * sx)), max(0, round(y * sy))
    x1, y1 = min(shape[1], round((x + w) * sx)), min(shape[0], round((y + h) * sy))
    return (x0, y0, max(1, x1 - x0), max(1, y1 - y0))


def crop_face(
    image: np.ndarray, box, size: int | tuple[int, int] | None = None, margin: float = 0.0
) -> np.ndarray:
    """Crop ``box`` (x, y, w, h) grown by ``margin`` (fraction of the box size per side).

    Parts of the grown box outside the image are filled by edge replication so the crop
    keeps the face centred; ``size`` resizes the crop to (size, size) or (w, h).
    """
    image = np.asarray(image)
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError(f"box must have positive width and height, got {box}")
    x0, y0 = int(round(x - margin * w)), int(round(y - margin * h))
    x1, y1 = int(round(x + w + margin * w)), int(round(y + h + margin * h))
    H, W = image.shape[:2]
    pad = [max(0, -y0), max(0, y1 - H), max(0, -x0), max(0, x1 - W)]
    if any(pad):
        widths = [(pad[0], pad[1]), (pad[2], pad[3])] + [(0, 0)] * (image.ndim - 2)
        image = np.pad(image, widths, mode="edge")
        x0, x1, y0, y1 = x0 + pad[2], x1 + pad[2], y0 + pad[0], y1 + pad[0]
    crop = image[y0:y1, x0:x1]
    if size is not None:
        dsize = (size, size) if isinstance(size, int) else tuple(size)
        squeeze = crop.ndim == 3 and crop.shape[-1] == 1
        crop = cv2.resize(crop, dsize, interpolation=cv2.INTER_AREA)
        if squeeze:
            crop = crop[..., None]
    return crop


# --------------------------------------------------------------------------- evaluation


def make_frames(
    faces: np.ndarray,
    n: int,
    frame_hw=(480, 640),
    face_px=(110, 220),
    seed: int = 0,
    faces_per_frame: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` frames (n, H, W, 3) uint8, each with ``faces_per_frame`` faces pasted, apart,
    on a cluttered background.

    Faces (uint8 RGB crops, e.g. SynthFACS renders) are resized to a random side in
    ``face_px`` and pasted at random places that do not overlap. Backgrounds are smooth
    colour gradients with random rectangles and noise so detectors have something to reject.
    Returns frames and the pasted boxes as (x, y, w, h): (n, 4) for one face a frame,
    (n, faces_per_frame, 4) otherwise.
    """
    faces = np.asarray(faces)
    if faces.ndim == 4 and faces.shape[-1] == 1:
        faces = np.repeat(faces, 3, axis=-1)
    rng = np.random.default_rng(seed)
    H, W = frame_hw
    k = int(faces_per_frame)
    if k < 1 or k * face_px[0] ** 2 > 0.6 * H * W:
        raise ValueError(f"{k} faces of {face_px[0]}+ px do not fit apart in a {W}x{H} frame")
    frames = np.empty((n, H, W, 3), np.uint8)
    boxes = np.empty((n, k, 4), np.int64)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    for i in range(n):
        c0, c1 = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
        t = (xx / W * rng.uniform(0.3, 1) + yy / H * rng.uniform(0.3, 1))[..., None] / 2
        bg = c0 * (1 - t) + c1 * t
        for _ in range(rng.integers(3, 8)):
            x0, y0 = rng.integers(0, W - 40), rng.integers(0, H - 40)
            bg[y0 : y0 + rng.integers(20, 200), x0 : x0 + rng.integers(20, 200)] = rng.uniform(
                0, 255, 3
            )
        bg += rng.normal(0, 6, bg.shape)
        placed: list[tuple[int, int, int, int]] = []
        while len(placed) < k:
            side = int(rng.integers(face_px[0], face_px[1] + 1))
            x, y = int(rng.integers(0, W - side)), int(rng.integers(0, H - side))
            if any(x < px + pw and px < x + side and y < py + ph and py < y + side
                   for px, py, pw, ph in placed):  # fmt: skip
                continue  # overlaps a face already pasted: draw another place
            face = cv2.resize(
                faces[int(rng.integers(len(faces)))], (side, side), interpolation=cv2.INTER_AREA
            )
            bg[y : y + side, x : x + side] = face
            placed.append((x, y, side, side))
        frames[i] = np.clip(bg, 0, 255).astype(np.uint8)
        boxes[i] = placed
    return frames, (boxes[:, 0] if k == 1 else boxes)


class ScaledDetector:
    """Run a detector on a gray, downscaled copy of the frame; boxes come back in frame pixels.

    Detection cost grows with the pixel count, so ``downscale=0.5`` is about 4x cheaper; the
    price is that faces smaller than (detector minimum size / downscale) are missed.
    """

    def __init__(self, detector, downscale: float = 1.0):
        self.detector, self.downscale = detector, float(downscale)

    def __call__(self, frame: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Boxes (x, y, w, h) in frame pixels, best first."""
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
        s = self.downscale
        if s != 1.0:
            gray = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        return [tuple(int(round(v / s)) for v in d.box) for d in self.detector(gray)]


def make_detector(kind: str = "haar", downscale: float = 1.0, **kwargs) -> ScaledDetector:
    """A :class:`ScaledDetector` over ``detect.HaarDetector`` ("haar", kwargs scale_factor,
    min_neighbors, min_size) or ``detect.DlibHOGDetector`` ("hog", kwargs upsample)."""
    if kind not in DETECTORS:
        raise ValueError(f"unknown detector {kind!r}; choose one of {sorted(DETECTORS)}")
    return ScaledDetector(DETECTORS[kind](**kwargs), downscale)


def box_hit(det, truth) -> bool:
    """A detection finds the face when its centre lies in the true box and its side is
    between 30 % and 150 % of the true side (Haar/HOG boxes are tighter than a face crop)."""
    x, y, w, h = det
    tx, ty, tw, th = truth
    cx, cy = x + w / 2, y + h / 2
    return tx <= cx <= tx + tw and ty <= cy <= ty + th and 0.3 * tw <= w <= 1.5 * tw


def _recall(detections_and_truths) -> dict:
    # Faces found (a detection hits the true box) and detections that hit no face.
    found = total = false = 0
    for dets, truths in detections_and_truths:
        truths = np.asarray(truths).reshape(-1, 4)
        total += len(truths)
        found += sum(any(box_hit(d, t) for d in dets) for t in truths)
        false += sum(not any(box_hit(d, t) for t in truths) for d in dets)
    return {"found": found, "faces": total, "recall": found / total if total else float("nan"),
            "false": false}  # fmt: skip


def detector_recall(detector, frames: np.ndarray, boxes: np.ndarray) -> dict:
    """Share of pasted faces found, and false detections per frame; ``boxes`` as
    :func:`make_frames` returns them ((n, 4) or (n, k, 4))."""
    res = _recall((detector(f), b) for f, b in zip(frames, boxes, strict=True))
    n = len(frames)
    return {"recall": res["recall"], "false_per_frame": res["false"] / n, "frames": n}


def photo_recall(detector, photos) -> dict:
    """Recall of ``detector`` on annotated photos (``landmarks.parse_dlib_xml``'s images:
    a path and its true face boxes), and false detections per photo."""
    pairs = []
    for ann in photos:
        img = cv2.imread(str(ann.path), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot read photo {ann.path}; check the XML's image paths")
        pairs.append((detector(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)), ann.boxes))
    res = _recall(pairs)
    return {"photo_recall": res["recall"], "photo_faces": res["faces"],
            "photo_false_per_photo": res["false"] / max(1, len(pairs))}  # fmt: skip
