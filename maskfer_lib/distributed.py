"""Where a torch model trains: the device (``device="auto"``) and data-parallel ranks.

``train.fit`` asks this module three things: which device a torch model goes to
(:func:`resolve_device`), whether it runs as one rank of a data-parallel group started by
``torchrun`` (:func:`world`), and which of each epoch's images are this rank's
(:func:`shard`, through torch's own ``DistributedSampler``). Gradients are averaged by
``DistributedDataParallel``; nothing here re-implements either.

Data-parallel training keeps ``fit``'s semantics: every rank draws the same epoch order from
the same seed, takes its ``1/world`` share of each *global* batch (``batch_size`` is the
global batch and must divide by the world size; an incomplete last batch is dropped, so all
ranks take the same number of steps), and averages its metrics with the others at the end of
the epoch. Without augmentation and BatchNorm, a run on N ranks follows a single-process run
with the same global batch and seed up to floating-point summation order
(``tests/test_distributed.py``). With augmentation each rank draws its own transforms; with
BatchNorm each rank normalises over its own share of the batch, as in any DDP setup.
"""

from __future__ import annotations

import os

import numpy as np

DEVICES = ("auto", "cpu", "cuda")
"""Accepted ``device`` values (``"cuda:1"`` names one GPU)."""


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialised process group, ``(0, 1)`` without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """Whether this process writes files and prints (rank 0, or no process group)."""
    return world()[0] == 0


def resolve_device(device: str = "auto") -> str:
    """The torch device a model trains on: ``"auto"`` is the rank's GPU when torch sees one
    (``cuda:LOCAL_RANK`` under torchrun), else ``"cpu"``; ``"cpu"``/``"cuda[:i]"`` as given.

    Raises:
        ValueError: an unknown device name, or ``"cuda"`` where torch sees no GPU.
    """
    import torch

    name = str(device)
    if name.split(":")[0] not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES} (or 'cuda:<index>'); got {device!r}")
    if name == "auto":
        if not torch.cuda.is_available():
            return "cpu"
        return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but torch sees no GPU (torch {torch.__version__}, "
            f"CUDA build: {torch.version.cuda or 'no'}); use device='auto' or 'cpu'"
        )
    return name


def init_from_env() -> tuple[int, int]:
    """Join the process group ``torchrun`` describes in the environment (``RANK``,
    ``WORLD_SIZE``, ``MASTER_ADDR``...): NCCL on GPUs, gloo on CPUs. Without those variables
    (a plain ``python`` run) nothing is started and ``(0, 1)`` comes back."""
    import torch
    import torch.distributed as dist

    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", 1)) <= 1:
        return world()
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    return world()


def shutdown() -> None:
    """Leave the process group :func:`init_from_env` joined (nothing when none was).

    Every rank waits at a barrier first: a rank that tore gloo down while its peer was still
    finishing (rank 0 writes the run's files) was seen to abort ("terminate called without
    an active exception") and fail the whole run."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def shard(order: np.ndarray, batch_size: int) -> tuple[np.ndarray, int]:
    """This rank's images of one epoch and its per-rank batch size.

    ``order`` is the epoch's global order (the same on every rank); torch's
    ``DistributedSampler`` (no shuffling of its own, ``drop_last``) deals it out, so rank r's
    b-th local batch holds ``order[b * batch_size + r :: world]`` of the b-th global batch.
    """
    from torch.utils.data import DistributedSampler

    rank, size = world()
    if size == 1:
        return order, batch_size
    if batch_size % size:
        raise ValueError(
            f"batch_size {batch_size} (the global batch) must divide by the {size} ranks; "
            f"use a multiple of {size}"
        )
    full = (len(order) // batch_size) * batch_size  # every rank takes the same steps
    sampler = DistributedSampler(
        range(full), num_replicas=size, rank=rank, shuffle=False, drop_last=True
    )
    return order[np.fromiter(iter(sampler), dtype=np.int64)], batch_size // size


def all_mean(values: dict[str, float], weight: float) -> dict[str, float]:
    """The ``weight``-weighted mean of each value over all ranks (itself with one rank)."""
    rank, size = world()
    if size == 1:
        return dict(values)
    import torch
    import torch.distributed as dist

    keys = sorted(values)
    t = torch.tensor([values[k] * weight for k in keys] + [weight], dtype=torch.float64)
    dist.all_reduce(t)
    total = float(t[-1])
    return {k: float(t[i]) / total for i, k in enumerate(keys)}


def wrap(model, device: str):
    """``model`` inside ``DistributedDataParallel`` when a process group runs, else itself."""
    if world()[1] == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [int(device.split(":")[1])] if device.startswith("cuda:") else None
    return DistributedDataParallel(model, device_ids=ids)
