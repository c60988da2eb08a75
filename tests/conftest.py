"""Shared test setup: import maskfer_lib first (TensorFlow/torch import-order guard)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import maskfer_lib  # noqa: E402,F401
