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
