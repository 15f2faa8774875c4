"""Calibration: reliability bins, ECE and Brier of alpha 0 against alpha 0.25."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..model.variants import REFERENCE_ROWS, VARIANTS
from ..train.metrics import ECE_BINS, calibration_bins, ece_of_bins, expected_calibration_error
from .paper import FAMILIES, is_network, model_label, row_key


def pooled_predictions(results) -> pd.DataFrame:
    """Test predictions of runs, one row per (run, image): family, alpha, fold, repeat, y_true, p."""
    frames = []
    for r in results:
        p = r["predictions"]
        frames.append(
            pd.DataFrame(
                {
                    "family": r["run"]["family"],
                    "alpha": float(r["run"]["alpha"]),
                    "fold": r["run"]["fold"],
                    "repeat": r["run"]["repeat"],
                    "id": p["id"],
                    "y_true": p["y_true"],
                    "p_malignant": p["p_malignant"],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["family", "alpha", "fold", "repeat", "id", "y_true", "p_malignant"])
    return pd.concat(frames, ignore_index=True)


def reliability_bins(y_true, p_malignant, n_bins: int = ECE_BINS) -> pd.DataFrame:
    """Reliability diagram data: the equal-width bins of `breastnet.train.metrics.calibration_bins`.

    Columns: bin, lower, upper, count, mean_predicted, observed (empty bins have count 0, NaN rates).
    The ECE is sum(count / N * |observed - mean_predicted|) over non-empty bins (`ece_from_bins`).
    """
    bins = calibration_bins(y_true, p_malignant, n_bins)
    return pd.DataFrame({"bin": np.arange(n_bins), **bins})


def ece_from_bins(bins: pd.DataFrame) -> float:
    """Expected calibration error of a `reliability_bins` table (`breastnet.train.metrics.ece_of_bins`)."""
    return ece_of_bins(bins["count"].to_numpy(), bins["observed"].to_numpy(), bins["mean_predicted"].to_numpy())


def _nanmean(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(x[~np.isnan(x)].mean()) if (~np.isnan(x)).any() else math.nan


def calibration_summary(
    results, families=FAMILIES, alphas=(0.0, 0.25), n_bins: int = ECE_BINS, reference=tuple(REFERENCE_ROWS)
) -> pd.DataFrame:
    """ECE and Brier of alpha 0 against alpha 0.25, per family, and of our reference rows.

    Args:
        results: result dicts.
        families, alphas: the network families and entropy weights compared.
        n_bins: ECE bins.
        reference: reference rows (the descriptor floor) added after the families, at
            alpha 0 only; () for none.

    Columns: family, alpha, model, runs, ece_mean (mean of the runs' ECE), ece_sd,
    ece_pooled (ECE of every run's test predictions pooled), brier_mean, mean_entropy.
    """
    rows = []
    plan = [(fam, alphas) for fam in families if is_network(fam)]
    plan += [(row_key(name)[0], (row_key(name)[1],)) for name in reference if name in VARIANTS]
    for fam, fam_alphas in plan:
        for alpha in fam_alphas:
            sel = [r for r in results if r["run"]["family"] == fam and math.isclose(r["run"]["alpha"], alpha)]
            if not sel:
                continue
            y = np.concatenate([r["predictions"]["y_true"] for r in sel]).astype(int)
            p = np.concatenate([r["predictions"]["p_malignant"] for r in sel])
            ece = np.array([r["metrics"].get("ece") for r in sel], dtype=float)
            brier = np.array([r["metrics"].get("brier") for r in sel], dtype=float)
            entropy = np.concatenate([r["predictions"].get("entropy", []) for r in sel]).astype(float)
            rows.append(
                {
                    "family": fam,
                    "alpha": float(alpha),
                    "model": model_label(fam, alpha),
                    "runs": len(sel),
                    "ece_mean": _nanmean(ece),
                    "ece_sd": float(np.nanstd(ece, ddof=1)) if len(sel) > 1 else math.nan,
                    "ece_pooled": expected_calibration_error(y, p, n_bins),
                    "brier_mean": _nanmean(brier),
                    "mean_entropy": float(entropy.mean()) if len(entropy) else math.nan,
                }
            )
    return pd.DataFrame(
        rows,
        columns=["family", "alpha", "model", "runs", "ece_mean", "ece_sd", "ece_pooled", "brier_mean", "mean_entropy"],
    )
