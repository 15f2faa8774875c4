"""Result files as frames: one row per run, the runs of one model, learning histories, confusion."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..model.variants import STUDY_ROWS
from .paper import RUN_METRICS, is_network, model_label, row_key


def runs_frame(results) -> pd.DataFrame:
    """One row per run: identity, sizes, weights, timings and every metric.

    Args:
        results: result dicts (from `breastnet.study.sweep.run_sweep` or `results.load_results`).

    Returns:
        DataFrame with columns variant, family, alpha, fold, repeat, seed, profile,
        dataset, synthetic, n_train, n_val, n_test, weights, backend, epochs_run,
        best_epoch, seconds, table1 (the Table 1 row name of (family, alpha), or None),
        path, and the metrics of RUN_METRICS (NaN where absent).
    """
    lookup = {row_key(name): name for name in STUDY_ROWS}
    rows = []
    for r in results:
        run, ds, tr = r["run"], r.get("dataset", {}), r.get("training", {})
        row = {k: run.get(k) for k in ("variant", "family", "alpha", "fold", "repeat", "seed", "profile", "dataset")}
        row["alpha"] = float(row["alpha"])
        row.update(
            synthetic=bool(ds.get("synthetic", False)),
            n_train=ds.get("n_train"),
            n_val=ds.get("n_val", 0),
            n_test=ds.get("n_test"),
            weights=r.get("weights"),
            backend=r.get("provenance", {}).get("backend"),
            epochs_run=tr.get("epochs_run"),
            best_epoch=tr.get("best_epoch"),
            seconds=tr.get("seconds", {}).get("total"),
            path=r.get("path"),
        )
        row["table1"] = lookup.get((row["family"], row["alpha"]))
        metrics = r.get("metrics", {})
        for k in RUN_METRICS:
            v = metrics.get(k)
            row[k] = math.nan if v is None else float(v)
        rows.append(row)
    columns = [
        "variant",
        "family",
        "alpha",
        "fold",
        "repeat",
        "seed",
        "profile",
        "dataset",
        "synthetic",
        "n_train",
        "n_val",
        "n_test",
        "weights",
        "backend",
        "epochs_run",
        "best_epoch",
        "seconds",
        "table1",
        "path",
        *RUN_METRICS,
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["family", "alpha", "repeat", "fold"], kind="stable").reset_index(drop=True)


def select(runs: pd.DataFrame, model) -> pd.DataFrame:
    """Runs of one model: a Table 1 name ("E-DSSL") or a (family, alpha) pair."""
    fam, alpha = row_key(model) if isinstance(model, str) else (model[0], float(model[1]))
    return runs[(runs["family"] == fam) & np.isclose(runs["alpha"].astype(float), alpha)]


def split_ratio(runs: pd.DataFrame) -> float:
    """Mean n_test / n_train of runs, training = fitted + early-stopping images."""
    n_train = runs["n_train"].astype(float) + runs["n_val"].fillna(0).astype(float)
    return float(np.mean(runs["n_test"].astype(float) / n_train))


def history_frame(results) -> pd.DataFrame:
    """Learning curves: one row per (run, epoch, series) with the value, long format.

    Series are whatever the result files hold: loss (training objective), val_ce, val_auc,
    val_loss in current files, loss and val_loss in older ones. Missing values (written as
    null, e.g. an AUC of a one-class validation part) are NaN.
    """
    rows = []
    for r in results:
        for series, values in (r.get("training", {}).get("history") or {}).items():
            for epoch, value in enumerate(values or [], start=1):
                rows.append(
                    {
                        "fold": r["run"]["fold"],
                        "repeat": r["run"]["repeat"],
                        "epoch": epoch,
                        "series": series,
                        "value": math.nan if value is None else float(value),
                    }
                )
    return pd.DataFrame(rows, columns=["fold", "repeat", "epoch", "series", "value"])


def fold_table(runs: pd.DataFrame, metrics) -> pd.DataFrame:
    """Test metrics per run (repeat, fold, epochs run, best epoch, `metrics`), then their mean and sd over
    runs in two rows named "mean" and "std" in the repeat column."""
    per_fold = runs[["repeat", "fold", "epochs_run", "best_epoch", *metrics]].rename(
        columns={"epochs_run": "epochs", "best_epoch": "best"}
    )
    ids = ["repeat", "fold", "epochs", "best"]
    summary = runs[list(metrics)].agg(["mean", "std"]).reset_index(names="repeat").assign(fold="", epochs="", best="")
    return pd.concat([per_fold.astype({c: str for c in ids}), summary])


def confusion(results, threshold: float = 0.5) -> pd.DataFrame:
    """Confusion matrix of test predictions summed over runs (rows: truth, columns: prediction)."""
    counts = np.zeros((2, 2), dtype=int)
    for r in results:
        y = np.asarray(r["predictions"]["y_true"], dtype=int)
        pred = (np.asarray(r["predictions"]["p_malignant"], dtype=float) >= threshold).astype(int)
        np.add.at(counts, (y, pred), 1)
    names = ["benign", "malignant"]
    return pd.DataFrame(counts, index=pd.Index(names, name="truth"), columns=pd.Index(names, name="predicted"))


def is_network_result(result) -> bool:
    """Whether a result dict is a network's run (False for the descriptor floor)."""
    return is_network(result["run"].get("family") or result["run"].get("variant", ""))


def runtime_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """Training time per model (`model_label`), in the order of `runs`: runs, mean and total seconds,
    mean epochs run."""
    labels = [model_label(f, a) for f, a in zip(runs["family"], runs["alpha"], strict=True)]
    return (
        runs.assign(model=labels)
        .groupby("model", sort=False)
        .agg(
            runs=("seconds", "size"),
            seconds_mean=("seconds", "mean"),
            seconds_total=("seconds", "sum"),
            epochs_mean=("epochs_run", "mean"),
        )
    )
