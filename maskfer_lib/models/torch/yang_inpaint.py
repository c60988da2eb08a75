"""Yang et al., approach 1: inpainting GAN → landmarks → split at landmark 29 → two branches.

Pieces (all NCHW float in [0, 1]):

* :class:`InpaintGenerator` — encoder–decoder. The encoder is a VGG conv stack (VGG19's in
  ``paper``, as the paper says; the 3-block ``small`` VGG in quick), a dilated 3x3 conv
  widens the receptive field at the bottleneck, and one transposed conv per pooling
  step brings the image back to full size (sigmoid output). Input: the masked face only.
* :class:`PatchDiscriminator` — strided conv stack → global average → 1 logit; used twice,
  as the *global* discriminator (whole face) and the *local* one (the mask region, cropped
  from the ground-truth occlusion box and resized; the lower half of the face when no
  occlusion map is given).
* :func:`train_inpainter` — the GAN loop: L1 reconstruction loss L_r + ``adv_weight`` x
  (global + local) non-saturating adversarial loss for G; both discriminators updated
  every step (the paper: "the discriminators are updated with the generator together").
* :class:`LandmarkRegressor` + :func:`train_landmarker` — the "deep regression network" for
  the 68 iBUG landmarks, trained on unmasked faces with known landmarks (SynthFACS gives
  them; dlib does for real photos).
* :class:`YangInpaintFER` (``yang_inpaint``) — stage 2: inpaint x with the frozen
  generator, regress landmarks on the inpainted face, split the *original* masked face at
  the y of landmark No. 29 (0-based index 28) into an upper part (mostly unmasked) and a
  lower part (mostly masked), each resized to (H/2, W), a shared conv backbone, then per
  part a lightweight attentional conv network and two FC layers
  (:class:`~maskfer_lib.models.torch.yang.AttentionalConvBranch`, as the paper's Sec. 3.1
  says); loss L_u + L_m. Prediction mixes the branches' probabilities as in
  :mod:`maskfer_lib.models.torch.yang`.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from maskfer_lib.models.torch.common import check_input_shape, scale_channels
from maskfer_lib.models.torch.yang import TwoBranchHead, TwoBranchOutput, make_backbone

LANDMARK_29 = 28
"""0-based index of iBUG point No. 29 (the nose bridge), where the paper splits the face."""


def to_nchw(x) -> torch.Tensor:
    """A float NCHW tensor in [0, 1] from an NCHW tensor or an (N, H, W, C) numpy array.

    uint8 arrays are divided by 255.
    """
    if isinstance(x, torch.Tensor):
        return x.float()
    arr = np.asarray(x)
    if arr.ndim != 4:
        raise ValueError(f"expected images (N, H, W, C); got shape {arr.shape}")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2), dtype=np.float32))


# ------------------------------------------------------------------------------ generator


class InpaintGenerator(nn.Module):
    """Encoder–decoder inpainting generator (masked face → unmasked face)."""

    def __init__(self, input_shape=(128, 128, 3), width_mult: float = 1.0, encoder: str = "small"):
        super().__init__()
        h, w, c = check_input_shape(input_shape, 32, "InpaintGenerator")
        self.encoder, ce, stride = make_backbone(encoder, c, width_mult)
        if h % stride or w % stride:
            raise ValueError(
                f"InpaintGenerator: input {h}x{w} must be divisible by the encoder stride {stride}"
            )
        self.bottleneck = nn.Sequential(
            nn.Conv2d(ce, ce, 3, padding=2, dilation=2), nn.BatchNorm2d(ce), nn.ReLU(inplace=True)
        )
        ups: list[nn.Module] = []
        ch = ce
        for _ in range(int(np.log2(stride))):
            nxt = max(scale_channels(16, width_mult), ch // 2)
            ups += [
                nn.ConvTranspose2d(ch, nxt, 4, 2, 1),
                nn.BatchNorm2d(nxt),
                nn.ReLU(inplace=True),
            ]
            ch = nxt
        self.decoder = nn.Sequential(*ups, nn.Conv2d(ch, c, 3, padding=1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The inpainted face, same shape as ``x``, in [0, 1]."""
        return self.decoder(self.bottleneck(self.encoder(x)))


