"""Did the networks learn? One-class runs, the networks against the floor, the learning curve."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..model.variants import VARIANTS
from .paper import TWO_STREAM, model_label
from .runs import is_network_result, select
from .text import fmt


def _share(count: int, total: int) -> str:
    return f"{count} of {total}"


def learning_check(results, threshold: float = 0.5, small_alpha: float = 1.0, tie_tol: float = 1e-9) -> dict:
    """How many network runs gave every test image the same predicted class.

    Such a run's accuracy is the share of that class in its test fold, whatever else
    it learned, and its sensitivity and specificity are 1 and 0 (or 0 and 1): a reader has
    to know before reading Table 1. Its AUC can still show a ranking, unless it gave every
    test image the same probability. Runs with alpha > `small_alpha` are counted apart as
    well: a large entropy weight pushes outputs towards 0.5 by design (the paper's point B).

    Args:
        results: result dicts (with "predictions"); runs of the descriptor floor are not
            counted in the totals, but have their shares in by_model.
        threshold: the decision threshold on p(malignant).
        small_alpha: runs with alpha <= this are also counted on their own.
        tie_tol: predictions spanning at most this range count as one probability.

    Returns:
        dict: runs, one_class (network runs whose test predictions are all one class),
        runs_small_alpha, one_class_small_alpha (the same over runs with alpha <= small_alpha),
        constant (network runs with one probability for every test image), small_alpha,
        median_sd (median over network runs of the sd of p(malignant) over the run's test
        images), text (one sentence for the book), by_model ((family, alpha) -> share of
        its runs that gave one class), by_model_constant ((family, alpha) -> share of its
        runs with one probability for every test image).
    """
    runs = one_class = small = one_class_small = constant = 0
    spreads, by_model, by_model_constant = [], {}, {}
    for r in results:
        p = np.asarray(r["predictions"]["p_malignant"], dtype=float)
        if len(p) == 0:
            continue
        above = p >= threshold
        flat = int(above.all() or not above.any())
        tied = int(float(np.ptp(p)) <= tie_tol)
        key = (r["run"]["family"], float(r["run"]["alpha"]))
        by_model.setdefault(key, []).append(flat)
        by_model_constant.setdefault(key, []).append(tied)
        if not is_network_result(r):
            continue
        runs += 1
        one_class += flat
        constant += tied
        spreads.append(float(p.std()))
        if key[1] <= small_alpha:
            small += 1
            one_class_small += flat
    median_sd = float(np.median(spreads)) if spreads else math.nan
    spread = f"median sd of p(malignant) over a run's test images: {median_sd:.3f}"
    if runs == 0:
        text = "No network run has test predictions yet."
    elif one_class == 0:
        text = f"Every one of the {runs} network runs predicted both classes among its test images ({spread})."
    else:
        text = (
            f"In {_share(one_class, runs)} network runs every test image got the same predicted class "
            f"({_share(one_class_small, small)} runs with α ≤ {small_alpha:g}), so those runs' accuracy is "
            f"just the share of that class in the fold and their sensitivity and specificity are 1 and 0 or "
            f"0 and 1; their AUC can still show a ranking ({spread})."
        )
        if constant:
            text += (
                f" {_share(constant, runs)} runs gave every test image the same probability, so they rank "
                f"nothing at all."
            )
    return {
        "runs": runs,
        "one_class": one_class,
        "runs_small_alpha": small,
        "one_class_small_alpha": one_class_small,
        "constant": constant,
        "small_alpha": small_alpha,
        "median_sd": median_sd,
        "text": text,
        "by_model": {key: float(np.mean(flags)) for key, flags in by_model.items()},
        "by_model_constant": {key: float(np.mean(flags)) for key, flags in by_model_constant.items()},
    }


def learning_summary(
    runs: pd.DataFrame, check: dict | None = None, rows=TWO_STREAM, floor: str = "Descriptors"
) -> dict:
    """The numbers of "Did the networks learn?": test AUC of the two-stream rows against the floor.

    Args:
        runs: `runs_frame` output.
        check: `learning_check` output, whose one-class counts are repeated in the text; None: none.
        rows: the network rows pooled (default the two-stream rows DSTL, E-DSTL, DMTL, E-DMTL).
        floor: the reference row they are held against.

    Returns:
        dict: networks_auc (mean test AUC over every run of `rows` that has one), networks_runs,
        by_row (row -> mean AUC, NaN where no run), floor_auc, floor_runs, rows (names),
        networks_text, floor_text (the two numbers in words, whatever they are), text (all of it).
    """

    def auc_of(sel):
        values = sel["auc"].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        return (float(values.mean()) if len(values) else math.nan), len(values)

    by_row = {name: auc_of(select(runs, name))[0] for name in rows}
    pooled = pd.concat([select(runs, name) for name in rows]) if rows else runs.iloc[:0]
    networks_auc, networks_runs = auc_of(pooled)
    floor_auc, floor_runs = auc_of(select(runs, floor)) if floor in VARIANTS else (math.nan, 0)
    names = ", ".join(rows)
    if networks_runs:
        networks_text = (
            f"The two-stream networks ({names}) reach a mean test AUC of {networks_auc:.3f} over "
            f"their {networks_runs} runs"
        )
        done = [f"{name} {v:.3f}" for name, v in by_row.items() if not math.isnan(v)]
        networks_text += f" ({'; '.join(done)})."
    else:
        networks_text = f"No run of the two-stream networks ({names}) has a test AUC."
    if floor_runs:
        floor_text = (
            f"The hand-crafted descriptors with logistic regression (the floor, not in the paper) reach "
            f"{floor_auc:.3f} over {floor_runs} runs on the same folds."
        )
    else:
        floor_text = "The hand-crafted descriptor floor has no run with a test AUC here."
    parts = [check["text"]] if check else []
    return {
        "networks_auc": networks_auc,
        "networks_runs": networks_runs,
        "by_row": by_row,
        "floor_auc": floor_auc,
        "floor_runs": floor_runs,
        "rows": list(rows),
        "networks_text": networks_text,
        "floor_text": floor_text,
        "text": " ".join(parts + [networks_text, floor_text]),
    }


#: History series of a learning-curve run: (split, BatchNorm statistics) -> history key.
CURVE_SERIES = {
    ("validation", "moving"): "val_auc_moving",
    ("validation", "precise"): "val_auc_precise",
    ("test", "moving"): "test_auc_moving",
    ("test", "precise"): "test_auc_precise",
}
CURVE_COLUMNS = [
    "variant",
    "family",
    "alpha",
    "fold",
    "repeat",
    "best_epoch",
    "bn_stats",
    "monitor",
    "final_auc",
    "epoch",
    "split",
    "statistics",
    "auc",
]


def curve_result(results):
    """The result of the study's learning-curve run (`training.learning_curve` true), or None.

    A study has one (the profile's `curve_variant`, repeat 0, fold 0); with several, the
    first by (repeat, fold) is taken."""
    found = [r for r in results if r.get("training", {}).get("learning_curve")]
    if not found:
        return None
    return min(found, key=lambda r: (r["run"].get("repeat", 0), r["run"].get("fold", 0)))


def learning_curve_frame(results) -> pd.DataFrame:
    """Validation and test AUC per epoch of the learning-curve run, with moving and precise statistics.

    Tidy: one row per (epoch, split, statistics); split "validation" or "test", statistics
    "moving" (Keras' moving averages) or "precise" (re-estimated on the training images).
    Columns: variant, family, alpha, fold, repeat, best_epoch (1-based, restored by early
    stopping), bn_stats (the statistics the run was evaluated with), monitor (early stopping's),
    final_auc (the run's reported test AUC), epoch (1-based), split, statistics, auc (NaN
    where undefined). Empty (with these columns) when no run recorded a curve.
    """
    r = curve_result(results)
    if r is None:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    history = r["training"].get("history") or {}
    config = r.get("config") or {}
    stopping = config.get("early_stopping") or {}
    final = (r.get("metrics") or {}).get("auc")
    rows = []
    for (split, statistics), key in CURVE_SERIES.items():
        for epoch, value in enumerate(history.get(key) or [], start=1):
            rows.append(
                {
                    "variant": r["run"]["variant"],
                    "family": r["run"]["family"],
                    "alpha": float(r["run"]["alpha"]),
                    "fold": r["run"]["fold"],
                    "repeat": r["run"]["repeat"],
                    "best_epoch": r["training"].get("best_epoch"),
                    "bn_stats": config.get("bn_stats"),
                    "monitor": stopping.get("monitor"),
                    "final_auc": math.nan if final is None else float(final),
                    "epoch": epoch,
                    "split": split,
                    "statistics": statistics,
                    "auc": math.nan if value is None else float(value),
                }
            )
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def learning_curve_text(frame: pd.DataFrame) -> str:
    """The caption of the learning-curve figure, from its numbers."""
    if not len(frame):
        return (
            "No run of this study recorded a learning curve (the profile names no curve variant, "
            "or the result files predate the curve)."
        )
    first = frame.iloc[0]
    last = int(frame["epoch"].max())
    at = frame.set_index(["epoch", "split", "statistics"])["auc"]

    def auc(epoch, split, statistics):
        return at.get((epoch, split, statistics), math.nan)

    text = (
        f"{model_label(first['family'], first['alpha'])}, repeat {first['repeat']}, fold {first['fold']}: "
        f"{last} epoch{'s' if last != 1 else ''} trained. At the last epoch the test AUC is "
        f"{fmt(auc(last, 'test', 'precise'))} with precise BatchNorm statistics and "
        f"{fmt(auc(last, 'test', 'moving'))} with the moving averages"
    )
    if (frame["split"] == "validation").any():
        text += (
            f" (validation: {fmt(auc(last, 'validation', 'precise'))} and {fmt(auc(last, 'validation', 'moving'))})."
        )
    else:
        text += "; the run had no validation part (it trained on its whole training fold)."
    best = first["best_epoch"]
    if best is not None and pd.notna(best):
        best = int(best)
        used = first["bn_stats"] if first["bn_stats"] in ("moving", "precise") else "precise"
        monitor = f" on {first['monitor']}" if first["monitor"] else ""
        text += (
            f" Early stopping{monitor} restored epoch {best}, whose test AUC is "
            f"{fmt(auc(best, 'test', used))} with the {used} statistics the run is evaluated with"
        )
        text += f" (the run's reported test AUC: {fmt(first['final_auc'])})." if pd.notna(first["final_auc"]) else "."
    else:
        text += " No epoch was restored by early stopping: the last epoch's weights were tested."
    return text
