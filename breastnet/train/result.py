"""The blocks of a result file that do not depend on Keras: identity, data, test scores.

Shared by the network runs (`breastnet.train.trainer`) and the classical floor
(`breastnet.train.floor`), so both write result files of one schema
(`breastnet.study.results`).
"""

from __future__ import annotations

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


def run_identity(variant, split, seed, profile, dataset) -> dict:
    """The "run" block of a result file: what was run, on which fold, with which seed."""
    return {
        "variant": variant.name,
        "family": family(variant.name),
        "alpha": float(variant.alpha),
        "fold": int(split.fold),
        "repeat": int(split.repeat),
        "seed": int(seed),
        "profile": profile.name,
        "dataset": dataset.name,
    }


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


def network_result(
    *,
    variant,
    split,
    seed,
    profile,
    dataset,
    input_size,
    optimizer,
    determinism,
    cpu_threads,
    validated,
    patch_key,
    weights_used,
    history,
    best_epoch,
    learning_curve,
    seconds,
    images_per_epoch,
    metrics,
    predictions,
    provenance,
) -> dict:
    """The result file of a network run (schema: `breastnet.study.results`).

    Args:
        variant, split, seed, profile, dataset: what was run (see `run_identity`).
        input_size: the patch side the network trained at.
        optimizer, determinism, cpu_threads: how it was trained, as recorded strings.
        validated: whether the run had a validation part (and so early stopping, if the
            profile has a `patience`).
        patch_key: content hash of the patch set.
        weights_used: what the backbones started from.
        history: Keras' History.history of the run.
        best_epoch: the epoch early stopping restored (1-based), or None.
        learning_curve: whether the history holds test AUC per epoch.
        seconds: wall time of each phase; "epochs" is the list of epoch times.
        images_per_epoch: training images seen per epoch.
        metrics, predictions: from `score_test_images`.
        provenance: `breastnet.train.runtime.provenance()`.
    """
    history = {k: [float(v) for v in vals] for k, vals in history.items()}
    return {
        "run": run_identity(variant, split, seed, profile, dataset),
        "config": {
            "variant": variant.to_dict(),
            "profile": profile.to_dict(),
            "input_size": input_size,
            "optimizer": optimizer,
            "loss": "CE - alpha*H(p)" + (" + MSE(BI-RADS score)" if variant.multitask else ""),
            "determinism": determinism,
            "run_eagerly": profile.run_eagerly,
            "cpu_threads": cpu_threads,
            "bn_stats": profile.bn_stats,
            "bn_momentum": profile.bn_momentum,
            "crop": profile.crop,
            "early_stopping": early_stopping_record(profile, validated),
        },
        "dataset": dataset_description(dataset, split, patch_key=patch_key),
        "weights": weights_used,
        "warnings": [p.to_dict() for p in dataset.problems if p.severity == WARNING],
        "training": {
            "epochs_run": len(history.get("loss", [])),
            "best_epoch": best_epoch,
            "learning_curve": learning_curve,
            "history": history,
            "seconds": seconds,
            "train_images_per_second": _steady_rate(seconds["epochs"], images_per_epoch),
        },
        "metrics": metrics,
        "provenance": provenance,
        "predictions": predictions,
    }


def _steady_rate(epoch_seconds, images_per_epoch):
    """Images/s over the epochs after the first (which may include tracing); includes validation."""
    steady = epoch_seconds[1:] or epoch_seconds
    return images_per_epoch * len(steady) / sum(steady) if steady and sum(steady) > 0 else None
