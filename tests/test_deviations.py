"""Each paper's notebook lists its deviations; every row says what the paper says and why."""

import pytest

from maskfer_lib import deviations


@pytest.mark.parametrize("paper", ["celik", "putro", "yang", "hayashi"])
def test_every_paper_lists_filled_rows_with_input_normalisation(paper):
    table = deviations.table(paper)
    assert list(table.columns) == ["what", "paper", "ours", "why"]
    assert table.map(lambda v: bool(str(v).strip())).all(axis=None), table
    assert "input normalisation" in set(table.what)
    assert table.what.is_unique


def test_putro_names_the_detector_that_stands_in_for_acetron():
    row = deviations.table("putro").set_index("what").loc["face detector (integrated FPS)"]
    assert "ACETRON" in row.paper and "HOG" in row.ours


def test_unknown_paper_lists_the_names():
    with pytest.raises(ValueError, match="hayashi"):
        deviations.table("fukui")
