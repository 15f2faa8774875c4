"""The alpha spectra (Fig. 2a, 2b) and the feature spectra (Fig. 2c).

The descriptor floor has no alpha and no penultimate features: both spectra skip it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..study.results import read_features
from .paper import FAMILIES, METRIC_RANGES, is_network, model_label
from .runs import split_ratio
from .stats import corrected_t


def clipped_error_bars(mean, sd, metric: str) -> np.ndarray:
    """(2, n) lower and upper bar lengths of mean +- sd, cut at the metric's range (for `errorbar`)."""
    mean = np.asarray(mean, dtype=float)
    sd = np.nan_to_num(np.asarray(sd, dtype=float))
    low, high = METRIC_RANGES.get(metric, (-math.inf, math.inf))
    return np.stack([mean - np.maximum(mean - sd, low), np.minimum(mean + sd, high) - mean])


def alpha_curve(
    runs: pd.DataFrame,
    families=FAMILIES,
    metrics=("accuracy", "sensitivity", "specificity", "auc", "rmse", "cc"),
    level: float = 0.95,
) -> pd.DataFrame:
    """Mean and corrected CI of each metric against alpha, per family (long format).

    Families that are not networks (the descriptor floor has no alpha) are skipped."""
    rows = []
    for fam in families:
        if not is_network(fam):
            continue
        sel = runs[runs["family"] == fam]
        for alpha, group in sel.groupby("alpha"):
            ratio = split_ratio(group)
            for metric in metrics:
                ct = corrected_t(group[metric].to_numpy(dtype=float), ratio, level)
                if ct.n == 0:
                    continue
                rows.append(
                    {
                        "family": fam,
                        "alpha": float(alpha),
                        "metric": metric,
                        "n": ct.n,
                        "mean": ct.mean,
                        "sd": ct.sd,
                        "ci_low": ct.ci_low,
                        "ci_high": ct.ci_high,
                    }
                )
    return pd.DataFrame(rows, columns=["family", "alpha", "metric", "n", "mean", "sd", "ci_low", "ci_high"])


def beats_alpha0(curve: pd.DataFrame, alphas, metric: str = "accuracy") -> tuple[int, int]:
    """How many (family, alpha > 0) points of `alphas` have a higher mean `metric` than their family at alpha 0.

    Returns:
        (better, points): a point whose family has no alpha-0 mean counts as not better.
    """
    sel = curve[curve["alpha"].isin(alphas) & (curve["metric"] == metric)]
    base = sel[sel["alpha"] == 0].set_index("family")["mean"]
    above = sel[sel["alpha"] > 0]
    return sum(bool(m > base.get(f, math.nan)) for f, m in zip(above["family"], above["mean"], strict=True)), len(above)


def chance_level(results) -> float:
    """Accuracy of always predicting the majority class of each test set, averaged over runs."""
    rates = [
        max(np.mean(r["predictions"]["y_true"]), 1 - np.mean(r["predictions"]["y_true"]))
        for r in results
        if r["predictions"]["y_true"]
    ]
    return float(np.mean(rates)) if rates else 0.5


def drop_points(curve: pd.DataFrame, metric: str = "accuracy", chance: float = 0.5, tol: float = 0.02) -> pd.DataFrame:
    """The paper's points A and B (Fig. 2b) on each family's mean curve.

    A: the first alpha past the curve's peak whose mean is more than `tol` below the
    peak ("performance begins to decrease"). B: the first alpha whose mean is within
    `tol` of the chance level (the paper: "test accuracy of point B is about 0.5"),
    only when the peak itself is above chance + tol (a curve at chance has nothing to fall
    from). None where the curve has no such point.
    """
    rows = []
    for fam, group in curve[curve["metric"] == metric].groupby("family", sort=False):
        g = group.sort_values("alpha")
        alphas, means = g["alpha"].to_numpy(), g["mean"].to_numpy()
        peak = int(np.nanargmax(means)) if len(means) else 0
        a = next((float(alphas[i]) for i in range(peak + 1, len(means)) if means[i] < means[peak] - tol), None)
        b = None
        if len(means) and means[peak] > chance + tol:
            b = next((float(alphas[i]) for i in range(len(means)) if alphas[i] > 0 and means[i] <= chance + tol), None)
        rows.append(
            {
                "family": fam,
                "peak_alpha": float(alphas[peak]) if len(alphas) else None,
                "peak": float(means[peak]) if len(means) else math.nan,
                "A": a,
                "B": b,
            }
        )
    return pd.DataFrame(rows, columns=["family", "peak_alpha", "peak", "A", "B"])


