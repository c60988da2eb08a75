"""GhostNet 1.0× baseline of Putro's Table 2 (Han et al. 2020; not in keras.applications).

Layout of the reference implementation: 3×3/2 stem (16) + BN + ReLU; 16 ghost bottlenecks
(table below: kernel, expansion width, output width, squeeze-excite ratio, stride); 1×1 conv
to 960 + BN + ReLU; GAP; 1×1 conv to 1280 (with bias) + ReLU (the "conv_head"); dropout 0.2;
Dense(num_classes, softmax). A ghost module makes half its channels with a 1×1 conv and the
other half with a cheap 3×3 depth-wise conv on those; SE uses a hard sigmoid gate.
``width_mult`` scales every width (rounded to multiples of 4), 1.0 = GhostNet 1.0×.
"""

from __future__ import annotations

import math

from maskfer_lib.models.keras._common import check_input, make_divisible

# kernel, expansion width, output width, SE ratio, stride
GHOST_CFG = (
    (3, 16, 16, 0.0, 1),
    (3, 48, 24, 0.0, 2),
    (3, 72, 24, 0.0, 1),
    (5, 72, 40, 0.25, 2),
    (5, 120, 40, 0.25, 1),
    (3, 240, 80, 0.0, 2),
    (3, 200, 80, 0.0, 1),
    (3, 184, 80, 0.0, 1),
    (3, 184, 80, 0.0, 1),
    (3, 480, 112, 0.25, 1),
    (3, 672, 112, 0.25, 1),
    (5, 672, 160, 0.25, 2),
    (5, 960, 160, 0.0, 1),
    (5, 960, 160, 0.25, 1),
    (5, 960, 160, 0.0, 1),
    (5, 960, 160, 0.25, 1),
)
LAST_CONV = 960
HEAD_WIDTH = 1280


def ghost_module(x, out_ch: int, relu: bool, name: str):
    """Primary 1×1 conv to ceil(out/2) channels + cheap 3×3 depth-wise copies, concat, trim."""
    from keras import layers

    init = math.ceil(out_ch / 2)
    p = layers.Conv2D(init, 1, use_bias=False, name=f"{name}_primary")(x)
    p = layers.BatchNormalization(name=f"{name}_primary_bn")(p)
    if relu:
        p = layers.ReLU(name=f"{name}_primary_relu")(p)
    c = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{name}_cheap")(p)
    c = layers.BatchNormalization(name=f"{name}_cheap_bn")(c)
    if relu:
        c = layers.ReLU(name=f"{name}_cheap_relu")(c)
    out = layers.Concatenate(name=f"{name}_concat")([p, c])
    if 2 * init != out_ch:
        out = layers.Lambda(lambda t, n=out_ch: t[..., :n], name=f"{name}_trim")(out)
    return out


def squeeze_excite(x, ratio: float, name: str):
    """SE gate: GAP → 1×1 reduce + ReLU → 1×1 expand → hard sigmoid → scale."""
    from keras import layers

    ch = x.shape[-1]
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_gap")(x)
    s = layers.Conv2D(make_divisible(ch * ratio, 4), 1, activation="relu", name=f"{name}_reduce")(s)
    s = layers.Conv2D(ch, 1, activation="hard_sigmoid", name=f"{name}_expand")(s)
    return layers.Multiply(name=f"{name}_scale")([x, s])


def ghost_bottleneck(x, mid: int, out_ch: int, k: int, stride: int, se: float, name: str):
    """Ghost module (ReLU) → [depth-wise k×k stride 2 + BN] → [SE] → ghost module; residual."""
    from keras import layers

    in_ch = x.shape[-1]
    h = ghost_module(x, mid, relu=True, name=f"{name}_ghost1")
    if stride > 1:
        h = layers.DepthwiseConv2D(
            k, strides=stride, padding="same", use_bias=False, name=f"{name}_dw"
        )(h)
        h = layers.BatchNormalization(name=f"{name}_dw_bn")(h)
    if se > 0:
        h = squeeze_excite(h, se, name=f"{name}_se")
    h = ghost_module(h, out_ch, relu=False, name=f"{name}_ghost2")
    if stride == 1 and in_ch == out_ch:
        shortcut = x
    else:
        shortcut = layers.DepthwiseConv2D(
            k, strides=stride, padding="same", use_bias=False, name=f"{name}_sc_dw"
        )(x)
        shortcut = layers.BatchNormalization(name=f"{name}_sc_dw_bn")(shortcut)
        shortcut = layers.Conv2D(out_ch, 1, use_bias=False, name=f"{name}_sc_conv")(shortcut)
        shortcut = layers.BatchNormalization(name=f"{name}_sc_bn")(shortcut)
    return layers.Add(name=f"{name}_add")([h, shortcut])


def build_ghostnet(num_classes=7, input_shape=(128, 128, 3), width_mult=1.0, dropout=0.2, **kwargs):
    """GhostNet (1.0× at width_mult=1) with its conv head and a Dense softmax classifier."""
    import keras
    from keras import layers

    if kwargs:
        raise TypeError(f"build_ghostnet: unexpected arguments {sorted(kwargs)}")
    check_input("ghostnet", input_shape)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Conv2D(
        make_divisible(16 * width_mult, 4),
        3,
        strides=2,
        padding="same",
        use_bias=False,
        name="stem_conv",
    )(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for i, (k, exp, out, se, s) in enumerate(GHOST_CFG, start=1):
        x = ghost_bottleneck(
            x,
            make_divisible(exp * width_mult, 4),
            make_divisible(out * width_mult, 4),
            k,
            s,
            se,
            name=f"gb{i}",
        )
    x = layers.Conv2D(
        make_divisible(LAST_CONV * width_mult, 4), 1, use_bias=False, name="last_conv"
    )(x)
    x = layers.BatchNormalization(name="last_bn")(x)
    x = layers.ReLU(name="last_relu")(x)
    x = layers.GlobalAveragePooling2D(keepdims=True, name="gap")(x)
    x = layers.Conv2D(HEAD_WIDTH, 1, activation="relu", name="conv_head")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="head_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="head_softmax")(x)
    return keras.Model(inputs, outputs, name="ghostnet")
