"""The library's docstrings and comments cite files inside this repository only."""

import re

from maskfer_lib.config import ROOT

SOURCES = sorted((ROOT / "maskfer_lib").rglob("*.py")) + sorted(
    (ROOT / "notebooks").glob("*.ipynb")
)


def test_no_citation_of_files_outside_the_repository():
    # ../shared/data is where development data is read (config.SHARED_DATA), not a citation.
    outside = re.compile(r"\.\./shared/(?!data)|shared/papers/|\b(?:ENV|DESIGN)\.md\b")
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in SOURCES
            for i, line in enumerate(p.read_text().splitlines(), 1) if outside.search(line)]  # fmt: skip
    assert not hits, f"cite docs/ instead of files outside the repository: {hits}"


def test_every_cited_docs_file_exists():
    cited = {m for p in SOURCES for m in re.findall(r"docs/[\w.-]+\.md", p.read_text())}
    assert cited, "nothing cites docs/: the pattern no longer matches"
    missing = sorted(c for c in cited if not (ROOT / c).is_file())
    assert not missing, missing


def test_the_readme_layout_lists_every_module():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") : readme.index("## Adding a model")]
    missing = []
    for path in sorted((ROOT / "maskfer_lib").rglob("*.py")):
        if (
            "__pycache__" in path.parts
            or path.name == "__init__.py"
            and path.parent.name in ("keras", "torch")
        ):
            continue
        name = path.name if path.name != "__init__.py" else f"{path.parent.name}/"
        if not re.search(rf"(?<![\w/]){re.escape(name)}", layout):
            missing.append(str(path.relative_to(ROOT)))
    assert not missing, f"add these to the README's Layout section: {missing}"
