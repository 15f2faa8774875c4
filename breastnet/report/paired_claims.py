"""The claims tested on paired per-image predictions: on the held-out patients, and on the CV folds.

Every question compares two models on the same images: the paper's three claims, our
question whether the networks beat the hand-crafted descriptor floor, and our question
whether they add anything to it (a *fused* row: the mean of a network's and the floor's
p(malignant) on each image, nothing fitted). For each comparison `paired_table` gives the
AUC difference (mean over the units of each model: training seeds on the held-out set,
(repeat, fold) runs in cross-validation), its 95 % interval and p from the patient-clustered
paired bootstrap (`breastnet.report.paired`; on the held-out set the seeds are resampled
too, so training randomness is in the interval), Holm's adjustment across every comparison
of every question, the smallest difference detectable with 80 % power, the paper's effect
in AUC units, DeLong's test on images as a cross-check, and a verdict by the rules of
`breastnet.report.verdicts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model.variants import STUDY_ROWS
from ..train.bootstrap import patient_resample_weights, weighted_auc
from .claims import CLAIMS, Claim
from .paired import MDE80_FACTOR, delong_test, holm, paired_auc_bootstrap, paper_auc_effect
from .paper import TWO_STREAM, model_label, row_key
from .verdict_words import VERDICT_LABELS, verdict_sentence
from .verdicts import EQUIVALENCE_MARGIN, NOT_TESTABLE, combine, decide

FLOOR = "Descriptors"
#: The number of bootstrap resamples of every paired comparison.
N_RESAMPLES = 2000


def fused_name(network: str) -> str:
    """The fused row of a network: its p(malignant) averaged with the floor's."""
    return f"{network} + descriptors"


#: Our second question: the fused rows against the floor alone.
FUSED = Claim(
    "fused",
    "The networks add to the hand-crafted descriptors",
    "Not a claim of the paper but a question of ours: averaging a two-stream network's p(malignant) "
    "with the descriptor floor's (nothing fitted) against the floor alone, on the same images.",
    tuple((fused_name(name), FLOOR) for name in TWO_STREAM),
    in_paper=False,
)
#: Every question of the paired analysis: the paper's claims and our two questions.
QUESTIONS = (*CLAIMS, FUSED)


@dataclass(frozen=True)
class Design:
    """What a paired analysis rests on: "heldout" (seeds resampled) or "cv" (models held fixed)."""

    name: str
    resample_units: bool
    delong: bool


HELDOUT = Design("heldout", resample_units=True, delong=True)
CV = Design("cv", resample_units=False, delong=False)


def _model_name(result) -> str:
    run = result["run"]
    lookup = {row_key(name): name for name in STUDY_ROWS}
    return lookup.get((run["family"], float(run["alpha"]))) or model_label(run["family"], float(run["alpha"]))


def prediction_frames(results, design: Design) -> dict[str, pd.DataFrame]:
    """Per-image predictions of each model: {name: frame(unit, id, patient, y_true, p)}, fused rows added.

    A model is named by its Table 1 row (E-DSSL), else by `model_label`. The unit of a held-out
    run is its seed index, of a CV run "r<repeat>f<fold>".
    """
    parts: dict[str, list] = {}
    for r in results:
        run, pred = r["run"], r["predictions"]
        unit = (
            int(run.get("seed_index", run["repeat"])) if design.name == "heldout" else f"r{run['repeat']}f{run['fold']}"
        )
        frame = pd.DataFrame(
            {
                "unit": unit,
                "id": pred["id"],
                "patient": pred["patient"],
                "y_true": np.asarray(pred["y_true"], dtype=int),
                "p": np.asarray(pred["p_malignant"], dtype=float),
            }
        )
        parts.setdefault(_model_name(r), []).append(frame)
    frames = {name: pd.concat(found, ignore_index=True) for name, found in parts.items()}
    return add_fused(frames)


def add_fused(frames: dict, networks=TWO_STREAM, floor: str = FLOOR) -> dict:
    """The frames with a fused row per network: mean of its and the floor's p on each (unit, image)."""
    out = dict(frames)
    if floor not in frames:
        return out
    base = frames[floor][["unit", "id", "p"]].rename(columns={"p": "p_floor"})
    for name in networks:
        if name in frames:
            both = frames[name].merge(base, on=["unit", "id"], how="inner")
            out[fused_name(name)] = both.assign(p=(both["p"] + both["p_floor"]) / 2).drop(columns="p_floor")
    return out


