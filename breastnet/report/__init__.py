"""The analysis behind the book: tables, paired tests, calibration, feature spectra, figures.

The notebooks in `notebooks/` stay thin: every number and figure the book shows is computed
here from result files (`breastnet.study.results`), and `tests/test_report_*.py` check the
arithmetic against values worked out by hand. One concern a module:

- `paper`: the paper's Table 1, metric and row names, `row_key`, `model_label`.
- `runs`: result dicts as frames (`runs_frame`), the runs of one model, histories, confusion.
- `stats`: the corrected resampled t of Nadeau & Bengio (2003) behind every interval and test.
- `table1`: Table 1 rebuilt beside the paper's.
- `claims`, `claims_view`: the paper's claims and our question about the floor, on paired runs
  (the corrected t of the CV folds), and their tables in words.
- `paired`, `paired_claims`: patient-clustered paired bootstrap of AUC differences, DeLong's
  test, Holm's adjustment; every question on paired per-image predictions (held-out patients
  and CV folds), with the fused rows (network + descriptors).
- `transfer`: the transfer question (ImageNet against random init), where the weights loaded.
- `verdicts`, `verdict_words`: the verdict rules as data and code, and their wording.
- `spectra`: the alpha spectra (Fig. 2a, 2b) and the feature spectra (Fig. 2c).
- `calibration`: reliability bins, ECE and Brier.
- `learning`: did the networks learn (one-class runs, the descriptor floor, the learning curve).
- `facts`: what a page states about its data and study.
- `external`: internal cross-validation beside an external dataset (final models).
- `html`, `text`: boxes and tables for the book; numbers in words.
- `figures`, `method`: every figure, as a matplotlib Figure.

The descriptor floor ("Descriptors", `breastnet.model.variants.REFERENCE_ROWS`) is a row of
Table 1 and the baseline of a fourth question, but has no alpha, no learning curve and no
penultimate features, so the alpha spectra and Fig. 2c skip it.

This package imports neither Keras nor a backend (`tests/test_report_imports.py`), so reading
results is fast; `from breastnet import report` gives every public name below.
"""

from .calibration import calibration_summary, ece_from_bins, pooled_predictions, reliability_bins
from .claims import (
    CLAIMS,
    PRIMARY_METRIC,
    PRIMARY_REASON,
    SECONDARY_METRIC,
    Claim,
    claim_decisions,
    claim_verdicts,
    claims_table,
    comparison_result,
    paired_differences,
    rule_verdict,
)
from .claims_view import claims_view, verdicts_markdown
from .external import (
    EXTERNAL_METRICS,
    dataset_differences,
    external_frame,
    external_table,
    external_text,
    image_sizes,
)
from .facts import data_statement, dataset_tables, problems_frame, records_frame, study_facts
from .figures import (
    ALPHA_PANELS,
    alpha_figure,
    claims_figure,
    confusion_figure,
    family_colors,
    forest_figure,
    history_figure,
    learning_curve_figure,
    message_figure,
    new_figure,
    patches_figure,
    plot_learning_curve,
    reliability_figure,
    spectra_figure,
)
from .html import data_html, facts_html, html_table, profiles_html
from .learning import (
    CURVE_COLUMNS,
    CURVE_SERIES,
    curve_result,
    learning_check,
    learning_curve_frame,
    learning_curve_text,
    learning_summary,
)
from .method import architecture_figure
from .paired import (
    MDE80_FACTOR,
    PairedAUC,
    auc_from_accuracy,
    auc_from_sens_spec,
    delong_test,
    holm,
    paired_auc_bootstrap,
    paper_auc_effect,
    patient_resample_weights,
    weighted_auc,
)
from .paired_claims import (
    CV,
    FUSED,
    HELDOUT,
    QUESTIONS,
    add_fused,
    detectable_text,
    fused_name,
    model_auc_table,
    paired_table,
    prediction_frames,
    question_verdicts,
)
from .paper import (
    ADDED_METRICS,
    FAMILIES,
    METRIC_LABELS,
    METRIC_RANGES,
    PAPER,
    PAPER_ROW_LABELS,
    PAPER_TABLE1,
    PAPER_TABLE1_SOURCE,
    REFERENCE_ROW_LABELS,
    RUN_METRICS,
    STUDY_METRICS,
    TABLE1_METRICS,
    THRESHOLD_METRICS,
    TWO_STREAM,
    is_network,
    model_label,
    row_key,
    row_label,
)
from .runs import (
    confusion,
    fold_table,
    history_frame,
    is_network_result,
    runs_frame,
    runtime_frame,
    select,
    split_ratio,
)
from .spectra import (
    alpha_curve,
    beats_alpha0,
    chance_level,
    clipped_error_bars,
    covariance_eigenvalues,
    drop_points,
    log_spectrum,
    result_path,
    spectra_frame,
    spectrum_tails,
)
from .stats import CorrectedT, corrected_t
from .table1 import format_cell, table1, table1_html
from .text import calibration_text, drop_points_view, drop_text, fmt, stopping_text, summarize, tail_text
from .transfer import (
    started_from_imagenet,
    transfer_analysis,
    transfer_claim,
    transfer_frames,
    transfer_statement,
    weights_started,
)
from .verdict_words import VERDICT_LABELS, verdict_sentence
from .verdicts import EQUIVALENCE_MARGIN, NOT_TESTABLE, REASONS, RULES, VERDICTS, combine, decide

