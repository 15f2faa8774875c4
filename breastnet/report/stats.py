"""The corrected resampled t of Nadeau & Bengio (2003, Machine Learning 52:239-281).

Cross-validation runs share training data, so their scores are not independent and the
plain t interval is too narrow. Every interval and test of the book is this one: over J
runs with scores (or paired differences) d_j, mean m and sample variance s^2,

    t = m / sqrt((1/J + n_test/n_train) * s^2),   J - 1 degrees of freedom,

where n_test / n_train is the ratio of test to training images of a run (training = every
image outside the test fold: the fitted part plus the early-stopping part; see
`runs.split_ratio`). With the ratio set to 0 it is the ordinary paired t-test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class CorrectedT:
    """Result of the corrected resampled t (Nadeau & Bengio 2003).

    Attributes:
        n: J, number of runs (or paired differences).
        mean, sd: mean and sample standard deviation (ddof 1) of the values.
        ratio: n_test / n_train used in the correction.
        se: corrected standard error sqrt((1/J + ratio) * sd^2).
        t, df, p: statistic against 0, J - 1 degrees of freedom, two-sided p-value.
        ci_low, ci_high: the `level` confidence interval of the mean.
        level: confidence level.
    """

    n: int
    mean: float
    sd: float
    ratio: float
    se: float
    t: float
    df: int
    p: float
    ci_low: float
    ci_high: float
    level: float


def corrected_t(values, ratio: float, level: float = 0.95) -> CorrectedT:
    """Corrected resampled t of Nadeau & Bengio (2003) for the mean of `values`.

    Args:
        values: per-run scores, or paired per-run differences (NaN dropped).
        ratio: n_test / n_train of a run; 0 gives the uncorrected t.
        level: confidence level of the interval.

    With fewer than two values, or the same value in every run (no spread: accuracies
    of small test folds are coarse, so this happens), t, p and the interval are NaN:
    zero sample variance over a few runs is no evidence of zero variance.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    nan = math.nan
    if n == 0:
        return CorrectedT(0, nan, nan, ratio, nan, nan, 0, nan, nan, nan, level)
    mean = float(x.mean())
    if n < 2:
        return CorrectedT(1, mean, nan, ratio, nan, nan, 0, nan, nan, nan, level)
    sd = float(x.std(ddof=1))
    se = math.sqrt((1.0 / n + ratio) * sd**2)
    df = n - 1
    if se == 0:  # the same value in every run: the t statistic is 0/0 or x/0, no test
        return CorrectedT(n, mean, sd, ratio, se, nan, df, nan, nan, nan, level)
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), df))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return CorrectedT(n, mean, sd, ratio, se, t, df, p, mean - half, mean + half, level)
