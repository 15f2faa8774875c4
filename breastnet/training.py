"""One cross-validation run: re-initialise, fit, evaluate, describe.

The expensive part of a Keras model on CPU is tracing its train step (about two
minutes for two DenseNet-121 streams). A `Trainer` therefore compiles one model
per architecture and, for every run (fold, repeat, alpha), re-initialises it in
place: weights from a freshly built model under the run's seed, optimizer
state zeroed, alpha assigned to the variable the loss reads. A re-initialised
run is the same computation as a run on a newly built model with that seed
(tests/test_training.py checks it), without a new trace.

Evaluation (each epoch's validation, the test pass and the features) uses BatchNorm
statistics re-estimated from the run's training images when the profile says
`bn_stats="precise"` (`breastnet.batchnorm`), and early stopping monitors the
profile's `monitor` (plain validation cross-entropy by default) after `min_epochs`.

Optimiser (section 3): SGD, learning rate 1e-3, momentum 0.9, "decay 1e-6".
That is the `decay` argument of Keras 1/2 optimizers, which applied
lr_t = lr / (1 + decay * t) with t the number of *updates* (batches), despite the
paper's "every epoch". Keras 3 removed `decay`; `InverseTimeDecay(1e-3,
decay_steps=1, decay_rate=1e-6)` computes exactly that formula. The initial learning
rate is a profile field (`learning_rate`); the paper's 1e-3 is the `paper` profile's.
"""

from __future__ import annotations

import gc
import math
import time
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops
from sklearn.metrics import log_loss, roc_auc_score

from .batchnorm import PreciseBatchNorm, assign_statistics, moving_statistics, set_momentum
from .losses import EntropyRegularizedCrossEntropy
from .metrics import classification_metrics, prediction_entropy_np, regression_metrics
from .models import BACKBONES, build_model, input_size
from .patches import augment_pair, load_patches, to_model_input
from .problems import WARNING, raise_if_fatal
from .runtime import enable_determinism, provenance, seed_everything
from .variants import Variant, family

LEARNING_RATE = 1e-3
MOMENTUM = 0.9
DECAY = 1e-6


def paper_optimizer(learning_rate: float = LEARNING_RATE):
    """SGD(lr, momentum 0.9) with the legacy per-update decay of 1e-6 (see module doc)."""
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        initial_learning_rate=learning_rate, decay_steps=1, decay_rate=DECAY)
    return keras.optimizers.SGD(learning_rate=schedule, momentum=MOMENTUM)


def optimizer_description(learning_rate: float = LEARNING_RATE) -> str:
    """What `paper_optimizer(learning_rate)` is, for result files."""
    return (f"SGD(lr={learning_rate:g}, momentum={MOMENTUM:g}, "
            f"InverseTimeDecay(decay_steps=1, rate={DECAY:g}))")


def compile_model(model, run_eagerly: bool = False, steps_per_execution: int = 1,
                  learning_rate: float = LEARNING_RATE):
    """Compile with the paper's optimiser and loss (eq. 1 + eq. 3), ready to train.

    The entropy loss reads `model.alpha`, so alpha changes need no recompilation.
    """
    losses = {"malignancy": EntropyRegularizedCrossEntropy(alpha=model.alpha)}
    if "birads" in model.output:
        losses["birads"] = keras.losses.MeanSquaredError()  # eq. 1, weight 1 like the CE term
    model.compile(optimizer=paper_optimizer(learning_rate), loss=losses, run_eagerly=run_eagerly,
                  steps_per_execution=steps_per_execution)
    # Building the optimizer now avoids a second trace on the first step.
    model.optimizer.build(model.trainable_variables)
    return model


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
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        oa = self.streams["oa"][rows]
        hs = self.streams["hs"][rows] if "hs" in self.streams else np.zeros_like(oa)
        if self.augment:
            pairs = [augment_pair(a, h, rng) for a, h in zip(oa, hs)]
            oa, hs = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        x = {"oa": to_model_input(oa, self.preprocess)}
        if "hs" in self.streams:
            x["hs"] = to_model_input(hs, self.preprocess)
        return x, {k: v[rows] for k, v in self.targets.items()}


def _pad_rows(n: int, batch: int) -> np.ndarray:
    """Row indices padding n rows up to a multiple of batch (repeating row 0)."""
    total = max(batch, int(math.ceil(n / batch)) * batch)
    return np.concatenate([np.arange(n), np.zeros(total - n, dtype=np.int64)])


