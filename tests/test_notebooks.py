"""Notebooks: committed without outputs, parameterised, and each runs end to end (smoke).

The smoke runs execute every numbered notebook in order with ``PROFILE=smoke`` through the
same runner ``make reproduce`` uses, so later notebooks (06, 07, 10) find the runs that
earlier ones (02-05) saved.
"""

import ast
import json
import os
import re
import time

import nbformat
import pytest

from maskfer_lib import reproduce as runner
from maskfer_lib.config import ROOT

NOTEBOOKS = runner.find_notebooks()
REQUIRED_PARAMS = ("DATASET", "DATA_DIR", "PROFILE", "SEED")
MAX_CELL_LINES = 15
"""A code cell asks one thing: a longer one is split, or its logic moves to the library."""


def test_notebooks_exist_in_order():
    names = [p.stem for p in NOTEBOOKS]
    assert names and names[0].startswith("00_")
    assert names == sorted(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_parameterised(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{path.name} cell {i} has outputs: strip them"
            assert cell.get("execution_count") is None, (
                f"{path.name} cell {i} has an execution count"
            )
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), (
        f"{path.name}: first code cell must be tagged parameters"
    )
    for name in REQUIRED_PARAMS:
        assert f"{name} =" in code[0].source, f"{path.name}: parameters cell lacks {name}"
    assert "import maskfer_lib" in code[1].source, (
        f"{path.name}: import maskfer_lib before any framework"
    )


def _parsed(cell) -> ast.Module:
    """A code cell's Python, IPython magics (``%``) and shell lines (``!``) left out."""
    lines = cell.source.splitlines()
    return ast.parse("\n".join(line for line in lines if not line.lstrip().startswith(("%", "!"))))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_are_short_and_define_no_function(path):
    # Functions, lambdas and classes belong in maskfer_lib, where they are tested.
    nb = nbformat.read(path, as_version=4)
    long_cells, definitions = [], []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        lines = len(cell.source.splitlines())
        if lines > MAX_CELL_LINES:
            long_cells.append(f"cell {i} ({lines} lines)")
        definitions += [
            f"cell {i} line {node.lineno}: {type(node).__name__}"
            for node in ast.walk(_parsed(cell))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef)
        ]
    assert not long_cells, f"{path.name}: over {MAX_CELL_LINES} lines: {long_cells}"
    assert not definitions, (
        f"{path.name} defines functions (move them to maskfer_lib): {definitions}"
    )


