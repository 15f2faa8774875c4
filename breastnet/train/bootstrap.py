"""Patient-clustered bootstrap weights and the AUC under many weight vectors at once.

Several images can come from one patient, so a bootstrap of a test set resamples patients
(all images of a patient together) within label strata; a resample is a vector of counts,
one per image, and every statistic is computed under those weights. Used by the external
evaluation's intervals (`breastnet.train.metrics.bootstrap_ci`) and the paired comparisons
of the book (`breastnet.report.paired`).
"""

from __future__ import annotations

import math

import numpy as np


def weighted_auc(y_true, scores, weights=None):
    """ROC AUC of one score vector under many weight vectors at once (Mann-Whitney, ties 1/2).

    AUC = sum over tied-score groups g of Wpos_g * (Wneg below g + Wneg_g / 2) / (Wpos * Wneg),
    the weighted Mann-Whitney statistic; it equals `sklearn.metrics.roc_auc_score(y_true,
    scores, sample_weight=w)` for each weight row w. Scores are sorted once for all rows.

    Args:
        y_true: (n,) labels in {0, 1}.
        scores: (n,) finite scores, higher meaning more likely positive.
        weights: (B, n) non-negative weights (counts of a bootstrap resample), or (n,) for one
            weight vector, or None for unit weights.

    Returns:
        (B,) float array for 2-D `weights`; a float for 1-D or None `weights`. NaN where a row
        has no positive or no negative weight (the AUC is undefined).
    """
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"y_true and scores must be 1-D of one length, got {y.shape} and {s.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold only 0 and 1")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=float)
    single = w.ndim == 1
    w = np.atleast_2d(w)
    if w.ndim != 2 or w.shape[1] != len(s):
        raise ValueError(f"weights must be (n,) or (B, n) with n = {len(s)}, got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite and non-negative")
    if len(s) == 0:
        auc = np.full(len(w), math.nan)
    else:
        order = np.argsort(s, kind="stable")
        _, starts = np.unique(s[order], return_index=True)  # first position of each tied group
        pos = y[order] == 1
        ws = w[:, order]
        wpos = np.add.reduceat(np.where(pos, ws, 0.0), starts, axis=1)
        wneg = np.add.reduceat(np.where(pos, 0.0, ws), starts, axis=1)
        below = np.cumsum(wneg, axis=1)
        below = np.concatenate([np.zeros((len(w), 1)), below[:, :-1]], axis=1)  # negatives strictly below
        num = (wpos * (below + 0.5 * wneg)).sum(axis=1)
        den = wpos.sum(axis=1) * wneg.sum(axis=1)
        auc = np.full(len(w), math.nan)
        np.divide(num, den, out=auc, where=den > 0)
    return float(auc[0]) if single else auc


def patient_resample_weights(patients, y_true, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Weights of a patient bootstrap, stratified by label: (n_resamples, n_images) int.

    Patients are drawn with replacement within strata; a patient's stratum is the sorted tuple
    of the distinct labels of its images: (0,), (1,), or (0, 1) for a patient with both a
    benign and a malignant image. Each stratum keeps its number of patients in every resample
    (one multinomial draw per stratum) and every image gets its patient's draw count, so all
    images of one patient have the same weight in a row. Patients are taken in sorted order,
    so the result does not depend on the order of the images.

    Args:
        patients: (n,) patient of each image.
        y_true: (n,) labels in {0, 1}.
        n_resamples: B, number of resamples (rows).
        rng: the generator drawn from.
    """
    y = np.asarray(y_true)
    patients = np.asarray(patients)
    if patients.dtype == object and any(p is None or p != p for p in patients):  # None or NaN
        raise ValueError("patients must not be missing")
    uniques, codes = np.unique(patients.astype(str), return_inverse=True)
    if len(codes) != len(y):
        raise ValueError(f"patients and y_true must have one length, got {len(codes)} and {len(y)}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold only 0 and 1")
    n_p = len(uniques)
    has0 = np.bincount(codes, weights=(y == 0), minlength=n_p) > 0
    has1 = np.bincount(codes, weights=(y == 1), minlength=n_p) > 0
    stratum = has0 * 1 + has1 * 2  # 1: (0,), 2: (1,), 3: (0, 1)
    counts = np.zeros((n_resamples, n_p), dtype=np.int64)
    for key in np.unique(stratum):
        members = np.flatnonzero(stratum == key)
        k = len(members)
        counts[:, members] = rng.multinomial(k, np.full(k, 1.0 / k), size=n_resamples)
    return counts[:, codes]
