"""Table writers: every table saved as CSV (for code) and Markdown (for readers)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def save_table(
    df: pd.DataFrame,
    out_dir: str | Path,
    name: str,
    index: bool | None = None,
    floatfmt: str = ".4g",
) -> list[Path]:
    """Write ``df`` as ``out_dir/name.csv`` and ``out_dir/name.md``; return both paths.

    ``index=None`` keeps the index when it carries labels (anything but a plain 0..N-1
    RangeIndex), so row names such as model names are never dropped silently.
    """
    if index is None:
        index = not isinstance(df.index, pd.RangeIndex) or df.index.name is not None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / f"{name}.csv", out_dir / f"{name}.md"
    df.to_csv(csv_path, index=index)
    md_path.write_text(to_markdown(df, index=index, floatfmt=floatfmt) + "\n")
    return [csv_path, md_path]


def to_markdown(df: pd.DataFrame, index: bool = False, floatfmt: str = ".4g") -> str:
    """A GitHub-flavoured Markdown table (no ``tabulate`` dependency needed)."""
    frame = df.reset_index() if index else df
    if isinstance(frame.columns, pd.MultiIndex):
        # ("paper", "recall") -> "paper · recall"; the index column's ("index", "") -> "index"
        frame = frame.set_axis(
            [" · ".join(str(p) for p in c if str(p)) for c in frame.columns], axis=1
        )

    def fmt(v):
        if isinstance(v, float):
            return "" if pd.isna(v) else format(v, floatfmt)
        return str(v)

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])
