"""Run the numbered notebooks in order with papermill: ``python -m maskfer_lib.reproduce``.

Each notebook's cell tagged ``parameters`` receives ``PROFILE``, ``DATASET``, ``DATA_DIR``
and ``SEED``. Executed copies go to ``notebooks/_executed/<profile>/`` (gitignored); the
notebooks themselves write their figures and tables to ``figures/``. The first failing
notebook stops the run with its name and the failing cell named, and a non-zero exit.

Arguments are checked before any notebook starts: ``--only`` entries are notebook numbers
(``1`` or ``01``, never a prefix: ``1`` is not ``10``) or full names; ``--dataset`` must be a
known name; ``--data-dir`` must hold that dataset in its loader's layout (checked by
``maskfer_lib.data.check_dataset`` on listings and csv headers). Bad arguments exit with 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from maskfer_lib import data
from maskfer_lib.config import PROFILES, ROOT, figures_dir
from maskfer_lib.data import DATASETS
from maskfer_lib.envreport import cpu_count, cpu_model, git_commit

NOTEBOOKS_DIR = ROOT / "notebooks"
KERNEL_NAME = "maskfer"


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook and the cell."""

    def __init__(self, notebook: Path, cell_index: int | None, exec_count, ename: str, evalue: str):
        self.notebook = notebook
        self.cell_index = cell_index
        where = f"cell {cell_index}" if cell_index is not None else "an unknown cell"
        if exec_count is not None:
            where += f" (execution count {exec_count})"
        super().__init__(f"notebook {notebook.name} failed in {where}: {ename}: {evalue}")


@dataclass
class NotebookRun:
    """The outcome of one executed notebook."""

    notebook: str
    seconds: float
    output: Path
    commit: str = ""
    """The git commit the notebook ran at (a long run can span commits)."""


def _matches(notebook: Path, entry: str) -> bool:
    """``entry`` names ``notebook``: its number (``"1"``, ``"01"``) or its full stem."""
    entry = entry.strip()
    if entry.endswith(".ipynb"):
        entry = entry[: -len(".ipynb")]
    if entry.isdigit():
        # Numbers compare as numbers: "1" is 01 and never 10 (a prefix match ran 10 for 1).
        return int(entry) == int(notebook.name[:2])
    return notebook.stem == entry


def select_notebooks(notebooks: list[Path], only: list[str] | None) -> list[Path]:
    """The ``notebooks`` that ``only`` names, in their order; all when ``only`` is empty.

    An entry is a notebook number (``"1"`` and ``"01"`` both mean ``01_*``; ``"10"`` means
    ``10_*``) or a full name (``"03_putro_slim_rgc"``, ``.ipynb`` optional). An entry that
    names no notebook raises ValueError listing the valid numbers and names, so a typo never
    silently runs nothing or the wrong notebook.
    """
    wanted = [o.strip() for o in (only or []) if o.strip()]
    if not wanted:
        return list(notebooks)
    unknown = [w for w in wanted if not any(_matches(p, w) for p in notebooks)]
    if unknown:
        numbers = ", ".join(dict.fromkeys(p.name[:2] for p in notebooks))
        names = ", ".join(p.stem for p in notebooks)
        raise ValueError(
            f"no notebook matches {unknown}; give a number ({numbers or 'none found'}) or a "
            f"full name ({names or 'none found'})"
        )
    return [p for p in notebooks if any(_matches(p, w) for w in wanted)]


def find_notebooks(folder: Path = NOTEBOOKS_DIR, only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks ``NN_*.ipynb`` in ``folder``, in order.

    ``only`` keeps those it names, by number or full name (see :func:`select_notebooks`);
    an entry that matches nothing is an error, so a typo never silently runs nothing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"notebook folder {folder} does not exist")
    notebooks = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    return select_notebooks(notebooks, only)


