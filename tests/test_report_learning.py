"""breastnet.report.learning (and .runs' histories): one-class runs, the floor, the learning curve."""

import math

import numpy as np
import pytest
from report_fakes import NET_CONFIG, curve_run, descriptors_result, fake_result

from breastnet import report


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
    # The text states those counts: one class in 2 of 3 runs (1 of 2 with α ≤ 1), one probability in 1 of 3.
    assert all(count in check["text"] for count in ("2 of 3", "1 of 2", "1 of 3"))
    assert f"{check['median_sd']:.3f}" in check["text"]
    alone = report.learning_check([mixed])
    assert alone["one_class"] == 0 and "0.400" in alone["text"] and "2 of 3" not in alone["text"]  # sd of p: 0.4
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
    for value in ("0.700", "3 runs", "DSTL 0.650", "E-DMTL 0.800"):  # the mean AUC of the networks and per row
        assert value in summary["networks_text"], value
    assert "0.800 over 2 runs" in summary["floor_text"]
    empty = report.learning_summary(report.runs_frame([]))
    assert "No run" in empty["networks_text"] and "no run" in empty["floor_text"]


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
    # The caption states the curve's numbers: the run, its epochs, the last epoch's test AUC (precise 0.780,
    # moving 0.580) and validation AUC (0.700, none), the monitor, the restored epoch 2 and its test AUC 0.800.
    for value in ("DSTL", "repeat 0", "fold 0", "3 epochs", "0.780", "0.580", "0.700", "–", "val_ce", "epoch 2"):
        assert value in text, value
    assert text.count("0.800") == 2  # the restored epoch's test AUC, and the run's reported one
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    report.plot_learning_curve(frame, ax)
    assert len(ax.get_lines()) == 4 + 2  # four curves, chance and the restored epoch
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {
        "test, precise statistics",
        "validation, moving statistics",
    }


def test_learning_curve_without_validation_part():
    # A profile without early stopping trains on the whole training fold: the curve has test AUC only.
    r = curve_run()
    r["training"]["best_epoch"] = None
    r["training"]["history"] = {k: v for k, v in r["training"]["history"].items() if not k.startswith("val")}
    frame = report.learning_curve_frame([r])
    assert len(frame) == 2 * 3 and set(frame["split"]) == {"test"}
    text = report.learning_curve_text(frame)
    for value in ("DSTL", "3 epochs", "0.780", "0.580"):  # the run and its last test AUCs, precise and moving
        assert value in text, value
    assert "0.700" not in text and "epoch 2" not in text  # no validation AUC, no restored epoch


def test_no_learning_curve():
    frame = report.learning_curve_frame([fake_result("DSTL", 0.0, 0), descriptors_result(0, auc=0.7)])
    assert frame.empty and list(frame.columns) == report.CURVE_COLUMNS
    assert report.learning_curve_text(frame).startswith("No run of this study recorded a learning curve")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    report.plot_learning_curve(frame, fig.add_subplot())  # draws chance only, does not fail