def _targets(records, variant):
    y = np.array([r.pathology for r in records])
    targets = {"malignancy": np.eye(2, dtype=np.float32)[y]}
    if variant.multitask:
        targets["birads"] = np.array([[r.birads_score] for r in records], dtype=np.float32)
    return targets


@dataclass
class _Compiled:
    model: keras.Model
    size: int
    weights: object
    batchnorm: PreciseBatchNorm


def _mean_logs(logs_list):
    keys = logs_list[0].keys() if logs_list else ()
    return {k: float(np.mean([float(logs[k]) for logs in logs_list])) for k in keys}


def fit_batches(model, batches, epochs, callbacks, evaluate_epoch=None, verbose=0):
    """`model.fit`'s epoch loop, driven through `train_on_batch`.

    Why not `fit`: on TensorFlow every `fit` call wraps a new tf.data iterator in the
    outer step function, which is traced and optimised again (measured: 24-30 s at the
    start of every run for two DenseNet-121 streams, against about 3 s for a step).
    `train_on_batch` calls the cached per-batch step function directly, so a run on
    an already compiled model starts at full speed. Keras' own callbacks (early
    stopping with best-weight restore, progress bar, History) are driven as `fit` does.

    Args:
        model: a compiled model.
        batches: a `TrainBatches` (full batches only, so one traced shape).
        epochs: maximum epochs.
        callbacks: Keras callbacks.
        evaluate_epoch: called after each epoch's training steps; returns the
            validation logs (e.g. {"val_ce": ...}) the callbacks see. None: none.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch.

    Returns:
        The `keras.callbacks.History` of the run.
    """
    history = keras.callbacks.History()
    cbs = keras.callbacks.CallbackList([*callbacks, history], model=model, add_history=False,
                                       add_progbar=verbose > 0, verbose=verbose, epochs=epochs,
                                       steps=len(batches))
    model.stop_training = False
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        train_logs = []
        for step in range(len(batches)):
            cbs.on_train_batch_begin(step)
            x, y = batches[step]
            train_logs.append(model.train_on_batch(x, y, return_dict=True))
            cbs.on_train_batch_end(step, train_logs[-1])
        logs = _mean_logs(train_logs)  # all batches are full: the plain mean is fit's mean
        if evaluate_epoch is not None:
            logs.update(evaluate_epoch())
        batches.on_epoch_end()
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end()
    return history


def predict_rows(model, inputs: dict, batch_size: int) -> dict:
    """`model`'s outputs for every row of `inputs`, in batches of one shape (no retrace).

    The last batch is padded by repeating row 0 and the padding is cut off again.
    `predict_on_batch` reuses the model's compiled predict step, where `predict` would
    trace a new iterator function at every call on TensorFlow.
    """
    n = len(next(iter(inputs.values())))
    rows = _pad_rows(n, batch_size)
    parts = []
    for start in range(0, len(rows), batch_size):
        part = rows[start:start + batch_size]
        parts.append(model.predict_on_batch({k: v[part] for k, v in inputs.items()}))
    return {k: np.concatenate([np.asarray(p[k]) for p in parts])[:n] for k in parts[0]}


def _auc_or_nan(y_true, p) -> float:
    return float(roc_auc_score(y_true, p)) if len(np.unique(y_true)) == 2 else math.nan


