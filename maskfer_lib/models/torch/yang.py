"""Yang, Wu & Hattori: MobileNet baseline and approach 2 (occlusion heat map → two branches).

* ``yang_mobilenet`` — MobileNet v1 (Howard et al.): 3x3 conv s2, 13 depthwise-separable
  blocks, global average pool, FC; ``width_mult`` is MobileNet's alpha.
* ``yang_stage1`` — a Deep-Emotion-style attentional CNN (Minaee & Abdolrashidi): a spatial
  transformer (localisation net → affine grid) warps the input, then conv(10)x2 → pool →
  conv(10)x2 → BN → pool → FC(50) → FC(2). Trained masked vs unmasked.
* :func:`occlusion_heatmap` — Zeiler & Fergus occlusion: zero an N x N patch at every
  stride position, record the drop of the "masked" probability (S_m), upsample to the
  input size, squash with a sigmoid → H_m in [0, 1]; H_u = 1 − H_m.
* ``yang_attention`` — stage 2: backbone features F (VGG19 conv stack in ``paper``; the
  3-block ``small`` VGG in quick, see ``common.VGG_CFGS``), F_m = F ⊙ H_m and F_u = F ⊙ H_u
  (H resized to F by average pooling), each through its own lightweight attentional conv
  network and two FC layers (:class:`AttentionalConvBranch`, the paper's Sec. 3.2); the
  loss is l_u + l_m. **Prediction** averages the two branches' softmax probabilities
  (``unmasked_weight`` 0.5 by default); ``logits`` returns the log of that mixture, so
  softmax(logits) is the mixed probability.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
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

# ---------------------------------------------------------------------------- MobileNet v1

_MOBILENET_BLOCKS = (
    [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
    + [(512, 1)] * 5
    + [
        (1024, 2),
        (1024, 1),
    ]
)


def _conv_bn(c_in: int, c_out: int, k: int, stride: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class MobileNetV1(SingleOutput, nn.Module):
    """MobileNet v1 with width multiplier ``alpha`` (bias-free convs, BN, ReLU)."""

    def __init__(
        self, num_classes: int, input_shape=(224, 224, 3), alpha: float = 1.0, dropout=0.2
    ):
        super().__init__()
        _, _, c = check_input_shape(input_shape, 32, "MobileNetV1")
        c0 = scale_channels(32, alpha)
        layers = [_conv_bn(c, c0, 3, 2)]
        c_in = c0
        for c_out, s in _MOBILENET_BLOCKS:
            c_out = scale_channels(c_out, alpha)
            layers += [_conv_bn(c_in, c_in, 3, s, groups=c_in), _conv_bn(c_in, c_out, 1, 1)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(c_in, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, K)."""
        return self.classifier(self.features(x).mean(dim=(2, 3)))


def build_yang_mobilenet(
    num_classes: int, input_shape=(224, 224, 3), width_mult: float = 1.0, **kw
) -> MobileNetV1:
    """Yang's MobileNet baseline (MobileNet v1; ``width_mult`` = alpha)."""
    return MobileNetV1(num_classes, input_shape, alpha=width_mult, **kw)


# ---------------------------------------------------------------------- stage 1 (binary)


def _conv_out(side: int, k: int) -> int:
    return side - k + 1


