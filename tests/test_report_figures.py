"""breastnet.report.figures: each figure drawn from a small hand-made frame, its axes and lines read back.

The figures are drawn on Agg canvases outside pyplot (no backend is switched, nothing is left open).
"""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from report_fakes import curve_run, descriptors_result, fake_result

from breastnet import report


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.axison]


def data_lines(ax):
    """Lines with more than two points (not the axhline / axvline / diagonal references)."""
    return [line for line in ax.get_lines() if len(np.atleast_1d(line.get_xdata())) > 2]


def test_figures_are_outside_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = report.message_figure("nothing to draw")
    assert plt.get_fignums() == before  # not managed by pyplot: nothing to close
    assert type(fig.canvas).__name__ == "FigureCanvasAgg"
    assert [t.get_text() for t in fig.axes[0].texts] == ["nothing to draw"] and not fig.axes[0].axison


def test_architecture_figure(tmp_path):
    path = tmp_path / "dsetm.png"
    report.architecture_figure(path)
    assert path.stat().st_size > 10_000


def test_patches_figure_pairs_oa_and_hs_of_the_same_image():
    # Image i is filled with 10 * i (OA) and 10 * i + 5 (HS): each panel says which image it shows.
    n, size = 10, 8
    patches = SimpleNamespace(
        oa=np.stack([np.full((size, size), 10 * i, np.uint8) for i in range(n)]),
        hs=np.stack([np.full((size, size), 10 * i + 5, np.uint8) for i in range(n)]),
    )
    labels = [0] * 6 + [1] * 4
    fig = report.patches_figure(patches, labels, seed=0)
    assert len(fig.axes) == 4 * 4
    assert [ax.get_title() for ax in fig.axes[:4]] == ["benign OA", "benign HS", "malignant OA", "malignant HS"]
    shown = np.array([int(ax.get_images()[0].get_array()[0, 0]) for ax in fig.axes]).reshape(4, 4)
    assert (shown[:, 1] == shown[:, 0] + 5).all() and (shown[:, 3] == shown[:, 2] + 5).all()
    assert set(shown[:, 0] // 10) <= {0, 1, 2, 3, 4, 5} and set(shown[:, 2] // 10) == {6, 7, 8, 9}
    assert len(set(shown[:, 0])) == 4  # drawn without replacement
    again = report.patches_figure(patches, labels, seed=0)
    assert [int(ax.get_images()[0].get_array()[0, 0]) for ax in again.axes] == list(shown.ravel())
    few = report.patches_figure(patches, [0] * 8 + [1] * 2, seed=1)
    assert len(few.axes) == 2 * 4  # as many rows as the smaller class has images


def history(series):
    """A history_frame of 2 folds x 3 epochs: value = fold + epoch / 10 + offset of the series."""
    return pd.DataFrame(
        [
            {"fold": fold, "repeat": 0, "epoch": epoch, "series": name, "value": fold + epoch / 10 + k}
            for k, name in enumerate(series)
            for fold in (0, 1)
            for epoch in (1, 2, 3)
        ]
    )


def test_history_figure():
    fig = report.history_figure(history(["loss", "val_ce", "val_auc"]))
    left, right = visible_axes(fig)
    assert left.get_ylabel() == "loss / cross-entropy" and right.get_ylabel() == "validation AUC"
    assert len(data_lines(left)) == 2 * 2 and len(data_lines(right)) == 2  # a line per (series, fold)
    ys = sorted(tuple(np.round(line.get_ydata(), 6)) for line in data_lines(right))
    assert ys == [(2.1, 2.2, 2.3), (3.1, 3.2, 3.3)]  # val_auc, folds 0 and 1
    assert any(list(line.get_ydata()) == [0.5, 0.5] for line in right.get_lines())  # chance
    old = report.history_figure(history(["loss", "val_loss"]))  # a file from before val_ce and val_auc
    assert len(visible_axes(old)) == 1 and len(data_lines(old.axes[0])) == 4
    empty = report.history_figure(report.history_frame([descriptors_result(0, auc=0.7)]))
    assert not visible_axes(empty) and "No learning curves" in empty.axes[0].texts[0].get_text()


def test_confusion_figure():
    matrix = report.confusion([fake_result("DSSL", 0.0, 0, n_test=4)])  # p = 0.5: every image called malignant
    fig = report.confusion_figure(matrix)
    (ax,) = fig.axes
    assert sorted(t.get_text() for t in ax.texts) == ["0", "0", "2", "2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["benign", "malignant"]


def alpha_frame(metrics=("accuracy", "auc")):
    """An alpha_curve of DMTL and DSSL at alpha 0, 0.25, 1, 4: mean 0.8 - 0.05 * k (+ 0.01 for DSSL), sd 0.1."""
    rows = []
    for fam, shift in (("DMTL", 0.0), ("DSSL", 0.01)):
        for k, alpha in enumerate((0.0, 0.25, 1.0, 4.0)):
            rows += [
                {
                    "family": fam,
                    "alpha": alpha,
                    "metric": m,
                    "n": 3,
                    "mean": 0.8 - 0.05 * k + shift,
                    "sd": 0.1,
                    "ci_low": math.nan,
                    "ci_high": math.nan,
                }
                for m in metrics
            ]
    return pd.DataFrame(rows)


def test_alpha_figure():
    curve = alpha_frame()
    fig = report.alpha_figure(curve, (0.0, 0.25, 1.0), chance=0.55)
    axes = fig.axes
    assert len(axes) == 3 and [ax.get_title() for ax in axes[:2]] == ["accuracy", "AUC"]
    assert not axes[2].axison and axes[2].get_legend() is not None  # the free panel holds the legend
    accuracy = axes[0]
    means = {
        bars.get_label(): list(np.round(np.asarray(bars.lines[0].get_ydata(), float), 6))
        for bars in accuracy.containers
    }
    assert means == {"E-DMTL": [0.8, 0.75, 0.7], "E-DSSL": [0.81, 0.76, 0.71]}
    assert any(list(line.get_ydata()) == [0.55, 0.55] for line in accuracy.get_lines())  # chance
    # One colour per family, the same in every panel and figure.
    colors = report.family_colors(["DMTL", "DSSL"])
    for ax in axes[:2]:
        for bars in ax.containers:
            assert bars.lines[0].get_color() == colors[bars.get_label()[2:]]
    marks = pd.DataFrame([{"family": "DMTL", "peak_alpha": 0.0, "peak": 0.8, "A": 1.0, "B": 4.0}])
    large = report.alpha_figure(curve, (0.0, 0.25, 1.0, 4.0), chance=0.55, log_x=True, marks=marks)
    acc = large.axes[0]
    assert acc.get_xscale() == "symlog"
    assert sorted(
        line.get_xdata()[0]
        for line in acc.get_lines()
        if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]
    ) == [1.0, 4.0]  # A and B
    assert sorted(t.get_text() for t in acc.texts) == ["A", "B"]
    six = report.alpha_figure(
        alpha_frame(("accuracy", "sensitivity", "specificity", "auc", "rmse", "cc")), (0.0, 0.25), chance=0.5
    )
    assert len(six.axes) == 6 and all(ax.axison for ax in six.axes)


def test_alpha_figure_error_bars_stop_at_the_range():
    curve = alpha_frame(("auc",)).assign(mean=0.95, sd=0.2)
    fig = report.alpha_figure(curve[curve["family"] == "DMTL"], (0.0, 0.25), chance=0.5)
    (bars,) = fig.axes[0].collections  # the vertical error bars of E-DMTL
    tops = [segment[:, 1].max() for segment in bars.get_segments()]
    assert tops == pytest.approx([1.0, 1.0])  # 0.95 + 0.2 cut at 1


def test_spectra_figure():
    # Two runs per model: the line is their mean, the band +- sd.
    rows = []
    for fam in ("DSSL", "DMTL"):
        for alpha, offset in ((0.0, 0.0), (0.25, -1.0)):
            for fold, noise in ((0, 0.5), (1, -0.5)):
                rows += [
                    {
                        "family": fam,
                        "alpha": alpha,
                        "model": report.model_label(fam, alpha),
                        "fold": fold,
                        "repeat": 0,
                        "index": i,
                        "log_eigenvalue": 5.0 - i + offset + noise,
                    }
                    for i in (1, 2, 3, 4)
                ]
    fig = report.spectra_figure(pd.DataFrame(rows), ["DSSL", "DMTL"], tail_from=3)
    assert [ax.get_title() for ax in fig.axes] == ["DSSL", "DMTL"]
    for ax in fig.axes:
        lines = data_lines(ax)
        assert len(lines) == 2
        assert list(np.round(lines[0].get_ydata(), 6)) == [4.0, 3.0, 2.0, 1.0]  # alpha 0: mean of the two runs
        assert list(np.round(lines[1].get_ydata(), 6)) == [3.0, 2.0, 1.0, 0.0]  # alpha 0.25
        assert any(list(line.get_xdata()) == [3, 3] for line in ax.get_lines())  # where the tail starts


def test_reliability_figure():
    y, p = [0, 1, 1, 1], [0.12, 0.18, 0.82, 0.88]  # the hand-worked bins of test_report_calibration
    preds = pd.DataFrame(
        {
            "family": "DSSL",
            "alpha": [0.0] * 4 + [0.25] * 4,
            "fold": 0,
            "repeat": 0,
            "id": list("abcdabcd"),
            "y_true": y + y,
            "p_malignant": p + [0.45, 0.55, 0.45, 0.55],
        }
    )
    fig = report.reliability_figure(preds, ["DSSL", "DMTL"])
    dssl, dmtl = fig.axes
    lines = [line for line in dssl.get_lines() if line.get_label().startswith("α")]
    assert [line.get_label() for line in lines] == ["α = 0: ECE 0.250", "α = 0.25: ECE 0.250"]
    assert list(np.round(lines[0].get_xdata(), 6)) == [0.15, 0.85]
    assert list(lines[0].get_ydata()) == [0.5, 1.0]
    assert len(dssl.get_lines()) == 3  # the diagonal and the two alphas
    assert len(dmtl.get_lines()) == 1  # no DMTL predictions: the diagonal only


def test_claims_figure():
    claims = pd.DataFrame(
        [
            {"comparison": c, "metric": m, "mean_diff": d, "ci_low": d - 0.05, "ci_high": d + 0.05, "paper_diff": paper}
            for c, (auc, acc, paper) in (("DSTL − DSSL", (0.04, 0.02, 0.0292)), ("DMTL − DSTL", (-0.01, 0.03, 0.0136)))
            for m, d, paper in (("auc", auc, None), ("accuracy", acc, paper))
        ]
    )
    fig = report.claims_figure(claims)
    auc, accuracy = fig.axes
    assert auc.get_xlabel() == "difference in AUC (primary)" and accuracy.get_xlabel() == "difference in accuracy"
    (ours,) = auc.containers  # the error bars
    points = ours.lines[0]
    assert ours.get_label() == "ours (95 % CI)"
    assert list(points.get_xdata()) == [0.04, -0.01] and list(points.get_ydata()) == [1, 0]  # first on top
    assert not auc.collections[1:]  # the paper has no AUC: no crosses
    crosses = [c for c in accuracy.collections if c.get_label() == "paper"]
    assert len(crosses) == 1 and crosses[0].get_offsets()[:, 0].tolist() == [0.0292, 0.0136]
    assert [t.get_text() for t in auc.get_yticklabels()] == ["DSTL − DSSL", "DMTL − DSTL"]


def test_learning_curve_figure():
    frame = report.learning_curve_frame([curve_run()])
    fig = report.learning_curve_figure(frame)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 4 + 2  # four curves, chance and the restored epoch
    test_precise = [line for line in ax.get_lines() if line.get_label() == "test, precise statistics"]
    assert list(test_precise[0].get_ydata()) == [0.62, 0.8, 0.78]
    empty = report.learning_curve_figure(report.learning_curve_frame([fake_result("DSTL", 0.0, 0)]))
    assert not visible_axes(empty) and "No run of this study" in empty.axes[0].texts[0].get_text()
