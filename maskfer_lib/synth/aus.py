"""FACS action units as landmark displacements, and EMFACS expression prototypes.

Each action unit (AU) moves a documented subset of the 68 iBUG landmarks. A displacement
``(dx, dy, dz)`` is in model units (the face is ~2 units wide) at full intensity 1.0 (about
FACS "E"); ``dx`` points *outward* (away from the midline), so one table entry serves both
sides. Intensities scale displacements linearly.

=====  ========================  =========================================================
AU     name                      landmarks moved
=====  ========================  =========================================================
AU1    inner brow raiser         brows 19-21, 22-24 up (inner most)
AU2    outer brow raiser         brows 17-20, 23-26 up (outer most)
AU4    brow lowerer              brows 17-26 down, inner ends 20-23 also inward
AU5    upper lid raiser          upper lids 37, 38, 43, 44 up
AU6    cheek raiser              lower lids 40, 41, 46, 47 up, outer corners 36, 45 up,
                                 outer brow ends 17, 26 down; renderer raises cheeks
AU7    lid tightener             lower lids 40, 41, 46, 47 up, upper lids 37, 38, 43, 44 down
AU9    nose wrinkler             nostrils 31-35 and tip 30 up, inner brows 20-23 down,
                                 upper lip 50-52, 61-63 up; renderer draws bridge wrinkles
AU10   upper lip raiser          upper lip 49-53, 61-63 up
AU12   lip corner puller         corners 48, 54, 60, 64 out/up/back; 49, 53, 55, 59 up/out,
                                 lower lip 56-58, 65-67 slightly up
AU15   lip corner depressor      corners 48, 54, 60, 64 down; 49, 53, 55, 59 down
AU16   lower lip depressor       lower lip 55-59, 65-67 down
AU20   lip stretcher             corners 48, 54, 60, 64 out, 49, 53, 55, 59 out; lips thin
AU23   lip tightener             corners 48, 54, 60, 64 in; red lips thin (50-52 down,
                                 56-58 up)
AU25   lips part                 lower inner lip 65-67 and lower lip 55-59 down a little
AU26   jaw drop                  lower lip 55-59, 65-67, corners, chin/jaw 4-12 down
=====  ========================  =========================================================

AU25 is not in the issue's list; it lets some happy faces show teeth as in real smiles.
"""

from __future__ import annotations

import numpy as np

from maskfer_lib.synth.shape import SIDE

AU_NAMES = (
    "AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10",
    "AU12", "AU15", "AU16", "AU20", "AU23", "AU25", "AU26",
)  # fmt: skip
AU_INDEX = {name: i for i, name in enumerate(AU_NAMES)}

