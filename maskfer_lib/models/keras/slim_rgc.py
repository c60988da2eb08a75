"""Putro et al.'s Slim backbone and Represented Global Context (RGC) module, in Keras.

What the paper fixes (Sec. 2, Eqs. 1–3) and what is chosen here (see
``docs/putro-derivations.md`` for the arithmetic):

* **Stem**: 3×3 convolution, stride 2 (Sec. 2.1), + BatchNorm + ReLU. Width: 48 (chosen).
* **Six inverted-residual blocks (Eq. 1)**: ``y = C1+BN(ReLU(C_DW+BN(C1(x))))`` — a 1×1
  expansion convolution (no BN, no activation, as Eq. 1 writes it), a 3×3 depth-wise
  convolution + BN + ReLU, a linear 1×1 projection + BN; a residual add when the stride is 1
  and the width does not change (MobileNetV2's rule). Expansion 1 in the first block and 6
  in the others (Sec. 2.1); with expansion 1 the expansion convolution is dropped, as in
  MobileNetV2. The last block has 160 channels (derivations: the RGC count only fits
  c = 160). Widths (16, 48, 64, 88, 96, 160) and strides (2, 2, 1, 1, 2, 2) are *chosen*:
  the paper does not print them; this set gives 375,919 parameters (paper "376K" = 756,447 −
  380,561 = 375,886; +0.009 %) and 16.06 MFLOPs at 48×48 (paper 0.016 G), with a total stride
  of 32 (2×2 final map at 48×48) so that RGC adds the paper's "+3 MFLOPs". Convolutions keep
  Keras' default bias (the count that reproduces 380,561 for RGC includes biases).
* **GC block (Eq. 2)**: ``GC = C3(GAP(C7(x) ⊗ C3a(x)) ⊗ C3b(x)) + x`` — a 7×7 conv to one
  map, two 3×3 convs to c/2 maps; the single map times the first half map, globally
  average-pooled, is the c/2-dim "represented global information", which multiplies the
  second half map ("multiplied ... to half feature maps", Sec. 2.2); a 3×3 conv restores c
  channels; residual add. No activations: Eq. 2 writes none.
* **RC block (Eq. 3)**: ``RC = ReLU(C1+BN(ReLU(C1+BN*(x)))) + x`` with the bottleneck
  C*1 going to c/2 channels.
* **Classifier (Sec. 2.3)**: GAP + Dense(num_classes) + softmax (1,127 params for 7 classes).

RGC at c = 160 has 380,561 parameters; Slim + RGC has 756,480 (paper 756,447; +0.004 %).
Input size: 128×128×3 as Sec. 2.1 states (default); Table 2's FLOPs are reproduced at 48×48
(the dataset section's resize) — see ``maskfer_lib.speed.flops`` and notebook 03.

Speed (measured, ONNX Runtime, one thread, interleaved rounds; ``make bench`` has the full
table): Slim + RGC keeps 0.78x Slim's FPS at 48×48 and 0.75x at 128×128 (FLOP ratio 0.84),
and runs 2.3x MobileNetV2's FPS at both sizes. ORT's profiler puts 159 of its 192 µs of
kernel time at 48×48 in convolutions; RGC adds about 42 µs, mostly its three 3×3
convolutions on the 160-channel map (weight-bound on a 2×2 map: RGC doubles the weights read
per image), plus ~10 µs of NCHWc reorders, the broadcast multiplies and the pooling. Two
exact rewrites were measured and not adopted: the two C3 convolutions fused into one
160→160 convolution split in halves, and the context pooling written as a matrix product
(outputs identical, parameter count unchanged, speed 1.00x and 0.98x of this form).
"""

from __future__ import annotations

from maskfer_lib.models.keras._common import check_input, gap_dense_head, make_divisible

STEM_WIDTH = 48
BLOCK_WIDTHS = (16, 48, 64, 88, 96, 160)
BLOCK_STRIDES = (2, 2, 1, 1, 2, 2)
BLOCK_EXPANSIONS = (1, 6, 6, 6, 6, 6)


def inverted_residual(x, out_ch: int, stride: int, expansion: int, name: str):
    """One inverted-residual block as Eq. 1 (linear bottleneck, residual when shapes match)."""
    from keras import layers

    in_ch = x.shape[-1]
    h = x
    if expansion != 1:
        h = layers.Conv2D(in_ch * expansion, 1, name=f"{name}_expand")(h)
    h = layers.DepthwiseConv2D(3, strides=stride, padding="same", name=f"{name}_dw")(h)
    h = layers.BatchNormalization(name=f"{name}_dw_bn")(h)
    h = layers.ReLU(name=f"{name}_dw_relu")(h)
    h = layers.Conv2D(out_ch, 1, name=f"{name}_project")(h)
    h = layers.BatchNormalization(name=f"{name}_project_bn")(h)
    if stride == 1 and in_ch == out_ch:
        h = layers.Add(name=f"{name}_add")([x, h])
    return h


