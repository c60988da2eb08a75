"""Tests for maskfer_lib.realtime on a short video made from SynthFACS frames."""

import cv2
import pandas as pd
import pytest
from tiny_models import tiny_torch

import maskfer_lib  # noqa: F401  (import order guard before torch/TensorFlow)
from maskfer_lib import detect, realtime, synth
from maskfer_lib.speed import latency

N_FRAMES, FPS = 8, 4.0


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """An 8-frame, 4 FPS mp4 of SynthFACS faces (big enough for dlib HOG) on backgrounds."""
    faces = synth.generate(1, size=128, seed=0, pose="frontal").images
    frames, _ = detect.make_frames(faces, N_FRAMES, frame_hw=(240, 320), face_px=(190, 220), seed=0)
    path = tmp_path_factory.mktemp("video") / "synth.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (320, 240))
    assert writer.isOpened()
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def count_frames(path):
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def tiny_classifier():
    _, _, classify, _ = latency.make_classifier(tiny_torch(num_classes=3), "native", (16, 16, 3), 1)
    return classify


def test_run_demo_writes_video_and_bucket_csv(video, tmp_path):
    det = detect.make_detector("hog", 1.0, upsample=0)
    names = ("positive", "neutral", "negative")
    res = realtime.run_demo(
        str(video),
        tiny_classifier(),
        names,
        det,
        out=tmp_path / "o.mp4",
        csv=tmp_path / "o.csv",
        bucket_seconds=0.5,
    )
    assert res.frames == N_FRAMES
    assert count_frames(tmp_path / "o.mp4") == N_FRAMES
    counts = pd.read_csv(tmp_path / "o.csv")
    assert list(counts.columns[:5]) == ["bucket", "start_s", "end_s", "frames", "faces"]
    assert counts["frames"].tolist() == [2, 2, 2, 2]  # 8 frames at 4 FPS in 0.5 s buckets
    assert counts["faces"].sum() == res.faces == counts[list(names)].to_numpy().sum()
    assert res.faces >= N_FRAMES // 2  # HOG finds most of the large faces
    # The annotation changed the frames (bars panel is drawn on every frame).
    assert res.sample_frames and res.sample_frames[0].shape == (240, 320, 3)


def test_gif_output(video, tmp_path):
    from PIL import Image

    det = detect.make_detector("hog", 1.0, upsample=0)
    res = realtime.run_demo(
        str(video), tiny_classifier(), ("a", "b", "c"), det, out=tmp_path / "o.gif", max_frames=3
    )
    assert res.frames == 3
    assert Image.open(tmp_path / "o.gif").n_frames == 3


def test_bucket_counts_hand_made():
    df = realtime.bucket_counts([0.1, 0.2, 1.5], [0, 1, 1], [0.0, 0.1, 0.2, 1.5], ("x", "y"), 1.0)
    assert df["frames"].tolist() == [3, 1]
    assert df[["x", "y"]].to_numpy().tolist() == [[1, 1], [0, 1]]


def test_cli_headless_on_video(video, tmp_path, capsys):
    out = tmp_path / "cli.mp4"
    rc = realtime.main(
        [
            "--source",
            str(video),
            "--model",
            "yang_stage1",
            "--headless",
            "--out",
            str(out),
            "--detector",
            "hog",
            "--downscale",
            "1",
            "--bucket-seconds",
            "1",
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    assert count_frames(out) == N_FRAMES
    counts = pd.read_csv(out.with_suffix(".csv"))
    assert counts["frames"].sum() == N_FRAMES
    assert "untrained" in capsys.readouterr().err


def test_missing_webcam_clear_error(monkeypatch, capsys):
    class NoCamera:
        def __init__(self, *a):
            pass

        def isOpened(self):
            return False

        def release(self):
            pass

    monkeypatch.setattr(realtime.cv2, "VideoCapture", NoCamera)
    with pytest.raises(realtime.WebcamUnavailableError, match="--source"):
        realtime.open_source("webcam")
    rc = realtime.main(
        ["--source", "webcam", "--model", "yang_stage1", "--headless", "--out", "x.mp4"]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "cv2.VideoCapture(0) failed" in err and "--source" in err


def test_missing_video_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        realtime.open_source(str(tmp_path / "nope.mp4"))


def test_class_names_resolution(tmp_path):
    assert realtime.resolve_class_names(3, classes="a, b,c") == ("a", "b", "c")
    assert realtime.resolve_class_names(7) == tuple(synth.CLASSES_7)
    (tmp_path / "predictions_test.csv").write_text("y_true,y_pred,p_up,p_down\n0,0,0.5,0.5\n")
    assert realtime.resolve_class_names(2, weights=tmp_path / "m.pt") == ("up", "down")
    with pytest.raises(ValueError, match="--classes"):
        realtime.resolve_class_names(2, classes="a,b,c")


def _ship_tiny(weights_dir, name):
    import torch

    from maskfer_lib import shipped

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(4, 3),
    ).eval()  # fmt: skip
    shipped.export_weights(
        net, name, class_names=("negative", "neutral", "positive"), input_shape=(32, 32, 3),
        trained_on="noise", profile="smoke", test_accuracy={}, weights_dir=weights_dir,
    )  # fmt: skip


def test_cli_uses_the_shipped_model_by_default(video, tmp_path, monkeypatch, capsys):
    from maskfer_lib import shipped

    monkeypatch.setattr(shipped, "WEIGHTS_DIR", tmp_path / "weights")
    _ship_tiny(tmp_path / "weights", shipped.DEFAULT_DEMO_MODEL)
    out = tmp_path / "shipped.mp4"
    args = ["--source", str(video), "--headless", "--out", str(out), "--detector", "hog",
            "--downscale", "1", "--threads", "1"]  # fmt: skip
    assert realtime.main(args) == 0
    assert count_frames(out) == N_FRAMES
    counts = pd.read_csv(out.with_suffix(".csv"))
    assert {"negative", "neutral", "positive"} <= set(counts.columns)
    assert "untrained" not in capsys.readouterr().err


def test_cli_without_shipped_model_or_weights_says_what_to_pass(video, tmp_path, monkeypatch,
                                                                capsys):  # fmt: skip
    from maskfer_lib import shipped

    monkeypatch.setattr(shipped, "WEIGHTS_DIR", tmp_path / "empty")
    rc = realtime.main(["--source", str(video), "--headless", "--out", str(tmp_path / "x.mp4")])
    assert rc == 2 and "--model NAME" in capsys.readouterr().err
