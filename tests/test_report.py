"""breastnet.report: every statistic against a value worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from breastnet import report
from breastnet.train.metrics import expected_calibration_error
from breastnet.model.variants import STUDY_ROWS, TABLE1

#: The config fields of a current network run (breastnet.train.trainer).
NET_CONFIG = {"optimizer": "SGD(lr=0.001, momentum=0.9, InverseTimeDecay(decay_steps=1, rate=1e-06))",
              "bn_stats": "precise", "bn_momentum": 0.99, "crop": "pad",
              "early_stopping": {"monitor": "val_ce", "patience": 2, "min_epochs": 1},
              "profile": {"learning_rate": 0.001}}


def fake_result(family, alpha, fold, repeat=0, accuracy=0.5, n_train=60, n_val=20, n_test=20,
                synthetic=False, config=None, **metrics):
    """A minimal result dict with the keys report.py reads (metrics: auc=..., balanced_accuracy=..., ...)."""
    y = [0, 1] * (n_test // 2)
    return {
        "run": {"variant": family if alpha == 0 else f"E-{family}", "family": family, "alpha": alpha,
                "fold": fold, "repeat": repeat, "seed": fold, "profile": "test", "dataset": "toy"},
        "dataset": {"name": "toy", "synthetic": synthetic, "citation": None,
                    "n_train": n_train, "n_val": n_val, "n_test": n_test},
        "weights": "random init",
        "config": {} if config is None else config,
        "training": {"epochs_run": 2, "best_epoch": 1, "history": {"loss": [1.0, 0.5], "val_loss": [0.9, 0.8]},
                     "seconds": {"total": 30.0}},
        "metrics": {"sensitivity": 0.5, "specificity": 0.5, **metrics, "accuracy": accuracy},
        "provenance": {"backend": "tensorflow", "versions": {"keras": "3"},
                       "hardware": {"accelerator": "cpu", "cpus": 2, "machine": "x86_64"}},
        "predictions": {"id": [f"i{k}" for k in range(n_test)], "y_true": y, "p_malignant": [0.5] * n_test,
                        "entropy": [math.log(2)] * n_test},
    }


def descriptors_result(fold, auc, accuracy=0.6, repeat=0, n_test=20, **metrics):
    """A result of the descriptor floor, shaped as breastnet writes it (no history, no alpha)."""
    r = fake_result("Descriptors", 0.0, fold, repeat, accuracy=accuracy, n_test=n_test, auc=auc, **metrics)
    r["run"]["variant"] = "Descriptors"
    r["weights"] = "none (hand-crafted descriptors)"
    r["training"] = {"epochs_run": None, "best_epoch": None, "history": {}, "seconds": {"total": 1.0}}
    return r


def curve_run():
    """The learning-curve run of a study: DSTL fold 0 with AUC per epoch, moving and precise."""
    r = fake_result("DSTL", 0.0, 0, config=NET_CONFIG, auc=0.8)
    r["training"] = {"epochs_run": 3, "best_epoch": 2, "learning_curve": True, "seconds": {"total": 30.0},
                     "history": {"loss": [0.7, 0.6, 0.5], "val_ce": [0.69, 0.6, 0.65], "val_auc": [0.6, 0.75, 0.7],
                                 "val_loss": [0.69, 0.6, 0.65],
                                 "val_auc_moving": [0.5, 0.55, None], "val_auc_precise": [0.6, 0.75, 0.7],
                                 "test_auc_moving": [0.5, 0.52, 0.58], "test_auc_precise": [0.62, 0.8, 0.78]}}
    return r


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
    # AUC differences DSTL - DSSL are 0.02, 0.04, 0.06 like the accuracy ones (the hand-worked t above);
    # the accuracy means differ from the AUC means.
    results = []
    for fold, (dssl, dstl) in enumerate([(0.70, 0.72), (0.80, 0.84), (0.75, 0.81)]):
        results.append(fake_result("DSSL", 0.0, fold, accuracy=dssl, auc=dssl + 0.1))
        results.append(fake_result("DSTL", 0.0, fold, accuracy=dstl, auc=dstl + 0.1))
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
    assert list(dict.fromkeys(table["claim"])) == ["shape", "birads", "entropy", "floor"]
    shape = table[table["claim"] == "shape"]
    assert list(shape["metric"]) == ["auc", "accuracy"] and list(shape["primary"]) == [True, False]
    auc, acc = shape.iloc[0], shape.iloc[1]
    for row in (auc, acc):
        assert row["n"] == 3 and row["mean_diff"] == pytest.approx(0.04)
        assert row["t"] == pytest.approx(math.sqrt(48 / 7))  # the hand-worked case above
        assert row["result"].startswith("no significant")
    assert pd.isna(auc["paper_diff"])  # the paper has no AUC
    assert acc["paper_diff"] == pytest.approx(0.8629 - 0.8337)
    entropy = table[(table["claim"] == "entropy") & (table["metric"] == "accuracy")]
    assert list(entropy["n"]) == [1, 0, 0]
    entropy_auc = table[(table["claim"] == "entropy") & table["primary"]]
    assert list(entropy_auc["n"]) == [0, 0, 0]  # E-DSSL has no AUC in the toy runs
    floor = table[table["claim"] == "floor"]
    assert list(dict.fromkeys(floor["comparison"])) == [f"{v} − Descriptors" for v in ("DSTL", "E-DSTL", "DMTL",
                                                                                        "E-DMTL")]
    assert floor["paper_diff"].isna().all()


def test_claim_verdicts():
    runs = report.runs_frame(toy_runs())
    verdicts = report.claim_verdicts(report.claims_table(runs), synthetic=False)
    shape = verdicts["shape"]
    assert shape["verdict"] == "not supported" and shape["metric"] == "auc"
    assert shape["why"] == "the paired AUC difference has a 95 % interval reaching 0 or below"
    assert verdicts["birads"]["verdict"] == "not testable here"  # DSTL-DMTL has 1 pair
    assert verdicts["floor"]["verdict"] == "not testable here" and not verdicts["floor"]["in_paper"]
    assert "J = 3" in shape["evidence"] and "AUC" in shape["effect"] and "accuracy" in shape["secondary"]
    assert shape["effect"].startswith("DSTL − DSSL: +0.040 AUC (95 % CI")
    assert "paper +0.0292" in shape["secondary"]
    (only,) = shape["comparisons"]
    assert only["effect"] == pytest.approx(0.04) and only["n"] == 3
    q = 0.95 / math.sqrt(2 * 0.975 * 0.025)  # t_{0.975, 2}
    assert only["ci_low"] == pytest.approx(0.04 - q * math.sqrt(0.0004 * 7 / 12))
    assert only["p"] == pytest.approx(1 - math.sqrt(24 / 31))
    synthetic = report.claim_verdicts(report.claims_table(runs), synthetic=True)
    assert {v["verdict"] for v in synthetic.values()} == {"not testable here"}
    # A clear, consistent gain in AUC is supported, whatever the accuracy does.
    strong = [fake_result("DSSL", 0.0, f, accuracy=0.5, auc=0.70 + 0.01 * f) for f in range(5)]
    strong += [fake_result("DSTL", 0.0, f, accuracy=0.5, auc=0.80 + 0.012 * f) for f in range(5)]
    verdicts = report.claim_verdicts(report.claims_table(report.runs_frame(strong)), synthetic=False)
    assert verdicts["shape"]["verdict"] == "supported"
    assert "the same difference in every run" in verdicts["shape"]["secondary"] or \
        "no spread" in verdicts["shape"]["secondary"]


def test_fourth_claim_networks_against_descriptors():
    # E-DMTL AUC 0.80, 0.78, 0.86 against the floor's 0.70, 0.74, 0.72 on the same folds:
    # d = 0.10, 0.04, 0.14, mean 0.28 / 3; deviations +0.02/3, -0.16/3, +0.14/3,
    # s^2 = (0.0004 + 0.0256 + 0.0196) / 9 / 2 = 0.0456 / 18; n_test / n_train = 20 / 80.
    results = []
    for fold, (net, floor, net_acc, floor_acc) in enumerate([(0.80, 0.70, 0.7, 0.6), (0.78, 0.74, 0.7, 0.7),
                                                            (0.86, 0.72, 0.8, 0.6)]):
        results.append(fake_result("DMTL", 0.25, fold, accuracy=net_acc, auc=net, rmse=0.3, cc=0.7))
        results.append(descriptors_result(fold, auc=floor, accuracy=floor_acc))
    table = report.claims_table(report.runs_frame(results))
    row = table[(table["claim"] == "floor") & (table["better"] == "E-DMTL") & table["primary"]].iloc[0]
    mean, var = 0.28 / 3, 0.0456 / 18
    se = math.sqrt((1 / 3 + 1 / 4) * var)
    assert row["n"] == 3 and row["mean_diff"] == pytest.approx(mean)
    assert row["sd"] == pytest.approx(math.sqrt(var))
    assert row["t"] == pytest.approx(mean / se)
    assert row["p"] == pytest.approx(2 * stats.t.sf(mean / se, 2))
    q = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    assert row["ci_low"] == pytest.approx(mean - q * se) and row["ci_high"] == pytest.approx(mean + q * se)
    acc = table[(table["claim"] == "floor") & (table["better"] == "E-DMTL") & ~table["primary"]].iloc[0]
    assert acc["mean_diff"] == pytest.approx((0.1 + 0.0 + 0.2) / 3)
    verdict = report.claim_verdicts(table, synthetic=False)["floor"]
    assert verdict["verdict"] == "not testable here"  # DSTL, E-DSTL and DMTL were not run
    assert "E-DMTL − Descriptors: +0.093 AUC" in verdict["effect"]
    # Every two-stream network clearly above the floor: supported.
    strong = []
    for fold in range(5):
        strong.append(descriptors_result(fold, auc=0.70 + 0.01 * fold))
        for k, (fam, alpha) in enumerate([("DSTL", 0.0), ("DSTL", 0.25), ("DMTL", 0.0), ("DMTL", 0.25)]):
            strong.append(fake_result(fam, alpha, fold, auc=0.85 + 0.011 * fold + 0.01 * k))
    verdicts = report.claim_verdicts(report.claims_table(report.runs_frame(strong)), synthetic=False)
    assert verdicts["floor"]["verdict"] == "supported"
    assert len(verdicts["floor"]["comparisons"]) == 4


def test_table1_cells():
    t1 = report.table1(report.runs_frame(toy_runs()))
    assert list(dict.fromkeys(t1["variant"])) == STUDY_ROWS == TABLE1 + ["Descriptors"]
    assert list(dict.fromkeys(t1["metric"])) == ["accuracy", "sensitivity", "specificity", "rmse", "cc", "auc",
                                                 "balanced_accuracy"]
    dssl_auc = t1[(t1["variant"] == "DSSL") & (t1["metric"] == "auc")].iloc[0]
    assert dssl_auc["mean"] == pytest.approx(0.85) and math.isnan(dssl_auc["paper"]) and not dssl_auc["in_paper"]
    assert dssl_auc["applies"]
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
    assert "Added here (not in the paper)" in html and ">AUC</th>" in html and ">Balanced accuracy</th>" in html
    assert '<td class="ours" data-metric="auc"><span class="mean">0.850 ± 0.050</span>' in html
    assert "paper —" in html  # the paper's rows have no AUC
    assert html.index('data-variant="E-DMTL"') < html.index('data-variant="Descriptors" class="reference"')


def test_table1_floor_row():
    results = [descriptors_result(f, auc=a, balanced_accuracy=b) for f, (a, b) in
               enumerate([(0.70, 0.60), (0.80, 0.70), (0.75, 0.65)])]
    t1 = report.table1(report.runs_frame(results), variants=["Descriptors", "DSSL"])
    assert list(dict.fromkeys(t1["variant"])) == ["DSSL", "Descriptors"]  # paper rows first
    floor = t1[t1["variant"] == "Descriptors"].set_index("metric")
    assert floor["reference"].all() and not floor["in_paper"].any()
    assert floor.loc["auc", "mean"] == pytest.approx(0.75) and floor.loc["auc", "sd"] == pytest.approx(0.05)
    assert floor.loc["balanced_accuracy", "mean"] == pytest.approx(0.65)
    assert not floor.loc["rmse", "applies"]
    assert floor.loc["accuracy", "label"] == "Hand-crafted descriptors + logistic regression (floor)"
    html = report.table1_html(t1)
    row = html[html.index('data-variant="Descriptors"'):]
    assert "reference row of ours, not in the paper" in row and "3 runs" in row
    assert "paper" not in row.replace("not in the paper", "")  # no paper value, not even "—"


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
    current = report.history_frame([curve_run(), descriptors_result(0, auc=0.7)])  # the floor has no history
    assert {"loss", "val_ce", "val_auc", "val_loss"} <= set(current["series"])
    missing = current[(current["series"] == "val_auc_moving") & (current["epoch"] == 3)]["value"]
    assert math.isnan(missing.iloc[0])  # null in the JSON
    cm = report.confusion([r, r])
    assert cm.loc["benign", "benign"] == 2 and cm.loc["benign", "malignant"] == 2
    assert cm.loc["malignant", "malignant"] == 2 and cm.loc["malignant", "benign"] == 2


def test_learning_check_counts_one_class_runs():
    flat = fake_result("DSTL", 0.0, 0, n_test=4)
    flat["predictions"]["p_malignant"] = [0.52, 0.53, 0.55, 0.51]  # all malignant: one class
    mixed = fake_result("DSTL", 0.0, 1, n_test=4)
    mixed["predictions"]["p_malignant"] = [0.1, 0.9, 0.1, 0.9]  # sd 0.4
    big_alpha = fake_result("DSTL", 4.0, 0, n_test=4)
    big_alpha["predictions"]["p_malignant"] = [0.5] * 4  # one class, one probability
    floor = descriptors_result(0, auc=0.7, n_test=4)
    floor["predictions"]["p_malignant"] = [0.6] * 4  # not a network: not counted in the totals
    check = report.learning_check([flat, mixed, big_alpha, floor])
    assert check["runs"] == 3 and check["one_class"] == 2 and check["constant"] == 1
    assert check["runs_small_alpha"] == 2 and check["one_class_small_alpha"] == 1  # alpha <= 1
    assert check["median_sd"] == pytest.approx(np.std([0.52, 0.53, 0.55, 0.51]))  # median of (0.0154, 0.4, 0)
    assert check["text"].startswith("In 2 of 3 network runs every test image got the same predicted class "
                                    "(1 of 2 runs with α ≤ 1)")
    assert "1 of 3 runs gave every test image the same probability" in check["text"]
    assert report.learning_check([mixed])["text"].startswith("Every one of the 1 network runs predicted both")
    assert check["by_model"] == {("DSTL", 0.0): 0.5, ("DSTL", 4.0): 1.0, ("Descriptors", 0.0): 1.0}
    assert check["by_model_constant"] == {("DSTL", 0.0): 0.0, ("DSTL", 4.0): 1.0, ("Descriptors", 0.0): 1.0}


def test_learning_summary():
    results = [fake_result("DSTL", 0.0, f, auc=a) for f, a in enumerate([0.6, 0.7])]
    results += [fake_result("DMTL", 0.25, f, auc=a) for f, a in enumerate([0.8, math.nan])]
    results += [fake_result("DSSL", 0.0, 0, auc=0.1)]  # single stream: not pooled
    results += [descriptors_result(f, auc=a) for f, a in enumerate([0.75, 0.85])]
    summary = report.learning_summary(report.runs_frame(results))
    assert summary["networks_auc"] == pytest.approx(0.7) and summary["networks_runs"] == 3
    assert summary["by_row"]["DSTL"] == pytest.approx(0.65) and math.isnan(summary["by_row"]["E-DSTL"])
    assert summary["floor_auc"] == pytest.approx(0.8) and summary["floor_runs"] == 2
    assert summary["networks_text"].startswith("The two-stream networks (DSTL, E-DSTL, DMTL, E-DMTL) reach a mean "
                                               "test AUC of 0.700 over their 3 runs (DSTL 0.650; E-DMTL 0.800).")
    assert "0.800 over 2 runs" in summary["floor_text"]
    empty = report.learning_summary(report.runs_frame([]))
    assert "No run" in empty["networks_text"] and "no run" in empty["floor_text"]


def test_claims_on_one_class_runs_are_not_testable():
    # A clear gain, but half of DSTL's runs gave one class to every image.
    strong = [fake_result("DSSL", 0.0, f, accuracy=0.70 + 0.01 * f, auc=0.70 + 0.01 * f) for f in range(4)]
    strong += [fake_result("DSTL", 0.0, f, accuracy=0.80 + 0.012 * f, auc=0.80 + 0.012 * f) for f in range(4)]
    runs = report.runs_frame(strong)
    # On accuracy (a threshold metric) one-class runs make the claim untestable.
    by_accuracy = report.claims_table(runs, metrics=("accuracy",))
    assert report.claim_verdicts(by_accuracy, False, {("DSTL", 0.0): 0.25})["shape"]["verdict"] == "supported"
    verdict = report.claim_verdicts(by_accuracy, False, {("DSTL", 0.0): 0.5})["shape"]
    assert verdict["verdict"] == "not testable here"
    assert "runs of DSTL gave every test image one class" in verdict["why"]
    # On AUC a one-class run can still rank: the verdict stands, the accuracy beside it is flagged.
    table = report.claims_table(runs)
    verdict = report.claim_verdicts(table, False, {("DSTL", 0.0): 0.5})["shape"]
    assert verdict["verdict"] == "supported"
    assert "accuracy there is a class share" in verdict["secondary"]
    # Runs with one probability for every image rank nothing: not testable on AUC either.
    verdict = report.claim_verdicts(table, False, {("DSTL", 0.0): 0.5}, {("DSSL", 0.0): 0.75})["shape"]
    assert verdict["verdict"] == "not testable here" and "DSSL" in verdict["why"] and "no ranking" in verdict["why"]


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
    assert real["bn_stats"] == real["crop"] == real["learning_rate"] == "not recorded"  # an older file


def test_study_facts_state_the_training_choices():
    old_style = dict(NET_CONFIG, profile={})  # learning rate read from the optimizer's description
    facts = report.study_facts([fake_result("DSTL", 0.0, 0, config=NET_CONFIG),
                                fake_result("DSTL", 0.0, 1, config=old_style), descriptors_result(0, auc=0.7)])
    assert facts["bn_stats"] == "precise" and facts["bn_momentum"] == "0.99" and facts["crop"] == "pad"
    assert facts["learning_rate"] == "0.001"
    assert facts["monitor"] == "val_ce" and facts["min_epochs"] == "1"
    assert facts["early_stopping"] == "val_ce, patience 2, min epochs 1"
    assert facts["weights"] == "random init"  # the networks'; the floor has none
    assert report.study_facts([descriptors_result(0, auc=0.7)])["weights"] == "none (hand-crafted descriptors)"
    html = report.facts_html(facts)
    assert "precise (re-estimated on each run&#x27;s training images)" in html
    assert "<strong>Initial learning rate:</strong> 0.001" in html
    assert "<strong>Early stopping:</strong> val_ce, patience 2, min epochs 1" in html


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


# --------------------------------------------------------------------------- the learning curve


def test_learning_curve_frame():
    others = [fake_result("DSTL", 0.0, 1, config=NET_CONFIG), descriptors_result(0, auc=0.7)]
    frame = report.learning_curve_frame(others + [curve_run()])
    assert len(frame) == 4 * 3  # (validation, test) x (moving, precise) x 3 epochs
    assert set(frame["split"]) == {"validation", "test"} and set(frame["statistics"]) == {"moving", "precise"}
    row = frame.iloc[0]
    assert (row["variant"], row["fold"], row["repeat"], row["best_epoch"]) == ("DSTL", 0, 0, 2)
    assert row["bn_stats"] == "precise" and row["monitor"] == "val_ce" and row["final_auc"] == 0.8
    at = frame.set_index(["epoch", "split", "statistics"])["auc"]
    assert at[(3, "test", "precise")] == 0.78 and at[(3, "test", "moving")] == 0.58
    assert at[(2, "validation", "precise")] == 0.75 and math.isnan(at[(3, "validation", "moving")])
    text = report.learning_curve_text(frame)
    assert text == ("DSTL, repeat 0, fold 0: 3 epochs trained. At the last epoch the test AUC is 0.780 with "
                    "precise BatchNorm statistics and 0.580 with the moving averages (validation: 0.700 and –). "
                    "Early stopping on val_ce restored epoch 2, whose test AUC is 0.800 with the precise statistics "
                    "the run is evaluated with (the run's reported test AUC: 0.800).")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    report.plot_learning_curve(frame, ax)
    assert len(ax.get_lines()) == 4 + 2  # four curves, chance and the restored epoch
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"test, precise statistics",
                                                                   "validation, moving statistics"}


def test_no_learning_curve():
    frame = report.learning_curve_frame([fake_result("DSTL", 0.0, 0), descriptors_result(0, auc=0.7)])
    assert frame.empty and list(frame.columns) == report.CURVE_COLUMNS
    assert report.learning_curve_text(frame).startswith("No run of this study recorded a learning curve")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    report.plot_learning_curve(frame, fig.add_subplot())  # draws chance only, does not fail
