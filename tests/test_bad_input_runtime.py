"""Bad input at run time gives a clear error or a counted warning, never a silent wrong result.

Training (NaN pixels, NaN during training, labels out of range, float labels, 0-255 inputs),
model files (corrupt .keras/.pt, missing), the demo (no display, a truncated video, a folder
of mixed-size images) and the benchmark CLI (unknown model names).
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from test_realtime import count_frames  # the same frame counter
from tiny_models import images, tiny_keras, tiny_torch

import maskfer_lib  # noqa: F401  (import order guard before torch/TensorFlow)
from maskfer_lib import realtime
from maskfer_lib.recipe import PLAIN
from maskfer_lib.speed import table2
from maskfer_lib.train import (
    CorruptModelError,
    NonFiniteInputError,
    fit,
    load_model,
    predict_proba,
    save_model,
)

FRAMEWORKS = ["keras", "torch"]
K = 3


def torch_net():
    """A tiny torch CNN built from stock layers, so ``save_model`` can pickle it
    (``tiny_models.tiny_torch`` defines its class inside a function)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, K),
    )  # fmt: skip


def build(framework):
    return tiny_keras(K) if framework == "keras" else torch_net()


def xy(n=32, seed=0):
    return images(n, 16, seed), np.arange(n) % K


def train(model, x, y, xv=None, yv=None, **kw):
    monitor = "loss" if xv is None else "val_accuracy"
    kw = {"epochs": 1, "batch_size": 16, "recipe": PLAIN, "progress": False, "monitor": monitor,
          **kw}  # fmt: skip
    return fit(model, x, y, xv, yv, **kw)


# --------------------------------------------------------------------------- 1. NaN


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_nan_pixel_is_refused_before_training(framework, tmp_path):
    x, y = xy()
    x[5, 3, 4, 0] = np.nan
    x[9, 0, 0, 2] = np.inf
    with pytest.raises(NonFiniteInputError, match=r"x_train .*2 of 32 images \(indices 5, 9\)"):
        train(build(framework), x, y, out_dir=tmp_path)
    assert not list(tmp_path.iterdir())  # nothing saved, not even a history
    xv, yv = xy(8, seed=1)
    xv[2, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"x_val .*1 of 8 images \(indices 2\)"):
        train(build(framework), *xy(), xv, yv)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_nan_during_training_stops_and_is_not_saved_as_best(framework, tmp_path):
    x, y = xy()
    calls = []

    def poison_second_epoch(xb, rng):  # a buggy augmentation: NaN from epoch 2 on
        calls.append(1)
        return xb * np.nan if len(calls) > 2 else xb

    model = build(framework)
    with pytest.raises(FloatingPointError, match="Nothing from this epoch was saved as best"):
        train(model, x, y, x, y, epochs=3, recipe=PLAIN.with_parts(augment=poison_second_epoch),
              out_dir=tmp_path)  # fmt: skip
    assert not (tmp_path / "fit.json").exists()  # the run is not taken for finished
    ckpt = tmp_path / ("model.keras" if framework == "keras" else "model.pt")
    assert np.isfinite(predict_proba(load_model(ckpt), x)).all()  # epoch 1's, not NaN
    assert np.isfinite(predict_proba(model, x)).all()  # the best weights were restored


# --------------------------------------------------------------------------- 2.-3. labels


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_labels_out_of_range_name_the_split_and_the_classes(framework, tmp_path):
    x, y = xy()
    y_bad = y.copy()
    y_bad[[3, 7]] = [3, 5]
    with pytest.raises(ValueError, match=r"y_train holds labels \[3, 5\].*3 outputs.*\[0, 3\)"):
        train(build(framework), x, y_bad)
    yv = np.zeros(8, int)
    yv[4] = 7
    # Refused up front, not after a whole training epoch: no history is written.
    with pytest.raises(ValueError, match=r"y_val holds labels \[7\] \(first at index 4\)"):
        train(build(framework), x, y, x[:8], yv, out_dir=tmp_path)
    assert not (tmp_path / "history.csv").exists()
    with pytest.raises(ValueError, match=r"y_train must be class indices >= 0"):
        train(build(framework), x, y - 1)


