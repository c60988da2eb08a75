"""Train one registry model on an image folder, on one process or data-parallel.

One process (the GPU when torch sees one)::

    python -m maskfer_lib.train_cli --model fecn --data DIR/train --val DIR/validation

Data-parallel on N processes (gloo on CPUs, NCCL on GPUs; ``make train-ddp``)::

    python -m torch.distributed.run --nproc_per_node N -m maskfer_lib.train_cli --model fecn ...

Images are streamed from the folders (``streaming.ImageFolderStream``), so the training set
need not fit in memory. ``--batch-size`` is the global batch; ``train.fit`` splits it over
the ranks. Rank 0 writes the run folder (``model.pt``/``model.keras``, ``history.csv``,
``fit.json``) and prints one JSON line with the best validation accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import maskfer_lib  # noqa: F401  (import-order guard before torch/TensorFlow)
from maskfer_lib import distributed, streaming, train
from maskfer_lib.models import build_model, get_spec, list_models
from maskfer_lib.recipe import get_recipe


def _args(argv):
    ap = argparse.ArgumentParser(prog="python -m maskfer_lib.train_cli", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--model", required=True, help="registry name, e.g. fecn, vgg11, abn")
    ap.add_argument("--data", required=True, type=Path, help="training folder: <class>/*.png")
    ap.add_argument("--val", type=Path, help="validation folder (same classes)")
    ap.add_argument("--out", type=Path, required=True, help="run folder to write")
    ap.add_argument("--size", type=int, help="square input size (default: the model's)")
    ap.add_argument("--width", type=float, default=1.0, help="width multiplier")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=64, help="global batch (all ranks)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--recipe", default="modern", help="modern, plain, paper, ...")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda[:i]")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast (torch)")
    ap.add_argument("--workers", type=int, default=2, help="decoding processes per rank")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    """Parse the arguments, join torchrun's process group if any, train, report."""
    a = _args(argv)
    if a.model not in list_models():
        sys.exit(f"unknown model {a.model!r}; choose one of {', '.join(list_models())}")
    spec = get_spec(a.model)
    if spec.framework != "torch" and int(os.environ.get("WORLD_SIZE", 1)) > 1:
        sys.exit(f"{a.model} is a Keras model: data-parallel training here is for torch models "
                 "(run it as one process; TensorFlow's own is tf.distribute)")  # fmt: skip
    rank, world_size = distributed.init_from_env() if spec.framework == "torch" else (0, 1)
    h, w, c = spec.input_shape
    shape = (a.size, a.size, c) if a.size else (h, w, c)
    tr = streaming.ImageFolderStream(a.data, shape)
    va = streaming.ImageFolderStream(a.val, shape, class_names=tr.class_names) if a.val else None
    model = build_model(a.model, len(tr.class_names), input_shape=shape, width_mult=a.width)
    hist = train.fit(
        model, tr, None, va, None, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
        recipe=get_recipe(a.recipe, spec.paper), out_dir=a.out, seed=a.seed,
        progress=rank == 0, device=a.device, amp=a.amp, workers=a.workers,
    )  # fmt: skip
    if rank == 0:
        (a.out / "classes.json").write_text(json.dumps(list(tr.class_names)))
        best = hist.attrs["best_value"]
        print(json.dumps({"model": a.model, "world_size": world_size, "device":
                          hist.attrs["device"], "epochs": len(hist), "best": best,
                          "monitor": hist.attrs["monitor"], "out": str(a.out)}))  # fmt: skip
    distributed.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
