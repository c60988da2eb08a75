"""Training images streamed from an image folder, batch by batch, never all in memory.

:class:`ImageFolderStream` lists a ``<folder>/<class>/*.png`` tree (the layout of
``data.load_imagefolder``) without reading a pixel, and decodes images only when a batch asks
for them, at a model's input size, exactly as ``data.to_model_input`` prepares in-memory
faces. ``train.fit`` accepts a stream wherever it takes ``x_train``/``x_val``:

* torch models read each epoch's batches through a ``torch.utils.data.DataLoader`` over
  the files (worker processes decode ahead of the training step, pinned memory on a GPU);
* Keras models read them through a ``tf.data`` pipeline over the file paths (parallel
  decoding, prefetch).

Both follow ``fit``'s own batch order, so a stream and the same images in memory train the
same model. A file that cannot be decoded stops training with an error naming it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from maskfer_lib import data
from maskfer_lib.data.images import read_image
from maskfer_lib.data.layouts import need_dir


class StreamReadError(OSError):
    """An image of a stream could not be read; the message names the file and the fix."""


class ImageFolderStream:
    """A class-folder tree read lazily at ``input_shape`` (H, W, C), pixels in [0, 1].

    Indexing (``stream[i]``, ``stream[a:b]``, ``stream[index_array]``) decodes those files
    only and returns float32 (N, H, W, C), so the object stands in for an ``x`` array;
    ``labels`` and ``class_names`` come from the folder names (``class_names`` fixes the
    order, as in ``data.load_imagefolder``).
    """

    ndim = 4
    dtype = np.dtype(np.float32)

    def __init__(self, folder, input_shape, class_names=None, emotion_names: bool = False):
        folder = Path(folder)
        need_dir(folder, "image folder", data.LAYOUTS["imagefolder"])
        paths, labels, class_names, _ = data.list_imagefolder(folder, class_names, emotion_names)
        self.folder = folder
        self.paths = np.array([str(p) for p in paths])
        self.labels = np.array(labels, dtype=np.int64)
        self.class_names = tuple(class_names)
        self.input_shape = tuple(int(v) for v in input_shape)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(N, H, W, C)`` as an array of the decoded images would have."""
        return (len(self), *self.input_shape)

    def load(self, i: int) -> np.ndarray:
        """Image ``i`` as float32 (H, W, C) in [0, 1] at the stream's input size."""
        path = Path(self.paths[i])
        try:
            img = read_image(path, grayscale=self.input_shape[2] == 1)
        except OSError as err:
            raise StreamReadError(
                f"{path}: {err}; remove or replace the file (data.check_dataset('imagefolder', "
                f"'{self.folder}') lists every unreadable image)"
            ) from None
        return data.to_model_input(img[None], self.input_shape)[0]

    def __getitem__(self, index) -> np.ndarray:
        if isinstance(index, (int, np.integer)):
            return self.load(int(index))
        idx = np.arange(len(self))[index] if isinstance(index, slice) else np.asarray(index)
        out = np.empty((len(idx), *self.input_shape), np.float32)
        for k, i in enumerate(idx):
            out[k] = self.load(int(i))
        return out

    def digest(self) -> bytes:
        """What a finished run on this stream depends on: paths, sizes, modification times,
        labels and input size (``train.fit``'s fingerprint), without reading pixels."""
        h = hashlib.blake2b(digest_size=16)
        for p in self.paths:
            st = Path(p).stat()
            h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}".encode())
        h.update(self.labels.tobytes())
        h.update(repr(self.input_shape).encode())
        return h.digest()

    def torch_batches(self, batches, workers: int = 2, pin_memory: bool = False):
        """Iterate float32 (n, H, W, C) arrays, one per index array of ``batches``, decoded by
        a ``DataLoader`` with ``workers`` processes (0: in this process)."""
        from torch.utils.data import DataLoader

        # The stream is itself a map-style dataset: stream[i] decodes image i.
        loader = DataLoader(
            self,
            batch_sampler=[list(map(int, b)) for b in batches],
            num_workers=workers,
            collate_fn=np.stack,
            pin_memory=pin_memory,
            persistent_workers=False,
        )
        yield from loader

    def tf_dataset(self, batches):
        """A ``tf.data.Dataset`` of float32 (n, H, W, C) batches, one per index array of
        ``batches`` (all of one size but a shorter last one, as ``fit`` draws them), decoded
        in parallel from the files, in order, and prefetched."""
        import tensorflow as tf

        sizes = [len(b) for b in batches]
        if any(n != sizes[0] for n in sizes[:-1]) or (sizes and sizes[-1] > sizes[0]):
            raise ValueError(f"batches must share one size but a shorter last; got {sizes}")
        h, w, c = self.input_shape

        def decode(i):
            img = tf.numpy_function(lambda k: self.load(int(k)), [i], tf.float32)
            return tf.ensure_shape(img, (h, w, c))

        flat = np.concatenate([np.asarray(b, np.int64) for b in batches]) if batches else []
        ds = tf.data.Dataset.from_tensor_slices(np.asarray(flat, np.int64))
        ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.batch(max(sizes, default=1)).prefetch(tf.data.AUTOTUNE)

    def tf_batches(self, batches):
        """Iterate the :meth:`tf_dataset` batches as numpy arrays."""
        for xb in self.tf_dataset(batches):
            yield xb.numpy()


def is_stream(x) -> bool:
    """Whether ``x`` is an :class:`ImageFolderStream` (read lazily) rather than an array."""
    return isinstance(x, ImageFolderStream)
