"""Bad input to the loaders and to the notebook runner: a clear error naming the path and
the fix, or a logged and counted skip, never a silent wrong result.

One test per case of the issue "Real photos and bad input" (numbers as there): fixtures are
written in tmp_path (zero-byte and truncated images, bad csvs, a misspelt class folder,
mixed sizes, a validation folder lacking a class, 3 images per class, a file as DATA_DIR);
the runner's checks are tested without executing notebooks where possible, and case 12 end
to end in the smoke profile.
"""

from __future__ import annotations

import json
import logging
import os
import re

import cv2
import nbformat
import numpy as np
import pytest
from test_data import make_folder, write_img  # the same tiny image-folder fixtures

from maskfer_lib import data
from maskfer_lib import reproduce as runner

FER_ROW = " ".join(["7"] * 2304)


def fer_csv(rows):
    """rows: (emotion, usage); a usage of None leaves the cell empty."""
    lines = ["emotion,pixels,Usage"]
    lines += [f"{e},{FER_ROW},{'' if u is None else u}" for e, u in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- 1 unreadable


def test_1_zero_byte_and_truncated_images_are_counted_skips(tmp_path, caplog):
    make_folder(tmp_path, {"happy": 2})
    empty = tmp_path / "happy" / "empty.jpg"
    empty.write_bytes(b"")
    ok, jpg = cv2.imencode(".jpg", np.full((40, 40, 3), 90, np.uint8))
    truncated = tmp_path / "happy" / "truncated.jpg"
    truncated.write_bytes(jpg.tobytes()[: len(jpg) // 2])
    with pytest.raises(ValueError, match=rf"cannot read image {re.escape(str(empty))}: empty"):
        data.load_imagefolder(tmp_path)
    with caplog.at_level(logging.WARNING, logger="maskfer_lib.data"):
        with pytest.warns(UserWarning, match="skipped 2 unreadable"):
            ds = data.load_imagefolder(tmp_path, on_error="skip")
    assert len(ds) == 2
    reasons = dict(ds.meta["skipped"])
    assert set(reasons) == {str(empty), str(truncated)}
    assert "0 bytes" in reasons[str(empty)]
    assert "skipped 2 unreadable image(s) of 4" in caplog.text


# --------------------------------------------------------------------------- 2 bad csv


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"emotion,pixels,Usage\n", "no data rows"),
        (b"\n\n\n", "no header and no rows"),
        (bytes(range(256)) * 20, "does not read as a text csv"),
    ],
    ids=["zero-byte", "header-only", "blank", "binary"],
)
def test_2_empty_header_only_or_binary_csv_raises_naming_file_and_format(tmp_path, content, words):
    p = tmp_path / "fer2013.csv"
    p.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(str(p))) as err:
        data.load_fer2013_csv(p)
    msg = str(err.value)
    assert words in msg and "emotion,pixels,Usage" in msg and "2304" in msg


def test_2_wrong_columns_lists_the_missing_ones(tmp_path):
    p = tmp_path / "faces.csv"
    p.write_text("label,pixels,split\n0,1 2 3,Training\n")
    with pytest.raises(
        ValueError,
        match=r"faces\.csv has columns \['label', 'pixels', 'split'\], missing \['emotion'\]",
    ) as err:
        data.load_fer2013_csv(p)
    assert "emotion,pixels,Usage" in str(err.value)


# --------------------------------------------------------------------------- 3 Usage


def test_3_two_bad_usage_values_are_listed_with_the_allowed_ones(tmp_path):
    p = tmp_path / "fer2013.csv"
    p.write_text(fer_csv([(0, "Training"), (1, "Train"), (2, None), (3, "Train")]))
    with pytest.raises(ValueError, match=re.escape(str(p))) as err:
        data.load_fer2013_csv(p)
    msg = str(err.value)
    assert "unknown Usage values ['', 'Train']" in msg
    assert "'Train' (row 3)" in msg and "'' (row 4)" in msg
    assert "allowed: Training, PublicTest, PrivateTest" in msg


# --------------------------------------------------------------------------- 4 class folders


def test_4_misspelt_class_folder_raises_with_the_closest_name(tmp_path):
    make_folder(tmp_path, {"happy": 8, "happyy": 8, "sad": 8})
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "happyy"))) as err:
        data.load_imagefolder(tmp_path)
    msg = str(err.value)
    assert "did you mean 'happy'?" in msg
    assert "Known class names: angry, disgust, fear, happy, neutral, sad, surprise" in msg
    assert "class_names=" in msg and "classes.txt" in msg
    with pytest.raises(ValueError, match="did you mean 'happy'"):
        data.load_dataset("imagefolder", tmp_path, "smoke")
    # Given explicitly, any class names are the caller's to choose.
    ds = data.load_imagefolder(tmp_path, class_names=("happy", "happyy", "sad"))
    assert ds.class_counts() == {"happy": 8, "happyy": 8, "sad": 8}
    (tmp_path / data.CLASSES_FILE).write_text("sad\nhappy\nhappyy\n")
    out = data.load_dataset("imagefolder", tmp_path, "smoke", max_per_class=None)
    assert out["train"].class_names == ("sad", "happy", "happyy")