def covariance_eigenvalues(features) -> np.ndarray:
    """Eigenvalues of the feature covariance (unnormalized PCA), largest first.

    Features are centred, not scaled. With fewer images than features the n x n Gram
    matrix Xc Xc^T / (n - 1) is decomposed instead of the d x d covariance: it has the
    same nonzero eigenvalues, and the covariance's other d - n eigenvalues are 0.
    Returns min(n, d) values (rank-deficient tail included, clipped at 0).
    """
    x = np.asarray(features, dtype=float)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need an (n >= 2, d) feature matrix, got shape {x.shape}")
    xc = x - x.mean(axis=0)
    n, d = xc.shape
    gram = xc.T @ xc if d <= n else xc @ xc.T
    values = np.linalg.eigvalsh(gram / (n - 1))[::-1]
    return np.clip(values, 0.0, None)


def log_spectrum(features, rtol: float = 1e-10) -> np.ndarray:
    """log(λ_i) of the covariance eigenvalues above rtol * λ_max (the numerically nonzero ones)."""
    values = covariance_eigenvalues(features)
    keep = values > rtol * values.max() if values.max() > 0 else np.zeros(len(values), bool)
    return np.log(values[keep])


def result_path(result, folder=None) -> Path:
    """The JSON file of a result: its "path" (set by `results.load_results`), else found in `folder`
    from its features file name (`results.write_result` names it <json stem>.features.npz)."""
    if result.get("path"):
        return Path(result["path"])
    if folder is None:
        raise ValueError("result has no 'path'; give the study folder it was read from")
    return Path(folder) / (result["features_file"].removesuffix(".features.npz") + ".json")


def spectra_frame(results, families=FAMILIES, alphas=(0.0, 0.25), folder=None) -> pd.DataFrame:
    """log-eigenvalue spectra of each run's penultimate test features (Fig. 2c), long format.

    Each run is decomposed on its own (folds are different models, so their feature
    spaces differ and are not pooled). `folder` is the study folder, needed for results
    that do not carry their "path" (those returned by `run_sweep`). Runs that are not
    networks are skipped even when `families` names them: the descriptor floor's features
    are its eleven standardised descriptors, not penultimate-layer features. Columns: family,
    alpha, model, fold, repeat, index (1-based), log_eigenvalue.
    """
    frames = []
    for r in results:
        fam, alpha = r["run"]["family"], float(r["run"]["alpha"])
        if fam not in families or not is_network(fam) or not any(math.isclose(alpha, a) for a in alphas):
            continue
        logs = log_spectrum(read_features(result_path(r, folder)))
        frames.append(
            pd.DataFrame(
                {
                    "family": fam,
                    "alpha": alpha,
                    "model": model_label(fam, alpha),
                    "fold": r["run"]["fold"],
                    "repeat": r["run"]["repeat"],
                    "index": np.arange(1, len(logs) + 1),
                    "log_eigenvalue": logs,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["family", "alpha", "model", "fold", "repeat", "index", "log_eigenvalue"])
    return pd.concat(frames, ignore_index=True)


def spectrum_tails(spectra: pd.DataFrame, tail_from: int = 6) -> pd.DataFrame:
    """Height of each spectrum's tail: mean log λ_i over i >= tail_from, averaged over runs.

    A "fatter tail" (the paper's words for alpha = 0) is a larger value.
    Columns: family, alpha, model, runs, tail_mean, tail_sd, top (mean log λ_1).
    """
    rows = []
    for (fam, alpha), group in spectra.groupby(["family", "alpha"], sort=False):
        per_run = group.groupby(["fold", "repeat"])
        tails = per_run.apply(lambda g: g.loc[g["index"] >= tail_from, "log_eigenvalue"].mean(), include_groups=False)
        top = per_run.apply(lambda g: g.loc[g["index"] == 1, "log_eigenvalue"].mean(), include_groups=False)
        rows.append(
            {
                "family": fam,
                "alpha": float(alpha),
                "model": model_label(fam, alpha),
                "runs": len(tails),
                "tail_mean": float(tails.mean()),
                "tail_sd": float(tails.std(ddof=1)) if len(tails) > 1 else math.nan,
                "top": float(top.mean()),
            }
        )
    return pd.DataFrame(rows, columns=["family", "alpha", "model", "runs", "tail_mean", "tail_sd", "top"])
