"""ShuffleNet V1 and V2 baselines of Putro's Table 2 (not in keras.applications; written here).

* **V1** (Zhang et al. 2018), groups g = 3, 1.0×: 3×3/2 conv (24) + BN + ReLU, 3×3/2 max
  pool, stages of 4/8/4 units with 240/480/960 channels; unit = grouped 1×1 (bottleneck =
  out/4; ungrouped in the very first unit) + BN + ReLU → channel shuffle → 3×3 depth-wise
  (+BN) → grouped 1×1 + BN; add (stride 1) or concat with a 3×3/2 average pool (stride 2),
  then ReLU. GAP + Dense. g = 3, 1.0× is the variant whose FLOPs (0.0145 G at 48×48) and
  parameters (0.97 M) sit next to Table 2's 0.01531 G / 973,567.
* **V2** (Ma et al. 2018): channel split, (1×1, 3×3 DW, 1×1) branch, concat, shuffle; stride-2
  units run both branches. Stages of 4/8/4 units, final 1×1 conv, GAP + Dense. The 2.0×
  widths (244/488/976, final 2048) are the ones whose FLOPs fit Table 2 (0.05459 G at 48×48);
  see ``param_table`` for how far the parameter count is from the printed 4,025,915.

``width_mult`` multiplies all widths (rounded to what the groups need; 1.0 = the above).
Convolutions followed by BN carry no bias.
"""

from __future__ import annotations

from maskfer_lib.models.keras._common import check_input, gap_dense_head, make_divisible

V1_GROUPS = 3
V1_WIDTHS = (240, 480, 960)  # g = 3, 1.0x
V1_REPEATS = (4, 8, 4)
V2_WIDTHS = {
    0.5: (48, 96, 192, 1024),
    1.0: (116, 232, 464, 1024),
    1.5: (176, 352, 704, 1024),
    2.0: (244, 488, 976, 2048),
}
V2_SCALE = 2.0
V2_REPEATS = (4, 8, 4)


