"""Çelik & Gören's masked-FER CNN (48×48 grayscale, 7 classes), in Keras.

The paper fixes the layout (Sec. 3.2, Table 1): four convolutional blocks
Conv2D → BatchNorm → ReLU → MaxPool → Dropout, Flatten, two dense blocks
Dense → BatchNorm → ReLU → Dropout, and a softmax Dense. It gives no filter counts, kernel
sizes or dropout rates.

Choice made here (documented because the paper leaves it open): the widely used Keras FER2013
notebook whose training recipe the paper describes word for word (Adam, categorical
cross-entropy, ReduceLROnPlateau, ModelCheckpoint, livelossplot's PlotLossesCallback, the
same Kaggle "Facial Expression Dataset"): convolutions of 64 (3×3), 128 (5×5), 512 (3×3),
512 (3×3) filters, 'same' padding, 2×2 max-pooling, dropout 0.25 everywhere, dense blocks of
256 and 512 units. It has 4,478,727 parameters (Keras count, BatchNorm moving statistics
included) — the "4.48 M" Çelik-style CNN of docs/environment.md.
"""

from __future__ import annotations

from maskfer_lib.models.keras._common import check_input, make_divisible

CONV_FILTERS = (64, 128, 512, 512)
CONV_KERNELS = (3, 5, 3, 3)
DENSE_UNITS = (256, 512)
DROPOUT = 0.25
PARAMS_AT_PAPER_SIZE = 4_478_727
"""count_params() of build_celik_cnn(7, (48, 48, 1)); derived by hand in the module tests."""


def build_celik_cnn(
    num_classes: int = 7,
    input_shape: tuple[int, int, int] = (48, 48, 1),
    width_mult: float = 1.0,
    dropout: float = DROPOUT,
    **kwargs,
):
    """Build the Çelik CNN (see module docstring for the filter-count choice).

    Args:
        num_classes: output classes (paper: 7).
        input_shape: (H, W, C); paper 48×48×1. H and W must be ≥ 16 (four 2×2 poolings).
        width_mult: multiplies every filter/unit count (1.0 = the documented architecture).
        dropout: dropout rate of every block.

    Returns:
        An uncompiled ``keras.Model`` with softmax output.
    """
    if kwargs:
        raise TypeError(f"build_celik_cnn: unexpected arguments {sorted(kwargs)}")
    import keras
    from keras import layers

    check_input("celik_cnn", input_shape, min_hw=16)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, (f, k) in enumerate(zip(CONV_FILTERS, CONV_KERNELS, strict=True), start=1):
        x = layers.Conv2D(make_divisible(f * width_mult), k, padding="same", name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"conv{i}_bn")(x)
        x = layers.ReLU(name=f"conv{i}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"conv{i}_pool")(x)
        x = layers.Dropout(dropout, name=f"conv{i}_drop")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, u in enumerate(DENSE_UNITS, start=1):
        x = layers.Dense(make_divisible(u * width_mult), name=f"fc{i}")(x)
        x = layers.BatchNormalization(name=f"fc{i}_bn")(x)
        x = layers.ReLU(name=f"fc{i}_relu")(x)
        x = layers.Dropout(dropout, name=f"fc{i}_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="softmax")(x)
    return keras.Model(inputs, outputs, name="celik_cnn")
