"""breastnet.report.paired: the patient-clustered paired bootstrap of AUC differences, DeLong, Holm."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from breastnet.report.paired import (
    MDE80_FACTOR,
    auc_from_accuracy,
    auc_from_sens_spec,
    delong_test,
    holm,
    paired_auc_bootstrap,
    paper_auc_effect,
)
from breastnet.report.paper import PAPER_TABLE1
from breastnet.train.bootstrap import patient_resample_weights, weighted_auc


def frame(y, scores, units=(0,), patients=None):
    """Long predictions: every unit predicts every image; one image per patient unless told."""
    y = np.asarray(y)
    n = len(y)
    patients = [f"p{i:03d}" for i in range(n)] if patients is None else list(patients)
    scores = np.asarray(scores, dtype=float).reshape(len(units), n)
    return pd.DataFrame(
        {
            "unit": np.repeat(units, n),
            "id": [f"i{i:03d}" for i in range(n)] * len(units),
            "patient": patients * len(units),
            "y_true": np.tile(y, len(units)),
            "p": scores.ravel(),
        }
    )


def balanced(n):
    return np.r_[np.ones(n // 2), np.zeros(n - n // 2)].astype(int)


# --- weighted_auc ---------------------------------------------------------------------------


def test_weighted_auc_by_hand():
    # y 0 0 1 1, scores .1 .4 .4 .8: the positive .4 beats .1 (1) and ties .4 (1/2), .8 beats both (2): 3.5 / 4.
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.4, 0.8]
    assert weighted_auc(y, s) == pytest.approx(3.5 / 4)
    # Weights 2 1 1 1: Wneg = 3, Wpos = 2; positive .4: 2 + 1/2, positive .8: 3; (2.5 + 3) / 6.
    assert weighted_auc(y, s, np.array([[2, 1, 1, 1]]))[0] == pytest.approx(5.5 / 6)


def test_weighted_auc_equals_sklearn_with_ties_and_weights():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 80)
    s = rng.integers(0, 6, 80) / 5  # many ties
    w = rng.integers(0, 4, (30, 80))
    expected = [roc_auc_score(y, s, sample_weight=row) for row in w]
    assert weighted_auc(y, s, w) == pytest.approx(expected)


def test_weighted_auc_unit_weights_and_shapes():
    rng = np.random.default_rng(4)
    y, s = rng.integers(0, 2, 50), rng.normal(size=50)
    plain = roc_auc_score(y, s)
    assert isinstance(weighted_auc(y, s, np.ones(50)), float)  # 1-D weights: a float
    assert weighted_auc(y, s, np.ones(50)) == pytest.approx(plain)
    assert weighted_auc(y, s) == pytest.approx(plain)
    assert weighted_auc(y, s, np.ones((3, 50))) == pytest.approx([plain] * 3)


def test_weighted_auc_without_positive_weight_is_nan():
    y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.3, 0.8])
    out = weighted_auc(y, s, np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1]]))
    assert math.isnan(out[0]) and out[1] == 1.0 and math.isnan(out[2])


# --- patient_resample_weights ---------------------------------------------------------------


def test_patient_resample_weights_keep_patients_and_strata():
    # p1: two benign images, p2: benign + malignant (a stratum of its own kind), p3 p4 p5: malignant, p6 benign.
    patients = np.array(["p1", "p1", "p2", "p2", "p3", "p4", "p4", "p5", "p6"])
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1, 0])
    w = patient_resample_weights(patients, y, 500, np.random.default_rng(0))
    assert w.shape == (500, 9) and np.issubdtype(w.dtype, np.integer)
    for p in np.unique(patients):
        cols = w[:, patients == p]
        assert (cols == cols[:, :1]).all()  # one weight for all images of a patient
    first = {p: w[:, np.flatnonzero(patients == p)[0]] for p in np.unique(patients)}
    assert (first["p1"] + first["p6"] == 2).all()  # benign only: 2 patients
    assert (first["p2"] == 1).all()  # mixed: 1 patient, always drawn once
    assert (first["p3"] + first["p4"] + first["p5"] == 3).all()  # malignant only: 3 patients
    assert first["p4"].std() > 0  # and they are resampled


# --- paired_auc_bootstrap -------------------------------------------------------------------


def test_identical_models_have_no_difference():
    rng = np.random.default_rng(5)
    y = balanced(60)
    a = frame(y, rng.normal(size=(3, 60)) + y, units=(0, 1, 2))
    r = paired_auc_bootstrap(a, a.copy(), resample_units=True, n_resamples=300)
    assert r.diff == 0 and r.auc_a == r.auc_b
    assert (r.replicates == 0).all() and r.se == 0
    assert (r.ci_low, r.ci_high, r.lower90, r.upper90) == (0, 0, 0, 0)
    assert r.p == 1.0 and r.mde80 == 0
    assert "replicates" not in repr(r)


def test_perfect_ranker_beats_a_random_one():
    rng = np.random.default_rng(6)
    y = balanced(400)
    r = paired_auc_bootstrap(frame(y, y + 0.1 * rng.random(400)), frame(y, rng.random(400)), resample_units=False)
    assert r.auc_a == 1 and r.diff > 0.3
    assert r.ci_low > 0 and r.lower90 > 0
    assert r.p == pytest.approx(2 / 2001)  # no replicate at or below 0
    assert (r.n_images, r.n_patients, r.n_units, r.n_resamples, r.n_valid) == (400, 400, 1, 2000, 2000)
    assert r.mde80 == pytest.approx(MDE80_FACTOR * r.se) and MDE80_FACTOR == pytest.approx(2.8016, abs=1e-4)


def test_bootstrap_se_agrees_with_delong_on_independent_images():
    # One unit, one image per patient: the closed form of DeLong applies and the SEs agree.
    rng = np.random.default_rng(7)
    y = balanced(300)
    base = rng.normal(size=300) + y
    sa, sb = base + rng.normal(0, 0.7, 300), base + rng.normal(0, 0.7, 300) + 0.3 * y
    r = paired_auc_bootstrap(frame(y, sa), frame(y, sb), resample_units=False, seed=1)
    d = delong_test(y, sa, sb)
    assert d["method"] == "delong"
    assert r.diff == pytest.approx(d["diff"])
    assert r.se == pytest.approx(d["se"], rel=0.15)


def test_the_seeds_spread_widens_the_interval_only_when_units_are_resampled():
    rng = np.random.default_rng(8)
    n, units = 200, (0, 1, 2)
    y = balanced(n)
    base = rng.normal(size=n) + y
    a = frame(y, np.tile(base + rng.normal(0, 0.5, n), 3), units)
    b_same = frame(y, np.tile(base + rng.normal(0, 0.5, n), 3), units)
    noisy = [base + rng.normal(0, sd, n) for sd in (0.2, 1.0, 3.0)]  # three seeds, three AUCs
    b_noisy = frame(y, np.concatenate(noisy), units)

    def width(r):
        return r.ci_high - r.ci_low

    same_u = paired_auc_bootstrap(a, b_same, resample_units=True, n_resamples=1000)
    same_f = paired_auc_bootstrap(a, b_same, resample_units=False, n_resamples=1000)
    noisy_u = paired_auc_bootstrap(a, b_noisy, resample_units=True, n_resamples=1000)
    noisy_f = paired_auc_bootstrap(a, b_noisy, resample_units=False, n_resamples=1000)
    assert noisy_u.units_resampled and not noisy_f.units_resampled
    assert "fixed" in noisy_f.method and "fixed" not in noisy_u.method
    assert width(noisy_u) > width(same_u)
    assert width(noisy_u) > width(noisy_f)  # units fixed: the seeds' spread is not in the interval
    assert noisy_u.diff == noisy_f.diff  # the observed difference does not depend on it
    # Identical seeds: drawing unit labels changes nothing (patient weights are drawn first).
    assert (same_u.ci_low, same_u.ci_high) == pytest.approx((same_f.ci_low, same_f.ci_high))


def test_cross_validation_units_test_their_own_images():
    # Two folds with different images: a model's score is the mean of the fold AUCs.
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    pa = np.array([0.9, 0.8, 0.2, 0.1, 0.6, 0.3, 0.4, 0.1])  # fold AUCs 1 and 3/4
    pb = np.array([0.9, 0.2, 0.5, 0.3, 0.6, 0.7, 0.4, 0.8])  # fold AUCs 1/2 and 1/2
    a = frame(y, pa).assign(unit=[0] * 4 + [1] * 4)
    b = frame(y, pb).assign(unit=[0] * 4 + [1] * 4)
    r = paired_auc_bootstrap(a, b, resample_units=False, n_resamples=200)
    assert (r.auc_a, r.auc_b, r.diff) == pytest.approx((0.875, 0.5, 0.375))
    assert r.n_units == 2 and r.n_images == 8 and r.n_valid <= 200


def test_paired_bootstrap_errors_name_the_problem():
    y = balanced(10)
    a = frame(y, np.arange(10.0))
    with pytest.raises(ValueError, match=r"same \(unit, id\) pairs: 1 only in A .*id 'i009'"):
        paired_auc_bootstrap(a, a.iloc[:9], resample_units=False)
    with pytest.raises(ValueError, match=r"lacks the columns \['patient'\]"):
        paired_auc_bootstrap(a, a.drop(columns="patient"), resample_units=False)
    with pytest.raises(ValueError, match="different y_true or patient.*'i000'"):
        paired_auc_bootstrap(a, a.assign(patient=["x"] + list(a["patient"][1:])), resample_units=False)
    with pytest.raises(ValueError, match="at least 2 patients"):
        paired_auc_bootstrap(a.assign(patient="p"), a.assign(patient="p"), resample_units=False)
    two = frame(y, np.tile(np.arange(10.0), 2), units=(0, 1))
    two.loc[(two["unit"] == 1) & (two["y_true"] == 0), "unit"] = 2  # unit 1: positives only
    with pytest.raises(ValueError, match="unit 1 holds only one class"):
        paired_auc_bootstrap(two, two, resample_units=False)


# --- DeLong ---------------------------------------------------------------------------------


def test_delong_by_hand():
    # Positives first. A: .9 .8 beat the 3 negatives, .4 beats 2: AUC 8/9. B: .6 .5 beat 2, .2 beats 1: 5/9.
    y = [1, 1, 1, 0, 0, 0]
    pa = [0.9, 0.8, 0.4, 0.5, 0.3, 0.2]
    pb = [0.6, 0.5, 0.2, 0.7, 0.4, 0.1]
    # Structural components of A - B: positives 1/3 1/3 1/3 (variance 0), negatives 2/3 1/3 0
    # (variance 1/9): var = 0 / 3 + (1/9) / 3 = 1/27, z = (1/3) * sqrt(27) = sqrt(3).
    d = delong_test(y, pa, pb)
    assert d["method"] == "delong"
    assert d["diff"] == pytest.approx(1 / 3)
    assert d["se"] == pytest.approx(1 / math.sqrt(27))
    assert d["z"] == pytest.approx(math.sqrt(3)) and d["z"] > 0  # signed A - B
    assert d["p"] == pytest.approx(2 * norm.sf(math.sqrt(3)))
    assert delong_test(y, pb, pa)["z"] == pytest.approx(-math.sqrt(3))


def test_delong_fallback_is_not_called_delong():
    y = [1, 1, 1, 0, 0, 0]
    p = [0.9, 0.8, 0.4, 0.5, 0.3, 0.2]
    d = delong_test(y, p, p, n_boot=200)  # no variance of the difference: MLstatkit bootstraps
    assert d["method"].startswith("bootstrap") and "delong" not in d["method"].split()[0]
    assert d["diff"] == 0 and d["z"] == 0 and d["p"] == 1.0 and math.isnan(d["se"])


# --- Holm, the paper's effect in AUC --------------------------------------------------------


def test_holm_by_hand():
    # Sorted 0.01 0.03 0.04 times 3 2 1: 0.03 0.06 0.04 -> running max 0.03 0.06 0.06.
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = holm([0.01, math.nan, 0.04, 0.03])  # NaN stays NaN and is not one of the family
    assert math.isnan(out[1]) and out[[0, 2, 3]] == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.02, 0.5]) == pytest.approx([0.04, 0.5])
    assert np.isnan(holm([math.nan])).all()


def test_auc_from_accuracy_and_sens_spec():
    assert auc_from_accuracy(0.5) == pytest.approx(0.5)
    assert auc_from_accuracy(norm.cdf(1)) == pytest.approx(norm.cdf(math.sqrt(2)))
    assert auc_from_sens_spec(0.5, 0.5) == pytest.approx(0.5)
    # sens = spec = acc: d' = 2 Φ⁻¹(acc), the same AUC as from accuracy.
    assert auc_from_sens_spec(0.8, 0.8) == pytest.approx(auc_from_accuracy(0.8))
    assert auc_from_sens_spec(norm.cdf(1), norm.cdf(0.5)) == pytest.approx(norm.cdf(1.5 / math.sqrt(2)))


def test_paper_auc_effect():
    dstl, dssl = PAPER_TABLE1["DSTL"], PAPER_TABLE1["DSSL"]
    effect = paper_auc_effect("DSTL", "DSSL")

    def from_acc(acc):
        return norm.cdf(math.sqrt(2) * norm.ppf(acc))

    def from_ss(r):
        return norm.cdf((norm.ppf(r["sensitivity"]) + norm.ppf(r["specificity"])) / math.sqrt(2))

    assert effect["from_accuracy"] == pytest.approx(from_acc(0.8629) - from_acc(0.8337))
    assert effect["from_accuracy"] == pytest.approx(0.024, abs=0.001)
    assert effect["from_sens_spec"] == pytest.approx(from_ss(dstl) - from_ss(dssl))
    assert effect["effect"] == effect["from_accuracy"]
    assert paper_auc_effect("DSTL", "Descriptors") is None
    assert paper_auc_effect("Descriptors", "DSSL") is None
