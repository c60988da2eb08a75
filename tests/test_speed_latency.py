"""Tests for maskfer_lib.speed.latency: statistics, ONNX export parity, frames, recall, integration.

Speed goals are never asserted here (they belong to the benchmark report)."""

import numpy as np
import pytest
from tiny_models import tiny_keras, tiny_torch

import maskfer_lib  # noqa: F401  (import order guard before torch/TensorFlow)
from maskfer_lib import detect
from maskfer_lib.speed import latency


def test_time_callable_counts_runs_and_orders_stats():
    calls = []
    res = latency.time_callable(lambda: calls.append(1), runs=37, warmup=4)
    assert len(calls) == 41
    assert res.runs == 37 and res.warmup == 4
    assert res.min_ms <= res.median_ms <= res.p90_ms
    assert res.fps == pytest.approx(1000 / res.median_ms)
    with pytest.raises(ValueError):
        latency.time_callable(lambda: None, runs=0)


def test_time_callable_measures_sleep():
    import time

    res = latency.time_callable(lambda: time.sleep(0.002), runs=5, warmup=0)
    assert res.median_ms >= 2.0


def test_machine_info_names_cpu():
    info = latency.machine_info(threads=2)
    assert info["cpu"] and info["cores"] >= 1 and info["threads"] == 2


@pytest.mark.parametrize("two_outputs", [False, True])
def test_torch_onnx_matches_native(tmp_path, two_outputs):
    model = tiny_torch(two_outputs=two_outputs)
    path = latency.export_onnx(model, tmp_path / "t.onnx", (16, 16, 3))
    err = latency.verify_onnx(model, latency.ort_session(path, 1), (16, 16, 3))
    assert err <= 1e-4


def test_keras_onnx_matches_native(tmp_path):
    model = tiny_keras()
    path = latency.export_onnx(model, tmp_path / "k.onnx")
    assert latency.verify_onnx(model, latency.ort_session(path, 1)) <= 1e-4


def test_verify_onnx_raises_on_mismatch(tmp_path):
    import torch

    model = tiny_torch()
    path = latency.export_onnx(model, tmp_path / "t.onnx", (16, 16, 3))
    with torch.no_grad():
        model.head.bias.add_(1.0)  # the native model now differs from the exported one
    with pytest.raises(latency.OnnxMismatchError, match="differs"):
        latency.verify_onnx(model, latency.ort_session(path, 1), (16, 16, 3))


def test_benchmark_model_rows(tmp_path):
    rows = latency.benchmark_model(
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
    _, _, e2e, info = latency.make_classifier(tiny_torch(), "native", (16, 16, 3))
    p = e2e(np.zeros((40, 30, 3), np.uint8))
    assert p.shape == (1, 3) and np.isclose(p.sum(), 1.0) and not info["softmax_in_model"]
    _, _, e2e_k, info_k = latency.make_classifier(tiny_keras(), "native")
    assert info_k["softmax_in_model"] and np.isclose(
        e2e_k(np.zeros((20, 20, 3), np.uint8)).sum(), 1
    )


def test_make_frames_boxes_inside():
    faces = np.full((3, 32, 32, 3), 200, np.uint8)
    frames, boxes = detect.make_frames(faces, 4, frame_hw=(120, 160), face_px=(30, 50), seed=1)
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

    det = detect.ScaledDetector(fake, downscale=0.5)
    frames = np.zeros((2, 40, 60, 3), np.uint8)
    assert det(frames[0]) == [(10, 10, 20, 20)] and seen[-1] == (20, 30)
    rec = detect.detector_recall(det, frames, np.array([[8, 8, 24, 24], [30, 20, 10, 10]]))
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

    res = latency.integrated_benchmark(
        det, cls, np.zeros((3, 20, 20, 3), np.uint8), runs=6, warmup=1
    )
    assert res.runs == 6 and calls == {"det": 7, "cls": 7}


def test_interleaved_rounds_rotate_the_order_and_time_every_callable():
    order = []
    fns = {n: (lambda n=n: order.append(n)) for n in ("a", "b", "c")}
    df = latency.interleaved(fns, rounds=3, runs=2, warmup=1)
    assert len(df) == 9 and set(df.name) == {"a", "b", "c"} and set(df["round"]) == {0, 1, 2}
    # Warm-up (one call each), then rounds starting at a, b, c in turn, 2 calls per model.
    starts = [order[3 + 6 * r] for r in range(3)]
    assert starts == ["a", "b", "c"]


def test_speed_ratios_are_medians_of_per_round_ratios():
    import pandas as pd

    rows = []
    for r, (fa, fb) in enumerate([(200, 100), (300, 100), (100, 100), (400, 100), (250, 100)]):
        rows += [{"round": r, "name": "a", "median_ms": 1e3 / fa, "fps": fa},
                 {"round": r, "name": "b", "median_ms": 1e3 / fb, "fps": fb}]  # fmt: skip
    ratios = latency.speed_ratios(pd.DataFrame(rows).assign(size=48), "a").set_index("model")
    b = ratios.loc["b"]
    assert b.speedup_median == pytest.approx(2.5) and b.speedup_min == pytest.approx(1.0)
    assert b.speedup_max == pytest.approx(4.0) and b.rounds == 5
    assert b.faster_median and not b.faster_every_round  # round 2 is a tie
    assert ratios.loc["a"].speedup_median == 1.0 and ratios.loc["a", "size"] == 48
    with pytest.raises(ValueError, match="reference 'z'"):
        latency.speed_ratios(pd.DataFrame(rows), "z")


def test_frames_with_four_faces_place_them_apart_and_recall_counts_faces():
    faces = np.full((3, 32, 32, 3), 200, np.uint8)
    frames, boxes = detect.make_frames(
        faces, 3, frame_hw=(240, 320), face_px=(40, 60), seed=2, faces_per_frame=4
    )
    assert boxes.shape == (3, 4, 4)
    for f, bs in zip(frames, boxes, strict=True):
        for i, (x, y, w, h) in enumerate(bs):
            assert (f[y + 2 : y + h - 2, x + 2 : x + w - 2] == 200).all()
            for x2, y2, w2, h2 in bs[i + 1 :]:  # no two faces overlap
                assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    first_two = lambda frame, bs=boxes: [tuple(b) for b in bs[0][:2]]  # noqa: E731
    rec = detect.detector_recall(first_two, frames[:1], boxes[:1])
    assert rec["recall"] == 0.5 and rec["false_per_frame"] == 0
    with pytest.raises(ValueError, match="do not fit"):
        detect.make_frames(faces, 1, frame_hw=(100, 100), face_px=(60, 80), faces_per_frame=4)


def test_integrated_step_classifies_every_detected_face():
    step = latency.integrated_step(lambda f: [(0, 0, 8, 8), (10, 10, 8, 8)], lambda c: c.shape)
    assert len(step(np.zeros((30, 30, 3), np.uint8))) == 2


def test_onnx_op_profile_splits_kernel_time_by_operator(tmp_path):
    from tiny_models import tiny_keras

    model = tiny_keras(size=16)
    path = latency.export_onnx(model, tmp_path / "tiny.onnx", (16, 16, 3))
    prof = latency.onnx_op_profile(path, np.zeros((1, 16, 16, 3), np.float32), runs=20)
    assert "Conv" in set(prof.op) and prof.share.sum() == pytest.approx(1.0)
    assert (prof.us_per_run > 0).all() and prof.nodes.min() >= 1
