"""Small pieces shared by the Keras model files (heads, channel rounding)."""

from __future__ import annotations


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor`` (MobileNet rule: never drop >10%).

    With ``width_mult=1.0`` every width used in this package is already a multiple of 8, so
    the paper-profile models are unchanged by the rounding.
    """
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return int(new)


def check_input(name: str, input_shape, min_hw: int = 32) -> tuple[int, int, int]:
    """Validate ``(H, W, C)`` and return it as ints, with an error that says what to pass."""
    try:
        h, w, c = (int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: input_shape must be (H, W, C), got {input_shape!r}") from None
    if h < min_hw or w < min_hw:
        raise ValueError(f"{name}: input {h}x{w} is too small; use at least {min_hw}x{min_hw}")
    return h, w, c


def gap_dense_head(x, num_classes: int, name: str = "head"):
    """Global average pooling + Dense(num_classes, softmax): Putro's classifier (Sec. 2.3)."""
    from keras import layers

    x = layers.GlobalAveragePooling2D(name=f"{name}_gap")(x)
    return layers.Dense(num_classes, activation="softmax", name=f"{name}_softmax")(x)
