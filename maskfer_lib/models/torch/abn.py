"""Hayashi et al.: ABN on VGG11 features, MCN (ABN trained masked vs unmasked) and FECN.

Layout (VGG11-BN split after its 4th pool, i.e. at stride 16):

* ``trunk``  — VGG11 blocks 1-4 (conv 64, pool, 128, pool, 256x2, pool, 512x2, pool): F.
* attention branch (Fukui et al.'s ABN) — two 3x3 conv+BN+ReLU (block-5 width) →
  1x1 conv to K maps → BN → ReLU. Its K maps give (a) attention logits by global average
  pooling, trained with L_att, and (b) the attention map M = sigmoid(BN(1x1 conv → 1 ch)).
* perception branch — block 5 of VGG11 on ``F * M + F`` (ABN's residual attention), then
  VGG's pooled FC classifier, trained with L_per. Loss L = L_att + L_per (paper Eq. 1).

``mcn`` is the same network with 2 classes. After training,
:meth:`ABN.freeze_as_attention_generator` drops the classifier nodes (perception branch,
attention logits) and freezes every weight: the module then maps x → M (paper Fig. 3).

``fecn`` has its own VGG11 trunk; its feature map F is multiplied element-wise by the frozen
MCN's map, F' = M ⊙ F (paper Eq. 2), then VGG11 block 5 and the classifier follow.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from maskfer_lib.models.torch.common import (
    VGG_CFGS,
    SingleOutput,
    check_input_shape,
    init_vgg_weights,
    make_vgg_layers,
    out_channels,
    scale_channels,
    scaled_cfg,
)

_TRUNK = VGG_CFGS["vgg11"][:10]  # blocks 1-4, stride 16
_BLOCK5 = VGG_CFGS["vgg11"][10:]  # 512, 512, M


def _classifier(in_features: int, hidden: int, num_classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


class _Head(nn.Module):
    """VGG11 block 5 + pooled 3-layer FC classifier (shared by ABN's perception branch and FECN)."""

    def __init__(self, c_in: int, num_classes: int, input_hw, width_mult: float, dropout: float):
        super().__init__()
        cfg = scaled_cfg(_BLOCK5, width_mult)
        self.block5 = make_vgg_layers(cfg, c_in, batch_norm=True)
        side = min(input_hw) // 32
        self.pool_size = max(1, min(7, side))
        self.avgpool = nn.AdaptiveAvgPool2d(self.pool_size)
        self.classifier = _classifier(
            out_channels(cfg) * self.pool_size**2,
            scale_channels(4096, width_mult),
            num_classes,
            dropout,
        )

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.block5(f)), 1))


