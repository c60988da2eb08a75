"""One data-parallel training run for tests/test_distributed.py.

Run it as ``python tests/ddp_worker.py OUT`` (one process) or under
``python -m torch.distributed.run --nproc_per_node 2 tests/ddp_worker.py OUT``; rank 0
writes ``OUT/result.json`` (history and final weights) and the run folder ``OUT/run``.
A BatchNorm-free net and a recipe without augmentation, so both runs can agree.
"""

import json
import sys
from pathlib import Path

import numpy as np

import maskfer_lib  # noqa: F401  (import-order guard before torch)
from maskfer_lib import distributed, train


def main(out: Path) -> None:
    rank, world = distributed.init_from_env()
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    )
    rng = np.random.default_rng(0)
    y = np.arange(192) % 3
    x = rng.random((192, 8, 8, 1), dtype=np.float32) * 0.3
    for i, c in enumerate(y):
        x[i, c * 2 : (c + 1) * 2] += 0.7  # a bright band per class: linearly separable
    hist = train.fit(
        net, np.clip(x, 0, 1), y, x[:48], y[:48], epochs=4, batch_size=32, lr=3e-3,
        recipe="plain", seed=0, progress=False, out_dir=out / "run",
    )  # fmt: skip
    if rank == 0:
        weights = [p.detach().double().numpy().ravel().tolist() for p in net.parameters()]
        result = {
            "world_size": world,
            "loss": hist["loss"].tolist(),
            "val_accuracy": hist["val_accuracy"].tolist(),
            "device": hist.attrs["device"],
            "weights": weights,
        }
        (out / "result.json").write_text(json.dumps(result))
    distributed.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
