"""Tiny Keras and torch models shared by the explain/timing/realtime tests."""

import numpy as np

import maskfer_lib  # noqa: F401  (import order guard before torch/TensorFlow)


def tiny_torch(num_classes=3, two_outputs=False):
    """A small torch CNN; with ``two_outputs`` it returns (attention logits, logits)."""
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(8, 16, 3, padding=1),
                nn.ReLU(),
            )
            self.head = nn.Linear(16, num_classes)
            self.aux = nn.Linear(16, num_classes)

        def forward(self, x):
            f = self.features(x).mean(dim=(2, 3))
            return (self.aux(f), self.head(f)) if two_outputs else self.head(f)

        if two_outputs:

            def logits(self, outputs):
                return outputs[1]

    return Net().eval()


def tiny_keras(num_classes=3, size=16, softmax=True):
    """A small functional Keras CNN ending in Dense(softmax)."""
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(num_classes, activation="softmax" if softmax else None)(x)
    return keras.Model(inp, out)


def images(n=2, size=16, seed=0):
    return np.random.default_rng(seed).random((n, size, size, 3), dtype=np.float32)