class DeepEmotionSTN(SingleOutput, nn.Module):
    """Deep-Emotion attentional classifier: spatial transformer + small CNN.

    For a 48x48 input the layer sizes are Deep-Emotion's (flatten 810 → 50 → K; localisation
    net conv 8@7 → pool → conv 10@5 → pool → flatten 640 → 32 → 6). Other input sizes get
    the flatten sizes their maps imply. ``width_mult`` scales the conv widths (8 and 10).
    """

    def __init__(self, num_classes: int = 2, input_shape=(48, 48, 1), width_mult: float = 1.0):
        super().__init__()
        h, w, c = check_input_shape(input_shape, 24, "DeepEmotionSTN")
        self.input_shape = (h, w, c)
        c10 = scale_channels(10, width_mult)
        c8 = scale_channels(8, width_mult)
        self.features = nn.Sequential(
            nn.Conv2d(c, c10, 3), nn.Conv2d(c10, c10, 3), nn.MaxPool2d(2), nn.ReLU(inplace=True),
            nn.Conv2d(c10, c10, 3), nn.Conv2d(c10, c10, 3), nn.BatchNorm2d(c10), nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
        )  # fmt: skip
        fh = (_conv_out(_conv_out((_conv_out(_conv_out(h, 3), 3)) // 2, 3), 3)) // 2
        fw = (_conv_out(_conv_out((_conv_out(_conv_out(w, 3), 3)) // 2, 3), 3)) // 2
        self.localization = nn.Sequential(
            nn.Conv2d(c, c8, 7), nn.MaxPool2d(2), nn.ReLU(inplace=True),
            nn.Conv2d(c8, c10, 5), nn.MaxPool2d(2), nn.ReLU(inplace=True),
        )  # fmt: skip
        lh = _conv_out(_conv_out(h, 7) // 2, 5) // 2
        lw = _conv_out(_conv_out(w, 7) // 2, 5) // 2
        self.fc_loc = nn.Sequential(
            nn.Linear(c10 * lh * lw, 32), nn.ReLU(inplace=True), nn.Linear(32, 6)
        )
        # Start from the identity warp so early training sees the face unwarped.
        nn.init.zeros_(self.fc_loc[2].weight)
        with torch.no_grad():
            self.fc_loc[2].bias.copy_(torch.tensor([1.0, 0, 0, 0, 1.0, 0]))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5),
            nn.Linear(c10 * fh * fw, 50),
            nn.ReLU(inplace=True),
            nn.Linear(50, num_classes),
        )

    def stn(self, x: torch.Tensor) -> torch.Tensor:
        """Warp ``x`` by the affine transform the localisation net predicts."""
        theta = self.fc_loc(torch.flatten(self.localization(x), 1)).view(-1, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, K)."""
        return self.classifier(torch.flatten(self.features(self.stn(x)), 1))


def build_yang_stage1(
    num_classes: int = 2, input_shape=(48, 48, 1), width_mult: float = 1.0, **kw
) -> DeepEmotionSTN:
    """Stage 1 of approach 2: masked/unmasked attentional classifier (Deep-Emotion + STN)."""
    return DeepEmotionSTN(num_classes, input_shape, width_mult, **kw)


def _fit_to_stage1(stage1: DeepEmotionSTN, x: torch.Tensor) -> torch.Tensor:
    """Resize / convert ``x`` to the input the stage-1 network was built for."""
    h, w, c = stage1.input_shape
    if x.shape[1] != c:
        if c == 1:  # ITU-R BT.601 luma, as an RGB → gray conversion
            wts = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)
            x = (x * wts.view(1, 3, 1, 1)).sum(1, keepdim=True)
        else:
            x = x.expand(-1, c, -1, -1)
    if tuple(x.shape[-2:]) != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    return x


@torch.no_grad()
def occlusion_heatmap(
    stage1: nn.Module,
    x: torch.Tensor,
    patch: int | None = None,
    stride: int | None = None,
    masked_index: int = 1,
    scale: float = 10.0,
    batch_size: int = 1024,
    return_raw: bool = False,
) -> torch.Tensor:
    """Yang's attention weight map H_m for ``x`` (N, C, H, W) in [0, 1]; shape (N, 1, H, W).

    Every ``patch`` x ``patch`` window (top-left corner stepping by ``stride``, in the stage-1
    network's own input resolution) is zeroed in turn; S_m is how much the "masked"
    probability (class ``masked_index``) drops. S_m is upsampled bilinearly to (H, W) and
    H_m = sigmoid(scale * S_m). The paper applies a sigmoid to S_m; drops lie in [-1, 1],
    so ``scale=1`` (the literal reading) squeezes H_m into [0.27, 0.73]; ``scale=10`` spreads
    it over [0, 1] while keeping 0.5 for "no effect". ``return_raw`` gives S_m at grid
    resolution (N, 1, n_y, n_x) instead.

    All occluded copies of a batch of images run as one batch (vectorised), so a 64x64
    face with a 16-pixel patch and stride 8 costs 49 tiny forward passes.
    """
    was_training = stage1.training
    stage1.eval()
    # Python ints for the fixed sides (a traced export then knows every size but the batch).
    n, (h_in, w_in) = x.shape[0], (int(v) for v in x.shape[-2:])
    xs = _fit_to_stage1(stage1, x)
    c, h, w = (int(v) for v in xs.shape[1:])
    patch = patch or max(2, h // 4)
    stride = stride or max(1, patch // 2)
    ys = list(range(0, h - patch + 1, stride))
    xs_pos = list(range(0, w - patch + 1, stride))
    keep = torch.ones(len(ys) * len(xs_pos), 1, h, w, device=x.device, dtype=x.dtype)
    for i, (yy, xx) in enumerate((a, b) for a in ys for b in xs_pos):
        keep[i, :, yy : yy + patch, xx : xx + patch] = 0
    p = keep.shape[0]
    base = F.softmax(stage1(xs), dim=1)[:, masked_index]
    # A traced export unrolls this loop at the example's batch: one chunk, so that any batch
    # runs through the exported graph whole (eager calls chunk to bound memory).
    per_chunk = n if torch.jit.is_tracing() else max(1, batch_size // p)
    drops = []
    for s in range(0, n, per_chunk):
        chunk = xs[s : s + per_chunk]  # (b, C, h, w)
        occluded = (chunk.unsqueeze(1) * keep.unsqueeze(0)).reshape(-1, c, h, w)
        prob = F.softmax(stage1(occluded), dim=1)[:, masked_index].view(chunk.shape[0], p)
        drops.append(base[s : s + per_chunk, None] - prob)
    # shape[0], not len(): a traced size, so an ONNX export keeps the batch dynamic
    raw = torch.cat(drops).view(xs.shape[0], 1, len(ys), len(xs_pos))
    stage1.train(was_training)
    if return_raw:
        return raw
    up = F.interpolate(raw, size=(h_in, w_in), mode="bilinear", align_corners=False)
    return torch.sigmoid(scale * up)


# ------------------------------------------------------------------- stage 2 (approach 2)


def make_backbone(name: str, in_channels: int, width_mult: float) -> tuple[nn.Sequential, int, int]:
    """A VGG-style conv backbone without classifier: (module, out channels, stride).

    ``"vgg19"`` is VGG19-BN's conv stack (the paper's); ``"small"`` is the quick profile's
    3-block VGG (32, 64, 128x2; stride 8).
    """
    if name not in ("vgg19", "small"):
        raise ValueError(f"unknown backbone {name!r}; use 'vgg19' (paper) or 'small' (quick)")
    cfg = scaled_cfg(VGG_CFGS[name], width_mult)
    layers = init_vgg_weights(make_vgg_layers(cfg, in_channels, batch_norm=True))
    return layers, out_channels(cfg), 2 ** n_pools(cfg)


class AttentionalConvBranch(nn.Module):
    """One branch of stage 2: a lightweight attentional conv network, then two FC layers.

    The paper feeds F_u and F_m each "into the lightweight attentional convolutional
    networks as mentioned in the binary deep classifier of stage 1" (Deep-Emotion: a
    spatial transformer warps block n-1's output into block n), then "two fully connected
    layers". It gives no layer sizes, so this branch follows stage 1's template at feature-map
    scale (our choice): a localisation net (3x3 conv → ReLU → 2x2 average pool → FC(32) →
    FC(6), started at the identity warp) warps the reweighted features, one 3x3 conv block
    (half the channels, BN, ReLU) follows — no pooling, the maps are already 2x2 to 8x8 —
    then FC(hidden) → ReLU → Dropout → FC(K).
    """

    def __init__(
        self, channels: int, feat_hw: tuple[int, int], hidden: int, num_classes: int,
        dropout: float = 0.5,
    ) -> None:  # fmt: skip
        super().__init__()
        c_loc, c_out = max(4, channels // 8), max(4, channels // 2)
        # A fixed kernel where the sides are even: the same as adaptive pooling to 2x2, and
        # an ONNX export (shipped weights) needs no shape inference for it.
        even = all(v % 2 == 0 for v in feat_hw)
        pool = nn.AvgPool2d((feat_hw[0] // 2, feat_hw[1] // 2)) if even else nn.AdaptiveAvgPool2d(2)
        self.localization = nn.Sequential(
            nn.Conv2d(channels, c_loc, 3, padding=1), nn.ReLU(inplace=True),
            pool, nn.Flatten(),
            nn.Linear(4 * c_loc, 32), nn.ReLU(inplace=True), nn.Linear(32, 6),
        )  # fmt: skip
        nn.init.zeros_(self.localization[-1].weight)
        with torch.no_grad():
            self.localization[-1].bias.copy_(torch.tensor([1.0, 0, 0, 0, 1.0, 0]))
        self.conv = nn.Sequential(
            nn.Conv2d(channels, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Sequential(
            nn.Flatten(), nn.Linear(c_out * feat_hw[0] * feat_hw[1], hidden),
            nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, num_classes),
        )  # fmt: skip

    def warp(self, f: torch.Tensor) -> torch.Tensor:
        """``f`` warped by the affine transform the localisation net predicts from it."""
        theta = self.localization(f).view(-1, 2, 3)
        grid = F.affine_grid(theta, list(f.shape), align_corners=False)
        return F.grid_sample(f, grid, align_corners=False)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """Logits (N, K) from reweighted features (N, C, h, w)."""
        return self.fc(self.conv(self.warp(f)))


class TwoBranchHead(nn.Module):
    """The unmasked and masked branches of stage 2, each an :class:`AttentionalConvBranch`."""

    def __init__(
        self, channels: int, feat_hw: tuple[int, int], hidden: int, num_classes: int,
        dropout: float = 0.5,
    ) -> None:  # fmt: skip
        super().__init__()
        self.branch_u = AttentionalConvBranch(channels, feat_hw, hidden, num_classes, dropout)
        self.branch_m = AttentionalConvBranch(channels, feat_hw, hidden, num_classes, dropout)


class TwoBranchOutput:
    """Mixin: the train-helper contract for Yang's two-branch models, whose forward returns
    ``(z_u, z_m)``, the unmasked and masked branches' logits; ``unmasked_weight`` w weighs
    them at prediction."""

    unmasked_weight: float

    def compute_loss(
        self, outputs, y: torch.Tensor, label_smoothing: float = 0.0, reduction: str = "mean"
    ) -> torch.Tensor:
        """l_u + l_m: the cross-entropy of each branch, summed (both approaches' loss)."""
        z_u, z_m = outputs
        kw = {"label_smoothing": label_smoothing, "reduction": reduction}
        return F.cross_entropy(z_u, y, **kw) + F.cross_entropy(z_m, y, **kw)

    def logits(self, outputs) -> torch.Tensor:
        """log(w p_u + (1 − w) p_m): the two branches' probabilities mixed, as logits."""
        z_u, z_m = outputs
        w = self.unmasked_weight
        p = w * F.softmax(z_u, 1) + (1 - w) * F.softmax(z_m, 1)
        return torch.log(p.clamp_min(1e-12))


class YangAttention(TwoBranchOutput, nn.Module):
    """Approach 2, stage 2: F ⊙ H_m and F ⊙ H_u → two FC branches; loss l_u + l_m.

    ``forward(x)`` returns ``(z_u, z_m)`` (the two branches' logits); ``forward(x, heat=H)``
    uses a given H_m (N, 1, H, W) instead of computing it with the frozen stage-1 network.
    """

    def __init__(
        self,
        num_classes: int,
        stage1: DeepEmotionSTN,
        input_shape=(224, 224, 3),
        width_mult: float = 1.0,
        backbone: str = "vgg19",
        hidden: int = 256,
        dropout: float = 0.5,
        unmasked_weight: float = 0.5,
        heat_patch: int | None = None,
        heat_stride: int | None = None,
        heat_scale: float = 10.0,
        masked_index: int = 1,
    ) -> None:
        super().__init__()
        h, w, c = check_input_shape(input_shape, 32, "YangAttention")
        self.stage1 = stage1
        for p in self.stage1.parameters():
            p.requires_grad_(False)
        self.stage1.eval()
        self.in_channels, self.input_hw = c, (h, w)
        self.backbone, cf, stride = make_backbone(backbone, c, width_mult)
        self.feat_hw = (h // stride, w // stride)
        self.heat_pool = (stride, stride)
        head = TwoBranchHead(cf, self.feat_hw, hidden, num_classes, dropout)
        self.branch_u, self.branch_m = head.branch_u, head.branch_m
        self.unmasked_weight = unmasked_weight
        self.heat_kw = dict(
            patch=heat_patch, stride=heat_stride, scale=heat_scale, masked_index=masked_index
        )

    @property
    def crop_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the face crop alone: the model computes H_m itself from it (what a
        shipped ONNX file takes; training feeds H_m as an extra channel instead)."""
        return (*self.input_hw, self.in_channels)

    def train(self, mode: bool = True) -> YangAttention:
        """As ``nn.Module.train`` but the frozen stage-1 network stays in eval."""
        super().train(mode)
        self.stage1.eval()
        return self

    def heatmap(self, x: torch.Tensor) -> torch.Tensor:
        """H_m (N, 1, H, W) in [0, 1] from the frozen stage-1 network (see :func:`occlusion_heatmap`)."""
        return occlusion_heatmap(self.stage1, x, **self.heat_kw)

    def forward(self, x: torch.Tensor, heat: torch.Tensor | None = None):
        """``(z_u, z_m)``: logits of the unmasked-region and masked-region branches.

        ``x`` may carry H_m as one extra last channel (see :func:`append_heatmap`): the
        heat map then is not recomputed, which makes training affordable on a CPU (the
        occlusion map costs one stage-1 pass per patch position, every epoch otherwise).
        """
        if heat is None and x.shape[1] == self.in_channels + 1:
            x, heat = x[:, :-1], x[:, -1:]
        h_m = self.heatmap(x) if heat is None else heat
        f = self.backbone(x)
        # Input sides are multiples of the backbone stride, so this equals adaptive pooling to
        # F's size; a fixed kernel keeps the ONNX export free of shape inference.
        h_m = F.avg_pool2d(h_m, self.heat_pool)
        return self.branch_u(f * (1 - h_m)), self.branch_m(f * h_m)


def build_yang_attention(
    num_classes: int,
    input_shape=(224, 224, 3),
    width_mult: float = 1.0,
    stage1: DeepEmotionSTN | None = None,
    **kw,
) -> YangAttention:
    """Approach 2, stage 2, on a trained ``stage1`` (frozen here).

    Without ``stage1`` an untrained one (same input shape, 2 classes) is built, whose heat
    map is arbitrary — for shape checks and tests only (a warning says so). Other keywords:
    ``backbone`` ("vgg19" paper / "small" quick), ``hidden``, ``unmasked_weight``,
    ``heat_patch``, ``heat_stride``, ``heat_scale``, ``masked_index``.
    """
    if stage1 is None:
        warnings.warn(
            "build_yang_attention: no trained stage-1 network given (stage1=...); using an "
            "untrained one, whose heat map is arbitrary",
            stacklevel=2,
        )
        stage1 = build_yang_stage1(2, input_shape)
    return YangAttention(num_classes, stage1, input_shape, width_mult, **kw)


def append_heatmap(model: YangAttention, x, batch_size: int = 64) -> np.ndarray:
    """Faces (N, H, W, C) float32 in [0, 1] with the model's H_m appended as channel C+1.

    Computed once with the frozen stage-1 network; feed the result to ``train.fit`` /
    ``train.predict_proba`` in place of ``x`` (``YangAttention.forward`` reads it back).
    """
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 4 or arr.shape[-1] != model.in_channels:
        raise ValueError(
            f"append_heatmap needs faces (N, H, W, {model.in_channels}); got {arr.shape}"
        )
    out = np.empty(arr.shape[:-1] + (arr.shape[-1] + 1,), dtype=np.float32)
    out[..., :-1] = arr
    for s in range(0, len(arr), batch_size):
        xt = torch.from_numpy(np.ascontiguousarray(arr[s : s + batch_size].transpose(0, 3, 1, 2)))
        out[s : s + batch_size, ..., -1] = model.heatmap(xt)[:, 0].numpy()
    return out
