"""External validation of a study: final models and the floor on another dataset, read again on the next build."""

import pandas as pd
import pytest

import breastnet.deploy.evaluate as external_module
from breastnet import report
from breastnet.data.synthetic import SHIFTED, synthetic_dataset
from breastnet.deploy.evaluate import EXTERNAL_ROWS, run_external
from breastnet.study.results import load_results
from breastnet.train.profiles import get_profile


def test_the_rows_are_the_two_stream_networks_and_the_floor():
    assert EXTERNAL_ROWS == ("DSTL", "E-DSTL", "DMTL", "E-DMTL", "Descriptors")


def test_run_external_writes_then_reads(tmp_path, monkeypatch):
    profile = get_profile("test")
    study = synthetic_dataset(12, 12, seed=0, cache_dir=tmp_path)
    other = synthetic_dataset(8, 8, seed=1, cache_dir=tmp_path, shift=SHIFTED)
    rows = ("E-DMTL", "Descriptors")
    first = run_external(study, other, profile, tmp_path / "results", rows=rows, log=lambda *a: None)
    assert [r["run"]["variant"] for r in first] == ["E-DMTL", "Descriptors"]
    for r in first:
        assert r["run"]["kind"] == "external" and r["dataset"]["name"] == "synthetic-shift"
        assert r["birads_categories"] == dict(pd.Series([x.birads for x in other.records]).value_counts().sort_index())
        assert 0.0 <= r["metrics"]["auc"] <= 1.0
    assert first[0]["model"]["trained_on"]["images"] == 24 and first[0]["model"]["weights"] == "random init"
    # A second build reads everything: nothing is fitted or evaluated again.
    monkeypatch.setattr(external_module, "fit_final", lambda *a, **k: pytest.fail("refitted"))
    monkeypatch.setattr(external_module, "evaluate_external", lambda *a, **k: pytest.fail("re-evaluated"))
    again = run_external(study, other, profile, tmp_path / "results", rows=rows, log=lambda *a: None)
    assert [r["predictions"]["p_malignant"] for r in again] == [r["predictions"]["p_malignant"] for r in first]
    # External results and model cards are not cross-validation runs: the CV readers skip them.
    assert load_results(tmp_path / "results") == []
    assert len(load_results(tmp_path / "results", external=True)) == 2


def fake_external(family, alpha, auc, low, high):
    return {
        "run": {"family": family, "alpha": alpha},
        "metrics": {"auc": auc, "sensitivity": 0.5, "specificity": 0.75, "ece": 0.1},
        "metrics_ci": {"auc": [low, high], "sensitivity": [0.25, 0.75], "specificity": [0.5, 1.0]},
    }


def test_external_frame_sets_internal_beside_external():
    runs = pd.DataFrame(
        {
            "family": ["DSTL"] * 3 + ["Descriptors"] * 3,
            "alpha": [0.0] * 6,
            "auc": [0.8, 0.9, 0.85, 0.9, 0.9, 0.9],
            "sensitivity": [0.5] * 6,
            "specificity": [0.5] * 6,
            "ece": [0.1, 0.2, 0.3, 0.1, 0.1, 0.1],
        }
    )
    frame = report.external_frame(
        runs, [fake_external("DSTL", 0.0, 0.7, 0.6, 0.8), fake_external("Descriptors", 0.0, 0.88, 0.8, 0.95)]
    )
    dstl = frame.iloc[0]
    assert dstl["cv_runs"] == 3 and dstl["cv_auc_mean"] == pytest.approx(0.85)
    assert dstl["cv_auc_sd"] == pytest.approx(0.05)  # sd of 0.8, 0.9, 0.85 (ddof 1)
    assert (dstl["ext_auc"], dstl["ext_auc_low"], dstl["ext_auc_high"]) == (0.7, 0.6, 0.8)
    table = report.external_table(frame)
    assert table.loc[0, "AUC, internal CV"] == "0.850 ± 0.050"
    assert table.loc[0, "AUC, external [95% CI]"] == "0.700 [0.600, 0.800]"
    assert table.loc[0, "ECE, internal → external"] == "0.200 → 0.100"
    text = report.external_text(frame, "other")
    assert "DSTL: external AUC 0.700 [0.600, 0.800] against 0.850 in internal CV (outside" in text
    assert "Descriptors (floor): external AUC 0.880 [0.800, 0.950] against 0.900 in internal CV (inside" in text


def test_dataset_differences_name_what_differs():
    study = pd.DataFrame(
        {
            "pathology": ["benign", "malignant", "malignant", "benign"],
            "patient": ["a", "a", "b", "c"],
            "birads": ["2", "4A", "5", "3"],
            "width": [100, 120, 140, 160],
            "height": [80] * 4,
            "device": ["X", "X", "Y", None],
        }
    )
    other = pd.DataFrame(
        {
            "pathology": ["malignant"] * 3,
            "patient": ["p", "q", "r"],
            "birads": ["4", "4", "5"],
            "width": [300] * 3,
            "height": [200] * 3,
            "device": [None] * 3,
        }
    )
    diff = report.dataset_differences(study, other)
    assert diff.loc["images"].tolist() == [4, 3] and diff.loc["patients"].tolist() == [3, 3]
    assert diff.loc["malignant share"].tolist() == ["0.50", "1.00"]
    assert diff.loc["BI-RADS", "external"] == "4: 2, 5: 1"
    assert diff.loc["image size (median w x h)"].tolist() == ["130 x 80 px", "300 x 200 px"]
    assert diff.loc["scanners", "study"] == "X, Y" and diff.loc["scanners", "external"] == "–"
    empty = pd.DataFrame(columns=["family", "alpha", "auc", "sensitivity", "specificity", "ece"])
    assert len(report.external_frame(empty, [])) == 0
