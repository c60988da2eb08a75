"""Class-activation maps, attention overlays and where a model looks, for Keras and torch.

One call for both frameworks::

    heat = cam(model, images, target_class=None, method="gradcam")   # (N, H, W) in [0, 1]
    rgb = overlay(image, heat[0], alpha=0.45)                          # RGB uint8

torch models go through pytorch-grad-cam (Grad-CAM, Grad-CAM++, Score-CAM, EigenCAM);
models whose ``forward`` returns several outputs (ABN's attention and perception branches,
Yang's two branches) are wrapped so the CAM targets ``model.logits(outputs)``. Keras models
use a GradientTape implementation of the same four methods here, with the same
post-processing (ReLU, bilinear resize to the input size, min-max to [0, 1]).

``overlay`` is the one colouring used for every map in the compendium: CAMs, ABN/MCN
attention maps and Yang's occlusion heat maps. ``energy_share`` and
``attention_share_table`` turn maps into numbers: how much of a map's energy lies on the
upper face (see :func:`upper_face_region`) and how much on the mask.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from maskfer_lib import labels, train
from maskfer_lib.data import to_model_input
from maskfer_lib.models import framework_of

if TYPE_CHECKING:
    import pandas as pd

METHODS = ("gradcam", "gradcam++", "scorecam", "eigencam")
"""The CAM methods :func:`cam` accepts for both frameworks."""


# --------------------------------------------------------------------------- framework


def is_torch_model(model) -> bool:
    """True for a ``torch.nn.Module`` (``models.framework_of``; imports nothing)."""
    return framework_of(model, strict=False) == "torch"


def is_keras_model(model) -> bool:
    """True for a Keras model (``models.framework_of``; imports nothing)."""
    return framework_of(model, strict=False) == "keras"


def _check_method(method: str) -> str:
    m = method.lower().replace("_", "").replace("-", "").replace("plusplus", "++")
    aliases = {
        "gradcam": "gradcam",
        "gradcam++": "gradcam++",
        "scorecam": "scorecam",
        "eigencam": "eigencam",
    }
    if m not in aliases:
        raise ValueError(f"unknown CAM method {method!r}; choose one of {METHODS}")
    return aliases[m]


def _targets(target_class, n: int) -> np.ndarray | None:
    """Per-image class indices, or None to use each image's predicted class."""
    if target_class is None:
        return None
    t = np.atleast_1d(np.asarray(target_class, dtype=np.int64))
    if t.size == 1:
        t = np.repeat(t, n)
    if t.size != n:
        raise ValueError(f"target_class has {t.size} entries for {n} images")
    return t


def _postprocess(maps: np.ndarray, hw: tuple[int, int], stretch: bool = True) -> np.ndarray:
    """ReLU, bilinear resize to ``hw`` and min-max per map to [0, 1] (all-zero stays zero).

    ``stretch=False`` keeps the values (clipped to [0, 1]): for a model's own sigmoid maps,
    whose absolute level is the point (a flat map must look flat)."""
    out = np.empty((len(maps), *hw), dtype=np.float32)
    for i, m in enumerate(np.maximum(np.asarray(maps, dtype=np.float32), 0)):
        m = cv2.resize(m, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)
        if not stretch:
            out[i] = np.clip(m, 0, 1)
            continue
        m = m - m.min()
        top = m.max()
        out[i] = m / top if top > 0 else 0.0
    return out


# --------------------------------------------------------------------------- torch


def _logits_wrapper():
    """Build the wrapper class lazily so importing this module does not import torch."""
    import torch

    class LogitsWrapper(torch.nn.Module):
        """Expose a multi-output model as a plain ``x -> logits`` module.

        Uses ``model.logits(outputs)`` when the model defines it; otherwise the first element
        of a tuple/list output or the ``"logits"`` entry of a dict output.
        """

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            return logits_of(self.model, self.model(x))

    return LogitsWrapper


