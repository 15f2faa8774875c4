"""breastnet.report.stats: the corrected resampled t against values worked out by hand."""

import math

import numpy as np
import pytest
from scipy import stats

from breastnet import report


def test_corrected_t_by_hand():
    # d = 0.02, 0.04, 0.06: mean 0.04, s^2 = (0.02^2 + 0 + 0.02^2) / 2 = 0.0004, J = 3.
    # n_test / n_train = 1/4: se^2 = (1/3 + 1/4) * 0.0004 = 0.0004 * 7/12; t^2 = 0.0016 / se^2 = 48/7.
    # With 2 df the t distribution has closed forms: P(|T| > t) = 1 - t / sqrt(t^2 + 2) = 1 - sqrt(24/31),
    # and its 97.5 % quantile is (2a - 1) / sqrt(2a(1 - a)) with a = 0.975.
    ct = report.corrected_t([0.02, 0.04, 0.06], ratio=0.25)
    se = math.sqrt(0.0004 * 7 / 12)
    q = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    assert ct.n == 3 and ct.df == 2
    assert ct.mean == pytest.approx(0.04)
    assert ct.sd == pytest.approx(0.02)
    assert ct.se == pytest.approx(se)
    assert ct.t == pytest.approx(math.sqrt(48 / 7))
    assert ct.p == pytest.approx(1 - math.sqrt(24 / 31))
    assert ct.ci_low == pytest.approx(0.04 - q * se)
    assert ct.ci_high == pytest.approx(0.04 + q * se)


def test_corrected_t_without_correction_is_the_paired_t_test():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.8, 0.05, 7), rng.normal(0.78, 0.05, 7)
    ct = report.corrected_t(a - b, ratio=0.0)
    ref = stats.ttest_rel(a, b)
    assert ct.t == pytest.approx(ref.statistic)
    assert ct.p == pytest.approx(ref.pvalue)


def test_correction_widens_the_interval():
    d = [0.01, 0.03, 0.05, 0.02]
    plain, corrected = report.corrected_t(d, 0.0), report.corrected_t(d, 0.25)
    assert corrected.ci_high - corrected.ci_low > plain.ci_high - plain.ci_low
    assert abs(corrected.t) < abs(plain.t) and corrected.p > plain.p


@pytest.mark.parametrize(
    "values, t, p",
    [
        ([0.1], math.nan, math.nan),  # one run: no variance
        ([0.0, 0.0, 0.0], math.nan, math.nan),  # no spread, no difference
        ([0.1, 0.1], math.nan, math.nan),  # no spread: no test, whatever the mean
        ([math.nan, 0.02, 0.04, 0.06], None, None),  # NaN dropped: same as the 3 values
    ],
)
def test_corrected_t_edge_cases(values, t, p):
    ct = report.corrected_t(values, 0.25)
    if t is None:
        assert ct.n == 3 and ct.t == pytest.approx(math.sqrt(48 / 7))
        return
    assert (math.isnan(ct.t) and math.isnan(t)) or ct.t == t
    assert (math.isnan(ct.p) and math.isnan(p)) or ct.p == p