def check_inputs(dataset: str, data_dir: str = "") -> dict:
    """Refuse a bad ``DATASET`` / ``DATA_DIR`` before any notebook starts.

    Calls the loaders' own cheap check (:func:`maskfer_lib.data.check_dataset`: the name,
    the folder layout or csv header, the class folders; no image is decoded), so the error
    is the one a notebook would raise, minutes earlier. ``data_dir`` is resolved as
    :func:`run_notebook` resolves it. Returns the check's summary.
    """
    resolved = str(Path(data_dir).resolve()) if data_dir else ""
    return data.check_dataset(dataset, resolved)


def _kernel_name() -> str:
    """The registered ``maskfer`` kernel when present (``make venv``), else this Python's."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_NAME if KERNEL_NAME in KernelSpecManager().find_kernel_specs() else "python3"


def run_notebook(
    path: Path,
    out_dir: Path,
    profile: str = "quick",
    dataset: str = "synthfacs",
    data_dir: str = "",
    seed: int = 0,
    extra_parameters: dict | None = None,
) -> NotebookRun:
    """Execute one notebook with papermill; raise :class:`NotebookFailed` naming the cell."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    path = Path(path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / path.name
    # Notebooks run with their own folder as working directory, so a DATA_DIR given relative
    # to where `make` ran is made absolute here.
    abs_dir = str(Path(data_dir).resolve()) if data_dir else ""
    params = {"PROFILE": profile, "DATASET": dataset, "DATA_DIR": abs_dir, "SEED": seed}
    params.update(extra_parameters or {})
    commit = git_commit()
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(path),
            str(output),
            parameters=params,
            kernel_name=_kernel_name(),
            language="python",
            cwd=str(path.parent),
            progress_bar=False,
        )
    except PapermillExecutionError as err:
        raise NotebookFailed(path, err.cell_index, err.exec_count, err.ename, err.evalue) from None
    return NotebookRun(path.stem, time.perf_counter() - start, output, commit)


def run_all(
    notebooks: list[Path],
    profile: str,
    dataset: str = "synthfacs",
    data_dir: str = "",
    seed: int = 0,
    out_dir: Path | None = None,
    log=print,
) -> list[NotebookRun]:
    """Run ``notebooks`` in order, logging one progress line each; stop at the first failure.

    ``dataset`` and ``data_dir`` are checked first (:func:`check_inputs`), so bad input
    stops the run before the first notebook, with the loader's message.
    """
    info = check_inputs(dataset, data_dir)
    dataset = info["dataset"]
    if info.get("missing_classes"):
        log(
            f"warning: {dataset} at {info['data_dir']}: split(s) lacking classes "
            f"{info['missing_classes']}; their scores leave those classes out",
            flush=True,
        )
    out_dir = Path(out_dir) if out_dir else NOTEBOOKS_DIR / "_executed" / profile
    runs = []
    total = time.perf_counter()
    for i, nb in enumerate(notebooks, 1):
        log(
            f"[{i}/{len(notebooks)}] {nb.stem} (profile={profile}, dataset={dataset}) ...",
            flush=True,
        )
        run = run_notebook(nb, out_dir, profile, dataset, data_dir, seed)
        runs.append(run)
        log(f"[{i}/{len(notebooks)}] {nb.stem} done in {run.seconds:.1f} s", flush=True)
    log(
        f"all {len(runs)} notebooks done in {time.perf_counter() - total:.1f} s; "
        f"executed copies in {out_dir}",
        flush=True,
    )
    manifest = write_manifest(runs, profile, dataset, data_dir, seed)
    log(f"manifest: {manifest}", flush=True)
    return runs


