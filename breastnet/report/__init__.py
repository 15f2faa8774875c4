"""The analysis behind the book: tables, paired tests, calibration, feature spectra.

The notebooks in `notebooks/` stay thin: every number the book shows is computed
here from result files (`breastnet.study.results`), and `tests/test_report.py` checks
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

Comparisons rest on the test AUC (threshold-free) first and report accuracy beside it:
accuracy at the 0.5 threshold can hide whether a model ranks at all (see PRIMARY_REASON).
The descriptor floor ("Descriptors", `breastnet.model.variants.REFERENCE_ROWS`) is a row of
Table 1 and the baseline of a fourth question, but has no alpha, no learning curve and no
penultimate features, so the alpha spectra and Fig. 2c skip it.

This module imports neither Keras nor a backend, so reading results is fast.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..model.variants import REFERENCE_ROWS, STUDY_ROWS, TABLE1, VARIANTS, family
from ..study.results import read_features
from ..train.metrics import ECE_BINS, expected_calibration_error

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

#: Labels of our reference rows: not in the paper, listed after its rows.
REFERENCE_ROW_LABELS = {"Descriptors": "Hand-crafted descriptors + logistic regression (floor)"}

#: The paper's columns of Table 1.
TABLE1_METRICS = ("accuracy", "sensitivity", "specificity", "rmse", "cc")
#: Columns of ours beside them (the paper has no values): accuracy at the 0.5 threshold hides
#: whether a model ranks at all, AUC does not; balanced accuracy does not reward a majority class.
ADDED_METRICS = ("auc", "balanced_accuracy")
#: Every column of the study's Table 1.
STUDY_METRICS = TABLE1_METRICS + ADDED_METRICS
#: Metrics that depend on the 0.5 decision threshold: a run that gives every test image one
#: class has a class share as accuracy and 1 / 0 as sensitivity / specificity.
THRESHOLD_METRICS = ("accuracy", "sensitivity", "specificity", "balanced_accuracy")
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
#: Table 1 rows with both streams (OA and HS patches): DSTL, E-DSTL, DMTL, E-DMTL.
TWO_STREAM = tuple(name for name in TABLE1 if set(VARIANTS[name].streams) == {"oa", "hs"})


def is_network(name: str) -> bool:
    """Whether a variant or family name is a trained network (False for the descriptor floor).

    Names outside `VARIANTS` count as networks (result files of older variants)."""
    variant = VARIANTS.get(name) or VARIANTS.get(family(name))
    return True if variant is None else variant.learned


def row_key(name: str) -> tuple[str, float]:
    """The (family, alpha) a Table 1 row is trained as: E-DSSL -> ("DSSL", 0.25)."""
    return family(name), float(VARIANTS[name].alpha)


def model_label(family: str, alpha: float) -> str:
    """A readable name of (family, alpha): DSSL, E-DSSL (α=0.25), E-DMTL (α=2), Descriptors (floor)."""
    if not is_network(family):
        return f"{family} (floor)"
    if alpha == 0 or family not in FAMILIES:
        return family
    return f"E-{family} (α={alpha:g})"


def row_label(name: str) -> str:
    """The Table 1 label of a row: the paper's (shortened) or our reference row's."""
    return PAPER_ROW_LABELS.get(name) or REFERENCE_ROW_LABELS.get(name) or name


# --------------------------------------------------------------------------- runs


def runs_frame(results) -> pd.DataFrame:
    """One row per run: identity, sizes, weights, timings and every metric.

    Args:
        results: result dicts (from `breastnet.study.sweep.run_sweep` or `results.load_results`).

    Returns:
        DataFrame with columns variant, family, alpha, fold, repeat, seed, profile,
        dataset, synthetic, n_train, n_val, n_test, weights, backend, epochs_run,
        best_epoch, seconds, table1 (the Table 1 row name of (family, alpha), or None),
        path, and the metrics of RUN_METRICS (NaN where absent).
    """
    lookup = {row_key(name): name for name in STUDY_ROWS}
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


def table1(runs: pd.DataFrame, variants=STUDY_ROWS, metrics=STUDY_METRICS, level: float = 0.95) -> pd.DataFrame:
    """Table 1 rebuilt, long format: one row per (variant, metric).

    The paper's rows come first in the order given, our reference rows (not in TABLE1,
    e.g. the descriptor floor) after them.

    Columns: variant, label, reference (a row of ours, not in the paper), metric, n (runs
    with a value), mean, sd, ci_low, ci_high (corrected resampled t interval, clipped to the
    metric's range: with few runs it can be wider than [0, 1]), paper (NaN where the paper
    has no number), in_paper (the paper reports this metric for this row), applies (the
    metric exists for this variant: RMSE and CC only for multi-task).
    """
    ordered = [v for v in variants if v in TABLE1] + [v for v in variants if v not in TABLE1]
    rows = []
    for name in ordered:
        sel = select(runs, name)
        multitask = VARIANTS[name].multitask
        reference = name not in TABLE1
        for metric in metrics:
            applies = metric not in ("rmse", "cc") or multitask
            values = sel[metric].to_numpy(dtype=float) if applies and len(sel) else np.array([])
            ct = corrected_t(values, split_ratio(sel) if len(sel) else 0.0, level)
            low, high = METRIC_RANGES.get(metric, (-math.inf, math.inf))
            paper = PAPER_TABLE1.get(name, {}).get(metric)
            rows.append({"variant": name, "label": row_label(name), "reference": reference, "metric": metric,
                         "n": ct.n, "mean": ct.mean, "sd": ct.sd,
                         "ci_low": max(ct.ci_low, low) if pd.notna(ct.ci_low) else ct.ci_low,
                         "ci_high": min(ct.ci_high, high) if pd.notna(ct.ci_high) else ct.ci_high,
                         "paper": math.nan if paper is None else paper,
                         "in_paper": not reference and metric in TABLE1_METRICS and applies,
                         "applies": applies})
    return pd.DataFrame(rows, columns=["variant", "label", "reference", "metric", "n", "mean", "sd", "ci_low",
                                       "ci_high", "paper", "in_paper", "applies"])


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
    paper's value beside them (below, in the same cell, so that the table fits a page).

    The paper's columns come first; our added columns (AUC, balanced accuracy) follow under
    their own header, with "paper —" in the paper's rows (the paper has no value). Our
    reference rows (the descriptor floor) follow the paper's rows, marked as not in the paper.
    """
    present = list(dict.fromkeys(t1["metric"]))
    paper_cols = [m for m in present if m in TABLE1_METRICS]
    added_cols = [m for m in present if m not in TABLE1_METRICS]
    metrics = paper_cols + added_cols
    added_class = ' class="added"'
    labels = "".join(f'<th data-metric="{m}"{added_class if m in added_cols else ""}>'
                     f"{METRIC_LABELS.get(m, m)}</th>" for m in metrics)
    if paper_cols and added_cols:
        head = (f'<tr><th class="model" rowspan="2">Model</th>'
                f'<th class="group" colspan="{len(paper_cols)}">The paper\'s metrics</th>'
                f'<th class="group added" colspan="{len(added_cols)}">Added here (not in the paper)</th></tr>'
                f"<tr>{labels}</tr>")
    else:
        head = f'<tr><th class="model">Model</th>{labels}</tr>'
    body = []
    for name, group in t1.groupby("variant", sort=False):
        by_metric = {r["metric"]: r for _, r in group.iterrows()}
        runs = max(int(r["n"]) for r in by_metric.values())
        reference = bool(group["reference"].iloc[0]) if "reference" in group else name not in TABLE1
        cells = []
        for m in metrics:
            r = by_metric[m]
            # "na": the metric does not exist for this model; "empty": it does, but no run has it
            cls = "na" if not r["applies"] else ("ours" if r["n"] else "ours empty")
            if pd.notna(r["paper"]):
                paper = f'<br><span class="paper">paper {_fmt(r["paper"], 4)}</span>'
            elif r["applies"] and not reference:  # a row of the paper, a column it does not have
                paper = '<br><span class="paper">paper —</span>'
            else:
                paper = ""
            cells.append(f'<td class="{cls}" data-metric="{m}">{format_cell(r)}{paper}</td>')
        mark = '<br><span class="reference">reference row of ours, not in the paper</span>' if reference else ""
        label = (f'{escape(group["label"].iloc[0])}{mark}<br>'
                 f'<span class="runs">{runs} run{"s" if runs != 1 else ""}</span>')
        row_class = ' class="reference"' if reference else ""
        body.append(f'<tr data-variant="{name}"{row_class}><td class="model">{label}</td>{"".join(cells)}</tr>')
    return (f'<div class="table1-wrap"><table id="{table_id}" class="table table1">'
            f'<thead>{head}</thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


# --------------------------------------------------------------------------- the claims


@dataclass(frozen=True)
class Claim:
    """A claim tested as paired differences `better - baseline` on the same folds.

    Attributes:
        key: short name (glue keys claim_<key>_...).
        title: the claim in words.
        paper_text: what the paper says (or, for a question of ours, why we ask it).
        pairs: (better, baseline) Table 1 rows compared.
        in_paper: a claim of the paper (False: a question of ours beside them).
    """

    key: str
    title: str
    paper_text: str
    pairs: tuple[tuple[str, str], ...]
    in_paper: bool = True


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
    Claim("floor", "The networks beat hand-crafted shape and echo descriptors",
          "Not a claim of the paper but a question of ours: the paper compares its networks with other "
          "networks only. Each two-stream network against a logistic regression on eleven hand-crafted "
          "lesion descriptors (shape, margin, echo pattern, posterior features), on the same folds.",
          tuple((name, "Descriptors") for name in TWO_STREAM), in_paper=False),
)

