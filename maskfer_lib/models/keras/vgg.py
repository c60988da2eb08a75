"""VGG16 baseline of Putro's Table 2: convolutional VGG16 + GAP + Dense(num_classes).

At ``width_mult=1.0`` the backbone is ``keras.applications.VGG16(include_top=False,
weights=None)``: with GAP + Dense(7) it has 14,718,279 parameters and 1.410 GFLOPs at 48×48
(2×MAC) — both exactly Table 2. keras.applications has no width option, so for
``width_mult < 1`` (quick/smoke profiles only) the same 13-conv layout is built here with
every width scaled; at 1.0 that layout has the same parameter count (checked by a test).
"""

from __future__ import annotations

from maskfer_lib.models.keras._common import check_input, gap_dense_head, make_divisible

VGG16_CFG = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
"""(width, convolutions) of the five VGG16 stages; each ends with 2×2 max pooling."""


def vgg_features(inputs, cfg=VGG16_CFG, width_mult: float = 1.0):
    """3×3 conv + ReLU stacks with 2×2 max pooling after each stage (VGG, no BatchNorm)."""
    from keras import layers

    x = inputs
    for s, (width, n) in enumerate(cfg, start=1):
        for j in range(1, n + 1):
            x = layers.Conv2D(
                make_divisible(width * width_mult),
                3,
                padding="same",
                activation="relu",
                name=f"block{s}_conv{j}",
            )(x)
        x = layers.MaxPooling2D(2, name=f"block{s}_pool")(x)
    return x


def build_vgg16(num_classes=7, input_shape=(128, 128, 3), width_mult=1.0, **kwargs):
    """VGG16 backbone (keras.applications at width 1.0) + GAP + Dense(num_classes, softmax)."""
    import keras

    if kwargs:
        raise TypeError(f"build_vgg16: unexpected arguments {sorted(kwargs)}")
    check_input("vgg16", input_shape)
    if width_mult == 1.0:
        base = keras.applications.VGG16(
            include_top=False, weights=None, input_shape=tuple(input_shape)
        )
        inputs, feats = base.inputs, base.output
    else:
        inputs = keras.Input(shape=tuple(input_shape), name="image")
        feats = vgg_features(inputs, width_mult=width_mult)
    return keras.Model(inputs, gap_dense_head(feats, num_classes), name="vgg16")
