"""VGG11 (with BN, Hayashi's baseline) and VGG19 (Yang's baseline), written from the layer lists.

The classifier is VGG's: adaptive average pool to ``pool x pool`` → FC(hidden) → ReLU →
Dropout → FC(hidden) → ReLU → Dropout → FC(K), with ``hidden = 4096 * width_mult``.
``pool`` is 7 (the paper's, for 224x224 inputs) but never larger than the feature map
(H/32), so a 64x64 quick-profile face gives a 2x2 pool instead of a 7x7 upsampled copy of it.
``width_mult`` < 1 narrows every conv and FC layer (quick/smoke only).
"""

from __future__ import annotations

import torch
from torch import nn

from maskfer_lib.models.torch.common import (
    VGG_CFGS,
    SingleOutput,
    check_input_shape,
    init_vgg_weights,
    make_vgg_layers,
    n_pools,
    out_channels,
    scale_channels,
    scaled_cfg,
)


class VGG(SingleOutput, nn.Module):
    """A VGG classifier: conv stack ``features`` + pooled 3-layer FC ``classifier``."""

    def __init__(
        self,
        cfg: list,
        num_classes: int,
        input_shape: tuple[int, int, int],
        width_mult: float = 1.0,
        batch_norm: bool = True,
        dropout: float = 0.5,
        pool: int = 7,
    ) -> None:
        super().__init__()
        stride = 2 ** n_pools(cfg)
        h, w, c = check_input_shape(input_shape, stride, "VGG")
        cfg = scaled_cfg(cfg, width_mult)
        self.features = make_vgg_layers(cfg, c, batch_norm)
        self.pool_size = max(1, min(pool, h // stride, w // stride))
        self.avgpool = nn.AdaptiveAvgPool2d(self.pool_size)
        hidden = scale_channels(4096, width_mult)
        self.classifier = nn.Sequential(
            nn.Linear(out_channels(cfg) * self.pool_size**2, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        init_vgg_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, K) for NCHW input in [0, 1]."""
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def build_vgg11(num_classes: int, input_shape=(224, 224, 3), width_mult: float = 1.0, **kw) -> VGG:
    """VGG11 with batch norm (configuration A); Hayashi et al.'s baseline.

    Keyword args go to :class:`VGG` (``batch_norm``, ``dropout``, ``pool``).
    """
    kw.setdefault("batch_norm", True)
    return VGG(VGG_CFGS["vgg11"], num_classes, input_shape, width_mult, **kw)


def build_vgg19(num_classes: int, input_shape=(224, 224, 3), width_mult: float = 1.0, **kw) -> VGG:
    """VGG19 (configuration E); Yang et al.'s baseline.

    Batch norm is on by default because the models here train from scratch (no ImageNet
    weights offline); pass ``batch_norm=False`` for the plain 2014 network.
    """
    kw.setdefault("batch_norm", True)
    return VGG(VGG_CFGS["vgg19"], num_classes, input_shape, width_mult, **kw)