# name -> list of (landmark indices, (dx_outward, dy, dz)) at intensity 1.
AU_TABLE: dict[str, list[tuple[tuple[int, ...], tuple[float, float, float]]]] = {
    "AU1": [((21, 22), (0.0, 0.20, 0.0)), ((20, 23), (0.0, 0.15, 0.0)), ((19, 24), (0.0, 0.07, 0.0))],
    "AU2": [((17, 26), (0.0, 0.19, -0.01)), ((18, 25), (0.0, 0.18, 0.0)), ((19, 24), (0.0, 0.12, 0.0)), ((20, 23), (0.0, 0.05, 0.0))],
    "AU4": [
        ((21, 22), (-0.07, -0.16, 0.01)), ((20, 23), (-0.05, -0.13, 0.0)),
        ((19, 24), (-0.03, -0.09, 0.0)), ((18, 25), (0.0, -0.06, 0.0)), ((17, 26), (0.0, -0.03, 0.0)),
    ],
    "AU5": [((37, 38, 43, 44), (0.0, 0.07, 0.01))],
    "AU6": [
        ((40, 41, 46, 47), (0.0, 0.035, 0.0)), ((36, 45), (0.0, 0.012, 0.0)), ((17, 26), (0.0, -0.025, 0.0)),
    ],
    "AU7": [((40, 41, 46, 47), (0.0, 0.04, 0.0)), ((37, 38, 43, 44), (0.0, -0.015, 0.0))],
    "AU9": [
        ((31, 35), (0.03, 0.09, 0.0)), ((32, 33, 34), (0.0, 0.07, 0.0)), ((30,), (0.0, 0.03, 0.0)),
        ((21, 22), (0.0, -0.07, 0.0)), ((20, 23), (0.0, -0.04, 0.0)),
        ((50, 51, 52), (0.0, 0.05, 0.0)), ((61, 62, 63), (0.0, 0.04, 0.0)),
    ],
    "AU10": [((50, 51, 52), (0.0, 0.075, 0.0)), ((49, 53), (0.0, 0.06, 0.0)), ((61, 62, 63), (0.0, 0.07, 0.0))],
    "AU12": [
        ((48, 54), (0.14, 0.18, -0.06)), ((60, 64), (0.13, 0.17, -0.06)),
        ((49, 53), (0.06, 0.07, 0.0)), ((59, 55), (0.06, 0.10, 0.0)),
        ((58, 56, 57), (0.0, 0.03, 0.0)), ((67, 65, 66), (0.0, 0.03, 0.0)), ((61, 63), (0.01, 0.025, 0.0)),
    ],
    "AU15": [
        ((48, 54), (0.02, -0.15, 0.0)), ((60, 64), (0.02, -0.14, 0.0)),
        ((49, 53), (0.0, -0.05, 0.0)), ((59, 55), (0.0, -0.07, 0.0)),
    ],
    "AU16": [((56, 57, 58), (0.0, -0.10, 0.01)), ((65, 66, 67), (0.0, -0.11, 0.0)), ((55, 59), (0.0, -0.06, 0.0))],
    "AU20": [
        ((48, 54), (0.14, -0.03, -0.02)), ((60, 64), (0.13, -0.03, -0.02)), ((49, 53, 59, 55), (0.06, 0.0, 0.0)),
        ((50, 51, 52), (0.0, -0.012, 0.0)), ((56, 57, 58), (0.0, 0.012, 0.0)),
    ],
    "AU23": [
        ((48, 54), (-0.05, 0.0, 0.01)), ((60, 64), (-0.04, 0.0, 0.01)), ((49, 53, 59, 55), (-0.03, 0.0, 0.0)),
        ((50, 51, 52), (0.0, -0.035, 0.0)), ((56, 57, 58), (0.0, 0.035, 0.0)),
    ],
    "AU25": [((65, 66, 67), (0.0, -0.05, 0.0)), ((56, 57, 58), (0.0, -0.04, 0.0)), ((55, 59), (0.0, -0.03, 0.0))],
    "AU26": [
        ((56, 57, 58), (0.0, -0.28, 0.0)), ((55, 59), (0.0, -0.22, 0.0)), ((65, 66, 67), (0.0, -0.28, 0.0)),
        ((48, 54, 60, 64), (-0.01, -0.05, 0.0)),
        ((8,), (0.0, -0.28, -0.02)), ((7, 9), (0.0, -0.25, -0.02)), ((6, 10), (0.0, -0.19, -0.02)),
        ((5, 11), (0.0, -0.11, -0.01)), ((4, 12), (0.0, -0.05, 0.0)),
    ],
}  # fmt: skip


def _build_matrix() -> np.ndarray:
    """AU displacement tensor (K, 68, 3) with outward dx resolved to signed dx per side."""
    out = np.zeros((len(AU_NAMES), 68, 3))
    for name, entries in AU_TABLE.items():
        k = AU_INDEX[name]
        for idx, (dx, dy, dz) in entries:
            for i in idx:
                out[k, i] += (dx * SIDE[i], dy, dz)
    return out


AU_DISPLACEMENT = _build_matrix()
"""(K, 68, 3): landmark displacement of each AU at intensity 1 (model units)."""


def au_landmarks(name: str) -> np.ndarray:
    """Indices of the landmarks an AU moves (from :data:`AU_TABLE`)."""
    return np.flatnonzero(np.abs(AU_DISPLACEMENT[AU_INDEX[name]]).sum(1) > 0)


