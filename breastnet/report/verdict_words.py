"""The words of the verdicts: labels and sentences; the rules are in `verdicts`."""

from __future__ import annotations

from .verdicts import CONTRADICTED, EQUIVALENCE_MARGIN, EQUIVALENT, INCONCLUSIVE, RULED_OUT, SUPPORTED

#: Short label of each verdict code.
VERDICT_LABELS = {
    SUPPORTED: "supported",
    CONTRADICTED: "contradicted",
    RULED_OUT: "the paper's effect ruled out",
    EQUIVALENT: f"equivalent within ±{EQUIVALENCE_MARGIN:g} AUC",
    INCONCLUSIVE: "inconclusive",
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