def _common_units(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    units = sorted(set(a["unit"]) & set(b["unit"]), key=str)
    return a[a["unit"].isin(units)], b[b["unit"].isin(units)]


def _delong_p(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """The median over units of DeLong's two-sided p (images as independent; a cross-check)."""
    ps = []
    for unit in sorted(set(a["unit"]), key=str):
        ua = a[a["unit"] == unit].sort_values("id")
        ub = b[b["unit"] == unit].sort_values("id")
        ps.append(delong_test(ua["y_true"].to_numpy(), ua["p"].to_numpy(), ub["p"].to_numpy())["p"])
    return float(np.median(ps)) if ps else math.nan


def paired_table(
    frames: dict, design: Design, questions=QUESTIONS, n_resamples: int = N_RESAMPLES, level: float = 0.95, seed=0
) -> pd.DataFrame:
    """Every comparison of `questions` on the frames of `prediction_frames` (see the module docstring).

    Returns:
        One row per comparison: question, comparison, better, baseline, in_paper, units, images,
        patients, auc_better, auc_baseline, diff, se, ci_low, ci_high, lower90, upper90, p, p_holm
        (Holm across every comparison with a p), mde80, paper_effect (AUC units, from the paper's
        accuracies), paper_effect_sens_spec, delong_p (held-out only), verdict (a code of
        `breastnet.report.verdicts`, or "missing" when a model has no predictions).
    """
    rows = []
    for q in questions:
        for better, baseline in q.pairs:
            paper = paper_auc_effect(better, baseline) if q.in_paper else None
            row = {
                "question": q.key,
                "comparison": f"{better} − {baseline}",
                "better": better,
                "baseline": baseline,
                "in_paper": q.in_paper,
                "paper_effect": math.nan if paper is None else paper["effect"],
                "paper_effect_sens_spec": math.nan if paper is None else paper["from_sens_spec"],
            }
            if better not in frames or baseline not in frames:
                rows.append({**row, "verdict": "missing"})
                continue
            a, b = _common_units(frames[better], frames[baseline])
            res = paired_auc_bootstrap(
                a, b, resample_units=design.resample_units, n_resamples=n_resamples, level=level, seed=seed
            )
            row.update(
                units=res.n_units,
                images=res.n_images,
                patients=res.n_patients,
                auc_better=res.auc_a,
                auc_baseline=res.auc_b,
                diff=res.diff,
                se=res.se,
                ci_low=res.ci_low,
                ci_high=res.ci_high,
                lower90=res.lower90,
                upper90=res.upper90,
                p=res.p,
                mde80=res.mde80,
                delong_p=_delong_p(a, b) if design.delong else math.nan,
            )
            rows.append(row)
    table = pd.DataFrame(rows)
    for column in ("p", "diff", "lower90", "upper90", "mde80", "units", "images", "patients", "delong_p", "verdict"):
        if column not in table:
            table[column] = math.nan
    table["p_holm"] = holm(table["p"].to_numpy(dtype=float))
    table["verdict"] = [
        v
        if v == "missing"
        else decide(
            r["diff"],
            r["p_holm"],
            r["lower90"],
            r["upper90"],
            None if pd.isna(r["paper_effect"]) else r["paper_effect"],
        )
        for v, (_, r) in zip(table["verdict"].astype(object).fillna(""), table.iterrows(), strict=True)
    ]
    return table


def question_verdicts(table: pd.DataFrame, synthetic: bool, questions=QUESTIONS) -> dict[str, dict]:
    """One verdict per question from `paired_table`: the comparisons' verdicts combined (all must hold).

    Returns:
        question key -> dict: title, in_paper, verdict (code, or "not testable here"), label
        (the verdict in words), sentence (with the numbers of each comparison), worst_mde (the
        largest smallest-detectable difference of its comparisons), comparisons (their rows).
    """
    out = {}
    for q in questions:
        rows = table[table["question"] == q.key]
        codes = list(rows["verdict"])
        if not codes or "missing" in codes:
            verdict, label = NOT_TESTABLE, "not testable here: a model it compares has no predictions"
        else:
            verdict = combine(codes)
            label = VERDICT_LABELS[verdict]
        if synthetic:
            label = f"{label} (SYNTHETIC phantoms: a check of the pipeline, not evidence about patients)"
        sentences = [
            f"{r['comparison']}: "
            + verdict_sentence(
                r["verdict"],
                r["diff"],
                r["ci_low"],
                r["ci_high"],
                r["mde80"],
                None if pd.isna(r["paper_effect"]) else r["paper_effect"],
                EQUIVALENCE_MARGIN,
            )
            + f" (Holm p = {r['p_holm']:.3g})"
            for _, r in rows.iterrows()
            if r["verdict"] != "missing"
        ]
        out[q.key] = {
            "title": q.title,
            "in_paper": q.in_paper,
            "verdict": verdict,
            "label": label,
            "sentence": "; ".join(sentences) or "no comparison",
            "worst_mde": float(rows["mde80"].max()) if len(rows) and rows["mde80"].notna().any() else math.nan,
            "comparisons": rows.to_dict("records"),
        }
    return out


def model_auc_table(frames: dict, design: Design, n_resamples: int = N_RESAMPLES, level: float = 0.95, seed=0):
    """Each model's AUC (mean over its units) with a patient-clustered bootstrap interval.

    On the held-out set the seeds are resampled too. Returns a frame: model, units, images,
    patients, auc, ci_low, ci_high, seed_sd (the sd of the per-unit AUCs on all images;
    NaN in CV, where units test different images).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for name, frame in frames.items():
        units = sorted(set(frame["unit"]), key=str)
        ids = frame.drop_duplicates("id")[["id", "patient", "y_true"]].reset_index(drop=True)
        index = {i: k for k, i in enumerate(ids["id"])}
        weights = patient_resample_weights(ids["patient"].to_numpy(), ids["y_true"].to_numpy(), n_resamples, rng)
        per_unit, observed = [], []
        for unit in units:
            part = frame[frame["unit"] == unit]
            cols = part["id"].map(index).to_numpy()
            y, p = part["y_true"].to_numpy(), part["p"].to_numpy()
            per_unit.append(weighted_auc(y, p, weights[:, cols]))
            observed.append(weighted_auc(y, p))
        per_unit = np.array(per_unit)  # (units, B)
        if design.resample_units:
            draw = rng.integers(0, len(units), size=(n_resamples, len(units)))
            reps = per_unit[draw, np.arange(n_resamples)[:, None]].mean(axis=1)
        else:
            reps = per_unit.mean(axis=0)
        low, high = np.nanpercentile(reps, [50 * (1 - level), 50 * (1 + level)])
        rows.append(
            {
                "model": name,
                "units": len(units),
                "images": len(ids),
                "patients": ids["patient"].nunique(),
                "auc": float(np.mean(observed)),
                "ci_low": float(low),
                "ci_high": float(high),
                "seed_sd": float(np.std(observed, ddof=1)) if design.name == "heldout" and len(units) > 1 else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=["model", "units", "images", "patients", "auc", "ci_low", "ci_high", "seed_sd"])


def detectable_text(table: pd.DataFrame) -> str:
    """What the design can detect: the range of the smallest detectable differences, by kind of comparison."""
    done = table[table["mde80"].notna()]
    if not len(done):
        return "no comparison could be computed"
    two = done[done["better"].isin(TWO_STREAM) & done["baseline"].isin(TWO_STREAM)]
    parts = [f"{done['mde80'].min():.3f} to {done['mde80'].max():.3f} AUC over its {len(done)} comparisons"]
    if len(two):
        parts.append(f"{two['mde80'].min():.3f} to {two['mde80'].max():.3f} between two-stream networks")
    return "; ".join(parts) + f" (80 % power, two-sided 5 %: {MDE80_FACTOR:.2f} bootstrap standard errors)"


def heldout_table1(results, frames: dict, n_resamples: int = N_RESAMPLES, level: float = 0.95) -> pd.DataFrame:
    """Table 1 on the held-out images: each row's AUC (mean over seeds) with its patient-clustered,
    seed-resampled interval, the seeds' sd, and accuracy, sensitivity, specificity averaged over seeds.

    Rows in Table 1 order, the floor after them, then the fused rows.
    """
    aucs = model_auc_table(frames, HELDOUT, n_resamples, level).set_index("model")
    metrics = pd.DataFrame([{"model": _model_name(r), **{k: r["metrics"].get(k) for k in THRESHOLDS}} for r in results])
    means = metrics.groupby("model").mean(numeric_only=True) if len(metrics) else pd.DataFrame(columns=THRESHOLDS)
    order = [m for m in STUDY_ROWS if m in aucs.index] + [m for m in aucs.index if m not in STUDY_ROWS]
    out = aucs.loc[order].join(means, how="left").reset_index()
    return out[["model", "units", "images", "patients", "auc", "ci_low", "ci_high", "seed_sd", *THRESHOLDS]]


#: The threshold metrics Table 1 on the held-out set averages over seeds (fused rows have none).
THRESHOLDS = ("accuracy", "sensitivity", "specificity")