# EMFACS prototypes: AU -> (low, high) intensity; "optional" AUs appear with probability p.
PROTOTYPES: dict[str, dict[str, tuple[float, float]]] = {
    "angry": {"AU4": (0.5, 1.0), "AU5": (0.2, 0.7), "AU7": (0.3, 1.0), "AU23": (0.4, 1.0)},
    "disgust": {"AU9": (0.45, 1.0), "AU15": (0.25, 0.8), "AU16": (0.2, 0.7)},
    "fear": {
        "AU1": (0.4, 1.0), "AU2": (0.25, 0.8), "AU4": (0.25, 0.6), "AU5": (0.45, 1.0),
        "AU7": (0.1, 0.5), "AU20": (0.4, 1.0), "AU26": (0.15, 0.6),
    },
    "happy": {"AU6": (0.3, 1.0), "AU12": (0.45, 1.0)},
    "neutral": {},
    "sad": {"AU1": (0.45, 1.0), "AU4": (0.3, 0.8), "AU15": (0.45, 1.0)},
    "surprise": {"AU1": (0.45, 1.0), "AU2": (0.45, 1.0), "AU5": (0.35, 1.0), "AU26": (0.4, 1.0)},
}  # fmt: skip
OPTIONAL: dict[str, dict[str, tuple[float, float, float]]] = {
    "happy": {"AU25": (0.6, 0.4, 1.0)},
    "disgust": {"AU10": (0.5, 0.3, 0.9)},
    "sad": {"AU6": (0.15, 0.1, 0.4)},
    "angry": {"AU10": (0.15, 0.2, 0.5)},
}
"""Extra AUs some instances show: name -> (probability, low, high)."""

EXPRESSIONS_7 = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def sample_aus(
    expression: str,
    rng: np.random.Generator,
    noise_p: float = 0.25,
    noise_max: float = 0.25,
    weak_p: float = 0.15,
) -> np.ndarray:
    """Sample AU intensities (K,) for one instance of an EMFACS prototype.

    Prototype AUs get U(low, high); with probability ``weak_p`` one of them is weakened to a
    trace (partial expressions, as in real data). Every other AU fires with probability
    ``noise_p`` at U(0, noise_max), so classes overlap instead of being separable by one AU.
    """
    if expression not in PROTOTYPES:
        raise ValueError(f"unknown expression {expression!r}; valid: {sorted(PROTOTYPES)}")
    aus = np.zeros(len(AU_NAMES), np.float32)
    fire = rng.random(len(AU_NAMES)) < noise_p
    aus[fire] = rng.uniform(0, noise_max, fire.sum())
    proto = PROTOTYPES[expression]
    for name, (lo, hi) in proto.items():
        aus[AU_INDEX[name]] = rng.uniform(lo, hi)
    for name, (p, lo, hi) in OPTIONAL.get(expression, {}).items():
        if rng.random() < p:
            aus[AU_INDEX[name]] = rng.uniform(lo, hi)
    if proto and rng.random() < weak_p:
        name = list(proto)[rng.integers(len(proto))]
        aus[AU_INDEX[name]] *= rng.uniform(0.2, 0.5)
    return aus


def apply_aus(shape: np.ndarray, aus: np.ndarray) -> np.ndarray:
    """Displace a (68, 3) neutral shape by AU intensities (K,), keeping lids and lips sane.

    After the linear displacement, lower lids are kept below upper lids and the inner lower
    lip below the inner upper lip (so strong AU combinations cannot turn a face inside out).
    """
    out = shape + np.tensordot(np.asarray(aus, np.float64), AU_DISPLACEMENT, axes=1)
    for up, lo in ((37, 41), (38, 40), (43, 47), (44, 46)):
        gap = out[up, 1] - out[lo, 1]
        if gap < 0.012:
            mid = 0.5 * (out[up, 1] + out[lo, 1])
            out[up, 1], out[lo, 1] = mid + 0.006, mid - 0.006
    for up, lo in ((61, 67), (62, 66), (63, 65)):
        out[lo, 1] = min(out[lo, 1], out[up, 1])
    for up, lo in ((50, 61), (51, 62), (52, 63)):
        out[up, 1] = max(out[up, 1], out[lo, 1] + 0.02)
    for up, lo in ((67, 58), (66, 57), (65, 56)):
        out[lo, 1] = min(out[lo, 1], out[up, 1] - 0.03)
    return out
