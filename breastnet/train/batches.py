"""What a run trains on: the patch sets of a dataset and shuffled, augmented batches.

`PatchStore` reads each (size, margin, crop) patch set of a dataset once per process;
`TrainBatches` serves a run's training images as full batches whose shuffles and
augmentations are a function of (seed, epoch, batch) only, so a run is reproducible
whatever order Keras fetches them in.
"""

from __future__ import annotations

import keras
import numpy as np

from ..data.augment import augment_pair, to_model_input
from ..data.patches import load_patches


class PatchStore:
    """Patches of one dataset by (size, margin, crop), each computed or read once."""

    def __init__(self, dataset, cache_dir=None, progress=True):
        self.dataset = dataset
        self.cache_dir = cache_dir
        self.progress = progress
        self._sets = {}

    def get(self, size: int, margin: float, crop: str = "pad"):
        key = (int(size), float(margin), str(crop))
        if key not in self._sets:
            self._sets[key] = load_patches(self.dataset, size, margin, self.cache_dir, self.progress, crop=crop)
        return self._sets[key]


class TrainBatches(keras.utils.PyDataset):
    """Shuffled, augmented training batches; only full batches (no retrace on a short last one).

    Args:
        streams: {"oa": uint8 (N, s, s), ["hs": ...]}.
        targets: {"malignancy": (N, 2) one-hot, ["birads": (N, 1)]}.
        batch_size: images per batch.
        preprocess: the backbone's preprocess_input.
        seed: seed of the shuffles and augmentations of this run.
        augment: apply `augment_pair` (flip, rotation, shift, zoom) identically to OA and HS.
    """

    def __init__(self, streams, targets, batch_size, preprocess, seed, augment=True):
        super().__init__()
        self.streams, self.targets = streams, targets
        self.n = len(next(iter(targets.values())))
        self.batch_size = min(batch_size, self.n)
        self.preprocess, self.augment = preprocess, augment
        self.seed, self.epoch = int(seed), 0
        self.order = self._order()

    def _order(self):
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.n)

    def __len__(self):
        return self.n // self.batch_size

    def on_epoch_end(self):
        self.epoch += 1
        self.order = self._order()

    def __getitem__(self, index):
        # Randomness is a function of (seed, epoch, batch), not of call order: Keras may
        # fetch a batch more than once (the torch backend peeks at one on a model's first
        # fit), and prefetching threads may fetch out of order.
        rng = np.random.default_rng([self.seed, self.epoch, index])
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        oa = self.streams["oa"][rows]
        hs = self.streams["hs"][rows] if "hs" in self.streams else np.zeros_like(oa)
        if self.augment:
            pairs = [augment_pair(a, h, rng) for a, h in zip(oa, hs)]
            oa, hs = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        x = {"oa": to_model_input(oa, self.preprocess)}
        if "hs" in self.streams:
            x["hs"] = to_model_input(hs, self.preprocess)
        return x, {k: v[rows] for k, v in self.targets.items()}


def _targets(records, variant):
    y = np.array([r.pathology for r in records])
    targets = {"malignancy": np.eye(2, dtype=np.float32)[y]}
    if variant.multitask:
        targets["birads"] = np.array([[r.birads_score] for r in records], dtype=np.float32)
    return targets
