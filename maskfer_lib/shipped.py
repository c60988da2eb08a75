"""Shipped weights: trained classifiers as ONNX files with a JSON card beside each.

``maskfer_lib/weights/<name>.onnx`` + ``<name>.json``. The card says everything a caller
needs to use the file without this repository's training code: ``class_names`` in output
order, ``input`` (size, channels, layout), ``preprocessing`` (resize, scale, mean/std),
``output`` (probabilities or logits), where it was trained (data, profile, commit), and its
test accuracy on masked and unmasked faces beside the majority-class baseline. ``check``
holds the framework model's probabilities on a few fixed inputs at export time, so a test
can confirm the ONNX file still computes what the trained model computed.

:func:`predict` runs face crops through a shipped file with onnxruntime; the real-time demo
uses it by default. :func:`export_weights` writes a file and its card from a trained model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from maskfer_lib import data, train
from maskfer_lib.envreport import git_commit
from maskfer_lib.models import framework_of
from maskfer_lib.runs import ranked_runs
from maskfer_lib.speed.latency import export_onnx, ort_session

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Where shipped ONNX files and their JSON cards live (inside the package)."""

MAX_BYTES = 10 * 1024 * 1024
"""Largest ONNX file shipped (10 MB)."""

CHECK_ATOL = 1e-4
"""How far ONNX probabilities may differ from the framework model's."""

_SESSIONS: dict[str, object] = {}


class FileTooLarge(ValueError):
    """An export over :data:`MAX_BYTES`; nothing is left on disk."""


def _dir(weights_dir) -> Path:
    """``weights_dir``, or :data:`WEIGHTS_DIR` (read at call time, so tests can point it away)."""
    return Path(weights_dir) if weights_dir is not None else Path(WEIGHTS_DIR)


def available(weights_dir: str | Path | None = None) -> list[str]:
    """Names (file stems) of the shipped models that have both an ONNX file and a card."""
    d = _dir(weights_dir)
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.onnx") if p.with_suffix(".json").exists())


def card(name: str, weights_dir: str | Path | None = None) -> dict:
    """The JSON card of shipped model ``name``."""
    weights_dir = _dir(weights_dir)
    path = weights_dir / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"no shipped model {name!r} in {weights_dir} (shipped: {available(weights_dir) or 'none'})"
        )
    return json.loads(path.read_text())


def _check_inputs(shape, seed: int = 0, n: int = 3) -> np.ndarray:
    """The fixed uint8 test crops a card's ``check`` is computed on."""
    h, w, c = shape
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)