def test_float_labels_must_be_whole_numbers():
    x, y = xy()
    with pytest.raises(ValueError, match=r"y_train must be integer.*not whole numbers.*1\.5"):
        train(tiny_torch(K), x, np.where(y == 1, 1.5, y).astype(float))
    with pytest.raises(ValueError, match="not whole numbers"):
        train(tiny_torch(K), x, np.where(y == 1, np.nan, y))
    with pytest.raises(ValueError, match="one-hot"):
        train(tiny_torch(K), x, np.eye(K)[y])
    # Whole numbers stored as floats (labels read from a CSV) are accepted as they are.
    hist = train(tiny_torch(K), x, y.astype(np.float64))
    assert len(hist) == 1


# --------------------------------------------------------------------------- 4. range


def test_0_255_inputs_are_refused_with_the_fix():
    x, y = xy()
    with pytest.raises(ValueError, match=r"x_train ranges over \[0\.\d+, 25\d.*divide .* by 255"):
        train(tiny_torch(K), x * 255, y)
    with pytest.raises(ValueError, match="divide"):  # uint8 images straight from disk
        train(tiny_torch(K), (x * 255).astype(np.uint8), y)
    xv = x[:8] * 255
    with pytest.raises(ValueError, match="x_val ranges over"):
        train(tiny_torch(K), x, y, xv, y[:8])
    with pytest.warns(UserWarning, match="slightly outside"):
        train(tiny_torch(K), x * 1.1, y)


# --------------------------------------------------------------------------- 5. model files


def test_corrupt_and_missing_model_files_name_the_file(tmp_path):
    rng = np.random.default_rng(0)
    bad_keras = tmp_path / "model.keras"
    bad_keras.write_bytes(rng.bytes(4096))
    with pytest.raises(CorruptModelError, match=rf"{bad_keras}.*corrupt.*retrain"):
        load_model(bad_keras)
    bad_pt = tmp_path / "model.pt"
    bad_pt.write_bytes(rng.bytes(4096))
    with pytest.raises(CorruptModelError, match=rf"{bad_pt}.*corrupt.*re-export"):
        load_model(bad_pt)
    # A real torch save cut short (an interrupted copy) is corrupt too, not a pickle riddle.
    good = save_model(torch_net(), tmp_path / "good.pt")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CorruptModelError, match=rf"{cut}.*corrupt"):
        load_model(cut)
    assert isinstance(CorruptModelError("x"), ValueError)
    with pytest.raises(FileNotFoundError, match=rf"not found: {tmp_path / 'absent.keras'}"):
        load_model(tmp_path / "absent.keras")