def test_4_folder_not_in_the_given_class_names_suggests_one(tmp_path):
    make_folder(tmp_path, {"Positive": 1, "neutrl": 1})
    with pytest.raises(ValueError, match=r"neutrl \(did you mean 'neutral'\?\)"):
        data.load_imagefolder(tmp_path, class_names=("positive", "neutral", "negative"))


# --------------------------------------------------------------------------- 5 mixed sizes


def test_5_load_dataset_refuses_mixed_image_sizes_unless_size_is_given(tmp_path, monkeypatch):
    monkeypatch.delenv(data.IMAGE_SIZE_ENV, raising=False)
    make_folder(tmp_path, {"happy": 10, "sad": 9})
    big = write_img(tmp_path / "sad" / "sad_big.png", 30, 20)
    with pytest.raises(data.MixedSizeError, match=re.escape(str(big))) as err:
        data.load_dataset("imagefolder", tmp_path, "smoke")
    msg = str(err.value)
    assert "is 20x30 but" in msg and "happy_0.png is 10x12" in msg and "size=" in msg
    out = data.load_dataset("imagefolder", tmp_path, "smoke", max_per_class=None, size=16)
    assert out["train"].image_shape == (16, 16, 3) and out["train"].meta["resized_to"] == [16, 16]
    monkeypatch.setenv(data.IMAGE_SIZE_ENV, "24x20")
    assert data.load_dataset("imagefolder", tmp_path, "smoke")["test"].image_shape == (24, 20, 3)


# --------------------------------------------------------------------------- 6 missing class


def test_6_a_validation_folder_lacking_a_class_is_warned_and_recorded(tmp_path):
    make_folder(tmp_path / "train", {"happy": 10, "sad": 10}, 48, 48)
    make_folder(tmp_path / "validation", {"happy": 3}, 48, 48)
    # FER2013's Kaggle layout: validation/ becomes the test split.
    with pytest.warns(
        UserWarning, match=r"split 'test' from .*validation has no images of .*'sad'"
    ):
        fer = data.load_dataset("fer2013", tmp_path, "smoke", max_per_class=None)
    assert "sad" in fer["test"].meta["missing_classes"]
    assert "sad" not in fer["train"].meta["missing_classes"]  # FER2013's other 5 are absent
    # An ImageFolder: validation/ is the val split, and it is named as such.
    with pytest.warns(UserWarning, match=r"split 'val' from .*validation has no .*\['sad'\]"):
        imf = data.load_dataset("imagefolder", tmp_path, "smoke", max_per_class=None)
    assert imf["val"].meta["missing_classes"] == ["sad"]
    assert "missing_classes" not in imf["train"].meta and "missing_classes" not in imf["test"].meta
    info = data.check_dataset("imagefolder", tmp_path)
    assert info["missing_classes"] == {"val": ["sad"]}


# --------------------------------------------------------------------------- 7 too few


def test_7_three_images_per_class_says_how_many_are_needed(tmp_path):
    make_folder(tmp_path, {"angry": 3, "fear": 3, "happy": 10, "sad": 3, "surprise": 3})
    with pytest.raises(data.TooFewImagesError, match=re.escape(str(tmp_path))) as err:
        data.load_dataset("imagefolder", tmp_path, "smoke")
    msg = str(err.value)
    assert "needs at least 7 images per class" in msg
    assert "'angry' has 3" in msg and "'sad' has 3" in msg and "'happy' has" not in msg
    assert "val/ and test/" in msg or "val/test" in msg
    assert data.images_needed_per_class((0.7, 0.15, 0.15)) == 7
    with pytest.raises(ValueError, match="needs at least 7 images per class"):
        data.stratified_split(np.repeat(np.arange(7), 3))


# --------------------------------------------------------------------------- 8 file vs folder


def test_8_a_file_as_data_dir_is_called_a_file(tmp_path):
    f = tmp_path / "faces.zip"
    f.write_bytes(b"PK\x03\x04")
    for name in ("imagefolder", "kdef", "rafdb", "lfwfer"):
        with pytest.raises(
            NotADirectoryError, match=rf"{re.escape(str(f))} is a file, not a folder"
        ):
            data.load_dataset(name, f, "smoke")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        data.load_imagefolder(f)
    with pytest.raises(ValueError, match=rf"{re.escape(str(f))} is an archive.*extract it"):
        data.load_dataset("fer2013", f, "smoke")
    folder = tmp_path / "fer"
    folder.mkdir()
    with pytest.raises(
        IsADirectoryError, match=rf"{re.escape(str(folder))} is a folder, not a csv"
    ):
        data.load_fer2013_csv(folder)


# --------------------------------------------------------------------------- runner


def _write_notebook(path, body="x = 1"):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'PROFILE = "quick"\nDATASET = "synthfacs"\nDATA_DIR = ""\nSEED = 0'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("import maskfer_lib"),
        nbformat.v4.new_code_cell(body),
    ]
    nbformat.write(nb, path)
    return path


