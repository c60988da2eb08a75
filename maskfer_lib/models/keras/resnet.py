"""ResNet18 baseline of Putro's Table 2 (keras.applications has no ResNet18; written here).

He et al.'s ResNet-18: 7×7/2 conv + BN + ReLU, 3×3/2 max pooling, four stages of two basic
blocks (64, 128, 256, 512; stride 2 from stage 2 on, 1×1 conv + BN projection shortcut when
the shape changes), GAP + Dense. Convolutions have no bias (BN follows). Keras count at 7
classes: 11,189,703 (torchvision's layout + BN moving statistics); Table 2 prints 11,198,919
(+0.08 %): the paper's implementation is not given and probably differs in a bias or a BN.
``width_mult`` scales every width (quick profile only).
"""

from __future__ import annotations

from maskfer_lib.models.keras._common import check_input, gap_dense_head, make_divisible

STAGES = (64, 128, 256, 512)


def basic_block(x, width: int, stride: int, name: str):
    """Two 3×3 conv+BN (ReLU between and after the residual add)."""
    from keras import layers

    shortcut = x
    h = layers.Conv2D(
        width, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1"
    )(x)
    h = layers.BatchNormalization(name=f"{name}_bn1")(h)
    h = layers.ReLU(name=f"{name}_relu1")(h)
    h = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv2")(h)
    h = layers.BatchNormalization(name=f"{name}_bn2")(h)
    if stride != 1 or x.shape[-1] != width:
        shortcut = layers.Conv2D(width, 1, strides=stride, use_bias=False, name=f"{name}_proj")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    h = layers.Add(name=f"{name}_add")([h, shortcut])
    return layers.ReLU(name=f"{name}_out")(h)


def build_resnet18(num_classes=7, input_shape=(128, 128, 3), width_mult=1.0, **kwargs):
    """ResNet-18 + GAP + Dense(num_classes, softmax); see module docstring."""
    import keras
    from keras import layers

    if kwargs:
        raise TypeError(f"build_resnet18: unexpected arguments {sorted(kwargs)}")
    check_input("resnet18", input_shape)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Conv2D(
        make_divisible(64 * width_mult),
        7,
        strides=2,
        padding="same",
        use_bias=False,
        name="stem_conv",
    )(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for s, width in enumerate(STAGES, start=1):
        w = make_divisible(width * width_mult)
        for b in range(2):
            stride = 2 if (s > 1 and b == 0) else 1
            x = basic_block(x, w, stride, name=f"stage{s}_block{b + 1}")
    return keras.Model(inputs, gap_dense_head(x, num_classes), name="resnet18")
