"""FLOPs of Keras and torch models, counted by each framework's own profiler.

Convention (stated once, used everywhere): **FLOPs = 2 × MACs** — one multiply-accumulate
is a multiply and an add. Both profilers used here follow it:

* Keras/TensorFlow: the TF graph profiler (``tensorflow.python.profiler.model_analyzer``,
  option ``float_operation``) run on the frozen concrete function of ``model(x,
  training=False)`` at batch 1. It counts ``Conv2D``/``MatMul``/depthwise convolutions as
  2·MAC and also counts the cheap element-wise ops it knows (bias adds, inference
  BatchNorm's multiply/add, residual adds, pooling). This is what ``keras-flops`` and most
  Keras papers (Putro et al., Table 2) report.
* torch: ``torch.utils.flop_counter.FlopCounterMode`` (counts matmul/convolution as 2·MAC,
  and ignores element-wise ops).

So Keras numbers include a few percent of element-wise work that the torch numbers leave
out; for convolution-dominated networks the two agree closely.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from maskfer_lib.models import framework_of


def count_flops(model, input_shape: Sequence[int] | None = None) -> int:
    """FLOPs (= 2 × MACs) of one forward pass at batch 1.

    Args:
        model: a ``keras.Model`` or a ``torch.nn.Module``.
        input_shape: one sample's shape, channels-last ``(H, W, C)`` for both frameworks
            (torch models get an NCHW tensor built from it). Default: the Keras model's own
            input shape; required for torch models. A Keras model built for a fixed size
            must be counted at that size (rebuild it to count another).

    Returns:
        The total floating-point operations as an int.
    """
    fw = framework_of(model)
    if fw == "keras":
        return keras_flops(model, input_shape)
    return torch_flops(model, input_shape)


def keras_flops(model, input_shape: Sequence[int] | None = None) -> int:
    """FLOPs of a Keras model by the TF profiler on its frozen graph (see module docstring)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2_as_graph,
    )
    from tensorflow.python.profiler import model_analyzer, option_builder

    built = tuple(model.inputs[0].shape[1:])
    if input_shape is None:
        input_shape = built
    if any(d is None for d in input_shape):
        raise ValueError(f"keras_flops: input_shape {input_shape} has unknown dimensions; pass it")
    if any(b is not None and int(b) != int(d) for b, d in zip(built, input_shape, strict=True)):
        raise ValueError(
            f"keras_flops: the model was built for input {built}, not {tuple(input_shape)}; "
            "rebuild it at that size, e.g. build_model(name, input_shape=...)"
        )
    spec = tf.TensorSpec([1, *[int(d) for d in input_shape]], tf.float32)
    fn = tf.function(lambda x: model(x, training=False))
    frozen, _ = convert_variables_to_constants_v2_as_graph(fn.get_concrete_function(spec))
    hidden = [
        op.name for op in frozen.graph.get_operations() if op.type.endswith("PartitionedCall")
    ]
    if hidden:
        # e.g. Keras 3's grouped Conv2D runs in an XLA function the profiler does not enter.
        warnings.warn(
            f"keras_flops: {len(hidden)} nested function call(s) not counted by the TF profiler "
            f"(first: {hidden[0]}); the FLOP count is a lower bound",
            stacklevel=2,
        )
    opts = option_builder.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"  # the profiler otherwise prints a long per-op table
    info = model_analyzer.profile(
        graph=frozen.graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op", options=opts
    )
    return int(info.total_float_ops)


def torch_flops(model, input_shape: Sequence[int]) -> int:
    """FLOPs of a torch module by ``FlopCounterMode`` (2·MAC per matmul/conv)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    if input_shape is None:
        raise ValueError("torch_flops: pass input_shape=(H, W, C) for a torch model")
    h, w, c = (int(d) for d in input_shape)
    x = torch.zeros(1, c, h, w)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())
