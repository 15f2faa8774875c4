"""BI-RADS categories and the regression scores of the auxiliary task.

The paper (section 3) turns each BI-RADS category into a score by assuming the
malignancy likelihood is uniform within the category's range and taking the mean.
The ranges are those of the ACR BI-RADS Atlas, 5th edition (2013), ultrasound
assessment categories:

    2: 0 %        3: (0, 2] %      4A: (2, 10] %    4B: (10, 50] %
    4C: (50, 95) %  5: [95, 100] %  6: biopsy-proven malignancy (100 %)

BUS-BRA does not split category 4, so an undivided 4 covers (2, 95) %.
This module is the single place this table lives.
"""

from __future__ import annotations

import math

#: Likelihood-of-malignancy range (low, high) per category, as fractions.
BIRADS_RANGES: dict[str, tuple[float, float]] = {
    "2": (0.0, 0.0),
    "3": (0.0, 0.02),
    "4A": (0.02, 0.10),
    "4B": (0.10, 0.50),
    "4C": (0.50, 0.95),
    "4": (0.02, 0.95),
    "5": (0.95, 1.0),
    "6": (1.0, 1.0),
}

#: Regression target per category: the midpoint of its range.
BIRADS_SCORES: dict[str, float] = {cat: round((lo + hi) / 2, 4) for cat, (lo, hi) in BIRADS_RANGES.items()}


def normalize_birads(value) -> str | None:
    """Return the canonical category string ("2", "4A", ...) or None when missing.

    Args:
        value: a category as read from a file: 4, "4", "4a", " 4B ", 4.0, NaN, "".

    Raises:
        ValueError: when the value is present but is no BI-RADS category.
    """
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            value = int(value)
    text = str(value).strip().upper()
    if text in ("", "NAN", "NONE", "NA"):
        return None
    if text.endswith(".0"):
        text = text[:-2]
    if text not in BIRADS_SCORES:
        known = ", ".join(BIRADS_SCORES)
        raise ValueError(f"unknown BI-RADS category {value!r} (known: {known})")
    return text


def birads_score(category) -> float:
    """Regression score of a BI-RADS category (see the module docstring).

    Args:
        category: anything `normalize_birads` accepts; must not be missing.
    """
    cat = normalize_birads(category)
    if cat is None:
        raise ValueError("BI-RADS category is missing")
    return BIRADS_SCORES[cat]
