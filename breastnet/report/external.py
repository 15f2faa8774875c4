"""External validation, from result files: internal cross-validation beside another dataset.

The external results are written by `breastnet.deploy.evaluate` (final models of Table 1's
two-stream rows and the classical floor, trained on the whole study set, tested on the
external set); the internal numbers are the same configurations' cross-validated runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .paper import model_label
from .text import fmt

EXTERNAL_METRICS = ("auc", "sensitivity", "specificity", "ece")


def external_frame(internal_runs: pd.DataFrame, external_results) -> pd.DataFrame:
    """One row per model: internal CV mean ± sd and the external value with its bootstrap CI.

    Args:
        internal_runs: `runs_frame` of the study's CV results.
        external_results: result dicts with run.kind "external".
    """
    rows = []
    for r in external_results:
        fam, alpha = r["run"]["family"], float(r["run"]["alpha"])
        cv = internal_runs[(internal_runs["family"] == fam) & np.isclose(internal_runs["alpha"], alpha)]
        row = {"model": model_label(fam, alpha), "family": fam, "alpha": alpha, "cv_runs": len(cv)}
        for m in EXTERNAL_METRICS:
            row[f"cv_{m}_mean"] = float(cv[m].mean()) if len(cv) else np.nan
            row[f"cv_{m}_sd"] = float(cv[m].std(ddof=1)) if len(cv) > 1 else np.nan
            row[f"ext_{m}"] = float(r["metrics"].get(m, np.nan))
            low, high = r.get("metrics_ci", {}).get(m, (np.nan, np.nan))
            row[f"ext_{m}_low"], row[f"ext_{m}_high"] = float(low), float(high)
        rows.append(row)
    return pd.DataFrame(rows)


def external_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The chapter's table: "mean ± sd" internally, "value [low, high]" externally."""
    out = pd.DataFrame({"model": frame["model"], "CV runs": frame["cv_runs"]})
    for m, label in (("auc", "AUC"), ("sensitivity", "sensitivity"), ("specificity", "specificity")):
        out[f"{label}, internal CV"] = [
            f"{fmt(a)} ± {fmt(b)}" for a, b in zip(frame[f"cv_{m}_mean"], frame[f"cv_{m}_sd"], strict=True)
        ]
        out[f"{label}, external [95% CI]"] = [
            f"{fmt(v)} [{fmt(lo)}, {fmt(hi)}]"
            for v, lo, hi in zip(frame[f"ext_{m}"], frame[f"ext_{m}_low"], frame[f"ext_{m}_high"], strict=True)
        ]
    out["ECE, internal → external"] = [
        f"{fmt(a)} → {fmt(b)}" for a, b in zip(frame["cv_ece_mean"], frame["ext_ece"], strict=True)
    ]
    return out


def dataset_differences(study: pd.DataFrame, external: pd.DataFrame) -> pd.DataFrame:
    """What the two datasets differ in: size, patients, class balance, BI-RADS spread, image sizes, scanners.

    Args:
        study, external: `records_frame`-like frames with columns pathology, patient, birads,
            and optionally width, height, device.
    """

    def describe(frame: pd.DataFrame) -> dict:
        counts = frame["birads"].fillna("missing").value_counts().sort_index()
        row = {
            "images": len(frame),
            "patients": frame["patient"].nunique(),
            "malignant share": f"{frame['pathology'].isin([1, 'malignant']).mean():.2f}",
            "BI-RADS": ", ".join(f"{k}: {v}" for k, v in counts.items()),
        }
        if {"width", "height"} <= set(frame.columns) and frame["width"].notna().any():
            row["image size (median w x h)"] = f"{frame['width'].median():.0f} x {frame['height'].median():.0f} px"
        if "device" in frame.columns and frame["device"].notna().any():
            row["scanners"] = ", ".join(sorted(map(str, frame["device"].dropna().unique())))
        return row

    return pd.DataFrame({"study": describe(study), "external": describe(external)}).fillna("–")


def image_sizes(dataset) -> pd.DataFrame:
    """Width and height of every image of a dataset (read from the files; None when unreadable)."""
    import cv2

    rows = []
    for r in dataset.records:
        image = cv2.imread(str(r.image), cv2.IMREAD_GRAYSCALE)
        rows.append(
            {
                "id": r.id,
                "width": None if image is None else image.shape[1],
                "height": None if image is None else image.shape[0],
            }
        )
    return pd.DataFrame(rows, columns=["id", "width", "height"])


def external_text(frame: pd.DataFrame, external_name: str) -> str:
    """One sentence per model: how much AUC moved from internal CV to the external set."""
    if not len(frame):
        return "No external result."
    parts = []
    for _, r in frame.iterrows():
        inside = (r["ext_auc_low"] <= r["cv_auc_mean"] <= r["ext_auc_high"]) if np.isfinite(r["cv_auc_mean"]) else None
        where = "inside" if inside else ("outside" if inside is not None else "with no internal CV run to compare")
        parts.append(
            f"{r['model']}: external AUC {fmt(r['ext_auc'])} [{fmt(r['ext_auc_low'])}, {fmt(r['ext_auc_high'])}] "
            f"against {fmt(r['cv_auc_mean'])} in internal CV ({where} the external interval)"
        )
    return f"On {external_name}: " + "; ".join(parts) + "."
