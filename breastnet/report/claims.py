"""The paper's claims, and a question of ours, tested on paired runs.

Comparisons rest on the test AUC (threshold-free) first and report accuracy beside it:
accuracy at the 0.5 threshold can hide whether a model ranks at all (see PRIMARY_REASON).
The descriptor floor ("Descriptors", `breastnet.model.variants.REFERENCE_ROWS`) is the
baseline of the fourth question.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..model.variants import STUDY_ROWS
from .paired import holm, paper_auc_effect
from .paper import METRIC_LABELS, PAPER_TABLE1, THRESHOLD_METRICS, TWO_STREAM, row_key
from .runs import select, split_ratio
from .stats import CorrectedT, corrected_t
from .text import fmt
from .verdict_words import VERDICT_LABELS
from .verdicts import combine, decide


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
    Claim(
        "shape",
        "The shape stream (HS patches) improves classification",
        "DSSL → DSTL: accuracy 83.37 % → 86.29 % (section 3).",
        (("DSTL", "DSSL"),),
    ),
    Claim(
        "birads",
        "The auxiliary BI-RADS regression task improves classification",
        "DSTL → DMTL: accuracy 86.29 % → 87.63 %, sensitivity and specificity up too (section 3).",
        (("DMTL", "DSTL"),),
    ),
    Claim(
        "entropy",
        "The entropy term (α = 0.25) improves every model",
        "E-DSSL, E-DSTL and E-DMTL all beat their α = 0 versions, e.g. 83.37 % → 84.95 % "
        "and 86.29 % → 88.70 % (section 3).",
        (("E-DSSL", "DSSL"), ("E-DSTL", "DSTL"), ("E-DMTL", "DMTL")),
    ),
    Claim(
        "floor",
        "The networks beat hand-crafted shape and echo descriptors",
        "Not a claim of the paper but a question of ours: the paper compares its networks with other "
        "networks only. Each two-stream network against a logistic regression on eleven hand-crafted "
        "lesion descriptors (shape, margin, echo pattern, posterior features), on the same folds.",
        tuple((name, "Descriptors") for name in TWO_STREAM),
        in_paper=False,
    ),
)

#: The metric the verdicts rest on, and the one reported beside it.
PRIMARY_METRIC = "auc"
SECONDARY_METRIC = "accuracy"
#: Why the verdicts rest on AUC (for the book).
PRIMARY_REASON = (
    "AUC is threshold-free: it measures whether a model ranks malignant images above "
    "benign ones. Accuracy at the 0.5 threshold can hide that: a run that puts every test "
    "image on one side of 0.5 scores the share of one class, whatever its ranking."
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


def claims_table(
    runs: pd.DataFrame, metrics=(PRIMARY_METRIC, SECONDARY_METRIC), level: float = 0.95, claims=CLAIMS
) -> pd.DataFrame:
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
                ct90 = corrected_t(pairs["diff"], ratio, 0.90)
                paper_auc = paper_auc_effect(better, baseline) if claim.in_paper and metric == "auc" else None
                paper_b = PAPER_TABLE1.get(baseline, {}).get(metric)
                paper_a = PAPER_TABLE1.get(better, {}).get(metric)
                rows.append(
                    {
                        "claim": claim.key,
                        "comparison": f"{better} − {baseline}",
                        "better": better,
                        "baseline": baseline,
                        "metric": metric,
                        "primary": metric == metrics[0],
                        "n": ct.n,
                        "mean_diff": ct.mean,
                        "sd": ct.sd,
                        "ci_low": ct.ci_low,
                        "ci_high": ct.ci_high,
                        "lower90": ct90.ci_low,
                        "upper90": ct90.ci_high,
                        "mde80": _mde80(ct),
                        "t": ct.t,
                        "df": ct.df,
                        "p": ct.p,
                        "ratio": ratio,
                        "paper_diff": (None if paper_a is None or paper_b is None else round(paper_a - paper_b, 4)),
                        "paper_auc": None if paper_auc is None else paper_auc["effect"],
                        "result": comparison_result(ct),
                    }
                )
    columns = [
        "claim",
        "comparison",
        "better",
        "baseline",
        "metric",
        "primary",
        "n",
        "mean_diff",
        "sd",
        "ci_low",
        "ci_high",
        "lower90",
        "upper90",
        "mde80",
        "t",
        "df",
        "p",
        "ratio",
        "paper_diff",
        "paper_auc",
        "result",
    ]
    table = pd.DataFrame(rows, columns=columns)
    primary = table["primary"].astype(bool)
    table["p_holm"] = float("nan")
    table.loc[primary, "p_holm"] = holm(table.loc[primary, "p"].to_numpy(dtype=float))  # across every claim
    return table


def _mde80(ct: CorrectedT) -> float:
    """Smallest difference the corrected t detects with 80 % power at two-sided 5 % (its df)."""
    if ct.n < 2 or not math.isfinite(ct.se):
        return math.nan
    from scipy import stats as st

    return float((st.t.ppf(0.975, ct.df) + st.t.ppf(0.80, ct.df)) * ct.se)


def rule_verdict(primary: pd.DataFrame) -> str:
    """The verdict code of one claim's primary comparisons by the rules of `breastnet.report.verdicts`."""
    return combine(
        decide(
            r["mean_diff"],
            r["p_holm"],
            r["lower90"],
            r["upper90"],
            None if r.get("paper_auc") is None or pd.isna(r.get("paper_auc")) else r["paper_auc"],
        )
        for _, r in primary.iterrows()
    )


