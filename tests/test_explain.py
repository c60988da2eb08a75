"""Tests for maskfer_lib.explain: CAM shapes/ranges, the multi-output wrapper, overlays and
energy shares on hand-made maps."""

import numpy as np
import pytest
import torch
from tiny_models import images, tiny_keras, tiny_torch

import maskfer_lib  # noqa: F401  (import order guard before torch/TensorFlow)
from maskfer_lib import explain
from maskfer_lib.models.torch.yang import TwoBranchOutput
from maskfer_lib.records import FaceDataset


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "eigencam", "scorecam"])
def test_torch_cam_shape_and_range(method):
    heat = explain.cam(tiny_torch(), images(), method=method)
    assert heat.shape == (2, 16, 16)
    assert heat.dtype == np.float32
    assert heat.min() >= 0 and heat.max() <= 1
    assert heat.max() == pytest.approx(1.0, abs=1e-5)  # min-max scaled, not all zero


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "eigencam", "scorecam"])
def test_keras_cam_shape_and_range(method):
    model = tiny_keras()
    heat = explain.cam(model, images(), target_class=1, method=method)
    assert heat.shape == (2, 16, 16)
    assert heat.min() >= 0 and heat.max() <= 1
    assert np.isclose(heat.max(axis=(1, 2)), 1.0, atol=1e-5).all()
    assert explain.default_keras_layer(model).name == "last_conv"


def test_keras_gradcam_uses_presoftmax_scores():
    """Grad-CAM of a softmax model equals Grad-CAM of the same model without the softmax."""
    soft = tiny_keras(softmax=True)
    raw = tiny_keras(softmax=False)
    raw.set_weights(soft.get_weights())
    x = images(3)
    a = explain.cam(soft, x, target_class=[0, 1, 2])
    b = explain.cam(raw, x, target_class=[0, 1, 2])
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_multi_output_wrapper_targets_logits():
    import torch

    model = tiny_torch(two_outputs=True)
    wrapped = explain.wrap_logits(model)
    x = torch.from_numpy(images().transpose(0, 3, 1, 2))
    with torch.no_grad():
        np.testing.assert_array_equal(wrapped(x).numpy(), model(x)[1].numpy())
    heat = explain.cam(model, images(), target_class=[0, 2])
    assert heat.shape == (2, 16, 16) and np.isfinite(heat).all()
    # The CAM must follow the logits head, not the auxiliary one: swapping the heads' weights
    # changes the map for the same target.
    with torch.no_grad():
        model.head.weight.copy_(torch.randn_like(model.head.weight))
    assert not np.allclose(explain.cam(model, images(), target_class=[0, 2]), heat)


def test_cam_rejects_unknown_method_and_model():
    with pytest.raises(ValueError, match="unknown CAM method"):
        explain.cam(tiny_torch(), images(), method="lime")
    with pytest.raises(TypeError, match="Keras model or torch"):
        explain.cam(object(), images())


def test_energy_share_hand_computed():
    heat = np.zeros((4, 4))
    heat[0, 0], heat[0, 1], heat[3, 3] = 2.0, 1.0, 1.0
    region = np.zeros((4, 4), bool)
    region[0, :] = True
    assert explain.energy_share(heat, region) == pytest.approx(3 / 4)
    assert explain.energy_share(heat, ~region) == pytest.approx(1 / 4)
    assert np.isnan(explain.energy_share(np.zeros((4, 4)), region))
    # A uniform map gives the region's area share.
    assert explain.energy_share(np.ones((8, 8)), np.eye(8, dtype=bool)) == pytest.approx(1 / 8)


def frontal_landmarks(size=64):
    """Rough 68-point frontal layout: jaw 0-16, nose bridge 27-30, eyes 36-47."""
    lm = np.zeros((68, 2), np.float32)
    s = size / 64
    jaw_x = np.linspace(10, 54, 17)
    jaw_y = 30 + 24 * np.sin(np.linspace(0, np.pi, 17))
    lm[:17] = np.stack([jaw_x, jaw_y], 1)
    lm[27:31] = [[32, 24], [32, 28], [32, 32], [32, 36]]
    lm[36:42] = [[20, 26], [22, 25], [25, 25], [27, 26], [25, 27], [22, 27]]
    lm[42:48] = [[37, 26], [39, 25], [42, 25], [44, 26], [42, 27], [39, 27]]
    lm[48:68] = [32, 46]
    return lm * s


