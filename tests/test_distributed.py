"""device="auto", bf16 autocast, data-parallel training under torchrun (gloo, CPU) and
training streamed from an image folder."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskfer_lib import data, distributed, streaming, train

HERE = Path(__file__).parent


def _torch_net(k=3, size=8, channels=1):
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(size * size * channels, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, k),
    )


def _toy(n=96, k=3, size=8, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.random((n, size, size, 1), dtype=np.float32) * 0.3
    for i, c in enumerate(y):
        x[i, c * 2 : (c + 1) * 2] += 0.7
    return np.clip(x, 0, 1), y


def test_auto_device_is_the_cpu_without_a_gpu_and_is_recorded(tmp_path):
    import torch

    x, y = _toy()
    net = _torch_net()
    hist = train.fit(net, x, y, x, y, epochs=2, batch_size=16, recipe="plain", progress=False,
                     out_dir=tmp_path)  # fmt: skip
    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert hist.attrs["device"] == expected
    assert json.loads((tmp_path / "fit.json").read_text())["device"] == expected
    assert next(net.parameters()).device.type == "cpu"  # back where it came from


def test_unknown_or_missing_device_is_refused():
    import torch

    with pytest.raises(ValueError, match="device must be one of"):
        distributed.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no GPU"):
            distributed.resolve_device("cuda")


def test_bf16_autocast_trains_on_the_cpu():
    x, y = _toy()
    hist = train.fit(_torch_net(), x, y, x, y, epochs=6, batch_size=16, lr=3e-3, recipe="plain",
                     amp=True, progress=False)  # fmt: skip
    assert np.isfinite(hist["loss"]).all()
    assert hist["loss"].iloc[-1] < hist["loss"].iloc[0]
    assert hist["val_accuracy"].max() > 0.6  # chance is 1/3


def _torchrun(nproc: int, *args, timeout=240) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", *map(str, args)]  # fmt: skip
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_two_gloo_ranks_match_one_process_with_the_same_global_batch(tmp_path):
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    subprocess.run([sys.executable, str(HERE / "ddp_worker.py"), str(single)], check=True,
                   capture_output=True, timeout=240)  # fmt: skip
    _torchrun(2, HERE / "ddp_worker.py", ddp)
    one = json.loads((single / "result.json").read_text())
    two = json.loads((ddp / "result.json").read_text())
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert two["loss"][-1] < two["loss"][0]  # it learns
    # Same global batches, gradients averaged over ranks: equal up to summation order.
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(two["val_accuracy"], one["val_accuracy"], atol=1e-9)
    for a, b in zip(two["weights"], one["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    fit_json = json.loads((ddp / "run" / "fit.json").read_text())
    assert fit_json["world_size"] == 2 and fit_json["device"] == "cpu"


def test_shutdown_without_a_process_group_does_nothing():
    import torch.distributed as dist

    assert not dist.is_initialized()
    distributed.shutdown()  # a plain one-process run: no group to leave, no error
    assert not dist.is_initialized()


def test_each_rank_takes_its_share_of_every_global_batch(monkeypatch):
    monkeypatch.setattr(distributed, "world", lambda: (1, 2))  # rank 1 of 2
    order = np.arange(10)[::-1]  # the epoch order every rank drew
    local, local_bs = distributed.shard(order, 4)
    # Whole global batches only (8 of 10 images); rank 1 takes every second image of each.
    np.testing.assert_array_equal(local, [8, 6, 4, 2])
    assert local_bs == 2 and set(local[:2]) <= set(order[:4]) and set(local[2:]) <= set(order[4:8])
    with pytest.raises(ValueError, match="must divide by the 2 ranks"):
        distributed.shard(order, 3)


def _folder(root: Path, n_per_class=12, size=20):
    rng = np.random.default_rng(0)
    for k, name in enumerate(("happy", "sad")):
        d = root / name
        d.mkdir(parents=True)
        for i in range(n_per_class):
            img = (rng.random((size, size)) * 60).astype(np.uint8)
            img[k * size // 2 : (k + 1) * size // 2] += 150  # class = which half is bright
            cv2.imwrite(str(d / f"{i:03d}.png"), img)
    return root


def test_stream_reads_the_same_pixels_as_the_in_memory_loader(tmp_path):
    root = _folder(tmp_path / "faces")
    stream = streaming.ImageFolderStream(root, (16, 16, 1))
    ds = data.load_imagefolder(root, grayscale=True)
    assert len(stream) == len(ds) == 24 and stream.class_names == ds.class_names
    np.testing.assert_array_equal(stream.labels, ds.labels)
    np.testing.assert_array_equal(stream[np.array([0, 5, 23])],
                                  data.to_model_input(ds, (16, 16, 1))[[0, 5, 23]])  # fmt: skip
    assert stream.shape == (24, 16, 16, 1) and stream[:3].shape == (3, 16, 16, 1)


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_fit_streams_a_folder_through_dataloader_or_tf_data(framework, tmp_path):
    root = _folder(tmp_path / "faces", n_per_class=24)
    stream = streaming.ImageFolderStream(root, (8, 8, 1))
    in_memory = data.to_model_input(data.load_imagefolder(root, grayscale=True), (8, 8, 1))
    if framework == "torch":
        make = lambda: _torch_net(k=2)  # noqa: E731
    else:
        import keras

        def make():
            keras.utils.set_random_seed(0)
            return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                     keras.layers.Dense(16, activation="relu"),
                                     keras.layers.Dense(2, activation="softmax")])  # fmt: skip

    kw = dict(epochs=5, batch_size=8, lr=3e-3, recipe="plain", progress=False, seed=0)
    streamed = train.fit(make(), stream, None, stream, None, workers=1, **kw)
    loaded = train.fit(make(), in_memory, stream.labels, in_memory, stream.labels, **kw)
    assert streamed["loss"].iloc[-1] < streamed["loss"].iloc[0]
    # The same batches in the same order: the same training, whether streamed or in memory.
    np.testing.assert_allclose(streamed["loss"], loaded["loss"], rtol=1e-4)


def test_an_unreadable_file_in_a_stream_is_named(tmp_path):
    root = _folder(tmp_path / "faces")
    bad = root / "sad" / "005.png"
    bad.write_bytes(b"not an image")
    stream = streaming.ImageFolderStream(root, (8, 8, 1))
    with pytest.raises(streaming.StreamReadError, match=r"005\.png.*remove or replace"):
        train.fit(
            _torch_net(k=2),
            stream,
            None,
            epochs=1,
            batch_size=8,
            monitor="loss",
            progress=False,
            workers=0,
        )


def test_train_cli_under_torchrun_trains_a_registry_model(tmp_path):
    root = _folder(tmp_path / "faces", n_per_class=16, size=32)
    out = tmp_path / "run"
    _torchrun(2, "-m", "maskfer_lib.train_cli", "--model", "vgg11", "--width", "0.25",
              "--size", "32", "--data", root, "--val", root, "--epochs", "2",
              "--batch-size", "8", "--out", out, "--workers", "0")  # fmt: skip
    fit_json = json.loads((out / "fit.json").read_text())
    assert fit_json["world_size"] == 2 and fit_json["epochs_run"] == 2
    assert (out / "model.pt").is_file() and len((out / "history.csv").read_text().splitlines()) == 3


def test_train_cli_refuses_unknown_models_and_keras_under_torchrun(tmp_path, monkeypatch):
    from maskfer_lib import train_cli

    root = _folder(tmp_path / "faces")
    args = ["--data", str(root), "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit, match="unknown model 'fecnn'.*fecn"):
        train_cli.main(["--model", "fecnn", *args])
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(SystemExit, match="celik_cnn is a Keras model"):
        train_cli.main(["--model", "celik_cnn", *args])
