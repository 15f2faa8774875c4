"""Numbers in words: captions of the book and the command line's summary table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .paper import model_label


def fmt(x, digits: int = 3) -> str:
    """A number as the book prints it: `digits` decimals, "–" for None or NaN."""
    return "–" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def drop_text(points: pd.DataFrame) -> str:
    """The points A and B of `drop_points` in words."""
    parts = []
    for _, p in points.iterrows():
        a = f"A at α = {p['A']:g}" if pd.notna(p["A"]) else "no point A"
        b = f"B at α = {p['B']:g}" if pd.notna(p["B"]) else "no point B"
        parts.append(f"E-{p['family']}: mean accuracy peaks at α = {p['peak_alpha']:g} ({p['peak']:.3f}); {a}; {b}")
    return ("; ".join(parts) + ".") if parts else "No alpha spectrum was run."


def drop_points_view(points: pd.DataFrame) -> pd.DataFrame:
    """`drop_points` for reading: E- model names, alphas as "0.25" ("–" where there is no such point)."""

    def alpha(x):
        return "–" if x is None or pd.isna(x) else f"{x:g}"

    view = points.assign(
        peak_alpha=points["peak_alpha"].map(alpha),
        A=points["A"].map(alpha),
        B=points["B"].map(alpha),
        family="E-" + points["family"],
    )
    return view.rename(columns={"peak_alpha": "peak at α", "peak": "peak accuracy", "A": "A at α", "B": "B at α"})


def stopping_text(trained: bool, early_stopping: str) -> str:
    """What early stopping did to one variant's runs, in words.

    Args:
        trained: whether the runs trained a network (False: the descriptor floor, no epochs).
        early_stopping: `study_facts`' "early_stopping" ("not recorded" in older result files).
    """
    if not trained:
        return "This row trains no network, so it has no epochs and no early stopping."
    if early_stopping.startswith("none"):
        return (
            "There is no early stopping, as in the paper: every run trains a fixed number of epochs "
            f"and is tested with its last epoch's weights ({early_stopping})."
        )
    if early_stopping != "not recorded":
        return (
            f"Early stopping ({early_stopping}) restores the weights of the best epoch of the monitored "
            f"quantity before testing."
        )
    return (
        "These result files do not record the early-stopping settings; the weights of the best "
        "epoch on the validation part were restored before testing."
    )


def _alpha_pairs(frame: pd.DataFrame, column: str) -> list[tuple[str, float, float]]:
    """(family, value at alpha 0, value at alpha 0.25) for families that have both."""
    pairs = []
    for fam, g in frame.groupby("family", sort=False):
        at = {round(a, 6): v for a, v in zip(g["alpha"], g[column], strict=True)}
        if 0.0 in at and 0.25 in at:
            pairs.append((fam, at[0.0], at[0.25]))
    return pairs


def tail_text(tails: pd.DataFrame) -> str:
    """Whether the spectra have fatter tails at alpha 0 than at 0.25, in words."""
    pairs = _alpha_pairs(tails, "tail_mean")
    if not pairs:
        return "No family has runs at both α = 0 and α = 0.25."
    fatter = sum(a0 > a1 for _, a0, a1 in pairs)
    detail = "; ".join(f"{fam}: {a0:.2f} at α = 0 against {a1:.2f} at α = 0.25" for fam, a0, a1 in pairs)
    return (
        f"The tail is higher (fatter) at α = 0 than at α = 0.25 for {fatter} of {len(pairs)} families "
        f"({detail}); the paper reports fatter tails at α = 0 for all three."
    )


def calibration_text(cal: pd.DataFrame) -> str:
    """ECE at alpha 0 against 0.25 per family, in words."""
    pairs = _alpha_pairs(cal, "ece_pooled")
    if not pairs:
        return "No family has runs at both α = 0 and α = 0.25."
    lower = sum(e1 < e0 for _, e0, e1 in pairs)
    detail = "; ".join(f"{fam}: {e0:.3f} → {e1:.3f}" for fam, e0, e1 in pairs)
    return (
        f"Pooled ECE from α = 0 to α = 0.25: {detail}. The entropy term lowered the ECE "
        f"for {lower} of {len(pairs)} families."
    )


def summarize(results, keys=("accuracy", "sensitivity", "specificity", "auc", "rmse", "cc")) -> str:
    """A plain-text table of result dicts (the command line's summary): mean +- sd over the runs of each model.

    Args:
        results: result dicts.
        keys: the metrics, one column each.

    Returns:
        A header line, then one line per (family, alpha) in that order: the model (`model_label`),
        its runs and, per metric, "mean +- sd" over the runs that have a value ("-" where none has).
    """
    groups: dict = {}
    for r in results:
        groups.setdefault((r["run"]["family"], float(r["run"]["alpha"])), []).append(r["metrics"])
    names = {key: model_label(*key) for key in groups}
    width = max([len("model"), *map(len, names.values())]) + 2
    lines = [f"{'model':<{width}}{'runs':>5}" + "".join(f"{k:>16}" for k in keys)]
    for key, metrics in sorted(groups.items()):
        cells = []
        for k in keys:
            values = np.array([m[k] for m in metrics if m.get(k) is not None], dtype=float)
            values = values[~np.isnan(values)]
            sd = values.std(ddof=1) if len(values) > 1 else 0.0
            cells.append(f"{values.mean():.3f} +- {sd:.3f}" if len(values) else "-")
        lines.append(f"{names[key]:<{width}}{len(metrics):>5}" + "".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)