def test_upper_face_region_cut_line():
    region = explain.upper_face_region(frontal_landmarks(), (64, 64))
    assert region[10, 32] and region[30, 32]  # forehead, nose bridge point 29 row
    assert not region[33, 32] and not region[50, 32]  # below the cut, mouth
    assert not region[20, 2]  # outside the jaw's horizontal extent
    with pytest.raises(ValueError, match="68"):
        explain.upper_face_region(np.zeros((5, 2)), (64, 64))


def test_overlay_rgb_uint8_and_alpha():
    img = np.full((8, 8), 100, np.uint8)
    heat = np.zeros((4, 4), np.float32)
    out = explain.overlay(img, heat, alpha=0.0)
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert (out == 100).all()
    hot = explain.overlay(img, np.ones((4, 4)), alpha=1.0)
    assert (hot[..., 0] > 100).all() and (hot[..., 2] < 100).all()  # JET high = red


def test_attention_share_table_groups_and_values():
    n, size = 4, 64
    lm = np.stack([frontal_landmarks(size)] * n)
    occ = np.zeros((n, size, size), bool)
    occ[:, 34:, :] = True
    ds = FaceDataset(
        images=np.zeros((n, size, size, 3), np.uint8),
        labels=[0, 0, 1, 1],
        class_names=("happy", "sad"),
        landmarks=lm,
        masked=np.array([True, False, True, False]),
        occlusion=occ,
    )
    heat_low = np.zeros((n, size, size), np.float32)
    heat_low[:, 50:, :] = 1.0  # all energy on the mask
    heat_up = np.zeros((n, size, size), np.float32)
    heat_up[:, 15:25, 25:40] = 1.0  # all energy on the eyes
    df = explain.attention_share_table({"low": heat_low, "up": heat_up}, ds)
    assert len(df) == 2 * 2 * 2
    assert set(df["condition"]) == {"masked", "unmasked"}
    low = df[df.model == "low"]
    up = df[df.model == "up"]
    assert np.allclose(low["mask_share"], 1.0) and np.allclose(low["upper_share"], 0.0)
    assert np.allclose(up["mask_share"], 0.0) and np.allclose(up["upper_share"], 1.0)
    assert (df["n"] == 1).all()


def test_explain_model_adds_own_heatmap_once():
    """A Yang-style model (heat map as an extra input channel) gets CAMs and its own map."""
    import torch
    from torch import nn

    class HeatNet(nn.Module):
        in_channels = 3

        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
            self.head = nn.Linear(4, 2)
            self.heat_calls = 0

        def heatmap(self, x):
            self.heat_calls += 1
            h = torch.zeros(x.shape[0], 1, *x.shape[-2:])
            h[..., :8, :] = 1.0  # the top half is "occluded"
            return h

        def forward(self, x):
            if x.shape[1] == 4:
                x, heat = x[:, :3], x[:, 3:]
            else:
                heat = self.heatmap(x)
            return self.head((self.backbone(x) * (1 - heat)).mean(dim=(2, 3)))

    model = HeatNet().eval()
    maps = explain.explain_model(model, images(), methods=("gradcam", "eigencam"))
    assert set(maps) == {"gradcam", "eigencam", "attention"}
    assert model.heat_calls == 1  # computed once, passed as a channel to every CAM
    assert np.allclose(maps["attention"][:, :8], 1) and np.allclose(maps["attention"][:, 8:], 0)


def test_feature_map_size_is_the_cam_layers_output():
    assert explain.feature_map_size(tiny_torch(), (16, 16, 3)) == (8, 8)  # one 2x2 pool
    model = tiny_keras(size=16)
    layer = explain.default_keras_layer(model)
    assert explain.feature_map_size(model, (16, 16, 3)) == tuple(layer.output.shape[1:3])


def test_cam_figure_has_a_colour_bar_and_captions():
    import matplotlib.pyplot as plt

    faces = (np.random.default_rng(0).random((2, 16, 16, 3)) * 255).astype(np.uint8)
    maps = {"gradcam": np.random.default_rng(1).random((2, 16, 16))}
    fig = explain.cam_figure(
        faces, faces, maps, maps, ["true a", "true b"],
        captions=[("pred a 0.90", "pred b 0.40"), ("pred b 0.70", "pred b 0.60")],
    )  # fmt: skip
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert any("map value" in lab for lab in labels)  # the colour bar's axis
    assert fig.axes[0].get_xlabel() == "pred a 0.90" and fig.axes[2].get_xlabel() == "pred b 0.40"
    plt.close(fig)