@pytest.fixture(scope="module")
def smoke_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("smoke")
    saved = {k: os.environ.get(k) for k in ("MASKFER_RUNS", "MASKFER_FIGURES")}
    os.environ["MASKFER_RUNS"] = str(base / "runs")
    os.environ["MASKFER_FIGURES"] = str(base / "figures")
    yield base
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_smoke_profile(path, smoke_env):
    start = time.time()
    run = runner.run_notebook(path, smoke_env / "executed", profile="smoke")
    executed = nbformat.read(run.output, as_version=4)
    errors = [
        o
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    figures = smoke_env / "figures"
    written = [p for p in figures.rglob("*") if p.is_file() and p.stat().st_mtime >= start - 1]
    assert written, f"{path.name} wrote no figure or table to {figures}"


def _write_notebook(path, body):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'PROFILE = "quick"\nDATASET = "synthfacs"\nDATA_DIR = ""\nSEED = 0'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


def test_run_all_writes_a_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKFER_FIGURES", str(tmp_path / "fig"))
    _write_notebook(tmp_path / "01_a.ipynb", "y = 2")
    runs = runner.run_all(
        [tmp_path / "01_a.ipynb"], "smoke", out_dir=tmp_path / "out", log=lambda *a, **k: None
    )
    manifest = json.loads((tmp_path / "fig" / "manifest.json").read_text())
    assert manifest["profile"] == "smoke" and manifest["dataset"] == "synthfacs"
    assert set(manifest["notebooks"]) == {"01_a"} and manifest["notebooks"]["01_a"] == round(
        runs[0].seconds, 1
    )
    assert manifest["cores"] >= 1 and manifest["git_commit"]
    assert "| 01_a |" in (tmp_path / "fig" / "manifest.md").read_text()


def test_a_failing_notebook_is_named_with_its_cell(tmp_path):
    _write_notebook(tmp_path / "01_fine.ipynb", "assert PROFILE == 'smoke'")
    _write_notebook(tmp_path / "02_broken.ipynb", "raise ValueError('boom from the test')")
    _write_notebook(tmp_path / "03_never_run.ipynb", "x = 3")
    code = runner.main(
        ["--profile", "smoke", "--notebooks-dir", str(tmp_path), "--out-dir", str(tmp_path / "out")]
    )
    assert code == 1
    assert (tmp_path / "out" / "01_fine.ipynb").exists()
    assert not (tmp_path / "out" / "03_never_run.ipynb").exists()  # fail fast
    with pytest.raises(
        runner.NotebookFailed, match=r"02_broken\.ipynb failed in cell \d+.*boom from the test"
    ):
        runner.run_notebook(tmp_path / "02_broken.ipynb", tmp_path / "out2", profile="smoke")


def test_only_rejects_unknown_notebooks():
    with pytest.raises(ValueError, match="no notebook matches"):
        runner.find_notebooks(only=["42"])
    assert [p.stem[:2] for p in runner.find_notebooks(only=["00"])] == ["00"]


def test_parameters_reach_the_notebook(tmp_path):
    _write_notebook(
        tmp_path / "01_p.ipynb", "import json; print(json.dumps([PROFILE, DATASET, SEED]))"
    )
    run = runner.run_notebook(tmp_path / "01_p.ipynb", tmp_path / "out", profile="smoke", seed=7)
    out = nbformat.read(run.output, as_version=4).cells[-1].outputs[0]["text"]
    assert json.loads(out) == ["smoke", "synthfacs", 7]


def test_executed_notebooks_are_gitignored():
    assert "notebooks/_executed/" in (ROOT / ".gitignore").read_text()


def test_relative_data_dir_reaches_the_notebook_as_an_absolute_path(tmp_path, monkeypatch):
    # Notebooks run in their own folder; a DATA_DIR relative to where `make` ran must still
    # point at the data (it did not, on FER2013: "neither a FER2013 folder nor dlib_faces").
    (tmp_path / "nbs").mkdir()
    (tmp_path / "mydata" / "validation").mkdir(parents=True)
    _write_notebook(
        tmp_path / "nbs" / "01_a.ipynb",
        "from pathlib import Path\nassert Path(DATA_DIR).is_absolute(), DATA_DIR\n"
        "assert (Path(DATA_DIR) / 'validation').is_dir(), DATA_DIR",
    )
    monkeypatch.chdir(tmp_path)
    runner.run_notebook(tmp_path / "nbs" / "01_a.ipynb", tmp_path / "out", "smoke",
                        data_dir="mydata")  # fmt: skip


def test_manifest_of_separate_runs_names_each_notebook_commit(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKFER_FIGURES", str(tmp_path / "fig"))
    for name in ("01_a", "02_b"):
        _write_notebook(tmp_path / f"{name}.ipynb", "y = 2")
        runner.run_all([tmp_path / f"{name}.ipynb"], "smoke", out_dir=tmp_path / "out",
                       log=lambda *a, **k: None)  # fmt: skip
    first = json.loads((tmp_path / "fig" / "manifest.json").read_text())
    runner.run_all([tmp_path / "01_a.ipynb"], "smoke", out_dir=tmp_path / "out",
                   log=lambda *a, **k: None)  # fmt: skip
    manifest = json.loads((tmp_path / "fig" / "manifest.json").read_text())
    assert set(manifest["notebooks"]) == set(manifest["notebook_commits"]) == {"01_a", "02_b"}
    # The rerun of 01_a replaced its entry; the first run's seconds are kept.
    assert [r["notebook"] for r in manifest["earlier_runs"]] == ["01_a"]
    assert manifest["earlier_runs"][0]["seconds"] == first["notebooks"]["01_a"]
    assert "Earlier runs" in (tmp_path / "fig" / "manifest.md").read_text()
    assert manifest["total_seconds"] == pytest.approx(sum(manifest["notebooks"].values()), abs=0.2)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_read_settings_from_the_profile_not_its_name(path):
    # config.Profile carries every setting; a notebook that branches on PROFILE's name
    # hides a setting from config.py (print and labels may still name the profile).
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells[1:] if c.cell_type == "code")
    branches = re.findall(r"PROFILE\s*(?:==|!=|in\b)|\.get\(PROFILE\b|\bif PROFILE\b", code)
    assert not branches, f"{path.name} branches on the profile name: {branches}"