def logits_of(model, outputs):
    """The class scores inside a model's raw outputs (see :func:`wrap_logits`)."""
    if hasattr(model, "logits") and callable(model.logits):
        return model.logits(outputs)
    if isinstance(outputs, dict):
        if "logits" not in outputs:
            raise ValueError(f"model returned a dict without 'logits': keys {list(outputs)}")
        return outputs["logits"]
    if isinstance(outputs, (tuple, list)):
        return outputs[0]
    return outputs


def wrap_logits(model):
    """A torch module returning only the class logits of ``model`` (identity if single-output).

    Multi-output models (ABN, MCN, FECN, Yang's two-branch network) define
    ``logits(outputs)``; pytorch-grad-cam, ONNX export and timing all need one tensor out.
    """
    if getattr(model, "_is_logits_wrapper", False):
        return model
    wrapped = _logits_wrapper()(model)
    wrapped._is_logits_wrapper = True
    return wrapped.eval()


def _to_torch_input(images, model):
    """NHWC numpy (or NCHW tensor) -> float NCHW tensor on the model's device."""
    import torch

    if isinstance(images, torch.Tensor):
        x = images
    else:
        arr = np.asarray(images)
        if arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4:
            raise ValueError(f"images must be (N, H, W, C) or (N, C, H, W); got {arr.shape}")
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        x = torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2)))
    param = next(model.parameters(), None)
    return x.float().to(param.device if param is not None else "cpu")


FEATURE_ATTRS = ("cam_layer", "trunk", "backbone", "features")
"""Attributes searched, in order, for the feature extractor of a torch model."""


def default_torch_layer(model):
    """The layer a CAM looks at when none is given.

    ``model.cam_layer`` when the model names one; else the last ``nn.Conv2d`` of the first
    feature-extractor attribute it has (``trunk`` — ABN/FECN, ``backbone`` — Yang,
    ``features`` — VGG); else the last ``nn.Conv2d`` in registration order. The attribute
    rule matters for ABN, whose last registered convolutions belong to the attention branch.
    """
    import torch

    for attr in FEATURE_ATTRS:
        sub = getattr(model, attr, None)
        if isinstance(sub, torch.nn.Conv2d):
            return sub
        if isinstance(sub, torch.nn.Module):
            convs = [m for m in sub.modules() if isinstance(m, torch.nn.Conv2d)]
            if convs:
                return convs[-1]
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no Conv2d layer; pass layer=<module>")
    return convs[-1]


def _resolve_torch_layer(model, layer):
    if layer is None:
        return default_torch_layer(model)
    if isinstance(layer, str):
        modules = dict(model.named_modules())
        if layer not in modules:
            raise ValueError(
                f"no layer named {layer!r}; conv layers: "
                f"{[n for n, m in modules.items() if 'Conv' in type(m).__name__]}"
            )
        return modules[layer]
    return layer


def _torch_cam(model, images, targets, method, layer) -> np.ndarray:
    from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    classes = {
        "gradcam": GradCAM,
        "gradcam++": GradCAMPlusPlus,
        "scorecam": ScoreCAM,
        "eigencam": EigenCAM,
    }
    target_layer = _resolve_torch_layer(model, layer)
    was_training = model.training
    wrapped = wrap_logits(model)
    x = _to_torch_input(images, model)
    cam_targets = None if targets is None else [ClassifierOutputTarget(int(t)) for t in targets]
    try:
        with classes[method](model=wrapped, target_layers=[target_layer]) as engine:
            if method == "scorecam":
                engine.batch_size = 32
            maps = engine(input_tensor=x, targets=cam_targets)
    finally:
        model.train(was_training)
    return _postprocess(maps, tuple(x.shape[-2:]))


# --------------------------------------------------------------------------- keras


CAM_MIN_SIDE = 4
"""Smallest feature-map side a default CAM layer may have: on a 2×2 map (Putro's models at
64 px, stride 32) a CAM can only say which quarter of the face mattered."""


