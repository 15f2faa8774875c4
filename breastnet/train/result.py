"""The blocks of a result file that do not depend on Keras: identity, data, test scores.

Shared by the network runs (`breastnet.train.trainer`) and the classical floor
(`breastnet.train.floor`), so both write result files of one schema
(`breastnet.study.results`).
"""

from __future__ import annotations

import numpy as np

from ..model.variants import family
from .metrics import classification_metrics, prediction_entropy_np, regression_metrics

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
