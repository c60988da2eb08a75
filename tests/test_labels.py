"""Label sets shared by SynthFACS and the loaders."""

from maskfer_lib import data, labels, synth


def test_label_sets_are_defined_once():
    assert synth.CLASSES_7 is labels.CLASSES_7 is data.CLASSES_7
    assert data.CLASS_MAPS["yang3"] is labels.MAP_7_TO_3 is synth.MAP_7_TO_3


def test_seven_to_three_covers_every_expression_once():
    assert set(labels.MAP_7_TO_3) == set(labels.CLASSES_7)
    assert set(labels.MAP_7_TO_3.values()) == set(labels.CLASSES_3)
    assert set(labels.CLASSES_4) < set(labels.CLASSES_7)
