"""Small pieces shared by the torch model families (VGG stacks, the single-output contract).

Every torch model here takes NCHW float input in [0, 1] and follows the train helper's
contract: ``compute_loss(outputs, y)`` gives a scalar loss and ``logits(outputs)`` gives the
(N, K) tensor used for prediction. Single-output classifiers get both from
:class:`SingleOutput`; multi-output models define their own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

VGG_CFGS: dict[str, list] = {
    # Simonyan & Zisserman, Table 1: configurations A (VGG11) and E (VGG19). "M" = 2x2 max pool.
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg19": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
    # The "documented smaller backbone" of the quick profile (Yang stage 2, inpainting
    # encoder): three VGG-style blocks, stride 8, so a 64x64 face keeps an 8x8 feature map.
    "small": [32, "M", 64, "M", 128, 128, "M"],
}


def scale_channels(channels: int, width_mult: float) -> int:
    """``channels * width_mult`` rounded, never below 4 (so quick/smoke models stay valid)."""
    if width_mult <= 0:
        raise ValueError(f"width_mult must be > 0, got {width_mult}")
    return max(4, int(round(channels * width_mult)))


def scaled_cfg(cfg: list, width_mult: float) -> list:
    """A VGG layer list with every channel count scaled by ``width_mult``."""
    return [v if v == "M" else scale_channels(v, width_mult) for v in cfg]


def init_vgg_weights(module: nn.Module) -> nn.Module:
    """torchvision's VGG initialisation, applied to every layer of ``module``: convolutions
    He-normal (fan-out, ReLU), BatchNorm scale 1 and shift 0, linear layers N(0, 0.01) with
    zero bias. torch's default (uniform, gain 1/sqrt(3)) left the VGG-style networks here at
    chance for their whole quick-profile budget (measured: see ``config.py``)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
    return module


def make_vgg_layers(cfg: list, in_channels: int, batch_norm: bool = True) -> nn.Sequential:
    """Conv3x3(+BN)+ReLU per number in ``cfg``, 2x2 max pool per ``"M"``."""
    layers: list[nn.Module] = []
    c = in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers.append(nn.Conv2d(c, v, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        c = v
    return nn.Sequential(*layers)


def out_channels(cfg: list) -> int:
    """Channels leaving a VGG layer list."""
    return [v for v in cfg if v != "M"][-1]


def n_pools(cfg: list) -> int:
    """Number of 2x2 max pools in a VGG layer list (the stride is 2**n_pools)."""
    return sum(1 for v in cfg if v == "M")


def check_input_shape(input_shape, min_side: int, name: str) -> tuple[int, int, int]:
    """Validate an (H, W, C) tuple and say how to fix a too-small one."""
    if len(input_shape) != 3:
        raise ValueError(f"{name}: input_shape must be (H, W, C), got {input_shape}")
    h, w, c = (int(v) for v in input_shape)
    if h < min_side or w < min_side:
        raise ValueError(
            f"{name}: input {h}x{w} is too small; it needs at least {min_side}x{min_side} "
            "(pass a larger input_shape or resize the faces with data.to_model_input)"
        )
    if c not in (1, 3):
        raise ValueError(f"{name}: input_shape channels must be 1 or 3, got {c}")
    return h, w, c


class SingleOutput:
    """Mixin: the train-helper contract for models whose forward returns logits."""

    def compute_loss(
        self,
        outputs: torch.Tensor,
        y: torch.Tensor,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
    ) -> torch.Tensor:
        """Cross-entropy of the logits against integer labels."""
        return F.cross_entropy(outputs, y, label_smoothing=label_smoothing, reduction=reduction)

    def logits(self, outputs: torch.Tensor) -> torch.Tensor:
        """The forward output is already the (N, K) logits."""
        return outputs