def default_keras_layer(model, min_side: int = CAM_MIN_SIDE):
    """The last layer of ``model`` whose output is a 4-D feature map at least ``min_side``
    cells on each side (else the last one with side > 1).

    That is the last convolutional stage of every model here at its paper's input size, and
    one stage earlier where the last map is tiny; it also works when a backbone is a nested
    Model (its 4-D output is the last feature map the outer graph can reach).
    """
    maps = []
    for lyr in model.layers:
        try:
            shape = lyr.output.shape
        except (AttributeError, ValueError):
            continue
        if type(lyr).__name__ == "ZeroPadding2D":  # its border is padding, not features
            continue
        if len(shape) == 4 and (shape[1] or 2) > 1 and (shape[2] or 2) > 1:
            maps.append((lyr, min(shape[1] or 2, shape[2] or 2)))
    if not maps:
        raise ValueError(f"model {model.name!r} has no 4-D feature-map layer; pass layer=<name>")
    big = [lyr for lyr, side in maps if side >= min_side]
    return big[-1] if big else maps[-1][0]


def _keras_score_graph(model, layer):
    """A model x -> (feature map, class scores), with scores taken before any final softmax."""
    import keras

    feat_layer = (
        model.get_layer(layer) if isinstance(layer, str) else (layer or default_keras_layer(model))
    )
    last = model.layers[-1]
    act = getattr(last, "activation", None)
    is_softmax = act is not None and getattr(act, "__name__", "") == "softmax"
    if is_softmax and isinstance(last, keras.layers.Activation):
        scores, dense = last.input, None
    elif is_softmax and isinstance(last, keras.layers.Dense):
        # Grad-CAM wants pre-softmax scores: recompute the Dense logits from its input.
        scores, dense = last.input, last
    else:
        scores, dense = model.outputs[0], None
    graph = keras.Model(model.inputs, [feat_layer.output, scores])
    return graph, dense


def _keras_logits(out, dense):
    import tensorflow as tf

    if dense is None:
        return out
    z = tf.matmul(out, dense.kernel)
    return z + dense.bias if dense.use_bias else z


def _keras_cam(model, images, targets, method, layer) -> np.ndarray:
    import tensorflow as tf

    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    x = tf.convert_to_tensor(arr.astype(np.float32))
    graph, dense = _keras_score_graph(model, layer)

    if method == "eigencam":
        feats, _ = graph(x, training=False)
        maps = np.stack([_first_component(f) for f in feats.numpy()])
        return _postprocess(maps, arr.shape[1:3])

    with tf.GradientTape() as tape:
        feats, out = graph(x, training=False)
        logits = _keras_logits(out, dense)
        if targets is None:
            targets = np.argmax(logits.numpy(), axis=-1)
        score = tf.reduce_sum(tf.gather(logits, targets, axis=1, batch_dims=1))
    if method == "scorecam":
        return _postprocess(
            _keras_scorecam(graph, dense, x, feats.numpy(), targets), arr.shape[1:3]
        )
    grads = tape.gradient(score, feats).numpy()
    a = feats.numpy()
    if method == "gradcam":
        weights = grads.mean(axis=(1, 2))
    else:  # Grad-CAM++ with the exponential-score closed form (Chattopadhay et al., eq. 19)
        g2, g3 = grads**2, grads**3
        denom = 2 * g2 + a.sum(axis=(1, 2), keepdims=True) * g3
        alpha = g2 / np.where(denom != 0, denom, 1e-7)
        weights = (alpha * np.maximum(grads, 0)).sum(axis=(1, 2))
    maps = (a * weights[:, None, None, :]).sum(axis=-1)
    return _postprocess(maps, arr.shape[1:3])


def _first_component(feat: np.ndarray) -> np.ndarray:
    """EigenCAM: projection of an (h, w, c) feature map on its first principal direction."""
    h, w, c = feat.shape
    flat = feat.reshape(-1, c)
    flat = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    proj = (flat @ vt[0]).reshape(h, w)
    # The sign of an SVD direction is arbitrary: keep it pointing at the stronger activations.
    return proj if proj.sum() >= 0 else -proj


