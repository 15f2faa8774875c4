"""Verdict rules of the claims, as data and code; their wording is in `verdict_words`.

A comparison (better - baseline, in AUC) gets one code from its Holm-adjusted p-value, its
two-sided 90 % interval (the one-sided 95 % bounds) and the paper's effect in AUC; a claim
resting on several comparisons that must all hold combines their codes.
"""

from __future__ import annotations

import math

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
RULED_OUT = "ruled_out"  # the paper's effect ruled out
EQUIVALENT = "equivalent"
INCONCLUSIVE = "inconclusive"
#: Every verdict code, in the order of the rules.
VERDICTS = (SUPPORTED, CONTRADICTED, RULED_OUT, EQUIVALENT, INCONCLUSIVE)
#: A claim or question the rules are not applied to: its data cannot carry a test.
NOT_TESTABLE = "not testable here"

#: Why a claim got its code: BY_RULES (the rules decided), or why it is NOT_TESTABLE, in the
#: order `claims.claim_decisions` checks them: synthetic data; at least half of a compared
#: model's runs gave every test image one class (a threshold metric) or one probability (AUC);
#: a model's runs missing; a comparison with the same difference in every run.
BY_RULES = "rules"
SYNTHETIC_DATA = "synthetic"
ONE_CLASS = "one_class"
ONE_PROBABILITY = "one_probability"
RUNS_MISSING = "missing"
NO_SPREAD = "no_spread"
REASONS = (BY_RULES, SYNTHETIC_DATA, ONE_CLASS, ONE_PROBABILITY, RUNS_MISSING, NO_SPREAD)

#: Equivalence margin in AUC: a margin of ours, stated in the book; below the paper's shape and
#: entropy effects in AUC units.
EQUIVALENCE_MARGIN = 0.02
#: Level of the (Holm-adjusted) tests.
ALPHA = 0.05


def rules_table(margin: float = EQUIVALENCE_MARGIN, alpha: float = ALPHA) -> tuple[tuple[str, str], ...]:
    """The rules of `decide` as (code, condition), first match wins: the table the book prints."""
    return (
        (SUPPORTED, f"adjusted p < {alpha:g} and difference > 0"),
        (CONTRADICTED, f"adjusted p < {alpha:g} and difference < 0"),
        (RULED_OUT, "paper's effect > 0 and upper 90 % bound < paper's effect"),
        (EQUIVALENT, f"−{margin:g} < lower 90 % bound and upper 90 % bound < +{margin:g}"),
        (INCONCLUSIVE, "otherwise, or any input missing (NaN)"),
    )


#: The rules with the default margin and level.
RULES = rules_table()


def _missing(x) -> bool:
    """None, NaN, or no number at all (pd.NA)."""
    try:
        return x is None or math.isnan(x)
    except TypeError:
        return True


def decide(
    diff: float,
    p_adjusted: float,
    lower90: float,
    upper90: float,
    paper_effect: float | None = None,
    margin: float = EQUIVALENCE_MARGIN,
    alpha: float = ALPHA,
) -> str:
    """The verdict code of one comparison, by the rules of `rules_table` in their order.

    Args:
        diff: observed difference (better - baseline).
        p_adjusted: Holm-adjusted two-sided p-value of the difference.
        lower90, upper90: two-sided 90 % interval of the difference (one-sided 95 % bounds).
        paper_effect: the paper's effect in the same units, None when the paper has none.
        margin: equivalence margin; alpha: level of the test.

    Any NaN input (diff, p_adjusted, the bounds, or a NaN paper_effect) gives "inconclusive".
    """
    values = (diff, p_adjusted, lower90, upper90) + (() if paper_effect is None else (paper_effect,))
    if any(_missing(v) for v in values):
        return INCONCLUSIVE
    if p_adjusted < alpha and diff > 0:
        return SUPPORTED
    if p_adjusted < alpha and diff < 0:
        return CONTRADICTED
    if paper_effect is not None and paper_effect > 0 and upper90 < paper_effect:
        return RULED_OUT
    if -margin < lower90 and upper90 < margin:
        return EQUIVALENT
    return INCONCLUSIVE


def combine(codes) -> str:
    """The verdict of a claim resting on several comparisons that must all hold.

    All supported: supported; any contradicted: contradicted; else any ruled out: ruled out;
    all equivalent: equivalent; else inconclusive.

    Raises:
        ValueError: no codes, or a code not in VERDICTS.
    """
    codes = list(codes)
    if not codes:
        raise ValueError("combine() needs at least one verdict code")
    unknown = sorted({c for c in codes if c not in VERDICTS})
    if unknown:
        raise ValueError(f"unknown verdict codes {unknown}; known: {list(VERDICTS)}")
    if all(c == SUPPORTED for c in codes):
        return SUPPORTED
    if CONTRADICTED in codes:
        return CONTRADICTED
    if RULED_OUT in codes:
        return RULED_OUT
    if all(c == EQUIVALENT for c in codes):
        return EQUIVALENT
    return INCONCLUSIVE
