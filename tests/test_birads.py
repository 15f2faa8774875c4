"""BI-RADS scores: the mean malignancy likelihood of each ACR category."""

import pytest

from breastnet.data.birads import BIRADS_SCORES, birads_score, normalize_birads


@pytest.mark.parametrize(
    "category, score",
    [("2", 0.0), ("3", 0.01), ("4A", 0.06), ("4B", 0.30), ("4C", 0.725), ("5", 0.975), ("6", 1.0), ("4", 0.485)],
)
def test_scores_match_the_acr_ranges(category, score):
    assert BIRADS_SCORES[category] == pytest.approx(score)


@pytest.mark.parametrize("raw, canonical", [(4, "4"), ("4a", "4A"), (" 4B ", "4B"), (5.0, "5"), ("3.0", "3")])
def test_normalize(raw, canonical):
    assert normalize_birads(raw) == canonical


@pytest.mark.parametrize("missing", [None, "", float("nan"), "NaN"])
def test_missing_is_none(missing):
    assert normalize_birads(missing) is None


def test_unknown_category_is_named():
    with pytest.raises(ValueError, match="unknown BI-RADS category '7'"):
        birads_score("7")
