"""One registry for every model of the four papers, Keras and torch alike.

``build_model(name, num_classes, input_shape=(H, W, C))`` returns a Keras model or a
``torch.nn.Module``; ``list_models()`` names them; ``get_spec(name)`` gives what the paper
reports (params, GFLOPs, input size) so tests and tables read those numbers from one place.
The printed params and GFLOPs are read from ``maskfer_lib.papers`` (only Putro et al. print
any), not typed in here.

Builders are named by ``"module:function"`` strings and imported only when built, so
importing the registry imports neither TensorFlow nor torch.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass

from maskfer_lib.papers import putro


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model."""

    name: str
    framework: str  # "keras" or "torch"
    paper: str  # "celik", "putro", "yang", "hayashi"
    builder: str  # "maskfer_lib.models.keras.celik:build_celik_cnn"
    input_shape: tuple[int, int, int]  # the paper's default (H, W, C)
    num_classes: int  # the paper's label set size
    paper_params: int | None = None  # as printed in the paper, where it gives one (papers/)
    paper_gflops: float | None = None  # as printed in the paper (its own convention; papers/)
    description: str = ""


_K = "maskfer_lib.models.keras."
_T = "maskfer_lib.models.torch."

_SPECS = [
    # Çelik & Gören: 48x48 grayscale, 7 classes.
    ModelSpec(
        "celik_cnn",
        "keras",
        "celik",
        _K + "celik:build_celik_cnn",
        (48, 48, 1),
        7,
        description="4 conv blocks + 2 dense blocks (Çelik & Gören, Fig. 6)",
    ),
    # Putro et al., Tables 1-2 (M-KDEF, 7 classes).
    ModelSpec(
        "putro_slim",
        "keras",
        "putro",
        _K + "slim_rgc:build_putro_slim",
        (128, 128, 3),
        7,
        paper_params=putro.TABLE1_PARAMS_SLIM,
        paper_gflops=putro.TABLE1_GFLOPS_SLIM,
        description="Slim backbone (inverted residuals)",
    ),
    ModelSpec(
        "putro_slim_rgc",
        "keras",
        "putro",
        _K + "slim_rgc:build_putro_slim_rgc",
        (128, 128, 3),
        7,
        paper_params=putro.TABLE2_PARAMS["putro_slim_rgc"],
        paper_gflops=putro.TABLE2_GFLOPS["putro_slim_rgc"],
        description="Slim + Represented Global Context",
    ),
    ModelSpec(
        "mobilenet_v1",
        "keras",
        "putro",
        _K + "mobilenet:build_mobilenet_v1",
        (128, 128, 3),
        7,
        paper_params=putro.TABLE2_PARAMS["mobilenet_v1"],
        paper_gflops=putro.TABLE2_GFLOPS["mobilenet_v1"],
        description="Putro Table 2 baseline",
    ),
    ModelSpec(
        "mobilenet_v2",
        "keras",
        "putro",
        _K + "mobilenet:build_mobilenet_v2",
        (128, 128, 3),
        7,
        paper_params=putro.TABLE2_PARAMS["mobilenet_v2"],
        paper_gflops=putro.TABLE2_GFLOPS["mobilenet_v2"],
        description="Putro Table 2 baseline",
    ),
    ModelSpec(
        "mobilenet_v3",
        "keras",
        "putro",
        _K + "mobilenet:build_mobilenet_v3",
        (128, 128, 3),
        7,
        paper_params=putro.TABLE2_PARAMS["mobilenet_v3"],
        paper_gflops=putro.TABLE2_GFLOPS["mobilenet_v3"],
        description="Putro Table 2 baseline",
    ),
    ModelSpec(
        "shufflenet_v1",
        "keras",
        "putro",
        _K + "shufflenet:build_shufflenet_v1",
        (128, 128, 3),
        7,
        paper_params=putro.TABLE2_PARAMS["shufflenet_v1"],
        paper_gflops=putro.TABLE2_GFLOPS["shufflenet_v1"],
        description="Putro Table 2 baseline",
    ),
    ModelSpec(
        "shufflenet_v2",
        "keras",
        "putro",
        _K + "shufflenet:build_shufflenet_v2",
        (128, 128, 3),
        7,
        paper_params=putro.TABLE2_PARAMS["shufflenet_v2"],
        paper_gflops=putro.TABLE2_GFLOPS["shufflenet_v2"],
        description="Putro Table 2 baseline",
    ),
    ModelSpec(
        "vgg16",
        "keras",
        "putro",
        _K + "vgg:build_vgg16",
        (128, 128, 3),
        7,
        paper_params=putro.TABLE2_PARAMS["vgg16"],
        paper_gflops=putro.TABLE2_GFLOPS["vgg16"],
        description="Putro Table 2 baseline",
    ),
    ModelSpec(
        "resnet18",
        "keras",
        "putro",
        _K + "resnet:build_resnet18",
        (128, 128, 3),
        7,
        paper_params=putro.TABLE2_PARAMS["resnet18"],
        paper_gflops=putro.TABLE2_GFLOPS["resnet18"],
        description="Putro Table 2 baseline",
    ),
    ModelSpec(
        "ghostnet",
        "keras",
        "putro",
        _K + "ghostnet:build_ghostnet",
        (128, 128, 3),
        7,
        paper_params=putro.TABLE2_PARAMS["ghostnet"],
        paper_gflops=putro.TABLE2_GFLOPS["ghostnet"],
        description="Putro Table 2 baseline",
    ),
    # Hayashi et al.: 4 classes (angry, happy, neutral, surprise).
    ModelSpec(
        "vgg11",
        "torch",
        "hayashi",
        _T + "vgg:build_vgg11",
        (224, 224, 3),
        4,
        description="VGG11 with BN baseline",
    ),
    ModelSpec(
        "abn",
        "torch",
        "hayashi",
        _T + "abn:build_abn",
        (224, 224, 3),
        4,
        description="Attention Branch Network on VGG11 features",
    ),
    ModelSpec(
        "mcn",
        "torch",
        "hayashi",
        _T + "abn:build_mcn",
        (224, 224, 3),
        2,
        description="Mask Classification Network: ABN trained masked vs unmasked",
    ),
    ModelSpec(
        "fecn",
        "torch",
        "hayashi",
        _T + "abn:build_fecn",
        (224, 224, 3),
        4,
        description="Facial Expression Classification Network: features ⊙ MCN attention",
    ),
    # Yang, Wu & Hattori: 3 classes (positive, neutral, negative).
    ModelSpec(
        "vgg19",
        "torch",
        "yang",
        _T + "vgg:build_vgg19",
        (224, 224, 3),
        3,
        description="VGG19 baseline (Yang)",
    ),
    ModelSpec(
        "yang_mobilenet",
        "torch",
        "yang",
        _T + "yang:build_yang_mobilenet",
        (224, 224, 3),
        3,
        description="MobileNet baseline (Yang)",
    ),
    ModelSpec(
        "yang_stage1",
        "torch",
        "yang",
        _T + "yang:build_yang_stage1",
        (48, 48, 1),
        2,
        description="Stage 1: masked/unmasked attentional classifier with a spatial transformer",
    ),
    ModelSpec(
        "yang_attention",
        "torch",
        "yang",
        _T + "yang:build_yang_attention",
        (224, 224, 3),
        3,
        description="Approach 2: occlusion-heat-map reweighted two-branch FER",
    ),
    ModelSpec(
        "yang_inpaint",
        "torch",
        "yang",
        _T + "yang_inpaint:build_yang_inpaint",
        (128, 128, 3),
        3,
        description="Approach 1: inpainting GAN + landmark-split two-branch FER",
    ),
]

