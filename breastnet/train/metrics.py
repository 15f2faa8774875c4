"""Test-set metrics, all from scikit-learn / SciPy.

Classification (positive class = malignant): accuracy, sensitivity (recall of
malignant), specificity (recall of benign), ROC AUC, balanced accuracy, and
calibration: Brier score and ECE. ECE uses 10 equal-width bins of the predicted
probability of malignancy (the binning of scikit-learn's `calibration_curve`
with strategy="uniform"), weighting each bin's |observed rate - mean
prediction| by its share of images; the same bins (`calibration_bins`) draw the book's
reliability diagrams. Regression of the BI-RADS score: RMSE and Pearson's correlation
coefficient (the paper's CC). The prediction entropy of each test image is the loss's
formula (`breastnet.model.entropy`) in NumPy.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import pearsonr
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    brier_score_loss,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

from ..model.entropy import entropy

ECE_BINS = 10
#: Floor inside the log of the recorded prediction entropy (the loss uses Keras' epsilon).
ENTROPY_FLOOR = 1e-12
METRIC_KEYS = ("accuracy", "sensitivity", "specificity", "auc", "balanced_accuracy", "rmse", "cc", "ece", "brier")


def calibration_bins(y_true, p_malignant, n_bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Equal-width bins of the predicted malignancy probability: the data of ECE and of a reliability diagram.

    The bins and rates are scikit-learn's `calibration_curve` (strategy="uniform"), which
    also checks the inputs (binary labels, probabilities in [0, 1]).

    Returns:
        One value per bin: "lower", "upper" (edges), "count" (images), "mean_predicted",
        "observed" (malignant rate); an empty bin has count 0 and NaN rates.
    """
    y_true = np.asarray(y_true)
    p = np.asarray(p_malignant, dtype=float)
    observed, predicted = calibration_curve(y_true, p, n_bins=n_bins, strategy="uniform")  # of non-empty bins
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    count = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)  # as sklearn bins
    used = count > 0
    mean_predicted, observed_rate = np.full(n_bins, math.nan), np.full(n_bins, math.nan)
    mean_predicted[used], observed_rate[used] = predicted, observed
    return {
        "lower": edges[:-1],
        "upper": edges[1:],
        "count": count,
        "mean_predicted": mean_predicted,
        "observed": observed_rate,
    }


def ece_of_bins(count, observed, mean_predicted) -> float:
    """ECE of binned predictions: sum over non-empty bins of count / N * |observed - mean_predicted|."""
    count = np.asarray(count)
    used = count > 0
    count = count[used]
    gap = np.abs(np.asarray(observed, dtype=float)[used] - np.asarray(mean_predicted, dtype=float)[used])
    return float(np.sum(count / count.sum() * gap))


def expected_calibration_error(y_true, p_malignant, n_bins: int = ECE_BINS) -> float:
    """ECE over equal-width bins of the predicted malignancy probability (`calibration_bins`)."""
    bins = calibration_bins(y_true, p_malignant, n_bins)
    return ece_of_bins(bins["count"], bins["observed"], bins["mean_predicted"])


def classification_metrics(y_true, p_malignant, threshold: float = 0.5) -> dict:
    """Metrics of the primary task.

    Args:
        y_true: 0 benign / 1 malignant.
        p_malignant: predicted probability of malignancy.
        threshold: decision threshold (0.5 = argmax of the 2-way softmax).
    """
    y_true = np.asarray(y_true).astype(int)
    p = np.asarray(p_malignant, dtype=float)
    y_pred = (p >= threshold).astype(int)
    both = len(np.unique(y_true)) == 2
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "sensitivity": float(recall_score(y_true, y_pred, pos_label=1, zero_division=np.nan)),
        "specificity": float(recall_score(y_true, y_pred, pos_label=0, zero_division=np.nan)),
        "auc": float(roc_auc_score(y_true, p)) if both else math.nan,
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)) if both else math.nan,
        "ece": expected_calibration_error(y_true, p),
        "brier": float(brier_score_loss(y_true, p, pos_label=1)),
    }


def regression_metrics(z_true, z_pred) -> dict:
    """RMSE and Pearson CC of the BI-RADS score regression."""
    z_true = np.asarray(z_true, dtype=float)
    z_pred = np.asarray(z_pred, dtype=float).reshape(-1)
    cc = math.nan
    if np.std(z_true) > 0 and np.std(z_pred) > 0:
        cc = float(pearsonr(z_true, z_pred).statistic)
    return {"rmse": float(root_mean_squared_error(z_true, z_pred)), "cc": cc}


def prediction_entropy_np(probabilities) -> np.ndarray:
    """Entropy (nats) per row of a probability matrix, in float64 with NumPy: the loss's
    `breastnet.model.entropy.entropy` with a floor of 1e-12 inside the log."""
    return entropy(np.asarray(probabilities, dtype=float), ENTROPY_FLOOR, np)


def bootstrap_ci(
    y_true,
    p_malignant,
    metric: str = "auc",
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    patients=None,
):
    """Percentile bootstrap interval of a metric (auc, accuracy, sensitivity, specificity).

    With `patients` (one per image), patients are resampled with replacement within label
    strata, all images of a patient together (`breastnet.train.bootstrap`): images of one
    patient are not independent. Without, images are resampled (scipy.stats.bootstrap, paired).
    A resample with one class only gives NaN for AUC and is ignored by the percentiles.

    Returns:
        (low, high), or (nan, nan) when the metric is undefined on the data.
    """
    from scipy.stats import bootstrap

    y_true, p = np.asarray(y_true), np.asarray(p_malignant, dtype=float)
    if len(np.unique(y_true)) < 2:
        return math.nan, math.nan

    predicted = (p >= 0.5).astype(int)
    if patients is not None:
        from .bootstrap import patient_resample_weights, weighted_auc

        w = patient_resample_weights(patients, y_true, n_resamples, np.random.default_rng(seed)).astype(float)
        hit = (predicted == y_true).astype(float)
        pos, neg = (y_true == 1).astype(float), (y_true == 0).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = {
                "auc": lambda: weighted_auc(y_true, p, w),
                "accuracy": lambda: (w * hit).sum(1) / w.sum(1),
                "sensitivity": lambda: (w * hit * pos).sum(1) / (w * pos).sum(1),
                "specificity": lambda: (w * hit * neg).sum(1) / (w * neg).sum(1),
            }[metric]()
        alpha = 100 * (1 - level) / 2
        low, high = np.nanpercentile(values, [alpha, 100 - alpha])
        return float(low), float(high)

    # Thousands of resamples: the threshold metrics as plain means (what recall_score computes,
    # without its per-call validation), AUC through scikit-learn.
    functions = {
        "auc": lambda y, i: roc_auc_score(y, p[i]),
        "accuracy": lambda y, i: float(np.mean(predicted[i] == y)),
        "sensitivity": lambda y, i: float(np.mean(predicted[i][y == 1] == 1)),
        "specificity": lambda y, i: float(np.mean(predicted[i][y == 0] == 0)),
    }

    def statistic(idx):
        idx = np.asarray(idx, dtype=int)
        y = y_true[idx]
        return functions[metric](y, idx) if len(np.unique(y)) == 2 else math.nan

    res = bootstrap(
        (np.arange(len(y_true)),),
        statistic,
        vectorized=False,
        n_resamples=n_resamples,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)
