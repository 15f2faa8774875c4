"""One cross-validation run: re-initialise, fit, evaluate, describe.

The expensive part of a Keras model on CPU is tracing its train step (about two
minutes for two DenseNet-121 streams). A `Trainer` therefore compiles one model
per architecture and, for every run (fold, repeat, alpha), re-initialises it in
place: weights from a freshly built model under the run's seed, optimizer
variables as compiling left them, alpha assigned to the variable the loss reads. A re-initialised
run is the same computation as a run on a newly built model with that seed
(tests/test_training.py checks it), without a new trace.

Evaluation (each epoch's validation, the test pass and the features) uses BatchNorm
statistics re-estimated from the run's training images when the profile says
`bn_stats="precise"` (`breastnet.model.batchnorm`), and early stopping, where the profile
has a `patience`, monitors its `monitor` (plain validation cross-entropy by default) after
`min_epochs`; without one (the `cpu` profile) every run trains `epochs` epochs.

The optimiser and its learning-rate schedule: `breastnet.train.optimizer`.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from ..data.augment import to_model_input
from ..data.problems import raise_if_fatal
from ..model.backbones import BACKBONES, input_size
from ..model.batchnorm import PreciseBatchNorm, set_momentum
from ..model.losses import EntropyRegularizedCrossEntropy
from ..model.network import build_model
from ..model.variants import Variant
from .batches import PatchStore, TrainBatches, _targets
from .loop import EpochTimer, RunEvaluation, fit_batches, predict_rows, raise_if_diverged
from .optimizer import LEARNING_RATE, cosine_scheduler, make_optimizer, optimizer_description
from .result import RunIdentity, RunRecord, TrainingRecord, network_result, score_test_images
from .runtime import enable_determinism, provenance, seed_everything


def compile_model(
    model,
    run_eagerly: bool = False,
    steps_per_execution: int = 1,
    learning_rate: float = LEARNING_RATE,
    weight_ema: float | None = None,
    optimizer: str = "sgd",
    lr_schedule: str = "inverse_time",
):
    """Compile with the profile's optimiser (the paper's SGD by default) and loss (eq. 1 + eq. 3).

    The entropy loss reads `model.alpha`, so alpha changes need no recompilation.
    """
    losses = {"malignancy": EntropyRegularizedCrossEntropy(alpha=model.alpha)}
    if "birads" in model.output:
        losses["birads"] = keras.losses.MeanSquaredError()  # eq. 1, weight 1 like the CE term
    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate, weight_ema, lr_schedule),
        loss=losses,
        run_eagerly=run_eagerly,
        steps_per_execution=steps_per_execution,
    )
    # Building the optimizer now avoids a second trace on the first step.
    model.optimizer.build(model.trainable_variables)
    return model


@dataclass
class Fitted:
    """A trained run before its test pass: the model and how it was trained."""

    model: keras.Model
    size: int
    patches: object  # the PatchSet at the profile's margin
    preprocess: object
    weights_used: str
    history: dict
    best_epoch: int | None
    validated: bool
    epoch_seconds: list
    images_per_epoch: int
    seconds: dict
    started: float


@dataclass
class _Compiled:
    model: keras.Model
    size: int
    weights: object
    batchnorm: PreciseBatchNorm
    # The optimizer's variables as compiling left them (iterations and slots at zero, and a
    # constant learning rate, which Adam keeps as a variable): what each run starts from.
    optimizer_start: list = None

    def __post_init__(self):
        if self.optimizer_start is None:
            self.optimizer_start = [np.array(ops.convert_to_numpy(v)) for v in self.model.optimizer.variables]


class Trainer:
    """Compiles one model per architecture and trains CV runs on it.

    Args:
        profile: a `breastnet.train.profiles.Profile`.
        weights: overrides `profile.weights` ("auto", "imagenet", None or a file).
        verbose: Keras fit verbosity (0 silent, 1 progress bar, 2 a line per epoch).
        cpu_threads: what the process limited its CPU threads to (`runtime.limit_cpu_threads`);
            recorded in every result.
        callbacks: extra Keras callbacks of every run (the benchmarks' timers).
        steps_per_execution: Keras' steps per traced call (the benchmarks compare it).
        curves_for_every_run: record test AUC per epoch in every run, not only in the
            profile's `curve_variant` run (the learning-curve benchmark).
    """

    def __init__(
        self,
        profile,
        weights="profile",
        verbose=2,
        *,
        cpu_threads="backend default",
        callbacks=(),
        steps_per_execution=1,
        curves_for_every_run=False,
    ):
        self.profile = profile
        self.weights = profile.weights if weights == "profile" else weights
        self.verbose = verbose
        self.cpu_threads = cpu_threads
        self.callbacks = list(callbacks)
        self.steps_per_execution = steps_per_execution
        self.curves_for_every_run = curves_for_every_run
        self.compiled_ = {}
        self.initial_weights_ = {}  # architecture key -> (seed, weights, weights_used) of the last seed
        self.determinism_ = enable_determinism() if profile.deterministic else "off"

    def architecture_key(self, variant: Variant) -> tuple:
        """What makes two variants share a compiled model: architecture, input size, weights."""
        return (variant.architecture, input_size(variant, self.profile.size), str(self.weights))

    def model_for(self, variant: Variant):
        """The compiled model of `variant`'s architecture (built and traced once)."""
        key = self.architecture_key(variant)
        if key not in self.compiled_:
            size, profile = input_size(variant, self.profile.size), self.profile
            model = self._build(variant, size, self.weights)
            set_momentum(model, profile.bn_momentum)  # before the train step is traced
            model = compile_model(
                model,
                profile.run_eagerly,
                self.steps_per_execution,
                profile.learning_rate,
                profile.weight_ema,
                profile.optimizer,
                profile.lr_schedule,
            )
            model.inference.run_eagerly = profile.run_eagerly  # evaluation traced only if training is
            self.compiled_[key] = _Compiled(model, size, self.weights, PreciseBatchNorm(model, profile.eval_batch_size))
        return self.compiled_[key]

    def _build(self, variant: Variant, size: int, weights):
        """`build_model` under the profile's dtype policy (e.g. mixed_bfloat16), restored afterwards."""
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.profile.precision)
        try:
            return build_model(variant, size, weights)
        finally:
            keras.config.set_dtype_policy(previous)

    def reinitialize(self, compiled: _Compiled, variant: Variant, seed: int) -> str:
        """Weights of a freshly built model under `seed`, optimizer as compiled, alpha set.

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
            fresh = self._build(variant, compiled.size, compiled.weights)
            cached = (seed, fresh.get_weights(), fresh.weights_used)
            self.initial_weights_[key] = cached
            del fresh
            gc.collect()
        _, weights, used = cached
        compiled.model.set_weights(weights)
        # Not zeros: Adam's learning rate is one of the variables (zeroed, nothing trains).
        for var, start in zip(compiled.model.optimizer.variables, compiled.optimizer_start, strict=True):
            var.assign(start)
        compiled.model.alpha.assign(float(variant.alpha))
        return used

    def _inputs(self, patchset, rows, variant, preprocess):
        x = {"oa": to_model_input(patchset.oa[rows], preprocess)}
        if "hs" in variant.streams:
            x["hs"] = to_model_input(patchset.hs[rows], preprocess)
        return x

    def fit(self, dataset, store: PatchStore, split, variant: Variant, seed: int, curve_test=None) -> Fitted:
        """Re-initialise the architecture's model under `seed` and train it on `split.train`.

        Early stopping on `split.val` (when it has images and the profile has a `patience`)
        restores the best epoch's weights; otherwise the last epoch's are kept. Afterwards the
        BatchNorm statistics are the ones evaluation uses (precise ones when the profile says
        so, re-estimated from the training images at the profile's margin).
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
        streams = {s: np.concatenate([getattr(ps, s)[split.train] for ps in train_sets]) for s in variant.streams}
        train_records = [records[i] for i in split.train] * len(margins)
        batches = TrainBatches(streams, _targets(train_records, variant), profile.batch_size, preprocess, seed=seed)

        callbacks, timer, stopper, val = list(self.callbacks), EpochTimer(), None, None
        callbacks += [timer, keras.callbacks.TerminateOnNaN()]
        if profile.lr_schedule == "cosine":
            callbacks.append(cosine_scheduler(profile.learning_rate, profile.epochs))
        if len(split.val):
            val_records = [records[i] for i in split.val]
            val = (
                self._inputs(main, split.val, variant, preprocess),
                np.array([r.pathology for r in val_records]),
                np.array([r.birads_score for r in val_records], dtype=np.float64) if variant.multitask else None,
            )
        if len(split.val) and profile.patience is not None:
            stopper = keras.callbacks.EarlyStopping(
                monitor=profile.monitor,
                mode="max" if profile.monitor == "val_auc" else "min",
                patience=profile.patience,
                restore_best_weights=True,
                start_from_epoch=max(0, profile.min_epochs - 1),
            )
            callbacks.append(stopper)
        # BN statistics come from the training images at the profile's margin (Han2017 trains
        # on several margins but is validated and tested at this one).
        evaluation = RunEvaluation(
            model,
            compiled.batchnorm,
            profile.bn_stats == "precise",
            self._inputs(main, split.train, variant, preprocess),
            val,
            variant.alpha,
            profile.eval_batch_size,
            curve_test=curve_test,
        )
        bn_seconds = compiled.batchnorm.seconds_
        evaluated = val is not None or curve_test is not None
        history = fit_batches(
            model,
            batches,
            profile.epochs,
            callbacks,
            evaluate_epoch=evaluation.epoch_logs if evaluated else None,
            after_epoch=evaluation.epoch_done if evaluated else None,
            verbose=self.verbose,
        )
        raise_if_diverged(variant, split, seed, profile, history=history.history)
        best_epoch = None
        if stopper is not None and stopper.best_weights is not None:
            best_epoch = int(stopper.best_epoch) + 1  # restored: averaged weights when weight_ema is set
        else:
            evaluation.averaged.swap_in(keep=True)  # no early stopping: the last epoch's average
        evaluation.finalize()
        return Fitted(
            model=model,
            size=size,
            patches=main,
            preprocess=preprocess,
            weights_used=weights_used,
            history=history.history,
            best_epoch=best_epoch,
            validated=val is not None,
            epoch_seconds=timer.seconds,
            images_per_epoch=len(batches) * batches.batch_size,
            seconds={
                "compile_build": t_compile,
                "reinit": t_init,
                "fit": time.perf_counter() - t0 - t_compile - t_init,
                "bn_stats": compiled.batchnorm.seconds_ - bn_seconds,
            },
            started=t0,
        )

    def run(self, dataset, store: PatchStore, split, variant: Variant, seed: int) -> tuple[dict, np.ndarray]:
        """Train and test one run (`fit`, then `test`).

        Args:
            dataset: the `Dataset` the split indexes.
            store: its `PatchStore`.
            split: a `breastnet.data.splits.Split`.
            variant: what to train (alpha included).
            seed: seed of initialisation, shuffling and augmentation.

        Returns:
            (result, features): the result dict (see `breastnet.study.results`) and the
            (n_test, d) penultimate features of the test images.
        """
        profile = self.profile
        curve = self.curves_for_every_run or (
            profile.curve_variant == variant.name and split.fold == 0 and split.repeat == 0
        )
        curve_test = None
        if curve:  # the test images' AUC per epoch, for the learning-curve figure only
            main = store.get(input_size(variant, profile.size), profile.margin, profile.crop)
            test_x = self._inputs(main, split.test, variant, BACKBONES[variant.backbone].preprocess)
            curve_test = (test_x, np.array([dataset.records[i].pathology for i in split.test]))
        fitted = self.fit(dataset, store, split, variant, seed, curve_test=curve_test)
        return self.test(fitted, dataset, split, variant, seed, learning_curve=curve)

    def test(self, fitted: Fitted, dataset, split, variant: Variant, seed: int, learning_curve: bool = False):
        """The test pass of a fitted run: probabilities, BI-RADS and features in one pass, and its result.

        Args:
            fitted: what `fit` returned (its model still holds the run's weights).
            dataset, split, variant, seed: as given to `fit`.
            learning_curve: whether the run's history holds test AUC per epoch.

        Returns:
            (result, features), as `run`.
        """
        profile = self.profile
        test_x = self._inputs(fitted.patches, split.test, variant, fitted.preprocess)
        test_records = [dataset.records[i] for i in split.test]
        t_eval = time.perf_counter()
        out = predict_rows(fitted.model.inference, test_x, profile.eval_batch_size)
        probs = np.asarray(out["malignancy"])
        raise_if_diverged(variant, split, seed, profile, outputs=probs)
        features = np.asarray(out["features"])
        metrics, predictions = score_test_images(
            test_records, probs[:, 1], np.asarray(out["birads"])[:, 0] if variant.multitask else None
        )
        seconds = {**fitted.seconds, "evaluate": time.perf_counter() - t_eval, "epochs": fitted.epoch_seconds}
        seconds["total"] = time.perf_counter() - fitted.started
        training = TrainingRecord(
            input_size=fitted.size,
            optimizer=optimizer_description(
                profile.learning_rate, profile.weight_ema, profile.optimizer, profile.lr_schedule
            ),
            determinism=self.determinism_,
            cpu_threads=self.cpu_threads,
            validated=fitted.validated,
            patch_key=fitted.patches.key,
            weights_used=fitted.weights_used,
            history=fitted.history,
            best_epoch=fitted.best_epoch,
            learning_curve=learning_curve,
            seconds=seconds,
            images_per_epoch=fitted.images_per_epoch,
        )
        run = RunIdentity(variant, split, seed, profile, dataset)
        result = network_result(RunRecord(run, training, metrics, predictions, provenance()))
        return result, features