__all__ = [
    "started_from_imagenet",
    "transfer_analysis",
    "transfer_claim",
    "transfer_frames",
    "transfer_statement",
    "weights_started",
    "forest_figure",
    "MDE80_FACTOR",
    "PairedAUC",
    "auc_from_accuracy",
    "auc_from_sens_spec",
    "delong_test",
    "holm",
    "paired_auc_bootstrap",
    "paper_auc_effect",
    "patient_resample_weights",
    "weighted_auc",
    "CV",
    "FUSED",
    "HELDOUT",
    "QUESTIONS",
    "add_fused",
    "detectable_text",
    "fused_name",
    "model_auc_table",
    "paired_table",
    "prediction_frames",
    "question_verdicts",
    "VERDICT_LABELS",
    "verdict_sentence",
    "EQUIVALENCE_MARGIN",
    "NOT_TESTABLE",
    "REASONS",
    "RULES",
    "VERDICTS",
    "combine",
    "decide",
    "rule_verdict",
    "EXTERNAL_METRICS",
    "dataset_differences",
    "external_frame",
    "external_table",
    "external_text",
    "image_sizes",
    "ADDED_METRICS",
    "ALPHA_PANELS",
    "CLAIMS",
    "CURVE_COLUMNS",
    "CURVE_SERIES",
    "FAMILIES",
    "METRIC_LABELS",
    "METRIC_RANGES",
    "PAPER",
    "PAPER_ROW_LABELS",
    "PAPER_TABLE1",
    "PAPER_TABLE1_SOURCE",
    "PRIMARY_METRIC",
    "PRIMARY_REASON",
    "REFERENCE_ROW_LABELS",
    "RUN_METRICS",
    "SECONDARY_METRIC",
    "STUDY_METRICS",
    "TABLE1_METRICS",
    "THRESHOLD_METRICS",
    "TWO_STREAM",
    "alpha_curve",
    "alpha_figure",
    "architecture_figure",
    "beats_alpha0",
    "calibration_summary",
    "calibration_text",
    "chance_level",
    "Claim",
    "claim_decisions",
    "claim_verdicts",
    "claims_figure",
    "claims_table",
    "claims_view",
    "clipped_error_bars",
    "comparison_result",
    "confusion",
    "confusion_figure",
    "corrected_t",
    "CorrectedT",
    "covariance_eigenvalues",
    "curve_result",
    "data_html",
    "data_statement",
    "dataset_tables",
    "drop_points",
    "drop_points_view",
    "drop_text",
    "ece_from_bins",
    "facts_html",
    "family_colors",
    "fmt",
    "fold_table",
    "format_cell",
    "history_figure",
    "history_frame",
    "html_table",
    "is_network",
    "is_network_result",
    "learning_check",
    "learning_curve_figure",
    "learning_curve_frame",
    "learning_curve_text",
    "learning_summary",
    "log_spectrum",
    "message_figure",
    "model_label",
    "new_figure",
    "paired_differences",
    "patches_figure",
    "plot_learning_curve",
    "pooled_predictions",
    "problems_frame",
    "profiles_html",
    "records_frame",
    "reliability_bins",
    "reliability_figure",
    "result_path",
    "row_key",
    "row_label",
    "runs_frame",
    "runtime_frame",
    "select",
    "spectra_figure",
    "spectra_frame",
    "spectrum_tails",
    "split_ratio",
    "stopping_text",
    "study_facts",
    "summarize",
    "table1",
    "table1_html",
    "tail_text",
    "verdicts_markdown",
]
