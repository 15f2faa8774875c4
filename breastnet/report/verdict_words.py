"""The words of the verdicts: labels and sentences; the rules are in `verdicts`."""

from __future__ import annotations

import pandas as pd

from .paper import METRIC_LABELS
from .text import fmt
from .verdicts import (
    BY_RULES,
    CONTRADICTED,
    EQUIVALENCE_MARGIN,
    EQUIVALENT,
    INCONCLUSIVE,
    NO_SPREAD,
    NOT_TESTABLE,
    ONE_CLASS,
    ONE_PROBABILITY,
    RULED_OUT,
    RUNS_MISSING,
    SUPPORTED,
    SYNTHETIC_DATA,
)

#: Short label of each verdict code.
VERDICT_LABELS = {
    SUPPORTED: "supported",
    CONTRADICTED: "contradicted",
    RULED_OUT: "the paper's effect ruled out",
    EQUIVALENT: f"equivalent within ±{EQUIVALENCE_MARGIN:g} AUC",
    INCONCLUSIVE: "inconclusive",
}

#: Why a claim got its code (`verdicts.REASONS`), in words: {models} are the models without
#: skill, {metric} the primary metric's word, {s} the plural of "interval".
REASON_WORDS = {
    BY_RULES: "by the verdict rules on the corrected {metric} interval{s}, Holm-adjusted across the claims' "
    "comparisons",
    SYNTHETIC_DATA: "the data are SYNTHETIC phantoms; the statistics only check the pipeline",
    ONE_CLASS: "at least half of the runs of {models} gave every test image one class, so their {metric} is a "
    "class share, not a skill",
    ONE_PROBABILITY: "at least half of the runs of {models} gave every test image the same probability, so their "
    "{metric} measures no ranking",
    RUNS_MISSING: "the runs it needs are missing from this profile or dataset (or have no {metric})",
    NO_SPREAD: "a comparison has the same difference in every run, so no test is defined",
}


def _signed(x: float) -> str:
    return f"{x:+.3f}"


def verdict_sentence(
    code: str,
    diff: float,
    ci_low: float,
    ci_high: float,
    mde80: float,
    paper_effect: float | None = None,
    margin: float = EQUIVALENCE_MARGIN,
    level: float = 0.95,
) -> str:
    """One line of a verdict: its label, then the numbers that carry it (3 decimals).

    E.g. "inconclusive: smallest detectable difference 0.031 AUC against the paper's +0.024".
    The label of "equivalent" states `margin`; `level` is that of the interval (ci_low, ci_high).
    """
    if code not in VERDICT_LABELS:
        raise ValueError(f"unknown verdict code {code!r}; known: {list(VERDICT_LABELS)}")
    paper = "" if paper_effect is None else f" against the paper's {_signed(paper_effect)}"
    if code == INCONCLUSIVE:
        return f"inconclusive: smallest detectable difference {mde80:.3f} AUC{paper}"
    label = f"equivalent within ±{margin:g} AUC" if code == EQUIVALENT else VERDICT_LABELS[code]
    interval = f"{level * 100:g} % CI {_signed(ci_low)} to {_signed(ci_high)}"
    return f"{label}: difference {_signed(diff)} AUC ({interval}){paper}"


def metric_word(metric: str) -> str:
    """A metric's name inside a sentence: "AUC", "accuracy", "sensitivity", ..."""
    return "AUC" if metric == "auc" else METRIC_LABELS.get(metric, metric).lower()


def comparison_text(r, detail: bool = True) -> str:
    """One comparison (a row of `claims.claims_table`) in words: effect, 95 % CI, p (and t, df with `detail`)."""
    word = metric_word(r["metric"])
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


def claim_words(decision: dict) -> dict[str, str]:
    """The words of one claim's decision (`claims.claim_decisions`).

    Returns:
        verdict (the code's label), why (its reason), effect (the primary comparisons, without
        t and df), secondary (the other metrics' comparisons, a one-class caveat where due),
        evidence (the primary comparisons with t and df, then the secondary ones).
    """
    primary, secondary = decision["primary"], decision["secondary"]
    code = decision["code"]
    why = REASON_WORDS[decision["reason"]].format(
        models=", ".join(decision["no_skill"]),
        metric=metric_word(decision["metric"]),
        s="s" if len(primary) > 1 else "",
    )
    second_parts = []
    for r in secondary:
        text = comparison_text(r, detail=False)
        if r["no_skill"]:
            text += (
                f" [at least half of the runs of {', '.join(r['no_skill'])} gave one class to every test image: "
                f"{metric_word(r['metric'])} there is a class share]"
            )
        second_parts.append(text)
    secondary_text = "; ".join(second_parts)
    evidence = "; ".join(comparison_text(r) for r in primary)
    if secondary_text:
        evidence += (
            f". Beside it, {', '.join(dict.fromkeys(metric_word(r['metric']) for r in secondary))}: {secondary_text}"
        )
    return {
        "verdict": NOT_TESTABLE if code == NOT_TESTABLE else VERDICT_LABELS[code],
        "why": why,
        "effect": "; ".join(comparison_text(r, detail=False) for r in primary) or "no comparison",
        "secondary": secondary_text,
        "evidence": evidence or "no comparison",
    }