def channel_shuffle(x, groups: int, name: str):
    """Interleave channels across ``groups`` (reshape → transpose → reshape)."""
    from keras import layers

    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    x = layers.Reshape((h, w, groups, c // groups), name=f"{name}_r1")(x)
    x = layers.Permute((1, 2, 4, 3), name=f"{name}_perm")(x)
    return layers.Reshape((h, w, c), name=f"{name}_r2")(x)


def grouped_conv1x1(x, out_ch: int, groups: int, name: str):
    """A 1×1 grouped convolution as ``groups`` separate 1×1 convs on channel slices.

    Same weights as ``Conv2D(groups=g)``, but Keras 3 runs grouped convolutions on the TF
    CPU backend inside an XLA-compiled function that the TF profiler cannot see into (its
    FLOPs would count as 0) and that compiles slowly; split + concat avoids both.
    """
    from keras import layers

    if groups == 1:
        return layers.Conv2D(out_ch, 1, use_bias=False, name=name)(x)
    step_in, step_out = x.shape[-1] // groups, out_ch // groups
    parts = []
    for g in range(groups):
        part = layers.Lambda(
            lambda t, a=g * step_in, b=(g + 1) * step_in: t[..., a:b], name=f"{name}_slice{g}"
        )(x)
        parts.append(layers.Conv2D(step_out, 1, use_bias=False, name=f"{name}_g{g}")(part))
    return layers.Concatenate(name=f"{name}_concat")(parts)


def _stem(inputs, width: int):
    from keras import layers

    x = layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    return layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)


def shufflenet_v1_unit(x, out_ch: int, stride: int, groups: int, first_groups: int, name: str):
    """One ShuffleNet V1 unit (module docstring)."""
    from keras import layers

    in_ch = x.shape[-1]
    branch_out = out_ch - in_ch if stride == 2 else out_ch
    mid = out_ch // 4
    h = grouped_conv1x1(x, mid, first_groups, name=f"{name}_gconv1")
    h = layers.BatchNormalization(name=f"{name}_bn1")(h)
    h = layers.ReLU(name=f"{name}_relu1")(h)
    if first_groups > 1:
        h = channel_shuffle(h, first_groups, name=f"{name}_shuffle")
    h = layers.DepthwiseConv2D(
        3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw"
    )(h)
    h = layers.BatchNormalization(name=f"{name}_bn2")(h)
    h = grouped_conv1x1(h, branch_out, groups, name=f"{name}_gconv2")
    h = layers.BatchNormalization(name=f"{name}_bn3")(h)
    if stride == 2:
        skip = layers.AveragePooling2D(3, strides=2, padding="same", name=f"{name}_avgpool")(x)
        h = layers.Concatenate(name=f"{name}_concat")([skip, h])
    else:
        h = layers.Add(name=f"{name}_add")([x, h])
    return layers.ReLU(name=f"{name}_out")(h)


def build_shufflenet_v1(
    num_classes=7, input_shape=(128, 128, 3), width_mult=1.0, groups: int = V1_GROUPS, **kwargs
):
    """ShuffleNet V1 (g=3, 1.0× at width_mult=1) + GAP + Dense(num_classes, softmax)."""
    import keras

    if kwargs:
        raise TypeError(f"build_shufflenet_v1: unexpected arguments {sorted(kwargs)}")
    check_input("shufflenet_v1", input_shape)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    # Widths must split into groups after the /4 bottleneck: round to multiples of 4·g.
    x = _stem(inputs, make_divisible(24 * width_mult, groups))
    for s, (width, reps) in enumerate(zip(V1_WIDTHS, V1_REPEATS, strict=True), start=2):
        w = make_divisible(width * width_mult, 4 * groups)
        for u in range(reps):
            first = groups if not (s == 2 and u == 0) else 1
            x = shufflenet_v1_unit(
                x, w, 2 if u == 0 else 1, groups, first, name=f"stage{s}_unit{u + 1}"
            )
    return keras.Model(inputs, gap_dense_head(x, num_classes), name="shufflenet_v1")


def _conv_bn(x, ch, k, stride, relu, name, depthwise=False):
    from keras import layers

    if depthwise:
        x = layers.DepthwiseConv2D(
            k, strides=stride, padding="same", use_bias=False, name=f"{name}_dw"
        )(x)
    else:
        x = layers.Conv2D(
            ch, k, strides=stride, padding="same", use_bias=False, name=f"{name}_conv"
        )(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def shufflenet_v2_unit(x, out_ch: int, stride: int, name: str):
    """One ShuffleNet V2 unit: split (stride 1) or two branches (stride 2), concat, shuffle."""
    from keras import layers

    half = out_ch // 2
    if stride == 1:
        keep = layers.Lambda(lambda t: t[..., : t.shape[-1] // 2], name=f"{name}_split_a")(x)
        work = layers.Lambda(lambda t: t[..., t.shape[-1] // 2 :], name=f"{name}_split_b")(x)
    else:
        keep = _conv_bn(x, None, 3, 2, False, f"{name}_b1a", depthwise=True)
        keep = _conv_bn(keep, half, 1, 1, True, f"{name}_b1b")
        work = x
    h = _conv_bn(work, half, 1, 1, True, f"{name}_b2a")
    h = _conv_bn(h, None, 3, stride, False, f"{name}_b2b", depthwise=True)
    h = _conv_bn(h, half, 1, 1, True, f"{name}_b2c")
    h = layers.Concatenate(name=f"{name}_concat")([keep, h])
    return channel_shuffle(h, 2, name=f"{name}_shuffle")


def build_shufflenet_v2(
    num_classes=7, input_shape=(128, 128, 3), width_mult=1.0, scale: float = V2_SCALE, **kwargs
):
    """ShuffleNet V2 (``scale``× widths, default 2.0×) + GAP + Dense(num_classes, softmax)."""
    import keras

    if kwargs:
        raise TypeError(f"build_shufflenet_v2: unexpected arguments {sorted(kwargs)}")
    if scale not in V2_WIDTHS:
        raise ValueError(f"shufflenet_v2: scale must be one of {sorted(V2_WIDTHS)}, got {scale}")
    check_input("shufflenet_v2", input_shape)
    *stage_widths, last = V2_WIDTHS[scale]
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = _stem(inputs, make_divisible(24 * width_mult, 4))
    for s, (width, reps) in enumerate(zip(stage_widths, V2_REPEATS, strict=True), start=2):
        w = make_divisible(width * width_mult, 4)
        for u in range(reps):
            x = shufflenet_v2_unit(x, w, 2 if u == 0 else 1, name=f"stage{s}_unit{u + 1}")
    x = _conv_bn(x, make_divisible(last * width_mult, 8), 1, 1, True, "conv5")
    return keras.Model(inputs, gap_dense_head(x, num_classes), name="shufflenet_v2")
