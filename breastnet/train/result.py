"""The blocks of a result file that do not depend on Keras: identity, data, test scores.

Shared by the network runs (`breastnet.train.trainer`) and the classical floor
(`breastnet.train.floor`), so both write result files of one schema
(`breastnet.study.results`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.problems import WARNING
from ..model.variants import family
from .metrics import classification_metrics, prediction_entropy_np, regression_metrics


def early_stopping_record(profile, validated: bool) -> dict | None:
    """How a run's tested epoch was chosen, for its result file.

    {"monitor", "patience", "min_epochs"} when early stopping ran; {"monitor": None, ...,
    "epochs": N} when the profile has none (`patience` None: the last of N epochs is tested);
    None when the run had no validation part to stop on.
    """
    if profile.patience is None:
        return {"monitor": None, "patience": None, "min_epochs": None, "epochs": profile.epochs}
    if not validated:
        return None
    return {"monitor": profile.monitor, "patience": profile.patience, "min_epochs": profile.min_epochs}


@dataclass(frozen=True)
class RunIdentity:
    """What was run: a variant on one fold of a dataset, with a seed, under a profile.

    Attributes:
        variant: a `breastnet.model.variants.Variant`.
        split: a `breastnet.data.splits.Split`.
        seed: seed of initialisation, shuffling and augmentation.
        profile: a `breastnet.train.profiles.Profile`.
        dataset: the `Dataset` the split indexes.
    """

    variant: object
    split: object
    seed: int
    profile: object
    dataset: object

    def to_dict(self) -> dict:
        """The "run" block of a result file."""
        return {
            "variant": self.variant.name,
            "family": family(self.variant.name),
            "alpha": float(self.variant.alpha),
            "fold": int(self.split.fold),
            "repeat": int(self.split.repeat),
            "seed": int(self.seed),
            "profile": self.profile.name,
            "dataset": self.dataset.name,
        }


@dataclass(frozen=True)
class TrainingRecord:
    """How a network run was trained, and how its training went.

    Attributes:
        input_size: the patch side the network trained at.
        optimizer, determinism, cpu_threads: as recorded strings.
        validated: whether the run had a validation part (and so early stopping, if the
            profile has a `patience`).
        patch_key: content hash of the patch set.
        weights_used: what the backbones started from.
        history: Keras' History.history of the run.
        best_epoch: the epoch early stopping restored (1-based), or None.
        learning_curve: whether the history holds test AUC per epoch.
        seconds: wall time of each phase; "epochs" is the list of epoch times.
        images_per_epoch: training images seen per epoch.
    """

    input_size: int
    optimizer: str
    determinism: str
    cpu_threads: str
    validated: bool
    patch_key: str
    weights_used: str
    history: dict
    best_epoch: int | None
    learning_curve: bool
    seconds: dict
    images_per_epoch: int


@dataclass(frozen=True)
class RunRecord:
    """A network run's result before it is a file: what was run, how it trained, what it measured.

    Attributes:
        run: what was run.
        training: how it was trained.
        metrics, predictions: what its test images measured (`score_test_images`).
        provenance: `breastnet.train.runtime.provenance()`.
    """

    run: RunIdentity
    training: TrainingRecord
    metrics: dict
    predictions: dict
    provenance: dict


def dataset_description(dataset, split, **extra) -> dict:
    """The "dataset" block of a result file: which data, and how many images in each part."""
    return {
        "name": dataset.name,
        "synthetic": dataset.synthetic,
        "layout": dataset.layout,
        **extra,
        "citation": dataset.citation,
        "n_train": len(split.train),
        "n_val": len(split.val),
        "n_test": len(split.test),
    }


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
    predictions = {
        "id": [r.id for r in test_records],
        "patient": [r.patient for r in test_records],
        "y_true": y_true.tolist(),
        "p_malignant": p.tolist(),
        "entropy": prediction_entropy_np(probs).tolist(),
    }
    if birads_pred is not None:
        z_true = np.array([r.birads_score for r in test_records])
        z_pred = np.asarray(birads_pred, dtype=np.float64)
        metrics.update(regression_metrics(z_true, z_pred))
        predictions.update(birads_true=z_true.tolist(), birads_pred=z_pred.tolist())
    return metrics, predictions


def network_result(record: RunRecord) -> dict:
    """The result file of a network run (schema: `breastnet.study.results`)."""
    run, training = record.run, record.training
    variant, profile = run.variant, run.profile
    history = {k: [float(v) for v in vals] for k, vals in training.history.items()}
    return {
        "run": run.to_dict(),
        "config": {
            "variant": variant.to_dict(),
            "profile": profile.to_dict(),
            "input_size": training.input_size,
            "optimizer": training.optimizer,
            "loss": "CE - alpha*H(p)" + (" + MSE(BI-RADS score)" if variant.multitask else ""),
            "determinism": training.determinism,
            "run_eagerly": profile.run_eagerly,
            "cpu_threads": training.cpu_threads,
            "bn_stats": profile.bn_stats,
            "bn_momentum": profile.bn_momentum,
            "crop": profile.crop,
            "early_stopping": early_stopping_record(profile, training.validated),
        },
        "dataset": dataset_description(run.dataset, run.split, patch_key=training.patch_key),
        "weights": training.weights_used,
        "warnings": [p.to_dict() for p in run.dataset.problems if p.severity == WARNING],
        "training": {
            "epochs_run": len(history.get("loss", [])),
            "best_epoch": training.best_epoch,
            "learning_curve": training.learning_curve,
            "history": history,
            "seconds": training.seconds,
            "train_images_per_second": _steady_rate(training.seconds["epochs"], training.images_per_epoch),
        },
        "metrics": record.metrics,
        "provenance": record.provenance,
        "predictions": record.predictions,
    }


def _steady_rate(epoch_seconds, images_per_epoch):
    """Images/s over the epochs after the first (which may include tracing); includes validation."""
    steady = epoch_seconds[1:] or epoch_seconds
    return images_per_epoch * len(steady) / sum(steady) if steady and sum(steady) > 0 else None
