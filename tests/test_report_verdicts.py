"""breastnet.report.verdicts and verdict_words: the rules on hand-made intervals, and their words."""

import math

import pytest

from breastnet.report import verdict_words, verdicts
from breastnet.report.verdict_words import VERDICT_LABELS, verdict_sentence
from breastnet.report.verdicts import (
    CONTRADICTED,
    EQUIVALENCE_MARGIN,
    EQUIVALENT,
    INCONCLUSIVE,
    RULED_OUT,
    RULES,
    SUPPORTED,
    VERDICTS,
    combine,
    decide,
)


@pytest.mark.parametrize(
    "diff, p_adj, lower90, upper90, paper, code",
    [
        (0.05, 0.001, 0.03, 0.07, 0.024, SUPPORTED),
        (-0.05, 0.001, -0.07, -0.03, 0.024, CONTRADICTED),
        (0.004, 0.6, -0.01, 0.018, 0.024, RULED_OUT),  # upper bound 0.018 below the paper's 0.024
        (0.004, 0.6, -0.01, 0.018, None, EQUIVALENT),  # no paper effect: inside ±0.02
        (0.004, 0.6, -0.01, 0.018, -0.01, EQUIVALENT),  # a paper effect <= 0 is not ruled out
        (0.01, 0.4, -0.03, 0.05, 0.024, INCONCLUSIVE),  # wide: neither
        (0.0, 0.9, -0.02, 0.01, None, INCONCLUSIVE),  # the margin is strict: -0.02 is not inside
    ],
)
def test_one_interval_per_rule(diff, p_adj, lower90, upper90, paper, code):
    assert decide(diff, p_adj, lower90, upper90, paper) == code


def test_precedence_of_the_rules():
    # Significant and inside the margin: supported comes first.
    assert decide(0.01, 0.01, 0.005, 0.015, None) == SUPPORTED
    # Significant and also below the paper's effect: supported, not ruled out.
    assert decide(0.01, 0.01, 0.005, 0.015, 0.05) == SUPPORTED
    # Ruled out and inside the margin: ruled out comes first.
    assert decide(0.0, 0.9, -0.01, 0.01, 0.024) == RULED_OUT
    # p exactly alpha is not significant.
    assert decide(0.05, 0.05, 0.03, 0.07, None) == INCONCLUSIVE
    # A wider margin turns the inconclusive case equivalent.
    assert decide(0.01, 0.4, -0.03, 0.05, None, margin=0.06) == EQUIVALENT
    assert decide(0.05, 0.03, 0.03, 0.07, None, alpha=0.01) == INCONCLUSIVE


@pytest.mark.parametrize(
    "args",
    [
        (math.nan, 0.001, 0.03, 0.07, None),
        (0.05, math.nan, 0.03, 0.07, None),
        (0.0, 0.9, math.nan, 0.01, None),
        (0.0, 0.9, -0.01, math.nan, 0.024),
        (0.0, 0.9, -0.01, 0.01, math.nan),
    ],
)
def test_nan_is_inconclusive(args):
    assert decide(*args) == INCONCLUSIVE


def test_rules_table_follows_the_constants():
    assert [code for code, _ in RULES] == list(VERDICTS)
    assert "0.05" in dict(RULES)[SUPPORTED] and "0.02" in dict(RULES)[EQUIVALENT]
    assert "0.03" in dict(verdicts.rules_table(margin=0.03))[EQUIVALENT]
    assert EQUIVALENCE_MARGIN == 0.02


@pytest.mark.parametrize(
    "codes, code",
    [
        ([SUPPORTED, SUPPORTED, SUPPORTED], SUPPORTED),
        ([SUPPORTED, INCONCLUSIVE, SUPPORTED], INCONCLUSIVE),
        ([SUPPORTED, CONTRADICTED, RULED_OUT], CONTRADICTED),
        ([SUPPORTED, RULED_OUT, EQUIVALENT], RULED_OUT),
        ([EQUIVALENT, EQUIVALENT], EQUIVALENT),
        ([EQUIVALENT, SUPPORTED], INCONCLUSIVE),
        ([RULED_OUT], RULED_OUT),
    ],
)
def test_combine(codes, code):
    assert combine(codes) == code
    assert combine(iter(codes)) == code


def test_combine_rejects_nothing_and_unknown_codes():
    with pytest.raises(ValueError, match="at least one"):
        combine([])
    with pytest.raises(ValueError, match="unknown"):
        combine([SUPPORTED, "maybe"])


def test_labels_cover_every_code():
    assert set(VERDICT_LABELS) == set(VERDICTS)
    assert set(verdict_words.REASON_WORDS) == set(verdicts.REASONS)  # every reason of a claim's code has words
    assert verdicts.NOT_TESTABLE not in VERDICTS  # the rules never give it: it is decided before them
    assert VERDICT_LABELS[RULED_OUT] == "the paper's effect ruled out"
    assert "±0.02 AUC" in VERDICT_LABELS[EQUIVALENT]


def test_verdict_sentence_numbers():
    s = verdict_sentence(INCONCLUSIVE, 0.004, -0.02, 0.028, 0.0314, paper_effect=0.0243)
    assert s.startswith("inconclusive") and "0.031 AUC" in s and "+0.024" in s
    assert "paper" not in verdict_sentence(INCONCLUSIVE, 0.004, -0.02, 0.028, 0.0314)
    s = verdict_sentence(SUPPORTED, 0.0412, 0.0101, 0.0726, 0.03)
    assert s.startswith("supported") and "+0.041" in s and "+0.010" in s and "+0.073" in s and "95 % CI" in s
    s = verdict_sentence(CONTRADICTED, -0.0412, -0.0726, -0.0101, 0.03, paper_effect=0.024)
    assert "-0.041" in s and "-0.073" in s and "-0.010" in s and "+0.024" in s
    s = verdict_sentence(RULED_OUT, 0.002, -0.012, 0.016, 0.02, paper_effect=0.024)
    assert s.startswith("the paper's effect ruled out") and "+0.002" in s and "-0.012" in s and "+0.024" in s
    s = verdict_sentence(EQUIVALENT, 0.002, -0.012, 0.016, 0.02, margin=0.03, level=0.9)
    assert "±0.03" in s and "90 % CI" in s
    with pytest.raises(ValueError, match="unknown"):
        verdict_sentence("maybe", 0, 0, 0, 0)


def test_words_and_rules_stay_apart():
    # The rules module holds no sentences of the book, the words module no decisions.
    assert not hasattr(verdicts, "VERDICT_LABELS") and not hasattr(verdicts, "verdict_sentence")
    assert not hasattr(verdicts, "REASON_WORDS") and not hasattr(verdicts, "claim_words")
    assert not hasattr(verdict_words, "decide") and not hasattr(verdict_words, "combine")
