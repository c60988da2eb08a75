"""Tests of the torch models (Hayashi ABN/MCN/FECN/VGG11, Yang VGG19/MobileNet/approaches 1-2).

Reference parameter counts are derived here from the papers' layer lists (not torchvision).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from maskfer_lib.models import build_model, count_params
from maskfer_lib.models.torch.abn import build_fecn, build_mcn
from maskfer_lib.models.torch.yang import (
    append_heatmap,
    build_yang_attention,
    build_yang_stage1,
    occlusion_heatmap,
)
from maskfer_lib.models.torch.yang_inpaint import (
    InpaintGenerator,
    LandmarkRegressor,
    build_yang_inpaint,
    crop_rows_cols,
    inpaint,
    occlusion_boxes,
    train_inpainter,
    train_landmarker,
)

SMALL = (64, 64, 3)
W = 0.25

# ------------------------------------------------------------------ hand-derived references

VGG11_CONVS = [64, 128, 256, 256, 512, 512, 512, 512]  # configuration A
VGG19_CONVS = [64, 64, 128, 128, 256, 256, 256, 256] + [512] * 8  # configuration E


def conv_stack_params(channels, c_in=3, bn=True):
    """3x3 convs with bias (+ BN gamma/beta) along a channel list."""
    total, c = 0, c_in
    for c_out in channels:
        total += 9 * c * c_out + c_out + (2 * c_out if bn else 0)
        c = c_out
    return total


def vgg_classifier_params(k, c=512, pool=7, hidden=4096):
    return (c * pool * pool * hidden + hidden) + (hidden * hidden + hidden) + (hidden * k + k)


def test_reference_conv_counts_match_known_vgg_sizes():
    # Independent check of the helper: the VGG conv stacks have 9,220,480 (A) and
    # 20,024,384 (E) parameters without BN, as tallied in Simonyan & Zisserman's Table 2 sizes.
    assert conv_stack_params(VGG11_CONVS, bn=False) == 9_220_480
    assert conv_stack_params(VGG19_CONVS, bn=False) == 20_024_384


@pytest.mark.parametrize("name,convs,k", [("vgg11", VGG11_CONVS, 4), ("vgg19", VGG19_CONVS, 3)])
def test_vgg_param_counts_and_shapes(name, convs, k):
    m = build_model(name, k, (224, 224, 3))
    assert count_params(m.features) == conv_stack_params(convs, bn=True)
    assert count_params(m) == conv_stack_params(convs) + vgg_classifier_params(k)
    m.eval()
    with torch.no_grad():
        assert m(torch.rand(1, 3, 224, 224)).shape == (1, k)


def test_vgg_small_input_and_width():
    m = build_model("vgg11", 4, SMALL, width_mult=W)
    assert m.pool_size == 2  # 64 / 32: no 7x7 upsampled copy of a 2x2 map
    convs = [int(c * W) for c in VGG11_CONVS]
    assert count_params(m.features) == conv_stack_params(convs)
    assert m(torch.rand(3, 3, 64, 64)).shape == (3, 4)
    with pytest.raises(ValueError, match="too small"):
        build_model("vgg11", 4, (16, 16, 3))


def test_mobilenet_v1_param_count():
    m = build_model("yang_mobilenet", 3, (224, 224, 3))
    blocks = [(32, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512)]
    blocks += [(512, 512)] * 5 + [(512, 1024), (1024, 1024)]
    ref = 3 * 9 * 32 + 2 * 32  # stem conv (no bias) + BN
    for cin, cout in blocks:
        ref += 9 * cin + 2 * cin + cin * cout + 2 * cout
    ref += 1024 * 3 + 3
    assert count_params(m) == ref
    assert m(torch.rand(2, 3, 96, 96)).shape == (2, 3)


def test_deep_emotion_stage1_has_deep_emotion_sizes():
    m = build_model("yang_stage1")  # registry default: 48x48 gray, 2 classes
    assert m.classifier[1].in_features == 810 and m.fc_loc[0].in_features == 640
    ref = (10 + 9 * 10) + 3 * (9 * 100 + 10) + 20  # features (+BN)
    ref += (49 * 8 + 8) + (25 * 80 + 10) + (640 * 32 + 32) + (32 * 6 + 6)  # localisation
    ref += (810 * 50 + 50) + (50 * 2 + 2)
    assert count_params(m) == ref
    x = torch.rand(2, 1, 48, 48)
    m.eval()
    # Identity initialisation of the spatial transformer: the warp leaves the input as is.
    assert torch.allclose(m.stn(x), x, atol=1e-5)


# ------------------------------------------------------------------------ ABN / MCN / FECN


def test_abn_outputs_loss_logits_and_attention():
    torch.manual_seed(0)
    m = build_model("abn", 4, SMALL, width_mult=W)
    x = torch.rand(3, 3, 64, 64)
    y = torch.tensor([0, 1, 3])
    out = m(x)
    logits, att_logits, att = out
    assert logits.shape == (3, 4) and att_logits.shape == (3, 4) and att.shape == (3, 1, 4, 4)
    assert torch.equal(m.logits(out), logits)
    loss = m.compute_loss(out, y)
    assert loss.ndim == 0
    assert torch.isclose(loss, F.cross_entropy(logits, y) + F.cross_entropy(att_logits, y))
    loss.backward()  # both branches receive gradients
    assert m.att_maps[0].weight.grad.abs().sum() > 0
    assert m.perception.classifier[-1].weight.grad.abs().sum() > 0
    m.eval()
    a = m.attention_map(x)
    assert a.shape == (3, 1, 4, 4) and a.min() >= 0 and a.max() <= 1
    up = m.attention_map(x, upsample=True)
    assert up.shape == (3, 1, 64, 64) and up.min() >= 0 and up.max() <= 1


def test_attention_map_keeps_spatial_layout():
    # A feature at the top-left of the input may only change the top-left of the map:
    # the receptive field of an output cell at the far corner does not reach it.
    torch.manual_seed(0)
    m = build_model("abn", 4, (128, 128, 3), width_mult=W).eval()
    x = torch.rand(1, 3, 128, 128)
    x2 = x.clone()
    x2[..., :16, :16] = 1.0
    with torch.no_grad():
        d = (m.attention_map(x2) - m.attention_map(x)).abs()[0, 0]
    assert d[0, 0] > 0
    assert d[-1, -1] == 0


def test_mcn_freeze_drops_classifier_and_gradients():
    mcn = build_mcn(2, SMALL, width_mult=W)
    n_before = count_params(mcn)
    out = mcn.freeze_as_attention_generator()
    assert out is mcn and mcn.frozen and mcn.perception is None
    assert count_params(mcn) < n_before
    assert all(not p.requires_grad for p in mcn.parameters())
    mcn.train()  # stays in eval: BN statistics are part of the frozen generator
    assert not mcn.training
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    m = mcn(x)
    assert m.shape == (2, 1, 4, 4) and m.min() >= 0 and m.max() <= 1
    with pytest.raises(RuntimeError, match="frozen"):
        mcn.logits(m)


def test_fecn_uses_the_mcn_map():
    torch.manual_seed(0)
    mcn = build_mcn(2, SMALL, width_mult=W)
    fecn = build_fecn(4, SMALL, width_mult=W, mcn=mcn).eval()
    assert mcn.frozen  # build_fecn freezes a trained-but-unfrozen MCN
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        default = fecn(x)
        via_map = fecn(x, attention=mcn.attention_map(x))
        ones = fecn(x, attention=torch.ones(2, 1, 4, 4))
        half = fecn(x, attention=torch.full((2, 1, 4, 4), 0.5))
    assert torch.allclose(default, via_map)
    assert not torch.allclose(ones, half, atol=1e-4)
    # Training FECN leaves the MCN untouched.
    before = [p.clone() for p in mcn.parameters()]
    fecn.train()
    loss = fecn.compute_loss(fecn(x), torch.tensor([0, 2]))
    loss.backward()
    assert all(p.grad is None for p in mcn.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, mcn.parameters(), strict=True))
    assert not mcn.training


def test_fecn_without_mcn_warns():
    with pytest.warns(UserWarning, match="untrained"):
        build_model("fecn", 4, SMALL, width_mult=W)


# ------------------------------------------------------------------------ Yang approach 2


class _PatchDetector(torch.nn.Module):
    """A fake stage-1 net: 'masked' when the lower-left quarter is (almost) all bright."""

    input_shape = (32, 32, 3)

    def forward(self, x):
        s = (x[:, :, 16:, :16].mean(dim=(1, 2, 3)) - 0.9) * 50
        return torch.stack([-s, s], 1)


def test_occlusion_heatmap_finds_the_region_that_matters():
    x = torch.zeros(2, 3, 32, 32)
    x[:, :, 16:, :16] = 1.0  # a bright "mask" in the lower-left quarter
    h = occlusion_heatmap(_PatchDetector(), x, patch=8, stride=4)
    assert h.shape == (2, 1, 32, 32) and h.min() >= 0 and h.max() <= 1
    inside, outside = h[..., 18:30, 2:14].mean(), h[..., 2:14, 18:30].mean()
    assert inside > 0.8 and abs(outside - 0.5) < 0.01
    raw = occlusion_heatmap(_PatchDetector(), x, patch=8, stride=4, return_raw=True)
    assert raw.shape == (2, 1, 7, 7)
    # Different scale only changes the squashing, not where the map is high.
    assert torch.equal(
        h.flatten().argmax(),
        occlusion_heatmap(_PatchDetector(), x, 8, 4, scale=1).flatten().argmax(),
    )


def test_occlusion_heatmap_on_deep_emotion_and_resizing():
    torch.manual_seed(0)
    stage1 = build_yang_stage1(2, (48, 48, 1))
    x = torch.rand(3, 3, 64, 64)  # RGB 64x64 into a gray 48x48 stage-1 net
    h = occlusion_heatmap(stage1, x, patch=12, stride=6)
    assert h.shape == (3, 1, 64, 64) and h.min() >= 0 and h.max() <= 1
    assert stage1.training  # restored


def test_yang_attention_contract_and_heat_use():
    torch.manual_seed(0)
    stage1 = build_yang_stage1(2, SMALL, width_mult=0.5)
    m = build_yang_attention(3, SMALL, width_mult=W, stage1=stage1, backbone="small")
    x = torch.rand(4, 3, 64, 64)
    y = torch.tensor([0, 1, 2, 1])
    out = m(x)
    z_u, z_m = out
    assert z_u.shape == (4, 3) and z_m.shape == (4, 3)
    assert torch.isclose(m.compute_loss(out, y), F.cross_entropy(z_u, y) + F.cross_entropy(z_m, y))
    p = torch.softmax(m.logits(out), 1)
    assert torch.allclose(p, (torch.softmax(z_u, 1) + torch.softmax(z_m, 1)) / 2, atol=1e-6)
    hm = m.heatmap(x)
    assert hm.shape == (4, 1, 64, 64) and 0 <= hm.min() and hm.max() <= 1
    m.eval()
    with torch.no_grad():
        a = m(x, heat=torch.zeros(4, 1, 64, 64))
        b = m(x, heat=torch.ones(4, 1, 64, 64))
    # H_m = 0 silences the masked branch's features, H_m = 1 the unmasked branch's.
    assert not torch.allclose(a[0], b[0]) and not torch.allclose(a[1], b[1])
    # A precomputed H_m as a 4th channel gives the same outputs as computing it inside.
    x4 = append_heatmap(m, x.permute(0, 2, 3, 1).numpy())
    assert x4.shape == (4, 64, 64, 4)
    with torch.no_grad():
        inside = m(x)
        pre = m(torch.from_numpy(x4).permute(0, 3, 1, 2))
    assert torch.allclose(inside[0], pre[0], atol=1e-5) and torch.allclose(
        inside[1], pre[1], atol=1e-5
    )
    m.train()
    assert not m.stage1.training
    m.compute_loss(m(x), y).backward()
    assert all(q.grad is None for q in m.stage1.parameters())


# ------------------------------------------------------------------------ Yang approach 1


def test_crop_and_boxes():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    crop = crop_rows_cols(x, torch.tensor([[0.0, 2.0, 4.0, 4.0]]), (2, 4))
    assert torch.allclose(crop, x[..., 2:, :])
    occ = np.zeros((2, 8, 8), bool)
    occ[0, 5:7, 1:4] = True
    b = occlusion_boxes(occ, 2, 8, 8)
    assert b[0].tolist() == [1, 5, 4, 7] and b[1].tolist() == [0, 4, 8, 8]


def test_inpainter_and_landmarker_learn():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    u = rng.random((8, 32, 32, 3)).astype(np.float32) * 0.2 + 0.4
    m = u.copy()
    m[:, 16:] = 1.0  # a white "mask" on the lower half
    g = InpaintGenerator((32, 32, 3), width_mult=0.25)
    before = np.abs(inpaint(g, m) - u).mean()
    hist = train_inpainter(
        g, m, u, epochs=4, batch_size=8, lr=3e-3, progress=False, width_mult=0.125
    )
    after = np.abs(inpaint(g, m) - u).mean()
    assert set(hist) == {"epoch", "l1", "g_adv", "d_loss"} and len(hist["l1"]) == 4
    assert after < before
    lm = np.tile(rng.random((1, 68, 2)).astype(np.float32) * 32, (8, 1, 1))
    reg = LandmarkRegressor((32, 32, 3), width_mult=0.25)
    h2 = train_landmarker(reg, u, lm, epochs=5, batch_size=8, lr=3e-3, progress=False)
    assert h2["mse"][-1] < h2["mse"][0]
    assert reg.predict_pixels(torch.rand(2, 3, 32, 32)).shape == (2, 68, 2)


def test_yang_inpaint_contract_and_split():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = build_yang_inpaint(3, SMALL, width_mult=W)
    x = torch.rand(2, 3, 64, 64)
    upper, lower = m.parts(x, split_y=torch.tensor([32.0, 32.0]))
    assert upper.shape == lower.shape == (2, 3, 32, 64)
    assert torch.allclose(upper, x[..., :32, :], atol=1e-5)
    assert torch.allclose(lower, x[..., 32:, :], atol=1e-5)
    rows = m.split_rows(x)
    assert rows.shape == (2,) and (rows >= 16).all() and (rows <= 0.85 * 64).all()
    out = m(x)
    y = torch.tensor([0, 2])
    assert out[0].shape == (2, 3)
    loss = m.compute_loss(out, y)
    loss.backward()
    assert all(p.grad is None for p in m.generator.parameters())
    assert m.logits(out).shape == (2, 3)
    m.train()
    assert not m.generator.training and not m.landmarker.training


# ------------------------------------------------------------------------ notebook helpers


def test_inside_outside_and_resize():
    from maskfer_lib.maps import inside_outside, resize_masks

    region = np.zeros((3, 8, 8), bool)
    region[:, 4:] = True
    maps = np.where(region, 0.9, 0.2)
    region[2] = False  # a face without mask is left out
    r = inside_outside(maps, region)
    assert r["faces"] == 2 and np.isclose(r["inside"], 0.9) and np.isclose(r["outside"], 0.2)
    assert np.isclose(r["difference"], 0.7) and np.isclose(r["ratio"], 4.5)
    with pytest.raises(ValueError, match="same shape"):
        inside_outside(maps[:, :4], region)
    small = resize_masks(np.repeat(region[:1], 2, 0), (4, 4))
    assert small.shape == (2, 4, 4) and small[0, 2:].all() and not small[0, :2].any()


def test_per_class_table_maps_and_train_and_record(tmp_path):
    from maskfer_lib.config import TrainCfg
    from maskfer_lib.evaluate import evaluate, load_predictions, load_run_summary
    from maskfer_lib.maps import class_mean_maps, map_stack, per_class_accuracy
    from maskfer_lib.runs import Split, train_and_record

    res = evaluate([0, 0, 1, 1], [0, 1, 1, 1], ("a", "b"))
    t = per_class_accuracy({"m": res}, ("a", "b"))
    assert t.loc["m"].tolist() == [50.0, 100.0, 75.0]
    cm = class_mean_maps(
        np.stack([np.zeros((2, 2)), np.ones((2, 2)), np.ones((2, 2))]), [0, 1, 1], 3
    )
    assert cm[0].max() == 0 and cm[1].min() == 1 and np.isnan(cm[2]).all()

    rng = np.random.default_rng(0)
    x = rng.random((12, 32, 32, 3)).astype(np.float32)
    y = np.arange(12) % 2
    torch.manual_seed(0)
    abn = build_model("abn", 2, (32, 32, 3), width_mult=0.125)
    maps = map_stack(lambda t: abn.eval().attention_map(t), x)
    assert maps.shape == (12, 32, 32) and 0 <= maps.min() and maps.max() <= 1
    s = Split(x, y)
    cfg = TrainCfg(epochs=1, batch_size=8, width_mult=0.125)
    out = train_and_record("abn", s, s, {"test_masked": s, "test_unmasked": s}, model=abn,
                           class_names=("a", "b"), run_dir=tmp_path, cfg=cfg, progress=False,
                           task="t")  # fmt: skip
    assert set(out.results) == {"test_masked", "test_unmasked"}
    _, yt, proba, names = load_predictions(tmp_path, "abn", "test_masked")
    assert names == ("a", "b") and proba.shape == (12, 2) and (yt == y).all()
    summ = load_run_summary(tmp_path, "abn")
    assert summ["task"] == "t" and summ["params"] == count_params(abn)


def test_yang_branches_are_attentional_conv_networks_with_pinned_size():
    from maskfer_lib.models.torch.yang import AttentionalConvBranch

    torch.manual_seed(0)
    branch = AttentionalConvBranch(512, (7, 7), hidden=256, num_classes=3)
    # VGG19's 512 x 7 x 7 map at 224 px. The paper gives no sizes; ours, counted by hand:
    # localisation conv 512*64*9+64, FC 256*32+32, FC 32*6+6; conv 512*256*9 (no bias),
    # BN 2*256; FC 256*49*256+256, FC 256*3+3.
    expected = (294_912 + 64) + (8_192 + 32) + (192 + 6) + 1_179_648 + 512 + (3_211_264 + 256) + 771
    assert sum(p.numel() for p in branch.parameters()) == expected == 4_695_849
    f = torch.rand(2, 512, 7, 7)
    assert torch.allclose(branch.warp(f), f, atol=1e-5)  # starts at the identity warp
    assert branch(f).shape == (2, 3)
    m = build_yang_attention(
        3, SMALL, width_mult=W, stage1=build_yang_stage1(2, SMALL), backbone="small"
    )
    assert isinstance(m.branch_u, AttentionalConvBranch) and isinstance(
        m.branch_m, AttentionalConvBranch
    )


def test_map_diagnostics_tell_a_positional_map_from_a_face_map():
    from maskfer_lib import maps

    lm = np.zeros((2, 68, 2), np.float32)
    lm[:, 36:48] = [[8.0, 4.0]] * 6 + [[12.0, 6.0]] * 6
    eyes = maps.eye_region(lm, (32, 32), (16, 16), pad=0)
    assert eyes[0, 2:4, 4:7].all() and eyes.sum() == 2 * 2 * 3
    occ = np.zeros((2, 16, 16), bool)
    occ[:, 10:] = True
    faces = np.zeros((2, 16, 16, 3), np.float32)

    def follows_the_face(x):  # bright where the image is bright
        return x.mean(dim=1, keepdim=True)

    def fixed_corner(x):  # the same map whatever the input
        m = torch.zeros(x.shape[0], 1, *x.shape[-2:])
        m[..., :4, :4] = 1.0
        return m + 0.1 * x.mean(dim=1, keepdim=True)

    masked = faces.copy()
    masked[:, 10:] = 1.0  # a white mask on the lower face
    unmasked = faces.copy()
    unmasked[:, 2:4, 4:7] = 0.6  # visible eyes
    face = maps.map_diagnostics(follows_the_face, masked, unmasked, occ, eyes)
    assert face.set_index("faces").loc["masked", "inside_mask"] == pytest.approx(1.0)
    assert face.set_index("faces").loc["masked", "outside_mask"] == pytest.approx(0.0)
    corner = maps.map_diagnostics(fixed_corner, masked, unmasked, occ, eyes)
    assert corner.set_index("faces").loc["unmasked", "corr_with_grey_input_map"] > 0.9
    assert "unmasked faces the spatial pattern is mostly the network's own" in " ".join(
        maps.map_findings(corner)
    )
    assert maps.map_findings(face)[0].startswith("Masked faces raise the whole map")


def test_landmark_error_is_a_fraction_of_the_width():
    from maskfer_lib.models.torch.yang_inpaint import LandmarkRegressor, landmark_error

    reg = LandmarkRegressor((32, 32, 3), width_mult=0.25)
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    _, pts = landmark_error(reg, x, np.zeros((2, 68, 2)))
    err, _ = landmark_error(reg, x, pts + np.array([3.2, 0.0]))  # every point 3.2 px off
    assert err == pytest.approx(3.2 / 32, rel=1e-4)