def _keras_scorecam(graph, dense, x, feats, targets, batch: int = 32) -> np.ndarray:
    """Score-CAM: weight each channel by the class score of the input masked by it."""
    import tensorflow as tf

    n, hh, ww = x.shape[0], x.shape[1], x.shape[2]
    maps = []
    for i in range(n):
        up = tf.image.resize(feats[i][None], (hh, ww))[0].numpy()  # (H, W, C)
        lo, hi = up.min(axis=(0, 1)), up.max(axis=(0, 1))
        up = (up - lo) / (hi - lo + 1e-8)
        scores = []
        for s in range(0, up.shape[-1], batch):
            masks = np.transpose(up[..., s : s + batch], (2, 0, 1))[..., None]
            _, out = graph(x[i][None] * masks, training=False)
            scores.append(_keras_logits(out, dense).numpy()[:, targets[i]])
        w = np.concatenate(scores)
        w = np.exp(w - w.max())
        w /= w.sum()
        maps.append((feats[i] * w[None, None, :]).sum(axis=-1))
    return np.stack(maps)


# --------------------------------------------------------------------------- public API


def cam(model, images, target_class=None, method: str = "gradcam", layer=None) -> np.ndarray:
    """Class-activation maps for a Keras or torch classifier.

    Args:
        model: a Keras model or a ``torch.nn.Module`` (multi-output torch models must define
            ``logits(outputs)`` or return the logits first).
        images: model input, (N, H, W, C) numpy for both frameworks (uint8 is scaled to
            [0, 1]; float is used as given, so pass exactly what the model was trained on).
            A torch NCHW tensor is also accepted.
        target_class: None (each image's predicted class), one int, or one int per image.
        method: "gradcam", "gradcam++", "scorecam" or "eigencam".
        layer: the feature layer (torch module or name; Keras layer or name). Default:
            :func:`default_torch_layer` / :func:`default_keras_layer`.

    Returns:
        (N, H, W) float32 maps in [0, 1] at the input resolution.
    """
    method = _check_method(method)
    n = len(images)
    targets = _targets(target_class, n)
    if is_torch_model(model):
        return _torch_cam(model, images, targets, method, layer)
    if is_keras_model(model):
        return _keras_cam(model, images, targets, method, layer)
    raise TypeError(f"cam() needs a Keras model or torch.nn.Module, got {type(model).__name__}")


