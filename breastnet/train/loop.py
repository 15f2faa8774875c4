"""The epoch loop of a run and what it evaluates after each epoch.

`fit_batches` is Keras' own callback protocol (EarlyStopping, History, timers) around
`train_on_batch`, with an optional evaluation merged into each epoch's logs before
the callbacks see them. `RunEvaluation` computes those logs: validation cross-entropy
and AUC with precise BatchNorm statistics (`breastnet.model.batchnorm`), restoring the
moving averages afterwards so that evaluating never changes training.
"""

from __future__ import annotations

import math
import time

import keras
import numpy as np
from keras import ops
from sklearn.metrics import log_loss, roc_auc_score

from ..model.batchnorm import assign_statistics, moving_statistics
from .metrics import prediction_entropy_np


def _mean_logs(logs_list):
    keys = logs_list[0].keys() if logs_list else ()
    return {k: float(np.mean([float(logs[k]) for logs in logs_list])) for k in keys}


def fit_batches(model, batches, epochs, callbacks, evaluate_epoch=None, after_epoch=None, verbose=0):
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
        after_epoch: called after the callbacks' `on_epoch_end` (early stopping has
            kept the weights it judged), before the next epoch trains. None: none.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch.

    Returns:
        The `keras.callbacks.History` of the run.
    """
    history = keras.callbacks.History()
    cbs = keras.callbacks.CallbackList(
        [*callbacks, history],
        model=model,
        add_history=False,
        add_progbar=verbose > 0,
        verbose=verbose,
        epochs=epochs,
        steps=len(batches),
    )
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
        if after_epoch is not None:
            after_epoch()
        if model.stop_training:
            break
    cbs.on_train_end()
    return history


def raise_if_diverged(variant, split, seed: int, profile, history=None, outputs=None) -> None:
    """A clear error when a run's training loss (`history`) or its test predictions (`outputs`)
    stopped being finite (Keras' `TerminateOnNaN` has ended training at the first NaN loss):
    no metric of such a run would mean anything, so no result is written."""
    what = None
    losses = np.asarray((history or {}).get("loss", []), dtype=np.float64)
    if (~np.isfinite(losses)).any():
        epoch = int(np.flatnonzero(~np.isfinite(losses))[0])
        what = f"training loss {losses[epoch]} in epoch {epoch + 1}"
    elif outputs is not None and (~np.isfinite(np.asarray(outputs, dtype=np.float64))).any():
        bad = ~np.isfinite(np.asarray(outputs, dtype=np.float64)).reshape(len(outputs), -1).all(axis=1)
        what = f"{int(bad.sum())} of {len(outputs)} test predictions not finite"
    if what is not None:
        raise FloatingPointError(
            f"{variant.name} (alpha {variant.alpha:g}), fold {split.fold} of repeat {split.repeat}, seed {seed}: "
            f"training diverged ({what}) with {profile.optimizer} at learning rate {profile.learning_rate:g} "
            f"({profile.lr_schedule} schedule); no result is written. Try a lower learning_rate in the profile "
            "(the paper's is 1e-3)."
        )


def _pad_rows(n: int, batch: int) -> np.ndarray:
    """Row indices padding n rows up to a multiple of batch (repeating row 0)."""
    total = max(batch, int(math.ceil(n / batch)) * batch)
    return np.concatenate([np.arange(n), np.zeros(total - n, dtype=np.int64)])


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
        part = rows[start : start + batch_size]
        parts.append(model.predict_on_batch({k: v[part] for k, v in inputs.items()}))
    return {k: np.concatenate([np.asarray(p[k]) for p in parts])[:n] for k in parts[0]}


def flipped(inputs: dict) -> dict:
    """Every stream's images mirrored left to right (NHWC), as training's augmentation flips them."""
    return {k: np.ascontiguousarray(np.asarray(v)[:, :, ::-1]) for k, v in inputs.items()}


def _auc_or_nan(y_true, p) -> float:
    """AUC, or NaN where it is undefined: one class only, or predictions that are not finite
    (a diverged run, which the trainer then reports as such)."""
    if len(np.unique(y_true)) != 2 or not np.isfinite(p).all():
        return math.nan
    return float(roc_auc_score(y_true, p))


class AveragedWeights:
    """Swap a model's trainable weights for their moving average (Keras' `use_ema`) and back.

    The optimizer keeps the average (`weight_ema` of the profile); evaluation swaps it in
    with `swap_in`, and `swap_out` puts the trained weights back before training goes on,
    so the average never changes what training does. Without `use_ema` both do nothing.
    """

    def __init__(self, model):
        self.model, self._saved = model, None

    @property
    def active(self) -> bool:
        return bool(getattr(self.model.optimizer, "use_ema", False))

    def swap_in(self, keep: bool = False) -> None:
        """Assign the averages to the weights; with `keep`, for good (nothing to swap back)."""
        if not self.active or self._saved is not None:
            return
        if not keep:
            self._saved = [np.array(ops.convert_to_numpy(v)) for v in self.model.trainable_variables]
        variables = self.model.trainable_variables
        self.model.optimizer.finalize_variable_values(variables)
        # On JAX the assignment shares the average's buffer, which the next jitted call
        # donates (and deletes) with the weights: each weight gets a copy of its own.
        for var in variables:
            var.assign(np.array(ops.convert_to_numpy(var)))

    def swap_out(self) -> None:
        """Put the trained weights back (after `swap_in`)."""
        if self._saved is None:
            return
        for var, value in zip(self.model.trainable_variables, self._saved):
            var.assign(value)
        self._saved = None


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
    curve run adds val_auc_moving, val_auc_precise, test_auc_moving, test_auc_precise and
    test_auc_precise_flip (each test image's probability averaged with its mirror image's).
    The model's moving statistics are left as training made them, so evaluating never
    changes what training does. When the optimizer averages the weights (`use_ema`),
    each epoch is evaluated with the averaged weights, which stay in place while the
    callbacks run (early stopping keeps them as its best weights) and are swapped back
    for the trained ones by `epoch_done`.
    """

    def __init__(self, model, estimator, use_precise, train_x, val, alpha, batch_size, curve_test=None):
        self.model, self.estimator, self.use_precise, self.train_x = model, estimator, use_precise, train_x
        self.val, self.alpha, self.batch_size, self.curve_test = val, float(alpha), batch_size, curve_test
        self.averaged = AveragedWeights(model)

    def _val_logs(self, out) -> dict:
        x, y, z = self.val
        p = np.asarray(out["malignancy"])[:, 1]
        if not np.isfinite(p).all():  # diverged: no score is defined (the trainer says so after training)
            return {"val_ce": math.nan, "val_auc": math.nan, "val_loss": math.nan}
        probs = np.stack([1 - p, p], axis=1)
        ce = float(log_loss(y, p, labels=[0, 1]))
        logs = {
            "val_ce": ce,
            "val_auc": _auc_or_nan(y, p),
            "val_loss": ce - self.alpha * float(np.mean(prediction_entropy_np(probs))),
        }
        if z is not None and "birads" in out:
            logs["val_loss"] += float(np.mean((np.asarray(out["birads"])[:, 0] - z) ** 2))
        return logs

    def _auc(self, data, out_key="malignancy") -> float:
        x, y = data[0], data[1]
        return _auc_or_nan(y, predict_rows(self.model.inference, x, self.batch_size)[out_key][:, 1])

    def _test_aucs(self) -> tuple[float, float]:
        """Test AUC, and that of each image's probability averaged with its mirror image's."""
        x, y = self.curve_test[0], self.curve_test[1]
        p = predict_rows(self.model.inference, x, self.batch_size)["malignancy"][:, 1]
        q = predict_rows(self.model.inference, flipped(x), self.batch_size)["malignancy"][:, 1]
        return _auc_or_nan(y, p), _auc_or_nan(y, (p + q) / 2)

    def epoch_logs(self) -> dict:
        """Validation logs of the current weights (see the class docstring)."""
        logs = {}
        curve = self.curve_test is not None
        self.averaged.swap_in()
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
            logs["test_auc_precise"], logs["test_auc_precise_flip"] = self._test_aucs()
            if self.val is not None:
                logs["val_auc_precise"] = self._auc(self.val)
        if moving is not None:
            assign_statistics(self.model, moving)
        return logs

    def epoch_done(self) -> None:
        """After the epoch's callbacks: the trained weights back in place for the next epoch."""
        self.averaged.swap_out()

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
