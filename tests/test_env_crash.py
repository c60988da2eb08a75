"""TensorFlow and torch in one process: the import orders that segfault without the guard."""

import os
import subprocess
import sys

import pytest

CRASHING_ORDERS = {
    "tensorflow_then_torchvision": "import tensorflow; import torchvision",
    "torch_tensorflow_then_optimizer": (
        "import torch, tensorflow; torch.optim.Adam([torch.zeros(1, requires_grad=True)])"
    ),
}


@pytest.mark.parametrize("code", CRASHING_ORDERS.values(), ids=CRASHING_ORDERS.keys())
def test_tensorflow_and_torch_in_one_process(code):
    # Run as a user would, *without* importing maskfer_lib first: the venv itself must be safe.
    proc = subprocess.run(
        [sys.executable, "-c", code + "; print('alive')"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert "alive" in proc.stdout


def test_guarded_order_with_package_first():
    code = "import maskfer_lib, tensorflow, torchvision, torch; torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
