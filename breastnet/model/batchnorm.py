"""BatchNorm statistics that match the weights ("precise BN").

Keras' BatchNormalization normalises with the batch's own mean and variance in
training, and with moving averages at inference (validation, test, `predict`,
features). The averages start at mean 0 / variance 1 and move with momentum 0.99:
after the 50 steps of a short run about 60% of each is still that initial value, so
inference outputs collapse to nearly one value although the weights have learnt
(measured on BUS-BRA: DSTL at 64 px, 5 epochs, test AUC 0.60 with the moving
averages, 0.84 with re-estimated statistics).

`PreciseBatchNorm.update` re-estimates every BN layer's mean and variance as the
population statistics of that layer's inputs over a set of images (the run's
training images, without augmentation), accumulated over batches: each layer's
mean is the mean of its per-batch means, its variance the mean of
(batch variance + batch mean^2) minus the squared mean, i.e. the variance over all
images' pixels. Inputs are computed in training mode, exactly as during training
(each BN normalises with its batch's statistics), following Wu & Johnson,
"Rethinking 'Batch' in BatchNorm" (2021). For a BN layer with no BN before it the
result is the exact mean and variance of its inputs over the images
(tests/test_batchnorm.py checks it by hand).

How, on every backend: each BN layer's momentum is set to 0 for the pass, so one
training-mode forward step leaves the batch's mean and variance in its moving
statistics, which are read after each batch. The forward step is a Keras
`predict_on_batch` of a wrapper model that calls the network with training=True:
compiled once per model (tf.function / jax.jit / torch eager), with state synced
back into the variables on JAX. Only `keras` and `keras.ops` are used.
"""

from __future__ import annotations

import time

import keras
import numpy as np
from keras import ops


def batchnorm_layers(model) -> list:
    """Every BatchNormalization layer of `model`, nested models included, each once."""
    found, seen = [], set()

    def walk(layer):
        for sub in getattr(layer, "layers", ()):
            if isinstance(sub, keras.layers.BatchNormalization):
                if id(sub) not in seen:
                    seen.add(id(sub))
                    found.append(sub)
            else:
                walk(sub)

    walk(model)
    return found


def set_momentum(model, momentum: float) -> int:
    """Set the moving-average momentum of every BN layer (before the first trace); returns how many."""
    layers = batchnorm_layers(model)
    for layer in layers:
        layer.momentum = float(momentum)
    return len(layers)


class _TrainingModeForward(keras.Model):
    """Calls a model in training mode, whatever `predict` asks for."""

    def __init__(self, network, **kwargs):
        super().__init__(**kwargs)
        self.network = network

    def call(self, inputs, training=None):
        return self.network(inputs, training=True)


def moving_statistics(model) -> list[tuple[np.ndarray, np.ndarray]]:
    """(moving mean, moving variance) of every BN layer, as numpy copies."""
    return [
        (np.array(ops.convert_to_numpy(bn.moving_mean)), np.array(ops.convert_to_numpy(bn.moving_variance)))
        for bn in batchnorm_layers(model)
    ]


def assign_statistics(model, statistics) -> None:
    """Set every BN layer's moving mean and variance (the inverse of `moving_statistics`)."""
    for bn, (mean, variance) in zip(batchnorm_layers(model), statistics, strict=True):
        bn.moving_mean.assign(np.asarray(mean, dtype=bn.moving_mean.dtype))
        bn.moving_variance.assign(np.asarray(variance, dtype=bn.moving_variance.dtype))


def batch_rows(n: int, batch_size: int) -> list[tuple[np.ndarray, int]]:
    """Rows of each batch covering n rows with one batch shape, and how many rows are new.

    All batches have min(batch_size, n) rows, so the compiled step is traced once. When
    batch_size does not divide n, the last batch is the last batch_size rows and only
    its rows not seen before count (its statistics stand for theirs).
    """
    size = min(int(batch_size), int(n))
    out = [(np.arange(start, start + size), size) for start in range(0, n - size + 1, size)]
    covered = len(out) * size
    if covered < n:
        out.append((np.arange(n - size, n), n - covered))
    return out


class PreciseBatchNorm:
    """Re-estimates a model's BN statistics from images (see the module docstring).

    Args:
        model: a built Keras model (BN layers may sit in nested models).
        batch_size: images per training-mode forward step.

    Attributes:
        seconds_: time spent in `update` so far.
        updates_: number of `update` calls.
    """

    def __init__(self, model, batch_size: int = 32):
        self.model = model
        self.batch_size = int(batch_size)
        self.layers = batchnorm_layers(model)
        self.forward = _TrainingModeForward(model, name=f"{model.name}_training_mode")
        self.forward.run_eagerly = bool(getattr(model, "run_eagerly", False))  # as the model: no trace
        self.seconds_ = 0.0
        self.updates_ = 0

    def estimate(self, inputs: dict) -> list[tuple[np.ndarray, np.ndarray]]:
        """Population (mean, variance) of every BN layer's inputs over `inputs`; sets nothing.

        The model's moving statistics are left as they were.

        Args:
            inputs: {input name: (N, ...) array}, the model's inputs (already preprocessed).
        """
        start = time.perf_counter()
        n = len(next(iter(inputs.values())))
        saved = moving_statistics(self.model)
        momenta = [bn.momentum for bn in self.layers]
        sums = [
            [np.zeros(bn.moving_mean.shape, np.float64), np.zeros(bn.moving_mean.shape, np.float64)]
            for bn in self.layers
        ]
        try:
            for bn in self.layers:
                bn.momentum = 0.0
            for rows, weight in batch_rows(n, self.batch_size):
                self.forward.predict_on_batch({k: v[rows] for k, v in inputs.items()})
                for (mean, variance), acc in zip(moving_statistics(self.model), sums):
                    mean, variance = mean.astype(np.float64), variance.astype(np.float64)
                    acc[0] += weight * mean
                    acc[1] += weight * (variance + mean * mean)
        finally:
            for bn, momentum in zip(self.layers, momenta):
                bn.momentum = momentum
            assign_statistics(self.model, saved)
        out = []
        for first, second in sums:
            mean = first / n
            out.append((mean, np.maximum(second / n - mean * mean, 0.0)))
        self.seconds_ += time.perf_counter() - start
        self.updates_ += 1
        return out

    def update(self, inputs: dict) -> None:
        """Set every BN layer's moving statistics to the population statistics over `inputs`."""
        assign_statistics(self.model, self.estimate(inputs))