class RunEvaluation:
    """What a run evaluates, with which BatchNorm statistics.

    Args:
        model: the compiled model (with `model.inference`).
        estimator: the model's `PreciseBatchNorm`.
        use_precise: evaluate with precise statistics (else with the moving ones).
        train_x: the run's training images (no augmentation), inputs of the model;
            the precise statistics are estimated from them.
        val: (x, y_true, birads_true or None) of the inner validation part, or None.
        alpha: the run's entropy weight (for `val_loss`, the training objective).
        batch_size: evaluation batch size.
        curve_test: (x, y_true) of the test images when the run records learning
            curves: test AUC per epoch with both precise and moving statistics.

    Each epoch's logs (`epoch_logs`): val_ce (plain cross-entropy), val_auc, val_loss
    (CE - alpha*H [+ BI-RADS MSE], the objective), with the profile's statistics; a
    curve run adds val_auc_moving, val_auc_precise, test_auc_moving, test_auc_precise.
    The model's moving statistics are left as training made them, so evaluating never
    changes what training does.
    """

    def __init__(self, model, estimator, use_precise, train_x, val, alpha, batch_size, curve_test=None):
        self.model, self.estimator, self.use_precise, self.train_x = model, estimator, use_precise, train_x
        self.val, self.alpha, self.batch_size, self.curve_test = val, float(alpha), batch_size, curve_test

    def _val_logs(self, out) -> dict:
        x, y, z = self.val
        p = np.asarray(out["malignancy"])[:, 1]
        probs = np.stack([1 - p, p], axis=1)
        ce = float(log_loss(y, p, labels=[0, 1]))
        logs = {"val_ce": ce, "val_auc": _auc_or_nan(y, p),
                "val_loss": ce - self.alpha * float(np.mean(prediction_entropy_np(probs)))}
        if z is not None and "birads" in out:
            logs["val_loss"] += float(np.mean((np.asarray(out["birads"])[:, 0] - z) ** 2))
        return logs

    def _auc(self, data, out_key="malignancy") -> float:
        x, y = data[0], data[1]
        return _auc_or_nan(y, predict_rows(self.model.inference, x, self.batch_size)[out_key][:, 1])

    def epoch_logs(self) -> dict:
        """Validation logs of the current weights (see the class docstring)."""
        logs = {}
        curve = self.curve_test is not None
        moving = moving_statistics(self.model) if (self.use_precise or curve) else None
        if curve:  # moving statistics first, as training left them
            logs["test_auc_moving"] = self._auc(self.curve_test)
            if self.val is not None:
                logs["val_auc_moving"] = self._auc(self.val)
        estimated = self.estimator.estimate(self.train_x) if (self.use_precise or curve) else None
        if self.use_precise:
            assign_statistics(self.model, estimated)
        if self.val is not None:
            logs.update(self._val_logs(predict_rows(self.model.inference, self.val[0], self.batch_size)))
        if curve:
            assign_statistics(self.model, estimated)
            logs["test_auc_precise"] = self._auc(self.curve_test)
            if self.val is not None:
                logs["val_auc_precise"] = self._auc(self.val)
        if moving is not None:
            assign_statistics(self.model, moving)
        return logs

    def finalize(self) -> None:
        """Statistics for the test pass and the features: precise ones when asked for."""
        if self.use_precise:
            self.estimator.update(self.train_x)


