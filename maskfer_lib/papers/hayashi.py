"""Hayashi et al.'s printed numbers (Table 3), as printed; the paper prints no parameter count."""

import pandas as pd

TABLE3 = pd.DataFrame(
    {
        "angry": [71.0, 63.0, 69.0],
        "happy": [94.0, 93.0, 98.0],
        "neutral": [84.0, 89.0, 90.0],
        "surprise": [89.0, 92.0, 90.0],
        "total": [84.4, 84.2, 86.7],
    },
    index=["vgg11", "abn", "fecn"],
)
"""Table 3 (percent): per-class accuracy and total accuracy on masked faces (M-FER, 4 classes),
one row per network, named as in the model registry. The paper's "Normal" and "Surprised"
columns are ``neutral`` and ``surprise`` here (``labels``' names)."""