class ABN(nn.Module):
    """Attention Branch Network on VGG11 features.

    ``forward(x)`` returns ``(logits, attention_logits, M)`` with M of shape (N, 1, H/16, W/16)
    in [0, 1]. After :meth:`freeze_as_attention_generator` it returns M alone.
    """

    def __init__(
        self,
        num_classes: int,
        input_shape=(224, 224, 3),
        width_mult: float = 1.0,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        h, w, c = check_input_shape(input_shape, 32, "ABN")
        self.input_shape = (h, w, c)
        self.num_classes = num_classes
        trunk_cfg = scaled_cfg(_TRUNK, width_mult)
        self.trunk = make_vgg_layers(trunk_cfg, c, batch_norm=True)
        cf = out_channels(trunk_cfg)
        ca = scale_channels(512, width_mult)
        self.att_convs = make_vgg_layers([ca, ca], cf, batch_norm=True)
        self.att_maps = nn.Sequential(
            nn.Conv2d(ca, num_classes, 1), nn.BatchNorm2d(num_classes), nn.ReLU(inplace=True)
        )
        self.att_to_map = nn.Sequential(nn.Conv2d(num_classes, 1, 1), nn.BatchNorm2d(1))
        self.perception: _Head | None = _Head(cf, num_classes, (h, w), width_mult, dropout)
        self.frozen = False
        init_vgg_weights(self)

    def _attention(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k_maps = self.att_maps(self.att_convs(f))
        att_logits = k_maps.mean(dim=(2, 3))  # GAP over each of the K class maps
        m = torch.sigmoid(self.att_to_map(k_maps))
        return att_logits, m

    def forward(self, x: torch.Tensor):
        """``(logits, attention_logits, M)``; only ``M`` once frozen."""
        f = self.trunk(x)
        att_logits, m = self._attention(f)
        if self.frozen:
            return m
        logits = self.perception(f * m + f)
        return logits, att_logits, m

    def compute_loss(
        self, outputs, y: torch.Tensor, label_smoothing: float = 0.0, reduction: str = "mean"
    ) -> torch.Tensor:
        """L = L_att + L_per (cross-entropy of both branches; paper Eq. 1)."""
        if self.frozen:
            raise RuntimeError("this network is a frozen attention generator; it has no classifier")
        logits, att_logits, _ = outputs
        kw = {"label_smoothing": label_smoothing, "reduction": reduction}
        return F.cross_entropy(logits, y, **kw) + F.cross_entropy(att_logits, y, **kw)

    def logits(self, outputs) -> torch.Tensor:
        """The perception branch's logits are the prediction."""
        if self.frozen:
            raise RuntimeError("this network is a frozen attention generator; it has no classifier")
        return outputs[0]

    def attention_map(self, x: torch.Tensor, upsample: bool = False) -> torch.Tensor:
        """M(x): (N, 1, H/16, W/16) in [0, 1]; ``upsample=True`` resizes it to (N, 1, H, W)."""
        f = self.trunk(x)
        m = self._attention(f)[1]
        if upsample:
            m = F.interpolate(m, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return m

    def freeze_as_attention_generator(self) -> ABN:
        """Drop the classifier nodes, freeze every weight and switch to eval for good (MCN).

        Returns ``self`` so ``mcn = mcn.freeze_as_attention_generator()`` reads naturally.
        """
        self.perception = None
        self.frozen = True
        for p in self.parameters():
            p.requires_grad_(False)
        return self.eval()

    def train(self, mode: bool = True) -> ABN:
        """As ``nn.Module.train``, except a frozen generator stays in eval (fixed BN statistics)."""
        return super().train(mode and not self.frozen)


class FECN(SingleOutput, nn.Module):
    """Facial Expression Classification Network: VGG11 features ⊙ frozen MCN attention map."""

    def __init__(
        self,
        num_classes: int,
        mcn: ABN,
        input_shape=(224, 224, 3),
        width_mult: float = 1.0,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        h, w, c = check_input_shape(input_shape, 32, "FECN")
        if not mcn.frozen:
            mcn.freeze_as_attention_generator()
        self.mcn = mcn
        trunk_cfg = scaled_cfg(_TRUNK, width_mult)
        self.trunk = make_vgg_layers(trunk_cfg, c, batch_norm=True)
        self.head = _Head(out_channels(trunk_cfg), num_classes, (h, w), width_mult, dropout)
        init_vgg_weights(self.trunk)  # not the MCN: it arrives trained
        init_vgg_weights(self.head)

    def attention_map(self, x: torch.Tensor, upsample: bool = False) -> torch.Tensor:
        """The frozen MCN's attention map for ``x`` (see :meth:`ABN.attention_map`)."""
        with torch.no_grad():
            return self.mcn.attention_map(x, upsample=upsample)

    def forward(self, x: torch.Tensor, attention: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (N, K). ``attention`` overrides the MCN map (for studies and tests)."""
        f = self.trunk(x)
        m = self.attention_map(x) if attention is None else attention
        if m.shape[-2:] != f.shape[-2:]:
            m = F.interpolate(m, size=f.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(f * m)


def build_abn(num_classes: int, input_shape=(224, 224, 3), width_mult: float = 1.0, **kw) -> ABN:
    """ABN on VGG11-BN features for expression classes (Hayashi's ``ABN`` row)."""
    return ABN(num_classes, input_shape, width_mult, **kw)


def build_mcn(
    num_classes: int = 2, input_shape=(224, 224, 3), width_mult: float = 1.0, **kw
) -> ABN:
    """MCN: an ABN for masked vs unmasked (2 classes).

    Train it like any model, then call ``freeze_as_attention_generator()`` before handing it
    to :func:`build_fecn`.
    """
    return ABN(num_classes, input_shape, width_mult, **kw)


def build_fecn(
    num_classes: int,
    input_shape=(224, 224, 3),
    width_mult: float = 1.0,
    mcn: ABN | None = None,
    **kw,
) -> FECN:
    """FECN guided by ``mcn``'s attention map.

    Pass a trained MCN (``mcn=...``); it is frozen here if it is not yet. Without one, a
    fresh untrained MCN with the same input shape and width is built and frozen — its map
    is then arbitrary, which is only meant for shape checks and tests (a warning says so).
    """
    if mcn is None:
        warnings.warn(
            "build_fecn: no trained MCN given (mcn=...); using an untrained one, whose attention "
            "map is arbitrary",
            stacklevel=2,
        )
        mcn = build_mcn(2, input_shape, width_mult)
    return FECN(num_classes, mcn, input_shape, width_mult, **kw)