def test_9_only_matches_notebook_numbers_exactly(tmp_path):
    for stem in ("00_intro", "01_masks", "02_cnn", "10_bench"):
        _write_notebook(tmp_path / f"{stem}.ipynb")

    def pick(*only):
        return [p.stem for p in runner.find_notebooks(tmp_path, list(only))]

    assert pick("1") == ["01_masks"]  # not 10_bench as well
    assert pick("01") == ["01_masks"]
    assert pick("10") == ["10_bench"]
    assert pick("2", "01_masks") == ["01_masks", "02_cnn"]
    assert pick("02_cnn.ipynb") == ["02_cnn"]
    with pytest.raises(ValueError, match=r"no notebook matches \['3', '01_'\].*00, 01, 02, 10"):
        pick("3", "01_")
    assert runner.select_notebooks(runner.find_notebooks(tmp_path), None)[-1].stem == "10_bench"


def test_10_unknown_dataset_is_rejected_before_any_notebook(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MASKFER_FIGURES", str(tmp_path / "fig"))
    _write_notebook(tmp_path / "01_a.ipynb")
    with pytest.raises(ValueError, match=r"unknown dataset 'fer2014' \(did you mean 'fer2013'\?\)"):
        runner.check_inputs("fer2014")
    code = runner.main(
        ["--profile", "smoke", "--dataset", "fer2014", "--data-dir", str(tmp_path),
         "--notebooks-dir", str(tmp_path), "--out-dir", str(tmp_path / "out")]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'fer2014'" in err
    assert all(n in err for n in ("synthfacs", "fer2013", "imagefolder", "kdef", "rafdb", "lfwfer"))
    assert not (tmp_path / "out").exists() and not (tmp_path / "fig" / "manifest.json").exists()


def test_11_data_dir_is_checked_by_the_loader_before_any_notebook(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MASKFER_FIGURES", str(tmp_path / "fig"))
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _write_notebook(nbs / "01_a.ipynb")
    make_folder(tmp_path / "faces" / "train", {"happy": 2, "happyy": 2})
    code = runner.main(
        ["--profile", "smoke", "--dataset", "imagefolder", "--data-dir", str(tmp_path / "faces"),
         "--notebooks-dir", str(nbs), "--out-dir", str(tmp_path / "out")]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "faces" / "train" / "happyy") in err and "did you mean 'happy'" in err
    assert not (tmp_path / "out").exists()
    # The same check, on each thing the loaders read, without decoding an image.
    csv = tmp_path / "fer2013.csv"
    csv.write_text("emotion,image,Usage\n0,1 2,Training\n")
    with pytest.raises(ValueError, match=r"fer2013\.csv has columns .* missing \['pixels'\]"):
        runner.check_inputs("fer2013", str(csv))
    with pytest.raises(ValueError, match="needs DATA_DIR"):
        runner.check_inputs("kdef", "")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        runner.check_inputs("imagefolder", str(tmp_path / "absent"))
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        runner.check_inputs("lfwfer", str(csv))
    (tmp_path / "faces" / "train" / "happyy").rename(tmp_path / "faces" / "train" / "sad")
    info = runner.check_inputs("imagefolder", str(tmp_path / "faces"))
    assert info["dataset"] == "imagefolder" and info["splits"] == ["train"]


# --------------------------------------------------------------------------- 12 end to end


def test_12_readme_imagefolder_command_runs_01_and_02(tmp_path, monkeypatch, capsys):
    from maskfer_lib import synth

    for var in ("MASKFER_RUNS", "MASKFER_FIGURES", "MASKFER_CACHE"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv(data.IMAGE_SIZE_ENV, raising=False)
    # The README's layout: <split>/<class>/*.png; faces dlib can find, 10 train + 3 test each.
    faces = synth.generate(n_per_class=13, size=64, seed=0, pose="frontal")
    root = tmp_path / "faces"
    seen = {}
    for img, lab in zip(faces.images, faces.labels, strict=True):
        c = faces.class_names[lab]
        k = seen[c] = seen.get(c, -1) + 1
        split = "train" if k < 10 else "test"
        write_path = root / split / c / f"{k}.png"
        write_path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(write_path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    assert sorted(os.listdir(root)) == ["test", "train"]
    out = tmp_path / "executed"
    code = runner.main(
        ["--profile", "smoke", "--dataset", "imagefolder", "--data-dir", str(root),
         "--only", "01,02", "--out-dir", str(out)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err[-2000:]
    assert sorted(p.name for p in out.glob("*.ipynb")) == [
        "01_masked_datasets.ipynb",
        "02_celik_cnn.ipynb",
    ]
    manifest = json.loads((tmp_path / "maskfer_figures" / "manifest.json").read_text())
    assert manifest["dataset"] == "imagefolder" and set(manifest["notebooks"]) == {
        "01_masked_datasets",
        "02_celik_cnn",
    }
