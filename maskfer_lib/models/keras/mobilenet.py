"""MobileNet V1/V2/V3 baselines of Putro's Table 2, from ``keras.applications``.

All three are built with ``weights=None`` (no downloads, no pretraining) at any input size
≥ 32×32. ``width_mult`` is passed as keras.applications' ``alpha`` (1.0 = paper profile).

* V1, V2: ``include_top=False`` backbone + GAP + Dense(num_classes, softmax). At 7 classes
  this gives 3,236,039 and 2,266,951 parameters — exactly Table 2 — and 0.04871 / 0.03391
  GFLOPs at 48×48 (2×MAC, TF profiler) — exactly Table 2 too.
* V3: no keras.applications variant reproduces Table 2's 5,127,839 params / 0.04045 G. The
  nearest is ``MobileNetV3Large`` with its own classifier (``include_top=True``: GAP, 1×1
  conv to 1280, hard-swish, dropout, 1×1 conv to the classes): 4,235,399 params (−17 %) and
  0.0291 G at 48×48. (Large with a plain GAP+Dense head: 3,003,079; Small: 0.94–1.54 M.)
  Preprocessing (``include_preprocessing``) is off: inputs arrive scaled like every model's.
"""

from __future__ import annotations

from maskfer_lib.models.keras._common import check_input, gap_dense_head


def _with_head(base, num_classes: int, name: str):
    import keras

    return keras.Model(base.inputs, gap_dense_head(base.output, num_classes), name=name)


def build_mobilenet_v1(num_classes=7, input_shape=(128, 128, 3), width_mult=1.0, **kwargs):
    """MobileNetV1 (keras.applications.MobileNet, alpha=width_mult) + GAP + Dense."""
    import keras

    check_input("mobilenet_v1", input_shape)
    base = keras.applications.MobileNet(
        include_top=False, weights=None, input_shape=tuple(input_shape), alpha=width_mult, **kwargs
    )
    return _with_head(base, num_classes, "mobilenet_v1")


def build_mobilenet_v2(num_classes=7, input_shape=(128, 128, 3), width_mult=1.0, **kwargs):
    """MobileNetV2 (keras.applications.MobileNetV2, alpha=width_mult) + GAP + Dense."""
    import keras

    check_input("mobilenet_v2", input_shape)
    base = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=tuple(input_shape), alpha=width_mult, **kwargs
    )
    return _with_head(base, num_classes, "mobilenet_v2")


def build_mobilenet_v3(num_classes=7, input_shape=(128, 128, 3), width_mult=1.0, **kwargs):
    """MobileNetV3Large with its own classifier head (nearest to Table 2; module docstring)."""
    import keras

    check_input("mobilenet_v3", input_shape)
    return keras.applications.MobileNetV3Large(
        include_top=True,
        weights=None,
        input_shape=tuple(input_shape),
        classes=num_classes,
        alpha=width_mult,
        include_preprocessing=False,
        classifier_activation="softmax",
        name="mobilenet_v3",
        **kwargs,
    )
