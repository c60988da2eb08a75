"""maskfer_lib — the thin, tested library behind the maskfer notebooks.

Importing this package first makes TensorFlow and the CUDA build of torch safe to use in
one process: triton (pulled in lazily by torch) and TensorFlow each carry their own LLVM,
and loading triton *after* TensorFlow segfaults. Importing triton here, before anything
can import TensorFlow, fixes the load order (see docs/environment.md and
tests/test_env_crash.py). The Makefile also removes triton from the venv, which fixes the
crash whatever the import order; this import covers environments built without it.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:  # pragma: no cover - depends on the environment
    import triton as _triton  # noqa: F401
except Exception:  # ImportError, or a broken triton: nothing here uses a GPU
    pass

__version__ = "0.1.0"


def predict(images, model: str):
    """Class probabilities (N, K) of a shipped model for uint8 face crops (N, H, W, 1 or 3).

    ``model`` names a file of ``maskfer_lib/weights/`` (its stem); the columns follow its
    JSON card's ``class_names``. See :func:`maskfer_lib.shipped.predict`.
    """
    # On call only: this file runs before any submodule is imported (the import-order
    # guard above); importing shipped here would load data, train, runs and the timing code
    # with every ``import maskfer_lib.<anything>``, and shipped imports this package.
    from maskfer_lib.shipped import predict as _predict

    return _predict(images, model)