def global_context_block(x, name: str = "gc"):
    """GC block, Eq. 2 (see module docstring for the reading of the two ⊗)."""
    from keras import layers

    c = x.shape[-1]
    half = c // 2
    single = layers.Conv2D(1, 7, padding="same", name=f"{name}_c7")(x)
    half_a = layers.Conv2D(half, 3, padding="same", name=f"{name}_c3a")(x)
    half_b = layers.Conv2D(half, 3, padding="same", name=f"{name}_c3b")(x)
    # (h, w, 1) ⊗ (h, w, c/2) broadcasts the single summary map over the half channels.
    context = layers.Multiply(name=f"{name}_mul_map")([single, half_a])
    context = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_gap")(context)
    attended = layers.Multiply(name=f"{name}_mul_ctx")([context, half_b])
    out = layers.Conv2D(c, 3, padding="same", name=f"{name}_c3_out")(attended)
    return layers.Add(name=f"{name}_add")([out, x])


def reconstruction_block(x, name: str = "rc"):
    """RC block, Eq. 3: 1×1 (c→c/2)+BN+ReLU, 1×1 (c/2→c)+BN+ReLU, residual add."""
    from keras import layers

    c = x.shape[-1]
    h = layers.Conv2D(c // 2, 1, name=f"{name}_reduce")(x)
    h = layers.BatchNormalization(name=f"{name}_reduce_bn")(h)
    h = layers.ReLU(name=f"{name}_reduce_relu")(h)
    h = layers.Conv2D(c, 1, name=f"{name}_restore")(h)
    h = layers.BatchNormalization(name=f"{name}_restore_bn")(h)
    h = layers.ReLU(name=f"{name}_restore_relu")(h)
    return layers.Add(name=f"{name}_add")([h, x])


def represented_global_context(x, name: str = "rgc"):
    """The RGC module: GC block followed by RC block (Sec. 2.2, Fig. 2)."""
    return reconstruction_block(global_context_block(x, name=f"{name}_gc"), name=f"{name}_rc")


def slim_backbone(inputs, width_mult: float = 1.0):
    """Stem + six inverted residual blocks; returns the final (H/32, W/32, 160·w) map."""
    from keras import layers

    x = layers.Conv2D(
        make_divisible(STEM_WIDTH * width_mult), 3, strides=2, padding="same", name="stem_conv"
    )(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for i, (c, s, t) in enumerate(
        zip(BLOCK_WIDTHS, BLOCK_STRIDES, BLOCK_EXPANSIONS, strict=True), start=1
    ):
        x = inverted_residual(x, make_divisible(c * width_mult), s, t, name=f"block{i}")
    return x


def _build(num_classes, input_shape, width_mult, rgc: bool, name: str):
    import keras

    check_input(name, input_shape)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = slim_backbone(inputs, width_mult)
    if rgc:
        x = represented_global_context(x)
    return keras.Model(inputs, gap_dense_head(x, num_classes), name=name)


def build_putro_slim(
    num_classes: int = 7,
    input_shape: tuple[int, int, int] = (128, 128, 3),
    width_mult: float = 1.0,
    **kwargs,
):
    """Putro's Slim network without RGC (Table 1 "Proposed Slim": 376K params, 0.016 G).

    Args:
        num_classes: output classes. input_shape: (H, W, C), ≥ 32×32.
        width_mult: channel multiplier (1.0 = the documented widths).
    """
    if kwargs:
        raise TypeError(f"build_putro_slim: unexpected arguments {sorted(kwargs)}")
    return _build(num_classes, input_shape, width_mult, rgc=False, name="putro_slim")


def build_putro_slim_rgc(
    num_classes: int = 7,
    input_shape: tuple[int, int, int] = (128, 128, 3),
    width_mult: float = 1.0,
    **kwargs,
):
    """Putro's Slim + RGC (Table 2 "Proposed Model": 756,447 params, 0.01914 G).

    Args:
        num_classes: output classes. input_shape: (H, W, C), ≥ 32×32.
        width_mult: channel multiplier (1.0 = the documented widths).
    """
    if kwargs:
        raise TypeError(f"build_putro_slim_rgc: unexpected arguments {sorted(kwargs)}")
    return _build(num_classes, input_shape, width_mult, rgc=True, name="putro_slim_rgc")
