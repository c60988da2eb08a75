"""Dependency pins live in pyproject.toml; environment.yml must mirror them exactly."""

import re
import tomllib

from maskfer_lib.config import ROOT


def _pyproject_deps():
    """Runtime pins and the dev extra's (tests, lint), which make venv installs too."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def test_development_tools_are_not_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[=<>]", d)[0].lower() for d in project["dependencies"]}
    assert not names & {"pytest", "ruff", "nbmake", "nbstripout"}, names
    assert '-e ".[dev]"' in (ROOT / "Makefile").read_text()


def test_every_dependency_is_pinned():
    unpinned = [d for d in _pyproject_deps() if "==" not in d]
    assert not unpinned, f"pin these with == in pyproject.toml: {unpinned}"


def test_environment_yml_mirrors_pyproject():
    yml = (ROOT / "environment.yml").read_text()
    listed = set(re.findall(r"^\s+- ([A-Za-z0-9_.\-]+==[^\s]+)\s*$", yml, flags=re.M))
    assert listed == set(_pyproject_deps())


def _no_deps():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["maskfer"]["no-deps"]


def test_no_deps_pins_are_pinned_and_mirrored():
    pins = _no_deps()
    assert pins and all("==" in p for p in pins), pins
    yml = (ROOT / "environment.yml").read_text()
    line = re.search(r"^# no-deps: pip install --no-deps (.+)$", yml, flags=re.M)
    assert line, "environment.yml lacks the '# no-deps: pip install --no-deps ...' line"
    assert set(line.group(1).split()) == set(pins)
    makefile = (ROOT / "Makefile").read_text()
    assert "--no-deps" in makefile and "['no-deps']" in makefile
