"""Paired, patient-clustered statistics of the difference of two models' ROC AUC.

Two models A and B predict the same test images. Each has several units: training seeds on
a held-out test set (every unit predicts every image) or (repeat, fold) runs of a
cross-validation (each unit tests its own part of the images; unit k of A tests the images
of unit k of B). A model's score is the mean over its units of the per-unit AUC.

Several images can come from one patient, so the bootstrap resamples patients (all images of
a patient together) within label strata, with one resample shared by both models (paired).
DeLong's test is here as a cross-check: it treats images as independent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from MLstatkit import Delong_test
from scipy.stats import norm

from ..train.bootstrap import patient_resample_weights, weighted_auc
from .paper import PAPER_TABLE1

#: Columns of a frame of per-image predictions.
COLUMNS = ("unit", "id", "patient", "y_true", "p")
#: (z_0.975 + z_0.80): the smallest difference detectable with 80 % power at two-sided 5 % is this times the SE.
MDE80_FACTOR = float(norm.ppf(0.975) + norm.ppf(0.80))


@dataclass(frozen=True)
class PairedAUC:
    """Paired patient-bootstrap comparison of two models' mean-over-units AUC.

    Attributes:
        diff: auc_a - auc_b on the observed data.
        auc_a, auc_b: each model's mean over its units of the per-unit AUC.
        se: standard deviation (ddof 1) of the bootstrap differences.
        ci_low, ci_high: percentile interval of the difference at `level`.
        lower90, upper90: 5th and 95th percentiles: the two-sided 90 % interval, i.e. the
            one-sided 95 % bounds (paper's effect ruled out, equivalence).
        p: two-sided bootstrap p-value, the percentile interval inverted:
            min(1, 2 * min(#(d <= 0) + 1, #(d >= 0) + 1) / (B + 1)); 1 when every
            bootstrap difference and the observed difference are 0.
        mde80: smallest difference detectable with 80 % power at two-sided 5 %, 2.8016 * se.
        level: confidence level of ci_low, ci_high.
        n_resamples: B asked for; n_valid: replicates with a defined difference (a replicate
            is dropped when a unit's resample lacks a class; the statistics use these).
        n_images, n_patients, n_units: sizes of the data.
        units_resampled: whether the units were resampled too (held-out seeds).
        method: what was resampled, in words.
        replicates: the n_valid bootstrap differences (not in the repr, not compared).
    """

    diff: float
    auc_a: float
    auc_b: float
    se: float
    ci_low: float
    ci_high: float
    lower90: float
    upper90: float
    p: float
    mde80: float
    level: float
    n_resamples: int
    n_valid: int
    n_images: int
    n_patients: int
    n_units: int
    units_resampled: bool
    method: str
    replicates: np.ndarray = field(repr=False, compare=False)


def _py(x):
    """A numpy scalar as the Python one, for messages (1, not np.int64(1))."""
    return x.item() if isinstance(x, np.generic) else x


def _check_frame(frame: pd.DataFrame, name: str) -> None:
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks the columns {missing} (a frame needs {list(COLUMNS)})")
    if frame[["unit", "id", "patient", "y_true"]].isna().any().any():
        raise ValueError(f"{name} has missing unit, id, patient or y_true values")
    if not frame["y_true"].isin([0, 1]).all():
        raise ValueError(f"{name}: y_true must hold only 0 and 1")
    if not np.isfinite(frame["p"].to_numpy(dtype=float)).all():
        raise ValueError(f"{name}: p must be finite (NaN predictions have no AUC)")
    dup = frame.duplicated(["unit", "id"])
    if dup.any():
        u, i = frame.loc[dup, ["unit", "id"]].iloc[0]
        raise ValueError(f"{name} holds {int(dup.sum())} repeated (unit, id) rows, e.g. unit {_py(u)!r}, id {_py(i)!r}")


def _pairs(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """A and B side by side on (unit, id), with checks that they hold the same images."""
    m = a[list(COLUMNS)].merge(b[list(COLUMNS)], on=["unit", "id"], how="outer", suffixes=("_a", "_b"), indicator=True)
    only_a, only_b = m[m["_merge"] == "left_only"], m[m["_merge"] == "right_only"]
    if len(only_a) or len(only_b):
        parts = [
            f"{len(rows)} only in {name} (e.g. unit {_py(rows['unit'].iloc[0])!r}, id {_py(rows['id'].iloc[0])!r})"
            for name, rows in (("A", only_a), ("B", only_b))
            if len(rows)
        ]
        raise ValueError("A and B must hold the same (unit, id) pairs: " + ", ".join(parts))
    images = pd.concat([a, b])[["id", "patient", "y_true"]].drop_duplicates()
    bad = images[images["id"].duplicated(keep=False)]
    if len(bad):
        first = bad["id"].iloc[0]
        raise ValueError(
            f"{bad['id'].nunique()} image ids have different y_true or patient in A and B (or across units), "
            f"e.g. id {_py(first)!r}: {bad[bad['id'] == first][['patient', 'y_true']].to_dict('records')}"
        )
    return m


def paired_auc_bootstrap(
    a: pd.DataFrame,
    b: pd.DataFrame,
    *,
    resample_units: bool,
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> PairedAUC:
    """Paired, patient-clustered bootstrap of the difference of mean-over-units AUC, A - B.

    Args:
        a, b: long frames of per-image predictions with columns unit, id, patient, y_true
            (0/1) and p (p(malignant)); A and B hold the same (unit, id) pairs.
        resample_units: True for held-out seeds: each replicate also draws the unit labels
            with replacement, the same labels for A and B (seed k of A is paired with seed k
            of B), so the seeds' spread widens the interval. False for cross-validation folds
            (models held fixed): units are not resampled.
        n_resamples: B, bootstrap replicates.
        level: confidence level of ci_low, ci_high.
        seed: seed of `np.random.default_rng`.

    Each replicate draws one patient resample (`patient_resample_weights`, within label
    strata) over one global index of the images, shared by both models; each unit's AUC is
    the weighted AUC over that unit's images. Patient weights are drawn before unit labels.

    Raises:
        ValueError: missing columns; A and B not holding the same (unit, id) pairs; an image
            with different y_true or patient in A and B; fewer than 2 patients; a unit with
            only one class.
    """
    _check_frame(a, "A")
    _check_frame(b, "B")
    m = _pairs(a, b)
    images = m[["id", "patient_a", "y_true_a"]].drop_duplicates("id").sort_values("id")
    ids = pd.Index(images["id"])
    y = images["y_true_a"].to_numpy(dtype=int)
    n_patients = images["patient_a"].nunique()
    if n_patients < 2:
        raise ValueError(f"the bootstrap needs at least 2 patients, got {n_patients}")
    units = sorted(m["unit"].unique())
    groups = []
    for unit in units:
        rows = m[m["unit"] == unit]
        classes = rows["y_true_a"].unique()
        if len(classes) < 2:
            raise ValueError(
                f"unit {_py(unit)!r} holds only one class (y_true = {_py(classes[0])}): its AUC is undefined"
            )
        idx = ids.get_indexer(rows["id"])
        groups.append((idx, rows["p_a"].to_numpy(dtype=float), rows["p_b"].to_numpy(dtype=float)))

    auc_a = float(np.mean([weighted_auc(y[idx], pa) for idx, pa, _ in groups]))
    auc_b = float(np.mean([weighted_auc(y[idx], pb) for idx, _, pb in groups]))
    diff = auc_a - auc_b

    rng = np.random.default_rng(seed)
    weights = patient_resample_weights(images["patient_a"].to_numpy(), y, n_resamples, rng)
    ra = np.empty((n_resamples, len(units)))
    rb = np.empty((n_resamples, len(units)))
    for k, (idx, pa, pb) in enumerate(groups):
        wu = weights[:, idx]
        ra[:, k] = weighted_auc(y[idx], pa, wu)
        rb[:, k] = weighted_auc(y[idx], pb, wu)
    if resample_units:
        drawn = rng.integers(0, len(units), size=(n_resamples, len(units)))  # same labels for A and B
        ra, rb = np.take_along_axis(ra, drawn, axis=1), np.take_along_axis(rb, drawn, axis=1)
    d = ra.mean(axis=1) - rb.mean(axis=1)
    d = d[np.isfinite(d)]
    d.setflags(write=False)

    nan = math.nan
    n_valid = len(d)
    if n_valid >= 2:
        se = float(d.std(ddof=1))
        ci_low, ci_high, lower90, upper90 = (
            float(q) for q in np.quantile(d, [(1 - level) / 2, (1 + level) / 2, 0.05, 0.95])
        )
        if diff == 0 and (d == 0).all():
            p = 1.0
        else:
            p = min(1.0, 2 * min(int((d <= 0).sum()) + 1, int((d >= 0).sum()) + 1) / (n_valid + 1))
    else:
        se = ci_low = ci_high = lower90 = upper90 = p = nan
    method = f"paired bootstrap, B = {n_resamples}: patients resampled within label strata" + (
        ", units (seeds) resampled with the same labels for both models" if resample_units else ", units fixed"
    )
    return PairedAUC(
        diff=diff,
        auc_a=auc_a,
        auc_b=auc_b,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        lower90=lower90,
        upper90=upper90,
        p=p,
        mde80=MDE80_FACTOR * se,
        level=level,
        n_resamples=n_resamples,
        n_valid=n_valid,
        n_images=len(ids),
        n_patients=int(n_patients),
        n_units=len(units),
        units_resampled=bool(resample_units),
        method=method,
        replicates=d,
    )


def delong_test(y_true, p_a, p_b, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """DeLong's test of two correlated ROC AUCs on the same images, A - B (MLstatkit).

    DeLong treats the images as independent: no patient clustering, one model per side (no
    seeds). It is a cross-check of `paired_auc_bootstrap`, not the test of a verdict.

    MLstatkit signs z as (AUC_B - AUC_A) / SE; here `diff` and `z` are A - B. When the DeLong
    variance of the difference is not positive, MLstatkit falls back to an image bootstrap
    (`n_boot` resamples, seeded by `seed`): `method` then says "bootstrap", `se` is NaN (the
    fallback does not return its SD), and where the fallback's z is 0 (no difference in any
    resample) p is set to 1 (MLstatkit's symmetric p would give 0).

    Returns:
        dict with diff, se, z, p and method ("delong" or the fallback's name).
    """
    z, p, _, _, auc_a, auc_b, info = Delong_test(
        y_true, p_a, p_b, return_ci=True, return_auc=True, n_boot=n_boot, random_state=seed
    )
    diff = float(auc_a - auc_b)
    if info["method"] == "delong":
        return {"diff": diff, "se": math.sqrt(info["var_diff"]), "z": -float(z), "p": float(p), "method": "delong"}
    method = f"{info['method']} (MLstatkit's fallback: the DeLong variance of the difference is not positive)"
    if z == 0:
        return {"diff": diff, "se": math.nan, "z": 0.0, "p": 1.0, "method": method}
    return {"diff": diff, "se": math.nan, "z": -float(z), "p": float(p), "method": method}


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (statsmodels); NaN stays NaN, outside the family.

    The family size is the number of finite p-values.
    """
    from statsmodels.stats.multitest import multipletests  # imported here: slow to import

    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, math.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = multipletests(p[finite], method="holm")[1]
    return out


def _scalar_or_array(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def auc_from_accuracy(acc):
    """AUC of the equal-variance binormal model with this accuracy at the optimal threshold
    (balanced classes): accuracy = Φ(d'/2) and AUC = Φ(d'/√2), so AUC = Φ(√2 Φ⁻¹(acc))."""
    return _scalar_or_array(norm.cdf(math.sqrt(2) * norm.ppf(acc)))


def auc_from_sens_spec(sens, spec):
    """AUC of the equal-variance binormal model through (sensitivity, specificity):
    d' = Φ⁻¹(sens) + Φ⁻¹(spec) and AUC = Φ(d'/√2)."""
    return _scalar_or_array(norm.cdf((norm.ppf(sens) + norm.ppf(spec)) / math.sqrt(2)))


def paper_auc_effect(better: str, baseline: str) -> dict | None:
    """The paper's Table 1 effect of `better` over `baseline`, in AUC (binormal mapping).

    Returns:
        {"from_accuracy", "from_sens_spec", "effect"}: AUC(better) - AUC(baseline) mapped from
        accuracy and from sensitivity/specificity; "effect" is the accuracy one (the paper's
        headline measure). None when a row is not in PAPER_TABLE1 (e.g. "Descriptors").
        A value is NaN where the paper lacks the metric.
    """
    if better not in PAPER_TABLE1 or baseline not in PAPER_TABLE1:
        return None
    rows = PAPER_TABLE1[better], PAPER_TABLE1[baseline]

    def mapped(*metrics, f):
        values = [[r[k] for k in metrics] for r in rows]
        if any(v is None for vs in values for v in vs):
            return math.nan
        return f(*values[0]) - f(*values[1])

    from_acc = mapped("accuracy", f=auc_from_accuracy)
    from_ss = mapped("sensitivity", "specificity", f=auc_from_sens_spec)
    return {"from_accuracy": from_acc, "from_sens_spec": from_ss, "effect": from_acc}
