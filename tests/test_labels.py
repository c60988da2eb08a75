"""Label sets shared by SynthFACS and the loaders, class-name spellings and class maps."""

import numpy as np
import pytest
from test_data import toy_ds  # the loaders' tiny 7-class dataset

from maskfer_lib import data, labels, synth
from maskfer_lib.labels import CLASSES_3, CLASSES_4, CLASSES_7


def test_label_sets_are_defined_once():
    assert synth.CLASSES_7 is labels.CLASSES_7 is data.CLASSES_7
    assert data.CLASS_MAPS["yang3"] is labels.MAP_7_TO_3 is synth.MAP_7_TO_3
    # the loaders' names for them are these, re-exported
    assert data.SYNONYMS is labels.SYNONYMS and data.map_classes is labels.map_classes
    assert data.canonical_class is labels.canonical_class


def test_seven_to_three_covers_every_expression_once():
    assert set(labels.MAP_7_TO_3) == set(labels.CLASSES_7)
    assert set(labels.MAP_7_TO_3.values()) == set(labels.CLASSES_3)
    assert set(labels.CLASSES_4) < set(labels.CLASSES_7)


def test_map_classes_yang3_and_hayashi4():
    ds = toy_ds(n_per_class=2)
    y3 = labels.map_classes(ds, "yang3")
    assert y3.class_names == CLASSES_3 and len(y3) == len(ds)
    assert y3.class_counts() == {"positive": 4, "neutral": 2, "negative": 8}
    h4 = labels.map_classes(ds, "hayashi4")
    assert h4.class_names == CLASSES_4 and len(h4) == 8
    assert h4.meta["dropped_by_class_map"] == 6
    # the kept images are the right ones, carried with their metadata
    kept = np.flatnonzero(np.isin(ds.labels, [CLASSES_7.index(c) for c in CLASSES_4]))
    np.testing.assert_array_equal(h4.images, ds.images[kept])
    np.testing.assert_array_equal(h4.identity, ds.identity[kept])
    assert [h4.class_names[i] for i in h4.labels] == [ds.class_names[i] for i in ds.labels[kept]]
    custom = labels.map_classes(ds, {"Happiness": "pos", "anger": "neg"})
    assert custom.class_names == ("pos", "neg") and len(custom) == 4
    with pytest.raises(ValueError, match="unknown class map"):
        labels.map_classes(ds, "yang5")
    with pytest.raises(ValueError, match="matches none"):
        labels.map_classes(
            labels.map_classes(ds, {"happy": "positive", "sad": "negative"}), "hayashi4"
        )


def test_canonical_class_reads_spellings_and_refuses_the_rest():
    assert labels.canonical_class(" Happiness ") == "happy"
    assert labels.canonical_class("NE") == "neutral"
    with pytest.raises(ValueError, match="unknown class name 'happyy'"):
        labels.canonical_class("happyy")


def test_class_map_between_finds_the_map_or_refuses_unrelated_classes():
    assert labels.class_map_between(("Happy", "sad"), ("happy", "sad")) is None
    assert labels.class_map_between(("sad", "happy"), ("happy", "sad")) == {
        "happy": "happy",
        "sad": "sad",
    }
    with pytest.raises(ValueError, match="no class map turns classes"):
        labels.class_map_between(("cat", "dog"), ("positive", "neutral", "negative"))
    assert labels.class_map_between(CLASSES_7, CLASSES_3) == "yang3"
    assert labels.class_map_between(CLASSES_7, CLASSES_4) == "hayashi4"
