"""breastnet.report.calibration: reliability bins and ECE against values worked out by hand."""

import math

import numpy as np
import pytest
from report_fakes import fake_result

from breastnet import report
from breastnet.train.metrics import expected_calibration_error


def test_reliability_bins_by_hand():
    y, p = [0, 1, 1, 1], [0.12, 0.18, 0.82, 0.88]
    bins = report.reliability_bins(y, p)
    used = bins[bins["count"] > 0]
    assert list(used["bin"]) == [1, 8]
    assert used["mean_predicted"].to_numpy() == pytest.approx([0.15, 0.85])
    assert used["observed"].to_numpy() == pytest.approx([0.5, 1.0])
    # ECE = 2/4 * |0.5 - 0.15| + 2/4 * |1 - 0.85| = 0.25
    assert report.ece_from_bins(bins) == pytest.approx(0.25)
    assert expected_calibration_error(y, p) == pytest.approx(0.25)


def test_reliability_bins_agree_with_metrics_ece():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=300)
    y = (rng.uniform(size=300) < p**2).astype(int)
    bins = report.reliability_bins(y, p)
    # One computation: the diagram's bins are the metric's, so the ECE in its legend is the table's to the bit.
    assert report.ece_from_bins(bins) == expected_calibration_error(y, p)
    assert bins["count"].sum() == 300 and list(bins["bin"]) == list(range(10))
    assert bins["lower"].to_numpy() == pytest.approx(np.linspace(0, 0.9, 10))


def test_calibration_summary():
    results = [fake_result("DSSL", a, f, ece=e) for a, e in ((0.0, 0.2), (0.25, 0.1)) for f in range(2)]
    summary = report.calibration_summary(results, families=("DSSL",))
    assert list(summary["model"]) == ["DSSL", "E-DSSL (α=0.25)"]
    assert summary["ece_mean"].to_numpy() == pytest.approx([0.2, 0.1])
    assert summary["ece_pooled"].to_numpy() == pytest.approx([0.0, 0.0])  # p = 0.5, half malignant
    assert summary["mean_entropy"].to_numpy() == pytest.approx([math.log(2)] * 2)
