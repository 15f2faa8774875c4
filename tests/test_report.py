"""breastnet.report: every statistic against a value worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from breastnet import report
from breastnet.metrics import expected_calibration_error
from breastnet.variants import TABLE1


def fake_result(family, alpha, fold, repeat=0, accuracy=0.5, n_train=60, n_val=20, n_test=20,
                synthetic=False, **metrics):
    """A minimal result dict with the keys report.py reads."""
    y = [0, 1] * (n_test // 2)
    return {
        "run": {"variant": family if alpha == 0 else f"E-{family}", "family": family, "alpha": alpha,
                "fold": fold, "repeat": repeat, "seed": fold, "profile": "test", "dataset": "toy"},
        "dataset": {"name": "toy", "synthetic": synthetic, "citation": None,
                    "n_train": n_train, "n_val": n_val, "n_test": n_test},
        "weights": "random init",
        "config": {},
        "training": {"epochs_run": 2, "best_epoch": 1, "history": {"loss": [1.0, 0.5], "val_loss": [0.9, 0.8]},
                     "seconds": {"total": 30.0}},
        "metrics": {"sensitivity": 0.5, "specificity": 0.5, **metrics, "accuracy": accuracy},
        "provenance": {"backend": "tensorflow", "versions": {"keras": "3"},
                       "hardware": {"accelerator": "cpu", "cpus": 2, "machine": "x86_64"}},
        "predictions": {"id": [f"i{k}" for k in range(n_test)], "y_true": y, "p_malignant": [0.5] * n_test,
                        "entropy": [math.log(2)] * n_test},
    }


# --------------------------------------------------------------------------- corrected t


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


@pytest.mark.parametrize("values, t, p", [
    ([0.1], math.nan, math.nan),             # one run: no variance
    ([0.0, 0.0, 0.0], math.nan, math.nan),   # no spread, no difference
    ([0.1, 0.1], math.nan, math.nan),        # no spread: no test, whatever the mean
    ([math.nan, 0.02, 0.04, 0.06], None, None),  # NaN dropped: same as the 3 values
])
def test_corrected_t_edge_cases(values, t, p):
    ct = report.corrected_t(values, 0.25)
    if t is None:
        assert ct.n == 3 and ct.t == pytest.approx(math.sqrt(48 / 7))
        return
    assert (math.isnan(ct.t) and math.isnan(t)) or ct.t == t
    assert (math.isnan(ct.p) and math.isnan(p)) or ct.p == p


# --------------------------------------------------------------------------- runs, pairing, Table 1


def toy_runs():
    results = []
    for fold, (dssl, dstl) in enumerate([(0.70, 0.72), (0.80, 0.84), (0.75, 0.81)]):
        results.append(fake_result("DSSL", 0.0, fold, accuracy=dssl))
        results.append(fake_result("DSTL", 0.0, fold, accuracy=dstl))
    results.append(fake_result("DSSL", 0.25, 0, accuracy=0.9))  # E-DSSL, one fold only
    results.append(fake_result("DMTL", 0.0, 0, accuracy=0.8, rmse=0.3, cc=0.7))
    return results


def test_runs_frame_names_table1_rows():
    runs = report.runs_frame(toy_runs())
    assert len(runs) == 8
    assert set(runs["table1"]) == {"DSSL", "DSTL", "E-DSSL", "DMTL"}
    assert math.isnan(runs.loc[runs["family"] == "DSSL", "rmse"].iloc[0])
    assert report.split_ratio(runs) == pytest.approx(20 / 80)  # test / (fitted + early stopping)


def test_paired_differences_match_fold_and_repeat():
    results = toy_runs()
    results.reverse()  # order must not matter
    results.append(fake_result("DSTL", 0.0, 5, accuracy=0.99))  # no DSSL partner: dropped
    pairs = report.paired_differences(report.runs_frame(results), "DSTL", "DSSL")
    assert list(pairs["fold"]) == [0, 1, 2]
    assert pairs["diff"].to_numpy() == pytest.approx([0.02, 0.04, 0.06])


def test_claims_table_uses_the_corrected_test():
    table = report.claims_table(report.runs_frame(toy_runs()))
    shape = table[table["claim"] == "shape"].iloc[0]
    assert shape["n"] == 3 and shape["mean_diff"] == pytest.approx(0.04)
    assert shape["t"] == pytest.approx(math.sqrt(48 / 7))  # the hand-worked case above
    assert shape["paper_diff"] == pytest.approx(0.8629 - 0.8337)
    assert shape["result"].startswith("no significant")
    entropy = table[table["claim"] == "entropy"]
    assert list(entropy["n"]) == [1, 0, 0]


def test_claim_verdicts():
    runs = report.runs_frame(toy_runs())
    verdicts = report.claim_verdicts(report.claims_table(runs), synthetic=False)
    assert verdicts["shape"]["verdict"] == "not supported"
    assert verdicts["birads"]["verdict"] == "not testable here"  # DSTL-DMTL has 1 pair
    assert "J = 3" in verdicts["shape"]["evidence"]
    synthetic = report.claim_verdicts(report.claims_table(runs), synthetic=True)
    assert {v["verdict"] for v in synthetic.values()} == {"not testable here"}
    # A clear, consistent gain is supported.
    strong = [fake_result("DSSL", 0.0, f, accuracy=0.70 + 0.01 * f) for f in range(5)]
    strong += [fake_result("DSTL", 0.0, f, accuracy=0.80 + 0.012 * f) for f in range(5)]
    verdicts = report.claim_verdicts(report.claims_table(report.runs_frame(strong)), synthetic=False)
    assert verdicts["shape"]["verdict"] == "supported"


def test_table1_cells():
    t1 = report.table1(report.runs_frame(toy_runs()))
    assert list(dict.fromkeys(t1["variant"])) == TABLE1
    dssl = t1[(t1["variant"] == "DSSL") & (t1["metric"] == "accuracy")].iloc[0]
    assert dssl["n"] == 3 and dssl["mean"] == pytest.approx(0.75) and dssl["sd"] == pytest.approx(0.05)
    # corrected CI: 0.75 +- t_{0.975,2} * sqrt((1/3 + 1/4) * 0.05^2)
    half = 0.95 / math.sqrt(2 * 0.975 * 0.025) * math.sqrt(7 / 12 * 0.0025)
    assert dssl["ci_low"] == pytest.approx(0.75 - half) and dssl["ci_high"] == pytest.approx(0.75 + half)
    assert dssl["paper"] == 0.8337
    rmse = t1[(t1["variant"] == "DSSL") & (t1["metric"] == "rmse")].iloc[0]
    assert not rmse["applies"] and math.isnan(rmse["paper"])
    dmtl_cc = t1[(t1["variant"] == "DMTL") & (t1["metric"] == "cc")].iloc[0]
    assert dmtl_cc["n"] == 1 and dmtl_cc["mean"] == pytest.approx(0.7) and dmtl_cc["paper"] == 0.7985
    html = report.table1_html(t1)
    assert '<table id="table1"' in html and "0.750 ± 0.050" in html and "paper 0.8337" in html
    assert "not run" in html  # Han2017 and others have no runs here
    assert 'class="na"' in html  # RMSE and CC of single-task rows


def test_paper_table1_is_the_paper():
    assert set(report.PAPER_TABLE1) == set(TABLE1)
    assert report.PAPER_TABLE1["E-DMTL"] == {"accuracy": 0.9032, "sensitivity": 0.9175, "specificity": 0.8881,
                                             "rmse": 0.2668, "cc": 0.8566}


# --------------------------------------------------------------------------- calibration


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
    y = (rng.uniform(size=300) < p ** 2).astype(int)
    assert report.ece_from_bins(report.reliability_bins(y, p)) == pytest.approx(expected_calibration_error(y, p))


def test_calibration_summary():
    results = [fake_result("DSSL", a, f, ece=e) for a, e in ((0.0, 0.2), (0.25, 0.1)) for f in range(2)]
    summary = report.calibration_summary(results, families=("DSSL",))
    assert list(summary["model"]) == ["DSSL", "E-DSSL (α=0.25)"]
    assert summary["ece_mean"].to_numpy() == pytest.approx([0.2, 0.1])
    assert summary["ece_pooled"].to_numpy() == pytest.approx([0.0, 0.0])  # p = 0.5, half malignant
    assert summary["mean_entropy"].to_numpy() == pytest.approx([math.log(2)] * 2)


# --------------------------------------------------------------------------- spectra


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
    spectra = pd.DataFrame({"family": "DSSL", "alpha": 0.0, "model": "DSSL", "fold": [0] * 4 + [1] * 4,
                            "repeat": 0, "index": [1, 2, 3, 4] * 2,
                            "log_eigenvalue": [5.0, 2.0, 1.0, 0.0, 4.0, 2.0, 3.0, 2.0]})
    tails = report.spectrum_tails(spectra, tail_from=3)
    # run 0: mean(1, 0) = 0.5; run 1: mean(3, 2) = 2.5
    assert tails["tail_mean"].iloc[0] == pytest.approx(1.5)
    assert tails["top"].iloc[0] == pytest.approx(4.5)


# --------------------------------------------------------------------------- alpha spectra


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
    flat = report.alpha_curve(report.runs_frame(
        [fake_result("DSSL", a, f, accuracy=0.5) for a in (0.0, 0.25, 2.0) for f in range(2)]), families=("DSSL",))
    assert report.drop_points(flat, chance=0.5).iloc[0][["A", "B"]].isna().all()


def test_table1_clips_intervals_and_marks_no_spread():
    results = [fake_result("DSSL", 0.0, f, accuracy=a, sensitivity=s)
               for f, (a, s) in enumerate([(0.2, 0.5), (0.9, 0.5)])]
    t1 = report.table1(report.runs_frame(results), variants=["DSSL"])
    acc = t1[t1["metric"] == "accuracy"].iloc[0]
    assert acc["ci_low"] == 0.0 and acc["ci_high"] == 1.0  # df = 1: the raw interval is far wider
    sens = t1[t1["metric"] == "sensitivity"].iloc[0]
    assert math.isnan(sens["ci_low"]) and "no spread" in report.format_cell(sens)


def test_html_table():
    html = report.html_table(pd.DataFrame({"a": [0.12345, math.nan], "b": ["x", None]}))
    assert "0.123" in html and html.count("–") == 2 and "dataframe" in html


# --------------------------------------------------------------------------- one variant, provenance


def test_history_and_confusion():
    r = fake_result("DSSL", 0.0, 0, n_test=4)
    r["predictions"]["p_malignant"] = [0.2, 0.7, 0.6, 0.4]  # y = 0, 1, 0, 1
    hist = report.history_frame([r])
    assert len(hist) == 4 and set(hist["series"]) == {"loss", "val_loss"}
    cm = report.confusion([r, r])
    assert cm.loc["benign", "benign"] == 2 and cm.loc["benign", "malignant"] == 2
    assert cm.loc["malignant", "malignant"] == 2 and cm.loc["malignant", "benign"] == 2


def test_learning_check_counts_one_class_runs():
    flat = fake_result("DSTL", 0.0, 0, n_test=4)
    flat["predictions"]["p_malignant"] = [0.52, 0.53, 0.55, 0.51]  # all malignant: one class
    mixed = fake_result("DSTL", 0.0, 1, n_test=4)
    mixed["predictions"]["p_malignant"] = [0.1, 0.9, 0.1, 0.9]  # sd 0.4
    check = report.learning_check([flat, mixed])
    assert check["runs"] == 2 and check["one_class"] == 1
    assert check["median_sd"] == pytest.approx((np.std([0.52, 0.53, 0.55, 0.51]) + 0.4) / 2)
    assert check["text"].startswith("In 1 of 2 runs every test image got the same predicted class")
    assert report.learning_check([mixed])["text"].startswith("Every one of the 1 runs predicted both classes")
    assert check["by_model"] == {("DSTL", 0.0): 0.5}


def test_claims_on_one_class_runs_are_not_testable():
    # The clear gain of test_claim_verdicts, but half of DSTL's runs gave one class to every image.
    strong = [fake_result("DSSL", 0.0, f, accuracy=0.70 + 0.01 * f) for f in range(4)]
    strong += [fake_result("DSTL", 0.0, f, accuracy=0.80 + 0.012 * f) for f in range(4)]
    table = report.claims_table(report.runs_frame(strong))
    assert report.claim_verdicts(table, False, {("DSTL", 0.0): 0.25})["shape"]["verdict"] == "supported"
    verdict = report.claim_verdicts(table, False, {("DSTL", 0.0): 0.5})["shape"]
    assert verdict["verdict"] == "not testable here"
    assert "runs of DSTL gave every test image one class" in verdict["why"]


def test_study_facts_say_synthetic():
    facts = report.study_facts([fake_result("DSSL", 0.0, 0, synthetic=True)])
    assert facts["synthetic"] and "SYNTHETIC" in facts["statement"]
    assert facts["weights"] == "random init" and facts["backend"] == "tensorflow"
    assert facts["train_minutes"] == pytest.approx(0.5)
    assert facts["cpu_threads"] == "backend default"  # a file from before sweep workers
    assert "SYNTHETIC data" in report.facts_html(facts) and 'class="admonition warning"' in report.facts_html(facts)
    assert "SYNTHETIC" in report.data_html(True, "synthetic")
    real = report.study_facts([fake_result("DSSL", 0.0, 0)])
    assert "SYNTHETIC" not in real["statement"]


def test_architecture_figure(tmp_path):
    path = tmp_path / "dsetm.png"
    report.architecture_figure(path)
    assert path.stat().st_size > 10_000


def test_dataset_tables(tiny_dataset):
    records = report.records_frame(tiny_dataset)
    tables = report.dataset_tables(records)
    assert tables["pathology"].loc["all", "images"] == 20
    assert tables["pathology"].loc["benign", "images"] == 10
    assert tables["birads"].loc["all", "all"] == 20
    assert tables["per_patient"]["patients"].mul(tables["per_patient"].index).sum() == 20
    assert "device" not in tables  # the phantoms name no scanner
    records["device"] = ["A", "B"] * 10
    assert report.dataset_tables(records)["device"].loc["all", "all"] == 20


def test_texts():
    points = pd.DataFrame([{"family": "DSSL", "peak_alpha": 0.25, "peak": 0.8, "A": 4.0, "B": None}])
    assert report.drop_text(points) == "E-DSSL: mean accuracy peaks at α = 0.25 (0.800); A at α = 4; no point B."
    tails = pd.DataFrame({"family": ["DSSL", "DSSL"], "alpha": [0.0, 0.25], "tail_mean": [1.0, 0.5]})
    assert report.tail_text(tails).startswith("The tail is higher (fatter) at α = 0 than at α = 0.25 for 1 of 1")
    cal = pd.DataFrame({"family": ["DSTL", "DSTL"], "alpha": [0.0, 0.25], "ece_pooled": [0.2, 0.1]})
    assert report.calibration_text(cal).endswith("lowered the ECE for 1 of 1 families.")
    assert "<table" in report.profiles_html()


def test_spectra_frame_reads_features_of_written_results(tmp_path):
    from breastnet.results import load_results, write_result

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
