"""The analysis behind the book: tables, paired tests, calibration, feature spectra.

The notebooks in `notebooks/` stay thin: every number the book shows is computed
here from result files (`breastnet.results`), and `tests/test_report.py` checks
the arithmetic against values worked out by hand.

Statistics. Cross-validation runs share training data, so their scores are not
independent and the plain t interval is too narrow. Every interval and test here
is the corrected resampled t of Nadeau & Bengio (2003, Machine Learning 52:239-281):
over J runs with scores (or paired differences) d_j, mean m and sample variance
s^2,

    t = m / sqrt((1/J + n_test/n_train) * s^2),   J - 1 degrees of freedom,

where n_test / n_train is the ratio of test to training images of a run
(training = every image outside the test fold: the fitted part plus the
early-stopping part). With the ratio set to 0 it is the ordinary paired t-test.

This module imports neither Keras nor a backend, so reading results is fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .metrics import ECE_BINS, expected_calibration_error
from .results import read_features
from .variants import TABLE1, VARIANTS, family

# --------------------------------------------------------------------------- the paper

#: The paper: Shi, Wu, Lv, Guo (2019), IJBBB 9(1):20-26.
PAPER = ('J. Shi, J. Wu, P. Lv, J. Guo, "BreastNet: Entropy-Regularized Transferable Multi-task '
         'Learning for Classification with Limited Breast Data", International Journal of '
         'Bioscience, Biochemistry and Bioinformatics 9(1):20-26, 2019, '
         'doi:10.17706/ijbbb.2019.9.1.20-26')

#: Where PAPER_TABLE1 comes from.
PAPER_TABLE1_SOURCE = ("Table 1 of Shi et al. (2019): 150 benign + 162 malignant images, "
                       "5-fold cross-validation repeated 10 times, mean of the test results.")

#: The paper's Table 1, transcribed once (None: "----" in the paper, the metric does not apply).
PAPER_TABLE1: dict[str, dict[str, float | None]] = {
    "Han2017":   {"accuracy": 0.8148, "sensitivity": 0.8456, "specificity": 0.7731, "rmse": None, "cc": None},
    "Inception": {"accuracy": 0.7021, "sensitivity": 0.7389, "specificity": 0.6853, "rmse": None, "cc": None},
    "ResNet-50": {"accuracy": 0.8073, "sensitivity": 0.7369, "specificity": 0.8806, "rmse": None, "cc": None},
    "DSSL":      {"accuracy": 0.8337, "sensitivity": 0.8323, "specificity": 0.8347, "rmse": None, "cc": None},
    "E-DSSL":    {"accuracy": 0.8495, "sensitivity": 0.8549, "specificity": 0.8433, "rmse": None, "cc": None},
    "DSTL":      {"accuracy": 0.8629, "sensitivity": 0.8715, "specificity": 0.8484, "rmse": None, "cc": None},
    "E-DSTL":    {"accuracy": 0.8870, "sensitivity": 0.8675, "specificity": 0.9024, "rmse": None, "cc": None},
    "DMTL":      {"accuracy": 0.8765, "sensitivity": 0.8821, "specificity": 0.8652, "rmse": 0.2973, "cc": 0.7985},
    "E-DMTL":    {"accuracy": 0.9032, "sensitivity": 0.9175, "specificity": 0.8881, "rmse": 0.2668, "cc": 0.8566},
}

#: Row labels of Table 1 (the paper's, shortened: "Seokmin Han et al [4]", "Pretrained Inception [10]"...).
PAPER_ROW_LABELS = {
    "Han2017": "Han et al. [4]", "Inception": "Inception [10]",
    "ResNet-50": "ResNet-50 [11]", "DSSL": "DSSL", "E-DSSL": "E-DSSL (α = 0.25)",
    "DSTL": "DSTL", "E-DSTL": "E-DSTL (α = 0.25)", "DMTL": "DMTL", "E-DMTL": "E-DMTL (α = 0.25)",
}

TABLE1_METRICS = ("accuracy", "sensitivity", "specificity", "rmse", "cc")
METRIC_LABELS = {"accuracy": "Accuracy", "sensitivity": "Sensitivity", "specificity": "Specificity",
                 "rmse": "RMSE", "cc": "CC", "auc": "AUC", "balanced_accuracy": "Balanced accuracy",
                 "ece": "ECE", "brier": "Brier"}
#: Range of each metric; intervals are clipped to it.
METRIC_RANGES = {"accuracy": (0.0, 1.0), "sensitivity": (0.0, 1.0), "specificity": (0.0, 1.0), "auc": (0.0, 1.0),
                 "balanced_accuracy": (0.0, 1.0), "ece": (0.0, 1.0), "brier": (0.0, 1.0),
                 "rmse": (0.0, math.inf), "cc": (-1.0, 1.0)}
RUN_METRICS = ("accuracy", "sensitivity", "specificity", "auc", "balanced_accuracy", "ece", "brier",
               "rmse", "cc")

#: The families the entropy term is added to.
FAMILIES = ("DSSL", "DSTL", "DMTL")


def row_key(name: str) -> tuple[str, float]:
    """The (family, alpha) a Table 1 row is trained as: E-DSSL -> ("DSSL", 0.25)."""
    return family(name), float(VARIANTS[name].alpha)


def model_label(family: str, alpha: float) -> str:
    """A readable name of (family, alpha): DSSL, E-DSSL (α=0.25), E-DMTL (α=2)."""
    if alpha == 0 or family not in FAMILIES:
        return family
    return f"E-{family} (α={alpha:g})"


# --------------------------------------------------------------------------- runs


def runs_frame(results) -> pd.DataFrame:
    """One row per run: identity, sizes, weights, timings and every metric.

    Args:
        results: result dicts (from `breastnet.sweep.run_sweep` or `results.load_results`).

    Returns:
        DataFrame with columns variant, family, alpha, fold, repeat, seed, profile,
        dataset, synthetic, n_train, n_val, n_test, weights, backend, epochs_run,
        best_epoch, seconds, table1 (the Table 1 row name of (family, alpha), or None),
        path, and the metrics of RUN_METRICS (NaN where absent).
    """
    lookup = {row_key(name): name for name in TABLE1}
    rows = []
    for r in results:
        run, ds, tr = r["run"], r.get("dataset", {}), r.get("training", {})
        row = {k: run.get(k) for k in ("variant", "family", "alpha", "fold", "repeat", "seed", "profile",
                                       "dataset")}
        row["alpha"] = float(row["alpha"])
        row.update(synthetic=bool(ds.get("synthetic", False)), n_train=ds.get("n_train"),
                   n_val=ds.get("n_val", 0), n_test=ds.get("n_test"), weights=r.get("weights"),
                   backend=r.get("provenance", {}).get("backend"), epochs_run=tr.get("epochs_run"),
                   best_epoch=tr.get("best_epoch"), seconds=tr.get("seconds", {}).get("total"),
                   path=r.get("path"))
        row["table1"] = lookup.get((row["family"], row["alpha"]))
        metrics = r.get("metrics", {})
        for k in RUN_METRICS:
            v = metrics.get(k)
            row[k] = math.nan if v is None else float(v)
        rows.append(row)
    columns = ["variant", "family", "alpha", "fold", "repeat", "seed", "profile", "dataset", "synthetic",
               "n_train", "n_val", "n_test", "weights", "backend", "epochs_run", "best_epoch", "seconds",
               "table1", "path", *RUN_METRICS]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["family", "alpha", "repeat", "fold"], kind="stable").reset_index(drop=True)


def select(runs: pd.DataFrame, model) -> pd.DataFrame:
    """Runs of one model: a Table 1 name ("E-DSSL") or a (family, alpha) pair."""
    fam, alpha = row_key(model) if isinstance(model, str) else (model[0], float(model[1]))
    return runs[(runs["family"] == fam) & np.isclose(runs["alpha"].astype(float), alpha)]


def split_ratio(runs: pd.DataFrame) -> float:
    """Mean n_test / n_train of runs, training = fitted + early-stopping images."""
    n_train = runs["n_train"].astype(float) + runs["n_val"].fillna(0).astype(float)
    return float(np.mean(runs["n_test"].astype(float) / n_train))


# --------------------------------------------------------------------------- statistics


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
    se = math.sqrt((1.0 / n + ratio) * sd ** 2)
    df = n - 1
    if se == 0:  # the same value in every run: the t statistic is 0/0 or x/0, no test
        return CorrectedT(n, mean, sd, ratio, se, nan, df, nan, nan, nan, level)
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), df))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return CorrectedT(n, mean, sd, ratio, se, t, df, p, mean - half, mean + half, level)


# --------------------------------------------------------------------------- Table 1


def table1(runs: pd.DataFrame, variants=TABLE1, metrics=TABLE1_METRICS, level: float = 0.95) -> pd.DataFrame:
    """Table 1 rebuilt, long format: one row per (variant, metric).

    Columns: variant, label, metric, n (runs with a value), mean, sd, ci_low, ci_high
    (corrected resampled t interval, clipped to the metric's range: with few runs it can
    be wider than [0, 1]), paper (NaN where the paper has no number),
    applies (the metric exists for this variant: RMSE and CC only for multi-task).
    """
    rows = []
    for name in variants:
        sel = select(runs, name)
        multitask = VARIANTS[name].multitask
        for metric in metrics:
            applies = metric not in ("rmse", "cc") or multitask
            values = sel[metric].to_numpy(dtype=float) if applies and len(sel) else np.array([])
            ct = corrected_t(values, split_ratio(sel) if len(sel) else 0.0, level)
            low, high = METRIC_RANGES.get(metric, (-math.inf, math.inf))
            rows.append({"variant": name, "label": PAPER_ROW_LABELS.get(name, name), "metric": metric,
                         "n": ct.n, "mean": ct.mean, "sd": ct.sd,
                         "ci_low": max(ct.ci_low, low) if pd.notna(ct.ci_low) else ct.ci_low,
                         "ci_high": min(ct.ci_high, high) if pd.notna(ct.ci_high) else ct.ci_high,
                         "paper": PAPER_TABLE1.get(name, {}).get(metric), "applies": applies})
    return pd.DataFrame(rows)


def _fmt(x, digits=3) -> str:
    return "–" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def format_cell(row) -> str:
    """Our value of a Table 1 cell as HTML: '<span class="mean">0.812 ± 0.034</span>' and, below,
    the interval ('[0.780, 0.840]', 'no spread' or '1 run'); 'not run' without runs; '–' when
    the metric does not apply."""
    if not row["applies"]:
        return "–"
    if row["n"] == 0:
        return "not run"
    if row["n"] > 1:
        value = f'{row["mean"]:.3f} ± {_fmt(row["sd"])}'
        below = f'[{_fmt(row["ci_low"])}, {_fmt(row["ci_high"])}]' if pd.notna(row["ci_low"]) else "no spread"
    else:
        value, below = f'{row["mean"]:.3f}', "1 run"
    return f'<span class="mean">{value}</span><br><span class="ci">{below}</span>'


def table1_html(t1: pd.DataFrame, table_id: str = "table1") -> str:
    """Table 1 as an HTML table: per model and metric, our mean ± sd and 95 % CI with the
    paper's value beside them (below, in the same cell, so that the table fits a page)."""
    metrics = list(dict.fromkeys(t1["metric"]))
    head = "".join(f"<th>{METRIC_LABELS.get(m, m)}</th>" for m in metrics)
    body = []
    for name, group in t1.groupby("variant", sort=False):
        by_metric = {r["metric"]: r for _, r in group.iterrows()}
        runs = max(int(r["n"]) for r in by_metric.values())
        cells = []
        for m in metrics:
            r = by_metric[m]
            # "na": the metric does not exist for this model; "empty": it does, but no run has it
            cls = "na" if not r["applies"] else ("ours" if r["n"] else "ours empty")
            paper = f'<br><span class="paper">paper {_fmt(r["paper"], 4)}</span>' if pd.notna(r["paper"]) else ""
            cells.append(f'<td class="{cls}" data-metric="{m}">{format_cell(r)}{paper}</td>')
        label = f'{group["label"].iloc[0]}<br><span class="runs">{runs} run{"s" if runs != 1 else ""}</span>'
        body.append(f'<tr data-variant="{name}"><td class="model">{label}</td>{"".join(cells)}</tr>')
    return (f'<div class="table1-wrap"><table id="{table_id}" class="table table1">'
            f'<thead><tr><th class="model">Model</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


# --------------------------------------------------------------------------- the three claims


@dataclass(frozen=True)
class Claim:
    """A claim of the paper, tested as paired differences `better - baseline`."""

    key: str
    title: str
    paper_text: str
    pairs: tuple[tuple[str, str], ...]


CLAIMS = (
    Claim("shape", "The shape stream (HS patches) improves classification",
          "DSSL → DSTL: accuracy 83.37 % → 86.29 % (section 3).", (("DSTL", "DSSL"),)),
    Claim("birads", "The auxiliary BI-RADS regression task improves classification",
          "DSTL → DMTL: accuracy 86.29 % → 87.63 %, sensitivity and specificity up too (section 3).",
          (("DMTL", "DSTL"),)),
    Claim("entropy", "The entropy term (α = 0.25) improves every model",
          "E-DSSL, E-DSTL and E-DMTL all beat their α = 0 versions, e.g. 83.37 % → 84.95 % "
          "and 86.29 % → 88.70 % (section 3).",
          (("E-DSSL", "DSSL"), ("E-DSTL", "DSTL"), ("E-DMTL", "DMTL"))),
)


def paired_differences(runs: pd.DataFrame, better, baseline, metric: str = "accuracy") -> pd.DataFrame:
    """Per-run differences `better - baseline` matched on (fold, repeat).

    Args:
        runs: `runs_frame` output.
        better, baseline: Table 1 names or (family, alpha) pairs.
        metric: a metric column.

    Returns:
        DataFrame: fold, repeat, better, baseline, diff, n_train, n_val, n_test (runs where
        both values exist; NaN differences dropped).
    """
    keep = ["fold", "repeat", metric, "n_train", "n_val", "n_test"]
    a = select(runs, better)[keep]
    b = select(runs, baseline)[["fold", "repeat", metric]]
    both = a.merge(b, on=["fold", "repeat"], suffixes=("_better", "_baseline"))
    both = both.rename(columns={f"{metric}_better": "better", f"{metric}_baseline": "baseline"})
    both["diff"] = both["better"] - both["baseline"]
    both = both.dropna(subset=["diff"])
    return both[["fold", "repeat", "better", "baseline", "diff", "n_train", "n_val", "n_test"]].reset_index(drop=True)


def comparison_result(ct: CorrectedT) -> str:
    """What a corrected-t interval says about `better - baseline`."""
    if ct.n < 2:
        return "not testable (fewer than 2 paired runs)"
    if math.isnan(ct.ci_low):
        return "not testable (the same difference in every run)"
    if ct.ci_low > 0:
        return "better (95 % CI above 0)"
    if ct.ci_high < 0:
        return "worse (95 % CI below 0)"
    return "no significant difference (95 % CI includes 0)"


def claims_table(runs: pd.DataFrame, metric: str = "accuracy", level: float = 0.95) -> pd.DataFrame:
    """Every comparison of CLAIMS: paired differences and their corrected t-test.

    Columns: claim, comparison, better, baseline, n (J), mean_diff, sd, ci_low, ci_high, t, df,
    p, ratio, paper_diff, result.
    """
    rows = []
    for claim in CLAIMS:
        for better, baseline in claim.pairs:
            pairs = paired_differences(runs, better, baseline, metric)
            ratio = split_ratio(pairs) if len(pairs) else 0.0
            ct = corrected_t(pairs["diff"], ratio, level)
            paper_b, paper_a = PAPER_TABLE1[baseline].get(metric), PAPER_TABLE1[better].get(metric)
            rows.append({"claim": claim.key, "comparison": f"{better} − {baseline}", "better": better,
                         "baseline": baseline, "metric": metric, "n": ct.n, "mean_diff": ct.mean,
                         "sd": ct.sd, "ci_low": ct.ci_low, "ci_high": ct.ci_high, "t": ct.t, "df": ct.df,
                         "p": ct.p, "ratio": ratio,
                         "paper_diff": None if paper_a is None or paper_b is None else round(paper_a - paper_b, 4),
                         "result": comparison_result(ct)})
    return pd.DataFrame(rows)


def claim_verdicts(table: pd.DataFrame, synthetic: bool, one_class_share: dict | None = None) -> dict[str, dict]:
    """One verdict per claim: "supported", "not supported" or "not testable here", with evidence.

    A comparison supports its claim when its corrected 95 % interval lies above 0.
    A claim with several comparisons (the entropy term) is supported when all are.
    On synthetic phantoms nothing is evidence about breast ultrasound, so every claim
    is "not testable here" and the statistics are reported as a pipeline check only.
    A claim is also "not testable here" when, for a model it compares, at least half of
    the runs gave every test image one class (`learning_check`): their accuracy is a
    class share, and a difference between such runs says nothing for or against it.

    Args:
        table: `claims_table` output.
        synthetic: whether the data are synthetic.
        one_class_share: (family, alpha) -> share of one-class runs (`learning_check`'s
            "by_model"); None: not checked.
    """
    out = {}
    one_class_share = one_class_share or {}
    for claim in CLAIMS:
        rows = table[table["claim"] == claim.key]
        parts, testable, supported, missing = [], True, True, False
        degenerate = sorted({name for _, r in rows.iterrows() for name in (r["better"], r["baseline"])
                             if one_class_share.get(row_key(name), 0.0) >= 0.5})
        for _, r in rows.iterrows():
            paper = f"; paper {r['paper_diff']:+.4f}" if pd.notna(r["paper_diff"]) else ""
            if r["n"] < 2:
                testable, missing = False, True
                parts.append(f"{r['comparison']}: {r['n']} paired run(s), not enough for a test")
            elif pd.isna(r["ci_low"]):
                testable = False
                parts.append(f"{r['comparison']}: {r['mean_diff']:+.3f} {r['metric']} in each of the "
                             f"J = {r['n']} paired runs, no spread, no test{paper}")
            else:
                supported &= bool(r["ci_low"] > 0)
                parts.append(f"{r['comparison']}: {r['mean_diff']:+.3f} {r['metric']} "
                             f"(95 % CI {_fmt(r['ci_low'])} to {_fmt(r['ci_high'])}, "
                             f"t = {_fmt(r['t'], 2)}, df = {r['df']}, p = {_fmt(r['p'])}, J = {r['n']}{paper})")
        if synthetic:
            verdict = "not testable here"
            why = "the data are SYNTHETIC phantoms; the statistics only check the pipeline"
        elif degenerate:
            verdict = "not testable here"
            why = (f"at least half of the runs of {', '.join(degenerate)} gave every test image one class, "
                   f"so their accuracy is a class share, not a skill")
        elif not testable:
            verdict = "not testable here"
            why = ("the runs it needs are missing from this profile or dataset" if missing else
                   "a comparison has the same difference in every run, so no test is defined")
        elif supported:
            verdict, why = "supported", "every paired difference has its 95 % interval above 0"
        else:
            verdict, why = "not supported", "a paired difference has a 95 % interval reaching 0 or below"
        out[claim.key] = {"title": claim.title, "paper": claim.paper_text, "verdict": verdict, "why": why,
                          "evidence": "; ".join(parts)}
    return out


# --------------------------------------------------------------------------- alpha spectra


#: Range of each metric: error bars are cut at its ends (an sd bar past 1 is not a value).
METRIC_RANGE = {"accuracy": (0.0, 1.0), "sensitivity": (0.0, 1.0), "specificity": (0.0, 1.0), "auc": (0.0, 1.0),
                "balanced_accuracy": (0.0, 1.0), "cc": (-1.0, 1.0), "rmse": (0.0, math.inf)}


def clipped_error_bars(mean, sd, metric: str) -> np.ndarray:
    """(2, n) lower and upper bar lengths of mean +- sd, cut at the metric's range (for `errorbar`)."""
    mean = np.asarray(mean, dtype=float)
    sd = np.nan_to_num(np.asarray(sd, dtype=float))
    low, high = METRIC_RANGE.get(metric, (-math.inf, math.inf))
    return np.stack([mean - np.maximum(mean - sd, low), np.minimum(mean + sd, high) - mean])


def alpha_curve(runs: pd.DataFrame, families=FAMILIES, metrics=("accuracy", "sensitivity", "specificity",
                                                                  "rmse", "cc"), level: float = 0.95) -> pd.DataFrame:
    """Mean and corrected CI of each metric against alpha, per family (long format)."""
    rows = []
    for fam in families:
        sel = runs[runs["family"] == fam]
        for alpha, group in sel.groupby("alpha"):
            ratio = split_ratio(group)
            for metric in metrics:
                ct = corrected_t(group[metric].to_numpy(dtype=float), ratio, level)
                if ct.n == 0:
                    continue
                rows.append({"family": fam, "alpha": float(alpha), "metric": metric, "n": ct.n,
                             "mean": ct.mean, "sd": ct.sd, "ci_low": ct.ci_low, "ci_high": ct.ci_high})
    return pd.DataFrame(rows, columns=["family", "alpha", "metric", "n", "mean", "sd", "ci_low", "ci_high"])


def chance_level(results) -> float:
    """Accuracy of always predicting the majority class of each test set, averaged over runs."""
    rates = [max(np.mean(r["predictions"]["y_true"]), 1 - np.mean(r["predictions"]["y_true"]))
             for r in results if r["predictions"]["y_true"]]
    return float(np.mean(rates)) if rates else 0.5


def drop_points(curve: pd.DataFrame, metric: str = "accuracy", chance: float = 0.5,
                tol: float = 0.02) -> pd.DataFrame:
    """The paper's points A and B (Fig. 2b) on each family's mean curve.

    A: the first alpha past the curve's peak whose mean is more than `tol` below the
    peak ("performance begins to decrease"). B: the first alpha whose mean is within
    `tol` of the chance level (the paper: "test accuracy of point B is about 0.5"),
    only when the peak itself is above chance + tol (a curve at chance has nothing to fall
    from). None where the curve has no such point.
    """
    rows = []
    for fam, group in curve[curve["metric"] == metric].groupby("family", sort=False):
        g = group.sort_values("alpha")
        alphas, means = g["alpha"].to_numpy(), g["mean"].to_numpy()
        peak = int(np.nanargmax(means)) if len(means) else 0
        a = next((float(alphas[i]) for i in range(peak + 1, len(means)) if means[i] < means[peak] - tol), None)
        b = None
        if len(means) and means[peak] > chance + tol:
            b = next((float(alphas[i]) for i in range(len(means)) if alphas[i] > 0 and means[i] <= chance + tol), None)
        rows.append({"family": fam, "peak_alpha": float(alphas[peak]) if len(alphas) else None,
                     "peak": float(means[peak]) if len(means) else math.nan, "A": a, "B": b})
    return pd.DataFrame(rows, columns=["family", "peak_alpha", "peak", "A", "B"])


# --------------------------------------------------------------------------- calibration


def pooled_predictions(results) -> pd.DataFrame:
    """Test predictions of runs, one row per (run, image): family, alpha, fold, repeat, y_true, p."""
    frames = []
    for r in results:
        p = r["predictions"]
        frames.append(pd.DataFrame({"family": r["run"]["family"], "alpha": float(r["run"]["alpha"]),
                                    "fold": r["run"]["fold"], "repeat": r["run"]["repeat"],
                                    "id": p["id"], "y_true": p["y_true"], "p_malignant": p["p_malignant"]}))
    if not frames:
        return pd.DataFrame(columns=["family", "alpha", "fold", "repeat", "id", "y_true", "p_malignant"])
    return pd.concat(frames, ignore_index=True)


def reliability_bins(y_true, p_malignant, n_bins: int = ECE_BINS) -> pd.DataFrame:
    """Reliability diagram data: equal-width bins of p, as `breastnet.metrics` bins them.

    Columns: bin, lower, upper, count, mean_predicted, observed (empty bins have count 0, NaN rates).
    The ECE is sum(count / N * |observed - mean_predicted|) over non-empty bins.
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(p_malignant, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.searchsorted(edges[1:-1], p)  # the binning of sklearn's calibration_curve
    rows = []
    for k in range(n_bins):
        inside = which == k
        count = int(inside.sum())
        rows.append({"bin": k, "lower": edges[k], "upper": edges[k + 1], "count": count,
                     "mean_predicted": float(p[inside].mean()) if count else math.nan,
                     "observed": float(y[inside].mean()) if count else math.nan})
    return pd.DataFrame(rows)


def ece_from_bins(bins: pd.DataFrame) -> float:
    """Expected calibration error of a `reliability_bins` table."""
    used = bins[bins["count"] > 0]
    return float((used["count"] / used["count"].sum() * (used["observed"] - used["mean_predicted"]).abs()).sum())


def _nanmean(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(x[~np.isnan(x)].mean()) if (~np.isnan(x)).any() else math.nan


def calibration_summary(results, families=FAMILIES, alphas=(0.0, 0.25), n_bins: int = ECE_BINS) -> pd.DataFrame:
    """ECE and Brier of alpha 0 against alpha 0.25, per family.

    Columns: family, alpha, model, runs, ece_mean (mean of the runs' ECE), ece_sd,
    ece_pooled (ECE of every run's test predictions pooled), brier_mean, mean_entropy.
    """
    rows = []
    for fam in families:
        for alpha in alphas:
            sel = [r for r in results if r["run"]["family"] == fam and math.isclose(r["run"]["alpha"], alpha)]
            if not sel:
                continue
            y = np.concatenate([r["predictions"]["y_true"] for r in sel])
            p = np.concatenate([r["predictions"]["p_malignant"] for r in sel])
            ece = np.array([r["metrics"].get("ece") for r in sel], dtype=float)
            brier = np.array([r["metrics"].get("brier") for r in sel], dtype=float)
            entropy = np.concatenate([r["predictions"].get("entropy", []) for r in sel]).astype(float)
            rows.append({"family": fam, "alpha": float(alpha), "model": model_label(fam, alpha),
                         "runs": len(sel), "ece_mean": _nanmean(ece),
                         "ece_sd": float(np.nanstd(ece, ddof=1)) if len(sel) > 1 else math.nan,
                         "ece_pooled": expected_calibration_error(y, p, n_bins),
                         "brier_mean": _nanmean(brier),
                         "mean_entropy": float(entropy.mean()) if len(entropy) else math.nan})
    return pd.DataFrame(rows, columns=["family", "alpha", "model", "runs", "ece_mean", "ece_sd", "ece_pooled",
                                       "brier_mean", "mean_entropy"])


# --------------------------------------------------------------------------- feature spectra (Fig. 2c)


def covariance_eigenvalues(features) -> np.ndarray:
    """Eigenvalues of the feature covariance (unnormalized PCA), largest first.

    Features are centred, not scaled. With fewer images than features the n x n Gram
    matrix Xc Xc^T / (n - 1) is decomposed instead of the d x d covariance: it has the
    same nonzero eigenvalues, and the covariance's other d - n eigenvalues are 0.
    Returns min(n, d) values (rank-deficient tail included, clipped at 0).
    """
    x = np.asarray(features, dtype=float)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need an (n >= 2, d) feature matrix, got shape {x.shape}")
    xc = x - x.mean(axis=0)
    n, d = xc.shape
    gram = xc.T @ xc if d <= n else xc @ xc.T
    values = np.linalg.eigvalsh(gram / (n - 1))[::-1]
    return np.clip(values, 0.0, None)


def log_spectrum(features, rtol: float = 1e-10) -> np.ndarray:
    """log(λ_i) of the covariance eigenvalues above rtol * λ_max (the numerically nonzero ones)."""
    values = covariance_eigenvalues(features)
    keep = values > rtol * values.max() if values.max() > 0 else np.zeros(len(values), bool)
    return np.log(values[keep])


def result_path(result, folder=None) -> Path:
    """The JSON file of a result: its "path" (set by `results.load_results`), else found in `folder`
    from its features file name (`results.write_result` names it <json stem>.features.npz)."""
    if result.get("path"):
        return Path(result["path"])
    if folder is None:
        raise ValueError("result has no 'path'; give the study folder it was read from")
    return Path(folder) / (result["features_file"].removesuffix(".features.npz") + ".json")


def spectra_frame(results, families=FAMILIES, alphas=(0.0, 0.25), folder=None) -> pd.DataFrame:
    """log-eigenvalue spectra of each run's penultimate test features (Fig. 2c), long format.

    Each run is decomposed on its own (folds are different models, so their feature
    spaces differ and are not pooled). `folder` is the study folder, needed for results
    that do not carry their "path" (those returned by `run_sweep`). Columns: family,
    alpha, model, fold, repeat, index (1-based), log_eigenvalue.
    """
    frames = []
    for r in results:
        fam, alpha = r["run"]["family"], float(r["run"]["alpha"])
        if fam not in families or not any(math.isclose(alpha, a) for a in alphas):
            continue
        logs = log_spectrum(read_features(result_path(r, folder)))
        frames.append(pd.DataFrame({"family": fam, "alpha": alpha, "model": model_label(fam, alpha),
                                    "fold": r["run"]["fold"], "repeat": r["run"]["repeat"],
                                    "index": np.arange(1, len(logs) + 1), "log_eigenvalue": logs}))
    if not frames:
        return pd.DataFrame(columns=["family", "alpha", "model", "fold", "repeat", "index", "log_eigenvalue"])
    return pd.concat(frames, ignore_index=True)


def spectrum_tails(spectra: pd.DataFrame, tail_from: int = 6) -> pd.DataFrame:
    """Height of each spectrum's tail: mean log λ_i over i >= tail_from, averaged over runs.

    A "fatter tail" (the paper's words for alpha = 0) is a larger value.
    Columns: family, alpha, model, runs, tail_mean, tail_sd, top (mean log λ_1).
    """
    rows = []
    for (fam, alpha), group in spectra.groupby(["family", "alpha"], sort=False):
        per_run = group.groupby(["fold", "repeat"])
        tails = per_run.apply(lambda g: g.loc[g["index"] >= tail_from, "log_eigenvalue"].mean(),
                              include_groups=False)
        top = per_run.apply(lambda g: g.loc[g["index"] == 1, "log_eigenvalue"].mean(), include_groups=False)
        rows.append({"family": fam, "alpha": float(alpha), "model": model_label(fam, alpha),
                     "runs": len(tails), "tail_mean": float(tails.mean()),
                     "tail_sd": float(tails.std(ddof=1)) if len(tails) > 1 else math.nan,
                     "top": float(top.mean())})
    return pd.DataFrame(rows, columns=["family", "alpha", "model", "runs", "tail_mean", "tail_sd", "top"])


# --------------------------------------------------------------------------- one variant


def history_frame(results) -> pd.DataFrame:
    """Learning curves: one row per (run, epoch, series) with the value, long format."""
    rows = []
    for r in results:
        for series, values in r.get("training", {}).get("history", {}).items():
            for epoch, value in enumerate(values, start=1):
                rows.append({"fold": r["run"]["fold"], "repeat": r["run"]["repeat"], "epoch": epoch,
                             "series": series, "value": value})
    return pd.DataFrame(rows, columns=["fold", "repeat", "epoch", "series", "value"])


def confusion(results, threshold: float = 0.5) -> pd.DataFrame:
    """Confusion matrix of test predictions summed over runs (rows: truth, columns: prediction)."""
    counts = np.zeros((2, 2), dtype=int)
    for r in results:
        y = np.asarray(r["predictions"]["y_true"], dtype=int)
        pred = (np.asarray(r["predictions"]["p_malignant"], dtype=float) >= threshold).astype(int)
        np.add.at(counts, (y, pred), 1)
    names = ["benign", "malignant"]
    return pd.DataFrame(counts, index=pd.Index(names, name="truth"), columns=pd.Index(names, name="predicted"))


# --------------------------------------------------------------------------- data and provenance


def records_frame(dataset) -> pd.DataFrame:
    """One row per image: id, pathology, BI-RADS, score, patient, device (when the data give one)."""
    return pd.DataFrame([{
        "id": r.id, "pathology": "malignant" if r.pathology else "benign", "birads": r.birads or "missing",
        "birads_score": r.birads_score, "patient": r.patient,
        "device": (r.meta or {}).get("Device") or (r.meta or {}).get("device"),
    } for r in dataset.records], columns=["id", "pathology", "birads", "birads_score", "patient", "device"])


def data_statement(synthetic: bool, name: str) -> str:
    """One line saying what the numbers come from; SYNTHETIC in capitals when they are."""
    if synthetic:
        called = "" if name == "synthetic" else f" ({name})"
        return (f"SYNTHETIC ultrasound-like phantoms{called}, generated from a seed: "
                "not patient data, so no number here is evidence about breast ultrasound")
    return f"the {name} breast ultrasound dataset (real, biopsy-proven images)"


def learning_check(results, threshold: float = 0.5) -> dict:
    """How many runs gave every test image the same predicted class.

    Such a run's accuracy is the share of that class in its test fold, whatever else
    it learned, and its sensitivity and specificity are 1 and 0 (or 0 and 1): a reader has to know
    before reading Table 1. With random init and a few dozen SGD steps this is common.

    Args:
        results: result dicts (with "predictions").
        threshold: the decision threshold on p(malignant).

    Returns:
        dict: runs, one_class (runs whose test predictions are all one class),
        median_sd (median over runs of the sd of p(malignant) over the run's test
        images), text (one sentence for the book), by_model ((family, alpha) -> share
        of its runs that gave one class).
    """
    one_class, spreads, by_model = 0, [], {}
    for r in results:
        p = np.asarray(r["predictions"]["p_malignant"], dtype=float)
        if len(p) == 0:
            continue
        spreads.append(float(p.std()))
        above = p >= threshold
        flat = int(above.all() or not above.any())
        one_class += flat
        by_model.setdefault((r["run"]["family"], float(r["run"]["alpha"])), []).append(flat)
    n = len(spreads)
    median_sd = float(np.median(spreads)) if spreads else math.nan
    if n == 0:
        text = "No run has test predictions yet."
    elif one_class == 0:
        text = (f"Every one of the {n} runs predicted both classes among its test images "
                f"(median sd of p(malignant) over a run's test images: {median_sd:.3f}).")
    else:
        text = (f"In {one_class} of {n} runs every test image got the same predicted class, so those runs' "
                f"accuracy is just the share of that class in the fold and their sensitivity and specificity are "
                f"1 and 0 or 0 and 1 (median sd of p(malignant) over a run's test images: {median_sd:.3f}).")
    return {"runs": n, "one_class": one_class, "median_sd": median_sd, "text": text,
            "by_model": {key: float(np.mean(flags)) for key, flags in by_model.items()}}


def study_facts(results) -> dict:
    """What a results page must state, read from the result files themselves.

    Returns a dict: profile, dataset, synthetic, weights, backend, hardware, versions,
    runs, train_minutes (summed over runs, which may have trained two at a time),
    cpu_threads, citation, statement.
    """
    def joined(values):
        return ", ".join(sorted({str(v) for v in values if v is not None})) or "unknown"

    hardware, versions = set(), set()
    for r in results:
        hw = r.get("provenance", {}).get("hardware", {})
        hardware.add(f"{hw.get('accelerator', '?')} ({hw.get('cpus', '?')} CPU cores, {hw.get('machine', '?')})")
        v = r.get("provenance", {}).get("versions", {})
        versions.add(", ".join(f"{k} {v[k]}" for k in ("keras", "tensorflow", "torch", "jax") if v.get(k)))
    synthetic = any(r.get("dataset", {}).get("synthetic") for r in results)
    dataset = joined(r["run"]["dataset"] for r in results)
    seconds = sum((r.get("training", {}).get("seconds", {}).get("total") or 0) for r in results)
    return {
        "profile": joined(r["run"]["profile"] for r in results),
        "dataset": dataset,
        "synthetic": synthetic,
        "weights": joined(r.get("weights") for r in results),
        "backend": joined(r.get("provenance", {}).get("backend") for r in results),
        "hardware": joined(hardware),
        "versions": joined(versions),
        "runs": len(results),
        "train_minutes": seconds / 60,
        # Files written before sweeps had workers ran on the backend's default threads.
        "cpu_threads": joined(r.get("config", {}).get("cpu_threads", "backend default") for r in results),
        "citation": joined(r.get("dataset", {}).get("citation") for r in results),
        "statement": data_statement(synthetic, dataset),
    }


def _admonition(kind: str, title: str, body_html: str) -> str:
    """An admonition box as HTML: styled by the book's theme, plain but readable in JupyterLab."""
    return (f'<div class="admonition {kind}"><p class="admonition-title">{escape(title)}</p>'
            f"{body_html}</div>")


def data_html(synthetic: bool, name: str, citation: str | None = None) -> str:
    """A box saying what the data are: a warning box for SYNTHETIC phantoms."""
    body = f"<p>The numbers in this book come from {escape(data_statement(synthetic, name))}.</p>"
    if citation:
        body += f"<p>Dataset citation (required by its licence): {escape(citation)}</p>"
    if synthetic:
        return _admonition("warning", "SYNTHETIC data: not patient data", body)
    return _admonition("note", f"Data: {name}", body)


def facts_html(facts: dict) -> str:
    """The facts of `study_facts` as a box (a warning one for synthetic data)."""
    items = [("Data", facts["statement"]),
             ("Profile", f"{facts['profile']} ({facts['runs']} runs, "
                         f"{facts['train_minutes']:.1f} min of training summed over runs)"),
             ("Weights", facts["weights"]),
             ("Backend", f"{facts['backend']} ({facts['versions']})"),
             ("Hardware", f"{facts['hardware']}; CPU threads per training process: {facts['cpu_threads']}")]
    if facts["citation"] != "unknown":
        items.append(("Dataset citation (required by its licence)", facts["citation"]))
    body = "<ul>" + "".join(f"<li><strong>{k}:</strong> {escape(str(v))}</li>" for k, v in items) + "</ul>"
    title = "SYNTHETIC data: not patient data" if facts["synthetic"] else f"Study: {facts['dataset']}"
    return _admonition("warning" if facts["synthetic"] else "note", title, body)


def dataset_tables(records: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Summary tables of a `records_frame`: by pathology, BI-RADS x pathology, images per
    patient, and scanner x pathology when the data name scanners."""
    out = {}
    by = records.groupby("pathology")
    out["pathology"] = pd.DataFrame({"images": by.size(), "patients": by["patient"].nunique()})
    out["pathology"].loc["all"] = [len(records), records["patient"].nunique()]
    out["birads"] = pd.crosstab(records["birads"], records["pathology"], margins=True, margins_name="all")
    per_patient = records.groupby("patient").size().value_counts().sort_index()
    out["per_patient"] = per_patient.rename_axis("images per patient").rename("patients").to_frame()
    if records["device"].notna().any():
        out["device"] = pd.crosstab(records["device"].fillna("unknown"), records["pathology"], margins=True,
                                    margins_name="all")
    return out


def drop_text(points: pd.DataFrame) -> str:
    """The points A and B of `drop_points` in words."""
    parts = []
    for _, p in points.iterrows():
        a = f"A at α = {p['A']:g}" if pd.notna(p["A"]) else "no point A"
        b = f"B at α = {p['B']:g}" if pd.notna(p["B"]) else "no point B"
        parts.append(f"E-{p['family']}: mean accuracy peaks at α = {p['peak_alpha']:g} ({p['peak']:.3f}); {a}; {b}")
    return ("; ".join(parts) + ".") if parts else "No alpha spectrum was run."


def _alpha_pairs(frame: pd.DataFrame, column: str) -> list[tuple[str, float, float]]:
    """(family, value at alpha 0, value at alpha 0.25) for families that have both."""
    pairs = []
    for fam, g in frame.groupby("family", sort=False):
        at = {round(a, 6): v for a, v in zip(g["alpha"], g[column])}
        if 0.0 in at and 0.25 in at:
            pairs.append((fam, at[0.0], at[0.25]))
    return pairs


def tail_text(tails: pd.DataFrame) -> str:
    """Whether the spectra have fatter tails at alpha 0 than at 0.25, in words."""
    pairs = _alpha_pairs(tails, "tail_mean")
    if not pairs:
        return "No family has runs at both α = 0 and α = 0.25."
    fatter = sum(a0 > a1 for _, a0, a1 in pairs)
    detail = "; ".join(f"{fam}: {a0:.2f} at α = 0 against {a1:.2f} at α = 0.25" for fam, a0, a1 in pairs)
    return (f"The tail is higher (fatter) at α = 0 than at α = 0.25 for {fatter} of {len(pairs)} families "
            f"({detail}); the paper reports fatter tails at α = 0 for all three.")


def calibration_text(cal: pd.DataFrame) -> str:
    """ECE at alpha 0 against 0.25 per family, in words."""
    pairs = _alpha_pairs(cal, "ece_pooled")
    if not pairs:
        return "No family has runs at both α = 0 and α = 0.25."
    lower = sum(e1 < e0 for _, e0, e1 in pairs)
    detail = "; ".join(f"{fam}: {e0:.3f} → {e1:.3f}" for fam, e0, e1 in pairs)
    return (f"Pooled ECE from α = 0 to α = 0.25: {detail}. The entropy term lowered the ECE "
            f"for {lower} of {len(pairs)} families.")


def profiles_html() -> str:
    """The profiles of `breastnet.profiles` side by side, as an HTML table."""
    from .profiles import PROFILES

    keys = ("size", "epochs", "patience", "batch_size", "folds", "repeats", "subset", "alpha_small",
            "alpha_large", "weights")
    frame = pd.DataFrame({name: {k: str(getattr(p, k)) for k in keys} for name, p in PROFILES.items()})
    return frame.to_html(classes="table", border=0)


def html_table(frame: pd.DataFrame, digits: int = 3, index: bool = False) -> str:
    """A DataFrame as a plain HTML table the book's theme styles: floats rounded, NaN as '–'."""
    def cell(x):
        if x is None or (isinstance(x, (float, np.floating)) and np.isnan(x)):
            return "–"
        if isinstance(x, (float, np.floating)):
            return f"{x:.{digits}f}" if np.isfinite(x) else ("∞" if x > 0 else "−∞")
        return str(x)

    table = frame.map(cell).to_html(index=index, border=0, classes="table dataframe", escape=True)
    return f'<div class="table-wrap">{table}</div>'


# --------------------------------------------------------------------------- the method figure


def architecture_figure(path) -> None:
    """Draw the DSETM architecture (the paper's Fig. 1, redrawn) into an image file.

    Uses matplotlib's object API (no pyplot, no backend switch), so it is safe to call
    from any process.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig = Figure(figsize=(9, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 42)
    ax.axis("off")

    def box(x, y, w, h, text, color):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.4", fc=color, ec="#333", lw=1))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=10)

    def arrow(x0, y0, x1, y1):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=12, lw=1, color="#333"))

    box(1, 27, 14, 9, "ultrasound image\n+ lesion mask", "#eeeeee")
    box(21, 30, 14, 7, "OA patch\n(lesion box crop)", "#dbe9f6")
    box(21, 8, 14, 7, "HS patch\n(mask, 0 / 255)", "#fde3c8")
    box(41, 30, 17, 7, "DenseNet-121\n(ImageNet) + GAP", "#dbe9f6")
    box(41, 8, 17, 7, "DenseNet-121\n(ImageNet) + GAP", "#fde3c8")
    box(63, 19, 11, 7, "concatenate\n(features)", "#e2f0d9")
    box(80, 28, 18, 7, "softmax: benign /\nmalignant (biopsy)", "#e2f0d9")
    box(80, 10, 18, 7, "linear: BI-RADS\nscore (auxiliary)", "#e2f0d9")
    arrow(15.8, 32, 20.4, 33.5)
    arrow(15.8, 30, 20.4, 12)
    arrow(35.8, 33.5, 40.4, 33.5)
    arrow(35.8, 11.5, 40.4, 11.5)
    arrow(58.8, 33.5, 62.4, 24.5)
    arrow(58.8, 11.5, 62.4, 20.5)
    arrow(74.8, 23.5, 79.4, 31)
    arrow(74.8, 21.5, 79.4, 13.5)
    ax.text(89, 39, "loss: CE − (α/b)·H(p)  (eq. 3)", ha="center", fontsize=10)
    ax.text(89, 5, "+ MSE (eq. 1, multi-task only)", ha="center", fontsize=10)
    ax.text(49.5, 1, "DSSL: OA stream only · DSTL: both streams · DMTL: both + BI-RADS head · E-: α > 0",
            ha="center", fontsize=10, color="#444")
    fig.savefig(path, dpi=130)