def preprocess(images, meta: dict) -> np.ndarray:
    """uint8 crops (N, H, W, 1 or 3) of any size -> the float32 batch a card describes.

    Resizing and colour conversion are ``data.to_model_input``'s, the function every model
    here was trained through; then the card's scale, mean/std and layout."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be (N, H, W, 1 or 3) face crops; got shape {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (0-255); got {images.dtype}")
    size, c = meta["input"]["size"], meta["input"]["channels"]
    pre = meta["preprocessing"]
    # to_model_input already divides uint8 by 255; the card's scale is per 0-255 value.
    out = data.to_model_input(images, (size, size, c)) * np.float32(float(pre["scale"]) * 255.0)
    out = (out - np.asarray(pre["mean"], np.float32)) / np.asarray(pre["std"], np.float32)
    if meta["input"]["layout"] == "NCHW":
        out = np.ascontiguousarray(out.transpose(0, 3, 1, 2))
    return out


def _session(path: Path):
    key = str(path)
    if key not in _SESSIONS:
        _SESSIONS[key] = ort_session(path, threads=2)
    return _SESSIONS[key]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def predict(images, model: str, weights_dir: str | Path | None = None) -> np.ndarray:
    """Class probabilities (N, K) of shipped model ``model`` for uint8 face crops.

    Args:
        images: (N, H, W, 1 or 3) uint8 face crops of any size (RGB or gray); each is
            resized and converted as the model's card says.
        model: a shipped model's name, see :func:`available`.

    Returns:
        float32 (N, K), rows summing to 1, columns in the card's ``class_names`` order.
    """
    meta = card(model, weights_dir)
    x = preprocess(images, meta)
    sess = _session(_dir(weights_dir) / f"{model}.onnx")
    name = sess.get_inputs()[0].name
    out = np.asarray(sess.run(None, {name: x})[0], np.float32)
    if meta["output"] == "logits":
        out = _softmax(out)
    return out


def export_weights(
    model,
    name: str,
    *,
    class_names,
    input_shape,
    trained_on: str,
    profile: str,
    test_accuracy: dict,
    weights_dir: str | Path | None = None,
    **extra,
) -> Path:
    """Export a trained Keras or torch classifier to ``<weights_dir>/<name>.onnx`` + card.

    Args:
        model: the trained model (inputs float32 in [0, 1], NHWC for Keras, NCHW for torch).
        class_names: label names in output order.
        input_shape: (H, W, C) the model takes.
        trained_on: a description of the training data (e.g. "FER2013 train, Çelik masks").
        profile: the profile it was trained in.
        test_accuracy: e.g. ``{"masked": 0.55, "unmasked": 0.6, "majority_masked": 0.25,
            "majority_unmasked": 0.25}`` (each accuracy beside its split's majority class).
        extra: stored in the card as they are (e.g. ``model_name``, ``epochs``).

    The export is checked before the card is written: the ONNX probabilities on three
    fixed crops must match the framework model's within :data:`CHECK_ATOL`, and the file must
    be at most :data:`MAX_BYTES`. Returns the ONNX path.
    """
    d = _dir(weights_dir)
    d.mkdir(parents=True, exist_ok=True)
    shape = tuple(int(v) for v in input_shape)
    fw = framework_of(model)
    path = export_onnx(model, d / f"{name}.onnx", shape, batch=None)
    size = path.stat().st_size
    if size > MAX_BYTES:
        path.unlink()
        raise FileTooLarge(
            f"{name}: the ONNX file is {size / 1e6:.1f} MB, over the {MAX_BYTES / 2**20:g} MiB limit"
        )
    meta = {
        "name": name,
        "class_names": list(class_names),
        "input": {
            "size": shape[0],
            "channels": shape[2],
            "layout": "NCHW" if fw == "torch" else "NHWC",
            "dtype": "float32",
        },
        "preprocessing": {
            "resize": "cv2 INTER_AREA when shrinking, INTER_LINEAR when enlarging",
            "color": "RGB -> gray by ITU-R 601 luma" if shape[2] == 1 else "RGB (gray copied)",
            "scale": 1.0 / 255.0,
            "mean": [0.0] * shape[2],
            "std": [1.0] * shape[2],
        },
        "output": "logits" if fw == "torch" else "probabilities",
        "framework": fw,
        "trained_on": trained_on,
        "profile": profile,
        "commit": git_commit(),
        "test_accuracy": test_accuracy,
        "onnx_bytes": size,
        **extra,
    }
    crops = _check_inputs(shape)
    want = train.predict_proba(model, crops.astype(np.float32) / 255.0)
    meta["check"] = {"seed": 0, "n": len(crops), "probabilities": np.round(want, 7).tolist()}
    tmp_card = d / f"{name}.json"
    tmp_card.write_text(json.dumps(meta, indent=2))
    _SESSIONS.pop(str(path), None)
    got = predict(crops, name, d)
    err = float(np.max(np.abs(got - want)))
    if not err <= CHECK_ATOL:
        tmp_card.unlink()
        path.unlink()
        raise ValueError(
            f"{name}: ONNX differs from the trained model by {err:.2g} (> {CHECK_ATOL})"
        )
    meta["check"]["max_abs_err_at_export"] = err
    tmp_card.write_text(json.dumps(meta, indent=2))
    return path


def export_run(
    folder: str | Path, name: str, *, trained_on: str, weights_dir: str | Path | None = None
) -> Path:
    """Export the finished run in ``folder`` (``runs.train_and_record``'s layout) as ``name``.

    The card takes the class names, input shape, profile and every test split's accuracy
    and majority baseline from the run's ``summary.json``, and the weights from its best
    checkpoint (``fit.json``). Pick the folder with ``runs.best_run`` (by validation).
    """
    folder = Path(folder)
    paths = {f: folder / f for f in ("summary.json", "fit.json")}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{folder} is not a finished run (missing {missing})")
    summary = json.loads(paths["summary.json"].read_text())
    fit_meta = json.loads(paths["fit.json"].read_text())
    if not summary.get("class_names"):
        raise ValueError(
            f"{paths['summary.json']} has no class_names (written before they were recorded); "
            "rerun its notebook: the finished training is reloaded, not repeated"
        )
    model = train.load_model(folder / fit_meta["checkpoint"])
    # A two-stage model trained on crops + a precomputed map ships taking the crop alone.
    shape = tuple(getattr(model, "crop_shape", summary["input_shape"]))
    if len(shape) != 3 or shape[2] not in (1, 3):
        raise ValueError(
            f"{folder.name} takes input {shape}, not a face crop (H, W, 1 or 3): it cannot be "
            "shipped as a single-input classifier"
        )
    tests = [
        k.removeprefix("accuracy_")
        for k, v in summary.items()
        if k.startswith("accuracy_") and v is not None and f"majority_{k[9:]}" in summary
    ]
    accuracy = {t: summary[f"accuracy_{t}"] for t in tests}
    accuracy.update({f"majority_{t}": summary[f"majority_{t}"] for t in tests})
    return export_weights(
        model, name, class_names=summary["class_names"], input_shape=shape,
        trained_on=trained_on, profile=summary.get("profile", ""), test_accuracy=accuracy,
        weights_dir=weights_dir, model_name=summary.get("model_name"), run=folder.name,
        epochs=summary.get("epochs"), recipe=summary.get("recipe"),
        best_val_accuracy=summary.get("best_val_accuracy"),
    )  # fmt: skip


TASKS: dict[str, tuple[str, ...]] = {
    "7class": ("celik_cnn", "putro_slim", "putro_slim_rgc", "mobilenet_v2"),
    "3class": ("vgg19", "yang_mobilenet", "yang_attention"),
    "4class": ("vgg11", "abn", "fecn"),
}
"""The runs each shipped model is chosen from: the single-input classifiers of notebooks 02
and 03 (7 classes), Yang's baselines and approach 2 in notebook 04 (3 classes; approach 2
carries its stage-1 network and computes the occlusion heat map inside, see
``YangAttention.crop_shape``; approach 1 needs an inpainter and a landmark net beside the
crop) and Hayashi's networks in notebook 05 (4 classes; FECN carries its MCN inside)."""


def ship_destination(profile, dataset: str, run_dir: Path) -> Path | None:
    """Where notebook 06 ships the best runs (``profile.notebook.ship_weights``): the
    package's ``weights/`` for real data, the run folder in tests, nowhere otherwise."""
    where = profile.notebook.ship_weights
    if where == "package" and dataset != "synthfacs":
        return WEIGHTS_DIR
    if where == "run_dir":
        return Path(run_dir) / "shipped"
    return None


def ship_best(run_dir, dataset: str, weights_dir: str | Path | None = None) -> list[dict]:
    """Export, for each of :data:`TASKS`, the finished run with the best validation accuracy
    as ``<dataset>_<task>``; returns one row per task (tasks with no finished run say so).
    """
    rows = []
    for task, names in TASKS.items():
        name = f"{dataset}_{task}"
        row, skipped = {"model": name, "run": None, "shipped": False}, []
        try:
            ranked = ranked_runs(run_dir, names)
        except FileNotFoundError as err:  # no finished run: its message is the note
            ranked = []
            skipped.append(str(err))
        for folder in ranked:  # the best by validation that fits the size limit
            try:
                path = export_run(
                    folder, name, trained_on=f"{dataset} train", weights_dir=weights_dir
                )
            except FileTooLarge as err:
                skipped.append(f"{folder.name} not shipped: {err}")
                continue
            meta = card(name, weights_dir)
            acc = meta["test_accuracy"]
            row.update(
                run=folder.name, shipped=True, best_val_accuracy=meta["best_val_accuracy"],
                acc_masked=acc.get("masked"), majority_masked=acc.get("majority_masked"),
                acc_unmasked=acc.get("unmasked"), onnx_mb=path.stat().st_size / 1e6,
                max_abs_err=meta["check"]["max_abs_err_at_export"],
            )  # fmt: skip
            break
        row["note"] = "; ".join(skipped)
        rows.append(row)
    return rows


def verify(name: str, weights_dir: str | Path | None = None) -> float:
    """Max |ONNX - recorded framework probabilities| on the card's check crops."""
    meta = card(name, weights_dir)
    shape = (meta["input"]["size"], meta["input"]["size"], meta["input"]["channels"])
    crops = _check_inputs(shape, meta["check"]["seed"], meta["check"]["n"])
    got = predict(crops, name, weights_dir)
    return float(np.max(np.abs(got - np.asarray(meta["check"]["probabilities"]))))


DEFAULT_DEMO_MODEL = "fer2013_3class"
"""The shipped model the real-time demo uses when none is named (Yang's 3-class app)."""


def classifier(name: str, weights_dir: str | Path | None = None):
    """``(classify, class_names, input_shape)`` for the demo: ``classify`` maps one uint8
    RGB crop (h, w, 3) to (1, K) probabilities through the shipped ONNX file ``name``."""
    meta = card(name, weights_dir)
    shape = (meta["input"]["size"], meta["input"]["size"], meta["input"]["channels"])

    def classify(crop):
        return predict(np.asarray(crop)[None], name, weights_dir)

    return classify, tuple(meta["class_names"]), shape