REGISTRY: dict[str, ModelSpec] = {s.name: s for s in _SPECS}
"""Every :class:`ModelSpec` by model name."""


def list_models(framework: str | None = None, paper: str | None = None) -> list[str]:
    """Names of registered models, optionally only one framework's or one paper's."""
    return [
        s.name
        for s in _SPECS
        if (framework is None or s.framework == framework) and (paper is None or s.paper == paper)
    ]


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``, with an error that lists the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(REGISTRY)}") from None


def build_model(
    name: str,
    num_classes: int | None = None,
    input_shape: tuple[int, int, int] | None = None,
    **kwargs,
):
    """Build a registered model.

    Args:
        name: a name from :func:`list_models`.
        num_classes: output classes (default: the paper's).
        input_shape: (H, W, C) for both frameworks (default: the paper's). Torch models
            take NCHW tensors; the shape is given channels-last here for one API.
        **kwargs: passed to the family's builder (e.g. ``width_mult``).
    """
    spec = get_spec(name)
    module_name, func_name = spec.builder.split(":")
    builder = getattr(importlib.import_module(module_name), func_name)
    model = builder(
        num_classes=num_classes if num_classes is not None else spec.num_classes,
        input_shape=tuple(input_shape) if input_shape is not None else spec.input_shape,
        **kwargs,
    )
    if spec.framework == "keras":
        set_keras_bn_momentum(model, KERAS_BN_MOMENTUM)
    return model


KERAS_BN_MOMENTUM = 0.9
"""BatchNorm moving-average momentum for every Keras model built here.

Keras' default (0.99, and 0.999 inside keras.applications' MobileNets) leaves the moving
mean/variance far from the data after the few hundred steps a CPU budget allows: training
accuracy rises while every inference-mode prediction collapses onto one class (measured:
Slim + RGC at 85% train / 14% = chance validation accuracy after 6 epochs on SynthFACS, 45%
in training mode). 0.9 is torch's default (``momentum=0.1`` there) and converges in tens of
steps. None of the papers states a value; parameters and FLOPs do not depend on it.
"""


def set_keras_bn_momentum(model, momentum: float = KERAS_BN_MOMENTUM) -> int:
    """Set ``momentum`` on every BatchNormalization layer of a Keras model (nested too).

    Returns how many layers were changed.
    """
    import keras

    n = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
            n += 1
    return n


def framework_of(model, strict: bool = True) -> str | None:
    """``"torch"`` for a ``torch.nn.Module``, ``"keras"`` for a Keras model.

    Looks only at modules already imported (a model cannot exist before its framework is),
    so nothing heavy is imported here. Anything else raises ``TypeError``, or gives ``None``
    with ``strict=False``.
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return "torch"
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(model, keras.Model):
        return "keras"
    if not strict:
        return None
    raise TypeError(
        f"cannot tell the framework of {type(model).__name__}: expected a torch.nn.Module or a "
        "keras.Model"
    )


def count_params(model) -> int:
    """Parameters as each framework's papers count them.

    Keras: ``model.count_params()`` — every weight, BatchNorm moving statistics included
    (the convention of Putro's Keras Table 2). torch: ``sum(p.numel() for p in
    model.parameters())`` — learnable tensors only, BN running statistics excluded.
    """
    if hasattr(model, "count_params"):
        return int(model.count_params())
    return int(sum(p.numel() for p in model.parameters()))
