"""Table writers."""

import pandas as pd

from maskfer_lib import tables


def test_csv_and_markdown_written(tmp_path):
    df = pd.DataFrame({"model": ["a", "b"], "acc": [0.51234, 0.5]})
    paths = tables.save_table(df, tmp_path, "t")
    assert [p.name for p in paths] == ["t.csv", "t.md"]
    assert pd.read_csv(paths[0]).equals(df)
    md = paths[1].read_text().splitlines()
    assert md[0] == "| model | acc |" and md[2] == "| a | 0.5123 |"


def test_labelled_index_is_kept_and_range_index_is_not(tmp_path):
    labelled = pd.DataFrame({"acc": [0.5, 0.7]}, index=pd.Index(["vgg11", "abn"], name="model"))
    tables.save_table(labelled, tmp_path, "l")
    assert "vgg11" in (tmp_path / "l.md").read_text()
    assert pd.read_csv(tmp_path / "l.csv").columns.tolist() == ["model", "acc"]
    tables.save_table(labelled.reset_index(), tmp_path, "r")
    assert pd.read_csv(tmp_path / "r.csv").columns.tolist() == ["model", "acc"]


def test_multiindex_columns_read_as_joined_names(tmp_path):
    import pandas as pd

    from maskfer_lib.tables import to_markdown

    df = pd.DataFrame(
        [[1.0, 2.0]], columns=pd.MultiIndex.from_tuples([("paper", "recall"), ("ours", "recall")])
    )
    df.index = ["happy"]
    md = to_markdown(df, index=True)
    assert md.splitlines()[0] == "| index | paper · recall | ours · recall |"