def _metric_word(metric: str) -> str:
    return "AUC" if metric == "auc" else METRIC_LABELS.get(metric, metric).lower()


def _comparison_text(r, detail: bool = True) -> str:
    """One comparison of `claims_table` in words: effect, 95 % CI, p (and t, df with `detail`)."""
    word = _metric_word(r["metric"])
    paper = f"; paper {r['paper_diff']:+.4f}" if pd.notna(r["paper_diff"]) else ""
    if r["n"] < 2:
        return f"{r['comparison']}: {r['n']} paired run(s) with {word} values, not enough for a test"
    if pd.isna(r["ci_low"]):
        return (
            f"{r['comparison']}: {r['mean_diff']:+.3f} {word} in each of the J = {r['n']} paired runs, "
            f"no spread, no test{paper}"
        )
    stats_ = f"t = {fmt(r['t'], 2)}, df = {r['df']}, " if detail else ""
    return (
        f"{r['comparison']}: {r['mean_diff']:+.3f} {word} (95 % CI {fmt(r['ci_low'])} to "
        f"{fmt(r['ci_high'])}, {stats_}p = {fmt(r['p'])}, J = {r['n']}{paper})"
    )


def _no_skill(names, metric: str, one_class_share: dict, constant_share: dict) -> list[str]:
    """Models of `names` at least half of whose runs cannot show skill on `metric`.

    Threshold metrics: runs that gave every test image one class (their accuracy is a class
    share). AUC: runs that gave every test image the same probability (no ranking at all)."""
    share = one_class_share if metric in THRESHOLD_METRICS else constant_share if metric == "auc" else {}
    return sorted(
        {name for name in names if share.get(row_key(name), 0.0) >= 0.5},
        key=lambda n: STUDY_ROWS.index(n) if n in STUDY_ROWS else len(STUDY_ROWS),
    )


def claim_verdicts(
    table: pd.DataFrame,
    synthetic: bool,
    one_class_share: dict | None = None,
    constant_share: dict | None = None,
    claims=CLAIMS,
) -> dict[str, dict]:
    """One verdict per claim, in the words of `breastnet.report.verdict_words`, or "not testable here".

    The verdict rests on the primary metric of `table` (AUC by default, see PRIMARY_REASON);
    the other metrics (accuracy) are reported beside it. The rules are those of
    `breastnet.report.verdicts` (`rule_verdict`) on the corrected intervals, with Holm's
    adjustment across every claim's primary comparison; a claim with several comparisons (the
    entropy term, the descriptor floor) combines them (all must hold). On synthetic phantoms nothing is
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
        testable, missing = True, False
        for _, r in primary.iterrows():
            if r["n"] < 2:
                testable, missing = False, True
            elif pd.isna(r["ci_low"]):
                testable = False
        if not len(primary):
            testable, missing = False, True
        degenerate = _no_skill(names, metric, one_class_share, constant_share)
        if synthetic:
            verdict = "not testable here"
            why = "the data are SYNTHETIC phantoms; the statistics only check the pipeline"
        elif degenerate and metric in THRESHOLD_METRICS:
            verdict = "not testable here"
            why = (
                f"at least half of the runs of {', '.join(degenerate)} gave every test image one class, "
                f"so their {word} is a class share, not a skill"
            )
        elif degenerate:
            verdict = "not testable here"
            why = (
                f"at least half of the runs of {', '.join(degenerate)} gave every test image the same "
                f"probability, so their {word} measures no ranking"
            )
        elif not testable:
            verdict = "not testable here"
            why = (
                "the runs it needs are missing from this profile or dataset (or have no " + word + ")"
                if missing
                else "a comparison has the same difference in every run, so no test is defined"
            )
        else:
            verdict = VERDICT_LABELS[rule_verdict(primary)]
            why = (
                f"by the verdict rules on the corrected {word} interval{'s' if len(primary) > 1 else ''}, "
                "Holm-adjusted across the claims' comparisons"
            )
        effect = "; ".join(_comparison_text(r, detail=False) for _, r in primary.iterrows())
        second_parts = []
        for _, r in secondary.iterrows():
            text = _comparison_text(r, detail=False)
            flat = _no_skill((r["better"], r["baseline"]), r["metric"], one_class_share, {})
            if flat:
                text += (
                    f" [at least half of the runs of {', '.join(flat)} gave one class to every test image: "
                    f"{_metric_word(r['metric'])} there is a class share]"
                )
            second_parts.append(text)
        secondary_text = "; ".join(second_parts)
        evidence = "; ".join(_comparison_text(r) for _, r in primary.iterrows())
        if secondary_text:
            evidence += (
                f". Beside it, {', '.join(dict.fromkeys(_metric_word(m) for m in secondary['metric']))}: "
                f"{secondary_text}"
            )
        out[claim.key] = {
            "title": claim.title,
            "paper": claim.paper_text,
            "in_paper": claim.in_paper,
            "metric": metric,
            "verdict": verdict,
            "why": why,
            "effect": effect or "no comparison",
            "secondary": secondary_text,
            "evidence": evidence or "no comparison",
            "comparisons": [
                {
                    "comparison": r["comparison"],
                    "n": int(r["n"]),
                    "effect": r["mean_diff"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "p": r["p"],
                }
                for _, r in primary.iterrows()
            ],
        }
    return out