class PatchDiscriminator(nn.Module):
    """Strided conv discriminator → one real/fake logit per image."""

    def __init__(self, in_channels: int = 3, width_mult: float = 1.0, n_down: int = 4):
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for i in range(n_down):
            nxt = scale_channels(64 * 2 ** min(i, 3), width_mult)
            layers += [nn.Conv2d(c, nxt, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            c = nxt
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N,)."""
        return self.out(self.features(x).mean(dim=(2, 3))).squeeze(1)


def crop_rows_cols(x: torch.Tensor, boxes: torch.Tensor, out_hw: tuple[int, int]) -> torch.Tensor:
    """Crop each image to its box (x0, y0, x1, y1 in pixels) and resize to ``out_hw`` (bilinear).

    Done with an affine sampling grid, so it is batched and differentiable.
    """
    n, _, h, w = x.shape
    b = boxes.to(x.dtype)
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = (b[:, 2] - b[:, 0]) / w
    theta[:, 0, 2] = (b[:, 0] + b[:, 2]) / w - 1
    theta[:, 1, 1] = (b[:, 3] - b[:, 1]) / h
    theta[:, 1, 2] = (b[:, 1] + b[:, 3]) / h - 1
    grid = F.affine_grid(theta, [n, x.shape[1], *out_hw], align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="border")


def occlusion_boxes(occlusion: np.ndarray | None, n: int, h: int, w: int) -> torch.Tensor:
    """Bounding boxes (N, 4) of each occlusion map; the lower half where a map is empty/None."""
    boxes = np.tile(np.array([0, h / 2, w, h], dtype=np.float32), (n, 1))
    if occlusion is not None:
        occ = np.asarray(occlusion, dtype=bool)
        rows, cols = occ.any(axis=2), occ.any(axis=1)
        for i in range(n):
            if rows[i].any():
                ys, xs = np.flatnonzero(rows[i]), np.flatnonzero(cols[i])
                boxes[i] = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
    return torch.from_numpy(boxes)


def train_inpainter(
    generator: InpaintGenerator,
    x_masked,
    x_unmasked,
    occlusion: np.ndarray | None = None,
    *,
    epochs: int = 5,
    batch_size: int = 32,
    lr: float = 2e-4,
    adv_weight: float = 1e-2,
    width_mult: float = 0.5,
    local_size: int | None = None,
    max_steps_per_epoch: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Train ``generator`` on pairs (masked face → the same face unmasked); return the history.

    Args:
        generator: an :class:`InpaintGenerator` (trained in place).
        x_masked, x_unmasked: paired faces, numpy (N, H, W, C) in [0, 1] (or uint8) or NCHW
            tensors; row i of both is the same face.
        occlusion: (N, H, W) bool mask region of each masked face, for the local
            discriminator's crop (lower half of the face when None).
        epochs, batch_size, lr: Adam(lr, betas=(0.5, 0.999)) for G and both discriminators.
        adv_weight: weight of the adversarial terms against the L1 reconstruction loss.
        width_mult: width of the two discriminators.
        local_size: side of the local crop (default H/2).
        max_steps_per_epoch: cap on batches per epoch (smoke).

    Returns:
        ``{"epoch": [...], "l1": [...], "g_adv": [...], "d_loss": [...]}`` (epoch means).
    """
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xm, xu = to_nchw(x_masked), to_nchw(x_unmasked)
    if xm.shape != xu.shape:
        raise ValueError(
            f"masked and unmasked faces must pair up; got {tuple(xm.shape)} vs {tuple(xu.shape)}"
        )
    n, c, h, w = xm.shape
    boxes = occlusion_boxes(occlusion, n, h, w)
    ls = local_size or h // 2
    d_global = PatchDiscriminator(c, width_mult, n_down=4)
    d_local = PatchDiscriminator(c, width_mult, n_down=3)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(
        [*d_global.parameters(), *d_local.parameters()], lr=lr, betas=(0.5, 0.999)
    )
    bce = nn.BCEWithLogitsLoss()
    steps = int(np.ceil(n / batch_size))
    if max_steps_per_epoch:
        steps = min(steps, int(max_steps_per_epoch))
    hist: dict[str, list] = {"epoch": [], "l1": [], "g_adv": [], "d_loss": []}
    generator.train()
    for epoch in tqdm(
        range(1, epochs + 1), desc="inpainting GAN", disable=not progress, unit="epoch"
    ):
        order = rng.permutation(n)
        sums = np.zeros(3)
        for s in range(steps):
            idx = torch.from_numpy(order[s * batch_size : (s + 1) * batch_size])
            m, u, bx = xm[idx], xu[idx], boxes[idx]
            fake = generator(m)
            # Discriminators: real unmasked faces vs generated ones, whole face and mask region.
            opt_d.zero_grad(set_to_none=True)
            fd = fake.detach()
            ones, zeros = torch.ones(len(idx)), torch.zeros(len(idx))
            d_loss = (
                bce(d_global(u), ones) + bce(d_global(fd), zeros)
                + bce(d_local(crop_rows_cols(u, bx, (ls, ls))), ones)
                + bce(d_local(crop_rows_cols(fd, bx, (ls, ls))), zeros)
            )  # fmt: skip
            d_loss.backward()
            opt_d.step()
            # Generator: reconstruction + fooling both discriminators.
            opt_g.zero_grad(set_to_none=True)
            l1 = F.l1_loss(fake, u)
            g_adv = bce(d_global(fake), ones) + bce(
                d_local(crop_rows_cols(fake, bx, (ls, ls))), ones
            )
            (l1 + adv_weight * g_adv).backward()
            opt_g.step()
            sums += (l1.item(), g_adv.item(), d_loss.item())
        means = sums / max(1, steps)
        for k, v in zip(("l1", "g_adv", "d_loss"), means, strict=True):
            hist[k].append(float(v))
        hist["epoch"].append(epoch)
    generator.eval()
    return hist


@torch.no_grad()
def inpaint(generator: InpaintGenerator, x, batch_size: int = 128) -> np.ndarray:
    """Inpainted faces (N, H, W, C) float32 in [0, 1] for masked faces ``x`` (see :func:`to_nchw`)."""
    generator.eval()
    xt = to_nchw(x)
    out = [generator(xt[s : s + batch_size]) for s in range(0, len(xt), batch_size)]
    return torch.cat(out).permute(0, 2, 3, 1).numpy()


# ------------------------------------------------------------------------------ landmarks


class LandmarkRegressor(nn.Module):
    """Small CNN regressing the 68 iBUG landmarks as (x, y) fractions of width/height."""

    def __init__(self, input_shape=(128, 128, 3), width_mult: float = 1.0):
        super().__init__()
        _, _, c = check_input_shape(input_shape, 32, "LandmarkRegressor")
        self.features, cf, _ = make_backbone("small", c, width_mult)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(cf * 16, 256), nn.ReLU(inplace=True),
            nn.Linear(256, 136), nn.Sigmoid(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 68, 2) landmarks as fractions of (W, H)."""
        return self.head(self.features(x)).view(-1, 68, 2)

    @torch.no_grad()
    def predict_pixels(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 68, 2) landmarks in pixel (x, y) of ``x``."""
        was = self.training
        self.eval()
        frac = self(x)
        self.train(was)
        scale = torch.tensor([x.shape[-1], x.shape[-2]], dtype=frac.dtype, device=frac.device)
        return frac * scale


def train_landmarker(
    model: LandmarkRegressor,
    x,
    landmarks: np.ndarray,
    *,
    epochs: int = 5,
    batch_size: int = 32,
    lr: float = 1e-3,
    max_steps_per_epoch: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Fit ``model`` to pixel landmarks (N, 68, 2) of faces ``x``; MSE on fractions.

    Returns ``{"epoch": [...], "mse": [...], "nme": [...]}``, where nme is the mean point
    error divided by the image width (epoch means over training batches).
    """
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xt = to_nchw(x)
    n, _, h, w = xt.shape
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape != (n, 68, 2):
        raise ValueError(f"landmarks must be ({n}, 68, 2) pixel (x, y); got {lm.shape}")
    target = torch.from_numpy(lm / np.array([w, h], dtype=np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = int(np.ceil(n / batch_size))
    if max_steps_per_epoch:
        steps = min(steps, int(max_steps_per_epoch))
    hist: dict[str, list] = {"epoch": [], "mse": [], "nme": []}
    model.train()
    for epoch in tqdm(range(1, epochs + 1), desc="landmarks", disable=not progress, unit="epoch"):
        order = rng.permutation(n)
        mse_sum = nme_sum = 0.0
        for s in range(steps):
            idx = torch.from_numpy(order[s * batch_size : (s + 1) * batch_size])
            pred = model(xt[idx])
            loss = F.mse_loss(pred, target[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            mse_sum += loss.item()
            nme_sum += (pred.detach() - target[idx]).norm(dim=-1).mean().item()
        hist["epoch"].append(epoch)
        hist["mse"].append(mse_sum / max(1, steps))
        hist["nme"].append(nme_sum / max(1, steps))
    model.eval()
    return hist


# ------------------------------------------------------------------------ stage 2 (FER)


class YangInpaintFER(TwoBranchOutput, nn.Module):
    """Approach 1, stage 2: split the masked face at landmark 29 (found on the inpainted face).

    ``forward(x)`` returns ``(z_u, z_m)``: logits of the upper (unmasked) and lower (masked)
    branches; ``forward(x, split_y=y)`` splits at given rows (N,) instead.
    """

    def __init__(
        self,
        num_classes: int,
        generator: InpaintGenerator,
        landmarker: LandmarkRegressor,
        input_shape=(128, 128, 3),
        width_mult: float = 1.0,
        backbone: str = "small",
        hidden: int = 256,
        dropout: float = 0.5,
        unmasked_weight: float = 0.5,
        split_range: tuple[float, float] = (0.25, 0.85),
    ) -> None:
        super().__init__()
        h, w, c = check_input_shape(input_shape, 32, "YangInpaintFER")
        self.input_hw = (h, w)
        self.generator, self.landmarker = generator, landmarker
        for p in [*generator.parameters(), *landmarker.parameters()]:
            p.requires_grad_(False)
        self.backbone, cf, stride = make_backbone(backbone, c, width_mult)
        self.part_hw = (max(stride, h // 2), w)
        feat_hw = (self.part_hw[0] // stride, self.part_hw[1] // stride)
        head = TwoBranchHead(cf, feat_hw, hidden, num_classes, dropout)
        self.branch_u, self.branch_m = head.branch_u, head.branch_m
        self.unmasked_weight = unmasked_weight
        self.split_range = split_range
        self._frozen_eval()

    def _frozen_eval(self) -> None:
        self.generator.eval()
        self.landmarker.eval()

    def train(self, mode: bool = True) -> YangInpaintFER:
        """As ``nn.Module.train`` but the frozen generator and landmark net stay in eval."""
        super().train(mode)
        self._frozen_eval()
        return self

    @torch.no_grad()
    def landmarks(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 68, 2) pixel landmarks found on the inpainted version of ``x``."""
        return self.landmarker.predict_pixels(self.generator(x))

    @torch.no_grad()
    def split_rows(self, x: torch.Tensor) -> torch.Tensor:
        """Row of landmark No. 29 per face, clipped to ``split_range`` of the height."""
        h = x.shape[-2]
        y = self.landmarks(x)[:, LANDMARK_29, 1]
        return y.clamp(self.split_range[0] * h, self.split_range[1] * h)

    def parts(self, x: torch.Tensor, split_y: torch.Tensor | None = None):
        """(upper, lower): the face above / below ``split_y``, each resized to (H/2, W)."""
        n, _, h, w = x.shape
        y = self.split_rows(x) if split_y is None else split_y.to(x.dtype)
        zeros, full_w, full_h = torch.zeros_like(y), torch.full_like(y, w), torch.full_like(y, h)
        upper = crop_rows_cols(x, torch.stack([zeros, zeros, full_w, y], 1), self.part_hw)
        lower = crop_rows_cols(x, torch.stack([zeros, y, full_w, full_h], 1), self.part_hw)
        return upper, lower

    def forward(self, x: torch.Tensor, split_y: torch.Tensor | None = None):
        """``(z_u, z_m)``."""
        upper, lower = self.parts(x, split_y)
        return self.branch_u(self.backbone(upper)), self.branch_m(self.backbone(lower))


def build_yang_inpaint(
    num_classes: int,
    input_shape=(128, 128, 3),
    width_mult: float = 1.0,
    generator: InpaintGenerator | None = None,
    landmarker: LandmarkRegressor | None = None,
    **kw,
) -> YangInpaintFER:
    """Approach 1 on a trained ``generator`` (:func:`train_inpainter`) and ``landmarker``.

    Missing pieces are built untrained (generator encoder ``"small"``), which only suits
    shape checks and tests (a warning says so). ``backbone`` picks the FER feature extractor
    ("small" default, "vgg19" for the paper).
    """
    if generator is None or landmarker is None:
        warnings.warn(
            "build_yang_inpaint: no trained generator/landmarker given; using untrained ones",
            stacklevel=2,
        )
    generator = generator or InpaintGenerator(input_shape, width_mult)
    landmarker = landmarker or LandmarkRegressor(input_shape, width_mult)
    return YangInpaintFER(num_classes, generator, landmarker, input_shape, width_mult, **kw)


def landmark_error(landmarker: LandmarkRegressor, x: np.ndarray, truth: np.ndarray):
    """``(error, points)``: mean Euclidean error of ``landmarker``'s 68 points on faces ``x``
    (N, H, W, C) in [0, 1] against ``truth`` (N, 68, 2) pixels, as a fraction of the image
    **width** (notebook 04 compares masked, unmasked and inpainted faces of one size);
    ``landmarks.nme`` divides by the inter-ocular distance instead."""
    with torch.no_grad():
        pts = landmarker.predict_pixels(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    return float(np.linalg.norm(pts - truth, axis=-1).mean() / x.shape[2]), pts