def overlay(image, heat, alpha: float = 0.45, colormap: int = cv2.COLORMAP_JET) -> np.ndarray:
    """Blend a [0, 1] map over an image; the one overlay used for every map in the compendium.

    Args:
        image: (H, W), (H, W, 1) or (H, W, 3) RGB, uint8 or float in [0, 1].
        heat: (h, w) map in [0, 1] (values outside are clipped); resized to the image.
        alpha: weight of the coloured map (0 = image only, 1 = map only).
        colormap: an OpenCV colormap (JET: red = high).

    Returns:
        (H, W, 3) RGB uint8.
    """
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.dtype != np.uint8:
        img = (np.clip(img.astype(np.float32), 0, 1) * 255).round().astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    h, w = img.shape[:2]
    heat = np.clip(np.asarray(heat, dtype=np.float32), 0, 1)
    if heat.shape != (h, w):
        heat = cv2.resize(heat, (w, h), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap((heat * 255).astype(np.uint8), colormap)[..., ::-1]  # BGR->RGB
    out = (1 - alpha) * img.astype(np.float32) + alpha * colour.astype(np.float32)
    return np.clip(out, 0, 255).round().astype(np.uint8)


def energy_share(heat, region) -> float:
    """Share of a map's total energy (sum of values) that lies inside a boolean region.

    ``heat`` is resized to the region's shape when they differ. Returns NaN for an all-zero
    map (no energy to share) or an empty region.
    """
    heat = np.asarray(heat, dtype=np.float64)
    region = np.asarray(region, dtype=bool)
    if heat.shape != region.shape:
        heat = cv2.resize(
            heat.astype(np.float32), region.shape[::-1], interpolation=cv2.INTER_LINEAR
        ).astype(np.float64)
    heat = np.maximum(heat, 0)
    total = heat.sum()
    if total <= 0 or not region.any():
        return float("nan")
    return float(heat[region].sum() / total)


def upper_face_region(landmarks, shape) -> np.ndarray:
    """The upper face of one face as a boolean (H, W) image from its 68 iBUG landmarks.

    Definition (pose-aware, in the face's own frame): the eye line runs from the left-eye
    centre (points 36–41) to the right-eye centre (42–47); "down" is perpendicular to it,
    towards the chin (point 8). A pixel is upper face when it lies above the cut line and
    between the jaw's outer points 0 and 16 along the eye line. The cut line is parallel to
    the eye line through the lower of nose-bridge point 29 and the lowest lower-eyelid
    point (40, 41, 46, 47) — roughly where a surgical mask's top edge sits. Forehead and
    brows are included (there is no upper bound: landmarks do not mark the hairline).

    Args:
        landmarks: (68, 2) pixel (x, y).
        shape: (H, W) or (H, W, C) of the image.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f"upper_face_region needs (68, 2) iBUG landmarks, got {lm.shape}")
    h, w = shape[:2]
    left, right = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    centre = (left + right) / 2
    u = right - left
    u /= np.linalg.norm(u) + 1e-9
    v = np.array([-u[1], u[0]])
    if np.dot(lm[8] - centre, v) < 0:  # make v point towards the chin
        v = -v
    cut = max(np.dot(lm[29] - centre, v), max(np.dot(lm[i] - centre, v) for i in (40, 41, 46, 47)))
    side = [np.dot(lm[i] - centre, u) for i in (0, 16)]
    ys, xs = np.mgrid[0:h, 0:w]
    px, py = xs - centre[0], ys - centre[1]
    down = px * v[0] + py * v[1]
    across = px * u[0] + py * u[1]
    return (down <= cut) & (across >= min(side)) & (across <= max(side))


def attention_share_table(
    heats: Mapping[str, np.ndarray],
    ds,
    mask_region: np.ndarray | None = None,
    labels: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Where each model looks: share of map energy on the upper face and on the mask region.

    Args:
        heats: model name -> (N, H, W) maps for the N faces of ``ds`` (same order).
        ds: the :class:`~maskfer_lib.records.FaceDataset` the maps explain; needs
            ``landmarks``; ``masked`` says which faces wear a mask.
        mask_region: (N, H, W) bool region of the (ground-truth) mask for every face.
            Default ``ds.occlusion``. To compare the same pixels with and without a mask,
            pass the occlusion of the masked copy of each face for its unmasked twin too.
        labels: class used per face for grouping (default ``ds.labels``).

    Returns:
        One row per model × class × condition ("masked"/"unmasked"), with ``n``,
        ``upper_share`` and ``mask_share`` (means over faces), and ``upper_area`` /
        ``mask_area`` (the share a uniform map would give: the chance level).
    """
    import pandas as pd

    if ds.landmarks is None:
        raise ValueError("attention_share_table needs landmarks on the dataset")
    region = ds.occlusion if mask_region is None else np.asarray(mask_region, dtype=bool)
    labels = ds.labels if labels is None else np.asarray(labels)
    n, hw = len(ds), ds.images.shape[1:3]
    upper = np.stack([upper_face_region(ds.landmarks[i], hw) for i in range(n)])
    per_face = []
    for name, maps in heats.items():
        maps = np.asarray(maps)
        if len(maps) != n:
            raise ValueError(f"{name}: {len(maps)} maps for {n} faces")
        for i in range(n):
            has_mask_region = region is not None and region[i].any()
            per_face.append(
                {
                    "model": name,
                    "class": ds.class_names[int(labels[i])],
                    "condition": "masked" if ds.masked[i] else "unmasked",
                    "upper_share": energy_share(maps[i], upper[i]),
                    "mask_share": energy_share(maps[i], region[i]) if has_mask_region else np.nan,
                    "upper_area": upper[i].mean(),
                    "mask_area": region[i].mean() if has_mask_region else np.nan,
                }
            )
    df = pd.DataFrame(per_face)
    out = df.groupby(["model", "class", "condition"], sort=False).agg(
        n=("upper_share", "size"),
        upper_share=("upper_share", "mean"),
        mask_share=("mask_share", "mean"),
        upper_area=("upper_area", "mean"),
        mask_area=("mask_area", "mean"),
    )
    return out.reset_index()


# --------------------------------------------------------------------------- notebook helpers


def pick_per_class(ds, k: int, seed: int = 0) -> np.ndarray:
    """Indices of up to ``k`` faces per class of ``ds`` (seeded), grouped by class."""
    rng = np.random.default_rng(seed)
    idx = []
    for c in range(ds.num_classes):
        members = np.flatnonzero(ds.labels == c)
        idx.extend(sorted(rng.choice(members, min(k, len(members)), replace=False)))
    return np.asarray(idx, dtype=np.int64)


def model_attention(model, x) -> np.ndarray | None:
    """The model's own map as (N, H, W) in [0, 1], or None when it has none.

    ABN/MCN/FECN: ``attention_map(x, upsample=True)``; Yang's network: ``heatmap(x)`` (the
    occlusion heat map). ``x`` is (N, H, W, C) numpy in [0, 1]. Both are sigmoid outputs and
    are returned on that absolute scale (not stretched per map, unlike CAMs), the same
    scale notebook 05 shows them on.
    """
    if not is_torch_model(model):
        return None
    import torch

    fn = getattr(model, "attention_map", None) or getattr(model, "heatmap", None)
    if fn is None:
        return None
    xt = _to_torch_input(x, model)
    model.eval()
    with torch.no_grad():
        m = fn(xt, upsample=True) if hasattr(model, "attention_map") else fn(xt)
    m = m.detach().cpu().numpy()[:, 0]
    return _postprocess(m, tuple(xt.shape[-2:]), stretch=False)


def model_input(model, x) -> tuple[np.ndarray, np.ndarray | None]:
    """``(input, heat)``: faces (N, H, W, C) in [0, 1] as ``model`` takes them, and the heat
    map that was appended (or None). Yang's network takes its occlusion heat map H_m as an
    extra channel (computed here once, with its frozen stage-1 network); other models take
    the faces as they are."""
    if not (
        is_torch_model(model)
        and hasattr(model, "heatmap")
        and getattr(model, "in_channels", None) == np.shape(x)[-1]
    ):
        return x, None
    import torch

    model.eval()
    with torch.no_grad():
        heat = model.heatmap(_to_torch_input(x, model)).cpu().numpy()[:, 0]
    return np.concatenate([np.asarray(x, np.float32), heat[..., None]], axis=-1), heat


def explain_model(model, x, methods=("gradcam", "gradcam++", "eigencam"), target_class=None):
    """``{method: (N, H, W) maps}`` for every CAM method, plus ``"attention"`` when the model
    has its own attention/heat map (see :func:`model_attention`).

    Yang's network recomputes its occlusion heat map (many stage-1 passes) on every forward
    unless the map comes as an extra input channel; it is computed once here and appended, so
    the CAMs explain exactly the same forward pass at a fraction of the cost.
    """
    x_cam, heat = model_input(model, x)
    att = None if heat is None else _postprocess(heat, heat.shape[1:], stretch=False)
    maps = {m: cam(model, x_cam, target_class=target_class, method=m) for m in methods}
    att = model_attention(model, x) if att is None else att
    if att is not None:
        maps["attention"] = att
    return maps


def feature_map_size(model, input_shape) -> tuple[int, int]:
    """(h, w) of the feature map a CAM of ``model`` is computed on (its default layer) for an
    (H, W, C) input: what the CAM's resolution really is before it is upsampled."""
    if is_keras_model(model):
        shape = default_keras_layer(model).output.shape
        return int(shape[1]), int(shape[2])
    import torch

    layer, seen = default_torch_layer(model), {}

    def keep_shape(_module, _inputs, out):  # returns None: the output stays as it is
        seen.setdefault("shape", out.shape)

    hook = layer.register_forward_hook(keep_shape)
    try:
        model.eval()
        with torch.no_grad():
            x = torch.zeros(1, input_shape[2], input_shape[0], input_shape[1])
            model(x)
    finally:
        hook.remove()
    return int(seen["shape"][-2]), int(seen["shape"][-1])


def cam_figure(
    faces,
    masked_faces,
    maps,
    masked_maps,
    row_labels,
    title: str = "",
    alpha: float = 0.45,
    captions=None,
):
    """Rows = faces; columns = face + one overlay per map, unmasked block then masked block,
    with one colour bar for every map (all in [0, 1]).

    ``captions`` (optional): per row a pair of strings written under the unmasked and the
    masked face, e.g. the predicted class and its probability (the CAMs explain that class).
    """
    import matplotlib.pyplot as plt

    # matplotlib (plots): loaded only when a figure is drawn; speed.latency imports this
    # module, and the timing, demo and shipped-model paths draw none.
    from maskfer_lib.plots import add_heat_colorbar

    methods = list(maps)
    cols = ["face", *methods, "masked face", *methods]
    n = len(faces)
    fig, axes = plt.subplots(n, len(cols), figsize=(1.25 * len(cols), 1.3 * n + 0.6), squeeze=False)
    for i in range(n):
        cells = [faces[i]] + [overlay(faces[i], maps[m][i], alpha) for m in methods]
        cells += [masked_faces[i]] + [
            overlay(masked_faces[i], masked_maps[m][i], alpha) for m in methods
        ]
        for j, img in enumerate(cells):
            ax = axes[i][j]
            img = np.asarray(img)
            ax.imshow(
                img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img,
                cmap="gray" if img.ndim == 2 or img.shape[-1] == 1 else None,
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(cols[j], fontsize=8)
        axes[i][0].set_ylabel(str(row_labels[i]), fontsize=8)
        if captions is not None:
            axes[i][0].set_xlabel(captions[i][0], fontsize=7)
            axes[i][len(methods) + 1].set_xlabel(captions[i][1], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    add_heat_colorbar(fig, axes)
    return fig


def unmasked_vs_masked_cams(model, input_shape, class_names, unmasked, masked, name: str, seed=0):
    """Every map of ``model`` (:func:`explain_model`) on the same faces without and with a
    mask, and a :func:`cam_figure` of one face per class whose captions give the predicted
    class and its probability (the class the CAMs explain) beside the true class, both in
    the model's ``class_names`` (faces of other class sets are mapped to them,
    ``labels.class_map_between``; faces of a class the model lacks are not shown).

    ``input_shape`` is the model's (H, W, C); Yang's attention model records 4 channels (RGB
    plus its H_m), and :func:`explain_model` appends H_m itself, so the faces get at most 3.
    Returns ``((unmasked_maps, masked_maps), figure)``.
    """
    faces_shape = (*input_shape[:2], min(input_shape[2], 3))
    inputs = [to_model_input(faces, faces_shape) for faces in (unmasked, masked)]
    unmasked_maps, masked_maps = (explain_model(model, x) for x in inputs)
    # The true class in the model's own terms: a 3- or 4-class model shown 7-class faces
    # sees each face under its mapped class, and faces its classes leave out are not shown.
    # A mask detector's true class is the column (face / masked face); its rows name the
    # face's expression instead.
    detector = tuple(class_names) == labels.MASK_CLASSES
    tagged = unmasked.subset(np.arange(len(unmasked)))
    tagged.meta = {**tagged.meta, "row": np.arange(len(unmasked))}
    mapping = None if detector else labels.class_map_between(unmasked.class_names, class_names)
    if mapping is not None:
        tagged = labels.map_classes(tagged, mapping)
    picked = pick_per_class(tagged, 1, seed)
    first = tagged.meta["row"][picked]
    probabilities = [train.predict_proba(model, model_input(model, x[first])[0]) for x in inputs]
    captions = [
        tuple(f"pred {class_names[face.argmax()]} {face.max():.2f}" for face in pair)
        for pair in zip(*probabilities, strict=True)
    ]
    height, width = feature_map_size(model, input_shape)
    fig = cam_figure(
        unmasked.images[first],
        masked.images[first],
        {method: maps[first] for method, maps in unmasked_maps.items()},
        {method: maps[first] for method, maps in masked_maps.items()},
        [
            f"{tagged.class_names[label]} face" if detector else f"true {tagged.class_names[label]}"
            for label in tagged.labels[picked]
        ],
        title=f"{name}: CAMs on its {height}×{width} feature map, unmasked (left) vs masked (right)",
        captions=captions,
    )
    return (unmasked_maps, masked_maps), fig


def share_figure(table):
    """Bars: mean share of map energy on the upper face and on the mask, masked vs unmasked,
    per model/map; dotted ticks mark the chance level (a uniform map's share = the area)."""
    import matplotlib.pyplot as plt

    agg = (
        table.groupby(["model", "condition"], sort=False)[
            ["upper_share", "mask_share", "upper_area", "mask_area"]
        ]
        .mean()
        .reset_index()
    )
    models_ = list(dict.fromkeys(agg.model))
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.38 * len(models_) + 1.6), sharey=True)
    y = np.arange(len(models_))
    colours = {"unmasked": "#56B4E9", "masked": "#D55E00"}
    for ax, col, area, label in (
        (axes[0], "upper_share", "upper_area", "upper face"),
        (axes[1], "mask_share", "mask_area", "mask region"),
    ):
        for j, cond in enumerate(("unmasked", "masked")):
            sub = agg[agg.condition == cond].set_index("model").reindex(models_)
            ax.barh(y + (j - 0.5) * 0.4, sub[col], height=0.4, color=colours[cond], label=cond)
            ax.scatter(
                sub[area],
                y + (j - 0.5) * 0.4,
                marker="|",
                color="k",
                s=60,
                label="chance (area)" if j == 0 else None,
            )
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"share of map energy on the {label}")
        ax.set_yticks(y, models_)
    axes[0].invert_yaxis()
    axes[1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def branch_weight_sweep(
    model, x, y, class_names, weights: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)
) -> pd.DataFrame:
    """What each branch of a Yang two-branch model (``models/torch/yang.py``,
    ``TwoBranchOutput``) contributes: for each unmasked weight w, predict
    argmax(w p_u + (1 − w) p_m) on ``x`` and report accuracy, balanced accuracy and how many
    faces each class is predicted for.

    Meant for validation faces: it says whether another mix would predict a class the
    default (``model.unmasked_weight``) never does, without touching the test faces.
    ``x`` is what the model takes (approach 2: faces with the heat-map channel); the
    model's own weight is restored afterwards.
    """
    import pandas as pd
    from sklearn.metrics import balanced_accuracy_score

    if not hasattr(model, "unmasked_weight"):
        raise TypeError(f"{type(model).__name__} has no unmasked/masked branches to weigh")
    y = np.asarray(y).astype(np.int64).ravel()
    kept = model.unmasked_weight
    try:
        model.unmasked_weight = 1.0
        p_unmasked = train.predict_proba(model, x)
        model.unmasked_weight = 0.0
        p_masked = train.predict_proba(model, x)
    finally:
        model.unmasked_weight = kept
    rows = []
    for w in weights:
        pred = (w * p_unmasked + (1 - w) * p_masked).argmax(axis=1)
        counts = np.bincount(pred, minlength=len(class_names))
        rows.append(
            {
                "unmasked weight": float(w),
                "accuracy": float(np.mean(pred == y)),
                "balanced accuracy": float(balanced_accuracy_score(y, pred)),
                **{f"predicted {c}": int(n) for c, n in zip(class_names, counts, strict=True)},
            }
        )
    return pd.DataFrame(rows)