def test_demo_cli_with_a_corrupt_model_file_names_it(tmp_path, capsys):
    bad_pt = tmp_path / "model.pt"
    bad_pt.write_bytes(b"\x00" * 100)
    video = write_video(tmp_path / "v.avi", 3)
    rc = realtime.main(["--source", str(video), "--model", "putro_slim_rgc", "--weights",
                        str(bad_pt), "--headless", "--out", str(tmp_path / "o.mp4")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and f"error: {bad_pt}" in err and "corrupt" in err


def test_corrupt_checkpoint_of_a_finished_run_is_retrained(tmp_path):
    x, y = xy()
    kw = {"out_dir": tmp_path}
    train(torch_net(), x, y, **kw)
    (tmp_path / "model.pt").write_bytes(b"not a model")
    with pytest.warns(UserWarning, match="corrupt.*retraining"):
        hist = train(torch_net(), x, y, **kw)
    assert "resumed" not in hist.attrs
    load_model(tmp_path / "model.pt")  # rewritten by the retraining


# --------------------------------------------------------------------------- demo


def no_faces(frame):
    return []


def uniform(crop):
    return np.full((1, K), 1 / K)


def write_video(path, n, size=(64, 48), fourcc="MJPG"):
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10.0, size)
    assert writer.isOpened()
    for _ in range(n):
        writer.write(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()
    return path


def test_no_display_goes_headless_and_opens_no_window(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    closed = []
    monkeypatch.setattr(realtime.cv2, "destroyAllWindows", lambda: closed.append(1))
    video = write_video(tmp_path / "v.avi", 6)
    res = realtime.run_demo(str(video), uniform, ("a", "b", "c"), no_faces, headless=False,
                            out=tmp_path / "o.mp4")  # fmt: skip
    assert res.headless and res.frames == 6 == count_frames(tmp_path / "o.mp4")
    assert "running headless" in capsys.readouterr().err
    assert not closed  # no window was opened, so none is destroyed
    ok, why = realtime.display_available()
    assert not ok and ("no display" in why or "no GUI support" in why)
    # The CLI without --headless or --out: told what to pass before a model is loaded.
    with pytest.raises(SystemExit) as exit_info:
        realtime.main(["--source", str(video)])
    assert exit_info.value.code == 2
    assert "no window can be shown: pass --out" in capsys.readouterr().err


def test_truncated_video_is_reported_frames_read_of_expected(tmp_path):
    full = write_video(tmp_path / "full.avi", 40)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.warns(RuntimeWarning, match=r"read (\d+) of 40 frames expected") as rec:
        res = realtime.run_demo(str(cut), uniform, ("a", "b", "c"), no_faces)
    assert res.frames_expected == 40 and 0 < res.frames < 40
    assert f"read {res.frames} of 40" in str(rec[0].message)
    assert res.warnings and f"read {res.frames} of 40" in res.warnings[0]
    # A whole video, or one stopped by max_frames, is not reported.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        whole = realtime.run_demo(str(full), uniform, ("a", "b", "c"), no_faces)
        first = realtime.run_demo(str(full), uniform, ("a", "b", "c"), no_faces, max_frames=5)
    assert (whole.frames, whole.frames_expected, whole.warnings) == (40, 40, [])
    assert first.frames == 5 and not first.warnings


def test_folder_of_mixed_size_images_writes_every_frame(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    sizes = [(48, 64), (120, 90), (48, 64), (33, 200), (64, 64), (48, 64)]
    for i, (h, w) in enumerate(sizes):
        cv2.imwrite(str(folder / f"{i:02d}.png"), rng.integers(0, 256, (h, w, 3), np.uint8))
    (folder / "99.png").write_bytes(b"not a png")  # one unreadable file
    with pytest.warns(RuntimeWarning, match="read 6 of 7 images"):
        res = realtime.run_demo(str(folder), uniform, ("a", "b", "c"), no_faces,
                                out=tmp_path / "o.mp4")  # fmt: skip
    # Every image is one frame of the video, letterboxed to the first image's size.
    assert res.frames == res.frames_written == count_frames(tmp_path / "o.mp4") == 6
    assert res.resized == 3 and "letterboxed" in capsys.readouterr().err
    cap = cv2.VideoCapture(str(tmp_path / "o.mp4"))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (64, 48)
    cap.release()


def test_letterbox_keeps_aspect():
    tall = np.full((100, 50, 3), 255, np.uint8)
    out = realtime.letterbox(tall, (64, 48))
    assert out.shape == (48, 64, 3)
    assert out[:, 20:44].min() == 255 and out[:, :7].max() == 0  # centred, black bars


# --------------------------------------------------------------------------- 9. bench


def test_bench_unknown_model_exits_before_writing(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        table2.main(["--profile", "smoke", "--models", "putro_slim_rgc", "bogus",
                    "--no-integrated", "--out", str(tmp_path)])  # fmt: skip
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown model name 'bogus'" in err and "putro_slim_rgc" in err and "table2" in err
    assert not os.listdir(tmp_path)
    with pytest.raises(SystemExit):
        table2.main(["--models", "putro_slim_rgc", "--e2e", "nope", "--out", str(tmp_path)])
    assert "'nope'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown model name 'bogus'"):
        table2.run_bench("smoke", models=["bogus"], out=tmp_path, with_integrated=False)
    assert not os.listdir(tmp_path)