def write_manifest(
    runs: list[NotebookRun], profile: str, dataset: str, data_dir: str, seed: int
) -> Path:
    """Record what made the figures: commit, profile, seeds, wall times, CPU (JSON + Markdown).

    Written next to the figures (``figures/`` or ``figures/<dataset>/``) so a reader of the
    committed results sees how to regenerate them. A run of a subset (``ONLY=...``) adds its
    notebooks to those an earlier manifest of the same profile and dataset lists.
    """
    import json

    commit = git_commit()
    manifest = {
        "git_commit": commit,
        "profile": profile,
        "dataset": dataset,
        "data_dir": data_dir,
        "seed": seed,
        "benchmark_seeds": list(PROFILES[profile].seeds),
        "cpu": cpu_model(),
        "cores": cpu_count(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "notebooks": {r.notebook: round(r.seconds, 1) for r in runs},
        "notebook_commits": {r.notebook: r.commit or commit for r in runs},
        "command": (
            f"make reproduce PROFILE={profile} DATASET={dataset} DATA_DIR={data_dir} SEED={seed}"
        ),
    }
    path = figures_dir(profile, dataset) / "manifest.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old.get("profile") == profile and old.get("dataset") == dataset:
            # A rerun replaces a notebook's entry; the replaced one is kept in
            # `earlier_runs`, so a quick rerun that loaded finished training (train.fit's
            # resume) never hides what the first, full run cost.
            manifest["earlier_runs"] = old.get("earlier_runs", []) + [
                {
                    "notebook": nb,
                    "seconds": sec,
                    "commit": old.get("notebook_commits", {}).get(nb, old.get("git_commit")),
                }
                for nb, sec in old.get("notebooks", {}).items()
                if nb in manifest["notebooks"]
            ]
            for key in ("notebooks", "notebook_commits"):
                manifest[key] = {**old.get(key, {}), **manifest[key]}
    manifest["total_seconds"] = round(sum(manifest["notebooks"].values()), 1)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    lines = ["# How these figures were made", ""]
    lines += [
        f"- **{k}**: {v}"
        for k, v in manifest.items()
        if k not in ("notebooks", "notebook_commits", "earlier_runs")
    ]
    lines += ["", "| notebook | seconds | commit |", "| --- | --- | --- |"]
    lines += [
        f"| {k} | {v} | {manifest['notebook_commits'].get(k, '')} |"
        for k, v in sorted(manifest["notebooks"].items())
    ]
    if manifest.get("earlier_runs"):
        lines += ["", "Earlier runs of rerun notebooks (seconds, commit):", ""]
        lines += [
            f"- {r['notebook']}: {r['seconds']} s at {r['commit']}"
            for r in manifest["earlier_runs"]
        ]
    (path.parent / "manifest.md").write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m maskfer_lib.reproduce --profile quick --only 01,03``."""
    ap = argparse.ArgumentParser(prog="python -m maskfer_lib.reproduce", description=__doc__)
    ap.add_argument("--profile", default="quick", choices=sorted(PROFILES))
    ap.add_argument("--dataset", default="synthfacs", help=f"one of {', '.join(DATASETS)}")
    ap.add_argument("--data-dir", default="", help="the dataset's folder (or FER2013 csv)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--only", default="", help="comma-separated notebook numbers or names, e.g. 01,03"
    )
    ap.add_argument("--notebooks-dir", default=str(NOTEBOOKS_DIR))
    ap.add_argument("--out-dir", default=None, help="where executed copies go")
    args = ap.parse_args(argv)
    try:
        notebooks = find_notebooks(
            Path(args.notebooks_dir), args.only.split(",") if args.only else None
        )
        if not notebooks:
            print(f"error: no notebooks found in {args.notebooks_dir}", file=sys.stderr)
            return 2
        run_all(notebooks, args.profile, args.dataset, args.data_dir, args.seed, args.out_dir)
    except NotebookFailed as err:
        print(f"error: {err}", file=sys.stderr)
        print(
            f"the executed copy with the traceback is in {args.out_dir or NOTEBOOKS_DIR / '_executed' / args.profile}",
            file=sys.stderr,
        )
        return 1
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, ValueError) as err:
        # Bad arguments or data, found before any notebook ran (check_inputs, find_notebooks).
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
