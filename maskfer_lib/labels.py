"""The papers' label sets and the 7 -> 3 map: defined once, used by SynthFACS and the loaders."""

CLASSES_7 = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
"""Canonical 7-class order (Kaggle FER2013 folders, alphabetical): Çelik and Putro."""

CLASSES_3 = ("positive", "neutral", "negative")
"""Yang et al.'s three classes, in their order."""

CLASSES_4 = ("angry", "happy", "neutral", "surprise")
"""Hayashi et al.'s four classes (their "normal" is neutral)."""

MAP_7_TO_3 = {
    "happy": "positive",
    "surprise": "positive",
    "neutral": "neutral",
    "angry": "negative",
    "disgust": "negative",
    "fear": "negative",
    "sad": "negative",
}
"""7 -> 3 map. Yang et al. annotate positive/neutral/negative directly and publish no map;
this follows valence: the four unpleasant emotions are negative and surprise (valence-
ambiguous) is counted as positive, as in valence-grouped FER work."""