#: The metric the verdicts rest on, and the one reported beside it.
PRIMARY_METRIC = "auc"
SECONDARY_METRIC = "accuracy"
#: Why the verdicts rest on AUC (for the book).
PRIMARY_REASON = ("AUC is threshold-free: it measures whether a model ranks malignant images above "
                  "benign ones. Accuracy at the 0.5 threshold can hide that: a run that puts every test "
                  "image on one side of 0.5 scores the share of one class, whatever its ranking.")


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


def claims_table(runs: pd.DataFrame, metrics=(PRIMARY_METRIC, SECONDARY_METRIC), level: float = 0.95,
                 claims=CLAIMS) -> pd.DataFrame:
    """Every comparison of `claims` on every metric: paired differences and their corrected t-test.

    Args:
        runs: `runs_frame` output.
        metrics: metric columns; the first is the primary one the verdicts rest on
            (AUC by default, see PRIMARY_REASON), the others are reported beside it.
        level: confidence level of the intervals.
        claims: the claims (default CLAIMS).

    Returns:
        Long format, one row per (comparison, metric): claim, comparison, better, baseline,
        metric, primary, n (J), mean_diff, sd, ci_low, ci_high, t, df, p, ratio, paper_diff
        (difference of the paper's Table 1 means; None where the paper has no value), result.
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    rows = []
    for claim in claims:
        for better, baseline in claim.pairs:
            for metric in metrics:
                pairs = paired_differences(runs, better, baseline, metric)
                ratio = split_ratio(pairs) if len(pairs) else 0.0
                ct = corrected_t(pairs["diff"], ratio, level)
                paper_b = PAPER_TABLE1.get(baseline, {}).get(metric)
                paper_a = PAPER_TABLE1.get(better, {}).get(metric)
                rows.append({"claim": claim.key, "comparison": f"{better} − {baseline}", "better": better,
                             "baseline": baseline, "metric": metric, "primary": metric == metrics[0],
                             "n": ct.n, "mean_diff": ct.mean, "sd": ct.sd, "ci_low": ct.ci_low,
                             "ci_high": ct.ci_high, "t": ct.t, "df": ct.df, "p": ct.p, "ratio": ratio,
                             "paper_diff": (None if paper_a is None or paper_b is None
                                            else round(paper_a - paper_b, 4)),
                             "result": comparison_result(ct)})
    columns = ["claim", "comparison", "better", "baseline", "metric", "primary", "n", "mean_diff", "sd", "ci_low",
               "ci_high", "t", "df", "p", "ratio", "paper_diff", "result"]
    return pd.DataFrame(rows, columns=columns)


def _metric_word(metric: str) -> str:
    return "AUC" if metric == "auc" else METRIC_LABELS.get(metric, metric).lower()


def _comparison_text(r, detail: bool = True) -> str:
    """One comparison of `claims_table` in words: effect, 95 % CI, p (and t, df with `detail`)."""
    word = _metric_word(r["metric"])
    paper = f"; paper {r['paper_diff']:+.4f}" if pd.notna(r["paper_diff"]) else ""
    if r["n"] < 2:
        return f"{r['comparison']}: {r['n']} paired run(s) with {word} values, not enough for a test"
    if pd.isna(r["ci_low"]):
        return (f"{r['comparison']}: {r['mean_diff']:+.3f} {word} in each of the J = {r['n']} paired runs, "
                f"no spread, no test{paper}")
    stats_ = f"t = {_fmt(r['t'], 2)}, df = {r['df']}, " if detail else ""
    return (f"{r['comparison']}: {r['mean_diff']:+.3f} {word} (95 % CI {_fmt(r['ci_low'])} to "
            f"{_fmt(r['ci_high'])}, {stats_}p = {_fmt(r['p'])}, J = {r['n']}{paper})")


def _no_skill(names, metric: str, one_class_share: dict, constant_share: dict) -> list[str]:
    """Models of `names` at least half of whose runs cannot show skill on `metric`.

    Threshold metrics: runs that gave every test image one class (their accuracy is a class
    share). AUC: runs that gave every test image the same probability (no ranking at all)."""
    share = one_class_share if metric in THRESHOLD_METRICS else constant_share if metric == "auc" else {}
    return sorted({name for name in names if share.get(row_key(name), 0.0) >= 0.5},
                  key=lambda n: STUDY_ROWS.index(n) if n in STUDY_ROWS else len(STUDY_ROWS))


def claim_verdicts(table: pd.DataFrame, synthetic: bool, one_class_share: dict | None = None,
                   constant_share: dict | None = None, claims=CLAIMS) -> dict[str, dict]:
    """One verdict per claim: "supported", "not supported" or "not testable here", with evidence.

    The verdict rests on the primary metric of `table` (AUC by default, see PRIMARY_REASON);
    the other metrics (accuracy) are reported beside it. A comparison supports its claim when
    its corrected 95 % interval lies above 0; a claim with several comparisons (the entropy
    term, the descriptor floor) is supported when all do. On synthetic phantoms nothing is
    evidence about breast ultrasound, so every claim is "not testable here" and the
    statistics are reported as a pipeline check only. A claim is also "not testable here"
    when, for a model it compares, at least half of the runs cannot show skill on the primary
    metric: for a threshold metric (accuracy), runs that gave every test image one class
    (`learning_check`'s "by_model"): their accuracy is a class share; for AUC, runs that gave
    every test image the same probability (`learning_check`'s "by_model_constant").

    Args:
        table: `claims_table` output.
        synthetic: whether the data are synthetic.
        one_class_share: (family, alpha) -> share of one-class runs; None: not checked.
        constant_share: (family, alpha) -> share of runs with one probability for every test
            image; None: not checked.
        claims: the claims of `table` (default CLAIMS).

    Returns:
        claim key -> dict: title, paper, in_paper, metric (primary), verdict, why, effect (the
        primary differences with 95 % CI and p, in words), secondary (the other metrics' differences,
        in words), evidence (both, with t and df), comparisons (one dict per primary comparison:
        comparison, n, effect, ci_low, ci_high, p).
    """
    out = {}
    one_class_share = one_class_share or {}
    constant_share = constant_share or {}
    if "primary" not in table:
        table = table.assign(primary=True)
    for claim in claims:
        rows = table[table["claim"] == claim.key]
        primary, secondary = rows[rows["primary"].astype(bool)], rows[~rows["primary"].astype(bool)]
        metric = primary["metric"].iloc[0] if len(primary) else PRIMARY_METRIC
        word = _metric_word(metric)
        names = [name for pair in claim.pairs for name in pair]
        testable, supported, missing = True, True, False
        for _, r in primary.iterrows():
            if r["n"] < 2:
                testable, missing = False, True
            elif pd.isna(r["ci_low"]):
                testable = False
            else:
                supported &= bool(r["ci_low"] > 0)
        if not len(primary):
            testable, missing = False, True
        degenerate = _no_skill(names, metric, one_class_share, constant_share)
        if synthetic:
            verdict = "not testable here"
            why = "the data are SYNTHETIC phantoms; the statistics only check the pipeline"
        elif degenerate and metric in THRESHOLD_METRICS:
            verdict = "not testable here"
            why = (f"at least half of the runs of {', '.join(degenerate)} gave every test image one class, "
                   f"so their {word} is a class share, not a skill")
        elif degenerate:
            verdict = "not testable here"
            why = (f"at least half of the runs of {', '.join(degenerate)} gave every test image the same "
                   f"probability, so their {word} measures no ranking")
        elif not testable:
            verdict = "not testable here"
            why = ("the runs it needs are missing from this profile or dataset (or have no " + word + ")"
                   if missing else "a comparison has the same difference in every run, so no test is defined")
        elif supported:
            verdict = "supported"
            why = (f"every paired {word} difference has its 95 % interval above 0" if len(primary) > 1 else
                   f"the paired {word} difference has its 95 % interval above 0")
        else:
            verdict = "not supported"
            why = (f"a paired {word} difference has a 95 % interval reaching 0 or below" if len(primary) > 1 else
                   f"the paired {word} difference has a 95 % interval reaching 0 or below")
        effect = "; ".join(_comparison_text(r, detail=False) for _, r in primary.iterrows())
        second_parts = []
        for _, r in secondary.iterrows():
            text = _comparison_text(r, detail=False)
            flat = _no_skill((r["better"], r["baseline"]), r["metric"], one_class_share, {})
            if flat:
                text += (f" [at least half of the runs of {', '.join(flat)} gave one class to every test image: "
                         f"{_metric_word(r['metric'])} there is a class share]")
            second_parts.append(text)
        secondary_text = "; ".join(second_parts)
        evidence = "; ".join(_comparison_text(r) for _, r in primary.iterrows())
        if secondary_text:
            evidence += f". Beside it, {', '.join(dict.fromkeys(_metric_word(m) for m in secondary['metric']))}: " \
                        f"{secondary_text}"
        out[claim.key] = {
            "title": claim.title, "paper": claim.paper_text, "in_paper": claim.in_paper, "metric": metric,
            "verdict": verdict, "why": why, "effect": effect or "no comparison", "secondary": secondary_text,
            "evidence": evidence or "no comparison",
            "comparisons": [{"comparison": r["comparison"], "n": int(r["n"]), "effect": r["mean_diff"],
                             "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p": r["p"]}
                            for _, r in primary.iterrows()]}
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
                                                                  "auc", "rmse", "cc"),
                level: float = 0.95) -> pd.DataFrame:
    """Mean and corrected CI of each metric against alpha, per family (long format).

    Families that are not networks (the descriptor floor has no alpha) are skipped."""
    rows = []
    for fam in families:
        if not is_network(fam):
            continue
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
    """Reliability diagram data: equal-width bins of p, as `breastnet.train.metrics` bins them.

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


def calibration_summary(results, families=FAMILIES, alphas=(0.0, 0.25), n_bins: int = ECE_BINS,
                        reference=tuple(REFERENCE_ROWS)) -> pd.DataFrame:
    """ECE and Brier of alpha 0 against alpha 0.25, per family, and of our reference rows.

    Args:
        results: result dicts.
        families, alphas: the network families and entropy weights compared.
        n_bins: ECE bins.
        reference: reference rows (the descriptor floor) added after the families, at
            alpha 0 only; () for none.

    Columns: family, alpha, model, runs, ece_mean (mean of the runs' ECE), ece_sd,
    ece_pooled (ECE of every run's test predictions pooled), brier_mean, mean_entropy.
    """
    rows = []
    plan = [(fam, alphas) for fam in families if is_network(fam)]
    plan += [(row_key(name)[0], (row_key(name)[1],)) for name in reference if name in VARIANTS]
    for fam, fam_alphas in plan:
        for alpha in fam_alphas:
            sel = [r for r in results if r["run"]["family"] == fam and math.isclose(r["run"]["alpha"], alpha)]
            if not sel:
                continue
            y = np.concatenate([r["predictions"]["y_true"] for r in sel]).astype(int)
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
    that do not carry their "path" (those returned by `run_sweep`). Runs that are not
    networks are skipped even when `families` names them: the descriptor floor's features
    are its eleven standardised descriptors, not penultimate-layer features. Columns: family,
    alpha, model, fold, repeat, index (1-based), log_eigenvalue.
    """
    frames = []
    for r in results:
        fam, alpha = r["run"]["family"], float(r["run"]["alpha"])
        if fam not in families or not is_network(fam) or not any(math.isclose(alpha, a) for a in alphas):
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
    """Learning curves: one row per (run, epoch, series) with the value, long format.

    Series are whatever the result files hold: loss (training objective), val_ce, val_auc,
    val_loss in current files, loss and val_loss in older ones. Missing values (written as
    null, e.g. an AUC of a one-class validation part) are NaN.
    """
    rows = []
    for r in results:
        for series, values in (r.get("training", {}).get("history") or {}).items():
            for epoch, value in enumerate(values or [], start=1):
                rows.append({"fold": r["run"]["fold"], "repeat": r["run"]["repeat"], "epoch": epoch,
                             "series": series, "value": math.nan if value is None else float(value)})
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


def _is_network_result(r) -> bool:
    return is_network(r["run"].get("family") or r["run"].get("variant", ""))


def _share(count: int, total: int) -> str:
    return f"{count} of {total}"


def learning_check(results, threshold: float = 0.5, small_alpha: float = 1.0, tie_tol: float = 1e-9) -> dict:
    """How many network runs gave every test image the same predicted class.

    Such a run's accuracy is the share of that class in its test fold, whatever else
    it learned, and its sensitivity and specificity are 1 and 0 (or 0 and 1): a reader has
    to know before reading Table 1. Its AUC can still show a ranking, unless it gave every
    test image the same probability. Runs with alpha > `small_alpha` are counted apart as
    well: a large entropy weight pushes outputs towards 0.5 by design (the paper's point B).

    Args:
        results: result dicts (with "predictions"); runs of the descriptor floor are not
            counted in the totals, but have their shares in by_model.
        threshold: the decision threshold on p(malignant).
        small_alpha: runs with alpha <= this are also counted on their own.
        tie_tol: predictions spanning at most this range count as one probability.

    Returns:
        dict: runs, one_class (network runs whose test predictions are all one class),
        runs_small_alpha, one_class_small_alpha (the same over runs with alpha <= small_alpha),
        constant (network runs with one probability for every test image), small_alpha,
        median_sd (median over network runs of the sd of p(malignant) over the run's test
        images), text (one sentence for the book), by_model ((family, alpha) -> share of
        its runs that gave one class), by_model_constant ((family, alpha) -> share of its
        runs with one probability for every test image).
    """
    runs = one_class = small = one_class_small = constant = 0
    spreads, by_model, by_model_constant = [], {}, {}
    for r in results:
        p = np.asarray(r["predictions"]["p_malignant"], dtype=float)
        if len(p) == 0:
            continue
        above = p >= threshold
        flat = int(above.all() or not above.any())
        tied = int(float(np.ptp(p)) <= tie_tol)
        key = (r["run"]["family"], float(r["run"]["alpha"]))
        by_model.setdefault(key, []).append(flat)
        by_model_constant.setdefault(key, []).append(tied)
        if not _is_network_result(r):
            continue
        runs += 1
        one_class += flat
        constant += tied
        spreads.append(float(p.std()))
        if key[1] <= small_alpha:
            small += 1
            one_class_small += flat
    median_sd = float(np.median(spreads)) if spreads else math.nan
    spread = f"median sd of p(malignant) over a run's test images: {median_sd:.3f}"
    if runs == 0:
        text = "No network run has test predictions yet."
    elif one_class == 0:
        text = f"Every one of the {runs} network runs predicted both classes among its test images ({spread})."
    else:
        text = (f"In {_share(one_class, runs)} network runs every test image got the same predicted class "
                f"({_share(one_class_small, small)} runs with α ≤ {small_alpha:g}), so those runs' accuracy is "
                f"just the share of that class in the fold and their sensitivity and specificity are 1 and 0 or "
                f"0 and 1; their AUC can still show a ranking ({spread}).")
        if constant:
            text += (f" {_share(constant, runs)} runs gave every test image the same probability, so they rank "
                     f"nothing at all.")
    return {"runs": runs, "one_class": one_class, "runs_small_alpha": small,
            "one_class_small_alpha": one_class_small, "constant": constant, "small_alpha": small_alpha,
            "median_sd": median_sd, "text": text,
            "by_model": {key: float(np.mean(flags)) for key, flags in by_model.items()},
            "by_model_constant": {key: float(np.mean(flags)) for key, flags in by_model_constant.items()}}


def learning_summary(runs: pd.DataFrame, check: dict | None = None, rows=TWO_STREAM,
                     floor: str = "Descriptors") -> dict:
    """The numbers of "Did the networks learn?": test AUC of the two-stream rows against the floor.

    Args:
        runs: `runs_frame` output.
        check: `learning_check` output, whose one-class counts are repeated in the text; None: none.
        rows: the network rows pooled (default the two-stream rows DSTL, E-DSTL, DMTL, E-DMTL).
        floor: the reference row they are held against.

    Returns:
        dict: networks_auc (mean test AUC over every run of `rows` that has one), networks_runs,
        by_row (row -> mean AUC, NaN where no run), floor_auc, floor_runs, rows (names),
        networks_text, floor_text (the two numbers in words, whatever they are), text (all of it).
    """
    def auc_of(sel):
        values = sel["auc"].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        return (float(values.mean()) if len(values) else math.nan), len(values)

    by_row = {name: auc_of(select(runs, name))[0] for name in rows}
    pooled = pd.concat([select(runs, name) for name in rows]) if rows else runs.iloc[:0]
    networks_auc, networks_runs = auc_of(pooled)
    floor_auc, floor_runs = auc_of(select(runs, floor)) if floor in VARIANTS else (math.nan, 0)
    names = ", ".join(rows)
    if networks_runs:
        networks_text = (f"The two-stream networks ({names}) reach a mean test AUC of {networks_auc:.3f} over "
                         f"their {networks_runs} runs")
        done = [f"{name} {v:.3f}" for name, v in by_row.items() if not math.isnan(v)]
        networks_text += f" ({'; '.join(done)})."
    else:
        networks_text = f"No run of the two-stream networks ({names}) has a test AUC."
    if floor_runs:
        floor_text = (f"The hand-crafted descriptors with logistic regression (the floor, not in the paper) reach "
                      f"{floor_auc:.3f} over {floor_runs} runs on the same folds.")
    else:
        floor_text = "The hand-crafted descriptor floor has no run with a test AUC here."
    parts = [check["text"]] if check else []
    return {"networks_auc": networks_auc, "networks_runs": networks_runs, "by_row": by_row,
            "floor_auc": floor_auc, "floor_runs": floor_runs, "rows": list(rows),
            "networks_text": networks_text, "floor_text": floor_text,
            "text": " ".join(parts + [networks_text, floor_text])}


#: History series of a learning-curve run: (split, BatchNorm statistics) -> history key.
CURVE_SERIES = {("validation", "moving"): "val_auc_moving", ("validation", "precise"): "val_auc_precise",
                ("test", "moving"): "test_auc_moving", ("test", "precise"): "test_auc_precise"}
CURVE_COLUMNS = ["variant", "family", "alpha", "fold", "repeat", "best_epoch", "bn_stats", "monitor", "final_auc",
                 "epoch", "split", "statistics", "auc"]


def curve_result(results):
    """The result of the study's learning-curve run (`training.learning_curve` true), or None.

    A study has one (the profile's `curve_variant`, repeat 0, fold 0); with several, the
    first by (repeat, fold) is taken."""
    found = [r for r in results if r.get("training", {}).get("learning_curve")]
    if not found:
        return None
    return min(found, key=lambda r: (r["run"].get("repeat", 0), r["run"].get("fold", 0)))


def learning_curve_frame(results) -> pd.DataFrame:
    """Validation and test AUC per epoch of the learning-curve run, with moving and precise statistics.

    Tidy: one row per (epoch, split, statistics); split "validation" or "test", statistics
    "moving" (Keras' moving averages) or "precise" (re-estimated on the training images).
    Columns: variant, family, alpha, fold, repeat, best_epoch (1-based, restored by early
    stopping), bn_stats (the statistics the run was evaluated with), monitor (early stopping's),
    final_auc (the run's reported test AUC), epoch (1-based), split, statistics, auc (NaN
    where undefined). Empty (with these columns) when no run recorded a curve.
    """
    r = curve_result(results)
    if r is None:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    history = r["training"].get("history") or {}
    config = r.get("config") or {}
    stopping = config.get("early_stopping") or {}
    final = (r.get("metrics") or {}).get("auc")
    rows = []
    for (split, statistics), key in CURVE_SERIES.items():
        for epoch, value in enumerate(history.get(key) or [], start=1):
            rows.append({"variant": r["run"]["variant"], "family": r["run"]["family"],
                         "alpha": float(r["run"]["alpha"]), "fold": r["run"]["fold"], "repeat": r["run"]["repeat"],
                         "best_epoch": r["training"].get("best_epoch"), "bn_stats": config.get("bn_stats"),
                         "monitor": stopping.get("monitor"), "final_auc": math.nan if final is None else float(final),
                         "epoch": epoch, "split": split, "statistics": statistics,
                         "auc": math.nan if value is None else float(value)})
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def learning_curve_text(frame: pd.DataFrame) -> str:
    """The caption of the learning-curve figure, from its numbers."""
    if not len(frame):
        return ("No run of this study recorded a learning curve (the profile names no curve variant, "
                "or the result files predate the curve).")
    first = frame.iloc[0]
    last = int(frame["epoch"].max())
    at = frame.set_index(["epoch", "split", "statistics"])["auc"]

    def auc(epoch, split, statistics):
        return at.get((epoch, split, statistics), math.nan)

    text = (f"{model_label(first['family'], first['alpha'])}, repeat {first['repeat']}, fold {first['fold']}: "
            f"{last} epoch{'s' if last != 1 else ''} trained. At the last epoch the test AUC is "
            f"{_fmt(auc(last, 'test', 'precise'))} with precise BatchNorm statistics and "
            f"{_fmt(auc(last, 'test', 'moving'))} with the moving averages (validation: "
            f"{_fmt(auc(last, 'validation', 'precise'))} and {_fmt(auc(last, 'validation', 'moving'))}).")
    best = first["best_epoch"]
    if best is not None and pd.notna(best):
        best = int(best)
        used = first["bn_stats"] if first["bn_stats"] in ("moving", "precise") else "precise"
        monitor = f" on {first['monitor']}" if first["monitor"] else ""
        text += (f" Early stopping{monitor} restored epoch {best}, whose test AUC is "
                 f"{_fmt(auc(best, 'test', used))} with the {used} statistics the run is evaluated with")
        text += (f" (the run's reported test AUC: {_fmt(first['final_auc'])})." if pd.notna(first["final_auc"])
                 else ".")
    else:
        text += " No epoch was restored by early stopping (the run had no validation part)."
    return text


def plot_learning_curve(frame: pd.DataFrame, ax) -> None:
    """Draw `learning_curve_frame` on a matplotlib axes: AUC per epoch, colour = split
    (validation, test), line style = statistics (precise solid, moving dashed), the restored
    epoch dotted and chance (0.5) grey."""
    colors = {"validation": "tab:blue", "test": "tab:orange"}
    styles = {"precise": "-", "moving": "--"}
    for (split, statistics), g in frame.groupby(["split", "statistics"], sort=False):
        g = g.sort_values("epoch")
        ax.plot(g["epoch"], g["auc"], marker="o", ms=3, color=colors.get(split), ls=styles.get(statistics, "-"),
                label=f"{split}, {statistics} statistics")
    ax.axhline(0.5, color="grey", lw=1, ls=":")
    if len(frame) and pd.notna(frame["best_epoch"].iloc[0]):
        ax.axvline(int(frame["best_epoch"].iloc[0]), color="black", lw=1, ls=":", label="restored epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("AUC")
    ax.set_ylim(0, 1)
    if len(frame):
        ax.set_xlim(0.5, frame["epoch"].max() + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8, loc="lower right")


def _learning_rate(config: dict):
    """The initial learning rate of a run's config: the profile's field, else read from the
    optimizer's description ("SGD(lr=0.001, ...)"); None when neither says."""
    rate = (config.get("profile") or {}).get("learning_rate")
    if rate is not None:
        return f"{float(rate):g}"
    match = re.search(r"lr=([0-9.eE+-]+)", str(config.get("optimizer") or ""))
    return f"{float(match.group(1)):g}" if match else None


def _early_stopping(config: dict):
    """A run's early stopping in words: 'val_ce, patience 2, from epoch 1'; None when not recorded."""
    stop = config.get("early_stopping")
    if not stop:
        return None
    parts = [str(stop.get("monitor", "?"))]
    if stop.get("patience") is not None:
        parts.append(f"patience {stop['patience']}")
    if stop.get("min_epochs") is not None:
        parts.append(f"min epochs {stop['min_epochs']}")
    return ", ".join(parts)


def study_facts(results) -> dict:
    """What a results page must state, read from the result files themselves.

    Weights and training choices (BatchNorm statistics, crop, learning rate, early stopping)
    are read from the networks' results; the descriptor floor has none (its weights are the
    study's only when no network ran), and files written before a choice was recorded say
    "not recorded".

    Returns a dict: profile, dataset, synthetic, weights, backend, hardware, versions,
    runs, train_minutes (summed over runs, which may have trained two at a time),
    cpu_threads, citation, statement, bn_stats, bn_momentum, crop, learning_rate,
    early_stopping (monitor, patience, min epochs in words), monitor, min_epochs.
    """
    def joined(values, missing="unknown"):
        return ", ".join(sorted({str(v) for v in values if v is not None})) or missing

    net_results = [r for r in results if _is_network_result(r)]
    nets = [r.get("config") or {} for r in net_results]
    stops = [c.get("early_stopping") or {} for c in nets]

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
        # The floor has no weights ("none (hand-crafted descriptors)"): the networks' are the study's.
        "weights": joined(r.get("weights") for r in (net_results or results)),
        "backend": joined(r.get("provenance", {}).get("backend") for r in results),
        "hardware": joined(hardware),
        "versions": joined(versions),
        "runs": len(results),
        "train_minutes": seconds / 60,
        # Files written before sweeps had workers ran on the backend's default threads.
        "cpu_threads": joined(r.get("config", {}).get("cpu_threads", "backend default") for r in results),
        "citation": joined(r.get("dataset", {}).get("citation") for r in results),
        "statement": data_statement(synthetic, dataset),
        "bn_stats": joined((c.get("bn_stats") for c in nets), "not recorded"),
        "bn_momentum": joined((c.get("bn_momentum") for c in nets), "not recorded"),
        "crop": joined((c.get("crop") for c in nets), "not recorded"),
        "learning_rate": joined((_learning_rate(c) for c in nets), "not recorded"),
        "early_stopping": joined((_early_stopping(c) for c in nets), "not recorded"),
        "monitor": joined((s.get("monitor") for s in stops), "not recorded"),
        "min_epochs": joined((s.get("min_epochs") for s in stops), "not recorded"),
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
    if "bn_stats" in facts:
        words = {"precise": "precise (re-estimated on each run's training images)",
                 "moving": "moving (Keras' moving averages)",
                 "pad": "pad (the square patch keeps the lesion's width/height ratio)",
                 "stretch": "stretch (the lesion box is resized to a square)"}
        bn = f"{words.get(facts['bn_stats'], facts['bn_stats'])}; moving-average momentum {facts['bn_momentum']}"
        items += [("BatchNorm statistics at evaluation", bn),
                  ("Lesion crop", words.get(facts["crop"], facts["crop"])),
                  ("Initial learning rate", facts["learning_rate"]),
                  ("Early stopping", facts["early_stopping"])]
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
    """The profiles of `breastnet.train.profiles` side by side, as an HTML table."""
    from ..train.profiles import PROFILES

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
