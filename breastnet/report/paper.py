"""The paper and the names the book uses: its Table 1, the metrics, the rows and their labels.

`row_key` and `model_label` are how every table and figure names a model: a Table 1 row
("E-DSSL") is trained as a (family, alpha) pair (("DSSL", 0.25)).
"""

from __future__ import annotations

import math

from ..model.variants import TABLE1, VARIANTS, family

#: The paper: Shi, Wu, Lv, Guo (2019), IJBBB 9(1):20-26.
PAPER = (
    'J. Shi, J. Wu, P. Lv, J. Guo, "BreastNet: Entropy-Regularized Transferable Multi-task '
    'Learning for Classification with Limited Breast Data", International Journal of '
    "Bioscience, Biochemistry and Bioinformatics 9(1):20-26, 2019, "
    "doi:10.17706/ijbbb.2019.9.1.20-26"
)

#: Where PAPER_TABLE1 comes from.
PAPER_TABLE1_SOURCE = (
    "Table 1 of Shi et al. (2019): 150 benign + 162 malignant images, "
    "5-fold cross-validation repeated 10 times, mean of the test results."
)

#: The paper's Table 1, transcribed once (None: "----" in the paper, the metric does not apply).
PAPER_TABLE1: dict[str, dict[str, float | None]] = {
    "Han2017": {"accuracy": 0.8148, "sensitivity": 0.8456, "specificity": 0.7731, "rmse": None, "cc": None},
    "Inception": {"accuracy": 0.7021, "sensitivity": 0.7389, "specificity": 0.6853, "rmse": None, "cc": None},
    "ResNet-50": {"accuracy": 0.8073, "sensitivity": 0.7369, "specificity": 0.8806, "rmse": None, "cc": None},
    "DSSL": {"accuracy": 0.8337, "sensitivity": 0.8323, "specificity": 0.8347, "rmse": None, "cc": None},
    "E-DSSL": {"accuracy": 0.8495, "sensitivity": 0.8549, "specificity": 0.8433, "rmse": None, "cc": None},
    "DSTL": {"accuracy": 0.8629, "sensitivity": 0.8715, "specificity": 0.8484, "rmse": None, "cc": None},
    "E-DSTL": {"accuracy": 0.8870, "sensitivity": 0.8675, "specificity": 0.9024, "rmse": None, "cc": None},
    "DMTL": {"accuracy": 0.8765, "sensitivity": 0.8821, "specificity": 0.8652, "rmse": 0.2973, "cc": 0.7985},
    "E-DMTL": {"accuracy": 0.9032, "sensitivity": 0.9175, "specificity": 0.8881, "rmse": 0.2668, "cc": 0.8566},
}

#: Row labels of Table 1 (the paper's, shortened: "Seokmin Han et al [4]", "Pretrained Inception [10]"...).
PAPER_ROW_LABELS = {
    "Han2017": "Han et al. [4]",
    "Inception": "Inception [10]",
    "ResNet-50": "ResNet-50 [11]",
    "DSSL": "DSSL",
    "E-DSSL": "E-DSSL (α = 0.25)",
    "DSTL": "DSTL",
    "E-DSTL": "E-DSTL (α = 0.25)",
    "DMTL": "DMTL",
    "E-DMTL": "E-DMTL (α = 0.25)",
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
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "rmse": "RMSE",
    "cc": "CC",
    "auc": "AUC",
    "balanced_accuracy": "Balanced accuracy",
    "ece": "ECE",
    "brier": "Brier",
}
#: Range of each metric: Table 1 intervals are clipped to it and error bars cut at its ends
#: (an sd bar past 1 is not a value).
METRIC_RANGES = {
    "accuracy": (0.0, 1.0),
    "sensitivity": (0.0, 1.0),
    "specificity": (0.0, 1.0),
    "auc": (0.0, 1.0),
    "balanced_accuracy": (0.0, 1.0),
    "ece": (0.0, 1.0),
    "brier": (0.0, 1.0),
    "rmse": (0.0, math.inf),
    "cc": (-1.0, 1.0),
}
RUN_METRICS = ("accuracy", "sensitivity", "specificity", "auc", "balanced_accuracy", "ece", "brier", "rmse", "cc")

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
