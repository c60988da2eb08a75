"""Tests for maskfer_lib.timing: statistics, ONNX export parity, frames, recall, integration.

Speed goals are never asserted here (they belong to the benchmark report)."""

import numpy as np
import pytest
from tiny_models import tiny_keras, tiny_torch

import maskfer_lib  # noqa: F401  (import order guard before torch/TensorFlow)
from maskfer_lib import timing


def test_time_callable_counts_runs_and_orders_stats():
    calls = []
    res = timing.time_callable(lambda: calls.append(1), runs=37, warmup=4)
    assert len(calls) == 41
    assert res.runs == 37 and res.warmup == 4
    assert res.min_ms <= res.median_ms <= res.p90_ms
    assert res.fps == pytest.approx(1000 / res.median_ms)
    with pytest.raises(ValueError):
        timing.time_callable(lambda: None, runs=0)


def test_time_callable_measures_sleep():
    import time

    res = timing.time_callable(lambda: time.sleep(0.002), runs=5, warmup=0)
    assert res.median_ms >= 2.0


def test_machine_info_names_cpu():
    info = timing.machine_info(threads=2)
    assert info["cpu"] and info["cores"] >= 1 and info["threads"] == 2


@pytest.mark.parametrize("two_outputs", [False, True])
def test_torch_onnx_matches_native(tmp_path, two_outputs):
    model = tiny_torch(two_outputs=two_outputs)
    path = timing.export_onnx(model, tmp_path / "t.onnx", (16, 16, 3))
    err = timing.verify_onnx(model, timing.ort_session(path, 1), (16, 16, 3))
    assert err <= 1e-4


def test_keras_onnx_matches_native(tmp_path):
    model = tiny_keras()
    path = timing.export_onnx(model, tmp_path / "k.onnx")
    assert timing.verify_onnx(model, timing.ort_session(path, 1)) <= 1e-4


def test_verify_onnx_raises_on_mismatch(tmp_path):
    import torch

    model = tiny_torch()
    path = timing.export_onnx(model, tmp_path / "t.onnx", (16, 16, 3))
    with torch.no_grad():
        model.head.bias.add_(1.0)  # the native model now differs from the exported one
    with pytest.raises(timing.OnnxMismatchError, match="differs"):
        timing.verify_onnx(model, timing.ort_session(path, 1), (16, 16, 3))


def test_benchmark_model_rows(tmp_path):
    rows = timing.benchmark_model(
        tiny_torch(), (16, 16, 3), runs=5, warmup=1, threads=1, onnx_dir=tmp_path
    )
    assert [(r["backend"], r["protocol"]) for r in rows] == [
        ("native", "forward"),
        ("native", "end_to_end"),
        ("onnx", "forward"),
        ("onnx", "end_to_end"),
    ]
    for r in rows:
        assert r["runs"] == 5 and r["median_ms"] <= r["p90_ms"] and r["cpu"]


def test_end_to_end_returns_probabilities():
    _, _, e2e, info = timing.make_classifier(tiny_torch(), "native", (16, 16, 3))
    p = e2e(np.zeros((40, 30, 3), np.uint8))
    assert p.shape == (1, 3) and np.isclose(p.sum(), 1.0) and not info["softmax_in_model"]
    _, _, e2e_k, info_k = timing.make_classifier(tiny_keras(), "native")
    assert info_k["softmax_in_model"] and np.isclose(
        e2e_k(np.zeros((20, 20, 3), np.uint8)).sum(), 1
    )


def test_make_frames_boxes_inside():
    faces = np.full((3, 32, 32, 3), 200, np.uint8)
    frames, boxes = timing.make_frames(faces, 4, frame_hw=(120, 160), face_px=(30, 50), seed=1)
    assert frames.shape == (4, 120, 160, 3) and frames.dtype == np.uint8
    for f, (x, y, w, h) in zip(frames, boxes, strict=True):
        assert 30 <= w <= 50 and w == h and x + w <= 160 and y + h <= 120
        assert (f[y + 2 : y + h - 2, x + 2 : x + w - 2] == 200).all()  # the face is where stated


def test_scaled_detector_and_recall():
    from maskfer_lib.detect import Detection

    seen = []

    def fake(gray):  # finds a 10x10 face at (5, 5) in whatever image it gets
        seen.append(gray.shape)
        return [Detection((5, 5, 10, 10), 1.0)]

    det = timing.ScaledDetector(fake, downscale=0.5)
    frames = np.zeros((2, 40, 60, 3), np.uint8)
    assert det(frames[0]) == [(10, 10, 20, 20)] and seen[-1] == (20, 30)
    rec = timing.detector_recall(det, frames, np.array([[8, 8, 24, 24], [30, 20, 10, 10]]))
    assert rec["recall"] == 0.5 and rec["false_per_frame"] == 0.5


def test_integrated_benchmark_runs_detector_and_classifier():
    calls = {"det": 0, "cls": 0}

    def det(frame):
        calls["det"] += 1
        return [(2, 2, 8, 8)]

    def cls(crop):
        calls["cls"] += 1
        assert crop.shape[:2] == (10, 10)  # 8 px box + 10 % margin each side
        return np.ones((1, 2)) / 2

    res = timing.integrated_benchmark(
        det, cls, np.zeros((3, 20, 20, 3), np.uint8), runs=6, warmup=1
    )
    assert res.runs == 6 and calls == {"det": 7, "cls": 7}
