"""breastnet.report.runs and .table1: runs named by their Table 1 row, Table 1 rebuilt, its HTML."""

import math

import pandas as pd
import pytest
from report_fakes import descriptors_result, fake_result, toy_runs

from breastnet import report
from breastnet.model.variants import STUDY_ROWS, TABLE1


def test_runs_frame_names_table1_rows():
    runs = report.runs_frame(toy_runs())
    assert len(runs) == 8
    assert set(runs["table1"]) == {"DSSL", "DSTL", "E-DSSL", "DMTL"}
    assert math.isnan(runs.loc[runs["family"] == "DSSL", "rmse"].iloc[0])
    assert report.split_ratio(runs) == pytest.approx(20 / 80)  # test / (fitted + early stopping)


def test_table1_cells():
    t1 = report.table1(report.runs_frame(toy_runs()))
    assert list(dict.fromkeys(t1["variant"])) == STUDY_ROWS == TABLE1 + ["Descriptors"]
    assert list(dict.fromkeys(t1["metric"])) == [
        "accuracy",
        "sensitivity",
        "specificity",
        "rmse",
        "cc",
        "auc",
        "balanced_accuracy",
    ]
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
    # The PDF's twin: one Markdown row per model, "ours [corrected CI]; paper value" per cell.
    lines = html._repr_markdown_().splitlines()
    assert lines[0].startswith("| Model") and "| AUC (added)" in lines[0]
    dssl_line = next(line for line in lines if line.startswith("| DSSL"))
    assert f"0.750 ± 0.050 [{0.75 - half:.3f}, {0.75 + half:.3f}]; paper 0.8337" in dssl_line
    assert "0.850 ± 0.050" in dssl_line and "paper —" in dssl_line


def test_table1_floor_row():
    results = [
        descriptors_result(f, auc=a, balanced_accuracy=b)
        for f, (a, b) in enumerate([(0.70, 0.60), (0.80, 0.70), (0.75, 0.65)])
    ]
    t1 = report.table1(report.runs_frame(results), variants=["Descriptors", "DSSL"])
    assert list(dict.fromkeys(t1["variant"])) == ["DSSL", "Descriptors"]  # paper rows first
    floor = t1[t1["variant"] == "Descriptors"].set_index("metric")
    assert floor["reference"].all() and not floor["in_paper"].any()
    assert floor.loc["auc", "mean"] == pytest.approx(0.75) and floor.loc["auc", "sd"] == pytest.approx(0.05)
    assert floor.loc["balanced_accuracy", "mean"] == pytest.approx(0.65)
    assert not floor.loc["rmse", "applies"]
    assert floor.loc["accuracy", "label"] == "Hand-crafted descriptors + logistic regression (floor)"
    html = report.table1_html(t1)
    row = html[html.index('data-variant="Descriptors"') :]
    assert "reference row of ours, not in the paper" in row and "3 runs" in row
    assert "paper" not in row.replace("not in the paper", "")  # no paper value, not even "—"


def test_paper_table1_is_the_paper():
    assert set(report.PAPER_TABLE1) == set(TABLE1)
    assert report.PAPER_TABLE1["E-DMTL"] == {
        "accuracy": 0.9032,
        "sensitivity": 0.9175,
        "specificity": 0.8881,
        "rmse": 0.2668,
        "cc": 0.8566,
    }


def test_table1_clips_intervals_and_marks_no_spread():
    results = [
        fake_result("DSSL", 0.0, f, accuracy=a, sensitivity=s) for f, (a, s) in enumerate([(0.2, 0.5), (0.9, 0.5)])
    ]
    t1 = report.table1(report.runs_frame(results), variants=["DSSL"])
    acc = t1[t1["metric"] == "accuracy"].iloc[0]
    assert acc["ci_low"] == 0.0 and acc["ci_high"] == 1.0  # df = 1: the raw interval is far wider
    sens = t1[t1["metric"] == "sensitivity"].iloc[0]
    assert math.isnan(sens["ci_low"]) and "no spread" in report.format_cell(sens)


def test_html_table():
    html = report.html_table(pd.DataFrame({"a": [0.12345, math.nan], "b": ["x", None]}))
    assert "0.123" in html and html.count("–") == 2 and "dataframe" in html


def test_fold_table_and_runtime_frame():
    runs = report.runs_frame(toy_runs())
    dssl = report.select(runs, "DSSL")
    table = report.fold_table(dssl, ["accuracy", "auc"])
    assert list(table["repeat"]) == ["0", "0", "0", "mean", "std"] and list(table["fold"])[:3] == ["0", "1", "2"]
    assert table["accuracy"].iloc[3] == pytest.approx(0.75) and table["accuracy"].iloc[4] == pytest.approx(0.05)
    times = report.runtime_frame(runs)
    assert list(times.index) == ["DMTL", "DSSL", "E-DSSL (α=0.25)", "DSTL"]  # the order of runs_frame
    assert times.loc["DSSL"].to_dict() == {"runs": 3, "seconds_mean": 30.0, "seconds_total": 90.0, "epochs_mean": 2.0}
