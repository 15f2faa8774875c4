"""Metrics against values worked out by hand."""

import math

import numpy as np
import pytest

from breastnet.train.metrics import classification_metrics, expected_calibration_error, regression_metrics


def test_classification_by_hand():
    y = [1, 1, 1, 0, 0]
    p = [0.9, 0.6, 0.2, 0.3, 0.7]
    m = classification_metrics(y, p)
    # predictions 1,1,0,0,1: TP 2, FN 1, TN 1, FP 1
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(1 / 2)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    # AUC: of the 6 (pos, neg) pairs 3 are ordered right: 0.9>0.3, 0.9>0.7, 0.6>0.3
    assert m["auc"] == pytest.approx(3 / 6)
    brier = np.mean((np.array(p) - np.array(y)) ** 2)
    assert m["brier"] == pytest.approx(brier)


def test_ece_by_hand():
    # Bins of width 0.1: {0.15, 0.15} -> mean 0.15, observed 0.5; {0.85} -> 0.85, observed 1.
    y, p = [0, 1, 1], [0.15, 0.15, 0.85]
    assert expected_calibration_error(y, p) == pytest.approx(2 / 3 * 0.35 + 1 / 3 * 0.15)


def test_prediction_entropy_by_hand():
    from breastnet.train.metrics import prediction_entropy_np

    h = prediction_entropy_np([[0.5, 0.5], [1.0, 0.0], [0.9, 0.1]])
    assert h == pytest.approx([math.log(2), 0.0, -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))])
    assert h.dtype == np.float64


def test_perfectly_calibrated_extremes_have_zero_ece():
    assert expected_calibration_error([0, 0, 1, 1], [0.0, 0.0, 1.0, 1.0]) == pytest.approx(0.0)


def test_single_class_gives_nan_auc_not_a_crash():
    m = classification_metrics([0, 0, 0], [0.1, 0.6, 0.2])
    assert math.isnan(m["auc"])
    assert m["specificity"] == pytest.approx(2 / 3)


def test_regression_by_hand():
    m = regression_metrics([0.0, 0.5, 1.0], [0.1, 0.5, 0.7])
    assert m["rmse"] == pytest.approx(math.sqrt((0.01 + 0 + 0.09) / 3))
    assert m["cc"] == pytest.approx(np.corrcoef([0, 0.5, 1], [0.1, 0.5, 0.7])[0, 1])


def test_bootstrap_interval_of_external_metrics():
    from breastnet.train.metrics import bootstrap_ci

    y = np.array([0, 0, 0, 1, 1, 1] * 10)
    perfect = np.where(y == 1, 0.9, 0.1)
    assert bootstrap_ci(y, perfect, "auc") == (1.0, 1.0)  # every resample separates perfectly
    assert bootstrap_ci(y, perfect, "sensitivity") == (1.0, 1.0)
    noisy = np.where(y == 1, 0.6, 0.4)
    noisy[[0, 3]] = [0.7, 0.3]  # one false positive, one false negative: sensitivity 29/30
    low, high = bootstrap_ci(y, noisy, "sensitivity", seed=1)
    assert low < 29 / 30 < high <= 1.0
    assert bootstrap_ci(y, noisy, "sensitivity", seed=1) == (low, high)  # seeded: repeatable
    assert all(np.isnan(bootstrap_ci(np.zeros(5), np.full(5, 0.3))))  # one class: undefined


def test_bootstrap_ci_over_patients_keeps_a_patients_images_together():
    from breastnet.train.metrics import bootstrap_ci

    # Two images per patient, the same prediction twice: a patient bootstrap of 40 images is a
    # bootstrap of 20 patients, so its interval is wider than the (wrong) one over 40 images.
    rng = np.random.default_rng(0)
    y = np.repeat(rng.integers(0, 2, 20), 2)
    p = np.clip(y * 0.3 + np.repeat(rng.uniform(0, 0.7, 20), 2), 0, 1)
    patients = np.repeat(np.arange(20), 2)
    by_image = bootstrap_ci(y, p, "auc", seed=1)
    by_patient = bootstrap_ci(y, p, "auc", seed=1, patients=patients)
    assert by_patient[1] - by_patient[0] > by_image[1] - by_image[0]
    low, high = bootstrap_ci(y, p, "sensitivity", seed=1, patients=patients)
    assert 0 <= low <= np.mean((p >= 0.5)[y == 1]) <= high <= 1
    perfect = np.where(y == 1, 0.9, 0.1)
    assert bootstrap_ci(y, perfect, "auc", patients=patients) == (1.0, 1.0)