def test_own_attention_keeps_its_absolute_level():
    import torch
    from torch import nn

    class FlatAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 3)

        def attention_map(self, x, upsample=True):
            return torch.full((x.shape[0], 1, *x.shape[-2:]), 0.3)

    maps = explain.model_attention(FlatAttention(), images())
    assert np.allclose(maps, 0.3)  # a flat map stays flat, not stretched to 0 or 1


def test_default_keras_layer_avoids_a_two_by_two_map():
    from maskfer_lib.models import build_model

    model = build_model("putro_slim_rgc", num_classes=7, input_shape=(64, 64, 3))
    last = [lyr for lyr in model.layers if len(getattr(lyr.output, "shape", ())) == 4][-1]
    assert tuple(last.output.shape[1:3]) == (2, 2)  # stride 32 at 64 px
    layer = explain.default_keras_layer(model)
    assert min(layer.output.shape[1:3]) >= explain.CAM_MIN_SIDE
    assert explain.feature_map_size(model, (64, 64, 3)) == (4, 4)


class _TwoBranchToy(TwoBranchOutput, torch.nn.Module):
    """Unmasked branch: right on every face (the label is the first pixel × 2); masked
    branch: always a confident class 2. Equal mixing then hides classes 0 and 1."""

    def __init__(self):
        super().__init__()
        self.unmasked_weight = 0.5
        self.unused = torch.nn.Linear(1, 1)  # a parameter, so the model has a device

    def forward(self, x):
        label = (x[:, 0, 0, 0] * 2).round().long()
        z_u = 4 * torch.nn.functional.one_hot(label, 3).float()
        z_m = torch.tensor([0.0, 0.0, 5.0]).expand(len(x), 3)
        return z_u, z_m


def test_branch_weight_sweep_shows_a_class_the_equal_mix_hides():
    y = np.array([0, 1, 2] * 4)
    x = np.repeat((y / 2).astype(np.float32)[:, None, None, None], 8, axis=1)
    x = np.repeat(np.repeat(x, 8, axis=2), 3, axis=3)
    model = _TwoBranchToy()
    sweep = explain.branch_weight_sweep(model, x, y, ["a", "b", "c"]).set_index("unmasked weight")
    assert sweep.loc[1.0, "accuracy"] == 1.0 and sweep.loc[1.0, "predicted a"] == 4
    assert sweep.loc[0.5, "predicted a"] == 0 and sweep.loc[0.5, "predicted c"] == 12
    assert sweep.loc[0.0, "balanced accuracy"] == pytest.approx(1 / 3)
    assert model.unmasked_weight == 0.5
    with pytest.raises(TypeError, match="no unmasked/masked branches"):
        explain.branch_weight_sweep(torch.nn.Linear(1, 1), x, y, ["a", "b", "c"])


@pytest.mark.parametrize(
    "model_classes, rows",
    [
        (("positive", "neutral", "negative"), ["true positive", "true neutral", "true negative"]),
        (("angry", "happy", "neutral", "surprise"), ["true angry", "true happy", "true neutral", "true surprise"]),
        # a mask detector: the column is its true class, the row names the face's expression
        (("unmasked", "masked"), [f"{c} face" for c in ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")]),
    ],
)  # fmt: skip
def test_cam_rows_name_the_true_class_in_the_models_own_classes(model_classes, rows):
    """A 3- or 4-class model shown 7-class faces: each row's true class is the mapped one,
    and faces of classes the model lacks are not shown; a mask detector keeps every face."""
    from maskfer_lib.labels import CLASSES_7

    seven = np.repeat(np.arange(7), 2)
    faces = (255 * images(len(seven))).astype(np.uint8)
    unmasked = FaceDataset(faces, seven, CLASSES_7)
    masked = FaceDataset(faces.copy(), seven, CLASSES_7)
    model = tiny_torch(num_classes=len(model_classes))
    (maps, _), fig = explain.unmasked_vs_masked_cams(
        model, (16, 16, 3), model_classes, unmasked, masked, "toy"
    )
    row_labels = [ax.get_ylabel() for ax in fig.axes if ax.get_subplotspec()]
    assert [label for label in row_labels if label and "map value" not in label] == rows
    assert all(len(m) == len(seven) for m in maps.values())  # maps cover every face