class EpochTimer(keras.callbacks.Callback):
    """Seconds per epoch: the first one carries the trace, the rest are steady state."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


class Trainer:
    """Compiles one model per architecture and trains CV runs on it.

    Args:
        profile: a `breastnet.profiles.Profile`.
        weights: overrides `profile.weights` ("auto", "imagenet", None or a file).
        verbose: Keras fit verbosity (0 silent, 1 progress bar, 2 a line per epoch).
    """

    def __init__(self, profile, weights="profile", verbose=2):
        self.profile = profile
        self.weights = profile.weights if weights == "profile" else weights
        self.verbose = verbose
        self.steps_per_execution = 1
        self.extra_callbacks = []  # e.g. timers of the benchmarks
        self.compiled_ = {}
        self.initial_weights_ = {}  # architecture key -> (seed, weights, weights_used) of the last seed
        self.determinism_ = enable_determinism() if profile.deterministic else "off"
        self.cpu_threads_ = "backend default"  # a sweep worker sets what it limited them to
        self.curves_for_every_run = False  # benchmarks: learning curves on every fold, not only the profile's one

    def architecture_key(self, variant: Variant) -> tuple:
        """What makes two variants share a compiled model: architecture, input size, weights."""
        return (variant.architecture, input_size(variant, self.profile.size), str(self.weights))

    def model_for(self, variant: Variant):
        """The compiled model of `variant`'s architecture (built and traced once)."""
        key = self.architecture_key(variant)
        if key not in self.compiled_:
            size, profile = input_size(variant, self.profile.size), self.profile
            model = build_model(variant, size, self.weights)
            set_momentum(model, profile.bn_momentum)  # before the train step is traced
            model = compile_model(model, profile.run_eagerly, self.steps_per_execution, profile.learning_rate)
            model.inference.run_eagerly = profile.run_eagerly  # evaluation traced only if training is
            self.compiled_[key] = _Compiled(model, size, self.weights,
                                            PreciseBatchNorm(model, profile.eval_batch_size))
        return self.compiled_[key]

    def reinitialize(self, compiled: _Compiled, variant: Variant, seed: int) -> str:
        """Weights of a freshly built model under `seed`, optimizer state zeroed, alpha set.

        The initial weights depend only on the architecture and the seed, so the last
        seed's are kept per architecture: the runs of one fold (Table 1 rows sharing an
        architecture, every alpha of a spectrum) build the throwaway model once, not once
        each (about 8 s for two DenseNet-121 streams). `run_sweep` orders its runs so that
        those runs follow each other.
        """
        seed_everything(seed)
        key = self.architecture_key(variant)
        cached = self.initial_weights_.get(key)
        if cached is None or cached[0] != seed:
            fresh = build_model(variant, compiled.size, compiled.weights)
            cached = (seed, fresh.get_weights(), fresh.weights_used)
            self.initial_weights_[key] = cached
            del fresh
            gc.collect()
        _, weights, used = cached
        compiled.model.set_weights(weights)
        for var in compiled.model.optimizer.variables:
            var.assign(ops.zeros(var.shape, dtype=var.dtype))
        compiled.model.alpha.assign(float(variant.alpha))
        return used

    def _inputs(self, patchset, rows, variant, preprocess):
        x = {"oa": to_model_input(patchset.oa[rows], preprocess)}
        if "hs" in variant.streams:
            x["hs"] = to_model_input(patchset.hs[rows], preprocess)
        return x

    def run(self, dataset, store: PatchStore, split, variant: Variant, seed: int) -> tuple[dict, np.ndarray]:
        """Train and test one run.

        Args:
            dataset: the `Dataset` the split indexes.
            store: its `PatchStore`.
            split: a `breastnet.splits.Split`.
            variant: what to train (alpha included).
            seed: seed of initialisation, shuffling and augmentation.

        Returns:
            (result, features): the result dict (see `breastnet.results`) and the
            (n_test, d) penultimate features of the test images.
        """
        raise_if_fatal(dataset.problems, needs_birads=variant.multitask, context=dataset.name)
        t0 = time.perf_counter()
        compiled = self.model_for(variant)
        t_compile = time.perf_counter() - t0
        model, size, profile = compiled.model, compiled.size, self.profile
        weights_used = self.reinitialize(compiled, variant, seed)
        t_init = time.perf_counter() - t0 - t_compile
        preprocess = BACKBONES[variant.backbone].preprocess
        records = dataset.records
        main = store.get(size, profile.margin, profile.crop)

        # Training data; Han et al.'s margin augmentation stacks patches cut at several margins.
        margins = variant.margins or (profile.margin,)
        train_sets = [store.get(size, m, profile.crop) for m in margins]
        streams = {s: np.concatenate([getattr(ps, s)[split.train] for ps in train_sets])
                   for s in variant.streams}
        train_records = [records[i] for i in split.train] * len(margins)
        batches = TrainBatches(streams, _targets(train_records, variant), profile.batch_size,
                               preprocess, seed=seed)

        callbacks, timer = list(self.extra_callbacks), EpochTimer()
        callbacks.append(timer)
        val = None
        if len(split.val):
            val_records = [records[i] for i in split.val]
            val = (self._inputs(main, split.val, variant, preprocess),
                   np.array([r.pathology for r in val_records]),
                   np.array([r.birads_score for r in val_records], dtype=np.float64) if variant.multitask else None)
            stopper = keras.callbacks.EarlyStopping(
                monitor=profile.monitor, mode="max" if profile.monitor == "val_auc" else "min",
                patience=profile.patience, restore_best_weights=True,
                start_from_epoch=max(0, profile.min_epochs - 1))
            callbacks.append(stopper)
        test_x = self._inputs(main, split.test, variant, preprocess)
        test_records = [records[i] for i in split.test]
        y_true = np.array([r.pathology for r in test_records])  # for the learning curve
        curve = self.curves_for_every_run or (profile.curve_variant == variant.name and split.fold == 0
                                              and split.repeat == 0)
        # BN statistics come from the training images at the profile's margin (Han2017 trains
        # on several margins but is validated and tested at this one).
        evaluation = RunEvaluation(model, compiled.batchnorm, profile.bn_stats == "precise",
                                   self._inputs(main, split.train, variant, preprocess), val, variant.alpha,
                                   profile.eval_batch_size, curve_test=(test_x, y_true) if curve else None)
        bn_seconds = compiled.batchnorm.seconds_
        history = fit_batches(model, batches, profile.epochs, callbacks,
                              evaluate_epoch=evaluation.epoch_logs if (val is not None or curve) else None,
                              verbose=self.verbose)
        evaluation.finalize()
        bn_seconds = compiled.batchnorm.seconds_ - bn_seconds
        t_fit = time.perf_counter() - t0 - t_compile - t_init

        # Test: probabilities, BI-RADS and features in one pass.
        out = predict_rows(model.inference, test_x, profile.eval_batch_size)
        probs = np.asarray(out["malignancy"])
        features = np.asarray(out["features"])
        metrics, predictions = score_test_images(
            test_records, probs[:, 1], np.asarray(out["birads"])[:, 0] if variant.multitask else None)
        t_eval = time.perf_counter() - t0 - t_compile - t_init - t_fit

        hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        best_epoch = None
        if val is not None:
            best_epoch = int(stopper.best_epoch) + 1 if stopper.best_weights is not None else None
        result = {
            "run": run_identity(variant, split, seed, profile, dataset),
            "config": {"variant": variant.to_dict(), "profile": profile.to_dict(), "input_size": size,
                       "optimizer": optimizer_description(profile.learning_rate),
                       "loss": "CE - alpha*H(p)" + (" + MSE(BI-RADS score)" if variant.multitask else ""),
                       "determinism": self.determinism_, "run_eagerly": profile.run_eagerly,
                       "cpu_threads": self.cpu_threads_, "bn_stats": profile.bn_stats,
                       "bn_momentum": profile.bn_momentum, "crop": profile.crop,
                       "early_stopping": {"monitor": profile.monitor, "patience": profile.patience,
                                          "min_epochs": profile.min_epochs} if val is not None else None},
            "dataset": dataset_description(dataset, split, patch_key=main.key),
            "weights": weights_used,
            "warnings": [p.to_dict() for p in dataset.problems if p.severity == WARNING],
            "training": {"epochs_run": len(hist.get("loss", [])),
                         "best_epoch": best_epoch, "learning_curve": curve,
                         "history": hist,
                         "seconds": {"compile_build": t_compile, "reinit": t_init, "fit": t_fit,
                                     "evaluate": t_eval, "epochs": timer.seconds, "bn_stats": bn_seconds,
                                     "total": time.perf_counter() - t0},
                         "train_images_per_second": _steady_rate(timer.seconds, len(batches) * batches.batch_size)},
            "metrics": metrics,
            "provenance": provenance(),
            "predictions": predictions,
        }
        return result, features


