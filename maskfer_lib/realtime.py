"""The live demo: detect faces, classify expressions, draw probability bars, count per time.

    python -m maskfer_lib.realtime --source webcam|VIDEO|FOLDER --model NAME \\
        [--weights PATH] [--out out.mp4|out.gif] [--headless] [--bucket-seconds 60]

Every frame: face detector (Haar or dlib HOG, on a downscaled gray copy) -> crop of each
face -> classifier -> box + label + a probability bar per class (Yang et al.'s app shows
positive / neutral / negative bars) and the running FPS. Headless mode writes the annotated
video (``.mp4`` via ``cv2.VideoWriter`` mp4v, or ``.gif``) and a CSV that counts the predicted
expressions per time bucket (Yang's hourly statistics; bucket length configurable; video
time for files and folders, wall-clock time for the webcam).

Without a display (no ``DISPLAY``/``WAYLAND_DISPLAY`` on Linux, or an OpenCV build without
GUI support) the demo runs headless and says so. A source that ends before the frame count
it announced (a truncated video) is reported as "read N of M frames expected"; frames of
another size than the first (a folder of mixed-size photos) are letterboxed, so the output
holds every frame the demo counted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from maskfer_lib import config, data, models, runs, shipped, synth
from maskfer_lib.detect import crop_face, make_detector, make_frames
from maskfer_lib.models import framework_of
from maskfer_lib.speed.latency import make_classifier, set_threads
from maskfer_lib.train import CorruptModelError, load_model

if TYPE_CHECKING:
    import pandas as pd

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")

# Distinct, colour-blind-friendly box/bar colours (Okabe–Ito), RGB.
PALETTE = [
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (0, 114, 178),
    (213, 94, 0),
    (204, 121, 167),
    (120, 120, 120),
]


class WebcamUnavailableError(RuntimeError):
    """No webcam could be opened (e.g. a server or container without a camera)."""


# --------------------------------------------------------------------------- sources


class FrameSource:
    """Frames of one source as ``(time_s, RGB uint8)``, counting what it read.

    ``expected`` is what the source announced (``cv2.CAP_PROP_FRAME_COUNT`` for a video,
    the number of image files for a folder, ``None`` for a webcam); ``read`` the frames it
    delivered so far; ``exhausted`` whether it ran out (rather than the caller stopping).
    """

    def __init__(self, frames, kind: str, name: str, expected: int | None):
        self._frames = frames
        self.kind, self.name, self.expected = kind, name, expected
        self.read, self.exhausted = 0, False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            item = next(self._frames)
        except StopIteration:
            self.exhausted = True
            raise
        self.read += 1
        return item

    def close(self) -> None:
        """Release the capture (or stop reading the folder)."""
        self._frames.close()

    def shortfall(self) -> str | None:
        """Why fewer frames came than announced, or ``None`` when none are missing.

        A video's frame count comes from its header and some containers only estimate it,
        so a video one frame (or 1 %) short is not reported.
        """
        if not self.exhausted or self.expected is None or self.read >= self.expected:
            return None
        missing = self.expected - self.read
        if self.kind == "folder":
            return (
                f"{self.name}: read {self.read} of {self.expected} images "
                f"({missing} unreadable, skipped)"
            )
        if missing <= max(1, self.expected // 100):
            return None
        return (
            f"{self.name}: read {self.read} of {self.expected} frames expected "
            f"(cv2.CAP_PROP_FRAME_COUNT): the video ends early (truncated or damaged file?), "
            f"so the output and the counts cover only the first "
            f"{100 * self.read / self.expected:.0f} %"
        )


def open_source(source: str, fps: float = 10.0) -> tuple[FrameSource, float]:
    """Frames of a webcam, video file or image folder as ``(time_s, RGB uint8)``; and the FPS.

    ``fps`` is used for folders (one image per 1/fps s); files use their own frame rate.
    The frames come as a :class:`FrameSource`, which counts frames read against frames
    expected.
    """
    if source == "webcam" or source.isdigit():
        index = 0 if source == "webcam" else int(source)
        cap = cv2.VideoCapture(index)
        if not cap.isOpened():
            cap.release()
            raise WebcamUnavailableError(
                f"could not open webcam {index}: cv2.VideoCapture({index}) failed (no camera on "
                "this machine, or no permission to use it). Run the demo on a recording instead: "
                "--source path/to/video.mp4 (or a folder of images) with --headless --out out.mp4"
            )
        frames = FrameSource(_capture_frames(cap, None), "webcam", f"webcam {index}", None)
        return frames, float(cap.get(cv2.CAP_PROP_FPS) or fps)
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder {path}")
        return FrameSource(_folder_frames(files, fps), "folder", str(path), len(files)), fps
    if not path.exists():
        raise FileNotFoundError(
            f"video source {path} does not exist; pass --source webcam, a video file or a "
            "folder of images"
        )
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(
            f"OpenCV cannot read the video {path}: a truncated or damaged file (an .mp4 cut "
            "short loses its index), or a codec this OpenCV lacks; convert it to .mp4 "
            "(H.264/mp4v)"
        )
    file_fps = cap.get(cv2.CAP_PROP_FPS)
    file_fps = float(file_fps) if file_fps and file_fps > 0 else fps
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    frames = FrameSource(_capture_frames(cap, file_fps), "video", str(path), count or None)
    return frames, file_fps


def _capture_frames(cap, fps: float | None):
    """Frames of a capture; time = frame index / fps (files) or wall clock (webcam)."""
    t0, i = time.perf_counter(), 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                return
            t = i / fps if fps else time.perf_counter() - t0
            yield t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        cap.release()


def _folder_frames(files: Sequence[Path], fps: float):
    for i, f in enumerate(files):
        bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if bgr is None:
            print(f"skipping unreadable image {f}", file=sys.stderr)
            continue
        yield i / fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def display_available() -> tuple[bool, str]:
    """Whether the demo can open a window, and why not: an OpenCV build without GUI
    support (opencv-python-headless), or on Linux no ``DISPLAY``/``WAYLAND_DISPLAY``."""
    gui = next(
        (
            line.split(":", 1)[1].strip()
            for line in cv2.getBuildInformation().splitlines()
            if line.strip().startswith("GUI:")
        ),
        "",
    )
    if gui.upper() == "NONE":
        return False, "this OpenCV build has no GUI support (opencv-python-headless)"
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False, "no display (DISPLAY and WAYLAND_DISPLAY are unset)"
    return True, ""


# --------------------------------------------------------------------------- drawing


def draw_face(frame: np.ndarray, box, probs: np.ndarray, class_names: Sequence[str]) -> None:
    """Box and "label p" above it, in the predicted class's colour (in place, RGB)."""
    k = int(np.argmax(probs))
    colour = PALETTE[k % len(PALETTE)]
    x, y, w, h = (int(v) for v in box)
    thick = max(1, frame.shape[0] // 240)
    cv2.rectangle(frame, (x, y), (x + w, y + h), colour, thick)
    label = f"{class_names[k]} {probs[k]:.2f}"
    scale = max(0.4, frame.shape[0] / 960)
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    ty = max(th + base, y - 4)
    cv2.rectangle(frame, (x, ty - th - base), (x + tw + 4, ty + base // 2), colour, -1)
    cv2.putText(
        frame,
        label,
        (x + 2, ty - base // 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (0, 0, 0),
        thick,
        cv2.LINE_AA,
    )


def draw_bars(
    frame: np.ndarray, probs: np.ndarray, class_names: Sequence[str], fps: float | None = None
) -> None:
    """Top-left panel: one probability bar per class (of the largest face) and the FPS."""
    h = frame.shape[0]
    scale = max(0.35, h / 1200)
    row = max(12, int(h / 28))
    name_w = (
        int(max(cv2.getTextSize(c, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for c in class_names))
        + 8
    )
    bar_w = max(40, frame.shape[1] // 6)
    n_rows = len(class_names) + (fps is not None)
    panel = frame[4 : 8 + row * n_rows, 4 : name_w + bar_w + 60]
    panel[:] = (panel * 0.35).astype(np.uint8)  # darken behind the text for contrast
    for i, (name, p) in enumerate(zip(class_names, probs, strict=True)):
        y = 6 + row * i
        cv2.putText(
            frame,
            name,
            (8, y + row - 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        x0 = 8 + name_w
        cv2.rectangle(frame, (x0, y + 2), (x0 + bar_w, y + row - 2), (90, 90, 90), 1)
        cv2.rectangle(
            frame,
            (x0, y + 2),
            (x0 + int(bar_w * float(p)), y + row - 2),
            PALETTE[i % len(PALETTE)],
            -1,
        )
        cv2.putText(
            frame,
            f"{100 * p:.0f}%",
            (x0 + bar_w + 4, y + row - 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    if fps is not None:
        y = 6 + row * len(class_names)
        cv2.putText(
            frame,
            f"{fps:.1f} FPS",
            (8, y + row - 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )


# --------------------------------------------------------------------------- writers


class VideoOut:
    """Annotated frames to ``.mp4``/``.avi`` (cv2.VideoWriter) or ``.gif`` (Pillow).

    The first frame sets the size. A frame of another size (a folder of mixed-size
    photos) is letterboxed to it: ``cv2.VideoWriter`` silently drops such frames, so the
    video would hold fewer frames than the demo reported. ``count`` is the frames written,
    ``resized`` how many of them were letterboxed.
    """

    def __init__(self, path: str | Path, fps: float):
        self.path, self.fps = Path(path), float(fps)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer, self.gif_frames, self.count = None, [], 0
        self.size: tuple[int, int] | None = None
        self.resized = 0
        if self.path.suffix.lower() not in (".mp4", ".avi", ".gif"):
            raise ValueError(f"--out must end in .mp4, .avi or .gif; got {self.path}")

    def write(self, rgb: np.ndarray) -> None:
        """Append one RGB frame (letterboxed to the first frame's size if it differs)."""
        h, w = rgb.shape[:2]
        if self.size is None:
            self.size = (w, h)
        elif (w, h) != self.size:
            rgb = letterbox(rgb, self.size)
            self.resized += 1
        self.count += 1
        if self.path.suffix.lower() == ".gif":
            from PIL import Image

            self.gif_frames.append(Image.fromarray(rgb))
            return
        if self.writer is None:
            fourcc = cv2.VideoWriter_fourcc(
                *("mp4v" if self.path.suffix.lower() == ".mp4" else "MJPG")
            )
            self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, self.size)
            if not self.writer.isOpened():
                raise OSError(f"cv2.VideoWriter could not open {self.path} for writing")
        self.writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        """Finish the file."""
        if self.writer is not None:
            self.writer.release()
        if self.gif_frames:
            self.gif_frames[0].save(
                self.path,
                save_all=True,
                append_images=self.gif_frames[1:],
                duration=int(round(1000 / self.fps)),
                loop=0,
            )


def letterbox(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` scaled to fit ``size`` (width, height) with its aspect kept, centred on black."""
    w, h = size
    scale = min(w / rgb.shape[1], h / rgb.shape[0])
    nw, nh = max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(np.ascontiguousarray(rgb), (nw, nh), interpolation=interp)
    out = np.zeros((h, w, 3), np.uint8)
    y0, x0 = (h - nh) // 2, (w - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = small
    return out


def bucket_counts(
    times: Sequence[float],
    preds: Sequence[int],
    frame_times: Sequence[float],
    class_names: Sequence[str],
    bucket_seconds: float,
) -> pd.DataFrame:
    """Per time bucket: frames, faces and the count of each predicted expression.

    Args:
        times: time (s) of every classified face.
        preds: predicted class index of every classified face.
        frame_times: time (s) of every processed frame (faces or not).
        bucket_seconds: bucket length (Yang et al. report hourly: 3600).
    """
    import pandas as pd

    if bucket_seconds <= 0:
        raise ValueError(f"bucket_seconds must be > 0, got {bucket_seconds}")
    n_buckets = int(np.floor(max(frame_times, default=0.0) / bucket_seconds)) + 1
    fb = np.floor(np.asarray(frame_times, float) / bucket_seconds).astype(int)
    b = np.floor(np.asarray(times, float) / bucket_seconds).astype(int)
    preds = np.asarray(preds, int)
    rows = []
    for i in range(n_buckets):
        counts = np.bincount(preds[b == i], minlength=len(class_names))
        rows.append(
            {
                "bucket": i,
                "start_s": i * bucket_seconds,
                "end_s": (i + 1) * bucket_seconds,
                "frames": int((fb == i).sum()),
                "faces": int(counts.sum()),
                **{c: int(v) for c, v in zip(class_names, counts, strict=True)},
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the loop


@dataclass
class DemoResult:
    """What one run of the demo did."""

    frames: int
    faces: int
    fps_median: float
    """Median processing FPS (detector + classifier + drawing) over frames."""
    out: Path | None
    csv: Path | None
    counts: object = None
    """The per-bucket DataFrame (also written to ``csv``)."""
    sample_frames: list = field(default_factory=list)
    """A few annotated frames (RGB) for notebooks."""
    frames_expected: int | None = None
    """Frames the source announced (video: ``cv2.CAP_PROP_FRAME_COUNT``; folder: image
    files; webcam: ``None``)."""
    frames_written: int | None = None
    """Frames in ``out`` (``None`` without ``out``); equals ``frames``."""
    resized: int = 0
    """Frames of another size than the first, letterboxed to it in ``out``."""
    warnings: list = field(default_factory=list)
    """What went short: e.g. a truncated video's "read N of M frames expected"."""
    headless: bool = True
    """Whether the run showed no window (asked for, or chosen for want of a display)."""


def run_demo(
    source: str,
    classify,
    class_names: Sequence[str],
    detector,
    out: str | Path | None = None,
    csv: str | Path | None = None,
    bucket_seconds: float = 60.0,
    headless: bool = True,
    max_frames: int | None = None,
    margin: float = 0.2,
    keep_samples: int = 6,
    fps: float = 10.0,
) -> DemoResult:
    """Run detector + classifier over a source, annotate, write video and per-bucket CSV.

    Args:
        source: "webcam", a device index, a video file or a folder of images.
        classify: crop (h, w, 3) uint8 RGB -> (1, K) probabilities (e.g. the ``end_to_end``
            of :func:`maskfer_lib.speed.latency.make_classifier`).
        class_names: the K class names.
        detector: frame -> list of (x, y, w, h) boxes (e.g. :func:`detect.make_detector`).
        out: annotated ``.mp4``/``.avi``/``.gif`` to write (optional).
        csv: per-bucket expression counts to write (optional).
        headless: False shows a window (needs an OpenCV build with GUI support and, on
            Linux, a display); without one the run goes headless and says so on stderr.
        max_frames: stop after this many frames.
        margin: crop margin around each detected box (fraction of its side).
        keep_samples: annotated frames kept (evenly over the first ``max_frames`` or so).
        fps: frame rate assumed for image folders.

    A source that delivers fewer frames than it announced (a truncated video, unreadable
    images in a folder) is reported with a ``RuntimeWarning`` and in the result's
    ``frames_expected`` and ``warnings``.
    """
    if not headless:
        ok, why = display_available()
        if not ok:
            dest = f"; the annotated video goes to {out}" if out else ""
            print(f"note: {why}: running headless{dest}", file=sys.stderr)
            headless = True
    frames_iter, src_fps = open_source(source, fps)
    writer = VideoOut(out, src_fps) if out else None
    window = _Window()
    face_t, face_pred, frame_t, proc_times, samples = [], [], [], [], []
    ema = None
    n = 0
    try:
        for t, frame in frames_iter:
            if max_frames is not None and n >= max_frames:
                break
            t0 = time.perf_counter()
            boxes = detector(frame)
            results = []
            for box in boxes:
                probs = np.asarray(classify(crop_face(frame, box, margin=margin)))[0]
                results.append((box, probs))
                face_t.append(t)
                face_pred.append(int(np.argmax(probs)))
            dt = time.perf_counter() - t0
            proc_times.append(dt)
            ema = 1 / dt if ema is None else 0.9 * ema + 0.1 / max(dt, 1e-9)
            canvas = frame.copy()
            for box, probs in results:
                draw_face(canvas, box, probs, class_names)
            if results:
                biggest = max(results, key=lambda r: r[0][2] * r[0][3])[1]
            else:
                biggest = np.zeros(len(class_names))
            draw_bars(canvas, biggest, class_names, ema)
            frame_t.append(t)
            if writer:
                writer.write(canvas)
            if len(samples) < keep_samples and (n % 5 == 0):
                samples.append(canvas)
            if not headless:
                window.show(canvas)
            n += 1
    finally:
        frames_iter.close()
        if writer:
            writer.close()
        window.close()
    notes = []
    short = frames_iter.shortfall()
    if short:
        notes.append(short)
        warnings.warn(short, RuntimeWarning, stacklevel=2)
    if writer and writer.resized:
        w, h = writer.size
        print(
            f"note: {writer.resized} of {writer.count} frames were not {w}x{h} (the first "
            f"frame's size) and were letterboxed to it in {writer.path}",
            file=sys.stderr,
        )
    counts = bucket_counts(face_t, face_pred, frame_t, class_names, bucket_seconds)
    csv_path = None
    if csv:
        csv_path = Path(csv)
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        counts.to_csv(csv_path, index=False)
    return DemoResult(
        frames=n,
        faces=len(face_pred),
        fps_median=float(1 / np.median(proc_times)) if proc_times else float("nan"),
        out=Path(out) if out else None,
        csv=csv_path,
        counts=counts,
        sample_frames=samples,
        frames_expected=frames_iter.expected,
        frames_written=writer.count if writer else None,
        resized=writer.resized if writer else 0,
        warnings=notes,
        headless=headless,
    )


class _Window:
    """The demo's window, opened by the first frame shown; closing one that never opened
    does nothing (``cv2.destroyAllWindows`` itself fails without GUI support, and its
    error would hide the one that explains why no window opened)."""

    def __init__(self):
        self.opened = False

    def show(self, canvas: np.ndarray) -> None:
        try:
            cv2.imshow("maskfer", cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
            self.opened = True
            key = cv2.waitKey(1)
        except cv2.error as err:
            raise RuntimeError(
                "OpenCV cannot open a window here (no GUI support or no display); rerun "
                "with --headless --out out.mp4 and watch the file"
            ) from err
        if key & 0xFF == ord("q"):
            raise KeyboardInterrupt

    def close(self) -> None:
        if not self.opened:
            return
        try:
            cv2.destroyAllWindows()
        except cv2.error:
            pass  # the window is gone either way; an error here would mask the real one


# --------------------------------------------------------------------------- model loading


def resolve_class_names(
    num_classes: int, weights: str | Path | None = None, classes: str | None = None
) -> tuple[str, ...]:
    """Class names: ``classes`` ("a,b,c"), else ``summary.json``/predictions next to the
    weights, else the SynthFACS preset with that many classes."""
    if classes:
        names = tuple(c.strip() for c in classes.split(",") if c.strip())
    else:
        names = None
        if weights:
            folder = Path(weights).parent
            summary = folder / "summary.json"
            if summary.exists():
                names = json.loads(summary.read_text()).get("class_names")
            preds = sorted(folder.glob("predictions_*.csv"))
            if not names and preds:
                header = preds[0].read_text().splitlines()[0].split(",")
                names = [c[2:] for c in header if c.startswith("p_")]
        if not names:
            names = _preset(num_classes)
        names = tuple(names)
    if len(names) != num_classes:
        raise ValueError(
            f"{len(names)} class names {names} for a model with {num_classes} "
            "outputs; pass --classes with one name per output"
        )
    return names


def _preset(k: int) -> tuple[str, ...]:
    for p in (synth.CLASSES_7, synth.CLASSES_3, synth.CLASSES_4):
        if len(p) == k:
            return tuple(p)
    return tuple(f"class{i}" for i in range(k))


def load_classifier(
    name: str,
    weights: str | Path | None = None,
    input_size: int | None = None,
    backend: str = "native",
    threads: int = 2,
):
    """(model, input_shape, end_to_end classify) for a registry model, trained or not."""
    spec = models.get_spec(name)
    set_threads(threads)
    if weights:
        model = load_model(weights)
    else:
        print(
            f"warning: no --weights given; {name} is untrained and its predictions are "
            "meaningless (train it in notebooks 02-05, then pass its saved model)",
            file=sys.stderr,
        )
        shape = (
            spec.input_shape
            if input_size is None
            else (input_size, input_size, spec.input_shape[2])
        )
        model = models.build_model(name, input_shape=shape)
    if framework_of(model) == "keras":
        shape = tuple(int(v) for v in model.inputs[0].shape[1:])
    else:
        size = input_size or spec.input_shape[0]
        shape = (size, size, spec.input_shape[2])
    _, _, classify, _ = make_classifier(model, backend, shape, threads)
    return model, shape, classify


MODEL_FILES = ("model.keras", "model.pt", "*.keras", "*.pt")


def trained_models(run_dir: str | Path) -> list[dict]:
    """Trained models saved under ``run_dir`` (``config.runs_dir``) by notebooks 02–05.

    One dict per run folder holding a saved model: ``run``, ``model_name`` (registry name,
    from ``summary.json``, else the folder name), ``framework``, ``path``, ``class_names``
    (summary, else the predictions CSV's ``p_*`` columns, else None) and ``input_shape``
    (summary, else None: the caller reads it off the loaded model).
    """
    out = []
    run_dir = Path(run_dir)
    if not run_dir.exists():
        return out
    for folder in sorted(p for p in run_dir.iterdir() if p.is_dir()):
        files = [f for pat in MODEL_FILES for f in sorted(folder.glob(pat))]
        if not files:
            continue
        summary = {}
        if (folder / "summary.json").exists():
            summary = json.loads((folder / "summary.json").read_text())
        name = summary.get("model_name") or folder.name
        if name not in models.REGISTRY:
            continue
        names = summary.get("class_names")
        preds = sorted(folder.glob("predictions_*.csv"))
        if not names and preds:
            header = preds[0].read_text().splitlines()[0].split(",")
            names = [c[2:] for c in header if c.startswith("p_")] or None
        shape = summary.get("input_shape")
        out.append(
            {
                "run": folder.name,
                "model_name": name,
                "path": files[0],
                "framework": models.get_spec(name).framework,
                "class_names": tuple(names) if names else None,
                "input_shape": tuple(shape) if shape else None,
            }
        )
    return out


def model_input_shape(model, name: str, hint=None) -> tuple[int, int, int]:
    """(H, W, C) a loaded model takes: ``hint``, the Keras input, ``model.input_shape``
    (torch models here record it), else the registry default."""
    if hint:
        return tuple(int(v) for v in hint)
    if framework_of(model) == "keras":
        return tuple(int(v) for v in model.inputs[0].shape[1:])
    for sub in model.modules():  # the model or a part of it (FECN's MCN) may record it
        if getattr(sub, "input_shape", None):
            return tuple(int(v) for v in sub.input_shape)
    return models.get_spec(name).input_shape


def train_small_model(
    dataset: str = "synthfacs",
    data_dir: str = "",
    profile: str = "quick",
    seed: int = 0,
    name: str = "putro_slim_rgc",
    size: int = 64,
    epochs: int | None = None,
    max_train: int | None = None,
):
    """Fallback when no trained run exists: a small model trained here, in seconds.

    Trains ``name`` at ``size``×``size`` on the dataset's train split for a few epochs
    (smoke: 1 epoch on 64 faces). Returns ``(model, input_shape, class_names, val_accuracy)``.
    """
    prof = config.get_profile(profile)
    config.seed_everything(seed)
    splits = data.load_dataset(dataset, data_dir, prof.name, seed)
    tr, va = splits["train"], splits["val"]
    cap = max_train or prof.demo_train_faces
    if len(tr) > cap:
        tr = tr.subset(np.random.default_rng(seed).choice(len(tr), cap, replace=False))
    shape = (size, size, models.get_spec(name).input_shape[2])
    base = prof.train_cfg(name)
    cfg = replace(
        base,
        epochs=epochs or prof.demo_epochs or base.epochs,
        # A one-epoch demo model (smoke) takes two steps: seconds, not a classifier.
        max_steps_per_epoch=2 if prof.demo_epochs == 1 else base.max_steps_per_epoch,
    )
    run = runs.train_and_record(
        name, tr, va, {"val": va}, cfg=cfg, class_names=tr.class_names, input_shape=shape,
        seed=seed, progress=False,
    )  # fmt: skip
    return run.model, shape, tr.class_names, float(run.history["val_accuracy"].max())


def make_synth_video(
    path: str | Path,
    n_frames: int = 40,
    fps: float = 10.0,
    frame_hw=(480, 640),
    face_px=(200, 300),
    seconds_per_face: float = 1.0,
    classes=None,
    seed: int = 0,
):
    """A test video: SynthFACS faces pasted on cluttered backgrounds, one face per shot.

    The face (and so the expression) changes every ``seconds_per_face``; within a shot it
    stays put so the per-bucket counts are meaningful. Returns ``(path, labels per frame,
    class_names)``.
    """
    classes = classes or synth.CLASSES_7
    per_shot = max(1, int(round(seconds_per_face * fps)))
    shots = -(-n_frames // per_shot)
    ds = synth.generate(
        max(1, -(-shots // len(classes))), size=128, classes=classes, seed=seed, pose="frontal"
    )
    order = np.random.default_rng(seed).permutation(len(ds))[:shots]
    order = np.resize(order, shots)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = VideoOut(path, fps)
    labels = []
    for s, idx in enumerate(order):
        frames, _ = make_frames(ds.images[idx : idx + 1], 1, frame_hw, face_px, seed=seed + s)
        for _ in range(min(per_shot, n_frames - s * per_shot)):
            writer.write(frames[0])
            labels.append(int(ds.labels[idx]))
    writer.close()
    return path, np.array(labels), tuple(ds.class_names)


def _num_outputs(classify, shape) -> int:
    return int(np.asarray(classify(np.zeros((shape[0], shape[1], 3), np.uint8))).shape[-1])


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(
        prog="python -m maskfer_lib.realtime",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--source", required=True, help="webcam, a device index, a video or a folder")
    ap.add_argument(
        "--model",
        help="a shipped model (maskfer_lib/weights; default: the shipped 3-class model) or a "
        "registry name (maskfer_lib.models) with --weights",
    )
    ap.add_argument("--weights", help="saved model (.keras/.pt) from maskfer_lib.train.save_model")
    ap.add_argument("--classes", help="comma-separated class names (default: from the run)")
    ap.add_argument(
        "--input-size", type=int, help="torch models: input side the model was trained at"
    )
    ap.add_argument("--out", help="annotated output video (.mp4/.avi/.gif)")
    ap.add_argument("--csv", help="per-bucket counts CSV (default: next to --out)")
    ap.add_argument("--headless", action="store_true", help="no window; write --out instead")
    ap.add_argument("--bucket-seconds", type=float, default=60.0)
    ap.add_argument("--detector", choices=["haar", "hog"], default="haar")
    ap.add_argument("--downscale", type=float, default=0.5, help="detect on a frame scaled by this")
    ap.add_argument(
        "--min-size", type=int, default=40, help="Haar minimum face side (scaled frame)"
    )
    ap.add_argument("--backend", choices=["native", "onnx"], default="native")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-frames", type=int)
    ap.add_argument("--fps", type=float, default=10.0, help="frame rate for image folders")
    args = ap.parse_args(argv)

    if not args.headless:
        ok, why = display_available()
        if not ok and not args.out and not args.csv:
            ap.error(
                f"{why}, so no window can be shown: pass --out out.mp4 and/or --csv counts.csv "
                "to run headless"
            )
        if not ok:
            print(f"note: {why}: running headless (as with --headless)", file=sys.stderr)
            args.headless = True
    if args.headless and not args.out and not args.csv:
        ap.error("--headless needs --out (annotated video) and/or --csv")
    try:
        frames_check, _ = open_source(args.source, args.fps)  # fail early, before loading a model
        frames_check.close()
    except (WebcamUnavailableError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    name = args.model or (shipped.DEFAULT_DEMO_MODEL if not args.weights else None)
    if name in shipped.available() and not args.weights:
        classify, names, shape = shipped.classifier(name)
        if args.classes:
            names = resolve_class_names(len(names), None, args.classes)
    elif name is None or (args.model is None and not args.weights):
        print(
            f"error: no shipped model {shipped.DEFAULT_DEMO_MODEL!r} in {shipped.WEIGHTS_DIR}; "
            "pass --model NAME (a shipped model, or a registry model with --weights)",
            file=sys.stderr,
        )
        return 2
    else:
        try:
            model, shape, classify = load_classifier(
                name, args.weights, args.input_size, args.backend, args.threads
            )
        except (FileNotFoundError, CorruptModelError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        names = resolve_class_names(_num_outputs(classify, shape), args.weights, args.classes)
    kw = {"min_size": args.min_size} if args.detector == "haar" else {"upsample": 0}
    detector = make_detector(args.detector, args.downscale, **kw)
    csv = args.csv or (str(Path(args.out).with_suffix(".csv")) if args.out else None)
    res = run_demo(
        args.source,
        classify,
        names,
        detector,
        out=args.out,
        csv=csv,
        bucket_seconds=args.bucket_seconds,
        headless=args.headless,
        max_frames=args.max_frames,
        fps=args.fps,
    )
    of = f" of {res.frames_expected} expected" if res.warnings and res.frames_expected else ""
    print(
        f"{res.frames} frames{of}, {res.faces} faces, median {res.fps_median:.1f} FPS; "
        f"video: {res.out}; counts: {res.csv}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
