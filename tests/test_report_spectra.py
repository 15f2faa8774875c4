"""breastnet.report.spectra: the alpha spectra (points A and B) and the feature spectra (Fig. 2c)."""

import math

import numpy as np
import pandas as pd
import pytest
from report_fakes import descriptors_result, fake_result

from breastnet import report


def test_covariance_eigenvalues_by_hand():
    # Centred already; covariance = X^T X / 3 = diag(2, 8) / 3.
    x = np.array([[1, 0], [-1, 0], [0, 2], [0, -2]], dtype=float)
    assert report.covariance_eigenvalues(x) == pytest.approx([8 / 3, 2 / 3])
    assert report.log_spectrum(x) == pytest.approx([math.log(8 / 3), math.log(2 / 3)])
    assert report.covariance_eigenvalues(x + 5.0) == pytest.approx([8 / 3, 2 / 3])  # centring


def test_wide_features_use_the_gram_matrix():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 40)) * np.linspace(3, 0.1, 40)
    full = np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False)))[::-1]
    got = report.covariance_eigenvalues(x)
    assert len(got) == 6
    assert got == pytest.approx(full[:6], abs=1e-9)
    assert len(report.log_spectrum(x)) == 5  # rank n - 1 after centring


def test_spectrum_tails():
    spectra = pd.DataFrame(
        {
            "family": "DSSL",
            "alpha": 0.0,
            "model": "DSSL",
            "fold": [0] * 4 + [1] * 4,
            "repeat": 0,
            "index": [1, 2, 3, 4] * 2,
            "log_eigenvalue": [5.0, 2.0, 1.0, 0.0, 4.0, 2.0, 3.0, 2.0],
        }
    )
    tails = report.spectrum_tails(spectra, tail_from=3)
    # run 0: mean(1, 0) = 0.5; run 1: mean(3, 2) = 2.5
    assert tails["tail_mean"].iloc[0] == pytest.approx(1.5)
    assert tails["top"].iloc[0] == pytest.approx(4.5)


def test_error_bars_stop_at_the_metric_range():
    bars = report.clipped_error_bars([0.9, 0.5, 0.1], [0.3, 0.2, np.nan], "sensitivity")
    np.testing.assert_allclose(bars, [[0.3, 0.2, 0.0], [0.1, 0.2, 0.0]])
    np.testing.assert_allclose(report.clipped_error_bars([0.1], [0.5], "rmse"), [[0.1], [0.5]])
    np.testing.assert_allclose(report.clipped_error_bars([-0.8], [0.5], "cc"), [[0.2], [0.5]])


def test_alpha_curve_and_drop_points():
    results = []
    for alpha, acc in ((0.0, 0.80), (0.25, 0.84), (1.0, 0.83), (4.0, 0.70), (16.0, 0.51)):
        results += [fake_result("DMTL", alpha, f, accuracy=acc + 0.01 * (f - 1), rmse=0.3, cc=0.8) for f in range(3)]
    curve = report.alpha_curve(report.runs_frame(results), families=("DMTL",))
    acc = curve[curve["metric"] == "accuracy"].sort_values("alpha")
    assert acc["mean"].to_numpy() == pytest.approx([0.80, 0.84, 0.83, 0.70, 0.51])
    points = report.drop_points(curve, chance=report.chance_level(results))
    assert report.chance_level(results) == pytest.approx(0.5)
    row = points.iloc[0]
    assert row["peak_alpha"] == 0.25 and row["A"] == 4.0 and row["B"] == 16.0
    # A curve at chance everywhere has no point to fall from.
    flat = report.alpha_curve(
        report.runs_frame([fake_result("DSSL", a, f, accuracy=0.5) for a in (0.0, 0.25, 2.0) for f in range(2)]),
        families=("DSSL",),
    )
    assert report.drop_points(flat, chance=0.5).iloc[0][["A", "B"]].isna().all()


def test_spectra_frame_reads_features_of_written_results(tmp_path):
    from breastnet.study.results import load_results, write_result

    rng = np.random.default_rng(0)
    for fold in range(2):
        r = fake_result("DSSL", 0.0, fold, n_test=6)
        write_result(tmp_path / f"DSSL_a0_r0_f{fold}.json", r, rng.normal(size=(6, 10)))
    by_sweep = [dict(r) for r in load_results(tmp_path)]
    for r in by_sweep:
        r.pop("path")  # what run_sweep returns: no path
    frame = report.spectra_frame(by_sweep, families=("DSSL",), alphas=(0.0,), folder=tmp_path)
    assert len(frame) == 2 * 5  # 6 images: rank 5 after centring
    assert frame.equals(report.spectra_frame(load_results(tmp_path), families=("DSSL",), alphas=(0.0,)))
    with pytest.raises(ValueError, match="study folder"):
        report.spectra_frame(by_sweep, families=("DSSL",), alphas=(0.0,))


def test_spectra_skip_the_descriptor_floor(tmp_path):
    from breastnet.study.results import load_results, write_result

    rng = np.random.default_rng(1)
    write_result(tmp_path / "DSSL_a0_r0_f0.json", fake_result("DSSL", 0.0, 0, n_test=6), rng.normal(size=(6, 10)))
    floor = descriptors_result(0, auc=0.7, n_test=6)
    write_result(tmp_path / "Descriptors_a0_r0_f0.json", floor, rng.normal(size=(6, 11)))
    results = load_results(tmp_path)
    assert len(results) == 2
    frame = report.spectra_frame(results, families=("DSSL", "Descriptors"), alphas=(0.0,))
    assert set(frame["family"]) == {"DSSL"} and len(frame) == 5
    tails = report.spectrum_tails(frame, tail_from=3)
    assert list(tails["model"]) == ["DSSL"]


def test_alpha_curve_and_calibration_with_the_floor():
    results = [fake_result("DSSL", a, f, ece=0.1, auc=0.7) for a in (0.0, 0.25) for f in range(2)]
    results += [descriptors_result(f, auc=0.8, ece=0.3) for f in range(2)]
    curve = report.alpha_curve(report.runs_frame(results), families=("DSSL", "Descriptors"))
    assert set(curve["family"]) == {"DSSL"} and "auc" in set(curve["metric"])
    summary = report.calibration_summary(results, families=("DSSL", "Descriptors"))
    assert list(summary["model"]) == ["DSSL", "E-DSSL (α=0.25)", "Descriptors (floor)"]
    assert summary["ece_mean"].to_numpy() == pytest.approx([0.1, 0.1, 0.3])
    assert list(summary["runs"]) == [2, 2, 2]
    # The floor has alpha 0 only: no α = 0 / 0.25 pair, the text is about the families.
    assert report.calibration_text(summary).endswith("for 0 of 1 families.")
    assert len(report.calibration_summary(results, families=("DSSL",), reference=())) == 2


def test_beats_alpha0():
    curve = pd.DataFrame(
        {
            "family": ["DSSL"] * 3 + ["DMTL"] * 2,
            "alpha": [0.0, 0.1, 0.25, 0.1, 0.25],
            "metric": "accuracy",
            "mean": [0.70, 0.72, 0.69, 0.8, 0.9],
        }
    )
    # DSSL: 0.72 > 0.70 yes, 0.69 no; DMTL has no alpha-0 mean: not better.
    assert report.beats_alpha0(curve, (0.0, 0.1, 0.25)) == (1, 4)
    assert report.beats_alpha0(curve, (0.0, 0.1)) == (1, 2)
    assert report.beats_alpha0(curve, (0.0,)) == (0, 0)