def run_identity(variant, split, seed, profile, dataset) -> dict:
    """The "run" block of a result file: what was run, on which fold, with which seed."""
    return {"variant": variant.name, "family": family(variant.name), "alpha": float(variant.alpha),
            "fold": int(split.fold), "repeat": int(split.repeat), "seed": int(seed),
            "profile": profile.name, "dataset": dataset.name}


def dataset_description(dataset, split, **extra) -> dict:
    """The "dataset" block of a result file: which data, and how many images in each part."""
    return {"name": dataset.name, "synthetic": dataset.synthetic, "layout": dataset.layout, **extra,
            "citation": dataset.citation, "n_train": len(split.train), "n_val": len(split.val),
            "n_test": len(split.test)}


def score_test_images(test_records, p_malignant, birads_pred=None) -> tuple[dict, dict]:
    """Metrics and per-image predictions of a run's test images.

    Args:
        test_records: the test images' records, in prediction order.
        p_malignant: predicted probability of malignancy per image.
        birads_pred: predicted BI-RADS score per image (multi-task models), or None.
    """
    y_true = np.array([r.pathology for r in test_records])
    p = np.asarray(p_malignant, dtype=np.float64)
    probs = np.stack([1 - p, p], axis=1)
    metrics = classification_metrics(y_true, p)
    predictions = {"id": [r.id for r in test_records], "patient": [r.patient for r in test_records],
                   "y_true": y_true.tolist(), "p_malignant": p.tolist(),
                   "entropy": prediction_entropy_np(probs).tolist()}
    if birads_pred is not None:
        z_true = np.array([r.birads_score for r in test_records])
        z_pred = np.asarray(birads_pred, dtype=np.float64)
        metrics.update(regression_metrics(z_true, z_pred))
        predictions.update(birads_true=z_true.tolist(), birads_pred=z_pred.tolist())
    return metrics, predictions


def _steady_rate(epoch_seconds, images_per_epoch):
    """Images/s over the epochs after the first (which may include tracing); includes validation."""
    steady = epoch_seconds[1:] or epoch_seconds
    return images_per_epoch * len(steady) / sum(steady) if steady and sum(steady) > 0 else None

