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
from .paper import PAPER_TABLE1, THRESHOLD_METRICS, TWO_STREAM, row_key
from .runs import select, split_ratio
from .stats import CorrectedT, corrected_t
from .verdict_words import claim_words
from .verdicts import (
    BY_RULES,
    NO_SPREAD,
    NOT_TESTABLE,
    ONE_CLASS,
    ONE_PROBABILITY,
    RUNS_MISSING,
    SYNTHETIC_DATA,
    combine,
    decide,
)


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


def _comparison_code(r) -> str:
    """The verdict code of one primary comparison (a row of `claims_table`) by `decide`."""
    paper = r.get("paper_auc")
    paper = None if paper is None or pd.isna(paper) else paper
    return decide(r["mean_diff"], r["p_holm"], r["lower90"], r["upper90"], paper)


def rule_verdict(primary: pd.DataFrame) -> str:
    """The verdict code of one claim's primary comparisons by the rules of `breastnet.report.verdicts`."""
    return combine(_comparison_code(r) for _, r in primary.iterrows())


def _no_skill(names, metric: str, one_class_share: dict, constant_share: dict) -> list[str]:
    """Models of `names` at least half of whose runs cannot show skill on `metric`.

    Threshold metrics: runs that gave every test image one class (their accuracy is a class
    share). AUC: runs that gave every test image the same probability (no ranking at all)."""
    share = one_class_share if metric in THRESHOLD_METRICS else constant_share if metric == "auc" else {}
    return sorted(
        {name for name in names if share.get(row_key(name), 0.0) >= 0.5},
        key=lambda n: STUDY_ROWS.index(n) if n in STUDY_ROWS else len(STUDY_ROWS),
    )


def _reason(synthetic: bool, metric: str, primary: list[dict], no_skill: list[str]) -> str:
    """Why a claim gets its code (`breastnet.report.verdicts.REASONS`), the first that applies."""
    if synthetic:
        return SYNTHETIC_DATA
    if no_skill:
        return ONE_CLASS if metric in THRESHOLD_METRICS else ONE_PROBABILITY
    if not primary or any(r["n"] < 2 for r in primary):
        return RUNS_MISSING
    if any(pd.isna(r["ci_low"]) for r in primary):
        return NO_SPREAD
    return BY_RULES


def claim_decisions(table, synthetic: bool, one_class_share=None, constant_share=None, claims=CLAIMS) -> dict:
    """What each claim's verdict is, as data (codes and numbers, no sentences): see `claim_verdicts`.

    Args: as `claim_verdicts`.

    Returns:
        claim key -> dict: title, paper, in_paper (of the claim); metric (the primary one);
        code (a code of `breastnet.report.verdicts.VERDICTS`, combined over the primary
        comparisons, or NOT_TESTABLE); reason (of `verdicts.REASONS`: BY_RULES, or why it is
        not testable); no_skill (the compared models at least half of whose runs cannot show
        skill on the metric); primary, secondary (the claim's rows of `table` as dicts; a
        primary row adds its own `code` by `decide`, a secondary one its `no_skill` models on
        one-class runs).
    """
    out = {}
    one_class_share = one_class_share or {}
    constant_share = constant_share or {}
    if "primary" not in table:
        table = table.assign(primary=True)
    for claim in claims:
        rows = table[table["claim"] == claim.key]
        is_primary = rows["primary"].astype(bool)
        primary = [{**r.to_dict(), "code": _comparison_code(r)} for _, r in rows[is_primary].iterrows()]
        secondary = [
            {**r.to_dict(), "no_skill": _no_skill((r["better"], r["baseline"]), r["metric"], one_class_share, {})}
            for _, r in rows[~is_primary].iterrows()
        ]
        metric = primary[0]["metric"] if primary else PRIMARY_METRIC
        no_skill = _no_skill([name for pair in claim.pairs for name in pair], metric, one_class_share, constant_share)
        reason = _reason(synthetic, metric, primary, no_skill)
        out[claim.key] = {
            "title": claim.title,
            "paper": claim.paper_text,
            "in_paper": claim.in_paper,
            "metric": metric,
            "code": combine(r["code"] for r in primary) if reason == BY_RULES else NOT_TESTABLE,
            "reason": reason,
            "no_skill": no_skill,
            "primary": primary,
            "secondary": secondary,
        }
    return out


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
    The decision is `claim_decisions`; this adds its words (`verdict_words.claim_words`).

    Args:
        table: `claims_table` output.
        synthetic: whether the data are synthetic.
        one_class_share: (family, alpha) -> share of one-class runs; None: not checked.
        constant_share: (family, alpha) -> share of runs with one probability for every test
            image; None: not checked.
        claims: the claims of `table` (default CLAIMS).

    Returns:
        claim key -> dict: title, paper, in_paper, metric (primary), code and reason (of
        `claim_decisions`), verdict (the code's label), why, effect (the primary differences
        with 95 % CI and p, in words), secondary (the other metrics' differences, in words),
        evidence (both, with t and df), comparisons (one dict per primary comparison:
        comparison, n, effect, ci_low, ci_high, p).
    """
    out = {}
    for key, d in claim_decisions(table, synthetic, one_class_share, constant_share, claims).items():
        out[key] = {
            "title": d["title"],
            "paper": d["paper"],
            "in_paper": d["in_paper"],
            "metric": d["metric"],
            "code": d["code"],
            "reason": d["reason"],
            **claim_words(d),
            "comparisons": [
                {
                    "comparison": r["comparison"],
                    "n": int(r["n"]),
                    "effect": r["mean_diff"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "p": r["p"],
                }
                for r in d["primary"]
            ],
        }
    return out
