"""Patient-grouped, stratified cross-validation and the limited-data subset.

All splitting goes through scikit-learn's StratifiedGroupKFold: no patient is
ever on both sides of a split, and class balance is kept as well as grouping allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold


@dataclass(frozen=True)
class Split:
    """Indices into the dataset's records for one CV run.

    Attributes:
        fold: 0-based test fold.
        repeat: 0-based repetition (a different shuffle of the folds).
        train, val, test: record indices; val is carved out of the training part.
    """

    fold: int
    repeat: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _labels_groups(records):
    y = np.array([r.pathology for r in records])
    groups = np.array([r.patient for r in records])
    return y, groups


def inner_validation(records, train_idx, val_fraction: float, seed: int):
    """Split a training part into (train, val), patient-grouped and stratified.

    Args:
        records: all records of the dataset.
        train_idx: indices of the outer training part.
        val_fraction: approximate share of it held out for early stopping.
        seed: shuffle seed.
    """
    if val_fraction <= 0:
        return np.asarray(train_idx), np.array([], dtype=np.int64)
    n_splits = max(2, int(round(1.0 / val_fraction)))
    y, groups = _labels_groups([records[i] for i in train_idx])
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    inner_train, inner_val = next(splitter.split(np.zeros(len(y)), y, groups))
    train_idx = np.asarray(train_idx)
    return train_idx[inner_train], train_idx[inner_val]


def cv_splits(records, n_folds: int = 5, repeats: int = 1, seed: int = 0, val_fraction: float = 0.2):
    """Repeated stratified patient-grouped k-fold splits.

    Args:
        records: dataset records (need .pathology and .patient).
        n_folds: folds per repetition (paper: 5).
        repeats: repetitions with different shuffles (paper: 10).
        seed: base seed; repetition r shuffles with seed + r.
        val_fraction: share of each training part used for early stopping.

    Returns:
        list of Split, repeat-major.
    """
    y, groups = _labels_groups(records)
    out = []
    for repeat in range(repeats):
        splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed + repeat)
        for fold, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
            tr, va = inner_validation(records, train, val_fraction, seed=seed + 1000 * (repeat + 1) + fold)
            out.append(Split(fold, repeat, tr, va, np.asarray(test)))
    return out


def official_splits(dataset, n_folds: int = 5, seed: int = 0, val_fraction: float = 0.2):
    """BUS-BRA's published partitions (`k-fold-cv.csv`, column kFold = test fold).

    The inner validation set is drawn by us (patient-grouped) from the training part.
    """
    if n_folds not in dataset.folds:
        raise ValueError(
            f"{dataset.name} has no official {n_folds}-fold partition (available: {sorted(dataset.folds) or 'none'})"
        )
    fold_of = dataset.folds[n_folds]
    missing = [r.id for r in dataset.records if r.id not in fold_of]
    if missing:
        raise ValueError(f"{len(missing)} image(s) have no official fold, e.g. {missing[:3]}")
    test_fold = np.array([fold_of[r.id] for r in dataset.records])
    out = []
    for fold, k in enumerate(sorted(set(test_fold))):
        test = np.flatnonzero(test_fold == k)
        train = np.flatnonzero(test_fold != k)
        tr, va = inner_validation(dataset.records, train, val_fraction, seed=seed + fold)
        out.append(Split(fold, 0, tr, va, test))
    return out


def limited_subset(dataset, n_benign: int = 150, n_malignant: int = 162, seed: int = 0):
    """A patient-grouped random sample with (about) the given class counts.

    Whole patients are drawn in a seeded random order and kept while they fit
    the remaining quota of every class, so a patient is never split and the counts
    are met exactly whenever single-image patients allow (they do on BUS-BRA).

    Args:
        dataset: a `breastnet.data.Dataset`.
        n_benign, n_malignant: wanted image counts (paper: 150 / 162).
        seed: sampling seed.

    Returns:
        A new Dataset named "<name>-subset-<b>b<m>m-s<seed>".
    """
    have = dataset.summary()
    if have["benign"] < n_benign or have["malignant"] < n_malignant:
        raise ValueError(
            f"{dataset.name} has {have['benign']} benign / {have['malignant']} malignant "
            f"images, fewer than the {n_benign} / {n_malignant} asked for"
        )
    by_patient: dict[str, list] = {}
    for r in dataset.records:
        by_patient.setdefault(r.patient, []).append(r)
    patients = sorted(by_patient)
    rng = np.random.default_rng(seed)
    rng.shuffle(patients)
    left = np.array([n_benign, n_malignant])
    chosen = []
    for p in patients:
        need = np.bincount([r.pathology for r in by_patient[p]], minlength=2)
        if np.all(need <= left):
            chosen.extend(r.id for r in by_patient[p])
            left -= need
        if not left.any():
            break
    name = f"{dataset.name}-subset-{n_benign}b{n_malignant}m-s{seed}"
    return dataset.subset(chosen, name=name)
